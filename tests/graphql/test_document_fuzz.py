"""Generated documents with fragment spreads, cycles, deep nesting and aliases: every one
is answered within its budget or refused with a stable code, and none stalls the server.

Seeded (derandomized), so CI runs the same documents every time. SQLite only: every
refusal here is decided on the document before any SQL runs, and the documents that pass
read an empty farm.
"""

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gql_server.app import create_app
from gql_server.config import Settings
from gql_server.db.engine import create_db_engine
from gql_server.db.session import Database
from tests.graphql.conftest import make_key
from tests.support.live_server import LiveServer

PREPARE_TIMEOUT = 2.0
# Time to answer beyond the preparation budget: execution over an empty farm.
SLACK = 5.0
FRAGMENTS = 4
# What a document may be refused with; anything else (or no code) fails the test.
REFUSALS = {
    "GRAPHQL_PARSE_FAILED",
    "GRAPHQL_VALIDATION_FAILED",
    "FRAGMENT_CYCLE",
    "QUERY_TOO_DEEP",
    "TOO_MANY_ALIASES",
    "TOO_MANY_NODES",
    "QUERY_TOO_COMPLEX",
    "QUERY_BUDGET_EXCEEDED",
    "TOO_MANY_TOKENS",
    "INTROSPECTION_DISABLED",
    "INVALID_ARGUMENT",
    "INVALID_ID",
    "FORBIDDEN",
}

# A typed vocabulary, so most documents are valid and reach the limits; "nme" and the
# odd wrong field keep validation in play. Type -> [(field, type of its selection)].
FIELDS: dict[str, list[tuple[str, str | None]]] = {
    "Query": [
        ("viewer", "ApiKey"),
        ("printers(first: 100)", "PrinterConnection"),
        ("printJobs(first: 100)", "PrintJobConnection"),
        ("__typename", None),
        ("__schema", "Schema"),
    ],
    "ApiKey": [("name", None), ("keyPrefix", None)],
    "PrinterConnection": [("totalCount", None), ("nodes", "Printer")],
    "Printer": [("name", None), ("id", None), ("printJobs(first: 50)", "PrintJobConnection")],
    "PrintJobConnection": [("totalCount", None), ("nodes", "PrintJob")],
    "PrintJob": [("jobId", None), ("filename", None), ("printer", "Printer")],
    "Schema": [("types", "Type")],
    "Type": [("name", None), ("fields", "Field")],
    "Field": [("name", None), ("type", "Type")],
}


@st.composite
def selection_set(draw: st.DrawFn, type_name: str, depth: int) -> str:
    items = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["field"] * 6 + ["inline", "spread"]))
        if kind == "inline" and depth > 0:
            items.append(f"... {{ {draw(selection_set(type_name, depth - 1))} }}")
        elif kind == "spread" and type_name == "Query":
            items.append(f"...F{draw(st.integers(0, FRAGMENTS - 1))}")
        else:
            items.append(draw(field(type_name, depth)))
    return " ".join(items)


@st.composite
def field(draw: st.DrawFn, type_name: str, depth: int) -> str:
    name, inner = draw(st.sampled_from(FIELDS[type_name]))
    alias = draw(st.sampled_from([""] * 60 + [f"a{n}: " for n in range(30)]))
    if inner is None:
        return alias + name
    if depth == 0:
        return alias + name + " { __typename }"
    return f"{alias}{name} {{ {draw(selection_set(inner, depth - 1))} }}"


@st.composite
def documents(draw: st.DrawFn) -> str:
    body = draw(selection_set("Query", draw(st.integers(1, 7))))
    wrappers = draw(st.sampled_from([0, 0, 0, 10, 60, 70]))
    body = "... { " * wrappers + body + " }" * wrappers
    fragments = []
    if draw(st.booleans()):  # every fragment spread at least once, so none is unused
        body += " " + " ".join(f"...F{n}" for n in range(FRAGMENTS))
        fragments = [
            f"fragment F{n} on Query {{ {draw(selection_set('Query', draw(st.integers(0, 5))))} }}"
            for n in range(FRAGMENTS)
        ]
    else:
        body = re.sub(r"\.\.\.F\d", "__typename", body)
    operation = draw(st.sampled_from(["query"] * 4 + ["query Named", "mutation"]))
    return f"{operation} {{ {body} }} " + " ".join(fragments)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Any]:
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    shutil.copyfile(sqlite_template, path)
    database = Database(create_db_engine(f"sqlite:///{path}"))
    app = create_app(
        Settings(database_url="sqlite://", prepare_timeout=PREPARE_TIMEOUT), database=database
    )
    with LiveServer(app, name="fuzz") as live, httpx.Client(base_url=live.url) as http:
        yield http, make_key(database, scopes="READ", name="fuzzer")
    database.dispose()


@settings(
    derandomize=True,
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(document=documents())
def test_every_document_is_answered_in_time_or_refused_with_a_stable_code(
    server: Any, document: str
) -> None:
    http, key = server
    started = time.monotonic()
    response = http.post(
        "/graphql",
        json={"query": document},
        headers={"X-API-Key": key},
        timeout=PREPARE_TIMEOUT + SLACK,
    )
    assert time.monotonic() - started < PREPARE_TIMEOUT + SLACK
    assert response.status_code in (200, 400), response.text
    body = response.json()
    found = {error.get("extensions", {}).get("code") for error in body.get("errors", [])}
    assert found <= REFUSALS, (found, document)
    event(",".join(sorted(found)) or "answered")
    assert http.get("/healthz", timeout=5).status_code == 200
