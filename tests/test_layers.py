"""Boundary layers below the county: the demo's synthetic township layer, record assignment, and
the layer importer on crafted files written the way GIS tools write them (geopandas/pyogrio).

Figures are checked against a point-in-polygon loop written here with shapely (one point, one
polygon at a time), not against the code under test.
"""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from pathlib import Path

import duckdb
import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from tests.conftest import DEMO_RECORDS
from tests.ingest_files import hotline_frame, query, write_csv
from needsmap import layer_checks, layers, store
from needsmap.demo import townships
from needsmap.errors import NeedsmapError, UnusableFileError
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


# --- importing a layer file -----------------------------------------------------------------
#
# The crafted layers cut 西湖区 (330106) along a 0.02° grid: each unit is a grid square clipped
# to the county's full-resolution outline (crumbs under 1,000 m² dropped, as an editor would),
# named and coded the way a 统计用区划代码 table does (12 digits, the county's 6 first).

GEOD = pyproj.Geod(ellps="WGS84")
STEP = 0.02


def _km2(geom: shapely.Geometry) -> float:
    return abs(GEOD.geometry_area_perimeter(geom)[0]) / 1e6


@pytest.fixture(scope="module")
def xihu_grid() -> gpd.GeoDataFrame:
    from needsmap import boundaries

    adcodes, outlines = boundaries.assignment_shapes()
    outline = outlines[list(adcodes).index("330106")]
    west, south, east, north = outline.bounds
    cells, columns_rows = [], []
    for column, x in enumerate(np.arange(west, east, STEP)):
        for row, y in enumerate(np.arange(south, north, STEP)):
            parts = [p for p in shapely.get_parts(shapely.box(x, y, x + STEP, y + STEP).intersection(outline))
                     if p.geom_type == "Polygon" and _km2(p) >= 0.001]
            if parts:
                cells.append(parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts))
                columns_rows.append((column, row))
    count = len(cells)
    return gpd.GeoDataFrame({
        "XZQDM": [f"330106{i + 1:03d}000" for i in range(count)],
        "XZQMC": [f"测试{i + 1}街道" for i in range(count)],
        "CZRK": [1_000 + 10 * i for i in range(count)],
        "column": [c for c, _ in columns_rows], "row": [r for _, r in columns_rows],
    }, geometry=cells, crs="EPSG:4326")


@pytest.fixture
def records_db(demo_db: Path, tmp_path: Path) -> Path:
    """A copy of the session demo database (6,000 records, the demo's synthetic layer)."""
    db = tmp_path / "records.duckdb"
    shutil.copyfile(demo_db, db)
    return db


def _links_by_loop(db: Path, shapes: gpd.GeoDataFrame) -> dict[str, str]:
    """Record → unit code by testing each point record against the file's own (WGS-84) shapes in
    code order: what the import must give whatever CRS the file was written in."""
    ordered = shapes.sort_values("XZQDM")
    return _expected_links(db, pd.DataFrame({"unit_code": ordered["XZQDM"], "shape": ordered.geometry}))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_zipped_shapefile(frame: gpd.GeoDataFrame, folder: Path, name: str, *, prj: bool = True) -> Path:
    """A Shapefile as GIS tools write it (.shp .shx .dbf .cpg .prj), zipped; ``prj`` False leaves the .prj out."""
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_file(folder / f"{name}.shp", engine="pyogrio", encoding="UTF-8")
    archive = folder / f"{name}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for part in sorted(folder.glob(f"{name}.*")):
            if part.suffix != ".zip" and (prj or part.suffix != ".prj"):
                zipped.write(part, part.name)
    return archive


NO_PROBLEMS = {check: 0 for check in layer_checks.CHECKS}


