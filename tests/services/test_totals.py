"""Totals: SQL aggregates over completed jobs only, NULL durations counted as zero."""

import random
from typing import Any

import pytest
from sqlalchemy.orm import Session

from gql_server.db.session import Database
from gql_server.services.jobs import job_key, plan_jobs, upsert_jobs, write_jobs
from gql_server.services.totals import TOTAL_COLUMNS, add_job, get_totals, recompute_totals
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


# add_job: the live path's totals, one job at a time ------------------------------------

FINAL_STATUSES = ["completed", "cancelled", "error", "klippy_shutdown", "server_exit"]


def _figure(rng: random.Random) -> float | None:
    """Quarters, whose sums are exact in any order, so the comparison can be exact;
    sometimes NULL, which both count as 0."""
    return None if rng.random() < 0.15 else rng.randrange(0, 40_000) / 4


def _comparable(session: Session, printer_id: int) -> dict[str, Any] | None:
    totals = get_totals(session, printer_id)
    if totals is None:
        return None
    return {name: getattr(totals, name) for name in TOTAL_COLUMNS if name != "last_updated"}


def _random_step(rng: random.Random, rows: list[dict[str, Any]], index: int) -> dict[str, Any]:
    """A new print (sometimes under a job id already used, as after a history reset), a
    print ending or interrupted, or a finished job rewritten with other figures."""
    choice = rng.random()
    if not rows or choice < 0.35:
        row = make_job_row(index, status="in_progress", end_time=None)
        if rows and rng.random() < 0.3:
            row["job_id"] = rng.choice(rows)["job_id"]
        for name in ("print_duration", "total_duration", "filament_used"):
            row[name] = None
        return row
    row = dict(rng.choice(rows))
    if row["status"] == "in_progress" and choice < 0.9:
        row["status"] = "interrupted" if choice > 0.85 else rng.choice(FINAL_STATUSES)
    else:
        row["status"] = rng.choice([*FINAL_STATUSES, "in_progress"])
    for name in ("print_duration", "total_duration", "filament_used"):
        row[name] = _figure(rng)
    return row


@pytest.mark.parametrize("seed", range(4))
def test_adding_jobs_one_at_a_time_gives_the_recomputed_totals(
    database: Database, seed: int
) -> None:
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    with database.scope() as session:
        printer_id = make_printer(session).id
    for index in range(60):
        row = _random_step(rng, rows, index)
        with database.scope() as session:
            batch = plan_jobs(session, printer_id, [row])
            (key,) = batch.incoming
            stored = batch.stored.get(key)
            write_jobs(session, batch)
            before = None if stored is None else str(stored.status)
            add_job(session, printer_id, before=before, job=batch.incoming[key])
            added = _comparable(session, printer_id)
            recompute_totals(session, [printer_id])
            assert added == _comparable(session, printer_id), f"step {index}: {row['status']}"
        rows = [r for r in rows if job_key(r) != key] + [row]


def test_adding_a_job_updates_one_row_instead_of_recomputing(database: Database) -> None:
    with database.scope() as session:
        printer_id = make_printer(session).id
        upsert_jobs(session, printer_id, [make_job_row(1)])
        recompute_totals(session, [printer_id])
        row = make_job_row(2)
        upsert_jobs(session, printer_id, [row])
        with count_statements(database.engine) as log:
            add_job(session, printer_id, before="in_progress", job=row)
    assert log.count == 1
    assert log.statements[0].lstrip().upper().startswith("UPDATE JOB_TOTALS")
