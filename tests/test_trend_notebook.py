"""The five-year-trend notebook (03), executed end to end.

Values in each notebook's JSON are checked against independent computations (scipy, statsmodels) and against
the analysis functions called directly."""


import numpy as np
import papermill as pm
import pytest
import statsmodels.api as sm
from conftest import execute
from scipy import stats

from analysis import data
from analysis.core.paths import NOTEBOOKS_DIR

pytestmark = pytest.mark.notebook
NB02 = NOTEBOOKS_DIR / "02_quarterly_change.ipynb"
NB03 = NOTEBOOKS_DIR / "03_five_year_trend.ipynb"
KEYS02 = {"implied_previous_counts", "previous_count", "consistent", "rate_ratio", "rate_ratio_ci", "p_value_exact",
          "p_value_midp", "p_value_overdispersed", "dispersion", "dispersion_to_lose_significance",
          "min_detectable_ratio", "verdict"}
KEYS03 = {"start_year", "end_year", "start_value", "end_value", "change_pct", "consistent", "p_value_endpoint_exact",
          "p_value_endpoint_overdispersed", "apc", "apc_ci", "p_value_trend", "dispersion", "verdict"}


def run(nb, tmp_path, **params):
    return execute(nb, tmp_path, **params)


@pytest.fixture(scope="module")
def t_default(reports):
    return reports.results("03_five_year_trend")


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
