"""Time the report build against the naive loop (``make bench``).

In one invocation, on the same notebooks and variants (``notebooks/`` and ``notebooks/reports.toml``):

1. cold build: ``python -m analysis.build --force`` into an empty temporary folder (no cache, reports/ untouched);
2. naive loop: per report, sequentially, ``python -m papermill`` then ``python -m jupyter nbconvert --to html
   --no-input``, the way one would script it by hand;
3. no-change rebuild: ``python -m analysis.build`` again on the folder of step 1;
4. claim checker: ``python -m analysis.claims quarterly --current 584 --change-pct -16.6 --period 2025-H1`` against a
   bare ``python -c "import pandas, scipy.stats, statsmodels.genmod.generalized_linear_model"`` (the same stack), each
   run ``--repeat`` times alternately, medians compared.

Prints the wall times and the ratios against the targets (cold <= 0.25x naive, no-change <= 1 s, claim <= 1.5x the
bare import). ``--claims-only`` runs step 4 alone. Measure on a quiet machine: other processes skew every figure.
``--demo N`` benchmarks N generated notebooks instead (pandas + matplotlib, one figure each), for when the project
has few notebooks. ``--check`` exits 1 when a target is missed. Exit 2 when a build or naive step fails.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis.reporting import build  # noqa: E402  (light: standard library only)

PY = sys.executable
KERNEL = build.KERNEL_NAME
COLD_TARGET = 0.25
NOCHANGE_TARGET = 1.0
CLAIM_TARGET = 1.5
CLAIM = ["quarterly", "--current", "584", "--change-pct", "-16.6", "--period", "2025-H1"]
BARE = "import pandas, scipy.stats, statsmodels.genmod.generalized_linear_model"


def run(cmd: list[str], what: str) -> float:
    return run_output(cmd, what)[0]


def run_output(cmd: list[str], what: str) -> tuple[float, str]:
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if res.returncode != 0:
        print(f"bench: {what} failed (exit {res.returncode}): {' '.join(cmd)}", file=sys.stderr)
        print((res.stdout + res.stderr)[-3000:], file=sys.stderr)
        raise SystemExit(2)
    return elapsed, res.stdout


def demo_notebooks(folder: Path, n: int) -> Path:
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    folder.mkdir(parents=True)
    for i in range(1, n + 1):
        stem = f"{i:02d}_demo"
        params = new_code_cell(f"seed = {i}\nresults_dir = 'reports/results'\n")
        params.metadata["tags"] = ["parameters"]
        nb = new_notebook()
        nb.cells = [
            new_markdown_cell(f"# Demo {i}"),
            params,
            new_code_cell(
                "import numpy as np, pandas as pd, matplotlib.pyplot as plt\n"
                "from analysis.present.report import write_results\n"
                "rng = np.random.default_rng(seed)\n"
                "df = pd.DataFrame({'year': range(2010, 2025), 'count': rng.poisson(1500, 15)})\n"
                "ax = df.plot(x='year', y='count', figsize=(6, 3)); plt.show()\n"
                "df.describe()\n"
            ),
            new_code_cell(
                f"write_results(results_dir, {stem!r}, {{'seed': seed}}, {{'mean': float(df['count'].mean())}},"
                " f\"mean {df['count'].mean():.1f}\")\n"
            ),
        ]
        nb.metadata["kernelspec"] = {
            "name": KERNEL,
            "display_name": "Python (kz-injuries)",
            "language": "python",
        }
        nbformat.write(nb, str(folder / f"{stem}.ipynb"))
    return folder


def naive_loop(jobs: list[build.Job], work: Path) -> float:
    t0 = time.perf_counter()
    for job in jobs:
        executed = work / "executed" / f"{job.name}.ipynb"
        executed.parent.mkdir(parents=True, exist_ok=True)
        params = work / "params" / f"{job.name}.yaml"
        params.parent.mkdir(parents=True, exist_ok=True)
        params.write_text(json.dumps(job.parameters))  # results travel as a notebook output: nothing else to pass
        run(
            [PY, "-m", "papermill", str(job.notebook), str(executed), "-k", KERNEL, "-f", str(params),
             "--cwd", str(job.notebook.parent)],
            f"papermill {job.name}",
        )  # fmt: skip
        run(
            [PY, "-m", "jupyter", "nbconvert", "--to", "html", "--no-input", "--output-dir", str(work / "html"),
             "--output", job.name, str(executed)],
            f"nbconvert {job.name}",
        )  # fmt: skip
    return time.perf_counter() - t0


def claim_timing(repeat: int, out: Path) -> tuple[float, float, list[float], list[float]]:
    """Median wall times of the claim checker and of the bare import, run alternately ``repeat`` times."""
    import statistics

    claim_cmd = [PY, "-m", "analysis.claims", *CLAIM, "--out", str(out)]
    bare_cmd = [PY, "-c", BARE]
    run(bare_cmd, "warm-up import")
    run(claim_cmd, "warm-up claim")
    claims, bares = [], []
    for _ in range(repeat):
        bares.append(run(bare_cmd, "bare import"))
        claims.append(run(claim_cmd, "claim checker"))
    return statistics.median(claims), statistics.median(bares), claims, bares


def report_claims(repeat: int, tmp: Path) -> bool:
    print(f"bench: claim checker vs bare import, {repeat} runs each ...", flush=True)
    claim, bare, claims, bares = claim_timing(repeat, tmp / "claims")
    ratio = claim / bare
    ok = ratio <= CLAIM_TARGET
    print(f"  claim checker ({' '.join(CLAIM)})  median {claim:6.2f} s  (runs: "
          f"{', '.join(f'{x:.2f}' for x in claims)})")
    print(f"  bare import   ({BARE})  median {bare:6.2f} s  (runs: {', '.join(f'{x:.2f}' for x in bares)})")
    print(f"  claim / bare = {ratio:.2f}x   (target <= {CLAIM_TARGET:.1f}x: {'met' if ok else 'MISSED'})")
    return ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="scripts/bench.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--notebooks", type=Path, default=build.NOTEBOOKS_DIR, help="notebooks folder")
    ap.add_argument("--demo", type=int, metavar="N", help="benchmark N generated notebooks instead")
    ap.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (printed)")
    ap.add_argument("--repeat", type=int, default=7, help="runs of the claim checker and the bare import (median)")
    ap.add_argument("--claims-only", action="store_true", help="time the claim checker only")
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="kz-bench-"))
    try:
        if args.claims_only:
            return 1 if not report_claims(args.repeat, tmp) and args.check else 0
        nb_dir = demo_notebooks(tmp / "notebooks", args.demo) if args.demo else build.resolve(args.notebooks)
        jobs = [j for j in build.make_jobs(nb_dir, nb_dir / build.CONFIG_NAME) if not j.skipped]
        if not jobs:
            print(f"bench: no notebooks in {nb_dir} (try --demo 6)", file=sys.stderr)
            return 2
        variants = sum(j.variant for j in jobs)
        cores = build._workers(None, 10**6)
        print(
            f"bench: {len(jobs)} reports ({len(jobs) - variants} notebooks + {variants} variants) "
            f"from {build._rel(nb_dir)}, {cores} core(s)",
            flush=True,
        )
        # Warm the disk cache for both contenders (imports, kernel); not timed.
        run([PY, "-c", "import papermill, nbconvert, pandas, matplotlib.pyplot, jupyter_client"], "warm-up")

        out = tmp / "build"
        cmd = [PY, "-m", "analysis.build", "--notebooks", str(nb_dir), "--out", str(out)]
        print("bench: cold build ...", flush=True)
        cold = run([*cmd, "--force"], "cold build")
        print(f"bench: cold build {cold:.1f} s; naive loop ...", flush=True)
        naive = naive_loop(jobs, tmp / "naive")
        print(f"bench: naive loop {naive:.1f} s; no-change rebuild ...", flush=True)
        for _attempt in range(3):
            nochange, output = run_output(cmd, "no-change rebuild")
            if " 0 built" in output:
                break
            # analysis/, data/ or the lock changed while the bench ran (someone editing): that rebuild was real
            # work, not the no-change case; the next one is.
            print(
                "bench: inputs changed during the bench, so that rebuild did work; measuring again",
                flush=True,
            )

        ratio = cold / naive
        cold_ok, nochange_ok = ratio <= COLD_TARGET, nochange <= NOCHANGE_TARGET
        print()
        print(f"  cold build  (analysis.build, empty cache)         {cold:8.1f} s")
        print(f"  naive loop  (papermill CLI + nbconvert CLI, seq.) {naive:8.1f} s")
        print(f"  no-change rebuild                                 {nochange:8.2f} s")
        print(
            f"  cold / naive = {ratio:.2f}x   (target <= {COLD_TARGET:.2f}x: {'met' if cold_ok else 'MISSED'}); "
            f"naive / cold = {naive / cold:.1f}x faster"
        )
        print(
            f"  no-change    = {nochange:.2f} s (target <= {NOCHANGE_TARGET:.0f} s: {'met' if nochange_ok else 'MISSED'})"
        )
        claim_ok = args.demo or report_claims(args.repeat, tmp)
        if args.keep:
            print(f"  outputs kept in {tmp}")
        return 1 if args.check and not (cold_ok and nochange_ok and claim_ok) else 0
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
