"""Walking distances over a road network, on a crafted river town whose answers are worked out
by hand below and checked again with networkx in the test.

The town, in metres east/north of a point in Hangzhou (``tests.test_supply.at``): a river runs
east–west between two streets, 沿河南路 (y = 0) and 沿河北路 (y = 200), each from x = −800 to
800 with a node every 50 m. The only footbridge is at x = 600. A motorway link crosses the river
at x = 0 (not walkable), and a private compound road at x = −400 (``service=private``, not
walkable). The elderly-care facility is at (0, 0) on the south street.

    record  at            requester  straight (m)  network walk (m)            15 min: straight / network
    A       (0, 200)      p1         200           600 + 200 + 600 = 1,400     yes / no
    B       (250, 0)      p2         250           250                         yes / yes
    C       (600, 200)    p3         632           600 + 200 = 800             yes / yes
    D       (−600, 200)   p4         632           600 + 200 + 1,200 = 2,000   yes / no
    E       (500, −400)   p5         640           off the network (400 m)     yes / yes (straight)
    F       (300, 30)     p2         301           30 + 300 = 330              yes / yes
    G       (−100, 230)   p6         251           30 + 100 + 600 + 200 + 600  yes / no
    H       (5000, 5000)  p7         7,071         off the network             no / no

15-minute circle (1,000 m walk, 769 m straight): straight line covers 7 of 8 records (6 of 7
requesters); the network 4 of 8 (B C E F; requesters p2 p3 p5 = 3 of 7), E and H measured in
straight line (more than 300 m from every node). 10-minute circle (500 m walk, 385 m straight):
B and F, 2 of 8. 5-minute circle (300 m walk): B alone.
"""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from needsmap import network, supply
from needsmap.errors import UnusableFileError
from needsmap.filters import Filter
from needsmap.ingest.roads import import_network
from tests.test_supply import at

STEP = 50
XS = list(range(-800, 801, STEP))
RECORDS = {"A": ((0, 200), "p1"), "B": ((250, 0), "p2"), "C": ((600, 200), "p3"), "D": ((-600, 200), "p4"),
           "E": ((500, -400), "p5"), "F": ((300, 30), "p2"), "G": ((-100, 230), "p6"), "H": ((5000, 5000), "p7")}
FACILITY = (0, 0)


def node_id(x: int, y: int) -> int:
    """OSM-style positive node ids, one per point of the town."""
    return 1_000_000 + (x + 1000) * 1000 + y + 100


# Ways: (id, points, tags). Walkable: the two streets and the footbridge.
WAYS = [
    (2001, [(x, 0) for x in XS], {"highway": "residential", "name": "沿河南路"}),
    (2002, [(x, 200) for x in XS], {"highway": "residential", "name": "沿河北路"}),
    (2003, [(600, 0), (600, 50), (600, 100), (600, 150), (600, 200)],
     {"highway": "footway", "bridge": "yes", "layer": "1", "name": "望江桥"}),
    (2004, [(0, 0), (0, 100), (0, 200)], {"highway": "motorway_link", "bridge": "yes", "oneway": "yes"}),
    (2005, [(-400, 0), (-400, 100), (-400, 200)], {"highway": "service", "service": "private", "bridge": "yes"}),
    (2006, [(200, 300), (250, 300), (250, 350), (200, 350), (200, 300)], {"building": "yes"}),
]
WALKABLE = (2001, 2002, 2003)


def _points() -> dict[int, tuple[int, int]]:
    return {node_id(*p): p for _, points, _ in WAYS for p in points}


