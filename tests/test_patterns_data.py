"""The data side of the regional and sectoral studies: valid periods, exposures, bounds, harmonisation."""

import pytest

from analysis.studies import regional as R
from analysis.studies import sectoral as S


def test_regional_periods_exclude_non_top_k_lists():
    ps = R.regional_periods()
    assert {"2019", "2021", "2023-H1", "2024", "2025-Q1"} <= set(ps)
    assert "2020-01..09" not in ps  # 774 unpublished injuries cannot fit under 11 units x 21
    with pytest.raises(ValueError, match=r"period must be one of .*got '2031-Q1'"):
        R.check_period("2031-Q1")


def test_units_and_population_harmonisation():
    assert R.n_units("2021") == 17 and R.n_units("2025-Q1") == 20
    post = R.population_exposure("post-2022").set_index("region")["population"]
    pre = R.population_exposure("pre-2022").set_index("region")["population"]
    assert len(post) == 20 and len(pre) == 17
    assert pre["East Kazakhstan"] == post["East Kazakhstan"] + post["Abai"]
    assert pre["Karaganda"] == post["Karaganda"] + post["Ulytau"]
    assert pre.sum() == post.sum()


def test_expected_counts_follow_population_shares():
    e = R.expected_counts("2025-Q1", "population")
    pop = R.population_exposure("post-2022").set_index("region")["population"]
    assert len(e) == 20 and e.sum() == pytest.approx(293)
    assert e["Karaganda"] == pytest.approx(293 * pop["Karaganda"] / pop.sum())
    assert R.expected_counts("2025-Q1", "equal shares").tolist() == pytest.approx([293 / 20] * 20)
    assert R.expected_counts("2021", "population").sum() == pytest.approx(1465)
    with pytest.raises(ValueError, match="basis"):
        R.expected_counts("2025-Q1", "workers")


def test_death_floors_follow_the_period_and_borders():
    q1 = R.death_floors("2025-Q1").set_index("region")["deaths"].to_dict()
    assert q1 == {"Akmola": 1, "Ulytau": 8}
    # 2024 is on post-2022 borders (Abai separate); 2019 is pre-2022 (Astana's sewer accident, May 2019)
    assert R.death_floors("2024").set_index("region")["deaths"].to_dict() == {"Abai": 1, "East Kazakhstan": 5,
                                                                             "Karaganda": 4}
    assert R.death_floors("2019").set_index("region")["deaths"].to_dict() == {"Astana": 4}
    assert R.death_floors("2023-H1").empty  # the Kostenko (October) and Kazakhstanskaya (August) deaths are later


def test_persistence_bounds_on_pre2022_borders():
    p = R.persistence()
    row = p[(p["period"] == "2025-Q1") & (p["version"] == "pre-2022 borders") & (p["region"] == "Karaganda")].iloc[0]
    assert (row["low"], row["high"]) == (31, 31 + 19)  # Ulytau unpublished: at most the smallest published count
    assert R.always_published(p) == ["East Kazakhstan", "Karaganda", "Kostanay"]


def test_sector_count_bounds_and_periods():
    assert "2025-Q1" in S.sector_periods() and "2031-Q1" not in S.sector_periods()
    ps = S.period_sectors("2025-Q1").set_index("sector")  # the release supports truncation only
    assert ps.loc["construction", "decimals"] == 0
    assert (ps.loc["construction", "k_min"], ps.loc["construction", "k_max"]) == (36, 38)
    assert ps.loc["construction", "allowed_round_half"] == "34–36" and ps.loc["construction", "rules"] == "truncate"
    assert (ps.loc["gmk", "k_min"], ps.loc["gmk", "k_max"]) == (45, 45) and ps.loc["gmk", "allowed_round_half"] == "none"
    both = S.period_sectors("2025-Q1", "both").set_index("sector")
    assert (both.loc["construction", "k_min"], both.loc["construction", "k_max"]) == (34, 38)
    half = S.period_sectors("2025-Q1", "round-half").set_index("sector")  # the old reading: 15.3% is impossible
    assert half.loc["gmk", "status"] == "inconsistent" and (half.loc["gmk", "k_min"], half.loc["gmk", "k_max"]) == (44, 45)
    p21 = S.period_sectors("2021").set_index("sector")
    assert p21.loc["construction", "count_published"] == 167 and p21.loc["construction", "count_matches_share"]
    assert S.period_sectors("2021", "round-half").set_index("sector").loc["construction", "count_matches_share"] == False  # noqa: E712


def test_rule_evidence_per_release():
    ev = S.rule_evidence().set_index("period")["decision"].to_dict()
    assert ev == {"2019": "round-half", "2020": "either", "2021": "truncate", "2021-H1": "no share published",
                  "2022": "either", "2023-H1": "truncate", "2024": "either", "2025-Q1": "truncate"}


def test_employee_denominators():
    e = S.employment_shares().set_index("row")
    t = S.denominator_totals()
    assert t["hired"] == (6_981_400, 7_155_400)  # LFS hired employees 2024-2025 (2024-Q1 and 2025-Q3)
    assert t["hired_fraction"][0] == pytest.approx(6_981_400 / 9_167_300)  # 2024-Q1, both published exactly
    assert e.loc["gmk_government", "low"] == pytest.approx(110_000 / 7_155_400)
    assert e.loc["gmk_mining", "high"] == pytest.approx(281_200 / 6_981_400)
    assert e.loc["gmk_industry", "high"] == pytest.approx(0.126 * 9_330_100 / 6_981_400)  # metallurgy included
    assert e.loc["construction", "low"] == pytest.approx(0.068)
    assert e.loc["construction", "high"] == pytest.approx(0.071 / (6_981_400 / 9_167_300))  # no self-employed
    rr, _ = S.relative_risks("2025-Q1")
    g = rr.set_index("row").loc["gmk_mining"]
    assert g["rr_low"] == pytest.approx(45 / 293 / e.loc["gmk_mining", "high"])
    assert g["rr_high"] == pytest.approx(45 / 293 / e.loc["gmk_mining", "low"])
