"""analysis.stats.censoring (ranges over the completions of a top-k release) and the new p-value models of
analysis.stats.regions, against brute-force enumeration, scipy and statsmodels."""

from __future__ import annotations

import contextlib
import itertools
import math
from unittest import mock

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.rates import confint_poisson
from statsmodels.stats.rates import test_poisson as sm_test_poisson

from analysis.stats import censoring as C
from analysis.stats import regions as R

Q1 = {"Karaganda": 31, "Kostanay": 27, "East Kazakhstan": 24, "Aktobe": 22, "Atyrau": 22, "Almaty city": 19}
# 1 January 2023 resident population (data/population.csv; Shymkent from its nearest date), 20 post-2022 units
POP = {"Almaty city": 2161695, "Turkistan": 2119063, "Almaty region": 1505984, "Astana": 1354435,
       "Shymkent": 1256263, "Zhambyl": 1217955, "Karaganda": 1134753, "Aktobe": 928185, "Kyzylorda": 833531,
       "Kostanay": 832110, "Akmola": 787971, "Mangystau": 766956, "Pavlodar": 754903, "East Kazakhstan": 730172,
       "Jetisu": 698675, "Atyrau": 693040, "West Kazakhstan": 688091, "Abai": 610205, "North Kazakhstan": 534024,
       "Ulytau": 221395}
E_Q1 = {k: 293 * v / sum(POP.values()) for k, v in POP.items()}


def pois(o, e):
    return stats.poisson.sf(np.asarray(o) - 1, e)


# ------------------------------------------------------------------------------------------ brute force
def every_completion(comp: C.Completions):
    """All completions, listed (small cases only): full count vectors in ``comp.names`` order."""
    idx = [i for i, p in enumerate(comp.published) if not p]
    for xs in itertools.product(*[range(comp.floor[i], comp.cap + 1) for i in idx]):
        if sum(xs) == comp.remainder:
            full = np.array(comp.low)
            full[idx] = xs
            yield full


@contextlib.contextmanager
def fast_statsmodels():
    """statsmodels' Holm runs gc.collect() on every call (about 50 ms); the brute force calls it thousands of times."""
    with mock.patch("gc.collect", lambda *args: 0):
        yield


