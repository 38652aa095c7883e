#!/usr/bin/python3
"""Writes regression_roc.json: seeded regression and binary-score examples with scikit-learn's metrics for them.

Run with Debian's python (apt-get install python3-sklearn):  /usr/bin/python3 make_regression_roc_golden.py
The scores are rounded to two decimals so that many ties occur (ties between a positive and a negative count half in
the AUC, and a tied score is one point of the ROC curve). A second regression case has a constant truth (R^2 edge case).
"""
import json
import pathlib

import numpy as np
import sklearn
from sklearn.metrics import f1_score, mean_absolute_error, mean_squared_error, r2_score, roc_auc_score, roc_curve

rng = np.random.default_rng(20261206)

y = rng.normal(10.0, 3.0, size=60)
pred = y + rng.normal(0.0, 1.5, size=60)

positive = rng.random(80) < 0.35
scores = np.clip(np.round(0.35 * positive + rng.normal(0.35, 0.2, size=80), 2), 0.0, 1.0)
fpr, tpr, thresholds = roc_curve(positive, scores, drop_intermediate=False)

const_y = np.full(5, 2.5)
const_pred = np.array([2.0, 2.5, 3.0, 2.5, 2.5])

out = {
    "sklearn": sklearn.__version__,
    "regression": {
        "actual": y.tolist(), "predicted": pred.tolist(),
        "rmse": float(np.sqrt(mean_squared_error(y, pred))), "mae": float(mean_absolute_error(y, pred)), "r2": float(r2_score(y, pred)),
    },
    "constant": {
        "actual": const_y.tolist(), "predicted": const_pred.tolist(), "r2": float(r2_score(const_y, const_pred)),
        "r2Exact": float(r2_score(const_y, const_y)),
    },
    "binary": {
        "positive": positive.tolist(), "scores": scores.tolist(),
        "auc": float(roc_auc_score(positive, scores)),
        "fpr": fpr.tolist(), "tpr": tpr.tolist(),
        # scikit-learn 1.2 puts max+1 first; Forge puts +inf. The rest are the distinct scores, highest first.
        "thresholds": thresholds[1:].tolist(),
        "f1": float(f1_score(positive, scores >= 0.5)),
    },
}
pathlib.Path(__file__).with_name("regression_roc.json").write_text(json.dumps(out, indent=1) + "\n")
