#!/usr/bin/python3
"""Optuna's side of the tuning benchmark (bench/Forge.Bench/TuningBench.cs runs it; Debian's python3-optuna 3.1).

Runs one sampler on one test function for each seed and prints JSON on stdout:
  {"function": ..., "sampler": ..., "trials": N, "optuna": "3.1.0",
   "runs": [{"seed": S, "best": [best-so-far after each trial], "values": [...],
             "seconds": [ask + suggest + tell time of each trial, s]}]}

The functions are defined exactly as in bench/Forge.Bench/TuningFunctions.cs (same names, ranges and formulas).
usage: /usr/bin/python3 optuna_functions.py --function branin --trials 100 --seeds 0,1,2 --sampler random|tpe|tpe-multivariate
"""
import argparse
import json
import math
import sys
import time
import warnings

import optuna


def branin(t):
    x1 = t.suggest_float("x1", -5, 10)
    x2 = t.suggest_float("x2", 0, 15)
    a, c, r, s = 1.0, 5 / math.pi, 6.0, 10.0
    b = 5.1 / (4 * math.pi * math.pi)
    tt = 1 / (8 * math.pi)
    return a * (x2 - b * x1 * x1 + c * x1 - r) ** 2 + s * (1 - tt) * math.cos(x1) + s


HARTMANN_ALPHA = [1.0, 1.2, 3.0, 3.2]
HARTMANN_A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
HARTMANN_P = [[0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886], [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
              [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650], [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381]]


def hartmann6(t):
    x = [t.suggest_float(f"x{i}", 0, 1) for i in range(6)]
    total = 0.0
    for i in range(4):
        inner = sum(HARTMANN_A[i][j] * (x[j] - HARTMANN_P[i][j]) ** 2 for j in range(6))
        total += HARTMANN_ALPHA[i] * math.exp(-inner)
    return -total


def rosenbrock4(t):
    x = [t.suggest_float(f"x{i}", -5, 10) for i in range(4)]
    return sum(100 * (x[i + 1] - x[i] * x[i]) ** 2 + (1 - x[i]) ** 2 for i in range(3))


def ackley5(t):
    d = 5
    x = [t.suggest_float(f"x{i}", -32.768, 32.768) for i in range(d)]
    s1 = sum(v * v for v in x)
    s2 = sum(math.cos(2 * math.pi * v) for v in x)
    return -20 * math.exp(-0.2 * math.sqrt(s1 / d)) - math.exp(s2 / d) + 20 + math.e


ACTIVATIONS = ["relu", "tanh", "sigmoid", "gelu"]
ACTIVATION_TERMS = {"relu": (0.3, -2.5), "tanh": (0.6, -3.5), "sigmoid": (1.2, -2.0), "gelu": (0.0, -3.0)}


def mixed(t):
    x = t.suggest_float("x", -5, 5)
    lr = t.suggest_float("lr", 1e-5, 1, log=True)
    units = t.suggest_int("units", 1, 256, log=True)
    layers = t.suggest_int("layers", 1, 8)
    act = t.suggest_categorical("act", ACTIVATIONS)
    offset, best_log_lr = ACTIVATION_TERMS[act]
    return ((x - 1.3) ** 2 + (math.log10(lr) - best_log_lr) ** 2 + 0.5 * (math.log2(units) - 4.5) ** 2
            + 0.25 * (layers - 3) ** 2 + offset)


FUNCTIONS = {"branin": branin, "hartmann6": hartmann6, "rosenbrock4": rosenbrock4, "ackley5": ackley5, "mixed": mixed}


def make_sampler(name, seed):
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "tpe-multivariate":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True)
    raise SystemExit(f"unknown sampler {name} (random, tpe, tpe-multivariate)")


def run(function, sampler_name, trials, seed):
    study = optuna.create_study(direction="minimize", sampler=make_sampler(sampler_name, seed))
    best, values, seconds = [], [], []
    current = math.inf
    for _ in range(trials):
        # The function suggests its parameters through the trial, as Forge's does: the timed span is ask, the
        # suggestions (the sampler's work) and tell; the arithmetic of the test function is microseconds.
        t0 = time.perf_counter()
        trial = study.ask()
        value = function(trial)
        study.tell(trial, value)
        seconds.append(time.perf_counter() - t0)
        values.append(value)
        current = min(current, value)
        best.append(current)
    return {"seed": seed, "best": best, "values": values, "seconds": seconds}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--function", required=True, choices=sorted(FUNCTIONS))
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--sampler", default="tpe")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    seeds = [int(s) for s in args.seeds.split(",") if s]
    runs = []
    for seed in seeds:
        runs.append(run(FUNCTIONS[args.function], args.sampler, args.trials, seed))
        print(f"[optuna] {args.function} {args.sampler} seed {seed}: best {runs[-1]['best'][-1]:.6g}", file=sys.stderr)
    json.dump({"function": args.function, "sampler": args.sampler, "trials": args.trials, "optuna": optuna.__version__, "runs": runs},
              sys.stdout)
    print()


if __name__ == "__main__":
    main()
