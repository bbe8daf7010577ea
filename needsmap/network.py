"""Road networks for walking distances: read an OSM (XML or PBF) or GraphML file, keep it in the
database, and answer "how far is it to walk from here" with Dijkstra over a sparse graph.

Framework-free. Reading: ``osmium`` (libosmium's Python bindings; streams .osm, .osm.bz2/.gz and
.pbf in C++; the network is kept as numpy arrays, where a networkx graph holds Python objects per
node and edge) and ``networkx.read_graphml`` for GraphML (as OSMnx's
``save_graphml`` writes it, or any GraphML whose nodes carry lon/lat). Routing:
``scipy.sparse.csgraph.dijkstra`` with ``limit=``.

**What is walkable** (OSM): ways tagged ``highway`` minus what OSMnx's ``walk`` network filter
leaves out — ``area=yes``; highway abandoned, bus_guideway, construction, cycleway, motorway /
motorway_link / motor…, no, planned, platform, proposed, raceway, razed; ``foot=no``;
``access=private`` (unless ``foot`` says yes/designated/permissive); ``service=private``. Every
edge is walked both ways (one-way streets are one-way for cars only).

**Lengths** are metres in ``supply.project``'s plane (true to 0.3 % in Zhejiang), summed along
each way's vertices; a GraphML edge's own ``length`` is used when it is longer than that chord
(a curved edge without geometry). Segments longer than ``DENSIFY_M`` are split by nodes placed
along them, so a point beside a long straight street snaps to within 25 m of where it meets it.

**Snapping**: a demand record or facility is placed on its nearest node; the straight line to it
is walked too (it adds to the network distance). A point farther than ``SNAP_MAX_M`` from every
node is *off the network* (outside the file's area, or where the file has no streets): its
distances fall back to straight line × detour factor, and it is counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from needsmap.errors import UnusableFileError
from needsmap.i18n import error

DENSIFY_M = 50.0
SNAP_MAX_M = 300.0
# Dijkstra skips explicit zeros in a sparse matrix: two nodes at one place keep a millimetre.
MIN_EDGE_M = 0.001
# Sources are searched together per square tile of this side (``RoadNetwork.reach``).
TILE_M = 1_000.0
# Network paths are never shorter than the straight line between their ends (lengths are summed
# chords in the same plane), so a search within L metres needs only the nodes within L of the
# start; the margin covers GraphML lengths measured on the ellipsoid.
_DISC_MARGIN = 1.02

OSM_SUFFIXES = (".osm", ".xml", ".osm.bz2", ".osm.gz", ".pbf", ".osm.pbf")
GRAPHML_SUFFIXES = (".graphml", ".graphml.gz")
_NOT_WALKABLE_HIGHWAY = ("abandoned", "bus_guideway", "construction", "cycleway", "no", "planned", "platform",
                         "proposed", "raceway", "razed")


@dataclass(frozen=True)
class NetworkArrays:
    """A network as plain arrays: node coordinates (WGS-84) and undirected edges in metres."""

    lon: np.ndarray
    lat: np.ndarray
    source: np.ndarray
    target: np.ndarray
    length_m: np.ndarray
    ways: int = 0


def walkable(tags: dict[str, str]) -> bool:
    """Whether an OSM way with these tags is walked (see the module docstring)."""
    highway = tags.get("highway")
    if not highway or tags.get("area") == "yes":
        return False
    if highway in _NOT_WALKABLE_HIGHWAY or "motor" in highway:
        return False
    foot = tags.get("foot")
    if foot == "no":
        return False
    if tags.get("access") in ("private", "no") and foot not in ("yes", "designated", "permissive"):
        return False
    return tags.get("service") != "private"


def file_format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(GRAPHML_SUFFIXES):
        return "graphml"
    if name.endswith(OSM_SUFFIXES):
        return "pbf" if name.endswith(".pbf") else "osm"
    raise UnusableFileError(error("network_file_kind", name=path.name))


def read_network(path: Path | str) -> NetworkArrays:
    """The walkable network of an OSM XML/PBF or GraphML file, densified (``DENSIFY_M``)."""
    path = Path(path)
    if not path.is_file():
        raise UnusableFileError(error("file_not_found", name=path))
    kind = file_format(path)
    vertices, segments, given_length, ways = _read_graphml(path) if kind == "graphml" else _read_osm(path)
    if len(segments) == 0:
        raise UnusableFileError(error("network_no_streets", name=path.name))
    return _densified(vertices, segments, given_length, ways)


def _read_osm(path: Path) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, int]:
    import osmium

    node_ids: list[int] = []
    lons: list[float] = []
    lats: list[float] = []
    segment_from: list[int] = []
    segment_to: list[int] = []
    ways = 0
    try:
        # Only objects tagged highway reach Python (untagged nodes, buildings … stay in C++); node
        # locations are cached before that filter, so the ways still get their coordinates.
        processor = (osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY).with_locations()
                     .with_filter(osmium.filter.KeyFilter("highway")))
        for obj in processor:
            if not obj.is_way() or not walkable(dict(obj.tags)):
                continue
            # A node outside an extract's cut has no location: left out.
            points = [(node.ref, node.lon, node.lat) for node in obj.nodes if node.location.valid()]
            if len(points) >= 2:
                ways += 1
                refs, way_lons, way_lats = zip(*points, strict=True)
                node_ids.extend(refs)
                lons.extend(way_lons)
                lats.extend(way_lats)
                segment_from.extend(refs[:-1])
                segment_to.extend(refs[1:])
    except RuntimeError as exc:  # libosmium's parse errors
        raise UnusableFileError(error("network_osm_unreadable", name=path.name, reason=str(exc)[:120])) from exc
    vertices = pd.DataFrame({"id": node_ids, "lon": lons, "lat": lats}).drop_duplicates("id")
    segments = np.column_stack([np.asarray(segment_from, np.int64), np.asarray(segment_to, np.int64)]) \
        if segment_from else np.empty((0, 2), np.int64)
    return vertices, segments, np.full(len(segments), np.nan), ways


def _float(value: object) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _read_graphml(path: Path) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, int]:
    import networkx as nx
    import shapely

    try:
        graph = nx.read_graphml(path)
    except Exception as exc:  # networkx raises several kinds (NetworkXError, ParseError, KeyError …)
        raise UnusableFileError(error("network_graphml_unreadable", name=path.name,
                                      reason=exc.__class__.__name__)) from exc
    ids, lons, lats = [], [], []
    for node, data in graph.nodes(data=True):
        lon = _float(data.get("x", data.get("lon", data.get("longitude"))))
        lat = _float(data.get("y", data.get("lat", data.get("latitude"))))
        ids.append(str(node))
        lons.append(lon)
        lats.append(lat)
    lon_array, lat_array = np.asarray(lons), np.asarray(lats)
    if len(ids) and (np.isnan(lon_array).any() or np.abs(lon_array).max() > 180 or np.abs(lat_array).max() > 90):
        raise UnusableFileError(error("network_graphml_not_lonlat", name=path.name))
    vertices = pd.DataFrame({"id": ids, "lon": lon_array, "lat": lat_array})
    extra: list[tuple[str, float, float]] = []
    segment_from: list[str] = []
    segment_to: list[str] = []
    given: list[float] = []
    ways = 0
    for u, v, data in graph.edges(data=True):
        if str(u) == str(v):
            continue
        # OSMnx keeps these tags on its edges (a list where simplification merged ways: the first).
        tags = {key: str(data[key]).strip("[]").split(",")[0].strip("'\" ")
                for key in ("highway", "area", "foot", "access", "service") if data.get(key) is not None}
        if "highway" in tags and not walkable(tags):
            continue
        ways += 1
        geometry = data.get("geometry")
        points: list[tuple[float, float]] = []
        if isinstance(geometry, str) and geometry.strip().upper().startswith("LINESTRING"):
            try:
                points = [(float(x), float(y)) for x, y in shapely.from_wkt(geometry).coords]
            except (shapely.errors.GEOSException, ValueError):
                points = []
        chain = [str(u)]
        for x, y in points[1:-1]:
            # Named by place, so an edge and its reverse (OSMnx writes both) share their vertices.
            name = f"vertex {x:.7f} {y:.7f}"
            extra.append((name, x, y))
            chain.append(name)
        chain.append(str(v))
        segment_from.extend(chain[:-1])
        segment_to.extend(chain[1:])
        # An edge's own length applies to a single chord (no geometry); along a geometry the
        # chords are summed.
        given.extend([_float(data.get("length")) if len(chain) == 2 else np.nan] * (len(chain) - 1))
    if extra:
        vertices = pd.concat([vertices, pd.DataFrame(extra, columns=["id", "lon", "lat"]).drop_duplicates("id")],
                             ignore_index=True)
    codes = pd.Index(vertices["id"])
    segments = np.column_stack([codes.get_indexer(segment_from), codes.get_indexer(segment_to)]) \
        if segment_from else np.empty((0, 2), np.int64)
    vertices = vertices.assign(id=np.arange(len(vertices)))
    return vertices, segments, np.asarray(given, "float64"), ways


def _densified(vertices: pd.DataFrame, segments: np.ndarray, given_length: np.ndarray, ways: int) -> NetworkArrays:
    """Dense node numbers, chord lengths (or the given ones where longer), long segments split."""
    from needsmap.supply import project, unproject

    ids = pd.Index(vertices["id"])
    start, end = ids.get_indexer(segments[:, 0]), ids.get_indexer(segments[:, 1])
    keep = (start >= 0) & (end >= 0) & (start != end)
    start, end, given_length = start[keep], end[keep], given_length[keep]
    xy = project(vertices["lon"].to_numpy(), vertices["lat"].to_numpy())
    chord = np.hypot(*(xy[end] - xy[start]).T)
    length = np.fmax(chord, np.nan_to_num(given_length, nan=0.0))
    # Up to 5 % over is left whole: coordinates written to 7 decimals make a 50 m piece 50.01 m.
    pieces = np.maximum(1, np.ceil(chord / DENSIFY_M - 0.05).astype(np.int64))
    # Nodes placed along split segments, numbered after the file's own.
    split = np.flatnonzero(pieces > 1)
    inner_per_segment = pieces[split] - 1
    owner = np.repeat(split, inner_per_segment)
    step = np.arange(len(owner)) - np.repeat(np.cumsum(inner_per_segment) - inner_per_segment, inner_per_segment) + 1
    fraction = step / pieces[owner]
    inner_xy = xy[start[owner]] + (xy[end[owner]] - xy[start[owner]]) * fraction[:, None]
    inner_id = len(xy) + np.arange(len(owner))
    # Each segment becomes its chain of nodes: start, inner…, end.
    first_inner = np.zeros(len(start), np.int64)
    first_inner[split] = len(xy) + np.cumsum(inner_per_segment) - inner_per_segment
    chain_from = np.concatenate([start[pieces == 1], start[split], inner_id])
    next_of_inner = np.where(step < pieces[owner] - 1, inner_id + 1, end[owner])
    chain_to = np.concatenate([end[pieces == 1], first_inner[split], next_of_inner])
    chain_length = np.concatenate([length[pieces == 1], length[split] / pieces[split], length[owner] / pieces[owner]])
    all_xy = np.vstack([xy, inner_xy])
    used, remap = np.unique(np.concatenate([chain_from, chain_to]), return_inverse=True)
    lon, lat = unproject(all_xy[used])
    source, target = remap[:len(chain_from)], remap[len(chain_from):]
    # One edge per node pair (the shortest), smaller number first.
    low, high = np.minimum(source, target), np.maximum(source, target)
    order = np.lexsort((chain_length, high, low))
    low, high, chain_length = low[order], high[order], chain_length[order]
    first = np.ones(len(low), dtype=bool)
    first[1:] = (low[1:] != low[:-1]) | (high[1:] != high[:-1])
    return NetworkArrays(lon=lon, lat=lat, source=low[first].astype(np.int32), target=high[first].astype(np.int32),
                         length_m=np.maximum(chain_length[first], MIN_EDGE_M), ways=ways)


@dataclass
class RoadNetwork:
    """A walking network ready to route: node positions (``supply.project`` metres), a symmetric
    CSR matrix of edge lengths and a KD-tree of the nodes."""

    arrays: NetworkArrays
    name: str = ""
    node_xy: np.ndarray = field(init=False)
    graph: sparse.csr_matrix = field(init=False)
    tree: cKDTree = field(init=False)

    def __post_init__(self) -> None:
        from needsmap.supply import project

        a = self.arrays
        self.node_xy = project(a.lon, a.lat)
        n = len(a.lon)
        self.graph = sparse.csr_matrix(
            (np.concatenate([a.length_m, a.length_m]),
             (np.concatenate([a.source, a.target]), np.concatenate([a.target, a.source]))), shape=(n, n))
        self.tree = cKDTree(self.node_xy)

    @property
    def nodes(self) -> int:
        return len(self.node_xy)

    @property
    def edges(self) -> int:
        return len(self.arrays.source)

    def snap(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(nearest node, straight-line distance to it in m) of each point; node −1 and distance
        inf for points farther than ``SNAP_MAX_M`` (off the network)."""
        xy = np.asarray(xy, "float64").reshape(-1, 2)
        if len(xy) == 0:
            return np.empty(0, np.int64), np.empty(0)
        distance, node = self.tree.query(xy, k=1, distance_upper_bound=SNAP_MAX_M, workers=-1)
        off = ~np.isfinite(distance)
        node = np.where(off, -1, node).astype(np.int64)
        return node, distance

    def nearest_source_distance(self, source_node: np.ndarray, source_offset: np.ndarray, limit_m: float) -> np.ndarray:
        """Walking distance (m) from every node to its nearest source, each source starting at its
        node with ``source_offset`` metres already walked; inf beyond ``limit_m``. One Dijkstra
        from a virtual node joined to every source by its offset."""
        n = self.nodes
        if len(source_node) == 0:
            return np.full(n, np.inf)
        g = self.graph
        offsets = np.asarray(source_offset, "float64") + MIN_EDGE_M
        augmented = sparse.csr_matrix(
            (np.concatenate([g.data, offsets]), np.concatenate([g.indices, np.asarray(source_node, g.indices.dtype)]),
             np.concatenate([g.indptr, [g.indptr[-1] + len(offsets)]])),
            shape=(n + 1, n + 1))
        distance = dijkstra(augmented, directed=True, indices=n, limit=limit_m + MIN_EDGE_M)
        return distance[:n] - MIN_EDGE_M

    def reach(self, source_node: np.ndarray, source_offset: np.ndarray, limit_m: float
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(source index, node, walking distance in m) for every node within ``limit_m`` of each
        source (its offset included; sources with node −1 are skipped).

        Sources are taken in square tiles of ``TILE_M``: one Dijkstra from all of a tile's sources
        over the nodes within reach of the tile in straight line (no path of length L leaves the
        disc of radius L around its start), so a city's facilities cost a few hundred small
        searches, not one search of the whole network each."""
        source_node = np.asarray(source_node, np.int64)
        offset = np.asarray(source_offset, "float64")
        budget = limit_m - offset
        usable = np.flatnonzero((source_node >= 0) & (budget >= 0))
        if len(usable) == 0:
            return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
        start_xy = self.node_xy[source_node[usable]]
        _, tile = np.unique(np.floor(start_xy / TILE_M).astype(np.int64), axis=0, return_inverse=True)
        order = np.argsort(tile.ravel(), kind="stable")
        cuts = np.flatnonzero(np.diff(tile.ravel()[order])) + 1
        lookup = np.full(self.nodes, -1, np.int64)  # per call: the network is shared by page threads
        sources, nodes, distances = [], [], []
        for group in np.split(order, cuts):
            members = usable[group]
            most = float(budget[members].max())
            if len(members) == 1:
                centre, reach_m = start_xy[group[0]], most * _DISC_MARGIN + 1.0
            else:
                low, high = start_xy[group].min(axis=0), start_xy[group].max(axis=0)
                centre = (low + high) / 2
                reach_m = float(np.hypot(*(high - low))) / 2 + most * _DISC_MARGIN + 1.0
            local = np.asarray(self.tree.query_ball_point(centre, reach_m, return_sorted=True), np.int64)
            distance = np.atleast_2d(dijkstra(self._subgraph(local, lookup), directed=True,
                                              indices=np.searchsorted(local, source_node[members]), limit=most))
            row, column = np.nonzero(distance <= budget[members][:, None])
            sources.append(members[row])
            nodes.append(local[column])
            distances.append(distance[row, column] + offset[members][row])
        return np.concatenate(sources), np.concatenate(nodes), np.concatenate(distances)

    def _subgraph(self, local: np.ndarray, lookup: np.ndarray) -> sparse.csr_matrix:
        """The graph among the sorted nodes ``local`` (renumbered 0 … len − 1); ``lookup`` is an
        all −1 array of the network's size, left as it was found. Plain numpy over the rows of
        ``local`` only (scipy's fancy indexing touches every column of the network per call)."""
        g = self.graph
        lookup[local] = np.arange(len(local))
        starts = g.indptr[local].astype(np.int64)
        counts = g.indptr[local + 1].astype(np.int64) - starts
        position = np.repeat(starts - (np.cumsum(counts) - counts), counts) + np.arange(int(counts.sum()))
        column = lookup[g.indices[position]]
        row = np.repeat(np.arange(len(local)), counts)
        lookup[local] = -1
        keep = column >= 0
        # Rows stay in order and columns keep their order (the renumbering is monotonic): CSR as is.
        indptr = np.concatenate([[0], np.cumsum(np.bincount(row[keep], minlength=len(local)))])
        return sparse.csr_matrix((g.data[position][keep], column[keep], indptr), shape=(len(local), len(local)))
