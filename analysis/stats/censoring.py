"""Exact ranges over the completions of a truncated ("top k of n") publication.

A release names the ``k`` units with the largest counts out of ``n`` and gives the national total ``T``. The other
``u = n - k`` counts are not published, but the release still says something about them:

* each is at most the smallest published count ``m`` (a larger one would have been published; ties are allowed);
* together they hold ``R = T - sum(published)``;
* a unit where deaths are known for the period (a mass-casualty event, say) holds at least that many.

A *completion* is an integer vector ``x`` of the unpublished counts with ``floor_j <= x_j <= m`` and
``sum(x) = R``. Any statistic of the full table of ``n`` units (a rank, an empirical-Bayes estimate, a Holm or BH
flag) is a function of the completion; this module gives its exact range over ALL completions. There are far too
many to list (about 10^14 for the first quarter of 2025), so each range is found by exact optimisation instead of
enumeration or sampling:

* per-unit counts: interval arithmetic (``low_j = max(floor_j, R - sum_{i != j} m)``,
  ``high_j = min(m, R - sum_{i != j} floor_i)``);
* ranks (1 = highest ratio O/E): the fewest and most other units above a threshold, by dynamic programming over
  the units (exact, because a sum of integer boxes is an integer interval); an unpublished unit's best rank is
  reached at its highest count and its worst at its lowest (a larger own count both raises its ratio and leaves
  less for the others);
* separable sums such as ``Q = sum O^2 / E`` (behind the method-of-moments EB prior variance and the
  DerSimonian-Laird between-unit variance tau^2): dynamic programming over the running total gives the exact
  minimum and maximum for every total;
* Holm and Benjamini-Hochberg flags: two mixed-integer feasibility problems per unit (``scipy.optimize.milp``,
  HiGHS): is there a completion in which the unit is flagged, and one in which it is not? Only p-values at or
  below alpha can affect either procedure, so each unpublished unit's counts are grouped into its "significant"
  values (one class each) and one class for the rest.

References
----------
Holm S. (1979). A simple sequentially rejective multiple test procedure. Scand J Stat 6:65-70.
Benjamini Y., Hochberg Y. (1995). Controlling the false discovery rate. J R Stat Soc B 57:289-300.
Marshall R.J. (1991). Mapping disease and mortality rates using empirical Bayes estimators. Appl Stat 40:283-294.
DerSimonian R., Laird N. (1986). Meta-analysis in clinical trials. Control Clin Trials 7:177-188.
Spiegelhalter D.J. (2005). Funnel plots for comparing institutional performance. Stat Med 24:1185-1202.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import LinearConstraint, milp

from analysis.core import validate
from analysis.core.fmt import fmt_count, fmt_number
from analysis.core.results import Result
from analysis.stats import regions

_NEG = -(10**9)  # "impossible" in the integer dynamic programmes
_REL = 1e-12  # relative tolerance when comparing a ratio or p-value with a threshold


# ------------------------------------------------------------------------------------------------ completions
@dataclass(frozen=True, eq=False)
class Completions(Result):
    """The completions a truncated publication allows (see the module docstring).

    ``names`` lists every unit, the published ones first in the order given; ``low``/``high`` are the smallest and
    largest count each unit has in some completion (a published unit's own count twice); ``floor`` the stated
    lower bounds (0 where none).
    """

    names: tuple[str, ...]
    published: tuple[bool, ...]
    floor: tuple[int, ...]
    low: tuple[int, ...]
    high: tuple[int, ...]
    cap: int
    total: int
    remainder: int
    n_completions: float

    @property
    def n_units(self) -> int:
        return len(self.names)

    @property
    def unpublished(self) -> tuple[str, ...]:
        return tuple(n for n, p in zip(self.names, self.published) if not p)

    def index(self, name: str) -> int:
        """Position of a unit in ``names`` (and so in ``published``, ``floor``, ``low`` and ``high``).

        Parameters
        ----------
        name : str
            A unit's name.

        Returns
        -------
        int
            Its 0-based position.

        Raises
        ------
        ValueError
            If ``name`` is not one of ``names``.
        """
        try:
            return self.names.index(name)
        except ValueError:
            raise ValueError(f"unit must be one of {list(self.names)}, got {name!r}") from None

    def table(self) -> pd.DataFrame:
        """The units with their bounds.

        Returns
        -------
        pandas.DataFrame
            One row per unit in ``names`` order; columns ``unit``, ``published`` (bool), ``floor`` (stated lower
            bound, 0 where none), ``low`` and ``high`` (smallest and largest count over the completions).
        """
        return pd.DataFrame({"unit": self.names, "published": self.published, "floor": self.floor, "low": self.low,
                             "high": self.high})

    def _free(self, exclude: int | None = None) -> tuple[np.ndarray, np.ndarray, list[int]]:
        """Stated bounds (floor, cap) of the unpublished units, without unit ``exclude``."""
        idx = [i for i, p in enumerate(self.published) if not p and i != exclude]
        return (np.array([self.floor[i] for i in idx], dtype=int), np.full(len(idx), self.cap, dtype=int), idx)

    @property
    def verdict(self) -> str:
        u = len(self.unpublished)
        k = self.n_units - u
        if u == 0:
            return f"All {self.n_units} units are published: nothing is censored."
        known = [f"{n} at least {f}" for n, f, p in zip(self.names, self.floor, self.published) if not p and f > 0]
        return (f"{k} of {self.n_units} units published (smallest count {self.cap}); the other {u} hold "
                f"{self.total} - {self.total - self.remainder} = {self.remainder} between them, each at most "
                f"{self.cap}" + (f" ({'; '.join(known)} from known deaths)" if known else "")
                + f": about 10^{int(math.log10(max(self.n_completions, 1)))} completions.")


def completions(published: Mapping[str, int], total: int, units: Sequence[str],
                floor: Mapping[str, int] | None = None) -> Completions:
    """The completions of a top-k publication: every unpublished count between its floor and the smallest published
    count, together the national total minus the published sum.

    Parameters
    ----------
    published : mapping of str to int
        The published counts (the top ``k`` units).
    total : int
        The national count of the same period.
    units : sequence of str
        Every unit of the country (published ones included), e.g. the 20 first-level units of Kazakhstan.
    floor : mapping of str to int, optional
        Known lower bounds (e.g. deaths recorded in a unit in the period). A published unit's floor is only checked
        against its count.

    Returns
    -------
    Completions

    Raises
    ------
    ValueError
        Naming the argument: unknown or duplicate units; an unpublished unit whose floor exceeds the smallest
        published count (it would have been published: impossible for a top-k list); floors that do not fit in the
        remainder; a remainder larger than the unpublished units can hold.
    """
    if not isinstance(published, Mapping) or not published:
        raise ValueError(f"published must be a non-empty mapping of unit to count, got {published!r}")
    if isinstance(units, (str, bytes)) or not isinstance(units, Sequence):
        raise ValueError(f"units must be a sequence of unit names, got {units!r}")
    names_all = [str(u) for u in units]
    if len(set(names_all)) != len(names_all):
        raise ValueError(f"units has duplicate names: {names_all!r}")
    pub = {str(k): validate.count(f"published[{k!r}]", v) for k, v in published.items()}
    unknown = [k for k in pub if k not in names_all]
    if unknown:
        raise ValueError(f"published names units not in units: {unknown!r}")
    total = validate.count("total", total)
    floor = dict(floor or {})
    fl = {str(k): validate.count(f"floor[{k!r}]", v) for k, v in floor.items()}
    unknown = [k for k in fl if k not in names_all]
    if unknown:
        raise ValueError(f"floor names units not in units: {unknown!r}")
    cap = min(pub.values())
    for name, f in fl.items():
        if name in pub and f > pub[name]:
            raise ValueError(f"floor[{name!r}] = {f} exceeds the published count {pub[name]} of that unit: the lower "
                             "bound and the release contradict each other")
        if name not in pub and f > cap:
            raise ValueError(
                f"floor[{name!r}] = {f} is more than the smallest published count {cap}: a unit with that many would "
                f"have been among the {len(pub)} published, so this is impossible for a top-{len(pub)} list (the "
                "lower bound belongs to another unit or period, or the release is not a top-k list)")
    rest = [n for n in names_all if n not in pub]
    names = [n for n in pub] + rest
    remainder = total - sum(pub.values())
    if remainder < 0:
        raise ValueError(f"total must be at least the published sum {sum(pub.values())}, got {total}")
    lo_stated = [fl.get(n, 0) for n in rest]
    if sum(lo_stated) > remainder:
        raise ValueError(f"floor: the lower bounds of the unpublished units sum to {sum(lo_stated)}, more than the "
                         f"{remainder} the total leaves for them")
    if remainder > len(rest) * cap:
        raise ValueError(f"total leaves {remainder} for {len(rest)} unpublished units of at most {cap} each: the "
                         "release is not a top-k list")
    low, high = [pub[n] for n in pub], [pub[n] for n in pub]
    for j in range(len(rest)):
        others_floor = sum(lo_stated) - lo_stated[j]
        low.append(max(lo_stated[j], remainder - (len(rest) - 1) * cap))
        high.append(min(cap, remainder - others_floor))
    count = _count_completions(np.array(lo_stated, dtype=int), np.full(len(rest), cap), remainder)
    return Completions(tuple(names), tuple([True] * len(pub) + [False] * len(rest)),
                       tuple([pub[n] for n in pub] + lo_stated), tuple(low), tuple(high), cap, total, remainder,
                       count)


def _count_completions(lo: np.ndarray, hi: np.ndarray, total: int) -> float:
    """Number of integer vectors with lo <= x <= hi and sum x = total (float: exact up to 2**53)."""
    ways = np.zeros(total + 1)
    ways[0] = 1.0
    for a, b in zip(lo, hi):
        ways = np.convolve(ways, np.ones(int(b - a) + 1))[: total + 1]
        ways = np.concatenate([np.zeros(int(a)), ways])[: total + 1]
    return float(ways[total])


# ------------------------------------------------------------------------------------------- exact programmes
def count_above_range(lo, hi, need, total) -> tuple[int, int] | None:
    """Fewest and most units with ``x_j >= need_j`` over integer vectors ``lo <= x <= hi`` with ``sum x = total``.

    Parameters
    ----------
    lo, hi, need : sequences of int
        Per-unit bounds and thresholds (a threshold at or below ``lo`` forces the unit above, one above ``hi``
        keeps it below).
    total : int

    Returns
    -------
    (int, int) or None
        None when no vector has that total.

    Notes
    -----
    Dynamic programming over the units: for each number of units above and each sum of the units' smallest
    admissible values, the largest sum of their largest admissible values. A choice of "above"/"below" per unit is
    feasible exactly when ``total`` lies between the two sums (a sum of integer intervals is an integer interval).
    """
    lo, hi, need = (np.asarray(v, dtype=int) for v in (lo, hi, need))
    total = int(total)
    n = len(lo)
    best = np.full((n + 1, total + 1), _NEG, dtype=np.int64)  # best[k, s]: largest upper sum, lower sum s
    best[0, 0] = 0
    for j in range(n):
        new = np.full_like(best, _NEG)
        options = []
        if lo[j] <= min(hi[j], need[j] - 1):  # below the threshold
            options.append((0, int(lo[j]), int(min(hi[j], need[j] - 1))))
        if max(lo[j], need[j]) <= hi[j]:  # at or above it
            options.append((1, int(max(lo[j], need[j])), int(hi[j])))
        for step, a, b in options:
            if a > total:
                continue
            src = best[: n + 1 - step, : total + 1 - a]
            cand = np.where(src > _NEG, np.minimum(src + b, total), _NEG)
            tgt = new[step:, a:]
            np.maximum(tgt, cand, out=tgt)
        best = new
    feasible = [k for k in range(n + 1) if (best[k] >= total).any()]
    return (min(feasible), max(feasible)) if feasible else None


def separable_range(lo, hi, values: Sequence[np.ndarray], total: int | None = None):
    """Smallest and largest ``sum_j f_j(x_j)`` over integer vectors ``lo <= x <= hi`` with a given sum.

    Parameters
    ----------
    lo, hi : sequences of int
    values : sequence of arrays
        ``values[j][v - lo[j]] = f_j(v)`` for ``v`` from ``lo[j]`` to ``hi[j]``.
    total : int, optional
        The required sum; without it, arrays over every sum from ``sum(lo)`` to ``sum(hi)`` are returned.

    Returns
    -------
    (float, float) for a given total (NaN when infeasible), else (sums, minima, maxima) arrays.
    """
    lo, hi = np.asarray(lo, dtype=int), np.asarray(hi, dtype=int)
    base = int(lo.sum())
    span = int((hi - lo).sum())
    mn = np.full(span + 1, np.inf)
    mx = np.full(span + 1, -np.inf)
    mn[0] = mx[0] = 0.0
    reach = 0
    for j in range(len(lo)):
        f = np.asarray(values[j], dtype=float)
        width = int(hi[j] - lo[j])
        if len(f) != width + 1:
            raise ValueError(f"values[{j}] must have {width + 1} entries (lo to hi), got {len(f)}")
        new_mn = np.full(span + 1, np.inf)
        new_mx = np.full(span + 1, -np.inf)
        for d in range(width + 1):
            new_mn[d: d + reach + 1] = np.minimum(new_mn[d: d + reach + 1], mn[: reach + 1] + f[d])
            new_mx[d: d + reach + 1] = np.maximum(new_mx[d: d + reach + 1], mx[: reach + 1] + f[d])
        mn, mx = new_mn, new_mx
        reach += width
    sums = base + np.arange(span + 1)
    if total is None:
        return sums, mn, mx
    i = int(total) - base
    if not 0 <= i <= span:
        return math.nan, math.nan
    return float(mn[i]), float(mx[i])


# ------------------------------------------------------------------------------------------------ ranks
def _need_above(threshold: float, expected: np.ndarray, strict: bool) -> np.ndarray:
    """Smallest count whose ratio count / expected is above (strict) or at least (not strict) ``threshold``."""
    x = threshold * expected
    tol = _REL * np.maximum(np.abs(x), 1.0)
    return (np.floor(x + tol) + 1).astype(int) if strict else np.ceil(x - tol).astype(int)


def rank_ranges(comp: Completions, expected: Mapping[str, float]) -> pd.DataFrame:
    """Best and worst rank of every unit by the ratio observed / expected (1 = highest) over all completions.

    A unit's best rank counts only the units strictly above it, its worst rank also those tied with it.

    Parameters
    ----------
    comp : Completions
    expected : mapping of str to float
        The expected count of every unit.

    Returns
    -------
    DataFrame
        unit, published, low, high, expected, ratio_low, ratio_high, rank_best, rank_worst.
    """
    e = _expected(comp, expected)
    rows = []
    pub_idx = [i for i, p in enumerate(comp.published) if p]
    for i, name in enumerate(comp.names):
        best = worst = 1
        for strict, own in ((True, comp.high[i]), (False, comp.low[i])):
            r = own / e[i]
            others = [p for p in pub_idx if p != i]
            ratios = np.array([comp.low[p] / e[p] for p in others])
            tol = _REL * max(r, 1.0)
            n_pub = int((ratios > r + tol).sum()) if strict else int((ratios >= r - tol).sum())
            lo, hi, idx = comp._free(exclude=i)
            rest = comp.remainder - (0 if comp.published[i] else own)
            need = _need_above(r, e[idx], strict)
            rng = count_above_range(lo, hi, need, rest)
            if rng is None:  # pragma: no cover - own count is within its feasible range by construction
                raise RuntimeError(f"no completion with {name} = {own}")
            if strict:
                best = 1 + n_pub + rng[0]
            else:
                worst = 1 + n_pub + rng[1]
        rows.append({"unit": name, "published": comp.published[i], "low": comp.low[i], "high": comp.high[i],
                     "expected": e[i], "ratio_low": comp.low[i] / e[i], "ratio_high": comp.high[i] / e[i],
                     "rank_best": best, "rank_worst": worst})
    return pd.DataFrame(rows)


def _expected(comp: Completions, expected: Mapping[str, float]) -> np.ndarray:
    if not isinstance(expected, (Mapping, pd.Series)):
        raise ValueError(f"expected must map every unit to its expected count, got {expected!r}")
    missing = [n for n in comp.names if n not in expected]
    if missing:
        raise ValueError(f"expected is missing units {missing!r}")
    return np.array([validate.positive(f"expected[{n!r}]", expected[n]) for n in comp.names])


# -------------------------------------------------------------------------- EB prior variance and tau^2
@dataclass(frozen=True, eq=False)
class SpreadRange(Result):
    """Ranges over the completions of the between-unit spread: Q = sum O^2/E, the method-of-moments EB prior
    variance (Marshall 1991) and the DerSimonian-Laird tau^2 (Spiegelhalter 2005, section 6.2), with each unit's
    EB estimate of O/E."""

    q_min: float
    q_max: float
    prior_mean: float
    prior_var_min: float
    prior_var_max: float
    tau2_min: float
    tau2_max: float
    table: pd.DataFrame  # unit, eb_low, eb_high
    method: str = ("exact minimum and maximum over all completions (dynamic programming); EB: Poisson-gamma, "
                   "prior by method of moments over all units; tau2: DerSimonian-Laird on the O/E scale "
                   "(weights E, unwinsorised z-scores)")

    @property
    def verdict(self) -> str:
        return (f"Over the completions, the EB prior variance lies from {fmt_number(self.prior_var_min)} to "
                f"{fmt_number(self.prior_var_max)} (prior mean {fmt_number(self.prior_mean)}) and tau2 from "
                f"{fmt_number(self.tau2_min)} to {fmt_number(self.tau2_max)}.")


def _moments(q: np.ndarray | float, total_o: float, e: np.ndarray) -> tuple:
    """(prior mean m, prior variance v, tau2) from Q = sum O^2/E for units with expected counts e."""
    se = float(e.sum())
    m = total_o / se
    n = len(e)
    q = np.asarray(q, dtype=float)
    s2 = (q - 2 * m * total_o + m * m * se) / se  # sum E (O/E - m)^2 / sum E
    v = s2 - m / (se / n)
    chi = q - 2 * total_o + se  # sum (O - E)^2 / E
    tau2 = np.maximum(0.0, (chi - (n - 1)) / (se - float((e**2).sum()) / se))
    return m, v, tau2


def _shrunk(o, e, m: float, v):
    """EB (Poisson-gamma, method of moments) estimate of O/E: (m^2 + v O) / (m + v E); m when v <= 0."""
    v = np.maximum(np.asarray(v, dtype=float), 0.0)
    return (m * m + v * o) / (m + v * e)


def spread_range(comp: Completions, expected: Mapping[str, float]) -> SpreadRange:
    """Exact ranges of the EB prior variance, tau^2 and every unit's EB estimate over all completions.

    With all units known, the method-of-moments prior (Marshall 1991) has mean ``m = sum O / sum E`` and
    variance ``v = sum E (O/E - m)^2 / sum E - m / mean(E)``, a function of ``Q = sum O^2 / E`` alone; the
    posterior mean of unit i is ``(m^2 + v O_i) / (m + v E_i)`` (``m`` when ``v <= 0``), monotone in ``v`` for a
    fixed ``O_i``. The DerSimonian-Laird ``tau2 = max(0, (sum (O - E)^2 / E - (n - 1)) / (sum E - sum E^2 /
    sum E))`` is also increasing in ``Q``. So every range follows from the exact minimum and maximum of ``Q``
    (over all completions, and for an unpublished unit at each of its own possible counts).

    Parameters
    ----------
    comp : Completions
    expected : mapping of str to float

    Returns
    -------
    SpreadRange
    """
    e = _expected(comp, expected)
    lo, hi, idx = comp._free()
    pub = [i for i, p in enumerate(comp.published) if p]
    q_pub = sum(comp.low[i] ** 2 / e[i] for i in pub)
    vals = [np.arange(lo[k], hi[k] + 1) ** 2 / e[i] for k, i in enumerate(idx)]
    q_min, q_max = separable_range(lo, hi, vals, comp.remainder)
    q_min, q_max = q_min + q_pub, q_max + q_pub
    m, v, tau2 = _moments(np.array([q_min, q_max]), comp.total, e)
    rows = []
    for i in pub:
        s = _shrunk(comp.low[i], e[i], m, v)
        rows.append((comp.names[i], float(s.min()), float(s.max())))
    for k, i in enumerate(idx):
        others = [j for j in range(len(idx)) if j != k]
        sums, mn, mx = separable_range(lo[others], hi[others], [vals[j] for j in others])
        best_lo, best_hi = math.inf, -math.inf
        for w in range(comp.low[i], comp.high[i] + 1):
            pos = comp.remainder - w - int(sums[0])
            q = q_pub + w * w / e[i] + np.array([mn[pos], mx[pos]])
            s = _shrunk(w, e[i], m, _moments(q, comp.total, e)[1])
            best_lo, best_hi = min(best_lo, float(s.min())), max(best_hi, float(s.max()))
        rows.append((comp.names[i], best_lo, best_hi))
    table = pd.DataFrame(rows, columns=["unit", "eb_low", "eb_high"]).set_index("unit").loc[list(comp.names)]
    return SpreadRange(float(q_min), float(q_max), float(m), float(v[0]), float(v[1]), float(tau2[0]),
                       float(tau2[1]), table.reset_index())


# ------------------------------------------------------------------------------------- Holm and BH flags
@dataclass(frozen=True)
class FlagRange:
    """Whether a unit is flagged in every completion, in some, or in none."""

    can_flag: bool
    can_clear: bool

    @property
    def status(self) -> str:
        """'always', 'depends' or 'never'."""
        return "always" if not self.can_clear else "depends" if self.can_flag else "never"


def flag_ranges(comp: Completions, expected: Mapping[str, float], pvalue: Callable[[np.ndarray, np.ndarray], np.ndarray],
                alpha: float = 0.05, method: str = "holm", pvalue_clear: Callable | None = None,
                shortcuts: bool = True) -> dict[str, FlagRange]:
    """For every unit: is it above expectation after Holm (or BH) in some completion, and clear of it in some?

    Parameters
    ----------
    comp : Completions
    expected : mapping of str to float
    pvalue : callable
        ``pvalue(counts, expected)`` -> one-sided p-values (above expectation), vectorised, non-increasing in the
        count (e.g. the exact Poisson tail).
    alpha : float
        Family-wise error (Holm) or false-discovery rate (BH) over the ``n`` units.
    method : {'holm', 'bh'}
    pvalue_clear : callable, optional
        The p-values for the question "can the unit be clear?" (default ``pvalue``). For a family of models ordered
        by their p-values (e.g. additive random effects with tau^2 anywhere in a range), pass the most lenient
        member as ``pvalue`` and the strictest as ``pvalue_clear``: "always" and "never" then hold for every member.
    shortcuts : bool
        ``False`` skips the witnesses from simple completions and the necessary-condition bound, so that every
        question not settled by the p-value range is decided by the integer programme (for testing).

    Returns
    -------
    dict of str to FlagRange

    Notes
    -----
    Holm (1979) flags the unit at p-value ``t`` when every tie group at or below ``t`` passes:
    ``#{p < s} >= n - alpha / s`` for each attained ``s <= t``; Benjamini-Hochberg (1995) flags it when some
    ``s >= t`` has ``#{p <= s} >= n s / alpha``. Only p-values at or below alpha enter either rule, so each
    unpublished unit's counts are grouped into one class per count with p <= alpha and one class for the rest
    (further grouped per question where the rule cannot tell the classes apart). Decided without optimisation:
    a p-value above alpha in every completion (never), at or below alpha / n in every completion (always,
    Bonferroni), and BH's "can be flagged" (for each threshold, the most units at or below it is a greedy choice
    of the cheapest units, exact because every unpublished unit can absorb counts up to the cap). Otherwise a
    completion found among a few simple ones answers an existence question, and what remains is a mixed-integer
    feasibility problem (binary class indicators, the sum constraint, the rule with big-M switches) solved
    exactly by ``scipy.optimize.milp`` (HiGHS).
    """
    validate.one_of("method", method, ("holm", "bh"))
    a = validate.alpha("alpha", alpha)
    e = _expected(comp, expected)
    flag_model = _FlagModel(comp, e, pvalue, a)
    clear_model = flag_model if pvalue_clear is None else _FlagModel(comp, e, pvalue_clear, a)
    if shortcuts:
        seen_flag, seen_clear = flag_model.witnesses(method, True), clear_model.witnesses(method, False)
    else:
        seen_flag = seen_clear = np.zeros(comp.n_units, dtype=bool)
    out = {}
    for i, name in enumerate(comp.names):
        can_flag = seen_flag[i] or flag_model.feasible(i, method, True, shortcuts)
        can_clear = seen_clear[i] or clear_model.feasible(i, method, False, shortcuts)
        out[name] = FlagRange(bool(can_flag), bool(can_clear))
    return out


def holm_bh(p: np.ndarray, alpha: float, method: str) -> np.ndarray:
    """Rejections of Holm or Benjamini-Hochberg for each row of p-values (rows are separate families).

    Parameters
    ----------
    p : array of float, shape (rows, n)
    alpha : float
    method : {'holm', 'bh'}

    Returns
    -------
    ndarray of bool, shape (rows, n)
        Holm: the sorted p_(l) are rejected up to the first with ``(n - l + 1) p_(l) > alpha``; BH: all up to the
        largest ``l`` with ``p_(l) <= l alpha / n``. The same decisions as
        ``statsmodels.stats.multitest.multipletests`` (``'holm'``, ``'fdr_bh'``), vectorised over rows.
    """
    p = np.atleast_2d(np.asarray(p, dtype=float))
    n = p.shape[1]
    order = np.argsort(p, axis=1, kind="stable")
    ps = np.take_along_axis(p, order, axis=1)
    pos = np.arange(1, n + 1)
    if method == "holm":
        ok = np.cumprod((n - pos + 1) * ps <= alpha * (1 + _REL), axis=1).astype(bool)
        # ties share the first position's verdict (statsmodels' cumulative maximum)
        k = ok.sum(axis=1)
    else:
        hit = ps <= pos * alpha / n * (1 + _REL)
        k = np.where(hit.any(axis=1), n - np.argmax(hit[:, ::-1], axis=1), 0)
    thresh = np.where(k > 0, ps[np.arange(len(p)), np.maximum(k - 1, 0)], -np.inf)
    if method == "holm":
        # a tie group split by the step-down is rejected only if its first member was: p <= threshold and the
        # threshold's own group passed, i.e. every p strictly below the first failing p
        fail = np.where(k < n, ps[np.arange(len(p)), np.minimum(k, n - 1)], np.inf)
        return (p <= thresh[:, None] * (1 + _REL)) & (p < fail[:, None] * (1 - _REL))
    return p <= thresh[:, None] * (1 + _REL)


class _FlagModel:
    """Every unit's possible p-values, and the linear pieces of the Holm and BH rules over class indicators."""

    def __init__(self, comp: Completions, e: np.ndarray, pvalue, alpha: float):
        self.comp, self.e, self.alpha = comp, e, alpha
        self.n = comp.n_units
        self.xs: list[np.ndarray] = []
        self.ps: list[np.ndarray] = []
        for i in range(self.n):
            x = np.array([comp.low[i]]) if comp.published[i] else np.arange(comp.floor[i], comp.cap + 1)
            p = np.asarray(pvalue(x, np.full(len(x), e[i])), dtype=float)
            if p.shape != x.shape or not np.all(np.isfinite(p)):
                raise ValueError("pvalue must return one finite p-value per count")
            if np.any(np.diff(p) > 1e-12):
                raise ValueError("pvalue must not increase with the count")
            self.xs.append(x)
            self.ps.append(p)

    def p_range(self, i: int) -> tuple[float, float]:
        """Smallest and largest p-value of unit i over the completions."""
        x, p = self.xs[i], self.ps[i]
        sel = p[(x >= self.comp.low[i]) & (x <= self.comp.high[i])]
        return float(sel.min()), float(sel.max())

    # -------------------------------------------------------------- simple completions as witnesses
    def _simple_completions(self) -> np.ndarray:
        """A few completions: each unpublished unit at its lowest and highest, the rest filled smallest-expected
        first or largest-expected first; and the rest in proportion to the expected counts."""
        comp = self.comp
        free = [i for i in range(self.n) if not comp.published[i]]
        rows = []
        for fixed in [None, *[(i, comp.low[i]) for i in free], *[(i, comp.high[i]) for i in free]]:
            for order in (np.argsort(self.e[free], kind="stable"), np.argsort(-self.e[free], kind="stable")):
                x = np.array(comp.low, dtype=int)
                for i in free:
                    x[i] = comp.floor[i]
                if fixed is not None:
                    x[fixed[0]] = fixed[1]
                left = comp.remainder - sum(x[i] for i in free)
                for k in order:
                    i = free[k]
                    if fixed is not None and i == fixed[0]:
                        continue
                    add = min(left, comp.cap - x[i])
                    x[i] += add
                    left -= add
                if left == 0:
                    rows.append(x)
        return np.array(rows)

    def witnesses(self, method: str, flagged: bool) -> np.ndarray:
        """Units flagged (or clear) in at least one of the simple completions."""
        x = self._simple_completions()
        if len(x) == 0:
            return np.zeros(self.n, dtype=bool)
        p = np.column_stack([self.ps[i][np.searchsorted(self.xs[i], x[:, i])] for i in range(self.n)])
        rej = holm_bh(p, self.alpha, method)
        return rej.any(axis=0) if flagged else (~rej).any(axis=0)

    # -------------------------------------------------------------- exact decisions
    def _greedy_most(self, t: float, strict: bool, force: int | None, budget: int, skip: int | None = None) -> int:
        """Most units with p < t (strict) or p <= t over the completions, unit ``force`` among them and unit
        ``skip`` left out; -1 if impossible. Exact: take the units cheapest to push below t (count above its floor)
        while the budget lasts; the rest of the total fits because every unit can hold up to the cap."""
        comp = self.comp
        count, costs = 0, []
        for j in range(self.n):
            if j == skip:
                continue
            hit = self.ps[j] < t * (1 - _REL) if strict else self.ps[j] <= t * (1 + _REL)
            if comp.published[j]:
                count += int(hit[0])
                continue
            if not hit.any():
                if j == force:
                    return -1
                continue
            cost = int(self.xs[j][np.argmax(hit)] - comp.floor[j])
            if j == force:
                budget -= cost
                count += 1
            else:
                costs.append(cost)
        if budget < 0:
            return -1
        return count + int((np.cumsum(sorted(costs)) <= budget).sum())

    def feasible(self, i: int, method: str, flagged: bool, shortcuts: bool = True) -> bool:
        """Is there a completion in which unit i is flagged (``flagged=True``) or not flagged by ``method``?"""
        n, a = self.n, self.alpha
        p_best, p_worst = self.p_range(i)
        if flagged and p_best > a * (1 + _REL):
            return False
        if not flagged and p_worst > a * (1 + _REL):
            return True
        if not flagged and p_worst <= a / n * (1 - _REL):
            return False  # Bonferroni: flagged by Holm, and so by BH, in every completion
        budget = self.comp.remainder - sum(self.comp.floor[j] for j in range(n) if not self.comp.published[j])
        cands = np.unique(np.concatenate([p[p <= a * (1 + _REL)] for p in self.ps]))
        if method == "bh" and flagged and shortcuts:  # exact: greedy per threshold
            force = None if self.comp.published[i] else i
            for t in cands[cands >= p_best * (1 - _REL)]:
                most = self._greedy_most(t, strict=False, force=force, budget=budget)
                if most >= math.ceil(n * t / a - 1e-9):
                    return True
            return False
        if method == "holm" and flagged and shortcuts:
            # necessary: at its own position, #{p < p_i} >= n - alpha / p_i, with the most units below it
            force_ok = False
            for v, pv in zip(self.xs[i], self.ps[i]):
                if not self.comp.low[i] <= v <= self.comp.high[i] or pv > a * (1 + _REL):
                    continue
                own = 0 if self.comp.published[i] else int(v - self.comp.floor[i])
                most = self._greedy_most(pv, strict=True, force=None, budget=budget - own, skip=i)
                if most >= n - a / pv - 1e-9:
                    force_ok = True
                    break
            if not force_ok:
                return False
        return self._milp(i, method, flagged)

    def _classes(self, i: int, method: str) -> list[list[tuple[int, int, float]]]:
        """Per unit, (count from, count to, p) classes that the question about unit i can tell apart."""
        a = self.alpha
        p_best, p_worst = self.p_range(i)
        hi_cut = min(a, p_worst) if method == "holm" else a  # Holm: p above p_i never matters
        lo_cut = p_best if method == "bh" else -1.0  # BH: p at or below p_i only counts
        out = []
        for j in range(self.n):
            x, p = self.xs[j], self.ps[j]
            if self.comp.published[j]:
                out.append([(int(x[0]), int(x[0]), float(p[0]))])
                continue
            if j == i:
                mid = p <= a * (1 + _REL)
                high, low = ~mid, np.zeros_like(mid)
            else:
                high = p > hi_cut * (1 + _REL)
                low = p <= lo_cut * (1 + _REL)
                mid = ~high & ~low
            cls = [(int(v), int(v), float(q)) for v, q in zip(x[mid], p[mid])]
            for part in (low, high):
                if part.any():
                    cls.append((int(x[part].min()), int(x[part].max()), float(p[part].min())))
            out.append(cls)
        return out

    def _milp(self, i: int, method: str, flagged: bool) -> bool:
        n, a = self.n, self.alpha
        comp = self.comp
        classes = self._classes(i, method)
        unit, lo_c, hi_c, pc = [], [], [], []
        for j, cls in enumerate(classes):
            for (lo, hi, p) in cls:
                unit.append(j)
                lo_c.append(lo)
                hi_c.append(hi)
                pc.append(p)
        unit, lo_c, hi_c, pc = map(np.array, (unit, lo_c, hi_c, pc))
        pub = np.array([comp.published[j] for j in unit])
        var = ~pub
        nv = int(var.sum())
        big = n + 2
        rows: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (coefficients on the classes, lb, ub)

        def block(ay, lb, ub):
            rows.append((np.atleast_2d(ay), np.atleast_1d(lb), np.atleast_1d(ub)))

        # one class per unpublished unit; the total between the chosen classes' smallest and largest sums
        units_free = [j for j in range(n) if not comp.published[j]]
        vunit = unit[var]
        block(np.array([(vunit == j).astype(float) for j in units_free]), 1.0, 1.0)
        block(lo_c[var].astype(float), -np.inf, float(comp.remainder))
        block(hi_c[var].astype(float), float(comp.remainder), np.inf)
        cands = np.unique(pc[pc <= a * (1 + _REL)])
        le = pc[None, :] <= cands[:, None] * (1 + _REL)  # class at or below t
        lt = pc[None, :] < cands[:, None] * (1 - _REL)  # class strictly below t
        own = unit == i
        sel_s: list = []  # selector rows (A_y, coef on own selector, lb, ub) per option
        if method == "bh":
            need = np.ceil(n * cands / a - 1e-9)
            cnt, c0 = le[:, var].astype(float), (le & pub[None, :]).sum(axis=1)
            if comp.published[i]:
                act = np.zeros((len(cands), nv))
                a0 = (pc[own][0] <= cands * (1 + _REL)).astype(float)
            else:
                act = np.zeros((len(cands), nv))
                act[:, own[var]] = le[:, own & var]
                a0 = np.zeros(len(cands))
            live = (a0 > 0) | act.any(axis=1)
            if flagged:  # some t with p_i <= t and #{p <= t} >= need: selector <= [p_i <= t]
                for k in np.nonzero(live)[0]:
                    sel_s.append([(cnt[k], -need[k], -c0[k], np.inf), (-act[k], 1.0, -np.inf, a0[k])])
                if not sel_s:
                    return False
            else:  # cleared: for every t with p_i <= t, #{p <= t} <= need - 1
                block(cnt[live] + big * act[live], -np.inf, need[live] - 1 - c0[live] + big * (1 - a0[live]))
        else:
            need = np.maximum(0, np.ceil(n - a / cands - 1e-9))
            below, b0 = lt[:, var].astype(float), (lt & pub[None, :]).sum(axis=1)
            ge_i = pc[None, :] >= cands[:, None] * (1 - _REL)  # t <= class p
            if comp.published[i]:
                at_i = np.zeros((len(cands), nv))
                i0 = ge_i[:, own][:, 0].astype(float)
            else:
                at_i = np.zeros((len(cands), nv))
                at_i[:, own[var]] = ge_i[:, own & var]
                i0 = np.zeros(len(cands))
            t_of = np.searchsorted(cands, pc)  # each class's threshold index (where p <= alpha)
            sig = pc <= a * (1 + _REL)
            vcol = np.cumsum(var) - 1
            for q in np.nonzero(sig)[0]:
                k = t_of[q]
                has = np.zeros(nv)
                h0 = 1.0 if pub[q] else 0.0
                if not pub[q]:
                    has[vcol[q]] = 1.0
                if i0[k] == 0 and not at_i[k].any():
                    continue
                if flagged:  # every tie group at or below p_i passes
                    block(below[k] - big * has - big * at_i[k], need[k] - b0[k] - big * (2 - h0 - i0[k]), np.inf)
                else:  # some tie group at or below p_i fails: selector <= has, <= at_i; #{p < t} <= need - 1
                    sel_s.append([(below[k], big, -np.inf, need[k] - 1 - b0[k] + big),
                                  (-has, 1.0, -np.inf, h0), (-at_i[k], 1.0, -np.inf, i0[k])])
            if flagged:  # p_i <= alpha
                if not comp.published[i]:
                    r = np.zeros(nv)
                    r[own[var]] = sig[own & var]
                    block(r, 1.0, np.inf)
            else:  # or cleared outright when p_i > alpha
                if not comp.published[i] and (~sig[own & var]).any():
                    r = np.zeros(nv)
                    r[own[var]] = ~sig[own & var]
                    sel_s.append([(-r, 1.0, -np.inf, 0.0)])
                if not sel_s:
                    return False
        m = len(sel_s)
        width = nv + m
        mats, lbs, ubs = [], [], []
        for ay, lb, ub in rows:
            mats.append(np.hstack([ay, np.zeros((ay.shape[0], m))]))
            lbs.append(np.broadcast_to(lb, (ay.shape[0],)))
            ubs.append(np.broadcast_to(ub, (ay.shape[0],)))
        for q, reqs in enumerate(sel_s):
            for ay, coef, lb, ub in reqs:
                r = np.zeros(width)
                r[:nv] = ay
                r[nv + q] = coef
                mats.append(r[None, :])
                lbs.append(np.array([lb]))
                ubs.append(np.array([ub]))
        if m:
            r = np.zeros(width)
            r[nv:] = 1.0
            mats.append(r[None, :])
            lbs.append(np.array([1.0]))
            ubs.append(np.array([1.0]))
        mat = np.vstack(mats)
        lb, ub = np.concatenate(lbs).astype(float), np.concatenate(ubs).astype(float)
        if width == 0:
            return bool(np.all(lb <= 1e-9) and np.all(ub >= -1e-9))
        res = milp(np.zeros(width), integrality=np.ones(width), bounds=(0, 1),
                   constraints=LinearConstraint(mat, lb, ub))
        if res.status not in (0, 2):  # pragma: no cover - HiGHS answers optimal or infeasible on these sizes
            raise RuntimeError(f"milp failed: {res.message}")
        return res.status == 0


