"""Importing a printer's history: every job once, every field, incremental, resets, totals."""

from functools import partial
from typing import Any

import anyio
import pytest
from sqlalchemy import select

from gql_server.db.models import PrintJob, SyncRun
from gql_server.db.session import Database
from gql_server.services.sync import ImportCounts, Syncer
from tests.graphql.conftest import GraphQLClient
from tests.support.fake_moonraker import FakeMoonraker, FakeMoonrakerServer, Job
from tests.sync.conftest import (
    JOB,
    LIST,
    TOTALS,
    add_printer,
    job_key,
    requests_by_path,
    run_sync,
    snapshot,
    stored_job,
    stored_jobs,
    stored_keys,
    sync_all,
    utc,
)

MANY = 1234
UNFINISHED = 3  # in_progress jobs at the end of the big history


def add_big_history(fake: FakeMoonraker) -> None:
    """1,234 finished jobs (25 pages of 50 with the unfinished ones) and 3 in progress."""
    fake.add_jobs(MANY, seed=1)
    for _ in range(UNFINISHED):
        fake.add_job(status="in_progress")


def expected_row(job: Job) -> tuple[Any, ...]:
    return (
        job["job_id"],
        job["filename"],
        job["status"],
        job["user"],
        utc(job["start_time"]),
        utc(job["end_time"]),
        job["print_duration"],
        job["total_duration"],
        job["filament_used"],
        job["metadata"],
        job["auxiliary_data"],
    )


def stored_row(job: PrintJob) -> tuple[Any, ...]:
    return (
        job.job_id,
        job.filename,
        job.status,
        job.user,
        job.start_time,
        job.end_time,
        job.print_duration,
        job.total_duration,
        job.filament_used,
        job.metadata_document and job.metadata_document.document,
        job.document and job.document.auxiliary_data,
    )


def start_after(fake: FakeMoonraker, hours: float) -> float:
    """A start time `hours` after the newest job's start (clocks only move forward)."""
    return max(job["start_time"] for job in fake.jobs) + hours * 3600


# ---------------------------------------------------------------------------- many pages


@pytest.mark.slow
def test_many_pages_import_every_job_exactly_once_with_every_field(
    database: Database, syncer: Syncer, fake: FakeMoonraker, printer_id: int
) -> None:
    add_big_history(fake)
    run_sync(syncer, printer_id)
    stored = sorted(stored_row(job) for job in stored_jobs(database, printer_id))
    assert stored_keys(database, printer_id) == {job_key(job): 1 for job in fake.jobs}
    assert stored == [expected_row(job) for job in fake.jobs]


@pytest.mark.slow
def test_second_sync_requests_only_new_and_unfinished_jobs_and_changes_nothing_else(
    database: Database, syncer: Syncer, fake: FakeMoonraker, printer_id: int
) -> None:
    add_big_history(fake)
    run_sync(syncer, printer_id)
    before = snapshot(database, printer_id)
    fake.add_jobs(2, seed=2)
    fake.clear_requests()
    run_sync(syncer, printer_id)
    # One list page (the new jobs and the newest in_progress one fit in it), one re-read
    # per job last seen in progress, then Moonraker's totals.
    assert requests_by_path(fake) == {LIST: 1, JOB: UNFINISHED, TOTALS: 1}
    assert snapshot(database, printer_id)[: len(before)] == before


def test_the_run_records_what_the_import_counted(
    database: Database, syncer: Syncer, fake: FakeMoonraker, printer_id: int
) -> None:
    fake.add_jobs(3, seed=7)
    assert run_sync(syncer, printer_id).ok
    query = select(SyncRun).where(SyncRun.printer_id == printer_id)
    with database.scope() as session:
        run = session.scalars(query).one()
        recorded = (run.jobs_seen, run.jobs_created, run.jobs_updated, run.details_extracted)
    assert recorded == (3, 3, 0, 3)  # three new jobs, each with its details


# ---------------------------------------------------------------------------- unfinished jobs


def test_in_progress_job_completed_later_is_updated_in_place(
    database: Database, syncer: Syncer, fake: FakeMoonraker, printer_id: int
) -> None:
    running = fake.add_job(status="in_progress")
    fake.add_jobs(3, seed=3)  # newer jobs: the running one falls behind the watermark
    run_sync(syncer, printer_id)
    row_id = stored_job(database, printer_id, running["job_id"]).id
    fake.finish_job(running["job_id"], end_time=running["start_time"] + 4000.25)
    run_sync(syncer, printer_id)
    job = stored_job(database, printer_id, running["job_id"])
    assert (job.id, job.status, len(stored_jobs(database, printer_id))) == (row_id, "completed", 4)


