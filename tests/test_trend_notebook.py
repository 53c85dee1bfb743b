"""The five-year-trend study (notebook 03): its report against independent computations and against the study run
directly, the rate view against the labour-force survey, other parameter sets in process, its parameter
declaration, one papermill run, and the claim checker."""

import json
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from conftest import run_claims, run_declared, validate_as_notebook
from scipy import stats

from analysis import data
from analysis.core.params import ParameterError
from analysis.core.paths import DATA_DIR, NOTEBOOKS_DIR, ROOT
from analysis.core.study import sentences
from analysis.reporting import claims
from analysis.stats import joinpoint as jp
from analysis.studies import trend

NB03 = NOTEBOOKS_DIR / "03_five_year_trend.ipynb"
KEYS03 = {"start_year", "end_year", "start_value", "end_value", "change_pct", "consistent", "p_value_endpoint_exact",
          "p_value_endpoint_overdispersed", "apc", "apc_ci", "p_value_trend", "dispersion", "verdict",
          "joinpoint", "window_trend", "denominators", "denominator_check", "scenarios"}


@pytest.fixture(scope="module")
def t_default(reports):
    return reports.results("03_five_year_trend")


@pytest.fixture(scope="module")
def direct():
    return run_declared(trend)


def _ministry(first=2015, last=2024):
    s = data.national_series("ministry", "injured")
    return s[(s.index >= first) & (s.index <= last)]


def _hinge_fit(s, tau):
    """Reference: statsmodels quasi-Poisson GLM with a hinge column at tau (fixed), t inference."""
    y = s.index.to_numpy(dtype=float)
    X = np.column_stack([np.ones_like(y), y - y.mean(), np.clip(y - tau, 0, None)])
    return sm.GLM(s.to_numpy(dtype=float), X, family=sm.families.Poisson()).fit(scale="X2", use_t=True)


# ---- the default report -------------------------------------------------------------------------------------------


def test_trend_defaults_match_independent_computation(t_default):
    r = t_default["results"]
    assert KEYS03 <= set(r)
    assert (r["start_year"], r["end_year"], r["start_value"], r["end_value"]) == (2020, 2024, 1503, 1408)
    assert round(r["change_pct"], 1) == -6.3 and r["consistent"] is True
    assert r["p_value_endpoint_exact"] == pytest.approx(stats.binomtest(1408, 2911, 0.5).pvalue, rel=1e-9)
    # independent quasi-Poisson GLM on 2015-2024
    s = _ministry()
    X = sm.add_constant(s.index.to_numpy(dtype=float) - 2015)
    fit = sm.GLM(s.to_numpy(), X, family=sm.families.Poisson()).fit(scale="X2")
    assert r["apc"] == pytest.approx(100 * np.expm1(fit.params[1]), rel=1e-6)
    assert r["dispersion"] == pytest.approx(fit.scale, rel=1e-6)
    assert r["trend_fitted"] == pytest.approx(list(fit.mu), rel=1e-6)
    assert r["rate_change_range"][1] < -6.3  # the Ministry's rate coefficient cannot give -6.3%


def test_joinpoint_numbers_match_statsmodels_and_the_permutation_test(t_default):
    j = t_default["results"]["joinpoint"]["count"]
    s = _ministry()
    assert j["joinpoint"] == [2019.0]
    ref = _hinge_fit(s, 2019)
    for apc, ci, L in zip(j["segment_apcs"], j["segment_apc_cis"], ([0, 1, 0], [0, 1, 1]), strict=True):
        tt = ref.t_test(L)
        # the estimated joinpoint counts as a parameter (df = n − 4 = 6), as in Joinpoint: widen statsmodels' t
        se = float(tt.sd[0, 0]) * math.sqrt(ref.df_resid / 6)
        beta = float(tt.effect[0])
        assert apc == pytest.approx(100 * math.expm1(beta), rel=1e-6)
        crit = stats.t.ppf(0.975, 6)
        assert ci == pytest.approx([100 * math.expm1(beta - crit * se), 100 * math.expm1(beta + crit * se)],
                                   rel=1e-5)
    assert j["segment_apcs"][0] == pytest.approx(-4.0, abs=0.05) and j["segment_apcs"][1] == pytest.approx(-0.77,
                                                                                                          abs=0.01)
    # the window 2020-2024 lies in the second segment: its AAPC is that segment's APC
    assert j["aapc_window_joinpoint"] == pytest.approx(j["segment_apcs"][1], rel=1e-9)
    assert j["aapc_window_straight"] == pytest.approx(100 * np.expm1(_straight_beta(s)), rel=1e-6)
    # the selection test is Joinpoint's 0-vs-1 permutation test with the report's seed and replicates
    test = jp.joinpoint_test(s.to_numpy(), s.index.to_numpy(), n_permutations=4499, seed=0)
    assert j["p_value_permutation"] == test.p_value and j["mc_se"] == pytest.approx(test.mc_se)
    assert 0.08 < j["p_value_permutation"] < 0.15 and j["selected_joinpoints"] == 0
    lo, hi = j["aapc_window_joinpoint_ci_boot"]
    assert lo < j["aapc_window_joinpoint"] < hi and lo < 0 < hi
    assert 0.35 < j["power"] < 0.7 and j["support"] == "some"


