"""Loaders for data/*.csv: typed DataFrames validated by pandera, with one-line errors.

Every published figure carries a ``source_id`` that exists in ``sources.csv`` (see :mod:`analysis.data.schemas`
for the id scheme). Derived figures are never stored: :mod:`analysis.data.derived` recomputes them. A bad file
raises :class:`DataError` naming the file, the line (1-based, header = line 1), the column and what is wrong.

Loading is lazy per file: ``load_regional`` reads and validates ``regional.csv`` and only the files its rules
reference (``regions``, ``sources``). Validated tables are cached per process, keyed on each file's identity,
size and modification time (and, for a file modified in the last two seconds, on its content), so a file
rewritten in the same process (by the release tool, or a test) is validated again. The preferred Ministry figures
of one period must agree across ``national_*``, ``regional`` and ``sectoral`` (:func:`check_across`, rules in
:mod:`analysis.data.consistency`): checked on the combined set whenever one of them loads. :func:`track_reads` records
which data files a block of code read, for cache keys of the reports built from them.
"""

from __future__ import annotations

import contextvars
import csv
import hashlib
import io
import itertools
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.core.paths import DATA_DIR
from analysis.data.consistency import Breach, Figure, breaches, figure_key
from analysis.data.schemas import DATA_FILES, FILES, DataError, FileSpec, parse_number, schema

# ---------------------------------------------------------------- reading text into rows (with line numbers)


def label_for(path: Path) -> str:
    """How errors name a data file: ``data/<name>.csv`` in the project's data directory, else the full path.

    Parameters
    ----------
    path : str or pathlib.Path
        The data file.

    Returns
    -------
    str
        ``data/<file name>`` when ``path`` lies directly in :data:`analysis.core.paths.DATA_DIR`, else
        ``str(path)``.
    """
    path = Path(path)
    return f"data/{path.name}" if path.resolve().parent == DATA_DIR.resolve() else str(path)


def decode(raw: bytes, label: str) -> str:
    """UTF-8 text of a data file (a leading byte-order mark is dropped); names line and column of a bad byte.

    Parameters
    ----------
    raw : bytes
        The file's content.
    label : str
        How error messages name the file (see :func:`label_for`).

    Returns
    -------
    str
        The decoded text.

    Raises
    ------
    DataError
        When ``raw`` is empty, or is not UTF-8 (naming the line, the column where the header allows, and the
        bad byte).
    """
    if not raw:
        raise DataError(label, None, None, "is empty (0 bytes); a data file needs a header and at least one row")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        start = raw.rfind(b"\n", 0, exc.start) + 1
        end = raw.find(b"\n", exc.start)
        end = len(raw) if end < 0 else end
        header = next(csv.reader([raw.split(b"\n", 1)[0].decode("utf-8", "replace")]), [])
        fields = next(csv.reader([raw[start:end].decode("utf-8", "replace")]), [])
        bad = [i for i, f in enumerate(fields) if "\ufffd" in f]
        column = header[bad[0]] if bad and line > 1 and bad[0] < len(header) else None
        raise DataError(label, line, column, f"is not UTF-8 (byte 0x{raw[exc.start]:02x} at character "
                                             f"{exc.start - start + 1} of the line); save the file as UTF-8") from None


