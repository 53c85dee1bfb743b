"""One-command claim checker: run a study on a new press-release figure and print the verdict.

    python -m analysis.claims quarterly --current 293 --change-pct -16.8 --period 2025-Q1
    python -m analysis.claims quarterly --current 180 --change-pct -17.6 --previous 220 --period 2019 --measure fatal
    python -m analysis.claims trend --end-year 2024 --years 5 --change-pct -6.3
    python -m analysis.claims ytd --year 2025 --months 3 --count 293 --change-pct -16.8 --target-months 9

The options of each study and their ``--help`` come from the study's ``Params`` declaration. Arguments are
checked before anything runs (exit 2 naming the option). The study runs in this process (no kernel) and the command
prints the label, headline and verdict and writes the results JSON; ``--html`` also renders the study's notebook
report through the runner. Output names are unique per claim (study, period and a hash of the parameters), so two
claims never overwrite each other. Exit 1 when the study fails.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

from analysis.core.paths import NOTEBOOKS_DIR, REPORTS_DIR, resolve
from analysis.studies import registry

DEFAULT_OUT = REPORTS_DIR / "claims"


def claim_studies() -> list[str]:
    """The studies the checker offers (registry entries with ``claim=True``), without importing any of them.

    Returns
    -------
    list of str
        Their registry names, in registry order.
    """
    return [n for n, e in registry.STUDIES.items() if e.claim]


def _parser(studies: dict) -> argparse.ArgumentParser:
    """The parser; ``studies`` maps each offered study to its module, or to None when its options are not needed
    (only the study named on the command line is imported: importing a study loads its statistics stack)."""
    p = argparse.ArgumentParser(prog="python -m analysis.claims", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n")[1])
    sub = p.add_subparsers(dest="study", required=True, metavar="STUDY")
    for name, module in studies.items():
        s = sub.add_parser(name, help=registry.entry(name).question,
                           description=f"{registry.entry(name).question} ({registry.entry(name).notebook})")
        if module is None:
            continue
        module.Params.add_arguments(s)
        s.add_argument("--out", default=str(DEFAULT_OUT),
                       help=f"output folder (default: {DEFAULT_OUT.relative_to(REPORTS_DIR.parent)})")
        s.add_argument("--html", action="store_true", help="also render the notebook report (runs a kernel)")
    return p


def _chosen(argv: list[str], names: list[str]) -> str | None:
    """The study named on the command line (the first argument that is not an option), if it is one we offer."""
    first = next((a for a in argv if not a.startswith("-")), None)
    return first if first in names else None


def load_parser(argv: list[str]) -> argparse.ArgumentParser:
    """The parser with the options of the study ``argv`` names (and only that study imported).

    Parameters
    ----------
    argv : list of str
        The command-line arguments; the first that is not an option and names a claim study chooses it.

    Returns
    -------
    argparse.ArgumentParser
        A parser with one subcommand per claim study; only the chosen one carries its parameters' options.
    """
    names = claim_studies()
    chosen = _chosen(argv, names)
    return _parser({n: registry.load(n) if n == chosen else None for n in names})


def claim_name(study: str, params) -> str:
    """A file name unique to the claim: study, the first required value (e.g. the period) and a parameter
    hash.

    Parameters
    ----------
    study : str
        The study's registry name.
    params : analysis.core.params.Params
        The claim's parameters (``to_dict()`` is hashed).

    Returns
    -------
    str
        ``<study>-<first required value>-<10 hex digits>``, letters, digits, dots and hyphens only.
    """
    values = params.to_dict()
    digest = hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:10]
    lead = [str(values[s.name]) for s in params.specs() if s.info.cli_required][:1]
    slug = re.sub(r"[^A-Za-z0-9.]+", "-", "-".join([study, *lead])).strip("-")
    return f"{slug}-{digest}"


def _skip_optional_imports() -> None:
    """pandera imports hypothesis, when installed, for its data-synthesis strategies, which validation never uses:
    about 0.2 s of this command. A ``None`` entry in ``sys.modules`` makes that optional import fail cleanly (pandera
    then works without strategies). Only in this command's own process, and only if nothing imported it yet."""
    if "hypothesis" not in sys.modules and "pandera" not in sys.modules:
        sys.modules["hypothesis"] = None


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point of ``python -m analysis.claims``: check one claim, write its results JSON
    (and, with ``--html``, its report) and print the verdict.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``): the study, its parameters as options, ``--out`` and
        ``--html``; see ``python -m analysis.claims --help``.

    Returns
    -------
    int
        0 when the claim was checked, 1 when the study refused its data or the report failed (the reason on
        standard error). A bad parameter exits with status 2 through ``argparse``, naming its option.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    if __name__ == "__main__" or sys.argv[0].endswith(("claims.py", "claims")):
        _skip_optional_imports()
    parser = load_parser(argv)
    args = parser.parse_args(argv)
    module = registry.load(args.study)
    from analysis.core.params import ParameterError

    try:
        params = module.Params.from_arguments(args)
    except ParameterError as exc:
        parser.error(f"{module.Params.option_of(exc.name)}: {exc}")  # exits 2 with the usage line
    if not str(args.out).strip():
        parser.error("--out must name a folder (an empty value would write into the project root)")
    out = resolve(args.out)
    name = claim_name(args.study, params)
    try:
        result = module.run(params)
    except (ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    from analysis.core.io import write_json

    payload = result.to_dict()
    json_path = write_json(out / "results" / f"{name}.json", payload)
    print(f"[{payload['label']}] {payload['headline']}")
    print(f"verdict: {payload['verdict']}")
    print(f"json:    {_rel(json_path)}")
    if args.html:
        from analysis.reporting.runner import run_notebook

        notebook = NOTEBOOKS_DIR / f"{registry.entry(args.study).notebook}.ipynb"
        res = run_notebook(notebook, params.changed(), name=name, out_dir=out)
        if not res.ok:
            print(f"error: {res.error}", file=sys.stderr)
            return 1
        print(f"html:    {_rel(res.html_path)}")
    return 0


def _rel(path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
