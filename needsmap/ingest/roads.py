"""The road network import: an OSM (XML/PBF) or GraphML file in, the walking network stored.

``import_network(path, db)`` reads the file with ``network.read_network`` (walkable ways only,
densified) and replaces the stored network in one transaction (``store.writing``). The file
itself is not kept; its name, checksum and size are (``road_networks``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyarrow as pa

from needsmap import network, schema, store


@dataclass(frozen=True)
class NetworkImportReport:
    file_name: str
    file_format: str
    ways: int
    nodes: int
    edges: int
    length_km: float

    def summary_line(self) -> str:
        return (f"已导入路网 imported road network {self.file_name} ({self.file_format}): ways={self.ways} "
                f"nodes={self.nodes} edges={self.edges} length_km={self.length_km:,.1f}")


def import_network(path: Path | str, db: Path | str) -> NetworkImportReport:
    """Read a road network file and store it in ``db`` (created if missing), replacing any stored
    network. A file that cannot be used raises ``UnusableFileError`` and changes nothing."""
    path, db = Path(path), Path(db)
    arrays = network.read_network(path)
    report = NetworkImportReport(file_name=path.name, file_format=network.file_format(path), ways=arrays.ways,
                                 nodes=len(arrays.lon), edges=len(arrays.source),
                                 length_km=float(arrays.length_m.sum() / 1000))
    nodes = pa.table({"node": pa.array(range(len(arrays.lon)), pa.int32()), "lon": arrays.lon, "lat": arrays.lat})
    edges = pa.table({"source": arrays.source, "target": arrays.target, "length_m": arrays.length_m})
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    with store.writing(db) as con:
        con.execute(schema.ROAD_DDL)
        for table in ("road_nodes", "road_edges", "road_networks"):
            con.execute(f"DELETE FROM {table}")  # fixed names: one network at a time
        con.register("incoming_road_nodes", nodes)
        con.register("incoming_road_edges", edges)
        con.execute("INSERT INTO road_nodes SELECT node, lon, lat FROM incoming_road_nodes")
        con.execute("INSERT INTO road_edges SELECT source, target, length_m FROM incoming_road_edges")
        con.unregister("incoming_road_nodes")
        con.unregister("incoming_road_edges")
        con.execute(
            "INSERT INTO road_networks VALUES ($file, $sha, $format, $at, $ways, $nodes, $edges, $km)",
            {"file": path.name, "sha": sha256, "format": report.file_format, "at": datetime.now(), "ways": report.ways,
             "nodes": report.nodes, "edges": report.edges, "km": report.length_km},
        )
    return report
