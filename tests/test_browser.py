"""The built reports in a real browser: headless Chromium driven over the DevTools protocol (websocket-client).

- ``test_index_and_every_report_render_offline`` opens ``reports/index.html`` (built by ``make report`` before the
  tests in CI) and every report it links, and checks the verdict table, every figure (``img`` with a ``data:``
  URI, decoded) and that no request leaves the machine (every URL the page requests is ``file:`` or ``data:``).
  Screenshots go to ``reports/screenshots/``. ``KZ_REPORTS_DIR`` points it at another build.
- ``test_script_in_data_shows_as_text_and_never_runs`` builds a tiny notebook of its own with a ``<script>`` in a
  parameter, a Markdown output and the verdict, and checks in the browser that it shows as text and never runs.

Without /usr/bin/chromium (``bash .ci/browser.sh`` installs it) or without reports/index.html, the tests skip,
unless CI is set: then they fail.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analysis.core.paths import REPORTS_DIR, ROOT

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
IN_CI = bool(os.environ.get("CI"))
REPORTS = Path(os.environ.get("KZ_REPORTS_DIR") or REPORTS_DIR)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--mute-audio",
    "--hide-scrollbars",
    "--window-size=1280,900",
    "--remote-debugging-port=0",
]
# nbconvert's choice among an output's representations (HTMLExporter's display_data_priority).
PRIORITY = [
    "application/vnd.jupyter.widget-view+json",
    "application/javascript",
    "text/html",
    "text/markdown",
    "image/svg+xml",
    "text/vnd.mermaid",
    "text/latex",
    "image/png",
    "image/jpeg",
    "text/plain",
]
IMAGE_TYPES = {"image/svg+xml", "image/png", "image/jpeg"}


def need(condition: bool, reason: str) -> None:
    if not condition:
        if IN_CI:
            pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
        pytest.skip(f"{reason}; CI not set")


class DevTools:
    """A minimal Chrome DevTools protocol client over one browser websocket, with flattened target sessions."""

    def __init__(self, ws_url: str):
        import websocket

        self.ws = websocket.create_connection(ws_url, timeout=60, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict] = []

    def call(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 60):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self.ws.settimeout(timeout)
        self.ws.send(json.dumps(msg))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)
        raise TimeoutError(method)

    def wait_event(self, method: str, session: str, since: int, timeout: float = 60) -> dict:
        import websocket

        deadline = time.monotonic() + timeout
        while True:
            for ev in self.events[since:]:
                if ev["method"] == method and ev.get("sessionId") == session:
                    return ev
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {method} within {timeout}s")
            self.ws.settimeout(max(0.05, deadline - time.monotonic()))
            with contextlib.suppress(websocket.WebSocketTimeoutException):
                msg = json.loads(self.ws.recv())
                if "method" in msg:
                    self.events.append(msg)

    def drain(self, seconds: float) -> None:
        """Collect events for ``seconds`` more (late requests, e.g. from scripts or lazy images)."""
        import websocket

        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self.ws.settimeout(left)
            try:
                msg = json.loads(self.ws.recv())
            except websocket.WebSocketTimeoutException:
                break
            if "method" in msg:
                self.events.append(msg)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.close()


class Page:
    def __init__(self, dt: DevTools):
        self.dt = dt
        target = dt.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = dt.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Network", "Runtime", "Log"):
            dt.call(f"{domain}.enable", session=self.session)

    def open(self, path: Path) -> list[str]:
        """Navigate to ``path``; return every URL the page requested."""
        start = len(self.dt.events)
        self.dt.call("Page.navigate", {"url": path.resolve().as_uri()}, self.session)
        self.dt.wait_event("Page.loadEventFired", self.session, start)
        self.dt.drain(0.5)
        return [
            ev["params"]["request"]["url"]
            for ev in self.dt.events[start:]
            if ev["method"] == "Network.requestWillBeSent" and ev.get("sessionId") == self.session
        ]

    def js(self, expression: str):
        res = self.dt.call(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, self.session
        )
        if "exceptionDetails" in res:
            raise RuntimeError(f"{expression}: {res['exceptionDetails']}")
        return res["result"].get("value")

    def screenshot(self, path: Path) -> None:
        size = self.dt.call("Page.getLayoutMetrics", session=self.session)["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 12000), "scale": 1}
        shot = self.dt.call(
            "Page.captureScreenshot",
            {"format": "png", "clip": clip, "captureBeyondViewport": True},
            self.session,
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        from analysis.core.io import atomic_write_bytes

        atomic_write_bytes(path, base64.b64decode(shot["data"]))


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    need(CHROMIUM.exists(), f"{CHROMIUM} is not installed (bash .ci/browser.sh installs it)")
    profile = tmp_path_factory.mktemp("chromium-profile")
    log = open(profile.parent / "chromium.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=log,
        stderr=log,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    dt = None
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                tail = (profile.parent / "chromium.log").read_text(errors="replace")[-2000:]
                pytest.fail(f"chromium did not start (exit {proc.poll()}):\n{tail}")
            time.sleep(0.05)
        port, ws_path = port_file.read_text().splitlines()[:2]
        dt = DevTools(f"ws://127.0.0.1:{port}{ws_path}")
        yield dt
    finally:
        if dt is not None:
            with contextlib.suppress(Exception):
                dt.ws.send(json.dumps({"id": 10**6, "method": "Browser.close"}))
            dt.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # the browser we started, and its children
            proc.wait(timeout=10)
        log.close()


def assert_offline(urls: list[str], what: str) -> None:
    leaving = [u for u in urls if not u.startswith(("file:", "data:"))]
    assert not leaving, f"{what} requested resources off this machine: {leaving}"


def expected_figures(executed: Path) -> int:
    """How many outputs of the executed notebook nbconvert renders as an image."""
    nb = json.loads(executed.read_text(encoding="utf-8"))
    n = 0
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []):
            data = out.get("data") or {}
            shown = next((m for m in PRIORITY if m in data), None)
            n += shown in IMAGE_TYPES
    return n


FIGURES_JS = """(() => {
  const imgs = [...document.querySelectorAll('img')];
  return imgs.map(i => ({src: i.getAttribute('src').slice(0, 30), ok: i.complete && i.naturalWidth > 0}));
})()"""


def check_figures(page: Page, expected: int, what: str) -> None:
    imgs = page.js(FIGURES_JS)
    not_inline = [i["src"] for i in imgs if not i["src"].startswith("data:")]
    assert not not_inline, f"{what}: img not embedded as a data: URI: {not_inline}"
    assert all(i["ok"] for i in imgs), f"{what}: an embedded image did not decode"
    assert len(imgs) >= expected, (
        f"{what}: {len(imgs)} images in the DOM, the notebook has {expected} figures"
    )


def test_index_and_every_report_render_offline(browser):
    index = REPORTS / "index.html"
    need(index.exists(), f"{index} is not built (run `make report` first)")
    page = Page(browser)
    assert_offline(page.open(index), "index.html")
    table = page.js(
        """(() => {
          const t = document.querySelector('table#verdicts');
          if (!t) return null;
          const rows = [...t.querySelectorAll('tbody tr.report')];
          return {
            headers: [...t.querySelectorAll('thead th')].map(th => th.textContent.trim()),
            rows: rows.map(r => ({
              name: r.dataset.name, status: r.dataset.status,
              verdict: r.querySelector('td.verdict').innerText.trim(),
              href: (r.querySelector('a.report-link') || {}).href || null,
            })),
          };
        })()"""
    )
    assert table is not None, "index.html has no verdict table (table#verdicts)"
    assert "Verdict" in table["headers"] and "Parameters" in table["headers"]
    assert table["rows"], "the verdict table has no rows"
    for row in table["rows"]:
        if row["status"] == "ok":
            assert row["verdict"], f"{row['name']}: empty verdict"
            assert row["href"], f"{row['name']}: no link to its report"
    page.screenshot(REPORTS / "screenshots" / "index.png")

    opened = 0
    for row in table["rows"]:
        if not row["href"]:
            continue
        html_path = Path(re.sub(r"^file://", "", row["href"]))
        from urllib.parse import unquote

        html_path = Path(unquote(str(html_path)))
        assert html_path.exists(), f"{row['name']}: index links a missing file {html_path}"
        urls = page.open(html_path)
        assert_offline(urls, html_path.name)
        assert page.js("document.querySelectorAll('script').length") == 0, f"{html_path.name} has a script"
        assert page.js("document.querySelectorAll('.jp-InputArea .jp-InputPrompt').length") == 0
        executed = REPORTS / "executed" / f"{row['name']}.ipynb"
        check_figures(page, expected_figures(executed) if executed.exists() else 0, html_path.name)
        page.screenshot(REPORTS / "screenshots" / f"{row['name']}.png")
        opened += 1
    assert opened, "the index links no report"


SCRIPT = "<script>window.__pwned = 1</script>"


def test_script_in_data_shows_as_text_and_never_runs(browser, tmp_path):
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    nbs, out = tmp_path / "nbs", tmp_path / "out"
    nbs.mkdir()
    nb = new_notebook()
    params = new_code_cell('quote = "plain"\nresults_dir = "reports/results"\n')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        new_markdown_cell("# Fixture"),
        params,
        new_code_cell(
            "import matplotlib\nmatplotlib.use('module://matplotlib_inline.backend_inline')\n"
            "import matplotlib.pyplot as plt\n"
            "from IPython.display import Markdown, display\n"
            "from analysis.present.tables import md_table\n"
            "from analysis.present.report import write_results\n"
            "fig, ax = plt.subplots(figsize=(3, 2)); ax.bar(['a', 'b'], [3, 1]); ax.set_title(quote); plt.show()\n"
            "display(Markdown('> ' + quote))\n"
            "display(Markdown(md_table([{'source quote': quote}])))\n"
            "write_results(results_dir, 'fixture', {'quote': quote}, {'n': 2}, 'Quoted: ' + quote)\n"
        ),
    ]
    nb.metadata["kernelspec"] = {
        "name": "kz-injuries",
        "display_name": "Python (kz-injuries)",
        "language": "python",
    }
    nbformat.write(nb, str(nbs / "fixture.ipynb"))
    (nbs / "reports.toml").write_text(
        f'[variants.fixture_script]\nnotebook = "fixture"\n[variants.fixture_script.parameters]\n'
        f"quote = {json.dumps(SCRIPT)}\n"
    )
    res = subprocess.run(
        [sys.executable, "-m", "analysis.build", "--notebooks", str(nbs), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stdout + res.stderr

    page = Page(browser)
    for target in (out / "index.html", out / "fixture_script.html"):
        assert_offline(page.open(target), target.name)
        assert page.js("typeof window.__pwned") == "undefined", f"a script from data ran in {target.name}"
        assert page.js("document.querySelectorAll('script').length") == 0
        assert SCRIPT in page.js("document.body.innerText"), (
            f"the quote is not shown as text in {target.name}"
        )
        page.screenshot(tmp_path / f"{target.stem}.png")
    check_figures(page, expected_figures(out / "executed" / "fixture_script.ipynb"), "fixture_script.html")
    assert expected_figures(out / "executed" / "fixture_script.ipynb") == 1
    text = page.js("document.body.innerText")
    assert text.count(SCRIPT) >= 2  # the Markdown quote and the md_table cell
