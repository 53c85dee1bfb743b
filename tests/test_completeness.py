"""Reporting completeness (notebook 09): the ratio's exact interval, the fatal-share trend, the drift arithmetic,
the international data and its sources, and the study against the built report."""

import json
import math
import os
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from conftest import run_declared, validate_as_notebook
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.contingency_tables import Table2x2

from analysis import data
from analysis.core.params import ParameterError
from analysis.core.paths import NOTEBOOKS_DIR, ROOT
from analysis.data import DataError
from analysis.stats import completeness as cs
from analysis.studies import completeness as study

NB09 = NOTEBOOKS_DIR / "09_reporting_completeness.ipynb"
# the maintainer's ledger, beside the main checkout (absent elsewhere; KZ_LEDGER_DIR points at it from a worktree)
LEDGER = Path(os.environ.get("KZ_LEDGER_DIR", ROOT.parent / "shared" / "data"))
MINISTRY = {2016: (248, 1683), 2017: (244, 1679), 2018: (220, 1568), 2019: (180, 1430), 2020: (208, 1503),
            2021: (200, 1465), 2022: (203, 1465), 2024: (202, 1408)}  # (deaths, injured incl. deaths)


# ------------------------------------------------------------------------------------------------ the interval
@pytest.mark.parametrize("fatal,total,alpha", [(202, 1408, 0.05), (40, 293, 0.05), (3286, 2973286, 0.05),
                                               (81, 192, 0.1), (1, 5, 0.01), (0, 12, 0.05), (12, 12, 0.05)])
def test_ratio_interval_is_the_mapped_clopper_pearson_interval_of_scipy(fatal, total, alpha):
    r = cs.fatal_share(fatal, total, alpha)
    ci = stats.binomtest(fatal, total).proportion_ci(1 - alpha, method="exact")
    assert r.estimate == fatal / total
    assert r.ci == pytest.approx((ci.low, ci.high), rel=1e-9, abs=1e-15)
    lo_ratio = (1 - ci.high) / ci.high
    hi_ratio = math.inf if ci.low == 0 else (1 - ci.low) / ci.low
    assert r.ratio_ci[0] == pytest.approx(lo_ratio, rel=1e-9, abs=1e-12)
    assert r.ratio_ci[1] == pytest.approx(hi_ratio, rel=1e-9)
    if fatal:
        assert r.ratio == (total - fatal) / fatal


def test_kazakhstan_2024_published_figures():
    """Ministry 2024: 1,408 injured, 202 of them killed -> about seven injured and six non-fatal per death."""
    r = cs.fatal_share(202, 1408)
    assert 1408 / 202 == pytest.approx(6.97, abs=0.005) and r.ratio == pytest.approx(5.97, abs=0.005)
    assert r.ratio_ci == pytest.approx((5.1397, 6.9644), abs=1e-4)
    assert "1,408" in r.verdict and "5.97" in r.verdict


@given(f=st.integers(1, 400), m=st.integers(0, 4000), alpha=st.sampled_from([0.01, 0.05, 0.2]))
def test_ratio_interval_contains_the_estimate_and_is_monotone_in_the_counts(f, m, alpha):
    r = cs.fatal_share(f, f + m, alpha)
    assert r.ratio_ci[0] <= r.ratio <= r.ratio_ci[1]
    assert r.ci[0] <= r.estimate <= r.ci[1]
    more_nonfatal = cs.fatal_share(f, f + m + 1, alpha)  # one more non-fatal injury: the ratio and its limits rise
    assert more_nonfatal.ratio > r.ratio
    assert more_nonfatal.ratio_ci[0] > r.ratio_ci[0] and more_nonfatal.ratio_ci[1] > r.ratio_ci[1]
    more_deaths = cs.fatal_share(f + 1, f + 1 + m, alpha)  # one more death, same non-fatal count: they fall
    assert more_deaths.ratio <= r.ratio
    assert more_deaths.ratio_ci[0] <= r.ratio_ci[0] and more_deaths.ratio_ci[1] < r.ratio_ci[1]
    assert cs.fatal_share(f, f + m, alpha / 2).ratio_ci[0] <= r.ratio_ci[0]  # a higher level widens it


