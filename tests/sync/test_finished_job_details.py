"""A job the import saw in progress and sees again finished: its row is updated, and its
details are written again onto that row (the import takes the row's id from the job
write, so a changed job must come back with the id it already had)."""

from sqlalchemy import select

from gql_server.db.models import JobDetails
from gql_server.db.session import Database
from gql_server.services.sync import Syncer
from tests.support.fake_moonraker import FakeMoonraker
from tests.sync.conftest import run_sync, stored_job

BENCHY = "3DBenchy_0.15mm_PLA_1h22m.gcode"


def details_rows(database: Database) -> list[tuple[int, float | None]]:
    with database.scope() as session:
        rows = session.scalars(select(JobDetails).order_by(JobDetails.id))
        return [(row.print_job_id, row.layer_height) for row in rows]


def test_a_job_finished_after_its_first_import_keeps_its_details_on_its_row(
    database: Database, syncer: Syncer, fake: FakeMoonraker, printer_id: int
) -> None:
    fake.add_sample_files()
    running = fake.add_job(filename=BENCHY, status="in_progress")
    run_sync(syncer, printer_id)
    fake.finish_job(running["job_id"])

    second = run_sync(syncer, printer_id)

    row_id = stored_job(database, printer_id, running["job_id"]).id
    counts = second.counts
    assert (second.error_code, counts.jobs_updated, counts.details_extracted) == (None, 1, 1)
    assert details_rows(database) == [(row_id, 0.15)]
