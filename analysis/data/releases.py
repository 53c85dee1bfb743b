"""Record a new Ministry release in ``data/`` with one command: ``python -m analysis.releases add``.

A release is a period (``2025-Q1``, ``2025-H1`` or ``2025-01..06``, ``2025-01..07``, ``2025``), its national counts
and published percent changes, its regional counts and sector shares, and the source that states them (URL,
publisher, publication date, exact quote). :func:`add_release`:

1. validates the figures with the same schemas as the loaders (:mod:`analysis.data.schemas`): the new rows are
   appended to a temporary copy of the data directory and the whole copy is loaded; and across fields, with each
   other and with the preferred figures already recorded for the period: deaths not above the injured (nationally
   and per region), no region or sector above the national total, the regions not adding up to more than it, sector
   shares not adding up to more than 100% beyond rounding, a publication date after the period and not in the
   future;
2. refuses a figure already present (same key, same value: "exists", naming file and line) and a conflicting one
   (same key, other value: naming the existing row and its source) unless ``conflict_note`` records it as a
   documented conflict (the new row is then not preferred);
3. adds the source to ``sources.csv`` as ``R<n>`` (the n-th project-added source; ledger sources are ``F<n>``/
   ``D<n>``);
4. writes each changed file atomically, sources first, restoring every file already written if a later write
   fails, so the data directory is all-or-nothing. New rows are appended (existing lines keep their numbers) in
   the file's own column order, quoting and line endings.

Only Ministry (``system = ministry``) releases are recorded: BNS figures come once a year from the statistical
bulletin and go through ``scripts/curate_ledger.py``.
"""

from __future__ import annotations

import argparse
import calendar
import csv
import io
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd

from analysis.core.io import atomic_write_text
from analysis.core.paths import DATA_DIR
from analysis.data import loaders
from analysis.data.consistency import Figure, breaches, figure_key
from analysis.data.geography import borders_of, canonical_region
from analysis.data.schemas import (
    COUNT_MEASURES,
    FILES,
    DataError,
    canonical_period,
    detect_language,
    parse_number,
    period_months,
)

SYSTEM = "ministry"
NATIONAL_OPTIONS = {  # keyword / CLI option -> national measure
    "injured": "injured", "deaths": "fatal", "injured_change": "injured_pct_change_yoy",
    "deaths_change": "fatal_pct_change_yoy", "injured_change_5y": "injured_pct_change_5y",
    "rate_per_1000": "rate_per_1000",
}
SOURCE_OPTIONS = {"url": "--url", "publisher": "--publisher", "quote": "--quote", "language": "--language",
                  "published": "--date"}


class ReleaseError(ValueError):
    """A release refused before anything was written: one line saying why.

    ``kind`` is 'invalid', 'duplicate' or 'conflict'; ``file`` and ``line`` name the existing row for the last two.
    """

    def __init__(self, message: str, kind: str = "invalid", file: str | None = None, line: int | None = None):
        super().__init__(message)
        self.kind, self.file, self.line = kind, file, line


@dataclass(frozen=True)
class AddedRow:
    """One row the release adds: file label, line (1-based, header = 1), the row as written, and what produced it."""

    file: str
    line: int
    row: dict
    origin: str
    text: str


@dataclass(frozen=True)
class ReleasePlan:
    """What :func:`add_release` added (or, with ``dry_run``, would add)."""

    source_id: str
    period: str
    rows: tuple[AddedRow, ...]
    written: bool
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def summary(self) -> str:
        """What the release added, for printing: a header line naming the period and the source (and saying
        "dry run: nothing written" when nothing was), then one line per added row with its file and line.

        Returns
        -------
        str
            The lines joined by newlines; the warnings are not included.
        """
        head = "added" if self.written else "would add (dry run: nothing written)"
        out = [f"{head}: Ministry release {self.period}, source {self.source_id}"]
        out += [f"  {r.file} line {r.line}: {r.text}" for r in self.rows]
        return "\n".join(out)


