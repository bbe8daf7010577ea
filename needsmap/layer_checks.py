"""Checks of a boundary layer against itself and the 90 county outlines, and each unit's parent county.

Areas are measured in an equal-area projection (``layers.EQUAL_AREA_CRS``) against the
full-resolution county shapes the records are assigned with (``boundaries.assignment_shapes``).
Bureaus' boundaries and AMap's county outlines never match to the metre, so every check has a
threshold below which a difference is taken for a drawing difference and not reported:

* **outside Zhejiang**: under 1 % of the unit in any county — not imported; under half — kept, listed;
* **parent county**: by code prefix (统计用区划代码 / 行政区划代码: the first 6 digits) when it is
  one of the 90 counties, else the county holding most of the unit; a prefix that disagrees with
  the area is listed (the code wins);
* **crossing a county line**: at least ``CROSS_MIN_SHARE`` of the unit and ``CROSS_MIN_KM2`` in
  other counties;
* **overlaps**: two units sharing at least ``OVERLAP_MIN_KM2``;
* **slivers**: polygon parts under ``SLIVER_MAX_KM2`` or thinner than ``SLIVER_MAX_WIDTH_M``;
* **gaps**: parts of a county that has units, covered by none, of at least ``GAP_MIN_KM2`` and
  ``GAP_MIN_WIDTH_M`` wide (a long thin strip along a border is a drawing difference).

Width is 2 × area ÷ perimeter: the width of a strip, half the side of a square.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
import shapely

from needsmap import boundaries
from needsmap.i18n import error

OUTSIDE_MAX_SHARE = 0.01
PARTLY_OUTSIDE_SHARE = 0.5
CROSS_MIN_SHARE, CROSS_MIN_KM2 = 0.05, 0.05
OVERLAP_MIN_KM2 = 0.01
SLIVER_MAX_KM2, SLIVER_MAX_WIDTH_M = 0.001, 5.0
GAP_MIN_KM2, GAP_MIN_WIDTH_M = 0.05, 30.0

CHECKS = ("repaired", "empty", "merged", "outside_zhejiang", "parent_mismatch", "crossing_county", "overlaps",
          "slivers", "gaps")


@dataclass(frozen=True)
class Finding:
    """One thing a check found: the check (``CHECKS``), the unit (None for a gap), a bilingual detail."""

    check: str
    unit_code: str | None
    name: str | None
    detail: str


@lru_cache(maxsize=1)
def _counties() -> tuple[np.ndarray, np.ndarray, dict[str, str]]:
    """(adcodes, full-resolution shapes in metres, adcode → name) of the 90 counties."""
    from needsmap.layers import to_metres

    adcodes, geoms = boundaries.assignment_shapes()
    names = dict(zip(boundaries.load_districts()["adcode"], boundaries.load_districts()["name"], strict=True))
    metric = to_metres(geoms)
    shapely.prepare(metric)
    return np.asarray(adcodes, dtype=object), metric, names


def _width_m(geoms: np.ndarray) -> np.ndarray:
    perimeter = shapely.length(geoms)
    return np.where(perimeter > 0, 2 * shapely.area(geoms) / np.where(perimeter > 0, perimeter, 1), 0.0)


def place_and_check(units: pd.DataFrame, metric: np.ndarray) -> tuple[pd.DataFrame, list[Finding]]:
    """Parent county, area and checks of ``units`` (unit_code or None, name, …; ``metric``: their
    shapes in metres). Returns the units kept (with ``district_adcode`` and ``area_km2``; units
    outside Zhejiang dropped) and the findings."""
    adcodes, counties, county_names = _counties()
    findings: list[Finding] = []
    area = shapely.area(metric)
    unit_idx, county_idx = shapely.STRtree(counties).query(metric, predicate="intersects")
    within = shapely.contains_properly(counties[county_idx], metric[unit_idx])
    shared = np.where(within, area[unit_idx], 0.0)
    edge = ~within
    shared[edge] = shapely.area(shapely.intersection(metric[unit_idx[edge]], counties[county_idx[edge]]))
    pairs = pd.DataFrame({"unit": unit_idx, "county": county_idx, "km2": shared / 1e6})
    pairs = pairs[pairs["km2"] > 0]
    inside_km2 = pairs.groupby("unit")["km2"].sum().reindex(range(len(units)), fill_value=0.0).to_numpy()
    share_inside = inside_km2 / np.maximum(area / 1e6, 1e-12)
    by_area = pairs.sort_values(["unit", "km2"], ascending=[True, False]).drop_duplicates("unit").set_index("unit")["county"]

    codes, names = units["unit_code"].tolist(), units["name"].tolist()
    parent: list[str | None] = []
    area_parents: list[str] = []
    keep = np.ones(len(units), dtype=bool)
    county_list = list(adcodes)
    for i in range(len(units)):
        if share_inside[i] < OUTSIDE_MAX_SHARE:
            keep[i] = False
            parent.append(None)
            findings.append(Finding("outside_zhejiang", codes[i], names[i], error("layer_found_outside")))
            continue
        if share_inside[i] < PARTLY_OUTSIDE_SHARE:
            findings.append(Finding("outside_zhejiang", codes[i], names[i],
                                    error("layer_found_partly_outside", share=share_inside[i])))
        area_parent = adcodes[by_area[i]]
        code_parent = codes[i][:6] if codes[i] and codes[i][:6] in county_list else None
        if code_parent and code_parent != area_parent:
            findings.append(Finding("parent_mismatch", codes[i], names[i], error(
                "layer_found_parent_mismatch", by_code=f"{county_names[code_parent]} {code_parent}",
                by_area=f"{county_names[area_parent]} {area_parent}")))
        parent.append(code_parent or area_parent)
        area_parents.append(area_parent)
        # Crossing is measured from the county holding most of the unit (a code naming another
        # county is listed above, not again here).
        others = pairs[(pairs["unit"] == i) & (pairs["county"] != county_list.index(area_parent))]
        other_km2 = float(others["km2"].sum())
        if other_km2 >= CROSS_MIN_KM2 and other_km2 >= CROSS_MIN_SHARE * area[i] / 1e6:
            listed = "、".join(county_names[adcodes[c]] for c in others.sort_values("km2", ascending=False)["county"])
            findings.append(Finding("crossing_county", codes[i], names[i], error(
                "layer_found_crossing", share=other_km2 / (area[i] / 1e6), km2=other_km2, others=listed)))

    kept = units.assign(district_adcode=parent, area_km2=area / 1e6).loc[keep].reset_index(drop=True)
    kept_metric = metric[keep]
    findings += _overlaps(kept, kept_metric) + _slivers(kept, kept_metric)
    findings += _gaps(sorted(set(area_parents)), kept_metric, adcodes, counties, county_names)
    return kept, findings


def _overlaps(units: pd.DataFrame, metric: np.ndarray) -> list[Finding]:
    first, second = shapely.STRtree(metric).query(metric, predicate="intersects")
    pair = first < second
    first, second = first[pair], second[pair]
    km2 = shapely.area(shapely.intersection(metric[first], metric[second])) / 1e6
    findings = []
    for a, b, size in zip(first, second, km2, strict=True):
        if size >= OVERLAP_MIN_KM2:
            other = f"{units['name'].iat[b]} {units['unit_code'].iat[b] or ''}".strip()
            findings.append(Finding("overlaps", units["unit_code"].iat[a], units["name"].iat[a],
                                    error("layer_found_overlap", other=other, km2=size)))
    return findings


def _slivers(units: pd.DataFrame, metric: np.ndarray) -> list[Finding]:
    parts, owner = shapely.get_parts(metric, return_index=True)
    thin = (shapely.area(parts) < SLIVER_MAX_KM2 * 1e6) | (_width_m(parts) < SLIVER_MAX_WIDTH_M)
    findings = []
    for unit in np.unique(owner[thin]):
        mine = thin & (owner == unit)
        findings.append(Finding("slivers", units["unit_code"].iat[unit], units["name"].iat[unit], error(
            "layer_found_sliver", parts=int(mine.sum()), km2=float(shapely.area(parts[mine]).sum() / 1e6))))
    return findings


def _gaps(covered_counties: list[str], metric: np.ndarray, adcodes: np.ndarray, counties: np.ndarray,
          county_names: dict[str, str]) -> list[Finding]:
    """Parts of each county holding units (by area) that no unit covers."""
    from needsmap.layers import to_degrees

    findings = []
    tree = shapely.STRtree(metric)
    for adcode in covered_counties:
        county = counties[list(adcodes).index(adcode)]
        near = metric[tree.query(county, predicate="intersects")]
        # A clean coverage is dissolved along its shared edges, several times faster than an overlay.
        covered = shapely.coverage_union_all(near) if shapely.coverage_is_valid(near) else shapely.union_all(near)
        holes = shapely.get_parts(shapely.difference(county, covered))
        holes = holes[(shapely.area(holes) >= GAP_MIN_KM2 * 1e6) & (_width_m(holes) >= GAP_MIN_WIDTH_M)]
        if not len(holes):
            continue
        where = to_degrees(shapely.point_on_surface(holes))
        for hole, point in sorted(zip(holes, where, strict=True), key=lambda item: -item[0].area):
            findings.append(Finding("gaps", None, None, error(
                "layer_found_gap", county=county_names[adcode], km2=hole.area / 1e6, lon=point.x, lat=point.y)))
    return findings
