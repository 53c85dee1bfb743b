"""Execute one notebook with papermill and render it to self-contained HTML with the code hidden.

``run_notebook()`` is the reusable unit behind ``python -m analysis.build`` (and the claim checker)::

    from analysis.reporting.runner import run_notebook
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

from analysis.core.paths import REPORTS_DIR, ROOT, resolve
from analysis.present.tables import escape

KERNEL_NAME = "kz-injuries"
DEFAULT_CELL_TIMEOUT = 600  # seconds per cell; a hung notebook must not hang the build forever
STARTUP_TIMEOUT = 120

# No script, no network: the page may only use inline styles and data: images/fonts. Links still navigate.
CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
    "base-uri 'none'; form-action 'none'"
)


# --------------------------------------------------------------------------------------------- escaping helpers


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
    log = logging.getLogger("analysis.reporting.runner.quiet")
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


class KernelZygote:
    """A process that has done the notebooks' imports once and forks one fresh kernel per notebook.

    Every notebook still gets its own kernel process (its own namespace and state, nothing shared at run time), but
    the kernel starts with pandas, scipy, seaborn, statsmodels, ... already imported, which saves the 2-4 s of CPU
    each kernel would otherwise spend importing them. Create it in a single-threaded process with no event loop
    running (the builder does so in each worker's initializer), then ``install()`` it: ``run_notebook`` calls in
    that process launch their kernels through it, and fall back to an ordinary kernel when it is not usable.
    """

    def __init__(self, modules: Sequence[str], ready_timeout: float = 120.0):
        self.modules = list(modules)
        self.ready_timeout = ready_timeout
        self._ready: bool | None = None
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the zygote
            code = 0
            try:
                os.close(req_w)
                os.close(rep_r)
                _zygote_main(req_r, rep_w, self.modules)
            except BaseException:  # noqa: BLE001 - never return into the caller's stack
                import traceback

                traceback.print_exc()  # to the worker's log
                code = 1
            finally:
                os._exit(code)
        os.close(req_r)
        os.close(rep_w)
        self.pid = pid
        self._req = os.fdopen(req_w, "w", buffering=1)
        self._rep = os.fdopen(rep_r, "r")

    def ready(self) -> bool:
        """Wait (once) for the imports to finish; False if the zygote died or took too long."""
        if self._ready is None:
            import select

            ok, _, _ = select.select([self._rep], [], [], self.ready_timeout)
            self._ready = bool(ok) and self._rep.readline().strip() == "ready"
        return self._ready

    def spawn(self, argv: list[str], env: Mapping[str, str], cwd: str, log_path: str) -> int:
        """Fork a kernel running ``argv`` (an ipykernel command line); return its pid (a process group leader)."""
        self._req.write(json.dumps({"argv": argv, "env": dict(env), "cwd": cwd, "log": log_path}) + "\n")
        reply = self._rep.readline()
        if not reply:
            self._ready = False
            raise RuntimeError("kernel zygote exited")
        return int(reply)

    def install(self) -> KernelZygote:
        global _ZYGOTE
        _ZYGOTE = self
        return self

    def close(self) -> None:
        global _ZYGOTE
        if _ZYGOTE is self:
            _ZYGOTE = None
        with contextlib.suppress(OSError):
            self._req.close()
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(self.pid, 0)


_ZYGOTE: KernelZygote | None = None


def _zygote_main(req_fd: int, rep_fd: int, modules: list[str]) -> None:
    import gc
    import importlib
    import signal
    import sys

    # Hold no descriptor of the worker's (its pool's pipes, logs): only the two pipes to it, and stdio.
    for fd in [int(f) for f in os.listdir("/proc/self/fd")] if os.path.isdir("/proc/self/fd") else []:
        if fd > 2 and fd not in (req_fd, rep_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
    _std_streams()
    _forget_event_loops()
    if "rfc3987_syntax" in sys.modules and sys.modules["rfc3987_syntax"] is None:
        del sys.modules[
            "rfc3987_syntax"
        ]  # the builder's worker blocks it for itself; kernels get the real thing
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")  # what ipykernel sets
    for name in ["ipykernel.kernelapp", *modules]:
        try:
            importlib.import_module(name)
        except BaseException:  # noqa: BLE001 - the notebook's own import reports it properly
            pass
    gc.collect()
    gc.freeze()  # keep the imported objects' pages shared with the kernels (no copy-on-write by the collector)
    zygote_pid = os.getpid()
    zygote_cwd = os.getcwd()
    kernels: set[int] = set()

    def reap(*_):
        while True:
            try:
                pid, _status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            kernels.discard(pid)
            if os.WIFSIGNALED(_status) or os.WEXITSTATUS(_status) not in (0,):
                print(f"kernel zygote: kernel {pid} ended with status {_status}", file=sys.stderr, flush=True)

    signal.signal(signal.SIGCHLD, reap)
    rep = os.fdopen(rep_fd, "w", buffering=1)
    rep.write("ready\n")
    with os.fdopen(req_fd, "r") as req:
        for line in req:
            spec = json.loads(line)
            pid = os.fork()
            if pid == 0:
                code = 0
                try:
                    _kernel_child(spec, zygote_pid, zygote_cwd, (req_fd, rep_fd))
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else 1
                except BaseException:  # noqa: BLE001 - report, then leave the zygote's stack
                    import traceback

                    traceback.print_exc()  # into the kernel's log, which run_notebook quotes
                    code = 1
                finally:
                    os._exit(code)
            kernels.add(pid)
            rep.write(f"{pid}\n")
    # The worker is gone (end of build, or interrupted): take its kernels along.
    for pid in list(kernels):
        with contextlib.suppress(OSError):
            os.killpg(pid, 15)


def _kernel_child(spec: dict, zygote_pid: int, zygote_cwd: str, fds: tuple[int, int]) -> None:
    import signal
    import sys

    os.setsid()  # like jupyter_client's launcher: the kernel leads its own process group
    for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # interrupts reach the kernel
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)
    null = os.open(os.devnull, os.O_RDONLY)
    log = os.open(spec["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(null)
    os.close(log)
    _std_streams()
    _forget_event_loops()
    os.chdir(spec["cwd"])
    os.environ.clear()
    os.environ.update(spec["env"])
    os.environ["JPY_PARENT_PID"] = str(zygote_pid)  # ipykernel exits when its parent (this zygote) goes away
    if sys.path and (sys.path[0] == "" or os.path.abspath(sys.path[0]) == zygote_cwd):
        del sys.path[0]  # as ipykernel_launcher does; IPython puts the kernel's cwd back
    if (
        "numpy" in sys.modules
    ):  # a fresh kernel seeds numpy's global generator from the OS (random reseeds itself)
        sys.modules["numpy"].random.seed()
    argv = list(spec["argv"])
    args = argv[argv.index("ipykernel_launcher") + 1 :] if "ipykernel_launcher" in argv else argv[1:]
    # ipykernel read JPY_PARENT_PID when the zygote imported it; say it again so the kernel exits with the zygote.
    args.append(f"--IPKernelApp.parent_handle={zygote_pid}")
    sys.argv = ["ipykernel_launcher", *args]
    from ipykernel.kernelapp import IPKernelApp

    IPKernelApp.launch_instance(argv=args)


def _forget_event_loops() -> None:
    """Drop any asyncio loop inherited through fork (a caller that ran papermill in-process has one): its epoll
    descriptor belongs to another process, and ipykernel would pick the stale loop up as its own."""
    import asyncio

    with contextlib.suppress(Exception):
        asyncio.events._set_running_loop(None)
    asyncio.set_event_loop_policy(None)


def _std_streams() -> None:
    """Point sys.std* (and sys.__std*__) at fds 0-2: whatever the forking process had there (pytest's capture,
    a closed descriptor) is not ours to write to."""
    import sys

    for n, name in enumerate(("stdin", "stdout", "stderr")):
        mode = "r" if n == 0 else "w"
        stream = open(n, mode, buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False)  # noqa: SIM115
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)


class _ForkedKernel:
    """Enough of ``subprocess.Popen`` for jupyter_client's LocalProvisioner, for a kernel forked by the zygote."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                os.kill(self.pid, 0)  # the zygote reaps its children at once, so a dead kernel is gone
            except ProcessLookupError:
                self.returncode = 0
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                import subprocess

                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.02)
        return self.returncode  # type: ignore[return-value]

    def send_signal(self, sig: int) -> None:
        os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(15)

    def kill(self) -> None:
        self.send_signal(9)


