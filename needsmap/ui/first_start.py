"""The first start: the bundled demo database, built with a visible message before anything else.

Every page calls ``build_demo_if_missing()`` as its first statement, before its heavy imports
(folium, plotly, geopandas: several seconds on a busy machine): the message reaches the browser
at once instead of after a white page, and the build's progress (records written) is shown as it
goes. Only ``streamlit``, ``settings`` and ``i18n`` are imported until a build is needed.
"""

from __future__ import annotations

import re

import streamlit as st

from needsmap import settings
from needsmap.errors import NeedsmapError
from needsmap.i18n import t

DEMO_RECORDS = 50_000
DEMO_SEED = 2025


def build_demo_if_missing() -> None:
    """When the *default* database is missing, build the demo there once (50,000 records).

    A database named by NEEDSMAP_DB that is missing is left alone (the page reports it): that is
    a configuration mistake, and quietly filling it with demo data would hide it. Sessions opened
    together on a fresh install wait for the one that builds, with the same message.
    """
    try:
        db = settings.db_path()
    except NeedsmapError:  # a bad setting: page.setup reports it in one sentence
        return
    if db.exists() or db != settings.default_db_path():
        return
    lang = st.query_params.get("lang") if st.query_params.get("lang") in ("zh", "en") else st.session_state.get("lang", "zh")
    notice = st.empty()
    with notice.container():
        st.info(t("first_start", lang), icon=":material/hourglass_top:")
        progress = st.empty()
        with st.spinner(t("first_start_spinner", lang), show_time=True):
            from filelock import FileLock

            from needsmap import demo

            def shown(line: str) -> None:
                # The generator's own progress line, "demo: 12,000 / 50,000 records (3.1 s)", as a bar.
                counts = re.match(r"demo: ([\d,]+) / ([\d,]+) records", line)
                if counts:
                    done, total = (int(n.replace(",", "")) for n in counts.groups())
                    progress.progress(done / total, text=t("first_start_progress", lang, done=f"{done:,}", total=f"{total:,}"))

            with FileLock(str(db) + ".first-start.lock"):
                if not db.exists():
                    demo.build_demo_database(db, records=DEMO_RECORDS, seed=DEMO_SEED, echo=shown)
    notice.empty()
