"""The claims audit (notebook 08): every published claim through the same studies as 02 and 03, a new release
flowing in without code, and the report equal to the study run directly."""

import json

import pytest
from conftest import run_declared
from scipy import stats

from analysis import data
from analysis.core.params import ParameterError
from analysis.data.releases import add_release
from analysis.studies import audit, quarterly


@pytest.fixture(scope="module")
def default():
    return run_declared(audit)


def test_report_equals_the_study_run_directly(reports, default):
    got = reports.results("08_claims_audit")
    assert got == json.loads(json.dumps(default.to_dict(), default=str))
    assert got["label"] == "descriptive" and got["results"]["counts"]["tested"] >= 15


def test_every_published_change_is_audited_once(default):
    changes = data.published_changes()
    assert len(default.claims) == len(changes)
    assert sorted(zip(default.claims["period"], default.claims["source id"])) == sorted(
        zip(changes["period"].astype(str), changes["pct_source_id"]))


def test_rows_agree_with_the_quarterly_study_and_with_scipy(default):
    c = default.claims.set_index(["period", "what"])
    q1 = c.loc[("2025-Q1", "Ministry injured")]
    assert q1["earlier count"] == 352 and q1["earlier count is"] == "derived"
    assert q1["exact p"] == pytest.approx(stats.binomtest(293, 645, 0.5).pvalue, rel=1e-9)
    direct, v, *_ = quarterly.assess_claim(quarterly.Params())
    assert q1["p with φ"] == pytest.approx(direct.p_value_overdispersed) and q1["label"] == v.label == "fragile"
    deaths = c.loc[("2019", "Ministry deaths")]
    assert deaths["label"] == "inconsistent" and deaths["change from the counts (%)"] == pytest.approx(100 * (180 / 220 - 1))
    untestable = default.claims[default.claims["label"] == "not testable"]
    assert untestable["count"].isna().all() and len(untestable) == default.counts["not_testable"]


def test_counts_add_up(default):
    k = default.counts
    assert k["tested"] + k["not_testable"] == k["claims"]
    assert sum(k["labels"].values()) == k["tested"]
    assert k["significant_overdispersed"] <= k["significant_poisson"] <= k["tested"]


def test_multi_year_claims_are_read_both_ways(default):
    w = default.windows
    five = w[w["claim year"] == 2024]
    assert list(five["window"]) == ["2020–2024", "2019–2024"]
    assert five.iloc[0]["change from the counts (%)"] == pytest.approx(100 * (1408 / 1503 - 1))
    assert five.iloc[0]["label"] != "inconsistent" and five.iloc[1]["label"] == "inconsistent"


def test_track_record_uses_only_what_was_public(default):
    t = default.track.set_index(["year", "months"])
    row = t.loc[(2021, "1–4")]
    assert row["claimed change (%)"] == 11.0 and row["change by year end (%)"] == -2.5
    assert row["lower (%)"] < row["projected year-end change (%)"] < row["upper (%)"]
    assert pd_isna(t.loc[(2025, "1–3")]["change by year end (%)"])
    # issue 15: the early claims also against month 9 (2021: 1,062 by September against 1,023 a year earlier)
    assert row["change by month 9 (%)"] == pytest.approx(100 * (1062 / 1023 - 1))
    assert pd_isna(t.loc[(2025, "1–3")]["change by month 9 (%)"])


def pd_isna(x) -> bool:
    return x is None or x != x


def test_a_new_release_flows_into_the_audit_without_code(data_copy):
    add_release("2025-H1", injured=612, injured_change=-5.1, url="https://example.org/release",
                publisher="MLSPP via example.org", date_published="2025-07-20",
                quote="За январь-июнь пострадали 612 человек, на 5,1% меньше", data_dir=data_copy)
    r = audit.run(audit.Params(years=[2025]), data_copy)
    row = r.claims[r.claims["period"] == "2025-H1"].iloc[0]
    assert row["count"] == 612 and row["claimed change (%)"] == -5.1 and row["earlier count is"] == "derived"
    assert row["earlier count"] == 645  # 612 / 645 = -5.12%, the only integer that rounds to -5.1%
    assert row["publisher"] == "MLSPP via example.org" and row["label"] in ("not supported", "fragile")
    assert set(r.claims["period"]) == {"2025-Q1", "2025-H1"}


@pytest.mark.parametrize("params,name", [({"systems": ["rosstat"]}, "systems"), ({"measures": []}, "measures"),
                                         ({"years": [1850]}, "years"), ({"alpha": 2.0}, "alpha"),
                                         ({"seed": -1}, "seed"), ({"sistems": ["bns"]}, "sistems")])
def test_bad_parameters_are_named(params, name):
    with pytest.raises(ParameterError) as exc:
        audit.Params.from_mapping(params)
    assert exc.value.name == name
