"""A job from ``notify_history_changed``, written as the importer writes a page of jobs.

The notification carries the job as Moonraker stores it (``added``: in_progress with
``end_time`` null; ``finished``: the same ``job_id`` with its final status), so it is
written by the importer's own ``write_page``: the same identity (printer, job id, start
time), digest, details, slicer settings and ``last_seen``. Once the job has finished,
our totals count it in the same transaction, as an import would: a job still printing
counts in neither. Moonraker's own totals are asked for at once, but stored in a
transaction of their own once the job is written and announced (``store_totals``): the
job never waits on a second request to Moonraker, and a totals request that fails
loses no job (the reconnect's sync stores them).

An event is one transaction. Its first statement marks the printer seen only while no
sync holds the printer's lease, which also locks the printer row (MariaDB) or the
database (SQLite) until the commit: no sync can take the lease and plan the same jobs
meanwhile, so the event needs no lease of its own. A sync holding it is waited for.
What needs Moonraker (a gcode tail not read yet, its totals) is fetched before the
transaction that stores it, so no transaction waits on the network.
"""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, cast

from sqlalchemy import CursorResult, Update, bindparam, or_, update
from sqlalchemy.orm import Session

from gql_server.db.faults import run_retrying_conflicts
from gql_server.db.session import Database
from gql_server.db.tables import PRINTERS
from gql_server.moonraker.client import MoonrakerClient
from gql_server.moonraker.errors import MoonrakerError
from gql_server.moonraker.parse import parse_job
from gql_server.services import job_costs, jobs, totals
from gql_server.services.job_costs import SpoolQuote
from gql_server.services.jobs import JobKey, job_key
from gql_server.services.live.group_commit import GroupCommit
from gql_server.services.sync.importer import metadata_details, write_page
from gql_server.services.sync.lease import SYNC
from gql_server.services.sync.moonraker_totals import store_moonraker_totals
from gql_server.services.sync.slicer_settings import LIVE_VERSIONS, SlicerSettingsReader
from gql_server.services.sync.spools import SpoolQuoter, spool_ids
from gql_server.spoolman.client import SpoolmanClient

log = logging.getLogger(__name__)


LEASE_POLL_S = 0.1
UNFINISHED = "in_progress"


class LeaseBusyError(Exception):
    """A sync held the printer for longer than a history write waits."""


