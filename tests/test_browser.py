"""The built reports in a real browser: headless Chromium driven over the DevTools protocol (websocket-client).

- ``test_index_glossary_and_every_report_read_well`` opens ``reports/index.html`` (built by ``make report`` before
  the tests in CI, or by the shared ``reports`` fixture), ``reports/glossary.html`` and every report the index links,
  saves a screenshot of the top of each under ``reports/screenshots/``, and checks what a reviewer would: the index has one
  group per question with badges, headlines, links and a legend linking the glossary; every report opens with its
  verdict label as a badge (and, for reports of converted studies, the summary box), has a table of contents and a
  footer naming the commit, the data hash and the package versions; no text reads like raw Python output
  (scientific notation such as ``5.26e+06``, ``'reports/results'``, ``<Figure size``, ``array(``); no table is
  wider than the page; every image has alternative text saying what it shows; every glossary link resolves to an
  anchor that exists; no request leaves the machine. ``KZ_REPORTS_DIR`` points it at another build.
  Reports of notebooks not yet converted to a study (published through the transitional ``write_results``) are held
  to the same checks, but their failures are reported as warnings (their conversion is under way).
- ``test_script_in_data_shows_as_text_and_never_runs`` builds a tiny notebook of its own with a ``<script>`` in a
  parameter, a Markdown output and the verdict, and checks in the browser that it shows as text and never runs.

Without /usr/bin/chromium (``bash .ci/browser.sh`` installs it) the tests skip, unless CI is set: then they fail.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from analysis.core.paths import REPORTS_DIR

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
        # Requests made after the load event arrive while the checks and the screenshot run; the test collects
        # every request of the session once more at its end (late_requests).
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

    def screenshot(self, path: Path, max_height: int = 2400) -> None:
        """The top of the page (at most ``max_height`` CSS pixels: the verdict, the summary, the contents and the
        first section; rendering a whole 9,000-pixel report costs more than every check together), encoded for
        speed rather than size."""
        size = self.dt.call("Page.getLayoutMetrics", session=self.session)["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], max_height), "scale": 1}
        shot = self.dt.call(
            "Page.captureScreenshot",
            {"format": "jpeg", "quality": 85, "clip": clip, "captureBeyondViewport": True, "optimizeForSpeed": True},
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


def assert_no_late_request(dt: DevTools, seconds: float = 0.2) -> None:
    """Every request any page of the session made, including those after its load event (none is expected: the
    pages have no script), after ``seconds`` more for stragglers."""
    dt.drain(seconds)
    leaving = [(ev["params"].get("documentURL", "?"), ev["params"]["request"]["url"]) for ev in dt.events
               if ev["method"] == "Network.requestWillBeSent"
               and not ev["params"]["request"]["url"].startswith(("file:", "data:"))]
    assert not leaving, f"pages requested resources off this machine (page, request): {leaving}"


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


RAW = re.compile(r"\d\.\d+e[+-]\d+|'reports/results'|<Figure size|array\(")

PAGE_JS = r"""(() => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const texts = [];
  while (walker.nextNode()) { const t = walker.currentNode.textContent.trim(); if (t) texts.push(t); }
  const width = document.documentElement.clientWidth;
  const tables = [...document.querySelectorAll('table')].filter(t => t.offsetParent !== null).map(t => {
    const r = t.getBoundingClientRect();
    const box = t.closest('.kz-table-wrap') || t.parentElement;
    return {right: r.right, width: r.width, box: box.clientWidth,
            head: [...t.querySelectorAll('th')].slice(0, 4).map(th => th.textContent.trim()).join(' | ')};
  });
  return {
    texts, width, pageScroll: document.documentElement.scrollWidth, tables,
    images: [...document.querySelectorAll('img')].map(i => ({alt: i.getAttribute('alt'),
             ok: i.complete && i.naturalWidth > 0, src: (i.getAttribute('src') || '').slice(0, 30)})),
    links: [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href')),
    badges: [...document.querySelectorAll('.kz-badge')].map(b => b.textContent.trim()),
    summary: !!document.querySelector('.kz-summary'),
    toc: [...document.querySelectorAll('nav.kz-toc a')].map(a => a.getAttribute('href')),
    footer: (document.querySelector('.kz-footer') || {}).innerText || '',
    scripts: document.querySelectorAll('script').length,
    prompts: document.querySelectorAll('.jp-InputArea .jp-InputPrompt').length,
  };
})()"""

MEANINGLESS_ALT = re.compile(r"^(figure( \d+)?|image|plot|chart|figure \(no description given\)|"
                             r"no description has been provided.*)$", re.I)


def page_problems(info: dict, label: str) -> list[str]:
    """What a reviewer would object to on a rendered page (``info`` from PAGE_JS)."""
    problems = []
    raw = sorted({m.group(0) for t in info["texts"] for m in [RAW.search(t)] if m})
    if raw:
        problems.append(f"{label}: raw Python output or scientific notation in the text: {raw[:5]}")
    for t in info["tables"]:
        if t["right"] > info["width"] + 1 or t["width"] > t["box"] + 1:
            problems.append(f"{label}: table wider than the page ({t['width']:.0f} px in {t['box']} px): {t['head']}")
    if info["pageScroll"] > info["width"] + 1:
        problems.append(f"{label}: the page scrolls sideways ({info['pageScroll']} px > {info['width']} px)")
    for img in info["images"]:
        alt = (img["alt"] or "").strip()
        if len(alt.split()) < 4 or MEANINGLESS_ALT.match(alt):
            problems.append(f"{label}: an image without meaningful alternative text: {alt!r}")
        if not img["ok"] or not img["src"].startswith("data:"):
            problems.append(f"{label}: an image that is not an embedded, decodable data: URI ({img['src']})")
    return problems


def element_ids(page: str) -> set[str]:
    """The ``id`` attributes of an HTML page."""
    import html.parser

    class Ids(html.parser.HTMLParser):
        def __init__(self):
            super().__init__()
            self.ids: set[str] = set()

        def handle_starttag(self, tag, attrs):
            self.ids.update(v for k, v in attrs if k == "id" and v)

    parser = Ids()
    parser.feed(page)
    return parser.ids


def check_glossary_links(links: list[str], page: Path, glossary_ids: dict[Path, set[str]]) -> list[str]:
    """Every link to a glossary page resolves to a file and (with a #fragment) to an element id in it."""
    from urllib.parse import unquote, urlsplit

    bad = []
    for href in links:
        parts = urlsplit(href)
        if parts.scheme or not parts.path.endswith("glossary.html"):
            continue
        target = (page.parent / unquote(parts.path)).resolve()
        if target not in glossary_ids:
            if not target.exists():
                bad.append(f"{page.name}: glossary link {href} points to a missing file")
                continue
            glossary_ids[target] = element_ids(target.read_text(encoding="utf-8"))
        if parts.fragment and unquote(parts.fragment) not in glossary_ids[target]:
            bad.append(f"{page.name}: glossary link {href}: no element with id {parts.fragment!r}")
    return bad


def test_index_glossary_and_every_report_read_well(browser, request):
    index = REPORTS / "index.html"
    if not os.environ.get("KZ_REPORTS_DIR"):
        request.getfixturevalue("reports")  # up to date (a no-op after `make report`), shared with other tests
    need(index.exists(), f"{index} is not built (run `make report` first)")
    page = Page(browser)
    assert_offline(page.open(index), "index.html")
    table = page.js(
        """(() => {
          const t = document.querySelector('table#verdicts');
          if (!t) return null;
          return {
            groups: [...t.querySelectorAll('tbody.question')].map(g => g.dataset.question),
            legend: [...document.querySelectorAll('.legend a .kz-badge')].map(b => b.textContent.trim()),
            legendLinks: [...document.querySelectorAll('.legend a')].map(a => a.getAttribute('href')),
            rows: [...t.querySelectorAll('tbody tr.report')].map(r => ({
              name: r.dataset.name, status: r.dataset.status, kind: r.dataset.kind,
              badge: (r.querySelector('td.verdict .kz-badge') || {}).textContent || null,
              headline: (r.querySelector('td.verdict .headline') || {}).textContent || '',
              folded: !!r.querySelector('td.verdict details'),
              href: (r.querySelector('a.report-link') || {}).href || null,
            })),
          };
        })()"""
    )
    assert table is not None, "index.html has no verdict table (table#verdicts)"
    assert table["rows"], "the verdict table has no rows"
    assert len(table["groups"]) == len(set(table["groups"])), "a question appears in two groups"
    assert table["legend"] == ["supported", "fragile", "not supported", "inconsistent", "descriptive"]
    assert all("glossary.html#" in h for h in table["legendLinks"][:5]), table["legendLinks"]
    for row in table["rows"]:
        if row["status"] == "ok":
            assert row["badge"], f"{row['name']}: no verdict badge in the index"
            assert row["headline"].strip(), f"{row['name']}: no headline in the index"
            assert row["href"], f"{row['name']}: no link to its report"
    glossary_ids: dict[Path, set[str]] = {}
    info = page.js(PAGE_JS)
    problems = page_problems(info, "index.html")
    problems += check_glossary_links(info["links"], index, glossary_ids)
    page.screenshot(REPORTS / "screenshots" / "index.jpg")

    glossary = REPORTS / "glossary.html"
    assert glossary.exists(), "reports/glossary.html is missing"
    assert_offline(page.open(glossary), "glossary.html")
    g = page.js(PAGE_JS)
    problems += page_problems(g, "glossary.html")
    page.screenshot(REPORTS / "screenshots" / "glossary.jpg")

    warnings_only: list[str] = []
    opened = 0
    from urllib.parse import unquote

    for row in table["rows"]:
        if not row["href"]:
            continue
        html_path = Path(unquote(re.sub(r"^file://", "", row["href"])))
        assert html_path.exists(), f"{row['name']}: index links a missing file {html_path}"
        assert_offline(page.open(html_path), html_path.name)
        info = page.js(PAGE_JS)
        results = html_path.parent / "results" / f"{row['name']}.json"
        payload = json.loads(results.read_text(encoding="utf-8")) if results.exists() else {}
        converted = bool(payload.get("study"))
        found = page_problems(info, html_path.name)
        assert info["scripts"] == 0, f"{html_path.name} has a script"
        assert info["prompts"] == 0, f"{html_path.name} shows code prompts"
        assert payload.get("label") in info["badges"], f"{html_path.name}: no {payload.get('label')!r} badge"
        if converted:
            assert info["summary"], f"{html_path.name}: no summary box"
        if len(info["toc"]) < 2 and converted:
            found.append(f"{html_path.name}: no table of contents")
        for needle in ("Code:", "Data: data/ SHA-256", "Software: Python", "Built:"):
            assert needle in info["footer"], f"{html_path.name}: footer lacks {needle!r}: {info['footer']!r}"
        glossary_links = check_glossary_links(info["links"], html_path, glossary_ids)
        assert any("glossary.html" in h for h in info["links"]), f"{html_path.name}: no link to the glossary"
        problems += glossary_links
        executed = html_path.parent / "executed" / f"{row['name']}.ipynb"
        check_figures(page, expected_figures(executed) if executed.exists() else 0, html_path.name)
        (problems if converted else warnings_only).extend(found)
        page.screenshot(REPORTS / "screenshots" / f"{row['name']}.jpg")
        opened += 1
    assert opened, "the index links no report"
    assert_no_late_request(browser)
    for w in warnings_only:
        import warnings

        warnings.warn(f"report not yet converted to a study: {w}", stacklevel=1)
    assert not problems, "\n".join(problems)


SCRIPT = "<script>window.__pwned = 1</script>"


def test_script_in_data_shows_as_text_and_never_runs(browser, tmp_path, kernel_zygote):
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
    import io

    from analysis.reporting import build

    log = io.StringIO()
    with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        rc = build.main(["--notebooks", str(nbs), "--out", str(out), "-j", "1"])  # workers fork from this process
    assert rc == 0, log.getvalue()

    page = Page(browser)
    for target in (out / "index.html", out / "fixture_script.html"):
        assert_offline(page.open(target), target.name)
        assert page.js("typeof window.__pwned") == "undefined", f"a script from data ran in {target.name}"
        assert page.js("document.querySelectorAll('script').length") == 0
        assert SCRIPT in page.js("document.body.innerText"), (
            f"the quote is not shown as text in {target.name}"
        )
        page.screenshot(tmp_path / f"{target.stem}.jpg")
    check_figures(page, expected_figures(out / "executed" / "fixture_script.ipynb"), "fixture_script.html")
    assert expected_figures(out / "executed" / "fixture_script.ipynb") == 1
    text = page.js("document.body.innerText")
    assert text.count(SCRIPT) >= 2  # the Markdown quote and the md_table cell
    assert_no_late_request(browser)
