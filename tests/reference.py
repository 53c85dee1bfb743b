"""Independent reference computations for the tests (no statsmodels): a log-linear Poisson fit by direct
likelihood maximisation with scipy."""

import math

import numpy as np
from scipy import optimize


def poisson_loglinear_mle(counts, years, exposure=None):
    """(slope, its SE from the observed information, fitted means) of log E[y] = b0 + b1·(year − mean) + log(exposure)."""
    y = np.asarray(counts, float)
    t = np.asarray(years, float) - np.mean(years)
    off = np.zeros_like(y) if exposure is None else np.log(exposure)

    def nll(b):
        eta = b[0] + b[1] * t + off
        return np.sum(np.exp(eta) - y * eta)

    b = optimize.minimize(nll, [np.log(y.mean()) - off.mean(), 0.0], method="BFGS", options={"gtol": 1e-10}).x
    mu = np.exp(b[0] + b[1] * t + off)
    X = np.column_stack([np.ones_like(t), t])
    cov = np.linalg.inv(X.T @ (mu[:, None] * X))
    return b[1], math.sqrt(cov[1, 1]), mu
