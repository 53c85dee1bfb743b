"""Sector shares of injuries: counts allowed by a rounded published share (under the rounding rules a publisher
may follow), relative risk against the sector's employment share with binomial and over-dispersed intervals, and
whether a period's share departs from history.

Methods (documented once; the functions name them in their ``method`` fields):

* Count bounds. A share ``s`` published with ``d`` decimals of a total ``T`` (``u = 10^-d``) allows every integer
  ``k`` whose share ``100 k / T`` the publisher would print as ``s``. Two rules are recognised
  (:data:`ROUNDING_RULES`): ``"round-half"`` (to the nearest ``u``; ``|100 k / T - s| <= u / 2``, both tie
  conventions, half-up and half-even, accepted) and ``"truncate"`` (the extra digits cut off;
  ``s <= 100 k / T < s + u``). Computed in exact rational arithmetic (``fractions.Fraction`` of the decimal text of
  ``s``), so no float tolerance is needed. An empty set is returned flagged inconsistent, with the nearest counts.
* Which rule a release follows (:func:`rounding_rule_test`): a rule fits a release when every published share of
  the release is printable from a whole count of its total under that rule, and every count published beside a
  share prints as that share. The release supports the rules that fit; ``"either"`` when both do (undecided: both
  are carried), ``"neither"`` when none does.
* Relative risk ``RR = (k / T) / e``: the sector's share of injuries over its share of employment ``e``.
  With ``e`` treated as known, the binomial CI is the exact Clopper-Pearson interval for ``k / T`` divided by ``e``.
  With ``employment_n`` (the sample size behind ``e``, e.g. a labour-force survey), ``e`` gets its own
  Clopper-Pearson interval (``e * n`` successes, beta quantiles allow non-integers) and the two are combined
  by the MOVER-R method for a ratio of independent proportions (Donner & Zou 2012, Stat Methods Med Res
  21:347). Ranges: over all allowed counts and the two ends of an employment-share range (low, high), the RR
  range is ``[k_min / T / high, k_max / T / low]`` and the reported CI is the envelope of the combinations.
* Over-dispersed interval (``dispersion`` = the between-year φ of the sector's share, estimated on ``df`` degrees
  of freedom): the Clopper-Pearson interval on the effective sample ``n* = (T / φ) (t_{T-1} / t_df)^2`` with
  ``x* = (k / T) n*`` successes (beta quantiles), the interval of Korn & Graubard (1998) for a proportion whose
  variance is ``φ`` times binomial (R ``survey::svyciprop(method = "beta")`` uses the same effective sample). The
  matching one-sided p-value of an excess is ``P(Beta(x*, n* - x* + 1) <= e)``, the exact binomial tail on the
  effective sample (it equals ``scipy.stats.binomtest(k, T, e, alternative="greater")`` when ``φ = 1`` without
  a df adjustment); its lower CI limit exceeds ``e`` exactly when that p-value is below ``alpha / 2``.
* Exact binomial test of ``k`` out of ``T`` against ``e`` (``scipy.stats.binomtest``; two-sided by the
  minimum-likelihood rule); over ranges, the p-values are evaluated at every allowed ``k`` and both ends of the
  employment range (two-sided max set to 1 when the range contains ``k / T``). The test treats ``e`` as known.
* History: pooled past share ``p0 = sum k_y / sum n_y``. (a) exact binomial test of the current count vs
  ``p0``; (b) Pearson chi-square of the 2x2 table current vs all past years pooled (``p0`` estimated);
  (c) over-dispersed: ``phi = max(1, X2_past / (Y - 1))`` with ``X2_past`` the Pearson chi-square of the
  past years around ``p0``, ``z = (k - T p0) / sqrt(phi T p0 (1 - p0) (1 + T / N_past))`` referred to
  Student t on ``Y - 1`` df (quasi-binomial; the last factor is the prediction variance from estimating p0).

References
----------
Clopper CJ, Pearson ES (1934). The use of confidence or fiducial limits illustrated in the case of the binomial.
Biometrika 26:404-413.
Korn EL, Graubard BI (1998). Confidence intervals for proportions with small expected number of positive counts
estimated from survey data. Survey Methodology 24:193-201.
Donner A, Zou GY (2012). Closed-form confidence intervals for functions of the normal mean and standard deviation.
Statistical Methods in Medical Research 21:347-359.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import numpy as np
from scipy import stats

from analysis.core import validate
from analysis.core.fmt import fmt_count, fmt_number, fmt_p, fmt_percent
from analysis.core.results import Result

GMK_NOTE = ("The mining and metallurgical complex (GMK) is a Ministry grouping that cuts across NACE section B "
            "(mining and quarrying) and part of section C (C24 basic metals); it is not a NACE section, so no "
            "official employment total matches it and its employment share is given as a range.")

#: The rounding rules a publisher of a percentage may follow (see the module docstring).
ROUNDING_RULES = ("round-half", "truncate")
RULE_TEXT = {"round-half": "rounded to the nearest value", "truncate": "truncated (extra digits cut off)"}


_p = fmt_p  # a p-value in a sentence: the one policy of analysis.core.fmt


def _pct(x: float, nd: int = 1) -> str:
    return fmt_percent(100 * x, nd, signed=False)


def _check_rule(rule) -> str:
    if rule not in ROUNDING_RULES:
        raise ValueError(f"rule must be one of {list(ROUNDING_RULES)}, got {rule!r}")
    return rule


def _published(k: int, total: int, decimals: int, rule: str) -> Fraction:
    """100 k / total as printed with ``decimals`` decimals: half-up for round-half, cut off for truncate (exact)."""
    q = Fraction(100 * k, total) * 10**decimals
    if rule == "truncate":
        return Fraction(math.floor(q), 10**decimals)
    return Fraction(math.floor(q + Fraction(1, 2)), 10**decimals)


def published_shares(k: int, total: int, decimals: int, rule: str = "round-half") -> tuple[Fraction, ...]:
    """The share(s) a publisher following ``rule`` could print for ``k`` of ``total`` with ``decimals`` decimals.

    Parameters
    ----------
    k, total : int
        The count and the total it is a share of (``0 <= k <= total``).
    decimals : int
        Decimals printed.
    rule : {"round-half", "truncate"}
        Round-half gives one value except at an exact tie, where half-up and half-even may differ (both returned).

    Returns
    -------
    tuple of fractions.Fraction
        The printed percentage(s), exact.
    """
    validate.positive_int("total", total)
    validate.count("k", k)
    validate.count("decimals", decimals)
    _check_rule(rule)
    if k > total:
        raise ValueError(f"k must not exceed total ({total}), got {k!r}")
    up = _published(k, total, decimals, rule)
    if rule == "truncate":
        return (up,)
    q = Fraction(100 * k, total) * 10**decimals
    if q.denominator == 2:  # an exact tie: half-even rounds to the even neighbour
        lo = Fraction(math.floor(q), 10**decimals)
        even = lo if math.floor(q) % 2 == 0 else up
        return tuple(sorted({up, even}))
    return (up,)


# --------------------------------------------------------------------------------------------------------
# count bounds


@dataclass(frozen=True)
class ShareCounts(Result):
    """Integer counts out of ``total`` that reproduce a published share under one rounding rule."""

    share_pct: float
    decimals: int
    total: int
    rule: str
    counts: tuple[int, ...]
    k_min: int | None
    k_max: int | None
    consistent: bool
    count_interval: tuple[float, float]
    nearest_below: tuple[int, float] | None
    nearest_above: tuple[int, float] | None
    nearby_totals: tuple[int, ...]

    @property
    def verdict(self) -> str:
        lo, hi = self.count_interval
        head = (f"{self.share_pct:.{self.decimals}f}% of {fmt_count(self.total)}, "
                f"{RULE_TEXT[self.rule]} to {self.decimals} decimal(s),")
        need = (f"[{lo:.2f}, {hi:.2f}]" if self.rule == "round-half" else f"[{lo:.2f}, {hi:.2f})")
        if self.consistent:
            ks = f"{self.k_min}" if self.k_min == self.k_max else f"{self.k_min}-{self.k_max}"
            return f"{head} allows count(s) {ks} (k in {need})."
        near = []
        if self.nearest_below:
            near.append(f"{self.nearest_below[0]} gives {self.nearest_below[1]:.{self.decimals}f}%")
        if self.nearest_above:
            near.append(f"{self.nearest_above[0]} gives {self.nearest_above[1]:.{self.decimals}f}%")
        tot = (f"; totals within 10 of {self.total} that do allow it: "
               f"{', '.join(map(str, self.nearby_totals))}" if self.nearby_totals else "")
        return (f"{head} fits no whole count (it needs k in {need}); {'; '.join(near)}{tot}.")


def _share_fraction(share_pct, decimals: int) -> Fraction:
    s = Fraction(Decimal(str(share_pct)))
    scaled = s * 10**decimals
    if scaled.denominator != 1:
        raise ValueError(f"share_pct has more decimals than decimals={decimals}, got {share_pct!r}")
    return s


def _allowed(s: Fraction, total: int, decimals: int, rule: str = "round-half"
             ) -> tuple[int, int, Fraction, Fraction]:
    """First and last count whose printed share is ``s`` under ``rule``, and the interval of k it needs.

    Round-half: a share exactly half a unit below ``s`` rounds up to ``s`` (half-up); one exactly half a unit above
    rounds down to ``s`` only under half-even and only when ``s``'s last digit is even. Truncate: ``s`` itself is
    included, ``s + u`` is not.
    """
    unit = Fraction(1, 10**decimals)
    if rule == "truncate":
        lo = s * total / 100
        hi = (s + unit) * total / 100
        return max(0, math.ceil(lo)), min(total, math.ceil(hi) - 1), lo, hi
    half = unit / 2
    lo = (s - half) * total / 100
    hi = (s + half) * total / 100
    k_hi = math.floor(hi)
    if hi.denominator == 1 and (s * 10**decimals) % 2 == 1:
        k_hi -= 1  # the upper tie rounds away from s under both conventions
    return max(0, math.ceil(lo)), min(total, k_hi), lo, hi


def _fits(allowed: tuple[int, int, Fraction, Fraction]) -> bool:
    return allowed[0] <= allowed[1]


def share_count_bounds(share_pct, total: int, decimals: int, rule: str = "round-half") -> ShareCounts:
    """All counts k out of ``total`` whose share 100k/total the publisher prints as ``share_pct``.

    Parameters
    ----------
    share_pct : float or str
        The published percentage (its decimal text is used exactly).
    total : int
        The total the share is of.
    decimals : int
        How many decimals the share was published with (15.3 -> 1, 12 -> 0).
    rule : {"round-half", "truncate"}
        How the publisher cut the percentage to ``decimals`` (see the module docstring).

    Returns
    -------
    ShareCounts
        Never raises for an impossible share: returns it flagged inconsistent, with the nearest counts and the
        nearby totals that fit.
    """
    if isinstance(share_pct, str):
        try:
            share_val = float(share_pct)
        except ValueError:
            raise ValueError(f"share_pct must be a number, got {share_pct!r}") from None
        validate.share_pct("share_pct", share_val)
    else:
        share_val = validate.share_pct("share_pct", share_pct)
    validate.positive_int("total", total)
    validate.count("decimals", decimals)
    _check_rule(rule)
    if decimals > 10:
        raise ValueError(f"decimals must be at most 10, got {decimals!r}")
    s = _share_fraction(share_pct, decimals)
    k0, k1, lo, hi = _allowed(s, total, decimals, rule)
    counts = tuple(range(k0, k1 + 1))
    ok = bool(counts)
    below = above = None
    if k0 - 1 >= 0:
        below = (k0 - 1, float(_published(k0 - 1, total, decimals, rule)))
    if k1 + 1 <= total:
        above = (k1 + 1, float(_published(k1 + 1, total, decimals, rule)))
    nearby = () if ok else tuple(t for t in range(max(1, total - 10), total + 11)
                                 if t != total and _fits(_allowed(s, t, decimals, rule)))
    return ShareCounts(share_val, int(decimals), int(total), rule, counts, counts[0] if ok else None,
                       counts[-1] if ok else None, ok, (float(lo), float(hi)), below, above, nearby)


# --------------------------------------------------------------------------------------------------------
# which rounding rule a release follows


@dataclass(frozen=True)
class PublishedShare:
    """One published share of a release: its name, value, decimals, the total it is of, and the count published
    beside it (None when only the share was published)."""

    name: str
    share_pct: float
    decimals: int
    total: int
    count: int | None = None


@dataclass(frozen=True)
class RoundingRuleTest(Result):
    """Which rounding rules reproduce every published share of a release (see :func:`rounding_rule_test`)."""

    method: str
    figures: tuple[PublishedShare, ...]
    rows: tuple[dict, ...]
    fits: dict
    supported: tuple[str, ...]
    decision: str
    discriminating: tuple[str, ...]

    @property
    def verdict(self) -> str:
        if not self.figures:
            return "No share was published: the rounding rule cannot be tested."
        by = {r: [x for x in self.rows if x["rule"] == r] for r in ROUNDING_RULES}
        bad = {r: [x["name"] for x in rows if not x["fits"]] for r, rows in by.items()}
        parts = []
        for r in ROUNDING_RULES:
            parts.append(f"{RULE_TEXT[r]}: {'every figure fits' if not bad[r] else 'does not fit ' + ', '.join(bad[r])}")
        head = {"round-half": "The release supports rounding to the nearest value only",
                "truncate": "The release supports truncation only",
                "either": "Both rules fit every figure of the release (undecided: both are carried)",
                "neither": "No single rule fits every figure of the release"}[self.decision]
        return f"{head} ({'; '.join(parts)})."


def rounding_rule_test(figures: Sequence[PublishedShare]) -> RoundingRuleTest:
    """Test which rounding rules reproduce every published share of one release.

    Parameters
    ----------
    figures : sequence of PublishedShare
        The release's published shares (several shares of one sector at different precision are separate
        figures).

    Returns
    -------
    RoundingRuleTest
        ``fits[rule]`` is True when every share is printable from a whole count under ``rule`` and every count
        published beside a share prints as it; ``supported`` the rules that fit; ``decision`` one of
        ``"round-half"``, ``"truncate"``, ``"either"`` (both fit: undecided), ``"neither"``; ``discriminating`` the
        figures that fit one rule but not the other. With no figure, both rules are supported (nothing to test).
    """
    if isinstance(figures, (str, bytes)) or not isinstance(figures, Sequence):
        raise ValueError(f"figures must be a sequence of PublishedShare, got {figures!r}")
    for i, f in enumerate(figures):
        if not isinstance(f, PublishedShare):
            raise ValueError(f"figures[{i}] must be a PublishedShare, got {f!r}")
        if f.count is not None:
            validate.count(f"figures[{i}].count", f.count)
            if f.count > f.total:
                raise ValueError(f"figures[{i}].count must not exceed its total ({f.total}), got {f.count!r}")
    rows = []
    for f in figures:
        for rule in ROUNDING_RULES:
            b = share_count_bounds(f.share_pct, f.total, f.decimals, rule)
            fits = b.consistent if f.count is None else f.count in b.counts
            rows.append({"name": f.name, "share_pct": f.share_pct, "decimals": f.decimals, "total": f.total,
                         "count": f.count, "rule": rule, "k_min": b.k_min, "k_max": b.k_max,
                         "consistent": b.consistent, "fits": bool(fits)})
    fits = {r: all(x["fits"] for x in rows if x["rule"] == r) for r in ROUNDING_RULES}
    supported = tuple(r for r in ROUNDING_RULES if fits[r])
    decision = ("either" if len(supported) == 2 else supported[0] if supported else "neither")
    names = []
    for f in figures:
        own = {x["rule"]: x["fits"] for x in rows if x["name"] == f.name and x["share_pct"] == f.share_pct}
        if len(set(own.values())) > 1 and f.name not in names:
            names.append(f.name)
    method = ("exact rational arithmetic: a rule fits when every published share is printable from a whole count "
              "of its total and every published count prints as its share")
    return RoundingRuleTest(method, tuple(figures), tuple(rows), fits, supported, decision, tuple(names))


# --------------------------------------------------------------------------------------------------------
# relative risk


def _cp(k: float, n: float, alpha: float) -> tuple[float, float]:
    """Clopper-Pearson interval (beta quantiles; k and n may be non-integer)."""
    lo = 0.0 if k <= 0 else float(stats.beta.ppf(alpha / 2, k, n - k + 1))
    hi = 1.0 if k >= n else float(stats.beta.ppf(1 - alpha / 2, k + 1, n - k))
    return lo, hi


def _check_dispersion(dispersion, df) -> tuple[float, int | None]:
    phi = validate.finite("dispersion", dispersion)
    if phi < 1:
        raise ValueError(f"dispersion must be >= 1 (1 = binomial; under-dispersion is not modelled), got "
                         f"{dispersion!r}")
    if df is not None:
        validate.positive_int("df", df)
    return phi, df


def effective_sample(n: int, dispersion: float = 1.0, df: int | None = None, alpha: float = 0.05) -> float:
    """The effective sample size of a proportion out of ``n`` whose variance is ``dispersion`` times binomial.

    Parameters
    ----------
    n : int
        The number of trials (here: injured people of the period).
    dispersion : float
        φ >= 1, the variance inflation.
    df : int, optional
        Degrees of freedom φ was estimated on; when given, ``n / φ`` is multiplied by ``(t_{n-1} / t_df)^2`` at
        level ``alpha`` (Korn & Graubard 1998), which widens the interval for an uncertain φ.
    alpha : float
        1 - coverage of the interval the effective sample is for.

    Returns
    -------
    float
        ``n* = (n / φ) (t_{n-1, 1-alpha/2} / t_{df, 1-alpha/2})^2`` (no t factor without ``df``).

    References
    ----------
    Korn EL, Graubard BI (1998). Survey Methodology 24:193-201.
    """
    validate.positive_int("n", n)
    phi, df = _check_dispersion(dispersion, df)
    alpha = validate.alpha("alpha", alpha)
    adj = 1.0
    if df is not None and n > 1:
        adj = (stats.t.ppf(1 - alpha / 2, n - 1) / stats.t.ppf(1 - alpha / 2, df)) ** 2
    return n / phi * adj


def share_interval(k: int, n: int, alpha: float = 0.05, dispersion: float = 1.0,
                   df: int | None = None) -> tuple[float, float]:
    """Confidence interval for a proportion ``k / n``: Clopper-Pearson, on the effective sample when over-dispersed.

    Parameters
    ----------
    k, n : int
        Successes and trials.
    alpha : float
        1 - coverage.
    dispersion : float
        φ >= 1; 1 gives the exact Clopper-Pearson interval.
    df : int, optional
        Degrees of freedom of φ (Korn-Graubard t adjustment, see :func:`effective_sample`).

    Returns
    -------
    (lower, upper)

    References
    ----------
    Clopper CJ, Pearson ES (1934). Biometrika 26:404-413. Korn EL, Graubard BI (1998). Survey Methodology 24:193-201.
    """
    validate.count("k", k)
    validate.positive_int("n", n)
    if k > n:
        raise ValueError(f"k must not exceed n ({n}), got {k!r}")
    ne = effective_sample(n, dispersion, df, alpha)
    return _cp(k / n * ne, ne, alpha)


def share_excess_pvalue(k: int, n: int, share: float, dispersion: float = 1.0, df: int | None = None,
                        alpha: float = 0.05) -> float:
    """One-sided p-value of a proportion ``k / n`` above ``share``: the exact binomial tail on the effective sample.

    ``P(Beta(x*, n* - x* + 1) <= share)`` with ``x* = (k / n) n*`` and ``n*`` from :func:`effective_sample`;
    for
    φ = 1 without ``df`` it is ``scipy.stats.binomtest(k, n, share, alternative="greater").pvalue``. It is
    below
    ``alpha / 2`` exactly when the lower limit of :func:`share_interval` (same φ, df, alpha) exceeds
    ``share``.

    Parameters
    ----------
    k : int
        Number of successes, e.g. the sector's injuries (non-negative, at most ``n``).
    n : int
        Number of trials, e.g. all injuries of the period (positive).
    share : float
        Null proportion, e.g. the sector's employment share, strictly between 0 and 1.
    dispersion : float, default 1.0
        φ, the variance inflation over binomial.
    df : int or None, default None
        Degrees of freedom φ was estimated on (Korn-Graubard t adjustment of the effective sample); None for
        none.
    alpha : float, default 0.05
        Level of the t adjustment; matters only when ``df`` is given.

    Returns
    -------
    float
        One-sided p-value in [0, 1]; 1.0 when ``k`` is 0.

    References
    ----------
    Korn, E. L. and Graubard, B. I. (1998). Confidence intervals for proportions with small expected number of
        positive counts estimated from survey data. Survey Methodology 24, 193-201.
    """
    validate.count("k", k)
    validate.positive_int("n", n)
    if k > n:
        raise ValueError(f"k must not exceed n ({n}), got {k!r}")
    e = validate.finite("share", share)
    if not 0 < e < 1:
        raise ValueError(f"share must be a proportion strictly between 0 and 1, got {share!r}")
    if k == 0:
        return 1.0
    ne = effective_sample(n, dispersion, df, alpha)
    x = k / n * ne
    return float(stats.beta.cdf(e, x, ne - x + 1))


def _mover_ratio(p1, l1, u1, p2, l2, u2) -> tuple[float, float]:
    """MOVER-R interval for p1 / p2 from separate intervals (Donner & Zou 2012)."""
    a = (p1 * p2) ** 2
    lo_disc = max(0.0, a - l1 * u2 * (2 * p1 - l1) * (2 * p2 - u2))
    hi_disc = max(0.0, a - u1 * l2 * (2 * p1 - u1) * (2 * p2 - l2))
    lo = (p1 * p2 - math.sqrt(lo_disc)) / (u2 * (2 * p2 - u2))
    den = l2 * (2 * p2 - l2)
    hi = (p1 * p2 + math.sqrt(hi_disc)) / den if den > 0 else math.inf
    return max(lo, 0.0), hi


def _range_text(lo: float, hi: float, fmt) -> str:
    return fmt(lo) if fmt(lo) == fmt(hi) else f"{fmt(lo)}-{fmt(hi)}"


@dataclass(frozen=True)
class SectorRelativeRisk(Result):
    """Injury share / employment share with exact CI, carried across allowed counts and employment ranges; with
    ``dispersion`` also the over-dispersed (Korn-Graubard) interval and p-values."""

    sector: str | None
    method: str
    total: int
    counts: tuple[int, ...]
    counts_basis: str
    employment_share: tuple[float, float]
    employment_n: int | None
    alpha: float
    estimate: float
    ci: tuple[float, float]
    rr_range: tuple[float, float]
    injury_share_ci: tuple[float, float]
    p_greater_range: tuple[float, float]
    p_two_sided_range: tuple[float, float]
    excess_clear_if_employment_below: float
    denominator_note: str | None
    dispersion: float | None = None
    dispersion_df: int | None = None
    ci_overdispersed: tuple[float, float] | None = None
    p_greater_overdispersed_range: tuple[float, float] | None = None
    excess_clear_if_employment_below_overdispersed: float | None = None

    @property
    def excess_holds(self) -> bool:
        """The lower limit exceeds 1 for every allowed count and employment share (binomial)."""
        return self.ci[0] > 1

    @property
    def excess_holds_overdispersed(self) -> bool | None:
        """As :attr:`excess_holds` under the over-dispersed interval (None without a dispersion)."""
        return None if self.ci_overdispersed is None else self.ci_overdispersed[0] > 1

    @property
    def verdict(self) -> str:
        lvl = f"{100 * (1 - self.alpha):g}%"
        name = self.sector or "sector"
        e_lo, e_hi = self.employment_share
        e_txt = _range_text(e_lo, e_hi, _pct)
        k_txt = str(self.counts[0]) if len(self.counts) == 1 else f"{self.counts[0]}-{self.counts[-1]}"
        s = (f"Relative risk for {name}: injuries {k_txt} of {fmt_count(self.total)} vs employment share {e_txt}: "
             f"RR {_range_text(*self.rr_range, fmt_number)} across the allowed inputs; binomial ({self.method}) "
             f"{lvl} CI envelope {fmt_number(self.ci[0])} to {fmt_number(self.ci[1])}, one-sided exact binomial "
             f"{_p(self.p_greater_range[1])} at worst")
        if self.ci_overdispersed is not None:
            df = "" if self.dispersion_df is None else f", t on {self.dispersion_df} df"
            s += (f"; with the between-year over-dispersion φ = {fmt_number(self.dispersion)} (Korn-Graubard{df}) "
                  f"{lvl} CI envelope {fmt_number(self.ci_overdispersed[0])} to "
                  f"{fmt_number(self.ci_overdispersed[1])}, one-sided "
                  f"{_p(self.p_greater_overdispersed_range[1])} at worst")
        s += "."
        od = self.excess_holds_overdispersed
        if self.excess_holds and od in (None, True):
            s += " The excess risk holds across every allowed count and employment share" + (
                " even with the year-to-year variation." if od else ".")
        elif self.excess_holds:
            s += (" The excess holds under the binomial model but not once the year-to-year variation of the "
                  "sector's share is allowed for.")
        elif self.ci[1] < 1:
            s += " The sector is below its employment share across every allowed input."
        else:
            s += " The data do not establish an excess (or deficit) across the allowed inputs."
        thr = self.excess_clear_if_employment_below_overdispersed
        if thr is None:
            thr = self.excess_clear_if_employment_below
        s += (f" An excess is clear for an employment share below {_pct(thr, 2)} (lower CI limit of the injury share "
              f"at the smallest count{', with φ' if self.dispersion is not None else ''}).")
        if self.counts_basis not in ("exact", "allowed by rounded share"):
            s += f" Counts: {self.counts_basis}."
        if self.denominator_note:
            s += " " + self.denominator_note
        return s


def _employment(employment_share) -> tuple[float, float]:
    if isinstance(employment_share, (tuple, list)):
        if len(employment_share) != 2:
            raise ValueError(f"employment_share range must be (low, high), got {employment_share!r}")
        lo = validate.finite("employment_share[0]", employment_share[0])
        hi = validate.finite("employment_share[1]", employment_share[1])
        if not 0 < lo <= hi < 1:
            raise ValueError(f"employment_share must satisfy 0 < low <= high < 1 (a proportion, not %), got "
                             f"{employment_share!r}")
        return lo, hi
    v = validate.finite("employment_share", employment_share)
    if not 0 < v < 1:
        raise ValueError(f"employment_share must be a proportion strictly between 0 and 1 (not %), got "
                         f"{employment_share!r}")
    return v, v


def sector_relative_risk(injuries, total: int, employment_share, *, alpha: float = 0.05,
                         employment_n: int | None = None, sector: str | None = None,
                         denominator_note: str | None = None, dispersion: float | None = None,
                         dispersion_df: int | None = None) -> SectorRelativeRisk:
    """RR = share of injuries / share of employment, exact CI and binomial test, over count and share ranges.

    Parameters
    ----------
    injuries : int, sequence of int or ShareCounts
        The sector's count, the allowed counts, or the bounds of a rounded share.
    total : int
        All injured of the period.
    employment_share : float or (float, float)
        The sector's share of employment as a proportion, or a (low, high) range (e.g. for the cross-cutting GMK
        grouping, see ``GMK_NOTE``).
    alpha : float
        1 - coverage of every interval.
    employment_n : int, optional
        Sample size behind the employment share (MOVER-R interval for the ratio).
    sector, denominator_note : str, optional
        Wording for the verdict.
    dispersion : float, optional
        φ >= 1, the between-year over-dispersion of the sector's share; adds the Korn-Graubard interval and
        p-values (the employment share taken as known).
    dispersion_df : int, optional
        Degrees of freedom of ``dispersion`` (t adjustment).

    Returns
    -------
    SectorRelativeRisk
    """
    validate.positive_int("total", total)
    alpha = validate.alpha("alpha", alpha)
    if isinstance(injuries, ShareCounts):
        if injuries.total != total:
            raise ValueError(f"injuries (ShareCounts of total {injuries.total}) must match total={total!r}")
        if injuries.consistent:
            counts, basis = injuries.counts, "allowed by rounded share"
        else:
            counts = tuple(k for k in (injuries.nearest_below, injuries.nearest_above) if k is not None)
            counts = tuple(c[0] for c in counts)
            basis = (f"nearest counts {', '.join(map(str, counts))} (published {injuries.share_pct:g}% fits no "
                     f"whole count of {total})")
    elif isinstance(injuries, (list, tuple, range, np.ndarray)):
        if len(injuries) == 0:
            raise ValueError(f"injuries must not be empty, got {injuries!r}")
        counts = tuple(sorted({validate.count(f"injuries[{i}]", k) for i, k in enumerate(injuries)}))
        basis = "given set" if len(counts) > 1 else "exact"
    else:
        counts, basis = (validate.count("injuries", injuries),), "exact"
    if max(counts) > total:
        raise ValueError(f"injuries must not exceed total ({total}), got {injuries!r}")
    e_lo, e_hi = _employment(employment_share)
    if employment_n is not None:
        validate.positive_int("employment_n", employment_n)
    if dispersion is not None:
        _check_dispersion(dispersion, dispersion_df)
    elif dispersion_df is not None:
        raise ValueError(f"dispersion_df needs a dispersion, got dispersion_df={dispersion_df!r} alone")
    if denominator_note is None and e_lo != e_hi:
        denominator_note = "Employment share uncertain: RR reported across its range."

    def ci_for(k: int, e: float) -> tuple[float, float]:
        l1, u1 = _cp(k, total, alpha)
        if employment_n is None:
            return l1 / e, u1 / e
        l2, u2 = _cp(e * employment_n, employment_n, alpha)
        return _mover_ratio(k / total, l1, u1, e, l2, u2)

    shares = sorted({e_lo, e_hi})
    combos = [(k, e) for k in counts for e in shares]
    cis = [ci_for(k, e) for k, e in combos]
    p_gt = [stats.binomtest(k, total, e, alternative="greater").pvalue for k, e in combos]
    p_two = [stats.binomtest(k, total, e).pvalue for k, e in combos]
    p_two_max = 1.0 if any(e_lo <= k / total <= e_hi for k in counts) else max(p_two)
    k_mid = counts[(len(counts) - 1) // 2]
    e_mid = (e_lo + e_hi) / 2
    method = ("Clopper-Pearson injury share / known employment share" if employment_n is None
              else f"MOVER-R with Clopper-Pearson intervals for both shares (employment n = {employment_n})")
    od = {}
    if dispersion is not None:
        od_ci = [share_interval(k, total, alpha, dispersion, dispersion_df) for k in counts]
        od_p = [share_excess_pvalue(k, total, e, dispersion, dispersion_df, alpha) for k, e in combos]
        od = {"dispersion": float(dispersion), "dispersion_df": dispersion_df,
              "ci_overdispersed": (min(c[0] for c in od_ci) / e_hi, max(c[1] for c in od_ci) / e_lo),
              "p_greater_overdispersed_range": (float(min(od_p)), float(max(od_p))),
              "excess_clear_if_employment_below_overdispersed": od_ci[0][0]}
    return SectorRelativeRisk(
        sector, method, int(total), counts, basis, (e_lo, e_hi), employment_n, alpha,
        (k_mid / total) / e_mid,
        (min(c[0] for c in cis), max(c[1] for c in cis)),
        (counts[0] / total / e_hi, counts[-1] / total / e_lo),
        (_cp(counts[0], total, alpha)[0], _cp(counts[-1], total, alpha)[1]),
        (float(min(p_gt)), float(max(p_gt))),
        (float(min(p_two)), float(p_two_max)),
        _cp(counts[0], total, alpha)[0],
        denominator_note,
        **od,
    )


# --------------------------------------------------------------------------------------------------------
# history


@dataclass(frozen=True)
class ShareHistoryTest(Result):
    """Does the current share of injuries in a sector differ from its pooled historical share?"""

    sector: str | None
    method: str
    count: int
    total: int
    share: float
    ci: tuple[float, float]
    alpha: float
    pooled_share: float
    n_years: int
    p_binomial: float
    p_chi2: float
    phi: float
    z_overdispersed: float
    p_overdispersed: float

    @property
    def verdict(self) -> str:
        lvl = f"{100 * (1 - self.alpha):g}%"
        name = self.sector or "sector"
        s = (f"Share of injuries in {name}: {self.count}/{self.total} = {_pct(self.share)} ({lvl} Clopper-Pearson "
             f"CI {_pct(self.ci[0])}-{_pct(self.ci[1])}) vs pooled {self.n_years}-year share "
             f"{_pct(self.pooled_share)}: exact binomial {_p(self.p_binomial)}, chi-square (current vs "
             f"pooled past) {_p(self.p_chi2)}")
        if math.isfinite(self.p_overdispersed):
            s += (f", over-dispersed (φ = {fmt_number(self.phi)}, t on {self.n_years - 1} df) "
                  f"{_p(self.p_overdispersed)}.")
            key = self.p_overdispersed
        else:
            s += "; with a single past year the between-year variance cannot be estimated."
            key = self.p_binomial
        s += (" The departure is " + ("clear" if key < self.alpha else "not clear") +
              " once year-to-year variation is allowed for; more past years, or a change in sector definitions "
              "between years, would change this.")
        return s


def share_vs_history(count: int, total: int, past_counts: Sequence[int], past_totals: Sequence[int], *,
                     alpha: float = 0.05, sector: str | None = None) -> ShareHistoryTest:
    """Test a period's sector share against the pooled past shares: exact binomial, chi-square, over-dispersed.

    The over-dispersed version inflates the binomial variance by the between-year dispersion φ of past shares
    (Pearson χ²/(Y - 1), floored at 1) and refers z to Student's t on Y - 1 df (Y past years; needs Y >= 2).

    Parameters
    ----------
    count : int
        The sector's count in the period (non-negative, at most ``total``).
    total : int
        All counts of the period (positive).
    past_counts : sequence of int
        The sector's counts in past periods (non-empty).
    past_totals : sequence of int
        All counts of the same past periods (positive, same length, each at least the matching past count).
    alpha : float, keyword-only, default 0.05
        Two-sided error rate of the Clopper-Pearson interval for the current share, in (0, 1).
    sector : str or None, keyword-only, default None
        Sector name for the verdict.

    Returns
    -------
    ShareHistoryTest
        The current ``share`` with its ``ci``, the ``pooled_share`` of ``n_years`` past periods,
        ``p_binomial`` (exact two-sided binomial), ``p_chi2`` (Pearson χ² of current against pooled past, no
        continuity correction), ``phi``, ``z_overdispersed`` and ``p_overdispersed`` (NaN with one past year).

    References
    ----------
    Clopper, C. J. and Pearson, E. S. (1934). The use of confidence or fiducial limits illustrated in the case
        of the binomial. Biometrika 26, 404-413.
    """
    validate.count("count", count)
    validate.positive_int("total", total)
    if count > total:
        raise ValueError(f"count must not exceed total ({total}), got {count!r}")
    alpha = validate.alpha("alpha", alpha)
    for nm, seq in (("past_counts", past_counts), ("past_totals", past_totals)):
        if isinstance(seq, (str, bytes)) or not isinstance(seq, (Sequence, np.ndarray)) or len(seq) == 0:
            raise ValueError(f"{nm} must be a non-empty sequence, got {seq!r}")
    if len(past_counts) != len(past_totals):
        raise ValueError(f"past_counts and past_totals must have equal length, got {len(past_counts)} and "
                         f"{len(past_totals)}")
    ky = np.array([validate.count(f"past_counts[{i}]", v) for i, v in enumerate(past_counts)], dtype=float)
    ny = np.array([validate.positive_int(f"past_totals[{i}]", v) for i, v in enumerate(past_totals)], dtype=float)
    if np.any(ky > ny):
        raise ValueError(f"past_counts must not exceed past_totals, got {list(past_counts)!r} vs {list(past_totals)!r}")
    n_past = ny.sum()
    p0 = float(ky.sum() / n_past)
    if not 0 < p0 < 1:
        raise ValueError(f"pooled past share must be strictly between 0 and 1, got {p0!r} from past_counts "
                         f"{list(past_counts)!r}")
    y = len(ky)
    p_binom = float(stats.binomtest(count, total, p0).pvalue)
    table = np.array([[count, total - count], [ky.sum(), n_past - ky.sum()]])
    p_chi2 = float(stats.chi2_contingency(table, correction=False)[1])
    if y >= 2:
        x2 = float(np.sum((ky - ny * p0) ** 2 / (ny * p0 * (1 - p0))))
        phi = max(1.0, x2 / (y - 1))
        var = phi * total * p0 * (1 - p0) * (1 + total / n_past)
        z = (count - total * p0) / math.sqrt(var)
        p_od = float(2 * stats.t.sf(abs(z), y - 1))
    else:
        phi, z, p_od = math.nan, math.nan, math.nan
    ci = _cp(count, total, alpha)
    method = ("exact binomial vs pooled past share; Pearson chi-square current vs pooled past; quasi-binomial "
              "with between-year dispersion phi (t on Y-1 df)")
    return ShareHistoryTest(sector, method, int(count), int(total), count / total, ci, alpha, p0, y, p_binom,
                            p_chi2, phi, z, p_od)


__all__ = ["GMK_NOTE", "ROUNDING_RULES", "RULE_TEXT", "PublishedShare", "RoundingRuleTest", "ShareCounts",
           "SectorRelativeRisk", "ShareHistoryTest", "effective_sample", "published_shares", "rounding_rule_test",
           "sector_relative_risk", "share_count_bounds", "share_excess_pvalue", "share_interval", "share_vs_history"]
