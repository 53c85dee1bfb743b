"""Is a reported multi-year change real? Consistency of the published percent with the counts (or rates), the
endpoint tests, and the whole-series log-linear trend, for a claim such as "over five years the rate fell 6.3%".

Moved from ``analysis.stats.assess`` (it serves one study, ``analysis.studies.trend``).
"""

from __future__ import annotations

from dataclasses import dataclass

from analysis.core import validate
from analysis.core.results import Result
from analysis.stats import consistency, dispersion, trend
from analysis.stats.assess import _decimals_of  # the decimals a published percent was given to (one home)
from analysis.stats.rates import fmt_p


@dataclass(frozen=True)
class WindowAssessment(Result):
    """Is a reported multi-year change real? (notebook 03)."""

    measure: str
    start_year: int
    end_year: int
    start_value: float
    end_value: float
    change_pct: float
    reported_change_pct: float
    consistent: bool
    consistency: dict
    rate_change_pct: float | None
    rate_change_range: tuple[float, float] | None
    rate_consistent: bool | None
    exposure_ratio: float
    p_value_endpoint_exact: float
    change_pct_ci: tuple[float, float]
    p_value_endpoint_overdispersed: float
    change_pct_ci_overdispersed: tuple[float, float]
    dispersion: float
    dispersion_ci: tuple[float, float]
    trend_years: tuple[int, int]
    apc: float
    apc_ci: tuple[float, float]
    p_value_trend: float
    apc_by_model: dict
    alpha: float
    trend_fitted: tuple[float, ...] = ()
    method: str = ("endpoints: exact conditional binomial and quasi-Poisson score tests; whole series: log-linear "
                   "quasi-Poisson GLM, APC = 100·(exp(β)−1) with t interval (Joinpoint's definition)")

    @property
    def verdict(self) -> str:
        a = self.alpha
        what = "counts" if self.measure == "count" else "rates per 1,000 workers"
        cons = (f"The reported {self.reported_change_pct:+g}% matches the {what} {self.start_value:,.4g} → "
                f"{self.end_value:,.4g} ({self.change_pct:+.1f}%)." if self.consistent else
                f"The reported {self.reported_change_pct:+g}% does NOT match the {what} {self.start_value:,.4g} → "
                f"{self.end_value:,.4g} ({self.change_pct:+.1f}%).")
        if self.rate_change_range is not None and self.measure == "count":
            cons += (f" The Ministry's own rate coefficient moved {self.rate_change_pct:+.1f}% (rounding allows "
                     f"{self.rate_change_range[0]:+.1f}% to {self.rate_change_range[1]:+.1f}%), so the claim refers to "
                     f"counts, not the rate.")
        end = (f"Endpoint test {self.start_year}→{self.end_year}: {self.change_pct:+.1f}% (95% CI "
               f"{self.change_pct_ci[0]:+.1f}% to {self.change_pct_ci[1]:+.1f}%), exact {fmt_p(self.p_value_endpoint_exact)}; "
               f"with φ = {self.dispersion:.2f} {fmt_p(self.p_value_endpoint_overdispersed)}.")
        tr = (f"The whole series {self.trend_years[0]}–{self.trend_years[1]} falls {self.apc:+.1f}% a year (95% CI "
              f"{self.apc_ci[0]:+.1f}% to {self.apc_ci[1]:+.1f}%, quasi-Poisson {fmt_p(self.p_value_trend)}).")
        end_sig = self.p_value_endpoint_exact < a
        tr_sig = self.p_value_trend < a and self.apc_ci[1] < 0
        if tr_sig and not end_sig:
            call = ("Verdict: the two endpoints alone do not show a significant decline, but the decade-long downward "
                    "trend does; the 5-year figure is consistent with it. A single year's value (e.g. 2024 at 1,448 "
                    "instead of 1,408) or a break in the trend would change the endpoint reading.")
        elif tr_sig and end_sig:
            call = "Verdict: the decline is statistically meaningful both at the endpoints and as a trend."
        elif end_sig:
            call = "Verdict: the endpoints differ significantly but the whole series shows no clear trend."
        else:
            call = "Verdict: not statistically meaningful — neither the endpoints nor the trend show a clear decline."
        return " ".join([cons, end, tr, call])


