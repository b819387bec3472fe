"""The rollups equal the jobs: after writes, rewrites, reused ids, a deleted printer and
a rebuild, for every grouping and filter they answer (tests/support/rollup_checks.py).

Histories are random (seeded) and clustered around DST transitions and local midnights,
written through the import's own write path (services/jobs.py inside one tracking
block per batch, as services/sync/importer.py does); tests/sync/test_rollups_import.py
runs the same checks through a real import.
"""

import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gql_server.db.models import JobRollupState, PrintJob
from gql_server.db.session import Database
from gql_server.services import jobs
from gql_server.services.job_queries import JobFilter
from gql_server.services.printers import delete_printer
from gql_server.services.rollups import maintain
from gql_server.services.rollups.reads import ROLLED_UP_KINDS
from gql_server.services.rollups.rebuild import rebuild
from gql_server.services.stats import StatsGroupBy, StatsRequest, print_stats
from tests.factories import make_job_row, make_printer
from tests.support.rollup_checks import (
    job_filters,
    local_midnight,
    mismatches,
    rollup_rows,
    same_buckets,
    same_rollups,
)
from tests.support.sql_counter import count_statements

STATUSES = ["completed"] * 5 + [
    "cancelled", "error", "in_progress", "in_progress", "klippy_shutdown",
    "klippy_disconnect", "server_exit", "interrupted", "paused_by_a_new_moonraker",
]  # fmt: skip
FILAMENTS = ["PLA", "pla", " Pla ", "PETG", "ABS", "TPU", "  ", None, None]
# The metadata's "slicer": spellings of one folded slicer, blanks, none, not a text.
SLICERS = ["PrusaSlicer", "prusaslicer", " PRUSASLICER ", "OrcaSlicer", "Cura", "  ", None, 42]
# Around both zones' transitions of 2025 (and the same dates in Kolkata, which has none).
CENTRES = {
    "Europe/Berlin": (datetime(2025, 3, 30, 1, tzinfo=UTC), datetime(2025, 10, 26, 1, tzinfo=UTC)),
    "America/New_York": (
        datetime(2025, 3, 9, 7, tzinfo=UTC),
        datetime(2025, 11, 2, 6, tzinfo=UTC),
    ),
    "Asia/Kolkata": (datetime(2025, 3, 30, 18, 30, tzinfo=UTC),),
}
PRINTERS = 4
JOBS = 150
BATCH = 40


def _start(rng: random.Random, zone: str) -> datetime:
    centre = rng.choice(CENTRES[zone])
    if rng.random() < 0.1:  # exactly at a local midnight near the transition
        day = centre.astimezone(ZoneInfo(zone)).date() + timedelta(days=rng.randint(-2, 2))
        return local_midnight(day, zone)
    return centre + timedelta(
        seconds=rng.randint(-3 * 86400, 3 * 86400), microseconds=rng.randint(0, 999_999)
    )


def _job(rng: random.Random, index: int, job_id: int, zone: str) -> tuple[dict[str, Any], Any]:
    status = rng.choice(STATUSES)
    row = make_job_row(
        index,
        job_id=f"{job_id:06X}",
        status=status,
        start_time=_start(rng, zone),
        print_duration=None if rng.random() < 0.1 else rng.uniform(0, 9000),
        total_duration=rng.uniform(0, 10000),
        filament_used=None if status == "in_progress" else rng.uniform(0, 5000),
        job_metadata=_metadata(rng, index),
    )
    return row, rng.choice(FILAMENTS)


def _metadata(rng: random.Random, index: int) -> dict[str, Any] | None:
    slicer = rng.choice(SLICERS)
    if slicer is None:
        return None if rng.random() < 0.5 else {"index": index}
    return {"slicer": slicer, "index": index}


def _write(session: Session, printer_id: int, batch: Sequence[tuple[dict[str, Any], Any]]) -> None:
    """One page the way the importer writes it: jobs, then details, one rollup delta."""
    with maintain.tracking(session):
        planned = jobs.plan_jobs(session, printer_id, [row for row, _ in batch])
        result = jobs.write_jobs(session, planned)
        details = [
            {"print_job_id": result.ids[jobs.job_key(row)], "filament_type": filament}
            for row, filament in batch
            if filament is not None
        ]
        jobs.upsert_details(session, details)