def textbook_eb(x: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Marshall's (1991) method-of-moments Poisson-gamma estimate of O/E, written out for each row of counts."""
    m = x.sum(axis=1, keepdims=True) / e.sum()
    s2 = (e * (x / e - m) ** 2).sum(axis=1, keepdims=True) / e.sum()
    v = s2 - m / e.mean()
    with np.errstate(divide="ignore", invalid="ignore"):
        shrunk = (m**2 / v + x) / (m / v + e)
    return np.where(v > 0, shrunk, m)


def textbook_tau2(x: np.ndarray, e: np.ndarray) -> np.ndarray:
    """DerSimonian-Laird between-unit variance of O/E (weights E), each row of counts."""
    q = ((x - e) ** 2 / e).sum(axis=1)
    return np.maximum(0.0, (q - (len(e) - 1)) / (e.sum() - (e**2).sum() / e.sum()))


def brute(comp: C.Completions, expected: dict, alpha: float):
    """Over every completion: flags seen under Holm and BH (statsmodels), best and worst ranks, EB and tau2 ranges."""
    e = np.array([expected[n] for n in comp.names])
    x = np.array(list(every_completion(comp)))
    p = pois(x, e)
    seen = {}
    with fast_statsmodels():
        for m, name in (("holm", "holm"), ("bh", "fdr_bh")):
            rej = np.array([multipletests(row, alpha, method=name)[0] for row in p])
            seen[m] = [set(rej[:, k].tolist()) for k in range(len(e))]
    r = x / e
    above = (r[:, None, :] > r[:, :, None] * (1 + 1e-12)).sum(axis=2)  # units strictly above unit k
    at_least = (r[:, None, :] >= r[:, :, None] * (1 - 1e-12)).sum(axis=2)  # including itself and ties
    eb = textbook_eb(x, e)
    return seen, 1 + above.min(axis=0), at_least.max(axis=0), eb.min(axis=0), eb.max(axis=0), textbook_tau2(x, e)


@st.composite
def releases(draw, max_units=5, max_count=7):
    """A small country: true counts, the top k published, floors no larger than the true unpublished counts."""
    n = draw(st.integers(3, max_units))
    counts = draw(st.lists(st.integers(0, max_count), min_size=n, max_size=n))
    if max(counts) == 0:
        counts[0] = 1
    weights = draw(st.lists(st.floats(0.3, 3.0), min_size=n, max_size=n))
    k = draw(st.integers(1, min(n - 1, sum(c > 0 for c in counts))))
    names = [f"u{i}" for i in range(n)]
    order = sorted(range(n), key=lambda i: (-counts[i], i))
    pub = {names[i]: counts[i] for i in order[:k]}
    floors = {names[i]: draw(st.integers(0, counts[i])) for i in order[len(pub):] if draw(st.booleans())}
    total = sum(counts)
    expected = {nm: total * w / sum(weights) for nm, w in zip(names, weights)}
    alpha = draw(st.sampled_from([0.05, 0.2, 0.5]))
    return names, counts, pub, floors, total, expected, alpha


# ------------------------------------------------------------------------------------------ completions
def test_q1_2025_bounds_and_refusals():
    units = list(POP)
    comp = C.completions(Q1, 293, units, {"Ulytau": 8, "Akmola": 1})
    t = comp.table().set_index("unit")
    assert comp.remainder == 148 and comp.cap == 19 and len(comp.unpublished) == 14
    assert (t.loc["Ulytau", "low"], t.loc["Ulytau", "high"]) == (8, 19)
    assert (t.loc["Turkistan", "low"], t.loc["Turkistan", "high"]) == (0, 19)
    assert (t.loc["Kostanay", "low"], t.loc["Kostanay", "high"]) == (27, 27)
    assert 1e15 < comp.n_completions < 1e17 and "Ulytau at least 8" in comp.verdict
    with pytest.raises(ValueError, match=r"floor\['Ulytau'\] = 25 is more than the smallest published count 19.*"
                                         r"impossible"):
        C.completions(Q1, 293, units, {"Ulytau": 25})
    with pytest.raises(ValueError, match=r"floor\['Kostanay'\] = 30 exceeds the published count 27"):
        C.completions(Q1, 293, units, {"Kostanay": 30})
    with pytest.raises(ValueError, match="floor: the lower bounds"):
        C.completions(Q1, 160, units, {"Ulytau": 10, "Abai": 10})
    with pytest.raises(ValueError, match="not a top-k list"):
        C.completions(Q1, 145 + 14 * 19 + 1, units)
    with pytest.raises(ValueError, match="published names units not in units"):
        C.completions({"Atlantis": 3}, 10, units)
    with pytest.raises(ValueError, match="total must be at least"):
        C.completions(Q1, 100, units)
    with pytest.raises(ValueError, match="units has duplicate"):
        C.completions(Q1, 293, units + ["Abai"])


def test_number_of_completions_by_enumeration():
    comp = C.completions({"a": 4, "b": 3}, 12, ["a", "b", "c", "d", "e"], {"d": 1})
    assert comp.n_completions == sum(1 for _ in every_completion(comp)) == 10


@given(releases())
def test_bounds_contain_the_truth_and_ranges_are_exact(rel):
    names, counts, pub, floors, total, expected, alpha = rel
    comp = C.completions(pub, total, names, floors)
    truth = np.array([counts[names.index(n)] for n in comp.names])
    assert np.all(np.array(comp.low) <= truth) and np.all(truth <= np.array(comp.high))
    seen, best, worst, eb_lo, eb_hi, tau = brute(comp, expected, alpha)
    ranks = C.rank_ranges(comp, expected)
    assert ranks["rank_best"].tolist() == best.tolist() and ranks["rank_worst"].tolist() == worst.tolist()
    every = list(every_completion(comp))
    assert comp.n_completions == len(every)
    for i in range(len(names)):
        assert min(x[i] for x in every) == comp.low[i] and max(x[i] for x in every) == comp.high[i]
    sp = C.spread_range(comp, expected)
    assert sp.table["eb_low"].to_numpy() == pytest.approx(eb_lo, rel=1e-9, abs=1e-12)
    assert sp.table["eb_high"].to_numpy() == pytest.approx(eb_hi, rel=1e-9, abs=1e-12)
    assert (sp.tau2_min, sp.tau2_max) == pytest.approx((tau.min(), tau.max()), rel=1e-9, abs=1e-12)
    for method in ("holm", "bh"):
        got = C.flag_ranges(comp, expected, pois, alpha, method)
        for k, n in enumerate(comp.names):
            assert (got[n].can_flag, got[n].can_clear) == (True in seen[method][k], False in seen[method][k])


@given(releases(max_units=5, max_count=6))
def test_integer_programme_alone_agrees_with_enumeration(rel):
    """Every flag question decided by scipy.optimize.milp (no witnesses, no greedy, no bound) is still exact."""
    names, counts, pub, floors, total, expected, alpha = rel
    comp = C.completions(pub, total, names, floors)
    seen = brute(comp, expected, alpha)[0]
    for method in ("holm", "bh"):
        got = C.flag_ranges(comp, expected, pois, alpha, method, shortcuts=False)
        for k, n in enumerate(comp.names):
            assert (got[n].can_flag, got[n].can_clear) == (True in seen[method][k], False in seen[method][k])


@given(releases(max_units=6, max_count=8), st.data())
def test_ranges_nest_when_more_is_known(rel, more):
    """Publishing one more unit, or learning a floor, can only narrow every range (and keep every sure flag)."""
    names, counts, pub, floors, total, expected, alpha = rel
    wide = C.completions(pub, total, names, floors)
    rest = [n for n in wide.unpublished]
    nxt = max(rest, key=lambda n: counts[names.index(n)])
    if more.draw(st.booleans()) and counts[names.index(nxt)] > 0:
        narrow = C.completions({**pub, nxt: counts[names.index(nxt)]}, total, names,
                               {k: v for k, v in floors.items() if k != nxt})
    else:
        narrow = C.completions(pub, total, names, {**floors, nxt: counts[names.index(nxt)]})
    w, n_ = C.rank_ranges(wide, expected).set_index("unit"), C.rank_ranges(narrow, expected).set_index("unit")
    for u in names:
        assert w.loc[u, "low"] <= n_.loc[u, "low"] <= n_.loc[u, "high"] <= w.loc[u, "high"]
        assert w.loc[u, "rank_best"] <= n_.loc[u, "rank_best"] <= n_.loc[u, "rank_worst"] <= w.loc[u, "rank_worst"]
    if sum(counts) > 0:
        sw, sn = C.spread_range(wide, expected).table.set_index("unit"), C.spread_range(narrow, expected).table
        for r in sn.itertuples():
            assert sw.loc[r.unit, "eb_low"] - 1e-12 <= r.eb_low <= r.eb_high <= sw.loc[r.unit, "eb_high"] + 1e-12
    for method in ("holm", "bh"):
        fw, fn = C.flag_ranges(wide, expected, pois, alpha, method), C.flag_ranges(narrow, expected, pois, alpha,
                                                                                    method)
        for u in names:
            assert fn[u].can_flag <= fw[u].can_flag and fn[u].can_clear <= fw[u].can_clear


@given(st.lists(st.integers(0, 30), min_size=3, max_size=8), st.integers(0, 10**6))
def test_textbook_references_match_the_project_eb_and_funnel(counts, seed):
    """The brute force's written-out EB and tau2 are the project's eb_shrinkage and funnel_limits (unwinsorised)."""
    x = np.array(counts)
    if x.sum() == 0:
        x[0] = 1
    e = np.random.default_rng(seed).uniform(0.5, 20, size=len(x))
    e = e * x.sum() / e.sum()
    ref = R.eb_shrinkage(x.tolist(), e.tolist()).table["shrunk_ratio"].to_numpy()
    assert textbook_eb(x[None, :], e)[0] == pytest.approx(ref, rel=1e-9)
    assert textbook_tau2(x[None, :], e)[0] == pytest.approx(R.funnel_limits(x.tolist(), e.tolist(), winsor=0.0).tau2)


# ------------------------------------------------------------------------------------------ exact programmes
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 6)), min_size=1, max_size=4),
       st.integers(0, 14))
