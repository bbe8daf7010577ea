"""Registers the folder Streamlit serves Leaflet from (see ``needsmap.assets``)."""

from __future__ import annotations

import streamlit.components.v1 as components

from needsmap import assets


def serve_leaflet() -> None:
    """Declare the component whose files are Leaflet's, so ``assets.VENDOR_URL`` answers.

    Streamlit registers a declaration only inside a script run, so each page calls this at set-up
    (re-declaring the same folder is a dictionary update).
    """
    component = components.declare_component("leaflet", path=str(assets.LEAFLET_DIR))
    assert component.name == assets.COMPONENT_NAME, component.name  # the URL the maps name
