"""Year-to-date projection of a year's injury count from a cumulative release, with honest prediction intervals.

Model (ratio projection): the cumulative count by month m is a share s(m) of the year's total, so a count of
``ytd`` after m months projects to ``ytd / s(m) * s(target)``. Shares come from past Ministry releases whose
annual total is known. The prediction interval is a seeded simulation carrying three sources of uncertainty:
(a) Poisson noise — both in the observed year-to-date count (as a measure of this year's rate) and in the
months still to come; (b) over-dispersion φ (variance φ·μ, quasi-Poisson, from the annual series, drawn from
its χ² sampling distribution); (c) the seasonal share, drawn from a t distribution around its mean with the
pooled between-year SD. Months with too little history are interpolated linearly between the nearest months
with history and the anchors (0, 0) and (12, 1) — an explicit assumption that adds one year's worth of share
variance — or refused when ``allow_interpolation`` is False. Everything is leave-one-year-out backtested.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from analysis.core import validate
from analysis.core.results import Result

MODEL = "seasonal-share ratio projection with quasi-Poisson noise (seeded simulation)"
ASSUMPTIONS = (
    "the cumulative share of the annual total reached by month m is the same in every year up to noise; "
    "counts are quasi-Poisson (variance φ·μ, φ from annual totals around a log-linear trend, floored at 1); "
    "months without enough history take a share linearly interpolated between neighbouring months with "
    "history (anchors 0 at month 0, 1 at month 12), with one extra between-year SD of uncertainty; "
    "published cumulative counts are final (no later revisions)"
)
PHI_FIRST_YEAR = 2015
DEFAULT_DRAWS = 20_000


# ---------------------------------------------------------------- formatting and checks
def _num(x: float | None, digits: int = 0) -> str:
    """A number with thousands separators, or 'undefined'."""
    if x is None or not math.isfinite(x):
        return "undefined"
    return f"{x:,.{digits}f}"


def _pct(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "undefined"
    return f"{x:+.1f}%"


def _month(name: str, value) -> int:
    """A calendar month number 1..12."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or not 1 <= value <= 12:
        raise ValueError(f"{name} must be an integer month in 1..12, got {value!r}")
    return int(value)


def _seed(value) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 0:
        raise ValueError(f"seed must be a non-negative integer, got {value!r}")
    return int(value)


