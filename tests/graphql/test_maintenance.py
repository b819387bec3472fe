"""Maintenance over HTTP: tasks created and recorded through mutations, their odometers
on Printer.maintenance and maintenanceDue, compared with sums over the inserted jobs."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gql_server.db.session import Database
from gql_server.graphql.ids import to_global_id
from gql_server.services.jobs import upsert_jobs
from tests.factories import EPOCH, make_job_row, make_printer
from tests.graphql.conftest import GraphQLClient
from tests.graphql.test_query_counts import AUTH_LOOKUP, _statements

TASK_FIELDS = """id name everyPrintHours everyFilamentMeters everyDays printHours
  filamentMeters days lastDoneAt dueIn { printHours filamentMeters days } overdue
  overdueRatio printer { name }"""
CREATE = f"""
mutation ($input: CreateMaintenanceTaskInput!) {{
  createMaintenanceTask(input: $input) {{ task {{ {TASK_FIELDS} }} userErrors {{ field code }} }}
}}"""
RECORD = f"""
mutation ($input: RecordMaintenanceInput!) {{
  recordMaintenance(input: $input) {{ task {{ {TASK_FIELDS} }} userErrors {{ field code }} }}
}}"""
DELETE = """
mutation ($input: DeleteMaintenanceTaskInput!) {
  deleteMaintenanceTask(input: $input) { deletedTaskId userErrors { field code } }
}"""
PRINTER_MAINTENANCE = (
    f"query ($id: ID!) {{ printer(id: $id) {{ maintenance {{ {TASK_FIELDS} }} }} }}"
)


def _printer(database: Database, name: str, jobs: int) -> tuple[str, list[dict[str, Any]]]:
    rows = [make_job_row(i, filename=f"{name}-{i}.gcode") for i in range(jobs)]
    with database.scope() as session:
        printer_id = make_printer(session, name).id
        upsert_jobs(session, printer_id, rows)
    return to_global_id("Printer", printer_id), rows


def _create(gql: GraphQLClient, **fields: Any) -> Any:
    return gql.execute(CREATE, {"input": fields})["createMaintenanceTask"]


def _record(gql: GraphQLClient, **fields: Any) -> Any:
    return gql.execute(RECORD, {"input": fields})["recordMaintenance"]


def _since(rows: list[dict[str, Any]], since: datetime) -> tuple[float, float]:
    counted = [row for row in rows if row["start_time"] >= since]
    hours = sum(row["print_duration"] for row in counted) / 3600
    return hours, sum(row["filament_used"] for row in counted) / 1000


def test_a_recorded_task_counts_the_jobs_started_since(
    gql: GraphQLClient, database: Database
) -> None:
    printer, rows = _printer(database, "voron-1", 8)
    task = _create(gql, printerId=printer, name="Clean nozzle", everyPrintHours=1.5)["task"]
    assert (task["printHours"], task["lastDoneAt"], task["printer"]) == (
        0,
        None,
        {"name": "voron-1"},
    )
    done_at = rows[3]["start_time"] + timedelta(seconds=60)  # while job 3 was printing
    recorded = _record(gql, taskId=task["id"], doneAt=done_at.isoformat(), note="new nozzle")
    assert recorded["userErrors"] == []
    (shown,) = gql.execute(PRINTER_MAINTENANCE, {"id": printer})["printer"]["maintenance"]
    hours, meters = _since(rows[4:], EPOCH)
    assert (shown["printHours"], shown["filamentMeters"]) == pytest.approx((hours, meters))
    assert shown["dueIn"] == {
        "printHours": pytest.approx(1.5 - hours),
        "filamentMeters": None,
        "days": None,
    }
    assert shown["overdueRatio"] == pytest.approx(hours / 1.5)
    assert shown["overdue"] is (hours >= 1.5)
    assert datetime.fromisoformat(shown["lastDoneAt"]) == done_at


def test_days_count_from_the_newest_done_at(gql: GraphQLClient, database: Database) -> None:
    printer, _ = _printer(database, "voron-1", 0)
    task = _create(gql, printerId=printer, name="Belts", everyDays=30)["task"]
    done_at = datetime.now(UTC) - timedelta(days=45)
    before = datetime.now(UTC)
    shown = _record(gql, taskId=task["id"], doneAt=done_at.isoformat())["task"]
    after = datetime.now(UTC)
    assert (before - done_at).total_seconds() / 86400 <= shown["days"]
    assert shown["days"] <= (after - done_at).total_seconds() / 86400
    assert shown["overdue"] and shown["dueIn"]["days"] == pytest.approx(30 - shown["days"])


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"name": "x"}, "REQUIRED", ["input", "everyPrintHours"]),
        ({"name": "x", "everyDays": 0}, "OUT_OF_RANGE", ["input", "everyDays"]),
        ({"name": " ", "everyDays": 1}, "REQUIRED", ["input", "name"]),
        ({"name": "x" * 101, "everyDays": 1}, "TOO_LONG", ["input", "name"]),
        (
            {"printerId": to_global_id("Printer", 987654), "name": "x", "everyDays": 1},
            "NOT_FOUND",
            ["input", "printerId"],
        ),
        (
            {"printerId": to_global_id("PrintJob", 1), "name": "x", "everyDays": 1},
            "INVALID_ID",
            ["input", "printerId"],
        ),
    ],
)
def test_create_refusals_are_user_errors(
    gql: GraphQLClient, database: Database, fields: dict[str, Any], code: str, field: list[str]
) -> None:
    printer, _ = _printer(database, "voron-1", 0)
    payload = _create(gql, **{"printerId": printer, **fields})
    assert payload["task"] is None
    assert payload["userErrors"] == [{"field": field, "code": code}]
    assert gql.execute(PRINTER_MAINTENANCE, {"id": printer})["printer"]["maintenance"] == []


def test_maintenance_done_in_the_future_is_refused(gql: GraphQLClient, database: Database) -> None:
    printer, _ = _printer(database, "voron-1", 0)
    task = _create(gql, printerId=printer, name="Lube rods", everyDays=90)["task"]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    payload = _record(gql, taskId=task["id"], doneAt=future)
    assert payload == {
        "task": None,
        "userErrors": [{"field": ["input", "doneAt"], "code": "IN_FUTURE"}],
    }


def test_a_deleted_task_is_gone(gql: GraphQLClient, database: Database) -> None:
    printer, _ = _printer(database, "voron-1", 0)
    task = _create(gql, printerId=printer, name="Lube rods", everyDays=90)["task"]
    _record(gql, taskId=task["id"])
    first = gql.execute(DELETE, {"input": {"id": task["id"]}})["deleteMaintenanceTask"]
    again = gql.execute(DELETE, {"input": {"id": task["id"]}})["deleteMaintenanceTask"]
    assert first == {"deletedTaskId": task["id"], "userErrors": []}
    assert again["userErrors"] == [{"field": ["input", "id"], "code": "NOT_FOUND"}]
    assert gql.execute(PRINTER_MAINTENANCE, {"id": printer})["printer"]["maintenance"] == []


DUE = """
query ($after: String) { maintenanceDue(first: 2, after: $after) {
  nodes { id overdueRatio } pageInfo { hasNextPage endCursor } totalCount } }"""


def test_maintenance_due_pages_the_farm_most_overdue_first(
    gql: GraphQLClient, database: Database
) -> None:
    ids = []
    for p in range(2):
        printer, _ = _printer(database, f"printer-{p}", 0)
        for every in (10.0, 20.0, 40.0):
            task = _create(gql, printerId=printer, name=f"every {every}", everyDays=every)["task"]
            ids.append(
                _record(
                    gql, taskId=task["id"], doneAt=(EPOCH - timedelta(days=every * p)).isoformat()
                )["task"]["id"]
            )
    seen: list[dict[str, Any]] = []
    after = None
    while True:
        page = gql.execute(DUE, {"after": after})["maintenanceDue"]
        assert page["totalCount"] == 6
        seen += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    ratios = [node["overdueRatio"] for node in seen]
    assert sorted(node["id"] for node in seen) == sorted(ids)
    assert ratios == sorted(ratios, reverse=True)


@pytest.mark.parametrize("printers", [1, 4])
def test_the_maintenance_of_a_printer_page_is_read_in_two_statements(
    gql: GraphQLClient, database: Database, printers: int
) -> None:
    for p in range(printers):
        printer, _ = _printer(database, f"printer-{p}", 3)
        for name in ("nozzle", "belts"):
            _create(gql, printerId=printer, name=name, everyPrintHours=100)
    query = "{ printers(first: 50) { nodes { name maintenance { name printHours overdue } } } }"
    # the printers page, their tasks, the tasks' job sums
    assert _statements(gql, database, query) == 3 + AUTH_LOOKUP
    data = gql.execute(query)["printers"]["nodes"]
    assert [len(p["maintenance"]) for p in data] == [2] * printers
