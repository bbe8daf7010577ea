"""User-facing text in one place: error sentences are written once, in ``i18n.ERRORS``."""

import ast
import re
from pathlib import Path

from needsmap import i18n

PACKAGE = Path(__file__).resolve().parents[1] / "needsmap"
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def test_an_error_sentence_reads_chinese_then_english():
    assert i18n.error("db_missing", path="/srv/needs.duckdb") == "找不到数据库文件 /srv/needs.duckdb (database file not found)"


def test_each_error_sentence_is_written_only_in_the_table():
    sources = {path: path.read_text(encoding="utf-8") for path in PACKAGE.rglob("*.py") if path.name != "i18n.py"}
    for key, (zh, _) in i18n.ERRORS.items():
        fixed = max(re.split(r"\{[^}]*\}", zh), key=len).strip()  # its longest run of words between values
        assert [path.name for path, text in sources.items() if fixed in text] == [], key
        used = re.compile(r'error\(\s*"' + re.escape(key) + '"')  # the call may break its line
        assert any(used.search(text) for text in sources.values()), f"{key} is never raised"


def _has_chinese_literal(node: ast.AST) -> bool:
    return any(isinstance(part, ast.Constant) and isinstance(part.value, str) and CHINESE.search(part.value)
               for part in ast.walk(node))


def test_no_error_is_raised_with_a_sentence_spelled_in_place():
    """Every exception made with Chinese words in the package (``UnusableFileError(f"{name} 是空文件 …")``,
    argparse's ``ArgumentTypeError`` …) takes its sentence from ``i18n.error`` instead."""
    spelled = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if name.endswith("Error") and any(_has_chinese_literal(arg) for arg in node.args):
                    spelled.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert spelled == []


def test_a_refused_file_reads_as_it_did():
    assert i18n.error("file_empty", name="8月.csv") == "8月.csv 是空文件 (the file is empty)"
    assert i18n.error("sheet_missing", name="a.xlsx", sheet="9月", sheets_zh="7月、8月", sheets_en="7月, 8月") == (
        "a.xlsx 没有名为 9月 的工作表（有：7月、8月） (no sheet named 9月; the sheets are: 7月, 8月)")


def test_no_text_key_is_defined_twice():
    # A repeated key in a dict literal silently keeps the later text for every use of the first
    # (常住人口（2020） once read 人口 in every export that used the key).
    tree = ast.parse(Path(i18n.__file__).read_text(encoding="utf-8"))
    repeated = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            keys = [key.value for key in node.keys if isinstance(key, ast.Constant)]
            repeated += sorted({key for key in keys if keys.count(key) > 1})
    assert repeated == []
