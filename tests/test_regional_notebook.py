"""The regional study (notebook 04): the built report against independent computations and against the study run
directly, other parameter sets in-process, parameters refused by name, the data contradiction refused, and one
papermill run of the notebook."""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import run_declared, validate_as_notebook
from scipy import stats
from statsmodels.genmod import families
from statsmodels.genmod.generalized_linear_model import GLM

from analysis import data
from analysis.core.params import ParameterError
from analysis.studies import regional

ROOT = Path(__file__).resolve().parent.parent
NB04 = ROOT / "notebooks" / "04_regional_patterns.ipynb"
FOUR = ["Karaganda", "Kostanay", "East Kazakhstan", "Atyrau"]


@pytest.fixture(scope="module")
def built(reports):
    return reports.results("04_regional_patterns")


def test_report_json_equals_the_study_run_directly(built):
    direct = json.loads(json.dumps(run_declared(regional).to_dict()))
    assert built == direct


def test_report_matches_independent_computations(built):
    r = built["results"]
    assert (r["national_total"], r["n_units"]) == (293, 20)
    units = {x["unit"]: x for x in r["units"]["population"]}
    assert len(units) == 20
    pop = regional.population_exposure("post-2022").set_index("region")["population"]
    named = {"Karaganda": 31, "Kostanay": 27, "East Kazakhstan": 24, "Aktobe": 22, "Atyrau": 22, "Almaty city": 19}
    for name, row in units.items():
        assert row["expected"] == pytest.approx(293 * pop[name] / pop.sum(), rel=1e-12)
        if name in named:
            assert row["low"] == row["high"] == named[name]
    # deaths in data/events.csv: Zhomart mine 7 + shaft No. 57 1 (Ulytau), Bestobe 1 (Akmola), all in Q1 2025
    ev = data.load_events()
    q1 = ev[pd.to_datetime(ev["date"]).between("2025-01-01", "2025-03-31")]
    assert {x["region"]: x["deaths"] for x in r["completions"]["floors"]} == q1.groupby("region")["deaths"].sum().to_dict()
    assert (units["Ulytau"]["low"], units["Ulytau"]["high"]) == (8, 19)
    assert units["Ulytau"]["rank_best"] == units["Ulytau"]["rank_worst"] == 1
    # φ: Pearson χ²/df of a log-linear Poisson GLM on the Ministry's annual counts 2015-2024
    s = data.national_series("ministry", "injured")
    s = s[s.index >= 2015]
    fit = GLM(s.to_numpy(), np.column_stack([np.ones(len(s)), s.index - s.index.min()]),
              family=families.Poisson()).fit()
    assert r["dispersion"]["phi"] == pytest.approx(fit.pearson_chi2 / fit.df_resid, rel=1e-9)
    assert r["dispersion"]["df"] == 8 and r["dispersion"]["phi"] == pytest.approx(1.92, abs=0.005)
    flags = r["flags"]["population"]
    assert flags["poisson"]["holm"]["always"] == FOUR  # "four regions stay after Holm under Poisson"
    assert flags["quasi"]["holm"]["always"] == ["Kostanay", "East Kazakhstan"]  # "two under φ = 1.92"
    assert flags["quasi_t"]["holm"]["always"] == [] and flags["tau2"]["holm"]["always"] == []
    assert r["supported"] == [] and set(FOUR + ["Ulytau"]) <= set(r["fragile"])
    assert built["label"] == "fragile"
    # the key estimate: Kostanay's quasi-Poisson score p-value with the t reference on 8 df
    z = (27 - units["Kostanay"]["expected"]) / np.sqrt(r["dispersion"]["phi"] * units["Kostanay"]["expected"])
    assert built["key_estimate"]["p_value"] == pytest.approx(stats.t.sf(z, 8), rel=1e-9)
    lead = {(x["period"], x["version"]): x["region"] for x in r["leaders"]}
    assert lead[("2024", "pre-2022 borders")] == "East Kazakhstan"  # Abai 101 + East Kazakhstan 124
    assert lead[("2024", "as published")] == "Karaganda"


def test_report_says_which_flags_survive_what(built, reports):
    text = built["verdict"]
    assert "in every completion Karaganda, Kostanay, East Kazakhstan and Atyrau" in text
    assert "in every completion Kostanay and East Kazakhstan" in text
    assert "Ulytau" in built["summary"] and "φ" not in built["summary"] and "p =" not in built["summary"]
    assert built["summary"].count(". ") <= 2
    html = re.sub(r'src="data:[^"]*"', "", reports.html("04_regional_patterns"))
    text = re.sub(r"<[^>]+>", " ", html)
    for bad in ("rank_best", "holm_poisson", "ratio_low", "eb_high", "quasi_t", "analysis.stats"):
        assert bad not in text
    assert not re.search(r"\d(\.\d+)?e[+-]\d", text), "scientific notation in the report"


def test_csv_tables_have_plain_headers(built):
    for name, table in built["tables"].items():
        assert not [c for c in table["columns"] if "_" in c], name


def test_other_release_and_switches_in_process():
    res = regional.run(regional.Params(period="2023-H1"))
    d = json.loads(json.dumps(res.to_dict()))
    assert d["results"]["national_total"] == 640 and "2023-H1" in d["title"]
    assert f"[{d['label']}]" in res.summary() and all(e["estimate"] is not None for e in d["estimates"])
    assert d["results"]["completions"]["floors"] == []  # no recorded deaths in the first half of 2023
    pre = regional.run(regional.Params(period="2021"))
    assert pre.completions.n_units == 17 and dict(zip(pre.floors["region"], pre.floors["deaths"])) == {"Karaganda": 6}
    off = regional.run(regional.Params(death_floors=False))
    t = off.pop.table.set_index("unit")
    assert t.loc["Ulytau", "low"] == 0 and t.loc["Ulytau", "rank_worst"] == 20
    given = regional.run(regional.Params(dispersion=1.0))
    assert given.phi_df is None and "quasi_t" not in given.pop.models
    assert given.pop.flagged("quasi") == FOUR  # with φ = 1 the normal score test flags what the exact test does


def test_impossible_death_count_is_refused(data_copy):
    events = data_copy / "events.csv"
    df = pd.read_csv(events)
    extra = df[df["site"].str.startswith("Zhomart")].assign(site="Hypothetical second mine", deaths=25,
                                                            note="test: more than the smallest named")
    pd.concat([df, extra], ignore_index=True).to_csv(events, index=False)
    with pytest.raises(ValueError, match=r"2025-Q1 release and data/events.csv: floor\['Ulytau'\] = 33 is more than "
                                         r"the smallest published count 19.*impossible"):
        regional.run(regional.Params(), data_dir=data_copy)


@pytest.mark.parametrize("params,name", [({"period": "2031-Q1"}, "period"), ({"alpha": 1.5}, "alpha"),
                                         ({"dispersion": 0.5}, "dispersion"), ({"dispersion": -1.0}, "dispersion"),
                                         ({"death_floors": "yes"}, "death_floors"), ({"alpah": 0.01}, "alpah"),
                                         ({"period": "2020-01..09"}, "period")])
def test_bad_parameters_are_named(params, name):
    with pytest.raises(ParameterError) as exc:
        regional.Params.from_mapping(params)
    assert exc.value.name == name and name in str(exc.value)


@pytest.mark.notebook
def test_notebook_stops_on_a_bad_period_and_names_it():
    with pytest.raises(ParameterError) as exc:
        validate_as_notebook(regional, period="2031-Q1")
    assert "period must be one of" in str(exc.value) and "2031-Q1" in str(exc.value)
