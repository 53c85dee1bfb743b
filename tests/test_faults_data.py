"""Fault injection on the data layer (issue 13): wrong data never loads, and every refusal is ONE line naming the file,
the line (1-based, header = line 1) and the column where they exist.

Each test corrupts a temporary copy of data/ (fixture ``data_copy``) the way a hurried edit or a broken export would:
a repeated figure, an infinite or absurd number, an empty file, bytes that are not UTF-8, an unbalanced quote.
"""

import csv
import re

import pytest

from analysis import data

ALL_FILES = ["sources", "regions", "region_aliases", "sectors", "national_annual", "national_ytd", "regional",
             "sectoral", "workforce", "population", "events"]
# The column that carries each file's figure (changed to make a conflicting duplicate).
VALUE_COL = {"national_annual": "value", "national_ytd": "value", "regional": "value", "sectoral": "value",
             "workforce": "value", "population": "value", "events": "deaths"}


def _read(path):
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        return reader.fieldnames, list(reader)


def _append(path, row: dict) -> int:
    """Append ``row`` (a dict over the file's header) and return its line number."""
    header, rows = _read(path)
    with open(path, "a", encoding="utf-8", newline="") as fh:
        csv.DictWriter(fh, fieldnames=header, lineterminator="\n").writerow(row)
    return len(rows) + 2


def _template(path):
    """(line, row) of the first row that is the preferred one of its figure (or simply the first row)."""
    _, rows = _read(path)
    for i, r in enumerate(rows):
        if r.get("preferred", "true") == "true":
            return i + 2, r
    raise AssertionError(path)


def _set(path, line, column, value):
    header, rows = _read(path)
    rows[line - 2][column] = value
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def _load(data_dir, name):
    """The file's own loader: validates the file and only the files it references (loading is lazy per file)."""
    return getattr(data, f"load_{name}")(data_dir)


def _published(t):
    return t[~t["derived"]] if "derived" in t else t


def _refused(data_dir, name):
    """Load ``name``; return the DataError, which must be one line and name the file."""
    with pytest.raises(data.DataError) as exc:
        _load(data_dir, name)
    e = exc.value
    assert "\n" not in str(e), str(e)
    assert e.file.endswith(f"{name}.csv"), str(e)
    return e


# ------------------------------------------------------------------ 1. a figure recorded twice
def test_issue_example_second_karaganda_figure_is_refused(data_copy):
    """The issue's row: a second 2025-Q1 Karaganda count (99 beside the published 31) used to build every report ok."""
    path = data_copy / "regional.csv"
    _, rows = _read(path)
    orig = next(i + 2 for i, r in enumerate(rows) if (r["period"], r["region"], r["measure"]) ==
                ("2025-Q1", "Karaganda", "injured"))
    row = dict(rows[orig - 2], value="99", source_id="F2", note="")
    line = _append(path, row)
    e = _refused(data_copy, "regional")
    assert e.line == line and f"line {orig}" in e.problem, str(e)
    assert "Karaganda" in e.problem and "2025-Q1" in e.problem


@pytest.mark.parametrize("name", ALL_FILES)
def test_duplicate_key_names_both_lines(name, data_copy):
    """Every file declares its key; a second row with the same key (here: same figure, other value) is refused."""
    path = data_copy / f"{name}.csv"
    orig, row = _template(path)
    row = dict(row)
    col = VALUE_COL.get(name)
    if col:
        row[col] = "2" if row[col] == "1" else "1"
    line = _append(path, row)
    e = _refused(data_copy, name)
    assert e.line == line, str(e)
    assert f"line {orig}" in e.problem, str(e)


@pytest.mark.parametrize("name", ["national_annual", "national_ytd", "regional", "sectoral", "population"])
def test_documented_conflict_is_accepted(name, data_copy):
    """Exactly one preferred row and a note on the other: a documented conflict loads, both rows kept."""
    path = data_copy / f"{name}.csv"
    _, row = _template(path)
    n_before = len(_published(_load(data_copy, name)))
    row = dict(row, value="1" if row["value"] != "1" else "2", preferred="false",
               note="CONFLICT: test figure from a second source")
    _append(path, row)
    t = _published(_load(data_copy, name))
    assert len(t) == n_before + 1
    assert t["preferred"].dtype == bool


