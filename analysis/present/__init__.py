"""Presentation: figure style, tables and escaping of text from data. Imports only ``analysis.core``."""