def test_count_above_range_by_enumeration(boxes, total):
    lo = [a for a, _, _ in boxes]
    hi = [a + b for a, b, _ in boxes]
    need = [c for _, _, c in boxes]
    counts = [sum(x >= t for x, t in zip(xs, need))
              for xs in itertools.product(*[range(a, b + 1) for a, b in zip(lo, hi)]) if sum(xs) == total]
    got = C.count_above_range(lo, hi, need, total)
    assert got == ((min(counts), max(counts)) if counts else None)


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=4), st.integers(0, 12),
       st.integers(0, 10**6))
def test_separable_range_by_enumeration(boxes, total, seed):
    rng = np.random.default_rng(seed)
    lo = [a for a, _ in boxes]
    hi = [a + b for a, b in boxes]
    f = [rng.normal(size=b - a + 1) for a, b in zip(lo, hi)]
    sums = [sum(f[j][x - lo[j]] for j, x in enumerate(xs))
            for xs in itertools.product(*[range(a, b + 1) for a, b in zip(lo, hi)]) if sum(xs) == total]
    got = C.separable_range(lo, hi, f, total)
    if sums:
        assert got == pytest.approx((min(sums), max(sums)))
    else:
        assert all(math.isnan(v) for v in got)


@given(st.lists(st.lists(st.sampled_from([0.001, 0.004, 0.01, 0.02, 0.03, 0.2, 0.6]), min_size=5, max_size=5),
                min_size=1, max_size=6), st.sampled_from([0.05, 0.1]))
