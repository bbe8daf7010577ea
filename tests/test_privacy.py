"""No raw phone number, ID-card number or name anywhere in the database, after the whole hostile suite.

Every file of ``hostile_files.CASES`` is imported, in order, into one database (files the
importer refuses change nothing). The suite carries personal data in every place it can hide:
phone columns (``13812345678``, ``+86 138 1234 5678``, ``138-1234-5678``, full-width digits),
ID-card columns (``110101199003071234``, with ``X`` and ``x``), names in 姓名 columns (every
hotline row has one), and all of them again inside descriptions, addresses, sub-categories and
extra columns, in accepted and in rejected rows. Then every text column of every table (found
through ``information_schema``, so tables added later are scanned too) and every value inside
the rejected rows' ``raw_row`` JSON is searched: for any mobile number or 18-digit ID number
(after folding full-width digits), for the exact raw values, and for any name of the form the
hotline writer makes (surname + two given-name characters) or that the suite uses.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from ingest_files import write_csv
from needsmap import lake, store
from needsmap.errors import UnusableFileError
from needsmap.ingest import import_file
from hostile_files import CASES, base_frame
from privacy_scan import RAW_VALUES, personal_data_in, text_values
from tests.conftest import STORE_KINDS, lake_data_path

@pytest.fixture(scope="module", params=STORE_KINDS)
def suite_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One database (a DuckDB file, or a lake) holding the base batch and every hostile file the importer accepts."""
    directory = tmp_path_factory.mktemp("privacy")
    db = directory / "suite.duckdb"
    if request.param == "lake":
        lakes = request.getfixturevalue("lakes")
        db = lakes.new()
        with lake_data_path(lakes.data_path(db)):
            return _import_suite(db, directory)
    return _import_suite(db, directory)


def _import_suite(db: Path, directory: Path) -> Path:
    import_file(write_csv(directory / "base.csv", base_frame()), db)
    for case in CASES:
        case_directory = directory / case.id
        case_directory.mkdir()
        path = case.write(case_directory)
        try:
            import_file(path, db)
        except UnusableFileError:
            assert case.refused, case.id
    return db


def test_the_detector_finds_each_raw_form_and_passes_masked_ones():
    for raw in RAW_VALUES:
        assert personal_data_in(f"联系人：{raw}。"), raw
    assert personal_data_in("我是王伟芳") == ["王伟芳"]
    for masked in ("138****5678", "王**", "欧***", "[身份证号已隐藏]", "0571-********", "a" * 32):
        assert personal_data_in(masked) == [], masked


@pytest.mark.slow  # imports every hostile file into one database first
def test_the_suite_really_carried_personal_data_into_the_database(suite_db):
    values = text_values(suite_db)
    assert len(values["demands.record_id"]) > 50
    assert "138****5678" in values["demands.requester_phone_masked"]
    assert {"王**", "欧***", "李**"} <= set(values["demands.requester_name_masked"])
    assert any("[身份证号已隐藏]" in text for text in values["demands.description"])
    assert any("138****5678" in text for text in values["rejects.raw_row"])


@pytest.mark.slow  # imports every hostile file into one database first
def test_no_raw_phone_id_number_or_name_in_any_text_column_of_any_table(suite_db):
    values = text_values(suite_db)
    assert {"demands.description", "demands.address", "rejects.raw_row", "imports.file_name",
            "districts.name", "category_mapping.source_text", "meta.value"} <= values.keys()

    found = {column: hits for column, texts in values.items()
             for hits in [[hit for text in texts for hit in personal_data_in(text)]] if hits}

    assert found == {}


@pytest.mark.slow  # imports every hostile file into one database first
def test_no_personal_data_inside_the_rejected_rows_raw_text(suite_db):
    with (store.open_readonly(suite_db) if lake.is_lake(suite_db) else duckdb.connect(str(suite_db), read_only=True)) as con:
        raw_rows = [raw for (raw,) in con.execute("SELECT raw_row FROM rejects").fetchall()]
    assert len(raw_rows) > 20
    for raw in raw_rows:
        cells = json.loads(raw)
        assert not {"身份证号", "id_number"} & cells.keys()  # ID-number columns are not kept at all
        for header, cell in cells.items():
            assert personal_data_in(str(header)) == [] and personal_data_in(str(cell)) == [], (header, cell)


@pytest.mark.parametrize("key", [b"short key", b"k" * 64, "一把很长的钥匙".encode() * 20], ids=["short", "one-block", "long"])
def test_phone_hash_is_hmac_sha256_with_the_key(key):
    import hashlib
    import hmac

    import pandas as pd

    from needsmap import privacy

    phones = pd.Series(["13812345678", None, "057187654321", "13812345678"], dtype="string")
    expected = [hmac.new(key, phone.encode(), hashlib.sha256).hexdigest()[:32] if not pd.isna(phone) else None for phone in phones]
    hashed = privacy.hash_phone(phones, key)
    assert [None if pd.isna(value) else value for value in hashed] == expected
    assert list(hashed.index) == list(phones.index)
