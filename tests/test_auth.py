"""Staff access: with a staff password set, record-level views ask for it once per session.

``needsmap.auth`` without Streamlit; the gate on the data page, the district record table and
the loop page's overdue list through ``AppTest``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from needsmap import auth, settings
from tests.apptest_pages import open_page as _open
from tests.records import RECORDS

APP = Path(__file__).resolve().parents[1] / "app.py"
PASSWORD = "西湖-2025 staff"
STAFF_ONLY = "以下内容仅限工作人员查看。请输入密码。"
WRONG = "密码不正确，请重试。"
PUBLIC_HIDDEN = "公开模式下不显示单条记录。"
RECORD_COLUMN = "诉求内容"  # the description column of the district record table
OVERDUE_COLUMN = "已等待(天)"


@pytest.fixture
def small_db(make_db, monkeypatch) -> Path:
    db = make_db(RECORDS + [dict(record_id="R6", created_at=pd.Timestamp("2025-06-05"), description="路灯不亮")])
    monkeypatch.setenv("NEEDSMAP_DB", str(db))
    monkeypatch.delenv("NEEDSMAP_STAFF_PASSWORD", raising=False)
    monkeypatch.delenv("NEEDSMAP_PUBLIC_MODE", raising=False)
    monkeypatch.setattr(settings, "SECRETS_TOML", db.parent / "no-secrets.toml")
    return db


@pytest.fixture
def password(small_db, monkeypatch) -> str:
    monkeypatch.setenv("NEEDSMAP_STAFF_PASSWORD", PASSWORD)
    return PASSWORD


def _sign_in(app: AppTest, given: str, form: str) -> AppTest:
    app.text_input(key=f"staff_password_{form}").input(given)
    return app.button(key=f"FormSubmitter:staff_sign_in_{form}-{_sign_in_label()}").click().run()


def _sign_in_label() -> str:
    from needsmap.i18n import t

    return t("sign_in", "zh")


def _password_inputs(app: AppTest) -> list:
    return [box for box in app.text_input if str(box.key).startswith("staff_password_")]


def _columns(app: AppTest) -> set[str]:
    return {column for frame in app.dataframe for column in frame.value.columns}


def _shown_records(app: AppTest) -> AppTest:
    """The district page with its record table switched on (it is loaded on demand)."""
    return app.toggle(key="show_records").set_value(True).run()


def _no_exception(app: AppTest) -> None:
    assert not app.exception, [e.value for e in app.exception]


# --- needsmap.auth ------------------------------------------------------------------------------


def test_no_password_configured_means_open_and_no_password_matches(small_db):
    assert not auth.password_required()
    assert auth.is_signed_in(None)
    assert not auth.check_password("")


def test_password_check_accepts_only_the_exact_password(password):
    assert auth.password_required()
    assert auth.check_password(PASSWORD)
    for wrong in ("", "西湖-2025", PASSWORD + " ", PASSWORD.upper(), "x" * 10_000):
        assert not auth.check_password(wrong)


def test_session_token_is_not_the_password_and_expires_when_the_password_changes(password, monkeypatch):
    token = auth.session_token()
    assert PASSWORD not in token and auth.is_signed_in(token)
    assert not auth.is_signed_in(None) and not auth.is_signed_in("") and not auth.is_signed_in(12)
    monkeypatch.setenv("NEEDSMAP_STAFF_PASSWORD", "another one")
    assert not auth.is_signed_in(token)


def test_password_from_secrets_toml(small_db, tmp_path, monkeypatch):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('[needsmap]\nstaff_password = "from-secrets"\n', encoding="utf-8")
    monkeypatch.setattr(settings, "SECRETS_TOML", secrets)
    assert auth.password_required() and auth.check_password("from-secrets")


# --- Without a password: open ---------------------------------------------------------------------


def test_without_a_password_staff_views_are_open(small_db):
    data_page = _open("pages/5_data.py")
    assert {m.label: m.value for m in data_page.metric}["记录数"] == "6"
    district = _shown_records(_open("pages/1_district.py", district="330106"))
    assert RECORD_COLUMN in _columns(district)
    assert not _password_inputs(district)


def test_district_record_table_waits_until_asked_then_lists_the_district(small_db):
    import duckdb

    with duckdb.connect(str(small_db), read_only=True) as con:
        [(expected,)] = con.execute("SELECT count(*) FROM demands WHERE district_adcode = '330106'").fetchall()
    app = _open("pages/1_district.py", district="330106")
    _no_exception(app)
    assert RECORD_COLUMN not in _columns(app)  # not queried on a visit
    assert app.toggle(key="show_records").label == "显示记录明细" and not app.toggle(key="show_records").value
    app = _shown_records(app)
    _no_exception(app)
    records = next(frame.value for frame in app.dataframe if RECORD_COLUMN in frame.value.columns)
    assert len(records) == expected == 4


# --- With a password ------------------------------------------------------------------------------


def test_data_page_asks_for_the_password_and_shows_nothing_else(password):
    app = _open("pages/5_data.py")
    _no_exception(app)
    assert [w.value for w in app.warning] == [STAFF_ONLY]
    assert app.text_input(key="staff_password_data").proto.type == app.text_input(key="staff_password_data").proto.PASSWORD
    assert not app.metric and not app.dataframe


def test_wrong_password_says_so_and_keeps_the_data_hidden(password):
    app = _sign_in(_open("pages/5_data.py"), "guess", "data")
    _no_exception(app)
    assert [e.value for e in app.error] == [WRONG]
    assert not app.metric and not app.dataframe


def test_right_password_opens_the_data_page_and_every_staff_view_for_the_session(password):
    app = _sign_in(_open("pages/5_data.py"), PASSWORD, "data")
    _no_exception(app)
    assert not app.error and not app.warning
    assert {m.label: m.value for m in app.metric}["记录数"] == "6"
    app.switch_page("pages/1_district.py")
    app.query_params["district"] = "330106"
    app = _shown_records(app.run())
    assert RECORD_COLUMN in _columns(app) and not _password_inputs(app)
    app.switch_page("pages/4_loop.py").run()
    assert OVERDUE_COLUMN in _columns(app) and not _password_inputs(app)


def test_district_page_shows_its_charts_but_asks_before_the_record_table(password):
    app = _open("pages/1_district.py", district="330106")
    _no_exception(app)
    assert {m.label: m.value for m in app.metric}["诉求总数"] == "4"  # aggregates stay open
    assert [w.value for w in app.warning] == [STAFF_ONLY]
    assert RECORD_COLUMN not in _columns(app)
    app = _shown_records(_sign_in(app, PASSWORD, "records"))
    records = next(frame.value for frame in app.dataframe if RECORD_COLUMN in frame.value.columns)
    assert sorted(records["工单编号"]) == ["R1", "R2", "R3", "R6"]


def test_loop_page_asks_before_the_overdue_list(password):
    app = _open("pages/4_loop.py")
    _no_exception(app)
    assert [w.value for w in app.warning] == [STAFF_ONLY]
    assert OVERDUE_COLUMN not in _columns(app)
    app = _sign_in(app, PASSWORD, "overdue")
    assert OVERDUE_COLUMN in _columns(app)


def test_changing_the_password_signs_the_session_out(password, monkeypatch):
    app = _sign_in(_open("pages/5_data.py"), PASSWORD, "data")
    assert app.metric
    monkeypatch.setenv("NEEDSMAP_STAFF_PASSWORD", "rotated")
    app.run()
    assert [w.value for w in app.warning] == [STAFF_ONLY] and not app.metric


@pytest.mark.parametrize("page, params", [("pages/5_data.py", {}), ("pages/1_district.py", {"district": "330106"}),
                                          ("pages/4_loop.py", {})], ids=["data", "district", "loop"])
def test_public_mode_asks_for_no_password_and_shows_no_records(password, page, params):
    app = _open(page, present="1", **params)
    _no_exception(app)
    assert PUBLIC_HIDDEN in [i.value for i in app.info]
    assert not _password_inputs(app) and not app.warning
    assert not {RECORD_COLUMN, OVERDUE_COLUMN, "工单编号"} & _columns(app)
    assert "show_records" not in [box.key for box in app.toggle]  # nothing to switch on either


# --- Exports -------------------------------------------------------------------------------------

STAFF_EXPORT_NOTE = "未登录工作人员：数据按区县汇总导出，少于 5 条记录或 5 位诉求人的数值不显示。"
RECORDS_EXPORT_NOTE = "数据为当前筛选条件下的记录（已脱敏"


def _captions(app: AppTest) -> str:
    return "\n".join(caption.value for caption in app.caption)


def test_exports_hold_records_when_no_password_is_configured(small_db):
    app = _open()
    assert RECORDS_EXPORT_NOTE in _captions(app) and STAFF_EXPORT_NOTE not in _captions(app)


def test_exports_are_per_district_totals_until_staff_sign_in(password):
    app = _open()
    _no_exception(app)
    assert STAFF_EXPORT_NOTE in _captions(app) and RECORDS_EXPORT_NOTE not in _captions(app)
    app.switch_page("pages/5_data.py").run()
    app = _sign_in(app, PASSWORD, "data")
    app.switch_page(str(APP)).run()
    assert RECORDS_EXPORT_NOTE in _captions(app) and STAFF_EXPORT_NOTE not in _captions(app)