# ---------------------------------------------------------------- inputs
def _pairs(option: str, items) -> list[tuple[str, str, str]]:
    """(name, value, origin) from a mapping or from 'NAME=VALUE' strings."""
    if items is None:
        return []
    if isinstance(items, Mapping):
        items = [f"{k}={v}" for k, v in items.items()]
    if isinstance(items, str) or not isinstance(items, Iterable):
        raise ReleaseError(f"{option} takes NAME=VALUE items, got {items!r}")
    out = []
    for item in items:
        name, sep, value = str(item).rpartition("=")
        if not sep or not name.strip() or not value.strip():
            raise ReleaseError(f"{option} {item!r}: write NAME=VALUE, e.g. {option} Karaganda=31")
        out.append((name.strip(), value.strip(), f"{option} {item}"))
    return out


def _value_text(value, origin: str, count: bool) -> str:
    """The figure as it will be written: the text given (its decimals matter for shares), sign '+' dropped,
    integer-valued counts without decimals."""
    if isinstance(value, bool) or value is None:
        raise ReleaseError(f"{origin}: expected a number, got {value!r}")
    text = str(value).strip().lstrip("+")
    try:
        v = parse_number(text)
    except ValueError as exc:
        raise ReleaseError(f"{origin}: {exc}") from None
    return str(int(v)) if count and v.is_integer() else text


def _in_quote(text: str, quote: str) -> bool:
    """The figure appears in the quote (allowing 1 408 / 1,408 / 16,8 spellings and a dropped sign)."""
    q = quote.replace("\u00a0", " ").replace("\u202f", " ")
    t = text.lstrip("-")
    pats = {t, t.replace(".", ",")}
    if t.isdigit() and len(t) > 3:
        pats |= {f"{int(t):,}", f"{int(t):,}".replace(",", " ")}
    return any(re.search(rf"(?<![\d.,]){re.escape(p)}(?![\d]|[.,]\d)", q) for p in pats)


def _sector_id(name: str, sectors) -> str:
    by_id = {s.lower(): s for s in sectors["sector"]}
    sid = by_id.get(name.strip().lower())
    ministry = sorted(sectors.loc[sectors["system_scope"] != "bns", "sector"])
    if sid is None:
        raise ReleaseError(f"unknown sector {name!r}; Ministry sectors: {', '.join(ministry)}")
    if sid not in ministry:
        raise ReleaseError(f"sector {sid!r} is a BNS (NACE) grouping, not a Ministry one; Ministry sectors: "
                           f"{', '.join(ministry)}")
    return sid


# ---------------------------------------------------------------- the rows of a release
def _rows(period: str, national: dict, regions, region_deaths, sector_shares, sector_counts, source_id: str,
          data_dir: Path) -> list[tuple[str, dict, str]]:
    """(file, row, origin) for every figure of the release, before conflicts are looked at."""
    out: list[tuple[str, dict, str]] = []
    annual = len(period) == 4
    nat_file = "national_annual" if annual else "national_ytd"
    for key, measure in NATIONAL_OPTIONS.items():
        value = national.get(key)
        if value is None:
            continue
        origin = f"--{key.replace('_', '-')} {value}"
        if measure == "injured_pct_change_5y" and not annual:
            raise ReleaseError(f"{origin}: a five-year change belongs to an annual release (period like 2024)")
        row = {"system": SYSTEM, "measure": measure, "value": _value_text(value, origin, measure in COUNT_MEASURES)}
        row.update({"year": int(period[:4])} if annual else {"year": int(period[:4]), "period": period})
        out.append((nat_file, row, origin))
    sectors = loaders.load_sectors(data_dir)
    by_name = [("--region", regions, "regional", "injured"), ("--region-deaths", region_deaths, "regional", "fatal"),
               ("--sector-share", sector_shares, "sectoral", "share_pct"),
               ("--sector-count", sector_counts, "sectoral", "injured")]
    seen: dict[tuple, str] = {}
    for option, items, file, measure in by_name:
        for name, value, origin in _pairs(option, items):
            try:
                subject = canonical_region(name, data_dir) if file == "regional" else _sector_id(name, sectors)
            except ValueError as exc:
                raise ReleaseError(f"{origin}: {exc}") from None
            if (file, measure, subject) in seen:
                raise ReleaseError(f"{origin}: {subject} is already given by {seen[(file, measure, subject)]}")
            seen[(file, measure, subject)] = origin
            row = {"period": period, "system": SYSTEM}
            if file == "regional":
                row.update(region=subject, region_as_published=name, borders=borders_of(period, subject))
            else:
                row.update(sector=subject, sector_as_published=name)
            row.update(measure=measure, value=_value_text(value, origin, measure != "share_pct"))
            out.append((file, row, origin))
    for _, row, _ in out:
        row.update({"preferred": True, "source_id": source_id, "note": ""})
    return out


