"""Execute one notebook with papermill and render it to self-contained HTML with the code hidden.

``run_notebook()`` is the reusable unit behind ``python -m analysis.build`` (and the claim checker)::

    from analysis.render import run_notebook
    r = run_notebook("notebooks/02_quarterly_change.ipynb", {"current_count": 180}, name="claim_2019", out_dir="reports")
    r.status, r.html_path, r.json_path, r.error, r.seconds

It writes, each atomically (temp file + rename, ``analysis.io``):

- ``{out_dir}/{name}.html``              the report: code cells and prompts hidden, figures embedded as base64,
                                         no script and no external request (a Content-Security-Policy forbids both);
- ``{out_dir}/executed/{name}.ipynb``    the executed notebook;
- ``{out_dir}/results/{name}.json``      the notebook's results JSON (``parameters``, ``results``, ``verdict``).

The notebook is run with ``results_dir`` set to a private temporary folder, so a named variant of a notebook lands
as ``{name}.json`` and two runs never race for one file. When the notebook fails, none of those three files is
touched (the last good report stays in place); the failed execution is kept as
``{out_dir}/executed/{name}.failed.ipynb`` for diagnosis and ``RunResult.error`` names the cell and the error.

Escaping helpers for notebooks (importing this module is cheap: papermill and nbconvert load on first run):
``escape()`` for HTML, ``md_escape()`` for text placed in Markdown, ``md_table()`` for a Markdown table of data.
Markdown *outputs* (``display(Markdown(...))``) are also rendered with raw HTML escaped, so a ``<script>`` in a
source quote shows as text; HTML outputs are the notebook's responsibility (pandas ``to_html`` escapes; a
``Styler`` needs ``.format(escape="html")``), and the page's Content-Security-Policy stops any script from running.
"""

from __future__ import annotations

import contextlib
import dataclasses
import html
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

from .paths import REPORTS_DIR, ROOT, resolve

KERNEL_NAME = "kz-injuries"
DEFAULT_CELL_TIMEOUT = 600  # seconds per cell; a hung notebook must not hang the build forever
STARTUP_TIMEOUT = 120

# No script, no network: the page may only use inline styles and data: images/fonts. Links still navigate.
CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
    "base-uri 'none'; form-action 'none'"
)


# --------------------------------------------------------------------------------------------- escaping helpers


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
    cell: int | None = None  # execution count ("In [n]") of the failing cell, when known
    ename: str | None = None
    evalue: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def load_results(self) -> dict:
        """The results JSON the notebook wrote (``parameters``, ``results``, ``verdict``)."""
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
<style type="text/css">
body.jp-Notebook { max-width: 1100px; margin: 0 auto; padding: 1em 1.5em; }
.kz-run-banner { border: 1px solid #c9d3de; background: #f3f6f9; padding: .6em 1em; margin: 0 0 1em 0;
                 font-family: var(--jp-ui-font-family, sans-serif); font-size: 14px; }
.kz-run-banner code { font-size: 13px; }
</style>
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
{%- block data_javascript scoped %}{%- endblock data_javascript %}
{%- block data_widget_view scoped %}{%- endblock data_widget_view %}
"""


def _markdown_escaped(source: str) -> str:
    """Markdown to HTML with any raw HTML in the source escaped (shown as text, never interpreted)."""
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    return MarkdownWithMath(renderer=IPythonRenderer(escape=True, allow_harmful_protocols=False)).render(
        source
    )


def _quiet_logger() -> logging.Logger:
    log = logging.getLogger("analysis.render.quiet")
    if not log.handlers:
        log.addHandler(logging.NullHandler())
        log.propagate = False
    return log


_EXPORTER = None


def html_exporter():
    """nbconvert's HTMLExporter (lab template) with code and prompts hidden and every external resource removed."""
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


def render_html(nb, title: str, banner_html: str = "", nb_dir: str | Path = ".") -> str:
    """Render an executed notebook node (its metadata title is set) to self-contained HTML: code hidden, no scripts."""
    resources = {
        "metadata": {"name": title, "path": str(nb_dir)},
        "kz_csp": CSP,
        "kz_banner": banner_html,
    }
    nb.metadata["title"] = title
    body, _ = html_exporter().from_notebook_node(nb, resources=resources)
    return body


# ----------------------------------------------------------------------------------------------- execution


def _kernel_manager_class(log_file):
    """An AsyncKernelManager whose kernel writes its stdout/stderr to ``log_file`` instead of our terminal."""
    from jupyter_client.manager import AsyncKernelManager

    class QuietKernelManager(AsyncKernelManager):
        async def start_kernel(self, **kw):  # type: ignore[override]
            kw.setdefault("stdout", log_file)
            kw.setdefault("stderr", log_file)
            return await super()._async_start_kernel(**kw)

    return QuietKernelManager


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
    """Escaped HTML naming the run when it is a named variant (its parameters differ from the notebook's text)."""
    if name == notebook.stem and not parameters:
        return ""
    items = ", ".join(
        f"<code>{escape(k)} = {escape(json.dumps(v, ensure_ascii=False))}</code>"
        for k, v in parameters.items()
    )
    return f"<strong>{escape(name)}</strong>: <code>{escape(notebook.name)}</code> run with " + (
        items if items else "its default parameters"
    )