def test_a_valid_geojson_layer_imports_every_unit_and_links_the_records(
        records_db: Path, xihu_grid: gpd.GeoDataFrame, tmp_path: Path) -> None:
    path = tmp_path / "西湖区乡镇街道.geojson"
    xihu_grid.to_file(path, driver="GeoJSON", engine="pyogrio")
    demo_links = _links(records_db, "township")
    report = layers.import_layer(records_db, path, "township")
    assert (report.layer_id, report.units, report.population_known) == ("township-2", len(xihu_grid), len(xihu_grid))
    assert report.checks == NO_PROBLEMS and report.problems == ()
    assert report.source_crs == "EPSG:4326"
    expected = _links_by_loop(records_db, xihu_grid)
    assert _links(records_db, "township-2") == expected
    assert report.assigned_records == len(expected) > 20
    units = _units(records_db, "township-2")
    assert set(units["district_adcode"]) == {"330106"}
    assert units["population"].tolist() == xihu_grid.sort_values("XZQDM")["CZRK"].tolist()
    assert units["area_km2"].to_numpy() == pytest.approx([_km2(g) for g in xihu_grid.sort_values("XZQDM").geometry], rel=1e-3)
    # the demo's layer is still there and untouched
    assert _links(records_db, "township") == demo_links
    assert query(records_db, "SELECT count(*) FROM boundary_layers")[0][0] == 2


def test_a_layer_in_gcj02_is_brought_to_wgs84(records_db: Path, xihu_grid: gpd.GeoDataFrame, tmp_path: Path) -> None:
    import coordTransform

    shifted = xihu_grid.copy()
    shifted["geometry"] = shapely.transform(xihu_grid.geometry.to_numpy(), lambda xy: np.column_stack(
        coordTransform.wgs84_to_gcj02(np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1]))))
    path = tmp_path / "amap_export.geojson"  # AMap-derived files say WGS-84 while in GCJ-02
    shifted.to_file(path, driver="GeoJSON", engine="pyogrio")
    report = layers.import_layer(records_db, path, "township", crs="gcj02", layer_id="jiedao")
    assert (report.layer_id, report.units, report.source_crs) == ("jiedao", len(xihu_grid), "gcj02")
    units = _units(records_db, "jiedao")
    original = xihu_grid.sort_values("XZQDM").geometry.to_numpy()
    # back within a metre or two of the true shapes (the GCJ-02 shift is ~500 m here)
    assert max(shapely.hausdorff_distance(units["shape"].to_numpy(), original)) < 2e-5
    assert max(shapely.hausdorff_distance(shifted.sort_values("XZQDM").geometry.to_numpy(), original)) > 2e-3
    assert _links(records_db, "jiedao") == _links_by_loop(records_db, xihu_grid)


@pytest.mark.parametrize("kind", ["zipped shapefile", "geopackage"])
def test_a_layer_in_a_cgcs2000_gauss_kruger_zone_is_projected_back(
        kind: str, records_db: Path, xihu_grid: gpd.GeoDataFrame, tmp_path: Path) -> None:
    projected = xihu_grid.to_crs("EPSG:4549")  # CGCS2000 / 3-degree Gauss-Kruger CM 120E
    assert projected.total_bounds[0] > 300_000  # metres, not degrees
    if kind == "geopackage":
        path = tmp_path / "乡镇街道.gpkg"
        projected.to_file(path, driver="GPKG", layer="乡镇街道", engine="pyogrio")
    else:
        path = _write_zipped_shapefile(projected, tmp_path / "shp", "XZQ")
    report = layers.import_layer(records_db, path, "township", layer_id="gk")
    assert (report.units, report.source_crs, report.checks) == (len(xihu_grid), "EPSG:4549", NO_PROBLEMS)
    units = _units(records_db, "gk")
    assert units["name"].tolist() == xihu_grid.sort_values("XZQDM")["XZQMC"].tolist()
    assert max(shapely.hausdorff_distance(units["shape"].to_numpy(), xihu_grid.sort_values("XZQDM").geometry.to_numpy())) < 1e-6
    assert _links(records_db, "gk") == _links_by_loop(records_db, xihu_grid)


