"""The uvicorn settings ``gql-server serve`` derives from ours, through a real uvicorn
server on 127.0.0.1: forwarded headers believed only from GQL_TRUSTED_PROXIES, and at
most GQL_MAX_CONNECTIONS connections served at once."""

import time
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest

from gql_server.app import create_app
from gql_server.cli.serve import uvicorn_options
from gql_server.config import Settings
from gql_server.db.session import Database
from gql_server.web.header_deadline import HeaderDeadlineProtocol
from gql_server.web.throttle import FailureThrottle
from tests.graphql.conftest import make_key
from tests.raw_http import closed_by_server, connect, read_response
from tests.support.graphql_ws import authenticated_socket
from tests.support.live_server import LiveServer

FAILURES_ALLOWED = 2
BAD_KEY = {"X-API-Key": "not-a-key"}
VIEWER = {"query": "{ viewer { name } }"}
DEFAULTS = Settings(database_url="sqlite://")
BEHIND_LOOPBACK_PROXY = replace(DEFAULTS, trusted_proxies=("127.0.0.1/32",))


def serve(database: Database, settings: Settings) -> LiveServer:
    throttle = FailureThrottle(limit=FAILURES_ALLOWED, window=60.0)
    app = create_app(settings, database=database, throttle=throttle)
    return LiveServer(app, name="serve-options", config=uvicorn_options(settings))


def http_to(server: LiveServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=30)


def fail_as(http: httpx.Client, forwarded_for: str) -> int:
    headers = {**BAD_KEY, "X-Forwarded-For": forwarded_for}
    return http.post("/graphql", json=VIEWER, headers=headers).status_code


@pytest.fixture
def untrusting(database: Database) -> Iterator[httpx.Client]:
    with serve(database, DEFAULTS) as server, http_to(server) as http:
        yield http


def test_without_trusted_proxies_forwarded_for_cannot_dodge_the_throttle(
    untrusting: httpx.Client,
) -> None:
    """Each request claims another address; the throttle still sees 127.0.0.1."""
    statuses = [fail_as(untrusting, f"10.0.0.{n}") for n in range(1, FAILURES_ALLOWED + 2)]
    assert statuses == [401] * FAILURES_ALLOWED + [429]


def test_forwarded_allow_ips_from_the_environment_trusts_nobody_either(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")
    with serve(database, DEFAULTS) as server, http_to(server) as http:
        statuses = [fail_as(http, f"10.0.0.{n}") for n in range(1, FAILURES_ALLOWED + 2)]
    assert statuses == [401] * FAILURES_ALLOWED + [429]


def test_a_trusted_proxy_s_forwarded_for_is_the_address_throttled(database: Database) -> None:
    with serve(database, BEHIND_LOOPBACK_PROXY) as server, http_to(server) as http:
        blocked = [fail_as(http, "10.0.0.1") for _ in range(FAILURES_ALLOWED + 1)]
        other = fail_as(http, "10.0.0.2")
    assert (blocked, other) == ([401] * FAILURES_ALLOWED + [429], 401)


def test_a_connection_beyond_the_cap_gets_503(database: Database) -> None:
    settings = replace(DEFAULTS, max_connections=2)
    with serve(database, settings) as server, connect(server.url, timeout=10) as held:
        held.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert read_response(held, timeout=10).status == 200  # now open and idle
        with http_to(server) as http:
            assert http.get("/healthz").status_code == 503


def test_a_connection_within_the_cap_is_served(database: Database) -> None:
    settings = replace(DEFAULTS, max_connections=2)
    with serve(database, settings) as server, http_to(server) as http:
        assert http.get("/healthz").status_code == 200


# --- connections that never finish a request ------------------------------------------

QUICK_DEADLINE = replace(DEFAULTS, body_timeout=0.5, max_connections=4)


@pytest.mark.parametrize(
    "sent", [b"", b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"], ids=["nothing", "half"]
)
def test_a_connection_that_does_not_finish_its_request_headers_is_closed(
    database: Database, sent: bytes
) -> None:
    with serve(database, QUICK_DEADLINE) as server, connect(server.url, timeout=10) as idle:
        idle.sendall(sent)
        assert closed_by_server(idle, timeout=5)


def test_idle_connections_cannot_hold_every_place(database: Database) -> None:
    """As many silent connections as the cap: once their deadline passes, the server
    serves again (uvicorn alone answered 503 for as long as they stayed open)."""
    with serve(database, QUICK_DEADLINE) as server:
        sockets = [connect(server.url, timeout=10) for _ in range(QUICK_DEADLINE.max_connections)]
        try:
            time.sleep(1.5)
            with http_to(server) as http:
                assert http.get("/healthz").status_code == 200
        finally:
            for sock in sockets:
                sock.close()


def test_a_keep_alive_connection_serves_requests_sent_within_the_deadline(
    database: Database,
) -> None:
    with serve(database, QUICK_DEADLINE) as server, connect(server.url, timeout=10) as kept:
        for _ in range(3):
            kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert read_response(kept, timeout=10).status == 200
            time.sleep(0.2)
        assert closed_by_server(kept, timeout=5)  # then idle past the deadline


def test_a_websocket_outlives_the_header_deadline(database: Database) -> None:
    """The upgrade request was the connection's last HTTP request: the socket is the
    subscription's from then on (it was closed at the deadline, found by bench/live.py)."""
    key = make_key(database, "READ")
    with serve(database, QUICK_DEADLINE) as server, authenticated_socket(server.url, key) as ws:
        time.sleep(1.5)  # three deadlines
        ws.send({"type": "ping"})
        assert ws.receive(timeout=10) == {"type": "pong"}


def test_serve_uses_the_header_deadline_on_the_tested_uvicorn() -> None:
    assert uvicorn_options(DEFAULTS)["http"] is HeaderDeadlineProtocol
