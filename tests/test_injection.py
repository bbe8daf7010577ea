"""SQL and script text as filter values: bound as parameters, matching nothing, harming nothing.

Three ways in: ``Filter`` objects built directly with hostile values and handed to every public
query function that takes a filter or a value; the same values through the URL parser
``Filter.from_query_params``; and every page (``app.py``, ``pages/*.py``) opened by
``streamlit.testing.v1.AppTest`` with hostile query parameters. Each time: no exception (or,
for a value of the wrong kind, a ``ValueError`` that says what was expected), results empty
where the value names nothing, and the ``demands`` table intact. A recording connection proves
the values never reach the SQL text: no statement the query layer sends contains them.
"""

from __future__ import annotations

import ast
import inspect
import re
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from needsmap import lake, layer_queries, queries, store
from needsmap.filters import Filter
from tests import apptest_pages
from tests.conftest import STORE_KINDS
from tests.records import RECORDS
from tests.unit_layers import LAYER_DDL

REPO_ROOT = Path(__file__).resolve().parents[1]
PAGES = (None, *apptest_pages.PAGES)

HOSTILE = (
    "'; DROP TABLE demands; --",
    "1 OR 1=1",
    "' OR '1'='1",
    '" OR ""="',
    "water') OR ('1'='1",
    "<script>alert(1)</script>",
    "${alert(1)}",
    "{{7*7}}",
    "`",
    "`whoami`",
    "‘ OR ’1’=’1",
    "“引号”",
    "\\",
    "%",
    "_",
    "\x00",
    "330106' OR 1=1 --",
    "3301%",
    "33０１０６",
    "330106\n",
    "\u202e330106",
    "x" * 100_000,
    "测" * 50_000,
)
IDS = [f"{n:02d}" for n in range(len(HOSTILE))]
TEXT_FIELDS = ("categories", "subcategories", "statuses", "channels", "groups", "urban_rural")


def hostile_filters(value: str) -> list[Filter]:
    """``value`` in each text field of a Filter on its own, then in all of them at once."""
    singles = [Filter(**{name: (value,)}) for name in TEXT_FIELDS]
    places = [Filter(city_adcode=value), Filter(district_adcode=value), Filter(city_adcode="330100", district_adcode=value),
              Filter(layer_id=value, unit_code=value), Filter(district_adcode="330106", layer_id="township", unit_code=value),
              Filter(unit_code=value)]
    everything = Filter(**{name: (value, value + "'") for name in TEXT_FIELDS}, city_adcode=value, district_adcode=value,
                        layer_id=value, unit_code=value)
    return [*singles, *places, everything]


def text_values(f: Filter) -> tuple[str, ...]:
    values = [v for name in TEXT_FIELDS for v in getattr(f, name)] + [f.city_adcode, f.district_adcode, f.layer_id,
                                                                      f.unit_code]
    return tuple(v for v in values if v is not None)


