#!/usr/bin/python3
"""XGBoost reference for Forge's tabular bench: reads the split Forge wrote (train.csv, test.csv, schema.json from
`forge train ... --write-split DIR`), so both tools see the very same rows, and trains Debian's python3-xgboost 1.7.4
with the hist tree method and native categorical support (pandas category columns, enable_categorical=True).

Usage: /usr/bin/python3 xgb_tabular.py --split DIR --task binary|regression [--configs 100:6:0.3,300:6:0.1]
       [--threads 2] [--seed 0] [--predict-file ROWS.csv]
Prints one JSON object per configuration: trees, depth, lr, train_seconds and auc/logloss/accuracy (binary) or
rmse/mae/r2 (regression) on test.csv; with --predict-file also the rows/s of predict_proba alone and of the whole
file-to-file job (read the CSV, build the frame, predict, write the CSV), the best configuration's model.
"""
import argparse
import json
import pathlib
import time

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.metrics import accuracy_score, log_loss, mean_absolute_error, mean_squared_error, r2_score, roc_auc_score


def frame(path, schema, categories):
    df = pd.read_csv(path, keep_default_na=False, na_values=[""], dtype=str)
    label = schema["label"]
    y = df.pop(label) if label in df.columns else None
    for name, kind in schema["features"].items():
        if kind == "categorical":
            df[name] = pd.Categorical(df[name], categories=categories[name])
        else:
            df[name] = pd.to_numeric(df[name])
    return df[list(schema["features"])], y


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--split", required=True)
    p.add_argument("--task", choices=["binary", "regression"], required=True)
    p.add_argument("--configs", default="100:6:0.3,300:6:0.1")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--predict-file")
    a = p.parse_args()
    split = pathlib.Path(a.split)
    schema = json.loads((split / "schema.json").read_text())
    raw = pd.read_csv(split / "train.csv", keep_default_na=False, na_values=[""], dtype=str)
    categories = {n: sorted(raw[n].dropna().unique()) for n, k in schema["features"].items() if k == "categorical"}
    x_train, y_train = frame(split / "train.csv", schema, categories)
    x_test, y_test = frame(split / "test.csv", schema, categories)
    if a.task == "binary":
        classes = sorted(y_train.unique())
        positive = classes[1]
        y_train = (y_train == positive).astype(int)
        y_test = (y_test == positive).astype(int)
    else:
        y_train = y_train.astype(float)
        y_test = y_test.astype(float)

    best = None
    for config in a.configs.split(","):
        trees, depth, lr = config.split(":")
        kwargs = dict(n_estimators=int(trees), max_depth=int(depth), learning_rate=float(lr), tree_method="hist",
                      enable_categorical=True, n_jobs=a.threads, random_state=a.seed)
        model = xgb.XGBClassifier(**kwargs) if a.task == "binary" else xgb.XGBRegressor(**kwargs)
        start = time.perf_counter()
        model.fit(x_train, y_train)
        seconds = time.perf_counter() - start
        out = {"trees": int(trees), "depth": int(depth), "lr": float(lr), "train_seconds": seconds}
        if a.task == "binary":
            prob = model.predict_proba(x_test)[:, 1]
            out.update(auc=roc_auc_score(y_test, prob), logloss=log_loss(y_test, prob), accuracy=accuracy_score(y_test, prob >= 0.5))
            score = out["auc"]
        else:
            pred = model.predict(x_test)
            out.update(rmse=float(np.sqrt(mean_squared_error(y_test, pred))), mae=mean_absolute_error(y_test, pred), r2=r2_score(y_test, pred))
            score = -out["rmse"]
        if best is None or score > best[0]:
            best = (score, model, out)
        print(json.dumps(out), flush=True)

    if a.predict_file:
        model = best[1]
        start = time.perf_counter()
        x, _ = frame(a.predict_file, schema, categories)
        read = time.perf_counter() - start
        t0 = time.perf_counter()
        prob = model.predict_proba(x)[:, 1] if a.task == "binary" else model.predict(x)
        predict = time.perf_counter() - t0
        out_path = pathlib.Path(a.predict_file).with_suffix(".xgb-out.csv")
        frame_out = pd.read_csv(a.predict_file, keep_default_na=False, dtype=str)
        frame_out["p"] = prob
        frame_out.to_csv(out_path, index=False)
        total = time.perf_counter() - start
        print(json.dumps({"predict_rows": len(x), "predict_only_rows_per_s": len(x) / predict,
                          "file_to_file_rows_per_s": len(x) / total, "read_seconds": read}), flush=True)


if __name__ == "__main__":
    main()
