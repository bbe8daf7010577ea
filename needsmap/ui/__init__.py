"""Shared Streamlit pieces: page set-up, sidebar filters and navigation, cached data access."""
