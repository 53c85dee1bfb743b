"""Execute one notebook with papermill and render it to self-contained HTML with the code hidden.

``run_notebook()`` is the unit behind ``python -m analysis.build`` and ``python -m analysis.claims ... --html``::

    from analysis.reporting.runner import run_notebook
    r = run_notebook("notebooks/02_quarterly_change.ipynb", {"current_count": 180}, name="claim", out_dir="reports")
    r.status, r.html_path, r.json_path, r.error, r.seconds

It writes, each atomically (temp file + rename, ``analysis.core.io``):

- ``{out_dir}/{name}.html``                  the report: code and prompts hidden, cells tagged ``lab-only`` left
                                             out, figures embedded, no script and no external request (CSP);
- ``{out_dir}/executed/{name}.ipynb``        the executed notebook;
- ``{out_dir}/results/{name}.json``          the results the notebook *published* (``present.report.publish``):
                                             read back from the executed notebook, so a notebook never writes into
                                             ``reports/`` itself and an ad-hoc run changes nothing there;
- ``{out_dir}/results/{name}-estimates.csv`` the tidy estimates, and ``{out_dir}/{name}/<table>.csv`` the tables.

When the notebook fails, none of those files is touched (the last good report stays in place); the failed
execution is kept as ``{out_dir}/executed/{name}.failed.ipynb`` and ``RunResult.error`` names the cell and error.
Markdown outputs are rendered with raw HTML escaped, so a ``<script>`` in a source quote shows as text; the page's
Content-Security-Policy stops any script from running.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import re
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from analysis.core.paths import REPORTS_DIR, ROOT, resolve
from analysis.present.report import RESULTS_MARKER, RESULTS_MIME, STYLE_RULES
from analysis.present.tables import escape
from analysis.reporting import CSP, KERNEL_NAME, OWNER_FILE
from analysis.reporting.kernels import LOG_ENV, BuildKernelManager

DEFAULT_CELL_TIMEOUT = 600  # seconds per cell; a hung notebook must not hang the build forever
STARTUP_TIMEOUT = 120
THUMB_WIDTH = 360  # pixels; the index shows each report's first figure at half that width (sharp on HiDPI)


# --------------------------------------------------------------------------------------------------- result


@dataclasses.dataclass(frozen=True)
class RunResult:
    """Outcome of one ``run_notebook`` call. Paths are absolute; on failure ``html_path``/``json_path`` are None."""

    name: str
    notebook: str
    status: str  # "ok" or "failed"
    html_path: Path | None
    json_path: Path | None
    executed_path: Path | None
    error: str | None
    seconds: float
    verdict: str | None = None
    label: str | None = None
    headline: str | None = None
    cell: int | None = None  # execution count ("In [n]") of the failing cell, when known
    ename: str | None = None
    evalue: str | None = None
    notes: tuple[str, ...] = ()  # outputs left out of the page (stderr, warnings, raw Python values)
    thumbnail: str | None = None  # the first figure, small, as base64 PNG (the index shows it)
    thumbnail_alt: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def load_results(self) -> dict:
        """The results JSON the notebook wrote (``parameters``, ``results``, ``verdict``).

        Returns
        -------
        dict
            The parsed JSON file at ``json_path``.

        Raises
        ------
        FileNotFoundError
            If the run wrote no results JSON (``json_path`` is None), naming the report and its error.
        """
        if self.json_path is None:
            raise FileNotFoundError(f"{self.name}: no results JSON ({self.error})")
        return json.loads(Path(self.json_path).read_text(encoding="utf-8"))


class RenderError(Exception):
    """A notebook ran but its outputs are unusable (no results JSON, JSON without a verdict, ...)."""


# ------------------------------------------------------------------------------------------------- template

_TEMPLATE = r"""
{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}
<meta http-equiv="Content-Security-Policy" content="{{ resources.kz_csp }}">
{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_css -%}
<style type="text/css">{{ resources.kz_css }}</style>
{%- endblock html_head_css -%}
{%- block body_header -%}
{{ super() }}
{%- if resources.kz_banner %}
<div class="kz-run-banner">{{ resources.kz_banner }}</div>
{%- endif %}
{%- endblock body_header -%}
{% block data_markdown scoped -%}
<div class="jp-RenderedHTMLCommon jp-RenderedMarkdown jp-OutputArea-output {{ extra_class }}" data-mime-type="text/markdown">
{{ output.data['text/markdown'] | kz_markdown_escaped }}
</div>
{%- endblock data_markdown %}
{% block data_png scoped -%}
<div class="jp-RenderedImage jp-OutputArea-output {{ extra_class }}">
<img src="data:image/png;base64,{{ output.data['image/png'] | escape_html }}"
 alt="{{ ((output | get_metadata('alt', 'image/png')) or 'Figure (no description given)') | escape_html }}"
{%- set width=output | get_metadata('width', 'image/png') -%}
{%- if width is not none %} width={{ width | escape_html }}{%- endif %}>
</div>
{%- endblock data_png %}
{%- block data_javascript scoped %}{%- endblock data_javascript %}
{% block body_footer %}
{{ resources.kz_footer }}
</main>
</body>
{% endblock body_footer %}
{%- block data_widget_view scoped %}{%- endblock data_widget_view %}
"""


_CSS = """
body.jp-Notebook { max-width: 1100px; margin: 0 auto; padding: 1em 1.5em; }
.kz-run-banner { border: 1px solid #c9d3de; background: #f3f6f9; padding: .6em 1em; margin: 0 0 1em 0;
                 font-family: var(--jp-ui-font-family, sans-serif); font-size: 14px; overflow-wrap: anywhere; }
