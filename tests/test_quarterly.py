"""The quarterly-change study (notebook 02): its results against independent computations, its variants, its
parameter declaration, and the claim checker that runs it."""

import json
import re

import numpy as np
import papermill as pm
import pytest
from conftest import run_claims, run_declared, validate_as_notebook
from scipy import stats

from analysis import data
from analysis.core.params import ParameterError
from analysis.core.paths import NOTEBOOKS_DIR
from analysis.stats import assess, dispersion, power
from analysis.studies import fatalities, quarterly

NB02 = NOTEBOOKS_DIR / "02_quarterly_change.ipynb"
KEYS02 = {"implied_previous_counts", "previous_count", "consistent", "rate_ratio", "rate_ratio_ci", "p_value_exact",
          "p_value_midp", "p_value_overdispersed", "dispersion", "dispersion_to_lose_significance",
          "min_detectable_ratio", "verdict"}


@pytest.fixture(scope="module")
def q_default(reports):
    return reports.results("02_quarterly_change")


def test_quarterly_defaults_match_independent_computation(q_default):
    r = q_default["results"]
    assert KEYS02 <= set(r)
    assert r["implied_previous_counts"] == [352] and r["previous_count"] == 352 and r["consistent"] is True
    assert r["p_value_exact"] == pytest.approx(stats.binomtest(293, 293 + 352, 0.5).pvalue, abs=1e-10)
    assert r["p_value_exact"] == pytest.approx(0.0223, abs=5e-5)
    ci = stats.binomtest(293, 645, 0.5).proportion_ci(0.95, method="exact")
    assert r["rate_ratio_ci"] == pytest.approx([ci.low / (1 - ci.low), ci.high / (1 - ci.high)], rel=1e-8)
    assert r["min_detectable_ratio"] == pytest.approx(power.minimum_detectable_ratio(352).estimate, rel=1e-9)
    # the dispersion flip point solves (z/crit)^2 for the score statistic: t(8) for the estimated φ, normal if known
    z = (293 - 352) / np.sqrt(645)
    assert r["dispersion_to_lose_significance"] == pytest.approx((z / stats.t.ppf(0.975, 8)) ** 2, rel=1e-6)
    assert r["dispersion_to_lose_significance_normal"] == pytest.approx((z / stats.norm.ppf(0.975)) ** 2, rel=1e-6)
    assert r["p_value_overdispersed"] > r["p_value_exact"]
    assert "derived" in q_default["verdict"]
    assert q_default["label"] == "fragile"


def test_headline_overdispersed_p_uses_t8_with_phi_from_an_independent_glm(q_default):
    """Issue 12: φ from 10 annual counts has 8 residual df, so the headline over-dispersed p is the t(8) one (0.13);
    the normal plug-in (0.093, the previous headline) is reported beside it."""
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM

    r = q_default["results"]
    s = data.national_series("ministry", "injured")
    s = s[s.index >= 2015]
    X = np.column_stack([np.ones(len(s)), s.index.to_numpy(float) - 2015])
    fit = GLM(s.to_numpy(float), X, family=families.Poisson()).fit(scale="X2")
    assert r["dispersion"] == pytest.approx(fit.scale, rel=1e-8) and r["dispersion_df"] == fit.df_resid == 8
    z = (293 - 352) / np.sqrt(fit.scale * 645)
    assert r["p_value_overdispersed"] == pytest.approx(stats.f.sf(z * z, 1, 8), rel=1e-8)
    assert r["p_value_overdispersed"] == pytest.approx(0.132, abs=1e-3)
    assert r["p_value_overdispersed_normal"] == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-10)
    assert r["p_value_overdispersed_normal"] == pytest.approx(0.0935, abs=5e-4)
    assert "0.13" in q_default["verdict"] and "t(8)" in q_default["verdict"] and "0.093" in q_default["verdict"]
    tests = q_default["tables"]["tests"]
    assert ["t(8)", "0.13", "no"] == tests["rows"][4][2:]