def _key(file: str, row: dict) -> tuple:
    return tuple(row[c] for c in FILES[file].key)


def _existing(file: str, row: dict, data_dir: Path) -> list[tuple[int, dict]]:
    """(line, row) of every existing row with the same key as ``row``."""
    table, lines = loaders.table_lines(file, data_dir)
    sel = [True] * len(table)
    for c in FILES[file].key:
        col = table[c].tolist()
        sel = [s and col[i] == row[c] for i, s in enumerate(sel)]
    return [(lines[i], table.iloc[i].to_dict()) for i, s in enumerate(sel) if s]


def _source_text(sources, source_id: str) -> str:
    s = sources[sources["source_id"] == source_id]
    return f"{source_id}: {s['publisher'].iloc[0]}, {s['url'].iloc[0]}" if len(s) else source_id


def _describe(file: str, row: dict) -> str:
    return ", ".join(f"{c}={row[c]}" for c in FILES[file].key)


# ---------------------------------------------------------------- writing
def _csv_line(header: list[str], row: dict, eol: str) -> str:
    buf = io.StringIO()
    vals = [("true" if row.get(c) is True else "false" if row.get(c) is False else row.get(c, "")) for c in header]
    csv.writer(buf, lineterminator=eol).writerow(["" if v is None else v for v in vals])
    return buf.getvalue()


def _append(text: str, header: list[str], rows: list[dict], label: str) -> tuple[str, list[int], list[str]]:
    """``text`` with ``rows`` appended in the file's format; (new text, line of each new row, each row's text)."""
    unknown = sorted({c for r in rows for c in r} - set(header))
    if unknown:
        raise ReleaseError(f"{label} has no column {unknown[0]!r}; the release tool writes the current schema")
    eol = "\r\n" if "\r\n" in text else "\n"
    if text and not text.endswith("\n"):
        text += eol
    first = text.count("\n") + 1
    lines_text = [_csv_line(header, r, eol) for r in rows]
    return text + "".join(lines_text), [first + i for i in range(len(rows))], [t.rstrip("\r\n") for t in lines_text]


def _write_all(new_texts: dict[Path, str], old_bytes: dict[Path, bytes]) -> None:
    """Write every file atomically, sources.csv first (a source without rows is harmless; rows without their
    source are not); if a write fails, put back the files already written."""
    done: list[Path] = []
    order = sorted(new_texts, key=lambda p: p.stem != "sources")
    try:
        for path in order:
            if path.read_bytes() != old_bytes[path]:
                raise ReleaseError(f"{loaders.label_for(path)} changed while the release was being added; "
                                   "nothing was written, run the command again")
            atomic_write_text(path, new_texts[path])
            done.append(path)
    except BaseException:
        for path in done:
            atomic_write_text(path, old_bytes[path].decode("utf-8"))
        raise