def parse_csv(text: str, label: str) -> tuple[list[str], list[list[str]], list[int]]:
    """(header, rows, line of each row) of CSV text; refuses unbalanced quotes, ragged rows and header-only
    files.

    No data file has a line break inside a field, so a quoted field that runs past its line is an unbalanced
    quote: the error names the line where it opened.

    Parameters
    ----------
    text : str
        The file's decoded text.
    label : str
        How error messages name the file (see :func:`label_for`).

    Returns
    -------
    header : list of str
        The column names.
    rows : list of list of str
        The fields of each data row, as text.
    lines : list of int
        The 1-based file line of each row (header = line 1).

    Raises
    ------
    DataError
        Naming file, line and (where known) column for an empty file, a file with a header only, an unbalanced
        quote, an empty or repeated header field, or a row whose number of fields differs from the header's.
    """
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[tuple[int, list[str]]] = []
    prev = 0
    try:
        for fields in reader:
            start, prev = prev + 1, reader.line_num
            if prev > start:
                i = next((i for i, f in enumerate(fields) if "\n" in f or "\r" in f), None)
                column = records[0][1][i] if records and i is not None and i < len(records[0][1]) else None
                raise DataError(label, start, column, "unbalanced quote: a quoted field opened on this line runs "
                                                      f"on to line {prev}")
            if fields:
                records.append((start, fields))
    except csv.Error as exc:
        raise DataError(label, prev + 1, None, f"unbalanced or misplaced quote ({exc})") from None
    if not records:
        raise DataError(label, None, None, "is empty (no header); a data file needs a header and at least one row")
    (hline, header), body = records[0], records[1:]
    for i, name in enumerate(header):
        if not name.strip():
            raise DataError(label, hline, None, f"header field {i + 1} is empty")
        if name in header[:i]:
            raise DataError(label, hline, name, "column appears twice in the header")
    for line, fields in body:
        if len(fields) != len(header):
            raise DataError(label, line, None, f"has {len(fields)} fields, the header has {len(header)}")
    if not body:
        raise DataError(label, None, None, "has no rows (only a header)")
    return header, [f for _, f in body], [line for line, _ in body]


def _frame(header: list[str], rows: list[list[str]]) -> pd.DataFrame:
    """Text columns; an empty field is missing."""
    return pd.DataFrame({c: pd.array([r[j] or None for r in rows], dtype="str") for j, c in enumerate(header)})


def _numbers(df: pd.DataFrame, spec: FileSpec, lines: list[int], label: str) -> pd.DataFrame:
    """Numeric columns parsed strictly from their text: 'inf', 'nan', '1e300', '1,408' name their line."""
    for col, _ in spec.numbers:
        if col not in df:
            continue  # the schema names the missing column
        out = np.full(len(df), np.nan)
        for i, text in enumerate(df[col]):
            if pd.isna(text):
                continue
            try:
                out[i] = parse_number(text)
            except ValueError as exc:
                raise DataError(label, lines[i], col, str(exc)) from None
        df[col] = out
    return df


# ---------------------------------------------------------------- validation
def _explain(err, label: str, df: pd.DataFrame, lines: list[int]) -> DataError:
    cases = err.failure_cases
    if cases is None or len(cases) == 0:
        return DataError(label, None, None, str(err).splitlines()[0])
    cases = cases.reset_index(drop=True)
    # Prefer a failure that points at a row, then the earliest row.
    row = cases[cases["index"].notna()] if "index" in cases else cases.head(0)
    if len(row):  # the earliest row; on it, a column's own check before a check across columns
        row = row.assign(_wide=row.get("schema_context", pd.Series("", index=row.index)) == "DataFrameSchema")
        row = row.sort_values(["index", "_wide"], kind="stable").head(1)
    else:
        row = cases.head(1)
    c = row.iloc[0]
    column = c.get("column")
    check = str(c.get("check"))
    value = c.get("failure_case")
    index = c.get("index")
    i = int(index) if index is not None and not pd.isna(index) else None
    line = lines[i] if i is not None else None
    if check == "column_in_dataframe":
        return DataError(label, 1, str(value), "required column is missing")
    if check == "column_in_schema":
        return DataError(label, 1, str(value), "unexpected column")
    if c.get("schema_context") == "DataFrameSchema" or column is None or pd.isna(column):
        column = _named_column(check)  # checks across columns are named "<column>: <rule>"
        if i is not None and column in df.columns:
            value = df.iloc[i][column]
    if check.startswith("coerce_dtype") or "dtype" in check:
        problem = f"value {_show(value)} is not of the expected type ({check})"
    elif check == "not_nullable":
        problem = "value is missing"
    else:
        problem = f"value {_show(value)} fails check '{check}'"
    problem = " ".join(problem.split())  # one line, whatever the value holds
    return DataError(label, line, None if column is None or pd.isna(column) else str(column), problem)


def _named_column(check: str) -> str | None:
    head, sep, _ = check.partition(": ")
    return head if sep and head.isidentifier() else None