def test_ratio_interval_coverage_in_a_seeded_simulation():
    """Clopper–Pearson is conservative: coverage at least 95%. 4,000 draws per setting, so the Monte Carlo standard
    error of a coverage near 0.95 is 0.0034; the tolerance 0.01 is three of them."""
    rng = np.random.default_rng(20250401)
    for n, s in ((1408, 0.143), (293, 0.137), (192, 0.42), (60, 0.05)):
        true_ratio = (1 - s) / s
        draws = rng.binomial(n, s, size=4000)
        cover = {}
        for f in np.unique(draws):
            lo, hi = cs.fatal_share(int(f), n).ratio_ci
            cover[f] = lo <= true_ratio <= hi
        coverage = np.mean([cover[f] for f in draws])
        assert coverage >= 0.95 - 0.01, (n, s, coverage)


@pytest.mark.parametrize("args,name", [((-1, 10), "fatal"), ((11, 10), "fatal"), ((0, 0), "total"),
                                       ((2.5, 10), "fatal"), ((1, 10, 1.5), "alpha")])
def test_fatal_share_bad_input_is_named(args, name):
    with pytest.raises(ValueError, match=name):
        cs.fatal_share(*args)


# ------------------------------------------------------------------------------------------------ the trend
def _long_format(fatal, total, years):
    """One row per registered person: died (0/1) and the centred year: an independent route to the same fit."""
    rows = [(y, 1) for f, n, y in zip(fatal, total, years) for _ in range(f)]
    rows += [(y, 0) for f, n, y in zip(fatal, total, years) for _ in range(n - f)]
    df = pd.DataFrame(rows, columns=["year", "died"])
    return df["died"].to_numpy(), sm.add_constant(df["year"].to_numpy() - np.mean(years))


def test_trend_matches_a_hand_built_statsmodels_logit_and_the_pearson_dispersion():
    years = sorted(MINISTRY)
    fatal = [MINISTRY[y][0] for y in years]
    total = [MINISTRY[y][1] for y in years]
    t = cs.share_trend(fatal, total, years)
    endog, exog = _long_format(fatal, total, years)
    logit = sm.Logit(endog, exog).fit(disp=0)
    assert t.beta == pytest.approx(logit.params[1], rel=1e-6)
    assert t.se_binomial == pytest.approx(logit.bse[1], rel=1e-5)
    assert t.p_value_binomial == pytest.approx(logit.pvalues[1], rel=1e-4)
    # Pearson dispersion by hand from the fitted shares
    f, n = np.array(fatal), np.array(total)
    p = np.array(t.fitted)
    phi = np.sum((f - n * p) ** 2 / (n * p * (1 - p))) / (len(years) - 2)
    assert t.dispersion == pytest.approx(phi, rel=1e-8)
    # quasi-binomial: SE * sqrt(phi), Student t on the residual df; the ratio moves as exp(-beta)
    crit = stats.t.ppf(0.975, len(years) - 2)
    se_q = logit.bse[1] * math.sqrt(phi)
    assert t.ci_quasi == pytest.approx((100 * math.expm1(-(logit.params[1] + crit * se_q)),
                                        100 * math.expm1(-(logit.params[1] - crit * se_q))), rel=1e-5)
    z = stats.norm.ppf(0.975)
    assert t.ci_binomial == pytest.approx((100 * math.expm1(-(logit.params[1] + z * logit.bse[1])),
                                           100 * math.expm1(-(logit.params[1] - z * logit.bse[1]))), rel=1e-5)
    assert t.estimate == pytest.approx(100 * math.expm1(-logit.params[1]), rel=1e-6)
    # the Ministry's years are under-dispersed: the binomial fit is used (never a narrower interval)
    assert phi < 1 and t.model == "binomial" and t.ci == t.ci_binomial


