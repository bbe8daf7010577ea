"""Command line: ``python -m needsmap import|facilities|boundaries|network|demo|bench|brief|needs …``.

Each subcommand prints one clear line and exits non-zero on a problem a user can fix; no
traceback is shown for those.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from needsmap import settings
from needsmap.errors import NeedsmapError
from needsmap.i18n import error


def _db_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", type=Path, default=None,
                        help="DuckDB file, or a lake: ducklake:postgres:<connection string> (default: $NEEDSMAP_STORE, "
                             "else $NEEDSMAP_DB, else needsmap.duckdb in the data folder, $NEEDSMAP_DATA_DIR); "
                             "created if missing")


def _at_least_one(text: str) -> int:
    """A whole number ≥ 1 (argparse answers anything else with its usage and a sentence)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(error("arg_at_least_one", text=text))
    return value


def _weight(text: str) -> float:
    """A factor's weight: a number from 0 to 10."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 10:
        raise argparse.ArgumentTypeError(error("arg_weight", text=text))
    return value


def _file_args(parser: argparse.ArgumentParser, source_help: str) -> None:
    """FILE, --db, --crs and --source: what every import command takes."""
    parser.add_argument("file", type=Path)
    _db_arg(parser)
    parser.add_argument("--crs", choices=("wgs84", "gcj02", "bd09"), default="wgs84",
                        help="coordinate system of the file's lon/lat (default wgs84)")
    parser.add_argument("--source", default=None, help=source_help)


def _import_command(sub: argparse._SubParsersAction, command: str, help_text: str,
                    import_help: str) -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    """``<command> import FILE [--db]``: (the import subcommand's parser, the command's subcommands)."""
    parser = sub.add_parser(command, help=help_text)
    commands = parser.add_subparsers(dest=f"{command}_command", required=True)
    p_import = commands.add_parser("import", help=import_help)
    p_import.add_argument("file", type=Path)
    _db_arg(p_import)
    return p_import, commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m needsmap", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p_import = sub.add_parser("import", help="import a CSV / XLSX / Parquet / GeoJSON file of demand records")
    _file_args(p_import, "name of the source system, kept with the batch")
    p_import.add_argument("--sheet", default=None,
                          help="read only this sheet of a workbook (default: every sheet with the data's header)")

    p_facilities = sub.add_parser("facilities", help="facilities (supply): import a list of service facilities")
    facilities_sub = p_facilities.add_subparsers(dest="facilities_command", required=True)
    p_fac_import = facilities_sub.add_parser("import", help="import a CSV / XLSX / GeoJSON list of facilities")
    _file_args(p_fac_import, "name of the list's source, kept with each facility")

    p_b_import, boundaries_sub = _import_command(
        sub, "boundaries", "boundary layers below the county: townships, communities, grids",
        "import a GeoJSON, zipped Shapefile or GeoPackage of townships, communities or grid cells")
    p_b_import.add_argument("--level", required=True, choices=("township", "community", "grid"))
    p_b_import.add_argument("--name-field", default=None, help="field holding each unit's name (default: found by name)")
    p_b_import.add_argument("--code-field", default=None,
                            help="field holding each unit's code, e.g. 统计用区划代码 (default: found by name; none: made up)")
    p_b_import.add_argument("--population-field", default=None, help="field holding each unit's population")
    p_b_import.add_argument("--population-table", type=Path, default=None,
                            help="a CSV / XLSX of population by unit code (统计用区划代码) or name; wins over the file's field")
    p_b_import.add_argument("--crs", default=None,
                            help="coordinate system: wgs84, cgcs2000, gcj02, bd09 or EPSG:code such as EPSG:4549 "
                                 "(default: the file's own; required for a Shapefile without .prj)")
    p_b_import.add_argument("--layer-id", default=None, help="short id of the layer (default: the level, or level-2 …)")
    p_b_import.add_argument("--replace", action="store_true", help="replace the layer of that id and re-link the records")
    p_b_list = boundaries_sub.add_parser("list", help="list the boundary layers of the database")
    _db_arg(p_b_list)

    _import_command(sub, "network", "road network (walking distances for the life circles)",
                    "import an OSM (.osm, .osm.pbf) or GraphML file; catchments then use walking distances")

    p_store = sub.add_parser("store", help="the store: maintain a lake, or migrate between a DuckDB file and a lake")
    store_sub = p_store.add_subparsers(dest="store_command", required=True)
    p_maintain = store_sub.add_parser("maintain", help="a lake: merge small files, expire old snapshots, delete unused files")
    _db_arg(p_maintain)
    p_maintain.add_argument("--keep-snapshots", type=_at_least_one, default=10,
                            help="snapshots kept for time travel (default 10; older ones expire)")
    p_migrate = store_sub.add_parser("migrate", help="copy the store (--db) into a new one (--to), counts checked")
    _db_arg(p_migrate)
    p_migrate.add_argument("--to", dest="target", type=Path, required=True,
                           help="the new store: a DuckDB file, or ducklake:postgres:<connection string>")

    p_demo = sub.add_parser("demo", help="build a deterministic demo database (or CSV) for Zhejiang")
    _db_arg(p_demo)
    p_demo.add_argument("--records", type=int, default=50_000)
    p_demo.add_argument("--seed", type=int, default=2025)
    p_demo.add_argument("--csv", type=Path, default=None,
                        help="write a hotline-style CSV (Chinese headers) instead of a database")
    p_demo.add_argument("--csv-crs", choices=("wgs84", "gcj02"), default="wgs84",
                        help="coordinate system of the CSV's lon/lat (default wgs84); import it with the same --crs")

    p_bench = sub.add_parser("bench", help="time every view's refresh at scale")
    _db_arg(p_bench)
    p_bench.add_argument("--records", type=int, default=1_000_000)
    p_bench.add_argument("--repeat", type=int, default=20)
    p_bench.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    p_bench.add_argument("--browser", action="store_true",
                         help="also time the app in Debian's Chromium (filter change, drill-down, page move, fresh tab, "
                              "an empty Streamlit app): browser_*_ms, median of --browser-repeat")
    p_bench.add_argument("--browser-only", action="store_true", help="time only the browser interactions (implies --browser)")
    p_bench.add_argument("--browser-repeat", type=int, default=5)
    p_bench.add_argument("--store", dest="bench_store", choices=("lake",), default=None,
                         help="also time a DuckLake (lake_* figures) on a throwaway PostgreSQL started for the run")

    p_brief = sub.add_parser("brief", help="a district or city briefing (pdf|pptx|png|html)")
    _db_arg(p_brief)
    # One place or the other: argparse says so in its usage message (exit 2, no traceback).
    brief_place = p_brief.add_mutually_exclusive_group(required=True)
    brief_place.add_argument("--district", default=None, help="adcode of a district or city, e.g. 330127")
    brief_place.add_argument("--township", default=None,
                         help="code of a unit (乡镇街道 …) of a boundary layer, instead of --district")
    p_brief.add_argument("--layer", default=None, help="the layer of --township (default: the newest township layer)")
    p_brief.add_argument("--from", dest="date_from", default=None)
    p_brief.add_argument("--to", dest="date_to", default=None)
    p_brief.add_argument("--format", choices=("pdf", "pptx", "png", "html"), default="pdf")
    p_brief.add_argument("--out", type=Path, required=True)
    p_brief.add_argument("--snapshot", type=_at_least_one, default=None,
                         help="a lake store only: the lake snapshot to read (the one an earlier briefing names)")

    p_needs = sub.add_parser("needs", help="needs ranked open now (dispatch) or structurally (planning), with each factor")
    _db_arg(p_needs)
    p_needs.add_argument("--ranking", choices=("open", "structural"), default="open")
    p_needs.add_argument("--top", type=_at_least_one, default=20, help="how many needs to print (default 20)")
    p_needs.add_argument("--from", dest="date_from", default=None, help="first day, YYYY-MM-DD")
    p_needs.add_argument("--to", dest="date_to", default=None, help="last day (inclusive), YYYY-MM-DD")
    p_needs.add_argument("--district", default=None, help="adcode of a district or city, e.g. 330212 or 330200")
    p_needs.add_argument("--min-requesters", type=_at_least_one, default=2,
                         help="list only needs with at least this many distinct requesters (default 2; 1 lists single callers too)")
    p_needs.add_argument("--json", action="store_true", help="print one JSON array as the last line")
    for name in ("urgency", "people", "reach", "age", "recurrence"):
        p_needs.add_argument(f"--w-{name}", type=_weight, default=1.0,
                             help=f"weight (exponent, 0–10; 0 switches it off) of the {name} factor")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings.check()
        db = args.db or settings.db_path()
        if args.command == "import":
            from needsmap.ingest import import_file

            report = import_file(args.file, db, crs=args.crs, source=args.source, echo=print, sheet=args.sheet)
            print(report.summary_line())
            return 0
        if args.command == "facilities":
            from needsmap.ingest.facilities import import_facilities

            report = import_facilities(args.file, db, crs=args.crs, source=args.source)
            print(report.summary_line())
            if report.reasons:
                print("拒收原因 reject reasons: " + ", ".join(f"{c}={n}" for c, n in sorted(report.reasons.items())))
            return 0
        if args.command == "boundaries":
            return _boundaries(args, db)
        if args.command == "network":
            from needsmap.ingest.roads import import_network

            print(import_network(args.file, db).summary_line())
            return 0
        if args.command == "store":
            from needsmap import lake, store

            if args.store_command == "migrate":
                copied = store.migrate(db, args.target, echo=print)
                print(f"已迁移 migrated {store.describe(db)} → {store.describe(args.target)}: "
                      f"{copied.get('demands', 0):,} 条记录 records, {len(copied)} 张表 tables (行数已核对 counts checked)")
                return 0
            if not lake.is_lake(db):
                raise NeedsmapError(error("maintain_file_store"))
            result = lake.maintain(db, keep_snapshots=args.keep_snapshots)
            print(f"已整理 maintained: {result['files_before']:,} → {result['files_after']:,} 个数据文件 data files, "
                  f"{result['snapshots_expired']} 个旧快照已过期 snapshots expired, 当前快照 snapshot {result['snapshot']}")
            return 0
        if args.command == "demo":
            from needsmap import demo

            if args.csv:
                demo.write_demo_csv(args.csv, records=args.records, seed=args.seed, echo=print, crs=args.csv_crs)
            else:
                demo.build_demo_database(db, records=args.records, seed=args.seed, echo=print)
            return 0
        if args.command == "bench":
            from needsmap import bench

            return bench.main(db=args.db, records=args.records, repeat=args.repeat, as_json=args.json,
                              browser=args.browser or args.browser_only, browser_only=args.browser_only,
                              browser_repeat=args.browser_repeat, store_name=args.bench_store)
        if args.command == "brief":
            from needsmap import brief

            brief.main(db=db, adcode=args.district, date_from=args.date_from, date_to=args.date_to,
                       fmt=args.format, out=args.out, unit_code=args.township, layer_id=args.layer,
                       snapshot=args.snapshot)
            return 0
        if args.command == "needs":
            from needsmap import needs

            weights = needs.Weights(**{name: getattr(args, f"w_{name}") for name in needs.Weights.names()})
            needs.main(db=db, ranking=args.ranking, top=args.top, date_from=args.date_from, date_to=args.date_to,
                       place=args.district, min_requesters=args.min_requesters, weights=weights, as_json=args.json)
            return 0
    except NeedsmapError as exc:
        print(f"错误 error: {exc}", file=sys.stderr)
        return 2
    return 1


def _boundaries(args: argparse.Namespace, db: Path) -> int:
    from needsmap import layers, store

    if args.boundaries_command == "import":
        report = layers.import_layer(db, args.file, args.level, name_field=args.name_field, code_field=args.code_field,
                                     population_field=args.population_field, crs=args.crs, layer_id=args.layer_id,
                                     replace=args.replace, population_table=args.population_table)
        for line in (report.summary_line(), report.checks_line(), report.removed_line(), *report.problem_lines()):
            if line:
                print(line)
        return 0
    with store.open_readonly(db) as con:
        listed = layers.list_layers(con)
    if listed.empty:
        print("没有边界图层 no boundary layers")
    for row in listed.itertuples(index=False):
        synthetic = " [synthetic 合成]" if row.synthetic else ""
        print(f"{row.layer_id}\t{row.level}\tunits={row.units}\trecords_linked={row.assigned_records}\t"
              f"{row.source_file} ({row.source_crs}){synthetic}\t{row.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