def _kernel_manager_class(log_file):
    """An AsyncKernelManager whose kernel writes its stdout/stderr to ``log_file`` instead of our terminal,
    forked from the installed ``KernelZygote`` when there is one."""
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_client.provisioning import LocalProvisioner

    class QuietKernelManager(AsyncKernelManager):
        async def start_kernel(self, **kw):  # type: ignore[override]
            kw.setdefault("stdout", log_file)
            kw.setdefault("stderr", log_file)
            return await super()._async_start_kernel(**kw)

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            zygote = _ZYGOTE
            prov = self.provisioner
            if (
                zygote is not None
                and type(prov) is LocalProvisioner
                and any("ipykernel" in part for part in kernel_cmd)
                and zygote.ready()
            ):
                try:
                    pid = zygote.spawn(
                        list(kernel_cmd),
                        kw.get("env") or os.environ,
                        str(kw.get("cwd") or os.getcwd()),
                        log_file.name,
                    )
                except (OSError, RuntimeError, ValueError):
                    pass  # fall back to an ordinary kernel below
                else:
                    prov.process = _ForkedKernel(pid)
                    prov.pid = prov.pgid = pid
                    prov.cwd = kw.get("cwd")
                    self._reconcile_connection_info(prov.connection_info)
                    return
            return await super()._async_launch_kernel(kernel_cmd, **kw)

    return QuietKernelManager