.kz-run-banner code { font-size: 13px; }
/* The output area is a table cell in JupyterLab's CSS; as a block it cannot be stretched by a wide child. */
.jp-OutputArea-output { display: block; width: auto; max-width: 100%; overflow: visible; }
/* Tables fit the page: text cells wrap (anywhere, as a last resort), numbers stay on one line; only a table
   that still cannot fit scrolls sideways inside its own box. */
.kz-table-wrap { max-width: 100%; overflow-x: auto; margin: .4em 0 1em 0; }
.jp-RenderedHTMLCommon table.kz-table { table-layout: auto; max-width: 100%; margin: 0; font-size: 13px; }
.jp-RenderedHTMLCommon table.kz-table th, .jp-RenderedHTMLCommon table.kz-table td {
  padding: .3em .5em; line-height: 1.35; vertical-align: top; white-space: normal; }
.jp-RenderedHTMLCommon table.kz-table .num { text-align: right; }
.jp-RenderedHTMLCommon table.kz-table td.num { white-space: nowrap; }
.jp-RenderedHTMLCommon table.kz-table .text { text-align: left; overflow-wrap: break-word; min-width: 5em; }
.jp-RenderedHTMLCommon table.kz-table th { vertical-align: bottom; overflow-wrap: normal; }
.jp-RenderedHTMLCommon table:not(.kz-table) td, .jp-RenderedHTMLCommon table:not(.kz-table) th {
  overflow-wrap: anywhere; }
