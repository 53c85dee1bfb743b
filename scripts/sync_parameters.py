"""Rewrite each study notebook's ``parameters`` cell from its study's ``Params`` declaration.

    .venv/bin/python scripts/sync_parameters.py           # rewrite the cells that differ
    .venv/bin/python scripts/sync_parameters.py --check   # exit 1 naming the notebooks that differ

The declaration in ``analysis/studies/<study>.py`` is the only one; this keeps the notebooks in step with it
(``tests/test_architecture.py`` fails when they drift).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis.studies import registry  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="report differences, change nothing")
    args = ap.parse_args(argv)
    differ = []
    for entry in registry.STUDIES.values():
        path = ROOT / "notebooks" / f"{entry.notebook}.ipynb"
        try:
            module = registry.load(entry.name)
        except ModuleNotFoundError:
            continue
        if not hasattr(module, "Params") or not path.exists():
            continue
        nb = nbformat.read(str(path), as_version=4)
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        expected = module.Params.notebook_cell()
        if cell.source != expected:
            differ.append(path.name)
            if not args.check:
                cell.source = expected
                nbformat.write(nb, str(path))
    for name in differ:
        print(f"{'differs' if args.check else 'rewrote'}: notebooks/{name}")
    return 1 if (args.check and differ) else 0


if __name__ == "__main__":
    sys.exit(main())