def _describe(cols, key) -> str:
    return ", ".join(f"{c}={'' if v is None else v!r}" for c, v in zip(cols, key))


def _show(v) -> str:
    """A value as an error shows it: numbers plainly (-5, 16.8, 100000001), text quoted."""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return str(int(v)) if np.isfinite(v) and float(v).is_integer() and abs(v) < 1e16 else repr(float(v))
    return repr(v)


def value_column(spec: FileSpec) -> str | None:
    """The column that carries a file's figure ('value', or 'deaths' for events), if any.

    Parameters
    ----------
    spec : analysis.data.schemas.FileSpec
        The file's specification.

    Returns
    -------
    str or None
        'value' when the file has a numeric ``value`` column, 'deaths' for ``events``, else None.
    """
    return "value" if any(c == "value" for c, _ in spec.numbers) else "deaths" if spec.name == "events" else None


def _check_keys(df: pd.DataFrame, spec: FileSpec, lines: list[int], label: str) -> None:
    """One row per key, or a documented conflict: exactly one preferred row, and a note on every other row whose
    value differs from the preferred one."""
    cols = list(spec.key)
    groups: dict[tuple, list[int]] = {}
    for i, k in enumerate(zip(*(df[c].tolist() for c in cols))):
        groups.setdefault(tuple(None if pd.isna(v) else v for v in k), []).append(i)
    vcol = value_column(spec)
    values = df[vcol].tolist() if vcol else [None] * len(df)
    if not spec.conflicts_allowed:
        for k, idx in groups.items():
            if len(idx) > 1:
                a, b = idx[0], idx[1]
                what = "" if vcol is None else (f" (value {_show(values[b])} here, {_show(values[a])} there)"
                                                if values[a] != values[b] else " (same value)")
                raise DataError(label, lines[b], None, f"duplicate key ({_describe(cols, k)}): already on line "
                                                       f"{lines[a]}{what}; one row per figure", other_line=lines[a])
        return
    preferred = df["preferred"].tolist()
    no_note = df["note"].isna().tolist()
    for k, idx in groups.items():
        pref = [i for i in idx if preferred[i]]
        if len(pref) != 1:
            bad = pref[1] if len(pref) > 1 else idx[-1]
            others = ", ".join(f"line {lines[i]}" for i in idx if i != bad)
            raise DataError(label, lines[bad], "preferred",
                            f"({_describe(cols, k)}) must have exactly one preferred row, has {len(pref)}"
                            + (f"; other rows of this figure: {others}" if others else ""),
                            other_line=lines[pref[0]] if len(pref) > 1 else None)
        p = pref[0]
        for i in idx:
            if i != p and values[i] != values[p] and no_note[i]:
                raise DataError(label, lines[i], "note",
                                f"({_describe(cols, k)}) value {_show(values[i])} conflicts with the preferred "
                                f"{_show(values[p])} on line {lines[p]}; a conflicting row needs a note saying why "
                                "it is not preferred", other_line=lines[p])


def validate_text(name: str, raw: bytes, label: str, refs: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, list[int]]:
    """Validate the bytes of ``data/<name>.csv`` against its spec, given its validated reference tables.

    Returns the typed table and the file line of each row. Raises :class:`DataError`.

    Parameters
    ----------
    name : str
        The file stem, a key of :data:`analysis.data.schemas.FILES`.
    raw : bytes
        The file's content.
    label : str
        How error messages name the file (see :func:`label_for`).
    refs : dict of str to pandas.DataFrame
        The validated tables the file references (``regions``, ``sectors``, ``sources``), by stem.

    Returns
    -------
    table : pandas.DataFrame
        The typed table (text columns as strings, numbers as floats or integers, booleans as bool).
    lines : list of int
        The 1-based file line of each row of ``table`` (header = line 1).

    Raises
    ------
    DataError
        When the file breaks any rule of its schema, naming file, line, column and problem.
    """
    spec = FILES[name]
    header, rows, lines = parse_csv(decode(raw, label), label)
    df = _numbers(_frame(header, rows), spec, lines, label)
    regions = frozenset(refs["regions"]["region"]) if "regions" in refs else frozenset()
    sectors = frozenset(refs["sectors"]["sector"]) if "sectors" in refs else frozenset()
    from pandera.errors import SchemaError, SchemaErrors

    try:
        out = schema(name, regions, sectors).validate(df, lazy=True)
    except (SchemaErrors, SchemaError) as err:
        raise _explain(err, label, df, lines) from None
    if "sources" in refs and "source_id" in out:
        bad = ~out["source_id"].isin(set(refs["sources"]["source_id"]))
        if bad.any():
            i = int(bad.to_numpy().nonzero()[0][0])
            raise DataError(label, lines[i], "source_id",
                            f"source_id {out['source_id'].iloc[i]!r} does not exist in data/sources.csv")
    for col in spec.booleans:
        out[col] = out[col] == "true"
    for col, kind in spec.numbers:
        if kind != "float":
            out[col] = out[col].astype("int64" if kind == "int" else "Int64")
    _check_keys(out, spec, lines, label)
    return out, lines


