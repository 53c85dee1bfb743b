"""``python -m analysis.releases add``: record a new Ministry release (see ``analysis.data.releases``)."""

import sys

from analysis.data.releases import main

if __name__ == "__main__":
    sys.exit(main())
