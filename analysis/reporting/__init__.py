"""Report machinery: run a notebook, build every report, the index, the claim checker.

Reaches the studies only through their registry (``analysis.studies.registry``); never imports ``analysis.stats``
or ``analysis.data``. The constants every part shares live here (importing this package costs nothing).
"""

KERNEL_NAME = "kz-injuries"  # the project kernelspec (installed by ``python -m analysis.reporting.kernels install``)

# Report pages: no script, no network. Only inline styles and data: images/fonts; links still navigate.
CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
    "base-uri 'none'; form-action 'none'"
)

OWNER_FILE = ".owner"  # in each private run folder reports/.tmp/<name>-*/: the pid of the process using it
