"""What each job contributes to each rollup level, summed in Python.

A level's key is a tuple of its key columns (models.JobRollupTotal / JobRollupDay) and
its value the four sums. Adding a job with sign -1 takes back exactly what sign +1
added, so a batch's delta is "after" minus "before" of the jobs it touched. Counts are
exact; float sums under repeated add/subtract can drift in their last bits.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Select, Table, bindparam, select

from gql_server.db.models import (
    JobDetails,
    PrintJob,
)
from gql_server.db.tables import JOB_ROLLUP_DAY_STATUSES, JOB_ROLLUP_DAYS, JOB_ROLLUP_TOTALS
from gql_server.services.rollups.deltas import Job, LevelSums
from gql_server.services.zones import local_day

SUMS = ("job_count", "print_time", "total_time", "filament_used")
JOB_KEYS = ("status", "has_filament_type", "filament_type_folded", "filament_type")
# The whole-history level only: rollups.reads answers the SLICER grouping from it.
SLICER_KEYS = ("has_slicer", "slicer_folded")
KEYS: dict[Table, tuple[str, ...]] = {
    JOB_ROLLUP_TOTALS: ("printer_id", *JOB_KEYS, *SLICER_KEYS),
    JOB_ROLLUP_DAYS: ("farm_zone", "day", *JOB_KEYS),
    JOB_ROLLUP_DAY_STATUSES: ("farm_zone", "day", "status"),
}
LEVELS = (JOB_ROLLUP_TOTALS, JOB_ROLLUP_DAYS, JOB_ROLLUP_DAY_STATUSES)
# Rows per statement when reading jobs by id or writing rollup rows.
CHUNK = 500


class KeyedJob(Protocol):
    """What a job (or its cost) is keyed by in the rollups."""

    @property
    def printer_id(self) -> int: ...
    @property
    def start_time(self) -> datetime: ...
    @property
    def status(self) -> str: ...
    @property
    def filament_type(self) -> str | None: ...
    @property
    def filament_type_folded(self) -> str | None: ...
    @property
    def slicer_folded(self) -> str | None: ...


def keys_of(job: KeyedJob) -> tuple[tuple[Any, ...], tuple[bool, str]]:
    """The values of JOB_KEYS and SLICER_KEYS: key columns cannot be NULL, so a job
    without a filament type or slicer has the flag false and empty text."""
    has_type = job.filament_type_folded is not None
    keys = (job.status, has_type, job.filament_type_folded or "", job.filament_type or "")
    return keys, (job.slicer_folded is not None, job.slicer_folded or "")


def days_of(start: datetime, farm_zone: ZoneInfo | None) -> list[tuple[bool, date]]:
    """(farm_zone, day) of each day level a job counts on: its UTC day, and its day in
    the farm's zone unless that is UTC."""
    days = [(False, start.date())]
    if farm_zone is not None:
        days.append((True, local_day(start, farm_zone)))
    return days


@dataclass(frozen=True, slots=True)
class Contribution:
    """The columns of a job (and its details) that the rollups sum or key by."""

    id: int
    printer_id: int
    start_time: datetime
    status: str
    print_duration: float | None
    total_duration: float | None
    filament_used: float | None
    filament_type: str | None
    filament_type_folded: str | None
    file_id: int  # the per-file levels' key (rollups/files.py)
    job_id: str  # Moonraker's: with printer and start, how a spool quote finds its job
    slicer_folded: str | None


# In Contribution's field order.
CONTRIBUTION_COLUMNS: tuple[Any, ...] = (
    PrintJob.id,
    PrintJob.printer_id,
    PrintJob.start_time,
    PrintJob.status,
    PrintJob.print_duration,
    PrintJob.total_duration,
    PrintJob.filament_used,
    JobDetails.filament_type,
    JobDetails.filament_type_folded,
    PrintJob.file_id,
    PrintJob.job_id,
    PrintJob.slicer_folded,
)


def contributions_query() -> Select[Any]:
    """Jobs with their details' filament type; the caller adds WHERE."""
    return (
        select(*CONTRIBUTION_COLUMNS)
        .select_from(PrintJob)
        .outerjoin(JobDetails, JobDetails.print_job_id == PrintJob.id)
    )


def read_contributions(connection: Connection, query: Select[Any]) -> list[Contribution]:
    return [Contribution(*row) for row in connection.execute(query)]


# Built once: a statement object used again skips SQLAlchemy's construction and
# cache-key work, which cost more than the query itself on an import's page.
BY_IDS = contributions_query().where(PrintJob.id.in_(bindparam("ids", expanding=True)))


def contributions_of(connection: Connection, job_ids: Sequence[int]) -> list[Contribution]:
    found: list[Contribution] = []
    ordered = sorted(job_ids)
    for start in range(0, len(ordered), CHUNK):
        rows = connection.execute(BY_IDS, {"ids": ordered[start : start + CHUNK]})
        found += [Contribution(*row) for row in rows]
    return found


class JobLevelSums(LevelSums[Job]):
    """Sums on a whole-history level and a day level keyed as the job rollups' JOB_ROLLUP_TOTALS
    and JOB_ROLLUP_DAYS are (the cost rollups are keyed alike); ``farm_zone`` None when the farm's
    zone is UTC (its days are then the UTC days, kept once)."""

    def __init__(
        self,
        keys: Mapping[Table, Sequence[str]],
        sums: Sequence[str],
        *,
        counts: int,
        farm_zone: ZoneInfo | None,
    ) -> None:
        super().__init__(keys, sums, counts=counts)
        self.farm_zone = farm_zone

    def _add_keyed(
        self, totals: Table, days: Table, job: KeyedJob, sums: tuple[float, ...]
    ) -> list[tuple[bool, date]]:
        """Add ``sums`` under ``job``'s keys on ``totals`` and on ``days`` for each day it
        counts on; those days."""
        keys, slicer = keys_of(job)
        self._add(totals, (job.printer_id, *keys, *slicer), sums)
        counted = days_of(job.start_time, self.farm_zone)
        for day in counted:
            self._add(days, (*day, *keys), sums)
        return counted


class Tally(JobLevelSums[Contribution]):
    """The job rollups' sums per key per level."""

    def __init__(self, farm_zone: ZoneInfo | None) -> None:
        super().__init__(KEYS, SUMS, counts=1, farm_zone=farm_zone)

    def add(self, job: Contribution, sign: int = 1) -> None:
        sums = _sums(job, sign)
        for day in self._add_keyed(JOB_ROLLUP_TOTALS, JOB_ROLLUP_DAYS, job, sums):
            self._add(JOB_ROLLUP_DAY_STATUSES, (*day, job.status), sums)


def _sums(job: Contribution, sign: int) -> tuple[float, ...]:
    return (
        sign,
        sign * (job.print_duration or 0.0),
        sign * (job.total_duration or 0.0),
        sign * (job.filament_used or 0.0),
    )