# ---------------------------------------------------------------- cache and read tracking
_RACY_NS = 2_000_000_000  # a file modified this recently may change again within the clock's resolution
_MAX_DIRS = 8  # data directories kept in the cache (tests use many temporary copies)


@dataclass(frozen=True)
class _Entry:
    fingerprint: tuple
    ref_versions: tuple[int, ...]
    version: int
    table: pd.DataFrame
    lines: tuple[int, ...]
    content: str = ""  # digest of the file, its references and the validating code (the validated-cache key)


# ---------------------------------------------------------------- validated tables kept between processes
# A table that passed validation is stored under a digest of its bytes, its referenced tables' digests, the source
# of this package (the rules) and the pandas and pandera versions; a process that finds it there skips parsing and
# pandera (about 0.3 s per process: the claim checker, every report kernel). A bad file never passes, so it is
# never stored: its error is raised every time. An unreadable or corrupt entry is ignored and rewritten.
# KZ_DATA_CACHE=0 turns it off; KZ_DATA_CACHE=<folder> moves it.
_DISK = "KZ_DATA_CACHE"


def _cache_dir() -> Path | None:
    import os

    from analysis.core.paths import ROOT

    value = os.environ.get(_DISK, "")
    if value == "0":
        return None
    return Path(value) if value else ROOT / ".cache" / "validated-data"


_CODE: list[str] = []


def _code_digest() -> str:
    """Digest of what decides a table's validated form: this package's source and the libraries' versions."""
    if not _CODE:
        from importlib.metadata import version

        h = hashlib.blake2b(digest_size=16)
        for path in sorted(Path(__file__).parent.glob("*.py")):
            h.update(path.name.encode() + b"\0" + path.read_bytes())
        h.update(f"pandas {pd.__version__} pandera {version('pandera')} numpy {np.__version__}".encode())
        _CODE.append(h.hexdigest())
    return _CODE[0]


def _content_key(name: str, raw: bytes, refs: dict) -> str:
    h = hashlib.blake2b(digest_size=20)
    h.update(name.encode() + b"\0" + _code_digest().encode())
    for r in sorted(refs):
        h.update(r.encode() + b"=" + refs[r].content.encode())
    h.update(raw)
    return h.hexdigest()


def _disk_get(key: str):
    folder = _cache_dir()
    if folder is None:
        return None
    try:
        import pickle

        with open(folder / f"{key}.pkl", "rb") as fh:
            table, lines = pickle.load(fh)
        return (table, lines) if isinstance(table, pd.DataFrame) else None
    except Exception:  # noqa: BLE001 - a missing, truncated or foreign entry is a miss, never an error
        return None


def _disk_put(key: str, table: pd.DataFrame, lines) -> None:
    folder = _cache_dir()
    if folder is None:
        return
    try:
        import pickle

        from analysis.core.io import atomic_write_bytes

        atomic_write_bytes(folder / f"{key}.pkl", pickle.dumps((table, list(lines)), protocol=5))
    except OSError:  # a read-only checkout or a full disk: validate again next time
        pass


