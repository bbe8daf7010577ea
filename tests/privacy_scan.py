"""The privacy scan shared by the privacy tests and the export corpus: every text column of every
table, and a detector of raw phone numbers, ID numbers and names in a text."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import duckdb

from hostile_files import ID_NUMBERS, NAMES, PHONES
from ingest_files import GIVEN, SURNAMES

MOBILE = re.compile(r"(?<![0-9])(?:\+?86[- ]?)?1[3-9][0-9][- ]?[0-9]{4}[- ]?[0-9]{4}(?![0-9])")
ID_NUMBER = re.compile(r"(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9])")
HOTLINE_NAME = re.compile(f"[{''.join(SURNAMES)}][{''.join(GIVEN)}]{{2}}")
DIGEST = re.compile(r"[0-9a-f]{32}|[0-9a-f]{64}")  # keyed phone hashes, file SHA-256s
RAW_VALUES = (*PHONES, "１３８１２３４５６７８", *ID_NUMBERS, *NAMES)
NOT_TEXT = ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "UBIGINT", "UINTEGER", "DOUBLE", "FLOAT", "DECIMAL",
            "BOOLEAN", "DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "INTERVAL")



def text_values(db: Path) -> dict[str, list[str]]:
    """``table.column`` → every non-null value of every text column of every table."""
    from needsmap import lake, store

    with (store.open_readonly(db) if lake.is_lake(db) else duckdb.connect(str(db), read_only=True)) as con:
        columns = con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'main' "
            "AND table_catalog = current_database()"
        ).fetchall()
        return {f"{table}.{column}": [str(value) for (value,) in con.execute(
                    f'SELECT CAST("{column}" AS VARCHAR) FROM "{table}" WHERE "{column}" IS NOT NULL').fetchall()]
                for table, column, data_type in columns if data_type not in NOT_TEXT}


def personal_data_in(text: str) -> list[str]:
    """The raw phone numbers, ID numbers and names found in ``text`` (empty when none)."""
    if DIGEST.fullmatch(text):
        return []
    folded = unicodedata.normalize("NFKC", text)
    found = MOBILE.findall(folded) + ID_NUMBER.findall(folded) + HOTLINE_NAME.findall(text)
    return found + [raw for raw in RAW_VALUES if raw in text]
