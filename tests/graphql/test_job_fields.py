"""Every field of a job and its details reads back what was stored, whichever way the job
is reached (a printer's page, the job list, by id) and whichever fields are selected.

The job queries read only the selected columns and join the details into the page's
rows, so each path and each narrow selection is checked against the inserted data.
"""

import dataclasses
from typing import Any

import pytest
from sqlalchemy import select

from gql_server.db.models import JobDetails as JobDetailsRow
from gql_server.db.session import Database
from gql_server.graphql.ids import to_global_id
from gql_server.graphql.runtime.row_shapes import print_jobs_from_rows
from gql_server.graphql.types.job_details import JobDetails
from gql_server.graphql.types.print_job import PrintJob
from gql_server.services.job_queries import (
    ALL_JOB_COLUMNS,
    JobColumns,
    JobFilter,
    JobOrder,
    fetch_job_page,
)
from gql_server.services.jobs import upsert_details, upsert_jobs
from gql_server.services.pagination import PageArgs
from gql_server.services.totals import recompute_totals
from tests.factories import make_job_row, make_printer
from tests.graphql.conftest import GraphQLClient

JOB_FIELDS = """
  databaseId jobId user filename status startTime endTime printDuration totalDuration
  filamentUsed metadata auxiliaryData printer { name }
  jobDetails {
    databaseId layerHeight firstLayerHeight nozzleTemp bedTemp printSpeed
    infillPercentage infillPattern supportEnabled supportType filamentType filamentBrand
    filamentColor estimatedTime estimatedFilament layerCount objectHeight rawMetadata
  }
"""

DETAILS = {
    "layer_height": 0.28,
    "first_layer_height": 0.3,
    "nozzle_temp": 245,
    "bed_temp": 85,
    "print_speed": 120,
    "infill_percentage": 15,
    "infill_pattern": "gyroid",
    "support_enabled": True,
    "support_type": "tree(auto)",
    "filament_type": "PETG;PLA",
    "filament_brand": "Prusament",
    "filament_color": "#FF8000",
    "estimated_time": 7384,
    "estimated_filament": 41.77,
    "layer_count": 212,
    "object_height": 59.4,
    "raw_metadata": {"slicer": "PrusaSlicer", "nested": {"a": [1, 2]}},
}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _expected_job(row: dict[str, Any], database_id: int, details: dict[str, Any] | None) -> Any:
    status = row["status"].upper() if row["status"] == "completed" else "UNKNOWN"
    return {
        "databaseId": database_id,
        "jobId": row["job_id"],
        "user": row["user"],
        "filename": row["filename"],
        "status": status,
        "startTime": row["start_time"].isoformat(),
        "endTime": row["end_time"].isoformat(),
        "printDuration": row["print_duration"],
        "totalDuration": row["total_duration"],
        "filamentUsed": row["filament_used"],
        "metadata": row["job_metadata"],
        "auxiliaryData": row["auxiliary_data"],
        "printer": {"name": "voron-1"},
        "jobDetails": None if details is None else details,
    }


@pytest.fixture
def stored(database: Database) -> dict[str, Any]:
    """Three jobs of one printer: with every detail, without details, with a status
    Moonraker may add later. Returns the expected GraphQL node of each, newest first."""
    rows = [
        make_job_row(0),
        make_job_row(1, user=None),
        make_job_row(2, status="paused_by_aliens"),
    ]
    with database.scope() as session:
        printer_id = make_printer(session, "voron-1").id
        ids = upsert_jobs(session, printer_id, rows).ids
        job_ids = [ids[(row["job_id"], row["start_time"])] for row in rows]
        upsert_details(session, [{"print_job_id": job_ids[0], **DETAILS}])
        recompute_totals(session, [printer_id])
    with database.scope() as session:
        details_id = session.execute(select(JobDetailsRow.id)).scalar_one()
    details = {"databaseId": details_id, **{_camel(k): v for k, v in DETAILS.items()}}
    expected = [
        _expected_job(rows[0], job_ids[0], details),
        _expected_job(rows[1], job_ids[1], None),
        _expected_job(rows[2], job_ids[2], None),
    ]
    return {"newest_first": list(reversed(expected)), "job_ids": job_ids}


def test_a_printers_page_reads_back_every_field(gql: GraphQLClient, stored: Any) -> None:
    data = gql.execute(f"{{ printers {{ nodes {{ printJobs {{ nodes {{ {JOB_FIELDS} }} }} }} }} }}")
    assert data["printers"]["nodes"][0]["printJobs"]["nodes"] == stored["newest_first"]


def test_the_job_list_reads_back_every_field(gql: GraphQLClient, stored: Any) -> None:
    data = gql.execute(f"{{ printJobs {{ nodes {{ {JOB_FIELDS} }} }} }}")
    assert data["printJobs"]["nodes"] == stored["newest_first"]


def test_a_job_by_id_and_as_a_node_reads_back_every_field(gql: GraphQLClient, stored: Any) -> None:
    for expected in stored["newest_first"]:
        global_id = to_global_id("PrintJob", expected["databaseId"])
        by_id = gql.execute(f'{{ printJob(id: "{global_id}") {{ {JOB_FIELDS} }} }}')
        as_node = gql.execute(
            f'{{ node(id: "{global_id}") {{ ... on PrintJob {{ {JOB_FIELDS} }} }} }}'
        )
        assert by_id["printJob"] == expected
        assert as_node["node"] == expected