def _count_value(name: str, value) -> float:
    """A non-negative, finite, integer-valued count (an int or an integer-valued float)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
            or value < 0 or not float(value).is_integer():
        raise ValueError(f"{name} must be a non-negative integer count, got {value!r}")
    return float(value)


def check_parameters(year, months, ytd_count, ytd_change_pct, target_months, alpha, seed=0) -> None:
    """Validate the projection parameters; raises ValueError naming the first bad one."""
    validate.positive_int("year", year)
    _month("months", months)
    validate.count("ytd_count", ytd_count)
    if ytd_change_pct is not None:
        validate.pct_change("ytd_change_pct", ytd_change_pct)
    _month("target_months", target_months)
    if target_months < months:
        raise ValueError(f"target_months must be >= months ({months}), got {target_months!r}")
    validate.alpha("alpha", alpha)
    _seed(seed)


# ---------------------------------------------------------------- history (plain data in)
@dataclass(frozen=True)
class History:
    """Cumulative counts {year: {month: count}} (month 12 = annual total), derived cells, published YTD % changes."""

    counts: Mapping[int, Mapping[int, float]]
    derived: frozenset = frozenset()
    pct_changes: Mapping[int, Mapping[int, float]] = field(default_factory=dict)

    def count(self, year: int, month: int) -> float | None:
        return self.counts.get(year, {}).get(month)

    def is_derived(self, year: int, month: int) -> bool:
        return (year, month) in self.derived

    def without(self, years: Iterable[int]) -> History:
        """The same history with the given years removed entirely."""
        drop = set(years)
        return History({y: dict(m) for y, m in self.counts.items() if y not in drop},
                       frozenset(c for c in self.derived if c[0] not in drop),
                       {y: dict(m) for y, m in self.pct_changes.items() if y not in drop})

    def annual(self) -> dict[int, float]:
        return {y: m[12] for y, m in sorted(self.counts.items()) if 12 in m}


def make_history(counts: Mapping, derived: Iterable = (), pct_changes: Mapping | None = None) -> History:
    """Validate plain dicts into a History: counts non-negative, months 1..12, percents > -100."""
    clean: dict[int, dict[int, float]] = {}
    for y, months in counts.items():
        validate.positive_int("year", y)
        clean[int(y)] = {_month(f"counts[{y}] month", m): _count_value(f"counts[{y}][{m}]", v)
                         for m, v in months.items()}
    pcts: dict[int, dict[int, float]] = {}
    for y, months in (pct_changes or {}).items():
        pcts[int(y)] = {_month(f"pct_changes[{y}] month", m): validate.pct_change(f"pct_changes[{y}][{m}]", v)
                        for m, v in months.items()}
    der = frozenset((int(y), int(m)) for y, m in derived)
    return History(clean, der, pcts)


def history_table(history: History) -> pd.DataFrame:
    """One row per (year, month) count: derived flag and any published YTD % change, for display."""
    rows = [{"year": y, "months": m, "count": c, "derived": history.is_derived(y, m),
             "published_change_pct": history.pct_changes.get(y, {}).get(m)}
            for y, ms in sorted(history.counts.items()) for m, c in sorted(ms.items())]
    rows += [{"year": y, "months": m, "count": None, "derived": False, "published_change_pct": v}
             for y, ms in sorted(history.pct_changes.items()) for m, v in ms.items() if m not in history.counts.get(y, {})]
    return pd.DataFrame(rows).sort_values(["year", "months"]).reset_index(drop=True)


# ---------------------------------------------------------------- 1. seasonal shares
@dataclass(frozen=True)
class MonthShares(Result):
    """Shares of the annual total reached by one month, one per past year with both figures."""

    month: int
    years: tuple[int, ...]
    shares: tuple[float, ...]
    n_years: int
    mean: float
    sd: float
    few: bool
    used: bool
    derived_years: tuple[int, ...]

    @property
    def verdict(self) -> str:
        flag = " (few years: n <= 2)" if self.few else ""
        use = "" if self.used else "; too few years to use directly"
        return f"month {self.month}: mean share {self.mean:.3f} from {self.n_years} year(s){flag}{use}"


@dataclass(frozen=True)
class ShareCurve(Result):
    """Cumulative share of the annual total by month, pooled between-year SD, and the implied within-year φ."""

    months: tuple[MonthShares, ...]
    pooled_sd: float
    pooled_df: int
    implied_phi: float
    min_years: int
    method: str = "mean of past shares per month; SD pooled across months with 2+ years"
    assumptions: str = "the seasonal pattern is stable across years; derived counts are used and flagged"

    def get(self, month: int) -> MonthShares | None:
        return next((s for s in self.months if s.month == month), None)

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([{"month": s.month, "n_years": s.n_years, "mean_share": s.mean, "sd": s.sd,
                              "few": s.few, "used": s.used, "years": ", ".join(map(str, s.years)),
                              "derived_years": ", ".join(map(str, s.derived_years))} for s in self.months])

    def points(self) -> pd.DataFrame:
        """One row per (year, month) share, for plotting."""
        rows = [{"year": y, "month": s.month, "share": v, "derived": y in s.derived_years}
                for s in self.months for y, v in zip(s.years, s.shares, strict=True)]
        return pd.DataFrame(rows, columns=["year", "month", "share", "derived"])

    @property
    def verdict(self) -> str:
        used = [s.month for s in self.months if s.used]
        thin = [s.month for s in self.months if not s.used]
        return (f"Shares with history at months {used or 'none'}; too thin (< {self.min_years} years) at "
                f"{thin or 'none'}. Between-year SD of a share {self.pooled_sd:.4f} on {self.pooled_df} df "
                f"(implies a within-year φ of about {self.implied_phi:.2f}).")


def seasonal_shares(history: History, min_years: int = 2) -> ShareCurve:
    """Per month 1..11: past shares count(m)/annual, their mean, SD, n and flags; pooled SD across months."""
    validate.positive_int("min_years", min_years)
    rows, ss, df, binom = [], 0.0, 0, []
    for m in range(1, 12):
        ys = [y for y, c in sorted(history.counts.items()) if m in c and 12 in c and c[12] > 0]
        if not ys:
            continue
        sh = np.array([history.counts[y][m] / history.counts[y][12] for y in ys])
        n = len(ys)
        sd = float(sh.std(ddof=1)) if n > 1 else math.nan
        if n > 1:
            ss += float(((sh - sh.mean()) ** 2).sum())
            df += n - 1
            binom += [s * (1 - s) / history.counts[y][12] for s, y in zip(sh, ys, strict=True)]
        der = tuple(y for y in ys if history.is_derived(y, m) or history.is_derived(y, 12))
        rows.append(MonthShares(m, tuple(ys), tuple(float(v) for v in sh), n, float(sh.mean()), sd,
                                n <= 2, n >= min_years, der))
    pooled = math.sqrt(ss / df) if df else math.nan
    implied = pooled ** 2 / float(np.mean(binom)) if df and np.mean(binom) > 0 else math.nan
    return ShareCurve(tuple(rows), pooled, df, implied, min_years)


@dataclass(frozen=True)
class ShareAt(Result):
    """The share reached by one month, with its standard error, t degrees of freedom and where it came from."""

    month: int
    mean: float
    se: float
    df: int
    n_years: int
    source: str  # 'exact' (month 12), 'observed', 'interpolated' or 'assumed'
    note: str

    @property
    def verdict(self) -> str:
        return f"share by month {self.month}: {self.mean:.3f} (SE {self.se:.3f}, {self.source}; {self.note})"


def _anchor(curve: ShareCurve, m: int) -> tuple[float, float]:
    """(mean, se) of a month with history, or of the anchors 0 and 12."""
    if m == 0:
        return 0.0, 0.0
    if m == 12:
        return 1.0, 0.0
    s = curve.get(m)
    return s.mean, curve.pooled_sd / math.sqrt(s.n_years)


def share_at(curve: ShareCurve, month: int, allow_interpolation: bool = True) -> ShareAt:
    """Share by ``month``: observed mean if it has history, else linear interpolation (if allowed) or an error."""
    m = _month("months", month)
    if m == 12:
        return ShareAt(12, 1.0, 0.0, 0, 0, "exact", "the full year")
    if not curve.pooled_df:
        raise ValueError("history must contain at least one month with 2+ years of shares to estimate their SD")
    s = curve.get(m)
    if s is not None and s.used:
        der = f"; derived figures in {', '.join(map(str, s.derived_years))}" if s.derived_years else ""
        few = " — few years" if s.few else ""
        return ShareAt(m, s.mean, curve.pooled_sd / math.sqrt(s.n_years), curve.pooled_df, s.n_years,
                       "observed", f"{s.n_years} past year(s){few}{der}")
    n_own = 0 if s is None else s.n_years
    if not allow_interpolation:
        raise ValueError(
            f"months={m} has no usable history ({n_own} past year(s), fewer than min_years={curve.min_years}); "
            "pass allow_interpolation=True to interpolate the share curve (an explicit modelling assumption)")
    have = [x.month for x in curve.months if x.used]
    lo = max([0] + [x for x in have if x < m])
    hi = min([12] + [x for x in have if x > m])
    w = (m - lo) / (hi - lo)
    (a, sa), (b, sb) = _anchor(curve, lo), _anchor(curve, hi)
    se = math.sqrt(((1 - w) * sa) ** 2 + (w * sb) ** 2 + curve.pooled_sd ** 2)
    own = f"; own history ({n_own} year(s), mean {s.mean:.3f}) too thin and not used" if s else "; no own history"
    return ShareAt(m, (1 - w) * a + w * b, se, curve.pooled_df, 0, "interpolated",
                   f"linear between month {lo} and month {hi}, plus one between-year SD{own}")


def share_table(curve: ShareCurve, allow_interpolation: bool = True) -> pd.DataFrame:
    """Share by every month 1..12 (observed or interpolated) with a ±1.96 SE band, for plotting."""
    rows = []
    for m in range(1, 13):
        s = share_at(curve, m, allow_interpolation)
        rows.append({"month": m, "share": s.mean, "se": s.se, "lower": max(0.0, s.mean - 1.96 * s.se),
                     "upper": min(1.0, s.mean + 1.96 * s.se), "source": s.source, "n_years": s.n_years})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- dispersion
def quasi_poisson_phi(annual: Mapping[int, float], first_year: int | None = PHI_FIRST_YEAR) -> tuple[float, int]:
    """(φ, df): Pearson χ²/df of a Poisson GLM log-linear in year (analysis.dispersion); years before
    ``first_year`` dropped."""
    from analysis.stats.dispersion import estimate_dispersion

    ys = sorted(y for y in annual if first_year is None or y >= first_year)
    if len(ys) < 3:
        raise ValueError(f"annual must have at least 3 years from {first_year} to estimate φ, got {len(ys)}")
    est = estimate_dispersion([annual[k] for k in ys], ys)
    return float(est.estimate), int(est.df_resid)


# ---------------------------------------------------------------- 2. projection
@dataclass(frozen=True)
class Projection(Result):
    """Projected cumulative count at ``target_months`` from the count at ``months``, with a prediction interval."""

    months: int
    target_months: int
    ytd_count: int
    estimate: float
    ci: tuple[float, float]
    alpha: float
    share_months: ShareAt | None
    share_target: ShareAt | None
    phi: float
    phi_df: int | None
    seed: int
    n_draws: int
    method: str = MODEL
    assumptions: str = ASSUMPTIONS

    @property
    def verdict(self) -> str:
        level = round(100 * (1 - self.alpha), 6)
        if self.months == self.target_months:
            return f"{self.ytd_count} at month {self.months} is the target period itself: no projection needed."
        return (f"{self.method}: {self.ytd_count} by month {self.months} projects to {_num(self.estimate)} by month "
                f"{self.target_months} ({level:g}% prediction interval {_num(self.ci[0])} to {_num(self.ci[1])}; "
                f"share by month {self.months} {self.share_months.mean:.3f} ({self.share_months.source}), "
                f"φ = {self.phi:.2f}).")


def _draw_share(rng, s: ShareAt, n: int) -> np.ndarray:
    if s.se == 0:
        return np.full(n, s.mean)
    return np.clip(s.mean + s.se * rng.standard_t(max(s.df, 1), n), 1e-3, 1.0)


def _quasi_poisson(rng, mu: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Counts with mean mu and variance phi·mu (gamma-Poisson mixture; Poisson where phi == 1)."""
    extra = np.maximum(phi - 1.0, 1e-9)
    lam = np.where(phi > 1.0 + 1e-9, rng.gamma(np.maximum(mu, 1e-12) / extra, extra), mu)
    return rng.poisson(lam)


