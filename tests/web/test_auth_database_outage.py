"""A database that dies during the API-key lookup gets 503 DATABASE_UNAVAILABLE with
Retry-After, one log line without a traceback, and service again once it is back.

MariaDB: the lookup's own connection is killed (KILL from another connection) while the
lookup waits on a table lock, so the failure really happens mid-query. SQLite: the
database's directory disappears, so the lookup cannot open the file.
"""

import logging
from collections.abc import Callable, Iterator

import httpx
import pytest

from gql_server.app import create_app
from gql_server.config import Settings
from gql_server.web.auth import DATABASE_RETRY_AFTER
from tests.graphql.conftest import make_key
from tests.support.database_outage import Outage
from tests.support.live_server import LiveServer

VIEWER = {"query": "{ viewer { name } }"}
Request = Callable[[], httpx.Response]


@pytest.fixture
def http(outage: Outage) -> Iterator[httpx.Client]:
    key = make_key(outage.database)
    app = create_app(Settings(database_url="sqlite://"), database=outage.database)
    with (
        LiveServer(app, name="database-outage") as server,
        httpx.Client(base_url=server.url, timeout=30, headers={"X-API-Key": key}) as client,
    ):
        yield client


def ask(http: httpx.Client) -> Request:
    return lambda: http.post("/graphql", json=VIEWER)


def test_a_lookup_whose_database_dies_gets_503_with_retry_after(
    http: httpx.Client, outage: Outage
) -> None:
    response = outage.during_lookup(ask(http))
    code = response.json()["errors"][0]["extensions"]["code"]
    assert (response.status_code, code) == (503, "DATABASE_UNAVAILABLE")
    assert response.headers["Retry-After"] == str(DATABASE_RETRY_AFTER)


def test_the_outage_is_logged_once_without_a_traceback(
    http: httpx.Client, outage: Outage, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        outage.during_lookup(ask(http))
    warnings = [r for r in caplog.records if r.name == "gql_server.web.auth"]
    assert len(warnings) == 1
    assert [r for r in caplog.records if r.exc_info] == []


def test_the_key_is_served_again_once_the_database_is_back(
    http: httpx.Client, outage: Outage
) -> None:
    outage.during_lookup(ask(http))
    outage.end()
    response = ask(http)()
    assert response.status_code == 200, response.text
