"""``gql-server serve --workers 2`` on MariaDB with the Redis broker, as deployed.

Two fake Moonrakers count the sockets they accept: one per printer across both worker
processes. Every request opens a new connection, so the kernel hands them to either
worker; ``/metrics`` on the same connection names the process (``gql_process{pid}``).
"""

import contextlib
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gql_server.db.session import Database
from gql_server.graphql.ids import to_global_id
from tests.conftest import MYSQL_URL, migrated_mysql_database
from tests.factories import TEST_SECRET, make_printer
from tests.graphql.conftest import make_key
from tests.live.conftest import WAIT_S
from tests.support import served
from tests.support.fake_moonraker import FakeMoonraker, FakeMoonrakerServer
from tests.support.graphql_ws import GraphQLSocket, authenticated_socket
from tests.support.redis_server import RedisServer, redis_binary

pytestmark = pytest.mark.mariadb

URL = MYSQL_URL + "_workers"
MAX_REQUESTS = 200
QUERY = """{ printers(first: 10) { edges { node { name liveStatus {
  connection klippyState printState extruder { temperature target } updatedAt } } } } }"""
PID = re.compile(r'^gql_process\{pid="(\d+)"\} 1\.0$', re.MULTILINE)


@pytest.fixture
def mariadb() -> Iterator[Database]:
    with migrated_mysql_database(URL) as database:
        yield database


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if redis_binary() is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    with RedisServer(tmp_path) as server:
        yield server


def _ask(url: str, key: str) -> tuple[str, Any]:
    """One new connection: the worker's pid, then its printers' live status. The deadline
    is WAIT_S: a worker's first GraphQL request starts its validation processes, which
    took over 10 s on a loaded machine."""
    with httpx.Client(base_url=url, timeout=WAIT_S) as http:
        (pid,) = PID.findall(http.get("/metrics").text)
        response = http.post("/graphql", json={"query": QUERY}, headers={"X-API-Key": key})
        body = response.json()
        assert "errors" not in body, body
        return pid, [edge["node"] for edge in body["data"]["printers"]["edges"]]


def _temperatures(answer: Any) -> list[float | None]:
    return [(node["liveStatus"] or {}).get("extruder", {}).get("temperature") for node in answer]


def test_two_workers_share_one_socket_per_printer_and_answer_alike(
    tmp_path: Path,
    mariadb: Database,
    redis_server: RedisServer,
    moonraker_server: FakeMoonrakerServer,
    other_moonraker_server: FakeMoonrakerServer,
    fake: FakeMoonraker,
    other_fake: FakeMoonraker,
) -> None:
    with mariadb.scope() as session:
        make_printer(session, "voron-1", moonraker_url=moonraker_server.url)
        make_printer(session, "voron-2", moonraker_url=other_moonraker_server.url)
    key = make_key(mariadb)
    env = {
        "DATABASE_URL": URL,
        "GQL_LIVE": "true",
        "GQL_BROKER_URL": redis_server.url,
        "GQL_MOONRAKER_ALLOWED_NETWORKS": "127.0.0.0/8",
        "GQL_SECRET_KEY": TEST_SECRET,
        "GQL_SYNC_INTERVAL": "0",
        # A refresh (and restatement) every 4 s; long enough that a loaded machine never
        # lets a holder's lease lapse (which would open a second socket).
        "GQL_SYNC_LEASE": "12",
    }
    server = served.start_server(tmp_path / "serve.log", env, ["--workers", "2"])
    try:
        served.wait_healthy(server)
        deadline = time.monotonic() + WAIT_S
        while not (fake.websocket.subscriptions() and other_fake.websocket.subscriptions()):
            assert time.monotonic() < deadline, f"no sockets:\n{server.output()}"
            time.sleep(0.05)
        fake.websocket.push_status({"extruder": {"temperature": 201.5}})
        other_fake.websocket.push_status({"extruder": {"temperature": 202.5}})
        answers: dict[str, list[Any]] = {}
        for _ in range(MAX_REQUESTS):
            pid, answer = _ask(server.url, key)
            if _temperatures(answer) == [201.5, 202.5]:
                answers.setdefault(pid, []).append(answer)
            if len(answers) == 2 and min(len(a) for a in answers.values()) >= 3:
                break
            assert time.monotonic() < deadline + WAIT_S, f"{answers}\n{server.output()}"
            time.sleep(0.05)
        opened = (fake.websocket.opened, other_fake.websocket.opened)
    finally:
        codes = served.stop([server], 15.0)
    log = server.output()
    assert len(answers) == 2, f"requests reached one worker only: {list(answers)}\n{log}"
    distinct = {repr(answer) for worker in answers.values() for answer in worker}
    assert len(distinct) == 1, f"{distinct}\n{log}"
    assert opened == (1, 1), log
    assert codes == [0], log


