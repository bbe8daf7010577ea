"""District (or city) briefings for council meetings: PDF, PPTX, the map as PNG, or one HTML file.

``build`` gathers what a briefing says from the database — the map, key figures against the
province, the top five priorities with their score components, the urban/rural comparison,
the period and the data source — into a ``Briefing``; ``render`` turns it into bytes (the map
comes from ``exports.place_map``, figures are written by ``formatting``). A
briefing is a public document: needs and groups with fewer than ``NEEDSMAP_K_ANONYMITY``
records are left out, as in presentation mode. Nothing here needs a network.

    python -m needsmap brief --district 330127 --from 2025-07-01 --to 2025-09-30 --out brief.pdf
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from needsmap import (alerts, exports, formatting, hotspots, layer_queries, needs, presentation, queries, settings, store,
                      supply, supply_queries)
from needsmap.errors import NeedsmapError
from needsmap.filters import Filter
from needsmap.formatting import fmt_int, fmt_num, fmt_pct
from needsmap.formatting import supply_distance_note as fmt_supply_distance_note
from needsmap.i18n import error, t, term

FORMATS = ("pdf", "pptx", "png", "html")
# PowerPoint names fonts instead of embedding them: YaHei is on the Windows PCs that run the
# projector; elsewhere the viewer substitutes its own CJK font.
_PPTX_FONT = "Microsoft YaHei"


class BriefError(NeedsmapError):
    """The briefing cannot be made as asked (unknown place, bad dates, unknown format)."""


DEMO_COLOUR = (192, 86, 15)  # the orange of the pages' 演示数据 badge


@dataclass(frozen=True)
class Briefing:
    """What a briefing shows, already worded in ``lang`` (numbers formatted as printed)."""

    lang: str
    adcode: str
    place: str
    level: str  # "district" | "city"
    title: str
    description: str  # the filters in words (Filter.describe)
    period: str
    as_of: str
    generated: str
    kpi_header: tuple[str, str, str]
    kpi_rows: tuple[tuple[str, str, str], ...]
    kpis: dict
    province_kpis: dict
    priority_header: tuple[str, ...]
    priority_rows: tuple[tuple[str, ...], ...]
    gap_title: str
    gap_header: tuple[str, str, str, str]
    gap_rows: tuple[tuple[str, str, str, str], ...]
    gap_note: str
    notes: tuple[str, ...]  # score, suppression, map, data source, population, boundaries
    map_png: bytes
    hot_spot_lines: tuple[str, ...] = ()  # the top three significant hot spots, with their trend labels
    hot_spot_note: str = ""  # how they were found (95 %, multiple testing controlled) or that none passed
    surge_lines: tuple[str, ...] = ()  # this week's surges (the period's last week)
    surge_note: str = ""
    supply_lines: tuple[str, ...] = ()  # per category: coverage vs province, capacity; most crowded; best new site
    supply_note: str = ""  # distances used; demo facilities labelled
    demo: str = ""  # "演示数据（合成记录，非真实诉求）" when the demo generator made records, else ""


# --------------------------------------------------------------------------------------------
# Gathering
# --------------------------------------------------------------------------------------------


def parse_day(text: str | None, what: str) -> date | None:
    if text in (None, ""):
        return None
    try:
        return date.fromisoformat(str(text))
    except ValueError:
        raise BriefError(error("brief_bad_date", what=what, text=text)) from None


def place_filter(con: queries.Connection, adcode: str, date_from: date | None = None, date_to: date | None = None) -> Filter:
    """The Filter of a district or city adcode (and period); unknown codes raise ``BriefError``."""
    districts = queries.districts(con)
    code = str(adcode).strip()
    if date_from and date_to and date_from > date_to:
        raise BriefError(error("brief_dates_reversed", date_from=date_from, date_to=date_to))
    if code in set(districts["adcode"]):
        return Filter(date_from=date_from, date_to=date_to, city_adcode=code[:4] + "00", district_adcode=code)
    if code in set(districts["city_adcode"]):
        return Filter(date_from=date_from, date_to=date_to, city_adcode=code)
    raise BriefError(error("brief_unknown_place", code=code))


def build(con: queries.Connection, f: Filter, *, lang: str = "zh") -> Briefing:
    """Everything a briefing of ``f``'s district or city (with ``f``'s other filters) shows."""
    place_code = f.district_adcode or f.city_adcode
    if not place_code:
        raise BriefError(error("brief_no_place"))
    districts = queries.districts(con)
    names = formatting.place_names(districts)
    if place_code not in names:
        raise BriefError(error("brief_unknown_place", code=place_code))
    level = "district" if f.district_adcode else "city"
    place = names[place_code]
    if f.unit_key:  # a unit (乡镇街道 …): named after its district; figures, needs and map are the unit's
        names |= layer_queries.unit_names(con)
        if f.unit_key not in names:
            raise BriefError(error("brief_unknown_unit", code=f.unit_code, layer=f.layer_id))
        place = f"{place} · {names[f.unit_key]}"
    city_code = (f.district_adcode or f.city_adcode)[:4] + "00"
    k = settings.get("k_anonymity")
    overdue_days = settings.get("resolve_days_target")
    response_hours = settings.get("response_hours_target")
    min_records = settings.get("min_records_to_rank")
    as_of = queries.as_of(con)
    province_filter = f.without_place()

    kpis = queries.kpis(con, f, as_of, overdue_days)
    province = queries.kpis(con, province_filter, as_of, overdue_days)
    count = partial(formatting.small_count, k=k)

    def shown(figures: dict, key: str, show) -> str:
        # Nothing of a selection too small to publish (k records and k distinct requesters) is
        # given, beyond that its counts are under k.
        if not presentation.enough_in(figures, k):
            return formatting.small_count(figures[key], k, group_too_small=True) if show is count else formatting.MISSING
        return show(figures[key])

    kpi_rows = tuple(
        (t(label, lang), shown(kpis, key, show), shown(province, key, show))
        for label, key, show in (
            ("k_records", "records", count),
            ("m_per_10k", "per_10k", lambda v: fmt_num(v, 2)),
            ("k_requesters", "distinct_requesters", count),
            ("m_requesters_per_10k", "requesters_per_10k", lambda v: fmt_num(v, 2)),
            ("k_urgent_share", "urgent_share", fmt_pct),
            ("k_unresolved", "unresolved", count),
            ("k_overdue", "overdue", count),
            ("k_resolution_rate", "resolution_rate", fmt_pct),
            ("g_median_hours_to_response", "median_hours_to_response", fmt_num),
            ("g_mean_satisfaction", "mean_satisfaction", lambda v: fmt_num(v, 2)),
        )
    )

    # The structural ranking (planning), as the priorities page and `needsmap needs` give it;
    # a need too small to publish (fewer than k records or k distinct requesters) is left out.
    pool = needs.build(con, f, as_of, overdue_days)
    pool = presentation.suppress_small_groups(pool, k, ("records", "distinct_requesters"))
    top = needs.rank(pool, "structural", top=5)
    priority_header = tuple(t(key, lang) for key in (
        "c_rank", "c_district", "c_category", "c_subcategory", "c_records", "c_distinct_requesters", "c_people_used",
        "c_reach_factor", "c_people_component", "c_recurrence_factor", "c_score"))
    priority_rows = tuple(
        (str(row.rank), names.get(row.district_adcode, str(row.district_adcode or "")), term("category", row.category, lang),
         " · ".join(part for part in (row.subcategory if isinstance(row.subcategory, str) else "",
                                      needs.period(row.first_at, row.last_at, lang)) if part),
         fmt_int(row.records), fmt_int(row.distinct_requesters), fmt_int(row.people_used), fmt_num(row.reach_factor, 2),
         fmt_num(row.people_factor, 2), fmt_num(row.recurrence_factor, 2), fmt_num(row.score, 2))
        for row in top.itertuples(index=False)
    )

    gap_title, gap_rows, gap_note = _gap(con, f, level, place, districts, city_code, names, k, response_hours, lang)

    first, last = queries.date_range(con)
    start = f.date_from or (first.date() if first else None)
    end = f.date_to or (last.date() if last else None)
    period = t("b_period", lang, start=start.isoformat() if start else "…", end=end.isoformat() if end else "…")
    as_of_text = as_of.strftime("%Y-%m-%d") if as_of else "–"
    snapshot = store.snapshot_of(con) if isinstance(con, duckdb.DuckDBPyConnection) else None
    imports = queries.imports(con)
    sources = [str(s) for s in imports["source"].fillna(imports["file_name"]).dropna().unique()] if len(imports) else []
    notes = (
        t("b_score_note", lang),
        t("b_suppressed", lang, k=k),
        t("b_map_note", lang, n=min_records),
        t("b_sources", lang, sources=("、" if lang == "zh" else ", ").join(sources) or "–", batches=len(imports),
          records=fmt_int(imports["accepted"].sum() if len(imports) else 0)),
        t("b_population", lang),
        t("b_boundaries", lang),
    )
    description = f.describe(lang, names)
    hot_spot_lines, hot_spot_note, surge_lines, surge_note = _hot_spots_and_surges(con, f, names, k, lang)
    supply_lines, supply_note = _supply(con, f, names, k, lang)
    return Briefing(
        demo=t("demo_badge", lang) if queries.demo_records(con) else "",
        supply_lines=supply_lines, supply_note=supply_note,
        hot_spot_lines=hot_spot_lines, hot_spot_note=hot_spot_note, surge_lines=surge_lines, surge_note=surge_note,
        lang=lang, adcode=place_code, place=place, level=level, title=t("b_title", lang, place=place),
        description=description, period=period,
        as_of=t("b_as_of", lang, as_of=as_of_text) if snapshot is None else t("b_as_of_snapshot", lang, as_of=as_of_text,
                                                                             snapshot=snapshot),
        generated=t("b_generated", lang, when=datetime.now().strftime("%Y-%m-%d %H:%M")),
        kpi_header=(t("b_indicator", lang), place, t("b_province", lang)), kpi_rows=kpi_rows, kpis=kpis,
        province_kpis=province, priority_header=priority_header, priority_rows=priority_rows,
        gap_title=gap_title, gap_header=(t("indicator", lang), t("urban", lang), t("rural", lang),
                                         f"{t('gap', lang)} ({t('ci', lang)})"),
        gap_rows=gap_rows, gap_note=gap_note, notes=notes,
        map_png=exports.place_map(con, f, province_filter, as_of, overdue_days, min_records, city_code, place,
                                  description, lang),
    )


def _hot_spots_and_surges(con: queries.Connection, f: Filter, names: dict[str, str], k: int,
                          lang: str) -> tuple[tuple[str, ...], str, tuple[str, ...], str]:
    """The top three hot spots (each counting k or more) and the period's last week's surges (k or
    more requesters), worded, with a note each (as the pages explain them)."""
    layer = hotspots.hot_spot_layer(con, f)
    hot_lines = tuple(hotspots.top_words(layer, names, lang, k=k))
    hot_note = t("hs_note", lang) if hot_lines else t("hs_none", lang)
    result = alerts.surges(con, f)
    rows = result.surges()
    rows = rows[presentation.enough_to_show(rows, k, ("requesters",))].head(5)
    surge_lines = tuple(" — ".join(alerts.surge_words(row, names, lang)) for row in rows.itertuples())
    if result.end_day is None or result.baseline.kind == "none":
        surge_note = t("surges_no_baseline", lang)
    else:
        surge_note = t("surges_explain", lang, start=result.start_day.isoformat(), end=result.end_day.isoformat(),
                       baseline=t(f"surges_baseline_{result.baseline.kind}", lang), n=max(k, alerts.MIN_REQUESTERS))
        if not surge_lines:
            surge_note += " " + t("surges_none", lang)
    return hot_lines, hot_note, surge_lines, surge_note


def _supply(con: queries.Connection, f: Filter, names: dict[str, str], k: int, lang: str) -> tuple[tuple[str, ...], str]:
    """Demand against supply in the place (15-minute life circles): per category with facilities,
    the share of its records covered against the province's and capacity per 10,000 residents;
    the most crowded facility; the best new site for the category leaving most requesters
    uncovered. Figures over fewer than k records (or requesters) are left out."""
    summary = supply_queries.facility_summary(con)
    if summary.empty:
        return (), t("supply_no_facilities", lang)
    province_filter = f.without_place()
    population = supply_queries.district_population(con)
    road = supply.load_network(con)
    distances: dict[str, object] = {"kind": "network" if road is not None else "straight",
                                    "network": road.name if road else "", "records_off_network": 0,
                                    "facilities_off_network": 0}
    unit_shape = layer_queries.unit_shape(con, f.layer_id, f.unit_code) if f.unit_key else None
    unit_found = layer_queries.unit(con, f.layer_id, f.unit_code) if f.unit_key else None
    unit_residents = float(unit_found["population"]) if unit_found and unit_found["population"] is not None else np.nan
    lines: list[str] = []
    crowded: list[tuple[float, str]] = []
    uncovered_by_category: dict[str, tuple[int, supply.CategorySupply, np.ndarray]] = {}
    for category in summary["category"]:
        if category == "other":
            continue
        state = supply.build(con, province_filter, category, network=road)
        in_place = state.in_place(f.district_adcode, f.city_adcode)
        # Off the network: the place's records, and the facilities serving it (all of the category's).
        distances["records_off_network"] = int(distances["records_off_network"]) + int((state.demand_node[in_place] < 0).sum())
        distances["facilities_off_network"] = (int(distances["facilities_off_network"])
                                               + int(state.distances()["facilities_off_network"]))
        place_code = f.district_adcode or f.city_adcode
        residents = float(population[population.index.str.startswith(place_code[:4])].sum()) if not f.district_adcode \
            else float(population.get(place_code, np.nan))
        if f.unit_key:  # a unit: its records and facilities by its shape, its own residents
            in_place = in_place & supply.in_shape(unit_shape, state.demand)
            here = supply.shape_measures(state, in_place, f.unit_code, unit_shape, unit_residents)
        else:
            here = supply.place_measures(state, in_place, place_code, residents)
        province_share = float(state.covered.mean()) if len(state.demand) else float("nan")
        if not presentation.enough_in(here, k):
            continue
        lines.append(t("b_supply_line", lang, category=term("category", category, lang), share=fmt_pct(here["coverage_share"]),
                       province=fmt_pct(province_share), capacity=fmt_num(here["capacity_per_10k"], 1)))
        facilities = state.facilities.assign(records=state.facilities["demand_in_catchment"],
                                             distinct_requesters=state.facilities["requesters_in_catchment"])
        facilities = facilities[facilities["district_adcode"].astype(str).str.startswith(place_code if f.district_adcode
                                                                                      else place_code[:4])]
        if f.unit_key:
            facilities = facilities[supply.in_shape(unit_shape, facilities)]
        facilities = presentation.suppress_small_groups(facilities, k)
        if len(facilities):
            top = facilities.sort_values("demand_per_capacity", ascending=False, kind="stable").iloc[0]
            crowded.append((float(top["demand_per_capacity"]), t("b_supply_crowded", lang, name=str(top["name"]),
                                                                  crowding=fmt_num(top["demand_per_capacity"], 2))))
        uncovered_by_category[category] = (int(here["distinct_requesters"] - here["requesters_covered"]), state, in_place)
    if crowded:
        lines.append(max(crowded)[1])
    if uncovered_by_category:
        category, (_, state, in_place) = max(uncovered_by_category.items(), key=lambda item: item[1][0])
        sites = supply.best_sites(state.uncovered(in_place), 1, state.radius_m, method="greedy",
                                  network=state.network, walk_m=state.walk_m)
        if len(sites) and sites["newly_covered"].iloc[0] >= k:
            lines.append(term("category", category, lang) + " · " + t("b_supply_site", lang, lon=sites["lon"].iloc[0],
                                                                     lat=sites["lat"].iloc[0], n=int(sites["newly_covered"].iloc[0])))
    note = fmt_supply_distance_note(distances, 15, lang)
    if int(summary["demo"].sum()):
        note += " " + t("b_supply_demo", lang)
    return tuple(lines), note


def _gap(con: queries.Connection, f: Filter, level: str, place: str, districts: pd.DataFrame, city_code: str,
         names: dict[str, str], k: int, response_hours: int, lang: str) -> tuple[str, tuple, str]:
    """The urban/rural comparison of the place's city (a district is one or the other), else the province."""

    def both_sides_shown(scope_filter: Filter) -> bool:
        return presentation.both_sides_shown(queries.urban_rural_gap(con, scope_filter, response_hours), k)

    scope_filter = f.with_changes(city_adcode=city_code, district_adcode=None, unit_code=None)
    scope = names[city_code]
    if not both_sides_shown(scope_filter):
        scope_filter = f.without_place()
        scope = t("province", lang)
    title = t("b_gap", lang, scope=scope)
    if not both_sides_shown(scope_filter):
        return title, (), t("b_gap_none", lang, scope=scope, k=k)
    summary = queries.gap_summary(con, scope_filter, response_hours)
    rows = []
    for row in summary.itertuples(index=False):
        rows.append((t(f"g_{row.measure}", lang), formatting.measure_value(row.measure, row.urban),
                     formatting.measure_value(row.measure, row.rural), formatting.gap_cell(row, lang)))
    note = ""
    if level == "district":
        side = districts.set_index("adcode").loc[f.district_adcode, "urban_rural"]
        note = t("b_gap_side", lang, place=place, side=t(side, lang))
    return title, tuple(rows), note


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


