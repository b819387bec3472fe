"""Live-mode fixtures: the session's fake Moonrakers (now with their /websocket), a
LiveService with sub-second timings, and bounded waits for what it should reach.

Every wait polls a condition with a deadline and fails naming what did not happen; none
asserts how long anything took.
"""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import select

from gql_server.db.models import JobDetails, JobTotals, PrintJob
from gql_server.db.session import Database
from gql_server.moonraker.live import LiveOptions
from gql_server.moonraker.parse import parse_totals
from gql_server.services.live import (
    Backoff,
    EventHub,
    JobChanged,
    LiveService,
    LiveServiceOptions,
    LiveStatus,
)
from gql_server.services.sync import Syncer
from tests.factories import LOOPBACK, TEST_BOX
from tests.support.fake_moonraker import FakeMoonraker
from tests.sync.conftest import FAST

BASE_DELAY = 0.05
MAX_DELAY = 0.4
FAST_LIVE = LiveServiceOptions(
    poll_interval=0.05,
    backoff=Backoff(base=BASE_DELAY, cap=MAX_DELAY),
    socket=LiveOptions(open_timeout=2.0, call_timeout=2.0, allowed_networks=LOOPBACK),
)
# A deadline, not a measurement: generous, for a loaded machine (the first GraphQL request
# of a session also starts the document validation workers).
WAIT_S = 30.0


@pytest.fixture
def syncer(database: Database) -> Syncer:
    return Syncer(database, FAST, secret_box=TEST_BOX)


@asynccontextmanager
async def running(syncer: Syncer, options: LiveServiceOptions = FAST_LIVE) -> AsyncIterator["Live"]:
    """A LiveService following the database's active printers, and a record of every
    job event it published."""
    live = Live(LiveService(syncer, options))
    task = asyncio.ensure_future(live.service.run())
    watcher = asyncio.ensure_future(live.watch())
    try:
        await asyncio.sleep(0)
        yield live
    finally:
        watcher.cancel()
        await live.service.stop()
        await asyncio.wait({task}, timeout=WAIT_S)


class Live:
    def __init__(self, service: LiveService) -> None:
        self.service = service
        self.hub: EventHub = service.hub
        self.jobs: list[JobChanged] = []

    async def watch(self) -> None:
        async for events in self.hub.subscribe():
            self.jobs.extend(event for event in events if isinstance(event, JobChanged))

    def status(self, printer_id: int) -> LiveStatus | None:
        return self.service.status(printer_id)

    async def until(self, condition: Callable[[], Any], what: str) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_S
        while True:
            value = condition()
            if value:
                return value
            if loop.time() > deadline:
                pytest.fail(f"live mode never reached: {what}")
            await asyncio.sleep(0.01)

    async def connected(self, printer_id: int, fake: Any) -> None:
        """Connected, subscribed and past its first sync: following notifications."""

        def ready() -> bool:
            status = self.status(printer_id)
            return (
                status is not None
                and status.connection == "CONNECTED"
                and bool(fake.websocket.subscriptions())
                and self.synced(printer_id)
            )

        await self.until(ready, f"printer {printer_id} connected")

    def synced(self, printer_id: int) -> bool:
        connection = self.service.connections.get(printer_id)
        return connection is not None and connection.synced

    async def job_event(self, action: str, count: int = 1) -> list[JobChanged]:
        def found() -> list[JobChanged]:
            events = [event for event in self.jobs if event.action == action]
            return events if len(events) >= count else []

        return list(await self.until(found, f"{count} {action} job event(s)"))

    async def print_started(self, printer_id: int, fake: FakeMoonraker, filename: str) -> Any:
        """Following the printer, with a print started and its ADDED event seen: the
        Moonraker job of that print."""
        await self.connected(printer_id, fake)
        job = fake.websocket.start_print(filename)
        await self.job_event("ADDED")
        return job

    async def moonraker_totals_stored(
        self, database: Database, printer_id: int, fake: FakeMoonraker
    ) -> None:
        """Moonraker's totals as it reports them now: live mode stores them in their own
        transaction after announcing a finished job (services/live/history.py)."""
        wanted = parse_totals(fake.totals_snapshot()["job_totals"])

        def stored() -> bool:
            with database.scope() as session:
                totals = session.scalar(select(JobTotals).where(JobTotals.printer_id == printer_id))
                return totals is not None and all(
                    getattr(totals, name) == value for name, value in wanted.items()
                )

        await self.until(stored, "Moonraker's totals stored")


def comparable_jobs(database: Database, printer_id: int) -> list[dict[str, Any]]:
    """Every stored value of the printer's jobs and their details, without row ids,
    the printer and the write times: what an import of the same history must equal."""
    skip = {"id", "printer_id", "created_at", "updated_at", "print_job_id"}
    with database.scope() as session:
        jobs = session.scalars(
            select(PrintJob)
            .where(PrintJob.printer_id == printer_id)
            .order_by(PrintJob.job_id, PrintJob.start_time)
        ).all()
        rows = []
        for job in jobs:
            details = session.get(JobDetails, job.id)
            values = {k: v for k, v in vars(job).items() if not k.startswith("_") and k not in skip}
            values.pop("printer", None)
            values.pop("details", None)
            values.pop("job_details", None)
            if details is not None:
                values["details"] = {
                    k: v
                    for k, v in vars(details).items()
                    if not k.startswith("_") and k not in skip
                }
            rows.append(values)
        return rows


def comparable_totals(database: Database, printer_id: int) -> dict[str, Any]:
    skip = {"id", "printer_id", "last_updated", "moonraker_reported_at"}
    with database.scope() as session:
        totals = session.scalar(select(JobTotals).where(JobTotals.printer_id == printer_id))
        assert totals is not None
        return {k: v for k, v in vars(totals).items() if not k.startswith("_") and k not in skip}