# name → call with a connection and a filter. Every public function of queries.py that takes a
# Filter or a value is here; test_every_query_function_is_covered keeps the list complete.
OVERDUE_DAYS = 15
CALLS = {
    "kpis": lambda con, f: queries.kpis(con, f, queries.as_of(con), OVERDUE_DAYS),
    "district_measures": lambda con, f: queries.district_measures(con, f, queries.as_of(con), OVERDUE_DAYS, 1),
    "category_counts": lambda con, f: queries.category_counts(con, f),
    "monthly_trend": lambda con, f: queries.monthly_trend(con, f),
    "monthly_totals": lambda con, f: queries.monthly_totals(con, f),
    "distinct_requesters": lambda con, f: queries.distinct_requesters(con, f),
    "urban_rural_gap": lambda con, f: queries.urban_rural_gap(con, f, 24),
    "gap_summary": lambda con, f: queries.gap_summary(con, f, 24),
    "gap_district_counts": lambda con, f: queries.gap_district_counts(con, f, 24),
    "response_hours_sample": lambda con, f: queries.response_hours_sample(con, f),
    "service_loop": lambda con, f: queries.service_loop(con, f, 24, 72),
    "service_loop_by_district": lambda con, f: queries.service_loop(con, f, 24, 72, by="district"),
    "service_loop_by_category": lambda con, f: queries.service_loop(con, f, 24, 72, by="category"),
    "overdue_records": lambda con, f: queries.overdue_records(con, f, queries.as_of(con), OVERDUE_DAYS),
    "records": lambda con, f: queries.records(con, f),
    "export_records": lambda con, f: queries.export_records(con, f),
    "map_points": lambda con, f: queries.map_points(con, f),
    "city_level_records": lambda con, f: queries.city_level_records(con, f),
    # Values, not a Filter: every text value of the filter is passed on as a category asked about.
    "subcategories": lambda con, f: queries.subcategories(con, text_values(f)),
}
# The same for layer_queries (the level below the district): every public function that takes a
# Filter or a value; a layer or unit named by the filter's values (the district's units counted).
LAYER_CALLS = {
    "district_layers": lambda con, f: layer_queries.district_layers(con, f.district_adcode or "330106"),
    "unit": lambda con, f: layer_queries.unit(con, f.layer_id or "township", f.unit_code or "330106001"),
    "unit_geometries": lambda con, f: layer_queries.unit_geometries(con, f.layer_id or "township", f.district_adcode or "330106"),
    "unit_shape": lambda con, f: layer_queries.unit_shape(con, f.layer_id or "township", f.unit_code or "330106001"),
    "unit_measures": lambda con, f: layer_queries.unit_measures(con, f.with_changes(district_adcode=f.district_adcode or "330106"),
                                                                f.layer_id or "township", queries.as_of(con), OVERDUE_DAYS, 1),
    "unplaced_records": lambda con, f: layer_queries.unplaced_records(con, f.with_changes(unit_code=None), f.unit_code or "x"),
    "resolve": lambda con, f: layer_queries.resolve(con, f)[0],
}
LAYER_WITHOUT_VALUES = {"has_layers", "layers", "layers_by_level", "unit_names"}
LAYER_NOT_QUERIES = {"unit_at", "geojson"}  # shapes and text already read: no SQL
TAKES_A_NUMBER = {"rejects"}  # batch_id: see test_a_batch_id_must_be_a_whole_number
WITHOUT_VALUES = {"as_of", "demo_records", "districts", "district_geometries", "date_range", "imports",
                  "reject_reasons", "data_quality", "category_mapping", "timestamp_errors", "unmapped_categories",
                  "header_aliases"}
ALLOW_LISTED = {"import_findings"}  # kind: see test_import_findings_kind_comes_from_an_allow_list


def records_in(result: object) -> int:
    """How many records an answer counts (0 = empty), whatever its shape."""
    if result is None:  # layer_queries.unit / unit_shape: no such unit
        return 0
    if isinstance(result, Filter):  # layer_queries.resolve: what the filter still names
        return int(bool(result.layer_id or result.unit_code))
    if isinstance(result, tuple):  # map_points: (kind, frame)
        return records_in(result[1])
    if isinstance(result, pd.DataFrame):
        if "category" in result.columns and (result["category"] == "__all__").any():
            result = result[result["category"] == "__all__"]
        return int(result["records"].sum()) if "records" in result.columns else len(result)
    if isinstance(result, dict):
        return int(result["records"]) if "records" in result else sum(len(v) for v in result.values())
    if isinstance(result, int):  # distinct_requesters: people, and none means none
        return result
    return len(result)


class RecordingConnection:
    """A DuckDB connection that remembers the text of every statement it is given."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con, self.statements = con, []

    def execute(self, sql: str, parameters: object = None) -> duckdb.DuckDBPyConnection:
        self.statements.append(sql)
        return self.con.execute(sql, parameters) if parameters is not None else self.con.execute(sql)

    def sql(self, sql: str, **kwargs: object) -> object:
        self.statements.append(sql)
        return self.con.sql(sql, **kwargs)

    def __getattr__(self, name: str) -> object:
        raise AttributeError(f"the query layer used `{name}`, which the recording connection does not record")


@pytest.fixture(scope="module", params=STORE_KINDS)
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The five records of test_queries, one record known only at city level (市本级, 杭州) and one
    rejected row (batch 1) — every answer is known. In a DuckDB file, and in a lake."""
    from tests.conftest import lake_data_path, write_records

    path = tmp_path_factory.mktemp("injection") / "small.duckdb"
    if request.param == "lake":
        lakes = request.getfixturevalue("lakes")
        path = lakes.new()
        with lake_data_path(lakes.data_path(path)):
            return _write(path)
    return _write(path)


