"""The claim checker's command line as the README documents it, and checked claims in the index.

- every ``.venv/bin/python -m analysis.claims ...`` line of a README code block parses and validates as written,
  and (without ``--html``, which starts a kernel) runs in this process and prints a verdict;
- the checker imports only the study named on its command line (importing a study loads its statistics stack);
- a checked claim appears in the index under its study's question, with its badge and links.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.core.paths import ROOT
from analysis.reporting import claims

PREFIX = ".venv/bin/python -m analysis.claims"


def readme_claim_commands() -> list[str]:
    """The claim-checker commands of README.md's code blocks, as written (comments after ``#`` removed)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"^```[a-z]*\n(.*?)^```", text, re.S | re.M):
        for line in block.splitlines():
            line = line.strip()
            if line.startswith(PREFIX):
                commands.append(line.split(" #")[0].strip())
    return commands


COMMANDS = readme_claim_commands()


def test_the_readme_documents_claim_commands():
    assert len(COMMANDS) >= 2, "README.md has no `.venv/bin/python -m analysis.claims ...` lines in code blocks"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_readme_claim_command_runs_as_written(command, tmp_path, capsys):
    args = shlex.split(command)[len(shlex.split(PREFIX)):]
    assert not any(a.startswith("[") or a.endswith("]") for a in args), f"placeholder in {command!r}"
    parser = claims.load_parser(args)
    try:
        ns = parser.parse_args(args)
    except SystemExit as exc:  # argparse exits 2 naming the bad option
        pytest.fail(f"README command does not parse: {command!r} ({capsys.readouterr().err.strip()})")
        raise AssertionError from exc
    from analysis.studies import registry

    params = registry.load(ns.study).Params.from_arguments(ns)  # the study's own checks, as the CLI runs them
    assert params is not None
    if "--html" in args:
        return  # starts a kernel: parsing and validation above is what the README promises before it runs
    assert claims.main([*args, "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert re.match(r"^\[(supported|fragile|not supported|inconsistent|descriptive)\] ", out), out
    assert len(list((tmp_path / "results").glob("*.json"))) == 1


def test_the_checker_imports_only_the_study_it_runs():
    code = (
        "import sys\n"
        "from analysis.reporting import claims\n"
        "parser = claims.load_parser(['quarterly', '--help'])\n"
        "print(sorted(m for m in sys.modules if m.startswith('analysis.studies.') and m != 'analysis.studies.registry'))\n"
        "claims.load_parser(['--help'])\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert res.returncode == 0, res.stderr
    loaded = json.loads(res.stdout.strip().replace("'", '"'))
    assert "analysis.studies.quarterly" in loaded
    from analysis.reporting.deps import Closure

    pkg = ROOT / "analysis"
    closure = {".".join(f.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
               for f in Closure(ROOT).files(["analysis.studies.quarterly"])}
    assert not [m for m in loaded if m not in closure], (loaded, sorted(closure))  # only what quarterly itself needs
    assert "analysis.studies.trend" not in loaded and pkg.is_dir()  # another claim study is not imported
    bare = subprocess.run([sys.executable, "-c", "import sys\nfrom analysis.reporting import claims\n"
                           "claims.load_parser(['--help'])\nprint(sorted(m for m in sys.modules if "
                           "m.startswith(('pandas', 'analysis.studies.quarterly'))))"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert bare.stdout.strip() == "[]", bare.stdout + bare.stderr  # top-level --help imports no study


def test_a_checked_claim_is_listed_under_its_question_in_the_index(tmp_path, capsys):
    from analysis.reporting import build

    nbs, out = tmp_path / "nbs", tmp_path / "out"
    nbs.mkdir()
    assert claims.main(["quarterly", "--current", "584", "--change-pct", "-16.6", "--period", "2025-H1",
                        "--out", str(out / "claims")]) == 0
    capsys.readouterr()
    assert build.main(["--notebooks", str(nbs), "--out", str(out)]) == 0
    page = (out / "index.html").read_text(encoding="utf-8")
    from analysis.studies import registry

    question = registry.entry("quarterly").question
    group = re.search(r'<tbody class="question" data-question="([^"]*)">(.*?)</tbody>', page, re.S)
    assert group and group.group(1) == question.replace("'", "&#x27;")
    row = re.search(r'<tr class="report kind-claim[^"]*" data-name="(quarterly-2025-H1-[0-9a-f]+)"[^>]*>(.*?)</tr>',
                    group.group(2), re.S)
    assert row, group.group(2)[:500]
    assert 'class="kz-badge kz-label-supported"' in row.group(2)
    assert f'href="claims/results/{row.group(1)}.json"' in row.group(2)
    assert "claim checked" in row.group(2)
    # A second build with nothing new leaves the index alone; a new claim changes it.
    before = page
    assert build.main(["--notebooks", str(nbs), "--out", str(out)]) == 0
    assert (out / "index.html").read_text(encoding="utf-8") == before
    assert claims.main(["quarterly", "--current", "293", "--change-pct", "-16.8", "--period", "2025-Q1",
                        "--out", str(out / "claims")]) == 0
    assert build.main(["--notebooks", str(nbs), "--out", str(out)]) == 0
    assert (out / "index.html").read_text(encoding="utf-8").count('data-kind="claim"') == 2


def test_claim_names_differ_per_claim():
    from analysis.studies import quarterly

    a = quarterly.Params.from_mapping({"current_count": 293, "reported_change_pct": -16.8, "period": "2025-Q1"})
    b = a.replace(current_count=294)
    assert claims.claim_name("quarterly", a) != claims.claim_name("quarterly", b)
    assert claims.claim_name("quarterly", a).startswith("quarterly-2025-Q1-")
    assert Path(claims.claim_name("quarterly", a)).name == claims.claim_name("quarterly", a)