def _simulate(ytd: float, s_m: ShareAt, s_t: ShareAt, phi: float, phi_df: int | None, seed: int, n: int):
    """Draws of the target-period count and of the target share (shared with the previous-year estimate)."""
    rng = np.random.default_rng(seed)
    phis = phi * phi_df / rng.chisquare(phi_df, n) if phi_df else np.full(n, phi)
    phis = np.maximum(phis, 1.0)
    sm_ = _draw_share(rng, s_m, n)
    st_ = _draw_share(rng, s_t, n)
    inc = np.maximum(st_ - sm_, 1e-6)
    mu_ytd = rng.gamma(max(ytd, 0.5) / phis, phis)  # this year's expected YTD count given the observed one
    remaining = _quasi_poisson(rng, mu_ytd * inc / sm_, phis)
    return ytd + remaining, st_


def _project(ytd, months, target, s_m, s_t, phi, phi_df, alpha, seed, n) -> Projection:
    if months == target:
        return Projection(months, target, int(ytd), float(ytd), (float(ytd), float(ytd)), alpha, s_m, s_t,
                          phi, phi_df, seed, n)
    draws, _ = _simulate(ytd, s_m, s_t, phi, phi_df, seed, n)
    lo, hi = np.quantile(draws, [alpha / 2, 1 - alpha / 2])
    return Projection(months, target, int(ytd), ytd / s_m.mean * s_t.mean, (float(lo), float(hi)), alpha,
                      s_m, s_t, phi, phi_df, seed, n)


