"""Browser tests: ``streamlit run app.py`` against a demo database, driven by Debian's Chromium.

What a person sees — the folium map inside its component iframe, clicks on districts, the
sidebar filters and the URL they write — cannot be checked with ``AppTest`` (it does not render
custom components). These fixtures start the real app once per session on a free localhost
port, open one Chromium for the session and a fresh browser context per test, and record every
request, dialog and page error so tests can assert that nothing leaves the machine and no
injected script runs. Helpers (waiting, map, screenshots) are in ``browser_helpers.py``.

Run from the repository root: ``python -m pytest tests/e2e`` (``-m "not e2e"`` leaves them out).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

from needsmap.browser_bench import free_port, healthy

from .browser_helpers import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    DEMO_RECORDS,
    DEMO_SEED,
    REPO_ROOT,
    SCREENSHOTS,
    SERVER_LOG,
    SERVER_START_TIMEOUT_S,
    SKIP_REASON,
    TIMEOUT_MS,
    TIMINGS_JSON,
    XSS_ADDRESS,
    XSS_DESCRIPTION,
    XSS_DISTRICT,
    XSS_RECORD_ID,
    BrowserLog,
    browser_available,
    safe_name,
)

try:
    from playwright.sync_api import Browser, Page, sync_playwright
except ImportError:  # pragma: no cover - the e2e tests skip themselves
    sync_playwright = None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: browser tests against `streamlit run` (Chromium + Playwright; slow)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test under tests/e2e is an e2e test, and skips with a reason when no browser is at hand.

    All of them run on one pytest-xdist worker (``--dist loadgroup``): they share the app servers and
    the Chromium of the session, and two browsers fighting for two cores would time the pages badly.
    """
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.xdist_group("browser"))
            if not browser_available():
                item.add_marker(pytest.mark.skip(reason=SKIP_REASON))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    # Keep each phase's report on the item, so the page fixture can screenshot failures.
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


# --------------------------------------------------------------------------------------------
# The database and the server
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def app_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo database (DEMO_RECORDS records, seed DEMO_SEED) plus one hostile record.

    The hostile record ``XSS-1`` copies a record of 西湖区 (330106) with HTML and script in its
    description and address, so the XSS tests have something to render.
    """
    from needsmap import demo, store

    db = tmp_path_factory.mktemp("e2e") / "e2e.duckdb"
    demo.build_demo_database(db, records=DEMO_RECORDS, seed=DEMO_SEED)
    with store.writing(db) as con:
        con.execute(
            "INSERT INTO demands SELECT * REPLACE (? AS record_id, ? AS description, ? AS address) "
            "FROM demands WHERE district_adcode = ? LIMIT 1",
            [XSS_RECORD_ID, XSS_DESCRIPTION, XSS_ADDRESS, XSS_DISTRICT],
        )
        inserted = con.execute("SELECT count(*) FROM demands WHERE record_id = ?", [XSS_RECORD_ID]).fetchone()[0]
        assert inserted == 1, "the demo database has no record in 西湖区 (330106) to copy"
    return db


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """``test-artifacts/`` at the repository root (git-ignored), with ``screenshots/`` inside."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@contextmanager
def _streamlit(db: Path, log_path: Path, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """``streamlit run app.py`` on a free localhost port reading ``db``; yields the base URL.

    Output goes to ``log_path``. Inherited NEEDSMAP_* variables are dropped so a developer's
    shell (public mode, a tile server, a staff password) does not change what the tests see;
    ``extra_env`` adds the ones a test wants.
    """
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEEDSMAP_")}
    env.update(NEEDSMAP_DB=str(db), STREAMLIT_BROWSER_GATHER_USAGE_STATS="false", **(extra_env or {}))
    command = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false",
    ]
    log = log_path.open("w", encoding="utf-8")
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while not healthy(base_url):
            if process.poll() is not None:
                pytest.fail(f"streamlit exited with code {process.returncode} before answering; "
                            f"log:\n{log_path.read_text(encoding='utf-8')[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"streamlit did not answer {base_url}/_stcore/health within {SERVER_START_TIMEOUT_S} s; "
                            f"log:\n{log_path.read_text(encoding='utf-8')[-3000:]}")
            time.sleep(0.25)
        yield base_url
    finally:
        _stop(process)
        log.close()


