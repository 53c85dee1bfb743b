"""The data layer: every file validates, every seed figure is present and sourced, bad files fail clearly."""

import csv
import re

import pandas as pd
import pytest

from analysis import data
from analysis.core.paths import DATA_DIR

FILES = ["national_annual", "national_ytd", "regional", "sectoral", "workforce", "population", "events"]


def test_every_file_validates():
    tables = data.load_all()
    for name in FILES + ["sources", "regions", "region_aliases", "sectors"]:
        assert len(tables[name]) > 0, name


def test_every_source_id_exists_and_has_url_and_quote():
    t = data.load_all()
    ids = set(t["sources"]["source_id"])
    for name in FILES:
        assert set(t[name]["source_id"]) <= ids, name
    assert t["sources"]["url"].str.match(r"^https?://").all()
    assert (t["sources"]["quote"].str.len() > 5).all()


def _quote(source_id):
    s = data.load_sources()
    return s.loc[s["source_id"] == source_id, "quote"].iloc[0]


def _num_in_quote(value, quote):
    """The figure appears in its quote (allowing 1 408 / 1,408 / 16,8 spellings)."""
    q = quote.replace("\u00a0", " ")
    v = f"{abs(value):g}"
    pats = {v, v.replace(".", ","), f"{abs(value):,.0f}" if float(value).is_integer() else v}
    if float(value).is_integer() and abs(value) >= 1000:
        pats.add(f"{int(abs(value)):,}".replace(",", " "))
    return any(p in q for p in pats)


@pytest.mark.parametrize("measure,value", [("injured", 293), ("fatal", 40), ("injured_pct_change_yoy", -16.8),
                                           ("rate_per_1000", 0.04)])
def test_seed_q1_2025_figures_present_and_quoted(measure, value):
    ytd = data.load_national_ytd(include_derived=False)
    row = ytd[(ytd["period"] == "2025-Q1") & (ytd["measure"] == measure) & ytd["preferred"]]
    assert len(row) == 1
    assert row["value"].iloc[0] == pytest.approx(value)
    assert _num_in_quote(value, _quote(row["source_id"].iloc[0]))


@pytest.mark.parametrize("alias,value", [("Qaraganda", 31), ("Qostanay", 27), ("East Kazakhstan", 24),
                                         ("Aqtobe", 22), ("Atyrau", 22), ("Almaty city", 19)])
def test_seed_regions_present_and_quoted(alias, value):
    reg = data.load_regional()
    region = data.canonical_region(alias)
    row = reg[(reg["period"] == "2025-Q1") & (reg["region"] == region) & (reg["measure"] == "injured")]
    assert row["value"].tolist() == [value]
    assert _num_in_quote(value, _quote(row["source_id"].iloc[0]))


def test_seed_almaty_ambiguity_is_recorded():
    reg = data.load_regional()
    row = reg[(reg["period"] == "2025-Q1") & (reg["region"] == "Almaty city")].iloc[0]
    assert row["region_as_published"] == "Almaty"
    assert "city or region" in row["note"]


@pytest.mark.parametrize("sector,value", [("gmk", 15.3), ("construction", 12)])
def test_seed_sector_shares_present_and_quoted(sector, value):
    s = data.load_sectoral()
    row = s[(s["period"] == "2025-Q1") & (s["sector"] == sector) & (s["measure"] == "share_pct")]
    assert row["value"].tolist() == [value]
    assert _num_in_quote(value, _quote(row["source_id"].iloc[0]))


def test_seed_five_year_claim_present_and_quoted():
    a = data.load_national_annual(include_derived=False)
    row = a[(a["measure"] == "injured_pct_change_5y") & (a["year"] == 2024)]
    assert row["value"].tolist() == [-6.3]
    assert "five years" in _quote(row["source_id"].iloc[0])