_CACHE: OrderedDict[str, dict[str, _Entry]] = OrderedDict()
_LOCK = threading.RLock()
_VERSIONS = itertools.count(1)
_TRACKERS: contextvars.ContextVar[tuple[set[str], ...]] = contextvars.ContextVar("data_reads", default=())


def _fingerprint(path: Path, label: str) -> tuple:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise DataError(label, None, None, "file not found") from None
    fp: tuple = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    if time.time_ns() - st.st_mtime_ns < _RACY_NS:
        fp += (hashlib.blake2b(path.read_bytes(), digest_size=16).digest(),)
    return fp


@contextmanager
def track_reads():
    """Record the data files read inside the block.

    Yields
    ------
    set of str
        Filled with the stems (``'regional'``, ``'regions'``, ``'sources'``, ...) of every data file a loader read
        inside the block, including files read only because another file's rules reference them, and files read
        from the cache. Blocks nest; each records what was read inside it.

    Examples
    --------
    >>> with track_reads() as files:
    ...     _ = load_regional()
    >>> sorted(files)
    ['regional', 'regions', 'sources']
    """
    files: set[str] = set()
    token = _TRACKERS.set(_TRACKERS.get() + (files,))
    try:
        yield files
    finally:
        _TRACKERS.reset(token)


def _entry(name: str, data_dir) -> _Entry:
    if name not in FILES:
        raise ValueError(f"unknown data file {name!r}; data files: {', '.join(DATA_FILES)}")
    d = Path(data_dir).resolve()
    for files in _TRACKERS.get():
        files.add(name)
    with _LOCK:
        refs = {r: _entry(r, d) for r in FILES[name].refs}
        path = d / f"{name}.csv"
        label = label_for(path)
        fp = _fingerprint(path, label)
        versions = tuple(e.version for e in refs.values())
        cached = _CACHE.get(str(d), {}).get(name)
        if cached is not None and cached.fingerprint == fp and cached.ref_versions == versions:
            _CACHE.move_to_end(str(d))
            return cached
        raw = path.read_bytes()
        key = _content_key(name, raw, refs)
        stored = _disk_get(key)
        if stored is None:
            table, lines = validate_text(name, raw, label, {r: e.table for r, e in refs.items()})
            _disk_put(key, table, lines)
        else:
            table, lines = stored
        entry = _Entry(fp, versions, next(_VERSIONS), table, tuple(lines), key)
        _CACHE.setdefault(str(d), {})[name] = entry
        _CACHE.move_to_end(str(d))
        while len(_CACHE) > _MAX_DIRS:
            _CACHE.popitem(last=False)
        return entry


def forget(data_dir) -> None:
    """Drop a data directory's tables from the cache (a temporary copy that is about to be deleted).

    Parameters
    ----------
    data_dir : str or pathlib.Path
        The data folder whose cached tables are dropped; nothing happens when none are cached.
    """
    with _LOCK:
        _CACHE.pop(str(Path(data_dir).resolve()), None)
        _ACROSS_OK.pop(str(Path(data_dir).resolve()), None)


def table_lines(name: str, data_dir=DATA_DIR) -> tuple[pd.DataFrame, tuple[int, ...]]:
    """A validated table (a copy) and the file line of each of its rows (for messages naming existing rows).

    Parameters
    ----------
    name : str
        The file stem (``"regional"``, ``"sources"``, ...), a key of :data:`analysis.data.schemas.FILES`.
    data_dir : str or pathlib.Path, default DATA_DIR
        The data folder.

    Returns
    -------
    table : pandas.DataFrame
        A copy of the validated table.
    lines : tuple of int
        The 1-based file line (header = line 1) of each row of ``table``, in order.

    Raises
    ------
    DataError
        When the file (or a file it references) fails validation, naming file, line, column and problem.
    """
    e = _entry(name, data_dir)
    if name in ACROSS:
        check_across(data_dir)
    return e.table.copy(), e.lines


def _get(name: str, data_dir) -> pd.DataFrame:
    e = _entry(name, data_dir)
    if name in ACROSS:
        check_across(data_dir)
    return e.table.copy()


# ---------------------------------------------------------------- rules across files
ACROSS = ("national_annual", "national_ytd", "regional", "sectoral")
_ACROSS_OK: dict[str, tuple[int, ...]] = {}  # data dir -> versions of ACROSS found consistent