def _interior_cell(grid: gpd.GeoDataFrame, avoid: set[tuple[int, int]]) -> int:
    """The first grid square that is whole, with its eight neighbours whole too."""
    whole = {(c, r) for c, r, g in zip(grid["column"], grid["row"], grid.geometry, strict=True)
             if abs(g.area - STEP * STEP) < 1e-12}
    for i, (c, r) in enumerate(zip(grid["column"], grid["row"], strict=True)):
        block = {(c + dc, r + dr) for dc in (-1, 0, 1) for dr in (-1, 0, 1)}
        if block <= whole and not block & avoid:
            return i
    raise AssertionError("no interior cell")


def test_gaps_and_overlaps_are_reported_with_the_right_counts(
        records_db: Path, xihu_grid: gpd.GeoDataFrame, tmp_path: Path) -> None:
    grid = xihu_grid.copy()
    grown = _interior_cell(grid, set())
    grown_code = grid["XZQDM"].iat[grown]
    c, r = grid["column"].iat[grown], grid["row"].iat[grown]
    removed = _interior_cell(grid, {(c + dc, r + dr) for dc in range(-2, 3) for dr in range(-2, 3)})
    gap_km2 = _km2(grid.geometry.iat[removed])
    # One square grown by 0.003° on every side: it overlaps its eight neighbours; one square left out: a gap.
    grid.loc[grid.index[grown], "geometry"] = shapely.box(*(np.array(grid.geometry.iat[grown].bounds) + [-0.003, -0.003, 0.003, 0.003]))
    grid = grid.drop(index=grid.index[removed])
    path = tmp_path / "有缝隙.geojson"
    grid.to_file(path, driver="GeoJSON", engine="pyogrio")
    report = layers.import_layer(records_db, path, "township", layer_id="gaps")
    assert report.units == len(xihu_grid) - 1
    assert report.checks == {**NO_PROBLEMS, "gaps": 1, "overlaps": 8}
    gap = next(p for p in report.problems if p.check == "gaps")
    assert f"{gap_km2:.2f} km²" in gap.detail and "西湖区" in gap.detail
    # each overlap names the grown square, as the unit or as the one it overlaps
    assert all(grown_code in f"{p.unit_code} {p.detail}" for p in report.problems if p.check == "overlaps")
    # A point in two overlapping units goes to the lower code, as the loop in code order says.
    assert _links(records_db, "gaps") == _links_by_loop(records_db, grid)


def test_a_unit_outside_zhejiang_is_listed_and_left_out(records_db: Path, xihu_grid: gpd.GeoDataFrame, tmp_path: Path) -> None:
    jiangxi = gpd.GeoDataFrame({"XZQDM": ["360102001000"], "XZQMC": ["南昌某街道"], "CZRK": [5000], "column": [0], "row": [0]},
                               geometry=[shapely.box(115.90, 28.66, 115.94, 28.70)], crs="EPSG:4326")
    # and one unit whose code names 滨江区 (330108) though it lies in 西湖区
    grid = xihu_grid.copy()
    grid.loc[grid.index[0], "XZQDM"] = "330108999000"
    path = tmp_path / "含省外.geojson"
    pd.concat([grid, jiangxi]).to_file(path, driver="GeoJSON", engine="pyogrio")
    report = layers.import_layer(records_db, path, "township", layer_id="mixed")
    assert report.units == len(xihu_grid)
    assert report.checks == {**NO_PROBLEMS, "outside_zhejiang": 1, "parent_mismatch": 1}
    outside = next(p for p in report.problems if p.check == "outside_zhejiang")
    assert (outside.unit_code, outside.name) == ("360102001000", "南昌某街道") and "outside Zhejiang" in outside.detail
    units = _units(records_db, "mixed")
    assert "360102001000" not in set(units["unit_code"])
    assert units.loc[units["unit_code"] == "330108999000", "district_adcode"].item() == "330108"  # the code wins
    mismatch = next(p for p in report.problems if p.check == "parent_mismatch")
    assert "滨江区" in mismatch.detail and "西湖区" in mismatch.detail


