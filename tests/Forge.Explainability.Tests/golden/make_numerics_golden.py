"""Golden values for Forge.Explainability's numerics (erf, erfc, normal CDF and its inverse, numpy percentiles).

Run with Debian's interpreter:  /usr/bin/python3 make_numerics_golden.py   (writes numerics.golden.json here)
"""
import json
import os

import numpy as np
from scipy import special, stats

xs = [-8.0, -5.5, -3.0, -2.5, -1.0, -0.3, -1e-4, 0.0, 1e-6, 0.2, 0.7, 1.3, 2.0, 2.49, 2.5, 2.51, 3.7, 5.0, 6.5, 9.0, 26.0]
ps = [1e-300, 1e-20, 1e-10, 1e-5, 0.001, 0.02, 0.1, 0.25, 0.4, 0.5, 0.6, 0.9, 0.975, 0.999, 1 - 1e-9]
rng = np.random.default_rng(0)
sample = rng.normal(size=37).round(3)
golden = {
    "x": xs,
    "erf": [float(special.erf(x)) for x in xs],
    "erfc": [float(special.erfc(x)) for x in xs],
    "cdf": [float(stats.norm.cdf(x)) for x in xs],
    "p": ps,
    "ppf": [float(stats.norm.ppf(p)) for p in ps],
    "sample": sample.tolist(),
    "percentiles": [float(np.percentile(sample, q)) for q in (25, 50, 75)],
}
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "numerics.golden.json"), "w") as f:
    json.dump(golden, f, indent=1)