def test_vectorised_holm_and_bh_match_statsmodels(rows, alpha):
    p = np.array(rows)  # repeated values on purpose: ties
    with fast_statsmodels():
        for method, name in (("holm", "holm"), ("bh", "fdr_bh")):
            expected = np.array([multipletests(r, alpha, method=name)[0] for r in p])
            assert (C.holm_bh(p, alpha, method) == expected).all()


def test_flag_ranges_refuses_bad_pvalues():
    comp = C.completions({"a": 5}, 8, ["a", "b", "c"])
    e = {"a": 2.0, "b": 3.0, "c": 3.0}
    with pytest.raises(ValueError, match="must not increase"):
        C.flag_ranges(comp, e, lambda o, x: o / 10.0)
    with pytest.raises(ValueError, match="method"):
        C.flag_ranges(comp, e, pois, method="bonferroni")
    with pytest.raises(ValueError, match="expected is missing"):
        C.rank_ranges(comp, {"a": 1.0})


# ------------------------------------------------------------------------------------------ p-value models
@given(st.integers(0, 60), st.floats(0.5, 40), st.floats(1.0, 5.0))
def test_pvalue_models_against_scipy_and_statsmodels(o, e, phi):
    assert R.pvalues_above([o], [e])[0] == pytest.approx(stats.poisson.sf(o - 1, e), rel=1e-12)
    ref = sm_test_poisson(o, 1, e, method="score", alternative="larger", dispersion=phi)
    assert R.pvalues_above([o], [e], "quasi-poisson", phi=phi)[0] == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-15)
    assert R.pvalues_above([o], [e], "quasi-poisson", phi=phi, df=8)[0] == pytest.approx(
        stats.t.sf(ref.statistic, 8), rel=1e-9, abs=1e-15)