# ---------------------------------------------------------------- the command
def add_release(period, *, url: str, publisher: str, date_published: str, quote: str, injured=None, deaths=None,
                injured_change=None, deaths_change=None, injured_change_5y=None, rate_per_1000=None, regions=None,
                region_deaths=None, sector_shares=None, sector_counts=None, language: str | None = None,
                conflict_note: str | None = None, data_dir=DATA_DIR, dry_run: bool = False) -> ReleasePlan:
    """Add one Ministry release to the data files (see the module docstring).

    Parameters
    ----------
    period : str or int
        '2025-Q1', '2025-H1', '2025-01..06' (read as 2025-H1), '2025-01..07', '2025'. Ministry figures are
        cumulative from January, so '2025-Q2'..'Q4' are refused.
    url, publisher, date_published, quote : str
        The source: address, who published it, publication date (YYYY-MM-DD: after the last day of the period,
        not after today) and the exact quote stating the figures (line breaks become spaces).
    injured, deaths : int or str, optional
        National counts (injured includes fatal, as the Ministry publishes them).
    injured_change, deaths_change, injured_change_5y : float or str, optional
        Published percent changes (year on year; five-year only for an annual release), e.g. -16.8.
    rate_per_1000 : float or str, optional
        Published injury rate per 1,000 workers.
    regions, region_deaths : mapping or iterable of 'NAME=N', optional
        Regional injured (deaths) counts; names through :func:`analysis.data.canonical_region` (aliases such as
        Qaraganda work; bare 'Almaty' is refused).
    sector_shares, sector_counts : mapping or iterable of 'SECTOR=X', optional
        Sector shares of the injured in percent (written with the decimals given: '12' and '12.0' differ) and
        sector counts; Ministry sector ids (gmk, construction, fuel_energy).
    language : str, optional
        Language tag of the quote; detected from its script when omitted.
    conflict_note : str, optional
        Record figures that conflict with existing ones as documented conflicts (not preferred) with this note.
    data_dir : path, default the project's data/
        The data folder the release is added to (a copy in tests).
    dry_run : bool
        Validate and return the rows without writing anything.

    Returns
    -------
    ReleasePlan
        The rows added (file, line, text) and the new source id.

    Raises
    ------
    ReleaseError
        One line: an invalid value or an impossible combination of figures (naming the options, and the file and
        line of a recorded figure it contradicts), a figure that exists or conflicts (naming the file, the line and
        the existing row's source). Nothing is written.
    """
    data_dir = Path(data_dir).resolve()
    try:
        period = canonical_period(period)
    except ValueError as exc:
        raise ReleaseError(f"--period: {exc}") from None
    year, first, last = period_months(period)
    if first > 1:
        raise ReleaseError(f"--period {period}: a Ministry release is cumulative from January; write "
                           f"{canonical_period(f'{year}-01..{last:02d}')} (January to {date(year, last, 1):%B})")
    published = str(date_published).strip()
    try:
        when = date.fromisoformat(published)
    except ValueError:
        raise ReleaseError(f"--date: {published!r} is not a date like 2025-04-15") from None
    end = date(year, last, calendar.monthrange(year, last)[1])
    if when <= end:
        raise ReleaseError(f"--date {published}: not after the end of the period {period} ({end:%Y-%m-%d}); a release "
                           "is published once the months it reports are over")
    today = date.today()
    if when > today:
        raise ReleaseError(f"--date {published}: in the future (today is {today:%Y-%m-%d})")
    quote = " ".join(str(quote).split())
    publisher = " ".join(str(publisher).split())
    if not quote or not publisher:
        raise ReleaseError(f"{'--quote' if not quote else '--publisher'} is required and may not be empty")
    try:
        loaded = loaders.load_all(data_dir)  # the current data must be valid before anything is added
    except DataError as exc:
        raise ReleaseError(f"the data do not validate now, fix this first: {exc}") from None
    sources = loaded["sources"]
    n = max([int(s[1:]) for s in sources["source_id"] if s.startswith("R")] + [0]) + 1
    source_id = f"R{n}"
    national = {"injured": injured, "deaths": deaths, "injured_change": injured_change,
                "deaths_change": deaths_change, "injured_change_5y": injured_change_5y, "rate_per_1000": rate_per_1000}
    rows = _rows(period, national, regions, region_deaths, sector_shares, sector_counts, source_id, data_dir)
    if not rows:
        raise ReleaseError("no figures given: add at least one of --injured, --deaths, --injured-change, "
                           "--deaths-change, --region, --sector-share ...")
    warnings = tuple(f"{origin}: {row['value']} does not appear in the quote; check that the quote is the exact text "
                     "stating it" for _, row, origin in rows if not _in_quote(row["value"], quote))

    source_row = {"source_id": source_id, "publisher": publisher, "url": str(url).strip(), "quote": quote,
                  "language": language or detect_language(quote), "published": published}
    _validate_rows([("sources", source_row, "the source")] + rows, loaded, data_dir)
    _check_consistency(period, rows, data_dir)

    for file, row, origin in rows:
        same = _existing(file, row, data_dir)
        label = loaders.label_for(data_dir / f"{file}.csv")
        equal = [(ln, r) for ln, r in same if float(r[loaders.value_column(FILES[file])]) == float(row["value"])]
        if equal:
            ln, r = equal[0]
            raise ReleaseError(f"{origin}: {_describe(file, row)} = {row['value']} exists: {label} line {ln} "
                               f"(source {_source_text(sources, r['source_id'])}); nothing to add",
                               kind="duplicate", file=label, line=ln)
        if same:
            ln, r = next(((ln, r) for ln, r in same if r.get("preferred", True)), same[0])
            if not conflict_note:
                raise ReleaseError(f"{origin}: conflicts with {label} line {ln}: {_describe(file, row)} = "
                                   f"{r['value']:g} (source {_source_text(sources, r['source_id'])}); pass "
                                   "--conflict-note TEXT to record it as a documented conflict",
                                   kind="conflict", file=label, line=ln)
            row["preferred"] = False
            row["note"] = f"CONFLICT with line {ln} ({r['value']:g}, {r['source_id']}): {' '.join(conflict_note.split())}"

    by_file: dict[str, list[tuple[dict, str]]] = {"sources": [(source_row, "the source")]}
    for file, row, origin in rows:
        by_file.setdefault(file, []).append((row, origin))

    old_bytes: dict[Path, bytes] = {}
    new_texts: dict[Path, str] = {}
    added: list[AddedRow] = []
    origins: dict[tuple[str, int], str] = {}
    for file, items in by_file.items():
        path = data_dir / f"{file}.csv"
        raw = path.read_bytes()
        label = loaders.label_for(path)
        text = raw.decode("utf-8")
        header, _, _ = loaders.parse_csv(loaders.decode(raw, label), label)
        new_text, lines, texts = _append(text, header, [r for r, _ in items], label)
        old_bytes[path], new_texts[path] = raw, new_text
        for (row, origin), ln, t in zip(items, lines, texts):
            added.append(AddedRow(label, ln, dict(row), origin, t))
            origins[(file, ln)] = origin
    _validate_copy(data_dir, new_texts, origins)
    plan = ReleasePlan(source_id, period, tuple(added), written=not dry_run, warnings=warnings)
    if not dry_run:
        _write_all(new_texts, old_bytes)
    return plan


