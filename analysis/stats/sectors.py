"""Sector shares of injuries: counts allowed by a rounded published share, relative risk against the
sector's employment share, and whether a period's share departs from history.

Methods (documented once; the functions name them in their ``method`` fields):

* Count bounds. A share ``s`` published with ``d`` decimals of a total ``T`` allows every integer ``k`` with
  ``|100 k / T - s| <= 0.5 * 10^-d``. Computed in exact rational arithmetic (``fractions.Fraction`` of the
  decimal text of ``s``), so no float tolerance is needed; both half-interval edges are included, which
  covers round-half-up and round-half-even publishers alike. An empty set is returned flagged inconsistent.
* Relative risk ``RR = (k / T) / e``: the sector's share of injuries over its share of employment ``e``.
  With ``e`` treated as known, the CI is the exact Clopper-Pearson interval for ``k / T`` divided by ``e``.
  With ``employment_n`` (the sample size behind ``e``, e.g. a labour-force survey), ``e`` gets its own
  Clopper-Pearson interval (``e * n`` successes, beta quantiles allow non-integers) and the two are combined
  by the MOVER-R method for a ratio of independent proportions (Donner & Zou 2012, Stat Methods Med Res
  21:347). Ranges: over all allowed counts and the two ends of an employment-share range (low, high), the RR
  range is ``[k_min / T / high, k_max / T / low]`` and the reported CI is the envelope of the combinations.
* Exact binomial test of ``k`` out of ``T`` against ``e`` (``scipy.stats.binomtest``; two-sided by the
  minimum-likelihood rule); over ranges, the p-values are evaluated at every allowed ``k`` and both ends of the
  employment range (two-sided max set to 1 when the range contains ``k / T``). The test treats ``e`` as known.
* History: pooled past share ``p0 = sum k_y / sum n_y``. (a) exact binomial test of the current count vs
  ``p0``; (b) Pearson chi-square of the 2x2 table current vs all past years pooled (``p0`` estimated);
  (c) over-dispersed: ``phi = max(1, X2_past / (Y - 1))`` with ``X2_past`` the Pearson chi-square of the
  past years around ``p0``, ``z = (k - T p0) / sqrt(phi T p0 (1 - p0) (1 + T / N_past))`` referred to
  Student t on ``Y - 1`` df (quasi-binomial; the last factor is the prediction variance from estimating p0).
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
from analysis.core.results import Result

GMK_NOTE = ("The mining and metallurgical complex (GMK) is a Ministry grouping that cuts across NACE section B "
            "(mining and quarrying) and part of section C (C24 basic metals); it is not a NACE section, so no "
            "official employment total matches it and its employment share is given as a range.")


def _fmt(x: float, nd: int = 2) -> str:
    return "NaN" if x is None or not math.isfinite(x) else f"{x:.{nd}f}"


def _fmt_p(p: float) -> str:
    if p is None or not math.isfinite(p):
        return "NaN"
    return f"{p:.2g}" if p < 0.001 else f"{p:.3f}"


def _pct(x: float, nd: int = 1) -> str:
    return f"{100 * x:.{nd}f}%"


def _rounded_share(k: int, total: int, decimals: int) -> Fraction:
    """100 k / total rounded half-up to ``decimals`` (exact)."""
    q = Fraction(100 * k, total) * 10**decimals
    return Fraction(math.floor(q + Fraction(1, 2)), 10**decimals)


# --------------------------------------------------------------------------------------------------------
# count bounds


@dataclass(frozen=True)
class ShareCounts(Result):
    """Integer counts out of ``total`` that reproduce a rounded published share."""

    share_pct: float
    decimals: int
    total: int
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
        head = f"{self.share_pct:.{self.decimals}f}% of {self.total} ({self.decimals} decimal(s))"
        if self.consistent:
            ks = f"{self.k_min}" if self.k_min == self.k_max else f"{self.k_min}-{self.k_max}"
            return (f"{head} allows count(s) {ks} (every k with |100k/{self.total} - {self.share_pct:g}| <= half a "
                    f"unit of the last decimal, i.e. k in [{lo:.2f}, {hi:.2f}]). A different total or more "
                    f"decimals would narrow or move this set.")
        near = []
        if self.nearest_below:
            near.append(f"{self.nearest_below[0]} gives {self.nearest_below[1]:.{self.decimals}f}%")
        if self.nearest_above:
            near.append(f"{self.nearest_above[0]} gives {self.nearest_above[1]:.{self.decimals}f}%")
        tot = (f"; totals within 10 of {self.total} that do allow it: "
               f"{', '.join(map(str, self.nearby_totals))}" if self.nearby_totals else "")
        return (f"INCONSISTENT: {head} is impossible - no whole count k has 100k/{self.total} rounding to "
                f"{self.share_pct:.{self.decimals}f} (it needs k in [{lo:.2f}, {hi:.2f}]); {'; '.join(near)}{tot}. The share was probably computed on another base "
                f"(a different total or population) or mis-rounded; treat the count as uncertain between the "
                f"nearest counts.")


def _share_fraction(share_pct, decimals: int) -> Fraction:
    s = Fraction(Decimal(str(share_pct)))
    scaled = s * 10**decimals
    if scaled.denominator != 1:
        raise ValueError(f"share_pct has more decimals than decimals={decimals}, got {share_pct!r}")
    return s


def _allowed(s: Fraction, total: int, decimals: int) -> tuple[int, int, Fraction, Fraction]:
    """Counts whose share rounds to ``s`` under round-half-up or round-half-even.

    A share exactly half a unit below ``s`` rounds up to ``s`` (half-up); one exactly half a unit above rounds
    down to ``s`` only under half-even and only when ``s``'s last digit is even.
    """
    half = Fraction(1, 2 * 10**decimals)
    lo = (s - half) * total / 100
    hi = (s + half) * total / 100
    k_hi = math.floor(hi)
    if hi.denominator == 1 and (s * 10**decimals) % 2 == 1:
        k_hi -= 1  # the upper tie rounds away from s under both conventions
    return max(0, math.ceil(lo)), min(total, k_hi), lo, hi


def share_count_bounds(share_pct, total: int, decimals: int) -> ShareCounts:
    """All counts k out of ``total`` whose share 100k/total rounds to the published ``share_pct``.

    ``decimals`` is how many decimals the share was published with (15.3 -> 1, 12 -> 0). Never raises for an
    impossible share: returns it flagged inconsistent, with the nearest counts and nearby totals that fit.
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
    if decimals > 10:
        raise ValueError(f"decimals must be at most 10, got {decimals!r}")
    s = _share_fraction(share_pct, decimals)
    k0, k1, lo, hi = _allowed(s, total, decimals)
    counts = tuple(range(k0, k1 + 1))
    ok = bool(counts)
    below = above = None
    if k0 - 1 >= 0:
        below = (k0 - 1, float(_rounded_share(k0 - 1, total, decimals)))
    if k1 + 1 <= total:
        above = (k1 + 1, float(_rounded_share(k1 + 1, total, decimals)))
    nearby = tuple(t for t in range(max(1, total - 10), total + 11)
                   if t != total and _allowed(s, t, decimals)[0] <= _allowed(s, t, decimals)[1])
    return ShareCounts(share_val, int(decimals), int(total), counts, counts[0] if ok else None,
                       counts[-1] if ok else None, ok, (float(lo), float(hi)), below, above,
                       nearby if not ok else ())