def test_a_zipped_shapefile_without_prj_asks_for_crs_and_changes_nothing(
        records_db: Path, xihu_grid: gpd.GeoDataFrame, tmp_path: Path) -> None:
    archive = _write_zipped_shapefile(xihu_grid.to_crs("EPSG:4549"), tmp_path / "shp", "乡镇", prj=False)
    assert ".prj" not in str(zipfile.ZipFile(archive).namelist())
    before = _digest(records_db)
    with pytest.raises(UnusableFileError, match=r"--crs") as raised:
        layers.import_layer(records_db, archive, "township")
    assert ".prj" in str(raised.value)
    assert _digest(records_db) == before
    report = layers.import_layer(records_db, archive, "township", crs="EPSG:4549")
    assert (report.units, report.source_crs) == (len(xihu_grid), "EPSG:4549")


def test_a_file_that_is_not_geographic_is_refused_and_changes_nothing(
        records_db: Path, xihu_grid: gpd.GeoDataFrame, tmp_path: Path) -> None:
    import matplotlib.pyplot as plt

    table = tmp_path / "乡镇人口.csv"
    pd.DataFrame(xihu_grid.drop(columns="geometry")).to_csv(table, index=False, encoding="gbk")
    picture = tmp_path / "地图.png"
    plt.imsave(picture, np.zeros((8, 8)))
    before = _digest(records_db)
    for path in (table, picture):
        with pytest.raises(UnusableFileError, match="不是地理边界文件"):
            layers.import_layer(records_db, path, "township")
    points = tmp_path / "points.geojson"  # geographic, but points: no areas to count in
    gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.Point(120.1, 30.2)], crs=4326).to_file(points, driver="GeoJSON")
    with pytest.raises(UnusableFileError, match="没有面要素"):
        layers.import_layer(records_db, points, "township")
    assert _digest(records_db) == before


def test_reimport_with_replace_relinks_the_records(records_db: Path, xihu_grid: gpd.GeoDataFrame, tmp_path: Path) -> None:
    first = tmp_path / "v1.geojson"
    xihu_grid.to_file(first, driver="GeoJSON", engine="pyogrio")
    layers.import_layer(records_db, first, "township", layer_id="jd")
    second_grid = xihu_grid.iloc[::2].copy()  # the next edition keeps every other square
    second = tmp_path / "v2.geojson"
    second_grid.to_file(second, driver="GeoJSON", engine="pyogrio")
    with pytest.raises(NeedsmapError, match="--replace"):
        layers.import_layer(records_db, second, "township", layer_id="jd")
    report = layers.import_layer(records_db, second, "township", layer_id="jd", replace=True)
    assert report.replaced and report.units == len(second_grid)
    assert report.removed_units == tuple(sorted(set(xihu_grid["XZQDM"]) - set(second_grid["XZQDM"])))
    assert f"{len(xihu_grid) - len(second_grid)} units of the replaced layer are gone" in report.removed_line()
    assert query(records_db, "SELECT count(*) FROM boundary_layers WHERE layer_id = 'jd'")[0][0] == 1
    assert len(_units(records_db, "jd")) == len(second_grid)
    assert _links(records_db, "jd") == _links_by_loop(records_db, second_grid)
    assert report.assigned_records == len(_links_by_loop(records_db, second_grid)) < len(_links_by_loop(records_db, xihu_grid))


