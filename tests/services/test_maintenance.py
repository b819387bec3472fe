"""Maintenance odometers: summed from the jobs that started since the task was last done
(or created), compared here with sums over the inserted rows."""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gql_server.db.models import MaintenanceRecord, MaintenanceTask
from gql_server.db.session import Database
from gql_server.services import maintenance
from gql_server.services.errors import ServiceError
from gql_server.services.jobs import upsert_jobs
from gql_server.services.maintenance import Intervals, TaskStatus
from gql_server.services.pagination import PageArgs
from gql_server.services.printers import delete_printer
from tests.factories import EPOCH, make_job_row, make_printer
from tests.support.racing import cut_in_before, meet_at, run_at_once
from tests.support.sql_counter import count_statements

NOW = EPOCH + timedelta(days=3)
EVERY = Intervals(every_print_hours=2.0, every_filament_meters=5.0, every_days=10.0)


def _printer_with_jobs(
    database: Database, name: str, count: int
) -> tuple[int, list[dict[str, Any]]]:
    rows = [make_job_row(i, filename=f"{name}-{i}.gcode") for i in range(count)]
    with database.scope() as session:
        printer_id = make_printer(session, name).id
        upsert_jobs(session, printer_id, rows)
    return printer_id, rows


def _task(
    database: Database, printer_id: int, *, created: datetime, intervals: Intervals = EVERY
) -> int:
    with database.scope() as session:
        task = maintenance.create_task(
            session, printer_id=printer_id, name="nozzle", intervals=intervals, now=created
        )
        return task.id


def _record(
    database: Database, task_id: int, done_at: datetime | None, now: datetime = NOW
) -> None:
    with database.scope() as session:
        maintenance.record_maintenance(
            session, task_id=task_id, done_at=done_at, note=None, now=now
        )


def _measured(database: Database, task_id: int, now: datetime = NOW) -> TaskStatus:
    with database.scope() as session:
        found = maintenance.measure_task(session, task_id, now=now)
    assert found is not None
    return found


def _expected(rows: list[dict[str, Any]], since: datetime) -> tuple[float, float]:
    counted = [row for row in rows if row["start_time"] >= since]
    return (
        sum(row["print_duration"] for row in counted) / 3600,
        sum(row["filament_used"] for row in counted) / 1000,
    )


def test_a_task_never_done_counts_the_jobs_started_since_its_creation(database: Database) -> None:
    printer_id, rows = _printer_with_jobs(database, "voron-1", 10)
    created = rows[4]["start_time"]
    task = _measured(database, _task(database, printer_id, created=created))
    hours, meters = _expected(rows, created)
    assert (task.print_hours, task.filament_meters) == pytest.approx((hours, meters))
    assert task.days == pytest.approx((NOW - created).total_seconds() / 86400)
    assert task.last_done_at is None


def test_maintenance_done_in_the_middle_of_a_job_leaves_that_job_to_the_cycle_before(
    database: Database,
) -> None:
    printer_id, rows = _printer_with_jobs(database, "voron-1", 10)
    task_id = _task(database, printer_id, created=EPOCH - timedelta(days=1))
    running = rows[6]
    done_at = running["start_time"] + timedelta(seconds=300)
    assert done_at < running["end_time"]
    _record(database, task_id, done_at)
    task = _measured(database, task_id)
    hours, meters = _expected(rows[7:], EPOCH)
    assert (task.print_hours, task.filament_meters) == pytest.approx((hours, meters))
    assert task.last_done_at == done_at


def test_the_newest_done_at_counts_even_when_recorded_first(database: Database) -> None:
    printer_id, rows = _printer_with_jobs(database, "voron-1", 6)
    task_id = _task(database, printer_id, created=EPOCH - timedelta(days=1))
    _record(database, task_id, rows[3]["start_time"])
    _record(database, task_id, rows[1]["start_time"])  # an older one, entered late
    task = _measured(database, task_id)
    assert task.last_done_at == rows[3]["start_time"]
    assert task.print_hours == pytest.approx(_expected(rows, rows[3]["start_time"])[0])


