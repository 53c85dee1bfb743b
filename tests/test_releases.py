"""``python -m analysis.releases add``: a release added to a temporary copy of data/ flows through the loaders;
duplicates, conflicts and bad values are refused before anything is written; a failure half-way writes nothing."""

import shutil
from datetime import date, timedelta

import pytest

from analysis import data
from analysis.core.paths import DATA_DIR
from analysis.data import releases
from analysis.data.releases import ReleaseError, add_release, main

SOURCE = dict(url="https://example.org/ministry/2025-h1", publisher="MLSPP via example.org",
              date_published="2025-07-20",
              quote="За январь-июнь 2025 года пострадали 612 человек, погибли 81; снижение на 5,2%, рост смертности "
                    "на 3,8%. Карагандинская область - 61, Алматы (город) - 40. ГМК 17,5%, строительство 11%.")
RELEASE = dict(injured=612, deaths=81, injured_change="-5.2", deaths_change="3.8",
               regions=["Qaraganda=61", "Almaty city=40"], sector_shares={"gmk": "17.5", "construction": "11"})


def _snapshot(d):
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """One copy of data/ shared by the tests that must leave it unchanged (validated once, then cached)."""
    dst = tmp_path_factory.mktemp("pristine") / "data"
    shutil.copytree(DATA_DIR, dst)
    return dst


def test_good_release_flows_through_the_loaders(data_copy):
    plan = add_release("2025-01..06", data_dir=data_copy, **RELEASE, **SOURCE)
    assert plan.written and plan.period == "2025-H1" and plan.source_id == "R1"
    assert not plan.warnings  # every figure is in the quote
    assert data.national_total("2025-H1", data_dir=data_copy) == 612
    assert data.national_total("2025-H1", measure="fatal", data_dir=data_copy) == 81
    reg = data.load_regional(data_copy)
    k = reg[(reg["period"] == "2025-H1") & (reg["region"] == "Karaganda")].iloc[0]
    assert (k["value"], k["region_as_published"], k["borders"], k["preferred"], k["source_id"]) == (
        61, "Qaraganda", "post-2022", True, "R1")
    sec = data.load_sectoral(data_copy)
    shares = sec[(sec["period"] == "2025-H1") & (sec["measure"] == "share_pct")].set_index("sector")["value"]
    assert shares.to_dict() == {"gmk": 17.5, "construction": 11}
    src = data.load_sources(data_copy).set_index("source_id").loc["R1"]
    assert src["published"] == "2025-07-20" and src["language"] == "ru" and src.isna()["ledger_line"]
    ch = data.published_changes(data_copy)
    row = ch[(ch["period"] == "2025-H1") & (ch["measure"] == "injured")].iloc[0]
    assert (row["current"], row["pct_published"]) == (612, -5.2)
    # The regional study offers the new release as a period (two regions, a national total, consistent).
    from analysis.studies import regional
    assert "2025-H1" in regional.regional_periods(data_copy)


def test_rows_are_appended_in_the_files_format(data_copy):
    before = _snapshot(data_copy)
    plan = add_release("2025-H1", data_dir=data_copy, **RELEASE, **SOURCE)
    after = _snapshot(data_copy)
    changed = {n for n in after if after[n] != before[n]}
    assert changed == {"sources.csv", "national_ytd.csv", "regional.csv", "sectoral.csv"}
    for name in changed:
        assert after[name].startswith(before[name])  # existing lines untouched
        added = after[name][len(before[name]):].decode("utf-8").splitlines()
        rows = [r for r in plan.rows if r.file.endswith(name)]
        assert added == [r.text for r in rows]
        n_before = before[name].count(b"\n")
        assert [r.line for r in rows] == list(range(n_before + 1, n_before + 1 + len(rows)))
    assert "2025-H1,ministry,Karaganda,Qaraganda,post-2022,injured,61,true,R1," in after["regional.csv"].decode()


def test_crlf_file_keeps_its_line_endings(data_copy):
    path = data_copy / "regional.csv"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    add_release("2025-H1", regions=["Karaganda=61"], data_dir=data_copy, **SOURCE)
    raw = path.read_bytes()
    assert raw.endswith(b",61,true,R1,\r\n") and b"\n" not in raw.replace(b"\r\n", b"")
    assert len(data.load_regional(data_copy)) == 123


