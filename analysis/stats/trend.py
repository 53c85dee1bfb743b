"""Log-linear trends of an annual series (Poisson, quasi-Poisson, negative binomial GLM) and endpoint changes.

APC = 100·(exp(β) - 1) where β is the year slope of log E[count] (or of log rate with a log(workers) offset);
its interval is 100·(exp(β ± crit·se) - 1), Joinpoint's definition. crit is normal for Poisson and NB (ML with
known/estimated dispersion) and Student t on the residual df for quasi-Poisson (estimated scale), as in Joinpoint.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats
from statsmodels.genmod import families
from statsmodels.genmod.generalized_linear_model import GLM

from analysis.core import validate
from analysis.core.fmt import fmt_count, fmt_number, fmt_p, fmt_percent
from analysis.core.results import Result
from analysis.stats.compare import (
    QuasiPoissonComparison,
    RateComparison,
    compare_counts,
    compare_quasi,
)
from analysis.stats.dispersion import clean_series, design, estimate_dispersion, fit_nb_alpha, nb_glm

p_text = fmt_p  # a p-value in a sentence: the one policy of analysis.core.fmt


MODELS = {
    "poisson": "log-linear Poisson GLM",
    "quasi-poisson": "quasi-Poisson GLM (Pearson χ²/df scale, t on residual df)",
    "negbin": "negative binomial GLM (NB2, α by profile maximum likelihood)",
}


@dataclass(frozen=True)
class TrendFit(Result):
    """One log-linear trend fit: APC with interval and p-value, fitted values, dispersion used."""

    model: str
    years: tuple[float, ...]
    counts: tuple[int, ...]
    fitted: tuple[float, ...]
    with_offset: bool
    alpha: float
    beta: float
    se: float
    estimate: float
    ci: tuple[float, float]
    p_value: float
    df_resid: int
    scale: float
    nb_alpha: float | None
    notes: tuple[str, ...]
    method: str
    assumptions: str

    @property
    def verdict(self) -> str:
        level = round(100 * (1 - self.alpha), 6)
        what = "rate" if self.with_offset else "count"
        sig = self.p_value <= self.alpha
        y0, y1 = self.years[0], self.years[-1]
        s = (
            f"{self.method}, {y0:g}–{y1:g} ({len(self.years)} years): annual percent change of the {what} "
            f"{fmt_percent(self.estimate)} ({level:g}% CI {fmt_percent(self.ci[0])} to {fmt_percent(self.ci[1])}), "
            f"{p_text(self.p_value)}: {'a' if sig else 'no'} statistically clear trend at {self.alpha:g}. "
        )
        if self.model == "poisson":
            s += "Over-dispersion (see the quasi-Poisson/NB fits) would widen the interval"
        else:
            s += f"Dispersion used: {fmt_number(self.scale, 3)}; a larger one would widen the interval"
        s += ", and a break in the trend (Joinpoint) would make a single APC misleading."
        if self.notes:
            s += " Note: " + "; ".join(self.notes) + "."
        return s


def fit_trend(counts, years, workers=None, model="poisson", alpha=0.05) -> TrendFit:
    """Fit a log-linear trend (Poisson, quasi-Poisson or NB GLM; optional log(workers) offset) and report the APC.

    Parameters
    ----------
    counts : sequence of int
        Annual counts; missing values (NaN/None) drop their year with a note.
    years : sequence of float
        The year of each count.
    workers : sequence of float, optional
        Positive exposure; enters as a log offset, so the APC is of the rate per worker.
    model : {"poisson", "quasi-poisson", "negbin"}
        Poisson ML (normal reference); quasi-Poisson (Pearson χ²/df scale, t reference on the residual df);
        NB2 with α by profile maximum likelihood (normal reference).
    alpha : float, default 0.05
        1 − confidence level.

    Returns
    -------
    TrendFit
        APC = 100·(exp(β) − 1) with its interval 100·(exp(β ± crit·se) − 1) and the test of β = 0.

    References
    ----------
    .. [1] Kim HJ, Fay MP, Feuer EJ, Midthune DN (2000). Permutation tests for joinpoint regression with
       applications to cancer rates. Statistics in Medicine 19:335–351 (APC definition).
    .. [2] McCullagh P, Nelder JA (1989). Generalized Linear Models, 2nd ed., ch. 6 and 9.
    """
    validate.one_of("model", model, MODELS)
    a = validate.alpha("alpha", alpha)
    y, c, t, notes = clean_series(counts, years, workers, exposure_name="workers")
    X = design(y)
    off = None if t is None else np.log(t)
    nb_a = None
    if model == "poisson":
        res = GLM(c, X, family=families.Poisson(), offset=off).fit()
        scale, dist = 1.0, stats.norm
    elif model == "quasi-poisson":
        res = GLM(c, X, family=families.Poisson(), offset=off).fit(scale="X2")
        scale, dist = float(res.scale), stats.t(res.df_resid)
    else:
        nb_a, boundary = fit_nb_alpha(c, X, off)
        if boundary:
            notes = notes + ("NB α at its boundary 0: the NB fit equals the Poisson fit",)
        res = nb_glm(c, X, nb_a, off)
        scale, dist = 1 + nb_a * float(np.mean(res.mu)), stats.norm
    beta, se = float(res.params[1]), float(res.bse[1])
    crit = float(dist.ppf(1 - a / 2))
    p = float(2 * dist.sf(abs(beta / se))) if se > 0 else (0.0 if beta != 0 else 1.0)
    return TrendFit(
        model=model,
        years=tuple(float(v) for v in y),
        counts=tuple(int(v) for v in c),
        fitted=tuple(float(v) for v in res.mu),
        with_offset=t is not None,
        alpha=a,
        beta=beta,
        se=se,
        estimate=100 * math.expm1(beta),
        ci=(100 * math.expm1(beta - crit * se), 100 * math.expm1(beta + crit * se)),
        p_value=p,
        df_resid=int(round(res.df_resid)),
        scale=scale,
        nb_alpha=nb_a,
        notes=notes,
        method=MODELS[model],
        assumptions=(
            "log E[count] linear in year (one constant APC, no joinpoints); years independent"
            + ("; log(workers) offset: the trend is in the rate per worker" if t is not None else "")
            + ("; variance φ·μ" if model == "quasi-poisson" else "")
            + ("; variance μ + α·μ²" if model == "negbin" else "")
        ),
    )


@dataclass(frozen=True)
class TrendModels(Result):
    """The same series under Poisson, quasi-Poisson and NB trends, for a model-sensitivity view."""

    fits: tuple[TrendFit, ...]

    @property
    def verdict(self) -> str:
        parts = [
            f"{f.model}: {fmt_percent(f.estimate)} ({fmt_percent(f.ci[0])} to {fmt_percent(f.ci[1])}, {p_text(f.p_value)})"
            for f in self.fits
        ]
        sig = [f.p_value <= f.alpha for f in self.fits]
        agree = (
            "all models agree the trend is " + ("clear" if all(sig) else "not clear")
            if len(set(sig)) == 1
            else ("the models disagree, so the conclusion rests on the dispersion assumption")
        )
        return "APC by model — " + "; ".join(parts) + f": {agree}."


def trend_models(counts, years, workers=None, alpha=0.05) -> TrendModels:
    """Fit the Poisson, quasi-Poisson and NB log-linear trends to one series and set them side by side.

    Parameters
    ----------
    counts, years, workers, alpha
        As in :func:`fit_trend`.

    Returns
    -------
    TrendModels
        The three fits in the order of ``MODELS``.
    """
    return TrendModels(fits=tuple(fit_trend(counts, years, workers, m, alpha) for m in MODELS))


@dataclass(frozen=True)
class EndpointChange(Result):
    """Change between two years of a series, exact and with over-dispersion."""

    start: float
    end: float
    x0: int
    x1: int
    exposure_ratio: float
    alpha: float
    estimate: float
    ci: tuple[float, float]
    p_value: float
    phi: float | None
    phi_source: str
    p_overdispersed: float | None
    ci_overdispersed: tuple[float, float] | None
    exact: RateComparison
    overdispersed: QuasiPoissonComparison | None
    method: str = "exact conditional binomial (endpoints only)"
    assumptions: str = "only the two end years are used; intermediate years are ignored (see fit_trend)"

    @property
    def verdict(self) -> str:
        level = round(100 * (1 - self.alpha), 6)
        s = (
            f"Endpoint change {self.start:g} -> {self.end:g} ({fmt_count(self.x0)} -> {fmt_count(self.x1)}"
            + ("" if self.exposure_ratio == 1 else f", exposure ratio {fmt_number(self.exposure_ratio, 4)}")
            + f"): {fmt_percent(self.estimate)} ({level:g}% CI {fmt_percent(self.ci[0])} to "
            f"{fmt_percent(self.ci[1])}), exact conditional {p_text(self.p_value)}"
        )
        if self.p_overdispersed is not None:
            s += (f"; with φ = {fmt_number(self.phi, 3)} ({self.phi_source}) quasi-Poisson score, "
                  f"{self.overdispersed.reference} reference, {p_text(self.p_overdispersed)}")
            if self.overdispersed.df is not None:
                s += f" (normal plug-in, as if φ were known: {p_text(self.overdispersed.p_value_normal)})"
        sig_exact = self.p_value <= self.alpha
        sig_od = self.p_overdispersed is not None and self.p_overdispersed <= self.alpha
        if sig_exact and (self.p_overdispersed is None or sig_od):
            s += f". Significant at {self.alpha:g}"
        elif sig_exact:
            s += f". Significant at {self.alpha:g} only under pure Poisson variation, not with the dispersion"
        else:
            s += f". Not significant at {self.alpha:g}"
        return s + "; choosing other end years, or using all years (trend fit), can change this."


def endpoint_change(counts, years, start, end, workers=None, phi=None, alpha=0.05, df=None) -> EndpointChange:
    """Compare the counts of two years (e.g. 2020 -> 2024) exactly and with over-dispersion φ.

    Parameters
    ----------
    counts, years, workers
        As in :func:`fit_trend`; ``workers`` gives the exposure ratio of the two years.
    start, end : float
        The two years compared (both must have a count).
    phi : float, optional
        Over-dispersion; None estimates it from the whole series (Pearson χ²/df of the log-linear Poisson GLM,
        floored at 1).
    alpha : float, default 0.05
    df : int, optional
        With a given ``phi`` that was itself estimated elsewhere: its residual degrees of freedom, so that the
        test uses the t(df) reference. None treats a given φ as known (normal reference).

    Returns
    -------
    EndpointChange
        Exact conditional binomial test and interval (``analysis.stats.compare.compare_counts``) and the
        quasi-Poisson score test with φ (``compare_quasi``: Student t on the residual df when φ is estimated from
        the series, normal when it is given; the normal plug-in is reported beside the t one).
    """
    a = validate.alpha("alpha", alpha)
    y, c, t, notes = clean_series(counts, years, workers, min_points=2, exposure_name="workers")
    s_ = validate.finite("start", start)
    e_ = validate.finite("end", end)
    idx = {float(v): i for i, v in enumerate(y)}
    if s_ not in idx:
        raise ValueError(f"start must be a year with a count in the series, got {start!r}")
    if e_ not in idx:
        raise ValueError(f"end must be a year with a count in the series, got {end!r}")
    x0, x1 = int(c[idx[s_]]), int(c[idx[e_]])
    e = 1.0 if t is None else float(t[idx[e_]] / t[idx[s_]])
    df = None if df is None else validate.positive_int("df", df)  # given φ: known (normal) unless its df is given
    if phi is not None:
        f, src = validate.positive("phi", phi), "given" if df is None else f"estimated on {df} df"
    elif len(y) >= 3:
        est = estimate_dispersion(c.astype(int).tolist(), y.tolist(), None if t is None else t.tolist())
        f, df = max(1.0, est.estimate), est.df_resid
        src = f"estimated from {len(y)} years, Pearson χ²/df = {fmt_number(est.estimate, 3)}" + (
            ", floored at 1" if est.estimate < 1 else ""
        )
    else:
        f, src = None, "not estimable from fewer than 3 years"
    ex = compare_counts(x1, x0, e, a)
    od = None if f is None else compare_quasi(x1, x0, f, e, a, df=df, phi_source=src)
    pct = (ex.pct_ci[0], ex.pct_ci[1])
    return EndpointChange(
        start=s_,
        end=e_,
        x0=x0,
        x1=x1,
        exposure_ratio=e,
        alpha=a,
        estimate=ex.pct_change,
        ci=pct,
        p_value=ex.p_value,
        phi=f,
        phi_source=src + ("; " + "; ".join(notes) if notes else ""),
        p_overdispersed=None if od is None else od.p_value,
        ci_overdispersed=None if od is None else (100 * (od.ci[0] - 1), 100 * (od.ci[1] - 1)),
        exact=ex,
        overdispersed=od,
    )
