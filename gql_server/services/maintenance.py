"""Maintenance tasks and their odometers, summed from the jobs.

A task is due every so many print hours, filament metres or days, whichever comes
first. Its odometers count from the newest time it was done (``maintenance_records``),
or from the task's creation when it never was: record a past ``doneAt`` to start from
when it was really last done. They are sums over the printer's jobs, never counters, so
they are exact after a backfill or a resync too.

A job counts for the cycle it *started* in. A job running when the maintenance was done
(started before, ended after) counts for the cycle before: its hours were mostly spent
on the part just serviced, and each cycle is then one range of the (printer_id,
start_time) index.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Double, Select, func, literal, literal_column, select, union_all
from sqlalchemy.orm import Session

from gql_server.db.models import MaintenanceRecord, MaintenanceTask, Printer, PrintJob
from gql_server.db.types import as_utc
from gql_server.services.errors import NotFoundError, ValidationError
from gql_server.services.pagination import Page, PageArgs, SortKey, build_page
from gql_server.services.row_locks import lock_parent

NAME_MAX = 100
# Tasks one printer may have: Printer.maintenance is a list, and the query limits charge
# it for this many (graphql/limits.py). A printer needs a handful.
TASKS_PER_PRINTER_MAX = 50
NOTE_MAX = 500
# The longest interval of each kind a task may have: a century of continuous printing,
# ten million metres of filament, ten years.
INTERVAL_MAX = {"everyPrintHours": 876_000.0, "everyFilamentMeters": 1e7, "everyDays": 3650.0}
SECONDS_PER_HOUR = 3600.0
MM_PER_METER = 1000.0
SECONDS_PER_DAY = 86400.0
# SQLite's default build refuses a compound SELECT of more than 500 terms.
ARMS_PER_STATEMENT = 400


@dataclass(frozen=True, slots=True)
class Intervals:
    every_print_hours: float | None = None
    every_filament_meters: float | None = None
    every_days: float | None = None


@dataclass(frozen=True, slots=True)
class Remaining:
    """What is left of each interval (negative once overdue; None: no such interval)."""

    print_hours: float | None
    filament_meters: float | None
    days: float | None


@dataclass(frozen=True, slots=True)
class TaskStatus:
    """A task with its odometers since ``since`` (the last time done, else creation)."""

    id: int
    printer_id: int
    name: str
    intervals: Intervals
    created_at: datetime
    last_done_at: datetime | None
    print_hours: float
    filament_meters: float
    days: float

    @property
    def since(self) -> datetime:
        return self.last_done_at or self.created_at

    def _used(self) -> list[tuple[float, float | None]]:
        i = self.intervals
        return [
            (self.print_hours, i.every_print_hours),
            (self.filament_meters, i.every_filament_meters),
            (self.days, i.every_days),
        ]

    @property
    def due_in(self) -> Remaining:
        left = [None if every is None else every - used for used, every in self._used()]
        return Remaining(print_hours=left[0], filament_meters=left[1], days=left[2])

    @property
    def overdue_ratio(self) -> float:
        """The largest used / interval: 1 or more is due; what maintenanceDue ranks by."""
        return max(used / every for used, every in self._used() if every is not None)

    @property
    def overdue(self) -> bool:
        return self.overdue_ratio >= 1.0


def _check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ValidationError("name must not be empty", field="name", code="REQUIRED")
    if len(name) > NAME_MAX:
        raise ValidationError(
            f"name is {len(name)} characters long; the maximum is {NAME_MAX}",
            field="name",
            code="TOO_LONG",
        )
    return name


def _check_intervals(intervals: Intervals) -> None:
    given = {
        "everyPrintHours": intervals.every_print_hours,
        "everyFilamentMeters": intervals.every_filament_meters,
        "everyDays": intervals.every_days,
    }
    if all(value is None for value in given.values()):
        raise ValidationError(
            "give at least one of everyPrintHours, everyFilamentMeters, everyDays",
            field="everyPrintHours",
            code="REQUIRED",
        )
    for field, value in given.items():
        if value is not None and not 0 < value <= INTERVAL_MAX[field]:
            raise ValidationError(
                f"{field} must be above 0 and at most {INTERVAL_MAX[field]:.0f}, got {value:g}",
                field=field,
                code="OUT_OF_RANGE",
            )


def _check_room(session: Session, printer_id: int) -> None:
    held = session.scalar(select(func.count()).where(MaintenanceTask.printer_id == printer_id))
    if (held or 0) >= TASKS_PER_PRINTER_MAX:
        raise ValidationError(
            f"the printer has {TASKS_PER_PRINTER_MAX} maintenance tasks, the most it may have",
            field="printerId",
            code="TOO_MANY_TASKS",
        )


def create_task(
    session: Session, *, printer_id: int, name: str, intervals: Intervals, now: datetime
) -> MaintenanceTask:
    name = _check_name(name)
    _check_intervals(intervals)
    if not lock_parent(session, Printer, printer_id):
        raise NotFoundError(f"no printer with id {printer_id}", field="printerId")
    _check_room(session, printer_id)
    task = MaintenanceTask(
        printer_id=printer_id,
        name=name,
        every_print_hours=intervals.every_print_hours,
        every_filament_meters=intervals.every_filament_meters,
        every_days=intervals.every_days,
        created_at=now,
        updated_at=now,
    )
    session.add(task)
    session.flush()
    return task


def record_maintenance(
    session: Session, *, task_id: int, done_at: datetime | None, note: str | None, now: datetime
) -> MaintenanceRecord:
    """Done at ``done_at`` (None: now), never in the future. An earlier time than the
    newest record is kept in the history and moves no odometer."""
    done_at = now if done_at is None else as_utc(done_at)
    if done_at > now:
        raise ValidationError(
            f"doneAt {done_at.isoformat()} is in the future", field="doneAt", code="IN_FUTURE"
        )
    if note is not None:
        note = note.strip() or None
    if note is not None and len(note) > NOTE_MAX:
        raise ValidationError(
            f"note is {len(note)} characters long; the maximum is {NOTE_MAX}",
            field="note",
            code="TOO_LONG",
        )
    if not lock_parent(session, MaintenanceTask, task_id):
        raise NotFoundError(f"no maintenance task with id {task_id}", field="taskId")
    record = MaintenanceRecord(task_id=task_id, done_at=done_at, note=note, created_at=now)
    session.add(record)
    session.flush()
    return record


def delete_task(session: Session, task_id: int) -> None:
    task = session.get(MaintenanceTask, task_id)
    if task is None:
        raise NotFoundError(f"no maintenance task with id {task_id}", field="id")
    session.delete(task)
    session.flush()


def _tasks_query() -> Select[Any]:
    last_done = (
        select(MaintenanceRecord.task_id, func.max(MaintenanceRecord.done_at).label("last_done_at"))
        .group_by(MaintenanceRecord.task_id)
        .subquery("last_done")
    )
    return select(
        MaintenanceTask.id,
        MaintenanceTask.printer_id,
        MaintenanceTask.name,
        MaintenanceTask.every_print_hours,
        MaintenanceTask.every_filament_meters,
        MaintenanceTask.every_days,
        MaintenanceTask.created_at,
        last_done.c.last_done_at,
    ).outerjoin(last_done, last_done.c.task_id == MaintenanceTask.id)


def _as_time(value: Any) -> datetime | None:
    # MAX() loses the column type on SQLite and comes back as text.
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return as_utc(value)


def _sums_arm(
    task_id: int, printer_id: int, since: datetime
) -> Select[int, float | None, float | None]:
    """One task's sums: one range of the (printer_id, start_time, id, print_duration,
    filament_used) index, read without the jobs' rows."""
    return select(
        literal(task_id).label("task_id"),
        func.coalesce(func.sum(PrintJob.print_duration), 0.0).label("print_seconds"),
        func.coalesce(func.sum(PrintJob.filament_used), 0.0).label("filament_mm"),
    ).where(PrintJob.printer_id == printer_id, PrintJob.start_time >= since)