def project(ytd_count, months, curve: ShareCurve, phi, *, target_months=12, alpha=0.05, seed=0,
            n_draws=DEFAULT_DRAWS, phi_df=None, allow_interpolation=True) -> Projection:
    """Project the count at ``target_months`` from ``ytd_count`` at ``months``: point ytd/s(m)·s(target), seeded PI."""
    ytd = validate.count("ytd_count", ytd_count)
    m, t = _month("months", months), _month("target_months", target_months)
    if t < m:
        raise ValueError(f"target_months must be >= months ({m}), got {target_months!r}")
    a, f = validate.alpha("alpha", alpha), validate.positive("phi", phi)
    seed, n = _seed(seed), validate.positive_int("n_draws", n_draws)
    if phi_df is not None:
        phi_df = validate.positive_int("phi_df", phi_df)
    if m == t:
        return _project(ytd, m, t, None, None, f, phi_df, a, seed, n)
    s_m, s_t = share_at(curve, m, allow_interpolation), share_at(curve, t, allow_interpolation)
    return _project(ytd, m, t, s_m, s_t, f, phi_df, a, seed, n)


# ---------------------------------------------------------------- 3. projected change
@dataclass(frozen=True)
class ProjectedChange(Result):
    """Projected percent change of the target period vs the same period of the previous year."""

    estimate: float
    ci: tuple[float, float]
    previous_count: float
    previous_source: str  # 'published', 'derived' or 'estimated' (previous annual total × share)
    projection: Projection

    @property
    def verdict(self) -> str:
        level = round(100 * (1 - self.projection.alpha), 6)
        side = ("includes no change" if self.ci[0] <= 0 <= self.ci[1]
                else "lies wholly below zero" if self.ci[1] < 0 else "lies wholly above zero")
        return (f"Projected change {_pct(self.estimate)} vs {_num(self.previous_count)} ({self.previous_source}) a year "
                f"earlier; {level:g}% prediction interval {_pct(self.ci[0])} to {_pct(self.ci[1])}, which {side}.")


def projected_change(projection: Projection, previous_count=None, previous_annual=None,
                     previous_derived: bool = False) -> ProjectedChange:
    """Change vs the previous year's count at the target month, or (target < 12) its annual total × share."""
    p = projection
    if previous_count is not None:
        prev = validate.positive("previous_count", previous_count)
        src = "derived" if previous_derived else "published"
        prev_draws = None
    elif previous_annual is not None and p.target_months < 12:
        ann = validate.positive("previous_annual", previous_annual)
        prev, src = ann * p.share_target.mean, "estimated"
        prev_draws = ann
    elif previous_annual is not None:
        prev, src, prev_draws = validate.positive("previous_annual", previous_annual), \
            ("derived" if previous_derived else "published"), None
    else:
        raise ValueError("previous_count or previous_annual must be given")
    est = 100 * (p.estimate / prev - 1)
    if p.months == p.target_months:
        return ProjectedChange(est, (est, est), prev, src, p)
    draws, st_ = _simulate(p.ytd_count, p.share_months, p.share_target, p.phi, p.phi_df, p.seed, p.n_draws)
    base = prev if prev_draws is None else prev_draws * st_
    lo, hi = np.quantile(100 * (draws / base - 1), [p.alpha / 2, 1 - p.alpha / 2])
    return ProjectedChange(est, (float(lo), float(hi)), prev, src, p)


# ---------------------------------------------------------------- 4. shrinkage of early changes
def ytd_changes(history: History, target_months: int = 12) -> pd.DataFrame:
    """Per (year, month < target): the YTD % change (from counts, else published) and the target-period % change."""
    t = _month("target_months", target_months)
    rows = []
    for y in sorted(history.counts):
        cur, prev = history.counts[y], history.counts.get(y - 1, {})
        if t not in cur or t not in prev:
            continue
        months = sorted(set(m for m in cur if m < t and m in prev) | set(m for m in history.pct_changes.get(y, {})
                                                                           if m < t))
        for m in months:
            if m in cur and m in prev and prev[m] > 0:
                x, src = 100 * (cur[m] / prev[m] - 1), "counts"
            else:
                x, src = history.pct_changes[y][m], "published %"
            der = any(history.is_derived(yy, mm) for yy in (y, y - 1) for mm in (m, t))
            rows.append({"year": y, "month": m, "ytd_change_pct": x, "target_change_pct": 100 * (cur[t] / prev[t] - 1),
                         "ytd_source": src, "derived": der})
    return pd.DataFrame(rows, columns=["year", "month", "ytd_change_pct", "target_change_pct", "ytd_source",
                                       "derived"])


@dataclass(frozen=True)
class Shrinkage(Result):
    """How much of a YTD % change survives to the target period: slope of target change on YTD change."""

    months: int
    target_months: int
    months_used: tuple[int, ...]
    points: pd.DataFrame
    n: int
    estimate: float
    se: float
    ci: tuple[float, float]
    df: int
    intercept: float
    through_origin: bool
    residual_sd: float
    alpha: float
    ytd_change_pct: float | None
    predicted_change_pct: float | None
    predicted_interval: tuple[float, float] | None
    note: str
    method: str = "least squares of the target-period % change on the YTD % change, one point per year"
    assumptions: str = ("the ratio of full-year to early change is stable across years; with this few points the "
                        "slope is rough, and pooling neighbouring months assumes they shrink alike")

    @property
    def verdict(self) -> str:
        level = round(100 * (1 - self.alpha), 6)
        tiny = " — n is tiny, read as indicative only" if self.n <= 4 else ""
        pred = ""
        if self.predicted_change_pct is not None:
            pi = self.predicted_interval
            pred = (f"; applied to {_pct(self.ytd_change_pct)} it suggests {_pct(self.predicted_change_pct)} "
                    f"({level:g}% PI {_pct(pi[0]) if pi else 'undefined'} to {_pct(pi[1]) if pi else 'undefined'})")
        return (f"Shrinkage factor {self.estimate:.2f} (SE {_num(self.se, 2)}, {level:g}% CI {_num(self.ci[0], 2)} to "
                f"{_num(self.ci[1], 2)}) from n = {self.n} year(s){tiny}: about {100 * self.estimate:.0f}% of an early "
                f"change survived to month {self.target_months}{pred}. {self.note}")


