"""Twenty people use the app while an import runs: nobody sees an error, everybody sees the new data.

One ``streamlit run`` on its own copy of the demo database; twenty browser tabs (Streamlit
sessions) spread over four browser contexts in one Chromium, on every page. While
``python -m needsmap import`` writes 20,000 hotline records into the same database file, the
tabs keep changing filters: some in place (the sidebar's category filter, or the map's class
scheme on the two home tabs, which keep the filter), some by opening a new filtered URL. After
every round no tab may show an exception, an error alert, the app's "data cannot be read"
message or any "lock" text; the server log must hold no traceback. When the import has
committed, a fresh load and a rerun of an open tab both show the new record count: exactly the
old one plus the ``accepted`` of the importer's summary line.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from needsmap import taxonomy

from .browser_helpers import (
    ARTIFACTS,
    DEMO_RECORDS,
    DEMO_SEED,
    E2E_MARKS,
    EXCEPTION,
    REPO_ROOT,
    SIDEBAR,
    Browser,
    Page,
    as_int,
    db_scalar,
    goto,
    metric_values,
    rerun_after,
    shot,
    wait_for_app,
)

pytestmark = E2E_MARKS

SESSIONS = 20
CONTEXTS = 4
IMPORT_ROWS = 20_000
SLOW_MS = 180_000  # 20 sessions rerunning at once on 2 cores: generous, never the point of the test
HOME_TABS = (0, 1)  # stay on the needs map and keep their filter; rerun by switching the class scheme
ROUTES = ("/", "/priorities", "/gap", "/loop", "/district?district=330106", "/data", "/district?city=330200")
ERROR_ALERT = '[data-testid="stAlertContentError"]'
# (Not 锁: a description like 门锁坏了 may well be in a table.)
LOCK_TEXT = re.compile(r"\block(ed|ing)?\b|could not set lock|conflicting lock", re.IGNORECASE)
APP_CANNOT_READ = ("数据暂时无法读取", "Data cannot be read")


@pytest.fixture(scope="module")
def busy_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from needsmap import demo

    db = tmp_path_factory.mktemp("concurrency") / "busy.duckdb"
    demo.build_demo_database(db, records=DEMO_RECORDS, seed=DEMO_SEED)
    return db


@pytest.fixture(scope="module")
def hotline_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.ingest_files import hotline_frame, write_csv

    return write_csv(tmp_path_factory.mktemp("concurrency-csv") / "hotline.csv",
                     hotline_frame(IMPORT_ROWS, seed=11, id_prefix="CC"))


@pytest.fixture(scope="module")
def busy_server(busy_db: Path, serve: Callable) -> Iterator[str]:
    with serve(busy_db, "concurrency") as base_url:
        yield base_url


@pytest.fixture
def tabs(browser: Browser) -> Iterator[tuple[list[Page], list[str]]]:
    """SESSIONS pages over CONTEXTS contexts, and one list of every dialog any of them raised."""
    dialogs: list[str] = []
    contexts = []
    pages = []
    for number in range(CONTEXTS):
        context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN", timezone_id="Asia/Shanghai")
        context.set_default_timeout(SLOW_MS)
        contexts.append(context)
        for _ in range(SESSIONS // CONTEXTS):
            page = context.new_page()
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            pages.append(page)
    yield pages, dialogs
    for context in contexts:
        context.close()


def _problems(page: Page, number: int) -> list[str]:
    """What a person would call an error on this tab, as short texts."""
    found = [f"tab {number}: exception: {text[:300]}" for text in page.locator(EXCEPTION).all_inner_texts()]
    found += [f"tab {number}: error: {text[:300]}" for text in page.locator(ERROR_ALERT).all_inner_texts()]
    body = page.locator("body").inner_text()
    found += [f"tab {number}: says {phrase!r}" for phrase in APP_CANNOT_READ if phrase in body]
    found += [f"tab {number}: lock text {match.group()!r}" for match in LOCK_TEXT.finditer(body)]
    return found


def _settle(pages: list[Page]) -> None:
    for page in pages:
        wait_for_app(page, SLOW_MS)


def _change_category_filter(page: Page, round_number: int) -> None:
    """Pick another category in the sidebar (a rerun of this session with a new filter)."""
    page.locator(SIDEBAR).get_by_role("combobox", name="类别", exact=True).click()
    # Streamlit's multiselect lists "Select all" first: pick among the categories themselves.
    options = page.get_by_role("option").filter(has_not_text="Select all")
    options.first.wait_for()
    options.nth(round_number % min(3, options.count())).click()
    page.keyboard.press("Escape")


def _switch_class_scheme(page: Page, round_number: int) -> None:
    label = "自然断点" if round_number % 2 == 0 else "分位数"
    page.get_by_text(label, exact=True).first.click()


def _open_filtered(page: Page, base_url: str, number: int, round_number: int) -> None:
    route = ROUTES[(number + round_number) % len(ROUTES)]
    category = taxonomy.CATEGORIES[(number * 3 + round_number) % len(taxonomy.CATEGORIES)].code
    separator = "&" if "?" in route else "?"
    page.goto(f"{base_url}{route}{separator}cat={category}", wait_until="commit")


def test_twenty_sessions_change_filters_during_an_import_without_errors_and_then_see_the_new_records(
    busy_server: str, busy_db: Path, hotline_csv: Path, tabs: tuple[list[Page], list[str]], timings: dict[str, float]
) -> None:
    pages, dialogs = tabs
    before = db_scalar(busy_db, "SELECT count(*) FROM demands")
    started = time.perf_counter()
    for number, page in enumerate(pages):
        route = "/" if number in HOME_TABS else ROUTES[number % len(ROUTES)]
        page.goto(busy_server + route, wait_until="commit")
    _settle(pages)
    timings["20 sessions: first load, all idle"] = time.perf_counter() - started
    problems = [p for number, page in enumerate(pages) for p in _problems(page, number)]
    assert problems == [], problems
    assert as_int(metric_values(pages[0])[0]) == before

    importer = subprocess.Popen(
        [sys.executable, "-m", "needsmap", "import", str(hotline_csv), "--db", str(busy_db), "--source", "并发测试"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    rounds_during_import = 0
    round_number = 0
    try:
        while importer.poll() is None or round_number < 2:
            if importer.poll() is None:
                rounds_during_import += 1
            round_started = time.perf_counter()
            for number, page in enumerate(pages):
                if number in HOME_TABS:
                    _switch_class_scheme(page, round_number)
                elif (number + round_number) % 3 == 0:
                    _open_filtered(page, busy_server, number, round_number)
                else:
                    _change_category_filter(page, round_number)
            pages[-1].wait_for_timeout(300)  # let every rerun request reach its session before waiting for idle
            _settle(pages)
            timings[f"20 sessions: round {round_number} (filters changed, all idle)"] = time.perf_counter() - round_started
            problems += [p for number, page in enumerate(pages) for p in _problems(page, number)]
            round_number += 1
            if round_number > 40:
                pytest.fail("the import did not finish within 40 rounds of filter changes")
        output = importer.communicate(timeout=SLOW_MS / 1000)[0]
    finally:
        if importer.poll() is None:
            importer.kill()
            importer.wait()

    assert importer.returncode == 0, output
    assert rounds_during_import >= 1, "the import finished before any session changed a filter: nothing was tested"
    accepted = int(re.search(r"\baccepted=(\d+)\b", output).group(1))
    assert accepted == IMPORT_ROWS, output
    assert problems == [], "\n".join(problems[:30])
    assert dialogs == []

    # A rerun of an open tab (the filter unchanged) and a fresh load both show the new total.
    rerun_after(pages[0], lambda: _switch_class_scheme(pages[0], round_number), timeout_ms=SLOW_MS)
    assert as_int(metric_values(pages[0])[0]) == before + accepted
    shot(pages[0], "concurrency-home-after-import")
    fresh = pages[1]
    goto(fresh, busy_server + "/", timeout_ms=SLOW_MS)
    assert as_int(metric_values(fresh)[0]) == before + accepted == db_scalar(busy_db, "SELECT count(*) FROM demands")

    log = (ARTIFACTS / "streamlit-concurrency.log").read_text(encoding="utf-8")
    assert "Traceback" not in log, log[-3000:]
