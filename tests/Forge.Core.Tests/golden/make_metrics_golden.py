#!/usr/bin/python3
"""Writes metrics.json: a seeded 4-class example and scikit-learn's metrics for it.

Run with Debian's python (apt-get install python3-sklearn):  /usr/bin/python3 make_metrics_golden.py
Class "bird" is never predicted, so precision/F1 exercise zero_division=0; one row gives its true class
probability 0, so log-loss exercises the clip to [1e-15, 1 - 1e-15].
"""
import json
import pathlib

import numpy as np
import sklearn
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, log_loss, precision_recall_fscore_support

LABELS = ["cat", "dog", "bird", "fish"]
NEVER_PREDICTED = 2
N = 50

rng = np.random.default_rng(20240607)
y_true = rng.integers(0, len(LABELS), size=N)

# Noisy scores that favour the true class; the never-predicted class is damped so it is never the argmax.
scores = rng.gamma(1.0, 1.0, size=(N, len(LABELS)))
scores[np.arange(N), y_true] += rng.uniform(0.0, 2.5, size=N)
scores[:, NEVER_PREDICTED] *= 0.05
probs = scores / scores.sum(axis=1, keepdims=True)
zero_row = int(np.flatnonzero(y_true != NEVER_PREDICTED)[0])
probs[zero_row, y_true[zero_row]] = 0.0
# The C# side takes float32, so both sides must see exactly the float32 values.
probs = probs.astype(np.float32)
y_pred = probs.argmax(axis=1)
assert NEVER_PREDICTED not in y_pred and NEVER_PREDICTED in y_true

label_ids = list(range(len(LABELS)))
precision, recall, f1, support = precision_recall_fscore_support(
    y_true, y_pred, labels=label_ids, average=None, zero_division=0)

golden = {
    "generator": f"make_metrics_golden.py with scikit-learn {sklearn.__version__}, numpy {np.__version__}",
    "labels": LABELS,
    "yTrue": y_true.tolist(),
    "yPredicted": y_pred.tolist(),
    "probabilities": probs.astype(np.float64).tolist(),
    "expected": {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macroF1": float(f1_score(y_true, y_pred, labels=label_ids, average="macro", zero_division=0)),
        "logLoss": float(log_loss(y_true, probs.astype(np.float64), labels=label_ids, eps=1e-15)),
        "precision": precision.tolist(),
        "recall": recall.tolist(),
        "f1": f1.tolist(),
        "support": support.tolist(),
        "confusionMatrix": confusion_matrix(y_true, y_pred, labels=label_ids).tolist(),
    },
}

out = pathlib.Path(__file__).with_name("metrics.json")
out.write_text(json.dumps(golden, indent=2) + "\n")
print(f"wrote {out}")