def _straight_beta(s):
    X = sm.add_constant(s.index.to_numpy(dtype=float))
    return sm.GLM(s.to_numpy(dtype=float), X, family=sm.families.Poisson()).fit().params[1]


def test_verdict_says_what_the_window_shows(t_default):
    assert t_default["label"] == "fragile"
    assert "2020–2024 show no clear decline" in t_default["headline"]
    assert sentences(t_default["summary"]) <= 3
    for jargon in ("φ", "p-value", "p =", "joinpoint", "quasi"):
        assert jargon not in t_default["summary"]
    key = t_default["key_estimate"]
    assert key["estimate"] == pytest.approx(t_default["results"]["joinpoint"]["count"]["aapc_window_joinpoint"])
    assert [key["lower"], key["upper"]] == t_default["results"]["joinpoint"]["count"]["aapc_window_joinpoint_ci_boot"]
    tech = t_default["verdict"]
    assert "the straight line is selected" in tech and "Power of the test" in tech
    assert "5.26 million in 2016 to 6.53 million in 2020" in tech
    assert "1,448" in t_default["would_change"]


def test_report_json_equals_the_study_run_directly(t_default, direct):
    assert t_default == json.loads(json.dumps(direct.to_dict()))
    # the report says how the headline moved since the first edition (decade slope -> the window's own slope)
    assert "from the decade's -2.2% a year to -0.8% a year (-2.6% to +1.1%)" in direct.revision_note


def test_report_tables_are_exported_with_plain_headers(t_default, direct):
    for name, table in t_default["tables"].items():
        for col in table["columns"]:
            assert "_" not in col, f"{name}: {col}"
    for name in direct.tables():  # what the page shows: formatted text, never scientific notation
        shown = direct.display(name).astype(str)
        assert not shown.apply(lambda col: col.str.contains(r"\de[-+]\d")).any().any(), name


# ---- the rate view against the labour-force survey ---------------------------------------------------------------


