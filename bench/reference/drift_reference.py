#!/usr/bin/python3
"""The drift bench's reference: Evidently's default numeric test (Wasserstein distance normed by the reference's
standard deviation, scipy.stats.wasserstein_distance) and scipy's ks_2samp over 100 columns x 100,000 rows.

Run with Debian's python (apt-get install python3-scipy): /usr/bin/python3 bench/reference/drift_reference.py
Prints Markdown table rows; the same shapes as DriftBench's speed section (data drawn with numpy, not the same values).
"""
import time

import numpy as np
from scipy import stats

rng = np.random.default_rng(1)
ref = [rng.normal(0, 1, 100_000) for _ in range(100)]
cur = [rng.normal(0.05 if c % 2 == 0 else 0, 1, 100_000) for c in range(100)]


def median_time(fn, runs=3):
    """Median wall and CPU seconds of a few runs, formatted as the C# side prints them."""
    walls, cpus = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return f"{sorted(walls)[runs // 2]:.2f} s wall, {sorted(cpus)[runs // 2]:.2f} s CPU"


def wasserstein_all():
    return [stats.wasserstein_distance(r, c) / max(np.std(r), 0.001) for r, c in zip(ref, cur)]


def ks_all():
    return [stats.ks_2samp(r, c).pvalue for r, c in zip(ref, cur)]


print(f"| reference: scipy wasserstein_distance / np.std over 100 columns x 100,000 rows (Evidently's default), median of 3 | {median_time(wasserstein_all)} | |")
print(f"| reference: scipy ks_2samp over 100 columns x 100,000 rows, median of 3 | {median_time(ks_all)} | |")
