"""History as it happens: a job from Moonraker's notifications is stored exactly as an
import of the same history stores it, once, whatever the socket does meanwhile."""

import asyncio
from collections import Counter

import pytest
from sqlalchemy import select

from gql_server.db.models import JobTotals
from gql_server.db.session import Database
from gql_server.services.sync import Syncer
from tests.live.conftest import comparable_jobs, comparable_totals, running
from tests.support.fake_moonraker import BASE_TIME, FakeMoonraker, FakeMoonrakerServer
from tests.sync.conftest import add_printer, run_sync, set_printer, stored_jobs

FINAL_STATUSES = ["completed", "cancelled", "error", "klippy_shutdown", "klippy_disconnect"]


def _end(fake: FakeMoonraker, job_id: str, status: str) -> None:
    """How each final status comes about in Moonraker: a print ending, or Klippy
    shutting down or going away under it."""
    if status == "klippy_shutdown":
        fake.websocket.klippy_shutdown()
    elif status == "klippy_disconnect":
        fake.websocket.klippy_disconnect()
    else:
        fake.websocket.end_print(job_id, status)


def _imported_twin(database: Database, syncer: Syncer, url: str) -> int:
    """A second printer on the same Moonraker, filled by a plain full sync."""
    twin = add_printer(database, "twin", url)
    assert run_sync(syncer, twin, full=True).ok
    return twin


@pytest.mark.parametrize("final", FINAL_STATUSES)
def test_a_print_from_start_to_end_is_stored_as_an_import_stores_it(
    database: Database,
    syncer: Syncer,
    moonraker_server: FakeMoonrakerServer,
    fake: FakeMoonraker,
    final: str,
) -> None:
    fake.add_sample_files()
    filename = next(iter(fake.files))
    printer = add_printer(database, "voron-1", moonraker_server.url)

    async def scenario() -> None:
        async with running(syncer) as live:
            job = await live.print_started(printer, fake, filename)
            assert [j.status for j in stored_jobs(database, printer)] == ["in_progress"]
            fake.websocket.push_status({"display_status": {"progress": 0.5}})
            _end(fake, job["job_id"], final)
            await live.job_event("FINISHED")
            await live.moonraker_totals_stored(database, printer, fake)

    asyncio.run(scenario())
    (stored,) = stored_jobs(database, printer)
    assert (stored.status, stored.end_time is not None) == (final, True)
    twin = _imported_twin(database, syncer, moonraker_server.url)
    assert comparable_jobs(database, printer) == comparable_jobs(database, twin)
    assert comparable_totals(database, printer) == comparable_totals(database, twin)


def test_a_job_that_ends_while_the_socket_is_down_is_there_once_after_reconnecting(
    database: Database,
    syncer: Syncer,
    moonraker_server: FakeMoonrakerServer,
    fake: FakeMoonraker,
) -> None:
    printer = add_printer(database, "voron-1", moonraker_server.url)

    async def scenario() -> None:
        async with running(syncer) as live:
            job = await live.print_started(printer, fake, "benchy.gcode")
            fake.websocket.refusing = True
            fake.websocket.drop_connections()
            await live.until(
                lambda: live.status(printer).connection == "OFFLINE", "the socket seen down"
            )
            fake.finish_job(job["job_id"], "completed")  # nobody hears it
            fake.websocket.refusing = False
            await live.until(
                lambda: [j.status for j in stored_jobs(database, printer)] == ["completed"],
                "the job stored completed after the reconnect",
            )

    asyncio.run(scenario())
    keys = Counter((job.job_id, job.start_time) for job in stored_jobs(database, printer))
    assert list(keys.values()) == [1]


