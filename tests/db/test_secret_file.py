"""The SQLite secret file: created once beside the database, private, and refused when not."""

import os
import stat
from pathlib import Path

import pytest

from gql_server.config import SECRET_KEY_MIN_LENGTH, Settings
from gql_server.db.secret_file import (
    SecretFileError,
    create_secret_file,
    secret_file_path,
    settings_with_secret,
)

ENV_SECRET = "a-secret-from-the-environment-0123456789"


def sqlite_settings(tmp_path: Path, secret_key: str | None = None) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'farm.db'}", secret_key=secret_key)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(
    "url",
    ["sqlite://", "sqlite:///:memory:", "mysql+pymysql://root@127.0.0.1:3306/farm"],
)
def test_in_memory_sqlite_and_mariadb_have_no_secret_file(url: str) -> None:
    assert secret_file_path(url) is None


def test_the_file_lies_beside_the_database(tmp_path: Path) -> None:
    assert secret_file_path(f"sqlite:///{tmp_path / 'farm.db'}") == tmp_path / "farm.db.secret"


def test_a_uri_filename_puts_the_file_beside_the_database_it_names(tmp_path: Path) -> None:
    url = f"sqlite:///file:{tmp_path}/farm.db?mode=ro&uri=true"
    assert secret_file_path(url) == tmp_path / "farm.db.secret"


def test_a_first_run_creates_a_0600_file_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings_with_secret(sqlite_settings(tmp_path))
    path = tmp_path / "farm.db.secret"
    assert (mode(path), path.read_text().strip()) == (0o600, settings.secret_key)
    assert str(path) in capsys.readouterr().err


def test_later_runs_reuse_the_secret_and_say_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = settings_with_secret(sqlite_settings(tmp_path)).secret_key
    capsys.readouterr()
    again = settings_with_secret(sqlite_settings(tmp_path)).secret_key
    assert (again, capsys.readouterr().err) == (first, "")


def test_the_secret_is_long_enough_for_the_setting(tmp_path: Path) -> None:
    secret = settings_with_secret(sqlite_settings(tmp_path)).secret_key
    assert secret is not None and len(secret) >= SECRET_KEY_MIN_LENGTH


def test_the_file_is_private_even_under_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        settings_with_secret(sqlite_settings(tmp_path))
    finally:
        os.umask(old)
    assert mode(tmp_path / "farm.db.secret") == 0o600


def test_gql_secret_key_wins_and_no_file_is_made(tmp_path: Path) -> None:
    settings = settings_with_secret(sqlite_settings(tmp_path, ENV_SECRET))
    assert (settings.secret_key, (tmp_path / "farm.db.secret").exists()) == (ENV_SECRET, False)


def test_without_create_a_missing_file_means_no_secret(tmp_path: Path) -> None:
    settings = settings_with_secret(sqlite_settings(tmp_path), create=False)
    assert (settings.secret_key, (tmp_path / "farm.db.secret").exists()) == (None, False)


def test_in_memory_sqlite_gets_no_secret() -> None:
    assert settings_with_secret(Settings(database_url="sqlite://")).secret_key is None


@pytest.mark.parametrize("loose_mode", [0o640, 0o604, 0o660])
def test_a_file_open_to_group_or_others_is_refused(tmp_path: Path, loose_mode: int) -> None:
    settings_with_secret(sqlite_settings(tmp_path))
    path = tmp_path / "farm.db.secret"
    path.chmod(loose_mode)
    with pytest.raises(SecretFileError, match=f"chmod 600 {path}"):
        settings_with_secret(sqlite_settings(tmp_path))


def test_a_file_with_a_short_secret_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "farm.db.secret"
    create_secret_file(path, "too-short")
    with pytest.raises(SecretFileError, match="at least 32 characters"):
        settings_with_secret(sqlite_settings(tmp_path))


def test_only_the_first_of_two_creators_writes_the_file(tmp_path: Path) -> None:
    path = tmp_path / "farm.db.secret"
    first = "first-secret-0123456789-0123456789-0123"
    second = "second-secret-0123456789-0123456789-012"
    made = [create_secret_file(path, first), create_secret_file(path, second)]
    assert (made, path.read_text().strip()) == ([True, False], first)


def test_creating_leaves_no_temporary_file(tmp_path: Path) -> None:
    settings_with_secret(sqlite_settings(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["farm.db.secret"]
