"""Report machinery: run a notebook, build every report, the index, the claim checker.

Reaches the studies only through their registry; never imports ``analysis.stats`` or ``analysis.data``."""
