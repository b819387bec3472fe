"""Through a real import (fake Moonrakers over HTTP): an import, a second import that
finishes jobs and meets a history reset (ids reused at new times), then a rebuild; the
rollups answer as the jobs do after each step (tests/support/rollup_checks.py)."""

import random
from datetime import UTC, date, datetime, timedelta

from gql_server.db.session import Database
from gql_server.services.rollups.rebuild import rebuild
from gql_server.services.sync import Syncer
from tests.support.fake_moonraker import FakeMoonraker, FakeMoonrakerServer
from tests.support.rollup_checks import job_filters, mismatches, rollup_rows, same_rollups
from tests.sync.conftest import add_printer, run_sync

ZONE = "Europe/Berlin"
# Berlin's clocks go forward at 01:00 UTC on 30 March 2025.
TRANSITION = datetime(2025, 3, 30, 1, tzinfo=UTC)
STATUSES = ["completed", "completed", "cancelled", "error", "in_progress", "klippy_shutdown"]
FILAMENTS = ["PLA", "pla", "PETG", None]


def _add_jobs(fake: FakeMoonraker, rng: random.Random, count: int, start: datetime) -> None:
    moment = start
    for _ in range(count):
        filament = rng.choice(FILAMENTS)
        fake.add_job(
            status=rng.choice(STATUSES),
            start_time=moment.timestamp(),
            total_duration=rng.uniform(60, 4000),
            metadata={} if filament is None else {"filament_type": filament, "size": 10},
        )
        moment += timedelta(seconds=rng.randint(600, 4 * 3600))


def _check(database: Database, printer_ids: list[int]) -> None:
    days = [date(2025, 3, 29), date(2025, 3, 31)]
    with database.scope() as session:
        filters = job_filters(printer_ids, days, ("UTC", ZONE))
        assert mismatches(session, filters, ["UTC", ZONE]) == []


def test_imports_and_a_rebuild_keep_the_rollups_equal_to_the_jobs(
    database: Database,
    syncer: Syncer,
    fake: FakeMoonraker,
    other_fake: FakeMoonraker,
    moonraker_server: FakeMoonrakerServer,
    other_moonraker_server: FakeMoonrakerServer,
) -> None:
    with database.scope() as session:
        rebuild(session.connection(), ZONE)
    rng = random.Random(7)
    first = add_printer(database, "first", moonraker_server.url)
    second = add_printer(database, "second", other_moonraker_server.url)
    _add_jobs(fake, rng, 60, TRANSITION - timedelta(days=2))
    _add_jobs(other_fake, rng, 60, TRANSITION - timedelta(days=1))
    for printer_id in (first, second):
        assert run_sync(syncer, printer_id).ok
    _check(database, [first, second])

    for job in fake.jobs:
        if job["status"] == "in_progress":
            fake.finish_job(job["job_id"], rng.choice(["completed", "cancelled"]))
    other_fake.reset_history()
    _add_jobs(other_fake, rng, 25, TRANSITION + timedelta(days=1))  # ids 000001… again
    for printer_id in (first, second):
        assert run_sync(syncer, printer_id, full=True).ok
    _check(database, [first, second])

    with database.scope() as session:
        imported = rollup_rows(session)
        rebuild(session.connection(), ZONE)
    with database.scope() as session:
        assert same_rollups(imported, rollup_rows(session))
    _check(database, [first, second])
