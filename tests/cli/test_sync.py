"""``gql-server sync``: a progress line per printer, then a summary table."""

import io

import pytest
from sqlalchemy import func, select

from gql_server.cli import main
from gql_server.cli.sync import BAR_WIDTH, ProgressBoard, summary_table
from gql_server.db.models import PrintJob
from gql_server.db.session import Database
from gql_server.db.types import utcnow
from gql_server.services.printers import create_printer
from gql_server.services.sync import ImportCounts, SyncResult
from tests.cli.conftest import run_cli
from tests.factories import LOOPBACK
from tests.support.fake_moonraker import FakeMoonraker, FakeMoonrakerServer, closed_port_url


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
    out = run_cli(capsys, "sync")
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


def test_a_failed_printer_keeps_a_partial_progress_bar() -> None:
    out = io.StringIO()
    board = ProgressBoard({1: "voron"}, out)
    board.update(1, ImportCounts(pages=3))
    board.finish(SyncResult(1, "voron", utcnow(), error_code="UNREACHABLE"))
    assert out.getvalue() == f"voron [###{'.' * (BAR_WIDTH - 3)}] FAILED (UNREACHABLE)\n"


def test_control_characters_reach_the_terminal_escaped(
    cli_database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    """A printer's name (any WRITE key sets it) and Moonraker's error message (any
    printer sends it) must not drive the operator's terminal: ESC clears the screen."""
    _add_printer(cli_database, "evil\x1b[2J\nname", closed_port_url())
    assert main(["sync"]) == 1
    out = capsys.readouterr().out
    assert "\x1b" not in out and "evil\\x1b[2J\\nname" in out
    result = SyncResult(1, "p", utcnow(), error_code="HTTP_ERROR", error_message="\x1b]0;x\x07")
    assert "\\x1b]0;x\\x07" in summary_table([result])


def test_a_printer_given_in_another_case_is_shown_by_its_stored_name(
    cli_database: Database,
    capsys: pytest.CaptureFixture[str],
    moonraker_server: FakeMoonrakerServer,
) -> None:
    """The progress line said "VORON" and the table "voron" for one printer."""
    _add_printer(cli_database, "voron", moonraker_server.url)
    out = run_cli(capsys, "sync", "--printer", "VORON", "--printer", "Voron")
    assert "VORON" not in out and "Voron" not in out
    assert [line.split()[0] for line in out.splitlines() if line] == ["voron", "PRINTER", "voron"]
