"""The gql-server command: API keys from the shell, the schema export, and sync."""

import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from gql_server.cli import ENVIRONMENT, _bootstrap_key, main
from gql_server.config import load_settings
from gql_server.db.engine import create_db_engine
from gql_server.db.migrate import upgrade_to_head
from gql_server.db.models import PrintJob
from gql_server.db.session import Database
from gql_server.db.types import utcnow
from gql_server.services.api_keys import display_prefix, find_by_key, is_well_formed
from gql_server.services.importer import ImportCounts
from gql_server.services.printers import create_printer
from gql_server.services.sync import SyncResult
from gql_server.sync_command import BAR_WIDTH, ProgressBoard
from tests.factories import LOOPBACK
from tests.support.fake_moonraker import FakeMoonraker, FakeMoonrakerServer, closed_port_url

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "schema.graphql"
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


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def _create(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    return _run(capsys, *(argv or CREATE_CI)).splitlines()[-1]


def test_create_prints_the_key_alone_on_the_last_line(
    cli_database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = _run(capsys, *CREATE_CI).splitlines()
    key = lines[-1]
    assert is_well_formed(key)
    assert not any(key in line for line in lines[:-1])


def test_the_created_key_is_stored_with_its_scopes_and_expiry(
    cli_database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    key = _create(capsys)
    with cli_database.scope() as session:
        stored = find_by_key(session, key)
    assert stored is not None and (stored.name, stored.scopes) == ("ci", "READ")
    assert stored.is_active and stored.expires_at is not None
    assert abs(stored.expires_at - (utcnow() + timedelta(days=30))) < timedelta(minutes=1)


def test_repeated_scopes_are_stored_together(
    cli_database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    key = _create(
        capsys, "api-key", "create", "--name", "ops", "--scope", "WRITE", "--scope", "READ"
    )
    with cli_database.scope() as session:
        stored = find_by_key(session, key)
    assert stored is not None and stored.scopes == "READ WRITE" and stored.expires_at is None


def test_list_shows_scopes_in_the_order_the_api_uses(
    cli_database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    _create(capsys, "api-key", "create", "--name", "ops", "--scope", "ADMIN", "--scope", "READ")
    (row,) = _run(capsys, "api-key", "list").splitlines()[1:]
    assert "READ,ADMIN" in row.split()


def test_list_shows_the_prefix_but_never_the_key(
    cli_database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    key = _create(capsys)
    listing = _run(capsys, "api-key", "list")
    with cli_database.scope() as session:
        stored = find_by_key(session, key)
    assert stored is not None and stored.key_prefix in listing
    assert key not in listing and key[:-6] not in listing


def test_revoke_by_prefix_deactivates_the_key(
    cli_database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    key = _create(capsys)
    prefix = display_prefix(key)
    assert _run(capsys, "api-key", "revoke", prefix).startswith(f"revoked key {prefix}")
    with cli_database.scope() as session:
        stored = find_by_key(session, key)
    assert stored is not None and stored.is_active is False


def test_revoking_an_unknown_key_fails_naming_it(
    cli_database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["api-key", "revoke", "nobody"]) == 1
    assert capsys.readouterr().err == "error: no API key with prefix or name 'nobody'\n"


def test_an_unknown_duration_unit_is_a_usage_error(
    cli_database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["api-key", "create", "--name", "ci", "--scope", "READ", "--expires-in", "5x"]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "'5x' is not a duration like 30d, 12h or 90m" in capsys.readouterr().err
    assert "gqls_" not in _run(capsys, "api-key", "list")


@pytest.mark.parametrize("duration", ["36526d", "99999999d", "9999999999999w"])
def test_a_lifetime_beyond_100_years_is_a_usage_error(
    cli_database: Database, capsys: pytest.CaptureFixture[str], duration: str
) -> None:
    """99999999d used to end in 'OverflowError: date value out of range'."""
    argv = ["api-key", "create", "--name", "ci", "--scope", "READ", "--expires-in", duration]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert f"'{duration}' is longer than 100 years" in capsys.readouterr().err


def test_export_schema_prints_schema_graphql(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, "export-schema") == SCHEMA_FILE.read_text()


def _add_printer(database: Database, name: str, url: str) -> None:
    with database.scope() as session:
        create_printer(session, name=name, moonraker_url=url, allowed_networks=LOOPBACK)


def test_sync_imports_every_printer_and_prints_a_summary(
    cli_database: Database,
    capsys: pytest.CaptureFixture[str],
    fake: FakeMoonraker,
    moonraker_server: FakeMoonrakerServer,
) -> None:
    fake.add_jobs(7, seed=3)
    _add_printer(cli_database, "voron", moonraker_server.url)
    out = _run(capsys, "sync")
    summary = out.strip().splitlines()[-1].split()
    assert summary[:4] == ["voron", "ok", "7", "7"]
    with cli_database.scope() as session:
        assert session.scalar(select(func.count()).select_from(PrintJob)) == 7


def test_sync_exits_non_zero_when_a_printer_failed(
    cli_database: Database,
    capsys: pytest.CaptureFixture[str],
    moonraker_server: FakeMoonrakerServer,
) -> None:
    _add_printer(cli_database, "healthy", moonraker_server.url)
    _add_printer(cli_database, "gone", closed_port_url())
    assert main(["sync"]) == 1
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line}
    assert "UNREACHABLE" in rows["gone"] and " ok " in rows["healthy"]


def test_sync_of_an_unknown_printer_name_is_a_usage_error(
    cli_database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sync", "--printer", "nope"]) == 2
    assert "nope" in capsys.readouterr().err


# --- what the commands say ----------------------------------------------------------------


class RecordingEnvironment(dict[str, str]):
    """An empty environment that remembers which variables were asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)


def test_serve_help_names_every_variable_the_settings_read() -> None:
    environment = RecordingEnvironment()
    load_settings(environment)
    assert set(ENVIRONMENT["serve"]) == environment.read


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["migrate"], "migrate"),
        (["serve"], "serve"),
        (["api-key", "create"], "api-key"),
        (["api-key", "list"], "api-key"),
        (["sync"], "sync"),
        (["rotate-secret"], "rotate-secret"),
    ],
)
def test_help_lists_the_variables_a_command_reads(
    capsys: pytest.CaptureFixture[str], argv: list[str], command: str
) -> None:
    with pytest.raises(SystemExit):
        main([*argv, "--help"])
    listed = capsys.readouterr().out.split("environment:", 1)[1]
    assert [name for name in ENVIRONMENT[command] if name not in listed] == []


def test_the_first_key_banner_points_to_the_cli(
    database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    _bootstrap_key(database)
    assert "gql-server api-key create --name NAME --scope READ" in capsys.readouterr().out


@pytest.fixture
def database_url(database: Database, monkeypatch: pytest.MonkeyPatch) -> str:
    """DATABASE_URL naming the test database (SQLite file or MariaDB)."""
    url = database.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def test_list_columns_line_up_when_a_key_expires(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _create(capsys)  # expires in 30 days
    _create(capsys, "api-key", "create", "--name", "a-longer-name-than-most", "--scope", "ADMIN")
    header, *rows = _run(capsys, "api-key", "list").splitlines()
    starts = [header.index(column) for column in ("SCOPES", "ACTIVE", "EXPIRES", "LAST USED")]
    assert len(rows) == 2
    for row in rows:
        assert [(row[i - 1], row[i] != " ") for i in starts] == [(" ", True)] * len(starts)


def test_a_failed_printer_keeps_a_partial_progress_bar() -> None:
    out = io.StringIO()
    board = ProgressBoard({1: "voron"}, out)
    board.update(1, ImportCounts(pages=3))
    board.finish(SyncResult(1, "voron", utcnow(), error_code="UNREACHABLE"))
    assert out.getvalue() == f"voron [###{'.' * (BAR_WIDTH - 3)}] FAILED (UNREACHABLE)\n"