def test_rate_view_implied_workers_and_the_survey_read_independently(direct):
    raw = pd.read_csv(DATA_DIR / "workforce.csv")
    lfs = raw[(raw["geography"] == "Kazakhstan") & raw["sector"].isna() & (raw["basis"] == "LFS")
              & (raw["measure"] == "hired_employees") & (raw["period"].astype(str).str.len() == 4)]
    hired = {int(p): float(v) for p, v in zip(lfs["period"], lfs["value"], strict=True)}
    assert hired == {2013: 6.0e6, 2017: 6.49e6, 2022: 6.9e6, 2024: 7.0e6}
    d = direct.denominators.set_index("year")
    # implied workers: injured / published rate x 1,000, and the range the two-decimal rounding allows
    assert d.loc[2016, "workers implied by the Ministry's rate"] == pytest.approx(1683 / 0.32 * 1000)
    assert d.loc[2020, "workers implied by the Ministry's rate"] == pytest.approx(1503 / 0.23 * 1000)
    assert d.loc[2016, "implied, highest the rounding allows"] == pytest.approx(1683 / 0.315 * 1000)
    # survey years as published; others log-linearly interpolated between the nearest survey years
    for y, v in hired.items():
        if y in d.index:
            assert d.loc[y, "hired employees (LFS)"] == v and not d.loc[y, "LFS value interpolated"]
    g = math.log(6.49e6 / 6.0e6) / 4
    assert d.loc[2016, "hired employees (LFS)"] == pytest.approx(6.0e6 * math.exp(3 * g), rel=1e-12)
    assert d.loc[2016, "LFS value interpolated"]
    c = direct.denominator_check
    assert (c["from_year"], c["to_year"]) == (2016, 2020)
    assert c["implied_growth_pct"] == pytest.approx(100 * ((1503 / 0.23) / (1683 / 0.32) - 1))
    lfs_2020 = 6.49e6 * math.exp(3 / 5 * math.log(6.9e6 / 6.49e6))
    assert c["lfs_growth_pct"] == pytest.approx(100 * (lfs_2020 / (6.0e6 * math.exp(3 * g)) - 1), rel=1e-9)
    assert c["implied_growth_pct"] > 20 and c["lfs_growth_pct"] < 8  # +24% against about +6%
    assert c["ratio_min_year"] == 2016 and c["ratio_min"] < 0.85 < 0.95 < c["ratio_max"]
    # the rate per survey employee is the count over the interpolated survey workforce
    w = d["hired employees (LFS)"].reindex(range(2015, 2025)).to_numpy()
    s = _ministry()
    X = sm.add_constant(s.index.to_numpy(dtype=float))
    ref = sm.GLM(s.to_numpy(dtype=float), X, family=sm.families.Poisson(), offset=np.log(w)).fit(scale="X2")
    assert direct.trends["rate_lfs"].straight.segments[0].estimate == pytest.approx(100 * np.expm1(ref.params[1]),
                                                                                   rel=1e-6)


def test_rate_view_is_said_and_does_not_carry_the_verdict(direct):
    note = direct.denominator_note
    assert "5.26 million in 2016 to 6.53 million in 2020" in note and "does not fit the survey" in note
    assert "never rests on the Ministry's implied workforce" in note
    ministry = direct.trends["rate_ministry"]
    assert ministry.test.p_value < 0.05  # the artefact makes the break look significant ...
    assert direct.window is direct.trends["count"] and direct.verdict.label == "fragile"  # ... the verdict ignores it


# ---- other parameter sets, in process ------------------------------------------------------------------------------


def test_rate_measure_is_checked_against_the_ministry_rates():
    r = trend.run(trend.Params(measure="rate", n_permutations=499, n_boot=99, n_power=0))
    assert r.assessment.measure == "rate" and r.assessment.consistent is False
    assert round(r.assessment.change_pct, 1) == -13.0 and r.verdict.label == "inconsistent"
    assert r.window is r.trends["rate_lfs"]  # trends of the rate use the survey workforce
    assert "matches the count of people injured" in r.verdict.headline


def test_a_window_inside_a_short_series_keeps_the_straight_line():
    r = trend.run(trend.Params(end_year=2019, reported_change_pct=-17.0, n_permutations=199, n_boot=0, n_power=0))
    assert r.window.broken is None and r.window.test is None
    assert r.count_view.consistent and r.verdict.label == "supported"  # 2015-2019 fell clearly
    assert r.verdict.key.estimate == pytest.approx(r.window.aapc_straight.estimate)


def test_seed_and_replicates_move_only_monte_carlo_numbers():
    fast = {"n_permutations": 499, "n_boot": 99, "n_power": 40}
    a = trend.run(trend.Params(seed=3, **fast))
    b = trend.run(trend.Params(seed=3, **fast))
    assert a.to_dict() == b.to_dict()  # seeded
    c = trend.run(trend.Params(seed=4, **fast))
    assert c.window.test.p_value != a.window.test.p_value
    assert c.window.aapc_broken.estimate == a.window.aapc_broken.estimate and c.verdict.label == a.verdict.label


def test_an_inconsistent_percent_is_labelled_so():
    r = trend.run(trend.Params(reported_change_pct=-9.0, n_permutations=199, n_boot=0, n_power=0))
    assert r.verdict.label == "inconsistent" and "does not match" in r.verdict.summary


