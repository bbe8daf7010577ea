"""The export corpus (``export_corpus``) imported file by file into one database: every row
accounted for, the expected values stored, unmapped values and warnings reported, and no planted
personal data left in any text column of any table afterwards."""

from __future__ import annotations

import json
import math
import re
import unicodedata
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from export_corpus import CORPUS, PLANTED, PLANTED_DIGITS, CorpusFile
from needsmap import taxonomy
from needsmap.__main__ import main as cli_main
from needsmap.ingest import ImportReport, import_file
from privacy_scan import personal_data_in, text_values

IDS = [writer.__name__.removeprefix("write_") for writer in CORPUS]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, tuple[CorpusFile, ImportReport]]]:
    """Every corpus file imported, in order, into one database: (db, name → (expectation, report))."""
    directory = tmp_path_factory.mktemp("corpus")
    db = directory / "corpus.duckdb"
    imported = {}
    for name, writer in zip(IDS, CORPUS, strict=True):
        (directory / name).mkdir()
        expected = writer(directory / name)
        imported[name] = (expected, import_file(expected.path, db, crs=expected.crs, sheet=expected.sheet))
    return db, imported


def fetch(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_the_corpus_is_large_enough():
    assert len(CORPUS) >= 15


@pytest.mark.parametrize("name", IDS)
def test_every_row_is_accounted_for(corpus, name):
    db, imported = corpus
    expected, report = imported[name]

    assert report.rows_read == expected.rows_read
    assert (report.accepted, report.reasons, report.skipped_existing) == (expected.accepted, expected.rejected,
                                                                          expected.skipped)
    assert report.accepted + report.rejected + report.skipped_existing == report.rows_read
    assert fetch(db, "SELECT count(*) FROM demands WHERE batch_id = ?", [report.batch_id]) == [(expected.accepted,)]
    assert fetch(db, "SELECT count(*) FROM rejects WHERE batch_id = ?", [report.batch_id]) == [
        (sum(expected.rejected.values()),)]


@pytest.mark.parametrize("name", IDS)
def test_expected_values_are_stored(corpus, name):
    db, imported = corpus
    expected, report = imported[name]
    for record_id, fields in expected.records.items():
        columns = ", ".join(fields)
        rows = fetch(db, f"SELECT {columns} FROM demands WHERE record_id = ? AND batch_id = ?",
                     [record_id, report.batch_id])
        assert len(rows) == 1, record_id
        for (field, want), got in zip(fields.items(), rows[0], strict=True):
            if isinstance(want, float):
                assert got is not None and math.isclose(got, want, abs_tol=1e-9), (record_id, field, got)
            else:
                assert got == want, (record_id, field, got, want)


@pytest.mark.parametrize("name", IDS)
def test_unmapped_values_warnings_sheets_and_columns_are_reported(corpus, name):
    db, imported = corpus
    expected, report = imported[name]

    assert report.unmapped_values == expected.unmapped
    assert len(report.warnings) == len(expected.warnings)
    for warning, fragment in zip(report.warnings, expected.warnings, strict=True):
        assert fragment in warning
    assert [(sheet.name, sheet.rows, sheet.used) for sheet in report.sheets] == list(expected.sheets)
    assert expected.columns.items() <= report.columns.items()
    # … and the database keeps the same findings for the Data page.
    stored_unmapped = fetch(db, "SELECT field, value, rows FROM import_findings WHERE batch_id = ? AND kind = 'unmapped'"
                                " ORDER BY ALL", [report.batch_id])
    assert stored_unmapped == sorted((field, text, count) for field, counts in expected.unmapped.items()
                                     for text, count in counts.items())
    assert len(fetch(db, "SELECT * FROM import_findings WHERE batch_id = ? AND kind = 'warning'",
                     [report.batch_id])) == len(expected.warnings)


@pytest.mark.parametrize("name", [n for n, w in zip(IDS, CORPUS, strict=True) if n == "monthly_workbook"])
def test_rejects_in_a_workbook_name_their_sheet(corpus, name):
    db, imported = corpus
    expected, report = imported[name]
    reasons = [reason for (reason,) in fetch(db, "SELECT reason FROM rejects WHERE batch_id = ? ORDER BY row_number",
                                             [report.batch_id])]
    assert len(reasons) == len(expected.reject_prefixes)
    for reason, prefix in zip(reasons, expected.reject_prefixes, strict=True):
        assert reason.startswith(prefix), reason


def test_withdrawn_and_duplicate_tickets_are_neither_open_nor_overdue(corpus):
    db, imported = corpus
    _, report = imported["monthly_workbook"]
    statuses = dict(fetch(db, "SELECT record_id, status FROM demands WHERE batch_id = ?", [report.batch_id]))
    open_ids = {record_id for record_id, status in statuses.items() if status in taxonomy.OPEN_STATUSES}

    assert {"M08-3", "M08-4"}.isdisjoint(open_ids)
    assert open_ids == {"M07-2", "M07-3", "M09-2"}  # 处理中, 已受理, 已退回


def test_masked_phones_count_one_requester_per_record(corpus):
    db, imported = corpus
    _, report = imported["masked_phones"]
    [(records, requesters)] = fetch(db, "SELECT count(*), count(DISTINCT requester_key) FROM demands WHERE batch_id = ?",
                                    [report.batch_id])
    # MP1–MP3 (masked) count one each; MP4 and MP5 share a real phone.
    assert (records, requesters) == (5, 4)


def test_no_planted_personal_data_in_any_text_column_of_any_table(corpus):
    db, _ = corpus
    found = {}
    for column, texts in text_values(db).items():
        for text in texts:
            folded = unicodedata.normalize("NFKC", text)
            digits_only = re.sub(r"[^0-9]", "", folded)
            hits = [raw for raw in PLANTED if raw in text or raw in folded]
            hits += [digits for digits in PLANTED_DIGITS if len(digits) >= 8 and digits in digits_only
                     and column != "demands.record_id"]
            hits += personal_data_in(text)
            if hits:
                found.setdefault(column, []).extend(hits)
    assert found == {}


def test_unrecognised_columns_in_rejected_rows_are_masked(corpus):
    db, imported = corpus
    _, report = imported["personal_data"]
    raw_rows = [json.loads(raw) for (raw,) in fetch(db, "SELECT raw_row FROM rejects WHERE batch_id = ? ORDER BY row_number",
                                                    [report.batch_id])]
    assert [row["受理人"] for row in raw_rows] == ["欧***", "孙**"]
    assert [row["联系人姓名"] for row in raw_rows] == ["钱**", "孙**"]
    assert [row["备用电话"] for row in raw_rows] == ["138****5678", "186****1234"]
    assert [row["备注"] for row in raw_rows] == ["钱**", "卡号 [银行卡号已隐藏]"]
    assert all("身份证号" not in row for row in raw_rows)


def test_cli_prints_which_columns_it_used_and_ignored(tmp_path, capsys):
    from export_corpus import write_personal_data

    expected = write_personal_data(tmp_path)
    assert cli_main(["import", str(expected.path), "--db", str(tmp_path / "cli.duckdb")]) == 0
    out = capsys.readouterr().out
    assert "使用的列 columns used: 工单编号→record_id, 受理时间→created_at, 诉求类别→category" in out
    assert "未使用的列 columns ignored: 受理人, 备用电话, 备注" in out
    assert "身份证号列已丢弃 ID-number columns dropped: 身份证号" in out


def test_cli_sheet_option_reads_one_sheet(tmp_path, capsys):
    from export_corpus import write_one_sheet_of_two

    expected = write_one_sheet_of_two(tmp_path)
    assert cli_main(["import", str(expected.path), "--db", str(tmp_path / "cli.duckdb"), "--sheet", "滨江"]) == 0
    out = capsys.readouterr().out
    assert "accepted=1 " in out and "工作表 sheet 滨江: 1 行 rows" in out
    assert cli_main(["import", str(expected.path), "--db", str(tmp_path / "cli.duckdb"), "--sheet", "上城"]) == 2
    assert "no sheet named 上城; the sheets are: 滨江, 西湖" in capsys.readouterr().err


# --- what staff do on the Data page (framework-free parts) ------------------------------------------

def _unknown_headers_file(directory: Path) -> Path:
    frame = pd.DataFrame({"受理单据号": ["U1", "U2"], "诉求登记日": ["2025-08-01 08:00", "2025-08-02 09:00"],
                          "诉求类别": ["停水", "城乡建设>其他事项"], "区县": ["西湖区", "西湖区"]})
    path = directory / "unknown_headers.csv"
    path.write_bytes(frame.to_csv(index=False).encode("gbk"))
    return path


def test_assigned_columns_are_remembered_for_the_next_file_of_that_shape(tmp_path):
    from needsmap import admin
    from needsmap.ingest.columns import MissingColumnsError
    from needsmap.ingest.importer import masked_preview

    db = tmp_path / "assign.duckdb"
    path = _unknown_headers_file(tmp_path)
    with pytest.raises(MissingColumnsError, match="missing required columns: record_id, created_at") as refused:
        import_file(path, db)
    assert refused.value.headers == ("受理单据号", "诉求登记日", "诉求类别", "区县")
    assert list(masked_preview(path, db)["受理单据号"]) == ["U1", "U2"]

    admin.assign_columns(db, {"record_id": "受理单据号", "created_at": "诉求登记日"})
    report = import_file(path, db)

    assert (report.accepted, report.columns["record_id"], report.columns["created_at"]) == (2, "受理单据号", "诉求登记日")
    assert fetch(db, "SELECT header, field FROM header_aliases ORDER BY position LIMIT 2") == [
        ("受理单据号", "record_id"), ("诉求登记日", "created_at")]


def test_mapping_an_unmapped_category_updates_records_and_later_imports(tmp_path):
    from needsmap import admin, queries

    db = tmp_path / "map.duckdb"
    frame = pd.DataFrame({"工单编号": ["C1", "C2", "C3"], "受理时间": ["2025-08-01 08:00"] * 3,
                          "事项分类": ["城乡建设>其他事项", "城乡建设>其他事项", "停水"], "区县": ["西湖区"] * 3})
    frame.to_csv(tmp_path / "first.csv", index=False)
    import_file(tmp_path / "first.csv", db)
    with duckdb.connect(str(db), read_only=True) as con:
        assert queries.unmapped_categories(con).values.tolist() == [["城乡建设>其他事项", 2]]

    assert admin.map_categories(db, {"城乡建设>其他事项": "housing"}) == 2

    assert fetch(db, "SELECT record_id, category FROM demands ORDER BY record_id") == [
        ("C1", "housing"), ("C2", "housing"), ("C3", "water")]
    frame.assign(工单编号=["C4", "C5", "C6"]).to_csv(tmp_path / "second.csv", index=False)
    report = import_file(tmp_path / "second.csv", db)
    assert report.unmapped_values == {}
    assert fetch(db, "SELECT count(*) FROM demands WHERE category = 'housing'") == [(4,)]


def test_edited_header_aliases_are_checked_and_used(tmp_path):
    from needsmap import admin
    from needsmap.errors import NeedsmapError

    db = tmp_path / "aliases.duckdb"
    with pytest.raises(NeedsmapError, match=r"unknown field\(s\) \['when'\]"):
        admin.save_header_aliases(db, pd.DataFrame({"header": ["诉求登记日"], "field": ["when"]}))
    admin.save_header_aliases(db, pd.DataFrame({"header": ["受理单据号", "诉求登记日", "诉求类别", "区县"],
                                                "field": ["record_id", "created_at", "category", "district"]}))
    assert import_file(_unknown_headers_file(tmp_path), db).accepted == 2
