#!/usr/bin/python3
"""Writes drift.json: fixed vectors and scipy's drift statistics on them.

Run with Debian's python (apt-get install python3-scipy):  /usr/bin/python3 make_drift_golden.py
Covers both KS p-value paths (exact: both samples <= 10,000; asymptotic: kstwo at round(n1 n2 / (n1 + n2))), every
branch of kstwo.sf (Ruben-Gambino, Durbin matrix, Pomeranz, Pelz-Good, Smirnov), chi-squared, the two-proportion
Z-test, the 2xk chi-squared test of homogeneity (chi2_contingency without continuity correction), Wasserstein (plain and normed by the reference's population std, as Evidently norms it), Jensen-Shannon
(base 2) and PSI, plus Evidently's binning of raw samples (Sturges edges over both samples, or one bin per value).
Evidently is not packaged for Debian, so its few lines of binning are restated here from its source.
"""
import json
import math
import pathlib

import numpy as np
import scipy
from scipy import special, stats
from scipy.spatial import distance

rng = np.random.default_rng(20261206)


def floats(a):
    return [float(x) for x in a]


def r4(a):
    """Four decimals keep the committed file small; the ties it creates are part of what is tested."""
    return np.round(np.asarray(a, dtype=float), 4)


# ---------------------------------------------------------------- KS two-sample
ks_cases = []


def ks_case(name, a, b):
    r = stats.ks_2samp(a, b, method="auto")
    n1, n2 = len(a), len(b)
    ks_cases.append({
        "name": name, "a": floats(a), "b": floats(b),
        "statistic": float(r.statistic), "pValue": float(r.pvalue),
        "method": "exact" if max(n1, n2) <= 10000 else "asymptotic",
    })


ks_case("tiny unequal", rng.normal(0, 1, 5), rng.normal(0.5, 1, 7))
ks_case("equal sizes same law", rng.normal(0, 1, 20), rng.normal(0, 1, 20))
ks_case("equal sizes shifted", rng.normal(0, 1, 40), rng.normal(1.0, 1, 40))
ks_case("unequal shifted", rng.normal(0, 1, 50), rng.normal(0.6, 1.3, 80))
ks_case("ties from integers", rng.integers(0, 6, 60).astype(float), rng.integers(0, 7, 45).astype(float))
ks_case("300 vs 1000 same law", rng.normal(0, 1, 300), rng.normal(0, 1, 1000))
ks_case("1000 vs 1000 small shift", rng.normal(0, 1, 1000), rng.normal(0.1, 1, 1000))
ks_case("3000 vs 5000 small shift", r4(rng.normal(0, 1, 3000)), r4(rng.normal(0.08, 1, 5000)))
ks_case("exponential vs gamma", rng.exponential(1, 700), rng.gamma(1.2, 1, 900))
ks_case("asymptotic 12000 vs 300", r4(rng.normal(0, 1, 12000)), rng.normal(0.1, 1, 300))
ks_case("asymptotic 12000 vs 60 (small en)", r4(rng.normal(0, 1, 12000)), rng.normal(0.3, 1, 60))
ks_case("asymptotic 10500 vs 10200 same law", r4(rng.normal(0, 1, 10500)), r4(rng.normal(0, 1, 10200)))
ks_case("asymptotic 12000 vs 8000 shifted", r4(rng.normal(0, 1, 12000)), r4(rng.normal(0.05, 1, 8000)))

# ---------------------------------------------------------------- kstwo.sf, kstwobign.sf, smirnov
kstwo = []
for n, x in [(10, 0.04), (10, 0.08), (10, 0.2), (10, 0.25), (10, 0.4), (10, 0.45), (10, 0.6), (10, 0.95),
             (37, 0.1), (100, 0.05), (100, 0.08), (100, 0.15), (100, 0.19), (100, 0.25), (140, 0.1),
             (141, 0.05), (300, 0.02), (1000, 0.012), (150, 0.06), (1000, 0.005), (1000, 0.02), (1000, 0.04), (1000, 0.06), (1000, 0.7),
             (5000, 0.01), (5000, 0.018), (5000, 0.03), (50000, 0.002), (50000, 0.005),
             (200000, 0.001), (200000, 0.003), (200000, 0.0001)]:
    kstwo.append({"n": n, "x": x, "sf": float(stats.kstwo.sf(x, n))})

kstwobign = [{"x": x, "sf": float(stats.kstwobign.sf(x))} for x in [0.1, 0.3, 0.5, 0.8, 0.99, 1.0, 1.2, 1.8, 3.0]]
smirnov = [{"n": n, "x": x, "sf": float(special.smirnov(n, x))}
           for n, x in [(1, 0.3), (5, 0.2), (10, 0.5), (50, 0.1), (300, 0.05), (2000, 0.02), (20000, 0.01)]]