def _write(path: Path) -> Path:
    from tests.conftest import write_records

    return write_records(path, RECORDS, *LAYER_DDL,
                         "INSERT INTO rejects VALUES (1, 7, '第 7 行：工单编号为空 (the record id is blank)', '{}')",
                         "INSERT INTO demands (record_id, created_at, category, status, urgency, people_affected, "
                         "city_adcode, place_basis, batch_id) VALUES ('SB1', TIMESTAMP '2025-07-03 09:00', "
                         "'water', 'received', 1, 1, '330100', 'city', 1)")


@pytest.fixture
def con(db: Path):
    connection = store.open_readonly(db)
    yield connection
    connection.close()


def intact(con: duckdb.DuckDBPyConnection) -> tuple[int, int, list[str]]:
    tables = [name for (name,) in con.execute("SELECT table_name FROM information_schema.tables "
                                               "WHERE table_catalog = current_database() ORDER BY 1").fetchall()]
    return con.execute("SELECT count(*) FROM demands").fetchone()[0], con.execute(
        "SELECT count(*) FROM rejects").fetchone()[0], tables


def test_every_query_function_is_covered():
    public = {name for name, member in inspect.getmembers(queries, inspect.isfunction)
              if not name.startswith("_") and member.__module__ == queries.__name__}
    covered = {name.removesuffix("_by_district").removesuffix("_by_category") for name in CALLS}
    assert public == covered | TAKES_A_NUMBER | WITHOUT_VALUES | ALLOW_LISTED
    layer_public = {name for name, member in inspect.getmembers(layer_queries, inspect.isfunction)
                    if not name.startswith("_") and member.__module__ == layer_queries.__name__}
    assert layer_public == set(LAYER_CALLS) | LAYER_WITHOUT_VALUES | LAYER_NOT_QUERIES


@pytest.mark.parametrize("value", HOSTILE, ids=IDS)
def test_import_findings_kind_comes_from_an_allow_list(con, value):
    before = intact(con)
    with pytest.raises(ValueError, match="is expected to be in"):
        queries.import_findings(con, value)
    assert queries.import_findings(con, "warning", batch_id=None).columns.tolist() == ["batch_id", "field", "value", "rows"]
    assert intact(con) == before


def test_the_unfiltered_answers_are_not_empty(con):
    """So that an empty answer below means "matched nothing", not "never had anything"."""
    everything = Filter(categories=("water", "elderly_care"))
    for name, call in CALLS.items():
        if name == "subcategories":
            assert queries.subcategories(con, ("water",)) == ["停水"]
        else:
            assert records_in(call(con, everything)) > 0, name


@pytest.mark.parametrize("value", HOSTILE, ids=IDS)
def test_hostile_values_in_a_filter_match_nothing_and_harm_nothing(con, value):
    before = intact(con)
    for f in hostile_filters(value):
        for name, call in (CALLS | LAYER_CALLS).items():
            assert records_in(call(con, f)) == 0, (name, f.where_sql())
    assert intact(con) == before


@pytest.mark.parametrize("value", HOSTILE, ids=IDS)
def test_hostile_values_never_reach_the_sql_text(con, value):
    recording = RecordingConnection(con)
    everywhere = hostile_filters(f"INJ3CT{value}")[-1]  # the marked value in every field at once
    for call in (CALLS | LAYER_CALLS).values():
        call(recording, everywhere)
    assert recording.statements
    assert not [sql for sql in recording.statements if "INJ3CT" in sql]


@pytest.mark.parametrize("value", HOSTILE, ids=IDS)
def test_hostile_url_parameters_are_dropped_or_bound(con, value):
    params = {name: value for name in ("from", "to", "cat", "sub", "urg", "status", "ch", "grp", "ur", "city", "district",
                                       "layer", "unit", "township")}
    f = Filter.from_query_params(params)

    # Only the free-text sub-category survives (trimmed, at most 2,000 characters); the rest is dropped.
    sub = value[:2000].strip()
    assert f == Filter(subcategories=(sub,) if sub else ())
    before = intact(con)
    for name, call in CALLS.items():
        # Nothing left to filter by: everything (5 records, or the one sub-category).
        expected = 0 if sub else 1 if name == "subcategories" else 5
        assert records_in(call(con, f)) == expected, name
    assert intact(con) == before