def _job_sums(
    session: Session, starts: Sequence[tuple[int, int, datetime]]
) -> dict[int, tuple[float, float]]:
    """(print seconds, filament mm) of each task's jobs since its start, in one
    statement per ARMS_PER_STATEMENT tasks (a farm has a few hundred)."""
    sums: dict[int, tuple[float, float]] = {}
    for first in range(0, len(starts), ARMS_PER_STATEMENT):
        arms = [_sums_arm(*start) for start in starts[first : first + ARMS_PER_STATEMENT]]
        query = arms[0] if len(arms) == 1 else union_all(*arms)
        for task_id, seconds, millimetres in session.execute(query):
            sums[int(task_id)] = (float(seconds or 0), float(millimetres or 0))
    return sums


def measure_tasks(
    session: Session, *, printer_ids: Iterable[int] | None, now: datetime
) -> list[TaskStatus]:
    """Every task of these printers (None: of the farm) with its odometers, by id: two
    statements however many tasks (up to ARMS_PER_STATEMENT)."""
    query = _tasks_query().order_by(MaintenanceTask.id)
    if printer_ids is not None:
        query = query.where(MaintenanceTask.printer_id.in_(list(printer_ids)))
    tasks = list(session.execute(query))
    starts = [(t.id, t.printer_id, _as_time(t.last_done_at) or as_utc(t.created_at)) for t in tasks]
    sums = _job_sums(session, starts) if starts else {}
    return [
        _status(task, since, sums[task.id], now)
        for task, (_, _, since) in zip(tasks, starts, strict=True)
    ]


