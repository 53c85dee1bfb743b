"""The report builder (analysis.build) and the single-notebook runner (analysis.render).

Every test builds tiny throwaway notebooks written into tmp_path, through the builder's --notebooks/--out options,
so nothing here depends on the project's real notebooks or touches reports/.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from conftest import write_notebook
from nbformat.v4 import new_code_cell, new_notebook

import analysis.core.io
from analysis.core.paths import ROOT
from analysis.present import tables
from analysis.reporting import build
from analysis.reporting import runner as render

pytestmark = [pytest.mark.notebook, pytest.mark.usefixtures("kernel_zygote")]

PY = sys.executable


# Other people edit analysis/*.py and data/* in the same work tree while tests run; every such edit (rightly)
# invalidates the reports that depend on it. The tests therefore pin the digests of the project's own files (source,
# data, lock) to a constant; what the cache keys cover is tested separately on a fake project
# (test_cache_key_covers_import_closure_declared_data_and_lock).
@pytest.fixture(autouse=True)
def pinned_digests(monkeypatch):
    real = build.file_digest
    monkeypatch.setattr(build, "file_digest", lambda p: "pinned" if ROOT in Path(p).parents else real(p))


def run_cli(nb_dir: Path, out: Path, *args: str) -> subprocess.CompletedProcess:
    """``python -m analysis.build --notebooks NB --out OUT ARGS`` through ``main()`` in this process (its workers
    fork from the test process, which has done the imports already), digests pinned by ``pinned_digests``, one
    worker unless ``-j`` is given. Its output is captured as the command's would be. The command itself, in a
    fresh process, is exercised by the tests that need a process of their own (fault injection, the light
    builder, the browser)."""
    import contextlib

    jobs = () if "-j" in args else ("-j", "1")
    argv = ["--notebooks", str(nb_dir), "--out", str(out), *jobs, *args]
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            rc = build.main(argv)
        except SystemExit as exc:  # argparse
            rc = exc.code if isinstance(exc.code, int) else 2
    return subprocess.CompletedProcess(argv, rc, stdout.getvalue(), stderr.getvalue())


def snapshot(out: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name not in {"build.log", "build.lock"}
    }


def temporaries(out: Path) -> list[Path]:
    return [p for p in out.rglob("*") if p.name.endswith(".tmp") or ".tmp" in p.relative_to(out).parts]


def index_row(out: Path, name: str) -> str:
    page = (out / "index.html").read_text(encoding="utf-8")
    m = re.search(rf'<tr class="report [^"]*" data-name="{re.escape(name)}".*?</tr>', page, re.S)
    assert m, f"no index row for {name}"
    return m.group(0)


# ----------------------------------------------------------------------------------------------------- cache


def test_cache_skips_unchanged_and_rebuilds_only_the_changed_notebook(tmp_path):
    nbs, out = tmp_path / "nbs", tmp_path / "out"
    write_notebook(nbs / "01_a.ipynb")
    write_notebook(nbs / "02_b.ipynb")
    (nbs / "reports.toml").write_text(
        '[variants.02_b_three]\nnotebook = "02_b"\ntitle = "b with x = 3"\n'
        '[variants.02_b_three.parameters]\nx = 3\nlabel = "three"\n'
    )

    first = run_cli(nbs, out)
    assert first.returncode == 0, first.stdout + first.stderr
    for name in ("01_a", "02_b", "02_b_three"):
        assert (out / f"{name}.html").exists()
        assert (out / "executed" / f"{name}.ipynb").exists()
        assert (out / ".cache" / f"{name}.json").exists()
    variant = json.loads((out / "results" / "02_b_three.json").read_text())
    assert variant["parameters"]["x"] == 3 and variant["results"] == {"double": 6}
    assert variant["verdict"] == "x doubled is 6 for three."
    assert "3 built" in first.stdout
    # not a TTY: plain lines, one start and one end line per report, no control characters
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", first.stdout + first.stderr)
    assert len(re.findall(r"\bstart\b", first.stdout)) == 3
    assert len(re.findall(r"\bok\b\s+\S+\s+\d+\.\d+s", first.stdout)) == 3

    before = snapshot(out)
    t0 = time.perf_counter()
    second = run_cli(nbs, out)
    elapsed = time.perf_counter() - t0
    assert second.returncode == 0, second.stdout + second.stderr
    assert "0 built" in second.stdout and "3 up to date" in second.stdout
    assert "start" not in second.stdout
    assert snapshot(out) == before  # nothing rewritten, index included
    assert elapsed < 2.0, f"no-change build took {elapsed:.2f}s"

    # Saving a notebook with outputs (what JupyterLab does) is not a change; editing a cell is.
    nb = nbformat.read(str(nbs / "01_a.ipynb"), as_version=4)
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text="hello\n")]
    nb.cells[2].execution_count = 7
    nbformat.write(nb, str(nbs / "01_a.ipynb"))
    assert "0 built" in run_cli(nbs, out).stdout

    nb.cells[2].source = "y = 1"
    nbformat.write(nb, str(nbs / "01_a.ipynb"))
    third = run_cli(nbs, out)
    assert third.returncode == 0, third.stdout + third.stderr
    started = re.findall(r"start\s+(\S+)", third.stdout)
    assert started == ["01_a"]
    assert "1 built" in third.stdout and "2 up to date" in third.stdout
    after = snapshot(out)
    for name in ("02_b", "02_b_three"):
        assert after[f"{name}.html"] == before[f"{name}.html"]

    # Changing a variant's parameters rebuilds that variant alone; --force rebuilds all.
    (nbs / "reports.toml").write_text(
        '[variants.02_b_three]\nnotebook = "02_b"\ntitle = "b with x = 3"\n'
        '[variants.02_b_three.parameters]\nx = 4\nlabel = "three"\n'
    )
    fourth = run_cli(nbs, out)
    assert re.findall(r"start\s+(\S+)", fourth.stdout) == ["02_b_three"]
    forced = run_cli(nbs, out, "--force", "--dry-run")
    assert sorted(re.findall(r"would build\s+(\S+)", forced.stdout)) == ["01_a", "02_b", "02_b_three"]
    assert "3 to build, 0 up to date" in forced.stdout


# --------------------------------------------------------------------------------------------------- failure


def test_failing_notebook_fails_the_build_keeps_last_good_html_and_is_marked_in_index(tmp_path):
    nbs, out = tmp_path / "nbs", tmp_path / "out"
    write_notebook(nbs / "01_ok.ipynb")
    write_notebook(nbs / "02_breaks.ipynb")
    assert run_cli(nbs, out).returncode == 0
    good_html = (out / "02_breaks.html").read_bytes()
    good_json = (out / "results" / "02_breaks.json").read_bytes()

    write_notebook(
        nbs / "02_breaks.ipynb", body='rate = x / 0.5\nraise ValueError("bad <count> for " + label)'
    )
    write_notebook(nbs / "01_ok.ipynb", body="z = 3")  # changed too: must still be built
    res = run_cli(nbs, out)
    assert res.returncode == 1
    text = res.stdout + res.stderr
    failed_lines = [line for line in text.splitlines() if "FAILED" in line]
    assert failed_lines and all("02_breaks" in line for line in failed_lines)
    msg = failed_lines[-1]
    assert "02_breaks.ipynb" in msg and "cell In [" in msg and "line 2" in msg
    assert "ValueError: bad <count> for plain" in msg
    assert "1 built, 1 failed" in res.stdout

    assert (out / "02_breaks.html").read_bytes() == good_html  # last good report stays
    assert (out / "results" / "02_breaks.json").read_bytes() == good_json
    assert (out / "executed" / "02_breaks.failed.ipynb").exists()
    row = index_row(out, "02_breaks")
    assert 'data-status="failed"' in row
    assert "ValueError: bad &lt;count&gt; for plain" in row
    assert "last good report" in row and "last good verdict" in row
    assert 'data-status="ok"' in index_row(out, "01_ok")
    record = json.loads((out / ".cache" / "02_breaks.json").read_text())
    assert record["status"] == "failed" and "ValueError" in record["error"]

    # A failed report is retried on the next build (and fails again), so the exit status stays non-zero.
    again = run_cli(nbs, out)
    assert again.returncode == 1 and re.findall(r"start\s+(\S+)", again.stdout) == ["02_breaks"]

    # Fixed: built again, the failed run's notebook is removed, the index says ok.
    write_notebook(nbs / "02_breaks.ipynb", body="w = 1")
    fixed = run_cli(nbs, out)
    assert fixed.returncode == 0
    assert not (out / "executed" / "02_breaks.failed.ipynb").exists()
    assert 'data-status="ok"' in index_row(out, "02_breaks")


def test_run_notebook_reports_failure_details(tmp_path):
    nb = write_notebook(tmp_path / "nbs" / "boom.ipynb", body="import math\nmath.sqrt(-x)")
    r = render.run_notebook(nb, {"x": 4}, name="boom_4", out_dir=tmp_path / "out")
    assert r.status == "failed" and not r.ok
    assert r.ename == "ValueError" and r.evalue == "math domain error" and r.cell == 3
    assert "boom.ipynb" in r.error and "cell In [3], line 2 `math.sqrt(-x)`" in r.error
    assert r.html_path is None and r.json_path is None
    assert r.executed_path == tmp_path / "out" / "executed" / "boom_4.failed.ipynb"
    assert not (tmp_path / "out" / "boom_4.html").exists()
    assert temporaries(tmp_path / "out") == []


def test_run_notebook_writes_named_outputs(tmp_path):
    nb = write_notebook(tmp_path / "nbs" / "05_claim.ipynb")
    r = render.run_notebook(nb, {"x": 21, "label": "variant"}, name="05_claim_v", out_dir=tmp_path / "out")
    assert r.ok, r.error
    assert r.html_path == tmp_path / "out" / "05_claim_v.html"
    assert r.json_path == tmp_path / "out" / "results" / "05_claim_v.json"
    assert r.verdict == "x doubled is 42 for variant." and r.seconds > 0
    data = r.load_results()
    assert data["notebook"] == "05_claim" and data["results"] == {"double": 42}
    page = r.html_path.read_text(encoding="utf-8")
    assert "write_results" not in page  # code hidden
    body = page.split("<body", 1)[1]
    assert "In&nbsp;[" not in body and 'class="jp-InputPrompt' not in body and "Out[" not in body
    assert "<script" not in page and "@import" not in page
    assert not re.search(r'(src|href)\s*=\s*["\']?(https?:)?//', page)  # no external resource
    assert "Content-Security-Policy" in page
    assert not (tmp_path / "out" / "results" / "05_claim.json").exists()

    # A build in this same process afterwards (its workers and their kernels are forked from a process that has
    # run a kernel client, event loop included) must still work.
    assert build.main(["--notebooks", str(nb.parent), "--out", str(tmp_path / "built"), "-j", "1"]) == 0


# ------------------------------------------------------------------------------------------------- atomicity


class SimulatedCrash(BaseException):
    """Raised instead of the rename that would publish a file: the build dies mid-write."""


def test_crash_mid_write_leaves_previous_files_intact_and_no_temporaries(tmp_path, monkeypatch, capsys):
    nbs, out = tmp_path / "nbs", tmp_path / "out"
    write_notebook(nbs / "01_a.ipynb")
    assert build.main(["--notebooks", str(nbs), "--out", str(out), "-j", "1"]) == 0
    before = snapshot(out)

    real_os = analysis.core.io.os

    class CrashingOs:
        def __getattr__(self, name):
            return getattr(real_os, name)

        @staticmethod
        def replace(src, dst):
            # The temp file is complete here; dying before the rename must leave the old file in place.
            raise SimulatedCrash(f"killed while publishing {dst}")

    monkeypatch.setattr(analysis.core.io, "os", CrashingOs())  # forked workers inherit the patch
    with pytest.raises(SimulatedCrash):
        build.main(["--notebooks", str(nbs), "--out", str(out), "--force", "-j", "1"])
    monkeypatch.setattr(analysis.core.io, "os", real_os)

    assert snapshot(out) == before  # html, results JSON, executed notebook, index and cache all untouched
    assert temporaries(out) == []

    # A build killed outright (SIGKILL) can leave a temp file; the next build, even with nothing to do, sweeps it.
    stale = out / ".01_a.html.abc123.tmp"
    stale.write_text("<half")
    (out / ".tmp" / "01_a-xyz").mkdir(parents=True)
    capsys.readouterr()
    assert build.main(["--notebooks", str(nbs), "--out", str(out), "-j", "1"]) == 0
    assert temporaries(out) == []
    assert "0 built" in capsys.readouterr().out and snapshot(out) == before


def test_atomic_write_failure_keeps_old_content(tmp_path, monkeypatch):
    target = tmp_path / "index.html"
    target.write_text("old and whole")

    def fail_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(analysis.core.io.os, "fsync", fail_fsync)
    with pytest.raises(OSError, match="disk full"):
        analysis.core.io.atomic_write_text(target, "new " * 1000)
    assert target.read_text() == "old and whole"
    assert [p.name for p in tmp_path.iterdir()] == ["index.html"]


# -------------------------------------------------------------------------------------------------- escaping

SCRIPT = "<script>window.__pwned = 1</script>"


def test_text_from_data_is_escaped_in_index_and_report(tmp_path):
    nbs, out = tmp_path / "nbs", tmp_path / "out"
    body = (
        "from IPython.display import Markdown, display\n"
        "from analysis.present.tables import md_table, md_escape\n"
        "display(Markdown('quote: ' + label))\n"  # raw data in Markdown: escaped by the renderer
        "display(Markdown(md_table([{'region': label, 'n': 1}])))\n"
        "display(Markdown('> ' + md_escape(label)))\n"
    )
    write_notebook(nbs / "01_q.ipynb", body=body)
    toml_label = json.dumps(SCRIPT)
    (nbs / "reports.toml").write_text(
        f'[variants.01_q_script]\nnotebook = "01_q"\ntitle = "<b>bold</b> title"\n'
        f"[variants.01_q_script.parameters]\nlabel = {toml_label}\n"
    )
    res = run_cli(nbs, out)
    assert res.returncode == 0, res.stdout + res.stderr

    index = (out / "index.html").read_text(encoding="utf-8")
    assert "<script" not in index
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in index  # parameter and verdict, as text
    assert "&lt;b&gt;bold&lt;/b&gt; title" in index
    row = index_row(out, "01_q_script")
    assert row.count("&lt;script&gt;") >= 2

    page = (out / "01_q_script.html").read_text(encoding="utf-8")
    assert "<script" not in page
    assert page.count("&lt;script&gt;window.__pwned = 1&lt;/script&gt;") >= 3
    assert "&lt;b&gt;bold&lt;/b&gt; title" in page  # the <title> and the run banner


def test_markdown_helpers_escape():
    assert tables.escape('<a href="x">&') == "&lt;a href=&quot;x&quot;&gt;&amp;"
    s = tables.md_escape("<script>alert(1)</script> | *x* [l](u)\nnext")
    assert "\n" not in s and "\\<script\\>" in s
    html = render._markdown_escaped(s)
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<em>" not in html and "<a " not in html
    table = tables.md_table([{"region": "Almaty | <i>x</i>", "n": 3}])
    out = render._markdown_escaped(table)
    assert out.count("<td>") == 2 and "&lt;i&gt;x&lt;/i&gt;" in out and "<i>" not in out
    with pytest.raises(ValueError):
        tables.md_table([[1, 2]], columns=["only"])


# ----------------------------------------------------------------------------------------------- determinism


# ---------------------------------------------------------------------------------------- config and output


def test_missing_variant_notebook_is_a_warning_and_strict_makes_it_an_error(tmp_path):
    nbs, out = tmp_path / "nbs", tmp_path / "out"
    nbs.mkdir()
    (nbs / "reports.toml").write_text(
        '[variants.ghost]\nnotebook = "09_missing"\n[variants.ghost.parameters]\nx = 1\n'
    )
    res = run_cli(nbs, out)
    assert res.returncode == 0
    assert "warning: variant 'ghost' names notebook" in res.stderr and "09_missing.ipynb" in res.stderr
    assert 'data-status="skipped"' in index_row(out, "ghost")
    strict = run_cli(nbs, out, "--strict")
    assert strict.returncode == 2 and "error: variant 'ghost'" in strict.stderr


@pytest.mark.parametrize(
    "toml, message",
    [
        ("[variants.bad]\n", "'notebook'"),
        ('[variants."a b"]\nnotebook = "x"\n', "name must match"),
        ('[variants.v]\nnotebook = "x"\n[variants.v.parameters]\nresults_dir = "y"\n', "results_dir"),
        ('[variants.v]\nnotebook = "x"\ncolour = 1\n', "unknown key"),
        ("[variants.v\n", "reports.toml"),
        ('[variants.v]\nnotebook = "nb"\n[variants.v.parameters]\nalpah = 0.01\n', "[variants.v]: 'alpah' is not a parameter"),
    ],
)
def test_bad_config_is_a_clear_error(tmp_path, toml, message, capsys):
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    write_notebook(nbs / "nb.ipynb", params="x = 2\nalpha = 0.05\n")
    (nbs / "reports.toml").write_text(toml)
    assert build.main(["--notebooks", str(nbs), "--out", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err


def test_project_config_parses_and_names_the_2019_claims():
    variants = build.load_config(ROOT / "notebooks" / "reports.toml")
    build.make_jobs(ROOT / "notebooks", ROOT / "notebooks" / "reports.toml")  # every variant names real parameters
    deaths = variants["02_quarterly_change_2019_deaths"]
    assert deaths["notebook"] == "02_quarterly_change"
    assert (
        deaths["parameters"].items()
        >= {
            "current_count": 180,
            "reported_change_pct": -17.6,
            "previous_count": 220,
            "period": "2019",
            "measure": "fatal",
        }.items()
    )
    injuries = variants["02_quarterly_change_2019_injuries"]["parameters"]
    assert injuries["current_count"] == 1430 and injuries["reported_change_pct"] == -8.8
    assert injuries["period"] == "2019"
    assert injuries["previous_count"] == 1568  # the same release: "than in 2018 (1,568 people)"


def test_progress_draws_a_bar_only_on_a_tty():
    plain, tty = io.StringIO(), io.StringIO()
    for stream, is_tty in ((plain, False), (tty, True)):
        p = build.Progress(2, stream, tty=is_tty)
        p.start("a")
        p.tick()
        p.end("a", True)
        p.start("b")
        p.end("b", False, "cell In [3]: ValueError: x")
        p.close()
    assert "\r" not in plain.getvalue() and "\x1b" not in plain.getvalue()
    assert plain.getvalue().count("\n") == 4 and "FAILED" in plain.getvalue()
    assert "\r\x1b[K[" in tty.getvalue() and "2/2" in tty.getvalue()


HEAVY_PROBE = (
    "import sys\n"
    "from analysis.reporting import build\n"
    "no_change = sys.argv.pop(1) == 'no-change'\n"
    "rc = build.main(sys.argv[1:])\n"
    "names = ['pandas', 'scipy', 'statsmodels', 'matplotlib', 'pandera', 'seaborn']\n"
    "if no_change:\n"
    "    names += ['papermill', 'nbconvert', 'nbformat', 'numpy']\n"
    "print('HEAVY', [m for m in names if m in sys.modules])\n"
    "sys.exit(rc)\n"
)


def test_the_project_rebuild_with_nothing_to_do_is_fast_and_light(reports):
    """After `make report`, a second `make report` on the real project (its dependency closures, data files and
    index key included) imports no heavy module and takes a fraction of a second."""
    t0 = time.perf_counter()
    res = subprocess.run([PY, "-c", HEAVY_PROBE, "no-change"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    elapsed = time.perf_counter() - t0
    assert res.returncode == 0, res.stdout + res.stderr
    assert " 0 built" in res.stdout and "HEAVY []" in res.stdout, res.stdout
    assert elapsed < 3.0, f"no-change build took {elapsed:.2f} s"  # ~0.3 s on a quiet machine (make bench)


def test_the_builder_process_stays_light_while_building(tmp_path):
    """Statistics, pandas and plotting load in the kernels, never in the builder itself."""
    nbs, out = tmp_path / "nbs", tmp_path / "out"
    write_notebook(nbs / "01_a.ipynb")
    res = subprocess.run([PY, "-c", HEAVY_PROBE, "work", "--notebooks", str(nbs), "--out", str(out), "-j", "1"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "1 built" in res.stdout and "HEAVY []" in res.stdout, res.stdout


def fake_project(root: Path) -> Path:
    """A tiny project: two statistics modules, two studies each using one, a registry, data and a lock."""
    files = {
        "analysis/__init__.py": "",
        "analysis/core/__init__.py": "",
        "analysis/core/fmt.py": "def f(x):\n    return str(x)\n",
        "analysis/stats/__init__.py": "",
        "analysis/stats/rates.py": "from analysis.core import fmt\n",
        "analysis/stats/regions.py": "from . import rates\n",
        "analysis/stats/sectors.py": "def g():\n    from analysis.core.fmt import f  # a lazy import counts\n",
        "analysis/studies/__init__.py": "",
        "analysis/studies/regional.py": "from analysis.stats import regions\n",
        "analysis/studies/sectoral.py": "from analysis.stats.sectors import g\n",
        "analysis/studies/registry.py": "",
        "analysis/reporting/__init__.py": "",
        "analysis/reporting/runner.py": "from analysis.core import fmt\n",
        "data/regional.csv": "a\n1\n",
        "data/sectoral.csv": "b\n2\n",
        "data/sources.csv": "s\n3\n",
        "requirements.lock": "pandas==3.1.1\n",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_cache_key_covers_import_closure_declared_data_and_lock(tmp_path, monkeypatch):
    monkeypatch.undo()  # real digests
    from analysis.studies import registry

    root = fake_project(tmp_path / "proj")
    nbs = root / "notebooks"
    write_notebook(nbs / "04_regional_patterns.ipynb", body="from analysis.studies import regional")
    write_notebook(nbs / "05_sectoral_patterns.ipynb", body="%matplotlib inline\nfrom analysis.studies import sectoral")
    entries = {
        "regional": registry.Entry("regional", "analysis.studies.regional", "04_regional_patterns", "Q4?",
                                   data_files=("regional", "sources")),
        "sectoral": registry.Entry("sectoral", "analysis.studies.sectoral", "05_sectoral_patterns", "Q5?",
                                   data_files=("sectoral", "sources", "workforce")),
    }
    monkeypatch.setattr(registry, "STUDIES", entries)
    jobs = {j.name: j for j in build.make_jobs(nbs, nbs / "reports.toml")}

    def keys() -> dict[str, str]:
        inputs = build.Inputs(root=root)
        return {name: build.inputs_key(inputs.job_inputs(job)) for name, job in jobs.items()}

    deps = build.Inputs(root=root)
    regional = set(deps.job_inputs(jobs["04_regional_patterns"])["sources"])
    sectoral = set(deps.job_inputs(jobs["05_sectoral_patterns"])["sources"])
    assert {"analysis/stats/regions.py", "analysis/stats/rates.py", "analysis/stats/__init__.py",
            "analysis/core/fmt.py", "analysis/reporting/runner.py"} <= regional
    assert "analysis/stats/sectors.py" not in regional and "analysis/stats/regions.py" not in sectoral
    assert "analysis/core/fmt.py" in sectoral  # through the lazy import inside g()
    assert set(deps.job_inputs(jobs["05_sectoral_patterns"])["data"]) == {
        "data/sectoral.csv", "data/sources.csv", "data/workforce.csv"}  # declared, not yet present: "missing"

    base = keys()
    assert keys() == base
    (root / "analysis" / "notes.txt").write_text("not a source")
    (root / "analysis" / "stats" / "unused.py").write_text("X = 1\n")
    assert keys() == base
    for path, text, changed in [
        (root / "analysis/stats/regions.py", "from . import rates\nY = 2\n", {"04_regional_patterns"}),
        (root / "analysis/stats/sectors.py", "Z = 3\n", {"05_sectoral_patterns"}),
        (root / "data/regional.csv", "a\n9\n", {"04_regional_patterns"}),
        (root / "data/workforce.csv", "w\n1\n", {"05_sectoral_patterns"}),  # a declared file appears
        (root / "analysis/core/fmt.py", "def f(x):\n    return repr(x)\n", set(jobs)),
        (root / "data/sources.csv", "s\n4\n", set(jobs)),
        (root / "requirements.lock", "pandas==3.1.2\n", set(jobs)),
    ]:
        before = keys()
        path.write_text(text)
        after = keys()
        assert {n for n in jobs if after[n] != before[n]} == changed, path


def test_editing_one_statistics_module_rebuilds_only_the_reports_that_import_it(tmp_path, monkeypatch):
    """End to end with the real package: two notebooks importing different statistics modules; a changed digest
    of one module (as if edited) rebuilds only the notebook whose import closure holds it."""
    nbs, out = tmp_path / "nbs", tmp_path / "out"
    write_notebook(nbs / "01_rates.ipynb", body="from analysis.stats import rates")
    write_notebook(nbs / "02_regions.ipynb", body="from analysis.stats import regions")
    assert run_cli(nbs, out).returncode == 0
    pinned = build.file_digest
    regions = ROOT / "analysis" / "stats" / "regions.py"
    monkeypatch.setattr(build, "file_digest", lambda p: "edited" if p == regions else pinned(p))
    dry = run_cli(nbs, out, "--dry-run")
    assert "would build  02_regions" in dry.stdout and "analysis/stats/regions.py" in dry.stdout, dry.stdout
    assert "01_rates" not in dry.stdout
    res = run_cli(nbs, out)
    assert res.returncode == 0, res.stdout + res.stderr
    assert re.findall(r"start\s+(\S+)", res.stdout) == ["02_regions"]
    assert "1 built" in res.stdout and "1 up to date" in res.stdout


def test_preloaded_kernels_behave_like_fresh_ones(tmp_path):
    """Kernels forked from the import zygote: inline figures, own random state, same results as fresh kernels."""
    nbs = tmp_path / "nbs"
    body = (
        "import sys\n"
        "preloaded = 'matplotlib.pyplot' in sys.modules\n"
        "import os\n"
        "import matplotlib\n"
        "import matplotlib.pyplot as plt\n"
        "import numpy as np\n"
        "fig, ax = plt.subplots(figsize=(2, 2))\n"
        "ax.plot([1, 2], [x, 1])\n"  # no plt.show(): the inline backend shows it at the end of the cell
        "draw = float(np.random.rand())\n"
        "from analysis.present.report import write_results\n"
        "write_results(results_dir, '01_fig', {'x': x}, {'backend': matplotlib.get_backend(), 'cwd': os.getcwd()},"
        " 'ok')\n"
        "print('DRAW', draw, 'PRELOADED', preloaded)\n"
    )
    nb = new_notebook()
    pcell = new_code_cell('x = 2\nresults_dir = "reports/results"\n')
    pcell.metadata["tags"] = ["parameters"]
    nb.cells = [pcell, new_code_cell(body)]
    nbs.mkdir()
    nbformat.write(nb, str(nbs / "01_fig.ipynb"))
    (nbs / "reports.toml").write_text(
        '[variants.01_fig_b]\nnotebook = "01_fig"\n[variants.01_fig_b.parameters]\nx = 2\n'
    )

    outputs = {}
    for label, extra in (("preload", ()), ("fresh", ("--no-preload",))):
        out = tmp_path / label
        res = run_cli(nbs, out, *extra)
        assert res.returncode == 0, res.stdout + res.stderr
        for name in ("01_fig", "01_fig_b"):
            executed = nbformat.read(str(out / "executed" / f"{name}.ipynb"), as_version=4)
            outs = executed.cells[-1].outputs
            assert sum("image/png" in o.get("data", {}) for o in outs) == 1, (
                f"{label}/{name}: no inline figure"
            )
            text = "".join(o.get("text", "") for o in outs if o.output_type == "stream")
            outputs[label, name] = text
            assert "data:image/png;base64," in (out / f"{name}.html").read_text()
        outputs[label, "json"] = {p.name: p.read_bytes() for p in (out / "results").glob("*.json")}
        results = {p.name: json.loads(p.read_text())["results"] for p in (out / "results").glob("*.json")}
        outputs[label, "results"] = results
    # Two builds (forked and fresh kernels) give byte-identical results JSON: deterministic, no run times or paths.
    assert outputs["preload", "json"] == outputs["fresh", "json"]
    assert set(outputs["preload", "json"]) == {"01_fig.json", "01_fig_b.json"}
    text = b"".join(outputs["preload", "json"].values()).decode()
    assert ".tmp" not in text and "seconds" not in text
    assert outputs["preload", "results"] == outputs["fresh", "results"]
    assert outputs["preload", "results"]["01_fig.json"]["cwd"] == str(nbs)
    assert (
        "PRELOADED True" in outputs["preload", "01_fig"] and "PRELOADED False" in outputs["fresh", "01_fig"]
    )
    draws = {outputs["preload", n].split()[1] for n in ("01_fig", "01_fig_b")}
    assert len(draws) == 2, "two kernels forked from one zygote drew the same unseeded random number"


def test_builds_in_one_process_share_its_zygote_and_teach_it_their_imports(tmp_path, kernel_zygote):
    """Inside ``kernels.shared_zygote`` (here the test session's) a build starts no zygote of its own: its kernels
    are forked by the shared one, which first imports what the build's notebooks import."""
    from analysis.reporting import kernels

    assert kernels.shared() is kernel_zygote is not None
    with pytest.raises(RuntimeError, match="already running"):
        with kernels.shared_zygote([]):
            pass
    assert kernels.shared() is kernel_zygote  # the refused second one changed nothing
    nbs, out = tmp_path / "nbs", tmp_path / "out"
    # tabnanny: a standard module nothing else here imports, so only this build's import request can preload it
    write_notebook(nbs / "01_z.ipynb", body=(
        "import os, sys\nppid, pre = os.getppid(), 'tabnanny' in sys.modules\nimport tabnanny\n"
        "print('PPID', ppid, 'PRE', pre)"
    ))
    before = descendants_named(os.getpid(), b"analysis.reporting.zygote")
    res = run_cli(nbs, out)
    assert res.returncode == 0, res.stdout + res.stderr
    assert descendants_named(os.getpid(), b"analysis.reporting.zygote") == before == {kernel_zygote.proc.pid}
    executed = nbformat.read(str(out / "executed" / "01_z.ipynb"), as_version=4)
    text = "".join(o.get("text", "") for o in executed.cells[2].outputs if o.output_type == "stream")
    assert text.split() == ["PPID", str(kernel_zygote.proc.pid), "PRE", "True"], text


def descendants_named(pid: int, needle: bytes) -> set[int]:
    """Processes under ``pid`` (Linux /proc) whose command line contains ``needle``."""
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        children = Path(f"/proc/{parent}/task/{parent}/children")
        for child in (int(c) for c in children.read_text().split()) if children.exists() else ():
            todo.append(child)
            cmd = Path(f"/proc/{child}/cmdline")
            if cmd.exists() and needle in cmd.read_bytes():
                found.add(child)
    return found


# ---------------------------------------------------------------------------------------------- page furniture


def test_report_pages_have_contents_footer_downloads_and_no_raw_output(tmp_path):
    nbs, out = tmp_path / "nbs", tmp_path / "out"
    body = (
        "import sys, warnings\n"
        "from IPython.display import Markdown, display\n"
        "display(Markdown('## First section\\ntext'))\n"
        "display(Markdown('## Second section\\nmore'))\n"
        "print('STDERR-NOISE from a library', file=sys.stderr)\n"
        "warnings.warn('WARNING-NOISE')\n"
        "'reports/results' if x else 12345\n"
    )
    write_notebook(nbs / "01_a.ipynb", body=body)
    res = run_cli(nbs, out)
    assert res.returncode == 0, res.stdout + res.stderr
    page = (out / "01_a.html").read_text(encoding="utf-8")
    assert 'nav class="kz-toc"' in page
    assert re.findall(r'<nav class="kz-toc".*?</nav>', page, re.S)[0].count("<li>") == 2
    for noise in ("STDERR-NOISE", "WARNING-NOISE", "&#x27;reports/results&#x27;", "'reports/results'"):
        assert noise not in page, noise
    warnings = [line for line in res.stderr.splitlines() if line.startswith("warning: 01_a:")]
    assert any("stderr" in w and "STDERR-NOISE" in w for w in warnings), res.stderr
    assert any("bare Python value" in w and "reports/results" in w for w in warnings), res.stderr
    footer = re.search(r'<footer class="kz-footer">(.*?)</footer>', page, re.S).group(1)
    for needle in ("Code: commit", "Data: data/ SHA-256", "Software: Python 3.11", "pandas", "Built:"):
        assert needle in footer, needle
    assert 'href="glossary.html"' in footer and 'href="index.html"' in footer
    assert (out / "glossary.html").exists()
    downloads = re.search(r'<section class="kz-downloads".*?</section>', page, re.S).group(0)
    for href in ("results/01_a-estimates.csv", "results/01_a.json", "executed/01_a.ipynb"):
        assert f'href="{href}"' in downloads and (out / href).exists(), href
    assert 'class="kz-badge kz-label-descriptive"' in page  # the transitional notebook's label, on the page
    record = json.loads((out / ".cache" / "01_a.json").read_text())
    assert any("STDERR-NOISE" in n for n in record["notes"])


def test_a_long_published_table_is_shortened_and_linked_to_its_csv():
    import pandas as pd

    from analysis.core.study import table_payload

    df = pd.DataFrame({"source_id": [f"F{i}" for i in range(316)], "value": range(316),
                       "p_value": [0.5 / (i + 1) for i in range(316)]})
    html = tables.html_table(df)
    visible = html.split("<details>")[0]
    assert visible.count("<tr>") == 1 + tables.SUMMARY_ROWS
    assert "Showing the first 15 of 316 rows." in visible and "<details><summary>All 316 rows" in html
    body = render.link_tables(html, "01_data_overview", {"tables": {"provenance": table_payload(df)}})
    assert '<a class="kz-csv" href="01_data_overview/provenance.csv">' in body
    other = render.link_tables(html, "x", {"tables": {"provenance": table_payload(df.head(3))}})
    assert "kz-csv-link" not in other and "kz-csv" not in other.replace("kz-table", "")  # no match: no link


def test_table_policy_formats_numbers_by_column_kind():
    import pandas as pd

    df = pd.DataFrame({
        "year": [2024, 2025], "injured": [1408, 293], "p_value": [0.0223, 3e-7], "significant at α": [True, False],
        "change_pct": [-16.8, 2.04], "phi": [1.91833, 5259380.4], "projection": [1319.51, 16.83], "rate": [0.04, 40.0],
        "region_as_published": ["Qaraganda", None],
    })
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", tables.html_table(df))][1:]
    assert cells[0] == ["2024", "1,408", "0.022", "yes", "-16.8%", "1.92", "1,320", "0.04", "Qaraganda"]
    assert cells[1] == ["2025", "293", "&lt; 0.001", "no", "+2.0%", "5,259,380", "16.8", "40", ""]
    heads = re.findall(r"<th(?: [^>]*)?>(.*?)</th>", tables.html_table(df))
    assert heads == ["Year", "Injured", "p-value", "Significant at α", "Change %", "φ", "Projection", "Rate",
                     "Region as published"]  # sentence case, symbols keep their case
    assert not re.search(r"\d\.\d+e[+-]\d+", tables.html_table(df))


def test_a_wide_table_is_split_into_parts_that_repeat_its_first_columns():
    import pandas as pd

    df = pd.DataFrame({"system": ["ministry"], "period": ["2025-Q1"],
                       **{f"p_quasi_measure_{i}": [0.01 * i] for i in range(1, 30)}})
    html = tables.html_table(df)
    parts = re.findall(r"<table .*?</table>", html)
    assert len(parts) > 1 and "shown in" in html and "the first 2 columns repeat" in html
    for part in parts:
        assert re.findall(r"<th(?: [^>]*)?>(.*?)</th>", part)[:2] == ["System", "Period"]
    shown = [h for part in parts for h in re.findall(r"<th(?: [^>]*)?>(.*?)</th>", part)[2:]]
    assert shown == [tables.plain_header(c) for c in df.columns[2:]]  # every column once, in order
    narrow = tables.html_table(df.iloc[:, :6])
    assert len(re.findall(r"<table ", narrow)) == 1


def test_a_column_of_numbers_reads_alike():
    import pandas as pd
    from hypothesis import given
    from hypothesis import strategies as st

    from analysis.core import fmt

    html = tables.html_table(pd.DataFrame({"ratio": [1.85, 2.2, 2.22, 1.6, 0.597]}))
    assert re.findall(r"<td[^>]*>(.*?)</td>", html) == ["1.85", "2.20", "2.22", "1.60", "0.60"]
    assert fmt.column_decimals([16.83, 12.3, 31.9]) == 1 and fmt.column_decimals([0.0114, 0.0297]) == 4
    assert fmt.column_decimals([0.04, 40.0]) is None  # mixed measures: each value on its own
    assert fmt.fmt_decimal(9283500.0, 0) == "9,283,500" and fmt.fmt_decimal(2.2, 2) == "2.20"

    @given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False))
    def never_scientific(x):
        for text in (fmt.fmt_value(x), fmt.fmt_decimal(x, 3), fmt.fmt_number(x)):
            assert "e" not in text.lower() and text.strip() == text
        if abs(x) >= 1000:
            assert "." not in fmt.fmt_value(x)  # no fractional people

    never_scientific()


