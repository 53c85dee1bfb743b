"""One module per question. Each reads the data (``analysis.data``), runs the statistics (``analysis.stats``)
and returns one result the notebook narrates."""