def test_derived_figures_are_computed_not_stored():
    raw = (DATA_DIR / "national_ytd.csv").read_text()
    assert "2024-Q1" not in raw  # the Q1 2024 count was never published
    ytd = data.load_national_ytd()
    q1 = ytd[(ytd["period"] == "2024-Q1") & (ytd["measure"] == "injured")]
    assert q1["value"].tolist() == [352] and q1["derived"].all()
    assert "293 / (1 - 16.8/100) = 352.2" in q1["formula"].iloc[0]
    annual = data.load_national_annual()
    y2023 = annual[(annual["year"] == 2023) & (annual["measure"] == "injured") & (annual["system"] == "ministry")]
    assert y2023["value"].tolist() == [1474] and y2023["derived"].all()
    assert not annual.loc[~annual["derived"], "formula"].notna().any()


def test_conflicts_kept_with_one_preferred():
    a = data.load_national_annual(include_derived=False)
    y = a[(a["year"] == 2024) & (a["measure"] == "injured")]
    assert set(y["value"]) == {1408, 1448}
    assert y.loc[y["preferred"], "value"].unique().tolist() == [1408]
    assert y["note"].str.contains("CONFLICT").all()
    y21 = a[(a["year"] == 2021) & (a["measure"] == "injured")]
    assert set(y21["value"]) == {1465, 1467}


def test_systems_never_share_a_series():
    a = data.load_national_annual()
    ministry = data.national_series("ministry", "fatal")
    bns = data.national_series("bns", "fatal")
    m_ids = set(a[(a["system"] == "ministry") & (a["measure"] == "fatal") & a["preferred"]]["source_id"])
    b_ids = set(a[(a["system"] == "bns") & (a["measure"] == "fatal") & a["preferred"]]["source_id"])
    assert not m_ids & b_ids
    assert ministry[2020] == 208 and bns[2020] == 203


def test_five_year_claim_arithmetic():
    s = data.national_series("ministry", "injured")
    assert round(100 * (s[2024] / s[2020] - 1), 1) == -6.3


@pytest.mark.parametrize("alias,region", [("Qaraganda", "Karaganda"), ("Карагандинская область", "Karaganda"),
                                          ("Karaganda region", "Karaganda"), ("Nur-Sultan (Astana) city", "Astana"),
                                          ("Aqtobe", "Aktobe"), ("Turkestan region", "Turkistan")])
def test_region_aliases(alias, region):
    assert data.canonical_region(alias) == region


def test_bare_almaty_is_refused():
    with pytest.raises(ValueError, match="ambiguous"):
        data.canonical_region("Almaty")


def test_harmonise_to_pre2022_borders():
    df = pd.DataFrame({"period": ["2023-H1"] * 3, "region": ["East Kazakhstan", "Abai", "Karaganda"],
                       "value": [53.0, 50.0, 79.0]})
    out = data.harmonise_to_pre2022(df).set_index("region")
    assert out.loc["East Kazakhstan", "value"] == 103
    assert not out.loc["East Kazakhstan", "incomplete"]
    assert out.loc["Karaganda", "incomplete"]  # Ulytau not published: the sum is a lower bound
    assert set(out.index) == {"East Kazakhstan", "Karaganda"}


def test_period_months():
    assert data.period_months("2025-Q1") == (2025, 1, 3)
    assert data.period_months("2021-01..07") == (2021, 1, 7)
    assert data.period_months("2024") == (2024, 1, 12)
    with pytest.raises(ValueError, match="period"):
        data.period_months("Q1 2025")


# ------------------------------------------------------------------ corrupted copies
def _csv_rows(path):
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def _dict_rows(path):
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _rewrite(path, fn):
    rows = fn(_csv_rows(path))
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


def _set(path, line, column, value):
    def fn(rows):
        i = rows[0].index(column)
        rows[line - 1][i] = value
        return rows
    _rewrite(path, fn)


COUNT_COL = {"national_annual": "value", "national_ytd": "value", "regional": "value", "sectoral": "value",
             "workforce": "value", "population": "value", "events": "deaths"}
REGION_COL = {"regional": "region", "workforce": "geography", "population": "geography", "events": "region"}


def _first_count_line(name):
    rows = _dict_rows(DATA_DIR / f"{name}.csv")
    for i, r in enumerate(rows):
        if "measure" not in r or r["measure"] in data.COUNT_MEASURES or name in ("sectoral", "workforce"):
            return i + 2
    raise AssertionError(name)