def test_hostile_url_lists_are_dropped_too():
    f = Filter.from_query_params({"cat": ["water", "'; DROP TABLE demands; --"], "urg": ["1", "1 OR 1=1"],
                                  "district": ["330106", "x"]})
    assert (f.categories, f.urgency, f.district_adcode) == (("water",), (1,), None)


@pytest.mark.parametrize("field, value, expected", [
    ("urgency", ("1 OR 1=1",), r"`urgency` was \('1 OR 1=1',\) but is expected to be a tuple of whole numbers \(1–4\)"),
    ("urgency", "1", "`urgency` was '1' but is expected to be a tuple of whole numbers"),
    ("categories", "water", "`categories` was 'water' but is expected to be a tuple of text values"),
    ("statuses", (1,), "`statuses` was \\(1,\\) but is expected to be a tuple of text values"),
    ("date_from", "2025-01-01' OR 1=1 --", "`date_from` was .* but is expected to be a datetime.date or None"),
    ("district_adcode", 330106, "`district_adcode` was 330106 but is expected to be a 6-digit adcode"),
    ("subcategories", ("x" * 1000, None), r"`subcategories` was \('xxx.*\.\.\. but is expected"),
])
def test_values_of_the_wrong_kind_are_refused_with_a_sentence(field, value, expected):
    with pytest.raises(ValueError, match=expected):
        Filter(**{field: value})


def test_lists_become_tuples_so_a_filter_stays_a_cache_key():
    f = Filter(categories=["water"], urgency=[3, 4])
    assert (f.categories, f.urgency) == (("water",), (3, 4)) and hash(f) == hash(Filter(categories=("water",), urgency=(3, 4)))


@pytest.mark.parametrize("value", [*HOSTILE[:6], 1.5, True, "1"], ids=[*IDS[:6], "float", "bool", "digit_text"])
def test_a_batch_id_must_be_a_whole_number(con, value):
    assert records_in(queries.rejects(con, batch_id=1)) == 1 and records_in(queries.rejects(con, batch_id=99)) == 0
    with pytest.raises(ValueError, match="`batch_id` was .* but is expected to be a whole number or None"):
        queries.rejects(con, batch_id=value)
    assert intact(con)[:2] == (6, 1)


def test_an_unknown_grouping_is_refused_with_a_sentence(con):
    with pytest.raises(ValueError, match=r"`by` was \"'; DROP TABLE demands; --\" but is expected to be in "
                                         r"\(None, 'district', 'category'\)"):
        queries.service_loop(con, Filter(), 24, 72, by="'; DROP TABLE demands; --")


def test_extreme_dates_and_numbers_are_bound_not_broken(con):
    for f in (Filter(date_from=date(1, 1, 1)), Filter(date_to=date(9999, 12, 31)), Filter(urgency=(2**63,)),
              Filter(urgency=(-1, 0, 5))):
        for call in CALLS.values():
            call(con, f)
    assert records_in(queries.kpis(con, Filter(date_from=date(9999, 12, 31)), queries.as_of(con), 15)) == 0
    assert records_in(queries.kpis(con, Filter(urgency=(-1, 0, 5)), queries.as_of(con), 15)) == 0
    with pytest.raises(ValueError, match="invalid literal for int"):
        queries.records(con, Filter(), limit="10; DROP TABLE demands")


# --- the source itself ------------------------------------------------------------------------------------------

# file → the functions that build SQL (None: all of them)
SQL_SOURCES = {REPO_ROOT / "needsmap" / "queries.py": None, REPO_ROOT / "needsmap" / "filters.py": {"where_sql"},
               REPO_ROOT / "needsmap" / "layer_queries.py": None}
FRAGMENT_PARAMETERS = {"base", "open_only", "alias"}  # SQL pieces and code-chosen names, never user values


