"""The Data page's import pieces: run an upload, say what the import did (columns, sheets,
unmapped values, warnings), let a person assign columns the importer could not find, map
unmapped category texts in one step, and edit the header aliases."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from needsmap import admin, layer_files, taxonomy
from needsmap.errors import NeedsmapError
from needsmap.i18n import t
from needsmap.ingest import columns as ingest_columns
from needsmap.ingest import values as ingest_values
from needsmap.ui import data, widgets

_LOCATION_FIELDS = ("district", "lon", "lat")


def run_import(state: MutableMapping, db: Path, lang: str) -> None:
    """Import ``state["pending_upload"]``; on missing columns, keep what the assignment form needs."""
    from needsmap.ingest import import_file
    from needsmap.ingest.importer import masked_preview

    pending = state["pending_upload"]
    progress = st.progress(0.0)
    with tempfile.TemporaryDirectory() as tmp:
        # Keep the user's file name (for the batch record) but never trust it as a path.
        path = Path(tmp) / Path(pending["name"]).name
        path.write_bytes(pending["content"])
        try:
            report = import_file(path, db, crs=pending["crs"], source=pending["source"], sheet=pending["sheet"],
                                 progress=lambda fraction, message: progress.progress(min(max(fraction, 0.0), 1.0),
                                                                                      text=message))
        except ingest_columns.MissingColumnsError as exc:
            progress.empty()
            st.error(t("import_failed", lang, error=widgets.md_escape(exc)))
            try:
                preview = masked_preview(path, db, sheet=pending["sheet"])
            except NeedsmapError:
                preview = pd.DataFrame(columns=list(exc.headers))
            state["needs_columns"] = {"headers": list(exc.headers), "missing": list(exc.missing), "preview": preview}
            return
        except NeedsmapError as exc:
            progress.empty()
            st.error(t("import_failed", lang, error=widgets.md_escape(exc)))  # may quote the file's text
            state.pop("pending_upload", None)
            return
    progress.progress(1.0)
    state.pop("pending_upload", None)
    state.pop("needs_columns", None)
    state["last_batch"] = report.batch_id
    st.success(t("import_done", lang, accepted=f"{report.accepted:,}", updated=f"{report.updated:,}",
                 rejected=f"{report.rejected:,}", skipped=f"{report.skipped_existing:,}", rows=f"{report.rows_read:,}"))
    if report.places_line():  # e.g. 定位方式 placed by: address=3, city=2
        st.text(report.places_line())
    for warning in report.warnings:
        st.warning(widgets.md_escape(warning))
    with st.expander(t("import_columns", lang)):
        st.dataframe(pd.DataFrame({"field": list(report.columns), "header": list(report.columns.values())})
                     .pipe(widgets.with_headers, lang), hide_index=True, width="stretch")
        if report.ignored_columns:
            st.text("未使用的列 columns ignored: " + ", ".join(report.ignored_columns))
        for sheet in report.sheets:
            st.text(sheet.line())
    for field, counts in report.unmapped_values.items():
        st.info(t("import_unmapped", lang, field=field, fallback=ingest_values.FALLBACKS[field]))
        st.dataframe(pd.DataFrame({"value": list(counts), "rows": list(counts.values())}).pipe(widgets.with_headers, lang),
                     hide_index=True, width="stretch")


def assign_columns_form(state: MutableMapping, db: Path, lang: str) -> None:
    """A preview of the file and one choice per missing field; saved as header aliases, then re-imported."""
    needs = state["needs_columns"]
    missing_fields = [label.split(" ")[-1] for label in needs["missing"]]
    fields = [f for f in ingest_columns.REQUIRED_FIELDS if f in missing_fields]
    if any("+" in f or f == "district" for f in missing_fields):
        fields += list(_LOCATION_FIELDS)
    none = t("assign_none", lang)
    section = st.empty()  # cleared once the file has imported
    with section.container():
        st.subheader(t("assign_title", lang))
        st.caption(t("assign_help", lang))
        st.dataframe(needs["preview"], hide_index=True, width="stretch")
        with st.form("assign_columns"):
            choices = {field: st.selectbox(ingest_columns.FIELD_LABELS.get(field, field), [none, *needs["headers"]],
                                           key=f"assign_{field}") for field in fields}
            confirmed = st.form_submit_button(t("assign_button", lang))
    if confirmed:
        chosen = {field: header for field, header in choices.items() if header != none}
        try:
            admin.assign_columns(db, chosen)
        except NeedsmapError as exc:
            st.error(widgets.md_escape(exc))
            return
        state.pop("needs_columns", None)
        run_import(state, db, lang)
        if "needs_columns" not in state:
            section.empty()


def _category_choices(lang: str) -> list[str]:
    return [f"{term.label(lang)} ({term.code})" for term in taxonomy.CATEGORIES]


def findings_sections(db: Path, lang: str) -> None:
    """Warnings of recent imports, unmapped category texts to map in one step, other unmapped values."""
    warnings = data.import_findings("warning")
    if not warnings.empty:
        st.subheader(t("warnings_title", lang))
        for row in warnings.head(10).itertuples(index=False):
            st.warning(f"批次 batch {row.batch_id}: {widgets.md_escape(row.value)}")

    unmapped = data.unmapped_categories()
    if not unmapped.empty:
        st.subheader(t("unmapped_categories", lang))
        choices = _category_choices(lang)
        table = unmapped.assign(map_to=None)
        edited = st.data_editor(
            table, hide_index=True, width="stretch", key="unmapped_editor", disabled=["source_category", "records"],
            column_config={"source_category": st.column_config.TextColumn(t("c_source_category", lang)),
                           "records": st.column_config.NumberColumn(t("c_records", lang)),
                           "map_to": st.column_config.SelectboxColumn(t("map_to", lang), options=choices)})
        if st.button(t("map_button", lang), icon=":material/save:", key="save_unmapped"):
            code_of = dict(zip(choices, (term.code for term in taxonomy.CATEGORIES), strict=True))
            mapping = {str(text): code_of[choice] for text, choice in zip(edited["source_category"], edited["map_to"],
                                                                         strict=True) if choice in code_of}
            try:
                changed = admin.map_categories(db, mapping)
            except NeedsmapError as exc:
                st.error(widgets.md_escape(exc))
            else:
                st.success(t("mapped_done", lang, records=f"{changed:,}"))

    others = data.import_findings("unmapped")
    others = others[others["field"] != "category"]
    if not others.empty:
        st.subheader(t("unmapped_other_values", lang))
        st.dataframe(widgets.with_headers(others, lang), hide_index=True, width="stretch")


def header_alias_editor(db: Path, lang: str) -> None:
    st.subheader(t("header_aliases", lang))
    edited = st.data_editor(
        data.header_aliases(), num_rows="dynamic", hide_index=True, width="stretch", key="alias_editor",
        column_config={"header": st.column_config.TextColumn(t("c_header", lang)),
                       "field": st.column_config.SelectboxColumn(t("c_field", lang), options=list(ingest_columns.FIELDS))})
    if st.button(t("save", lang), icon=":material/save:", key="save_aliases"):
        try:
            saved = admin.save_header_aliases(db, edited)
        except NeedsmapError as exc:
            st.error(widgets.md_escape(exc))
        else:
            st.success(f"✓ {saved}")


def import_facility_upload(db: Path, name: str, content: bytes, crs: str, source: str | None, lang: str) -> None:
    """Import an uploaded facility list (``ingest.facilities.import_facilities``) and say what happened."""
    from needsmap.ingest.facilities import import_facilities

    _import_saved_upload(name, content, lambda path: import_facilities(path, db, crs=crs, source=source), lang)


def import_network_upload(db: Path, name: str, content: bytes, lang: str) -> None:
    """Import an uploaded road network (``ingest.roads.import_network``) and say what happened."""
    from needsmap.ingest.roads import import_network

    _import_saved_upload(name, content, lambda path: import_network(path, db), lang)


def _import_saved_upload(name: str, content: bytes, run: Callable[[Path], Any], lang: str) -> None:
    """Write an upload under its own name in a private folder, ``run`` an importer on it, and show
    its summary line or its error (never a traceback)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(name).name  # the user's file name, never trusted as a path
        path.write_bytes(content)
        try:
            report = run(path)
        except NeedsmapError as exc:
            st.error(t("import_failed", lang, error=widgets.md_escape(exc)))  # may quote the file's text
            return
    st.success(widgets.md_escape(report.summary_line()))


