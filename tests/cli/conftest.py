"""CLI fixtures: a migrated database that DATABASE_URL names, and ``main`` run in-process."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from gql_server.cli import main
from gql_server.db.engine import create_db_engine
from gql_server.db.migrate import upgrade_to_head
from gql_server.db.session import Database

CREATE_CI = ["api-key", "create", "--name", "ci", "--scope", "READ", "--expires-in", "30d"]


@pytest.fixture
def cli_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """A migrated SQLite file that DATABASE_URL names, as the command would find it."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    database = Database(create_db_engine(url))
    upgrade_to_head(database.engine)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("GQL_MOONRAKER_ALLOWED_NETWORKS", "127.0.0.0/8")  # the fake Moonrakers
    yield database
    database.dispose()


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def create_key(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    return run_cli(capsys, *(argv or CREATE_CI)).splitlines()[-1]


@pytest.fixture
def database_url(database: Database, monkeypatch: pytest.MonkeyPatch) -> str:
    """DATABASE_URL naming the test database (SQLite file or MariaDB)."""
    url = database.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("DATABASE_URL", url)
    return url