JOBS = "subscription { printJobChanged { action job { jobId status printer { name } } } }"
STATUS = "subscription S($ids: [ID!]) { printerStatusChanged(printerIds: $ids) { progress } }"
SUBSCRIPTIONS_OPEN = re.compile(r"^gql_subscriptions_open ([0-9.]+)$", re.MULTILINE)
BROKER_CONNECTED = 'gql_broker_state{state="CONNECTED"} 1.0'
MAX_SOCKETS = 24
# A subscription opens once its worker has started its validation processes: seconds
# after the socket is accepted on a loaded machine, so the scrapes span 2 * WAIT_S.
SCRAPE_PAUSE_S = 0.1
SCRAPES = int(2 * WAIT_S / SCRAPE_PAUSE_S)
OPS_PER_SOCKET = 3  # printJobChanged, and printerStatusChanged for each printer


def _scrape(url: str) -> tuple[str, str]:
    """/metrics on a new connection: the worker that answered, and its figures."""
    with httpx.Client(base_url=url, timeout=WAIT_S) as http:
        text = http.get("/metrics").text
    (pid,) = PID.findall(text)
    return pid, text


def _subscriptions_open(text: str) -> int:
    (value,) = SUBSCRIPTIONS_OPEN.findall(text)
    return int(float(value))


def _workers_until(url: str, condition: Any, what: str) -> dict[str, str]:
    """Scrape both workers until their newest figures meet ``condition``. What it checks
    only grows during the test, so an older scrape of one worker never passes early."""
    latest: dict[str, str] = {}
    for _ in range(SCRAPES):
        pid, text = _scrape(url)
        latest[pid] = text
        if len(latest) == 2 and condition(latest):
            return latest
        time.sleep(SCRAPE_PAUSE_S)
    pytest.fail(f"the workers never reached: {what}; last figures by pid: {latest}")


def _answered(socket: GraphQLSocket) -> None:
    """A query on the socket, answered: its worker is past starting its document
    validation (slow on a loaded machine), so the subscriptions sent before it are open
    or about to be."""
    socket.subscribe("ready", "query { __typename }")
    while (message := socket.receive())["id"] != "ready" or message["type"] != "complete":
        assert message["type"] == "next", message


def _receive_until(socket: GraphQLSocket, messages: list[dict[str, Any]], done: Any) -> None:
    """Read the socket's messages into ``messages`` until ``done(messages)``; each receive
    has the client's deadline, so a missing event fails rather than hangs."""
    while not done(messages):
        message = socket.receive()
        assert message["type"] == "next", message
        assert "errors" not in message["payload"], message
        messages.append(message)