def test_leave_one_year_out_and_nb_views(q_default):
    r = q_default["results"]
    s = data.national_series("ministry", "injured")
    s = s[s.index >= 2015]
    loo = dispersion.leave_one_out_dispersion(s.to_numpy(), s.index.to_numpy())
    assert [row["phi"] for row in r["leave_one_out"]] == pytest.approx(list(loo.phi_without), rel=1e-12)
    assert r["leave_one_out_range"] == pytest.approx(list(loo.range), rel=1e-12)
    assert r["leave_one_out_flips"] == [2019]
    row19 = next(x for x in r["leave_one_out"] if x["year_left_out"] == 2019)
    assert row19["phi"] < 1 and row19["reference"] == "normal" and row19["significant"]
    assert "2019" in q_default["would_change"] and "1.85 to 2.18" in q_default["would_change"]
    nb = dispersion.negbin_dispersion(s.to_numpy(), s.index.to_numpy())
    assert r["nb_alpha_moments"] == pytest.approx(nb.alpha_moments) and r["nb_alpha_ml"] == pytest.approx(nb.alpha_ml)
    assert r["dispersion_nb_quarter"] == pytest.approx(1 + nb.alpha_moments * 352)
    assert r["nb_alpha_moments"] > r["nb_alpha_ml"]
    assert "by moments" in r["views"][0]["name"] and "maximum likelihood" in r["views"][1]["name"]


def test_midp_definitions_and_power_under_phi(q_default):
    r = q_default["results"]
    x, n = 293, 645
    by_hand = 2 * min(stats.binom.cdf(x - 1, n, 0.5) + stats.binom.pmf(x, n, 0.5) / 2,
                      stats.binom.sf(x, n, 0.5) + stats.binom.pmf(x, n, 0.5) / 2)
    assert r["p_value_midp_lancaster"] == pytest.approx(by_hand, rel=1e-12)
    assert r["p_value_midp"] == pytest.approx(stats.binomtest(x, n, 0.5).pvalue - stats.binom.pmf(x, n, 0.5) / 2)
    od = power.minimum_detectable_ratio(352, phi=r["dispersion"], df=8)
    assert r["min_detectable_change_pct_overdispersed"] == pytest.approx(od.pct_change, rel=1e-9)
    assert r["min_detectable_change_pct_overdispersed"] < r["min_detectable_change_pct"] < -20


def test_report_json_equals_the_study_run_directly(q_default):
    direct = json.loads(json.dumps(run_declared(quarterly).to_dict()))
    assert q_default == direct
    s = data.national_series("ministry", "injured")
    s = s[s.index >= 2015]
    a = assess.assess_change(293, -16.8, annual_counts=s.to_numpy(), annual_years=s.index.to_numpy())
    assert q_default["verdict"] == a.verdict


def test_quarterly_deaths_leave_event_out(q_default):
    deaths = q_default["results"]["deaths"]
    assert deaths["deaths"] == 40 and deaths["event_deaths"] == 7
    expected = stats.binomtest(33, 33 + 202, 0.25 / 1.25).pvalue
    assert deaths["without_event"]["p_value"] == pytest.approx(expected, rel=1e-9)


def test_deaths_use_the_clustering_of_deaths_not_the_injuries_phi(q_default):
    """The deaths of an injuries claim are tested with the compound-Poisson φ of deaths from the listed events
    (as notebook 06 computes it), under a normal reference: 33 vs 202/4 is significant under Poisson, not under it."""
    r = q_default["results"]
    cl = fatalities.deaths_dispersion("ministry")
    assert r["deaths_dispersion"]["estimate"] == pytest.approx(cl.estimate)
    assert r["deaths"]["dispersion"] == pytest.approx(cl.estimate) and r["deaths"]["dispersion"] != r["dispersion"]
    z = (33 - 0.25 * 202) / np.sqrt(cl.estimate * 0.25 * (33 + 202))
    assert r["deaths"]["without_event_clustered"]["p_value"] == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-10)
    assert r["deaths"]["without_event"]["p_value"] < 0.05 < r["deaths"]["without_event_clustered"]["p_value"]


def test_2019_deaths_variant_reads_as_its_own_claim(reports):
    out = reports.results("02_quarterly_change_2019_deaths")
    r = out["results"]
    cl = fatalities.deaths_dispersion("ministry")
    assert r["dispersion"] == pytest.approx(cl.estimate) and r["dispersion_df"] is None
    assert "compound-Poisson" in r["dispersion_source"] and "compound-Poisson" in out["verdict"]
    z = (180 - 220) / np.sqrt(cl.estimate * 400)
    assert r["p_value_overdispersed"] == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-10)
    assert any("trend" in v["name"] and v["df"] == 6 for v in r["views"])  # the deaths' own trend φ, t(6)
    assert r["leave_one_out"] is None
    assert out["results"]["consistent"] is False and out["label"] == "inconsistent"
    assert out["results"]["consistency"]["implied_percent"] == pytest.approx(100 * (180 / 220 - 1))
    assert "INCONSISTENT" in out["verdict"] or "NOT match" in out["verdict"]
    assert out["title"] == "Is the 17.6% drop in workplace deaths in 2019 real?"
    assert "quarter" not in out["claim"] and "not published" not in out["claim"]
    assert "220 is published" in out["claim"]
    html = reports.html("02_quarterly_change_2019_deaths")
    assert "16.8%" not in html and "first quarter" not in html


