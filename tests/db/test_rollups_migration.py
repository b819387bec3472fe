"""Migration 0010 builds the day rollups for the jobs already stored, in GQL_TIMEZONE,
with the import's own code, 0011 adds the days by status from them and 0017 the
per-printer totals (keyed by the slicer too); the downgrades drop them and leave the
jobs as they were."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, text

from gql_server.db.migrate import migrate_to
from gql_server.db.session import Database
from gql_server.services.job_queries import JobFilter
from gql_server.services.rollups.reads import ROLLED_UP_KINDS
from gql_server.services.rollups.rebuild import rebuild
from gql_server.services.stats import StatsGroupBy, StatsRequest, print_stats
from tests.db.conftest import BOTH_DATABASES, database_at
from tests.support.rollup_checks import rollup_rows, same_buckets, same_rollups

REVISION = "0017"
# The rows below have the print_jobs columns of 0007; 0008 and 0009 carry them to 0010.
BEFORE = "0007"
NOW = "2026-01-01 00:00:00"
ROLLUP_TABLES = {
    "job_rollup_totals",
    "job_rollup_days",
    "job_rollup_day_statuses",
    "job_rollup_state",
}
# (start time, status, filament type or None for no details); 23:30 UTC is the next
# day in Berlin.
JOBS = (
    ("2025-03-29 23:30:00", "completed", "PLA"),
    ("2025-03-29 21:30:00", "cancelled", "pla"),
    ("2025-03-30 12:00:00", "in_progress", None),
    ("2025-03-30 13:00:00", "mystery", "PETG"),
)
# print_jobs.slicer_folded by job row id (0006 fills it from the metadata); none else.
SLICERS = {1: "prusaslicer", 2: "prusaslicer", 4: ""}


def add_rows(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO printers (id, name, name_folded, moonraker_url, is_active, "
                "created_at, updated_at) VALUES (1, 'p', 'p', 'http://p', 1, :now, :now)"
            ),
            {"now": NOW},
        )
        for index, (start, status, filament) in enumerate(JOBS, start=1):
            connection.execute(
                text(
                    "INSERT INTO print_jobs (id, printer_id, job_id, filename, status, "
                    "start_time, total_duration, print_duration, filament_used, slicer_folded, "
                    "created_at, updated_at) VALUES (:id, 1, :job_id, 'a.gcode', :status, "
                    ":start, 100.5, 90.25, 10.0, :slicer, :now, :now)"
                ),
                {
                    "id": index,
                    "job_id": f"{index:06X}",
                    "status": status,
                    "start": start,
                    "slicer": SLICERS.get(index),
                    "now": NOW,
                },
            )
            if filament is not None:
                connection.execute(
                    text(
                        "INSERT INTO job_details (print_job_id, filament_type, "
                        "filament_type_folded, created_at, updated_at) "
                        "VALUES (:id, :type, :folded, :now, :now)"
                    ),
                    {"id": index, "type": filament, "folded": filament.lower(), "now": NOW},
                )


@pytest.fixture(params=BOTH_DATABASES)
def engine(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Engine]:
    """A database holding jobs written before 0010, upgraded with GQL_TIMEZONE set."""
    with database_at(request.param, tmp_path, str(BEFORE)) as engine:
        add_rows(engine)
        monkeypatch.setenv("GQL_TIMEZONE", "Europe/Berlin")
        migrate_to(engine, REVISION)
        yield engine


def _stats(database: Database, group_by: StatsGroupBy, *, use_rollups: bool) -> list[Any]:
    with database.scope() as session:
        request = StatsRequest(JobFilter(), group_by, "Europe/Berlin")
        return print_stats(session, request, use_rollups=use_rollups)


def test_upgrade_builds_the_rollups_of_the_stored_jobs_in_gql_timezone(engine: Engine) -> None:
    database = Database(engine)
    days = _stats(database, StatsGroupBy.DAY, use_rollups=True)
    assert [(bucket.key, bucket.job_count) for bucket in days] == [
        ("2025-03-29", 1),
        ("2025-03-30", 3),
    ]
    # The groupings the rollups answer.
    for group_by in (g for g in StatsGroupBy if g.value in ROLLED_UP_KINDS):
        rolled = _stats(database, group_by, use_rollups=True)
        assert same_buckets(rolled, _stats(database, group_by, use_rollups=False))
    with database.scope() as session:
        built = rollup_rows(session, file_levels=False)
        rebuild(session.connection(), "Europe/Berlin", file_levels=False)
        assert same_rollups(built, rollup_rows(session, file_levels=False))
    slicers = _stats(database, StatsGroupBy.SLICER, use_rollups=True)
    assert [(bucket.key, bucket.job_count) for bucket in slicers] == [
        (None, 1),
        ("", 1),
        ("prusaslicer", 2),
    ]


def test_downgrade_drops_the_rollups_and_keeps_the_jobs(engine: Engine) -> None:
    migrate_to(engine, str(BEFORE), downgrade=True)
    assert ROLLUP_TABLES.isdisjoint(inspect(engine).get_table_names())
    with engine.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM print_jobs")).scalar() == len(JOBS)
    migrate_to(engine, REVISION)
    assert set(inspect(engine).get_table_names()) >= ROLLUP_TABLES