def render(briefing: Briefing, fmt: str) -> bytes:
    """The briefing as ``fmt`` (pdf | pptx | png | html) bytes."""
    if fmt not in FORMATS:
        raise BriefError(f"`format` was {fmt!r} but is expected to be in {list(FORMATS)}")
    return {"pdf": to_pdf, "pptx": to_pptx, "png": lambda b: b.map_png, "html": lambda b: to_html(b).encode("utf-8")}[fmt](briefing)


def to_pdf(b: Briefing) -> bytes:
    """A4 portrait, one or two pages, Chinese set in the CJK font (embedded, subset)."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    (regular, regular_face), (bold, bold_face) = exports.cjk_font()
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_margins(14, 14, 14)
    pdf.set_auto_page_break(True, margin=14)
    pdf.add_font("cjk", "", str(regular), collection_font_number=regular_face)
    pdf.add_font("cjk", "B", str(bold), collection_font_number=bold_face)
    pdf.set_title(b.title)
    pdf.set_creator("needsmap")
    pdf.set_lang("zh-CN" if b.lang == "zh" else "en")
    pdf.add_page()
    width = pdf.epw

    pdf.set_font("cjk", "B", 19)
    pdf.multi_cell(width, 9, b.title, new_x="LMARGIN", new_y="NEXT")
    if b.demo:  # as the pages' orange badge: synthetic records must not pass for real ones
        pdf.set_font("cjk", "B", 10.5)
        pdf.set_text_color(*DEMO_COLOUR)
        pdf.multi_cell(width, 6, b.demo, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", "", 10.5)
    pdf.set_text_color(70, 70, 70)
    pdf.multi_cell(width, 5.5, f"{b.description}\n{b.period} · {b.as_of} · {b.generated}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.ln(2)

    top = pdf.get_y()
    map_width = 100
    pdf.image(io.BytesIO(b.map_png), x=pdf.l_margin, y=top, w=map_width)
    map_bottom = top + map_width * 0.75
    heading = FontFace(emphasis="BOLD", fill_color=(235, 235, 235))
    pdf.set_xy(pdf.l_margin + map_width + 4, top)
    pdf.set_font("cjk", "B", 11.5)
    pdf.cell(width - map_width - 4, 7, t("b_kpis", b.lang), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", "", 9.5)
    pdf.set_x(pdf.l_margin + map_width + 4)
    with pdf.table(width=width - map_width - 4, col_widths=(48, 15, 15), align="RIGHT", line_height=6.6,
                   text_align=("LEFT", "RIGHT", "RIGHT"), headings_style=heading, borders_layout="HORIZONTAL_LINES") as table:
        for cells in (b.kpi_header, *b.kpi_rows):
            row = table.row()
            for cell in cells:
                row.cell(cell)
    pdf.set_y(max(pdf.get_y(), map_bottom) + 4)

    pdf.set_font("cjk", "B", 11.5)
    pdf.cell(width, 7, t("b_priorities", b.lang), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", "", 8.5)
    if b.priority_rows:
        with pdf.table(width=width, col_widths=(8, 16, 19, 20, 12, 14, 13, 13, 13, 13, 13), line_height=5.2,
                       text_align=("CENTER", "LEFT", "LEFT", "LEFT", *("RIGHT",) * 7), headings_style=heading,
                       borders_layout="HORIZONTAL_LINES") as table:
            for cells in (b.priority_header, *b.priority_rows):
                row = table.row()
                for cell in cells:
                    row.cell(cell)
    else:
        pdf.multi_cell(width, 5.5, t("b_no_priorities", b.lang, k=settings.get("k_anonymity")),
                       new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)

    for heading_key, lines, note in (("b_hot_spots", b.hot_spot_lines, b.hot_spot_note), ("b_surges", b.surge_lines, b.surge_note),
                                     ("b_supply", b.supply_lines, b.supply_note)):
        pdf.set_font("cjk", "B", 11.5)
        pdf.cell(width, 7, t(heading_key, b.lang), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("cjk", "", 9)
        text = "\n".join(f"{i}. {line}" for i, line in enumerate(lines, start=1))
        pdf.multi_cell(width, 5.2, "\n".join(part for part in (text, note) if part), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)

    pdf.set_font("cjk", "B", 11.5)
    pdf.cell(width, 7, b.gap_title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", "", 9)
    if b.gap_rows:
        with pdf.table(width=width, col_widths=(52, 26, 26, 78), line_height=5.6, text_align=("LEFT", "RIGHT", "RIGHT", "LEFT"),
                       headings_style=heading, borders_layout="HORIZONTAL_LINES") as table:
            for cells in (b.gap_header, *b.gap_rows):
                row = table.row()
                for cell in cells:
                    row.cell(cell)
    if b.gap_note:
        pdf.multi_cell(width, 5.5, b.gap_note, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)

    pdf.set_font("cjk", "", 8)
    pdf.set_text_color(90, 90, 90)
    pdf.multi_cell(width, 4.4, "\n".join(b.notes), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _pptx_text(frame, text: str, size: float, *, bold: bool = False, colour: tuple[int, int, int] | None = None) -> None:
    """Replace a text frame's text with one run in the CJK font (Latin and East Asian typefaces)."""
    from pptx.dml.color import RGBColor
    from pptx.oxml.ns import qn
    from pptx.util import Pt

    frame.clear()
    for number, line in enumerate(text.split("\n")):
        paragraph = frame.paragraphs[0] if number == 0 else frame.add_paragraph()
        run = paragraph.add_run()
        run.text = line
        run.font.size = Pt(size)
        run.font.bold = bold
        run.font.name = _PPTX_FONT
        r_pr = run._r.get_or_add_rPr()
        for tag in ("a:ea", "a:cs"):
            element = r_pr.find(qn(tag))
            if element is None:
                element = r_pr.makeelement(qn(tag), {})
                r_pr.append(element)
            element.set("typeface", _PPTX_FONT)
        if colour:
            run.font.color.rgb = RGBColor(*colour)


