"""Tables and text from data, made safe for HTML and Markdown.

``html_table`` for a DataFrame shown in a report (every cell escaped, URLs as links); ``escape`` for any text from
data placed into HTML; ``md_escape`` / ``md_table`` for text from data placed into Markdown.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any


# CommonMark lets any ASCII punctuation be backslash-escaped; these are the ones that can start markup or HTML.
def escape(text: Any) -> str:
    """HTML-escape ``text`` (quotes included): for any text from data placed into HTML.

    Parameters
    ----------
    text : object
        The text (``str()`` of anything else; None becomes the empty string).

    Returns
    -------
    str
        The escaped text.
    """
    return html.escape("" if text is None else str(text), quote=True)


# CommonMark lets any ASCII punctuation be backslash-escaped; these are the ones that can start markup or HTML.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>&])")


def md_escape(text: Any) -> str:
    """Text from data made literal in Markdown: every markup or HTML character is backslash-escaped.

    ``display(Markdown(f"> {md_escape(quote)}"))`` shows the quote as written, ``<script>`` included (as
    text), in JupyterLab and in the built report alike. Newlines become spaces (a table cell or list item
    stays one line).

    Parameters
    ----------
    text : object
        The text (``str()`` of anything else; None becomes the empty string).

    Returns
    -------
    str
        The escaped text, on one line.

    References
    ----------
    .. [1] CommonMark Spec, "Backslash escapes", https://spec.commonmark.org/0.31.2/#backslash-escapes
    """
    s = "" if text is None else str(text)
    s = " ".join(s.splitlines())
    return _MD_SPECIAL.sub(r"\\\1", s)


def md_table(
    rows: Iterable[Mapping[str, Any]] | Iterable[Sequence[Any]], columns: Sequence[str] | None = None
) -> str:
    """A Markdown table whose every cell (and header) is escaped with ``md_escape``.

    ``rows`` are mappings (``columns`` defaults to the first row's keys) or sequences (then ``columns`` is
    needed). Floats are shown with ``repr``-free ``str``; ``None`` as an empty cell.

    Parameters
    ----------
    rows : iterable of mapping or iterable of sequence
        The table's rows.
    columns : sequence of str, optional
        The column names (and, for mapping rows, the keys read, in order).

    Returns
    -------
    str
        The Markdown table (header, rule, one line per row), ending with a newline.

    Raises
    ------
    ValueError
        When ``columns`` is missing and the rows are not mappings, or when a sequence row has a different
        number of cells from ``columns``.
    """
    rows = list(rows)
    if columns is None:
        if not rows or not isinstance(rows[0], Mapping):
            raise ValueError("md_table needs columns= when rows are not mappings")
        columns = list(rows[0].keys())
    columns = list(columns)
    head = "| " + " | ".join(md_escape(c) for c in columns) + " |"
    rule = "|" + "|".join(" --- " for _ in columns) + "|"
    lines = [head, rule]
    for row in rows:
        values = [row.get(c) for c in columns] if isinstance(row, Mapping) else list(row)
        if len(values) != len(columns):
            raise ValueError(f"md_table row has {len(values)} cells, expected {len(columns)}: {values!r}")
        lines.append("| " + " | ".join("" if v is None else md_escape(v) for v in values) + " |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------- tables
# One formatting policy for every table a report shows (analysis.core.fmt), chosen per column from its name and
# values: p-values as 0.022 / < 0.001, percents signed with one decimal, counts and years as integers (counts with
# thousands separators), other numbers with 3 significant figures (never scientific notation, never 1319.51
# people), booleans as yes/no. Headers in snake_case get a plain-English fallback ("p_above_holm" ->
# "p above Holm").

LONG_TABLE = 40  # rows; a longer table shows its first SUMMARY_ROWS rows and folds the rest away
SUMMARY_ROWS = 15

_HEADER_WORDS = {
    "pct": "%", "ci": "CI", "rr": "RR", "phi": "φ", "sd": "SD", "se": "SE", "chi2": "χ²", "bns": "BNS",
    "lfs": "LFS", "apc": "APC", "aapc": "AAPC", "eb": "EB", "bh": "BH", "holm": "Holm", "midp": "mid-p",
    "loo": "leave-one-out", "ytd": "year-to-date", "yoy": "year on year", "id": "ID", "ids": "IDs",
    "pvalue": "p-value", "nb": "NB", "gmk": "GMK", "url": "link",
}
_WORD = re.compile(r"[A-Za-z0-9.]+|[^A-Za-z0-9.]+")


def plain_words(name: Any) -> str:
    """A snake_case name spelled out in words, case kept ('p_above_holm' -> 'p above Holm', 'change_pct' ->
    'change %', 'current_count' -> 'current count'): :func:`plain_header` without the capital.

    Parameters
    ----------
    name : object
        The name (``str()`` of anything else).

    Returns
    -------
    str
        The name in words.
    """
    out = []
    for piece in _WORD.findall(str(name).replace("_", " ")):
        out.append(_HEADER_WORDS.get(piece.lower(), piece) if piece[:1].isalnum() else piece)
    text = re.sub(r"\s+", " ", "".join(out)).strip()
    return re.sub(r"\bp value\b", "p-value", text)


def plain_header(name: Any) -> str:
    """A column header for readers: snake_case names spelled out ('p_above_holm [population]' -> 'p above Holm
    [population]', 'change_pct' -> 'Change %', 'eb estimate' -> 'EB estimate'), in sentence case.

    Parameters
    ----------
    name : object
        The column name.

    Returns
    -------
    str
        The header (a statistical symbol that opens it, such as 'p-value' or 'n', keeps its case).
    """
    return _sentence_case(plain_words(name))


def _sentence_case(text: str) -> str:
    """First letter capitalised ('period' -> 'Period'), except a statistical symbol that opens the header
    ('p-value', 'n', 'k of n', 'x1 ...'): the case of a symbol carries meaning."""
    first = re.match(r"[^\W\d_]+", text)
    if not first or not text[0].islower() or len(first.group(0)) == 1:
        return text
    return text[0].upper() + text[1:]


# The codes of the data files as readers see them in a report's tables: the ``measure`` and ``system`` columns of
# data/national_annual.csv, national_ytd.csv, regional.csv and sectoral.csv, workforce.csv's ``measure`` and
# international.csv's ``metric``. Only the HTML changes: the CSV downloads keep the codes.
VALUE_WORDS = {
    # systems
    "bns": "BNS", "ministry": "Ministry",
    # counts
    "injured": "injured", "fatal": "deaths", "victims": "victims (BNS)", "accidents": "accidents",
    "fatal_accidents": "fatal accidents", "group_accident_victims": "victims of group accidents",
    "occupational_disease_victims": "victims of occupational disease",
    "victims_large_medium": "victims (BNS), large and medium enterprises",
    "victims_small": "victims (BNS), small enterprises",
    # changes
    "injured_pct_change_yoy": "injured: % change on a year earlier",
    "injured_pct_change_5y": "injured: % change over five years",
    "injured_pct_change_6y": "injured: % change over six years",
    "fatal_pct_change_yoy": "deaths: % change on a year earlier",
    "fatal_change_abs_yoy": "deaths: change on a year earlier",
    "victims_pct_change_yoy": "victims (BNS): % change on a year earlier",
    "victims_change_abs_yoy": "victims (BNS): change on a year earlier",
    # rates and shares
    "rate_per_1000": "injury rate per 1,000 workers",
    "fatal_rate_per_100k": "fatal rate per 100,000 workers",
    "nonfatal_rate_per_100k": "non-fatal rate per 100,000 workers",
    "nonfatal_rate_per_1000": "non-fatal rate per 1,000 workers",
    "share_pct": "share of the injured (%)",
    # workforce
    "employed": "employed", "employed_share_pct": "share of the employed (%)", "hired_employees": "hired employees",
    "self_employed": "self-employed",
    # international comparators
    "fatal_injuries": "fatal injuries", "nonfatal_injuries": "non-fatal injuries",
    "nonfatal_injuries_and_illnesses": "non-fatal injuries and illnesses",
    "nonfatal_injuries_days_away": "non-fatal injuries with days away from work",
    "nonfatal_injuries_selfreported": "self-reported non-fatal injuries",
    "ratio_statement": "stated ratio",
}
_CODE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$")
_CODE_COLUMNS = {"measure", "measures", "system", "kind", "figure", "metric"}


def plain_value(value: Any, codes: bool = False) -> Any:
    """A text cell for readers: a known data code in words (:data:`VALUE_WORDS`: 'fatal_pct_change_yoy' ->
    'deaths: % change on a year earlier', 'bns' -> 'BNS'); with ``codes`` (a column of codes, such as
    ``measure`` or ``system``) any other snake_case code spelled out ('victims_per_shift' -> 'victims per
    shift'). Other values are returned unchanged.

    Parameters
    ----------
    value : object
        The cell.
    codes : bool, default False
        Whether the column holds data codes.

    Returns
    -------
    object
        The words for a code, else ``value`` unchanged.
    """
    if not isinstance(value, str):
        return value
    if value in VALUE_WORDS:
        return VALUE_WORDS[value]
    if codes and _CODE.match(value):
        return plain_words(value)
    return value


def plain_parameter(name: str, value: Any) -> str:
    """A parameter of a run for readers (plain text, to be escaped): its name in words and its value under the
    table policy: 'current count 1,430', 'reported change -17.6%', 'period 2019', 'measure deaths', 'exact
    yes'.

    A name ending in ``_pct`` gives a percent with the decimals it was given; whole numbers read as counts
    (with thousands separators, never '180.0') except years and other year-like numbers; a data code reads as
    words (:func:`plain_value`); a list as its values separated by commas.

    Parameters
    ----------
    name : str
        The parameter's name.
    value : object
        Its value (None reads 'none'; a dict reads as JSON).

    Returns
    -------
    str
        The name in words, a space and the formatted value.
    """
    import json

    from analysis.core import fmt

    tokens = _tokens(name)
    words = plain_words(name)
    percent = bool(tokens & {"pct", "percent"})
    if percent:
        words = re.sub(r"\s*%$", "", words)

    def one(v: Any) -> str:
        if v is None:
            return "none"
        if _is_bool(v):
            return fmt.fmt_bool(v)
        if _is_number(v):
            if percent:
                return fmt.fmt_percent(v, decimals=fmt.decimals_of(float(v)), signed=True)
            if float(v).is_integer() and tokens & _YEARLIKE:
                return str(int(v))
            return _as_published(v)
        if isinstance(v, (list, tuple)):
            return ", ".join(one(x) for x in v)
        if isinstance(v, dict):
            return json.dumps(v, ensure_ascii=False)
        return str(plain_value(v, codes=bool(tokens & _CODE_COLUMNS)))

    return f"{words} {one(value)}"


def _tokens(name: str) -> set[str]:
    return {t for t in re.split(r"[\s_()\[\],/]+", str(name).lower()) if t}


_YEARLIKE = {"year", "years", "month", "months", "quarter", "day", "rank", "line", "id", "row", "decimals",
             "version", "reference"}


def column_kind(name: Any, values: Sequence[Any]) -> str:
    """How a column is formatted: 'pvalue', 'percent', 'bool', 'integer' (years, months, ranks: no
    separators), 'count' (whole numbers with separators), 'number' (3 significant figures) or 'text'.
    (:func:`html_table` also uses 'value': the values of different measures in one column, each as published.)

    Parameters
    ----------
    name : object
        The column name; its words decide between p-value, percent and year-like columns.
    values : sequence
        The column's values; missing values are ignored.

    Returns
    -------
    str
        The kind: 'bool' when every value is a boolean, 'text' unless every value is a number, else from the
        name and whether every value is whole.
    """
    tokens = _tokens(name)
    present = [v for v in values if not _missing(v)]
    if present and all(_is_bool(v) for v in present):
        return "bool"
    numeric = present and all(_is_number(v) for v in present)
    if not numeric:
        return "text"
    if tokens & {"p", "pvalue", "p-value", "mid-p", "midp"} or any(t.startswith("p-value") for t in tokens):
        return "pvalue"
    if tokens & {"pct", "percent", "%"} or str(name).rstrip().endswith("%"):
        return "percent"
    if all(float(v).is_integer() for v in present):
        return "integer" if tokens & _YEARLIKE else "count"
    return "number"


def _missing(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, (list, tuple, dict, set)):
        return False
    try:
        import pandas as pd

        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _is_bool(v: Any) -> bool:
    """A Python or NumPy boolean (NumPy 2 names its type ``numpy.bool``, NumPy 1 ``numpy.bool_``)."""
    import numpy as np

    return isinstance(v, (bool, np.bool_))


def _is_number(v: Any) -> bool:
    import numbers

    return isinstance(v, numbers.Real) and not _is_bool(v)


def format_cell(v: Any, kind: str, *, signed: bool = True, decimals: int | None = None,
                codes: bool = False, years: bool = False) -> str:
    """One cell's text under the table policy (see :func:`column_kind`): a boolean as 'yes'/'no' in any
    column, a missing value as ''; a text cell that is a data code in words (:func:`plain_value`, ``codes``
    for a column of codes); a list of numbers as published, whole numbers as counts ('1,465; 1,467') or, with
    ``years``, as years ('2019, 2020').

    Parameters
    ----------
    v : object
        The cell's value.
    kind : str
        The column's kind (:func:`column_kind`, or 'value').
    signed : bool, default True
        For a percent: show the sign of positive values. Keyword only.
    decimals : int, optional
        For a percent (default 1) or a number below 1,000 (default :func:`analysis.core.fmt.fmt_value`): the
        decimals shown. Keyword only.
    codes : bool, default False
        For text: the column holds data codes. Keyword only.
    years : bool, default False
        For a list: whole numbers are years. Keyword only.

    Returns
    -------
    str
        The cell's text (not HTML-escaped).
    """
    from analysis.core import fmt

    if _missing(v):
        return ""
    if isinstance(v, (list, tuple, set)):  # numbers as published ('1,465; 1,467'), years as years ('2019, 2020')
        items = [fmt.fmt_bool(x) if _is_bool(x) else str(int(x)) if years and _is_number(x) and float(x).is_integer()
                 else _as_published(x) if _is_number(x) else str(x) for x in v]
        return ("; " if any("," in x for x in items) else ", ").join(items)
    if kind == "bool" or _is_bool(v):
        return fmt.fmt_bool(v)
    if kind == "value" and _is_number(v):
        return _as_published(v)
    if kind == "pvalue":
        return fmt.fmt_pvalue(v)
    if kind == "percent":
        return fmt.fmt_percent(v, decimals=1 if decimals is None else decimals, signed=signed)
    if kind == "integer":
        return str(int(v))
    if kind == "count":
        return fmt.fmt_count(v)
    if kind == "number":
        if decimals is None or abs(float(v)) >= 1000:
            return fmt.fmt_value(v)
        return fmt.fmt_decimal(v, decimals)
    if isinstance(v, float):  # a stray float in a text column
        return fmt.fmt_value(v)
    return str(plain_value(v, codes)) if kind == "text" else str(v)


def _as_published(v: Any) -> str:
    """A value as its source gave it: whole numbers as counts ('266', '1,408', never '266.0'), others with their
    own decimals ('-17.6', '111.42', '2.2'); a computed value with more than four decimals at 3 significant
    figures."""
    from analysis.core import fmt

    x = float(v)
    if x.is_integer():
        return fmt.fmt_count(x)
    places = fmt.decimals_of(x)
    if "e" in f"{x:g}" or places > 4:
        return fmt.fmt_value(x)
    return fmt.fmt_decimal(x, places)


def table_signature(columns: Iterable[Any], n_rows: int) -> str:
    """Identifies a table by its column names and row count: the report builder matches a shortened table to
    the CSV of the same published table (``StudyResult.tables()``) and links it.

    Parameters
    ----------
    columns : iterable
        The column names.
    n_rows : int
        The number of rows.

    Returns
    -------
    str
        The first 12 hexadecimal digits of a SHA-1 of the names and the row count.
    """
    import hashlib

    key = "\x1f".join(str(c) for c in columns) + f"\x1e{n_rows}"
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]


_LONG_WORD = re.compile(r"\S{17,}")
_BREAK_AFTER = re.compile(r"([_/.\-,;:=&?])(?=[^\s])")


def _breakable(text: str) -> str:
    """Escaped ``text`` where words longer than 16 characters may break after ``_ / . - , ; : = & ?`` (``<wbr>``),
    so a column of identifiers or URLs can be narrower than its longest token."""
    out, pos = [], 0
    for m in _LONG_WORD.finditer(text):
        out.append(html.escape(text[pos:m.start()]))
        out.append("<wbr>".join(html.escape(part) for part in _BREAK_AFTER.sub("\\1\0", m.group(0)).split("\0")))
        pos = m.end()
    out.append(html.escape(text[pos:]))
    return "".join(out)


def _rows_html(d, kinds, opts, link_cols) -> str:
    body = []
    for row in d.itertuples(index=False):
        cells = []
        for col, v in zip(d.columns, row):
            kind = kinds[col]
            text = format_cell(v, kind, **opts[col])
            cls = "text" if kind == "text" else "num"
            if col in link_cols and text.startswith(("http://", "https://")):
                cells.append(f'<td class="{cls}"><a href="{html.escape(text, quote=True)}" '
                             f'rel="noopener noreferrer">link</a></td>')
            else:
                cells.append(f'<td class="{cls}">{_breakable(text)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return "".join(body)


PAGE_WIDTH = 960  # px a table may take in a report (the page's text column is about 1,070 px wide)
_CHAR = 7.8  # px per character at the tables' 13 px font (digits and capitals are the widest)
_PADDING = 17  # px per cell (left and right padding, border)
_TEXT_MIN = 10  # characters: a text column is never squeezed narrower than this
_KEYS_MAX = 3  # leading identifying columns repeated in each part of a split table


def _min_width(col, values, kind: str, opts: Mapping[str, Any]) -> float:
    """Estimated narrowest width (px) of a column: numbers do not wrap, text and headers wrap between words."""
    words = re.split(r"[\s\-]+", plain_header(col))
    need = max((len(w) for w in words), default=1)
    for v in values:
        text = format_cell(v, kind, **opts)
        if kind == "text":
            longest = max((len(w) for w in re.split(r"\s+", text)), default=0)
            need = max(need, min(longest, 16), min(len(text), _TEXT_MIN))
        else:
            need = max(need, len(text))
    return need * _CHAR + _PADDING


def split_columns(df, kinds: Mapping[str, str], opts: Mapping[str, Mapping[str, Any]],
                  width: float = PAGE_WIDTH) -> list[list]:
    """Columns of ``df`` in parts that each fit ``width`` px: one part when the table fits; otherwise its
    leading identifying columns (text or year-like, up to three) repeated in each part, the other columns
    packed in order.

    Parameters
    ----------
    df : pandas.DataFrame
        The table.
    kinds : mapping of str to str
        Each column's kind (:func:`column_kind`).
    opts : mapping of str to mapping
        Each column's keyword arguments for :func:`format_cell`.
    width : float, default PAGE_WIDTH
        The width available, in pixels (each column's narrowest width is estimated from its text).

    Returns
    -------
    list of list
        The column names of each part, in order; the parts are as even in width as the fewest parts allow.
    """
    columns = list(df.columns)
    widths = {c: _min_width(c, df[c].tolist(), kinds[c], opts[c]) for c in columns}
    if sum(widths.values()) <= width:
        return [columns]
    keys = []
    for c in columns[:_KEYS_MAX]:
        if kinds[c] not in ("text", "integer") or sum(widths[k] for k in keys) + widths[c] > width * 0.4:
            break
        keys.append(c)
    rest = columns[len(keys):]
    budget = width - sum(widths[k] for k in keys)

    def pack(limit: float) -> list[list]:
        parts, current, used = [], [], 0.0
        for c in rest:
            if current and used + widths[c] > limit:
                parts.append(current)
                current, used = [], 0.0
            current.append(c)
            used += widths[c]
        return [*parts, current] if current else parts

    fewest = len(pack(budget))
    # As many parts as needed, as even as possible: the smallest width limit that still needs no more parts.
    total = sum(widths[c] for c in rest)
    limit = total / fewest
    while limit < budget and len(pack(limit)) > fewest:
        limit += 10
    return [keys + part for part in pack(min(limit, budget))]


def html_table(df, link_cols: tuple[str, ...] = ("url",), max_rows: int | None = None,
               formats: Mapping[str, str] | None = None) -> str:
    """An HTML table for a report: every data-derived text escaped, only ``link_cols`` turned into links, every
    number formatted by the table policy (:func:`column_kind`; ``formats`` overrides a column's kind), headers in
    plain English (:func:`plain_header`), data codes in words (:func:`plain_value`: any known code, and any
    snake_case code in a ``measure``/``system``/``kind``/``figure``/``metric`` column), booleans as yes/no.

    In a table with such a column of codes, a ``value`` column of numbers holds different measures (266 deaths,
    -17.6 % change): each value is shown as published ('266', '-17.6', '111.42'), not to one column precision.

    A table longer than :data:`LONG_TABLE` rows shows its first :data:`SUMMARY_ROWS` rows (at most ``max_rows``),
    says how many there are, and keeps the full table folded away below. A table too wide for the page
    (:func:`split_columns`) is shown in parts that repeat its identifying columns. The report builder adds a link to
    the table's CSV (all rows and columns) when the study publishes it.

    Parameters
    ----------
    df : pandas.DataFrame
        The table (its index is not shown).
    link_cols : tuple of str
        Columns whose ``http(s)`` values become links (other schemes stay text).
    max_rows : int, optional
        At most this many rows shown before the rest is folded away (a table longer than ``LONG_TABLE`` rows
        shows at most ``SUMMARY_ROWS`` whatever is asked).
    formats : mapping, optional
        Column name to kind ('pvalue', 'percent', 'bool', 'integer', 'count', 'number', 'value', 'text').

    Returns
    -------
    str
        ``<div class="kz-table-wrap">`` holding the table (and the folded full table when shortened).
    """
    from analysis.core import fmt

    columns = list(df.columns)
    kinds, opts = {}, {}
    coded = any(_tokens(c) & _CODE_COLUMNS for c in columns)  # a measure column: its values mix measures
    for col in columns:
        values = df[col].tolist()
        tokens = _tokens(col)
        kind = (formats or {}).get(col) or column_kind(col, values)
        if kind == "number" and coded and tokens & {"value", "values"} and not (formats or {}).get(col):
            kind = "value"  # 266 deaths and -17.6 (% change) in one column: each value as published
        kinds[col] = kind
        present = [v for v in values if not _missing(v) and _is_number(v)]
        signed = bool(tokens & {"change", "error", "gap", "difference", "diff"}) or any(v < 0 for v in present)
        if kind == "percent":
            opts[col] = {"signed": signed, "decimals": 2 if present and all(abs(v) < 1 for v in present) else 1}
        elif kind == "number":  # one number of decimals per column, from its typical value (3 significant figures)
            opts[col] = {"decimals": fmt.column_decimals(present)}
        elif kind == "text":
            opts[col] = {"codes": bool(tokens & _CODE_COLUMNS), "years": bool(tokens & _YEARLIKE)}
        else:
            opts[col] = {}
    n = len(df)
    shown = min(max_rows or n, SUMMARY_ROWS if n > LONG_TABLE else n)
    sig = table_signature(columns, n)
    parts = split_columns(df, kinds, opts)

    def tables(d, extra_class="") -> str:
        out = []
        for cols in parts:
            head = "".join(f'<th class="{"text" if kinds[c] == "text" else "num"}">{html.escape(plain_header(c))}</th>'
                           for c in cols)
            out.append(f'<table class="dataframe kz-table{extra_class}" data-kz-sig="{sig}" data-kz-rows="{n}">'
                       f"<thead><tr>{head}</tr></thead><tbody>{_rows_html(d[cols], kinds, opts, link_cols)}</tbody>"
                       "</table>")
        return "".join(out)

    notes = []
    if len(parts) > 1:
        keys = next((i for i in range(len(parts[0])) if any(len(p) <= i or p[i] != parts[0][i] for p in parts)),
                    len(parts[0]))
        repeat = {0: "", 1: " (the first column repeats in each part)"}.get(
            keys, f" (the first {keys} columns repeat in each part)")
        notes.append(f"A wide table, shown in {len(parts)} parts to fit the page{repeat}.")
    if shown < n:
        notes.append(f"Showing the first {shown:,} of {n:,} rows.")
    note = ""
    if notes:
        note = (f'<p class="kz-table-note">{" ".join(notes)} <span class="kz-csv-link" data-kz-sig="{sig}"></span>'
                "</p>")
    cls = "kz-table-wrap" + (" kz-long" if shown < n else "") + (" kz-split" if len(parts) > 1 else "")
    if shown >= n:
        return f'<div class="{cls}">{tables(df)}{note}</div>'
    return (f'<div class="{cls}">{tables(df.head(shown))}{note}'
            f"<details><summary>All {n:,} rows</summary>{tables(df, ' kz-full')}</details></div>")