# --------------------------------------------------------------------------------------------------------
# relative risk


def _cp(k: float, n: float, alpha: float) -> tuple[float, float]:
    """Clopper-Pearson interval (beta quantiles; k may be non-integer)."""
    lo = 0.0 if k <= 0 else float(stats.beta.ppf(alpha / 2, k, n - k + 1))
    hi = 1.0 if k >= n else float(stats.beta.ppf(1 - alpha / 2, k + 1, n - k))
    return lo, hi


def _mover_ratio(p1, l1, u1, p2, l2, u2) -> tuple[float, float]:
    """MOVER-R interval for p1 / p2 from separate intervals (Donner & Zou 2012)."""
    a = (p1 * p2) ** 2
    lo_disc = max(0.0, a - l1 * u2 * (2 * p1 - l1) * (2 * p2 - u2))
    hi_disc = max(0.0, a - u1 * l2 * (2 * p1 - u1) * (2 * p2 - l2))
    lo = (p1 * p2 - math.sqrt(lo_disc)) / (u2 * (2 * p2 - u2))
    den = l2 * (2 * p2 - l2)
    hi = (p1 * p2 + math.sqrt(hi_disc)) / den if den > 0 else math.inf
    return max(lo, 0.0), hi


@dataclass(frozen=True)
class SectorRelativeRisk(Result):
    """Injury share / employment share with exact CI, carried across allowed counts and employment ranges."""

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

    @property
    def verdict(self) -> str:
        lvl = f"{100 * (1 - self.alpha):g}%"
        name = self.sector or "sector"
        e_lo, e_hi = self.employment_share
        e_txt = _pct(e_lo) if e_lo == e_hi else f"{_pct(e_lo)}-{_pct(e_hi)}"
        k_txt = str(self.counts[0]) if len(self.counts) == 1 else f"{self.counts[0]}-{self.counts[-1]}"
        s = (f"Relative risk for {name} ({self.method}): injuries {k_txt} of {self.total} vs employment share "
             f"{e_txt}: RR {_fmt(self.estimate)} ({lvl} CI {_fmt(self.ci[0])}-{_fmt(self.ci[1])}); across the "
             f"allowed inputs RR {_fmt(self.rr_range[0])}-{_fmt(self.rr_range[1])}; exact binomial test (k of "
             f"{self.total} vs employment share), one-sided p from {_fmt_p(self.p_greater_range[0])} to "
             f"{_fmt_p(self.p_greater_range[1])}.")
        if self.ci[0] > 1:
            s += " The excess risk holds across every allowed count and employment share."
        elif self.ci[1] < 1:
            s += " The sector is below its employment share across every allowed input."
        else:
            s += " The data do not establish an excess (or deficit) across the allowed inputs."
        thr = _pct(self.excess_clear_if_employment_below, 2)
        if self.ci[0] > 1:
            s += (f" It would stop being clear if the employment share were {thr} or more (CI lower limit of the "
                  f"injury share at the smallest count, employment share taken as known).")
        else:
            s += (f" An excess would be clear only if the employment share were below {thr} (CI lower limit of the "
                  f"injury share at the smallest count, employment share taken as known).")
        if self.counts_basis != "exact" and self.counts_basis != "allowed by rounded share":
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
                         denominator_note: str | None = None) -> SectorRelativeRisk:
    """RR = share of injuries / share of employment, exact CI and binomial test, over count and share ranges.

    ``injuries``: an int, a sequence of allowed ints, or a ``ShareCounts``; ``employment_share``: a proportion
    or a (low, high) range (e.g. for the cross-cutting GMK grouping, see ``GMK_NOTE``).
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
            basis = (f"nearest counts {', '.join(map(str, counts))} (published {injuries.share_pct:g}% is "
                     f"inconsistent with total {total})")
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
    if denominator_note is None and e_lo != e_hi:
        denominator_note = "Employment share uncertain: RR reported across its range."

    def ci_for(k: int, e: float) -> tuple[float, float]:
        l1, u1 = _cp(k, total, alpha)
        if employment_n is None:
            return l1 / e, u1 / e
        l2, u2 = _cp(e * employment_n, employment_n, alpha)
        return _mover_ratio(k / total, l1, u1, e, l2, u2)

    combos = [(k, e) for k in counts for e in sorted({e_lo, e_hi})]
    cis = [ci_for(k, e) for k, e in combos]
    p_gt = [stats.binomtest(k, total, e, alternative="greater").pvalue for k, e in combos]
    p_two = [stats.binomtest(k, total, e).pvalue for k, e in combos]
    p_two_max = 1.0 if any(e_lo <= k / total <= e_hi for k in counts) else max(p_two)
    k_mid = counts[(len(counts) - 1) // 2]
    e_mid = (e_lo + e_hi) / 2
    method = ("Clopper-Pearson injury share / known employment share" if employment_n is None
              else f"MOVER-R with Clopper-Pearson intervals for both shares (employment n = {employment_n})")
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
             f"{_pct(self.pooled_share)}: exact binomial p = {_fmt_p(self.p_binomial)}, chi-square (current vs "
             f"pooled past) p = {_fmt_p(self.p_chi2)}")
        if math.isfinite(self.p_overdispersed):
            s += (f", over-dispersed (phi = {_fmt(self.phi)}, t on {self.n_years - 1} df) p = "
                  f"{_fmt_p(self.p_overdispersed)}.")
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

    The over-dispersed version inflates the binomial variance by the between-year dispersion of past shares.
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


__all__ = ["GMK_NOTE", "ShareCounts", "SectorRelativeRisk", "ShareHistoryTest", "sector_relative_risk",
           "share_count_bounds", "share_vs_history"]
