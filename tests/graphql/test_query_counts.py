"""Exact SQL statement counts per GraphQL request: no N+1, whatever the fleet's size."""

from typing import Any

import httpx
import pytest

from gql_server.app import create_app
from gql_server.config import Settings
from gql_server.db.session import Database
from gql_server.graphql.runtime.execution import fast_path_resolutions
from gql_server.services.jobs import upsert_details, upsert_jobs
from gql_server.services.totals import recompute_totals
from tests.factories import TEST_SECRET, make_job_row, make_printer
from tests.graphql.conftest import GraphQLClient, make_key
from tests.support.live_server import LiveServer
from tests.support.sql_counter import count_statements

FLEET_QUERY = """
{ printers(first: 50) { nodes { name jobTotals { totalJobs }
    printJobs(first: 20) { nodes { filename status
        jobDetails { filamentType layerHeight } printer { name } } } } } }
"""
# Fields the fast path answers: per printer name and totalJobs; per job filename, status,
# jobDetails, filamentType, layerHeight, printer and its name.
FAST_FIELDS_PER_PRINTER, FAST_FIELDS_PER_JOB = 2, 7
# printers page, their totals, one query for every printer's jobs page with
# the jobs' details joined in: 3. Authentication adds its one lookup (last_used is fresh).
FLEET_STATEMENTS = 3
AUTH_LOOKUP = 1


def _seed_fleet(database: Database, printers: int, jobs_per_printer: int) -> None:
    with database.scope() as session:
        printer_ids = []
        for p in range(printers):
            printer_id = make_printer(session, f"printer-{p:02d}").id
            printer_ids.append(printer_id)
            rows = [make_job_row(j, filename=f"p{p}-{j}.gcode") for j in range(jobs_per_printer)]
            result = upsert_jobs(session, printer_id, rows)
            upsert_details(
                session,
                [{"print_job_id": i, "filament_type": "PLA"} for i in result.ids.values()],
            )
        # The real ids: MariaDB does not restart AUTO_INCREMENT after the previous test.
        recompute_totals(session, printer_ids)


def _statements(gql: GraphQLClient, database: Database, query: str) -> int:
    gql.execute("{ viewer { name } }")  # first use writes last_used; count a steady request
    with count_statements(database.engine) as log:
        gql.execute(query)
    return log.count


def test_fleet_query_with_one_printer_and_one_job(gql: GraphQLClient, database: Database) -> None:
    _seed_fleet(database, printers=1, jobs_per_printer=1)
    assert _statements(gql, database, FLEET_QUERY) == FLEET_STATEMENTS + AUTH_LOOKUP


@pytest.mark.slow
def test_fleet_query_with_50_printers_of_200_jobs(gql: GraphQLClient, database: Database) -> None:
    _seed_fleet(database, printers=50, jobs_per_printer=200)
    data_check = gql.execute(FLEET_QUERY)["printers"]["nodes"]
    assert len(data_check) == 50 and all(len(p["printJobs"]["nodes"]) == 20 for p in data_check)
    assert _statements(gql, database, FLEET_QUERY) == FLEET_STATEMENTS + AUTH_LOOKUP


def test_job_list_with_printer_and_details_is_two_statements(
    gql: GraphQLClient, database: Database
) -> None:
    _seed_fleet(database, printers=3, jobs_per_printer=30)
    query = (
        "{ printJobs(first: 100) { nodes { filename printer { name } jobDetails { bedTemp } } } }"
    )
    # the page with its details, the printers of the page
    assert _statements(gql, database, query) == 2 + AUTH_LOOKUP


def test_total_count_is_only_queried_when_selected(gql: GraphQLClient, database: Database) -> None:
    _seed_fleet(database, printers=2, jobs_per_printer=5)
    without = _statements(gql, database, "{ printJobs(first: 5) { nodes { filename } } }")
    with_count = _statements(
        gql, database, "{ printJobs(first: 5) { totalCount nodes { filename } } }"
    )
    assert (without, with_count) == (1 + AUTH_LOOKUP, 2 + AUTH_LOOKUP)


def _fleet_answer(database: Database, *, fast_path: bool) -> tuple[Any, int]:
    """The fleet query's data from a server with the fast path on or off, and how many
    fields the fast path answered meanwhile."""
    settings = Settings(database_url="sqlite://", secret_key=TEST_SECRET, fast_path=fast_path)
    app = create_app(settings, database=database)
    server = LiveServer(app, name="gql-server")
    with server, httpx.Client(base_url=server.url, timeout=30) as http:
        gql = GraphQLClient(http=http, key=make_key(database))
        before = fast_path_resolutions.total
        data = gql.execute(FLEET_QUERY)
        return data, fast_path_resolutions.total - before


def test_fleet_query_takes_the_fast_path(database: Database) -> None:
    _seed_fleet(database, printers=2, jobs_per_printer=3)
    _, resolutions = _fleet_answer(database, fast_path=True)
    assert resolutions == 2 * (FAST_FIELDS_PER_PRINTER + 3 * FAST_FIELDS_PER_JOB)


def test_fleet_query_answers_alike_with_the_fast_path_off(database: Database) -> None:
    _seed_fleet(database, printers=2, jobs_per_printer=3)
    fast, _ = _fleet_answer(database, fast_path=True)
    standard, resolutions = _fleet_answer(database, fast_path=False)
    assert (standard, resolutions) == (fast, 0)
    second = fast["printers"]["nodes"][1]
    assert (second["jobTotals"], len(second["printJobs"]["nodes"])) == ({"totalJobs": 3}, 3)