# ---------------------------------------------------------------- special functions
gammaln = [{"x": x, "value": float(special.gammaln(x))} for x in [0.1, 0.5, 1, 1.5, 2.5, 7.25, 14.9, 15, 33.3, 1e3, 1.23e6]]
gammainc = []
for a, x in [(0.5, 0.01), (0.5, 1.2), (0.5, 9.0), (1, 0.5), (2.5, 1), (2.5, 10), (10, 5), (10, 12), (10, 40),
             (49.5, 45), (49.5, 80), (200, 190), (200, 260)]:
    gammainc.append({"a": a, "x": x, "p": float(special.gammainc(a, x)), "q": float(special.gammaincc(a, x))})
normal = [{"x": x, "cdf": float(stats.norm.cdf(x)), "sf": float(stats.norm.sf(x))}
          for x in [-8, -3.2, -1, -0.1, 0, 0.3, 1.96, 2.5, 5, 9, 20]]
erfc = [{"x": x, "value": float(special.erfc(x))} for x in [-2, -0.5, 0, 0.2, 1, 1.3, 3, 6, 12]]
chi2sf = [{"x": x, "dof": k, "sf": float(stats.chi2.sf(x, k))}
          for x, k in [(0.5, 1), (3.84, 1), (2, 2), (7.5, 3), (30, 10), (100, 10), (150, 99), (400, 200), (1e-3, 4)]]

# ---------------------------------------------------------------- chi-squared / Z
chi_cases = []
for name, obs, exp in [("uniform expectation", [12, 18, 25, 30, 15], [20, 20, 20, 20, 20]),
                       ("skewed", [5, 40, 55], [10.5, 38.5, 51.0]),
                       ("large", [4810, 3150, 2040], [5000.0, 3000.0, 2000.0])]:
    r = stats.chisquare(obs, exp)
    chi_cases.append({"name": name, "observed": floats(obs), "expected": floats(exp),
                      "statistic": float(r.statistic), "pValue": float(r.pvalue)})

z_cases = []
for name, (s1, n1, s2, n2) in {"balanced": (480, 1000, 530, 1000), "unequal": (40, 300, 95, 500),
                                "far tail": (100, 1000, 300, 1000), "equal": (50, 100, 50, 100)}.items():
    p1, p2 = s1 / n1, s2 / n2
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    z_cases.append({"name": name, "referenceSuccesses": s1, "referenceCount": n1, "currentSuccesses": s2,
                    "currentCount": n2, "statistic": float(z), "pValue": float(2 * stats.norm.sf(abs(z)))})

# ---------------------------------------------------------------- Wasserstein
w_cases = []
for name, u, v in [("small", [0.0, 1.0, 3.0], [5.0, 6.0, 8.0]),
                   ("ties", [1, 1, 2, 2, 2, 7], [1, 2, 2, 3]),
                   ("normal shift", rng.normal(0, 1, 500), rng.normal(0.3, 1.2, 800)),
                   ("lognormal", rng.lognormal(0, 1, 2000), rng.lognormal(0.1, 1, 1500)),
                   ("large", r4(rng.normal(0, 2, 20000)), r4(rng.normal(0.1, 2, 20000)))]:
    u = np.asarray(u, dtype=float)
    v = np.asarray(v, dtype=float)
    wd = stats.wasserstein_distance(u, v)
    w_cases.append({"name": name, "u": floats(u), "v": floats(v), "distance": float(wd),
                    "normed": float(wd / max(np.std(u), 0.001))})

# ---------------------------------------------------------------- Jensen-Shannon and PSI on weights
js_cases = []
for name, p, q in [("disjoint-ish", [0.5, 0.5, 0.0], [0.0, 0.1, 0.9]), ("close", [0.2, 0.3, 0.5], [0.22, 0.3, 0.48]),
                   ("unnormalised", [10, 20, 30, 40], [12, 18, 33, 37]), ("identical", [1, 2, 3], [1, 2, 3])]:
    js_cases.append({"name": name, "p": floats(p), "q": floats(q), "distance": float(distance.jensenshannon(p, q, 2))})


def fill_zeroes(x):
    x = np.array(x, dtype=float)
    nz = x[x != 0]
    np.place(x, x == 0, nz.min() / 10**6 if nz.min() <= 0.0001 else 0.0001)
    return x


def psi_of(r, c):
    return float(sum((r[i] - c[i]) * np.log(r[i] / c[i]) for i in range(len(r))))


psi_cases = []
for name, r, c in [("deciles shifted", [0.1] * 10, [0.05, 0.07, 0.08, 0.1, 0.1, 0.1, 0.12, 0.12, 0.13, 0.13]),
                   ("with empty bin", [0.5, 0.3, 0.2, 0.0], [0.4, 0.3, 0.25, 0.05]),
                   ("tiny shares", [0.99995, 0.00005, 0.0], [0.9, 0.05, 0.05])]:
    rf, cf = fill_zeroes(r), fill_zeroes(c)
    psi_cases.append({"name": name, "reference": floats(r), "current": floats(c),
                      "referenceFilled": floats(rf), "currentFilled": floats(cf), "psi": psi_of(rf, cf)})


