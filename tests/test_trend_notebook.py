"""The five-year-trend study (notebook 03): its report against independent computations and against the study run
directly, other parameter sets in process, its parameter declaration, one papermill run, and the claim checker."""

import json
import subprocess
import sys

import numpy as np
import papermill as pm
import pytest
import statsmodels.api as sm
from conftest import execute
from scipy import stats

from analysis import data
from analysis.core.params import ParameterError
from analysis.core.paths import NOTEBOOKS_DIR, ROOT
from analysis.studies import trend

NB03 = NOTEBOOKS_DIR / "03_five_year_trend.ipynb"
KEYS03 = {"start_year", "end_year", "start_value", "end_value", "change_pct", "consistent", "p_value_endpoint_exact",
          "p_value_endpoint_overdispersed", "apc", "apc_ci", "p_value_trend", "dispersion", "verdict"}


@pytest.fixture(scope="module")
def t_default(reports):
    return reports.results("03_five_year_trend")


@pytest.fixture(scope="module")
def direct():
    return trend.run(trend.Params())


def _ministry(first=2015, last=2024):
    s = data.national_series("ministry", "injured")
    return s[(s.index >= first) & (s.index <= last)]


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


def test_report_json_equals_the_study_run_directly(t_default, direct):
    assert t_default == json.loads(json.dumps(direct.to_dict()))


def test_rate_measure_does_not_match_in_process():
    r = trend.run(trend.Params(measure="rate"))
    assert r.assessment.measure == "rate" and r.assessment.consistent is False
    assert round(r.assessment.change_pct, 1) == -13.0
    # the implied workers: injured / published rate x 1000 in the end years
    assert r.assessment.start_value == pytest.approx(1503 / (1503 / 0.23 * 1000) * 1000)


@pytest.mark.parametrize("params,name", [({"end_year": 2013}, "end_year"),
                                         ({"years": 1}, "years"),
                                         ({"trend_start": 2021}, "trend_start"),
                                         ({"reported_change_pct": -150}, "reported_change_pct"),
                                         ({"measure": "ratio"}, "measure"),
                                         ({"alpha": 0}, "alpha"),
                                         ({"end_year": "2024"}, "end_year"),
                                         ({"alpah": 0.01}, "alpah")])
def test_bad_parameters_are_named(params, name):
    with pytest.raises(ParameterError) as exc:
        trend.Params.from_mapping(params)
    assert exc.value.name == name and name in str(exc.value)


def test_a_window_without_a_count_is_refused_at_run_naming_the_parameter():
    with pytest.raises(ParameterError) as exc:
        trend.run(trend.Params(end_year=2025, trend_start=2015))
    assert exc.value.name == "end_year" and "2025" in str(exc.value)


@pytest.mark.notebook
def test_notebook_stops_on_a_bad_parameter_and_names_it(tmp_path):
    with pytest.raises(pm.PapermillExecutionError) as exc:
        execute(NB03, tmp_path, end_year=2013)
    assert "end_year" in str(exc.value.evalue) and exc.value.ename == "ParameterError"
    assert not any(tmp_path.rglob("*.json"))  # an ad-hoc run writes no results anywhere


def _claims(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "analysis.claims", "trend", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def test_claim_checker_offers_trend_with_options_from_params():
    proc = _claims("--help")
    assert proc.returncode == 0, proc.stderr
    for spec in trend.Params.specs():
        assert f"--{spec.name.replace('_', '-')}" in proc.stdout
        assert spec.info.help.split()[0] in proc.stdout
    assert "--change-pct" in proc.stdout


def test_claim_checker_refuses_a_window_before_the_series_naming_the_option():
    proc = _claims("--end-year", "2013")
    assert proc.returncode == 2 and "--end-year" in proc.stderr


def test_claim_checker_runs_the_trend_study_in_process(tmp_path):
    proc = _claims("--end-year", "2024", "--years", "5", "--change-pct", "-6.3", "--out", str(tmp_path / "c"),
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "verdict:" in proc.stdout
    (f,) = (tmp_path / "c" / "results").glob("trend-*.json")
    payload = json.loads(f.read_text())
    assert payload["results"]["change_pct"] == pytest.approx(100 * (1408 / 1503 - 1))
    assert not (tmp_path / "c" / "executed").exists()