@pytest.mark.parametrize("name", FILES)
def test_negative_count_names_file_line_column(name, data_copy):
    line = _first_count_line(name) + 1 if name in ("national_annual",) else _first_count_line(name)
    col = COUNT_COL[name]
    _set(data_copy / f"{name}.csv", line, col, "-5")
    with pytest.raises(data.DataError) as exc:
        data.load_all(data_copy)
    e = exc.value
    assert e.file.endswith(f"{name}.csv") and e.line == line and e.column == col, str(e)
    assert "-5" in str(e)


@pytest.mark.parametrize("name", FILES)
def test_non_numeric_value_names_file_line_column(name, data_copy):
    col = COUNT_COL[name]
    _set(data_copy / f"{name}.csv", 3, col, "many")
    with pytest.raises(data.DataError) as exc:
        data.load_all(data_copy)
    assert (exc.value.line, exc.value.column) == (3, col), str(exc.value)
    assert "many" in str(exc.value)


@pytest.mark.parametrize("name", FILES)
def test_missing_column_is_named(name, data_copy):
    def drop(rows):
        i = rows[0].index("source_id")
        return [r[:i] + r[i + 1:] for r in rows]
    _rewrite(data_copy / f"{name}.csv", drop)
    with pytest.raises(data.DataError) as exc:
        data.load_all(data_copy)
    assert exc.value.column == "source_id" and "missing" in str(exc.value)
    assert exc.value.file.endswith(f"{name}.csv")


@pytest.mark.parametrize("name", FILES)
def test_dangling_source_id_is_named(name, data_copy):
    _set(data_copy / f"{name}.csv", 4, "source_id", "F99999")
    with pytest.raises(data.DataError) as exc:
        data.load_all(data_copy)
    assert (exc.value.line, exc.value.column) == (4, "source_id")
    assert "F99999" in str(exc.value) and "sources.csv" in str(exc.value)


@pytest.mark.parametrize("name", sorted(REGION_COL))
def test_unknown_region_is_named(name, data_copy):
    _set(data_copy / f"{name}.csv", 2, REGION_COL[name], "Atlantis")
    with pytest.raises(data.DataError) as exc:
        data.load_all(data_copy)
    assert (exc.value.line, exc.value.column) == (2, REGION_COL[name])
    assert "Atlantis" in str(exc.value)


def test_unknown_sector_is_named(data_copy):
    _set(data_copy / "sectoral.csv", 5, "sector", "piracy")
    with pytest.raises(data.DataError) as exc:
        data.load_all(data_copy)
    assert (exc.value.line, exc.value.column) == (5, "sector") and "piracy" in str(exc.value)


def test_two_preferred_rows_are_refused(data_copy):
    rows = _dict_rows(data_copy / "national_annual.csv")
    line = next(i + 2 for i, r in enumerate(rows) if r["value"] == "1448")
    _set(data_copy / "national_annual.csv", line, "preferred", "true")
    with pytest.raises(data.DataError, match="exactly one preferred"):
        data.load_all(data_copy)


def test_share_over_100_is_refused(data_copy):
    rows = _dict_rows(data_copy / "sectoral.csv")
    line = next(i + 2 for i, r in enumerate(rows) if r["measure"] == "share_pct")
    _set(data_copy / "sectoral.csv", line, "value", "140")
    with pytest.raises(data.DataError) as exc:
        data.load_all(data_copy)
    assert exc.value.line == line and exc.value.column == "value"


def test_no_file_reads_the_shared_ledger():
    root = DATA_DIR.parent
    for path in list((root / "analysis").rglob("*.py")) + list((root / "notebooks").glob("*.ipynb")):
        assert not re.search(r"\.\./shared|[\"']shared[\"']|shared/data", path.read_text()), path


def test_national_total_published_derived_and_missing():
    assert data.national_total("2025-Q1") == 293
    assert data.national_total("2024-Q1") == 352  # derived
    assert data.national_total("2024") == 1408  # preferred over 1,448
    assert data.national_total("2024", system="bns", measure="victims") == 2471
    assert data.national_total("2031") is None