LAYER_FILE_TYPES = ["geojson", "json", "zip", "gpkg"]
POPULATION_TABLE_TYPES = ["csv", "txt", "xlsx", "xls"]


def layer_upload_section(db: Path, lang: str) -> None:
    """The boundary-layer upload: a file, then (once its fields are read) its level, coordinate
    system, layer id, the fields holding the units' names, codes and population — preselected as
    the importer would find them — and an optional population table; imported on submit."""
    from needsmap import layers

    layer_file = widgets.file_uploader(t("upload_layer_file", lang), LAYER_FILE_TYPES, lang, key="layer_file")
    if layer_file is None:
        return
    found = _layer_fields(st.session_state, layer_file.file_id, layer_file.name, bytes(layer_file.getbuffer()))
    if isinstance(found, str):
        st.error(t("import_failed", lang, error=widgets.md_escape(found)))  # may quote the file's name
        return
    if st.session_state.get("layer_fields_of") != layer_file.file_id:
        # A new file: the choices start where the importer's own detection would land.
        st.session_state["layer_fields_of"] = layer_file.file_id
        st.session_state["layer_name_field"] = found.name_field or (found.fields[0] if found.fields else None)
        st.session_state["layer_code_field"] = found.code_field or layer_files.NO_FIELD
        st.session_state["layer_population_field"] = found.population_field or layer_files.NO_FIELD
    optional = [layer_files.NO_FIELD, *found.fields]

    def field_label(field: str) -> str:
        return t("assign_none", lang) if field == layer_files.NO_FIELD else field

    with st.form("upload_layer"):
        level_col, crs_col, id_col = st.columns(3)
        level = level_col.selectbox(t("layer_level", lang), layers.LEVELS, key="layer_level",
                                    format_func=lambda level: t(f"layer_level_{level}", lang))
        crs = crs_col.text_input(t("layer_crs", lang), max_chars=40, key="layer_crs",
                                 placeholder="EPSG:4549 · cgcs2000 · gcj02 · bd09")
        layer_id = id_col.text_input(t("layer_id", lang), max_chars=40, key="layer_id")
        name_col, code_col, population_col = st.columns(3)
        name_field = name_col.selectbox(t("layer_name_field", lang), list(found.fields), key="layer_name_field")
        code_field = code_col.selectbox(t("layer_code_field", lang), optional, key="layer_code_field",
                                        format_func=field_label)
        population_field = population_col.selectbox(t("layer_population_field", lang), optional,
                                                    key="layer_population_field", format_func=field_label)
        population_table = widgets.file_uploader(t("layer_population_table", lang), POPULATION_TABLE_TYPES, lang,
                                                 key="layer_population_table")
        replace = st.checkbox(t("layer_replace", lang), key="layer_replace")
        submitted = st.form_submit_button(t("layer_import_button", lang))
    if submitted:
        import_layer_upload(db, layer_file.name, bytes(layer_file.getbuffer()), level, crs.strip() or None,
                            layer_id.strip() or None, replace, lang, name_field=name_field, code_field=code_field,
                            population_field=population_field,
                            population_table=None if population_table is None
                            else (population_table.name, bytes(population_table.getbuffer())))


