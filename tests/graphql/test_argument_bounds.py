"""Arguments out of bounds are the caller's error, each with a stable code.

The first table holds the exact inputs of the issue that reached an internal error; the
second the ones found next to them. Both run on SQLite and MariaDB.
"""

import base64
import json
from typing import Any

import pytest

from gql_server.db.session import Database
from gql_server.graphql.ids import to_global_id
from tests.factories import make_printer
from tests.graphql.conftest import GraphQLClient

LATE_ZONED = "9999-12-31T23:59:59-14:00"  # year 10000 in UTC


def b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def job_cursor(*position: Any, ordering: str = "job:start_time:desc") -> str:
    return b64(json.dumps([ordering, list(position)]))


JOBS = """query ($after: String, $filter: PrintJobFilter, $orderBy: PrintJobOrder) {
  printJobs(first: 2, after: $after, filter: $filter, orderBy: $orderBy) { nodes { id } } }"""
PRINTERS = """query ($after: String, $filter: PrinterFilter) {
  printers(first: 2, after: $after, filter: $filter) { nodes { id } } }"""
STATS = """query ($filter: PrintJobFilter, $timezone: String!) {
  printStats(groupBy: DAY, filter: $filter, timezone: $timezone) { key } }"""
NODE = "query ($id: ID!) { node(id: $id) { id } }"
NAMES = """query ($text: String) {
  printers(first: 10, filter: {nameContains: $text}) { nodes { name } } }"""


def first_variable(token: str) -> str:
    """A request body whose ``first`` is a JSON token Python's encoder never writes."""
    query = "query ($first: Int) { printers(first: $first) { nodes { id } } }"
    return json.dumps({"query": query, "variables": {"first": "TOKEN"}}).replace('"TOKEN"', token)


DURATION_DESC = {"field": "DURATION", "direction": "DESC"}
ISSUE_EXAMPLES: dict[str, tuple[str, dict[str, Any]]] = {
    "job cursor holding an id beyond 64 bits": (
        JOBS,
        {"after": job_cursor({"t": "2026-01-01T00:00:00+00:00"}, 2**64)},
    ),
    "printer cursor holding an id beyond 64 bits": (
        PRINTERS,
        {"after": job_cursor("voron", 2**64, ordering="printer:name:asc")},
    ),
    "global id beyond 64 bits": (NODE, {"id": b64(f"Printer:{2**64}")}),
    "cursor holding 9999-12-31T23:59:59-14:00": (JOBS, {"after": job_cursor({"t": LATE_ZONED}, 1)}),
    "startedAfter 9999-12-31T23:59:59-14:00": (JOBS, {"filter": {"startedAfter": LATE_ZONED}}),
    "printStats startedBefore 9999-12-31T23:59:59-14:00": (
        STATS,
        {"filter": {"startedBefore": LATE_ZONED}, "timezone": "UTC"},
    ),
    "cursor holding Infinity": (
        JOBS,
        {"after": b64('["job:total_duration:desc",[Infinity,1]]'), "orderBy": DURATION_DESC},
    ),
    "cursor holding 1e400": (
        JOBS,
        {"after": b64('["job:total_duration:desc",[1e400,1]]'), "orderBy": DURATION_DESC},
    ),
    "60,000-character nameContains": (PRINTERS, {"filter": {"nameContains": "a" * 60_000}}),
    "10,000-character timezone": (STATS, {"timezone": "A" * 10_000}),
}
ISSUE_CODES = {
    "job cursor holding an id beyond 64 bits": "INVALID_CURSOR",
    "printer cursor holding an id beyond 64 bits": "INVALID_CURSOR",
    "global id beyond 64 bits": "INVALID_ID",
    "cursor holding 9999-12-31T23:59:59-14:00": "INVALID_CURSOR",
    "startedAfter 9999-12-31T23:59:59-14:00": "OUT_OF_RANGE",
    "printStats startedBefore 9999-12-31T23:59:59-14:00": "OUT_OF_RANGE",
    "cursor holding Infinity": "INVALID_CURSOR",
    "cursor holding 1e400": "INVALID_CURSOR",
    "60,000-character nameContains": "TOO_LONG",
    "10,000-character timezone": "INVALID_TIMEZONE",
}

NEIGHBOUR_EXAMPLES: dict[str, tuple[str, dict[str, Any]]] = {
    "timezone naming a directory of the zone database": (STATS, {"timezone": "America"}),
    "timezone with a path": (STATS, {"timezone": "../../etc/localtime"}),
    "lone surrogate in a filter": (PRINTERS, {"filter": {"nameContains": "\ud800"}}),
    "lone surrogate in a cursor": (PRINTERS, {"after": b64('["printer:name:asc",["\\ud800",1]]')}),
    "cursor nested 1,500 arrays deep": (PRINTERS, {"after": b64("[" * 1_500 + "]" * 1_500)}),
    "cursor longer than any we issue": (PRINTERS, {"after": "A" * 3_000}),
    "id with a sign": (NODE, {"id": b64("Printer:+7")}),
    "id with non-ASCII digits": (NODE, {"id": b64("Printer:\u0667")}),
    "id longer than any we issue": (NODE, {"id": "A" * 65}),
    "101 printer ids": (JOBS, {"filter": {"printerIds": [b64("Printer:1")] * 101}}),
    "101 statuses": (JOBS, {"filter": {"statuses": ["COMPLETED"] * 101}}),
    "filament type of 201 characters": (JOBS, {"filter": {"filamentTypes": ["P" * 201]}}),
    "startedBefore 0001-01-01T00:00:00+14:00": (
        JOBS,
        {"filter": {"startedBefore": "0001-01-01T00:00:00+14:00"}},
    ),
}
NEIGHBOUR_CODES = {
    "timezone naming a directory of the zone database": "INVALID_TIMEZONE",
    "timezone with a path": "INVALID_TIMEZONE",
    "lone surrogate in a filter": "INVALID_TEXT",
    "lone surrogate in a cursor": "INVALID_CURSOR",
    "cursor nested 1,500 arrays deep": "INVALID_CURSOR",
    "cursor longer than any we issue": "INVALID_CURSOR",
    "id with a sign": "INVALID_ID",
    "id with non-ASCII digits": "INVALID_ID",
    "id longer than any we issue": "INVALID_ID",
    "101 printer ids": "TOO_LONG",
    "101 statuses": "TOO_LONG",
    "filament type of 201 characters": "TOO_LONG",
    "startedBefore 0001-01-01T00:00:00+14:00": "OUT_OF_RANGE",
}


