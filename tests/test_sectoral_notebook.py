"""The sectoral study (notebook 05): the built report against a direct run and against independent computations
(rounding rules by brute force over every count, φ from the history by hand, the Korn-Graubard interval through
statsmodels), other periods and rounding rules in-process, the verdict labels, the parameter declaration, and one
papermill run of a bad parameter."""

import csv
import json
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

import numpy as np
import pytest
from conftest import run_declared, validate_as_notebook
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from analysis import data
from analysis.core.params import ParameterError
from analysis.core.paths import NOTEBOOKS_DIR
from analysis.core.study import sentences
from analysis.studies import sectoral

NB05 = NOTEBOOKS_DIR / "05_sectoral_patterns.ipynb"
MODES = {"round-half": (ROUND_HALF_UP, ROUND_HALF_EVEN), "truncate": (ROUND_DOWN,)}


@pytest.fixture(scope="module")
def s_default(reports):
    return reports.results("05_sectoral_patterns")


@pytest.fixture(scope="module")
def default_run():
    return run_declared(sectoral)


def test_report_json_equals_the_study_run_directly(s_default, default_run):
    assert s_default == json.loads(json.dumps(default_run.to_dict()))
    assert s_default["label"] == "fragile"
    assert set(s_default["tables"]) == {"sector_counts", "rounding_rules", "denominators", "relative_risk",
                                        "sector_verdicts", "history", "history_tests"}
    for t in s_default["tables"].values():  # plain-English headers
        assert all("_" not in c for c in t["columns"])


def _brute(share: str, total: int, rule: str) -> list[int]:
    d = Decimal(share)
    q = Decimal(1).scaleb(d.as_tuple().exponent)
    return [k for k in range(total + 1)
            if any((Decimal(100 * k) / Decimal(total)).quantize(q, rounding=m) == d for m in MODES[rule])]


def _ministry_figures():
    """(period, sector, share text, count) of every Ministry share in data/sectoral.csv, read as text."""
    rows = list(csv.DictReader(open(data.DATA_DIR / "sectoral.csv", encoding="utf-8")))
    counts = {(r["period"], r["sector"]): int(r["value"]) for r in rows
              if r["system"] == "ministry" and r["measure"] == "injured"}
    return [(r["period"], r["sector"], r["value"], counts.get((r["period"], r["sector"]))) for r in rows
            if r["system"] == "ministry" and r["measure"] == "share_pct"]


def test_rule_each_release_supports_matches_brute_force(s_default):
    figs = _ministry_figures()
    fits = {}
    for period, _, share, count in figs:
        total = data.national_total(period)
        for rule in MODES:
            ks = _brute(share, total, rule)
            ok = bool(ks) if count is None else count in ks
            fits[(period, rule)] = fits.get((period, rule), True) and ok
    got = {r["period"]: r for r in s_default["results"]["rule_evidence"]}
    for period in {f[0] for f in figs}:
        assert got[period]["round_half_fits"] == fits[(period, "round-half")], period
        assert got[period]["truncate_fits"] == fits[(period, "truncate")], period
    # the issue's reading: truncation fits 15.3% of 293, 2021 construction and 2023-H1 GMK; only 2019 points to rounding
    assert [p for p, r in got.items() if r["decision"] == "round-half"] == ["2019"]
    assert {"2021", "2023-H1", "2025-Q1"} == {p for p, r in got.items() if r["decision"] == "truncate"}
    s = {r["sector"]: r for r in s_default["results"]["sectors"]}
    assert (s["gmk"]["k_min"], s["gmk"]["k_max"]) == (45, 45) == (min(_brute("15.3", 293, "truncate")),) * 2
    assert _brute("12", 293, "truncate") == list(range(s["construction"]["k_min"], s["construction"]["k_max"] + 1))


def _phi_by_hand(hist, sector, year):
    past = [r for r in hist if r["sector"] == sector and r["year"] != year]
    k = np.array([r["count"] for r in past], float)
    n = np.array([r["total"] for r in past], float)
    p0 = k.sum() / n.sum()
    return max(1.0, float(np.sum((k - n * p0) ** 2 / (n * p0 * (1 - p0))) / (len(k) - 1))), len(k) - 1


