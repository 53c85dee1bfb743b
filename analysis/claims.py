"""``python -m analysis.claims``: the one-line claim checker (see ``analysis.reporting.claims``)."""

import sys

from analysis.reporting.claims import main

if __name__ == "__main__":
    sys.exit(main())
