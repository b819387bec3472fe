"""Workers connected through Redis: every event reaches every worker's hub.

The broker is a real redis-server started here on a free 127.0.0.1 port, stopped and
started again for the outage tests. Each ``BrokeredHub`` stands for one worker.
"""

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from gql_server.app import create_app
from gql_server.config import Settings
from gql_server.db.session import Database
from gql_server.services.live import (
    Backoff,
    JobChanged,
    LiveService,
    LiveStatus,
    StatusChanged,
    Temperature,
)
from gql_server.services.live.broker import CONNECTED, UNREACHABLE, BrokeredHub, BrokerOptions
from gql_server.services.live.hub import Event
from gql_server.services.live.wire import VERSION, WireError, decode, encode
from gql_server.services.sync import Syncer
from tests.factories import LOOPBACK, TEST_BOX, TEST_SECRET
from tests.graphql.conftest import GraphQLClient, make_key
from tests.live.conftest import FAST_LIVE, WAIT_S
from tests.support.fake_moonraker import FakeMoonraker, FakeMoonrakerServer
from tests.support.graphql_ws import GraphQLSocket, authenticated_socket
from tests.support.live_server import LiveServer
from tests.support.redis_server import RedisServer, redis_binary
from tests.sync.conftest import FAST, add_printer

FAST_BROKER = BrokerOptions(backoff=Backoff(base=0.05, cap=0.5))
EVENTS = 50
STATUS = LiveStatus(
    printer_id=7,
    connection="CONNECTED",
    klippy_state="ready",
    print_state="printing",
    filename="benchy.gcode",
    progress=0.25,
    print_duration=612.5,
    estimated_time_left=1837.5,
    extruder=Temperature(215.1, 215.0),
    bed=Temperature(None, 60.0),
    message=None,
    updated_at=datetime(2026, 11, 26, 21, 0, 1, 250_000, tzinfo=UTC),
)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if redis_binary() is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    with RedisServer(tmp_path) as server:
        yield server


def _job(n: int) -> JobChanged:
    return JobChanged(7, "ADDED", n, f"{n:06X}", datetime(2026, 11, 26, tzinfo=UTC))


async def _until(condition: Callable[[], Any], what: str) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while not (value := condition()):
        if loop.time() > deadline:
            pytest.fail(f"never reached: {what}")
        await asyncio.sleep(0.01)
    return value


@asynccontextmanager
async def _hubs(url: str, count: int = 2) -> AsyncIterator[list[BrokeredHub]]:
    hubs = [BrokeredHub(url, FAST_BROKER) for _ in range(count)]
    tasks = [asyncio.ensure_future(hub.run()) for hub in hubs]
    try:
        yield hubs
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class Reader:
    """Every event a hub hands to one subscriber."""

    def __init__(self, hub: BrokeredHub) -> None:
        self.events: list[Event] = []
        self._task = asyncio.ensure_future(self._read(hub))

    async def _read(self, hub: BrokeredHub) -> None:
        async for batch in hub.subscribe():
            self.events.extend(batch)

    def jobs(self) -> list[int]:
        return [e.print_job_id for e in self.events if isinstance(e, JobChanged)]

    def stop(self) -> None:
        self._task.cancel()


def test_every_event_class_round_trips_as_versioned_json() -> None:
    events = [StatusChanged(7, STATUS), _job(1)]
    decoded = [decode(encode(event, origin="w1")) for event in events]
    assert [message.event for message in decoded] == events
    assert {message.origin for message in decoded} == {"w1"}


def test_a_message_of_another_version_is_refused() -> None:
    text = encode(_job(1), origin="w1").replace(f'"v":{VERSION}', f'"v":{VERSION + 1}')
    with pytest.raises(WireError, match="version"):
        decode(text)


def test_two_hubs_through_redis_receive_every_event(redis_server: RedisServer) -> None:
    async def scenario() -> tuple[list[int], list[int], LiveStatus | None]:
        async with _hubs(redis_server.url) as (holder, other):
            await _until(lambda: holder.ready and other.ready, "both hubs connected")
            here, there = Reader(holder), Reader(other)
            await asyncio.sleep(0)
            holder.publish(StatusChanged(7, STATUS))
            for n in range(EVENTS):
                holder.publish(_job(n))
            await _until(lambda: len(there.jobs()) >= EVENTS, f"{EVENTS} jobs on the other hub")
            here.stop(), there.stop()
            return here.jobs(), there.jobs(), other.remote_status(7)

    here, there, status = asyncio.run(scenario())
    assert here == there == list(range(EVENTS))  # in order, and never echoed back twice
    assert status == STATUS


def test_events_resume_after_the_broker_returns(redis_server: RedisServer) -> None:
    async def scenario() -> list[str]:
        async with _hubs(redis_server.url) as (holder, other):
            await _until(lambda: holder.ready and other.ready, "both hubs connected")
            there = Reader(other)
            redis_server.stop()
            await _until(lambda: other.state == holder.state == UNREACHABLE, "broker lost")
            reason = str(other.reason)
            redis_server.start()
            await _until(lambda: holder.state == other.state == CONNECTED, "broker back")
            holder.publish(_job(99))
            await _until(lambda: 99 in there.jobs(), "an event after the broker returned")
            there.stop()
            return [reason]

    (reason,) = asyncio.run(scenario())
    assert reason.startswith("broker unreachable")