def test_trend_uses_the_quasi_binomial_fit_when_the_years_are_over_dispersed():
    years = list(range(2015, 2023))
    fatal = [150, 260, 190, 240, 170, 255, 180, 230]
    total = [1500] * 8
    t = cs.share_trend(fatal, total, years)
    assert t.dispersion > 1 and t.model == "quasi-binomial" and t.ci == t.ci_quasi
    # statsmodels' quasi-binomial: proportions with var_weights = n and the Pearson scale (with a two-column
    # endog, statsmodels 0.15 reports that scale divided by n, so the module takes φ from pearson_chi2 itself)
    glm = sm.GLM(np.divide(fatal, total), sm.add_constant(np.array(years) - np.mean(years)),
                 family=sm.families.Binomial(), var_weights=np.array(total)).fit(scale="X2")
    assert t.dispersion == pytest.approx(glm.scale, rel=1e-8)
    assert t.se_quasi == pytest.approx(glm.bse[1], rel=1e-8)
    assert t.ci[1] - t.ci[0] > t.ci_binomial[1] - t.ci_binomial[0]
    band = t.predict([2015, 2022])
    assert (band["ratio_low"] < band["ratio"]).all() and (band["ratio"] < band["ratio_high"]).all()
    assert band["share"].to_numpy() == pytest.approx(np.array(t.fitted)[[0, -1]], rel=1e-8)


def test_trend_interval_coverage_in_seeded_simulations():
    """Binomial years: the binomial interval covers about 95%; beta-binomial years (φ about 2.5): the quasi-binomial
    interval still does, the binomial one does not. 200 replicates: Monte Carlo SE about 0.015; tolerance 0.045."""
    rng = np.random.default_rng(9)
    years = np.arange(2016, 2024)
    n = np.full(8, 1500)
    beta = -0.02
    p = 1 / (1 + np.exp(-(math.log(0.14 / 0.86) + beta * (years - years.mean()))))
    true = 100 * math.expm1(-beta)
    rho = 0.001  # intra-year correlation: φ = 1 + (n - 1) ρ ≈ 2.5
    hits = {"binomial": 0, "quasi": 0, "binomial_over": 0}
    reps = 200
    for _ in range(reps):
        t = cs.share_trend(rng.binomial(n, p), n, years)
        hits["binomial"] += t.ci_binomial[0] <= true <= t.ci_binomial[1]
        q = rng.beta(p * (1 - rho) / rho, (1 - p) * (1 - rho) / rho)
        t = cs.share_trend(rng.binomial(n, q), n, years)
        hits["quasi"] += t.ci_quasi[0] <= true <= t.ci_quasi[1]
        hits["binomial_over"] += t.ci_binomial[0] <= true <= t.ci_binomial[1]
    assert abs(hits["binomial"] / reps - 0.95) < 0.045
    assert abs(hits["quasi"] / reps - 0.95) < 0.045
    assert hits["binomial_over"] / reps < 0.9  # ignoring the dispersion under-covers


@pytest.mark.parametrize("kw,name", [({"years": [2020, 2021]}, "years"), ({"years": [2020, 2020, 2021]}, "years"),
                                     ({"fatal": [1, 2]}, "same length"), ({"fatal": [5, 500, 5]}, "fatal"),
                                     ({"alpha": 0}, "alpha")])
def test_trend_bad_input_is_named(kw, name):
    args = {"fatal": [5, 6, 7], "total": [50, 60, 70], "years": [2020, 2021, 2022], **kw}
    if "years" in kw and "fatal" not in kw:
        args["fatal"], args["total"] = args["fatal"][:len(kw["years"])], args["total"][:len(kw["years"])]
    with pytest.raises(ValueError, match=name):
        cs.share_trend(**args)


# ------------------------------------------------------------------------------------------------ two periods
def test_ratio_change_against_statsmodels_and_fisher():
    r = cs.ratio_change(208, 1503, 202, 1408)
    sample = (1206 / 202) / (1295 / 208)
    assert r.estimate == pytest.approx(100 * (sample - 1), rel=1e-12)
    table = np.array([[1206, 202], [1295, 208]])
    woolf = Table2x2(table).oddsratio_confint()  # asymptotic; the exact interval is a little wider here
    assert r.ci[0] == pytest.approx(100 * (woolf[0] - 1), abs=1.5)
    assert r.ci[1] == pytest.approx(100 * (woolf[1] - 1), abs=1.5)
    assert r.ci[0] < r.estimate < r.ci[1]
    assert r.p_value == pytest.approx(stats.fisher_exact(table).pvalue, rel=1e-12)