def _pptx_table(slide, rows: tuple[tuple[str, ...], ...], left, top, width, column_inches: tuple[float, ...], size: float) -> None:
    from pptx.util import Inches

    shape = slide.shapes.add_table(len(rows), len(rows[0]), left, top, width, Inches(0.3 * len(rows)))
    table = shape.table
    for column, inches in enumerate(column_inches):
        table.columns[column].width = Inches(inches)
    for r, cells in enumerate(rows):
        for c, text in enumerate(cells):
            _pptx_text(table.cell(r, c).text_frame, text, size, bold=r == 0)


def to_pptx(b: Briefing) -> bytes:
    """Three 16:9 slides: map and key figures; priorities, urban/rural comparison and sources; hot spots and surges."""
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    deck.slide_width, deck.slide_height = Inches(13.333), Inches(7.5)
    blank = deck.slide_layouts[6]

    slide = deck.slides.add_slide(blank)
    _pptx_text(slide.shapes.add_textbox(Inches(0.4), Inches(0.25), Inches(12.5), Inches(0.7)).text_frame, b.title, 30, bold=True)
    _pptx_text(slide.shapes.add_textbox(Inches(0.4), Inches(0.95), Inches(12.5), Inches(0.5)).text_frame,
               f"{b.description} · {b.period} · {b.as_of}", 15, colour=(80, 80, 80))
    if b.demo:
        _pptx_text(slide.shapes.add_textbox(Inches(8.9), Inches(0.3), Inches(4.1), Inches(0.5)).text_frame, b.demo, 14,
                   bold=True, colour=DEMO_COLOUR)
    slide.shapes.add_picture(io.BytesIO(b.map_png), Inches(0.3), Inches(1.55), width=Inches(7.4))
    _pptx_text(slide.shapes.add_textbox(Inches(7.95), Inches(1.55), Inches(5), Inches(0.45)).text_frame,
               t("b_kpis", b.lang), 18, bold=True)
    _pptx_table(slide, (b.kpi_header, *b.kpi_rows), Inches(7.95), Inches(2.05), Inches(5.1), (2.5, 1.3, 1.3), 14)
    slide.notes_slide.notes_text_frame.text = "\n".join(b.notes)

    slide = deck.slides.add_slide(blank)
    _pptx_text(slide.shapes.add_textbox(Inches(0.4), Inches(0.25), Inches(12.5), Inches(0.6)).text_frame,
               f"{b.place} · {t('b_priorities', b.lang)}", 24, bold=True)
    top = Inches(0.95)
    if b.priority_rows:
        _pptx_table(slide, (b.priority_header, *b.priority_rows), Inches(0.4), top, Inches(12.5),
                    (0.6, 1.2, 1.4, 1.5, 0.9, 1.2, 1.1, 1.1, 1.1, 1.1, 1.2), 12)
    else:
        _pptx_text(slide.shapes.add_textbox(Inches(0.4), top, Inches(12.5), Inches(0.5)).text_frame,
                   t("b_no_priorities", b.lang, k=settings.get("k_anonymity")), 14)
    _pptx_text(slide.shapes.add_textbox(Inches(0.4), Inches(3.45), Inches(12.5), Inches(0.5)).text_frame, b.gap_title, 20, bold=True)
    if b.gap_rows:
        _pptx_table(slide, (b.gap_header, *b.gap_rows), Inches(0.4), Inches(3.95), Inches(12.5), (3.6, 1.8, 1.8, 5.3), 12)
    _pptx_text(slide.shapes.add_textbox(Inches(0.4), Inches(6.45), Inches(12.5), Inches(0.9)).text_frame,
               "\n".join(n for n in (b.gap_note, *b.notes[3:]) if n), 10, colour=(90, 90, 90))
    slide = deck.slides.add_slide(blank)
    _pptx_text(slide.shapes.add_textbox(Inches(0.4), Inches(0.25), Inches(12.5), Inches(0.6)).text_frame,
               f"{b.place} · {t('b_hot_spots', b.lang)}", 24, bold=True)
    _pptx_text(slide.shapes.add_textbox(Inches(0.4), Inches(0.95), Inches(12.5), Inches(2.4)).text_frame,
               "\n".join([*(f"{i}. {line}" for i, line in enumerate(b.hot_spot_lines, start=1)), b.hot_spot_note]), 16)
    _pptx_text(slide.shapes.add_textbox(Inches(0.4), Inches(3.55), Inches(12.5), Inches(0.6)).text_frame,
               t("b_surges", b.lang), 24, bold=True)
    _pptx_text(slide.shapes.add_textbox(Inches(0.4), Inches(4.2), Inches(12.5), Inches(2.8)).text_frame,
               "\n".join([*(f"{i}. {line}" for i, line in enumerate(b.surge_lines, start=1)), b.surge_note]), 16)
    slide = deck.slides.add_slide(blank)
    _pptx_text(slide.shapes.add_textbox(Inches(0.4), Inches(0.25), Inches(12.5), Inches(0.6)).text_frame,
               f"{b.place} · {t('b_supply', b.lang)}", 24, bold=True)
    _pptx_text(slide.shapes.add_textbox(Inches(0.4), Inches(0.95), Inches(12.5), Inches(5.5)).text_frame,
               "\n".join([*(f"{i}. {line}" for i, line in enumerate(b.supply_lines, start=1)), b.supply_note]), 16)
    buffer = io.BytesIO()
    deck.save(buffer)
    return buffer.getvalue()