def test_another_printers_jobs_do_not_count(database: Database) -> None:
    printer_id, rows = _printer_with_jobs(database, "voron-1", 3)
    _printer_with_jobs(database, "voron-2", 8)
    task = _measured(database, _task(database, printer_id, created=EPOCH))
    assert task.print_hours == pytest.approx(_expected(rows, EPOCH)[0])


def test_due_in_is_what_is_left_of_each_interval_and_overdue_when_one_is_used_up(
    database: Database,
) -> None:
    printer_id, rows = _printer_with_jobs(database, "voron-1", 10)
    task = _measured(database, _task(database, printer_id, created=EPOCH))
    hours, meters = _expected(rows, EPOCH)
    days = (NOW - EPOCH).total_seconds() / 86400
    due = task.due_in
    assert (due.print_hours, due.filament_meters, due.days) == pytest.approx(
        (2.0 - hours, 5.0 - meters, 10.0 - days)
    )
    assert task.overdue_ratio == pytest.approx(max(hours / 2.0, meters / 5.0, days / 10.0))
    assert task.overdue is (task.overdue_ratio >= 1)
    assert task.overdue  # 10 jobs of about 9 minutes: more than 2 print hours


def test_an_interval_not_set_has_no_due_in(database: Database) -> None:
    printer_id, _ = _printer_with_jobs(database, "voron-1", 1)
    intervals = Intervals(every_days=30.0)
    task = _measured(database, _task(database, printer_id, created=EPOCH, intervals=intervals))
    assert (task.due_in.print_hours, task.due_in.filament_meters) == (None, None)
    assert task.overdue_ratio == pytest.approx(3 / 30)
    assert not task.overdue


@pytest.mark.parametrize(
    ("intervals", "code", "field"),
    [
        (Intervals(), "REQUIRED", "everyPrintHours"),
        (Intervals(every_print_hours=0.0), "OUT_OF_RANGE", "everyPrintHours"),
        (Intervals(every_filament_meters=-1.0), "OUT_OF_RANGE", "everyFilamentMeters"),
        (Intervals(every_days=3651.0), "OUT_OF_RANGE", "everyDays"),
    ],
)
def test_intervals_are_required_positive_and_bounded(
    database: Database, intervals: Intervals, code: str, field: str
) -> None:
    printer_id, _ = _printer_with_jobs(database, "voron-1", 0)
    with pytest.raises(ServiceError) as refused:
        _task(database, printer_id, created=EPOCH, intervals=intervals)
    assert (refused.value.code, refused.value.field) == (code, field)


def test_maintenance_cannot_be_done_in_the_future(database: Database) -> None:
    printer_id, _ = _printer_with_jobs(database, "voron-1", 0)
    task_id = _task(database, printer_id, created=EPOCH)
    with pytest.raises(ServiceError) as refused:
        _record(database, task_id, NOW + timedelta(seconds=1))
    assert (refused.value.code, refused.value.field) == ("IN_FUTURE", "doneAt")
    assert _measured(database, task_id).last_done_at is None


def test_done_at_defaults_to_now(database: Database) -> None:
    printer_id, _ = _printer_with_jobs(database, "voron-1", 0)
    task_id = _task(database, printer_id, created=EPOCH)
    _record(database, task_id, None)
    task = _measured(database, task_id)
    assert (task.last_done_at, task.days) == (NOW, 0.0)


def _farm_of_tasks(database: Database) -> list[int]:
    """Tasks on two printers at various stages: ratios all different but two equal."""
    ids = []
    for p in range(2):
        printer_id, _ = _printer_with_jobs(database, f"printer-{p}", 6)
        for days in (1.0, 4.0, 6.0, 100.0):
            ids.append(
                _task(database, printer_id, created=EPOCH, intervals=Intervals(every_days=days))
            )
        ids.append(
            _task(database, printer_id, created=EPOCH, intervals=Intervals(every_print_hours=1.0))
        )
    return ids


def _ranking(database: Database) -> list[int]:
    with database.scope() as session:
        tasks = maintenance.measure_tasks(session, printer_ids=None, now=NOW)
    return [t.id for t in sorted(tasks, key=lambda t: (-t.overdue_ratio, t.id))]


