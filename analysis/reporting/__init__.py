"""Report machinery: run a notebook, build every report, the index, the claim checker.

Reaches the studies only through their registry (``analysis.studies.registry``); never imports ``analysis.stats``
or ``analysis.data``. The constants every part shares live here (importing this package costs nothing).
"""

import sys

from analysis.core.web import CSP  # noqa: F401  (report pages, index and glossary share it)

# nbformat imports jsonschema, whose optional IRI format checker (``rfc3987_syntax``, pulled in by jupyter-events)
# compiles an Earley grammar when imported: about 1.2 s in every process that reads or writes a notebook. Notebook
# validation never checks string formats, so the report machinery goes without it. A name bound to None in
# ``sys.modules`` is not imported (https://docs.python.org/3/reference/import.html#the-module-cache); jsonschema
# then skips that one optional format. A process that imported it already keeps it.
sys.modules.setdefault("rfc3987_syntax", None)

KERNEL_NAME = "kz-injuries"  # the project kernelspec (installed by ``python -m analysis.reporting.kernels install``)


OWNER_FILE = ".owner"  # in each private run folder reports/.tmp/<name>-*/: the pid of the process using it
