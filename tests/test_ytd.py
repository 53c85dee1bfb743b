"""The year-to-date projection study (notebook 07): the built report against independent computations and the
direct run, other parameter sets in process (the 584 / -16.6% / month 6 / target 9 release that once failed, a past
year, no published percent, an inconsistent percent, nothing to compare with), the Params declaration, the claim
checker, and one papermill run. The model's own statistics are tested in tests/test_ytd_model.py."""

import json
import re

import numpy as np
import pytest
from conftest import run_declared, validate_as_notebook
from scipy import stats

from analysis.core.params import ParameterError
from analysis.core.paths import NOTEBOOKS_DIR
from analysis.reporting import claims
from analysis.stats import ytd_model as ym
from analysis.studies import common, registry, ytd

STEM = "07_year_to_date_projection"
NOTEBOOK = NOTEBOOKS_DIR / f"{STEM}.ipynb"
CASE_584 = {"months": 6, "ytd_count": 584, "ytd_change_pct": -16.6, "target_months": 9}


@pytest.fixture(scope="module")
def built(reports):
    return reports.results(STEM)


@pytest.fixture(scope="module")
def default():
    return run_declared(ytd)


@pytest.fixture(scope="module")
def case_584():
    return ytd.run(ytd.Params(**CASE_584))


# ------------------------------------------------------------------------------------------- the default report
def test_report_json_equals_the_study_run_directly(built, default):
    assert built == json.loads(json.dumps(default.to_dict()))
    assert built["label"] == "not supported"


def test_fit_uses_the_ministry_releases_from_2015_without_the_release_year(default):
    releases = common.ministry_releases(first_year=2015)
    assert default.fit.releases == tuple(r for r in releases if r.year != 2025)
    by = {(r.year, r.last_month): r for r in releases}
    # public when the release they come from appeared: 2024-Q1 from the 2025-Q1 release, 2017 from the 2018 total
    assert by[(2024, 3)].derived and by[(2024, 3)].published_at == pytest.approx(2025 + 3 / 12)
    assert by[(2017, 12)].derived and by[(2017, 12)].published_at == pytest.approx(2019.0)
    assert by[(2021, 4)].published_at == pytest.approx(2021 + 4 / 12) and not by[(2021, 4)].derived


def test_projection_equals_the_closed_form_and_the_change_the_published_total(default):
    pr, fit = default.projection, default.fit
    assert fit.at_boundary  # between-year variation at 0: the remaining months come from the trend level
    s = fit.curve()
    assert pr.estimate == pytest.approx(293 + fit.level(2025) * (1 - s[3]), rel=1e-6)
    assert pr.change.previous_count == 1408 and pr.change.estimate == pytest.approx(100 * (pr.estimate / 1408 - 1))
    assert pr.ci[0] < pr.estimate < pr.ci[1] and pr.change.ci[0] < 0 < pr.change.ci[1]
    assert default.previous.count == 352 and default.previous.source == "derived in the data"
    share = fit.share(3, n_draws=ytd.DRAWS, seed=20250401)
    assert (pr.share_months.estimate, pr.share_months.ci) == (share.estimate, share.ci)
    assert default.shares.loc[3, ["share", "lower", "upper"]].tolist() == [share.estimate, *share.ci]
    assert 0 < pr.shrinkage.estimate < pr.shrinkage.ci[1] < 1


def test_backtest_coverage_counts_independent_years_with_an_exact_interval(default):
    bt = default.backtest
    rows = bt.rows[bt.rows["status"] == "ok"].sort_values(["year", "origin"])
    first = rows.groupby("year")["covered"].first()
    k, n = int(first.sum()), len(first)
    assert (bt.covered_years, bt.n_years) == (k, n) == (5, 6)
    ci = stats.binomtest(k, n).proportion_ci(0.95, method="exact")
    assert bt.ci == pytest.approx((ci.low, ci.high))
    # rolling origin: every fit used only releases public before the release it projected
    for r in rows.itertuples():
        assert int(r.fit_years[-4:]) <= r.year
    assert list(bt.scores["method"]) == ["model", "carried", "uniform"]
    assert default.same_month == (1, 1, ())  # the month-3 release of 2024 (derived) covered