def test_cli_imports_and_lists_layers(records_db: Path, xihu_grid: gpd.GeoDataFrame, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    from needsmap.__main__ import main

    archive = _write_zipped_shapefile(xihu_grid.to_crs("EPSG:4549"), tmp_path / "shp", "乡镇", prj=False)
    assert main(["boundaries", "import", str(archive), "--level", "township", "--db", str(records_db)]) == 2
    assert "--crs" in capsys.readouterr().err
    assert main(["boundaries", "import", str(archive), "--level", "township", "--crs", "EPSG:4549",
                 "--name-field", "XZQMC", "--code-field", "XZQDM", "--population-field", "CZRK",
                 "--db", str(records_db)]) == 0
    out = capsys.readouterr().out
    assert f"units={len(xihu_grid)}" in out and "township-2" in out and "EPSG:4549" in out
    assert main(["boundaries", "list", "--db", str(records_db)]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in listed] == ["township", "township-2"]
    assert "synthetic" in listed[0] and "synthetic" not in listed[1]


def test_data_page_lists_the_layers_with_their_units_and_linked_records(
        records_db: Path, xihu_grid: gpd.GeoDataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from needsmap import settings
    from tests.apptest_pages import open_page

    path = tmp_path / "西湖区乡镇街道.geojson"
    xihu_grid.to_file(path, driver="GeoJSON", engine="pyogrio")
    imported = layers.import_layer(records_db, path, "township", layer_id="xihu")
    monkeypatch.setenv("NEEDSMAP_DB", str(records_db))
    monkeypatch.delenv("NEEDSMAP_STAFF_PASSWORD", raising=False)
    monkeypatch.delenv("NEEDSMAP_PUBLIC_MODE", raising=False)
    monkeypatch.setattr(settings, "SECRETS_TOML", tmp_path / "no-secrets.toml")
    app = open_page("pages/5_data.py")
    assert not app.exception
    table = app.dataframe[-1].value
    assert list(table.columns[:5]) == ["图层", "图层名称", "层级", "单元数", "落入单元的记录"]
    rows = table.set_index("图层")
    assert rows.loc["township", "单元数"] == 58 and bool(rows.loc["township", "合成示例"])
    assert rows.loc["township", "落入单元的记录"] == len(_links(records_db, "township"))
    assert (rows.loc["xihu", "层级"], rows.loc["xihu", "单元数"]) == ("乡镇街道", len(xihu_grid))
    assert rows.loc["xihu", "落入单元的记录"] == imported.assigned_records
    assert "导入边界图层（乡镇街道、社区村、网格）" in [s.value for s in app.subheader]


def test_a_gbk_shapefile_without_cpg_keeps_its_chinese_names(
        records_db: Path, xihu_grid: gpd.GeoDataFrame, tmp_path: Path) -> None:
    folder = tmp_path / "gbk"
    folder.mkdir()
    xihu_grid.to_crs("EPSG:4549").to_file(folder / "乡镇.shp", engine="pyogrio", encoding="GBK")
    (folder / "乡镇.cpg").unlink()  # older ArcGIS on Chinese Windows: GBK text, no code page file
    assert "测试1街道".encode("gbk") in (folder / "乡镇.dbf").read_bytes()
    archive = folder / "乡镇.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for part in ("乡镇.shp", "乡镇.shx", "乡镇.dbf", "乡镇.prj"):
            zipped.write(folder / part, part)
    layers.import_layer(records_db, archive, "township", layer_id="gbk")
    assert _units(records_db, "gbk")["name"].tolist() == xihu_grid.sort_values("XZQDM")["XZQMC"].tolist()


def test_units_without_codes_are_numbered_within_their_county(
        records_db: Path, xihu_grid: gpd.GeoDataFrame, tmp_path: Path) -> None:
    path = tmp_path / "网格.geojson"
    xihu_grid.drop(columns=["XZQDM", "CZRK"]).rename(columns={"XZQMC": "网格名称"}).to_file(
        path, driver="GeoJSON", engine="pyogrio")
    report = layers.import_layer(records_db, path, "grid")
    assert (report.layer_id, report.units, report.population_known) == ("grid", len(xihu_grid), 0)
    units = _units(records_db, "grid")
    expected_codes = {name: f"330106{number:03d}" for number, name in enumerate(sorted(xihu_grid["XZQMC"]), start=1)}
    assert dict(zip(units["name"], units["unit_code"], strict=True)) == expected_codes
    assert units["population"].isna().all() and set(units["district_adcode"]) == {"330106"}
    renamed = xihu_grid.assign(XZQDM=xihu_grid["XZQMC"].map(expected_codes))
    assert _links(records_db, "grid") == _links_by_loop(records_db, renamed)


def test_a_unit_across_a_county_line_and_a_sliver_are_listed(records_db: Path, tmp_path: Path) -> None:
    from needsmap import boundaries

    adcodes, outlines = boundaries.assignment_shapes()
    xihu, shangcheng = (outlines[list(adcodes).index(code)] for code in ("330106", "330102"))
    border = shapely.intersection(xihu.boundary, shangcheng.boundary)
    centre = border.interpolate(0.5, normalized=True)
    straddling = shapely.box(centre.x - 0.01, centre.y - 0.01, centre.x + 0.01, centre.y + 0.01)
    in_xihu, in_shangcheng = _km2(straddling.intersection(xihu)), _km2(straddling.intersection(shangcheng))
    # coded for the county holding most of it; the rest lies across the line
    (code, _, _), (_, other_name, across_km2) = sorted(
        [("330106", "西湖区", in_xihu), ("330102", "上城区", in_shangcheng)], key=lambda county: -county[2])
    assert across_km2 > 0.05 * _km2(straddling)
    inner = xihu.representative_point()
    with_crumb = shapely.MultiPolygon([  # a square and a 2 m wide strip beside it: a digitising crumb
        shapely.box(inner.x - 0.002, inner.y - 0.002, inner.x + 0.002, inner.y + 0.002),
        shapely.box(inner.x + 0.003, inner.y, inner.x + 0.004, inner.y + 0.00002)])
    frame = gpd.GeoDataFrame({"code": [f"{code}901", "330106902"], "name": ["跨界街道", "碎片社区"]},
                             geometry=[straddling, with_crumb], crs="EPSG:4326")
    path = tmp_path / "跨界.gpkg"
    frame.to_file(path, driver="GPKG", engine="pyogrio")
    report = layers.import_layer(records_db, path, "community")
    assert (report.checks["crossing_county"], report.checks["slivers"], report.checks["overlaps"],
            report.checks["parent_mismatch"]) == (1, 1, 0, 0)
    crossing = next(p for p in report.problems if p.check == "crossing_county")
    share = across_km2 / _km2(straddling)
    assert crossing.unit_code == f"{code}901" and other_name in crossing.detail
    assert f"{share:.0%}" in crossing.detail and f"{across_km2:.2f} km²" in crossing.detail
    sliver = next(p for p in report.problems if p.check == "slivers")
    assert (sliver.unit_code, sliver.name) == ("330106902", "碎片社区") and "1 sliver part" in sliver.detail


def test_population_from_a_separate_table_by_code_or_name(
        records_db: Path, xihu_grid: gpd.GeoDataFrame, tmp_path: Path) -> None:
    path = tmp_path / "乡镇街道.geojson"
    xihu_grid.drop(columns=["CZRK"]).to_file(path, driver="GeoJSON", engine="pyogrio")
    ordered = xihu_grid.sort_values("XZQDM")
    by_code = ordered.iloc[:40]
    by_name = ordered.iloc[40:50]
    table = pd.DataFrame({
        "统计用区划代码": list(by_code["XZQDM"]) + [""] * len(by_name),
        "名称": list(by_code["XZQMC"]) + list(by_name["XZQMC"]),
        "常住人口": [f"{20_000 + i:,}" for i in range(len(by_code) + len(by_name))],  # as Excel writes thousands
    })
    population_csv = tmp_path / "人口.csv"
    table.to_csv(population_csv, index=False, encoding="gbk")
    report = layers.import_layer(records_db, path, "township", layer_id="pop", population_table=population_csv)
    assert report.population_known == 50
    units = _units(records_db, "pop").set_index("unit_code")
    expected = {code: 20_000 + i for i, code in enumerate(list(by_code["XZQDM"]) + list(by_name["XZQDM"]))}
    assert units["population"].dropna().astype(int).to_dict() == expected
    bad_table = tmp_path / "没有人口.csv"
    pd.DataFrame({"名称": ["测试1街道"], "面积": [3]}).to_csv(bad_table, index=False)
    before = _digest(records_db)
    with pytest.raises(UnusableFileError, match="人口表"):
        layers.import_layer(records_db, path, "township", layer_id="pop2", population_table=bad_table)
    assert _digest(records_db) == before
