"""An annotation given while a job prints survives the live update that finishes the
job and a full resync of the printer's history afterwards."""

import asyncio

from gql_server.db.session import Database
from gql_server.services.annotations import (
    AnnotationChanges,
    FailureReason,
    annotate_print_job,
    fetch_annotations,
)
from gql_server.services.sync import Syncer
from tests.factories import EPOCH
from tests.live.conftest import running
from tests.support.fake_moonraker import FakeMoonraker, FakeMoonrakerServer
from tests.sync.conftest import add_printer, run_sync, stored_jobs


def test_the_live_finish_and_a_full_resync_keep_the_annotation(
    database: Database,
    syncer: Syncer,
    moonraker_server: FakeMoonrakerServer,
    fake: FakeMoonraker,
) -> None:
    printer = add_printer(database, "voron-1", moonraker_server.url)
    changes = AnnotationChanges(note="spaghetti at 40%", failure_reason=FailureReason.SPAGHETTI)

    async def scenario() -> int:
        async with running(syncer) as live:
            await live.connected(printer, fake)
            job = fake.websocket.start_print("benchy.gcode")
            await live.job_event("ADDED")
            (running_job,) = stored_jobs(database, printer)
            with database.scope() as session:
                annotate_print_job(session, running_job.id, changes, now=EPOCH)
            fake.websocket.end_print(job["job_id"], "cancelled")
            await live.job_event("FINISHED")
            return running_job.id

    job_id = asyncio.run(scenario())
    assert run_sync(syncer, printer, full=True).ok
    (stored,) = stored_jobs(database, printer)
    assert (stored.id, stored.status) == (job_id, "cancelled")
    with database.scope() as session:
        kept = fetch_annotations(session, [job_id])[job_id]
    assert (kept.note, kept.failure_reason) == ("spaghetti at 40%", "spaghetti")