def _refusal(exc: DataError, origins: dict[tuple[str, int], str], data_dir: Path) -> ReleaseError:
    """A loader's DataError as a release error: naming the option that produced the row, else the file."""
    stem = Path(exc.file).stem
    origin = origins.get((stem, exc.line))
    if origin is None:
        return ReleaseError(f"{loaders.label_for(data_dir / f'{stem}.csv')}{f', line {exc.line}' if exc.line else ''}"
                            f"{f', column {exc.column!r}' if exc.column else ''}: {exc.problem}")
    if origin == "the source":
        origin = SOURCE_OPTIONS.get(exc.column or "", "the source")
    return ReleaseError(f"{origin}: {exc.problem}" + (f" (column '{exc.column}')" if exc.column else ""))


def _validate_rows(rows: list[tuple[str, dict, str]], loaded: dict, data_dir: Path) -> None:
    """The new rows on their own, through each file's schema (values, names, bounds) before anything else.

    ``rows[0]`` is the new source."""
    by_file: dict[str, list[tuple[dict, str]]] = {}
    for file, row, origin in rows:
        by_file.setdefault(file, []).append((row, origin))
    for file, items in by_file.items():
        path = data_dir / f"{file}.csv"
        label = loaders.label_for(path)
        header = loaders.parse_csv(loaders.decode(path.read_bytes(), label), label)[0]
        text, lines, _ = _append(_csv_line(header, {c: c for c in header}, "\n"), header, [r for r, _ in items], label)
        refs = {r: loaded[r] for r in FILES[file].refs}
        if "sources" in refs:  # the release's own source is added with it
            refs["sources"] = pd.DataFrame({"source_id": [*loaded["sources"]["source_id"], rows[0][1]["source_id"]]})
        try:
            loaders.validate_text(file, text.encode("utf-8"), label, refs)
        except DataError as exc:
            raise _refusal(exc, {(file, ln): o for ln, (_, o) in zip(lines, items)}, data_dir) from None


