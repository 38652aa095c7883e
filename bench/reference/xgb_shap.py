"""Reference side of Forge's `explain` benchmark: XGBoost's own TreeSHAP (pred_contribs) on UCI Adult.

Run with Debian's interpreter (python3-xgboost 1.7.x):
    /usr/bin/python3 bench/reference/xgb_shap.py --data ../shared/data/adult-census-income/adult.data --out DIR --threads 2

Trains a 100-tree, depth-6 binary:logistic model on Adult (categorical columns as integer codes in sorted order, '?' as
missing), saves it as DIR/adult_xgb.json, writes the first --rows rows as DIR/adult_rows.csv, times pred_contribs on
them with --threads threads (--repeats runs, DMatrix built once, outside the timing) and writes XGBoost's contributions
to DIR/adult_contribs.csv. Also trains the 12-feature model of the KernelSHAP comparison (DIR/adult12_xgb.json,
DIR/adult12_rows.csv). Prints one JSON object on stdout. With --time-only it reuses the saved model and rows and only
times pred_contribs again (the bench times XGBoost before and after Forge, so load changes hit both tools alike).
"""
import argparse
import json
import os
import time

import numpy as np
import pandas as pd
import xgboost as xgb

COLUMNS = ["age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation", "relationship",
           "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country", "income"]
CATEGORICAL = ["workclass", "education", "marital-status", "occupation", "relationship", "race", "sex", "native-country"]


def load(path):
    df = pd.read_csv(path, header=None, names=COLUMNS, sep=r",\s*", engine="python", na_values="?", skip_blank_lines=True)
    df = df.dropna(subset=["income"])
    y = (df.pop("income").str.strip() == ">50K").astype(np.float64).to_numpy()
    for c in CATEGORICAL:
        # Codes in sorted order of the category names; missing ('?') stays NaN.
        codes = pd.Categorical(df[c], categories=sorted(df[c].dropna().unique())).codes.astype(np.float64)
        codes[codes < 0] = np.nan
        df[c] = codes
    return df.astype(np.float64), y


def write_csv(path, frame):
    frame.to_csv(path, index=False, na_rep="", float_format="%.17g")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rows", type=int, default=10000)
    p.add_argument("--trees", type=int, default=100)
    p.add_argument("--depth", type=int, default=6)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--time-only", action="store_true",
                   help="reuse DIR/adult_xgb.json and DIR/adult_rows.csv and only time pred_contribs again")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    if a.time_only:
        booster = xgb.Booster(model_file=os.path.join(a.out, "adult_xgb.json"))
        booster.set_param({"nthread": a.threads})
        rows = pd.read_csv(os.path.join(a.out, "adult_rows.csv"))
        dm = xgb.DMatrix(rows, feature_names=list(rows.columns), nthread=a.threads)
        booster.predict(dm.slice(list(range(100))), pred_contribs=True)  # warm-up
        seconds = []
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            booster.predict(dm, pred_contribs=True)
            seconds.append(time.perf_counter() - t0)
        print(json.dumps({"xgboost": xgb.__version__, "threads": a.threads, "rows": len(rows), "seconds": seconds,
                          "rows_per_second": len(rows) / float(np.median(seconds))}))
        return

    X, y = load(a.data)
    params = {"objective": "binary:logistic", "max_depth": a.depth, "eta": 0.3, "tree_method": "hist",
              "nthread": a.threads, "seed": a.seed}
    t0 = time.perf_counter()
    booster = xgb.train(params, xgb.DMatrix(X, label=y, feature_names=list(X.columns)), a.trees)
    train_seconds = time.perf_counter() - t0
    model_path = os.path.join(a.out, "adult_xgb.json")
    booster.save_model(model_path)

    rows = X.iloc[: a.rows]
    rows_path = os.path.join(a.out, "adult_rows.csv")
    write_csv(rows_path, rows)
    dm = xgb.DMatrix(rows, feature_names=list(X.columns), nthread=a.threads)
    booster.set_param({"nthread": a.threads})
    booster.predict(dm.slice(list(range(100))), pred_contribs=True)  # warm-up
    seconds = []
    contribs = None
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        contribs = booster.predict(dm, pred_contribs=True)
        seconds.append(time.perf_counter() - t0)
    contribs_path = os.path.join(a.out, "adult_contribs.csv")
    pd.DataFrame(contribs.astype(np.float64), columns=list(X.columns) + ["bias"]).to_csv(contribs_path, index=False, float_format="%.9g")

    # The KernelSHAP comparison: 12 features (fnlwgt and education dropped; education-num keeps the information).
    X12 = X.drop(columns=["fnlwgt", "education"])
    b12 = xgb.train({**params, "max_depth": 4}, xgb.DMatrix(X12, label=y, feature_names=list(X12.columns)), 50)
    model12_path = os.path.join(a.out, "adult12_xgb.json")
    b12.save_model(model12_path)
    rows12_path = os.path.join(a.out, "adult12_rows.csv")
    write_csv(rows12_path, X12.sample(n=2000, random_state=a.seed))

    median = float(np.median(seconds))
    print(json.dumps({
        "xgboost": xgb.__version__, "threads": a.threads, "rows": len(rows), "features": X.shape[1],
        "trees": a.trees, "depth": a.depth, "train_seconds": train_seconds, "seconds": seconds,
        "rows_per_second": len(rows) / median, "model": model_path, "rows_csv": rows_path, "contribs_csv": contribs_path,
        "model12": model12_path, "rows12_csv": rows12_path,
    }))


if __name__ == "__main__":
    main()