def _jobs(messages: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    """(printer, action, final status). An ADDED message shows the row as it is when it
    is sent, which may already be finished: only FINISHED names a status for sure."""
    changes = [m["payload"]["data"]["printJobChanged"] for m in messages if m["id"] == "jobs"]
    return sorted(
        (c["job"]["printer"]["name"], c["action"], _final(c["action"], c["job"]["status"]))
        for c in changes
    )


def _final(action: str, status: str) -> str | None:
    return status if action == "FINISHED" else None


def _progress(messages: list[dict[str, Any]], op_id: str) -> list[float]:
    data = [m["payload"]["data"]["printerStatusChanged"] for m in messages if m["id"] == op_id]
    return [d["progress"] for d in data]


def test_subscribers_on_both_workers_receive_every_event(
    tmp_path: Path,
    mariadb: Database,
    redis_server: RedisServer,
    moonraker_server: FakeMoonrakerServer,
    other_moonraker_server: FakeMoonrakerServer,
    fake: FakeMoonraker,
    other_fake: FakeMoonraker,
) -> None:
    """Sockets are opened until /metrics shows subscriptions open on both workers; then
    every socket must see both printers' jobs added and finished, once each, and both
    printers' newest progress, whichever worker holds the printer's websocket."""
    with mariadb.scope() as session:
        first = make_printer(session, "voron-1", moonraker_url=moonraker_server.url).id
        second = make_printer(session, "voron-2", moonraker_url=other_moonraker_server.url).id
    key = make_key(mariadb)
    env = {
        "DATABASE_URL": URL,
        "GQL_LIVE": "true",
        "GQL_BROKER_URL": redis_server.url,
        "GQL_MOONRAKER_ALLOWED_NETWORKS": "127.0.0.0/8",
        "GQL_SECRET_KEY": TEST_SECRET,
        "GQL_SYNC_INTERVAL": "0",
        "GQL_SYNC_LEASE": "12",  # as above: no holder lets its lease lapse
        # The sockets are read only once every one is open: a ping unanswered meanwhile
        # would close them (4408), so the keep-alive outlasts the whole test.
        "GQL_WS_KEEPALIVE": str(20 * WAIT_S),
    }
    server = served.start_server(tmp_path / "serve.log", env, ["--workers", "2"])
    received: list[list[dict[str, Any]]] = []
    try:
        served.wait_healthy(server, timeout=3 * WAIT_S)  # two workers start on a busy machine
        _workers_until(
            server.url,
            lambda latest: all(BROKER_CONNECTED in text for text in latest.values()),
            "both workers connected to the broker",
        )
        deadline = time.monotonic() + WAIT_S
        while not (fake.websocket.subscriptions() and other_fake.websocket.subscriptions()):
            assert time.monotonic() < deadline, f"no sockets:\n{server.output()}"
            time.sleep(0.05)
        with contextlib.ExitStack() as stack:
            sockets = []
            by_worker: dict[str, int] = {}
            while len(by_worker) < 2 or min(by_worker.values()) == 0:
                assert len(sockets) < MAX_SOCKETS, f"one worker took every socket: {by_worker}"
                socket = stack.enter_context(authenticated_socket(server.url, key))
                socket.subscribe("jobs", JOBS)
                socket.subscribe("s1", STATUS, {"ids": [to_global_id("Printer", first)]})
                socket.subscribe("s2", STATUS, {"ids": [to_global_id("Printer", second)]})
                sockets.append(socket)
                _answered(socket)
                expected = OPS_PER_SOCKET * len(sockets)
                latest = _workers_until(
                    server.url,
                    lambda latest, n=expected: (
                        sum(_subscriptions_open(t) for t in latest.values()) >= n
                    ),
                    f"{expected} subscriptions open",
                )
                by_worker = {pid: _subscriptions_open(text) for pid, text in latest.items()}
            for moonraker in (fake, other_fake):
                job = moonraker.websocket.start_print("benchy.gcode")
                moonraker.websocket.end_print(job["job_id"], "completed")
            fake.websocket.push_status({"display_status": {"progress": 0.5}})
            other_fake.websocket.push_status({"display_status": {"progress": 0.75}})
            for socket in sockets:
                messages: list[dict[str, Any]] = []
                _receive_until(
                    socket,
                    messages,
                    lambda m: (
                        len(_jobs(m)) >= 4
                        and 0.5 in _progress(m, "s1")
                        and 0.75 in _progress(m, "s2")
                    ),
                )
                received.append(messages)
        opened = (fake.websocket.opened, other_fake.websocket.opened)
    finally:
        codes = served.stop([server], 15.0)
    log = server.output()
    everything = [
        ("voron-1", "ADDED", None),
        ("voron-1", "FINISHED", "COMPLETED"),
        ("voron-2", "ADDED", None),
        ("voron-2", "FINISHED", "COMPLETED"),
    ]
    assert [_jobs(messages) for messages in received] == [everything] * len(received), log
    assert by_worker and min(by_worker.values()) > 0, by_worker
    assert opened == (1, 1), log
    assert codes == [0], log
