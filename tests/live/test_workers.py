"""``gql-server serve --workers 2`` on MariaDB with the Redis broker, as deployed.

Two fake Moonrakers count the sockets they accept: one per printer across both worker
processes. Every request opens a new connection, so the kernel hands them to either
worker; ``/metrics`` on the same connection names the process (``gql_process{pid}``).
"""

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gql_server.db.session import Database
from tests.conftest import MYSQL_URL, migrated_mysql_database
from tests.factories import TEST_SECRET, make_printer
from tests.graphql.conftest import make_key
from tests.live.conftest import WAIT_S
from tests.support import served
from tests.support.fake_moonraker import FakeMoonraker, FakeMoonrakerServer
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
    """One new connection: the worker's pid, then its printers' live status."""
    with httpx.Client(base_url=url, timeout=10) as http:
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
