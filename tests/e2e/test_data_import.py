"""The Data page's import in a browser: a file whose required columns the importer cannot find
shows a masked preview and asks which column is which; the answer imports it and is remembered."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

from .browser_helpers import db_scalar, goto, rerun_after, shot, wait_for_app


@pytest.fixture(scope="module")
def import_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from needsmap import store

    db = tmp_path_factory.mktemp("data-import") / "import.duckdb"
    store.create(db)
    return db


@pytest.fixture(scope="module")
def import_server(import_db: Path, serve: Callable) -> Iterator[str]:
    with serve(import_db, "data-import") as base_url:
        yield base_url


def _unknown_headers_csv(directory: Path) -> Path:
    frame = pd.DataFrame({"受理单据号": ["WEB1", "WEB2"], "诉求登记日": ["2025-08-01 08:00", "2025-08-02 09:00"],
                          "诉求类别": ["停水", "城乡建设>其他事项"], "区县": ["西湖区", "西湖区"],
                          "联系电话": ["13912345678", "13812345678"]})
    path = directory / "unknown_headers.csv"
    path.write_bytes(frame.to_csv(index=False).encode("gbk"))
    return path


def test_unknown_columns_are_assigned_on_the_page_and_the_file_imports(new_page, import_server: str, import_db: Path,
                                                                        tmp_path: Path) -> None:
    page = new_page()
    goto(page, import_server + "/data")
    # The records' uploader (the facility list has one of its own, labelled apart).
    records_uploader = page.get_by_test_id("stFileUploader").filter(has_text="上传文件（CSV / Excel / Parquet / GeoJSON）")
    records_uploader.locator('input[type="file"]').set_input_files(str(_unknown_headers_csv(tmp_path)))
    page.get_by_text("unknown_headers.csv").first.wait_for()
    rerun_after(page, lambda: page.get_by_role("button", name="导入", exact=True).click())

    page.get_by_text("找不到必需的列：请指定哪一列是什么").wait_for()
    body = page.locator('[data-testid="stMain"]').inner_text()
    assert "missing required columns: record_id, created_at" in body
    shot(page, "data-import-assign-columns")

    for label, header in (("工单编号 record_id", "受理单据号"), ("受理时间 created_at", "诉求登记日")):
        box = page.get_by_role("combobox", name=label)
        box.click()
        page.keyboard.type(header)  # the box filters its options as one types
        page.keyboard.press("Enter")
        page.get_by_role("listbox").wait_for(state="detached")  # closed: the next box can open
    shot(page, "data-import-columns-chosen")
    rerun_after(page, lambda: page.get_by_role("button", name="保存列对应并重新导入").click())
    wait_for_app(page)

    page.get_by_text("导入完成").first.wait_for()
    assert db_scalar(import_db, "SELECT count(*) FROM demands WHERE record_id LIKE 'WEB%'") == 2
    assert db_scalar(import_db, "SELECT field FROM header_aliases WHERE header = '受理单据号'") == "record_id"
    main_text = page.locator('[data-testid="stMain"]').inner_text()
    assert "13912345678" not in main_text and "13812345678" not in main_text
    # 城乡建设>其他事项 matched nothing: it is offered for mapping (the editor's cells are drawn on a canvas).
    assert "未匹配的类别文字（一次映射到 15 个类别之一）" in main_text
    shot(page, "data-import-done")