def assess_window(years, counts, end_year, window_years, reported_change_pct, measure="count", workers=None,
                  rates=None, alpha=0.05) -> WindowAssessment:
    """Assess 'over N years the figure fell p%': consistency, endpoint tests and a whole-series trend.

    ``workers`` (same length as ``years``) turns counts into rates for ``measure='rate'`` (exposure ratio and GLM
    offset). ``rates`` (dict year -> published rate) lets the check say whether the claim matches the rate.
    """
    validate.alpha("alpha", alpha)
    if measure not in ("count", "rate"):
        raise ValueError(f"measure must be 'count' or 'rate', got {measure!r}")
    years = [int(y) for y in years]
    counts = [int(round(float(c))) for c in counts]
    if len(years) != len(counts):
        raise ValueError(f"years and counts must have the same length, got {len(years)} and {len(counts)}")
    start_year = int(end_year) - int(window_years) + 1
    for name, y in (("end_year", int(end_year)), ("start year", start_year)):
        if y not in years:
            raise ValueError(f"{name} {y} is not in the series years {years}")
    i0, i1 = years.index(start_year), years.index(int(end_year))
    x0, x1 = counts[i0], counts[i1]
    pct = validate.pct_change("reported_change_pct", reported_change_pct)
    d = _decimals_of(pct)
    w = None if workers is None else [float(v) for v in workers]
    if measure == "rate" and w is None:
        raise ValueError("measure='rate' needs workers for every year")
    e = 1.0 if measure == "count" else w[i1] / w[i0]
    if measure == "count":
        check = consistency.check_percent(x1, x0, pct, d)
        consistent, check_d = check.consistent, check.to_dict()
        start_value, end_value = float(x0), float(x1)
    else:
        start_value, end_value = x0 / w[i0] * 1000, x1 / w[i1] * 1000
        exact = 100 * (end_value / start_value - 1)
        consistent = abs(exact - pct) <= 0.5 * 10 ** -d + 1e-9
        check_d = {"implied_percent": exact, "method": "rate = count / workers x 1000", "consistent": consistent}
    rate_change = rate_range = rate_ok = None
    if rates and start_year in rates and int(end_year) in rates:
        rr = consistency.rounded_change_range(rates[int(end_year)], rates[start_year], 2)
        rate_change, rate_range, rate_ok = rr.estimate, tuple(rr.ci), rr.allows(pct)
    wk = w if measure == "rate" else None
    ep = trend.endpoint_change(counts, years, start_year, int(end_year), workers=wk, alpha=alpha)
    models = trend.trend_models(counts, years, workers=wk, alpha=alpha)
    fits = {f.model: f for f in models.fits}
    qp = fits["quasi-poisson"]
    est = dispersion.estimate_dispersion(counts, years, exposure=wk)
    return WindowAssessment(
        measure=measure, start_year=start_year, end_year=int(end_year), start_value=start_value, end_value=end_value,
        change_pct=100 * (end_value / start_value - 1), reported_change_pct=pct, consistent=consistent,
        consistency=check_d, rate_change_pct=rate_change, rate_change_range=rate_range, rate_consistent=rate_ok,
        exposure_ratio=e, p_value_endpoint_exact=ep.p_value, change_pct_ci=tuple(ep.ci),
        p_value_endpoint_overdispersed=ep.p_overdispersed, change_pct_ci_overdispersed=tuple(ep.ci_overdispersed),
        dispersion=ep.phi, dispersion_ci=tuple(est.ci), trend_years=(min(years), max(years)), apc=qp.estimate,
        apc_ci=tuple(qp.ci), p_value_trend=qp.p_value,
        apc_by_model={m: {"apc": f.estimate, "ci": list(f.ci), "p_value": f.p_value} for m, f in fits.items()},
        alpha=alpha, trend_fitted=tuple(qp.fitted))