def test_given_dispersion_is_treated_as_known():
    r = quarterly.run(quarterly.Params(dispersion=1.5))
    a = r.assessment
    assert a.dispersion == 1.5 and a.dispersion_df is None and a.dispersion_reference == "normal"
    assert a.p_value_overdispersed == pytest.approx(a.p_value_overdispersed_normal)
    assert a.leave_one_out is None and a.views == [] and "as given" in r.pvalue_table.iloc[4, 0]
    assert r.deaths_view["deaths"] == 40 and r.deaths_view["deaths_source"].startswith("the release's published")
    assert r.deaths_view["events"] == ["Zhomart mine, Kazakhmys (7)"]  # accidents killing several, from events.csv


def test_deaths_come_from_the_data_for_any_period():
    r = quarterly.run(quarterly.Params(current_count=1430, reported_change_pct=-8.8, previous_count=1568,
                                       period="2019"))
    d = r.deaths_view
    assert (d["deaths"], d["reference_year"], d["reference_deaths"]) == (180, 2018, 220)
    assert quarterly.run(quarterly.Params(current_count=584, reported_change_pct=-16.6,
                                          period="2025-H1")).deaths_view is None  # none published for 2025-H1


def test_2019_injuries_back_calculation():
    r = quarterly.run(quarterly.Params(current_count=1430, reported_change_pct=-8.8, period="2019"))
    assert r.assessment.implied_previous_counts == [1568]
    assert r.assessment.p_value_exact == pytest.approx(stats.binomtest(1430, 2998, 0.5).pvalue, rel=1e-9)
    assert r.previous_source == "derived" and "year" in r.question + r.claim


@pytest.mark.parametrize("params,name", [({"current_count": -5}, "current_count"),
                                         ({"reported_change_pct": -150}, "reported_change_pct"),
                                         ({"current_count": "many"}, "current_count"),
                                         ({"alpha": 1.5}, "alpha"),
                                         ({"period": "2025-Q5"}, "period"),
                                         ({"measure": "hurt"}, "measure"),
                                         ({"deaths": 3, "event_deaths": 7}, "event_deaths"),
                                         ({"alpah": 0.01}, "alpah")])
def test_bad_parameters_are_named(params, name):
    with pytest.raises(ParameterError) as exc:
        quarterly.Params.from_mapping(params)
    assert exc.value.name == name and name in str(exc.value)


def test_papermill_integer_for_text_parameter_is_accepted():
    assert quarterly.Params(period=2019, measure="fatal", current_count=180, reported_change_pct=-17.6).period == "2019"


def test_notebook_stops_on_a_bad_or_unknown_parameter_and_names_it(tmp_path):
    # One real papermill run (a kernel, papermill's injected cell in IPython's history): a misspelt name stops the
    # notebook at its validation cell. A bad value takes the same cell's next step, checked here without a kernel.
    with pytest.raises(pm.PapermillExecutionError) as exc:
        pm.execute_notebook(str(NB02), str(tmp_path / "out.ipynb"), parameters={"alpah": 0.01},
                            kernel_name="kz-injuries", progress_bar=False, cwd=str(tmp_path))
    assert "alpah" in str(exc.value.evalue) and exc.value.ename == "ParameterError"
    assert not any(tmp_path.rglob("*.json"))  # an ad-hoc run writes no results anywhere
    with pytest.raises(ParameterError, match="alpha"):
        validate_as_notebook(quarterly, alpha=1.5)