def codes(gql: GraphQLClient, examples: dict[str, tuple[str, dict[str, Any]]]) -> dict[str, str]:
    """The error codes each example got, space-separated, by label."""
    return {
        label: raw_codes(gql, json.dumps({"query": query, "variables": variables}))
        for label, (query, variables) in examples.items()
    }


def raw_codes(gql: GraphQLClient, body: str) -> str:
    """Posted as written: json.dumps escapes lone surrogates, httpx's encoder cannot."""
    headers = {"X-API-Key": gql.key or "", "Content-Type": "application/json"}
    errors = gql.http.post("/graphql", content=body, headers=headers).json().get("errors", [])
    return " ".join(str(e.get("extensions", {}).get("code")) for e in errors)


def test_each_example_of_the_issue_gets_its_stable_code(
    gql: GraphQLClient, database: Database
) -> None:
    assert codes(gql, ISSUE_EXAMPLES) == ISSUE_CODES


def test_each_neighbouring_example_gets_its_stable_code(
    gql: GraphQLClient, database: Database
) -> None:
    assert codes(gql, NEIGHBOUR_EXAMPLES) == NEIGHBOUR_CODES


@pytest.mark.parametrize("token", ["Infinity", "-Infinity", "NaN", "1e400"])
def test_a_variable_that_is_not_a_finite_number_is_invalid(
    gql: GraphQLClient, database: Database, token: str
) -> None:
    """Python's JSON decoder accepts these; JSON and every Int and Float argument do not."""
    assert raw_codes(gql, first_variable(token)) == "INVALID_NUMBER"


def test_an_error_before_execution_carries_a_code(gql: GraphQLClient, database: Database) -> None:
    refused = {
        "syntax": "{ viewer { name }",
        "validation": "{ viewer { nam } }",
        "coercion": "{ printers(first: 99999999999) { totalCount } }",
    }
    got = {label: raw_codes(gql, json.dumps({"query": q})) for label, q in refused.items()}
    assert got == {
        "syntax": "GRAPHQL_PARSE_FAILED",
        "validation": "GRAPHQL_VALIDATION_FAILED",
        "coercion": "GRAPHQL_VALIDATION_FAILED",
    }


def test_filter_texts_of_200_characters_pass_and_201_are_too_long(
    gql: GraphQLClient, database: Database
) -> None:
    """200 LIKE wildcards, each escaped, still match only themselves."""
    found = {
        length: codes(gql, {"q": (PRINTERS, {"filter": {"nameContains": "%" * length}})})["q"]
        for length in (200, 201)
    }
    assert found == {200: "", 201: "TOO_LONG"}


def test_a_substring_filter_matches_backslash_percent_and_underscore_literally(
    gql: GraphQLClient, database: Database
) -> None:
    names = ["10%_off", "10x_off", "10%aoff", "back\\slash", "backslash"]
    with database.scope() as session:
        for name in names:
            make_printer(session, name, moonraker_url="http://printer.local:7125")
    searches = ["%_", "\\", "k\\s", "%a", "_o"]
    found = {
        text: sorted(n["name"] for n in gql.execute(NAMES, {"text": text})["printers"]["nodes"])
        for text in searches
    }
    assert found == {
        "%_": ["10%_off"],
        "\\": ["back\\slash"],
        "k\\s": ["back\\slash"],
        "%a": ["10%aoff"],
        "_o": ["10%_off", "10x_off"],
    }


def test_100_printer_ids_are_accepted(gql: GraphQLClient, database: Database) -> None:
    ids = [to_global_id("Printer", n) for n in range(1, 101)]
    data = gql.execute(JOBS, {"filter": {"printerIds": ids}})
    assert data == {"printJobs": {"nodes": []}}


CREATE_KEY = """mutation ($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { key userErrors { field code } } }"""
SYNC = """mutation ($input: SyncPrintersInput!) {
  syncPrinters(input: $input) { results { ok } userErrors { field code } } }"""


def test_an_expiry_beyond_year_9999_in_utc_is_a_user_error(
    gql: GraphQLClient, database: Database
) -> None:
    input = {"name": "late", "scopes": ["READ"], "expiresAt": LATE_ZONED}
    payload = gql.execute(CREATE_KEY, {"input": input})["createApiKey"]
    assert payload == {
        "key": None,
        "userErrors": [{"field": ["input", "expiresAt"], "code": "OUT_OF_RANGE"}],
    }


def test_syncing_101_printers_by_id_is_a_user_error(gql: GraphQLClient, database: Database) -> None:
    ids = [to_global_id("Printer", n) for n in range(1, 102)]
    payload = gql.execute(SYNC, {"input": {"printerIds": ids}})["syncPrinters"]
    assert payload == {
        "results": [],
        "userErrors": [{"field": ["input", "printerIds"], "code": "TOO_LONG"}],
    }
