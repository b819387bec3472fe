"""annotatePrintJob over HTTP: the job's annotation, userErrors with stable codes, the
failureReasons filter and grouping, and the annotations of a page read in one statement."""

import threading
from typing import Any

import httpx
import pytest

from gql_server.db.session import Database
from gql_server.graphql.ids import to_global_id
from gql_server.services.jobs import upsert_jobs
from tests.factories import make_job_row, make_printer
from tests.graphql.conftest import GraphQLClient, make_key
from tests.graphql.test_query_counts import AUTH_LOOKUP, FLEET_STATEMENTS, _seed_fleet, _statements
from tests.support.racing import meet_at
from tests.support.sql_counter import count_statements

ANNOTATE = """
mutation ($input: AnnotatePrintJobInput!) {
  annotatePrintJob(input: $input) {
    printJob { id annotation { note failureReason rating updatedAt } }
    userErrors { field code message }
  }
}
"""
READ_ANNOTATION = (
    "query ($id: ID!) { printJob(id: $id) { annotation { note failureReason rating } } }"
)


def _jobs(database: Database, count: int) -> list[str]:
    with database.scope() as session:
        printer_id = make_printer(session).id
        ids = upsert_jobs(session, printer_id, [make_job_row(i) for i in range(count)]).ids
    return [to_global_id("PrintJob", job_id) for job_id in sorted(ids.values())]


def _annotate(gql: GraphQLClient, **fields: Any) -> Any:
    return gql.execute(ANNOTATE, {"input": fields})["annotatePrintJob"]


def test_the_payload_and_the_job_show_the_annotation(
    gql: GraphQLClient, database: Database
) -> None:
    (job,) = _jobs(database, 1)
    payload = _annotate(gql, id=job, note="stringing", failureReason="SPAGHETTI", rating=2)
    assert payload["userErrors"] == []
    shown = payload["printJob"]["annotation"]
    assert (shown["note"], shown["failureReason"], shown["rating"]) == ("stringing", "SPAGHETTI", 2)
    read = gql.execute(READ_ANNOTATION, {"id": job})["printJob"]["annotation"]
    assert read == {"note": "stringing", "failureReason": "SPAGHETTI", "rating": 2}


def test_an_omitted_field_is_kept_and_null_clears_it(
    gql: GraphQLClient, database: Database
) -> None:
    (job,) = _jobs(database, 1)
    _annotate(gql, id=job, note="clogged at layer 80", failureReason="CLOG")
    _annotate(gql, id=job, rating=1)
    _annotate(gql, id=job, note=None)
    read = gql.execute(READ_ANNOTATION, {"id": job})["printJob"]["annotation"]
    assert read == {"note": None, "failureReason": "CLOG", "rating": 1}


def test_a_job_without_annotation_reads_null(gql: GraphQLClient, database: Database) -> None:
    (job,) = _jobs(database, 1)
    assert gql.execute(READ_ANNOTATION, {"id": job})["printJob"]["annotation"] is None


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"rating": 9}, "OUT_OF_RANGE", ["input", "rating"]),
        ({"note": "x" * 2001}, "TOO_LONG", ["input", "note"]),
        ({"id": to_global_id("PrintJob", 987654), "rating": 3}, "NOT_FOUND", ["input", "id"]),
        ({"id": to_global_id("Printer", 1), "rating": 3}, "INVALID_ID", ["input", "id"]),
    ],
)
def test_refusals_are_user_errors_with_stable_codes(
    gql: GraphQLClient, database: Database, fields: dict[str, Any], code: str, field: list[str]
) -> None:
    (job,) = _jobs(database, 1)
    payload = _annotate(gql, **{"id": job, **fields})
    assert payload["printJob"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [(code, field)]
    assert gql.execute(READ_ANNOTATION, {"id": job})["printJob"]["annotation"] is None


def test_a_read_only_key_may_not_annotate(gql: GraphQLClient, database: Database) -> None:
    (job,) = _jobs(database, 1)
    body = gql.post(
        ANNOTATE, {"input": {"id": job, "rating": 3}}, key=make_key(database, "READ", name="reader")
    ).json()
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]


