#!/usr/bin/python3
"""The TF-IDF baseline in scikit-learn, for a side-by-side check of Forge's (run by `forge-bench text`).

Reads the UCI Sentiment Labelled Sentences the way Forge does (records end at LF, label after the last tab, no quote
handling), holds out the sentences whose indexes are listed in --test-indexes (one per line, Forge's stratified split),
picks C by 5-fold stratified cross-validation on the rest, and prints one JSON line: accuracy, macro-F1 and C.

Pipeline: TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True) + LogisticRegression(multi_class="multinomial",
solver="lbfgs", C from [0.1, 0.3, 1, 3, 10, 30, 100], max_iter=10000). Run with Debian's /usr/bin/python3.
"""
import argparse
import json
import os

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline

FILES = ["amazon_cells_labelled.txt", "imdb_labelled.txt", "yelp_labelled.txt"]


def load(folder):
    texts, labels = [], []
    for name in FILES:
        with open(os.path.join(folder, name), encoding="utf-8", newline="") as f:
            content = f.read()
        for record in content.split("\n"):
            if record == "":
                continue
            record = record.removesuffix("\r")
            text, label = record.rsplit("\t", 1)
            texts.append(text)
            labels.append(int(label.strip()))
    return texts, labels


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True, help="the sentiment-labelled-sentences folder")
    parser.add_argument("--test-indexes", required=True)
    args = parser.parse_args()
    texts, labels = load(args.data)
    with open(args.test_indexes) as f:
        test = sorted({int(line) for line in f if line.strip()})
    test_set = set(test)
    train = [i for i in range(len(texts)) if i not in test_set]
    pipeline = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
        LogisticRegression(multi_class="multinomial", solver="lbfgs", max_iter=10000),
    )
    search = GridSearchCV(
        pipeline,
        {"logisticregression__C": [0.1, 0.3, 1, 3, 10, 30, 100]},
        cv=StratifiedKFold(n_splits=5, shuffle=True, random_state=0),
        scoring="accuracy",
    )
    search.fit([texts[i] for i in train], [labels[i] for i in train])
    predicted = search.predict([texts[i] for i in test])
    truth = [labels[i] for i in test]
    print(json.dumps({
        "accuracy": accuracy_score(truth, predicted),
        "macroF1": f1_score(truth, predicted, average="macro"),
        "C": search.best_params_["logisticregression__C"],
        "train": len(train),
        "test": len(test),
    }))


main()