def test_claim_checker_runs_in_process_and_names_outputs_per_claim(tmp_path):
    def claim(*args):
        code, out, err = run_claims("quarterly", *args, "--out", str(tmp_path / "claims"))
        assert code == 0, err
        return out

    out1 = claim("--current", "1430", "--change-pct", "-8.8", "--period", "2019")
    out2 = claim("--current", "584", "--change-pct", "-16.6", "--period", "2025-H1")
    assert "[" in out1 and "verdict:" in out1 and "[supported]" in out2
    files = sorted((tmp_path / "claims" / "results").glob("*.json"))
    assert len(files) == 2 and all(f.name.startswith("quarterly-") for f in files)
    payloads = [json.loads(f.read_text()) for f in files]
    assert {p["results"]["implied_previous_counts"][0] for p in payloads} == {1568, 700}
    assert not (tmp_path / "claims" / "executed").exists()  # no kernel without --html


@pytest.mark.parametrize("args,needle", [(["quarterly", "--current", "-5", "--change-pct", "-16.8", "--period",
                                           "2025-Q1"], "--current"),
                                         (["quarterly", "--current", "10", "--change-pct", "-150", "--period",
                                           "2025-Q1"], "--change-pct"),
                                         (["quarterly", "--current", "10", "--change-pct", "-15"], "--period"),
                                         (["quarterly", "--current", "10", "--change-pct", "-15", "--period", "2025",
                                           "--out", ""], "--out"),
                                         # issue 13: refused before anything runs, naming the option
                                         (["quarterly", "--current", "0", "--change-pct", "-16.8", "--previous", "352",
                                           "--period", "2025-Q1"], "--current"),
                                         (["quarterly", "--current", "10", "--change-pct", "-99.99", "--period",
                                           "2025-Q1"], "--change-pct"),
                                         (["ytd", "--year", "2025", "--months", "3", "--count", "0", "--change-pct", "-16.8"], "--count"),
                                         (["ytd", "--year", "2025", "--months", "3", "--count", "293", "--change-pct",
                                           "-16.85"], "--change-pct")])
def test_claim_checker_bad_arguments(args, needle):
    code, _, err = run_claims(*args)
    assert code == 2 and needle in err


def test_seasonal_view_uses_the_year_to_date_model_without_the_two_years_compared():
    from analysis.stats import ytd_model
    from analysis.studies import common, ytd

    r = quarterly.run(quarterly.Params())
    rel = [x for x in common.ministry_releases(first_year=ytd.FIRST_YEAR) if x.year not in (2024, 2025)]
    share = ytd_model.seasonal_share(ytd_model.fit_ytd_model(rel), 3)
    assert r.seasonal.typical_share == pytest.approx(share.estimate, rel=1e-9)
    assert r.seasonal.previous_share == pytest.approx(352 / 1408)
    assert r.seasonal.p_value_vs_expected == pytest.approx(stats.poisson.cdf(293, share.estimate * 1408) * 2, rel=0.2)


@pytest.mark.parametrize("args", [
    ["quarterly", "--current", "9999999", "--change-pct", "-16.8", "--period", "2025-Q1"],
    ["ytd", "--year", "2025", "--months", "3", "--count", "1000000", "--change-pct", "-16.8"],
])
def test_counts_at_the_documented_bound_answer_at_once(args, tmp_path):
    """Issue 13: every count the checker accepts (up to 10^7) gets an answer in about a second, without the
    memory of a grid over the count (exact power switches to the normal approximation above a baseline of 2,000;
    the year-to-date milestones refine by bisection)."""
    code, out, err = run_claims(*args, "--out", str(tmp_path))
    assert code == 0, err
    assert re.match(r"^\[(supported|fragile|not supported|inconsistent|descriptive)\] ", out), out


def test_printed_summary_follows_the_formatting_policy_and_tolerates_a_missing_estimate():
    import dataclasses

    from analysis.core.study import Estimate

    res = run_declared(quarterly)
    rows = (Estimate("not computed here", None, model="none"),
            Estimate("rate ratio", 0.83212, 0.7101, 0.97534, p_value=2.2e-7, model="exact conditional"),
            Estimate("count", 12345.0, 12000.0, None, p_value=0.0217, model="Poisson"))
    text = dataclasses.replace(res, estimates=rows).summary()
    assert "  not computed here: not estimated [none]" in text
    assert "  rate ratio: 0.8321 (0.7101 to 0.9753), p < 0.001 [exact conditional]" in text
    assert "  count: 12,345, p = 0.022 [Poisson]" in text  # a half-open interval is not printed as one
    assert not re.search(r"\de[-+]\d", text)  # never scientific notation