def test_footer_dirty_flag_ignores_notebook_outputs_and_runs_no_git_filter(tmp_path):
    """The footer's "uncommitted changes" compares notebooks by their cells (outputs do not count) and never makes
    git run the notebooks' clean filter (a Python process per notebook after a fresh clone): here the filter is a
    command that fails, so any use of it would show."""
    from analysis.reporting import provenance

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    git("config", "user.email", "t@example.org")
    git("config", "user.name", "t")
    (tmp_path / "analysis").mkdir()
    (tmp_path / "analysis" / "m.py").write_text("x = 1\n")
    nb_path = tmp_path / "notebooks" / "01_a.ipynb"
    write_notebook(nb_path)
    (tmp_path / "notebooks" / "reports.toml").write_text("")
    git("add", "-A")
    git("commit", "-qm", "c")
    (tmp_path / ".gitattributes").write_text("*.ipynb filter=strip\n")
    git("config", "filter.strip.clean", "false")  # fails if run
    git("config", "filter.strip.required", "true")
    assert provenance.collect(tmp_path, tmp_path / "analysis")["dirty"] is False

    nb = nbformat.read(str(nb_path), as_version=4)
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text="hello\n")]
    nb.cells[2].execution_count = 3
    nbformat.write(nb, str(nb_path))
    assert provenance.collect(tmp_path, tmp_path / "analysis")["dirty"] is False  # outputs are not a change

    nb.cells[2].source = "y = 2"
    nbformat.write(nb, str(nb_path))
    assert provenance.collect(tmp_path, tmp_path / "analysis")["dirty"] is True  # an edited cell is
    nb_path.write_bytes(subprocess.run(["git", "show", "HEAD:notebooks/01_a.ipynb"], cwd=tmp_path,
                                       capture_output=True, check=True).stdout)
    (tmp_path / "notebooks" / "reports.toml").write_text("[variants]\n")
    assert provenance.collect(tmp_path, tmp_path / "analysis")["dirty"] is True  # other files: their bytes
    (tmp_path / "notebooks" / "reports.toml").write_text("")
    (tmp_path / "analysis" / "m.py").write_text("x = 2\n")
    assert provenance.collect(tmp_path, tmp_path / "analysis")["dirty"] is True