@pytest.fixture(scope="session")
def app_server(app_db: Path, artifacts: Path) -> Iterator[str]:
    """The app on ``app_db`` for the whole session; its log is ``test-artifacts/streamlit-server.log``."""
    if not browser_available():
        pytest.skip(SKIP_REASON)
    with _streamlit(app_db, SERVER_LOG) as base_url:
        yield base_url


@pytest.fixture(scope="session")
def serve(artifacts: Path) -> Callable[..., AbstractContextManager[str]]:
    """``serve(db, name, extra_env=None)``: a context manager running another app server on ``db``.

    For tests that need their own database (hostile data, concurrent imports); the log is
    ``test-artifacts/streamlit-<name>.log``.
    """
    if not browser_available():
        pytest.skip(SKIP_REASON)

    def start(db: Path, name: str, extra_env: dict[str, str] | None = None) -> AbstractContextManager[str]:
        return _streamlit(db, ARTIFACTS / f"streamlit-{name}.log", extra_env)

    return start


def _stop(process: subprocess.Popen) -> None:
    """Terminate the server's whole process group (streamlit may start children)."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


# --------------------------------------------------------------------------------------------
# The browser
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium (Debian's, never a downloaded one) for the whole session."""
    if not browser_available():
        pytest.skip(SKIP_REASON)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def browser_log() -> BrowserLog:
    return BrowserLog()


@pytest.fixture
def new_page(browser: Browser, browser_log: BrowserLog, request: pytest.FixtureRequest,
             artifacts: Path) -> Iterator[Callable[[], Page]]:
    """A factory of fresh pages, each in its own browser context (a new Streamlit session).

    Contexts are 1400×900, locale zh-CN, time zone Asia/Shanghai. Requests (of the page and of
    its iframes), dialogs and page errors go to ``browser_log``; dialogs are dismissed. A failing
    test leaves ``screenshots/FAILED-<test>-<n>.png``.
    """
    contexts = []

    def make() -> Page:
        context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN",
                                      timezone_id="Asia/Shanghai")
        context.set_default_timeout(TIMEOUT_MS)
        # Context-level: covers the folium iframe and any other frame too.
        context.on("request", lambda req: browser_log.requests.append(req.url))
        page = context.new_page()
        page.on("dialog", lambda dialog: (browser_log.dialogs.append(f"{dialog.type}: {dialog.message}"),
                                          dialog.dismiss()))
        page.on("pageerror", lambda error: browser_log.page_errors.append(str(error)))
        contexts.append(context)
        return page

    yield make
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for number, context in enumerate(contexts):
        if failed:
            for page in context.pages:
                try:
                    page.screenshot(path=str(SCREENSHOTS / f"FAILED-{safe_name(request.node.name)}-{number}.png"))
                except Exception:  # noqa: BLE001 - a broken page must not hide the real failure
                    pass
        context.close()


@pytest.fixture
def page(new_page: Callable[[], Page]) -> Page:
    """A fresh page in its own context; see ``new_page``."""
    return new_page()


@pytest.fixture(scope="session")
def timings(artifacts: Path) -> Iterator[dict[str, float]]:
    """Seconds per measured step (``name → seconds``); written to ``test-artifacts/timings.json``.

    Recorded, never asserted: performance is the bench's job.
    """
    measured: dict[str, float] = {}
    yield measured
    TIMINGS_JSON.write_text(
        json.dumps({name: round(seconds, 3) for name, seconds in sorted(measured.items())}, ensure_ascii=False, indent=2)
        + "\n",
        encoding="utf-8",
    )