# ------------------------------------------------------------------------------------------------ the drift
def test_drift_change_is_what_recounting_the_register_gives():
    """A register with F deaths and N non-fatal injuries, whose non-fatal completeness drifts by d a year for k
    years while the true injuries stay the same, changes by (1 - s0)((1 + d)^k - 1)."""
    F, N = 208, 1295
    for d, k in ((-0.015, 4), (0.02, 1), (-0.19, 1)):
        recounted = F + N * (1 + d) ** k
        assert cs.drift_change(100 * d, k, F / (F + N)) == pytest.approx(100 * (recounted / (F + N) - 1), rel=1e-12)


@given(c=st.floats(-60, 30).filter(lambda v: abs(v) > 0.01), k=st.sampled_from([1, 2, 4, 5]),
       s0=st.floats(0.01, 0.6))
def test_break_even_drift_inverts_the_drift_change(c, k, s0):
    be = cs.break_even_drift(c, k, s0)
    if 1 + c / 100 / (1 - s0) <= 0:
        assert be is None  # more than the whole non-fatal count would have to vanish
    else:
        assert cs.drift_change(be, k, s0) == pytest.approx(c, rel=1e-9, abs=1e-9)


def test_drift_sensitivity_bound_and_labels():
    s = cs.drift_sensitivity("five-year", -6.3, 4, 208 / 1503, 0.5, (-1.5, 2.6))
    assert s.bound.drift_pct_per_year == -1.5 and "lower" in s.bound.name
    assert s.bound.share_explained_pct == pytest.approx(100 * cs.drift_change(-1.5, 4, 208 / 1503) / -6.3)
    assert not s.explained_by_bound
    assert cs.drift_sensitivity("x", -6.3, 4, 208 / 1503, 0.5, (-2.5, 2.6)).explained_by_bound
    rise = cs.drift_sensitivity("x", 8.0, 2, 0.1, 0.0, (-1.0, 5.0))
    assert rise.bound.drift_pct_per_year == 5.0 and "upper" in rise.bound.name and rise.explained_by_bound
    with pytest.raises(ValueError, match="claimed_change_pct"):
        cs.drift_sensitivity("x", 0, 4, 0.1, 0.0, (-1, 1))


# ------------------------------------------------------------------------------------------------ the data
def _digits(quote: str) -> str:
    """The quote with thousands separators between digits removed (1,408 / 1 408 / 1.698 -> 1408 / 1698)."""
    return re.sub(r"(?<=\d)[\s\u00a0,.](?=\d{3}\b)", "", quote)


def test_every_international_row_has_a_source_with_url_and_a_quote_holding_its_figure():
    intl = data.load_international()
    sources = data.load_sources().set_index("source_id")
    assert len(intl) >= 60 and intl["source_id"].is_unique
    for _, r in intl.iterrows():
        src = sources.loc[r["source_id"]]
        assert re.match(r"^https?://\S+$", src["url"]), r["source_id"]
        assert len(src["quote"]) > 20 and "\n" not in src["quote"], r["source_id"]
        assert src["ledger_file"] == "international_facts.csv" and f"I{src['ledger_line']}" == r["source_id"]
        if r["metric"] == "definition" or pd.isna(r["value"]):
            continue
        q = _digits(src["quote"])
        for v in [r["value"], *([] if pd.isna(r["value_high"]) else [r["value_high"]])]:
            spelled = {f"{v:g}", f"{v:g}".replace(".", ","), *([str(int(v))] if float(v).is_integer() else []),
                       *([f"{v / 1e6:g} million"] if v >= 1e6 else [])}
            assert any(x in q for x in spelled), f"{r['source_id']}: {v:g} not in its quote {src['quote']!r}"


