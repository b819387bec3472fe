"""``gql-server rollups rebuild`` and serve's warning when they are for another zone."""

import pytest
from sqlalchemy import select

from gql_server.cli import main
from gql_server.cli.serve import stale_rollups_warning
from gql_server.config import Settings
from gql_server.db.models import JobRollupState
from gql_server.db.session import Database
from gql_server.services.job_queries import JobFilter
from gql_server.services.jobs import upsert_jobs
from gql_server.services.stats import StatsGroupBy, StatsRequest, print_stats
from tests.factories import make_job_row, make_printer
from tests.support.sql_counter import count_statements


def _jobs(database: Database, count: int) -> None:
    with database.scope() as session:
        printer_id = make_printer(session).id
        upsert_jobs(session, printer_id, [make_job_row(i) for i in range(count)])


def test_rebuild_reports_progress_and_records_the_zone(
    database: Database,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _jobs(database, 3)
    monkeypatch.setenv("GQL_TIMEZONE", "Asia/Kolkata")
    assert main(["rollups", "rebuild"]) == 0
    out, err = capsys.readouterr()
    assert out == "rollups rebuilt from 3 jobs, farm days in Asia/Kolkata\n"
    assert err == "\rrollups: 3/3 jobs read\n"
    with database.scope() as session:
        assert session.scalar(select(JobRollupState.timezone)) == "Asia/Kolkata"


def test_after_a_rebuild_the_new_zone_is_answered_from_the_rollups(
    database: Database, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _jobs(database, 30)
    monkeypatch.setenv("GQL_TIMEZONE", "Asia/Kolkata")
    assert main(["rollups", "rebuild"]) == 0
    with database.scope() as session, count_statements(database.engine) as log:
        buckets = print_stats(session, StatsRequest(JobFilter(), StatsGroupBy.DAY, "Asia/Kolkata"))
    assert sum(bucket.job_count for bucket in buckets) == 30
    assert [s for s in log.statements if "print_jobs" in s] == []


def test_serve_warns_when_gql_timezone_is_not_the_rollups_zone(database: Database) -> None:
    assert stale_rollups_warning(database, Settings(timezone="UTC")) is None
    warning = stale_rollups_warning(database, Settings(timezone="Europe/Berlin"))
    assert warning is not None
    assert "built for UTC, GQL_TIMEZONE is Europe/Berlin" in warning
    assert "gql-server rollups rebuild" in warning


def test_a_rebuild_keys_the_totals_by_slicer_as_the_jobs_are(
    database: Database, database_url: str
) -> None:
    with database.scope() as session:
        printer_id = make_printer(session).id
        slicers = ["PrusaSlicer", "prusaslicer", "Cura", None]
        rows = [
            make_job_row(i, job_metadata=None if s is None else {"slicer": s})
            for i, s in enumerate(slicers)
        ]
        upsert_jobs(session, printer_id, rows)
    assert main(["rollups", "rebuild"]) == 0
    by_slicer = StatsRequest(JobFilter(), StatsGroupBy.SLICER)
    with database.scope() as session, count_statements(database.engine) as log:
        rolled = print_stats(session, by_slicer)
    assert [s for s in log.statements if "print_jobs" in s] == []
    with database.scope() as session:
        raw = print_stats(session, by_slicer, use_rollups=False)
    assert [(b.key, b.job_count) for b in rolled] == [(b.key, b.job_count) for b in raw]
    assert [(b.key, b.job_count) for b in rolled] == [(None, 1), ("cura", 1), ("prusaslicer", 2)]