def test_a_printer_answers_alike_on_the_worker_without_its_socket(
    database: Database,
    redis_server: RedisServer,
    moonraker_server: FakeMoonrakerServer,
    fake: FakeMoonraker,
) -> None:
    printer = add_printer(database, "voron-1", moonraker_server.url)

    async def scenario() -> tuple[LiveStatus | None, LiveStatus | None, int]:
        hub_one, hub_two = BrokeredHub(redis_server.url), BrokeredHub(redis_server.url)
        services = [
            LiveService(Syncer(database, FAST, secret_box=TEST_BOX), FAST_LIVE, hub=hub)
            for hub in (hub_one, hub_two)
        ]
        tasks = [asyncio.ensure_future(hub.run()) for hub in (hub_one, hub_two)]
        await _until(lambda: hub_one.ready and hub_two.ready, "both hubs connected")
        tasks += [asyncio.ensure_future(service.run()) for service in services]
        try:
            fake.websocket.push_status({"extruder": {"temperature": 201.5}})

            def agreed() -> bool:
                one, two = (service.status(printer) for service in services)
                return one is not None and one.connection == "CONNECTED" and one == two

            await _until(agreed, "the same status on both services")
            fake.websocket.push_status({"extruder": {"temperature": 207.0}})
            await _until(
                lambda: all(_extruder(s.status(printer)) == 207.0 for s in services),
                "a status change on both services",
            )
            one, two = (service.status(printer) for service in services)
            return one, two, fake.websocket.opened
        finally:
            for service in services:
                await service.stop()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    one, two, opened = asyncio.run(scenario())
    assert one == two
    assert opened == 1


def _extruder(status: LiveStatus | None) -> float | None:
    if status is None or status.extruder is None:
        return None
    return status.extruder.temperature


def test_without_the_broker_readyz_says_why_and_queries_still_answer(
    database: Database, redis_server: RedisServer
) -> None:
    settings = Settings(
        database_url="sqlite://",
        secret_key=TEST_SECRET,
        moonraker_allowed_networks=LOOPBACK,
        broker_url=redis_server.url,
    )
    app = create_app(settings, database=database)
    app.state.hub.options = FAST_BROKER
    with (
        LiveServer(app, name="gql-server") as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        gql = GraphQLClient(http=http, key=make_key(database))
        _wait_ready(http, 200)
        redis_server.stop()
        down = _wait_ready(http, 503)
        printers = gql.execute("{ printers(first: 1) { totalCount } }")
        redis_server.start()
        _wait_ready(http, 200)
    assert down["status"] == "broker unreachable"
    assert "broker unreachable" in down["reason"]
    assert printers["printers"]["totalCount"] == 0


def _wait_ready(http: httpx.Client, status_code: int) -> Any:
    """Bounded: at most WAIT_S / 0.05 probes."""
    for _ in range(int(WAIT_S / 0.05)):
        response = http.get("/readyz")
        if response.status_code == status_code:
            return response.json()
        asyncio.run(asyncio.sleep(0.05))
    pytest.fail(f"/readyz never answered {status_code}")


SYNC_PROGRESS = "subscription { syncProgress { jobsSeen finished } }"
SYNC = "mutation { syncPrinters(input: {full: true}) { results { ok } } }"


def test_events_between_served_workers_resume_after_the_broker_returns(
    database: Database,
    redis_server: RedisServer,
    moonraker_server: FakeMoonrakerServer,
    fake: FakeMoonraker,
) -> None:
    """Two apps on one broker stand for two workers: a sync on one reaches a subscriber
    of the other before the outage and again after it."""
    fake.add_jobs(2)
    add_printer(database, "voron-1", moonraker_server.url)
    settings = Settings(
        database_url="sqlite://",
        secret_key=TEST_SECRET,
        moonraker_allowed_networks=LOOPBACK,
        broker_url=redis_server.url,
        ws_keepalive=WAIT_S,
    )
    apps = [create_app(settings, database=database) for _ in range(2)]
    for app in apps:
        app.state.hub.options = FAST_BROKER
    admin = {"X-API-Key": make_key(database, "ADMIN", name="admin")}
    ws = {"ws": "websockets-sansio"}
    with (
        LiveServer(apps[0], name="worker-1") as one,
        LiveServer(apps[1], name="worker-2", config=ws) as two,
        httpx.Client(base_url=one.url, headers=admin, timeout=WAIT_S) as http_one,
        httpx.Client(base_url=two.url, timeout=WAIT_S) as http_two,
        authenticated_socket(two.url, make_key(database, "READ")) as socket,
    ):
        for http in (http_one, http_two):
            _wait_ready(http, 200)
        socket.subscribe("sync", SYNC_PROGRESS)
        _wait_for(lambda: apps[1].state.hub.subscriber_count >= 1, "the subscriber")
        before = _synced_on(http_one, socket)
        redis_server.stop()
        for http in (http_one, http_two):
            _wait_ready(http, 503)
        redis_server.start()
        for http in (http_one, http_two):
            _wait_ready(http, 200)
        after = _synced_on(http_one, socket)
    assert before == after == {"jobsSeen": 2, "finished": True}


def _synced_on(http: httpx.Client, socket: GraphQLSocket) -> Any:
    """A sync asked of one worker; its closing progress as the other worker's
    subscriber receives it."""
    http.post("/graphql", json={"query": SYNC}).raise_for_status()
    while True:
        message = socket.receive_for("sync")
        assert message["type"] == "next", message
        progress = message["payload"]["data"]["syncProgress"]
        if progress["finished"]:
            return progress


def _wait_for(condition: Callable[[], Any], what: str) -> None:
    """Bounded: at most WAIT_S / 0.05 checks."""
    for _ in range(int(WAIT_S / 0.05)):
        if condition():
            return
        asyncio.run(asyncio.sleep(0.05))
    pytest.fail(f"never reached: {what}")