# ------------------------------------------------------------------------------------------- the assessment
MODEL_KEYS = ("poisson", "quasi", "quasi_t", "tau2")


@dataclass(frozen=True, eq=False)
class CompletionAssessment(Result):
    """Every unit of a truncated release ranked, shrunk and flagged, each as a range over the completions.

    ``table`` has one row per unit: ``unit, published, low, high, expected, ratio_low, ratio_high, rank_best,
    rank_worst, eb_low, eb_high``, then ``holm_<model>`` and ``bh_<model>`` for each model in ``models`` and
    ``funnel_<model>`` (99.8% upper limit; no t version) with values 'always', 'depends' or 'never'.
    """

    completions: Completions
    alpha: float
    level: float
    phi: float
    phi_df: float | None
    spread: SpreadRange
    table: pd.DataFrame
    models: dict
    method: str = ("exact ranges over all completions: interval arithmetic, dynamic programming and "
                   "mixed-integer feasibility (scipy.optimize.milp); no sampling")

    def statuses(self, model: str, procedure: str = "holm") -> dict[str, str]:
        """Each unit's flag status under one model and one flagging procedure.

        Parameters
        ----------
        model : str
            A key of ``models``: ``"poisson"``, ``"quasi"``, ``"quasi_t"`` (only when ``phi_df`` was given; no
            funnel version) or ``"tau2"``.
        procedure : {"holm", "bh", "funnel"}, default "holm"
            Holm's family-wise or Benjamini-Hochberg's false-discovery-rate control at ``alpha`` of the
            one-sided tests of "above expectation", or the funnel plot's upper limit at ``level``.

        Returns
        -------
        dict of str to str
            Unit -> ``"always"`` (flagged in every completion), ``"depends"`` (in some) or ``"never"``.

        Raises
        ------
        ValueError
            If ``procedure`` is not one of the three, or ``model`` has no such column in ``table``.
        """
        validate.one_of("procedure", procedure, ("holm", "bh", "funnel"))
        col = f"{procedure}_{model}"
        if col not in self.table.columns:
            raise ValueError(f"model must be one of {list(self.models)} (funnel: no t version), got {model!r}")
        return dict(zip(self.table["unit"], self.table[col]))

    def flagged(self, model: str, procedure: str = "holm", status: str = "always") -> list[str]:
        """Units whose flag under ``model`` and ``procedure`` has ``status`` ('always', 'depends', 'never').

        Parameters
        ----------
        model : str
            A key of ``models``, as in :meth:`statuses`.
        procedure : {"holm", "bh", "funnel"}, default "holm"
            The flagging procedure, as in :meth:`statuses`.
        status : {"always", "depends", "never"}, default "always"
            Flagged in every completion, in some, or in none.

        Returns
        -------
        list of str
            The units with that status, in ``table`` order.

        Raises
        ------
        ValueError
            If ``status``, ``procedure`` or ``model`` is not one of the allowed values.
        """
        validate.one_of("status", status, ("always", "depends", "never"))
        return [u for u, s in self.statuses(model, procedure).items() if s == status]

    @property
    def verdict(self) -> str:
        parts = [self.completions.verdict]
        for key, desc in self.models.items():
            always, depends = self.flagged(key), self.flagged(key, status="depends")
            parts.append(f"Holm ({desc}): in every completion {_names(always)}; in some {_names(depends)}.")
        return " ".join(parts)


