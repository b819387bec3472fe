"""``Printer.liveStatus`` through the served app: the lifespan starts live mode when the
settings say so, and a READ key reads the state like any other printer field."""

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gql_server.app import create_app
from gql_server.config import Settings, load_settings
from gql_server.db.session import Database
from gql_server.services.sync import Syncer
from tests.factories import LOOPBACK, TEST_BOX, TEST_SECRET
from tests.graphql.conftest import GraphQLClient, make_key
from tests.live.conftest import FAST_LIVE, WAIT_S
from tests.support.fake_moonraker import FakeMoonraker, FakeMoonrakerServer
from tests.support.live_server import LiveServer
from tests.sync.conftest import FAST, add_printer

QUERY = """
{ printers(first: 10) { nodes { name liveStatus {
    connection klippyState printState filename progress printDuration estimatedTimeLeft
    extruder { temperature target } bed { temperature target } message updatedAt
    error { code message }
} } } }
"""


def _serve(database: Database, *, live: bool) -> Iterator[GraphQLClient]:
    settings = Settings(
        database_url="sqlite://",
        secret_key=TEST_SECRET,
        moonraker_allowed_networks=LOOPBACK,
        live=live,
    )
    syncer = Syncer(database, FAST, secret_box=TEST_BOX)
    app = create_app(settings, database=database, syncer=syncer, live_options=FAST_LIVE)
    with (
        LiveServer(app, name="gql-server") as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        yield GraphQLClient(http=http, key=make_key(database, "READ"))


@pytest.fixture
def live_gql(database: Database) -> Iterator[GraphQLClient]:
    yield from _serve(database, live=True)


def _live_status(gql: GraphQLClient, name: str) -> Any:
    nodes = gql.execute(QUERY)["printers"]["nodes"]
    return {node["name"]: node["liveStatus"] for node in nodes}[name]


def _until(gql: GraphQLClient, name: str, condition: Any, what: str) -> Any:
    deadline = time.monotonic() + WAIT_S
    while True:
        status = _live_status(gql, name)
        if status is not None and condition(status):
            return status
        if time.monotonic() > deadline:
            pytest.fail(f"liveStatus never showed {what}: {status}")
        time.sleep(0.02)


def test_live_status_shows_what_the_printer_is_doing(
    database: Database, moonraker_server: FakeMoonrakerServer, fake: FakeMoonraker
) -> None:
    add_printer(database, "voron-1", moonraker_server.url)
    for gql in _serve(database, live=True):
        _until(gql, "voron-1", lambda s: s["connection"] == "CONNECTED", "CONNECTED")
        _until(gql, "voron-1", lambda s: fake.websocket.subscriptions(), "a subscription")
        fake.websocket.start_print("benchy.gcode")
        fake.websocket.push_status(
            {
                "extruder": {"temperature": 214.0, "target": 215.0},
                "display_status": {"progress": 0.1},
            }
        )
        status = _until(gql, "voron-1", lambda s: s["progress"] == 0.1, "the progress")
        assert status["klippyState"] == "READY"
        assert status["printState"] == "PRINTING"
        assert status["filename"] == "benchy.gcode"
        assert status["extruder"] == {"temperature": 214.0, "target": 215.0}
        assert status["error"] is None


def test_an_unreachable_printer_is_offline_with_its_code(database: Database) -> None:
    from tests.support.fake_moonraker import closed_port_url

    add_printer(database, "voron-1", closed_port_url())
    for gql in _serve(database, live=True):
        status = _until(gql, "voron-1", lambda s: s["connection"] == "OFFLINE", "OFFLINE")
        assert status["error"]["code"] == "UNREACHABLE"


def test_without_live_mode_live_status_is_null(
    database: Database, moonraker_server: FakeMoonrakerServer, fake: FakeMoonraker
) -> None:
    add_printer(database, "voron-1", moonraker_server.url)
    for gql in _serve(database, live=False):
        assert _live_status(gql, "voron-1") is None
    assert fake.websocket.opened == 0


def test_gql_live_is_on_unless_turned_off() -> None:
    assert load_settings({}).live is True
    assert load_settings({"GQL_LIVE": "false"}).live is False
