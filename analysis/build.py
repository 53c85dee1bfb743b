"""``python -m analysis.build``: build every report (see ``analysis.reporting.build``)."""

import sys

from analysis.reporting.build import main

if __name__ == "__main__":
    sys.exit(main())
