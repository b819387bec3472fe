"""The websocket's rules (web/subscriptions.py), over a real socket to the served app:
the key in connection_init, scopes and limits per operation, the bound per socket, and
the timers that close sockets which say nothing."""

import contextlib
import time
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from gql_server.app import create_app
from gql_server.config import Settings
from gql_server.db.session import Database
from gql_server.web.subscriptions import MISSING_KEY
from tests.factories import TEST_SECRET
from tests.graphql.conftest import make_key
from tests.support.database_outage import Outage
from tests.support.graphql_ws import WAIT_S, authenticated_socket, graphql_socket, ws_url
from tests.support.live_server import LiveServer

SETTINGS = Settings(database_url="sqlite://", secret_key=TEST_SECRET, ws_keepalive=WAIT_S)
SYNC_PROGRESS = "subscription { syncProgress { printerId pages finished } }"
TYPENAME = "query { __typename }"
# The ws implementation `serve` runs (cli/serve.py); LiveServer's default has none.
WS = {"ws": "websockets-sansio"}


def _serve(database: Database, settings: Settings = SETTINGS) -> Iterator[str]:
    with LiveServer(create_app(settings, database=database), name="gql-ws", config=WS) as server:
        yield server.url


@pytest.fixture
def url(database: Database) -> Iterator[str]:
    yield from _serve(database)


def test_a_socket_without_a_key_is_closed_with_4401(url: str) -> None:
    with graphql_socket(url) as socket:
        socket.send({"type": "connection_init", "payload": {}})
        assert socket.close_code() == 4401
        assert socket.close_reason == MISSING_KEY


def test_a_socket_with_a_bad_key_is_closed_with_4401(url: str) -> None:
    with graphql_socket(url) as socket:
        socket.send({"type": "connection_init", "payload": {"X-API-Key": "gql_nonsense"}})
        assert socket.close_code() == 4401
        assert socket.close_reason == "invalid, revoked or expired API key"


def test_a_subscription_without_its_scope_is_forbidden_and_the_socket_stays_open(
    url: str, database: Database
) -> None:
    with authenticated_socket(url, make_key(database, "WRITE")) as socket:
        socket.subscribe("1", SYNC_PROGRESS)
        refused = socket.receive_for("1")
        socket.subscribe("2", TYPENAME)
        answered = socket.receive_for("2")
    assert refused["type"] == "error"
    assert refused["payload"][0]["extensions"]["code"] == "FORBIDDEN"
    assert answered["payload"]["data"] == {"__typename": "Query"}


def test_a_subscription_over_the_limits_is_refused_with_the_http_code(database: Database) -> None:
    deep = "subscription { printJobChanged { job { printer { jobTotals { totalJobs } } } } }"
    for url in _serve(database, replace(SETTINGS, max_depth=3)):
        with authenticated_socket(url, make_key(database, "READ")) as socket:
            socket.subscribe("1", deep)
            refused = socket.receive_for("1")
    assert refused["type"] == "error"
    assert refused["payload"][0]["extensions"]["code"] == "QUERY_TOO_DEEP"


def test_operations_beyond_the_bound_of_a_socket_are_refused(database: Database) -> None:
    for url in _serve(database, replace(SETTINGS, max_subscriptions_per_socket=2)):
        with authenticated_socket(url, make_key(database, "READ")) as socket:
            socket.subscribe("1", SYNC_PROGRESS)
            socket.subscribe("2", SYNC_PROGRESS)
            socket.subscribe("3", SYNC_PROGRESS)
            refused = socket.receive_for("3")
            socket.complete("1")
            socket.subscribe("4", TYPENAME)
            answered = socket.receive_for("4")
    assert refused["payload"][0]["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS"
    assert answered["type"] == "next"


def test_a_socket_that_answers_no_ping_is_closed(database: Database) -> None:
    for url in _serve(database, replace(SETTINGS, ws_keepalive=0.1)):
        with graphql_socket(url, answer_pings=False) as socket:
            assert (
                socket.init({"X-API-Key": make_key(database, "READ")})["type"] == "connection_ack"
            )
            assert socket.close_code() == 4408


def test_a_socket_that_answers_its_pings_stays_open(database: Database) -> None:
    for url in _serve(database, replace(SETTINGS, ws_keepalive=0.05)):
        with authenticated_socket(url, make_key(database, "READ")) as socket:
            deadline = time.monotonic() + WAIT_S
            while socket.pings < 3 and time.monotonic() < deadline:
                with contextlib.suppress(TimeoutError):
                    socket.receive(timeout=0.05)
            socket.subscribe("1", TYPENAME)
            assert socket.receive_for("1")["type"] == "next"
            assert socket.pings >= 3


def test_a_socket_that_never_initialises_is_closed(database: Database) -> None:
    for url in _serve(database, replace(SETTINGS, ws_init_timeout=0.1)):
        with graphql_socket(url) as socket:
            assert socket.close_code() == 4408


def test_without_live_mode_a_live_subscription_is_a_clear_error(
    url: str, database: Database
) -> None:
    with authenticated_socket(url, make_key(database, "READ")) as socket:
        socket.subscribe("1", "subscription { printJobChanged { action } }")
        first = socket.receive_for("1")
        last = socket.receive_for("1")
    assert first["payload"]["errors"][0]["extensions"]["code"] == "LIVE_MODE_OFF"
    assert last == {"id": "1", "type": "complete"}


def test_the_legacy_graphql_ws_protocol_is_refused_with_4406(url: str) -> None:
    """Only graphql-transport-ws: the legacy protocol would skip the key check."""
    with (
        connect(ws_url(url), subprotocols=["graphql-ws"], open_timeout=WAIT_S) as ws,  # type: ignore[list-item]
        pytest.raises(ConnectionClosed) as closed,
    ):
        ws.recv(timeout=WAIT_S)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4406


def test_a_subscription_over_http_is_refused_with_400(url: str, database: Database) -> None:
    headers = {"X-API-Key": make_key(database, "READ")}
    with httpx.Client(base_url=url, headers=headers, timeout=WAIT_S) as http:
        response = http.post("/graphql", json={"query": SYNC_PROGRESS})
    assert response.status_code == 400
    assert response.text == "subscriptions are not allowed when using POST"


def test_an_address_that_keeps_sending_bad_keys_is_closed_with_4429(
    url: str, database: Database
) -> None:
    """The sockets share the failure throttle of /graphql (web/throttle.py): after 20
    bad keys even a valid one is refused, with 4429, before any lookup."""
    for _ in range(20):
        with graphql_socket(url) as socket:
            socket.send({"type": "connection_init", "payload": {"X-API-Key": "gql_nonsense"}})
            assert socket.close_code() == 4401
    with graphql_socket(url) as socket:
        socket.send({"type": "connection_init", "payload": {"X-API-Key": make_key(database)}})
        assert socket.close_code() == 4429


def test_a_key_lookup_whose_database_dies_is_closed_with_1013(outage: Outage) -> None:
    """1013, try again later: the client should retry, not drop its key as invalid."""
    key = make_key(outage.database)
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(contextlib.contextmanager(_serve)(outage.database))
        socket = stack.enter_context(graphql_socket(url))

        def init() -> int | None:
            socket.send({"type": "connection_init", "payload": {"X-API-Key": key}})
            return socket.close_code()

        assert outage.during_lookup(init) == 1013