def write_overpass_xml(path: Path) -> Path:
    """The town as Overpass API's XML export writes it (7 decimals, nodes first, then ways)."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<osm version="0.6" generator="Overpass API 0.7.62.1 084b4234">',
             '<note>The data included in this document is from www.openstreetmap.org. '
             'The data is made available under ODbL.</note>',
             '<meta osm_base="2025-08-01T10:00:00Z"/>']
    lon_lat = {n: at(*p) for n, p in _points().items()}
    lons, lats = [v[0] for v in lon_lat.values()], [v[1] for v in lon_lat.values()]
    lines.append(f'  <bounds minlat="{min(lats):.7f}" minlon="{min(lons):.7f}" maxlat="{max(lats):.7f}" '
                 f'maxlon="{max(lons):.7f}"/>')
    for n in sorted(lon_lat):
        lines.append(f'  <node id="{n}" lat="{lon_lat[n][1]:.7f}" lon="{lon_lat[n][0]:.7f}"/>')
    for way_id, points, tags in WAYS:
        lines.append(f'  <way id="{way_id}">')
        lines += [f'    <nd ref="{node_id(*p)}"/>' for p in points]
        lines += [f'    <tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        lines.append('  </way>')
    lines.append('</osm>')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_pbf(path: Path) -> Path:
    """The same town as an OSM PBF file, written by libosmium (as osmium-tool writes extracts)."""
    import osmium

    writer = osmium.SimpleWriter(str(path))
    try:
        for n, p in sorted(_points().items()):
            lon, lat = at(*p)
            writer.add_node(osmium.osm.mutable.Node(id=n, location=osmium.osm.Location(lon, lat), version=1))
        for way_id, points, tags in WAYS:
            writer.add_way(osmium.osm.mutable.Way(id=way_id, nodes=[node_id(*p) for p in points], tags=tags, version=1))
    finally:
        writer.close()
    return path


def write_osmnx_graphml(path: Path) -> Path:
    """The town as OSMnx's ``save_graphml`` writes a simplified graph: intersections and ends as
    nodes (x, y in degrees), both directions of each street, every attribute a string, a curved
    (multi-vertex) edge carrying its ``geometry`` as WKT, lengths in metres."""
    junctions = [(-800, 0), (0, 0), (600, 0), (800, 0), (-800, 200), (0, 200), (600, 200), (800, 200),
                 (-400, 0), (-400, 200)]
    edges = []  # (u, v, vertices, highway, name); the compound road keeps its service=private
    for y, name in ((0, "沿河南路"), (200, "沿河北路")):
        stops = [-800, -400, 0, 600, 800]
        for a, b in zip(stops, stops[1:], strict=False):
            edges.append(((a, y), (b, y), [(x, y) for x in XS if a <= x <= b], "residential", name))
    edges.append(((600, 0), (600, 200), [(600, 0), (600, 200)], "footway", "望江桥"))
    edges.append(((0, 0), (0, 200), [(0, 0), (0, 200)], "motorway_link", ""))
    edges.append(((-400, 0), (-400, 200), [(-400, 0), (-400, 200)], "service", ""))
    keys = [("d0", "graph", "created_with"), ("d1", "graph", "crs"), ("d2", "graph", "simplified"),
            ("d3", "node", "y"), ("d4", "node", "x"), ("d5", "node", "street_count"), ("d6", "edge", "osmid"),
            ("d7", "edge", "highway"), ("d8", "edge", "name"), ("d9", "edge", "oneway"), ("d10", "edge", "reversed"),
            ("d11", "edge", "length"), ("d12", "edge", "geometry"), ("d13", "edge", "service")]
    out = ["<?xml version='1.0' encoding='utf-8'?>",
           '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
           ' xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
           'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">']
    out += [f'  <key id="{k}" for="{f}" attr.name="{n}" attr.type="string" />' for k, f, n in reversed(keys)]
    out += ['  <graph edgedefault="directed">', '    <data key="d0">OSMnx 2.0.6</data>',
            '    <data key="d1">epsg:4326</data>', '    <data key="d2">True</data>']
    for p in junctions:
        lon, lat = at(*p)
        out.append(f'    <node id="{node_id(*p)}">\n      <data key="d3">{lat!r}</data>\n      <data key="d4">{lon!r}</data>'
                   f'\n      <data key="d5">3</data>\n    </node>')
    for number, (u, v, vertices, highway, name) in enumerate(edges):
        length = sum(float(np.hypot(b[0] - a[0], b[1] - a[1])) for a, b in zip(vertices, vertices[1:], strict=False))
        for key, (a, b, points, is_reversed) in enumerate(((u, v, vertices, "False"), (v, u, vertices[::-1], "True"))):
            geometry = ""
            if len(points) > 2:
                geometry = ("\n      <data key=\"d12\">LINESTRING ("
                            + ", ".join(f"{at(*p)[0]!r} {at(*p)[1]!r}" for p in points) + ")</data>")
            if highway == "service":
                geometry += "\n      <data key=\"d13\">private</data>"
            out.append(f'    <edge source="{node_id(*a)}" target="{node_id(*b)}" id="0">\n      <data key="d6">{2001 + number}</data>'
                       f'\n      <data key="d7">{highway}</data>\n      <data key="d8">{name}</data>'
                       f'\n      <data key="d9">False</data>\n      <data key="d10">{is_reversed}</data>'
                       f'\n      <data key="d11">{length!r}</data>{geometry}\n    </edge>')
    out += ["  </graph>", "</graphml>"]
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def demand_frame() -> pd.DataFrame:
    return pd.DataFrame([{"lon": at(*xy)[0], "lat": at(*xy)[1], "district_adcode": "330106", "requester_key": person,
                          "label": label} for label, (xy, person) in RECORDS.items()])


def facility_frame() -> pd.DataFrame:
    lon, lat = at(*FACILITY)
    return pd.DataFrame([{"facility_id": "Y1", "name": "沿河颐养中心", "facility_type": "养老院", "capacity": 20.0,
                          "lon": lon, "lat": lat, "district_adcode": "330106"}])


def independent_coverage(walk_m: float) -> dict[str, bool]:
    """Each record covered or not, worked out with networkx on the town's own walkable ways
    (Euclidean metres, the nodes as written), snapping to the nearest node within 300 m and
    falling back to the straight line ÷ 1.3 beyond."""
    graph = nx.Graph()
    for way_id, points, _ in WAYS:
        if way_id in WALKABLE:
            for a, b in zip(points, points[1:], strict=False):
                graph.add_edge(a, b, weight=float(np.hypot(b[0] - a[0], b[1] - a[1])))
    from_facility = nx.single_source_dijkstra_path_length(graph, FACILITY, weight="weight")
    nodes = np.array(list(graph.nodes))
    covered = {}
    for label, (xy, _) in RECORDS.items():
        gaps = np.hypot(*(nodes - np.array(xy)).T)
        nearest = int(np.argmin(gaps))
        if gaps[nearest] > 300:
            covered[label] = float(np.hypot(*np.subtract(xy, FACILITY))) <= walk_m / 1.3
        else:
            covered[label] = from_facility.get(tuple(nodes[nearest]), np.inf) + gaps[nearest] <= walk_m
    return covered


@pytest.fixture(params=["overpass.osm", "extract.osm.pbf", "osmnx.graphml"])
def town_file(request, tmp_path: Path) -> Path:
    writer = {"overpass.osm": write_overpass_xml, "extract.osm.pbf": write_pbf,
              "osmnx.graphml": write_osmnx_graphml}[request.param]
    return writer(tmp_path / f"沿河镇_{request.param}")


def town_supply(road: network.RoadNetwork | None, minutes: int = 15) -> supply.CategorySupply:
    return supply.CategorySupply(demand_frame(), facility_frame(), supply.catchment_radius_m(minutes), network=road,
                                 walk_m=supply.LIFE_CIRCLE_WALK_M[minutes])


def covered_labels(state: supply.CategorySupply) -> set[str]:
    return set(state.demand.loc[state.covered, "label"])


def test_the_river_point_is_covered_in_straight_line_and_not_by_the_network(town_file):
    road = network.RoadNetwork(network.read_network(town_file))
    straight, walked = town_supply(None), town_supply(road)
    assert covered_labels(straight) == {"A", "B", "C", "D", "E", "F", "G"}
    assert covered_labels(walked) == {"B", "C", "E", "F"}
    assert "A" in covered_labels(straight) and "A" not in covered_labels(walked)


def test_network_coverage_matches_networkx_shortest_paths(town_file):
    road = network.RoadNetwork(network.read_network(town_file))
    for minutes in (15, 10, 5):
        state = town_supply(road, minutes)
        expected = independent_coverage(supply.LIFE_CIRCLE_WALK_M[minutes])
        assert dict(zip(state.demand["label"], state.covered, strict=True)) == expected, minutes
    assert [sum(independent_coverage(walk).values()) for walk in (1000, 500, 300)] == [4, 2, 1]


def test_shares_of_records_and_requesters_by_network(town_file):
    road = network.RoadNetwork(network.read_network(town_file))
    row = supply.district_measures(town_supply(road), pd.Series({"330106": 10_000.0})).set_index("district_adcode")
    assert row.loc["330106", "coverage_share"] == pytest.approx(4 / 8)
    assert row.loc["330106", "requester_coverage_share"] == pytest.approx(3 / 7)
    assert row.loc["330106", "unmet_per_10k"] == pytest.approx(4.0)
    straight = supply.district_measures(town_supply(None), pd.Series({"330106": 10_000.0})).set_index("district_adcode")
    assert straight.loc["330106", "coverage_share"] == pytest.approx(7 / 8)
    assert straight.loc["330106", "requester_coverage_share"] == pytest.approx(6 / 7)


def test_records_off_the_network_are_measured_in_straight_line_and_counted(town_file):
    road = network.RoadNetwork(network.read_network(town_file))
    state = town_supply(road)
    assert state.distances() == {"kind": "network", "network": "", "records_off_network": 2, "facilities_off_network": 0}
    assert list(state.demand.loc[state.demand_node < 0, "label"]) == ["E", "H"]
    assert town_supply(None).distances()["kind"] == "straight"


def test_2sfca_counts_the_walkable_catchment(town_file):
    road = network.RoadNetwork(network.read_network(town_file))
    state = town_supply(road)
    assert int(state.facilities.loc[0, "demand_in_catchment"]) == 4  # B C E F
    assert int(state.facilities.loc[0, "requesters_in_catchment"]) == 3
    assert state.access.tolist() == pytest.approx([20 / 4 if label in "BCEF" else 0.0 for label in state.demand["label"]])


def test_fast_coverage_of_all_categories_agrees_with_the_pairs(town_file):
    road = network.RoadNetwork(network.read_network(town_file))
    demand = demand_frame()
    codes = np.full(len(demand), "elderly_care", dtype=object)
    facilities = facility_frame().assign(category="elderly_care")
    fast = supply.covered_by_category(demand["lon"], demand["lat"], codes, facilities, supply.catchment_radius_m(15),
                                      network=road, walk_m=1000.0)
    assert fast.tolist() == town_supply(road).covered.tolist()


def test_what_if_a_facility_on_the_north_bank(town_file):
    road = network.RoadNetwork(network.read_network(town_file))
    lon, lat = at(0, 200)
    result = town_supply(road).what_if(lon, lat)
    # From (0, 200): A 0, G 130, D 600, C 600 by the north street; B, F across the river by the
    # bridge (600 + 200 + 350 = 1,150; F 1,100 + 30): not reached; E, H off the network, E 781 m straight.
    assert result["reached"] == 4 and result["newly_covered"] == 3  # A C D G; new: A D G
    assert result["covered_after"] == 7


def test_import_stores_the_network_and_pages_read_it_back(town_file, tmp_path: Path):
    db = tmp_path / "town.duckdb"
    report = import_network(town_file, db)
    assert report.nodes == len(road_nodes := network.read_network(town_file).lon)
    assert report.ways == 3 if report.file_format != "graphml" else report.ways == 18
    from needsmap import store

    con = store.open_readonly(db)
    try:
        loaded = supply.load_network(con)
    finally:
        con.close()
    assert loaded is not None and loaded.nodes == len(road_nodes) and loaded.name == town_file.name
    assert covered_labels(town_supply(loaded)) == {"B", "C", "E", "F"}


def test_a_second_import_replaces_the_network(tmp_path: Path):
    db = tmp_path / "town.duckdb"
    import_network(write_overpass_xml(tmp_path / "a.osm"), db)
    import_network(write_osmnx_graphml(tmp_path / "b.graphml"), db)
    from needsmap import store, supply_queries

    con = store.open_readonly(db)
    try:
        info = supply_queries.road_network_info(con)
        count = con.execute("SELECT count(*) FROM road_networks").fetchone()[0]
    finally:
        con.close()
    assert count == 1 and info["file_name"] == "b.graphml" and info["file_format"] == "graphml"


def test_the_cli_imports_a_network_and_names_a_bad_file(tmp_path: Path, capsys):
    from needsmap.__main__ import main

    db = tmp_path / "cli.duckdb"
    assert main(["network", "import", str(write_overpass_xml(tmp_path / "town.osm")), "--db", str(db)]) == 0
    assert "ways=3" in capsys.readouterr().out
    (tmp_path / "roads.txt").write_text("not a network", encoding="utf-8")
    assert main(["network", "import", str(tmp_path / "roads.txt"), "--db", str(db)]) == 2
    assert "不认识的路网文件类型" in capsys.readouterr().err
    (tmp_path / "broken.osm").write_text("<osm><node id='1' lat='x'", encoding="utf-8")
    assert main(["network", "import", str(tmp_path / "broken.osm"), "--db", str(db)]) == 2
    assert "broken.osm" in capsys.readouterr().err


def test_the_walk_filter_follows_osmnx():
    assert network.walkable({"highway": "residential"})
    assert network.walkable({"highway": "footway", "access": "private", "foot": "yes"})
    for tags in ({"highway": "motorway"}, {"highway": "motorway_link"}, {"highway": "cycleway"},
                 {"highway": "construction"}, {"highway": "footway", "foot": "no"}, {"highway": "service",
                 "service": "private"}, {"highway": "pedestrian", "area": "yes"}, {"building": "yes"},
                 {"highway": "residential", "access": "private"}):
        assert not network.walkable(tags), tags


def test_long_segments_are_split_so_points_snap_close_to_the_street(tmp_path: Path):
    """The GraphML's south street is a few long edges; split, it has a node every 50 m."""
    road = network.RoadNetwork(network.read_network(write_osmnx_graphml(tmp_path / "town.graphml")))
    _, gap = road.snap(np.array([[supply.project([at(300, 30)[0]], [at(300, 30)[1]])[0][0],
                                  supply.project([at(300, 30)[0]], [at(300, 30)[1]])[0][1]]]))
    assert gap[0] == pytest.approx(30, abs=0.01)
    south = np.sort(road.node_xy[np.abs(road.node_xy[:, 1] - supply.project([at(0, 0)[0]], [at(0, 0)[1]])[0][1]) < 1, 0])
    assert len(south) == len(XS) and np.diff(south).max() == pytest.approx(STEP, abs=1e-6)