def imported_modules(notebooks: Iterable[str | Path]) -> list[str]:
    """Top-level modules the notebooks' code cells import (``from pkg import mod`` gives ``pkg.mod`` too)."""
    found: dict[str, None] = {}
    imp = re.compile(r"^\s*import\s+(.+)$")
    frm = re.compile(r"^\s*from\s+([A-Za-z_][\w.]*)\s+import\s+\(?([^#)]+)")
    for path in notebooks:
        try:
            cells = json.loads(Path(path).read_text(encoding="utf-8")).get("cells", [])
        except (OSError, ValueError):
            continue
        for cell in cells:
            if cell.get("cell_type") != "code":
                continue
            src = cell.get("source", "")
            for line in (src if isinstance(src, str) else "".join(src)).splitlines():
                if m := frm.match(line):
                    pkg = m.group(1)
                    if pkg == "__future__":
                        continue
                    found[pkg] = None
                    for item in m.group(2).split(","):
                        name = item.strip().split(" as ")[0].strip()
                        if name.isidentifier():
                            found[f"{pkg}.{name}"] = None  # a submodule, or harmlessly not one
                elif m := imp.match(line):
                    for item in m.group(1).split("#")[0].split(","):
                        name = item.strip().split(" as ")[0].strip()
                        if re.fullmatch(r"[A-Za-z_][\w.]*", name):
                            found[name] = None
    return list(found)


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


def _scrub_tmp_paths(
    nb_file: Path, tmp_results: Path, out: Path, stem: str, name: str, final_nb: Path
) -> str:
    """The executed notebook's text with the private temporary folder's paths replaced by the real ones.

    A notebook that shows where it wrote its JSON would otherwise show a temporary path that is gone after the
    build (and differs from run to run); ``<tmp>/<stem>.json`` becomes ``<out>/results/<name>.json`` and papermill's
    record of its output path names the executed notebook's real place.
    """
    text = nb_file.read_text(encoding="utf-8")
    final = _display_path(out / "results")
    pairs = []
    for tmp in dict.fromkeys([str(tmp_results), os.fspath(tmp_results.resolve())]):
        pairs += [(f"{tmp}/{stem}.json", f"{final}/{name}.json"), (tmp, final)]
    for tmp in dict.fromkeys([str(nb_file), os.fspath(nb_file.resolve())]):
        pairs.append((tmp, _display_path(final_nb)))
    for old, new in pairs:
        text = text.replace(json.dumps(old)[1:-1], json.dumps(new)[1:-1])
    return text


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
        raise RenderError(f"results JSON lacks key(s) {', '.join(missing)} (use analysis.core.io.write_results)")
    params = data.get("parameters")
    if isinstance(params, dict) and "results_dir" in params:
        value = str(params["results_dir"])
        if value in (str(tmp_results), os.fspath(tmp_results.resolve())):
            params["results_dir"] = _display_path(final_results_dir)
    from analysis.core.io import dumps

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
            from analysis.core.io import atomic_write_text

            text = _scrub_tmp_paths(tmp_nb, tmp_results, out, notebook.stem, name, failed_path)
            atomic_write_text(failed_path, text)
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
                    language="python",  # the parameter syntax; notebooks without kernelspec metadata need it
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
                if tail:
                    msg += "\nkernel output (last lines):\n" + tail
                return failed(msg, ename=type(exc).__name__, evalue=str(exc))

        import nbformat

        nb = nbformat.reads(_scrub_tmp_paths(tmp_nb, tmp_results, out, notebook.stem, name, executed_path), 4)
        for cell in nb.cells:  # papermill gives the cell it injects a random id: keep the output stable
            if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
                cell["id"] = "injected-parameters"
        executed_bytes = nbformat.writes(nb).encode("utf-8")
        produced = sorted(tmp_results.glob("*.json"))
        chosen = tmp_results / f"{notebook.stem}.json"
        if not chosen.exists():
            if len(produced) == 1:
                chosen = produced[0]
            else:
                return failed(
                    f"{_display_path(notebook)} ran but wrote no results JSON to results_dir "
                    f"(expected {notebook.stem}.json via analysis.core.io.write_results(results_dir, ...))"
                )
        try:
            results_bytes = _normalise_results(chosen.read_bytes(), tmp_results, out / "results")
        except RenderError as exc:
            return failed(f"{_display_path(notebook)}: {exc}")
        verdict = json.loads(results_bytes).get("verdict")

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            body = render_html(nb, title or name, _banner(name, notebook, params), notebook.parent)

        from analysis.core.io import atomic_write_bytes, atomic_write_text

        # Each file is replaced atomically; the HTML (what readers open) goes last.
        atomic_write_bytes(json_path, results_bytes)
        atomic_write_bytes(executed_path, executed_bytes)
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
