"""An import killed at any moment leaves a database that opens and holds all of the batch or none.

``python -m needsmap import FILE --db DB`` runs as a child process on a file of ``ROWS`` records
(plus ``REJECTED`` rows that are rejected) and is killed with SIGKILL, several times, each time
on a fresh copy of the same database: once at a random moment of the whole run, once a random
moment after each stage line the CLI prints (reading … assigning districts), and four times
at random inside the write stage (insert, commit, checkpoint, swap), timed by a complete run. After each kill the database
must open, and its ``demands``, ``rejects`` and ``imports`` must all be as before, or all be as
before plus the whole batch. The next import into the killed database must then work and finish
the batch. (``tests/test_store.py`` kills a writer at the store level; this goes through the CLI.)

Deterministic: the kill moments come from ``random.Random(SEED)``.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest_files import ZH_HEADERS, hotline_frame, query, write_csv
from needsmap import store
from needsmap.ingest import import_file

REPO_ROOT = Path(__file__).resolve().parent.parent
ROWS = 30_000
REJECTED = 200
SEED = 20250301
# The lines the CLI prints as each stage starts (see ingest.importer._STAGES).
STAGE_LINES = ("reading the file", "validating records", "converting fields", "assigning districts",
               "writing to the database")


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ROWS valid records and REJECTED with an unreadable receipt time, in a UTF-8 CSV."""
    frame = hotline_frame(ROWS + REJECTED, seed=SEED, id_prefix="K")
    frame.loc[ROWS:, ZH_HEADERS["created_at"]] = "不是日期"
    return write_csv(tmp_path_factory.mktemp("crash") / "big.csv", frame)


@pytest.fixture(scope="module")
def base_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database already holding one small batch, so "before" is not empty."""
    directory = tmp_path_factory.mktemp("crash_base")
    db = directory / "base.duckdb"
    import_file(write_csv(directory / "small.csv", hotline_frame(20, seed=1, id_prefix="S")), db)
    return db


def copy_of(db: Path, directory: Path) -> Path:
    directory.mkdir()
    target = directory / db.name
    shutil.copyfile(db, target)
    shutil.copyfile(str(db) + ".key", str(target) + ".key")
    return target


def start_import(path: Path, db: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "needsmap", "import", str(path), "--db", str(db)],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO_ROOT)},
    )


def kill_after(process: subprocess.Popen, stage_line: str | None, delay: float) -> str:
    """SIGKILL ``delay`` seconds after ``stage_line`` appears (after the start when None);
    answers what the process printed."""
    printed: list[str] = []
    if stage_line is not None:
        for line in process.stdout:
            printed.append(line)
            if stage_line in line:
                break
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    rest, _ = process.communicate(timeout=60)
    return "".join(printed) + rest


def state(db: Path) -> tuple[int, int, list[tuple]]:
    """(demands, rejects, imports rows) of a database opened the way the app opens it."""
    with store.open_readonly(db) as con:
        demands = con.execute("SELECT count(*) FROM demands").fetchone()[0]
        rejects = con.execute("SELECT count(*) FROM rejects").fetchone()[0]
        imports = con.execute("SELECT batch_id, rows_read, accepted, rejected FROM imports ORDER BY 1").fetchall()
    return demands, rejects, imports


def write_window(cli_output: str) -> float:
    """Seconds from the "writing to the database" line to the end of the import, from the CLI's
    own clock: ``  7.3 s  写入数据库 writing …`` and the summary's ``(9.11 s, …)``."""
    write_start = float(re.search(r"([0-9.]+) s  \S+ writing to the database", cli_output).group(1))
    total = float(re.search(r"\(([0-9.]+) s, [0-9,]+ rows/s\)", cli_output).group(1))
    return max(total - write_start, 0.05)


@pytest.mark.slow  # many imports of a large file, each killed
def test_import_killed_at_random_moments_leaves_all_or_none(big_file, base_db, tmp_path):
    rng = random.Random(SEED)
    before = state(base_db)

    # One run to the end: the whole batch, and how long a run and its write stage take.
    complete_db = copy_of(base_db, tmp_path / "complete")
    started = time.perf_counter()
    finished = subprocess.run([sys.executable, "-m", "needsmap", "import", str(big_file), "--db", str(complete_db)],
                              cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
                              env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    run_seconds = time.perf_counter() - started
    assert finished.returncode == 0, finished.stderr
    after = state(complete_db)
    batch = (2, ROWS + REJECTED, ROWS, REJECTED)
    assert after == (before[0] + ROWS, before[1] + REJECTED, before[2] + [batch])
    writing = write_window(finished.stdout)

    kills = [(None, rng.uniform(0.2, run_seconds))]  # anywhere, start-up included
    kills += [(line, rng.uniform(0.0, 0.5)) for line in STAGE_LINES[:-1]]  # early in each stage
    # Inside the write: insert, commit, checkpoint, fsync, swap (and a little past its end), one
    # random moment in each quarter of that span, so the late moments are always tried.
    span = 1.2 * writing
    kills += [("writing to the database", rng.uniform(quarter * span / 4, (quarter + 1) * span / 4)) for quarter in range(4)]
    outcomes = []
    for trial, (stage_line, delay) in enumerate(kills):
        db = copy_of(base_db, tmp_path / f"trial{trial}")
        output = kill_after(start_import(big_file, db), stage_line, delay)
        assert "Traceback" not in output

        now = state(db)  # opens: not corrupt, not locked
        assert now in (before, after), (stage_line, delay, now[:2])
        outcomes.append("all" if now == after else "none")

        # The next import is not blocked by anything the killed one left, and finishes the batch.
        report = import_file(big_file, db)
        assert (report.accepted, report.skipped_existing) == ((0, ROWS) if now == after else (ROWS, 0))
        rejects_batches = 2 if now == after else 1  # a rejected row is recorded again in every batch
        assert state(db)[:2] == (before[0] + ROWS, before[1] + rejects_batches * REJECTED)
        assert query(db, "SELECT count(DISTINCT record_id) FROM demands") == [(before[0] + ROWS,)]
        assert [p.name for p in db.parent.iterdir() if ".writing-" in p.name] == []  # no stale copy left

    assert outcomes[1] == "none"  # killed while reading the file: nothing written
    print(f"write stage {writing:.2f} s; kills (stage, delay s, outcome):",
          [(line, round(delay, 2), outcome) for (line, delay), outcome in zip(kills, outcomes, strict=True)])