def test_jobs_filter_and_group_by_failure_reason(gql: GraphQLClient, database: Database) -> None:
    jobs = _jobs(database, 4)
    _annotate(gql, id=jobs[0], failureReason="ADHESION")
    _annotate(gql, id=jobs[2], failureReason="ADHESION")
    _annotate(gql, id=jobs[3], failureReason="POWER")
    found = gql.execute(
        "{ printJobs(filter: {failureReasons: [ADHESION]}) { nodes { id } totalCount } }"
    )["printJobs"]
    assert sorted(n["id"] for n in found["nodes"]) == sorted([jobs[0], jobs[2]])
    assert found["totalCount"] == 2
    buckets = gql.execute("{ printStats(groupBy: FAILURE_REASON) { key jobCount } }")["printStats"]
    assert buckets == [
        {"key": None, "jobCount": 1},
        {"key": "ADHESION", "jobCount": 2},
        {"key": "POWER", "jobCount": 1},
    ]


ANNOTATED_FLEET = """
{ printers(first: 50) { nodes { name jobTotals { totalJobs }
    printJobs(first: 20) { nodes { filename annotation { rating failureReason } } } } } }
"""


@pytest.mark.parametrize(("printers", "jobs"), [(1, 1), (4, 6)])
def test_a_fleet_page_reads_its_annotations_in_one_statement(
    gql: GraphQLClient, database: Database, printers: int, jobs: int
) -> None:
    _seed_fleet(database, printers=printers, jobs_per_printer=jobs)
    first_job = gql.execute("{ printJobs(first: 1) { nodes { id } } }")["printJobs"]["nodes"][0]
    _annotate(gql, id=first_job["id"], rating=4)
    assert _statements(gql, database, ANNOTATED_FLEET) == FLEET_STATEMENTS + 1 + AUTH_LOOKUP
    data = gql.execute(ANNOTATED_FLEET)["printers"]["nodes"]
    rated = [j["annotation"] for p in data for j in p["printJobs"]["nodes"] if j["annotation"]]
    assert rated == [{"rating": 4, "failureReason": None}]


def test_annotation_reads_nothing_when_not_selected(gql: GraphQLClient, database: Database) -> None:
    (job,) = _jobs(database, 1)
    _annotate(gql, id=job, rating=4)
    gql.execute("{ viewer { name } }")
    with count_statements(database.engine) as log:
        gql.execute("{ printJobs(first: 5) { nodes { filename } } }")
    assert not [s for s in log.statements if "job_annotations" in s]


def test_two_first_annotations_sent_at_once_both_answer_and_one_is_kept(
    gql: GraphQLClient, database: Database
) -> None:
    (job,) = _jobs(database, 1)
    writes = [
        {"note": "lifted", "failureReason": "ADHESION", "rating": 1},
        {"note": "clogged", "failureReason": "CLOG", "rating": 2},
    ]
    answers: list[Any] = [None, None]

    def send(n: int) -> None:
        with httpx.Client(base_url=gql.http.base_url, timeout=30) as http:
            variables = {"input": {"id": job, **writes[n]}}
            answers[n] = GraphQLClient(http, gql.key).post(ANNOTATE, variables)

    with meet_at(database.engine, "INSERT INTO job_annotations"):
        senders = [threading.Thread(target=send, args=(n,), daemon=True) for n in range(2)]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join(60)
    bodies = [answer.json() for answer in answers]
    assert [body.get("errors") for body in bodies] == [None, None]  # no internal error
    assert [body["data"]["annotatePrintJob"]["userErrors"] for body in bodies] == [[], []]
    read = gql.execute(READ_ANNOTATION, {"id": job})["printJob"]["annotation"]
    assert read in writes
