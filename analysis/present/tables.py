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
    """HTML-escape ``text`` (quotes included): for any text from data placed into HTML."""
    return html.escape("" if text is None else str(text), quote=True)


# CommonMark lets any ASCII punctuation be backslash-escaped; these are the ones that can start markup or HTML.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>&])")


def md_escape(text: Any) -> str:
    """Text from data made literal in Markdown: every markup or HTML character is backslash-escaped.

    ``display(Markdown(f"> {md_escape(quote)}"))`` shows the quote as written, ``<script>`` included (as text),
    in JupyterLab and in the built report alike. Newlines become spaces (a table cell or list item stays one line).
    """
    s = "" if text is None else str(text)
    s = " ".join(s.splitlines())
    return _MD_SPECIAL.sub(r"\\\1", s)


def md_table(
    rows: Iterable[Mapping[str, Any]] | Iterable[Sequence[Any]], columns: Sequence[str] | None = None
) -> str:
    """A Markdown table whose every cell (and header) is escaped with ``md_escape``.

    ``rows`` are mappings (``columns`` defaults to the first row's keys) or sequences (then ``columns`` is needed).
    Floats are shown with ``repr``-free ``str``; ``None`` as an empty cell.
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


def html_table(df, link_cols: tuple[str, ...] = ("url",), max_rows: int | None = None) -> str:
    """An HTML table with every data-derived text escaped and only the given columns turned into links."""
    import pandas as pd

    d = df.head(max_rows) if max_rows else df
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in d.columns)
    body = []
    for row in d.itertuples(index=False):
        cells = []
        for col, v in zip(d.columns, row):
            missing = v is None or (not isinstance(v, (list, tuple, dict)) and pd.isna(v))
            text = "" if missing else (f"{v:g}" if isinstance(v, float) else str(v))
            if col in link_cols and text.startswith(("http://", "https://")):
                cells.append(f'<td><a href="{html.escape(text, quote=True)}" rel="noopener noreferrer">link</a></td>')
            else:
                cells.append(f"<td>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="dataframe"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
