"""A job from ``notify_history_changed``, written as the importer writes a page of jobs.

The notification carries the job as Moonraker stores it (``added``: in_progress with
``end_time`` null; ``finished``: the same ``job_id`` with its final status), so it goes
through ``HistoryImport.import_jobs``: the same identity (printer, job id, start time),
digest, details, slicer settings and ``last_seen``. The totals are then recomputed, and
Moonraker's own read, as the sync runner does after an import, once the job has
finished: a job still printing counts in neither.

The write holds the printer's sync lease, so it never interleaves with a sync's
plan-then-write of the same jobs; a sync holding it is waited for.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from gql_server.db.faults import run_retrying_conflicts
from gql_server.db.models import PrintJob
from gql_server.db.session import Database
from gql_server.db.types import as_utc
from gql_server.moonraker.client import MoonrakerClient
from gql_server.moonraker.errors import MoonrakerError
from gql_server.moonraker.parse import parse_job
from gql_server.services.jobs import job_key
from gql_server.services.sync.importer import (
    HistoryImport,
    ImportOptions,
    ImportTarget,
    JobWritten,
)
from gql_server.services.sync.lease import new_owner, release_lease, take_lease
from gql_server.services.sync.moonraker_totals import store_moonraker_totals
from gql_server.services.sync.spools import SpoolQuoter
from gql_server.services.totals import recompute_totals
from gql_server.spoolman.client import SpoolmanClient

log = logging.getLogger(__name__)

T = TypeVar("T")

LEASE_POLL_S = 0.1
UNFINISHED = "in_progress"


class LeaseBusyError(Exception):
    """A sync held the printer for longer than a history write waits."""


class QueuedDatabase(Database):
    """The database with each unit of work queued on an asyncio lock, for SQLite's one
    writer at a time: the printers' writes would otherwise race for it and sleep in
    SQLite's busy handler, which backs off up to 100 ms a try whether or not the lock is
    free by then. Only the transactions queue; Moonraker's answers are awaited outside."""

    def __init__(self, database: Database, lock: asyncio.Lock) -> None:
        super().__init__(database.engine)
        self.sessions = database.sessions
        self.lock = lock

    async def run(self, work: Callable[[Session], T]) -> T:
        async with self.lock:
            return await super().run(work)


@dataclass(frozen=True, slots=True)
class WrittenJob:
    print_job_id: int
    job_id: str
    start_time: datetime
    # Created, or moved to another status. False when a sync wrote it first (the catch-up
    # sync after a reconnect): the sync announced it, so the notification is not news.
    changed: bool


@dataclass
class HistoryWriter:
    database: Database
    printer_id: int
    clock: Callable[[], datetime]
    lease: timedelta
    slicer_settings: bool = True
    # Where the job's Spoolman spool is priced, in the farm's currency (as a sync does).
    spoolman_url: str | None = None
    currency: str = "EUR"
    # On SQLite, every unit of work of a write takes this lock (QueuedDatabase).
    writes: asyncio.Lock | None = None

    def __post_init__(self) -> None:
        if self.writes is not None:
            self.database = QueuedDatabase(self.database, self.writes)

    async def write(self, raw: dict[str, Any], client: MoonrakerClient) -> WrittenJob:
        row = parse_job(raw)  # BAD_RESPONSE when the notification lacks a key field
        owner = await self._take_lease()
        written: list[JobWritten] = []
        try:
            history = HistoryImport(
                database=self.database,
                client=client,
                target=ImportTarget(self.printer_id, None),
                options=ImportOptions(slicer_settings=self.slicer_settings),
                clock=self.clock,
                on_jobs=written.extend,
            )
            async with contextlib.AsyncExitStack() as stack:
                if self.spoolman_url is not None:
                    spoolman = SpoolmanClient(self.spoolman_url)
                    await stack.enter_async_context(spoolman)
                    history.spools = SpoolQuoter(spoolman, self.currency)
                await history.import_jobs([raw])
            if row["status"] != UNFINISHED:
                # A job still printing is in neither our totals nor Moonraker's.
                reported = await client.history_totals()
                await self.database.run(lambda s: self._record_totals(s, reported))
        finally:
            # Shielded: a cancelled write (shutdown) still frees the printer for syncs.
            await asyncio.shield(self._release_lease(owner))
        job_id, start_time = job_key(row)
        row_id = await self.database.run(lambda s: _row_id(s, self.printer_id, job_id, start_time))
        return WrittenJob(row_id, job_id, start_time, changed=bool(written))

    async def _take_lease(self) -> str:
        owner = new_owner()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 2 * self.lease.total_seconds()
        while True:
            taken = await run_retrying_conflicts(
                self.database,
                lambda s: take_lease(s, self.printer_id, owner, self.clock(), self.lease),
            )
            if taken:
                return owner
            if loop.time() > deadline:
                raise LeaseBusyError(f"printer id {self.printer_id} stayed locked by a sync")
            await asyncio.sleep(LEASE_POLL_S)

    async def _release_lease(self, owner: str) -> None:
        await run_retrying_conflicts(
            self.database, lambda s: release_lease(s, self.printer_id, owner)
        )

    def _record_totals(self, session: Session, reported: dict[str, Any]) -> None:
        job_totals = reported.get("job_totals")
        if not isinstance(job_totals, dict):
            raise MoonrakerError("BAD_RESPONSE", "history totals without job_totals")
        recompute_totals(session, [self.printer_id])
        store_moonraker_totals(session, self.printer_id, job_totals, self.clock())


def _row_id(session: Session, printer_id: int, job_id: str, start_time: datetime) -> int:
    """Matched on the start time in Python, as jobs.plan_jobs does: the two dialects hand
    datetimes back differently."""
    query = select(PrintJob.id, PrintJob.start_time).where(
        PrintJob.printer_id == printer_id, PrintJob.job_id == job_id
    )
    for row in session.execute(query):
        if as_utc(row.start_time) == start_time:
            return int(row.id)
    raise LookupError(f"job {job_id} of printer id {printer_id} was not written")
