"""Keyset pagination of the connections: every row once, in order, whichever way we walk.

Expected orders are computed here from the inserted rows: NULLs last in both directions,
ties broken by id in the direction of the sort.
"""

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gql_server.db.session import Database
from gql_server.services.jobs import upsert_jobs
from tests.factories import make_job_row, make_printer
from tests.graphql.conftest import GraphQLClient

PAGE = 7
MAX_PAGES = 20  # bounds every walk: a cursor that never advances fails instead of hanging
BASE = datetime(2026, 2, 1, 8, 0, 0, 250000, tzinfo=UTC)

FIELDS = {
    "START_TIME": "start_time",
    "END_TIME": "end_time",
    "DURATION": "total_duration",
    "FILAMENT_USED": "filament_used",
}
ORDERINGS = [(field, direction) for field in FIELDS for direction in ("ASC", "DESC")]

JOBS_QUERY = """
query ($first: Int, $after: String, $last: Int, $before: String,
       $order: PrintJobOrder, $filter: PrintJobFilter) {
  printJobs(first: $first, after: $after, last: $last, before: $before,
            orderBy: $order, filter: $filter) {
    totalCount
    edges { cursor node { databaseId } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""

PRINTER_JOBS_QUERY = """
query ($id: ID!, $first: Int, $after: String, $last: Int, $before: String,
       $order: PrintJobOrder) {
  printer(id: $id) {
    printJobs(first: $first, after: $after, last: $last, before: $before, orderBy: $order) {
      edges { cursor node { databaseId } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
}
"""

PRINTERS_QUERY = """
query ($first: Int, $after: String, $last: Int, $before: String) {
  printers(first: $first, after: $after, last: $last, before: $before) {
    edges { cursor node { databaseId name } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


@dataclass(frozen=True)
class SeededJob:
    id: int
    printer_id: int
    start_time: datetime
    end_time: datetime | None
    total_duration: float | None
    filament_used: float | None


def _job_row(index: int) -> dict[str, Any]:
    """Deliberate ties (start times shared by three jobs, durations and filament by
    several) and NULLs (every 5th end time, every 7th duration, every 6th filament)."""
    start = BASE + timedelta(hours=index % 10)
    return make_job_row(
        index,
        start_time=start,
        end_time=None if index % 5 == 0 else start + timedelta(minutes=30 * (index % 4)),
        total_duration=None if index % 7 == 0 else 600.5 + 100 * (index % 4),
        filament_used=None if index % 6 == 0 else 1000.125 + 10 * (index % 5),
    )


def seed_jobs(database: Database, count: int = 33, printers: int = 3) -> list[SeededJob]:
    """``count`` jobs spread over ``printers`` printers, inserted in shuffled order."""
    seeded: list[SeededJob] = []
    with database.scope() as session:
        printer_ids = [make_printer(session, f"printer{p}").id for p in range(printers)]
        for offset, printer_id in enumerate(printer_ids):
            rows = [_job_row(i) for i in range(count) if i % printers == offset]
            result = upsert_jobs(session, printer_id, rows)
            for row in rows:
                row_id = result.ids[(row["job_id"], row["start_time"])]
                seeded.append(_seeded(row_id, printer_id, row))
    return seeded


def _seeded(row_id: int, printer_id: int, row: dict[str, Any]) -> SeededJob:
    return SeededJob(
        id=row_id,
        printer_id=printer_id,
        start_time=row["start_time"],
        end_time=row["end_time"],
        total_duration=row["total_duration"],
        filament_used=row["filament_used"],
    )


def expected_order(jobs: list[SeededJob], field: str, direction: str) -> list[int]:
    """NULLs last in both directions; ties (and the NULLs among themselves) by id."""
    attribute = FIELDS[field]
    descending = direction == "DESC"
    present = [job for job in jobs if getattr(job, attribute) is not None]
    missing = [job for job in jobs if getattr(job, attribute) is None]
    present.sort(key=lambda job: (getattr(job, attribute), job.id), reverse=descending)
    missing.sort(key=lambda job: job.id, reverse=descending)
    return [job.id for job in present + missing]


def _ids(connection: dict[str, Any]) -> list[int]:
    return [edge["node"]["databaseId"] for edge in connection["edges"]]


def walk_forward(fetch: Any) -> list[int]:
    """Follow endCursor with ``first`` until hasNextPage is false."""
    ids: list[int] = []
    after = None
    for _ in range(MAX_PAGES):
        connection = fetch({"first": PAGE, "after": after})
        ids += _ids(connection)
        if not connection["pageInfo"]["hasNextPage"]:
            return ids
        after = connection["pageInfo"]["endCursor"]
    raise AssertionError(f"still a next page after {MAX_PAGES} pages: {ids}")


def walk_backward(fetch: Any) -> list[int]:
    """Follow startCursor with ``last`` until hasPreviousPage is false."""
    ids: list[int] = []
    before = None
    for _ in range(MAX_PAGES):
        connection = fetch({"last": PAGE, "before": before})
        ids = _ids(connection) + ids
        if not connection["pageInfo"]["hasPreviousPage"]:
            return ids
        before = connection["pageInfo"]["startCursor"]
    raise AssertionError(f"still a previous page after {MAX_PAGES} pages: {ids}")


def _jobs_fetcher(gql: GraphQLClient, order: dict[str, str] | None) -> Any:
    def fetch(page: dict[str, Any]) -> dict[str, Any]:
        return gql.execute(JOBS_QUERY, {**page, "order": order})["printJobs"]

    return fetch


def _printer_jobs_fetcher(gql: GraphQLClient, printer_id: str, order: dict[str, str]) -> Any:
    def fetch(page: dict[str, Any]) -> dict[str, Any]:
        variables = {**page, "id": printer_id, "order": order}
        return gql.execute(PRINTER_JOBS_QUERY, variables)["printer"]["printJobs"]

    return fetch


def _printers_fetcher(gql: GraphQLClient) -> Any:
    def fetch(page: dict[str, Any]) -> dict[str, Any]:
        return gql.execute(PRINTERS_QUERY, page)["printers"]

    return fetch


def _printer_global_ids(gql: GraphQLClient) -> dict[int, str]:
    nodes = gql.execute("{ printers(first: 100) { nodes { id databaseId } } }")["printers"]
    return {node["databaseId"]: node["id"] for node in nodes["nodes"]}


@pytest.mark.parametrize(("field", "direction"), ORDERINGS)
def test_walking_all_pages_either_way_returns_every_job_once_in_order(
    gql: GraphQLClient, database: Database, field: str, direction: str
) -> None:
    jobs = seed_jobs(database)
    fetch = _jobs_fetcher(gql, {"field": field, "direction": direction})
    expected = expected_order(jobs, field, direction)
    assert (walk_forward(fetch), walk_backward(fetch)) == (expected, expected)


def test_the_default_order_is_newest_start_first(gql: GraphQLClient, database: Database) -> None:
    jobs = seed_jobs(database)
    assert walk_forward(_jobs_fetcher(gql, None)) == expected_order(jobs, "START_TIME", "DESC")


def test_a_printers_job_connection_pages_through_its_own_jobs_either_way(
    gql: GraphQLClient, database: Database
) -> None:
    jobs = seed_jobs(database, count=40, printers=2)
    printer_id = jobs[0].printer_id
    order = {"field": "FILAMENT_USED", "direction": "ASC"}
    fetch = _printer_jobs_fetcher(gql, _printer_global_ids(gql)[printer_id], order)
    expected = expected_order([j for j in jobs if j.printer_id == printer_id], **order)
    assert (walk_forward(fetch), walk_backward(fetch)) == (expected, expected)


def test_every_printer_of_a_fleet_query_gets_its_own_first_page(
    gql: GraphQLClient, database: Database
) -> None:
    jobs = seed_jobs(database)
    query = """{ printers(first: 10) { nodes { databaseId
        printJobs(first: 4, orderBy: {field: DURATION, direction: DESC}) {
          nodes { databaseId } pageInfo { hasNextPage } } } } }"""
    printers = gql.execute(query)["printers"]["nodes"]
    pages = {
        p["databaseId"]: (
            [n["databaseId"] for n in p["printJobs"]["nodes"]],
            p["printJobs"]["pageInfo"]["hasNextPage"],
        )
        for p in printers
    }
    expected = {}
    for printer_id in {job.printer_id for job in jobs}:
        own = expected_order([j for j in jobs if j.printer_id == printer_id], "DURATION", "DESC")
        expected[printer_id] = (own[:4], len(own) > 4)
    assert pages == expected


def test_a_cursor_still_gives_the_same_next_page_after_newer_jobs_arrive(
    gql: GraphQLClient, database: Database
) -> None:
    jobs = seed_jobs(database)
    fetch = _jobs_fetcher(gql, None)
    cursor = fetch({"first": PAGE})["pageInfo"]["endCursor"]
    page_two = _ids(fetch({"first": PAGE, "after": cursor}))
    newest = max(job.start_time for job in jobs)
    with database.scope() as session:
        later = [make_job_row(100 + i, start_time=newest + timedelta(days=1 + i)) for i in range(5)]
        upsert_jobs(session, jobs[0].printer_id, later)
    assert _ids(fetch({"first": PAGE, "after": cursor})) == page_two


def test_a_before_cursor_still_gives_the_same_page_after_newer_jobs_arrive(
    gql: GraphQLClient, database: Database
) -> None:
    """Newest first, the new jobs land before the cursor: the jobs just before it stay."""
    jobs = seed_jobs(database)
    fetch = _jobs_fetcher(gql, None)
    page_one = fetch({"first": PAGE})
    cursor = fetch({"first": PAGE, "after": page_one["pageInfo"]["endCursor"]})["pageInfo"]
    newest = max(job.start_time for job in jobs)
    with database.scope() as session:
        later = [make_job_row(100 + i, start_time=newest + timedelta(days=1 + i)) for i in range(5)]
        upsert_jobs(session, jobs[0].printer_id, later)
    before = fetch({"last": PAGE, "before": cursor["startCursor"]})
    assert _ids(before) == _ids(page_one)


def _error_codes(gql: GraphQLClient, field: str, calls: dict[str, str]) -> dict[str, str]:
    """The error codes each call of ``field`` got, by label. One request per call: a
    failing non-null root field nulls the whole response, hiding the other fields' errors."""
    codes = {}
    for alias, args in calls.items():
        body = gql.post(f"{{ {field}({args}) {{ totalCount }} }}").json()
        errors = body.get("errors", [])
        codes[alias] = " ".join(str(e.get("extensions", {}).get("code")) for e in errors)
    return codes


def test_page_sizes_outside_1_to_100_are_refused(gql: GraphQLClient, database: Database) -> None:
    calls = {
        "first101": "first: 101",
        "last101": "last: 101",
        "first0": "first: 0",
        "last0": "last: 0",
        "firstNegative": "first: -1",
    }
    codes = _error_codes(gql, "printJobs", calls) | _error_codes(
        gql, "printers", {"printersFirst101": "first: 101", "printersLast0": "last: 0"}
    )
    assert codes == dict.fromkeys([*calls, "printersFirst101", "printersLast0"], "BAD_PAGE_SIZE")


def test_a_page_of_100_is_allowed(gql: GraphQLClient, database: Database) -> None:
    jobs = seed_jobs(database)
    page = gql.execute(JOBS_QUERY, {"first": 100})["printJobs"]
    assert (len(page["edges"]), page["pageInfo"]["hasNextPage"]) == (len(jobs), False)


GARBAGE_CURSORS = ["garbage", "", "!!!!", "W10", "eyJhIjoxfQ", "bnVsbA", "MTIz"]


def test_a_cursor_this_server_did_not_issue_is_invalid(
    gql: GraphQLClient, database: Database
) -> None:
    calls = {}
    for index, cursor in enumerate(GARBAGE_CURSORS):
        calls[f"after{index}"] = f"first: 3, after: {json.dumps(cursor)}"
        calls[f"before{index}"] = f"last: 3, before: {json.dumps(cursor)}"
    assert _error_codes(gql, "printJobs", calls) == dict.fromkeys(calls, "INVALID_CURSOR")


def test_a_cursor_from_another_ordering_is_invalid(gql: GraphQLClient, database: Database) -> None:
    seed_jobs(database, count=10)
    job_cursor = _jobs_fetcher(gql, None)({"first": 3})["pageInfo"]["endCursor"]
    printer_cursor = _printers_fetcher(gql)({"first": 1})["pageInfo"]["endCursor"]
    calls = {
        "otherDirection": "orderBy: {field: START_TIME, direction: ASC}",
        "otherField": "orderBy: {field: END_TIME, direction: DESC}",
        "otherFieldAndDirection": "orderBy: {field: FILAMENT_USED, direction: ASC}",
    }
    calls = {
        alias: f"first: 3, after: {json.dumps(job_cursor)}, {order}"
        for alias, order in calls.items()
    }
    calls["printerCursor"] = f"first: 3, after: {json.dumps(printer_cursor)}"
    assert _error_codes(gql, "printJobs", calls) == dict.fromkeys(calls, "INVALID_CURSOR")


def test_a_cursor_with_a_tampered_value_is_invalid(gql: GraphQLClient, database: Database) -> None:
    """Cursors are opaque, not secret: a client can decode one (URL-safe base64 of JSON),
    put text where the start time was and send it back. That must be refused as a bad
    cursor, not reach SQL."""
    seed_jobs(database, count=10)
    cursor = _jobs_fetcher(gql, None)({"first": 3})["pageInfo"]["endCursor"]
    ordering, position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    tampered = json.dumps([ordering, ["yesterday", *position[1:]]]).encode()
    forged = base64.urlsafe_b64encode(tampered).decode().rstrip("=")
    calls = {"after": f"first: 3, after: {json.dumps(forged)}"}
    calls["before"] = f"last: 3, before: {json.dumps(forged)}"
    assert _error_codes(gql, "printJobs", calls) == dict.fromkeys(calls, "INVALID_CURSOR")


def test_total_count_is_the_number_of_matching_jobs_not_of_the_page(
    gql: GraphQLClient, database: Database
) -> None:
    jobs = seed_jobs(database)
    printer_id = jobs[0].printer_id
    only_one = {"printerIds": [_printer_global_ids(gql)[printer_id]]}
    counts = (
        gql.execute(JOBS_QUERY, {"first": 2})["printJobs"]["totalCount"],
        gql.execute(JOBS_QUERY, {"first": 2, "filter": only_one})["printJobs"]["totalCount"],
    )
    assert counts == (len(jobs), sum(job.printer_id == printer_id for job in jobs))


def _seed_printers(database: Database) -> dict[int, str]:
    """Printers inserted out of name order, so the id order is not the name order."""
    names = ["voron24", "ender3", "prusamk4", "bambux1", "kobra2", "sovol7", "anet8", "qidi5"]
    names += [f"zz{n:02d}" for n in range(12, 0, -1)]
    with database.scope() as session:
        return {make_printer(session, name).id: name for name in names}


def _by_name(printers: dict[int, str]) -> list[int]:
    return sorted(printers, key=lambda printer_id: printers[printer_id])


def test_walking_printers_either_way_returns_them_by_name(
    gql: GraphQLClient, database: Database
) -> None:
    printers = _seed_printers(database)
    fetch = _printers_fetcher(gql)
    expected = _by_name(printers)
    assert (walk_forward(fetch), walk_backward(fetch)) == (expected, expected)


# --- page edges --------------------------------------------------------------------------
#
# The Relay Cursor Connections spec (HasPreviousPage / HasNextPage algorithms): paging
# forward, hasNextPage is whether more than `first` rows follow; hasPreviousPage must be
# false without `after` and, with `after`, MAY be true when the server can tell cheaply
# that rows exist before it. Backward is the mirror image. We answer true whenever a
# cursor was given: the cursor's own row comes before the page (after) or after it
# (before), so the answer is right as long as that row still exists.


def _page(gql: GraphQLClient, **page: Any) -> tuple[list[int], bool, bool]:
    connection = gql.execute(JOBS_QUERY, page)["printJobs"]
    info = connection["pageInfo"]
    return _ids(connection), info["hasPreviousPage"], info["hasNextPage"]


def _cursors(gql: GraphQLClient) -> list[str]:
    """The cursor of every job, in the default order (newest start first)."""
    edges = gql.execute(JOBS_QUERY, {"first": 100})["printJobs"]["edges"]
    return [edge["cursor"] for edge in edges]


@pytest.fixture
def six_jobs(database: Database) -> list[int]:
    """Six jobs with distinct start times, ids in the default order."""
    return expected_order(seed_jobs(database, count=6, printers=1), "START_TIME", "DESC")


def test_a_first_page_with_rows_after_it_has_a_next_page_and_no_previous_one(
    gql: GraphQLClient, six_jobs: list[int]
) -> None:
    assert _page(gql, first=3) == (six_jobs[:3], False, True)


def test_an_exactly_full_last_page_has_no_next_page(
    gql: GraphQLClient, six_jobs: list[int]
) -> None:
    after = _cursors(gql)[2]
    assert _page(gql, first=3, after=after) == (six_jobs[3:], True, False)


def test_a_page_of_every_row_has_no_next_page(gql: GraphQLClient, six_jobs: list[int]) -> None:
    assert _page(gql, first=6) == (six_jobs, False, False)


def test_a_page_one_row_short_of_the_rest_has_a_next_page(
    gql: GraphQLClient, six_jobs: list[int]
) -> None:
    after = _cursors(gql)[0]
    assert _page(gql, first=4, after=after) == (six_jobs[1:5], True, True)


def test_the_page_after_the_last_row_is_empty_with_a_previous_page(
    gql: GraphQLClient, six_jobs: list[int]
) -> None:
    connection = gql.execute(JOBS_QUERY, {"first": 3, "after": _cursors(gql)[-1]})["printJobs"]
    info = connection["pageInfo"]
    assert (connection["edges"], info["startCursor"], info["endCursor"]) == ([], None, None)
    assert (info["hasPreviousPage"], info["hasNextPage"]) == (True, False)


def test_a_last_page_with_rows_before_it_has_a_previous_page_and_no_next_one(
    gql: GraphQLClient, six_jobs: list[int]
) -> None:
    assert _page(gql, last=3) == (six_jobs[3:], True, False)


def test_an_exactly_full_first_page_read_backwards_has_no_previous_page(
    gql: GraphQLClient, six_jobs: list[int]
) -> None:
    before = _cursors(gql)[3]
    assert _page(gql, last=3, before=before) == (six_jobs[:3], False, True)


def test_a_backward_page_one_row_short_of_the_rest_has_a_previous_page(
    gql: GraphQLClient, six_jobs: list[int]
) -> None:
    before = _cursors(gql)[5]
    assert _page(gql, last=4, before=before) == (six_jobs[1:5], True, True)


def test_a_backward_page_of_every_row_has_no_previous_page(
    gql: GraphQLClient, six_jobs: list[int]
) -> None:
    assert _page(gql, last=6) == (six_jobs, False, False)


def test_both_cursors_bound_the_page(gql: GraphQLClient, six_jobs: list[int]) -> None:
    """Paging forward between two cursors: the rows strictly between them; hasNextPage
    counts only rows before `before` (the spec's algorithm), here all of them fit."""
    cursors = _cursors(gql)
    page = _page(gql, first=10, after=cursors[0], before=cursors[4])
    assert page == (six_jobs[1:4], True, False)


# --- cursors holding null ----------------------------------------------------------------


def _forged(cursor: str, values: list[Any]) -> str:
    """``cursor`` decoded, its sort key values replaced, encoded again."""
    ordering, _ = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    payload = json.dumps([ordering, values]).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def _position(cursor: str) -> list[Any]:
    _, position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    return list(position)


def test_a_cursor_with_null_in_a_key_that_is_never_null_is_invalid(
    gql: GraphQLClient, six_jobs: list[int]
) -> None:
    """Start times and ids are never NULL, so no cursor of ours holds null there: SQL
    would compare with NULL and silently return an empty page."""
    cursor = _cursors(gql)[2]
    start, row_id = _position(cursor)
    forged = {"nullStart": [None, row_id], "nullId": [start, None], "bothNull": [None, None]}
    calls = {}
    for label, values in forged.items():
        calls[f"{label}After"] = f"first: 3, after: {json.dumps(_forged(cursor, values))}"
        calls[f"{label}Before"] = f"last: 3, before: {json.dumps(_forged(cursor, values))}"
    assert _error_codes(gql, "printJobs", calls) == dict.fromkeys(calls, "INVALID_CURSOR")


def test_a_printers_cursor_with_a_null_name_is_invalid(
    gql: GraphQLClient, database: Database
) -> None:
    _seed_printers(database)
    cursor = _printers_fetcher(gql)({"first": 1})["pageInfo"]["endCursor"]
    name, row_id = _position(cursor)
    calls = {
        "nullName": f"first: 3, after: {json.dumps(_forged(cursor, [None, row_id]))}",
        "nullId": f"first: 3, after: {json.dumps(_forged(cursor, [name, None]))}",
    }
    assert _error_codes(gql, "printers", calls) == dict.fromkeys(calls, "INVALID_CURSOR")


def test_a_cursor_with_null_in_a_nullable_key_is_the_one_we_issue(
    gql: GraphQLClient, database: Database
) -> None:
    """Jobs without an end time sort last; their cursors hold null and page on."""
    jobs = seed_jobs(database, count=10, printers=1)
    order = {"field": "END_TIME", "direction": "ASC"}
    expected = expected_order(jobs, "END_TIME", "ASC")
    fetch = _jobs_fetcher(gql, order)
    first = fetch({"first": len(expected) - 1})
    assert _position(first["pageInfo"]["endCursor"])[0] is None  # the last page holds NULLs
    rest = fetch({"first": 5, "after": first["pageInfo"]["endCursor"]})
    assert _ids(rest) == expected[-1:]


def test_a_null_in_a_nullable_key_does_not_waive_the_check_of_the_id(
    gql: GraphQLClient, database: Database
) -> None:
    seed_jobs(database, count=10, printers=1)
    order = "orderBy: {field: END_TIME, direction: ASC}"
    cursor = _jobs_fetcher(gql, {"field": "END_TIME", "direction": "ASC"})({"first": 1})
    issued = cursor["pageInfo"]["endCursor"]
    calls = {
        label: f"first: 3, after: {json.dumps(_forged(issued, values))}, {order}"
        for label, values in {"textId": [None, "abc"], "fractionId": [None, 1.5]}.items()
    }
    assert _error_codes(gql, "printJobs", calls) == dict.fromkeys(calls, "INVALID_CURSOR")


def test_first_and_last_together_are_refused_naming_last(
    gql: GraphQLClient, database: Database
) -> None:
    (error,) = gql.post("{ printJobs(first: 3, last: 3) { totalCount } }").json()["errors"]
    assert (error["message"], error["extensions"]) == (
        "pass first or last, not both",
        {"code": "BAD_PAGE_SIZE", "field": "last"},
    )
