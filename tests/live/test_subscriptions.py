"""GraphQL subscriptions end to end: a fake Moonraker's websocket on one side, a real
graphql-transport-ws client on the other, the served app (with live mode) between."""

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from gql_server.app import create_app
from gql_server.config import Settings
from gql_server.db.session import Database
from gql_server.graphql.ids import to_global_id
from gql_server.services.sync import Syncer
from tests.factories import LOOPBACK, TEST_BOX, TEST_SECRET
from tests.graphql.conftest import make_key
from tests.live.conftest import FAST_LIVE, WAIT_S
from tests.support.fake_moonraker import FakeMoonraker, FakeMoonrakerServer
from tests.support.graphql_ws import GraphQLSocket, authenticated_socket
from tests.support.live_server import LiveServer
from tests.sync.conftest import FAST, add_printer, stored_jobs

JOB_CHANGED = """
subscription Jobs($ids: [ID!]) { printJobChanged(printerIds: $ids) {
    action job { id jobId status filename endTime printer { name } }
} }"""
STATUS_CHANGED = """
subscription Status($ids: [ID!]) { printerStatusChanged(printerIds: $ids) {
    connection progress
} }"""
SYNC_PROGRESS = "subscription { syncProgress { printerId pages jobsSeen finished errorCode } }"
SYNC = "mutation { syncPrinters(input: {full: true}) { results { ok } } }"
PUSHES = 40  # status updates pushed back to back


class Served:
    def __init__(self, app: Starlette, url: str) -> None:
        self.app, self.url = app, url

    def until(self, condition: Callable[[], Any], what: str) -> Any:
        deadline = time.monotonic() + WAIT_S
        while not (value := condition()):
            if time.monotonic() > deadline:
                pytest.fail(f"never reached: {what}")
            time.sleep(0.01)
        return value

    def subscribed(self, count: int = 1) -> None:
        """The hub has the readers: events published from now on reach them."""
        self.until(lambda: self.app.state.hub.subscriber_count >= count, "a hub subscriber")

    def following(self, printer_id: int) -> None:
        """Live mode is connected to the printer and past its first sync."""

        def ready() -> bool:
            live = self.app.state.live
            connection = None if live is None else live.connections.get(printer_id)
            status = None if live is None else live.status(printer_id)
            return (
                connection is not None
                and connection.synced
                and status is not None
                and status.connection == "CONNECTED"
            )

        self.until(ready, f"printer {printer_id} followed")


def _serve(database: Database, *, live: bool) -> Iterator[Served]:
    settings = Settings(
        database_url="sqlite://",
        secret_key=TEST_SECRET,
        moonraker_allowed_networks=LOOPBACK,
        live=live,
        ws_keepalive=WAIT_S,
    )
    syncer = Syncer(database, FAST, secret_box=TEST_BOX)
    app = create_app(settings, database=database, syncer=syncer, live_options=FAST_LIVE)
    config = {"ws": "websockets-sansio"}
    with LiveServer(app, name="gql-ws", config=config) as server:
        yield Served(app, server.url)


def _next(socket: GraphQLSocket, op_id: str) -> Any:
    message = socket.receive_for(op_id)
    assert message["type"] == "next", message
    assert "errors" not in message["payload"], message
    return message["payload"]["data"]


def test_a_finished_print_reaches_the_subscriber_as_it_is_stored(
    database: Database, moonraker_server: FakeMoonrakerServer, fake: FakeMoonraker
) -> None:
    fake.add_sample_files()
    filename = next(iter(fake.files))
    printer = add_printer(database, "voron-1", moonraker_server.url)
    ids = {"ids": [to_global_id("Printer", printer)]}
    for served in _serve(database, live=True):
        with authenticated_socket(served.url, make_key(database, "READ")) as socket:
            served.following(printer)
            socket.subscribe("jobs", JOB_CHANGED, ids)
            served.subscribed()
            job = fake.websocket.start_print(filename)
            added = _next(socket, "jobs")["printJobChanged"]
            fake.websocket.end_print(job["job_id"], "completed")
            finished = _next(socket, "jobs")["printJobChanged"]
    (stored,) = stored_jobs(database, printer)
    assert added["action"] == "ADDED" and added["job"]["status"] == "IN_PROGRESS"
    assert finished["action"] == "FINISHED"
    assert finished["job"] == {
        "id": to_global_id("PrintJob", stored.id),
        "jobId": stored.job_id,
        "status": "COMPLETED",
        "filename": filename,
        "endTime": finished["job"]["endTime"],
        "printer": {"name": "voron-1"},
    }
    assert finished["job"]["endTime"] is not None and stored.end_time is not None
    assert stored.status == "completed"


def test_status_messages_are_throttled_and_the_newest_arrives(
    database: Database, moonraker_server: FakeMoonrakerServer, fake: FakeMoonraker
) -> None:
    printer = add_printer(database, "voron-1", moonraker_server.url)
    for served in _serve(database, live=True):
        with authenticated_socket(served.url, make_key(database, "READ")) as socket:
            served.following(printer)
            socket.subscribe("status", STATUS_CHANGED, {"ids": [to_global_id("Printer", printer)]})
            served.subscribed()
            for step in range(1, PUSHES + 1):
                fake.websocket.push_status({"display_status": {"progress": step / PUSHES}})
            shown = []
            while not shown or shown[-1] != 1.0:
                shown.append(_next(socket, "status")["printerStatusChanged"]["progress"])
    assert len(shown) < PUSHES / 2
    assert shown[-1] == 1.0


def test_sync_progress_is_published_without_live_mode(
    database: Database, moonraker_server: FakeMoonrakerServer, fake: FakeMoonraker
) -> None:
    fake.add_jobs(5)
    printer = add_printer(database, "voron-1", moonraker_server.url)
    for served in _serve(database, live=False):
        with authenticated_socket(served.url, make_key(database, "READ")) as socket:
            socket.subscribe("sync", SYNC_PROGRESS)
            served.subscribed()
            admin = {"X-API-Key": make_key(database, "ADMIN", name="admin")}
            with httpx.Client(base_url=served.url, headers=admin, timeout=WAIT_S) as http:
                http.post("/graphql", json={"query": SYNC}).raise_for_status()
            messages = [_next(socket, "sync")["syncProgress"]]
            while not messages[-1]["finished"]:
                messages.append(_next(socket, "sync")["syncProgress"])
    assert {m["printerId"] for m in messages} == {to_global_id("Printer", printer)}
    assert messages[-1]["jobsSeen"] == 5
    assert messages[-1]["errorCode"] is None