def _layer_fields(state: MutableMapping, file_id: str, name: str, content: bytes) -> layer_files.LayerFields | str:
    """``layer_files.layer_fields`` of an uploaded file, or the sentence saying why it cannot be
    used; read once per upload (kept in ``state`` under the upload's id)."""
    kept = state.get("layer_fields")
    if kept is None or kept[0] != file_id:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / Path(name).name  # the user's file name, never trusted as a path
            path.write_bytes(content)
            try:
                kept = (file_id, layer_files.layer_fields(path))
            except NeedsmapError as exc:
                kept = (file_id, str(exc))
        state["layer_fields"] = kept
    return kept[1]


def import_layer_upload(db: Path, name: str, content: bytes, level: str, crs: str | None, layer_id: str | None,
                        replace: bool, lang: str, *, name_field: str | None = None, code_field: str | None = None,
                        population_field: str | None = None,
                        population_table: tuple[str, bytes] | None = None) -> None:
    """Import an uploaded boundary layer (``layers.import_layer``, with the fields chosen and an
    uploaded population table as (file name, bytes)) and say what it did and found."""
    from needsmap import layers

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(name).name  # the user's file name, never trusted as a path
        path.write_bytes(content)
        table_path = None
        if population_table is not None:
            table_path = Path(tmp) / "population" / Path(population_table[0]).name
            table_path.parent.mkdir()
            table_path.write_bytes(population_table[1])
        try:
            report = layers.import_layer(db, path, level, crs=crs, layer_id=layer_id, replace=replace,
                                         name_field=name_field, code_field=code_field,
                                         population_field=population_field, population_table=table_path)
        except NeedsmapError as exc:
            st.error(t("import_failed", lang, error=widgets.md_escape(exc)))  # may quote the file's text
            return
    st.success(widgets.md_escape(report.summary_line()))
    if report.removed_line():
        st.warning(widgets.md_escape(report.removed_line()))
    st.text(" · ".join(f"{t(f'layer_check_{check}', lang)} {count}" for check, count in report.checks.items()))
    if report.problems:
        st.caption(t("layer_problems", lang))
        problems = pd.DataFrame([{"check": t(f"layer_check_{p.check}", lang), "unit_code": p.unit_code,
                                  "unit_name": p.name, "detail": p.detail} for p in report.problems])
        st.dataframe(widgets.with_headers(problems, lang), hide_index=True, width="stretch", height=240)


def layers_table(layers_frame: pd.DataFrame, lang: str) -> None:
    """The database's boundary layers, one row each (or a line saying there are none)."""
    if layers_frame.empty:
        st.caption(t("layers_none", lang))
        return
    shown = layers_frame.rename(columns={"name": "layer_name", "population": "layer_population"}).assign(
        level=layers_frame["level"].map(lambda level: t(f"layer_level_{level}", lang)))
    columns = ["layer_id", "layer_name", "level", "units", "assigned_records", "layer_population", "file_name",
               "source_crs", "synthetic", "imported_at"]
    shown = shown.rename(columns={"source_file": "file_name"})[columns]
    st.dataframe(widgets.with_headers(shown, lang), hide_index=True, width="stretch")
