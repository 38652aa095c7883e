#!/usr/bin/python3
"""Writes the golden values the Forge.Tuning tests compare against (run with Debian's /usr/bin/python3):
  special.json   erfc, erfcx, log Φ, Φ⁻¹, log(Φ(b)-Φ(a)) and log(φ(z)+zΦ(z)) at 50 digits (mpmath)
  parzen.json    Optuna 3.1's _ParzenEstimator kernels (centres, widths, weights) on fixed observations, and the mixture's
                 log density with scipy's truncated normal (univariate and multivariate)
  gp.json        scikit-learn's Matérn-5/2 ARD + white-noise log marginal likelihood and its gradient
  yeojohnson.json  scipy's maximum-likelihood Yeo-Johnson lambda
  pruners.json   Optuna 3.1's median, successive-halving and Hyperband decisions on hand-made learning curves
  tpe.json       Optuna's default gamma and weights
usage: /usr/bin/python3 make_tuning_golden.py   (writes next to this script)
"""
import json
import math
import os

import mpmath
import numpy as np
import optuna
import scipy.stats
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.samplers._tpe.parzen_estimator import _ParzenEstimator, _ParzenEstimatorParameters
from optuna.samplers._tpe.sampler import default_gamma, default_weights
from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

HERE = os.path.dirname(os.path.abspath(__file__))
mpmath.mp.dps = 50


def write(name, data):
    with open(os.path.join(HERE, name), "w") as f:
        json.dump(data, f, indent=1)
        f.write("\n")


def special():
    xs = [-30, -12.5, -6, -3, -1.5, -0.7, -0.1, 0, 0.05, 0.4, 1, 2.2, 4, 7.5, 15, 26]
    erfc = [[x, float(mpmath.erfc(x))] for x in xs]
    erfcx = [[x, float(mpmath.exp(mpmath.mpf(x) ** 2) * mpmath.erfc(x))] for x in xs if x > -20]
    ncdf = lambda z: mpmath.ncdf(z)
    zs = [-40, -20, -8, -3, -1, -0.2, 0, 0.3, 1.5, 4, 9]
    log_ncdf = [[z, float(mpmath.log(ncdf(z)))] for z in zs]
    ps = [1e-300, 1e-20, 1e-6, 0.001, 0.02, 0.0243, 0.1, 0.37, 0.5, 0.81, 0.975, 0.999, 1 - 1e-10]
    with mpmath.workdps(400):  # 2p - 1 must not round to -1 for p = 1e-300
        quantile = [[p, float(mpmath.sqrt(2) * mpmath.erfinv(2 * mpmath.mpf(p) - 1))] for p in ps]
    pairs = [(-50, -45), (-9, -8.5), (-3, -1), (-1, 2), (-0.1, 0.1), (0.5, 3), (8, 8.01), (30, 31), (-2, 40)]
    # Upper-tail intervals through the mirrored lower tail: 1 - tiny would lose every digit even at 50.
    mass = [[a, b, float(mpmath.log(ncdf(b) - ncdf(a) if a < 0 else ncdf(-a) - ncdf(-b)))] for a, b in pairs]
    hz = [-200, -45, -31, -29, -15, -5, -1.5, -1, -0.5, 0, 0.8, 3]
    logh = [[z, float(mpmath.log(mpmath.npdf(z) + z * ncdf(z)))] for z in hz]
    write("special.json", {"erfc": erfc, "erfcx": erfcx, "logNormalCdf": log_ncdf, "normalQuantile": quantile, "logGaussMass": mass, "logH": logh})


def dist_json(d):
    if isinstance(d, FloatDistribution):
        return {"type": "float", "low": d.low, "high": d.high, "log": d.log, "step": d.step}
    if isinstance(d, IntDistribution):
        return {"type": "int", "low": d.low, "high": d.high, "log": d.log, "step": d.step}
    return {"type": "categorical", "choices": list(d.choices)}


