"""Jobs a sync writes reach the hub as job events, as live mode's own do: each job
created or moved to another status once, a bulk import not job by job."""

import asyncio

from gql_server.db.session import Database
from gql_server.services.live import EventHub, JobChanged
from gql_server.services.live.hub import SyncProgress
from gql_server.services.live.sync_events import MAX_JOB_EVENTS_PER_PAGE, publish_syncs
from gql_server.services.sync import Syncer
from tests.live.conftest import WAIT_S, running
from tests.support.fake_moonraker import FakeMoonraker, FakeMoonrakerServer
from tests.sync.conftest import add_printer, stored_jobs


class Recorded:
    """What one hub subscriber read during a sync: its job events and its last progress."""

    def __init__(self) -> None:
        self.jobs: list[tuple[str, str]] = []
        self.progress: SyncProgress | None = None


async def _sync(syncer: Syncer, hub: EventHub, printer_id: int) -> Recorded:
    """One sync, read through a real subscriber until the sync's closing progress: the job
    events are queued before it, so none is still on its way."""
    recorded = Recorded()

    async def read() -> None:
        async for events in hub.subscribe():
            for event in events:
                if isinstance(event, JobChanged):
                    recorded.jobs.append((event.job_id, event.action))
                elif isinstance(event, SyncProgress) and event.finished:
                    recorded.progress = event
                    return

    reader = asyncio.ensure_future(read())
    await asyncio.sleep(0)
    assert (await syncer.sync_printer(printer_id)).ok
    await asyncio.wait_for(reader, WAIT_S)
    return recorded


def _announced(syncer: Syncer, printer_id: int) -> Recorded:
    hub = EventHub()
    publish_syncs(syncer, hub)
    return asyncio.run(_sync(syncer, hub, printer_id))


def test_a_sync_announces_the_jobs_it_creates_and_ends_once(
    database: Database,
    syncer: Syncer,
    moonraker_server: FakeMoonrakerServer,
    fake: FakeMoonraker,
) -> None:
    printer = add_printer(database, "voron-1", moonraker_server.url)
    done = fake.add_job(status="completed")
    running_job = fake.add_job(status="in_progress")
    first = _announced(syncer, printer).jobs
    fake.finish_job(running_job["job_id"], "cancelled")
    second = _announced(syncer, printer).jobs
    third = _announced(syncer, printer).jobs
    assert sorted(first) == [(done["job_id"], "FINISHED"), (running_job["job_id"], "ADDED")]
    assert second == [(running_job["job_id"], "FINISHED")]
    assert third == []


def test_a_bulk_import_is_counted_not_announced_job_by_job(
    database: Database,
    syncer: Syncer,
    moonraker_server: FakeMoonrakerServer,
    fake: FakeMoonraker,
) -> None:
    fake.add_jobs(MAX_JOB_EVENTS_PER_PAGE + 1)
    printer = add_printer(database, "voron-1", moonraker_server.url)
    recorded = _announced(syncer, printer)
    assert recorded.jobs == []
    assert recorded.progress is not None
    assert recorded.progress.jobs_created == MAX_JOB_EVENTS_PER_PAGE + 1


def test_a_job_that_ends_while_the_socket_is_down_is_announced_finished_once(
    database: Database,
    syncer: Syncer,
    moonraker_server: FakeMoonrakerServer,
    fake: FakeMoonraker,
) -> None:
    """Live mode announces it added; the catch-up sync after the reconnect, finished."""
    printer = add_printer(database, "voron-1", moonraker_server.url)

    async def scenario() -> list[tuple[str, str]]:
        async with running(syncer) as live:
            publish_syncs(syncer, live.hub)
            await live.connected(printer, fake)
            job = fake.websocket.start_print("benchy.gcode")
            await live.job_event("ADDED")
            fake.websocket.refusing = True
            fake.websocket.drop_connections()
            await live.until(
                lambda: live.status(printer).connection == "OFFLINE", "the socket seen down"
            )
            fake.finish_job(job["job_id"], "completed")
            fake.websocket.refusing = False
            await live.job_event("FINISHED")
            await live.connected(printer, fake)
            return [(event.job_id, event.action) for event in live.jobs]

    events = asyncio.run(scenario())
    (stored,) = stored_jobs(database, printer)
    assert stored.status == "completed"
    assert events == [(stored.job_id, "ADDED"), (stored.job_id, "FINISHED")]