def _select_points(tab: pd.DataFrame, m: int, min_points: int) -> pd.DataFrame:
    """The years at month m; if fewer than ``min_points``, add the nearest months (one point per year, nearest first)."""
    if tab.empty:
        return tab
    tab = tab.assign(distance=(tab["month"] - m).abs()).sort_values(["distance", "month", "year"])
    chosen = tab[tab["distance"] == 0].drop_duplicates("year")
    for d in sorted(tab["distance"].unique()):
        if len(chosen) >= min_points:
            break
        if d == 0:
            continue
        extra = tab[(tab["distance"] == d) & ~tab["year"].isin(chosen["year"])].drop_duplicates("year")
        chosen = pd.concat([chosen, extra])
    return chosen.drop(columns="distance").sort_values(["month", "year"]).reset_index(drop=True)


def shrinkage(history: History, months: int, target_months: int = 12, ytd_change_pct=None, *,
              through_origin: bool = True, min_points: int = 3, alpha: float = 0.05) -> Shrinkage:
    """Regress the target-period % change on the YTD % change at ``months`` (nearest months pooled if thin)."""
    m, t = _month("months", months), _month("target_months", target_months)
    if t < m:
        raise ValueError(f"target_months must be >= months ({m}), got {target_months!r}")
    a = validate.alpha("alpha", alpha)
    validate.positive_int("min_points", min_points)
    x0 = None if ytd_change_pct is None else validate.pct_change("ytd_change_pct", ytd_change_pct)
    pts = _select_points(ytd_changes(history, t), m, min_points)
    n = len(pts)
    used = tuple(sorted(set(int(v) for v in pts["month"]))) if n else ()
    nan2 = (math.nan, math.nan)
    if n == 0:
        return Shrinkage(m, t, used, pts, 0, math.nan, math.nan, nan2, 0, math.nan, through_origin, math.nan, a,
                         x0, None, None, f"No past year has both a YTD change near month {m} and a target change.")
    x, y = pts["ytd_change_pct"].to_numpy(float), pts["target_change_pct"].to_numpy(float)
    if through_origin:
        sxx = float((x ** 2).sum())
        b, c = float((x * y).sum()) / sxx, 0.0
        df = n - 1
    else:
        xm, ym = x.mean(), y.mean()
        sxx = float(((x - xm) ** 2).sum())
        b = float(((x - xm) * (y - ym)).sum()) / sxx if n > 1 and sxx > 0 else math.nan
        c, df = ym - b * xm, n - 2
    resid = y - (c + b * x)
    s = math.sqrt(float((resid ** 2).sum()) / df) if df > 0 else math.nan
    se = s / math.sqrt(sxx) if df > 0 else math.nan
    q = float(stats.t.ppf(1 - a / 2, df)) if df > 0 else math.nan
    ci = (b - q * se, b + q * se) if df > 0 else nan2
    pred = pi = None
    if x0 is not None and math.isfinite(b):
        pred = c + b * x0
        if df > 0:
            lev = x0 ** 2 / sxx if through_origin else 1 / n + (x0 - x.mean()) ** 2 / sxx
            half = q * s * math.sqrt(1 + lev)
            pi = (pred - half, pred + half)
    note = ("" if used == (m,) else
            f"Month {m} has {int((pts['month'] == m).sum())} year(s) of history; nearest months {list(used)} pooled "
            "(one point per year). ")
    if pts["derived"].any():
        note += f"Points using derived figures: years {sorted(set(pts.loc[pts['derived'], 'year'].astype(int)))}. "
    if df <= 0:
        note += "Too few points for a standard error. "
    return Shrinkage(m, t, used, pts, n, b, se, ci, df, c, through_origin, s, a, x0, pred, pi, note.strip())


# ---------------------------------------------------------------- 5. backtest
@dataclass(frozen=True)
class Backtest(Result):
    """Leave-one-year-out backtest: each past release projected from the other years only."""

    months: tuple[int, ...]
    target_months: int
    alpha: float
    rows: pd.DataFrame
    n: int
    n_covered: int
    coverage: float
    coverage_ci: tuple[float, float]
    mape: float
    method: str = MODEL + ", leave-one-year-out"
    assumptions: str = ("rows of the same year are correlated (one year's surprise moves all its months), so the "
                        "coverage interval (Clopper-Pearson on rows) is optimistic; other years include later ones")

    @property
    def verdict(self) -> str:
        level = round(100 * (1 - self.alpha), 6)
        if not self.n:
            return "No past release could be backtested."
        return (f"{self.n_covered} of {self.n} leave-one-year-out {level:g}% intervals covered the actual count "
                f"({100 * self.coverage:.0f}%, 95% CI {100 * self.coverage_ci[0]:.0f}–{100 * self.coverage_ci[1]:.0f}%); "
                f"mean absolute percentage error {self.mape:.1f}%.")