def test_a_finished_job_is_stored_and_counted_while_moonrakers_totals_fail(
    database: Database,
    syncer: Syncer,
    moonraker_server: FakeMoonrakerServer,
    fake: FakeMoonraker,
) -> None:
    """The job does not wait on Moonraker's totals: every totals request failing (and
    with it the reconnect's sync, which stores them last) loses neither the job nor its
    place in our totals."""
    printer = add_printer(database, "voron-1", moonraker_server.url)

    async def scenario() -> None:
        async with running(syncer) as live:
            job = await live.print_started(printer, fake, "benchy.gcode")
            fake.fault("status", path="/server/history/totals")
            fake.websocket.end_print(job["job_id"], "completed")
            await live.job_event("FINISHED")
            await live.until(lambda: live.service.reconnects > 0, "the failure seen")

    asyncio.run(scenario())
    assert [job.status for job in stored_jobs(database, printer)] == ["completed"]
    with database.scope() as session:
        totals = session.scalar(select(JobTotals).where(JobTotals.printer_id == printer))
        assert totals is not None
        assert (totals.total_jobs, totals.finished_jobs) == (1, 1)
        assert totals.moonraker_total_jobs == 0  # as the sync on connecting stored them


def test_a_job_id_reused_after_a_history_reset_is_a_new_row(
    database: Database,
    syncer: Syncer,
    moonraker_server: FakeMoonrakerServer,
    fake: FakeMoonraker,
) -> None:
    printer = add_printer(database, "voron-1", moonraker_server.url)

    async def scenario() -> None:
        async with running(syncer) as live:
            await live.connected(printer, fake)
            first = fake.websocket.start_print("a.gcode")
            fake.websocket.end_print(first["job_id"])
            await live.job_event("FINISHED")
            fake.reset_history()
            second = fake.websocket.start_print("b.gcode", start_time=BASE_TIME + 86_400)
            fake.websocket.end_print(second["job_id"], "cancelled")
            await live.job_event("FINISHED", count=2)

    asyncio.run(scenario())
    stored = [(job.job_id, job.filename, job.status) for job in stored_jobs(database, printer)]
    assert stored == [("000001", "a.gcode", "completed"), ("000001", "b.gcode", "cancelled")]


def test_after_a_history_reset_live_rows_are_those_an_import_makes(
    database: Database,
    syncer: Syncer,
    moonraker_server: FakeMoonrakerServer,
    fake: FakeMoonraker,
) -> None:
    """A twin printer on the same Moonraker, not followed live, imports before and after
    the reset: both printers end with the same two rows under the reused job id."""
    printer = add_printer(database, "voron-1", moonraker_server.url)
    twin = add_printer(database, "twin", moonraker_server.url)
    set_printer(database, twin, is_active=False)

    async def scenario() -> None:
        async with running(syncer) as live:
            await live.connected(printer, fake)
            first = fake.websocket.start_print("a.gcode")
            fake.websocket.end_print(first["job_id"])
            await live.job_event("FINISHED")
            assert (await syncer.sync_printer(twin)).ok
            fake.reset_history()
            second = fake.websocket.start_print("b.gcode", start_time=BASE_TIME + 86_400)
            fake.websocket.end_print(second["job_id"], "cancelled")
            await live.job_event("FINISHED", count=2)
            await live.moonraker_totals_stored(database, printer, fake)
            assert (await syncer.sync_printer(twin)).ok

    asyncio.run(scenario())
    assert len(stored_jobs(database, printer)) == 2
    assert comparable_jobs(database, printer) == comparable_jobs(database, twin)
    assert comparable_totals(database, printer) == comparable_totals(database, twin)


def test_a_job_event_names_the_stored_row(
    database: Database,
    syncer: Syncer,
    moonraker_server: FakeMoonrakerServer,
    fake: FakeMoonraker,
) -> None:
    printer = add_printer(database, "voron-1", moonraker_server.url)

    async def scenario() -> list[int]:
        async with running(syncer) as live:
            await live.connected(printer, fake)
            job = fake.websocket.start_print("a.gcode")
            fake.websocket.end_print(job["job_id"])
            events = await live.job_event("FINISHED")
            return [event.print_job_id for event in live.jobs if event.printer_id == printer] + [
                events[0].print_job_id
            ]

    ids = asyncio.run(scenario())
    assert set(ids) == {job.id for job in stored_jobs(database, printer)}
