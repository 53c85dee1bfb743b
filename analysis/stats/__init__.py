"""Pure statistics: numbers in, result objects out. No files, no data loading, no prose about one country.

Imports only ``analysis.core``."""