def interpolated_parameters(path: Path, functions: set[str] | None = None) -> list[str]:
    """``file:line name`` for each f-string (outside ``raise``) that interpolates a parameter of
    its function, other than as ``len(...)`` (which only counts placeholders)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    messages = {id(node) for r in ast.walk(tree) if isinstance(r, ast.Raise) for node in ast.walk(r)}
    found = []
    for function in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
        if functions is not None and function.name not in functions:
            continue
        parameters = {a.arg for a in (*function.args.args, *function.args.kwonlyargs)} - FRAGMENT_PARAMETERS
        for node in ast.walk(function):
            if not isinstance(node, ast.FormattedValue) or id(node) in messages:
                continue
            counted = {id(n) for call in ast.walk(node.value) if isinstance(call, ast.Call)
                       and getattr(call.func, "id", None) == "len" for n in ast.walk(call)}
            names = {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name) and id(n) not in counted}
            found += [f"{path.name}:{node.lineno} {name}" for name in sorted(names & parameters)]
    return found


def test_no_sql_f_string_interpolates_a_value():
    assert all(path.exists() for path in SQL_SOURCES)
    assert [hit for path, functions in SQL_SOURCES.items() for hit in interpolated_parameters(path, functions)] == []


def test_the_source_check_would_catch_an_interpolated_value(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text('def q(con, f, limit):\n'
                   '    return con.execute(f"SELECT * FROM demands WHERE d = \'{f.district_adcode}\' LIMIT {limit}")\n'
                   'def ok(con, f):\n'
                   '    return con.execute(f"SELECT {\', \'.join(\'?\' * len(f.categories))}", f.categories)\n')
    assert interpolated_parameters(bad) == ["bad.py:2 f", "bad.py:2 limit"]


# --- pages ---------------------------------------------------------------------------------------------------

URL_NAMES = ("from", "to", "cat", "sub", "urg", "status", "ch", "grp", "ur", "city", "district", "lang", "present",
             "measure", "view", "scheme", "tiles", "layer", "unit", "township")
PAGE_PARAMS = {
    "sql": {name: value for name, value in zip(URL_NAMES, (
        "2025-01-01' OR 1=1 --", "'; DROP TABLE demands; --", "water,'; DROP TABLE demands; --",
        "停水'); DROP TABLE demands; --", "1 OR 1=1", "received' OR '1'='1", "`whoami`", "' OR ''='", '" OR ""="',
        "3301%", "330106' OR 1=1 --", "zh'--", "1' OR '1'='1", "records; DROP TABLE demands", "1 UNION SELECT *",
        "quantiles'--", "osm'--", "township' OR 1=1 --", "330106001'; DROP TABLE record_units; --", "3301%"), strict=True)},
    "script": {name: value for name, value in zip(URL_NAMES, (
        "<script>alert(1)</script>", "${alert(1)}", "<img src=x onerror=alert(1)>", "<script>alert(1)</script>",
        "{{7*7}}", "javascript:alert(1)", "‘ OR ’1’=’1", "\u202e", "“urban”", "33０１００", "330106\n", "<b>en</b>",
        "<script>", "per_10k<script>", "\x00", "x" * 5_000, "测" * 5_000, "<b>township</b>", "330106001<script>",
        "\u202e330106001"), strict=True)},
}


@pytest.fixture
def page_db(db: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NEEDSMAP_STORE" if lake.is_lake(db) else "NEEDSMAP_DB", str(db))
    return db


@pytest.mark.parametrize("params", PAGE_PARAMS, ids=list(PAGE_PARAMS))
@pytest.mark.parametrize("page", PAGES, ids=[Path(p).stem if p else "app" for p in PAGES])
def test_every_page_with_hostile_url_parameters_runs_and_leaves_the_data_intact(page_db, page, params):
    with store.open_readonly(page_db) as con:
        before = intact(con)
    app = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=90)
    if page:
        app.switch_page(page)
    for key, value in PAGE_PARAMS[params].items():
        app.query_params[key] = value
    app.run()

    assert not app.exception, [e.value for e in app.exception]
    assert app.title  # the page drew
    # The URL the page writes back keeps only values it understood.
    url = dict(app.query_params)
    assert all(re.fullmatch(r"[0-9A-Za-z_,\-]*", str(value)) for value in url.values()), url
    with store.open_readonly(page_db) as con:
        assert intact(con) == before
