"""Faults injected into the report build (issue 13, "A build that blocks or dies badly").

- the main build killed (SIGKILL, SIGTERM) leaves no worker, zygote or kernel behind, and the next build neither
  waits for a lock nor loses a report;
- a lock record left by a build that died is noticed and taken over with a message; a live holder is waited for
  and named;
- one worker killed: the reports in flight beside it are retried once and built;
- stale private run folders (``reports/.tmp/<name>-*/``) are removed by any later build, even one with nothing to
  build; a folder whose owner is alive stays;
- an output folder that cannot be written gives one line naming it (no traceback), and its files stay intact.

Each test builds throwaway notebooks (or none) into a temporary folder, never into reports/.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import write_notebook

from analysis.core.paths import ROOT

pytestmark = pytest.mark.notebook

PY = sys.executable

# A notebook that says it started, then waits (at most 120 s) for a flag file: the test decides when it ends.
WAITER = (
    "import pathlib, time\n"
    "pathlib.Path(flag + '.' + label + '.started').write_text('1')\n"
    "deadline = time.monotonic() + 120\n"
    "while not pathlib.Path(flag).exists() and time.monotonic() < deadline:\n"
    "    time.sleep(0.05)\n"
)


def waiting_notebooks(nbs: Path, flag: Path, names=("01_a", "02_b")) -> None:
    for name in names:
        write_notebook(nbs / f"{name}.ipynb", body=WAITER,
                       params=f'x = 2\nlabel = "{name}"\nflag = "{flag}"\nresults_dir = "reports/results"\n')


def start_build(nbs: Path, out: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([PY, "-m", "analysis.build", "--notebooks", str(nbs), "--out", str(out), *args],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_build(nbs: Path, out: Path, *args: str, timeout: float = 180, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([PY, "-m", "analysis.build", "--notebooks", str(nbs), "--out", str(out), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout, **kw)


def build_here(nbs: Path, out: Path, *args: str) -> subprocess.CompletedProcess:
    """The build command through ``main()`` in this process (kernels from the test session's shared zygote, no
    interpreter start-up), output captured: for a build after the fault, where the fault itself was a process of
    its own."""
    import io

    from analysis.reporting import build, kernels

    argv = ["--notebooks", str(nbs), "--out", str(out), *args]
    stdout, stderr = io.StringIO(), io.StringIO()
    assert kernels.shared() is not None, "use the kernel_zygote fixture"
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        rc = build.main(argv)
    return subprocess.CompletedProcess(argv, rc, stdout.getvalue(), stderr.getvalue())


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def process_table() -> dict[int, int]:
    """{pid: parent pid} of every process (Linux /proc)."""
    table = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                table[int(d.name)] = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
    return table


def cmdline(pid: int) -> bytes:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes()
    except OSError:
        return b""


def descendants(pid: int) -> set[int]:
    table = process_table()
    children: dict[int, list[int]] = {}
    for child, parent in table.items():
        children.setdefault(parent, []).append(child)
    out, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.add(c)
            todo.append(c)
    return out


def alive(pids: set[int]) -> set[int]:
    table = process_table()
    return {p for p in pids if p in table and "Z" not in _state(p)}


def _state(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "X"


def dead_pid() -> int:
    proc = subprocess.Popen([PY, "-c", "pass"])
    proc.wait()
    return proc.pid


needs_linux = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")


# --------------------------------------------------------------------------------------------- killed build


@needs_linux
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_killing_the_build_leaves_no_process_and_no_lock_behind(tmp_path, sig, kernel_zygote):
    nbs, out, flag = tmp_path / "nbs", tmp_path / "out", tmp_path / "go"
    waiting_notebooks(nbs, flag)
    build = start_build(nbs, out, "-j", "2")
    family: set[int] = set()
    try:
        wait_for(lambda: all(Path(f"{flag}.{n}.started").exists() for n in ("01_a", "02_b")), 120,
                 "both notebooks to start")
        family = descendants(build.pid)  # workers, zygotes, kernels
        assert len(family) >= 4, f"expected workers and kernels under the build, found {family}"
        build.send_signal(sig)
        build.wait(timeout=30)
        wait_for(lambda: not alive(family), 20, f"the build's processes {sorted(alive(family))} to exit")
    finally:
        if build.poll() is None:
            build.kill()
            build.wait()
        for pid in alive(family | descendants(build.pid)):  # orphans of a failed test: ours, by pid
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    stdout, stderr = build.communicate()
    if sig == signal.SIGTERM:
        assert build.returncode == 143, stdout + stderr
        assert "terminated: finished reports are in place" in stderr

    flag.write_text("go")
    if sig == signal.SIGKILL:  # the next build builds both reports, after noting the dead build
        again = build_here(nbs, out)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "2 built" in again.stdout
        # the killed build never wrote "finished" into the lock record
        assert f"note: the previous build (pid {build.pid}" in again.stdout and "died" in again.stdout
    else:  # the lock is free at once: a build with nothing to run (no notebooks) takes it and sweeps
        empty = tmp_path / "none"
        empty.mkdir()
        again = run_build(empty, out, timeout=60)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "note:" not in again.stdout  # a terminated build ends cleanly
    assert "waiting for another build" not in again.stdout + again.stderr
    leftovers = list((out / ".tmp").rglob("*")) if (out / ".tmp").exists() else []
    assert not leftovers, leftovers


def test_a_lock_record_of_a_dead_build_is_taken_over_with_a_message(tmp_path):
    nbs, out = tmp_path / "nbs", tmp_path / "out"
    nbs.mkdir()
    (out / ".cache").mkdir(parents=True)
    pid = dead_pid()
    (out / ".cache" / "build.lock").write_text(f"pid {pid}\nstarted 2026-01-01T00:00:00+00:00\n")
    res = run_build(nbs, out, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"note: the previous build (pid {pid}, started 2026-01-01T00:00:00+00:00) died" in res.stdout
    assert "taking over its lock" in res.stdout
    record = (out / ".cache" / "build.lock").read_text()
    assert "finished" in record and f"pid {pid}" not in record
    quiet = run_build(nbs, out, timeout=60)  # a clean end leaves nothing to report
    assert "note:" not in quiet.stdout


def test_a_live_lock_holder_is_waited_for_and_named(tmp_path):
    import fcntl

    nbs, out = tmp_path / "nbs", tmp_path / "out"
    nbs.mkdir()
    (out / ".cache").mkdir(parents=True)
    lock = out / ".cache" / "build.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    os.write(fd, f"pid {os.getpid()}\nstarted now\n".encode())
    fcntl.lockf(fd, fcntl.LOCK_EX)
    build = start_build(nbs, out)
    try:
        first = build.stdout.readline()  # the build says whom it waits for, then blocks on the lock
        assert first.startswith(f"waiting for another build into {out} (pid {os.getpid()}, started now)"), first
        time.sleep(0.2)
        assert build.poll() is None, "the build did not wait for the lock holder"
        fcntl.lockf(fd, fcntl.LOCK_UN)
        os.close(fd)
        stdout, stderr = build.communicate(timeout=60)
    finally:
        if build.poll() is None:
            build.kill()
            build.communicate()
    assert build.returncode == 0, first + stdout + stderr


# --------------------------------------------------------------------------------------------- dead worker


@needs_linux
def test_a_killed_worker_makes_the_reports_in_flight_retry_once(tmp_path):
    nbs, out, flag = tmp_path / "nbs", tmp_path / "out", tmp_path / "go"
    waiting_notebooks(nbs, flag)
    build = start_build(nbs, out, "-j", "2")
    try:
        wait_for(lambda: all(Path(f"{flag}.{n}.started").exists() for n in ("01_a", "02_b")), 120,
                 "both notebooks to start")
        table = process_table()
        workers = sorted(p for p, parent in table.items()
                         if parent == build.pid and b"analysis.reporting.zygote" not in cmdline(p))
        assert len(workers) == 2, f"expected two pool workers, found {workers}"
        os.kill(workers[0], signal.SIGKILL)  # one worker dies; the report beside it is innocent
        time.sleep(0.5)
        flag.write_text("go")
        stdout, stderr = build.communicate(timeout=180)
    finally:
        if build.poll() is None:
            build.kill()
            build.communicate()
    assert build.returncode == 0, stdout + stderr
    assert "2 built, 0 failed" in stdout
    retried = [line for line in stdout.splitlines() if " retry " in f" {line} "]
    assert retried and all("worker died" in line for line in retried), stdout
    for name in ("01_a", "02_b"):
        assert (out / f"{name}.html").exists()


# ----------------------------------------------------------------------------------------- stale leftovers


def test_any_later_build_removes_stale_run_folders(tmp_path):
    nbs, out = tmp_path / "nbs", tmp_path / "out"
    nbs.mkdir()
    assert run_build(nbs, out, timeout=60).returncode == 0
    stale_dead = out / ".tmp" / "01_a-k1ll3d"
    stale_orphan = out / ".tmp" / "02_b-n0own3r"
    live = out / ".tmp" / "03_c-l1v3"
    for d in (stale_dead, stale_orphan, live):
        (d / "sub").mkdir(parents=True)
        (d / "02_b.ipynb").write_text("{}")
    (stale_dead / ".owner").write_text(str(dead_pid()))
    (live / ".owner").write_text(str(os.getpid()))  # a run in progress (this test process) is left alone
    half = out / ".index.html.x1y2.tmp"
    half.write_text("<half")

    res = run_build(nbs, out, timeout=60)  # nothing to build
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 built" in res.stdout
    assert not stale_dead.exists() and not stale_orphan.exists() and not half.exists()
    assert live.is_dir()


# -------------------------------------------------------------------------------------------- read-only out


@contextlib.contextmanager
def read_only(folder: Path):
    """Make ``folder`` and everything in it unwritable for the build: ``chmod`` for a normal user; for root (who
    ignores permissions) the immutable attribute (``chattr +i``), which binds root too."""
    paths = sorted([folder, *folder.rglob("*")], key=lambda p: len(p.parts), reverse=True)
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in paths}
        for p in paths:
            os.chmod(p, 0o555 if p.is_dir() else 0o444)
        try:
            yield
        finally:
            for p in reversed(paths):
                os.chmod(p, modes[p])
        return
    chattr = shutil.which("chattr")
    if not chattr or subprocess.run([chattr, "+i", *map(str, paths)], capture_output=True).returncode != 0:
        subprocess.run([chattr or "chattr", "-i", *map(str, paths)], capture_output=True)
        pytest.skip("running as root without a file system that supports chattr +i")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", *map(str, paths)], capture_output=True)


@needs_linux
def test_an_unwritable_output_folder_gives_one_line_naming_it(tmp_path):
    nbs, out = tmp_path / "nbs", tmp_path / "reports"
    nbs.mkdir()
    assert run_build(nbs, out, timeout=60).returncode == 0  # a good build first
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with read_only(out):
        res = run_build(nbs, out, "--force", timeout=60)
        after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert res.returncode == 2, res.stdout + res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "Traceback" not in res.stdout + res.stderr
    assert lines[0].startswith("error: cannot write to ") and str(out) in lines[0]
    assert "not writable" in lines[0] or "read-only" in lines[0]
    assert after == before  # the last good output is intact


def test_an_output_path_that_is_a_file_gives_one_line(tmp_path):
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    blocker = tmp_path / "reports"
    blocker.write_text("a file, not a folder")
    res = run_build(nbs, blocker, timeout=60)
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
    assert res.stderr.startswith(f"error: cannot write to {blocker}")