def test_label_text_and_presentation(built, default):
    assert built["headline"].startswith("The early 16.8% drop implies about -4% for the whole of 2025")
    assert "includes no change" in built["headline"]
    assert all(not r["excludes_no_change"] for r in default.sensitivity_rows)
    assert built["results"]["projected_count"] == default.projection.estimate
    assert "1,320" in default.revision_note  # the first edition's headline, and the new one beside it
    fractional_people = re.compile(r"\d{3}\.\d+(?![\d%])")  # 1319.51 (no count of people has decimals)
    arithmetic = re.compile(r"= [\d.]+ ->")  # a derived figure's formula shows its unrounded quotient

    def shown(text):
        return arithmetic.sub("", text)

    for name, t in built["tables"].items():  # plain headers, whole people
        assert all("_" not in c and (c[0].isupper() or c[0].isdigit()) for c in t["columns"]), name
        text = " ".join(str(v) for row in t["rows"] for v in row if isinstance(v, str))
        assert not fractional_people.search(shown(text)), name
    reader = " ".join([built["summary"], built["headline"], built["would_change"], default.data_note,
                       default.backtest_note, default.share_note, default.shrinkage_note])
    assert not fractional_people.search(shown(reader)) and "e+" not in reader and "e-0" not in reader
    assert "φ" not in built["summary"] and "p =" not in built["summary"]


def test_report_shows_verdict_and_backtest_once(reports):
    html = reports.html(STEM)
    assert html.count("Technical verdict") == 1
    assert html.count("The model, release by release") == 1
    assert html.count('alt="Figure') == 4 and "No description has been provided" not in html


# ------------------------------------------------------------------------------------------- other parameter sets
def test_a_release_with_only_its_percent_projects_from_the_derived_count(case_584):
    r = case_584
    prev = r.previous
    assert (prev.count, prev.source, prev.added_to_fit) == (700, "derived from the percent", True)
    assert prev.candidates == (700,)
    added = [q for q in r.fit.releases if (q.year, q.last_month) == (2024, 6)]
    assert added == [ym.Release(2024, 6, 700, True, 2025.5, prev.formula)]
    # the same numbers from the model directly
    rel = tuple(q for q in common.ministry_releases(first_year=2015) if q.year != 2025) + tuple(added)
    fit = ym.fit_ytd_model(rel)
    pr = ym.project_ytd(fit, 2025, 6, 584, 9, previous_ytd=ym.PreviousCount(700.0, True, prev.formula),
                        ytd_change_pct=-16.6, n_draws=ytd.DRAWS, seed=20250401)
    assert (r.projection.estimate, r.projection.ci) == (pr.estimate, pr.ci)
    assert r.projection.change.ci[1] < 0 and r.verdict.label == "supported"
    assert r.same_month[1] == 3 and not r.same_month[2]
    assert [m.target_months for m in r.milestones] == [9, 12]


def test_a_past_year_is_left_out_of_its_fit_and_meets_its_actual_count():
    r = ytd.run(ytd.Params(year=2021, months=7, ytd_count=817, ytd_change_pct=2.4))
    assert 2021 not in r.fit.years and 2022 in r.fit.years
    assert r.actual == 1465 and r.year_counts[9] == 1062
    assert r.previous.source == "published" and r.previous.consistent  # 817 / 798 = +2.38%
    assert r.projection.ci[0] <= 1465 <= r.projection.ci[1] and "1,465" in r.verdict.summary
    assert any("hindsight" in c for c in r.caveats)
    assert "January–July 2021" in r.title


