"""Browser tests (Playwright + Debian Chromium against `streamlit run`); a package so its module names do not clash with tests/."""