def _recorded(file: str, period: str, data_dir: Path) -> list[tuple[dict, str, str]]:
    """(row, value as written, where) of each preferred Ministry row of ``file`` for ``period`` already recorded."""
    path = data_dir / f"{file}.csv"
    label = loaders.label_for(path)
    table, lines = loaders.table_lines(file, data_dir)
    header, raw, raw_lines = loaders.parse_csv(loaders.decode(path.read_bytes(), label), label)
    col = loaders.value_column(FILES[file])
    text = {ln: r[header.index(col)] for r, ln in zip(raw, raw_lines)}
    sel = (table["system"] == SYSTEM) & table["preferred"]
    sel &= (table["year"] == int(period)) if file == "national_annual" else (table["period"] == period)
    return [(table.iloc[i].to_dict(), text[lines[i]], f"{label} line {lines[i]}, source {table['source_id'].iloc[i]}")
            for i in sel.to_numpy().nonzero()[0]]


def _figures(period: str, rows: list[tuple[str, dict, str]], data_dir: Path) -> dict[tuple, Figure]:
    """The period's national, regional and sectoral Ministry figures keyed by (file, measure[, subject]): the
    release's own, and the preferred recorded ones it does not restate."""
    nat_file = "national_annual" if len(period) == 4 else "national_ytd"
    out: dict[tuple, Figure] = {}
    for file in (nat_file, "regional", "sectoral"):
        for row, text, where in _recorded(file, period, data_dir):
            what = row.get("region") or row.get("sector") or "national"
            out[figure_key(file, row)] = Figure(Decimal(text), f"the {what} {row['measure']} {text} recorded for "
                                                               f"{period} ({where})")
    for file, row, origin in rows:
        out[figure_key(file, row)] = Figure(Decimal(row["value"]), origin, True)
    return out


def _check_consistency(period: str, rows: list[tuple[str, dict, str]], data_dir: Path) -> None:
    """Refuse impossible combinations of the release's figures, with each other and with the preferred figures
    already recorded for the period: deaths above the injured (nationally or in a region), a region or a sector
    above the national total, the regions adding up to more than the national total, sector shares adding up to
    more than 100% beyond rounding (half a unit of each share's last published decimal). One line naming the
    options (and any recorded row) involved; a combination of recorded figures alone is not the release's fault
    (the loaders refuse it). The rules are :func:`analysis.data.consistency.breaches`, shared with the loaders."""

    def refuse(message: str, why: str) -> None:
        raise ReleaseError(f"{message}: {why}" if message.endswith(")") else f"{message} ({why})")

    for br in breaches(_figures(period, rows, data_dir)):
        if not br.involves_new:
            continue
        if br.kind == "above":
            a, b = br.parts[0], br.limit
            refuse(f"{a.name} exceeds {b.name}" if a.new else f"{b.name} is below {a.name}", br.why)
        named = ", ".join(f.name for f in br.parts if f.new)
        old = [f.value for f in br.parts if not f.new]
        if not named:  # the release's total is below what is recorded
            refuse(f"{br.limit_name} is below the {len(old)} {br.what}s recorded for {period}, which add up to "
                   f"{br.total}", br.why)
        if old:
            named += f" and {len(old)} {br.what}{'s' if len(old) > 1 else ''} recorded for {period} ({sum(old)})"
        refuse(f"{named} add up to {br.total}, above {br.limit_name}", br.why)