def test_cli_prints_what_it_added(data_copy, capsys):
    argv = ["add", "--period", "2025-01..06", "--injured", "612", "--injured-change", "-5.2",
            "--region", "Qaraganda=61", "--sector-share", "construction=11", "--url", SOURCE["url"],
            "--publisher", SOURCE["publisher"], "--date", SOURCE["date_published"], "--quote", SOURCE["quote"],
            "--data-dir", str(data_copy)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "added: Ministry release 2025-H1, source R1" in out
    assert "regional.csv line 124: 2025-H1,ministry,Karaganda,Qaraganda,post-2022,injured,61,true,R1," in out
    assert "national_ytd.csv line 47: 2025,2025-H1,ministry,injured,612,true,R1," in out


def test_sources_are_numbered_r1_r2(data_copy):
    a = add_release("2025-H1", injured=612, data_dir=data_copy, **SOURCE)
    b = add_release("2025-01..07", injured=700, data_dir=data_copy, **dict(SOURCE, date_published="2025-08-10"))
    assert (a.source_id, b.source_id) == ("R1", "R2")
    assert set(data.load_sources(data_copy)["source_id"]) >= {"R1", "R2"}


# ------------------------------------------------------------------ refused: duplicate and conflicting figures
def _line_of(path, predicate):
    import csv

    with open(path, encoding="utf-8", newline="") as fh:
        return next(i + 2 for i, r in enumerate(csv.DictReader(fh)) if predicate(r))


def test_duplicate_figure_is_refused_naming_file_and_line(data_copy):
    before = _snapshot(data_copy)
    line = _line_of(data_copy / "national_ytd.csv",
                    lambda r: (r["period"], r["measure"], r["preferred"]) == ("2025-Q1", "injured", "true"))
    with pytest.raises(ReleaseError) as exc:
        add_release("2025-01..03", injured=293, data_dir=data_copy, **dict(SOURCE, date_published="2025-04-15"))
    e = exc.value
    assert (e.kind, e.line) == ("duplicate", line) and e.file.endswith("national_ytd.csv")
    assert "exists" in str(e) and f"line {line}" in str(e) and "\n" not in str(e)
    assert _snapshot(data_copy) == before


def test_conflicting_figure_is_refused_then_recorded_with_a_note(data_copy):
    line = _line_of(data_copy / "regional.csv", lambda r: (r["period"], r["region"]) == ("2025-Q1", "Karaganda"))
    args = dict(regions={"Karaganda": 99}, data_dir=data_copy, **dict(SOURCE, date_published="2025-04-20"))
    before = _snapshot(data_copy)
    with pytest.raises(ReleaseError) as exc:
        add_release("2025-Q1", **args)
    e = exc.value
    assert (e.kind, e.line) == ("conflict", line) and "F215" in str(e) and "= 31" in str(e)
    assert _snapshot(data_copy) == before
    plan = add_release("2025-Q1", conflict_note="figure from a second outlet", **args)
    (row,) = plan.rows[1:]
    assert row.row["preferred"] is False and "CONFLICT" in row.row["note"] and f"line {line}" in row.row["note"]
    reg = data.load_regional(data_copy)
    k = reg[(reg["period"] == "2025-Q1") & (reg["region"] == "Karaganda")]
    assert sorted(k["value"]) == [31, 99]
    assert k.loc[k["preferred"], "value"].tolist() == [31]


# ------------------------------------------------------------------ refused: bad values (same schemas as the loaders)
BAD = [
    (dict(injured=-5), "--injured -5", "count"),
    (dict(injured="2.5"), "--injured 2.5", "integer"),
    (dict(injured="inf"), "--injured inf", "plain decimal"),
    (dict(injured=10**7 + 1), "--injured 10000001", "10,000,000"),
    (dict(injured_change=-100), "--injured-change -100", "> -100"),
    (dict(sector_shares={"gmk": 140}), "--sector-share gmk=140", "[0, 100]"),
    (dict(sector_shares={"piracy": 3}), "--sector-share piracy=3", "unknown sector"),
    (dict(regions=["Atlantis=3"]), "--region Atlantis=3", "unknown region"),
    (dict(regions=["Almaty=3"]), "--region Almaty=3", "ambiguous"),
    (dict(regions=["Karaganda=3", "Qaraganda=4"]), "--region Qaraganda=4", "already given"),
    (dict(regions=["Karaganda"]), "--region", "NAME=VALUE"),
    (dict(injured=5, url="ftp://example.org"), "--url", "https?"),
    (dict(injured=5, date_published="20 July 2025"), "--date", "not a date"),
    (dict(injured=5, date_published="2025-05-01"), "--date", "not after the end of the period 2025-H1"),
    (dict(injured=5, quote="  "), "--quote", "required"),
    (dict(injured=5, publisher=""), "--publisher", "required"),
    (dict(injured=5, language="Russian"), "--language", "language"),
    (dict(injured_change_5y=-6.3), "--injured-change-5y", "annual release"),
    ({}, "no figures", "no figures"),
    (dict(sector_shares={"manufacturing": 5}), "--sector-share manufacturing=5", "BNS"),
]


@pytest.mark.parametrize("kwargs,origin,why", BAD, ids=[b[1] for b in BAD])
def test_bad_value_is_refused_naming_the_option(kwargs, origin, why, pristine):
    before = _snapshot(pristine)
    with pytest.raises(ReleaseError) as exc:
        add_release("2025-H1", data_dir=pristine, **{**SOURCE, **kwargs})
    assert str(exc.value).startswith(origin), str(exc.value)
    assert why in str(exc.value) and "\n" not in str(exc.value), str(exc.value)
    assert _snapshot(pristine) == before


@pytest.mark.parametrize("period,why", [("2025-Q2", "cumulative from January"), ("2025-09", "period must look like"),
                                        ("Q1 2025", "period must look like")])
def test_bad_period_is_refused(period, why, pristine):
    with pytest.raises(ReleaseError, match=why):
        add_release(period, injured=5, data_dir=pristine, **SOURCE)


def test_cli_refusal_is_one_line_with_status_1(pristine, capsys):
    argv = ["add", "--period", "2025-H1", "--region", "Almaty=3", "--url", SOURCE["url"], "--publisher", "X",
            "--date", "2025-07-20", "--quote", "Алматы 3", "--data-dir", str(pristine)]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: --region Almaty=3:") and err.count("\n") == 1


def test_invalid_data_directory_is_refused_up_front(data_copy):
    (data_copy / "events.csv").write_bytes(b"")
    with pytest.raises(ReleaseError, match="do not validate now.*events.csv.*is empty"):
        add_release("2025-H1", injured=612, data_dir=data_copy, **SOURCE)



# ------------------------------------------------------------------ refused: impossible combinations (issue 15)
# Each rule: (period, figures accepted, figures refused, strings the refusal must name). The accepted figures sit at
# or near the rule's boundary; the refused ones cross it. "recorded" cases test against figures already in data/
# (2025-Q1: 293 injured (F211), 40 deaths, six regions adding up to 145, Karaganda 31; 2024: 1,408 injured (F85),
# regions adding up to 703, shares gmk 18.3 and construction 10.1; 2015-H1: 839 injured, no deaths; 2020-H1: 86
# deaths, no injured).
DATES = {"2025-H1": "2025-07-20", "2025-Q1": "2025-04-20", "2024": "2025-02-01", "2015-H1": "2015-07-20",
         "2020-H1": "2020-07-20"}


def _check_rule(period, good, bad, names, data_dir):
    """The good figures pass (dry run); the bad ones are refused, dry run or not, with one line of kind 'invalid'
    naming every string in ``names``; the data directory is left byte for byte as it was."""
    before = _snapshot(data_dir)
    source = dict(SOURCE, date_published=DATES.get(period, SOURCE["date_published"]))
    plan = add_release(period, data_dir=data_dir, dry_run=True, **{**source, **good})
    assert plan.rows and not plan.written
    for dry_run in (True, False):
        with pytest.raises(ReleaseError) as exc:
            add_release(period, data_dir=data_dir, dry_run=dry_run, **{**source, **bad})
        msg = str(exc.value)
        assert exc.value.kind == "invalid" and "\n" not in msg, msg
        assert all(n in msg for n in names), (names, msg)
    assert _snapshot(data_dir) == before


DEATHS_ABOVE_INJURED = [
    ("2025-H1", dict(injured=10, deaths=10), dict(injured=10, deaths=20),
     ["--deaths 20 exceeds --injured 10", "the injured include the fatal"]),
    ("2015-H1", dict(deaths=50), dict(deaths=900), ["--deaths 900 exceeds", "injured 839", "national_ytd.csv line 2"]),
    ("2020-H1", dict(injured=86), dict(injured=85), ["--injured 85 is below", "fatal 86", "national_ytd.csv line"]),
]


@pytest.mark.parametrize("period,good,bad,names", DEATHS_ABOVE_INJURED,
                         ids=["release", "recorded-injured", "recorded-deaths"])
def test_deaths_above_the_injured_are_refused(period, good, bad, names, pristine):
    _check_rule(period, good, bad, names, pristine)


REGION_ABOVE_NATIONAL = [
    ("2025-H1", dict(injured=58, regions=["Karaganda=58"]), dict(injured=10, regions=["Karaganda=58"]),
     ["--region Karaganda=58 exceeds --injured 10"]),
    ("2025-H1", dict(deaths=3, region_deaths=["Qaraganda=3"]), dict(deaths=2, region_deaths=["Qaraganda=3"]),
     ["--region-deaths Qaraganda=3 exceeds --deaths 2"]),
    ("2025-Q1", dict(regions=["Abai=100"]), dict(regions=["Abai=294"]),
     ["--region Abai=294 exceeds", "injured 293", "national_ytd.csv line", "F211"]),
    ("2025-Q1", dict(region_deaths=["Abai=40"]), dict(region_deaths=["Abai=41"]),
     ["--region-deaths Abai=41 exceeds", "fatal 40", "national_ytd.csv line", "F212"]),
]


@pytest.mark.parametrize("period,good,bad,names", REGION_ABOVE_NATIONAL,
                         ids=["injured", "deaths", "recorded-injured", "recorded-deaths"])
def test_a_region_above_the_national_total_is_refused(period, good, bad, names, pristine):
    _check_rule(period, good, bad, names, pristine)


REGIONS_ADD_UP = [
    ("2025-H1", dict(injured=12, regions=["Karaganda=6", "Almaty city=6"]),
     dict(injured=11, regions=["Karaganda=6", "Almaty city=6"]),
     ["--region Almaty city=6", "--region Karaganda=6", "add up to 12", "above --injured 11"]),
    ("2025-H1", dict(deaths=6, region_deaths=["Karaganda=3", "Abai=3"]),
     dict(deaths=5, region_deaths=["Karaganda=3", "Abai=3"]),
     ["--region-deaths Abai=3", "--region-deaths Karaganda=3", "add up to 6", "above --deaths 5"]),
    ("2025-Q1", dict(regions=["Abai=148"]), dict(regions=["Abai=149"]),
     ["--region Abai=149 and 6 regions recorded for 2025-Q1 (145)", "add up to 294", "national_ytd.csv line"]),
    ("2024", dict(regions=["Atyrau=705"]), dict(regions=["Atyrau=706"]),
     ["--region Atyrau=706 and 6 regions recorded for 2024 (703)", "add up to 1409", "injured 1408",
      "national_annual.csv line"]),
]


@pytest.mark.parametrize("period,good,bad,names", REGIONS_ADD_UP,
                         ids=["injured", "deaths", "recorded-ytd", "recorded-annual"])
def test_regions_adding_up_above_the_national_total_are_refused(period, good, bad, names, pristine):
    _check_rule(period, good, bad, names, pristine)


REGION_DEATHS_ABOVE_INJURED = [
    ("2025-H1", dict(regions=["Karaganda=3"], region_deaths=["Qaraganda=3"]),
     dict(regions=["Karaganda=3"], region_deaths=["Qaraganda=4"]),
     ["--region-deaths Qaraganda=4 exceeds --region Karaganda=3", "the injured include the fatal"]),
    ("2025-Q1", dict(region_deaths=["Karaganda=31"]), dict(region_deaths=["Karaganda=32"]),
     ["--region-deaths Karaganda=32 exceeds", "Karaganda injured 31", "regional.csv line"]),
]


@pytest.mark.parametrize("period,good,bad,names", REGION_DEATHS_ABOVE_INJURED, ids=["release", "recorded"])
def test_region_deaths_above_its_injured_are_refused(period, good, bad, names, pristine):
    _check_rule(period, good, bad, names, pristine)


SHARES_ABOVE_100 = [  # tolerance: half a unit of each share's last published decimal
    ("2025-H1", dict(sector_shares={"gmk": "60", "construction": "41"}),  # 101 <= 100 + 2 x 0.5
     dict(sector_shares={"gmk": "60", "construction": "42"}),
     ["--sector-share construction=42", "--sector-share gmk=60", "add up to 102", "100% (+1.0 for rounding)"]),
    ("2025-H1", dict(sector_shares={"gmk": "60.4", "construction": "39.7"}),  # 100.1 <= 100 + 2 x 0.05
     dict(sector_shares={"gmk": "60.4", "construction": "39.8"}),
     ["--sector-share construction=39.8", "--sector-share gmk=60.4", "add up to 100.2", "+0.10 for rounding"]),
    ("2024", dict(sector_shares={"fuel_energy": "71.6"}), dict(sector_shares={"fuel_energy": "71.8"}),
     ["--sector-share fuel_energy=71.8 and 2 sector shares recorded for 2024 (28.4)", "add up to 100.2"]),
]


@pytest.mark.parametrize("period,good,bad,names", SHARES_ABOVE_100, ids=["whole", "one-decimal", "recorded"])
def test_sector_shares_above_100_percent_are_refused(period, good, bad, names, pristine):
    _check_rule(period, good, bad, names, pristine)


SECTOR_COUNT_ABOVE_NATIONAL = [
    ("2025-H1", dict(injured=10, sector_counts={"gmk": 10}), dict(injured=10, sector_counts={"gmk": 11}),
     ["--sector-count gmk=11 exceeds --injured 10"]),
    ("2025-Q1", dict(sector_counts={"gmk": 293}), dict(sector_counts={"gmk": 294}),
     ["--sector-count gmk=294 exceeds", "injured 293", "national_ytd.csv line", "F211"]),
]


@pytest.mark.parametrize("period,good,bad,names", SECTOR_COUNT_ABOVE_NATIONAL, ids=["release", "recorded"])
def test_a_sector_count_above_the_national_total_is_refused(period, good, bad, names, pristine):
    _check_rule(period, good, bad, names, pristine)


_TODAY = date.today()
PUBLICATION_DATES = [
    ("2025-H1", "2025-07-01", "2025-06-30", ["--date 2025-06-30", "end of the period 2025-H1 (2025-06-30)"]),
    ("2025-Q1", "2025-04-01", "2025-03-31", ["--date 2025-03-31", "2025-Q1 (2025-03-31)"]),
    ("2025", "2026-01-01", "2025-12-31", ["--date 2025-12-31", "2025 (2025-12-31)"]),
    ("2025-H1", _TODAY.isoformat(), (_TODAY + timedelta(days=1)).isoformat(), ["--date", "in the future"]),
]


@pytest.mark.parametrize("period,good,bad,names", PUBLICATION_DATES, ids=["H1", "Q1", "annual", "future"])
def test_a_publication_date_outside_the_possible_range_is_refused(period, good, bad, names, pristine):
    figures = dict(injured=50) if period != "2025-Q1" else dict(regions=["Abai=5"])
    _check_rule(period, dict(figures, date_published=good), dict(figures, date_published=bad), names, pristine)


# ------------------------------------------------------------------ dry run and all-or-nothing
def test_dry_run_writes_nothing(data_copy, capsys):
    before = _snapshot(data_copy)
    plan = add_release("2025-H1", data_dir=data_copy, dry_run=True, **RELEASE, **SOURCE)
    assert not plan.written and _snapshot(data_copy) == before
    assert "dry run: nothing written" in plan.summary()
    real = add_release("2025-H1", data_dir=data_copy, **RELEASE, **SOURCE)
    assert [(r.file, r.line, r.text) for r in real.rows] == [(r.file, r.line, r.text) for r in plan.rows]


@pytest.mark.parametrize("fail_at", [1, 2, 4])
def test_failure_half_way_leaves_every_file_unchanged(fail_at, data_copy, monkeypatch):
    """The n-th file write fails (disk full, killed): the files already replaced are put back."""
    real = releases.atomic_write_text
    calls = []

    def flaky(path, text):
        calls.append(path)
        if len(calls) == fail_at:
            raise OSError(28, "No space left on device")
        return real(path, text)

    monkeypatch.setattr(releases, "atomic_write_text", flaky)
    before = _snapshot(data_copy)
    with pytest.raises(OSError, match="No space"):
        add_release("2025-H1", data_dir=data_copy, **RELEASE, **SOURCE)
    assert _snapshot(data_copy) == before
    assert calls[0].name == "sources.csv"  # sources first: a crash never leaves rows without their source
    data.load_all(data_copy)


def _readme_release_commands() -> list[list[str]]:
    """The ``.venv/bin/python -m analysis.releases ...`` lines of README.md's code blocks, as argument lists."""
    import re
    import shlex

    from analysis.core.paths import ROOT

    prefix = ".venv/bin/python -m analysis.releases"
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [shlex.split(line.strip())[len(shlex.split(prefix)):]
            for block in re.findall(r"^```[a-z]*\n(.*?)^```", text, re.S | re.M)
            for line in block.splitlines() if line.strip().startswith(prefix)]


def test_the_readme_release_example_runs_as_written(pristine, capsys):
    commands = _readme_release_commands()
    assert commands, "README.md documents no `.venv/bin/python -m analysis.releases` command"
    before = _snapshot(pristine)
    for args in commands:
        assert "--dry-run" in args, f"a README example must not write into data/: {args}"
        assert main([*args, "--data-dir", str(pristine)]) == 0, capsys.readouterr().err
        out = capsys.readouterr().out
        assert out.lower().startswith("would add (dry run: nothing written)") and "source R1" in out, out
    assert _snapshot(pristine) == before