def _names(x) -> str:
    return ", ".join(x) if len(x) else "none"


def _funnel_status(low, high, e, limit_strict, limit_lenient) -> list[str]:
    low, high = np.asarray(low) / e, np.asarray(high) / e
    return ["always" if lo > ls else "depends" if hi > ll else "never"
            for lo, hi, ls, ll in zip(low, high, limit_strict, limit_lenient)]


def assess_completions(comp: Completions, expected: Mapping[str, float], *, alpha: float = 0.05,
                       phi: float = 1.0, phi_df: float | None = None, level: float = 0.998) -> CompletionAssessment:
    """Rank, shrink and flag every unit of a truncated release, each as an exact range over the completions.

    Parameters
    ----------
    comp : Completions
    expected : mapping of str to float
        Expected count of every unit (summing to the total, so that the national level is a ratio of 1).
    alpha : float
        Holm family-wise error and BH false-discovery rate over all ``n`` units.
    phi : float
        Over-dispersion of the counts for the quasi-Poisson tests (e.g. estimated from a national series).
    phi_df : float, optional
        Residual degrees of freedom behind ``phi``; adds the quasi-Poisson test with a t reference.
    level : float
        Two-sided level of the funnel limit used for the funnel flags.

    Returns
    -------
    CompletionAssessment

    Notes
    -----
    Models (one-sided tests of "above expectation", see :func:`analysis.stats.regions.pvalues_above`): exact
    Poisson; quasi-Poisson with ``phi`` as known (normal) and, with ``phi_df``, with ``phi`` estimated (t); and
    Spiegelhalter's additive random effects with the DerSimonian-Laird ``tau2`` of the full table. ``tau2`` depends
    on the completion; its flags are taken over every ``tau2`` in its range (flagged "always" at the largest,
    possible at the smallest), which contains every completion's own value, so "always" and "never" are sound.
    """
    a = validate.alpha("alpha", alpha)
    lv = validate.alpha("level", level)
    phi = validate.positive("phi", phi)
    if phi_df is not None:
        validate.positive("phi_df", phi_df)
    e_map = dict(zip(comp.names, _expected(comp, expected)))
    e = np.array([e_map[n] for n in comp.names])
    ranks = rank_ranges(comp, e_map)
    spread = spread_range(comp, e_map)
    models = {"poisson": "exact Poisson",
              "quasi": f"quasi-Poisson, φ = {fmt_number(phi)} taken as known (normal reference)"}
    pv = {"poisson": lambda o, x: regions.pvalues_above(o, x),
          "quasi": lambda o, x: regions.pvalues_above(o, x, "quasi-poisson", phi=phi)}
    if phi_df is not None:
        df_text = fmt_count(phi_df) if float(phi_df).is_integer() else fmt_number(phi_df)
        models["quasi_t"] = f"quasi-Poisson, φ = {fmt_number(phi)} estimated on {df_text} degrees of freedom (t reference)"
        pv["quasi_t"] = lambda o, x: regions.pvalues_above(o, x, "quasi-poisson", phi=phi, df=phi_df)
    t_lo, t_hi = spread.tau2_min, spread.tau2_max
    models["tau2"] = (f"additive random effects, τ² anywhere from {fmt_number(t_lo)} to {fmt_number(t_hi)} "
                      "(DerSimonian–Laird over the completions)")
    table = ranks.merge(spread.table, on="unit")
    for key in models:
        for proc in ("holm", "bh"):
            if key == "tau2":
                res = flag_ranges(comp, e_map, lambda o, x: regions.pvalues_above(o, x, "additive", tau2=t_lo), a,
                                  proc, pvalue_clear=lambda o, x: regions.pvalues_above(o, x, "additive", tau2=t_hi))
            else:
                res = flag_ranges(comp, e_map, pv[key], a, proc)
            table[f"{proc}_{key}"] = [res[n].status for n in comp.names]
    low, high = np.array(comp.low), np.array(comp.high)
    lim_p = regions.upper_limit(e, lv)
    lim_q = regions.upper_limit(e, lv, "quasi-poisson", phi=phi)
    table["funnel_poisson"] = _funnel_status(low, high, e, lim_p, lim_p)
    table["funnel_quasi"] = _funnel_status(low, high, e, lim_q, lim_q)
    table["funnel_tau2"] = _funnel_status(low, high, e, regions.upper_limit(e, lv, "additive", tau2=t_hi),
                                          regions.upper_limit(e, lv, "additive", tau2=t_lo))
    return CompletionAssessment(comp, a, lv, phi, phi_df, spread, table, models)