def _html_table(rows: tuple[tuple[str, ...], ...], numeric_from: int = 1) -> str:
    head, *body = rows
    cells = "".join(f"<th>{html.escape(c)}</th>" for c in head)
    lines = ["<table><thead><tr>" + cells + "</tr></thead><tbody>"]
    for row in body:
        lines.append("<tr>" + "".join(
            f'<td class="{"num" if i >= numeric_from else ""}">{html.escape(c)}</td>' for i, c in enumerate(row)) + "</tr>")
    lines.append("</tbody></table>")
    return "".join(lines)


def _html_lines(lines: tuple[str, ...], note: str) -> str:
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    return (f"<ol>{items}</ol>" if items else "") + f"<p>{html.escape(note)}</p>"


def to_html(b: Briefing) -> str:
    """One HTML file with everything inline (the map as a data: URL): opens with no network."""
    image = base64.b64encode(b.map_png).decode("ascii")
    k = settings.get("k_anonymity")
    priorities = _html_table((b.priority_header, *b.priority_rows), numeric_from=4) if b.priority_rows else (
        f"<p>{html.escape(t('b_no_priorities', b.lang, k=k))}</p>")
    gap = _html_table((b.gap_header, *b.gap_rows)) if b.gap_rows else ""
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in b.notes)
    return f"""<!DOCTYPE html>
<html lang="{'zh-CN' if b.lang == 'zh' else 'en'}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(b.title)}</title>
<style>
body {{ font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif;
       margin: 24px auto; max-width: 1100px; color: #222; padding: 0 16px; }}
h1 {{ font-size: 30px; margin: 0 0 6px; }}
h2 {{ font-size: 20px; margin: 24px 0 8px; }}
.meta {{ color: #555; margin: 0 0 16px; }}
.top {{ display: flex; gap: 24px; flex-wrap: wrap; align-items: flex-start; }}
.top img {{ width: 600px; max-width: 100%; border: 1px solid #ddd; }}
table {{ border-collapse: collapse; font-size: 15px; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: left; }}
th {{ background: #eee; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
.notes {{ color: #555; font-size: 13px; }}
.demo {{ color: #c0560f; font-weight: bold; margin: 0 0 6px; }}
</style>
</head>
<body>
<h1>{html.escape(b.title)}</h1>
{f'<p class="demo">{html.escape(b.demo)}</p>' if b.demo else ''}
<p class="meta">{html.escape(b.description)}<br>{html.escape(b.period)} · {html.escape(b.as_of)} · {html.escape(b.generated)}</p>
<div class="top">
<img alt="{html.escape(b.place)}" src="data:image/png;base64,{image}">
<div><h2>{html.escape(t('b_kpis', b.lang))}</h2>{_html_table((b.kpi_header, *b.kpi_rows))}</div>
</div>
<h2>{html.escape(t('b_priorities', b.lang))}</h2>
{priorities}
<h2>{html.escape(t('b_hot_spots', b.lang))}</h2>
{_html_lines(b.hot_spot_lines, b.hot_spot_note)}
<h2>{html.escape(t('b_surges', b.lang))}</h2>
{_html_lines(b.surge_lines, b.surge_note)}
<h2>{html.escape(t('b_supply', b.lang))}</h2>
{_html_lines(b.supply_lines, b.supply_note)}
<h2>{html.escape(b.gap_title)}</h2>
{gap}
<p>{html.escape(b.gap_note)}</p>
<ul class="notes">{notes}</ul>
</body>
</html>
"""


