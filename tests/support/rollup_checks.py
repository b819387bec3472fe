"""Comparing what the rollups answer with what the jobs answer.

Counts must be equal; float sums may differ in their last bits (the rollups added and
subtracted them in another order), so they are compared with a relative tolerance of
1e-9 (and an absolute one of 1e-6 for sums that came back to 0).
"""

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gql_server.db.models import PrintJob
from gql_server.services.job_queries import (
    JobFilter,
    count_jobs,
    count_jobs_per_printer,
    filter_conditions,
)
from gql_server.services.rollups.files import FILE_KEYS, FILE_LEVELS, FILE_SUMS
from gql_server.services.rollups.tally import KEYS, LEVELS, SUMS
from gql_server.services.stats import StatsBucket, StatsGroupBy, StatsRequest, print_stats
from gql_server.services.stats_sql import CALENDAR_KINDS

REL_TOL = 1e-9
ABS_TOL = 1e-6


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def same_buckets(rolled: Sequence[StatsBucket], raw: Sequence[StatsBucket]) -> bool:
    if len(rolled) != len(raw):
        return False
    for a, b in zip(rolled, raw, strict=True):
        exact = (a.key, a.printer_id, a.job_count, a.completed_count, a.finished_count)
        if exact != (b.key, b.printer_id, b.job_count, b.completed_count, b.finished_count):
            return False
        pairs = ((a.print_time, b.print_time), (a.total_time, b.total_time))
        if not all(close(x, y) for x, y in (*pairs, (a.filament_used, b.filament_used))):
            return False
    return True


def local_midnight(day: date, zone: str) -> datetime:
    """The first instant of ``day`` in ``zone``, in UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def job_filters(
    printer_ids: Sequence[int], days: Sequence[date], zones: Iterable[str]
) -> list[JobFilter]:
    """Every kind of filter the rollups may serve, and some they may not."""
    filters = [
        JobFilter(),
        JobFilter(printer_ids=list(printer_ids[:2])),
        JobFilter(printer_ids=[]),
        JobFilter(statuses=["completed", "unknown"]),
        JobFilter(statuses=["in_progress"]),
        JobFilter(filament_types=["pla"]),
        JobFilter(filament_types=["PETG", "abs", "  "]),
        JobFilter(statuses=["cancelled", "error"], filament_types=["PLA"]),
        JobFilter(slicer="PRUSASLICER"),
        JobFilter(slicer="  ", printer_ids=list(printer_ids[1:])),
        JobFilter(slicer="cura", statuses=["completed"], filament_types=["pla"]),
        JobFilter(user="No User"),  # never served: the jobs answer
    ]
    for zone in zones:
        first, second = local_midnight(days[0], zone), local_midnight(days[1], zone)
        filters += [
            JobFilter(started_after=first),
            JobFilter(started_before=second),
            JobFilter(started_after=first, started_before=second, filament_types=["pla"]),
            JobFilter(started_after=first + timedelta(minutes=30)),  # not a whole day
            JobFilter(started_before=second, slicer="orcaslicer"),  # no day has the slicer
        ]
    return filters


def mismatches(
    session: Session, filters: Sequence[JobFilter], zones: Sequence[str]
) -> list[tuple[Any, ...]]:
    """Every (filter, grouping, zone) whose rollup answer differs from the jobs' answer,
    and every filter whose counts differ."""
    wrong: list[tuple[Any, ...]] = []
    printer_ids = list(session.scalars(select(PrintJob.printer_id).distinct()))
    for job_filter in filters:
        for group_by in StatsGroupBy:
            # Only calendar buckets depend on the zone.
            for zone in zones if group_by.value in CALENDAR_KINDS else zones[:1]:
                request = StatsRequest(job_filter, group_by, zone)
                rolled = print_stats(session, request)
                raw = print_stats(session, request, use_rollups=False)
                if not same_buckets(rolled, raw):
                    wrong.append((job_filter, group_by, zone, rolled, raw))
        query = select(func.count()).select_from(PrintJob).where(*filter_conditions(job_filter))
        raw_count = session.scalar(query)
        if count_jobs(session, job_filter) != raw_count:
            wrong.append((job_filter, "count", count_jobs(session, job_filter), raw_count))
        per_printer = count_jobs_per_printer(session, printer_ids, job_filter)
        if sum(per_printer.values()) != raw_count:
            wrong.append((job_filter, "count per printer", per_printer, raw_count))
    return wrong


def rollup_rows(
    session: Session, *, file_levels: bool = True
) -> dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]:
    """Every rollup row, per table: key -> sums (the job count first). The per-file
    levels' newest start is compared exactly, with the key; ``file_levels`` False
    leaves them out (before migration 0013)."""
    levels = [(level, KEYS[level], SUMS) for level in LEVELS]
    if file_levels:
        levels += [(level, (*FILE_KEYS[level], "last_start"), FILE_SUMS) for level in FILE_LEVELS]
    rows: dict[str, dict[tuple[Any, ...], tuple[Any, ...]]] = {}
    for level, key_names, sum_names in levels:
        keys, sums = [level.c[n] for n in key_names], [level.c[n] for n in sum_names]
        rows[level.name] = {
            tuple(row[: len(keys)]): tuple(row[len(keys) :])
            for row in session.execute(select(*keys, *sums))
        }
    return rows


def same_rollups(a: dict[str, dict[tuple[Any, ...], tuple[Any, ...]]], b: dict[str, Any]) -> bool:
    for name in a.keys() | b.keys():
        if a[name].keys() != b[name].keys():
            return False
        for key, (count, *floats) in a[name].items():
            other_count, *other_floats = b[name][key]
            if count != other_count or not all(map(close, floats, other_floats)):
                return False
    return True
