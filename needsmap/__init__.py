"""needsmap: a public-service needs map over geocoded demand records (DuckDB + Streamlit)."""

__version__ = "0.1.0"