.jp-RenderedHTMLCommon table:not(.kz-table) { table-layout: auto; max-width: 100%; }
.kz-table-note { font-size: 13px; color: #57606a; margin: .2em 0; }
.kz-long details summary { cursor: pointer; font-size: 13px; color: #0b5cad; }
.jp-RenderedImage img { max-width: 100%; height: auto; }
nav.kz-toc { border: 1px solid #d0d7de; background: #fafbfc; padding: .5em 1em .6em; margin: 1em 0 1.5em;
             font-size: 14px; max-width: 60em; }
nav.kz-toc ol { margin: .3em 0 0 0; padding-left: 1.4em; columns: 2 18em; column-gap: 2em; }
nav.kz-toc li { break-inside: avoid; margin: .1em 0; }
.kz-downloads, .kz-footer { font-family: var(--jp-ui-font-family, sans-serif); font-size: 13px; color: #3b4752;
                            overflow-wrap: anywhere; }
.kz-downloads { border-top: 1px solid #d0d7de; margin-top: 2em; padding-top: .6em; }
.kz-downloads ul { margin: .3em 0; padding-left: 1.4em; }
.kz-footer { border-top: 1px solid #d0d7de; margin: 1.5em 0 2em; padding-top: .6em; color: #57606a; }
.kz-footer p { margin: .2em 0; }
@media print { nav.kz-toc { display: none; } .kz-long details { display: none; } }
"""


def _markdown_escaped(source: str) -> str:
    """Markdown to HTML with any raw HTML in the source escaped (shown as text, never interpreted)."""
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    return MarkdownWithMath(renderer=IPythonRenderer(escape=True, allow_harmful_protocols=False)).render(
        source
    )


def _quiet_logger() -> logging.Logger:
    log = logging.getLogger("analysis.reporting.runner.quiet")
    if not log.handlers:
        log.addHandler(logging.NullHandler())
        log.propagate = False
    return log


_EXPORTER = None


def html_exporter():
    """nbconvert's HTMLExporter (lab template) with code and prompts hidden and every external resource removed.

    Returns
    -------
    nbconvert.HTMLExporter
        Built on the first call and shared by later calls in this process: the report template, images
        embedded, nbconvert's log quietened.
    """
    global _EXPORTER
    if _EXPORTER is None:
        from jinja2 import DictLoader
        from nbconvert import HTMLExporter

        exporter = HTMLExporter(
            template_name="lab",
            extra_loaders=[DictLoader({"kz_report.html.j2": _TEMPLATE})],
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
            embed_images=True,
            log=_quiet_logger(),
        )
        exporter.template_file = "kz_report.html.j2"
        exporter.register_filter("kz_markdown_escaped", _markdown_escaped)
        _EXPORTER = exporter
    return _EXPORTER


def render_html(nb, title: str, banner_html: str = "", nb_dir: str | Path = ".", footer_html: str = "") -> str:
    """Render an executed notebook node (its metadata title is set) to self-contained HTML: code hidden, no
    scripts.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The executed notebook. Its ``metadata.title`` is set to ``title``.
    title : str
        The page title.
    banner_html : str, default ''
        HTML shown at the top of the page (e.g. :func:`verdict_banner`).
    nb_dir : str or pathlib.Path, default '.'
        The notebook's folder (nbconvert's ``metadata.path``).
    footer_html : str, default ''
        HTML shown at the foot of the page (:func:`footer_html`).

    Returns
    -------
    str
        The HTML page (nbconvert's lab template with the project's template, style and content security
        policy).

    References
    ----------
    .. [1] nbconvert, "HTMLExporter", https://nbconvert.readthedocs.io/en/latest/api/exporters.html
    """
    resources = {
        "metadata": {"name": title, "path": str(nb_dir)},
        "kz_csp": CSP,
        "kz_banner": banner_html,
        "kz_css": _CSS + STYLE_RULES,
        "kz_footer": footer_html,
    }
    nb.metadata["title"] = title
    body, _ = html_exporter().from_notebook_node(nb, resources=resources)
    return body


# ----------------------------------------------------------------------------------------------- execution


def imported_modules(notebooks: Iterable[str | Path]) -> list[str]:
    """Modules the notebooks import (see :func:`analysis.reporting.deps.imported_modules`).

    Parameters
    ----------
    notebooks : iterable of str or pathlib.Path
        The notebooks.

    Returns
    -------
    list of str
        Module names, first-seen order, no repeats.
    """
    from analysis.reporting.deps import imported_modules as modules

    return modules(notebooks)


def _silence_papermill_log() -> None:
    log = logging.getLogger("papermill")
    if not any(isinstance(h, logging.NullHandler) for h in log.handlers):
        log.addHandler(logging.NullHandler())
    log.propagate = False


def _tail(path: Path, n: int = 15) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-n:])


def _first_line(source: str, width: int = 70) -> str:
    for line in (source or "").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            return line if len(line) <= width else line[: width - 1] + "…"
    return ""


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ARROW = re.compile(r"^-+>\s*(\d+)\s?(.*)$")


def _failing_line(traceback: Sequence[str] | None) -> tuple[int | None, str]:
    """(line number, code) of the line that raised, from the first ``Cell In[n], line k`` frame of the traceback."""
    for entry in traceback or []:
        text = _ANSI.sub("", entry)
        if not text.lstrip().startswith("Cell In["):
            continue
        for line in text.splitlines():
            m = _ARROW.match(line.strip())
            if m:
                code = m.group(2).strip()
                return int(m.group(1)), code if len(code) <= 80 else code[:79] + "…"
    return None, ""


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _banner(name: str, notebook: Path, parameters: Mapping[str, Any]) -> str:
    """Escaped HTML naming the run when it is a named variant (its parameters differ from the notebook's text), in
    plain words: 'A variant of report 02 (“Is a reported change between two periods real?”) with: current count
    180; reported change -17.6%; ...' (:func:`analysis.present.tables.plain_parameter`)."""
    if name == notebook.stem and not parameters:
        return ""
    from analysis.present.tables import plain_parameter
    from analysis.studies.registry import for_notebook

    number = re.match(r"(\d+)_", notebook.stem)
    entry = for_notebook(notebook.stem)
    about = f"“{entry.question if entry is not None else notebook.stem}”"
    head = f"A variant of report {number.group(1)} ({about})" if number else f"A variant of the report {about}"
    items = "; ".join(plain_parameter(k, v) for k, v in parameters.items())
    return escape(head + (f" with: {items}." if items else " with its default parameters."))


def verdict_banner(nb, payload: Mapping[str, Any]) -> str:
    """For a page without the summary box (a notebook not yet converted to a study): its label as a badge and
    its headline, so every report opens with its verdict at a glance.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The executed notebook.
    payload : mapping
        The report's results JSON (``label``, ``headline``).

    Returns
    -------
    str
        The banner's HTML; the empty string when the page already shows the summary box or the label is not a
        verdict label.
    """
    from analysis.core.study import LABELS
    from analysis.present.report import badge

    for cell in nb.cells:
        for o in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            html = (o.get("data") or {}).get("text/html", "")
            if "kz-summary" in (html if isinstance(html, str) else "".join(html)):
                return ""
    label = payload.get("label")
    if label not in LABELS:
        return ""
    return (f'<span class="kz-verdict">{badge(label)}<strong>{escape(payload.get("headline") or "")}</strong>'
            "</span>")


def find_results(nb) -> dict:
    """The results the notebook published with ``analysis.present.report.publish`` (exactly one such output).

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The executed notebook.

    Returns
    -------
    dict
        The results JSON (with at least ``parameters``, ``results``, ``verdict`` and ``label``).

    Raises
    ------
    RenderError
        When the notebook published no results, published them more than once, or published something that is
        not a JSON object with those keys.
    """
    found = [out for cell in nb.cells if cell.get("cell_type") == "code" for out in cell.get("outputs", [])
             if out.get("output_type") == "display_data" and (out.get("metadata") or {}).get(RESULTS_MARKER)]
    if not found:
        raise RenderError("published no results (its last cell must call analysis.present.report.publish(result))")
    if len(found) > 1:
        raise RenderError(f"published results {len(found)} times (call publish once)")
    data = found[0].get("data", {}).get(RESULTS_MIME)
    if isinstance(data, str):  # nbformat may keep JSON outputs as text
        data = json.loads(data)
    if not isinstance(data, dict):
        raise RenderError("published results that are not a JSON object")
    missing = [k for k in ("parameters", "results", "verdict", "label") if k not in data]
    if missing:
        raise RenderError(f"published results without {', '.join(missing)}")
    return data


def clean_for_html(nb) -> tuple[Any, list[str]]:
    """A copy of the executed notebook as readers see it, and notes on what was left out.

    Left out: cells tagged ``lab-only``, the results output, anything written to stderr (warnings, library
    noise) and bare Python values a cell's last expression produced (``'reports/results'``, ``400``: an
    ``execute_result`` with only ``text/plain``). The notes name the cell and say what was dropped, so the
    build can report them instead of the page showing them.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The executed notebook. Not modified.

    Returns
    -------
    nb : nbformat.NotebookNode
        The cleaned copy.
    notes : list of str
        One note per output left out (other than the results output).
    """
    import copy

    out = copy.deepcopy(nb)
    notes: list[str] = []
    out.cells = [c for c in out.cells if "lab-only" not in (c.get("metadata", {}).get("tags") or [])]
    for cell in out.cells:
        if cell.get("cell_type") != "code":
            continue
        kept = []
        where = f"cell In [{cell.get('execution_count')}]"
        for o in cell.get("outputs", []):
            if (o.get("metadata") or {}).get(RESULTS_MARKER):
                continue
            kind = o.get("output_type")
            if kind == "stream" and o.get("name") == "stderr":
                text = o.get("text", "")
                text = text if isinstance(text, str) else "".join(text)
                notes.append(f"{where} wrote to stderr (left out of the page): {_one_line(text)}")
                continue
            if kind == "execute_result" and set(o.get("data") or {}) <= {"text/plain"}:
                value = (o.get("data") or {}).get("text/plain", "")
                value = value if isinstance(value, str) else "".join(value)
                notes.append(f"{where} displayed a bare Python value (left out of the page): {_one_line(value)}")
                continue
            kept.append(o)
        cell["outputs"] = kept
    return out, notes


def for_html(nb):
    """A copy of the executed notebook as readers see it (see :func:`clean_for_html`).

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The executed notebook. Not modified.

    Returns
    -------
    nbformat.NotebookNode
        The cleaned copy (the notes are dropped).
    """
    return clean_for_html(nb)[0]


def _one_line(text: str, width: int = 120) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= width else line[: width - 1] + "…"


# ----------------------------------------------------------------------------------------- page furniture

_HEADING = re.compile(r'<h2 id="[^"]*">(.*?)<a class="anchor-link" href="(#[^"]*)">', re.S)
_TAG = re.compile(r"<[^>]+>")


def add_contents(body: str) -> str:
    """Insert a table of contents (the ``##`` sections) before the first section heading.

    Parameters
    ----------
    body : str
        The report's HTML.

    Returns
    -------
    str
        ``body`` with a ``<nav class="kz-toc">`` before the first ``<h2>``; unchanged with fewer than two
        sections.
    """
    import html as htmlmod

    found = _HEADING.findall(body)
    if len(found) < 2:
        return body
    items = "".join(
        f'<li><a href="{href}">{htmlmod.escape(htmlmod.unescape(_TAG.sub("", text)).strip())}</a></li>'
        for text, href in found)
    nav = f'<nav class="kz-toc" aria-label="Contents"><strong>Contents</strong><ol>{items}</ol></nav>\n'
    first = body.index("<h2 id=")
    return body[:first] + nav + body[first:]


_CSV_SLOT = re.compile(r'<span class="kz-csv-link" data-kz-sig="([0-9a-f]+)"></span>')


def link_tables(body: str, name: str, payload: Mapping[str, Any]) -> str:
    """Point each shortened table at its CSV (the published table with the same columns and row count).

    Parameters
    ----------
    body : str
        The report's HTML (tables from :func:`analysis.present.tables.html_table` leave a CSV slot).
    name : str
        The report's name (its CSVs are in ``<name>/``).
    payload : mapping
        The report's results JSON (its ``tables``: stem to ``{"columns": [...], "rows": [...]}``).

    Returns
    -------
    str
        ``body`` with each slot holding a link to the matching CSV, or emptied when no published table
        matches.
    """
    from analysis.present.tables import table_signature

    by_sig = {}
    for stem, spec in (payload.get("tables") or {}).items():
        by_sig[table_signature(spec.get("columns", []), len(spec.get("rows", [])))] = stem

    def slot(m: re.Match) -> str:
        stem = by_sig.get(m.group(1))
        if stem is None:
            return ""
        href = f"{quote(name)}/{quote(stem)}.csv"
        return f'<a class="kz-csv" href="{href}">Full table as CSV ({escape(stem)}.csv)</a>.'

    return _CSV_SLOT.sub(slot, body)


def downloads_html(name: str, payload: Mapping[str, Any]) -> str:
    """The links under the report: its tables as CSV, the tidy estimates, the results JSON, the notebook.

    Parameters
    ----------
    name : str
        The report's name.
    payload : mapping
        The report's results JSON (its ``tables``: stem to ``{"columns": [...], "rows": [...]}``).

    Returns
    -------
    str
        A ``<section class="kz-downloads">`` element (links relative to the reports folder, names escaped).
    """
    q = quote(name)
    items = [f'<li><a href="{q}/{quote(stem)}.csv">{escape(stem)}.csv</a> (table)</li>'
             for stem in (payload.get("tables") or {})]
    items.append(f'<li><a href="results/{q}-estimates.csv">{escape(name)}-estimates.csv</a> (estimates: quantity, '
                 "estimate, interval, p-value, model)</li>")
    items.append(f'<li><a href="results/{q}.json">{escape(name)}.json</a> (every result and the verdict)</li>')
    items.append(f'<li><a href="executed/{q}.ipynb">{escape(name)}.ipynb</a> (the executed notebook)</li>')
    return (f'<section class="kz-downloads" id="downloads"><strong>Downloads.</strong><ul>{"".join(items)}</ul>'
            "</section>")


def footer_html(provenance: Mapping[str, Any] | None, glossary_href: str = "glossary.html",
                index_href: str | None = "index.html") -> str:
    """The page footer: commit, data hash, package versions and build date (``provenance``), and the links to
    the glossary and the index.

    Parameters
    ----------
    provenance : mapping or None
        The build's provenance (:func:`analysis.reporting.provenance.collect`); None or empty: no provenance
        lines.
    glossary_href : str, default 'glossary.html'
        The glossary's address relative to the page.
    index_href : str or None, default 'index.html'
        The index's address relative to the page; None for no link.

    Returns
    -------
    str
        A ``<footer class="kz-footer">`` element, every text escaped.
    """
    from analysis.reporting.provenance import describe

    lines = [f"<p>{escape(line)}</p>" for line in describe(provenance or {})]
    links = [f'<a href="{escape(glossary_href)}">Glossary and references</a>']
    if index_href:
        links.insert(0, f'<a href="{escape(index_href)}">All reports</a>')
    return f'<footer class="kz-footer">{"".join(lines)}<p>{" · ".join(links)}</p></footer>'


def thumbnail(nb) -> tuple[str | None, str | None]:
    """The notebook's first figure scaled to :data:`THUMB_WIDTH` pixels: (base64 PNG, alt text), or (None,
    None).

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The executed notebook.

    Returns
    -------
    png : str or None
        The thumbnail as base64 PNG (64 colours); None when the notebook has no figure or it cannot be read.
    alt : str or None
        The figure's alternative text (from :func:`analysis.present.figures.show`), if any.
    """
    import base64
    import io

    for cell in nb.cells:
        for o in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            data = (o.get("data") or {}).get("image/png")
            if not data:
                continue
            alt = ((o.get("metadata") or {}).get("image/png") or {}).get("alt")
            try:
                from PIL import Image

                img = Image.open(io.BytesIO(base64.b64decode(data if isinstance(data, str) else "".join(data))))
                img.thumbnail((THUMB_WIDTH, THUMB_WIDTH * 4))
                buf = io.BytesIO()
                # 64 colours are plenty for a chart at this size and make it about three times smaller
                img.convert("RGB").quantize(colors=64).save(buf, format="PNG", optimize=True)
            except Exception:  # noqa: BLE001 - a thumbnail is a nicety; never fail a report for it
                return None, None
            return base64.b64encode(buf.getvalue()).decode("ascii"), alt
    return None, None


def write_tables(out_dir: Path, name: str, payload: Mapping[str, Any]) -> list[Path]:
    """The report's main tables as CSV (``<out>/<name>/<table>.csv``) and its tidy estimates
    (``<out>/results/<name>-estimates.csv``); returns the paths written.

    A CSV in ``<out>/<name>/`` that the report no longer publishes is deleted.

    Parameters
    ----------
    out_dir : pathlib.Path
        The reports folder.
    name : str
        The report's name.
    payload : mapping
        The report's results JSON (``tables`` and ``estimates``).

    Returns
    -------
    list of pathlib.Path
        The files written: each table's CSV, then the estimates CSV.
    """
    import csv
    import io

    from analysis.core.io import atomic_write_text

    def csv_text(columns, rows) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(columns)
        w.writerows([["" if v is None else v for v in r] for r in rows])
        return buf.getvalue()

    written = []
    folder = out_dir / name
    wanted = set()
    for table, spec in (payload.get("tables") or {}).items():
        path = folder / f"{table}.csv"
        wanted.add(path.name)
        written.append(atomic_write_text(path, csv_text(spec["columns"], spec["rows"])))
    if folder.is_dir():  # a table the report no longer has must not linger
        for old in folder.glob("*.csv"):
            if old.name not in wanted:
                old.unlink()
    est = payload.get("estimates") or []
    cols = ["quantity", "estimate", "lower", "upper", "p_value", "model", "note", "unit", "interval", "level"]
    path = out_dir / "results" / f"{name}-estimates.csv"
    written.append(atomic_write_text(path, csv_text(cols, [[e.get(c) for c in cols] for e in est])))
    return written


def run_notebook(
    notebook_path: str | Path,
    parameters: Mapping[str, Any] | None = None,
    name: str | None = None,
    out_dir: str | Path = REPORTS_DIR,
    *,
    kernel_name: str = KERNEL_NAME,
    cell_timeout: float | None = DEFAULT_CELL_TIMEOUT,
    title: str | None = None,
    provenance: Mapping[str, Any] | None = None,
    index_href: str | None = None,
) -> RunResult:
    """Execute ``notebook_path`` with ``parameters`` and write, under ``out_dir`` as ``name`` (default: the
    stem), its HTML report, executed notebook, results JSON (read back from the notebook's results output) and
    tables.

    Never raises for a failing notebook: the failure is in the returned ``RunResult`` (``status == "failed"``,
    ``error`` naming the cell, ``cell``/``ename``/``evalue`` from papermill). Kernel output and papermill's
    log are kept off the terminal; a dead kernel's last stderr lines are appended to ``error``. Outputs left
    out of the page (stderr, bare values) are listed in ``notes``. ``provenance``
    (``analysis.reporting.provenance``) fills the page footer; without it the runner collects it.
    ``index_href`` is the footer's link to the index (default: ``reports/index.html`` relative to ``out_dir``
    when that lies inside ``reports/``, else none).

    Parameters
    ----------
    notebook_path : str or pathlib.Path
        The notebook (relative paths from the project root).
    parameters : mapping, optional
        The notebook's parameters (papermill injects them after its ``parameters`` cell).
    name : str, optional
        The report's name; default the notebook's stem.
    out_dir : str or pathlib.Path, default REPORTS_DIR
        The output folder.
    kernel_name : str, default KERNEL_NAME
        The Jupyter kernel (keyword only).
    cell_timeout : float or None, default DEFAULT_CELL_TIMEOUT
        Seconds allowed per cell; None for no limit (keyword only).
    title : str, optional
        The page title; default the results' title, else name (keyword only).
    provenance : mapping, optional
        The page footer's provenance (keyword only).
    index_href : str, optional
        The footer's link to the index (keyword only).

    Returns
    -------
    RunResult
        The outcome: status, paths written (absolute), seconds, error and notes.

    References
    ----------
    .. [1] papermill, "Executing notebooks", https://papermill.readthedocs.io/en/latest/usage-execute.html
    """
    t0 = time.perf_counter()
    notebook = resolve(notebook_path)
    name = name or notebook.stem
    out = resolve(out_dir)
    html_path = out / f"{name}.html"
    json_path = out / "results" / f"{name}.json"
    executed_path = out / "executed" / f"{name}.ipynb"
    failed_path = out / "executed" / f"{name}.failed.ipynb"
    params = dict(parameters or {})

    tmp_root = out / ".tmp"
    tmp_root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=tmp_root))
    (tmp / OWNER_FILE).write_text(str(os.getpid()), encoding="ascii")  # a later build removes it once we are gone
    tmp_nb = tmp / f"{name}.ipynb"
    kernel_log = tmp / "kernel.log"

    def failed(error: str, *, cell=None, ename=None, evalue=None) -> RunResult:
        if tmp_nb.exists():
            from analysis.core.io import atomic_write_text

            atomic_write_text(failed_path, _stable(tmp_nb.read_text(encoding="utf-8"), tmp_nb, failed_path))
        return RunResult(
            name=name, notebook=_display_path(notebook), status="failed", html_path=None, json_path=None,
            executed_path=failed_path if failed_path.exists() else None, error=error,
            seconds=round(time.perf_counter() - t0, 3), cell=cell, ename=ename, evalue=evalue,
        )

    try:
        if not notebook.is_file():
            return failed(f"{_display_path(notebook)}: no such notebook")
        import papermill
        from papermill.exceptions import PapermillExecutionError

        _silence_papermill_log()
        previous_log = os.environ.get(LOG_ENV)
        os.environ[LOG_ENV] = str(kernel_log)  # the provisioner sends the kernel's stdout/stderr there
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                papermill.execute_notebook(
                    str(notebook), str(tmp_nb), parameters=params, kernel_name=kernel_name,
                    language="python",  # the parameter syntax; notebooks without kernelspec metadata need it
                    progress_bar=False, log_output=False, request_save_on_cell_execute=False,
                    cwd=str(notebook.parent), start_timeout=STARTUP_TIMEOUT, execution_timeout=cell_timeout,
                    # Every output is in once the last cell ran: stop the kernel at once instead of waiting about
                    # a second for a graceful shutdown (nbclient's NotebookClient.shutdown_kernel).
                    shutdown_kernel="immediate",
                    # A kernel manager whose client does not idle after the kernel is ready (kernels.ReadyClient).
                    kernel_manager_class=BuildKernelManager,
                )
        except PapermillExecutionError as exc:
            where = f"cell In [{exc.exec_count}]"
            lineno, code = _failing_line(exc.traceback)
            if lineno is None:
                code = _first_line(exc.source)
            else:
                where += f", line {lineno}"
            if code:
                where += f" `{code}`"
            msg = f"{_display_path(notebook)} failed in {where}: {exc.ename}: {exc.evalue}"
            return failed(msg, cell=exc.exec_count, ename=exc.ename, evalue=str(exc.evalue))
        except Exception as exc:  # dead kernel, timeout, missing kernel, bad notebook JSON ...
            msg = f"{_display_path(notebook)} failed: {type(exc).__name__}: {exc}".rstrip()
            tail = _tail(kernel_log)
            if tail:
                msg += "\nkernel output (last lines):\n" + tail
            return failed(msg, ename=type(exc).__name__, evalue=str(exc))
        finally:
            if previous_log is None:
                os.environ.pop(LOG_ENV, None)
            else:
                os.environ[LOG_ENV] = previous_log

        import nbformat

        nb = nbformat.reads(_stable(tmp_nb.read_text(encoding="utf-8"), tmp_nb, executed_path), 4)
        for cell in nb.cells:  # papermill gives the cell it injects a random id: keep the output stable
            if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
                cell["id"] = "injected-parameters"
        try:
            payload = find_results(nb)
        except RenderError as exc:
            return failed(f"{_display_path(notebook)} {exc}")
        from analysis.core.io import atomic_write_bytes, atomic_write_text, dumps

        results_bytes = dumps(payload).encode("utf-8")
        executed_bytes = nbformat.writes(nb).encode("utf-8")
        if provenance is None:
            from analysis.reporting.provenance import collect

            provenance = collect()
        page_nb, notes = clean_for_html(nb)
        banner = "<br>".join(b for b in (_banner(name, notebook, params), verdict_banner(page_nb, payload)) if b)
        if index_href is None:
            reports = REPORTS_DIR.resolve()
            if out.resolve() == reports or reports in out.resolve().parents:
                index_href = os.path.relpath(reports / "index.html", out.resolve()).replace(os.sep, "/")
        furniture = downloads_html(name, payload) + footer_html(provenance, index_href=index_href)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            body = render_html(page_nb, title or payload.get("title") or name, banner, notebook.parent, furniture)
        body = link_tables(add_contents(body), name, payload)
        thumb, thumb_alt = thumbnail(nb)

        # Each file is replaced atomically; the HTML (what readers open) goes last.
        write_tables(out, name, payload)
        atomic_write_bytes(json_path, results_bytes)
        atomic_write_bytes(executed_path, executed_bytes)
        from analysis.reporting.index import write_glossary

        write_glossary(out)
        atomic_write_text(html_path, body)
        with contextlib.suppress(FileNotFoundError):
            failed_path.unlink()
        verdict = payload.get("verdict")
        return RunResult(
            name=name, notebook=_display_path(notebook), status="ok", html_path=html_path, json_path=json_path,
            executed_path=executed_path, error=None, seconds=round(time.perf_counter() - t0, 3),
            verdict=verdict if isinstance(verdict, str) else None, label=payload.get("label"),
            headline=payload.get("headline"), notes=tuple(notes), thumbnail=thumb, thumbnail_alt=thumb_alt,
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        with contextlib.suppress(OSError):
            tmp_root.rmdir()  # only when empty (no other run in flight)


def _stable(text: str, tmp_nb: Path, final: Path) -> str:
    """The executed notebook's text with papermill's record of its temporary output path replaced by the real one."""
    for old in dict.fromkeys([str(tmp_nb), os.fspath(tmp_nb.resolve())]):
        text = text.replace(json.dumps(old)[1:-1], json.dumps(_display_path(final))[1:-1])
    return text
