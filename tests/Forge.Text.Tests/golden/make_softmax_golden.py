#!/usr/bin/python3
"""Golden values for SoftmaxRegressionTests: scikit-learn's multinomial logistic regression on a small 3-class problem.

Writes softmax.json: the features, labels, C, and sklearn's fitted probabilities for every row. Probabilities (not
weights) are compared, since they are unique at the optimum whatever the parameterisation. Run with /usr/bin/python3.
"""
import json

import numpy as np
from sklearn.linear_model import LogisticRegression

rng = np.random.default_rng(7)
centers = np.array([[0.0, 0.0, 1.0], [1.5, 0.5, -0.5], [-0.5, 1.5, 0.0]])
x = np.vstack([c + rng.normal(scale=0.9, size=(12, 3)) for c in centers]).round(3)
y = np.repeat([0, 1, 2], 12)
result = {"C": 0.7, "x": x.tolist(), "y": y.tolist()}
model = LogisticRegression(multi_class="multinomial", solver="lbfgs", C=0.7, tol=1e-12, max_iter=100000).fit(x, y)
result["probabilities"] = model.predict_proba(x).tolist()
with open("softmax.json", "w") as f:
    json.dump(result, f, indent=1)
