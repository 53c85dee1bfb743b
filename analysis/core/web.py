"""What every page the project writes shares: its Content-Security-Policy (one home for the report pages, the
index and the glossary)."""

# No script, no network. Only inline styles and data: images/fonts; links still navigate.
CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
    "base-uri 'none'; form-action 'none'"
)
