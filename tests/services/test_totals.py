"""Totals: SQL aggregates over completed jobs only, NULL durations counted as zero."""

import pytest

from gql_server.db.session import Database
from gql_server.services.jobs import upsert_jobs
from gql_server.services.totals import get_totals, recompute_totals
from tests.factories import make_job_row, make_printer
from tests.support.sql_counter import count_statements


def _mixed_rows() -> list[dict]:
    statuses = ["completed", "cancelled", "completed", "error", "completed", "in_progress"]
    rows = [make_job_row(i, status=status) for i, status in enumerate(statuses)]
    rows.append(make_job_row(90, total_duration=None, print_duration=None, filament_used=None))
    rows.append(make_job_row(91, total_duration=99_999.0))
    rows[-1]["status"] = "cancelled"  # the longest job is not completed: must not count
    return rows


def test_totals_equal_sums_over_completed_jobs_only(database: Database) -> None:
    rows = _mixed_rows()
    with database.scope() as session:
        printer_id = make_printer(session).id
        upsert_jobs(session, printer_id, rows)
        recompute_totals(session, [printer_id])
    with database.scope() as session:
        totals = get_totals(session, printer_id)

    completed = [row for row in rows if row["status"] == "completed"]
    assert totals is not None
    assert totals.total_jobs == len(completed) == 4
    assert totals.total_time == pytest.approx(sum(r["total_duration"] or 0 for r in completed))
    assert totals.total_print_time == pytest.approx(
        sum(r["print_duration"] or 0 for r in completed)
    )
    assert totals.total_filament_used == pytest.approx(
        sum(r["filament_used"] or 0 for r in completed)
    )
    assert totals.longest_job == pytest.approx(max(r["total_duration"] or 0 for r in completed))


def test_a_printer_without_completed_jobs_gets_zero_totals(database: Database) -> None:
    with database.scope() as session:
        printer_id = make_printer(session).id
        upsert_jobs(session, printer_id, [make_job_row(1, status="cancelled")])
        recompute_totals(session, [printer_id])
    with database.scope() as session:
        totals = get_totals(session, printer_id)
    assert totals is not None
    assert (totals.total_jobs, totals.total_time, totals.longest_job) == (0, 0, 0)


def test_recomputing_totals_replaces_the_previous_values(database: Database) -> None:
    with database.scope() as session:
        printer_id = make_printer(session).id
        upsert_jobs(session, printer_id, [make_job_row(1)])
        recompute_totals(session, [printer_id])
        upsert_jobs(session, printer_id, [make_job_row(2)])
        recompute_totals(session, [printer_id])
    with database.scope() as session:
        totals = get_totals(session, printer_id)
    assert totals is not None and totals.total_jobs == 2


def test_recomputing_totals_is_one_aggregate_statement(database: Database) -> None:
    with database.scope() as session:
        printer_ids = [make_printer(session, f"p{i}").id for i in range(3)]
        for printer_id in printer_ids:
            upsert_jobs(session, printer_id, [make_job_row(i) for i in range(40)])
    with database.scope() as session, count_statements(database.engine) as log:
        recompute_totals(session, printer_ids)
    assert log.count == 1
    assert "GROUP BY" in log.statements[0].upper()