def _value_texts(name: str, d: Path) -> dict[int, str]:
    """The value column as written, by line (the shares' decimals decide their rounding allowance)."""
    path = d / f"{name}.csv"
    label = label_for(path)
    header, rows, lines = parse_csv(decode(path.read_bytes(), label), label)
    j = header.index("value")
    return {ln: r[j] for r, ln in zip(rows, lines)}


def _period_figures(tables: dict[str, _Entry], d: Path) -> dict[str, dict[tuple, Figure]]:
    """The preferred Ministry figures of each period, keyed as :func:`analysis.data.consistency.breaches` wants."""
    out: dict[str, dict[tuple, Figure]] = {}
    for name, e in tables.items():
        t = e.table
        sel = ((t["system"] == "ministry") & t["preferred"]).to_numpy().nonzero()[0]
        if not len(sel):
            continue
        texts = _value_texts(name, d)
        label = label_for(d / f"{name}.csv")
        periods = t["year"].astype(str) if name == "national_annual" else t["period"]
        for i in sel:
            row = t.iloc[i]
            line = e.lines[i]
            text = texts.get(line) or _show(row["value"])
            what = row["region"] if name == "regional" else row["sector"] if name == "sectoral" else "national"
            out.setdefault(periods.iloc[i], {})[figure_key(name, row)] = Figure(
                Decimal(text), f"{what} {row['measure']} {text}", where=(label, line))
    return out


def _breach_error(period: str, br: Breach) -> DataError:
    """A broken rule as the loaders' one-line error: on the row at fault (the figure above its limit; for a sum,
    the part on the last line), naming the row it conflicts with."""
    def at(f: Figure, label: str) -> str:
        return f"line {f.where[1]}" + ("" if f.where[0] == label else f" of {f.where[0]}")

    if br.kind == "above":
        a, b = br.parts[0], br.limit
        return DataError(a.where[0], a.where[1], "value", f"{period} Ministry {a.name} exceeds {b.name} on "
                         f"{at(b, a.where[0])} ({br.why}); the preferred figures of a period must agree",
                         other_line=b.where[1])
    last = max(br.parts, key=lambda f: f.where[1])
    label = last.where[0]
    lines = ", ".join(str(f.where[1]) for f in sorted(br.parts, key=lambda f: f.where[1]))
    limit = br.limit_name if br.limit is None else f"{br.limit_name} on {at(br.limit, label)}"
    other = br.limit.where[1] if br.limit is not None else min(f.where[1] for f in br.parts)
    return DataError(label, last.where[1], "value", f"the {len(br.parts)} {period} Ministry {br.what}s "
                     f"({br.parts[0].name.split()[1]}) on lines {lines} add up to {br.total}, above {limit} "
                     f"({br.why}); the preferred figures of a period must agree", other_line=other)


def check_across(data_dir=DATA_DIR) -> None:
    """Apply the rules of :mod:`analysis.data.consistency` to the preferred Ministry figures of every period in
    ``national_annual``/``national_ytd``, ``regional`` and ``sectoral``.

    The per-file validation (and the validated tables kept on disk) sees one file; these rules tie the files
    together, so they run on the combined set whenever one of the four files is loaded (and by :func:`load_all`
    after every file validated), once per version of the four tables in a process. :func:`track_reads` records the
    reads made for the check (so a report whose study loads one of the four declares all four in
    ``analysis/studies/registry.py``, and its cache key covers them), and a file that fails its own validation is
    left to its own loader.
    BNS rows and non-preferred rows are outside the rules (see :mod:`analysis.data.consistency`).

    Parameters
    ----------
    data_dir : str or pathlib.Path, default DATA_DIR
        The data folder.

    Raises
    ------
    DataError
        On the first broken rule (periods in order): naming the file, line and column of the row at fault, the
        rule, and the row it conflicts with (``other_line``; its file in the message when it is another file).
    """
    d = Path(data_dir).resolve()
    with _LOCK:
        tables = {}
        for name in ACROSS:
            try:
                tables[name] = _entry(name, d)
            except DataError:
                continue  # its own loader names the problem
        versions = tuple(tables[n].version if n in tables else 0 for n in ACROSS)
        if _ACROSS_OK.get(str(d)) == versions:
            return
        for period, fig in sorted(_period_figures(tables, d).items()):
            br = next(breaches(fig), None)
            if br is not None:
                raise _breach_error(period, br)
        _ACROSS_OK[str(d)] = versions
        while len(_ACROSS_OK) > _MAX_DIRS:
            _ACROSS_OK.pop(next(iter(_ACROSS_OK)))