def test_an_output_changed_outside_the_build_is_rebuilt_not_shown(tmp_path):
    """Issue 13: the index shows only what the build produced. A results JSON edited by hand (or written by an
    ad-hoc run of an older version) no longer counts as up to date: the report is rebuilt and the edit is gone."""
    nbs, out = tmp_path / "nbs", tmp_path / "out"
    write_notebook(nbs / "01_a.ipynb")
    assert run_cli(nbs, out).returncode == 0
    results = out / "results" / "01_a.json"
    payload = json.loads(results.read_text())
    payload["verdict"] = "AD-HOC verdict the build never produced"
    results.write_text(json.dumps(payload))
    dry = run_cli(nbs, out, "--dry-run")
    assert "would build  01_a" in dry.stdout and "changed since the build wrote them" in dry.stdout, dry.stdout
    again = run_cli(nbs, out)
    assert "1 built" in again.stdout, again.stdout
    assert "AD-HOC" not in results.read_text() and "AD-HOC" not in (out / "index.html").read_text()
    assert "0 built" in run_cli(nbs, out).stdout


# ------------------------------------------------------------------------------------ reviewer-facing words (#14)


def test_data_codes_read_as_words_in_html_tables_only():
    import pandas as pd

    df = pd.DataFrame({
        "period": ["2018", "2019", "2019", "2019", "2019"],
        "system": ["ministry", "ministry", "bns", "bns", "ministry"],
        "measure": ["fatal", "fatal_pct_change_yoy", "victims", "victims_per_shift_2", "rate_per_1000"],
        "value": [220.0, -17.6, 2111.0, 3.5, 2.25],
        "source_id": ["F1", "F2", "F3", "F4", "F5"],
        "note": ["fatal", "kept_as_written", "<b>x</b>", "", "injured_pct_change_5y"],
    })
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", tables.html_table(df))][1:]
    assert [c[1] for c in cells] == ["Ministry", "Ministry", "BNS", "BNS", "Ministry"]
    assert [c[2] for c in cells] == ["deaths", "deaths: % change on a year earlier", "victims (BNS)",
                                     "victims per shift 2", "injury rate per 1,000 workers"]
    # a column of values of different measures: each as published, whole numbers never as '220.0'
    assert [c[3] for c in cells] == ["220", "-17.6", "2,111", "3.5", "2.25"]
    # a known code reads as words in any text column; an unknown snake_case value outside a code column stays
    assert [c[5] for c in cells] == ["deaths", "kept_as_written", "&lt;b&gt;x&lt;/b&gt;", "",
                                     "injured: % change over five years"]
    assert tables.plain_value("fatal_change_abs_yoy") == "deaths: change on a year earlier"
    assert tables.plain_value("hired_employees") == "hired employees" and tables.plain_value(3) == 3
    # every code in the data files' measure/system/metric columns has its words
    import csv

    for stem, col in [("national_annual", "measure"), ("national_annual", "system"), ("national_ytd", "measure"),
                      ("regional", "measure"), ("sectoral", "measure"), ("workforce", "measure"),
                      ("international", "metric")]:
        with open(ROOT / "data" / f"{stem}.csv", encoding="utf-8") as fh:
            codes = {row[col] for row in csv.DictReader(fh)} - {"definition", "city", "region"}
        missing = sorted(c for c in codes if c not in tables.VALUE_WORDS)
        assert not missing, f"data/{stem}.csv {col}: codes without words in tables.VALUE_WORDS: {missing}"


