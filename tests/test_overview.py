"""Overview tables: escaping of data text, the systems comparison, change checks, atomic results."""

import json
import os

import pandas as pd
import pytest
from conftest import run_declared

from analysis.core import io
from analysis.present import tables
from analysis.studies import overview


def test_html_table_escapes_data_text_and_links_only_http():
    df = pd.DataFrame({"quote": ["<script>alert(1)</script>", "a & b"], "url": ["https://e.kz/?a=1&b=\"2\"", "javascript:x"]})
    html = tables.html_table(df)
    assert "<script>" not in html and "&lt;script&gt;" in html and "a &amp; b" in html
    assert 'href="https://e.kz/?a=1&amp;b=&quot;2&quot;"' in html
    assert "href=\"javascript" not in html


def test_html_table_blank_for_missing_values():
    html = tables.html_table(pd.DataFrame({"x": [pd.NA, None, float("nan")]}))
    assert "NA" not in html and "nan" not in html and "None" not in html


def test_systems_side_by_side_gap():
    side = overview.systems_side_by_side().set_index("year")
    # 2020: BNS 2033 victims incl. 203 deaths; Ministry 1503 incl. 208
    assert side.loc[2020, "nonfatal_gap_pct"] == pytest.approx(100 * ((2033 - 203) / (1503 - 208) - 1))


def test_change_checks_flag_2019_deaths():
    ch = overview.change_checks()
    row = ch[(ch["period"] == "2019") & (ch["measure"] == "fatal")].iloc[0]
    assert not row["matches_when_rounded"] and row["pct_from_counts"] == pytest.approx(-18.18, abs=0.01)
    ok = ch[(ch["period"] == "2019") & (ch["measure"] == "injured")].iloc[0]
    assert ok["matches_when_rounded"]


def test_write_json_is_atomic_and_plain_json(tmp_path, monkeypatch):
    io.write_json(tmp_path / "nb.json", {"results": {"x": float("nan"), "t": (1, 2)}, "verdict": "v"})
    d = json.loads((tmp_path / "nb.json").read_text())
    assert d == {"results": {"x": None, "t": [1, 2]}, "verdict": "v"}
    assert oct((tmp_path / "nb.json").stat().st_mode & 0o777) == "0o644"

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        io.write_json(tmp_path / "nb.json", {"verdict": "new"})
    assert json.loads((tmp_path / "nb.json").read_text())["verdict"] == "v"
    assert not [p for p in tmp_path.iterdir() if p.name != "nb.json"]


def test_overview_report_equals_the_study_and_is_descriptive(reports):
    from analysis.studies import overview as study

    got = reports.results("01_data_overview")
    assert got == json.loads(json.dumps(run_declared(study).to_dict()))
    assert got["label"] == "descriptive" and got["results"]["n_published_figures"] >= 400
    provenance = got["tables"]["provenance"]
    assert len(provenance["rows"]) == got["results"]["n_published_figures"] - sum(
        r["rows"] for r in got["results"]["coverage"] if r["file"] in ("data/workforce.csv", "data/population.csv",
                                                                       "data/events.csv"))