def test_due_pages_rank_every_task_most_overdue_first_and_page_by_cursor(
    database: Database,
) -> None:
    _farm_of_tasks(database)
    expected = _ranking(database)
    seen: list[int] = []
    after = None
    while True:
        with database.scope() as session:
            page, total = maintenance.due_page(session, PageArgs(first=3, after=after), now=NOW)
        seen += [t.id for t in page.items]
        if not page.has_next:
            break
        after = maintenance.due_position(page.items[-1])
    assert seen == expected and total == len(expected)


def test_due_pages_backwards_give_the_same_order(database: Database) -> None:
    _farm_of_tasks(database)
    expected = _ranking(database)
    seen: list[int] = []
    before = None
    while True:
        with database.scope() as session:
            page, _ = maintenance.due_page(session, PageArgs(last=4, before=before), now=NOW)
        seen = [t.id for t in page.items] + seen
        if not page.has_previous:
            break
        before = maintenance.due_position(page.items[0])
    assert seen == expected


def test_overdue_only_keeps_the_tasks_that_are_due(database: Database) -> None:
    _farm_of_tasks(database)
    with database.scope() as session:
        every = maintenance.measure_tasks(session, printer_ids=None, now=NOW)
        page, total = maintenance.due_page(session, PageArgs(first=100), now=NOW, overdue_only=True)
    assert {t.id for t in page.items} == {t.id for t in every if t.overdue_ratio >= 1}
    assert total == len(page.items)


def test_measuring_the_farm_is_two_statements_however_many_tasks(database: Database) -> None:
    _farm_of_tasks(database)
    with database.scope() as session, count_statements(database.engine) as log:
        maintenance.measure_tasks(session, printer_ids=None, now=NOW)
    assert log.count == 2


def test_a_printer_holds_at_most_its_bound_of_tasks(database: Database) -> None:
    printer_id, _ = _printer_with_jobs(database, "voron-1", 0)
    for _ in range(maintenance.TASKS_PER_PRINTER_MAX):
        _task(database, printer_id, created=EPOCH)
    with pytest.raises(ServiceError) as refused:
        _task(database, printer_id, created=EPOCH)
    assert (refused.value.code, refused.value.field) == ("TOO_MANY_TASKS", "printerId")


def _create(printer_id: int) -> Callable[[Session], object]:
    return lambda session: maintenance.create_task(
        session, printer_id=printer_id, name="belts", intervals=EVERY, now=NOW
    )


def _count(database: Database, model: type[Any]) -> int:
    with database.scope() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_tasks_created_at_once_never_pass_the_bound(database: Database) -> None:
    printer_id, _ = _printer_with_jobs(database, "voron-1", 0)
    for _ in range(maintenance.TASKS_PER_PRINTER_MAX - 1):
        _task(database, printer_id, created=EPOCH)
    with meet_at(database.engine, "INSERT INTO maintenance_tasks"):
        outcomes = run_at_once(database, [_create(printer_id), _create(printer_id)])
    codes = sorted(str(getattr(outcome.error, "code", outcome.error)) for outcome in outcomes)
    assert codes == ["None", "TOO_MANY_TASKS"]
    assert _count(database, MaintenanceTask) == maintenance.TASKS_PER_PRINTER_MAX


def test_a_task_created_as_its_printer_is_deleted_goes_with_it(database: Database) -> None:
    printer_id, _ = _printer_with_jobs(database, "voron-1", 0)

    def remove_printer() -> None:
        database.scope_run(lambda session: delete_printer(session, printer_id))

    with cut_in_before(database.engine, "INSERT INTO maintenance_tasks", remove_printer) as cut:
        database.scope_run(_create(printer_id))
    assert (cut.error, _count(database, MaintenanceTask)) == (None, 0)


def test_maintenance_recorded_as_its_task_is_deleted_goes_with_it(database: Database) -> None:
    printer_id, _ = _printer_with_jobs(database, "voron-1", 0)
    task_id = _task(database, printer_id, created=EPOCH)

    def remove_task() -> None:
        database.scope_run(lambda session: maintenance.delete_task(session, task_id))

    with cut_in_before(database.engine, "INSERT INTO maintenance_records", remove_task) as cut:
        _record(database, task_id, None)
    assert (cut.error, _count(database, MaintenanceRecord)) == (None, 0)