# ---------------------------------------------------------------- loaders
LOAD_ORDER = ("regions", "sectors", "sources", "region_aliases", "national_annual", "national_ytd", "regional",
              "sectoral", "workforce", "population", "events", "international")


def load_all(data_dir: str | Path = DATA_DIR) -> dict[str, pd.DataFrame]:
    """Validate every data file (cached per file), then the rules across files (:func:`check_across`); returns
    copies keyed by file stem.

    Parameters
    ----------
    data_dir : str or pathlib.Path, default DATA_DIR
        The data folder.

    Returns
    -------
    dict of str to pandas.DataFrame
        One validated copy per file of :data:`LOAD_ORDER`, keyed by its stem (``"regional"``, ``"sources"``,
        ...).

    Raises
    ------
    DataError
        When any file fails validation, or the preferred Ministry figures of a period contradict each other
        across files (:func:`check_across`), naming file, line (header = line 1), column and problem.
    """
    entries = {name: _entry(name, data_dir) for name in LOAD_ORDER}
    check_across(data_dir)
    return {name: e.table.copy() for name, e in entries.items()}


def load_sources(data_dir=DATA_DIR) -> pd.DataFrame:
    """Every figure's provenance: publisher, URL, exact quote, language, ledger row (or publication date).

    Parameters
    ----------
    data_dir : str or pathlib.Path, default DATA_DIR
        The data folder (the project's ``data/`` unless a test or the release tool passes a copy).

    Returns
    -------
    pandas.DataFrame
        A copy of the validated table, one row per ``source_id``.

    Raises
    ------
    DataError
        When ``sources.csv`` (or a file it references) fails validation; the message names the file, the line
        (header = line 1), the column and the problem.
    """
    return _get("sources", data_dir)


def load_regions(data_dir=DATA_DIR) -> pd.DataFrame:
    """The 20 first-level units after the June 2022 reform, with the pre-2022 parent of the three new ones.

    Parameters
    ----------
    data_dir : str or pathlib.Path, default DATA_DIR
        The data folder (the project's ``data/`` unless a test or the release tool passes a copy).

    Returns
    -------
    pandas.DataFrame
        A copy of the validated table, one row per region.

    Raises
    ------
    DataError
        When ``regions.csv`` (or a file it references) fails validation; the message names the file, the line
        (header = line 1), the column and the problem.
    """
    return _get("regions", data_dir)


def load_region_aliases(data_dir=DATA_DIR) -> pd.DataFrame:
    """Spellings of region names (English, Russian, Kazakh, former names) and the canonical region each means.

    Parameters
    ----------
    data_dir : str or pathlib.Path, default DATA_DIR
        The data folder (the project's ``data/`` unless a test or the release tool passes a copy).

    Returns
    -------
    pandas.DataFrame
        A copy of the validated table: columns ``alias`` and ``region``.

    Raises
    ------
    DataError
        When ``region_aliases.csv`` (or a file it references: ``regions.csv``) fails validation; the message
        names the file, the line (header = line 1), the column and the problem.
    """
    return _get("region_aliases", data_dir)


def load_sectors(data_dir=DATA_DIR) -> pd.DataFrame:
    """The sectors the data use: an id, the statistical system it belongs to, its name and a note on its
    definition.

    Parameters
    ----------
    data_dir : str or pathlib.Path, default DATA_DIR
        The data folder (the project's ``data/`` unless a test or the release tool passes a copy).

    Returns
    -------
    pandas.DataFrame
        A copy of the validated table, one row per ``sector`` id.

    Raises
    ------
    DataError
        When ``sectors.csv`` (or a file it references) fails validation; the message names the file, the line
        (header = line 1), the column and the problem.
    """
    return _get("sectors", data_dir)