@pytest.mark.parametrize("name", ["national_annual", "regional", "population"])
def test_undocumented_conflict_is_refused(name, data_copy):
    """A non-preferred row with another value and no note is a silent conflict: refused, naming the 'note' column."""
    path = data_copy / f"{name}.csv"
    orig, row = _template(path)
    row = dict(row, value="1" if row["value"] != "1" else "2", preferred="false", note="")
    line = _append(path, row)
    e = _refused(data_copy, name)
    assert (e.line, e.column) == (line, "note") and f"line {orig}" in e.problem, str(e)


@pytest.mark.parametrize("name", ["national_ytd", "regional", "sectoral"])
def test_two_preferred_rows_name_both_lines(name, data_copy):
    path = data_copy / f"{name}.csv"
    orig, row = _template(path)
    line = _append(path, dict(row, value="1" if row["value"] != "1" else "2"))
    e = _refused(data_copy, name)
    assert e.line == line and f"line {orig}" in e.problem and "exactly one preferred" in e.problem, str(e)


# ------------------------------------------------------------------ 2. numbers that are not finite or not plausible
NUMERIC = [("national_annual", "value"), ("national_annual", "year"), ("national_ytd", "value"),
           ("regional", "value"), ("sectoral", "value"), ("workforce", "value"), ("population", "value"),
           ("events", "deaths"), ("events", "injured"), ("events", "year"), ("sources", "ledger_line")]
BAD_NUMBERS = ["inf", "-inf", "nan", "1e300", "1" + "0" * 300]


@pytest.mark.parametrize("bad", BAD_NUMBERS)
@pytest.mark.parametrize("name,column", NUMERIC)
def test_non_finite_or_absurd_number_is_refused(name, column, bad, data_copy):
    _set(data_copy / f"{name}.csv", 3, column, bad)
    e = _refused(data_copy, name)
    assert (e.line, e.column) == (3, column), str(e)


@pytest.mark.parametrize("name,column,bound", [("regional", "value", 10**7), ("national_ytd", "value", 10**7),
                                               ("events", "deaths", 10**7), ("population", "value", 10**8),
                                               ("workforce", "value", 10**8)])
def test_counts_are_bounded(name, column, bound, data_copy):
    """At the documented bound a count loads; one more is refused (plausibility, and far from any overflow)."""
    path = data_copy / f"{name}.csv"
    _, rows = _read(path)
    line = next(i + 2 for i, r in enumerate(rows) if r.get("measure", "injured") in data.COUNT_MEASURES | {
        "employed", "hired_employees", "self_employed"})
    _set(path, line, column, str(bound))
    _load(data_copy, name)
    _set(path, line, column, str(bound + 1))
    e = _refused(data_copy, name)
    assert (e.line, e.column) == (line, column) and str(bound + 1) in e.problem.replace(".0", ""), str(e)


def test_no_overflow_reaches_the_derived_figures(data_copy):
    """A huge Q1 count used to flow into national_total (int cast) and the back-calculated 2024-Q1; now refused."""
    path = data_copy / "national_ytd.csv"
    _, rows = _read(path)
    line = next(i + 2 for i, r in enumerate(rows) if (r["period"], r["measure"]) == ("2025-Q1", "injured"))
    _set(path, line, "value", "9" * 40)
    with pytest.raises(data.DataError) as exc:
        data.national_total("2024-Q1", data_dir=data_copy)
    assert (exc.value.line, exc.value.column) == (line, "value")


def test_fractional_count_in_integer_column_is_refused(data_copy):
    _set(data_copy / "events.csv", 4, "deaths", "2.5")
    e = _refused(data_copy, "events")
    assert (e.line, e.column) == (4, "deaths"), str(e)


# ------------------------------------------------------------------ 3. empty files
@pytest.mark.parametrize("name", ALL_FILES)
def test_zero_byte_file_is_named(name, data_copy):
    (data_copy / f"{name}.csv").write_bytes(b"")
    e = _refused(data_copy, name)
    assert "is empty" in e.problem


@pytest.mark.parametrize("name", ALL_FILES)
def test_header_only_file_is_named(name, data_copy):
    path = data_copy / f"{name}.csv"
    path.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    e = _refused(data_copy, name)
    assert "has no rows" in e.problem


