"""The failed-authentication throttle: 20 failures a minute per address, then 429."""

import socket
from collections.abc import Iterator

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from gql_server.app import create_app
from gql_server.config import Settings
from gql_server.db.session import Database
from gql_server.services.api_keys import BASE62, generate_key
from gql_server.web.throttle import FailureThrottle
from tests.graphql.conftest import make_key
from tests.support.live_server import LiveServer
from tests.support.sql_counter import count_statements

OTHER_ADDRESS = "127.0.0.2"
LIMIT = 20
WINDOW = 60.0
VIEWER = {"query": "{ viewer { name } }"}


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class ClientAddresses:
    """Records the client address of every HTTP request the app receives."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.seen: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("client"):
            self.seen.append(scope["client"][0])
        await self.app(scope, receive, send)


@pytest.fixture
def monotonic() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
def addresses(database: Database, monotonic: FakeMonotonic) -> ClientAddresses:
    """The app, with a throttle on the test's clock, behind an address recorder."""
    throttle = FailureThrottle(limit=LIMIT, window=WINDOW, clock=monotonic)
    app = create_app(Settings(database_url="sqlite://"), database=database, throttle=throttle)
    return ClientAddresses(app)


@pytest.fixture
def server(addresses: ClientAddresses) -> Iterator[LiveServer]:
    with LiveServer(addresses, name="throttle") as live:
        yield live


@pytest.fixture
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def _can_bind(address: str) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((address, 0))
        except OSError:
            return False
    return True


@pytest.fixture
def other_http(server: LiveServer) -> Iterator[httpx.Client]:
    """A client whose requests come from 127.0.0.2 instead of 127.0.0.1."""
    if not _can_bind(OTHER_ADDRESS):
        pytest.skip(f"cannot bind {OTHER_ADDRESS} on this host's loopback")
    transport = httpx.HTTPTransport(local_address=OTHER_ADDRESS)
    with httpx.Client(base_url=server.url, transport=transport, timeout=30) as client:
        yield client


@pytest.fixture
def valid_key(database: Database) -> str:
    return make_key(database, "READ", name="reader")


def _mistyped(key: str) -> str:
    return key[:-1] + BASE62[(BASE62.index(key[-1]) + 1) % len(BASE62)]


def _bad_keys() -> Iterator[dict[str, str]]:
    """Missing, mistyped (bad checksum) and unknown keys all count as failures."""
    while True:
        yield {}
        yield {"X-API-Key": _mistyped(generate_key())}
        yield {"X-API-Key": generate_key()}


def _fail(http: httpx.Client, times: int) -> list[int]:
    bad = _bad_keys()
    return [http.post("/graphql", json=VIEWER, headers=next(bad)).status_code for _ in range(times)]


def _ask(http: httpx.Client, key: str) -> httpx.Response:
    return http.post("/graphql", json=VIEWER, headers={"X-API-Key": key})


def test_the_first_20_failures_are_answered_401(http: httpx.Client) -> None:
    assert _fail(http, LIMIT) == [401] * LIMIT


def test_a_valid_key_is_served_after_19_failures(http: httpx.Client, valid_key: str) -> None:
    _fail(http, LIMIT - 1)
    assert _ask(http, valid_key).status_code == 200


def test_after_20_failures_even_a_valid_key_gets_429_without_a_lookup(
    http: httpx.Client, valid_key: str, database: Database
) -> None:
    _fail(http, LIMIT)
    with count_statements(database.engine) as log:
        response = _ask(http, valid_key)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "60"
    assert response.json()["errors"][0]["extensions"] == {"code": "RATE_LIMITED"}
    assert log.count == 0


def test_another_address_with_a_valid_key_is_still_served(
    http: httpx.Client,
    other_http: httpx.Client,
    valid_key: str,
    addresses: ClientAddresses,
) -> None:
    _fail(http, LIMIT)
    blocked = _ask(http, valid_key)
    served = _ask(other_http, valid_key)
    assert (blocked.status_code, served.status_code) == (429, 200)
    assert addresses.seen[-2:] == ["127.0.0.1", OTHER_ADDRESS]


def test_the_address_is_served_again_once_the_window_has_passed(
    http: httpx.Client, valid_key: str, monotonic: FakeMonotonic
) -> None:
    _fail(http, LIMIT)
    monotonic.now += WINDOW - 1
    still_blocked = _ask(http, valid_key)
    monotonic.now += 2
    assert still_blocked.status_code == 429 and still_blocked.headers["Retry-After"] == "1"
    assert _ask(http, valid_key).status_code == 200


def test_refused_429s_do_not_extend_the_block(
    http: httpx.Client, valid_key: str, monotonic: FakeMonotonic
) -> None:
    _fail(http, LIMIT)
    for _ in range(29):  # refused attempts until 58 s after the failures
        monotonic.now += 2
        assert _ask(http, "gqls_wrong").status_code == 429
    monotonic.now += 3
    assert _ask(http, valid_key).status_code == 200