# ------------------------------------------------------------------ lazy per-file loading, cache, read tracking
LOADERS = {name: getattr(data, f"load_{name}") for name in data.DATA_FILES}


def test_data_files_are_every_csv_the_loaders_read():
    stems = {p.stem for p in DATA_DIR.glob("*.csv")} - {"curation_log"}  # the log documents what was left out
    assert set(data.DATA_FILES) == stems
    assert set(data.load_all()) == stems


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_each_loader_reads_its_file_and_its_references(name):
    """A file's own references; for the four files whose figures must agree across files, all four (and theirs):
    the rules across files read them (analysis.data.loaders.check_across)."""
    from analysis.data.loaders import ACROSS

    expected = set(data.file_dependencies(name))
    if name in ACROSS:
        expected |= {f for a in ACROSS for f in data.file_dependencies(a)}
    with data.track_reads() as files:
        LOADERS[name]()
    assert files == expected
    assert data.file_dependencies(name)[0] == name


def test_declared_dependencies():
    assert data.file_dependencies("regional") == ("regional", "regions", "sources")
    assert data.file_dependencies("workforce") == ("workforce", "regions", "sectors", "sources")
    assert data.file_dependencies("region_aliases") == ("region_aliases", "regions")
    with pytest.raises(ValueError, match="unknown data file"):
        data.file_dependencies("curation_log")


def test_track_reads_counts_cached_reads_and_nests():
    data.load_regional()  # cached from here on
    with data.track_reads() as outer:
        assert data.national_total("2025-Q1") == 293
        with data.track_reads() as inner:
            data.canonical_region("Qaraganda")
            data.load_regional()
    # regional reads its references and, for the rules across files, the national and sectoral tables
    assert inner == {"region_aliases", "regions", "regional", "sources", "national_annual", "national_ytd",
                     "sectoral", "sectors"}
    assert outer == inner
    with data.track_reads() as none:
        data.period_months("2025-Q1")
    assert none == set()


def test_loading_is_lazy_per_file(data_copy):
    """A broken workforce.csv does not stop the regional loader, which never reads it; a broken sectoral.csv, which
    the rules across files do read, does not stop it either: its own loader names the problem."""
    (data_copy / "workforce.csv").write_bytes(b"")
    (data_copy / "sectoral.csv").write_bytes(b"")
    with data.track_reads() as files:
        assert len(data.load_regional(data_copy)) > 0
    assert "workforce" not in files
    with pytest.raises(data.DataError, match="is empty"):
        data.load_sectoral(data_copy)
    with pytest.raises(data.DataError, match="is empty"):
        data.load_workforce(data_copy)


def _count_validations(monkeypatch):
    from analysis.data import loaders

    calls = []
    real = loaders.validate_text
    monkeypatch.setenv("KZ_DATA_CACHE", "0")  # count validations in this process only (no tables kept on disk)

    def counting(name, *args, **kwargs):
        calls.append(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(loaders, "validate_text", counting)
    return calls


def _karaganda_q1(data_dir):
    r = data.load_regional(data_dir)
    return r.loc[(r["period"] == "2025-Q1") & (r["region"] == "Karaganda"), "value"].tolist()


def test_cache_validates_once_and_notices_a_same_size_edit(data_copy, monkeypatch):
    calls = _count_validations(monkeypatch)
    assert _karaganda_q1(data_copy) == [31]
    assert _karaganda_q1(data_copy) == [31]
    assert calls.count("regional") == 1 and calls.count("sources") == 1
    path = data_copy / "regional.csv"
    text = path.read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if x.startswith("2025-Q1,ministry,Karaganda,"))
    path.write_text(text.replace(line, line.replace(",31,", ",32,")), encoding="utf-8")  # same size, same second
    assert _karaganda_q1(data_copy) == [32]
    assert calls.count("regional") == 2 and calls.count("sources") == 1