# ------------------------------------------------------------------ 4. bytes and quotes
def test_non_utf8_bytes_name_the_line_and_column(data_copy):
    path = data_copy / "regional.csv"
    lines = path.read_bytes().split(b"\n")
    fields = lines[4].split(b",")
    fields[3] = "Karagandá".encode("latin-1")  # region_as_published, as a Windows-1252 export would write it
    lines[4] = b",".join(fields)
    path.write_bytes(b"\n".join(lines))
    e = _refused(data_copy, "regional")
    assert (e.line, e.column) == (5, "region_as_published") and "UTF-8" in e.problem, str(e)


@pytest.mark.parametrize("name,line", [("regional", 7), ("sources", 10), ("national_annual", 40)])
def test_unbalanced_quote_names_the_line(name, line, data_copy):
    """A quote opened and never closed on its line swallows the following lines: the error names where it opened."""
    path = data_copy / f"{name}.csv"
    lines = path.read_text(encoding="utf-8").split("\n")
    fields = lines[line - 1].split(",")
    fields[1] = '"' + fields[1]
    lines[line - 1] = ",".join(fields)
    path.write_text("\n".join(lines), encoding="utf-8")
    e = _refused(data_copy, name)
    assert e.line == line and "quote" in e.problem, str(e)


def test_unbalanced_quote_on_the_last_line(data_copy):
    path = data_copy / "events.csv"
    text = path.read_text(encoding="utf-8").rstrip("\n").split("\n")
    text[-1] = text[-1].replace(",", ',"', 1)
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    e = _refused(data_copy, "events")
    assert e.line == len(text) and "quote" in e.problem, str(e)


def test_extra_field_names_the_line(data_copy):
    path = data_copy / "sectoral.csv"
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[5] += ",surplus"
    path.write_text("\n".join(lines), encoding="utf-8")
    e = _refused(data_copy, "sectoral")
    assert e.line == 6 and "fields" in e.problem, str(e)


# ------------------------------------------------------------------ 5. figures of one period that contradict each other
# The rules of analysis.data.consistency (shared with `python -m analysis.releases add`), applied by the loaders to the
# preferred Ministry rows of each period: a hand edit of one file may not contradict another file.
def _line(path, **match):
    _, rows = _read(path)
    return next(i + 2 for i, r in enumerate(rows) if all(r[k] == v for k, v in match.items())
                and r["system"] == "ministry" and r["preferred"] == "true")


def _value(path, line):
    return _read(path)[1][line - 2]["value"]


def _across(data_dir, name, line, other_line, rule):
    """Load ``name``: refused on ``line``, column 'value', naming the rule and the row it conflicts with."""
    e = _refused(data_dir, name)
    assert (e.line, e.column, e.other_line) == (line, "value", other_line), str(e)
    assert rule in e.problem and re.search(rf"\blines? ([0-9]+, )*{other_line}\b", e.problem), str(e)
    return e


def test_national_deaths_above_the_injured_are_refused(data_copy):
    """A year (national_annual): 2019 deaths edited to 1,500 against 1,430 injured."""
    path = data_copy / "national_annual.csv"
    fatal, injured = _line(path, year="2019", measure="fatal"), _line(path, year="2019", measure="injured")
    _set(path, fatal, "value", str(int(_value(path, injured)) + 70))
    _across(data_copy, "national_annual", fatal, injured, "the injured include the fatal")


def test_regional_deaths_above_the_regions_injured_are_refused(data_copy):
    path = data_copy / "regional.csv"
    _, rows = _read(path)
    fatal = next(i + 2 for i, r in enumerate(rows) if r["system"] == "ministry" and r["measure"] == "fatal" and any(
        (s["period"], s["region"], s["measure"], s["system"]) == (r["period"], r["region"], "injured", "ministry")
        for s in rows))
    r = rows[fatal - 2]
    injured = _line(path, period=r["period"], region=r["region"], measure="injured")
    _set(path, injured, "value", str(int(r["value"]) - 1))  # lowering the injured breaks no other rule
    e = _across(data_copy, "regional", fatal, injured, "the injured include the fatal")
    assert " of " not in e.problem.split("exceeds")[1].split("(")[0]  # the other row is in the same file


def test_region_above_the_national_total_is_refused(data_copy):
    regional, national = data_copy / "regional.csv", data_copy / "national_ytd.csv"
    line = _line(regional, period="2025-Q1", region="Karaganda", measure="injured")
    total = _line(national, period="2025-Q1", measure="injured")
    _set(regional, line, "value", "300")  # above the national 293
    e = _across(data_copy, "regional", line, total, "a region's count is part of the national total")
    assert f"line {total} of {national}" in e.problem, str(e)