@given(st.integers(0, 60), st.floats(0.5, 40), st.floats(0.0, 1.5))
def test_additive_pvalue_agrees_with_the_funnel_limit(o, e, tau2):
    """A ratio above the additive 99.8% limit has a one-sided p-value below 0.001, and conversely."""
    p = R.pvalues_above([o], [e], "additive", tau2=tau2)[0]
    lim = R.upper_limit([e], 0.998, "additive", tau2=tau2)[0]
    assert lim == pytest.approx(1 + stats.norm.ppf(0.999) * math.sqrt(1 / e + tau2))
    if abs(o / e - lim) > 1e-9:
        assert (o / e > lim) == (p < 0.001)
    # the exact Poisson limit is funnel_limits' (Spiegelhalter's interpolated quantile)
    f = R.funnel_limits([o, 1], [e, 1.0], grid=[e], levels=(0.998,))
    assert R.upper_limit([e], 0.998)[0] == pytest.approx(f.limits["upper"].iloc[0])


@given(st.integers(1, 80), st.floats(0.5, 60), st.floats(1.0, 6.0), st.sampled_from([None, 8]))
def test_quasi_ratio_interval_inverts_the_score_test(o, e, phi, df):
    lo, hi = R.ratio_ci_quasi(o, e, phi, df)
    c = stats.norm.ppf(0.975) if df is None else stats.t.ppf(0.975, df)
    for theta in (lo, hi):  # the score statistic equals the critical value at both ends
        z = sm_test_poisson(o, 1, theta * e, method="score", dispersion=phi).statistic
        assert abs(z) == pytest.approx(c, rel=1e-7)
    if phi == 1.0 and df is None:
        assert (lo, hi) == pytest.approx(confint_poisson(o, e, method="score"), rel=1e-10)


def test_pvalue_models_refuse_bad_input():
    with pytest.raises(ValueError, match="model"):
        R.pvalues_above([1], [1.0], "negbin")
    with pytest.raises(ValueError, match="tau2"):
        R.pvalues_above([1], [1.0], "additive", tau2=-0.1)
    with pytest.raises(ValueError, match="expected"):
        R.pvalues_above([1], [0.0])
    with pytest.raises(ValueError, match="observed"):
        R.pvalues_above([1.5], [1.0])
    with pytest.raises(ValueError, match="phi"):
        R.ratio_ci_quasi(3, 2.0, phi=0)


# ------------------------------------------------------------------------------------------ the Q1 2025 release
def test_q1_2025_all_units_assessed():
    comp = C.completions(Q1, 293, list(POP), {"Ulytau": 8, "Akmola": 1})
    a = C.assess_completions(comp, E_Q1, phi=1.9183, phi_df=8)
    four = ["Karaganda", "Kostanay", "East Kazakhstan", "Atyrau"]
    assert a.flagged("poisson") == four  # Holm in every completion
    assert a.flagged("quasi") == ["Kostanay", "East Kazakhstan"]  # "two under φ = 1.92"
    assert a.flagged("quasi_t") == [] and a.flagged("tau2") == []
    assert "Ulytau" in a.flagged("quasi_t", status="depends") and "Ulytau" in a.flagged("tau2", status="depends")
    t = a.table.set_index("unit")
    assert (t.loc["Ulytau", "rank_best"], t.loc["Ulytau", "rank_worst"]) == (1, 1)  # 8 / 3.27 beats every ratio
    assert t.loc["Ulytau", "ratio_low"] == pytest.approx(8 / E_Q1["Ulytau"])
    assert t.loc["Ulytau", "ratio_low"] > max(Q1[k] / E_Q1[k] for k in Q1)
    assert t.loc["Ulytau", "eb_low"] > 1
    # a completion where Ulytau has 8 and the rest are spread evenly: Holm under Poisson leaves it unflagged
    x = dict(Q1)
    x["Ulytau"] = 8
    x["Akmola"] = 1
    rest = [u for u in POP if u not in x]
    left = 148 - 9
    for k, u in enumerate(rest):
        x[u] = left // len(rest) + (1 if k < left % len(rest) else 0)
    names = list(POP)
    with fast_statsmodels():
        rej = dict(zip(names, multipletests(pois([x[u] for u in names], [E_Q1[u] for u in names]), 0.05, "holm")[0]))
    assert not rej["Ulytau"] and all(rej[u] for u in four)
    assert a.spread.tau2_min < a.spread.tau2_max
