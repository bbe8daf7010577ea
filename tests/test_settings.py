"""Settings: one typed table read from ``NEEDSMAP_<NAME>`` (and secrets.toml for the secrets), and
the hashing key that is created once beside a database, whoever asks for it first."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

import pytest

from needsmap import settings
from needsmap.__main__ import main as cli
from apptest_pages import open_page


@pytest.fixture(autouse=True)
def no_secrets_file(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "SECRETS_TOML", tmp_path / "no-secrets.toml")
    for name in ("HASH_KEY", "STAFF_PASSWORD", "K_ANONYMITY", "PUBLIC_MODE", "CLUSTER_RADIUS_M", "DB", "DATA_DIR", "CJK_FONT"):
        monkeypatch.delenv(f"NEEDSMAP_{name}", raising=False)


def test_defaults_come_typed():
    assert settings.get("k_anonymity") == 5 and type(settings.get("k_anonymity")) is int
    assert settings.get("cluster_radius_m") == 500.0 and type(settings.get("cluster_radius_m")) is float
    assert settings.get("public_mode") is False
    assert settings.get("cjk_font") is None and settings.get("staff_password") == ""
    assert isinstance(settings.db_path(), Path) and settings.db_path().name == "needsmap.duckdb"


@pytest.mark.parametrize(("name", "raw", "expected"), [
    ("k_anonymity", "7", 7),
    ("k_anonymity", " 7 ", 7),
    ("cluster_radius_m", "250.5", 250.5),
    ("public_mode", "1", True),
    ("public_mode", "yes", True),
    ("public_mode", "0", False),
    ("public_mode", "OFF", False),
    ("db", "~/needs.duckdb", Path.home() / "needs.duckdb"),
    ("cjk_font", "/usr/share/fonts/x.ttc", Path("/usr/share/fonts/x.ttc")),
    ("tiles", "osm", "osm"),
])
def test_environment_values_come_typed(monkeypatch, name, raw, expected):
    monkeypatch.setenv(f"NEEDSMAP_{name.upper()}", raw)
    value = settings.get(name)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(("name", "raw", "message"), [
    ("k_anonymity", "five", r"^环境变量 NEEDSMAP_K_ANONYMITY 的值 “five” 无效，应为整数 "
                            r"\(NEEDSMAP_K_ANONYMITY is 'five' but must be a whole number\)$"),
    ("k_anonymity", "5.5", r"must be a whole number"),
    ("cluster_radius_m", "500m", r"应为数字 \(NEEDSMAP_CLUSTER_RADIUS_M is '500m' but must be a number\)$"),
    ("public_mode", "maybe", r"must be 1/0, true/false, yes/no or on/off"),
])
def test_a_bad_environment_value_is_named_in_one_sentence(monkeypatch, name, raw, message):
    monkeypatch.setenv(f"NEEDSMAP_{name.upper()}", raw)
    with pytest.raises(settings.SettingError, match=message):
        settings.get(name)
    assert settings.problem() is not None and f"NEEDSMAP_{name.upper()}" in settings.problem()


def test_secrets_fall_back_to_secrets_toml_and_the_environment_wins(tmp_path, monkeypatch):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('[needsmap]\nhash_key = "key-from-secrets"\nstaff_password = "pw-from-secrets"\n', encoding="utf-8")
    monkeypatch.setattr(settings, "SECRETS_TOML", secrets)
    assert settings.hash_key(tmp_path / "x.duckdb") == b"key-from-secrets"
    assert settings.staff_password() == "pw-from-secrets"
    monkeypatch.setenv("NEEDSMAP_HASH_KEY", "key-from-env")
    monkeypatch.setenv("NEEDSMAP_STAFF_PASSWORD", "pw-from-env")
    assert settings.hash_key(tmp_path / "x.duckdb") == b"key-from-env" and settings.staff_password() == "pw-from-env"
    assert not (tmp_path / "x.duckdb.key").exists()


def test_a_page_shows_a_bad_setting_as_one_message(monkeypatch, tmp_path):
    monkeypatch.setenv("NEEDSMAP_K_ANONYMITY", "five")
    app = open_page()
    assert not app.exception
    assert [e.value for e in app.error] == ["设置有误：环境变量 NEEDSMAP_K_ANONYMITY 的值 “five” 无效，应为整数 "
                                            "(NEEDSMAP_K_ANONYMITY is 'five' but must be a whole number)"]


def test_the_cli_prints_a_bad_setting_as_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("NEEDSMAP_READER_MEMORY_MB", "lots")
    code = cli(["brief", "--district", "330127", "--db", str(tmp_path / "none.duckdb"), "--out", str(tmp_path / "b.pdf")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "NEEDSMAP_READER_MEMORY_MB is 'lots'" in err


# --- The hashing key beside the database: created once, never seen empty --------------------------

def _key_in_process(db: str, start: multiprocessing.synchronize.Event, out: multiprocessing.Queue) -> None:
    start.wait()
    try:
        out.put(settings.hash_key(Path(db)))
    except Exception as exc:  # noqa: BLE001 - reported to the parent as a value
        out.put(repr(exc))


def test_threads_asking_for_a_new_key_at_once_all_get_the_same_nonempty_key(tmp_path):
    for trial in range(40):
        db = tmp_path / f"t{trial}.duckdb"
        barrier = threading.Barrier(8)
        keys: list[object] = []

        def ask() -> None:
            barrier.wait()
            try:
                keys.append(settings.hash_key(db))
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                keys.append(repr(exc))

        threads = [threading.Thread(target=ask) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(set(keys)) == 1, set(keys)
        assert len(keys[0]) == 64 and keys[0] == (tmp_path / f"t{trial}.duckdb.key").read_bytes()
    assert not [p.name for p in tmp_path.iterdir() if not p.name.endswith(".key")]  # no temporary files left


def test_processes_asking_for_a_new_key_at_once_all_get_the_same_nonempty_key(tmp_path):
    context = multiprocessing.get_context("fork")
    for trial in range(6):
        db = tmp_path / f"p{trial}.duckdb"
        start, out = context.Event(), context.Queue()
        processes = [context.Process(target=_key_in_process, args=(str(db), start, out)) for _ in range(4)]
        for process in processes:
            process.start()
        start.set()
        keys = {out.get(timeout=60) for _ in processes}
        for process in processes:
            process.join()
        assert len(keys) == 1, keys
        assert len(next(iter(keys))) == 64


def test_the_key_file_is_private(tmp_path):
    settings.hash_key(tmp_path / "k.duckdb")
    assert (tmp_path / "k.duckdb.key").stat().st_mode & 0o777 == 0o600


# --- One data directory for everything the app writes at run time -------------------------------

@pytest.fixture
def user_data_home(tmp_path, monkeypatch):
    """A user data directory of its own (XDG_DATA_HOME, which platformdirs follows on Linux)."""
    monkeypatch.delenv("NEEDSMAP_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg"


def test_run_time_files_default_to_a_needsmap_folder_in_the_users_data_directory(user_data_home):
    assert settings.data_dir() == user_data_home / "needsmap"
    assert settings.db_path() == user_data_home / "needsmap" / "needsmap.duckdb"
    settings.hash_key(settings.db_path())
    assert (user_data_home / "needsmap" / "needsmap.duckdb.key").exists()  # the key and views follow the database


def test_needsmap_data_dir_moves_every_run_time_file(tmp_path, monkeypatch):
    from needsmap import bench

    monkeypatch.setenv("NEEDSMAP_DATA_DIR", str(tmp_path / "state"))
    assert settings.db_path() == tmp_path / "state" / "needsmap.duckdb"
    assert bench.default_db(3_000) == tmp_path / "state" / "bench-3000.duckdb"
    monkeypatch.setenv("NEEDSMAP_DB", str(tmp_path / "elsewhere.duckdb"))  # the database can still be named alone
    assert settings.db_path() == tmp_path / "elsewhere.duckdb"


def test_without_a_usable_user_data_directory_the_checkouts_data_folder_is_used(tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.delenv("NEEDSMAP_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "a-file" / "xdg"))  # cannot be created
    assert settings.data_dir() == Path(__file__).resolve().parents[1] / "data"


def test_the_leaflet_the_map_names_is_the_installed_package_and_nothing_of_it_is_committed():
    # Streamlit serves a declared component's folder; needsmap.ui.assets declares the package's.
    import subprocess

    import xstatic.pkg.leaflet as xstatic_leaflet

    from needsmap import assets

    for _, url in (assets.LEAFLET_JS, assets.LEAFLET_CSS):
        assert url.startswith("/component/needsmap.ui.assets.leaflet/")
        assert (Path(xstatic_leaflet.BASE_DIR) / url.rsplit("/", 1)[1]).is_file(), url
    repo = Path(__file__).resolve().parents[1]
    tracked = subprocess.run(["git", "ls-files", "*leaflet*.js", "*leaflet*.css"], cwd=repo, capture_output=True,
                             text=True).stdout.split()
    assert tracked == []
