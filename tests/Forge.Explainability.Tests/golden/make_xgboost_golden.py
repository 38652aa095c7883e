"""Golden values for Forge's TreeSHAP: XGBoost's own pred_contribs / pred_interactions on small models.

Run with Debian's interpreter (python3-xgboost 1.7.4):  /usr/bin/python3 make_xgboost_golden.py
Writes xgb_<name>.model.json (the model, as booster.save_model writes it) and xgb_<name>.golden.json (rows, margins,
contributions, interactions) next to this script. Tests read the files; they never run Python.
"""
import json
import os

import numpy as np
import pandas as pd
import xgboost as xgb

HERE = os.path.dirname(os.path.abspath(__file__))


def nan_to_none(a):
    return [[None if np.isnan(v) else float(v) for v in row] for row in a]


def write(name, booster, rows, dmatrix, interactions=True):
    booster.save_model(os.path.join(HERE, f"xgb_{name}.model.json"))
    margin = booster.predict(dmatrix, output_margin=True)
    contribs = booster.predict(dmatrix, pred_contribs=True)
    golden = {
        "xgboost": xgb.__version__,
        "rows": nan_to_none(rows),
        "margin": np.asarray(margin, dtype=np.float64).tolist(),
        "contribs": np.asarray(contribs, dtype=np.float64).tolist(),
    }
    if interactions:
        golden["interactions"] = np.asarray(booster.predict(dmatrix, pred_interactions=True), dtype=np.float64).tolist()
    with open(os.path.join(HERE, f"xgb_{name}.golden.json"), "w") as f:
        json.dump(golden, f)


rng = np.random.default_rng(20261206)

# Binary classification, 8 features, ~10% missing values, every tree 4 deep.
X = rng.normal(size=(400, 8))
X[rng.random(X.shape) < 0.1] = np.nan
logit = np.nan_to_num(X[:, 0]) * 1.5 - np.nan_to_num(X[:, 1]) + np.nan_to_num(X[:, 2] * X[:, 3]) + 0.3 * np.nan_to_num(X[:, 4])
y = (logit + rng.normal(scale=0.5, size=400) > 0).astype(float)
b = xgb.train({"objective": "binary:logistic", "max_depth": 4, "eta": 0.3, "seed": 1}, xgb.DMatrix(X, label=y), 20)
write("binary", b, X[:40], xgb.DMatrix(X[:40]))

# Three classes (softprob: one tree per class per round), 6 features.
X = rng.normal(size=(300, 6))
y = np.where(X[:, 0] + X[:, 1] > 0.5, 2, np.where(X[:, 2] > 0, 1, 0)).astype(float)
b = xgb.train({"objective": "multi:softprob", "num_class": 3, "max_depth": 3, "eta": 0.5, "seed": 2}, xgb.DMatrix(X, label=y), 8)
write("multiclass", b, X[:20], xgb.DMatrix(X[:20]))

# Regression where only x0 and x1 matter (x2..x5 are noise), base_score 0.3, trees 5 deep.
X = rng.uniform(-2, 2, size=(500, 6))
y = 2 * X[:, 0] + X[:, 1] ** 2 + rng.normal(scale=0.1, size=500)
b = xgb.train({"objective": "reg:squarederror", "max_depth": 5, "eta": 0.3, "base_score": 0.3, "seed": 3}, xgb.DMatrix(X, label=y), 10)
write("regression", b, X[:50], xgb.DMatrix(X[:50]))

# A native categorical feature (column 2, codes 0..5) split by category sets.
n = 300
df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": pd.Categorical(rng.integers(0, 6, n), categories=range(6))})
y = df["a"] + np.where(df["c"].isin([1, 4]), 2.0, 0.0) - np.where(df["c"] == 5, 1.0, 0.0)
b = xgb.train({"objective": "reg:squarederror", "tree_method": "hist", "max_cat_to_onehot": 1, "max_depth": 3, "seed": 4},
              xgb.DMatrix(df, label=y, enable_categorical=True), 5)
rows = df.iloc[:30].copy()
write("categorical", b, np.column_stack([rows["a"], rows["b"], rows["c"].cat.codes.astype(float)]),
      xgb.DMatrix(rows, enable_categorical=True), interactions=False)

# Poisson counts: base_score sits on the log scale.
X = rng.normal(size=(300, 4))
y = rng.poisson(np.exp(0.5 * X[:, 0] + 0.2 * X[:, 1]))
b = xgb.train({"objective": "count:poisson", "max_depth": 3, "seed": 5}, xgb.DMatrix(X, label=y), 5)
write("poisson", b, X[:20], xgb.DMatrix(X[:20]), interactions=False)