# ---------------------------------------------------------------- Evidently's binning of raw samples
def evidently_binned(ref, cur, numerical, fill):
    ref = np.asarray(ref)
    cur = np.asarray(cur)
    if numerical and len(np.unique(ref)) > 20:
        bins = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
        rp = np.histogram(ref, bins)[0] / len(ref)
        cp = np.histogram(cur, bins)[0] / len(cur)
    else:
        keys = sorted(set(ref.tolist()) | set(cur.tolist()))
        rp = np.array([np.sum(ref == k) / len(ref) for k in keys])
        cp = np.array([np.sum(cur == k) / len(cur) for k in keys])
    if fill:
        rp, cp = fill_zeroes(rp), fill_zeroes(cp)
    return rp, cp


evidently_cases = []
for name, ref, cur in [("numeric many values", rng.normal(0, 1, 3000), rng.normal(0.2, 1.1, 2500)),
                       ("numeric skewed", rng.exponential(2, 1500), rng.exponential(2.4, 1200)),
                       ("numeric few values", rng.integers(0, 8, 2000).astype(float), rng.integers(0, 9, 1800).astype(float))]:
    rp_js, cp_js = evidently_binned(ref, cur, True, False)
    rp_psi, cp_psi = evidently_binned(ref, cur, True, True)
    evidently_cases.append({"name": name, "reference": floats(ref), "current": floats(cur),
                            "jensenShannon": float(distance.jensenshannon(rp_js, cp_js, 2)),
                            "psi": psi_of(rp_psi, cp_psi)})

cat_cases = []
for name, ref, cur in [("three categories", rng.choice(["a", "b", "c"], 900, p=[0.5, 0.3, 0.2]),
                        rng.choice(["a", "b", "c"], 700, p=[0.45, 0.35, 0.2])),
                       ("new category", rng.choice(["x", "y"], 500, p=[0.6, 0.4]), rng.choice(["x", "y", "z"], 400, p=[0.5, 0.4, 0.1])),
                       ("binary", rng.choice(["no", "yes"], 800, p=[0.7, 0.3]), rng.choice(["no", "yes"], 600, p=[0.62, 0.38]))]:
    keys = sorted(set(ref.tolist()) | set(cur.tolist()))
    rc = np.array([np.sum(ref == k) for k in keys], dtype=float)
    cc = np.array([np.sum(cur == k) for k in keys], dtype=float)
    entry = {"name": name, "reference": ref.tolist(), "current": cur.tolist(),
             "jensenShannon": float(distance.jensenshannon(rc / len(ref), cc / len(cur), 2))}
    rf, cf = fill_zeroes(rc / len(ref)), fill_zeroes(cc / len(cur))
    entry["psi"] = psi_of(rf, cf)
    with np.errstate(divide="ignore"):
        chi = stats.chisquare(cc, rc * (len(cur) / len(ref)))
    entry["chiSquared"] = {"statistic": float(chi.statistic), "pValue": float(chi.pvalue)}
    ct = stats.chi2_contingency(np.array([rc, cc]), correction=False)
    entry["chiSquaredContingency"] = {"statistic": float(ct[0]), "pValue": float(ct[1])}
    if len(keys) == 2:
        s1 = int(np.sum(ref != keys[0]))
        s2 = int(np.sum(cur != keys[0]))
        p1, p2 = s1 / len(ref), s2 / len(cur)
        pooled = (p1 * len(ref) + p2 * len(cur)) / (len(ref) + len(cur))
        z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / len(ref) + 1.0 / len(cur)))
        entry["z"] = {"statistic": float(z), "pValue": float(2 * stats.norm.sf(abs(z)))}
    cat_cases.append(entry)

golden = {
    "generator": f"make_drift_golden.py with scipy {scipy.__version__}, numpy {np.__version__}",
    "ks": ks_cases, "kstwo": kstwo, "kstwobign": kstwobign, "smirnov": smirnov,
    "gammaln": gammaln, "gammainc": gammainc, "normal": normal, "erfc": erfc, "chi2sf": chi2sf,
    "chiSquared": chi_cases, "z": z_cases, "wasserstein": w_cases, "jensenShannon": js_cases, "psi": psi_cases,
    "evidentlyNumeric": evidently_cases, "evidentlyCategorical": cat_cases,
}


def clean(o):
    if isinstance(o, float) and math.isinf(o):
        return "Infinity" if o > 0 else "-Infinity"
    if isinstance(o, dict):
        return {k: clean(v) for k, v in o.items()}
    if isinstance(o, list):
        return [clean(v) for v in o]
    return o


out = pathlib.Path(__file__).with_name("drift.json")
out.write_text(json.dumps(clean(golden)) + "\n")
print(f"wrote {out} ({out.stat().st_size:,} bytes)")