def _write_all(database: Database, printer_id: int, rows: list[tuple[dict[str, Any], Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        with database.scope() as session:
            _write(session, printer_id, rows[start : start + BATCH])


def _changed(rng: random.Random, history: list[tuple[dict[str, Any], Any]]) -> list[Any]:
    """A second import: in-progress jobs finished (same key, new values), some details
    with another filament type, and after a history reset, reused ids at new times."""
    changed = []
    for row, filament in history:
        if row["status"] == "in_progress" and rng.random() < 0.7:
            done = {**row, "status": rng.choice(["completed", "cancelled"]), "filament_used": 12.5}
            changed.append((done, filament))
        elif rng.random() < 0.1:
            changed.append((row, rng.choice(FILAMENTS[:-2])))
        elif rng.random() < 0.1:  # re-sliced: another slicer, or none any more
            changed.append(({**row, "job_metadata": _metadata(rng, -1)}, filament))
    return changed


def _histories(
    database: Database, zone: str, seed: int, jobs_each: int = JOBS
) -> tuple[list[int], list[Any]]:
    rng = random.Random(seed)
    with database.scope() as session:
        printer_ids = [make_printer(session, f"p{n}").id for n in range(PRINTERS)]
    histories = []
    for printer_id in printer_ids:
        history = [_job(rng, i, i + 1, zone) for i in range(jobs_each)]
        _write_all(database, printer_id, history)
        histories.append(history)
    return printer_ids, histories


def _check(database: Database, zone: str, printer_ids: list[int], *zones: str) -> None:
    centre = CENTRES[zone][0].astimezone(ZoneInfo(zone)).date()
    days = [centre - timedelta(days=1), centre + timedelta(days=2)]
    with database.scope() as session:
        filters = job_filters(printer_ids, days, ("UTC", zone))
        assert mismatches(session, filters, ["UTC", zone, *zones]) == []


def _set_zone(database: Database, zone: str) -> None:
    with database.scope() as session:
        rebuild(session.connection(), zone)


@pytest.mark.parametrize(
    ("zone", "seed"), [("Europe/Berlin", 1), ("America/New_York", 2), ("Asia/Kolkata", 3)]
)
def test_rollups_equal_the_jobs_through_rewrites_deletes_and_a_rebuild(
    database: Database, zone: str, seed: int
) -> None:
    _set_zone(database, zone)
    printer_ids, histories = _histories(database, zone, seed)
    _check(database, zone, printer_ids)

    rng = random.Random(seed + 100)
    for printer_id, history in zip(printer_ids, histories, strict=True):
        reused = [_job(rng, 1000 + i, i + 1, zone) for i in range(30)]  # history reset
        _write_all(database, printer_id, _changed(rng, history) + reused)
    with database.scope() as session:
        delete_printer(session, printer_ids[-1])
    _check(database, zone, printer_ids[:-1])

    with database.scope() as session:
        maintained = rollup_rows(session)
    _set_zone(database, zone)
    with database.scope() as session:
        assert same_rollups(maintained, rollup_rows(session))
    _check(database, zone, printer_ids[:-1], "Asia/Tokyo")


def _stats_statements(database: Database, group_by: StatsGroupBy, zone: str) -> list[str]:
    with database.scope() as session, count_statements(database.engine) as log:
        print_stats(session, StatsRequest(JobFilter(), group_by, zone))
    return log.statements


def test_stats_over_the_whole_history_read_no_job_in_utc_and_the_farm_zone(
    database: Database,
) -> None:
    _set_zone(database, "Europe/Berlin")
    _histories(database, "Europe/Berlin", 4, jobs_each=20)
    for group_by in (g for g in StatsGroupBy if g.value in ROLLED_UP_KINDS):
        for zone in ("UTC", "Europe/Berlin"):
            statements = _stats_statements(database, group_by, zone)
            assert [s for s in statements if "print_jobs" in s] == [], (group_by, zone)
        # Another zone's days are not kept: those calendar buckets come from the jobs.
        statements = _stats_statements(database, group_by, "Asia/Tokyo")
        calendar = group_by in (StatsGroupBy.DAY, StatsGroupBy.WEEK, StatsGroupBy.MONTH)
        assert any("print_jobs" in s for s in statements) == calendar, group_by


def _slicer_statements(database: Database, job_filter: JobFilter) -> list[str]:
    with database.scope() as session, count_statements(database.engine) as log:
        print_stats(session, StatsRequest(job_filter, StatsGroupBy.SLICER))
    return log.statements


def test_slicer_stats_over_the_whole_history_read_only_the_totals(database: Database) -> None:
    printer_ids, _ = _histories(database, "Europe/Berlin", 9, jobs_each=20)
    for job_filter in (
        JobFilter(),
        JobFilter(printer_ids=printer_ids[:2], statuses=["completed", "unknown"]),
        JobFilter(slicer="PrusaSlicer", filament_types=["pla"]),
    ):
        (statement,) = _slicer_statements(database, job_filter)
        assert "job_rollup_totals" in statement and "print_jobs" not in statement, job_filter


def test_slicer_stats_within_a_start_bound_read_the_jobs(database: Database) -> None:
    """The days are not keyed by the slicer."""
    _histories(database, "Europe/Berlin", 10, jobs_each=5)
    bound = JobFilter(started_after=datetime(2025, 3, 29, tzinfo=UTC))
    assert any("print_jobs" in s for s in _slicer_statements(database, bound))


def test_a_bound_on_a_midnight_where_a_job_starts_reads_the_jobs(database: Database) -> None:
    """startedAfter is strict: the job starting at that instant is left out."""
    with database.scope() as session:
        printer_id = make_printer(session).id
    midnight = datetime(2025, 6, 1, tzinfo=UTC)
    rows = [make_job_row(i, start_time=midnight + timedelta(hours=i)) for i in range(3)]
    with database.scope() as session:
        jobs.upsert_jobs(session, printer_id, rows)
    after = JobFilter(started_after=midnight)
    with database.scope() as session:
        (bucket,) = print_stats(session, StatsRequest(after, StatsGroupBy.STATUS))
        assert bucket.job_count == 2
        days = StatsRequest(after, StatsGroupBy.DAY)
        assert same_buckets(
            print_stats(session, days), print_stats(session, days, use_rollups=False)
        )


def test_deleting_a_printer_takes_its_jobs_out_of_the_farm_days(database: Database) -> None:
    with database.scope() as session:
        kept, deleted = make_printer(session, "kept").id, make_printer(session, "gone").id
        jobs.upsert_jobs(session, kept, [make_job_row(1)])
        jobs.upsert_jobs(session, deleted, [make_job_row(1), make_job_row(2, status="error")])
    with database.scope() as session:
        delete_printer(session, deleted)
    with database.scope() as session:
        (day,) = print_stats(session, StatsRequest(JobFilter(), StatsGroupBy.DAY))
        statuses = print_stats(session, StatsRequest(JobFilter(), StatsGroupBy.STATUS))
    assert (day.job_count, [(b.key, b.job_count) for b in statuses]) == (1, [("completed", 1)])


def test_stats_in_a_zone_other_than_the_rollups_come_from_the_jobs(database: Database) -> None:
    """GQL_TIMEZONE changed without a rebuild: the stored zone still answers for itself,
    and the new zone's days are read from the jobs, correctly."""
    _set_zone(database, "America/New_York")
    printer_ids, _ = _histories(database, "Europe/Berlin", 5, jobs_each=40)
    with database.scope() as session:
        assert session.scalar(select(JobRollupState.timezone)) == "America/New_York"
        filters = job_filters(
            printer_ids, [date(2025, 3, 29), date(2025, 3, 31)], ["Europe/Berlin"]
        )
        assert mismatches(session, filters, ["Europe/Berlin"]) == []


def test_a_rebuild_equals_what_the_writes_maintained(database: Database) -> None:
    _set_zone(database, "Asia/Kolkata")
    _histories(database, "Asia/Kolkata", 6, jobs_each=40)
    with database.scope() as session:
        maintained = rollup_rows(session)
        assert maintained["job_rollup_days"]  # something to compare
        assert session.scalar(select(PrintJob.id).limit(1)) is not None
    _set_zone(database, "Asia/Kolkata")
    with database.scope() as session:
        assert same_rollups(maintained, rollup_rows(session))
