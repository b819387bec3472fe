"""A first command on an SQLite file database creates its secret file and says so once."""

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from gql_server.cli import main
from gql_server.db.engine import create_db_engine
from gql_server.db.migrate import upgrade_to_head


@pytest.fixture
def sqlite_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """SQLite only: the secret file exists only beside an SQLite database."""
    monkeypatch.delenv("GQL_SECRET_KEY", raising=False)
    path = tmp_path / "farm.db"
    engine = create_db_engine(f"sqlite:///{path}")
    upgrade_to_head(engine)
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    yield path


def test_the_first_sync_creates_the_secret_file_and_says_so_once(
    sqlite_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret_file = sqlite_file.with_name("farm.db.secret")
    assert main(["sync"]) == 0
    first = capsys.readouterr().err
    assert main(["sync"]) == 0
    second = capsys.readouterr().err
    assert (str(secret_file) in first, second) == (True, "")
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600


def test_a_group_readable_secret_file_stops_the_command(
    sqlite_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret_file = sqlite_file.with_name("farm.db.secret")
    secret_file.write_text("a-secret-of-at-least-32-characters-long\n")
    secret_file.chmod(0o640)
    assert main(["sync"]) == 2
    assert f"chmod 600 {secret_file}" in capsys.readouterr().err