def load_regional(data_dir=DATA_DIR) -> pd.DataFrame:
    """Regional counts as published (only the top regions of each release); ``preferred`` marks the figure to
    use where two sources give one.

    Parameters
    ----------
    data_dir : str or pathlib.Path, default DATA_DIR
        The data folder (the project's ``data/`` unless a test or the release tool passes a copy).

    Returns
    -------
    pandas.DataFrame
        A copy of the validated table, one row per period, system, region and measure.

    Raises
    ------
    DataError
        When ``regional.csv`` (or a file it references: ``regions.csv``, ``sources.csv``) fails validation, or a
        figure breaks a rule across files (:func:`check_across`); the message names the file, the line (header =
        line 1), the column and the problem.
    """
    return _get("regional", data_dir)


def load_sectoral(data_dir=DATA_DIR) -> pd.DataFrame:
    """Sector counts and shares as published, by period and statistical system; ``preferred`` marks the figure
    to use where two sources give one.

    Parameters
    ----------
    data_dir : str or pathlib.Path, default DATA_DIR
        The data folder (the project's ``data/`` unless a test or the release tool passes a copy).

    Returns
    -------
    pandas.DataFrame
        A copy of the validated table, one row per period, system, sector and measure.

    Raises
    ------
    DataError
        When ``sectoral.csv`` (or a file it references: ``sectors.csv``, ``sources.csv``) fails validation, or a
        figure breaks a rule across files (:func:`check_across`); the message names the file, the line (header =
        line 1), the column and the problem.
    """
    return _get("sectoral", data_dir)


def load_workforce(data_dir=DATA_DIR) -> pd.DataFrame:
    """Employment denominators; ``basis`` says LFS, enterprise survey, census or government figure: never mix.

    Parameters
    ----------
    data_dir : str or pathlib.Path, default DATA_DIR
        The data folder (the project's ``data/`` unless a test or the release tool passes a copy).

    Returns
    -------
    pandas.DataFrame
        A copy of the validated table, one row per period, geography, sector, measure and basis.

    Raises
    ------
    DataError
        When ``workforce.csv`` (or a file it references: ``regions.csv``, ``sectors.csv``, ``sources.csv``)
        fails validation; the message names the file, the line (header = line 1), the column and the problem.
    """
    return _get("workforce", data_dir)


def load_population(data_dir=DATA_DIR) -> pd.DataFrame:
    """Resident population by date and geography, with the borders (pre- or post-2022) it refers to;
    ``preferred`` marks the figure to use where two sources give one.

    Parameters
    ----------
    data_dir : str or pathlib.Path, default DATA_DIR
        The data folder (the project's ``data/`` unless a test or the release tool passes a copy).

    Returns
    -------
    pandas.DataFrame
        A copy of the validated table, one row per date, geography, borders and source.

    Raises
    ------
    DataError
        When ``population.csv`` (or a file it references: ``regions.csv``, ``sources.csv``) fails validation;
        the message names the file, the line (header = line 1), the column and the problem.
    """
    return _get("population", data_dir)


def load_events(data_dir=DATA_DIR) -> pd.DataFrame:
    """Mass-casualty accidents (date, site, region, deaths).

    Parameters
    ----------
    data_dir : str or pathlib.Path, default DATA_DIR
        The data folder (the project's ``data/`` unless a test or the release tool passes a copy).

    Returns
    -------
    pandas.DataFrame
        A copy of the validated table, one row per accident.

    Raises
    ------
    DataError
        When ``events.csv`` (or a file it references: ``regions.csv``, ``sources.csv``) fails validation; the
        message names the file, the line (header = line 1), the column and the problem.
    """
    return _get("events", data_dir)


def __getattr__(name: str):
    """Names that moved to :mod:`analysis.data.derived`, :mod:`.geography` or :mod:`.schemas` stay importable from
    here (``from analysis.data.loaders import national_series``)."""
    from analysis.data import derived, geography, schemas

    for module in (derived, geography, schemas):
        if hasattr(module, name):
            return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