# --------------------------------------------------------------------------------------------
# Entry points: the page's download buttons and the CLI
# --------------------------------------------------------------------------------------------


def briefing_bytes(db: Path, f: Filter, fmt: str, lang: str = "zh") -> bytes:
    """Open ``db`` read-only, build the briefing of ``f`` and render it (for a download button)."""
    with store.open_readonly(Path(db)) as con:
        briefing = build(con, f, lang=lang)
    return render(briefing, fmt)


def unit_filter(con: queries.Connection, unit_code: str, layer_id: str | None = None, date_from: date | None = None,
                date_to: date | None = None) -> Filter:
    """The Filter of a unit of a boundary layer (default: the newest township layer), in its
    district; an unknown unit or layer raises ``BriefError``."""
    layer = layer_id or layer_queries.layers_by_level(con).get("township")
    found = layer_queries.unit(con, layer, str(unit_code).strip()) if layer else None
    if found is None:
        raise BriefError(error("brief_unknown_unit", code=unit_code, layer=layer or "–"))
    district = str(found["district_adcode"])
    return place_filter(con, district, date_from, date_to).with_changes(layer_id=layer, unit_code=found["unit_code"])


def main(*, db: Path, adcode: str | None, date_from: str | None, date_to: str | None, fmt: str, out: Path,
         lang: str = "zh", echo=print, unit_code: str | None = None, layer_id: str | None = None,
         snapshot: int | None = None) -> Path:
    """``python -m needsmap brief``: write the briefing of a district, city or unit to ``out``; on a
    lake, from ``snapshot`` (the one an earlier briefing names) instead of the latest."""
    if fmt not in FORMATS:
        raise BriefError(f"`format` was {fmt!r} but is expected to be in {list(FORMATS)}")
    start, end = parse_day(date_from, "--from"), parse_day(date_to, "--to")
    with store.open_readonly(Path(db), snapshot=snapshot) as con:
        f = unit_filter(con, unit_code, layer_id, start, end) if unit_code else place_filter(con, adcode, start, end)
        briefing = build(con, f, lang=lang)
    data = render(briefing, fmt)
    out = Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
    except OSError as exc:
        raise BriefError(error("brief_unwritable", path=out, reason=exc.strerror)) from exc
    if echo is not None:
        echo(f"已生成简报 briefing written: {out} ({briefing.place}, {fmt}, {len(data):,} bytes)")
    return out