def _validate_copy(data_dir: Path, new_texts: dict[Path, str], origins: dict[tuple[str, int], str]) -> None:
    """Load the whole data set with the new rows from a temporary copy: the loaders' own schemas decide."""
    with tempfile.TemporaryDirectory(prefix="release-") as tmp:
        copy = Path(tmp) / "data"
        shutil.copytree(data_dir, copy, ignore=shutil.ignore_patterns(".*"))
        for path, text in new_texts.items():
            (copy / path.name).write_text(text, encoding="utf-8", newline="")
        try:
            loaders.load_all(copy)
        except DataError as exc:
            raise _refusal(exc, origins, data_dir) from None
        finally:
            loaders.forget(copy)


# ---------------------------------------------------------------- command line
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m analysis.releases",
                                description="Record a new Ministry release in data/ (validated, atomic).")
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("add", help="add one release: national counts, changes, regions, sectors, source",
                       description=__doc__.split("\n\n")[1] if __doc__ else None)
    a.add_argument("--period", required=True, help="2025-Q1, 2025-H1 or 2025-01..06, 2025-01..07, 2025")
    a.add_argument("--injured", help="national injured count (including fatal)")
    a.add_argument("--deaths", help="national deaths")
    a.add_argument("--injured-change", help="published year-on-year change of the injured, percent (e.g. -16.8)")
    a.add_argument("--deaths-change", help="published year-on-year change of deaths, percent")
    a.add_argument("--injured-change-5y", help="published five-year change of the injured, percent (annual only)")
    a.add_argument("--rate-per-1000", help="published injury rate per 1,000 workers")
    a.add_argument("--region", action="append", metavar="NAME=N", help="regional injured count (repeatable)")
    a.add_argument("--region-deaths", action="append", metavar="NAME=N", help="regional deaths (repeatable)")
    a.add_argument("--sector-share", action="append", metavar="SECTOR=PCT",
                   help="sector share of the injured in percent, decimals as published (repeatable)")
    a.add_argument("--sector-count", action="append", metavar="SECTOR=N", help="sector injured count (repeatable)")
    a.add_argument("--url", required=True, help="the page that states the figures")
    a.add_argument("--publisher", required=True, help="who published it (e.g. 'MLSPP via informburo.kz')")
    a.add_argument("--date", required=True, help="publication date, YYYY-MM-DD")
    a.add_argument("--quote", required=True, help="the exact quote stating the figures")
    a.add_argument("--language", help="language tag of the quote (default: detected: ru, kk, kk-Arab, en ...)")
    a.add_argument("--conflict-note", help="record figures that conflict with existing ones as documented conflicts")
    a.add_argument("--dry-run", action="store_true", help="print the rows without writing anything")
    a.add_argument("--data-dir", default=str(DATA_DIR), help="data directory (default: the project's data/)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (0 added, 1 refused, 2 usage error).

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``); see ``python -m analysis.releases --help``.

    Returns
    -------
    int
        0 when the release was added (or, with ``--dry-run``, would be), 1 when it was refused (the reason on
        standard error). A usage error exits with status 2 through ``argparse``.
    """
    args = _parser().parse_args(argv)
    try:
        plan = add_release(
            args.period, url=args.url, publisher=args.publisher, date_published=args.date, quote=args.quote,
            injured=args.injured, deaths=args.deaths, injured_change=args.injured_change,
            deaths_change=args.deaths_change, injured_change_5y=args.injured_change_5y,
            rate_per_1000=args.rate_per_1000, regions=args.region, region_deaths=args.region_deaths,
            sector_shares=args.sector_share, sector_counts=args.sector_count, language=args.language,
            conflict_note=args.conflict_note, data_dir=args.data_dir, dry_run=args.dry_run)
    except ReleaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for w in plan.warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(plan.summary())
    return 0
