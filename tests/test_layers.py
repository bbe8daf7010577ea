"""Boundary layers below the county: the demo's synthetic township layer, record assignment, and
the layer importer on crafted files written the way GIS tools write them (geopandas/pyogrio).

Figures are checked against a point-in-polygon loop written here with shapely (one point, one
polygon at a time), not against the code under test.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import shapely

from tests.conftest import DEMO_RECORDS
from tests.ingest_files import hotline_frame, query, write_csv
from needsmap import layers, store
from needsmap.demo import townships
from needsmap.ingest import import_file


def _units(db: Path, layer_id: str) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        frame = con.execute(
            "SELECT unit_code, name, district_adcode, population, area_km2, geometry, geometry_full "
            "FROM boundary_units WHERE layer_id = ? ORDER BY unit_code", [layer_id]).df()
    frame["shape"] = [shapely.from_wkb(bytes(wkb)) for wkb in frame["geometry_full"]]
    return frame


def _links(db: Path, layer_id: str) -> dict[str, str]:
    return dict(query(db, "SELECT record_id, unit_code FROM record_units WHERE layer_id = ?", [layer_id]))


def _expected_links(db: Path, units: pd.DataFrame) -> dict[str, str]:
    """Record → unit by a plain loop: every point record tested against every unit in code order."""
    points = query(db, "SELECT record_id, lon, lat FROM demands WHERE place_basis IN ('point', 'point_offshore')")
    expected = {}
    for record_id, lon, lat in points:
        point = shapely.Point(lon, lat)
        for code, shape in zip(units["unit_code"], units["shape"], strict=True):
            if shape.covers(point):
                expected[record_id] = code
                break
    return expected


# --- the demo's synthetic layer -------------------------------------------------------------


def test_demo_has_a_synthetic_township_layer_for_three_counties(demo_db: Path) -> None:
    with store.open_readonly(demo_db) as con:
        listed = layers.list_layers(con)
    assert listed[["layer_id", "level", "units", "synthetic"]].values.tolist() == [["township", "township", 58, True]]
    assert "synthetic" in listed.loc[0, "name"] and "示例" in listed.loc[0, "name"]
    units = _units(demo_db, "township")
    assert units.groupby("district_adcode").size().to_dict() == {"330106": 11, "330127": 23, "330212": 24}
    assert all(code.startswith(adcode) and len(code) == 9 and code[6:].isdigit()
               for code, adcode in zip(units["unit_code"], units["district_adcode"], strict=True))
    assert all(name.startswith("示例") and name[-2:] == "街道" or name[-1] in "镇乡" for name in units["name"])
    assert units.loc[units["unit_code"] == "330106001", "name"].item() == "示例一街道"
    assert units.loc[units["unit_code"] == "330212024", "name"].item() == "示例二十四镇"


def test_demo_units_split_the_county_census_population_exactly(demo_db: Path) -> None:
    census = dict(query(demo_db, "SELECT adcode, population_2020 FROM districts WHERE adcode IN ('330106', '330212', '330127')"))
    units = _units(demo_db, "township")
    assert units.groupby("district_adcode")["population"].sum().to_dict() == census
    assert (units["population"] > 0).all()


def test_demo_units_tile_the_full_resolution_county_outline(demo_db: Path) -> None:
    from needsmap import boundaries

    adcodes, outlines = boundaries.assignment_shapes()
    units = _units(demo_db, "township")
    for adcode, group in units.groupby("district_adcode"):
        outline = outlines[list(adcodes).index(adcode)]
        union = shapely.union_all(group["shape"].tolist())
        assert shapely.symmetric_difference(union, outline).area < outline.area * 1e-9
        # no two units overlap
        assert sum(shape.area for shape in group["shape"]) == pytest.approx(outline.area, rel=1e-9)


def test_demo_records_are_linked_to_the_unit_holding_their_point(demo_db: Path) -> None:
    units = _units(demo_db, "township")
    expected = _expected_links(demo_db, units)
    assert _links(demo_db, "township") == expected
    in_counties = query(demo_db, "SELECT count(*) FROM demands WHERE district_adcode IN ('330106', '330212', '330127')")[0][0]
    assert len(expected) == in_counties  # every demo record has a point, so all of these
    assert 0 < len(expected) < DEMO_RECORDS


def test_demo_layer_display_geometry_is_light_valid_geojson(demo_db: Path) -> None:
    units = _units(demo_db, "township")
    display = shapely.from_geojson(units["geometry"].tolist())
    assert shapely.is_valid(display).all() and not shapely.is_empty(display).any()
    assert shapely.get_num_coordinates(display).sum() <= shapely.get_num_coordinates(units["shape"].to_numpy()).sum()
    # the display shapes stay within ~20 m of the full ones
    assert max(shapely.hausdorff_distance(a, b) for a, b in zip(display, units["shape"], strict=True)) < 0.0002
    with store.open_readonly(demo_db) as con:
        assert layers.layer_payload_bytes(con, "township") < layers.PAYLOAD_BUDGET_BYTES


# --- assignment of imported records ---------------------------------------------------------


@pytest.fixture
def layered_db(tmp_path: Path) -> Path:
    """A new database with the demo's synthetic layer (seed 3) and no records."""
    db = tmp_path / "layered.duckdb"
    with store.writing(db) as con:
        townships.write_demo_layer(con, seed=3)
    return db


def test_importer_links_new_records_to_existing_layers(layered_db: Path, tmp_path: Path) -> None:
    frame = hotline_frame(400, seed=5)
    # Two rows without a point, placed by their district's name: counted there, in no unit.
    frame.loc[[0, 1], ["经度", "纬度"]] = ""
    frame.loc[[0, 1], "区县"] = "西湖区"
    report = import_file(write_csv(tmp_path / "工单.csv", frame), layered_db)
    assert report.accepted == 400
    units = _units(layered_db, "township")
    expected = _expected_links(layered_db, units)
    assert _links(layered_db, "township") == expected
    assert report.layer_units == {"township": len(expected)}
    assert len(expected) > 0
    assert not {"GD00000001", "GD00000002"} & set(expected)


def test_a_reexport_that_moves_a_record_moves_its_link(layered_db: Path, tmp_path: Path) -> None:
    frame = hotline_frame(60, seed=6)
    import_file(write_csv(tmp_path / "day1.csv", frame), layered_db)
    units = _units(layered_db, "township")
    inside = units.loc[units["unit_code"] == "330106001", "shape"].item().representative_point()
    moved = frame.copy()
    moved.loc[5, ["经度", "纬度"]] = [f"{inside.x:.6f}", f"{inside.y:.6f}"]
    moved.loc[5, "办结时间"] = "2025-12-30 10:00:00"  # a later export
    import_file(write_csv(tmp_path / "day2.csv", moved), layered_db)
    links = _links(layered_db, "township")
    assert links["GD00000006"] == "330106001"
    assert links == _expected_links(layered_db, units)
