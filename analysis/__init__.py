"""Helper package for the Kazakhstan occupational-injury notebooks.

Layout: data/ (sourced CSVs) -> analysis/ (loaders, statistics, report build) -> notebooks/ -> reports/.
Modules are small and named for their job; statistical functions take plain numbers and return frozen
result objects with ``to_dict()`` and a ``verdict``.
"""

__version__ = "0.1.0"