def test_a_file_without_streets_is_refused(tmp_path: Path):
    path = tmp_path / "buildings.osm"
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="JOSM">\n'
                    '  <node id="-1" action="modify" visible="true" lat="30.25" lon="120.1" />\n'
                    '  <node id="-2" action="modify" visible="true" lat="30.251" lon="120.1" />\n'
                    '  <way id="-3" action="modify" visible="true">\n    <nd ref="-1" />\n    <nd ref="-2" />\n'
                    '    <tag k="barrier" v="wall" />\n  </way>\n</osm>\n', encoding="utf-8")
    with pytest.raises(UnusableFileError, match="没有可步行的道路"):
        network.read_network(path)


@pytest.fixture
def town_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The river town as a database: its eight records (elderly care) and its facility, imported
    from a GBK list with Chinese headers; no road network yet."""
    from needsmap.ingest.facilities import import_facilities
    from tests.conftest import write_records
    from tests.ingest_files import write_csv

    records = [dict(record_id=f"R{n}", category="elderly_care", lon=at(*xy)[0], lat=at(*xy)[1],
                    district_adcode="330106", requester_hash=person)
               for n, (xy, person) in enumerate(RECORDS.values(), 1)]
    db = write_records(tmp_path / "town.duckdb", records)
    lon, lat = at(*FACILITY)
    import_facilities(write_csv(tmp_path / "设施.csv", pd.DataFrame(
        [{"设施编号": "Y1", "名称": "沿河颐养中心", "类型": "养老院", "床位": 20, "经度": lon, "纬度": lat}]), "gbk"), db)
    monkeypatch.setenv("NEEDSMAP_DB", str(db))
    return db


def test_build_uses_the_stored_network(town_db: Path, tmp_path: Path):
    from needsmap import store

    def built() -> supply.CategorySupply:
        con = store.open_readonly(town_db)
        try:
            return supply.build(con, Filter(), "elderly_care")
        finally:
            con.close()

    before = built()
    import_network(write_overpass_xml(tmp_path / "town.osm"), town_db)
    after = built()
    assert int(before.covered.sum()) == 7 and before.distances()["kind"] == "straight"
    assert int(after.covered.sum()) == 4 and after.distances() == {
        "kind": "network", "network": "town.osm", "records_off_network": 2, "facilities_off_network": 0}


def test_the_supply_page_says_which_distance_it_shows(town_db: Path, tmp_path: Path):
    from tests.apptest_pages import metrics, open_page

    app = open_page("pages/6_supply.py")
    assert not app.exception, [e.value for e in app.exception]
    assert metrics(app)["生活圈内的诉求占比"] == "87.5%"  # 7 of 8 in straight line
    assert any("直线距离 × 绕行系数 1.3" in c.value and "未导入路网" in c.value for c in app.caption)
    import_network(write_overpass_xml(tmp_path / "town.osm"), town_db)
    app = open_page("pages/6_supply.py")
    assert not app.exception, [e.value for e in app.exception]
    shown = metrics(app)
    assert shown["生活圈内的诉求占比"] == "50.0%" and shown["生活圈内的诉求人占比"] == "42.9%"  # 4 of 8, 3 of 7
    note = next(c.value for c in app.caption if "步行路网距离" in c.value)
    assert note == ("距离：步行路网距离（路网 town.osm；1,000 米步行，GB 50180-2018）。距路网超过 300 米的 2 条诉求、"
                    "0 个设施按直线距离 × 绕行系数 1.3 计。")
    english = open_page("pages/6_supply.py", lang="en", circle="10")
    assert metrics(english)["Records within a life circle"] == "25.0%"  # B and F: 2 of 8
    assert any("walking along the road network (town.osm; 500 m walk" in c.value for c in english.caption)


def test_the_briefing_says_the_network_was_used(town_db: Path, tmp_path: Path):
    from needsmap import brief, store
    from needsmap.formatting import place_names

    import_network(write_osmnx_graphml(tmp_path / "town.graphml"), town_db)
    con = store.open_readonly(town_db)
    try:
        districts = con.execute("SELECT adcode, population_2020, name, city, city_adcode FROM districts").df()
        lines, note = brief._supply(con, brief.place_filter(con, "330106"), place_names(districts), 1, "zh")
    finally:
        con.close()
    assert lines[0].startswith("养老服务：50.0% 的诉求在 15 分钟生活圈内（全省 50.0%）")
    assert note.startswith("距离：步行路网距离（路网 town.graphml；") and "2 条诉求、0 个设施" in note


def test_the_bench_street_grid_is_a_grid():
    """Streets every 100 m, 200 m each side: 5 + 5 streets of 9 nodes (25 shared), 80 pieces of
    50 m; corner to corner is 800 m by the streets."""
    from needsmap import bench

    road = network.RoadNetwork(bench.street_grid(120.16, 30.27, 200, 100))
    assert (road.nodes, road.edges) == (65, 80) and set(road.arrays.length_m) == {50.0}
    centre = supply.project([120.16], [30.27])[0]
    corners, _ = road.snap(np.array([centre + (-200, -200), centre + (200, 200)]))
    _, reached, walked = road.reach(corners[:1], np.zeros(1), 10_000)
    assert walked[reached == corners[1]] == pytest.approx([800.0])


def test_best_sites_walk_the_network_too(town_file):
    """The uncovered by the network: A, D, G (and H, far off). A candidate on the south bank
    (0, −50) reaches A, G, D in straight line but none of them on foot; one on the north bank
    (0, 200) reaches all three either way."""
    road = network.RoadNetwork(network.read_network(town_file))
    state = town_supply(road)
    uncovered = state.uncovered()
    assert sorted(uncovered["label"]) == ["A", "D", "G", "H"]
    candidates = pd.DataFrame([at(0, -50), at(0, 200)], columns=["lon", "lat"])
    walked = supply.best_sites(uncovered, 2, state.radius_m, candidates=candidates, method="greedy",
                               network=road, walk_m=state.walk_m)
    assert len(walked) == 1 and walked["newly_covered"].tolist() == [3]
    assert (walked["lon"].iloc[0], walked["lat"].iloc[0]) == pytest.approx(at(0, 200))
    straight = supply.best_sites(uncovered, 2, state.radius_m, candidates=candidates, method="greedy")
    assert straight["newly_covered"].tolist() == [3]
    assert (straight["lon"].iloc[0], straight["lat"].iloc[0]) == pytest.approx(at(0, -50))