def _phi_for(history: History, phi_first_year: int | None) -> tuple[float, int]:
    return quasi_poisson_phi(history.annual(), phi_first_year)


def backtest(history: History, months=None, target_months: int = 12, *, alpha=0.05, seed=0,
             n_draws=DEFAULT_DRAWS, min_years=2, phi_first_year=PHI_FIRST_YEAR) -> Backtest:
    """For each past (year, month) release with a known target count, project from the other years only."""
    t = _month("target_months", target_months)
    a, seed = validate.alpha("alpha", alpha), _seed(seed)
    if months is None:
        wanted = range(1, t)
    else:
        wanted = [_month("months", v) for v in ([months] if isinstance(months, numbers.Integral) else months)]
    rows = []
    for y in sorted(history.counts):
        cur = history.counts[y]
        if t not in cur:
            continue
        rest = history.without([y])
        curve = seasonal_shares(rest, min_years)
        phi, phi_df = _phi_for(rest, phi_first_year)
        for m in sorted(v for v in wanted if v in cur and v < t):
            p = project(int(cur[m]), m, curve, phi, target_months=t, alpha=a, seed=seed, n_draws=n_draws,
                        phi_df=phi_df)
            act = cur[t]
            rows.append({"year": y, "months": m, "ytd_count": cur[m], "ytd_derived": history.is_derived(y, m),
                         "projection": p.estimate, "lower": p.ci[0], "upper": p.ci[1], "actual": act,
                         "actual_derived": history.is_derived(y, t), "covered": bool(p.ci[0] <= act <= p.ci[1]),
                         "error": p.estimate - act, "pct_error": 100 * (p.estimate - act) / act,
                         "lower_pct_error": 100 * (p.ci[0] - act) / act, "upper_pct_error": 100 * (p.ci[1] - act) / act,
                         "share_source": p.share_months.source, "phi": phi})
    cols = ["year", "months", "ytd_count", "ytd_derived", "projection", "lower", "upper", "actual", "actual_derived",
            "covered", "error", "pct_error", "lower_pct_error", "upper_pct_error", "share_source", "phi"]
    tab = pd.DataFrame(rows, columns=cols)
    n, k = len(tab), int(tab["covered"].sum()) if len(tab) else 0
    ci = tuple(float(v) for v in stats.binomtest(k, n).proportion_ci(0.95, "exact")) if n else (math.nan, math.nan)
    mape = float(tab["pct_error"].abs().mean()) if n else math.nan
    return Backtest(tuple(sorted(set(int(v) for v in tab["months"]))), t, a, tab, n, k, k / n if n else math.nan,
                    ci, mape)


# ---------------------------------------------------------------- what would change the conclusion
def decisive_counts(curve: ShareCurve, phi, phi_df, months: int, previous_count, *, target_months=12, alpha=0.05,
                    seed=0, n_draws=DEFAULT_DRAWS) -> dict:
    """YTD counts at ``months`` at or below which (at or above which) the projected change interval excludes zero."""
    m = _month("months", months)
    hi_start = int(2 * previous_count * share_at(curve, m).mean) + 10

    def ci(c):
        p = project(c, m, curve, phi, target_months=target_months, alpha=alpha, seed=seed, n_draws=n_draws,
                    phi_df=phi_df)
        return projected_change(p, previous_count=previous_count).ci

    def search(pred, lo, hi):  # smallest c in [lo, hi] with pred(c) True, assuming monotone
        while lo < hi:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if pred(mid) else (mid + 1, hi)
        return lo

    above = search(lambda c: ci(c)[0] > 0, 0, hi_start)
    below = search(lambda c: ci(c)[1] >= 0, 0, hi_start) - 1
    return {"months": m, "fall_if_at_most": below if below >= 0 else None,
            "rise_if_at_least": above if ci(above)[0] > 0 else None, "previous_count": float(previous_count)}