def _status(task: Any, since: datetime, sums: tuple[float, float], now: datetime) -> TaskStatus:
    seconds, millimetres = sums
    return TaskStatus(
        id=task.id,
        printer_id=task.printer_id,
        name=task.name,
        intervals=Intervals(task.every_print_hours, task.every_filament_meters, task.every_days),
        created_at=as_utc(task.created_at),
        last_done_at=_as_time(task.last_done_at),
        print_hours=seconds / SECONDS_PER_HOUR,
        filament_meters=millimetres / MM_PER_METER,
        days=max((now - since).total_seconds(), 0.0) / SECONDS_PER_DAY,
    )


def measure_task(session: Session, task_id: int, *, now: datetime) -> TaskStatus | None:
    """One task with its odometers (what a mutation answers with)."""
    task = session.get(MaintenanceTask, task_id)
    if task is None:
        return None
    measured = measure_tasks(session, printer_ids=[task.printer_id], now=now)
    return next(t for t in measured if t.id == task_id)


# maintenanceDue's ordering: the overdue ratio, highest first, ties by task id. The
# ratio is no column; its key carries the type a cursor's value is checked against.
DUE_ORDERING = "maintenance:overdue_ratio:desc"
DUE_KEYS = [
    SortKey(literal_column("overdue_ratio", Double()), descending=True),
    SortKey(MaintenanceTask.id),
]


def due_position(task: TaskStatus) -> tuple[float, int]:
    return (task.overdue_ratio, task.id)


def _rank(position: tuple[Any, ...]) -> tuple[float, int]:
    ratio, task_id = position
    return (-float(ratio), int(task_id))


def _task_rank(task: TaskStatus) -> tuple[float, int]:
    return _rank(due_position(task))


def due_page(
    session: Session,
    args: PageArgs,
    *,
    now: datetime,
    printer_ids: Sequence[int] | None = None,
    overdue_only: bool = False,
) -> tuple[Page[TaskStatus], int]:
    """A keyset page of the farm's tasks, most overdue first, and how many tasks match.

    Ranking needs every task's odometers whatever the page, so the page is cut from all
    of them in Python: a farm has hundreds of tasks, and measuring them is the cost.
    The days odometer grows with the clock, so a later page is cut by the rank the
    cursor's task had when the cursor was issued.
    """
    tasks = measure_tasks(session, printer_ids=printer_ids, now=now)
    if overdue_only:
        tasks = [task for task in tasks if task.overdue]
    ranked = sorted(tasks, key=_task_rank)
    if args.after is not None:
        ranked = [t for t in ranked if _task_rank(t) > _rank(args.after)]
    if args.before is not None:
        ranked = [t for t in ranked if _task_rank(t) < _rank(args.before)]
    if args.backwards:
        ranked.reverse()
    return build_page(ranked[: args.size + 1], args), len(tasks)
