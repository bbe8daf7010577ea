"""The reference tables the bundled boundaries were built from live in the repository, so the build
is reproducible from a clone, and no tracked file names a path on the machine it was written on."""

from __future__ import annotations

import csv
import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def _build_script():
    spec = importlib.util.spec_from_file_location("build_boundaries", REPO_ROOT / "scripts" / "build_boundaries.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_boundary_build_reads_the_census_table_in_the_repository():
    default = _build_script().DEFAULT_POPULATION_CSV
    assert default == REPO_ROOT / "data" / "zhejiang_county_population_2020.csv"
    with default.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 90 and all(row["source"].strip() for row in rows)  # every figure says where it is from
    assert sum(int(row["population_2020"]) for row in rows) == 64_567_588
    # The bundled districts carry exactly these figures.
    features = json.loads((REPO_ROOT / "data" / "zhejiang_districts.geojson").read_text(encoding="utf-8"))["features"]
    assert {f["properties"]["adcode"]: f["properties"]["population_2020"] for f in features} == \
        {row["adcode"]: int(row["population_2020"]) for row in rows}


def test_no_tracked_file_names_a_path_on_the_authors_machine():
    if shutil.which("git") is None or not (REPO_ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    found = subprocess.run(["git", "grep", "-n", "-I", "-E", "/w[o]rk/|/r[o]ot/|/h[o]me/[a-z]"], cwd=REPO_ROOT,
                           capture_output=True, text=True)
    assert found.stdout == ""