# ---------------------------------------------------------------- 6. combined
@dataclass(frozen=True)
class YearProjection(Result):
    """Everything about one year-to-date release: projection, change, shrinkage, backtest and a verdict."""

    year: int
    months: int
    target_months: int
    ytd_count: int
    ytd_change_pct: float | None
    previous_ytd_count: float | None
    previous_ytd_source: str | None
    projected_count: float
    prediction_interval: tuple[float, float]
    projected_remaining: float
    remaining_interval: tuple[float, float]
    projected_change_pct: float
    projected_change_interval: tuple[float, float]
    previous_count: float
    previous_source: str
    share: ShareAt | None
    phi: float
    phi_df: int
    shrinkage_factor: float
    shrinkage_interval: tuple[float, float]
    shrinkage_n: int
    shrinkage_months: tuple[int, ...]
    shrunk_change_pct: float | None
    shrunk_change_interval: tuple[float, float] | None
    backtest: pd.DataFrame
    coverage: float
    coverage_ci: tuple[float, float]
    backtest_n: int
    coverage_same_month: float | None
    backtest_n_same_month: int
    backtest_covered_same_month: int
    mape: float
    decisive: tuple[dict, ...]
    uniform_projection: float
    uniform_change_pct: float
    actual: float | None
    alpha: float
    seed: int
    n_draws: int
    notes: tuple[str, ...]
    method: str = MODEL
    assumptions: str = ASSUMPTIONS

    def conf_int(self) -> tuple[float, float]:
        return self.prediction_interval

    @property
    def verdict(self) -> str:
        level = f"{round(100 * (1 - self.alpha), 6):g}%"
        period = "year" if self.target_months == 12 else f"first {self.target_months} months"
        lo, hi = self.projected_change_interval
        side = ("The interval includes no change, so this release alone does not show a lower (or higher) "
                f"{period} than {self.year - 1}"
                if lo <= 0 <= hi else f"The whole interval lies {'below' if hi < 0 else 'above'} {self.year - 1}")
        base = ""
        if self.ytd_change_pct is not None:
            prev = (f" vs {_num(self.previous_ytd_count)} ({self.previous_ytd_source})"
                    if self.previous_ytd_count is not None else "")
            base = f" ({_pct(self.ytd_change_pct)}{prev})"
        share = "" if self.share is None else (f"; share of the {period} reached by month {self.months}: "
                                               f"{self.share.mean:.3f} ± {self.share.se:.3f} ({self.share.source})")
        if math.isfinite(self.shrinkage_factor):
            ci = (f"{level} CI {self.shrinkage_interval[0]:.2f} to {self.shrinkage_interval[1]:.2f}"
                  if math.isfinite(self.shrinkage_interval[0]) else "no CI")
            tiny = "; too few years to rely on" if self.shrinkage_n <= 2 else ""
            shrink = (f" In past years about {self.shrinkage_factor:.2f} of an early change survived to month "
                      f"{self.target_months} (n = {self.shrinkage_n}, months {list(self.shrinkage_months)}, {ci}{tiny})"
                      + (f", which turns {_pct(self.ytd_change_pct)} into about {_pct(self.shrunk_change_pct)}"
                         if self.shrunk_change_pct is not None else "") + ".")
        else:
            shrink = " No past year allows a shrinkage estimate."
        der = bool(self.backtest.loc[self.backtest["months"] == self.months, "ytd_derived"].any()) \
            if self.backtest_n else False
        same = (f"at month {self.months}: {self.backtest_covered_same_month} of {self.backtest_n_same_month}"
                + (", using derived counts" if der else "")
                if self.backtest_n_same_month else f"none of them at month {self.months}")
        bt = (f" Backtest (leave one year out, projections from every past release month): "
              f"{round(self.coverage * self.backtest_n)} of {self.backtest_n} past {level} intervals covered the "
              f"actual count ({same})." if self.backtest_n else " No backtest was possible.")
        dec = []
        for d in self.decisive:
            lo_c, hi_c = d["fall_if_at_most"], d["rise_if_at_least"]
            if lo_c is not None or hi_c is not None:
                both = " or ".join(x for x in [f"{lo_c:,} or fewer" if lo_c is not None else "",
                                               f"{hi_c:,} or more" if hi_c is not None else ""] if x)
                dec.append(f"a {d['months']}-month count of {both}")
        uni = (f"a seasonal share by month {self.months} of {self.months}/12 (uniform within the year) instead of "
               f"{self.share.mean:.3f} would give {_num(self.uniform_projection)} ({_pct(self.uniform_change_pct)})"
               if self.share is not None else "")
        parts = (["; ".join(dec) + f" would put the whole interval below (above) {self.year - 1}"] if dec else []) \
            + ([uni] if uni else [])
        change = (" What would change this: " + "; ".join(parts) + "." if parts else "")
        actual = "" if self.actual is None else f" The actual count was {_num(self.actual)}."
        return (f"{self.method}: {self.ytd_count:,} injured in the first {self.months} month(s) of {self.year}{base} "
                f"project to {_num(self.projected_count)} for the {period} ({level} prediction interval "
                f"{_num(self.prediction_interval[0])} to {_num(self.prediction_interval[1])}), i.e. "
                f"{_num(self.projected_remaining)} more in months {self.months + 1}–{self.target_months} "
                f"({_num(self.remaining_interval[0])} to {_num(self.remaining_interval[1])}), a change of "
                f"{_pct(self.projected_change_pct)} vs {_num(self.previous_count)} ({self.previous_source}) "
                f"({level} PI {_pct(lo)} to {_pct(hi)}){share}, φ = {self.phi:.2f}. {side}.{shrink}{bt}{change}{actual}")


def _previous(history: History, year: int, t: int, s_t: ShareAt | None) -> tuple[dict, str]:
    """Keyword arguments for projected_change and a label for the previous year's target-period count."""
    c = history.count(year - 1, t)
    if c is not None:
        return {"previous_count": c, "previous_derived": history.is_derived(year - 1, t)}, "count"
    ann = history.count(year - 1, 12)
    if ann is not None and s_t is not None:
        return {"previous_annual": ann}, "annual"
    raise ValueError(f"year: no count for {year - 1} at month {t} (nor an annual total) to compare {year} with")


