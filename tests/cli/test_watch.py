"""``gql-server watch`` against a served app following a fake Moonraker's websocket."""

import time
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette

from gql_server.app import create_app
from gql_server.cli import main
from gql_server.config import Settings
from gql_server.db.session import Database
from gql_server.services.sync import Syncer
from tests.factories import LOOPBACK, TEST_BOX, TEST_SECRET
from tests.graphql.conftest import make_key
from tests.live.conftest import FAST_LIVE, WAIT_S
from tests.support.fake_moonraker import FakeMoonraker, FakeMoonrakerServer, closed_port_url
from tests.support.live_server import LiveServer
from tests.sync.conftest import FAST, add_printer

HOT_EXTRUDER = {"extruder": {"temperature": 209.6, "target": 210.0}}


class Farm:
    def __init__(self, app: Starlette, url: str, database: Database) -> None:
        self.app, self.url, self.database = app, url, database

    def until_printing(self, printer_id: int) -> None:
        """Live mode has seen the print start: the state watch should show."""
        deadline = time.monotonic() + WAIT_S
        while True:
            status = self.app.state.live.status(printer_id)
            if status is not None and status.print_state == "printing":
                return
            if time.monotonic() > deadline:
                pytest.fail(f"live mode never saw printer {printer_id} printing: {status}")
            time.sleep(0.01)


@pytest.fixture
def farm(database: Database) -> Iterator[Farm]:
    settings = Settings(
        database_url="sqlite://",
        secret_key=TEST_SECRET,
        moonraker_allowed_networks=LOOPBACK,
        live=True,
    )
    syncer = Syncer(database, FAST, secret_box=TEST_BOX)
    app = create_app(settings, database=database, syncer=syncer, live_options=FAST_LIVE)
    with LiveServer(app, name="gql-watch", config={"ws": "websockets-sansio"}) as server:
        yield Farm(app, server.url, database)


def watch(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["watch", "--once", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_watch_once_shows_a_printing_printer_state(
    farm: Farm,
    moonraker_server: FakeMoonrakerServer,
    fake: FakeMoonraker,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    printer = add_printer(farm.database, "voron-1", moonraker_server.url)
    monkeypatch.setenv("GQL_API_KEY", make_key(farm.database, "READ"))
    fake.websocket.push_status(HOT_EXTRUDER)
    fake.websocket.start_print("benchy.gcode")
    farm.until_printing(printer)
    status, out, err = watch(capsys, "--url", farm.url)
    (row,) = [line.split() for line in out.splitlines() if line.startswith("voron-1")]
    assert (status, err) == (0, "")
    assert row[:5] == ["voron-1", "CONNECTED", "ready", "printing", "benchy.gcode"]
    assert "209.6/210" in row


def test_watch_refused_key_is_one_line_and_status_2(
    farm: Farm, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GQL_API_KEY", "not-a-key")
    status, out, err = watch(capsys, "--url", farm.url)
    assert (status, out) == (2, "")
    assert err == ("error: the server refused the API key: invalid, revoked or expired API key\n")


def test_watch_unreachable_server_is_one_line_and_status_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = closed_port_url()
    monkeypatch.setenv("GQL_API_KEY", "any-key")
    status, out, err = watch(capsys, "--url", url)
    assert (status, out) == (2, "")
    assert err == (
        f"error: cannot reach the server at {url}: connection refused or host unreachable\n"
    )


def test_watch_unknown_printer_is_one_line_and_status_2(
    farm: Farm, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GQL_API_KEY", make_key(farm.database, "READ"))
    status, out, err = watch(capsys, "--url", farm.url, "--printer", "nope")
    assert (status, out) == (2, "")
    assert err == f"error: no printer named 'nope' on {farm.url}\n"


def test_watch_without_a_key_names_the_variable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GQL_API_KEY", raising=False)
    status, _, err = watch(capsys, "--url", closed_port_url())
    assert status == 2 and "set GQL_API_KEY" in err
