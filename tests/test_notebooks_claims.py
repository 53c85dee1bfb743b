"""The claim notebooks (02, 03) and the claim checker, executed end to end with papermill.

Values in each notebook's JSON are checked against independent computations (scipy, statsmodels) and against
the analysis functions called directly."""

import json
import subprocess
import sys

import numpy as np
import papermill as pm
import pytest
import statsmodels.api as sm
from scipy import stats

from analysis import data
from analysis.core.paths import NOTEBOOKS_DIR, ROOT
from analysis.stats import assess, power

pytestmark = pytest.mark.notebook
NB02 = NOTEBOOKS_DIR / "02_quarterly_change.ipynb"
NB03 = NOTEBOOKS_DIR / "03_five_year_trend.ipynb"
KEYS02 = {"implied_previous_counts", "previous_count", "consistent", "rate_ratio", "rate_ratio_ci", "p_value_exact",
          "p_value_midp", "p_value_overdispersed", "dispersion", "dispersion_to_lose_significance",
          "min_detectable_ratio", "verdict"}
KEYS03 = {"start_year", "end_year", "start_value", "end_value", "change_pct", "consistent", "p_value_endpoint_exact",
          "p_value_endpoint_overdispersed", "apc", "apc_ci", "p_value_trend", "dispersion", "verdict"}


def run(nb, tmp_path, **params):
    out = tmp_path / "results"
    pm.execute_notebook(str(nb), str(tmp_path / "out.ipynb"), parameters={**params, "results_dir": str(out)},
                        kernel_name="kz-injuries", progress_bar=False, cwd=str(tmp_path))
    return json.loads((out / f"{nb.stem}.json").read_text())


@pytest.fixture(scope="module")
def q_default(tmp_path_factory):
    return run(NB02, tmp_path_factory.mktemp("q"))


def test_quarterly_defaults_match_independent_computation(q_default):
    r = q_default["results"]
    assert KEYS02 <= set(r)
    assert r["implied_previous_counts"] == [352] and r["previous_count"] == 352 and r["consistent"] is True
    assert r["p_value_exact"] == pytest.approx(stats.binomtest(293, 293 + 352, 0.5).pvalue, abs=1e-10)
    assert r["p_value_exact"] == pytest.approx(0.0223, abs=5e-5)
    ci = stats.binomtest(293, 645, 0.5).proportion_ci(0.95, method="exact")
    assert r["rate_ratio_ci"] == pytest.approx([ci.low / (1 - ci.low), ci.high / (1 - ci.high)], rel=1e-8)
    assert r["min_detectable_ratio"] == pytest.approx(power.minimum_detectable_ratio(352).estimate, rel=1e-9)
    # the dispersion flip point solves (z/z_crit)^2 for the score statistic
    z = (293 - 352) / np.sqrt(645)
    assert r["dispersion_to_lose_significance"] == pytest.approx((z / stats.norm.ppf(0.975)) ** 2, rel=1e-6)
    assert r["p_value_overdispersed"] > r["p_value_exact"]
    assert "derived" in q_default["verdict"]


def test_quarterly_json_equals_direct_analysis_call(q_default):
    s = data.national_series("ministry", "injured")
    s = s[s.index >= 2015]
    direct = assess.assess_change(293, -16.8, annual_counts=s.to_numpy(), annual_years=s.index.to_numpy())
    d = direct.to_dict()
    for k in KEYS02 - {"verdict"}:
        assert q_default["results"][k] == pytest.approx(d[k]) if isinstance(d[k], float) else q_default["results"][k] == d[k]
    assert q_default["verdict"] == direct.verdict


def test_quarterly_deaths_leave_event_out(q_default):
    deaths = q_default["results"]["deaths"]
    assert deaths["deaths"] == 40 and deaths["event_deaths"] == 7
    expected = stats.binomtest(33, 33 + 202, 0.25 / 1.25).pvalue
    assert deaths["without_event"]["p_value"] == pytest.approx(expected, rel=1e-9)


def test_2019_deaths_claim_is_inconsistent(tmp_path):
    out = run(NB02, tmp_path, current_count=180, reported_change_pct=-17.6, previous_count=220,
              current_label="2019", previous_label="2018", show_deaths=False, period_months=12)
    assert out["results"]["consistent"] is False
    assert out["results"]["consistency"]["implied_percent"] == pytest.approx(100 * (180 / 220 - 1))
    assert "INCONSISTENT" in out["verdict"] or "NOT match" in out["verdict"]