def test_international_definitions_are_stated_for_every_count():
    intl = data.load_international()
    counts = intl[intl["metric"].str.startswith("nonfatal_injuries")]
    assert counts["deaths_in_count"].isin(["yes", "no", "not stated"]).all()
    assert set(intl.loc[intl["register"] == "ESAW", "absence_threshold"]) == {"more than 3 calendar days"}
    assert "employees only" in intl.loc[intl["register"] == "RIDDOR", "self_employed"].iloc[0]
    kz = intl[intl["comparator"] == "kazakhstan"]
    assert kz["absence_threshold"].tolist() == ["one workday"]


@pytest.mark.parametrize("column,value,problem", [("value", "-5", "greater_than_or_equal_to"),
                                                  ("value", "many", "not a plain decimal number"),
                                                  ("metric", "injuries", "isin"),
                                                  ("source_id", "I99999", "does not exist"),
                                                  ("deaths_in_count", "", "deaths_in_count")])
def test_a_bad_international_file_names_file_line_and_column(data_copy, column, value, problem):
    path = data_copy / "international.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    i = int(np.flatnonzero(df["metric"] == "nonfatal_injuries")[3])
    df.loc[i, column] = value
    df.to_csv(path, index=False)
    with pytest.raises(DataError) as exc:
        data.load_international(data_copy)
    e = exc.value
    assert e.file.endswith("international.csv") and e.line == i + 2 and e.column == column
    assert problem in str(e)


def test_two_preferred_counts_for_one_figure_are_refused(data_copy):
    path = data_copy / "international.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.loc[df["preferred"] == "false", "preferred"] = "true"
    df.to_csv(path, index=False)
    with pytest.raises(DataError, match="exactly one preferred row"):
        data.load_international(data_copy)


@pytest.mark.skipif(not (LEDGER / "international_facts.csv").exists(), reason="the shared ledger is not beside "
                                                                               "this checkout")
def test_curation_reproduces_the_international_file_and_its_sources(tmp_path):
    sys.path.insert(0, str(ROOT / "scripts"))
    import curate_ledger

    shutil.copy(ROOT / "data" / "sources.csv", tmp_path / "sources.csv")
    curate_ledger.curate_international(LEDGER, tmp_path)
    assert (tmp_path / "international.csv").read_text(encoding="utf-8") == \
        (ROOT / "data" / "international.csv").read_text(encoding="utf-8")
    assert (tmp_path / "sources.csv").read_text(encoding="utf-8") == \
        (ROOT / "data" / "sources.csv").read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------------ the study
@pytest.fixture(scope="module")
def built(reports):
    return reports.results("09_reporting_completeness")


def test_report_json_equals_the_study_run_directly(built):
    direct = json.loads(json.dumps(run_declared(study).to_dict()))
    assert built == direct


def test_report_against_independent_computations(built):
    res = built["results"]
    ratios = pd.DataFrame(res["ratios"])
    m24 = ratios[(ratios["system"] == "ministry") & (ratios["year"] == 2024)].iloc[0]
    ci = stats.binomtest(202, 1408).proportion_ci(0.95, method="exact")
    assert (m24["total"], m24["fatal"]) == (1408, 202)
    assert m24["ratio_low"] == pytest.approx((1 - ci.high) / ci.high, rel=1e-9)
    assert m24["ratio_high"] == pytest.approx((1 - ci.low) / ci.low, rel=1e-9)
    years = sorted(MINISTRY)
    endog, exog = _long_format([MINISTRY[y][0] for y in years], [MINISTRY[y][1] for y in years], years)
    beta = sm.Logit(endog, exog).fit(disp=0).params[1]
    key = built["key_estimate"]
    assert key["estimate"] == pytest.approx(100 * math.expm1(-beta), rel=1e-6)
    assert res["trends"]["ministry"]["years"] == years
    claims = {c["name"]: c for c in res["claims"]}
    assert claims["Q1 2025 drop"]["change_pct"] == -16.8 and claims["Q1 2025 drop"]["source_id"] == "F213"
    assert claims["Five-year decline"]["change_pct"] == -6.3 and claims["Five-year decline"]["span_years"] == 4
    five = {s["claim"]: s for s in res["sensitivity"]}["Five-year decline"]
    s0 = 208 / 1503
    assert five["break_even_pct_per_year"] == pytest.approx(100 * ((1 - 0.063 / (1 - s0)) ** 0.25 - 1), rel=1e-9)
    # the label follows the rule: fragile when some defensible trend's limit explains all of a claim
    limits = res["explained_at_limits"]
    assert built["label"] == ("fragile" if any(v >= 100 for c in limits.values() for v in c.values())
                              else "supported")
    assert built["label"] == "fragile" and max(limits["Q1 2025 drop"].values()) < 100
    intl = pd.DataFrame(res["international_ratios"])
    eu = intl[(intl["comparator"] == "eu") & (intl["period"] == "2022")].iloc[0]
    assert eu["ratio"] == pytest.approx(2_970_000 / 3286) and round(eu["ratio"]) == 904  # Eurostat states ~905