def reference_log_pdf(pe, sub, points):
    """The mixture's log density from Optuna's own kernels (pe._mus, _sigmas, _weights, _categorical_weights), with each
    continuous kernel's density taken from scipy.stats.truncnorm: Optuna 3.1's _truncnorm.logpdf leaves out -log(scale)."""
    n_points = len(next(iter(points.values())))
    out = []
    for i in range(n_points):
        component = np.log(pe._weights).copy()
        for name, d in sub.items():
            x = points[name][i]
            if isinstance(d, CategoricalDistribution):
                component += np.log(pe._categorical_weights[name][:, int(x)])
                continue
            low, high, q = pe._low[name], pe._high[name], pe._q[name]
            mus, sigmas = pe._mus[name], pe._sigmas[name]
            if d.log:
                x = math.log(x)
            a, b = (low - mus) / sigmas, (high - mus) / sigmas
            if q is None:
                component += scipy.stats.truncnorm.logpdf(x, a, b, loc=mus, scale=sigmas)
            else:
                lower, upper = max(x - q / 2, low), min(x + q / 2, high)
                mass = scipy.stats.norm.cdf((upper - mus) / sigmas) - scipy.stats.norm.cdf((lower - mus) / sigmas)
                component += np.log(mass) - np.log(scipy.stats.norm.cdf(b) - scipy.stats.norm.cdf(a))
        m = component.max()
        out.append(float(m + np.log(np.exp(component - m).sum())))
    return out


def parzen():
    rng = np.random.RandomState(7)
    space = {
        "f": FloatDistribution(-2.0, 3.0),
        "flog": FloatDistribution(1e-4, 1.0, log=True),
        "fstep": FloatDistribution(0.0, 1.0, step=0.1),
        "i": IntDistribution(1, 9),
        "ilog": IntDistribution(1, 64, log=True),
        "istep": IntDistribution(0, 20, step=4),
        "c": CategoricalDistribution(["a", "b", "c"]),
    }

    def draw(d, n):
        if isinstance(d, CategoricalDistribution):
            return [int(v) for v in rng.randint(0, len(d.choices), n)]
        if isinstance(d, IntDistribution):
            k = (d.high - d.low) // d.step
            return [float(d.low + d.step * v) for v in rng.randint(0, k + 1, n)]
        if d.step is not None:
            k = int(round((d.high - d.low) / d.step))
            return [float(round(d.low + d.step * v, 10)) for v in rng.randint(0, k + 1, n)]
        if d.log:
            return [float(v) for v in np.exp(rng.uniform(np.log(d.low), np.log(d.high), n))]
        return [float(v) for v in rng.uniform(d.low, d.high, n)]

    cases = []
    for multivariate in (False, True):
        for n in (0, 1, 7):
            for names in (["f"], ["flog"], ["fstep"], ["i"], ["ilog"], ["istep"], ["c"], list(space)):
                if multivariate != (len(names) > 1):
                    continue
                sub = {k: space[k] for k in names}
                obs = {k: draw(sub[k], n) for k in names}
                params = _ParzenEstimatorParameters(True, 1.0, True, False, default_weights, multivariate)
                pe = _ParzenEstimator({k: np.asarray(v, dtype=float) for k, v in obs.items()}, sub, params)
                points = {k: draw(sub[k], 5) for k in names}
                # Optuna's log_pdf takes external values for numbers and indices for categoricals, as Forge's internal form.
                logpdf = reference_log_pdf(pe, sub, points)
                cases.append({
                    "kernels": {k: {"mu": None if pe._mus[k] is None else [float(v) for v in pe._mus[k]],
                                    "sigma": None if pe._sigmas[k] is None else [float(v) for v in pe._sigmas[k]]} for k in names},
                    "weights": [float(v) for v in pe._weights],
                    "multivariate": multivariate,
                    "space": {k: dist_json(sub[k]) for k in names},
                    "observations": [[obs[k][i] for k in names] for i in range(n)],
                    "points": [[points[k][i] for k in names] for i in range(5)],
                    "logPdf": [float(v) for v in logpdf],
                })
    write("parzen.json", {"names": "order of each observation/point vector = order of 'space'", "cases": cases})


