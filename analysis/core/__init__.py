"""Bottom layer shared by every other: result base class, argument validation, one formatting policy, atomic
I/O and project paths. Imports nothing else from ``analysis``."""