@pytest.mark.parametrize("params,name", [({"end_year": 2013}, "end_year"),
                                         ({"years": 1}, "years"),
                                         ({"trend_start": 2021}, "trend_start"),
                                         ({"reported_change_pct": -150}, "reported_change_pct"),
                                         ({"measure": "ratio"}, "measure"),
                                         ({"alpha": 0}, "alpha"),
                                         ({"end_year": "2024"}, "end_year"),
                                         ({"seed": -1}, "seed"),
                                         ({"n_permutations": 0}, "n_permutations"),
                                         ({"n_boot": -5}, "n_boot"),
                                         ({"n_power": -1}, "n_power"),
                                         ({"alpah": 0.01}, "alpah")])
def test_bad_parameters_are_named(params, name):
    with pytest.raises(ParameterError) as exc:
        trend.Params.from_mapping(params)
    assert exc.value.name == name and name in str(exc.value)


def test_a_window_without_a_count_is_refused_at_run_naming_the_parameter():
    with pytest.raises(ParameterError) as exc:
        trend.run(trend.Params(end_year=2025, trend_start=2015))
    assert exc.value.name == "end_year" and "2025" in str(exc.value)


# ---- figures -------------------------------------------------------------------------------------------------------


def test_injuries_figure_marks_only_the_ministrys_own_derived_counts(direct):
    f = direct.injuries_figure.set_index("year")
    # 2019's 1,430 is published (a derived BNS row of 2019 must not make it derived); 2017 and 2023 are derived
    assert f.loc[2019, "status"] == "published" and f.loc[2019, "injured"] == 1430
    assert set(f.index[f["status"] != "published"]) == {2017, 2023}
    assert set(zip(direct.conflicting_values["year"], direct.conflicting_values["value"], strict=True)) == {
        (2021, 1467), (2024, 1448)}
    for alt in (direct.injuries_alt, direct.trend_alt, direct.denominators_alt):
        assert alt and "e-0" not in alt and "e+0" not in alt


# ---- one papermill run --------------------------------------------------------------------------------------------


@pytest.mark.notebook
def test_notebook_stops_on_a_bad_parameter_and_names_it():
    from analysis.studies import trend as study

    with pytest.raises(ParameterError) as exc:
        validate_as_notebook(study, end_year=2013)
    assert exc.value.name == "end_year"


# ---- the claim checker ---------------------------------------------------------------------------------------------


def _claims(*args, cwd=ROOT):
    """The trend claim checker run in this process; a result with returncode, stdout and stderr."""
    from types import SimpleNamespace

    code, out, err = run_claims("trend", *args)
    return SimpleNamespace(returncode=code, stdout=out, stderr=err)


def _claims_in_process(capsys, *args):
    with pytest.raises(SystemExit) as exc:
        claims.main(["trend", *args])
    out = capsys.readouterr()
    return exc.value.code, " ".join(out.out.split()), out.err


def test_claim_checker_offers_trend_with_options_from_params(capsys):
    code, text, _ = _claims_in_process(capsys, "--help")
    assert code == 0
    for spec in trend.Params.specs():
        assert f"--{spec.name.replace('_', '-')}" in text
        assert " ".join(spec.info.help.split()[:4]) in text
    assert "--change-pct" in text


def test_claim_checker_refuses_a_window_before_the_series_naming_the_option(capsys):
    code, _, err = _claims_in_process(capsys, "--end-year", "2013")
    assert code == 2 and "--end-year" in err and "trend_start" in err


def test_claim_checker_runs_the_trend_study_in_process(tmp_path):
    proc = _claims("--end-year", "2024", "--years", "5", "--change-pct", "-6.3", "--n-permutations", "999",
                   "--n-boot", "99", "--n-power", "40", "--out", str(tmp_path / "c"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "[fragile]" in proc.stdout and "verdict:" in proc.stdout
    (f,) = (tmp_path / "c" / "results").glob("trend-*.json")
    payload = json.loads(f.read_text())
    assert payload["results"]["change_pct"] == pytest.approx(100 * (1408 / 1503 - 1))
    assert payload["parameters"]["n_permutations"] == 999
    assert not (tmp_path / "c" / "executed").exists()