def test_in_progress_job_completed_later_gets_moonrakers_final_values(
    database: Database, syncer: Syncer, fake: FakeMoonraker, printer_id: int
) -> None:
    running = fake.add_job(status="in_progress")
    fake.add_jobs(3, seed=3)
    run_sync(syncer, printer_id)
    finished = fake.finish_job(running["job_id"], end_time=running["start_time"] + 4000.25)
    run_sync(syncer, printer_id)
    assert stored_row(stored_job(database, printer_id, running["job_id"])) == expected_row(finished)


def test_job_interrupted_by_a_restart_is_updated_in_place_with_a_null_end_time(
    database: Database, syncer: Syncer, fake: FakeMoonraker, printer_id: int
) -> None:
    running = fake.add_job(status="in_progress")
    run_sync(syncer, printer_id)
    row_id = stored_job(database, printer_id, running["job_id"]).id
    fake.restart()
    run_sync(syncer, printer_id)
    job = stored_job(database, printer_id, running["job_id"])
    assert (job.id, job.status, job.end_time) == (row_id, "interrupted", None)


def test_job_imported_interrupted_is_stored_with_a_null_end_time(
    database: Database, syncer: Syncer, fake: FakeMoonraker, printer_id: int
) -> None:
    interrupted = fake.add_job(status="interrupted")
    run_sync(syncer, printer_id)
    job = stored_job(database, printer_id, interrupted["job_id"])
    assert (job.status, job.end_time) == ("interrupted", None)


# ---------------------------------------------------------------------------- resets, deletions


def test_history_reset_keeps_every_old_job_intact(
    database: Database, syncer: Syncer, fake: FakeMoonraker, printer_id: int
) -> None:
    fake.add_jobs(120, seed=4)
    run_sync(syncer, printer_id)
    before = snapshot(database, printer_id)
    later = start_after(fake, hours=24)
    fake.reset_history()
    fake.add_jobs(8, seed=5, start_time=later)
    run_sync(syncer, printer_id)
    assert snapshot(database, printer_id)[: len(before)] == before


def test_history_reset_adds_the_new_jobs_under_their_reused_ids(
    database: Database, syncer: Syncer, fake: FakeMoonraker, printer_id: int
) -> None:
    old = fake.add_jobs(120, seed=4)
    run_sync(syncer, printer_id)
    later = start_after(fake, hours=24)
    fake.reset_history()
    new = fake.add_jobs(8, seed=5, start_time=later)
    run_sync(syncer, printer_id)
    assert [job["job_id"] for job in new][:2] == ["000001", "000002"]
    assert stored_keys(database, printer_id) == {job_key(job): 1 for job in old + new}


def test_jobs_deleted_from_moonraker_stay_in_our_database(
    database: Database, syncer: Syncer, fake: FakeMoonraker, printer_id: int
) -> None:
    fake.add_jobs(60, seed=6)
    run_sync(syncer, printer_id)
    before = snapshot(database, printer_id)
    for job_id in ("000001", "00001E", "00003C"):
        fake.delete_job(job_id)
    run_sync(syncer, printer_id, full=True)
    assert snapshot(database, printer_id) == before


def test_unfinished_job_whose_id_is_reused_after_a_reset_stays_as_it_was(
    database: Database, syncer: Syncer, fake: FakeMoonraker, printer_id: int
) -> None:
    fake.add_jobs(2, seed=7)
    running = fake.add_job(status="in_progress")
    run_sync(syncer, printer_id)
    before = snapshot(database, printer_id)
    later = start_after(fake, hours=24)
    fake.reset_history()
    new = fake.add_jobs(5, seed=8, start_time=later)  # 000003 names another job now
    run_sync(syncer, printer_id)
    assert running["job_id"] == new[2]["job_id"]
    assert snapshot(database, printer_id)[:3] == before


def test_job_deleted_during_an_import_does_not_make_it_skip_another(
    database: Database, syncer: Syncer, fake: FakeMoonraker, printer_id: int
) -> None:
    # Moonraker pages by OFFSET: deleting a job already read shifts every later job one
    # place down, so the first job of the next page would be read by no page at all.
    fake.add_jobs(120, seed=9)
    deleted: list[str] = []

    def delete_after_first_page(_printer_id: int, counts: ImportCounts) -> None:
        if counts.pages == 1 and not deleted:
            deleted.append("000001")
            fake.delete_job("000001")

    anyio.run(partial(syncer.sync_printer, printer_id, progress=delete_after_first_page))
    run_sync(syncer, printer_id)
    stored = set(stored_keys(database, printer_id))
    assert {job_key(job) for job in fake.jobs} <= stored


def test_job_started_before_the_newest_imported_one_is_still_imported(
    database: Database, syncer: Syncer, fake: FakeMoonraker, printer_id: int
) -> None:
    # A printer whose clock went back (a Raspberry Pi without RTC, booted before NTP
    # answered) records a new job, with a new id, that started "before" the last one.
    fake.add_jobs(10, seed=11)
    run_sync(syncer, printer_id)
    late = fake.add_job(start_time=start_after(fake, hours=-2))
    run_sync(syncer, printer_id)
    assert job_key(late) in stored_keys(database, printer_id)


