"""Reading a boundary layer file: GeoJSON, zipped Shapefile or GeoPackage through pyogrio (GDAL),
its coordinate system, and the fields that hold each unit's name, code and population.

Everything is brought to WGS-84 longitude/latitude, the project's one storage CRS:

* WGS-84 and CGCS2000 (EPSG:4490; the two differ by centimetres) are taken as they are;
* GCJ-02 and BD-09 (AMap, Baidu) are converted vertex by vertex with ``coords.to_wgs84``, as the
  record importer converts points (no file can declare them: ``--crs gcj02`` says so);
* any other CRS the file declares (a Shapefile's .prj, a GeoPackage's or GeoJSON's CRS) or that
  ``--crs EPSG:…`` names — the projected CGCS2000 Gauss–Krüger zones (EPSG:4513–4554) that
  natural-resources bureaus deliver, Xi'an 80, Web Mercator — through pyproj.

``--crs`` wins over the file's own CRS: AMap-derived data is often labelled WGS-84 while in
GCJ-02. A file with no CRS and no ``--crs`` is refused, and so is one whose coordinates, once
converted, are not longitudes/latitudes in China (a projected file labelled as degrees).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from pyogrio import errors as ogr_errors
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from needsmap import coords
from needsmap.errors import UnusableFileError
from needsmap.i18n import error

CRS_NAMES = ("wgs84", "cgcs2000", "gcj02", "bd09")
# Geographic CRSs taken as WGS-84 as they are: WGS-84 itself and CGCS2000 (EPSG:4490).
_SAME_AS_WGS84 = (4326, 4490)
# Longitudes/latitudes of China with a margin: converted coordinates outside it mean a wrong CRS.
_CHINA_BOUNDS = (73.0, 3.0, 136.0, 54.0)

# Field names tried, in order, when none is given (case-insensitive): English, the 国土调查 /
# 行政区 layers' pinyin initials (XZQMC 行政区名称, XZQDM 行政区代码), and Chinese headers.
NAME_FIELDS = ("name", "xzqmc", "xzmc", "jdmc", "名称", "乡镇名称", "街道名称", "乡镇街道", "乡镇", "街道", "社区名称",
               "村名称", "网格名称", "单元名称", "mc")
CODE_FIELDS = ("code", "unit_code", "xzqdm", "xzdm", "jddm", "统计用区划代码", "行政区划代码", "区划代码", "代码", "编码",
               "网格编码", "网格代码", "adcode", "dm", "gb")
POPULATION_FIELDS = ("population", "pop", "常住人口", "人口", "户籍人口", "czrk", "rk")


# A field chosen as none (``code_field=NO_FIELD``): the file has no such field, and none is looked for.
NO_FIELD = ""


@dataclass(frozen=True)
class LayerFields:
    """A boundary file's attribute fields (in file order) and those its name, code and population
    would be taken from when none is given (None: no field found)."""

    fields: tuple[str, ...]
    name_field: str | None
    code_field: str | None
    population_field: str | None


@dataclass(frozen=True)
class LayerFile:
    """A boundary file read: its features (WGS-84), what CRS it was in, and the chosen fields."""

    frame: gpd.GeoDataFrame
    source_crs: str
    name_field: str
    code_field: str | None
    population_field: str | None


def read_layer_file(path: Path, *, crs: str | None = None, name_field: str | None = None,
                    code_field: str | None = None, population_field: str | None = None) -> LayerFile:
    """Read a boundary file into WGS-84; ``UnusableFileError`` with one sentence if it cannot be used.

    A field given must exist and hold values: a name field blank in most features, or a
    population field with no number, is refused. ``NO_FIELD`` for the code or population: none.
    """
    path = Path(path)
    if not path.exists():
        raise UnusableFileError(error("file_not_found", name=path.name))
    frame = _read_polygons(path)
    geoms, source_crs = _to_wgs84(frame, crs, path.name)
    frame = gpd.GeoDataFrame(frame.drop(columns=frame.geometry.name), geometry=geoms, crs="EPSG:4326")
    fields = [column for column in frame.columns if column != frame.geometry.name]
    if name_field == NO_FIELD:
        name_field = None  # a unit must have a name: fall back to the usual field names
    name = _field(fields, name_field, NAME_FIELDS, path.name)
    if name is None:
        raise UnusableFileError(error("layer_no_name_field", name=path.name, fields=", ".join(fields) or "–"))
    code = _field(fields, code_field, CODE_FIELDS, path.name)
    population = _field(fields, population_field, POPULATION_FIELDS, path.name)
    if name_field:
        _check_name_values(frame[name], name, path.name)
    if population_field and not pd.to_numeric(frame[population], errors="coerce").notna().any():
        raise UnusableFileError(error("layer_population_field_not_numbers", name=path.name, field=population))
    return LayerFile(frame, source_crs, name, code, population)


def layer_fields(path: Path) -> LayerFields:
    """The fields of a boundary file (its first polygon layer, read as ``read_layer_file`` reads it)
    and the name, code and population fields found by their usual names; ``UnusableFileError``
    for a file that is not a boundary file. The coordinate system is not needed for this."""
    path = Path(path)
    if not path.exists():
        raise UnusableFileError(error("file_not_found", name=path.name))
    frame = _read_polygons(path)
    fields = [column for column in frame.columns if column != frame.geometry.name]
    return LayerFields(tuple(fields), *(_field(fields, None, candidates, path.name)
                                        for candidates in (NAME_FIELDS, CODE_FIELDS, POPULATION_FIELDS)))


def _check_name_values(values: pd.Series, field: str, file_name: str) -> None:
    """A name field chosen by hand must name most units (a blank one is filled from the code)."""
    blank = int(values.map(lambda v: v is None or str(v).strip() in ("", "nan", "None")).sum())
    if blank * 2 > len(values):
        raise UnusableFileError(error("layer_name_field_blank", name=file_name, field=field, blank=blank,
                                      total=len(values)))


def _read_polygons(path: Path) -> gpd.GeoDataFrame:
    """The first layer of the file that holds polygons (GDAL reads a .zip through /vsizip/)."""
    try:
        listed = pyogrio.list_layers(path)
    except (ogr_errors.DataSourceError, OSError, RuntimeError, ValueError) as exc:
        raise UnusableFileError(error("layer_not_geographic", name=path.name)) from exc
    with_geometry = [(name, kind) for name, kind in listed if kind is not None]
    if not with_geometry:  # a CSV or a table without geometry: GDAL reads it, but as a plain table
        raise UnusableFileError(error("layer_not_geographic", name=path.name))
    polygon_layers = [name for name, kind in with_geometry if "polygon" in str(kind).lower()]
    layer = polygon_layers[0] if polygon_layers else with_geometry[0][0]
    try:
        frame = gpd.read_file(path, layer=layer, engine="pyogrio")
        if _garbled(frame):  # a Shapefile saved in GBK without a .cpg: GDAL took it for Latin-1
            frame = gpd.read_file(path, layer=layer, engine="pyogrio", encoding="gb18030")
    except (ogr_errors.DataSourceError, ogr_errors.DataLayerError, ogr_errors.FieldError,
            ogr_errors.GeometryError, OSError, RuntimeError, ValueError, UnicodeDecodeError) as exc:
        raise UnusableFileError(error("layer_not_geographic", name=path.name)) from exc
    if "geometry" not in frame or frame.geometry is None:
        raise UnusableFileError(error("layer_not_geographic", name=path.name))
    geoms = shapely.force_2d(frame.geometry.to_numpy())
    polygons = np.isin(shapely.get_type_id(geoms), (3, 6, 7))  # Polygon, MultiPolygon, a collection
    if not polygons.any() or not (shapely.area(geoms[polygons]) > 0).any():
        raise UnusableFileError(error("layer_no_polygons", name=path.name))
    frame = frame.loc[polygons].copy()
    return frame.set_geometry(gpd.GeoSeries(geoms[polygons], index=frame.index, crs=frame.crs))


_LATIN1_MOJIBAKE = re.compile(r"[\u00c0-\u00ff]{2}")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _garbled(frame: gpd.GeoDataFrame) -> bool:
    """Text fields that look like GBK read as Latin-1 (pairs of accented letters, no Chinese)."""
    texts = []
    for column in frame.columns:
        if column != frame.geometry.name and pd.api.types.is_string_dtype(frame[column]):
            texts.extend(str(value) for value in frame[column].head(50).dropna())
    return any(_LATIN1_MOJIBAKE.search(t) for t in texts) and not any(_CJK.search(t) for t in texts)


def _declared_crs(crs: str, file_name: str) -> str | CRS:
    key = crs.strip().lower().replace("-", "").replace("_", "")
    if key in CRS_NAMES:
        return key
    try:
        return CRS.from_user_input(crs.strip())
    except CRSError as exc:
        raise UnusableFileError(error("layer_crs_unknown", crs=crs)) from exc


def _crs_label(crs: CRS) -> str:
    epsg = crs.to_epsg(min_confidence=70)
    return f"EPSG:{epsg}" if epsg else crs.name


def _to_wgs84(frame: gpd.GeoDataFrame, crs: str | None, file_name: str) -> tuple[np.ndarray, str]:
    """(geometries in WGS-84, a label for the CRS they came in)."""
    geoms = frame.geometry.to_numpy()
    if crs:
        declared = _declared_crs(crs, file_name)
    elif frame.crs is not None:
        declared = CRS.from_user_input(frame.crs)
    else:
        raise UnusableFileError(error("layer_crs_missing", name=file_name))
    if declared in ("gcj02", "bd09"):
        geoms = shapely.transform(geoms, lambda xy: np.column_stack(coords.to_wgs84(xy[:, 0], xy[:, 1], declared)))
        label = declared
    elif isinstance(declared, str):  # wgs84, cgcs2000
        label = declared
    else:
        label = _crs_label(declared)
        if not (declared.is_geographic and declared.to_epsg(min_confidence=70) in _SAME_AS_WGS84):
            transformer = Transformer.from_crs(declared, "EPSG:4326", always_xy=True)
            geoms = shapely.transform(geoms, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))
    west, south, east, north = shapely.total_bounds(geoms)
    min_lon, min_lat, max_lon, max_lat = _CHINA_BOUNDS
    if not (np.isfinite([west, south, east, north]).all() and min_lon <= west and east <= max_lon
            and min_lat <= south and north <= max_lat):
        bounds = f"{west:.6g}, {south:.6g} – {east:.6g}, {north:.6g}"
        raise UnusableFileError(error("layer_not_lonlat", name=file_name, bounds=bounds))
    return geoms, label


def read_population_table(path: Path) -> tuple[dict[str, float], dict[str, float]]:
    """A separate population table (CSV or Excel: a code and/or name column, a population column)
    as ({code: population}, {name: population}); names given twice are left out of the second."""
    from needsmap.ingest import readers

    path = Path(path)
    frame = readers.read_table(path).frame
    fields = list(frame.columns)
    code = _field(fields, None, CODE_FIELDS, path.name)
    name = _field(fields, None, NAME_FIELDS, path.name)
    population = _field(fields, None, POPULATION_FIELDS, path.name)
    if population is None or (code is None and name is None):
        raise UnusableFileError(error("layer_population_table", name=path.name, fields=", ".join(fields)))
    values = pd.to_numeric(frame[population].str.replace(",", "", regex=False), errors="coerce")
    known = values.notna() & (values >= 0)
    by_code = ({str(c).strip(): float(v) for c, v in zip(frame.loc[known, code], values[known], strict=True)
                if isinstance(c, str) and c.strip()} if code else {})
    by_name: dict[str, float] = {}
    if name:
        names = frame.loc[known, name].astype(str).str.strip()
        unique = names[~names.duplicated(keep=False)]
        by_name = dict(zip(unique, values[unique.index].astype(float), strict=True))
    return by_code, by_name


def _field(fields: list[str], given: str | None, candidates: tuple[str, ...], file_name: str) -> str | None:
    """The field given (it must exist) or the first candidate present (case-insensitive), else None;
    ``NO_FIELD`` given: None (the person said the file has none)."""
    if given == NO_FIELD:
        return None
    if given:
        if given not in fields:
            raise UnusableFileError(error("layer_field_missing", name=file_name, field=given, fields=", ".join(fields)))
        return given
    by_lower = {field.lower(): field for field in reversed(fields)}
    return next((by_lower[c] for c in candidates if c in by_lower), None)