def test_published_csv_keeps_the_codes(tmp_path):
    import pandas as pd

    from analysis.core.study import table_payload

    df = pd.DataFrame({"system": ["bns"], "measure": ["fatal_pct_change_yoy"], "value": [-17.6]})
    render.write_tables(tmp_path, "r", {"tables": {"sources": table_payload(df)}})
    assert (tmp_path / "r" / "sources.csv").read_text(encoding="utf-8").splitlines() == [
        "system,measure,value", "bns,fatal_pct_change_yoy,-17.6"]


def test_booleans_read_yes_or_no_and_missing_stays_blank():
    import numpy as np
    import pandas as pd

    df = pd.DataFrame({
        "numpy bools": [np.True_, np.False_, None],  # object column of NumPy 2 booleans (type name 'bool')
        "python bools": [True, False, None],
        "nullable": pd.array([True, False, None], dtype="boolean"),
        "mixed": ["text", False, True],
    })
    assert tables.column_kind("numpy bools", df["numpy bools"].tolist()) == "bool"
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", tables.html_table(df))][1:]
    assert cells == [["yes", "yes", "yes", "text"], ["no", "no", "no", "no"], ["", "", "", "yes"]]
    assert tables.format_cell([1465, 1467], "text") == "1,465; 1,467"
    assert tables.format_cell([2019, 2020], "text", years=True) == "2019, 2020"