@pytest.mark.parametrize(
    "fields",
    ["status", "filename jobDetails { filamentType }", "jobDetails { bedTemp } printer { name }"],
)
def test_a_narrow_selection_reads_the_right_values(
    gql: GraphQLClient, stored: Any, fields: str
) -> None:
    """Only the selected columns are read: each must land in its own field."""
    names = [name for name in fields.replace("{", " ").replace("}", " ").split()]
    fleet = gql.execute(f"{{ printers {{ nodes {{ printJobs {{ nodes {{ {fields} }} }} }} }} }}")
    listed = gql.execute(f"{{ printJobs {{ nodes {{ {fields} }} }} }}")
    for nodes in (
        fleet["printers"]["nodes"][0]["printJobs"]["nodes"],
        listed["printJobs"]["nodes"],
    ):
        assert nodes == [_pick(job, names) for job in stored["newest_first"]]


def test_edges_of_a_narrow_selection_carry_working_cursors(gql: GraphQLClient, stored: Any) -> None:
    """A cursor needs the sort column even when no field selects it."""
    query = """query ($after: String) { printers { nodes {
      printJobs(first: 1, after: $after) { edges { cursor node { filename } } } } } }"""
    seen, after = [], None
    for _ in range(5):
        edges = gql.execute(query, {"after": after})["printers"]["nodes"][0]["printJobs"]["edges"]
        if not edges:
            break
        seen.append(edges[0]["node"]["filename"])
        after = edges[0]["cursor"]
    assert seen == [job["filename"] for job in stored["newest_first"]]


def _pick(value: Any, names: list[str]) -> Any:
    """``value`` keeping only the keys in ``names`` (at every level)."""
    if not isinstance(value, dict):
        return value
    return {k: _pick(v, names) for k, v in value.items() if k in names}


@pytest.mark.parametrize("narrow", [False, True])
def test_jobs_built_from_rows_have_every_field(
    database: Database, stored: Any, narrow: bool
) -> None:
    """Built without the dataclass constructor, the objects must still be complete:
    every field set, those the query did not read as None."""
    columns = JobColumns(job=frozenset({"filename"}), details=True, detail=frozenset())
    with database.scope() as session:
        page = fetch_job_page(
            session,
            JobFilter(),
            JobOrder(),
            PageArgs(first=10),
            columns if narrow else ALL_JOB_COLUMNS,
        )
    jobs = print_jobs_from_rows(page.items, {})
    assert [job.database_id for job in jobs] == [j["databaseId"] for j in stored["newest_first"]]
    for job in jobs:
        rebuilt = PrintJob(
            **{f.name: getattr(job, f.name) for f in dataclasses.fields(job) if f.init}
        )
        assert job == rebuilt
        if job.job_details is not None:
            details = job.job_details
            assert details == JobDetails(
                **{f.name: getattr(details, f.name) for f in dataclasses.fields(details) if f.init}
            )
        if narrow:
            assert job.status is None and job.filename is not None


# A field written twice, or reached through several fragments, is resolved once for all
# its occurrences: what it reads must cover every one of them.


def test_a_connection_written_twice_reads_what_both_select(gql: GraphQLClient, stored: Any) -> None:
    data = gql.execute(
        """{ printJobs(first: 3) { nodes { jobDetails { layerHeight } } }
             printJobs(first: 3) { nodes { jobDetails { nozzleTemp } endTime } } }"""
    )
    expected = [
        {
            "jobDetails": None
            if job["jobDetails"] is None
            else {k: job["jobDetails"][k] for k in ("layerHeight", "nozzleTemp")},
            "endTime": job["endTime"],
        }
        for job in stored["newest_first"]
    ]
    assert data["printJobs"]["nodes"] == expected


def test_a_printers_jobs_through_a_fragment_read_what_both_select(
    gql: GraphQLClient, stored: Any
) -> None:
    data = gql.execute(
        """{ printers(first: 1) { nodes { printJobs(first: 3) { nodes { filename } } ...F } } }
           fragment F on Printer { printJobs(first: 3) { nodes { status printer { name } } } }"""
    )
    expected = [
        _pick(job, ["filename", "status", "printer", "name"]) for job in stored["newest_first"]
    ]
    assert data["printers"]["nodes"][0]["printJobs"]["nodes"] == expected


def test_cursors_asked_for_in_a_second_occurrence_work(gql: GraphQLClient, stored: Any) -> None:
    """Cursors are made of the sort column, which the first occurrence does not need."""
    data = gql.execute(
        "{ printJobs(first: 1) { nodes { filename } } printJobs(first: 1) { edges { cursor } } }"
    )
    after = data["printJobs"]["edges"][0]["cursor"]
    following = gql.execute(
        "query ($after: String) { printJobs(first: 1, after: $after) { nodes { filename } } }",
        {"after": after},
    )
    names = [job["filename"] for job in stored["newest_first"]]
    assert data["printJobs"]["nodes"] == [{"filename": names[0]}]
    assert following["printJobs"]["nodes"] == [{"filename": names[1]}]


def test_job_totals_asked_for_in_a_second_occurrence_are_read(
    gql: GraphQLClient, stored: Any
) -> None:
    data = gql.execute(
        """{ printers(first: 1) { nodes { name } }
             printers(first: 1) { nodes { jobTotals { totalJobs } } } }"""
    )
    completed = [job for job in stored["newest_first"] if job["status"] == "COMPLETED"]
    assert data["printers"]["nodes"] == [
        {"name": "voron-1", "jobTotals": {"totalJobs": len(completed)}}
    ]
