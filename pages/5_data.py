"""Data: upload a file (same rules as the CLI importer), the import report, rejected rows, quality."""

from __future__ import annotations

# First of all, before the heavy imports: a fresh install builds its demo here, with a message.
from needsmap.ui.first_start import build_demo_if_missing

build_demo_if_missing()

from pathlib import Path

import streamlit as st

from needsmap import admin
from needsmap.errors import NeedsmapError
from needsmap.i18n import labelled, t
from needsmap.ui import data, page, staff, upload, widgets

# The coordinate systems a file may be in, as both upload forms name them.
CRS_LABELS = {"wgs84": "WGS-84 (GPS)", "gcj02": "GCJ-02 (高德/腾讯)", "bd09": "BD-09 (百度)"}

ctx = page.setup("data_title")
lang = ctx.lang
st.title(t("data_title", lang))

if not staff.staff_view(lang, ctx.public, key="data"):
    st.stop()

with st.form("upload", clear_on_submit=True):
    uploaded = widgets.file_uploader(t("upload", lang), ["csv", "txt", "tsv", "xlsx", "xls", "parquet", "geojson", "json"], lang)
    crs_col, source_col, sheet_col = st.columns(3)
    crs = crs_col.selectbox(t("upload_crs", lang), tuple(CRS_LABELS), format_func=CRS_LABELS.__getitem__)
    source = source_col.text_input(t("upload_source", lang), max_chars=100)
    sheet = sheet_col.text_input(t("upload_sheet", lang), max_chars=100)
    submitted = st.form_submit_button(t("import_button", lang))

if submitted and uploaded is None:
    st.warning(t("upload_no_file", lang))
if submitted and uploaded is not None:
    # Kept for a second try when the columns have to be assigned by hand (never written to the database).
    st.session_state["pending_upload"] = {"name": Path(uploaded.name).name, "content": bytes(uploaded.getbuffer()),
                                          "crs": crs, "source": source or None, "sheet": sheet.strip() or None}
    st.session_state.pop("needs_columns", None)
    upload.run_import(st.session_state, data.db_path(), lang)

if st.session_state.get("needs_columns") and st.session_state.get("pending_upload"):
    upload.assign_columns_form(st.session_state, data.db_path(), lang)

st.subheader(t("data_quality", lang))
quality = data.data_quality()
columns = st.columns(len(quality))
for column, (key, value) in zip(columns, quality.items(), strict=True):
    column.metric(t(f"q_{key}", lang), f"{value:,}")

errors = data.timestamp_errors(limit=1_000)
if not errors.empty:
    st.subheader(t("timestamp_errors", lang))
    errors["problem"] = errors["problem"].map(lambda code: t(f"p_{code}", lang))
    st.dataframe(labelled(errors, lang, {
        "record_id": "c_record_id", "problem": "c_problem", "created_at": "c_created_at", "responded_at": "c_responded_at",
        "resolved_at": "c_resolved_at", "feedback_at": "c_feedback_at",
    }), hide_index=True, width="stretch", height=240)

city_level = data.city_level_records()
if not city_level.empty:
    st.subheader(t("city_level_records", lang))
    st.caption(t("city_level_note", lang))
    widgets.table(labelled(city_level, lang, {"city_adcode": "c_adcode", "city": "c_city", "records": "c_records"}),
                 hide_index=True, width="stretch")

st.subheader(t("imports_history", lang))
widgets.table(widgets.with_headers(data.imports(), lang), hide_index=True, width="stretch")

st.subheader(t("rejected_rows", lang))
widgets.table(widgets.with_headers(data.reject_reasons(), lang), hide_index=True, width="stretch")
st.dataframe(widgets.with_headers(data.rejects(st.session_state.get("last_batch"), limit=1_000), lang),
             hide_index=True, width="stretch", height=300)

upload.findings_sections(data.db_path(), lang)

st.subheader(t("category_mapping", lang))
edited = st.data_editor(data.category_mapping(), num_rows="dynamic", hide_index=True, width="stretch",
                        key="mapping_editor",
                        column_config={"source_text": st.column_config.TextColumn(t("c_source_text", lang)),
                                       "category": st.column_config.TextColumn(t("c_category", lang))})
if st.button(t("category_mapping", lang), icon=":material/save:", key="save_mapping"):
    try:
        saved = admin.save_category_mapping(data.db_path(), edited)
    except NeedsmapError as exc:
        st.error(widgets.md_escape(exc))
    else:
        st.success(f"✓ {saved}")

upload.header_alias_editor(data.db_path(), lang)

# Facilities (supply): the same file rules as demand, through the facility importer.
st.subheader(t("facilities_upload", lang))
st.caption(t("facilities_upload_help", lang))
with st.form("upload_facilities", clear_on_submit=True):
    facility_file = widgets.file_uploader(t("upload_facility_list", lang), ["csv", "txt", "xlsx", "xls", "parquet", "geojson", "json"],
                                          lang, key="facility_file")
    facility_crs_col, facility_source_col = st.columns(2)
    facility_crs = facility_crs_col.selectbox(t("upload_crs", lang), tuple(CRS_LABELS), key="facility_crs",
                                              format_func=CRS_LABELS.__getitem__)
    facility_source = facility_source_col.text_input(t("upload_source", lang), max_chars=100, key="facility_source")
    facility_submitted = st.form_submit_button(t("facilities_import_button", lang))
if facility_submitted and facility_file is None:
    st.warning(t("upload_no_file", lang))
if facility_submitted and facility_file is not None:
    upload.import_facility_upload(data.db_path(), facility_file.name, bytes(facility_file.getbuffer()), facility_crs,
                                  facility_source or None, lang)
st.dataframe(widgets.with_headers(data.facility_rejects(), lang), hide_index=True, width="stretch", height=200)
st.caption(t("facility_type_mapping", lang) + " · data/facility_type_mapping.csv")
st.dataframe(labelled(data.facility_type_mapping(), lang, {"facility_type": "c_facility_type", "category": "c_category"},
                      {"category": "category"}), hide_index=True, width="stretch", height=200)

# Road network (supply): walking distances for the life circles.
st.subheader(t("network_upload", lang))
st.caption(t("network_upload_help", lang))
with st.form("upload_network", clear_on_submit=True):
    network_file = widgets.file_uploader(t("upload_network_file", lang), ["osm", "pbf", "xml", "bz2", "gz", "graphml"],
                                         lang, key="network_file")
    network_submitted = st.form_submit_button(t("network_import_button", lang))
if network_submitted and network_file is None:
    st.warning(t("upload_no_file", lang))
if network_submitted and network_file is not None:
    upload.import_network_upload(data.db_path(), network_file.name, bytes(network_file.getbuffer()), lang)
stored_network = data.road_network_info()  # after an import above: the network now in use
st.caption(t("network_stored", lang, name=stored_network["file_name"], nodes=stored_network["nodes"],
             km=stored_network["length_km"], at=f"{stored_network['imported_at']:%Y-%m-%d %H:%M}")
           if stored_network else t("network_none", lang))

# Boundary layers below the county (乡镇街道, communities, grids): the same rules as the CLI.
st.subheader(t("layers_upload", lang))
st.caption(t("layers_upload_help", lang))
upload.layer_upload_section(data.db_path(), lang)
upload.layers_table(data.boundary_layers(), lang)