def _normalise_results(raw: bytes, tmp_results: Path, final_results_dir: Path) -> bytes:
    """Check the results JSON and replace the private temporary ``results_dir`` by the real one (determinism)."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RenderError(f"results JSON is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise RenderError("results JSON is not an object")
    missing = [k for k in ("parameters", "results", "verdict") if k not in data]
    if missing:
        raise RenderError(f"results JSON lacks key(s) {', '.join(missing)} (use analysis.io.write_results)")
    params = data.get("parameters")
    if isinstance(params, dict) and "results_dir" in params:
        value = str(params["results_dir"])
        if value in (str(tmp_results), os.fspath(tmp_results.resolve())):
            params["results_dir"] = _display_path(final_results_dir)
    from .io import dumps

    return dumps(data).encode("utf-8")


def run_notebook(
    notebook_path: str | Path,
    parameters: Mapping[str, Any] | None = None,
    name: str | None = None,
    out_dir: str | Path = REPORTS_DIR,
    *,
    kernel_name: str = KERNEL_NAME,
    cell_timeout: float | None = DEFAULT_CELL_TIMEOUT,
    title: str | None = None,
) -> RunResult:
    """Execute ``notebook_path`` with ``parameters`` (plus ``results_dir``) and write its HTML, executed notebook
    and results JSON under ``out_dir`` as ``name`` (default: the notebook's stem).

    Never raises for a failing notebook: the failure is in the returned ``RunResult`` (``status == "failed"``,
    ``error`` naming the cell, ``cell``/``ename``/``evalue`` from papermill). Kernel output and papermill's log
    are kept off the terminal; a dead kernel's last stderr lines are appended to ``error``.
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
    tmp_results = tmp / "results"
    tmp_results.mkdir()
    tmp_nb = tmp / f"{name}.ipynb"
    kernel_log = tmp / "kernel.log"

    def failed(error: str, *, cell=None, ename=None, evalue=None) -> RunResult:
        if tmp_nb.exists():
            from .io import atomic_write_bytes

            atomic_write_bytes(failed_path, tmp_nb.read_bytes())
        return RunResult(
            name=name,
            notebook=_display_path(notebook),
            status="failed",
            html_path=None,
            json_path=None,
            executed_path=failed_path if failed_path.exists() else None,
            error=error,
            seconds=round(time.perf_counter() - t0, 3),
            cell=cell,
            ename=ename,
            evalue=evalue,
        )

    try:
        if not notebook.is_file():
            return failed(f"{_display_path(notebook)}: no such notebook")
        import papermill
        from papermill.exceptions import PapermillExecutionError

        _silence_papermill_log()
        run_params = {**params, "results_dir": str(tmp_results)}
        with open(kernel_log, "ab") as klog, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                papermill.execute_notebook(
                    str(notebook),
                    str(tmp_nb),
                    parameters=run_params,
                    kernel_name=kernel_name,
                    progress_bar=False,
                    log_output=False,
                    request_save_on_cell_execute=False,
                    cwd=str(notebook.parent),
                    start_timeout=STARTUP_TIMEOUT,
                    execution_timeout=cell_timeout,
                    kernel_manager_class=_kernel_manager_class(klog),
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
                if tail and "DeadKernel" in type(exc).__name__:
                    msg += "\nkernel stderr (last lines):\n" + tail
                return failed(msg, ename=type(exc).__name__, evalue=str(exc))

        import nbformat

        nb = nbformat.read(str(tmp_nb), as_version=4)
        produced = sorted(tmp_results.glob("*.json"))
        chosen = tmp_results / f"{notebook.stem}.json"
        if not chosen.exists():
            if len(produced) == 1:
                chosen = produced[0]
            else:
                return failed(
                    f"{_display_path(notebook)} ran but wrote no results JSON to results_dir "
                    f"(expected {notebook.stem}.json via analysis.io.write_results(results_dir, ...))"
                )
        try:
            results_bytes = _normalise_results(chosen.read_bytes(), tmp_results, out / "results")
        except RenderError as exc:
            return failed(f"{_display_path(notebook)}: {exc}")
        verdict = json.loads(results_bytes).get("verdict")

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            body = render_html(nb, title or name, _banner(name, notebook, params), notebook.parent)

        from .io import atomic_write_bytes, atomic_write_text

        # Each file is replaced atomically; the HTML (what readers open) goes last.
        atomic_write_bytes(json_path, results_bytes)
        atomic_write_bytes(executed_path, tmp_nb.read_bytes())
        atomic_write_text(html_path, body)
        with contextlib.suppress(FileNotFoundError):
            failed_path.unlink()
        return RunResult(
            name=name,
            notebook=_display_path(notebook),
            status="ok",
            html_path=html_path,
            json_path=json_path,
            executed_path=executed_path,
            error=None,
            seconds=round(time.perf_counter() - t0, 3),
            verdict=verdict if isinstance(verdict, str) else (None if verdict is None else str(verdict)),
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        with contextlib.suppress(OSError):
            tmp_root.rmdir()  # only when empty (no other run in flight)
