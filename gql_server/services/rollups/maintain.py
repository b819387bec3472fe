"""Keeping the rollups equal to the jobs, in the transaction that writes the jobs.

A write reads what the jobs it will change contribute before it writes them
(``RollupChange.existing``), names the rows it creates (``created``), and at the end
of the outermost ``tracking`` block their contributions are read again and the
difference is added to every level: a constant number of statements per batch, and a
job that changes (in progress → completed, other details) moves its contribution
instead of counting twice. Rows whose job count reaches 0 are deleted.

Every delta first locks the state row: concurrent imports apply their deltas one after
another (no deadlock between their upserts), and a rebuild, which holds the lock while
it reads the jobs, never misses or doubles a batch.
"""

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.orm import Session

from gql_server.db.models import JobRollupState, Printer, PrintJob
from gql_server.services.rollups import costs as cost_rollups
from gql_server.services.rollups import deltas, files
from gql_server.services.rollups.tally import (
    KEYS,
    LEVELS,
    SUMS,
    Contribution,
    Tally,
    contributions_of,
    contributions_query,
    read_contributions,
)

STATE_ID = 1
UTC = "UTC"
_ACTIVE = "gql_server.rollups.change"


READ_STATE = select(JobRollupState.timezone).where(JobRollupState.id == STATE_ID)
LOCK_STATE = READ_STATE.with_for_update()


def zone_of(name: str) -> ZoneInfo | None:
    """The zone farm-zone days are kept in; None for UTC, whose days are kept anyway."""
    return None if name == UTC else ZoneInfo(name)


def stored_zone(connection: Connection, *, lock: bool = False) -> str:
    """The zone the rollups were built for; a database without the state row (emptied
    tables) holds rollups of no farm zone, which is UTC's case."""
    name = connection.execute(LOCK_STATE if lock else READ_STATE).scalar()
    if name is None and lock:
        connection.execute(insert(JobRollupState).values(id=STATE_ID, timezone=UTC))
    return UTC if name is None else str(name)


def write_deltas(connection: Connection, tally: Tally) -> None:
    for level in LEVELS:
        deltas.write_level(connection, level, KEYS[level], SUMS, tally.rows(level))


def apply(
    connection: Connection, before: Sequence[Contribution], after: Sequence[Contribution]
) -> None:
    zone = zone_of(stored_zone(connection, lock=True))
    write_deltas(connection, Tally(zone).moved(before, after))
    files.apply(connection, before, after)


class RollupChange:
    """The jobs a unit of work writes: what they contributed before, their ids, and the
    values written, from which their contribution after is known without reading the
    rows back."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.before: dict[int, Contribution] = {}
        self.job_ids: set[int] = set()
        self.jobs: dict[int, Mapping[str, Any]] = {}
        self.filament_types: dict[int, tuple[str | None, str | None]] = {}
        self.created_ids: set[int] = set()
        self.jobs_after: list[Contribution] = []

    def existing(self, job_ids: Sequence[int]) -> None:
        """Jobs (by row id) about to be rewritten: call before writing them."""
        fresh = [job_id for job_id in job_ids if job_id not in self.job_ids]
        if fresh:
            self.before.update((job.id, job) for job in contributions_of(self.connection, fresh))
            self.job_ids.update(fresh)

    def created(self, job_ids: Sequence[int]) -> None:
        """Jobs (by row id) that did not exist before this unit of work."""
        self.job_ids.update(job_ids)
        self.created_ids.update(job_ids)

    def wrote_jobs(self, rows: Mapping[int, Mapping[str, Any]]) -> None:
        """The print_jobs rows written, by row id (the columns Contribution names)."""
        self.jobs.update(rows)

    def wrote_details(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """The job_details values written (``print_job_id`` and the filament type)."""
        for row in rows:
            folded = row["filament_type_folded"]
            self.filament_types[row["print_job_id"]] = (row["filament_type"], folded)

    def after(self) -> list[Contribution]:
        """Each job's contribution now: from the values written over what it held
        before; a job neither written nor held before (none today) is read."""
        known: list[Contribution] = []
        unknown: list[int] = []
        for job_id in self.job_ids:
            job = self._after(job_id)
            if job is None:
                unknown.append(job_id)
            else:
                known.append(job)
        return known + contributions_of(self.connection, unknown) if unknown else known

    def _after(self, job_id: int) -> Contribution | None:
        held = self.before.get(job_id)
        written = self.jobs.get(job_id)
        filament = self.filament_types.get(job_id)
        if written is None:
            if held is None:
                return None
            if filament is None:
                return held
            return replace(held, filament_type=filament[0], filament_type_folded=filament[1])
        if filament is None:  # details not written: the job keeps its filament type
            filament = (
                (None, None) if held is None else (held.filament_type, held.filament_type_folded)
            )
        return Contribution(
            job_id,
            written["printer_id"],
            written["start_time"],
            written["status"],
            written["print_duration"],
            written["total_duration"],
            written["filament_used"],
            filament[0],
            filament[1],
            written["file_id"],
            written["job_id"],
            written["slicer_folded"],
        )

    def apply(self) -> None:
        if self.job_ids:
            self.jobs_after = self.after()
            apply(self.connection, list(self.before.values()), self.jobs_after)


@contextmanager
def tracking(session: Session) -> Iterator[RollupChange]:
    """The change the block's job writes add to; applied when the outermost block ends
    (the import wraps a page's jobs and details in one, so the page costs one delta)."""
    active: RollupChange | None = session.info.get(_ACTIVE)
    if active is not None:
        yield active
        return
    change = RollupChange(session.connection())
    session.info[_ACTIVE] = change
    try:
        yield change
        change.apply()
        # The jobs' costs move with them too. Imported here: job_costs keeps its own
        # rollups with this module's zone functions.
        from gql_server.services import job_costs

        job_costs.write_costs_of(session, change.jobs_after, created=change.created_ids)
    finally:
        del session.info[_ACTIVE]


def remove_printer_jobs(session: Session, printer_id: int) -> None:
    """Take a printer's jobs out of the rollups; the caller deletes the printer next,
    in the same transaction (the jobs go with it, ON DELETE CASCADE).

    The printer's row is locked first, as an import locks it before writing its jobs:
    no batch of that printer can commit jobs between this read and the delete.
    """
    connection = session.connection()
    connection.execute(
        update(Printer).where(Printer.id == printer_id).values(updated_at=Printer.updated_at)
    )
    jobs = read_contributions(
        connection, contributions_query().where(PrintJob.printer_id == printer_id)
    )
    if jobs:
        apply(connection, jobs, [])
    costs = cost_rollups.printer_contributions(connection, printer_id)
    if costs:
        cost_rollups.apply(connection, zone_of(stored_zone(connection, lock=True)), costs, [])
