"""Rounding-aware back-calculation and consistency checks of published triples."""

import json
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from analysis.stats.compare import compare_counts, score_pvalue
from analysis.stats.consistency import (
    baselines_for_percent,
    check_percent,
    check_rate,
    compare_over_baselines,
)


def _rounded(c, b, d, rule):
    """Independent oracle: the published percent for counts c (now) and b (before), rounded by ``rule``."""
    exact = Fraction(100 * (c - b), b)
    q = Decimal(1).scaleb(-d)
    return (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(q, rounding=rule)


def _brute(c, p, d, ties=True, lo=1, hi=None):
    """Independent oracle: every b in a generous range whose exact percent lies in the half-interval."""
    h = Fraction(1, 2 * 10**d)
    pf = Fraction(str(p))
    out = []
    for b in range(lo, 4 * c + 50 if hi is None else hi):
        gap = abs(Fraction(100 * (c - b), b) - pf)
        if gap < h or (ties and gap == h):
            out.append(b)
    return tuple(out)


def test_published_examples_give_single_baselines():
    assert baselines_for_percent(293, -16.8, 1).baselines == (352,)
    assert baselines_for_percent(1430, -8.8, 1).baselines == (1568,)
    r = baselines_for_percent(293, -16.8, 1)
    assert "exactly 352" in r.verdict
    json.dumps(r.to_dict(), allow_nan=False)


@pytest.mark.parametrize(
    ("c", "p", "d"), [(293, -17, 0), (293, -16.8, 1), (50, 12.5, 1), (7, 40, 0), (180, -17.6, 1)]
)
def test_baselines_match_brute_force(c, p, d):
    assert baselines_for_percent(c, p, d).baselines == _brute(c, p, d)


def test_boundary_ties_are_reported_and_optional():
    # 2001 vs 2000 is +0.05% exactly: a tie between 0.0 and 0.1 at one decimal.
    # Float arithmetic hides the tie: 100 * (2001 / 2000 - 1) == 0.04999999999999449, which rounds to 0.0.
    up = baselines_for_percent(2001, 0.1, 1)
    assert 2000 in up.baselines and up.ties == (2000,)
    down = baselines_for_percent(2001, 0.0, 1)
    assert 2000 in down.baselines and 2000 in down.ties
    strict = baselines_for_percent(2001, 0.1, 1, include_ties=False)
    assert 2000 not in strict.baselines and strict.ties == ()
    assert "do not count" in strict.assumptions


def test_ties_in_triple_and_rate_checks():
    assert check_percent(2001, 2000, 0.1, 1).consistent  # +0.05% exactly: half up gives 0.1
    assert not check_percent(2001, 2000, 0.1, 1, include_ties=False).consistent
    assert check_rate(245, 0.04, 7_000_000, per=1000, decimals=2).consistent  # 0.035 exactly
    assert not check_rate(245, 0.04, 7_000_000, per=1000, decimals=2, include_ties=False).consistent


def test_zero_current_has_no_baseline():
    assert baselines_for_percent(0, -99.9, 1).baselines == ()
    assert "no integer" in baselines_for_percent(0, -99.9, 1).verdict


def test_inconsistent_triple_2019_deaths():
    # 2019: 180 deaths, "17.6% fewer" than 220 -- but 180/220 - 1 = -18.2%.
    r = check_percent(180, 220, -17.6, 1)
    assert not r.consistent
    assert r.implied_percent == pytest.approx(-18.181818, abs=1e-6)
    assert r.percent_discrepancy == pytest.approx(-17.6 + 18.181818, abs=1e-6)
    assert r.implied_previous == pytest.approx(180 / 0.824, rel=1e-12)
    assert r.previous_discrepancy == pytest.approx(220 - 180 / 0.824, rel=1e-12)
    assert r.previous_candidates == ()
    assert r.current_candidates == ()  # 220 * (1 - 0.176) = 181.28: no integer rounds to -17.6%
    assert "INCONSISTENT" in r.verdict and "-18.2%" in r.verdict and "0.58" in r.verdict


def test_consistent_triple():
    r = check_percent(293, 352, -16.8, 1)
    assert r.consistent and r.previous_candidates == (352,) and 293 in r.current_candidates
    assert abs(r.percent_discrepancy) < 0.05


def test_compare_over_baselines_reports_p_range():
    r = compare_over_baselines(293, -17, decimals=0, phi=1.5)
    assert r.baselines == (351, 352, 353, 354, 355)
    ps = [stats.binomtest(293, 293 + b, 0.5).pvalue for b in r.baselines]
    assert r.p_values == pytest.approx(ps, rel=1e-12)
    assert r.p_range == pytest.approx((min(ps), max(ps)), rel=1e-12)
    assert r.ci[0] == pytest.approx(compare_counts(293, 355).ci[0], rel=1e-12)
    assert r.ci[1] == pytest.approx(compare_counts(293, 351).ci[1], rel=1e-12)
    assert r.p_values_overdispersed == pytest.approx([score_pvalue(293, b, 1.0, 1.5) for b in r.baselines])
    one = compare_over_baselines(293, -16.8)
    assert one.p_range == pytest.approx((0.022313129817613443,) * 2, rel=1e-9)
    assert "significant at 0.05 for every one" in one.verdict


def test_check_rate_worker_range():
    r = check_rate(293, 0.04, 7_000_000, per=1000, decimals=2)
    assert r.consistent
    assert r.workers_range == pytest.approx((293_000 / 0.045, 293_000 / 0.035), rel=1e-12)
    assert r.count_range == (245, 315)  # 7e6 * [0.035, 0.045] / 1000 = [245, 315], ties included
    assert check_rate(293, 0.04, 7_000_000, decimals=2, include_ties=False).count_range == (246, 314)
    bad = check_rate(293, 0.04, 5_000_000, per=1000, decimals=2)  # 0.0586 -> 0.06
    assert not bad.consistent and bad.implied_rate == pytest.approx(0.0586, rel=1e-12)
    assert "INCONSISTENT" in bad.verdict
    zero = check_rate(3, 0.0, 1_000_000, per=1000, decimals=2)
    assert zero.workers_range[1] == float("inf")


@settings(max_examples=100, deadline=None)
@given(
    c=st.integers(0, 5000),
    b=st.integers(1, 5000),
    d=st.integers(0, 2),
    rule=st.sampled_from([ROUND_HALF_EVEN, ROUND_HALF_UP]),
)
def test_back_calculated_baselines_reproduce_the_percent(c, b, d, rule):
    p = _rounded(c, b, d, rule)
    if p <= -100:
        return
    res = baselines_for_percent(c, float(p), d)
    assert b in res.baselines  # the true baseline is always found, whichever rounding rule was used
    for bb in res.baselines:  # and every baseline found rounds to the stated percent under some rule
        assert p in (
            _rounded(c, bb, d, ROUND_HALF_EVEN),
            _rounded(c, bb, d, ROUND_HALF_UP),
            _rounded(c, bb, d, "ROUND_HALF_DOWN"),
        )
    assert check_percent(c, b, float(p), d).consistent


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (lambda: baselines_for_percent(293, -100), "percent.*-100"),
        (lambda: baselines_for_percent(293, -150.0), "percent.*-150.0"),
        (lambda: baselines_for_percent(-1, -16.8), "current.*-1"),
        (lambda: baselines_for_percent(293.0, -16.8), "current.*293.0"),
        (lambda: baselines_for_percent(293, -16.85, 1), "percent.*-16.85"),
        (lambda: baselines_for_percent(293, -16.8, -1), "decimals.*-1"),
        (lambda: baselines_for_percent(293, -16.8, 1.5), "decimals.*1.5"),
        (lambda: check_percent(180, 0, -17.6), "previous.*0"),
        (lambda: check_percent(180, 220, float("nan")), "percent.*nan"),
        (lambda: compare_over_baselines(293, -16.8, alpha=2), "alpha.*2"),
        (lambda: check_rate(293, -0.04, 7e6), "rate.*-0.04"),
        (lambda: check_rate(293, 0.04, 0), "workers.*0"),
        (lambda: check_rate(293, 0.045, 7e6, decimals=2), "rate.*0.045"),
    ],
)
def test_bad_input(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_back_calculation_is_interval_arithmetic_not_a_search():
    """A count in the trillions (a typo the checker must survive) gives its baselines at once, as a range."""
    b = baselines_for_percent(10**12, -16.8, 1)
    assert isinstance(b.baselines, range) and len(b.baselines) > 10**9
    assert _brute(10**12, -16.8, 1, lo=b.baselines[0] - 3, hi=b.baselines[0] + 3)[0] == b.baselines[0]
    assert _brute(10**12, -16.8, 1, lo=b.baselines[-1] - 3, hi=b.baselines[-1] + 4)[-1] == b.baselines[-1]
    assert b.to_dict()["baselines"]["count"] == len(b.baselines)
    r = compare_over_baselines(10**6, -17, 0)
    assert len(r.tested) == 1000 and r.tested[0] == r.baselines[0] and r.tested[-1] == r.baselines[-1]
    assert "tested at 1000" in r.verdict


def test_people_counts_are_bounded():
    from analysis.core import validate

    assert validate.people("n", 10_000_000) == 10_000_000
    with pytest.raises(ValueError, match="at most 10,000,000"):
        validate.people("current_count", 10**12)
