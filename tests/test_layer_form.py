"""The Data page's boundary-layer form: the file's fields read on upload, the name, code and
population fields chosen on the page, a population table uploaded with it.

The layer is a grid cut over 西湖区's bundled outline and saved the way a natural-resources
bureau's ArcGIS export arrives: a zipped Shapefile in CGCS2000 / 3-degree Gauss–Krüger CM 120°E
(EPSG:4549, with its .prj), text in GBK with a .cpg, fields BSM (标识码), NAME (a template field
left blank but for two features), XZQMC (名称), XZQDM (代码), RK (人口). What the page shows is
checked against a plain shapely point-in-polygon loop over the database's point records.
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
import pytest
import shapely

from tests.apptest_pages import open_page
from tests.test_data_page_facilities import as_seen

STEP = 0.03  # degrees: cells of about 3 × 3 km


@pytest.fixture(scope="module")
def bureau_grid() -> gpd.GeoDataFrame:
    """Cells over 西湖区 (WGS-84), with a bureau's fields."""
    from needsmap import boundaries

    adcodes, outlines = boundaries.assignment_shapes()
    outline = outlines[list(adcodes).index("330106")]
    west, south, east, north = outline.bounds
    cells = []
    for x in np.arange(west, east, STEP):
        for y in np.arange(south, north, STEP):
            parts = [p for p in shapely.get_parts(shapely.box(x, y, x + STEP, y + STEP).intersection(outline))
                     if p.geom_type == "Polygon" and p.area > 1e-6]
            if parts:
                cells.append(max(parts, key=lambda p: p.area))
    count = len(cells)
    return gpd.GeoDataFrame({
        "BSM": list(range(1, count + 1)),
        "NAME": ["西湖区", "西湖区"] + [""] * (count - 2),
        "XZQMC": [f"测试{i + 1}街道" for i in range(count)],
        "XZQDM": [f"330106{i + 1:03d}000" for i in range(count)],
        "RK": [5_000 + 137 * i for i in range(count)],
    }, geometry=cells, crs="EPSG:4326")


def _zipped_gbk_shapefile(frame: gpd.GeoDataFrame, folder: Path, name: str) -> bytes:
    """The frame as ArcGIS writes it on Chinese Windows (EPSG:4549, GBK text, .cpg and .prj), zipped."""
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_crs("EPSG:4549").to_file(folder / f"{name}.shp", engine="pyogrio", encoding="GBK")
    assert (folder / f"{name}.cpg").exists() and "测试1街道".encode("gbk") in (folder / f"{name}.dbf").read_bytes()
    archive = folder / f"{name}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for suffix in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
            zipped.write(folder / f"{name}{suffix}", f"{name}{suffix}")
    return archive.read_bytes()