def test_2019_injuries_back_calculation(tmp_path):
    out = run(NB02, tmp_path, current_count=1430, reported_change_pct=-8.8, current_label="2019",
              previous_label="2018", show_deaths=False, period_months=12)
    assert out["results"]["implied_previous_counts"] == [1568]
    assert out["results"]["p_value_exact"] == pytest.approx(stats.binomtest(1430, 2998, 0.5).pvalue, rel=1e-9)


@pytest.mark.parametrize("params,name", [({"current_count": -5}, "current_count"),
                                         ({"reported_change_pct": -150}, "reported_change_pct"),
                                         ({"current_count": "many"}, "current_count"),
                                         ({"alpha": 1.5}, "alpha")])
def test_quarterly_bad_parameters_named(tmp_path, params, name):
    with pytest.raises(pm.PapermillExecutionError) as exc:
        run(NB02, tmp_path, **params)
    assert name in str(exc.value.evalue) and exc.value.ename == "ValueError"
    assert not (tmp_path / "results").exists()


@pytest.fixture(scope="module")
def t_default(tmp_path_factory):
    return run(NB03, tmp_path_factory.mktemp("t"))


def test_trend_defaults_match_independent_computation(t_default):
    r = t_default["results"]
    assert KEYS03 <= set(r)
    assert (r["start_year"], r["end_year"], r["start_value"], r["end_value"]) == (2020, 2024, 1503, 1408)
    assert round(r["change_pct"], 1) == -6.3 and r["consistent"] is True
    assert r["p_value_endpoint_exact"] == pytest.approx(stats.binomtest(1408, 2911, 0.5).pvalue, rel=1e-9)
    # independent quasi-Poisson GLM on 2015-2024
    s = data.national_series("ministry", "injured")
    s = s[(s.index >= 2015) & (s.index <= 2024)]
    X = sm.add_constant(s.index.to_numpy(dtype=float) - 2015)
    fit = sm.GLM(s.to_numpy(), X, family=sm.families.Poisson()).fit(scale="X2")
    assert r["apc"] == pytest.approx(100 * np.expm1(fit.params[1]), rel=1e-6)
    assert r["dispersion"] == pytest.approx(fit.scale, rel=1e-6)
    assert r["trend_fitted"] == pytest.approx(list(fit.mu), rel=1e-6)
    assert r["rate_change_range"][1] < -6.3  # the Ministry's rate coefficient cannot give -6.3%


def test_trend_rate_measure_does_not_match(tmp_path):
    out = run(NB03, tmp_path, measure="rate")
    assert out["results"]["measure"] == "rate" and out["results"]["consistent"] is False
    assert round(out["results"]["change_pct"], 1) == -13.0


def test_trend_bad_end_year_named(tmp_path):
    with pytest.raises(pm.PapermillExecutionError) as exc:
        run(NB03, tmp_path, end_year=2013)
    assert "end_year" in str(exc.value.evalue)


def test_claim_checker_end_to_end(tmp_path):
    cmd = [sys.executable, "-m", "analysis.claims", "quarterly", "--current", "1430", "--change-pct", "-8.8",
           "--labels", "2019", "2018", "--period-months", "12", "--out", str(tmp_path / "claims")]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "verdict:" in proc.stdout
    res = json.loads((tmp_path / "claims" / "results" / "claim_quarterly.json").read_text())
    assert res["results"]["implied_previous_counts"] == [1568]
    html = (tmp_path / "claims" / "claim_quarterly.html").read_text()
    assert "1568" in html and "params.check_quarterly" not in html  # code cells hidden


@pytest.mark.parametrize("args,needle", [(["quarterly", "--current", "-5", "--change-pct", "-16.8"], "--current"),
                                         (["quarterly", "--current", "10", "--change-pct", "-150"], "--change-pct"),
                                         (["trend", "--change-pct", "-6.3", "--end-year", "2013"], "end_year"),
                                         (["ytd", "--year", "2025", "--months", "13", "--count", "5",
                                           "--change-pct", "1"], "--months")])
def test_claim_checker_bad_arguments(args, needle):
    proc = subprocess.run([sys.executable, "-m", "analysis.claims", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 2 and needle in proc.stderr
    assert "running" not in proc.stdout  # refused before any kernel starts