@dataclass(frozen=True, slots=True)
class WrittenJob:
    print_job_id: int
    job_id: str
    start_time: datetime
    # Created, or moved to another status. False when a sync wrote it first (the catch-up
    # sync after a reconnect): the sync announced it, so the notification is not news.
    changed: bool
    # In its final status: Moonraker's totals count it now (``HistoryWriter.store_totals``).
    finished: bool


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    """One notification's job, with everything from Moonraker its write needs."""

    row: dict[str, Any]
    # The job's details from its metadata and gcode tail; None without metadata.
    details: dict[str, Any] | None
    # The quote of the job's Spoolman spool, when it names one and Spoolman is set.
    quotes: dict[JobKey, SpoolQuote]


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
    # On SQLite, the farm's one writer: every event's transaction goes through it.
    writes: GroupCommit | None = None
    _slicer: SlicerSettingsReader = field(init=False)

    def __post_init__(self) -> None:
        if self.writes is not None:
            self.database = self.writes
        self._slicer = SlicerSettingsReader(self.slicer_settings, max_versions=LIVE_VERSIONS)

    async def write(self, raw: dict[str, Any], client: MoonrakerClient) -> WrittenJob:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 2 * self.lease.total_seconds()
        event = await self._gather(raw, client)
        while True:
            written = await run_retrying_conflicts(self.database, partial(self._write, event=event))
            if written is not None:
                return written
            if loop.time() > deadline:
                raise LeaseBusyError(f"printer id {self.printer_id} stayed locked by a sync")
            await asyncio.sleep(LEASE_POLL_S)

    async def store_totals(self, client: MoonrakerClient) -> None:
        """Moonraker's totals after a job finished, in their own transaction. Skipped
        while a sync holds the printer: it stores them itself when it ends."""
        reported = _job_totals(await client.history_totals())
        await run_retrying_conflicts(self.database, partial(self._store_totals, reported=reported))

    def _store_totals(self, session: Session, reported: dict[str, Any]) -> None:
        now = self.clock()
        if _mark_seen_unless_syncing(session, self.printer_id, now):
            store_moonraker_totals(session, self.printer_id, reported, now)

    async def _gather(self, raw: dict[str, Any], client: MoonrakerClient) -> HistoryEvent:
        row = parse_job(raw)  # BAD_RESPONSE when the notification lacks a key field
        details = await self._details(raw, row, client)
        return HistoryEvent(row, details, await self._spool_quotes(row))

    async def _spool_quotes(self, row: dict[str, Any]) -> dict[JobKey, SpoolQuote]:
        """As an import quotes its pending jobs; asked whether or not the write will
        need it (a job that changed nothing keeps its stored quote)."""
        if self.spoolman_url is None or not spool_ids(row.get("auxiliary_data")):
            return {}
        async with SpoolmanClient(self.spoolman_url) as spoolman:
            return await SpoolQuoter(spoolman, self.currency).quotes({job_key(row): row})

    async def _details(
        self, raw: dict[str, Any], row: dict[str, Any], client: MoonrakerClient
    ) -> dict[str, Any] | None:
        """Read whether or not the write will need them (only a new or changed job's
        are written): the gcode tail is read once per file version anyway."""
        if not row["job_metadata"]:
            return None
        values = metadata_details(row)
        settings = await self._slicer.read(client, raw, row, values.get("slicer"))
        values.update({name: value for name, value in settings.items() if value is not None})
        return values

    def _write(self, session: Session, event: HistoryEvent) -> WrittenJob | None:
        """None, having written nothing, while a sync holds the printer."""
        now = self.clock()
        if not _mark_seen_unless_syncing(session, self.printer_id, now):
            return None
        batch = jobs.plan_jobs(session, self.printer_id, [event.row])
        key = job_key(event.row)
        details: dict[JobKey, dict[str, Any]] = {}
        if event.details is not None and batch.is_pending(key):
            details[key] = event.details
        job_costs.expect_spools(session, self.printer_id, event.quotes)
        page = write_page(session, batch, details)
        finished = event.row["status"] != UNFINISHED
        if finished:  # a job still printing is in neither our totals nor Moonraker's
            self._count(session, batch, key)
        job_id, start_time = key
        changed = bool(page.written)
        return WrittenJob(page.result.ids[key], job_id, start_time, changed, finished)

    def _count(self, session: Session, batch: jobs.JobBatch, key: JobKey) -> None:
        """The totals with the finished job in them, as a recompute makes them. A job the
        write left as it was (a sync stored it first) changes nothing; the recompute then
        only makes sure the row Moonraker's totals go into (``store_totals``) exists."""
        stored = batch.stored.get(key)
        if batch.is_pending(key):
            before = None if stored is None else str(stored.status)
            totals.add_job(session, self.printer_id, before=before, job=batch.incoming[key])
        else:
            totals.recompute_totals(session, [self.printer_id])


def _mark_seen_unless_syncing(session: Session, printer_id: int, now: datetime) -> bool:
    """``printers.mark_seen``, done only when the printer's sync lease is free or lapsed,
    the condition a sync's ``take_lease`` waits on: whichever of the two comes first
    holds the printer row until its commit."""
    result = session.connection().execute(MARK_SEEN, {"key_id": printer_id, "now": now})
    return cast(CursorResult[Any], result).rowcount == 1


def _mark_seen_statement() -> Update:
    """Built once, on the table rather than the ORM entity: the event's first statement
    then skips the ORM's bulk-update preparation."""
    table = PRINTERS
    now = bindparam("now", type_=table.c.last_seen.type)
    until = table.c[SYNC.until.key]
    return (
        update(table)
        .where(table.c.id == bindparam("key_id"), or_(until.is_(None), until < now))
        .values(last_seen=now)
    )


MARK_SEEN = _mark_seen_statement()


def _job_totals(reported: dict[str, Any]) -> dict[str, Any]:
    job_totals = reported.get("job_totals")
    if not isinstance(job_totals, dict):
        raise MoonrakerError("BAD_RESPONSE", "history totals without job_totals")
    return job_totals