def test_cache_notices_an_atomic_replace_and_an_old_file_edit(data_copy, monkeypatch):
    from analysis.core.io import atomic_write_text
    from analysis.data import loaders

    path = data_copy / "regional.csv"
    text = path.read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if x.startswith("2025-Q1,ministry,Karaganda,"))
    assert _karaganda_q1(data_copy) == [31]
    atomic_write_text(path, text.replace(line, line.replace(",31,", ",33,")))
    assert _karaganda_q1(data_copy) == [33]
    monkeypatch.setattr(loaders, "_RACY_NS", 0)  # as if every file were old: identity, size and mtime decide
    path.write_text(text.replace(line, line.replace(",31,", ",123,")), encoding="utf-8")  # sum < national
    assert _karaganda_q1(data_copy) == [123]


def test_cache_notices_a_changed_reference(data_copy):
    """regional.csv is valid only against regions.csv: renaming a region there invalidates the cached regional."""
    assert _karaganda_q1(data_copy) == [31]
    path = data_copy / "regions.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("Karaganda,region,", "Qaraghandy,region,"),
                    encoding="utf-8")
    with pytest.raises(data.DataError) as exc:
        data.load_regional(data_copy)
    assert exc.value.file.endswith("regional.csv") and exc.value.column == "region"
    assert "Karaganda" in exc.value.problem


def test_canonical_period():
    assert data.canonical_period("2025-01..06") == "2025-H1"
    assert data.canonical_period("2025-01..03") == "2025-Q1"
    assert data.canonical_period("2025-01..12") == "2025"
    assert data.canonical_period("2025-01..07") == "2025-01..07"
    assert data.canonical_period(2024) == "2024"
    for p in ("2025", "2025-Q1", "2025-Q3", "2021-H1"):
        assert data.canonical_period(p) == p
    for bad in ("Q1 2025", "2025-01..13", "2025-02..06", True, 2024.0):
        with pytest.raises(ValueError, match="period"):
            data.canonical_period(bad)


def test_non_canonical_period_in_a_file_is_refused(data_copy):
    rows = _dict_rows(data_copy / "national_ytd.csv")
    line = next(i + 2 for i, r in enumerate(rows) if r["period"] == "2025-Q1")
    _set(data_copy / "national_ytd.csv", line, "period", "2025-01..03")  # the same figure under a second key
    with pytest.raises(data.DataError) as exc:
        data.load_national_ytd(data_copy)
    assert (exc.value.line, exc.value.column) == (line, "period") and "canonical" in exc.value.problem


def test_source_ids_match_their_ledger_lines(data_copy):
    rows = _dict_rows(data_copy / "sources.csv")
    _set(data_copy / "sources.csv", 5, "ledger_line", str(int(rows[3]["ledger_line"]) + 1))
    with pytest.raises(data.DataError) as exc:
        data.load_sources(data_copy)
    assert (exc.value.line, exc.value.column) == (5, "source_id")


def test_validated_tables_are_kept_between_processes_and_never_when_bad(data_copy, tmp_path):
    """A second process finds the validated tables on disk and never imports pandera; a changed byte is validated
    again; a bad file is never stored; a corrupt entry is ignored."""
    import subprocess
    import sys

    cache = tmp_path / "validated"
    code = ("import sys; from analysis import data; t = data.load_regional(sys.argv[1]); "
            "print(len(t), 'pandera' in sys.modules)")

    def load():
        env = {**__import__("os").environ, "KZ_DATA_CACHE": str(cache)}
        return subprocess.run([sys.executable, "-c", code, str(data_copy)], capture_output=True, text=True, env=env,
                              timeout=120)

    first, second = load(), load()
    assert first.returncode == 0 and first.stdout.split()[1] == "True"  # validated (pandera imported)
    assert second.stdout.split() == [first.stdout.split()[0], "False"]  # from disk: no pandera at all
    n = len(list(cache.glob("*.pkl")))
    path = data_copy / "regional.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",31,", ",-31,", 1), encoding="utf-8")
    bad = load()
    assert bad.returncode != 0 and "regional.csv" in bad.stderr and len(list(cache.glob("*.pkl"))) == n
    for f in cache.glob("*.pkl"):
        f.write_bytes(b"not a pickle")
    path.write_text(path.read_text(encoding="utf-8").replace(",-31,", ",31,", 1), encoding="utf-8")
    again = load()
    assert again.returncode == 0 and again.stdout.split() == [first.stdout.split()[0], "True"]