def test_variant_banner_and_index_parameters_in_plain_words():
    from analysis.reporting import index

    params = {"current_count": 1430, "reported_change_pct": -17.6, "previous_count": 220.0, "period": "2019",
              "measure": "fatal", "label": "<b>x</b>"}
    text = ("A variant of report 02 (“Is a reported change between two periods real?”) with: current count 1,430; "
            "reported change -17.6%; previous count 220; period 2019; measure deaths; label &lt;b&gt;x&lt;/b&gt;.")
    assert render._banner("02_quarterly_change_v", ROOT / "notebooks" / "02_quarterly_change.ipynb", params) == text
    assert render._banner("x", Path("nbs/fixture.ipynb"), {}) == 'A variant of the report “fixture” with its default parameters.'
    assert render._banner("fixture", Path("nbs/fixture.ipynb"), {}) == ""
    html = index._params_html(params)
    assert "<summary>6 parameters changed</summary>" in html
    assert "current count 1,430<br>reported change -17.6%<br>" in html and "&lt;b&gt;x&lt;/b&gt;" in html
    assert "_" not in re.sub(r"<[^>]+>", "", html) and "220.0" not in html
    assert "<summary>1 parameter changed</summary>" in index._params_html({"start_year": 2015})
    assert tables.plain_parameter("years", [2019, 2020]) == "years 2019, 2020"
    assert tables.plain_parameter("exact", True) == "exact yes"


def test_index_counts_have_proper_plurals():
    from analysis.core.fmt import fmt_counted
    from analysis.reporting import index
    from analysis.studies import registry

    assert [fmt_counted(n, "report") for n in (0, 1, 11, 1408)] == ["0 reports", "1 report", "11 reports",
                                                                    "1,408 reports"]
    assert fmt_counted(2, "person", "people") == "2 people"
    page = index.render(ROOT / "reports", [], registry)
    assert "0 reports and 0 checked claims: nothing built." in page and "(s)" not in page
    for module in (index, render, tables):
        source = Path(module.__file__).read_text(encoding="utf-8")
        assert not re.search(r"\w\(s\)", source.replace("http(s)", "")), f"{module.__name__}: a placeholder plural"
