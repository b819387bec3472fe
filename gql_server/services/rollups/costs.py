"""The job costs' rollups: sums of ``job_costs`` per printer and per farm day, keyed as
the job rollups are (rollups.tally), so that cost statistics are read from as few rows
as the job statistics (rollups.reads).

A job's cost is written once when the job is, from the prices in force at its start
(services/job_costs.py), so a change of price never touches these sums: only writing
a job's cost does, by the difference between its old ``job_costs`` row (which keeps the
keys it was summed under) and its new one. Kept in tables of their own: the job
rollups' levels are rebuilt by migration 0010 with the code of the day, which must not
reach for tables that do not exist at that revision.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Table, delete, insert, select

from gql_server.db.models import JobCost
from gql_server.db.tables import JOB_COST_ROLLUP_DAYS, JOB_COST_ROLLUP_TOTALS
from gql_server.services.rollups import deltas
from gql_server.services.rollups.tally import CHUNK, JOB_KEYS, SLICER_KEYS, JobLevelSums

COST_LEVELS = (JOB_COST_ROLLUP_TOTALS, JOB_COST_ROLLUP_DAYS)
SUMS = ("job_count", "priced_jobs", "filament_cost", "machine_cost")
KEYS: dict[Table, tuple[str, ...]] = {
    JOB_COST_ROLLUP_TOTALS: ("printer_id", *JOB_KEYS, *SLICER_KEYS),
    JOB_COST_ROLLUP_DAYS: ("farm_zone", "day", *JOB_KEYS),
}


@dataclass(frozen=True, slots=True)
class CostContribution:
    """A job_costs row: the keys it is summed under and its costs."""

    printer_id: int
    start_time: datetime
    status: str
    filament_type: str | None
    filament_type_folded: str | None
    filament_cost: float | None
    machine_cost: float | None
    slicer_folded: str | None


CONTRIBUTION_COLUMNS = (
    JobCost.printer_id,
    JobCost.start_time,
    JobCost.status,
    JobCost.filament_type,
    JobCost.filament_type_folded,
    JobCost.filament_cost,
    JobCost.machine_cost,
    JobCost.slicer_folded,
)


class CostTally(JobLevelSums[CostContribution]):
    """The cost rollups' sums per key per level."""

    def __init__(self, farm_zone: ZoneInfo | None) -> None:
        super().__init__(KEYS, SUMS, counts=2, farm_zone=farm_zone)

    def add(self, job: CostContribution, sign: int = 1) -> None:
        self._add_keyed(JOB_COST_ROLLUP_TOTALS, JOB_COST_ROLLUP_DAYS, job, _sums(job, sign))


def _sums(job: CostContribution, sign: int) -> tuple[float, ...]:
    return (
        sign,
        sign if job.filament_cost is not None else 0,
        sign * (job.filament_cost or 0.0),
        sign * (job.machine_cost or 0.0),
    )


def write_deltas(connection: Connection, tally: CostTally) -> None:
    for level in COST_LEVELS:
        deltas.write_level(connection, level, KEYS[level], SUMS, tally.rows(level))


def apply(
    connection: Connection,
    zone: ZoneInfo | None,
    before: Sequence[CostContribution],
    after: Sequence[CostContribution],
) -> None:
    write_deltas(connection, CostTally(zone).moved(before, after))


def rebuild(
    connection: Connection, zone: ZoneInfo | None, levels: Sequence[Table] = COST_LEVELS
) -> None:
    """Cost rollups recomputed from ``job_costs``: every level for ``gql-server rollups
    rebuild``, the ones a migration names for it."""
    for level in levels:
        connection.execute(delete(level))
    tally = CostTally(zone)
    for row in connection.execute(select(*CONTRIBUTION_COLUMNS)):
        tally.add(CostContribution(*row))
    for level in levels:
        rows = [row for row, _ in tally.rows(level)]
        for start in range(0, len(rows), CHUNK):
            connection.execute(insert(level), rows[start : start + CHUNK])


def printer_contributions(connection: Connection, printer_id: int) -> list[CostContribution]:
    query = select(*CONTRIBUTION_COLUMNS).where(JobCost.printer_id == printer_id)
    return [CostContribution(*row) for row in connection.execute(query)]