# ---------------------------------------------------------------------------- totals

TOTALS_QUERY = """
{
  printers {
    nodes {
      jobTotals {
        totalJobs totalTime totalPrintTime totalFilamentUsed longestJob
        moonraker { totalJobs totalTime totalPrintTime totalFilamentUsed longestJob }
        moonrakerDifference { totalJobs totalTime totalPrintTime totalFilamentUsed longestJob }
      }
    }
  }
}
"""
TOTAL_FIELDS = ("totalJobs", "totalTime", "totalPrintTime", "totalFilamentUsed", "longestJob")


def synced_printer_totals(
    database: Database, gql: GraphQLClient, moonraker_server: FakeMoonrakerServer
) -> dict[str, Any]:
    """A printer on the fake, synced through the API: its jobTotals."""
    add_printer(database, "voron-1", moonraker_server.url)
    sync_all(gql)
    (printer,) = gql.execute(TOTALS_QUERY)["printers"]["nodes"]
    return printer["jobTotals"]  # type: ignore[no-any-return]


@pytest.fixture
def synced_totals(
    database: Database,
    gql: GraphQLClient,
    fake: FakeMoonraker,
    moonraker_server: FakeMoonrakerServer,
) -> dict[str, Any]:
    """A mixed history, with completed jobs deleted from Moonraker before the sync (its
    totals keep counting them), synced through the API; the printer's jobTotals."""
    fake.add_jobs(150, seed=10)
    completed = [job for job in fake.jobs if job["status"] == "completed"]
    for job in completed[:3]:
        fake.delete_job(job["job_id"])
    return synced_printer_totals(database, gql, moonraker_server)


def ours_expected(fake: FakeMoonraker) -> dict[str, Any]:
    completed = [job for job in fake.jobs if job["status"] == "completed"]
    return {
        "totalJobs": len(completed),
        "totalTime": sum(job["total_duration"] for job in completed),
        "totalPrintTime": sum(job["print_duration"] for job in completed),
        "totalFilamentUsed": sum(job["filament_used"] for job in completed),
        "longestJob": max(job["total_duration"] for job in completed),
    }


def moonraker_expected(fake: FakeMoonraker) -> dict[str, Any]:
    reported = fake.totals_snapshot()["job_totals"]
    return {
        "totalJobs": round(reported["total_jobs"]),
        "totalTime": reported["total_time"],
        "totalPrintTime": reported["total_print_time"],
        "totalFilamentUsed": reported["total_filament_used"],
        "longestJob": reported["longest_job"],
    }


def test_totals_equal_sums_over_completed_jobs(
    synced_totals: dict[str, Any], fake: FakeMoonraker
) -> None:
    ours = {name: synced_totals[name] for name in TOTAL_FIELDS}
    assert ours == pytest.approx(ours_expected(fake))


def test_moonraker_totals_are_stored_as_reported(
    synced_totals: dict[str, Any], fake: FakeMoonraker
) -> None:
    assert synced_totals["moonraker"] == pytest.approx(moonraker_expected(fake))


def moonraker_way(jobs: list[Job]) -> dict[str, Any]:
    """The figures over ``jobs`` as Moonraker's history.py counts them: every job that
    finished, whatever its status, except the interrupted ones."""
    counted = [job for job in jobs if job["status"] not in ("in_progress", "interrupted")]
    return {
        "totalJobs": len(counted),
        "totalTime": sum(job["total_duration"] for job in counted),
        "totalPrintTime": sum(job["print_duration"] for job in counted),
        "totalFilamentUsed": sum(job["filament_used"] for job in counted),
        "longestJob": max(job["total_duration"] for job in counted),
    }


def test_totals_difference_is_what_moonraker_counts_and_we_cannot_see(
    synced_totals: dict[str, Any], fake: FakeMoonraker
) -> None:
    ours, reported = moonraker_way(fake.jobs), moonraker_expected(fake)
    expected = {name: reported[name] - ours[name] for name in TOTAL_FIELDS}
    assert expected["totalJobs"] == 3  # the three jobs deleted from Moonraker
    assert synced_totals["moonrakerDifference"] == pytest.approx(expected, abs=1e-6)


def test_a_complete_import_differs_from_moonraker_by_nothing(
    database: Database,
    gql: GraphQLClient,
    fake: FakeMoonraker,
    moonraker_server: FakeMoonrakerServer,
) -> None:
    # Every status Moonraker writes, one job still printing among them (counted by
    # neither side yet) and interrupted ones (never counted by Moonraker).
    fake.add_jobs(150, seed=10)
    fake.add_job(start_time=start_after(fake, hours=1), status="in_progress")
    assert {job["status"] for job in fake.jobs} >= {"interrupted", "in_progress", "error"}
    totals = synced_printer_totals(database, gql, moonraker_server)
    assert totals["moonrakerDifference"] == dict.fromkeys(TOTAL_FIELDS, 0)