def _points_in_cells(db: Path, cells: list[shapely.Geometry]) -> int:
    """Point records lying in one of the cells: a plain loop, every record against every cell."""
    with duckdb.connect(str(db), read_only=True) as con:
        points = con.execute(
            "SELECT lon, lat FROM demands WHERE place_basis IN ('point', 'point_offshore')").fetchall()
    return sum(any(cell.covers(shapely.Point(lon, lat)) for cell in cells) for lon, lat in points)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def data_page_db(demo_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from needsmap import settings

    db = tmp_path / "records.duckdb"
    shutil.copyfile(demo_db, db)
    monkeypatch.setenv("NEEDSMAP_DB", str(db))
    monkeypatch.delenv("NEEDSMAP_STAFF_PASSWORD", raising=False)
    monkeypatch.delenv("NEEDSMAP_PUBLIC_MODE", raising=False)
    monkeypatch.setattr(settings, "SECRETS_TOML", tmp_path / "no-secrets.toml")
    return db


def _layer_rows(app) -> pd.DataFrame:
    table = next(f.value for f in app.dataframe if "图层" in f.value.columns and "人口合计" in f.value.columns)
    return table.set_index("图层")


def test_fields_chosen_on_the_page_import_the_bureau_shapefile(
        data_page_db: Path, bureau_grid: gpd.GeoDataFrame, tmp_path: Path) -> None:
    content = _zipped_gbk_shapefile(bureau_grid, tmp_path / "export", "西湖区乡镇街道")
    app = open_page("pages/5_data.py")
    assert not app.exception
    app.file_uploader(key="layer_file").upload("西湖区乡镇街道.zip", content, "application/zip")
    app.run()
    assert not app.exception and not app.error
    # the file's fields are offered, preselected as the importer would pick them: NAME comes first
    name, code, population = (app.selectbox(key=key) for key in
                              ("layer_name_field", "layer_code_field", "layer_population_field"))
    assert name.options == ["BSM", "NAME", "XZQMC", "XZQDM", "RK"]
    assert code.options == population.options == ["（无）", "BSM", "NAME", "XZQMC", "XZQDM", "RK"]
    assert (name.value, code.value, population.value) == ("NAME", "XZQDM", "RK")

    # NAME is blank in most features: refused with the reason, nothing written
    before = _digest(data_page_db)
    next(b for b in app.button if b.label == "导入边界图层").click()
    app.run()
    assert not app.exception and not app.success
    count = len(bureau_grid)
    assert [as_seen(e.value) for e in app.error] == [
        f"文件未导入，数据库未改变：西湖区乡镇街道.zip 的名称字段 NAME 在 {count} 个要素中有 {count - 2} 个为空：请选择另一个名称字段 "
        f"(the name field NAME is blank in {count - 2} of {count} features: choose another name field)"]
    assert _digest(data_page_db) == before
    assert list(_layer_rows(app).index) == ["township"]

    app.selectbox(key="layer_name_field").set_value("XZQMC")
    next(b for b in app.button if b.label == "导入边界图层").click()
    app.run()
    assert not app.exception and not app.error
    linked = _points_in_cells(data_page_db, list(bureau_grid.geometry))
    assert linked > 20
    assert [as_seen(s.value) for s in app.success] == [
        f"已导入 imported 边界图层 boundary layer township-2 (township) from 西湖区乡镇街道.zip "
        f"[EPSG:4549 → WGS-84]: units={count} records_linked={linked} population_known={count}"]
    rows = _layer_rows(app)
    assert rows.loc["township-2", "单元数"] == count
    assert rows.loc["township-2", "落入单元的记录"] == linked
    assert rows.loc["township-2", "人口合计"] == sum(bureau_grid["RK"])
    with duckdb.connect(str(data_page_db), read_only=True) as con:
        names = con.execute("SELECT unit_code, name FROM boundary_units WHERE layer_id = 'township-2' "
                            "ORDER BY unit_code").fetchall()
    assert names == list(zip(bureau_grid["XZQDM"], bureau_grid["XZQMC"], strict=True))


def test_no_code_field_and_a_population_table_by_name(
        data_page_db: Path, bureau_grid: gpd.GeoDataFrame, tmp_path: Path) -> None:
    """Codes chosen as none are made from the county and a running number; the population comes
    from an uploaded GBK CSV keyed by name (乡镇名称, 人口), one unit missing from it."""
    content = _zipped_gbk_shapefile(bureau_grid, tmp_path / "export", "乡镇")
    listed = bureau_grid.iloc[1:]
    table = pd.DataFrame({"乡镇名称": listed["XZQMC"], "人口": [f"{30_000 + 11 * i:,}" for i in range(len(listed))]})
    app = open_page("pages/5_data.py")
    app.file_uploader(key="layer_file").upload("乡镇.zip", content, "application/zip")
    app.run()
    app.selectbox(key="layer_name_field").set_value("XZQMC")
    app.selectbox(key="layer_code_field").set_value("")
    app.selectbox(key="layer_population_field").set_value("")
    app.text_input(key="layer_id").set_value("jiedao")
    app.file_uploader(key="layer_population_table").upload("人口.csv", table.to_csv(index=False).encode("gbk"),
                                                           "text/csv")
    next(b for b in app.button if b.label == "导入边界图层").click()
    app.run()
    assert not app.exception and not app.error
    count = len(bureau_grid)
    linked = _points_in_cells(data_page_db, list(bureau_grid.geometry))
    assert f"units={count} records_linked={linked} population_known={count - 1}" in as_seen(app.success[0].value)
    rows = _layer_rows(app)
    assert (rows.loc["jiedao", "单元数"], rows.loc["jiedao", "落入单元的记录"]) == (count, linked)
    assert rows.loc["jiedao", "人口合计"] == sum(30_000 + 11 * i for i in range(len(listed)))
    with duckdb.connect(str(data_page_db), read_only=True) as con:
        units = con.execute("SELECT unit_code, name, population FROM boundary_units WHERE layer_id = 'jiedao'").df()
    expected_codes = {name: f"330106{n:03d}" for n, name in enumerate(sorted(bureau_grid["XZQMC"]), start=1)}
    assert dict(zip(units["name"], units["unit_code"], strict=True)) == expected_codes
    assert units.set_index("name")["population"].isna().to_dict() == {
        name: name == bureau_grid["XZQMC"].iat[0] for name in bureau_grid["XZQMC"]}


def test_a_population_field_without_numbers_is_refused_and_changes_nothing(
        data_page_db: Path, bureau_grid: gpd.GeoDataFrame, tmp_path: Path) -> None:
    from needsmap import layers
    from needsmap.errors import UnusableFileError

    path = tmp_path / "乡镇.zip"
    path.write_bytes(_zipped_gbk_shapefile(bureau_grid, tmp_path / "export", "乡镇"))
    before = _digest(data_page_db)
    with pytest.raises(UnusableFileError, match=r"人口字段 XZQMC 中没有数字.*\(the population field XZQMC holds no numbers"):
        layers.import_layer(data_page_db, path, "township", name_field="XZQMC", population_field="XZQMC")
    assert _digest(data_page_db) == before