def gp():
    rng = np.random.RandomState(3)
    cases = []
    for n, d in ((5, 1), (12, 3), (20, 2)):
        x = rng.uniform(0, 1, (n, d))
        y = np.sin(3 * x).sum(axis=1) + 0.1 * rng.randn(n)
        y = (y - y.mean()) / y.std()
        lengths = rng.uniform(0.2, 1.5, d)
        signal, noise = 1.3, 0.02
        kernel = ConstantKernel(signal) * Matern(length_scale=lengths, nu=2.5) + WhiteKernel(noise)
        # scikit-learn's theta: [log signal, log lengths..., log noise]
        from sklearn.gaussian_process import GaussianProcessRegressor
        gpr = GaussianProcessRegressor(kernel=kernel, optimizer=None, normalize_y=False, alpha=0.0).fit(x, y)
        lml, grad = gpr.log_marginal_likelihood(gpr.kernel_.theta, eval_gradient=True)
        cases.append({
            "x": x.tolist(), "y": y.tolist(), "lengthScales": lengths.tolist(), "signal": signal, "noise": noise,
            "logMarginalLikelihood": float(lml),
            "gradient": {"logSignal": float(grad[0]), "logLengths": [float(g) for g in grad[1:1 + d]], "logNoise": float(grad[1 + d])},
            "predict": {"x": rng.uniform(0, 1, (3, d)).tolist()},
        })
        xs = np.asarray(cases[-1]["predict"]["x"])
        mean, sd = gpr.predict(xs, return_std=True)
        # scikit-learn's predictive std includes the white noise; Forge predicts the latent function: remove it.
        cases[-1]["predict"]["mean"] = mean.tolist()
        cases[-1]["predict"]["latentVariance"] = (sd ** 2 - noise).tolist()
    write("gp.json", {"cases": cases})


def yeojohnson():
    rng = np.random.RandomState(5)
    cases = []
    for sample in (rng.lognormal(0, 1.5, 40), rng.normal(0, 1, 30), -rng.lognormal(0, 1, 25), np.concatenate([rng.uniform(-1, 0, 10), rng.exponential(20, 15)])):
        standardised = (sample - sample.mean()) / sample.std()
        _, lam = scipy.stats.yeojohnson(standardised)
        cases.append({"y": standardised.tolist(), "lambda": float(lam)})
    write("yeojohnson.json", {"cases": cases})


def curves():
    """Hand-made learning curves (accuracy-like, maximise) for the pruner tests: 12 trials x 27 steps."""
    rng = np.random.RandomState(11)
    result = []
    for i in range(12):
        ceiling = 0.5 + 0.45 * rng.rand()
        speed = 0.05 + 0.3 * rng.rand()
        result.append([float(ceiling * (1 - math.exp(-speed * (s + 1))) + 0.01 * rng.randn()) for s in range(27)])
    return result


def pruners():
    data = curves()
    out = {"curves": data, "direction": "maximize", "cases": []}
    setups = {
        "median": lambda: optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1),
        "median-interval": lambda: optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=2, interval_steps=3),
        "percentile25": lambda: optuna.pruners.PercentilePruner(25.0, n_startup_trials=2),
        "asha": lambda: optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3),
        "asha-rate1-bootstrap": lambda: optuna.pruners.SuccessiveHalvingPruner(min_resource=2, reduction_factor=2, min_early_stopping_rate=1, bootstrap_count=1),
        "hyperband": lambda: optuna.pruners.HyperbandPruner(min_resource=1, max_resource=27, reduction_factor=3),
    }
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for name, make in setups.items():
        for direction in ("maximize", "minimize"):
            study = optuna.create_study(study_name="pruned", direction=direction, pruner=make(), sampler=optuna.samplers.RandomSampler(0))
            pruned_at = []
            for curve in data:
                trial = study.ask()
                sign = 1 if direction == "maximize" else -1
                stop = None
                for step, value in enumerate(curve):
                    trial.report(sign * value, step)
                    if trial.should_prune():
                        stop = step
                        break
                if stop is None:
                    study.tell(trial, sign * curve[-1])
                else:
                    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                pruned_at.append(stop)
            out["cases"].append({"pruner": name, "direction": direction, "prunedAt": pruned_at})
    # Hyperband's bracket of each trial number for a study name (CRC-32 rule).
    hb = optuna.pruners.HyperbandPruner(min_resource=1, max_resource=81, reduction_factor=3)
    study = optuna.create_study(study_name="brackets", pruner=hb)
    hb._try_initialization(study)
    out["hyperbandBrackets"] = {"studyName": "brackets", "minResource": 1, "maxResource": 81, "reductionFactor": 3,
                                "brackets": [hb._get_bracket_id(study, type("T", (), {"number": n})()) for n in range(60)]}
    write("pruners.json", out)


def tpe():
    write("tpe.json", {"gamma": [[n, default_gamma(n)] for n in (0, 1, 9, 10, 11, 100, 249, 250, 251, 1000)],
                       "weights": [[n, list(map(float, default_weights(n)))] for n in (0, 3, 25, 26, 30)]})


if __name__ == "__main__":
    special()
    parzen()
    gp()
    yeojohnson()
    pruners()
    tpe()