def project_year(history: History, year, months, ytd_count, ytd_change_pct=None, target_months=12, *,
                 alpha=0.05, seed=0, n_draws=DEFAULT_DRAWS, min_years=2, allow_interpolation=True,
                 phi_first_year=PHI_FIRST_YEAR, decisive_months=(6, 9)) -> YearProjection:
    """Projection, change, shrinkage and backtest for one year-to-date release; ``year`` is left out of the history."""
    check_parameters(year, months, ytd_count, ytd_change_pct, target_months, alpha, seed)
    rest = history.without([year])
    curve = seasonal_shares(rest, min_years)
    phi, phi_df = _phi_for(rest, phi_first_year)
    p = project(ytd_count, months, curve, phi, target_months=target_months, alpha=alpha, seed=seed,
                n_draws=n_draws, phi_df=phi_df, allow_interpolation=allow_interpolation)
    prev_kw, _ = _previous(history, year, target_months, p.share_target)
    ch = projected_change(p, **prev_kw)
    notes = []
    prev_ytd = history.count(year - 1, months)
    prev_ytd_src = None if prev_ytd is None else ("derived" if history.is_derived(year - 1, months) else "published")
    if ytd_change_pct is not None and prev_ytd is None:
        prev_ytd, prev_ytd_src = ytd_count / (1 + ytd_change_pct / 100), "implied by the stated change"
    elif ytd_change_pct is None and prev_ytd:
        ytd_change_pct = 100 * (ytd_count / prev_ytd - 1)
        notes.append(f"ytd_change_pct computed from the counts: {_pct(ytd_change_pct)}")
    if p.share_months is not None and p.share_months.source == "interpolated":
        notes.append(f"No usable history for the share by month {months}: {p.share_months.note}.")
    if ch.previous_source == "derived":
        notes.append(f"The {year - 1} comparison count is derived, not published.")
    sh = shrinkage(rest, months, target_months, ytd_change_pct, alpha=alpha)
    bt = backtest(rest, None, target_months, alpha=alpha, seed=seed, n_draws=n_draws, min_years=min_years,
                  phi_first_year=phi_first_year)
    same = bt.rows[bt.rows["months"] == months]
    dec = tuple(decisive_counts(curve, phi, phi_df, d, history.count(year - 1, target_months),
                                target_months=target_months, alpha=alpha, seed=seed, n_draws=n_draws)
                for d in decisive_months
                if months < d < target_months and history.count(year - 1, target_months) is not None)
    uni = ytd_count * target_months / months  # uniform within the year: share m/12
    uni_prev = prev_kw["previous_annual"] * target_months / 12 if "previous_annual" in prev_kw else ch.previous_count
    return YearProjection(
        year=int(year), months=int(months), target_months=int(target_months), ytd_count=int(ytd_count),
        ytd_change_pct=ytd_change_pct, previous_ytd_count=prev_ytd, previous_ytd_source=prev_ytd_src,
        projected_count=p.estimate, prediction_interval=p.ci, projected_remaining=p.estimate - ytd_count,
        remaining_interval=(p.ci[0] - ytd_count, p.ci[1] - ytd_count), projected_change_pct=ch.estimate,
        projected_change_interval=ch.ci, previous_count=ch.previous_count, previous_source=ch.previous_source,
        share=p.share_months, phi=phi, phi_df=phi_df, shrinkage_factor=sh.estimate, shrinkage_interval=sh.ci,
        shrinkage_n=sh.n, shrinkage_months=sh.months_used, shrunk_change_pct=sh.predicted_change_pct,
        shrunk_change_interval=sh.predicted_interval, backtest=bt.rows, coverage=bt.coverage,
        coverage_ci=bt.coverage_ci, backtest_n=bt.n,
        coverage_same_month=float(same["covered"].mean()) if len(same) else None,
        backtest_n_same_month=len(same), backtest_covered_same_month=int(same["covered"].sum()), mape=bt.mape,
        decisive=dec, uniform_projection=uni, uniform_change_pct=100 * (uni / uni_prev - 1),
        actual=history.count(year, target_months),
        alpha=float(alpha), seed=int(seed), n_draws=int(n_draws), notes=tuple(notes))


# ---------------------------------------------------------------- sensitivity
def sensitivity(history: History, year, months, ytd_count, target_months=12, *, alpha=0.05, seed=0,
                n_draws=DEFAULT_DRAWS, min_years=2, phi_first_year=PHI_FIRST_YEAR) -> pd.DataFrame:
    """The projection under alternative assumptions: share curve, uniform share m/12, the month's thin own data, φ."""
    check_parameters(year, months, ytd_count, None, target_months, alpha, seed)
    rest = history.without([year])
    curve = seasonal_shares(rest, min_years)
    phi, phi_df = _phi_for(rest, phi_first_year)
    phi_all, phi_all_df = _phi_for(rest, None)
    base_m, base_t = share_at(curve, months), share_at(curve, target_months)
    own = curve.get(months)
    cases = [("share curve (default)", base_m, base_t, phi, phi_df),
             (f"uniform within the year (share {months}/12)",
              ShareAt(months, months / 12, base_m.se, base_m.df, 0, "assumed", "uniform"),
              ShareAt(target_months, target_months / 12, 0.0 if target_months == 12 else base_t.se, base_t.df, 0,
                      "assumed", "uniform"), phi, phi_df)]
    if own is not None and not own.used:
        der = " derived" if own.derived_years else ""
        cases.append((f"month {months}'s own{der} data only ({', '.join(map(str, own.years))})",
                      ShareAt(months, own.mean, base_m.se, base_m.df, own.n_years, "assumed", "thin own history"),
                      base_t, phi, phi_df))
    cases += [(f"φ from all annual years ({phi_all:.1f})", base_m, base_t, phi_all, phi_all_df),
              ("Poisson only (φ = 1)", base_m, base_t, 1.0, None)]
    prev_kw, _ = _previous(history, year, target_months, base_t)
    rows = []
    for name, s_m, s_t, f, fdf in cases:
        p = _project(float(ytd_count), months, target_months, s_m, s_t, f, fdf, alpha, seed, n_draws)
        ch = projected_change(p, **prev_kw)
        rows.append({"assumption": name, "share_by_month": s_m.mean, "phi": f, "projected_count": p.estimate,
                     "lower": p.ci[0], "upper": p.ci[1], "change_pct": ch.estimate, "change_lower": ch.ci[0],
                     "change_upper": ch.ci[1]})
    return pd.DataFrame(rows)