def test_without_a_percent_the_counts_give_the_direction():
    r = ytd.run(ytd.Params(year=2021, months=7, ytd_count=817, ytd_change_pct=None))
    assert r.direction == 1 and r.previous.count == 798 and r.verdict.label == "not supported"
    assert "rise" not in r.title  # no percent was published: the title asks, it does not quote


def test_a_percent_that_contradicts_the_counts_is_inconsistent():
    r = ytd.run(ytd.Params(previous_count=400))
    assert r.verdict.label == "inconsistent" and not r.previous.consistent
    assert r.previous.check.implied_percent == pytest.approx(100 * (293 / 400 - 1))


def test_nothing_to_compare_with_is_descriptive():
    r = ytd.run(ytd.Params(year=2027, months=5, ytd_count=500, ytd_change_pct=None))
    assert r.previous is None and r.direction == 0 and r.verdict.label == "descriptive"
    assert np.isfinite(r.projection.estimate) and r.projection.ci[0] > 500


def test_a_percent_that_contradicts_the_previous_year_is_refused_by_name():
    with pytest.raises(ValueError, match="ytd_change_pct"):
        ytd.run(ytd.Params(months=6, ytd_count=1400, ytd_change_pct=-5.0, target_months=9))


# ------------------------------------------------------------------------------------------- parameters
@pytest.mark.parametrize("values, name", [
    ({"months": 12}, "months"), ({"months": 0}, "months"), ({"target_months": 13}, "target_months"),
    ({"months": 6, "target_months": 6}, "target_months"), ({"ytd_count": -5}, "ytd_count"),
    ({"ytd_count": 10**8}, "ytd_count"), ({"ytd_change_pct": -100}, "ytd_change_pct"),
    ({"previous_count": -1}, "previous_count"), ({"pct_decimals": 5}, "pct_decimals"), ({"alpha": 0}, "alpha"),
    ({"seed": -1}, "seed"), ({"year": 1990}, "year"), ({"months": "3"}, "months"), ({"yaer": 2024}, "yaer")])
def test_bad_parameters_are_named(values, name):
    with pytest.raises(ParameterError) as exc:
        ytd.Params.from_mapping(values)
    assert exc.value.name == name and name in str(exc.value)


# ------------------------------------------------------------------------------------------- the claim checker
def test_claim_checker_options_come_from_params(capsys):
    assert registry.entry("ytd").claim
    with pytest.raises(SystemExit) as exc:
        claims.main(["ytd", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for spec in ytd.Params.specs():
        assert f"--{spec.name.replace('_', '-')}" in out and spec.info.help.split()[0] in out
        assert all(alias in out for alias in spec.info.cli)


def test_claim_checker_refuses_month_13_naming_the_option(capsys, tmp_path):
    with pytest.raises(SystemExit) as exc:
        claims.main(["ytd", "--year", "2025", "--months", "13", "--count", "584", "--change-pct", "-16.6",
                     "--out", str(tmp_path)])
    assert exc.value.code == 2 and "--months" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_claim_checker_answers_the_case_that_once_failed(capsys, tmp_path):
    code = claims.main(["ytd", "--year", "2025", "--months", "6", "--count", "584", "--change-pct", "-16.6",
                        "--target-months", "9", "--out", str(tmp_path)])
    assert code == 0
    out = capsys.readouterr().out
    assert out.startswith("[supported]")
    (path,) = (tmp_path / "results").glob("ytd-2025-*.json")
    payload = json.loads(path.read_text())
    assert payload["results"]["previous_ytd"]["count"] == 700
    assert payload["parameters"] | CASE_584 == payload["parameters"]


# ------------------------------------------------------------------------------------------- the notebook
@pytest.mark.notebook
def test_notebook_stops_on_a_bad_parameter_and_names_it():
    from analysis.studies import ytd as study

    with pytest.raises(ParameterError) as err:
        validate_as_notebook(study, months=13)
    assert err.value.name == "months"