def test_regions_adding_up_to_more_than_the_national_total_are_refused(data_copy):
    """The issue's example: each 2025-Q1 region below the national 293, together 400."""
    regional, national = data_copy / "regional.csv", data_copy / "national_ytd.csv"
    _, rows = _read(regional)
    lines = [i + 2 for i, r in enumerate(rows) if (r["period"], r["system"], r["measure"]) ==
             ("2025-Q1", "ministry", "injured")]
    karaganda = _line(regional, period="2025-Q1", region="Karaganda", measure="injured")
    others = sum(int(rows[ln - 2]["value"]) for ln in lines if ln != karaganda)
    _set(regional, karaganda, "value", str(400 - others))
    total = _line(national, period="2025-Q1", measure="injured")
    e = _across(data_copy, "regional", max(lines), total, "the regions are parts of the national total")
    assert "add up to 400" in e.problem and f"line {total} of {national}" in e.problem, str(e)
    for loader in (data.load_all, data.load_national_ytd):  # refused whichever file is loaded, naming regional.csv
        with pytest.raises(data.DataError) as exc:
            loader(data_copy)
        assert (exc.value.file, exc.value.line) == (str(regional), max(lines)), str(exc.value)


def test_sector_count_above_the_national_total_is_refused(data_copy):
    sectoral, national = data_copy / "sectoral.csv", data_copy / "national_annual.csv"
    line = _line(sectoral, period="2021", sector="gmk", measure="injured")
    total = _line(national, year="2021", measure="injured")
    _set(sectoral, line, "value", str(int(_value(national, total)) + 1))
    e = _across(data_copy, "sectoral", line, total, "a sector's count is part of the national total")
    assert f"line {total} of {national}" in e.problem, str(e)


def test_sector_shares_above_100_percent_beyond_rounding_are_refused(data_copy):
    """2025-Q1: gmk 15.3 and construction 12. Construction 85 adds up to 100.3, within the rounding of '85' and
    '15.3' (0.5 + 0.05): loads. 85.3 adds up to 100.6, beyond the 0.1 that two one-decimal shares allow: refused."""
    path = data_copy / "sectoral.csv"
    construction = _line(path, period="2025-Q1", sector="construction", measure="share_pct")
    gmk = _line(path, period="2025-Q1", sector="gmk", measure="share_pct")
    assert _value(path, gmk) == "15.3"
    _set(path, construction, "value", "85")
    _load(data_copy, "sectoral")
    _set(path, construction, "value", "85.3")
    e = _across(data_copy, "sectoral", max(construction, gmk), min(construction, gmk),
                "shares of the national injured")
    assert "add up to 100.6" in e.problem and "+0.10 for rounding" in e.problem, str(e)


def test_the_real_data_satisfy_the_rules_across_files():
    from analysis.data import loaders

    tables = data.load_all()
    loaders.check_across()
    ministry = tables["regional"][(tables["regional"]["system"] == "ministry") & tables["regional"]["preferred"]]
    assert len(ministry) >= 100  # the rules had figures to check


def test_the_rules_across_files_hold_when_tables_come_from_the_disk_cache(data_copy, tmp_path, monkeypatch):
    """A validated regional table kept on disk (keyed on regional.csv and its references, not national_ytd.csv)
    must not let a national total edited below the regions' sum through."""
    from analysis.data import loaders

    monkeypatch.setenv("KZ_DATA_CACHE", str(tmp_path / "validated"))
    data.load_all(data_copy)  # every table validated and stored on disk
    loaders.forget(data_copy)  # a new process: nothing in memory
    national = data_copy / "national_ytd.csv"
    total = _line(national, period="2025-Q1", measure="injured")
    _set(national, total, "value", "100")  # the 2025-Q1 regions add up to 145; each is below 100, deaths are 40
    validated = []
    real = loaders.validate_text
    monkeypatch.setattr(loaders, "validate_text", lambda name, *a, **k: validated.append(name) or real(name, *a, **k))
    e = _refused(data_copy, "regional")
    assert validated == ["national_ytd"], validated  # regional.csv came from the disk cache
    assert e.other_line == total and "add up to 145" in e.problem, str(e)