def test_relative_risk_intervals_against_independent_computation(s_default):
    r = s_default["results"]
    hist = r["ministry_history"]
    for row in r["relative_risk"]:
        phi, df = _phi_by_hand(hist, row["sector"], 2025)
        assert row["phi"] == pytest.approx(phi, rel=1e-12) and row["phi_df"] == df
        n, e_lo, e_hi = 293, row["employment_share_low_pct"] / 100, row["employment_share_high_pct"] / 100
        ks = range(row["k_min"], row["k_max"] + 1)
        cp = [stats.binomtest(k, n).proportion_ci(0.95, method="exact") for k in ks]
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((cp[0].low / e_hi, cp[-1].high / e_lo), rel=1e-9)
        ne = n / phi * (stats.t.ppf(0.975, n - 1) / stats.t.ppf(0.975, df)) ** 2
        kg = [proportion_confint(k / n * ne, ne, alpha=0.05, method="beta") for k in ks]
        assert (row["ci_low_phi"], row["ci_high_phi"]) == pytest.approx((kg[0][0] / e_hi, kg[-1][1] / e_lo), rel=1e-9)
        assert row["excess_holds_phi"] == (kg[0][0] / e_hi > 1)
    got = {x["row"]: x for x in r["relative_risk"]}
    assert got["gmk_mining"]["excess_holds_phi"] and not got["gmk_industry"]["excess_holds"]
    assert not got["construction"]["excess_holds_phi"]
    # break-even GMK workforce: the lower limit with φ at 45 of 293, times the middle of the hired-employee range
    phi, df = _phi_by_hand(hist, "gmk", 2025)
    ne = 293 / phi * (stats.t.ppf(0.975, 292) / stats.t.ppf(0.975, df)) ** 2
    lo = proportion_confint(45 / 293 * ne, ne, alpha=0.05, method="beta")[0]
    assert r["gmk_break_even_workers"] == pytest.approx(lo * (6_981_400 + 7_155_400) / 2, rel=1e-9)


def test_verdict_reads_for_a_non_statistician(default_run):
    v = default_run.verdict
    assert sentences(v.summary) <= 3 and "φ" not in v.summary and "p-value" not in v.summary
    assert "510,000" in v.summary and "510,000" in v.would_change
    assert v.key.unit == "count" and v.key.estimate == 510_000
    assert "Korn-Graubard" in v.technical and "truncat" in v.technical
    assert default_run.judgement.set_index("sector")["label"].to_dict() == {"gmk": "fragile", "construction": "fragile"}
    for alt in (default_run.rr_alt, default_run.curve_alt, default_run.history_alt):
        assert "_" not in alt and "e+" not in alt


@pytest.mark.parametrize("params, labels, overall", [
    ({"period": "2022"}, {"gmk": "fragile", "construction": "supported"}, "fragile"),
    ({"period": "2021"}, {"gmk": "fragile", "construction": "fragile"}, "fragile"),
    ({"rounding": "round-half"}, {"gmk": "inconsistent", "construction": "fragile"}, "inconsistent"),
])
def test_other_periods_and_rules_in_process(params, labels, overall):
    r = sectoral.run(sectoral.Params(**params))
    assert r.judgement.set_index("sector")["label"].to_dict() == labels
    assert r.verdict.label == overall
    if params.get("rounding") == "round-half":  # the first edition's reading of 15.3% of 293
        g = r.sectors.set_index("sector").loc["gmk"]
        assert (g["k_min"], g["k_max"]) == (44, 45) and "rounded" in r.verdict.headline


def test_a_share_no_count_gives_under_either_rule_is_inconsistent(data_copy):
    path = data_copy / "sectoral.csv"
    rows = list(csv.DictReader(open(path, encoding="utf-8")))
    for r in rows:
        if r["period"] == "2025-Q1" and r["sector"] == "gmk" and r["measure"] == "share_pct":
            r["value"] = "15.10"  # 44 of 293 is 15.02%, 45 is 15.36%: no rule prints 15.10
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    r = sectoral.run(sectoral.Params(), data_dir=data_copy)
    assert r.rule.decision == "neither" and r.verdict.label == "inconsistent"
    g = r.sectors.set_index("sector").loc["gmk"]
    assert g["status"] == "inconsistent" and (g["k_min"], g["k_max"]) == (44, 45)
    assert "whether rounded or truncated" in r.verdict.headline


def test_overall_label_combines_sector_labels():
    assert sectoral.overall_label(["supported", "supported"]) == "supported"
    assert sectoral.overall_label(["not supported", "not supported"]) == "not supported"
    assert sectoral.overall_label(["supported", "not supported"]) == "fragile"
    assert sectoral.overall_label(["fragile", "inconsistent"]) == "inconsistent"


@pytest.mark.parametrize("params,name", [({"alpha": 1.5}, "alpha"), ({"period": "2031-Q1"}, "period"),
                                         ({"period": "2025-Q5"}, "period"), ({"rounding": "nearest"}, "rounding"),
                                         ({"alpah": 0.01}, "alpah")])
def test_bad_parameters_are_named(params, name):
    with pytest.raises(ParameterError) as exc:
        sectoral.Params.from_mapping(params)
    assert exc.value.name == name and name in str(exc.value)


def test_notebook_stops_on_a_bad_parameter_and_names_it():
    from analysis.studies import sectoral as study

    with pytest.raises(ParameterError) as exc:
        validate_as_notebook(study, rounding="nearest")
    assert exc.value.name == "rounding"