def test_built_report_shows_figures_with_alt_text_and_the_verdict(reports, built):
    html = reports.html("09_reporting_completeness")
    assert html.count('alt="Figure ') == 3
    assert "fragile" in html and "Not found." in html
    assert built["title"] == "Fewer injuries, or fewer recorded? Registration completeness to 2024"
    assert set(built["tables"]) == {"ratios", "trends", "international", "definitions", "rates", "stated_ratios",
                                    "sensitivity"}
    for table in built["tables"].values():
        assert not [c for c in table["columns"] if re.fullmatch(r"[a-z]+(_[a-z]+)+", c)], table["columns"]


def test_too_few_years_is_descriptive():
    r = study.run(study.Params(end_year=2017))
    assert r.verdict.label == "descriptive" and r.trends["ministry"] is None and r.sensitivity == ()
    assert "2017" in r.title and "trend" in r.verdict.headline


def test_comparators_choose_the_international_rows():
    r = study.run(study.Params(comparators=["kyrgyzstan"]))
    assert set(r.international["comparator"]) == {"kazakhstan", "kyrgyzstan"}
    assert "EU" not in r.verdict.summary  # the EU ratio is quoted only when the EU is shown
    assert any("Kyrgyzstan: no fatal rate" in x for x in r.not_sourced)
    none = study.run(study.Params(comparators=[]))
    assert set(none.international["comparator"]) == {"kazakhstan"}


def test_alpha_widens_every_interval():
    a, b = study.run(study.Params(alpha=0.05)), study.run(study.Params(alpha=0.01))
    assert b.trends["ministry"].ci[0] < a.trends["ministry"].ci[0]
    assert (b.series["ratio_low"] < a.series["ratio_low"]).all()


@pytest.mark.parametrize("params,name", [({"end_year": 2007}, "end_year"), ({"end_year": "2024"}, "end_year"),
                                         ({"comparators": ["mars"]}, "comparators"),
                                         ({"comparators": ["eu", "eu"]}, "comparators"),
                                         ({"alpha": 1.5}, "alpha"), ({"alpah": 0.01}, "alpah")])
def test_bad_parameters_are_named(params, name):
    with pytest.raises(ParameterError) as exc:
        study.Params.from_mapping(params)
    assert exc.value.name == name and name in str(exc.value)


def test_a_comparator_missing_from_the_data_is_named(data_copy):
    path = data_copy / "international.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df[df["comparator"] != "world"].to_csv(path, index=False)
    with pytest.raises(ParameterError) as exc:
        study.run(study.Params(comparators=["world"]), data_dir=data_copy)
    assert exc.value.name == "comparators" and "world" in str(exc.value)


def test_notebook_stops_on_a_bad_parameter_and_names_it():
    from analysis.studies import completeness as study

    with pytest.raises(ParameterError) as exc:
        validate_as_notebook(study, comparators=["mars"])
    assert exc.value.name == "comparators" and "comparators" in str(exc.value)
