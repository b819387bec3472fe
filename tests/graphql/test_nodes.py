"""Global ids: node(id:) resolves every type, printer/printJob look ids up, bad ids fail."""

import base64
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from gql_server.db.models import JobDetails
from gql_server.db.session import Database
from gql_server.services.api_keys import find_by_key
from gql_server.services.jobs import upsert_details, upsert_jobs
from gql_server.services.totals import get_totals, recompute_totals
from tests.factories import make_job_row, make_printer
from tests.graphql.conftest import GraphQLClient

IDS_FROM_THE_API = """
{
  viewer { id }
  printers(first: 1) {
    nodes { id jobTotals { id } printJobs(first: 1) { nodes { id jobDetails { id } } } }
  }
}
"""
NODE = "query ($id: ID!) { node(id: $id) { __typename id databaseId } }"


@dataclass(frozen=True)
class Rows:
    """Row ids in the database, by GraphQL type name."""

    ids: dict[str, int]


def seed(database: Database, api_key: str) -> Rows:
    """One printer with one job, its details and its totals."""
    with database.scope() as session:
        printer_id = make_printer(session, "voron").id
        row = make_job_row(1)
        job_id = upsert_jobs(session, printer_id, [row]).ids[(row["job_id"], row["start_time"])]
        upsert_details(session, [{"print_job_id": job_id, "filament_type": "PLA"}])
        recompute_totals(session, [printer_id])
    with database.scope() as session:
        details_id = session.scalar(select(JobDetails.id).where(JobDetails.print_job_id == job_id))
        totals = get_totals(session, printer_id)
        key = find_by_key(session, api_key)
        assert details_id is not None and totals is not None and key is not None
        return Rows(
            {
                "Printer": printer_id,
                "PrintJob": job_id,
                "JobDetails": details_id,
                "JobTotals": totals.id,
                "ApiKey": key.id,
            }
        )


def global_ids(gql: GraphQLClient) -> dict[str, str]:
    """Each type's global id as the API hands it out."""
    data = gql.execute(IDS_FROM_THE_API)
    printer = data["printers"]["nodes"][0]
    job = printer["printJobs"]["nodes"][0]
    return {
        "Printer": printer["id"],
        "PrintJob": job["id"],
        "JobDetails": job["jobDetails"]["id"],
        "JobTotals": printer["jobTotals"]["id"],
        "ApiKey": data["viewer"]["id"],
    }


def error_codes(response: Any) -> str:
    """The codes of the response's errors, space-separated; "" when there is none."""
    errors = response.json().get("errors", [])
    return " ".join(str(error.get("extensions", {}).get("code")) for error in errors)


def test_node_resolves_every_type_to_its_row(gql: GraphQLClient, database: Database) -> None:
    rows = seed(database, gql.key or "")
    ids = global_ids(gql)
    resolved = {name: gql.execute(NODE, {"id": ids[name]})["node"] for name in ids}
    expected = {
        name: {"__typename": name, "id": ids[name], "databaseId": rows.ids[name]} for name in ids
    }
    assert resolved == expected


def test_printer_and_print_job_look_up_their_own_ids(
    gql: GraphQLClient, database: Database
) -> None:
    rows = seed(database, gql.key or "")
    ids = global_ids(gql)
    query = """query ($printer: ID!, $job: ID!) {
        printer(id: $printer) { databaseId name }
        printJob(id: $job) { databaseId jobId printer { databaseId } } }"""
    data = gql.execute(query, {"printer": ids["Printer"], "job": ids["PrintJob"]})
    assert data == {
        "printer": {"databaseId": rows.ids["Printer"], "name": "voron"},
        "printJob": {
            "databaseId": rows.ids["PrintJob"],
            "jobId": make_job_row(1)["job_id"],
            "printer": {"databaseId": rows.ids["Printer"]},
        },
    }


def test_ids_of_deleted_rows_resolve_to_null(gql: GraphQLClient, database: Database) -> None:
    seed(database, gql.key or "")
    ids = global_ids(gql)
    mutation = "mutation ($id: ID!) { deletePrinter(input: {id: $id}) { userErrors { code } } }"
    gql.execute(mutation, {"id": ids["Printer"]})  # cascades to the job, details, totals
    gone = ["Printer", "PrintJob", "JobDetails", "JobTotals"]
    looked_up = {name: gql.execute(NODE, {"id": ids[name]})["node"] for name in gone}
    looked_up["printer"] = gql.execute(
        "query ($id: ID!) { printer(id: $id) { id } }", {"id": ids["Printer"]}
    )["printer"]
    looked_up["printJob"] = gql.execute(
        "query ($id: ID!) { printJob(id: $id) { id } }", {"id": ids["PrintJob"]}
    )["printJob"]
    assert looked_up == dict.fromkeys([*gone, "printer", "printJob"])


def test_a_malformed_id_is_invalid(gql: GraphQLClient, database: Database) -> None:
    queries = {
        "node": "query ($id: ID!) { node(id: $id) { id } }",
        "printer": "query ($id: ID!) { printer(id: $id) { id } }",
        "printJob": "query ($id: ID!) { printJob(id: $id) { id } }",
    }
    codes = {
        (field, given): error_codes(gql.post(query, {"id": given}))
        for field, query in queries.items()
        for given in ("not an id", "@@@", "", "Printer:1")
    }
    assert codes == dict.fromkeys(codes, "INVALID_ID")


def test_an_id_of_another_type_is_invalid_for_printer_and_print_job(
    gql: GraphQLClient, database: Database
) -> None:
    seed(database, gql.key or "")
    ids = global_ids(gql)
    codes = {
        "printer": error_codes(
            gql.post("query ($id: ID!) { printer(id: $id) { id } }", {"id": ids["PrintJob"]})
        ),
        "printJob": error_codes(
            gql.post("query ($id: ID!) { printJob(id: $id) { id } }", {"id": ids["Printer"]})
        ),
    }
    assert codes == {"printer": "INVALID_ID", "printJob": "INVALID_ID"}


def test_an_id_beyond_the_integer_range_is_not_a_server_error(
    gql: GraphQLClient, database: Database
) -> None:
    """A forged id (the documented "Type:number" in URL-safe base64) with a number too large
    for a 64-bit column is an unknown id (null) or INVALID_ID, never an unexpected error."""
    seed(database, gql.key or "")
    forged = base64.urlsafe_b64encode(b"Printer:99999999999999999999").decode().rstrip("=")
    assert error_codes(gql.post(NODE, {"id": forged})) in ("", "INVALID_ID")
