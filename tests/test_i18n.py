"""User-facing text in one place: error sentences are written once, in ``i18n.ERRORS``."""

import re
from pathlib import Path

from needsmap import i18n

PACKAGE = Path(__file__).resolve().parents[1] / "needsmap"


def test_an_error_sentence_reads_chinese_then_english():
    assert i18n.error("db_missing", path="/srv/needs.duckdb") == "找不到数据库文件 /srv/needs.duckdb (database file not found)"


def test_each_error_sentence_is_written_only_in_the_table():
    sources = {path: path.read_text(encoding="utf-8") for path in PACKAGE.rglob("*.py") if path.name != "i18n.py"}
    for key, (zh, _) in i18n.ERRORS.items():
        fixed = max(re.split(r"\{[^}]*\}", zh), key=len).strip()  # its longest run of words between values
        assert [path.name for path, text in sources.items() if fixed in text] == [], key
        assert any(f'error("{key}"' in text for text in sources.values()), f"{key} is never raised"
