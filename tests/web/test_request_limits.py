"""Malformed and slow request bodies get a GraphQL-shaped 400 or 408 with a stable code,
never a plain-text 500 with a traceback in the log.

SQLite only: each refusal happens before the key is looked up or any SQL runs, so one
dialect is enough; the server lives for the module.
"""

import json
import logging
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from gql_server.app import create_app
from gql_server.config import load_settings
from gql_server.db.engine import create_db_engine
from gql_server.db.session import Database
from gql_server.web.request_limits import MAX_JSON_DEPTH
from tests.graphql.conftest import make_key
from tests.raw_http import closed_by_server, connect, read_response
from tests.support.live_server import LiveServer

BODY_TIMEOUT = 0.5
VIEWER = "{ viewer { name } }"


@dataclass
class Served:
    url: str
    key: str


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Served]:
    path = tmp_path_factory.mktemp("request-limits") / "limits.db"
    shutil.copyfile(sqlite_template, path)
    database = Database(create_db_engine(f"sqlite:///{path}"))
    settings = load_settings({"GQL_BODY_TIMEOUT": str(BODY_TIMEOUT)})
    with LiveServer(create_app(settings, database=database), name="request-limits") as live:
        yield Served(live.url, make_key(database))
    database.dispose()


@pytest.fixture
def http(server: Served) -> Iterator[httpx.Client]:
    headers = {"X-API-Key": server.key}
    with httpx.Client(base_url=server.url, timeout=30, headers=headers) as client:
        yield client


def nested(depth: int) -> Any:
    """A JSON value ``depth`` levels deep: [[[ … ]]]."""
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


def deep_text(depth: int) -> str:
    """``nested(depth)`` as text, without json.dumps's own recursion limit."""
    return "[" * depth + "]" * depth


def post_raw(http: httpx.Client, body: bytes) -> httpx.Response:
    return http.post("/graphql", content=body, headers={"Content-Type": "application/json"})


def error_code(response: httpx.Response) -> str:
    body = response.json()
    assert body["data"] is None
    return str(body["errors"][0]["extensions"]["code"])


def test_a_body_that_is_not_utf8_is_refused_as_invalid_json(http: httpx.Client) -> None:
    body = b'{"query": "{ viewer { name } }", "operationName": "\xff\xfe"}'
    response = post_raw(http, body)
    assert (response.status_code, error_code(response)) == (400, "INVALID_JSON")
    assert response.json()["errors"][0]["message"] == "the request body is not valid UTF-8"


def test_a_utf8_body_with_a_byte_order_mark_is_executed(http: httpx.Client) -> None:
    response = post_raw(http, b"\xef\xbb\xbf" + json.dumps({"query": VIEWER}).encode())
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"viewer": {"name": "test"}}


def test_a_body_that_is_not_json_is_refused_as_invalid_json(http: httpx.Client) -> None:
    response = post_raw(http, b'{"query": ')
    assert (response.status_code, error_code(response)) == (400, "INVALID_JSON")


def test_variables_nested_5000_levels_are_refused_without_a_traceback(
    http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    body = '{"query": "' + VIEWER + '", "variables": {"v": ' + deep_text(5000) + "}}"
    with caplog.at_level(logging.INFO):
        response = post_raw(http, body.encode())
    assert (response.status_code, error_code(response)) == (400, "INVALID_JSON")
    assert [r for r in caplog.records if r.exc_info] == []


def test_a_body_one_level_deeper_than_the_limit_is_refused(http: httpx.Client) -> None:
    payload = {"query": VIEWER, "variables": {"v": nested(MAX_JSON_DEPTH - 1)}}
    response = post_raw(http, json.dumps(payload).encode())
    assert (response.status_code, error_code(response)) == (400, "INVALID_JSON")
    message = f"the request body is nested deeper than {MAX_JSON_DEPTH} levels"
    assert response.json()["errors"][0]["message"] == message


def test_a_body_exactly_at_the_depth_limit_is_executed(http: httpx.Client) -> None:
    payload = {"query": VIEWER, "variables": {"v": nested(MAX_JSON_DEPTH - 2)}}
    response = post_raw(http, json.dumps(payload).encode())
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"viewer": {"name": "test"}}


def test_get_variables_nested_5000_levels_are_refused(http: httpx.Client) -> None:
    params = {"query": VIEWER, "variables": '{"v": ' + deep_text(5000) + "}"}
    response = http.get("/graphql", params=params)
    assert (response.status_code, error_code(response)) == (400, "INVALID_JSON")
    message = f"the variables parameter is nested deeper than {MAX_JSON_DEPTH} levels"
    assert response.json()["errors"][0]["message"] == message


def test_a_body_that_stalls_is_answered_408_and_the_connection_closed(server: Served) -> None:
    head = (
        "POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"X-API-Key: {server.key}\r\nContent-Length: 60000\r\n\r\n"
    )
    with connect(server.url, timeout=10) as sock:
        sock.sendall(head.encode() + b'{"query":')  # 9 of 60,000 bytes, then nothing
        response = read_response(sock, timeout=10)
        closed = closed_by_server(sock, timeout=10)
    body = json.loads(response.body)
    assert (response.status, body["errors"][0]["extensions"]["code"]) == (408, "REQUEST_TIMEOUT")
    assert closed
