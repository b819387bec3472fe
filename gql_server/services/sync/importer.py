"""Import one printer's Moonraker history: paged, incremental, lossless.

Totals are not touched here: the runner recomputes them once the import is done.

Moonraker's list is paged with an OFFSET (``start``) in job-id order; each page is
written in its own transaction, so a failure keeps every finished page. The sync
watermark (newest start time imported) only moves when a whole sync succeeds: the next
sync after a failure re-reads from the old watermark, and the upsert makes re-reading
free of duplicates, so there is never a gap.
"""

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from anyio import to_thread
from sqlalchemy.orm import Session

from gql_server.db.session import Database
from gql_server.moonraker.client import MoonrakerClient
from gql_server.moonraker.parse import parse_details, parse_job
from gql_server.services import job_costs, jobs, printers
from gql_server.services.jobs import JobKey, job_key
from gql_server.services.rollups import maintain as rollups
from gql_server.services.sync.slicer_settings import SlicerSettingsReader
from gql_server.services.sync.spools import SpoolQuoter

# Incremental syncs re-read a day before the watermark. Moonraker filters by start time
# but numbers jobs in the order they start, and a printer's clock can jump back (a
# Raspberry Pi without a clock battery starts printing before its time sync): a new
# job then starts "before" jobs we hold. Re-read jobs are recognised as unchanged by
# their digest and cost no write; a clock off by more than a day needs a full sync.
WATERMARK_MARGIN = timedelta(hours=24)
# Bounds on the traffic one sync may send, whatever a printer answers.
MAX_PAGES = 100_000


@dataclass(frozen=True, slots=True)
class ImportOptions:
    page_size: int = 200
    max_tail_bytes: int = 512 * 1024
    slicer_settings: bool = True


@dataclass(slots=True)
class ImportCounts:
    jobs_seen: int = 0
    jobs_created: int = 0
    jobs_updated: int = 0
    details_extracted: int = 0
    pages: int = 0
    newest_start: datetime | None = None
    complete: bool = True  # False: the list kept shifting; do not move the watermark


@dataclass(frozen=True, slots=True)
class ImportTarget:
    printer_id: int
    watermark: datetime | None


Progress = Callable[[ImportCounts], None]


@dataclass(frozen=True, slots=True)
class JobWritten:
    """A job a page created, or whose status it changed (a rewrite that leaves the status
    alone, such as a new digest column, is not one): what job events announce."""

    print_job_id: int
    job_id: str
    start_time: datetime
    status: str
    created: bool


JobsWritten = Callable[[list[JobWritten]], None]


@dataclass(frozen=True, slots=True)
class PreparedPage:
    """A page of Moonraker jobs as read (``raw``), parsed (``rows``) and normalised for
    storing: the work of a page that needs no database, done for the next page while
    the current one is written."""

    raw: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    normalised: list[tuple[JobKey, dict[str, Any]]]

    @classmethod
    def of(cls, raw: list[dict[str, Any]]) -> "PreparedPage":
        rows = [parse_job(job) for job in raw]
        return cls(raw, rows, jobs.normalised_jobs(rows))

    def after_first(self) -> "PreparedPage":
        return PreparedPage(self.raw[1:], self.rows[1:], self.normalised[1:])


@dataclass
class HistoryImport:
    """One sync's work for one printer; the caller owns the lease (and renews it) and the
    run record."""

    database: Database
    client: MoonrakerClient
    target: ImportTarget
    options: ImportOptions
    clock: Callable[[], datetime]
    progress: Progress | None = None
    # Told, once each page is committed, which jobs it created or changed the status of.
    on_jobs: JobsWritten | None = None
    counts: ImportCounts = field(default_factory=ImportCounts)
    # Prices the jobs' Spoolman spools (GQL_SPOOLMAN_URL); None: filament type prices only.
    spools: SpoolQuoter | None = None
    # One gcode tail fetch per file version per sync, however many jobs printed it.
    _slicer: SlicerSettingsReader = field(init=False)

    def __post_init__(self) -> None:
        self._slicer = SlicerSettingsReader(
            self.options.slicer_settings, self.options.max_tail_bytes
        )

    async def run(self, *, full: bool) -> ImportCounts:
        since = self._since(full)
        # Read the list again if it shifted under us; if it is still shifting, leave the
        # watermark where it was so the next sync reads this window once more.
        shifted = await self._import_list(since)
        if shifted:
            shifted = await self._import_list(since)
        self.counts.complete = not shifted
        await self._refresh_unfinished()
        return self.counts

    def _since(self, full: bool) -> float | None:
        if full or self.target.watermark is None:
            return None
        return (self.target.watermark - WATERMARK_MARGIN).timestamp()

    async def _import_list(self, since: float | None) -> bool:
        """Read the history list; True when it shifted while being read.

        Moonraker pages by OFFSET. Each page after the first starts one job early, on the
        last job already read: if that is not where it was, jobs before it were deleted
        meanwhile and the offsets moved, so a job may have been skipped.

        Page N+1 downloads while page N is written: the import costs about as much as the
        slower of the two, not their sum. At most two pages are in memory.
        """
        size = self.options.page_size

        def fetch(start: int, limit: int) -> asyncio.Task[PreparedPage]:
            return asyncio.ensure_future(self._fetch_prepared(start, limit, since))

        shifted = False
        limit = size
        consumed = 0
        last: tuple[str, Any] | None = None
        pending: asyncio.Task[PreparedPage] | None = fetch(0, limit)
        try:
            for _ in range(MAX_PAGES):
                assert pending is not None
                page = await pending
                fresh = page
                if last is not None:
                    if page.raw and _identity(page.raw[0]) == last:
                        fresh = page.after_first()
                    else:
                        shifted = True
                consumed += len(fresh.raw)
                more = len(page.raw) == limit
                limit = size + 1  # the overlapping job plus a full page of new ones
                pending = fetch(consumed - 1, limit) if more else None
                await self._import_prepared(fresh)
                if fresh.raw:
                    last = _identity(fresh.raw[-1])
                if pending is None:
                    return shifted
            return shifted
        finally:
            if pending is not None and not pending.done():
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await pending

    async def _fetch_prepared(self, start: int, limit: int, since: float | None) -> PreparedPage:
        """A page read and prepared, in a worker thread: the event loop stays free, and
        the preparing overlaps the previous page's wait for the database."""
        page = await self.client.history_page(start=start, limit=limit, order="asc", since=since)
        return await to_thread.run_sync(PreparedPage.of, page)

    async def _refresh_unfinished(self) -> None:
        """Jobs last seen in progress are re-read by id: Moonraker rewrites them when they
        end, and they may be older than the watermark."""
        unfinished = await self.database.run(
            lambda s: jobs.unfinished_jobs(s, self.target.printer_id)
        )
        fetched = []
        for job_id, _start_time in unfinished:
            raw = await self.client.history_job(job_id)
            # After a history reset the id may name another job: import it all the same
            # (it is keyed by its own start time); ours stays as it was.
            if raw is not None:
                fetched.append(raw)
        if fetched:
            await self._import_page(fetched)

    async def import_jobs(self, page: list[dict[str, Any]]) -> None:
        """Write these raw Moonraker jobs as one page of the list: live mode writes the job
        of a history notification here, so its rows are exactly what an import writes."""
        await self._import_page(page)

    async def _import_page(self, page: list[dict[str, Any]]) -> None:
        await self._import_prepared(PreparedPage.of(page))

    async def _import_prepared(self, page: PreparedPage) -> None:
        self.counts.pages += 1
        self.counts.jobs_seen += len(page.raw)
        if page.raw:
            rows = page.rows
            printer_id = self.target.printer_id
            batch = await self.database.run(
                lambda s: jobs.plan_normalised(s, printer_id, page.normalised)
            )
            details = await self._details(page.raw, rows, batch)
            quotes = await self._spool_quotes(batch, rows)
            written = await self.database.run(lambda s: self._write_page(s, batch, details, quotes))
            if written and self.on_jobs is not None:
                self.on_jobs(written)
            newest = max(job_key(row)[1] for row in rows)
            if self.counts.newest_start is None or newest > self.counts.newest_start:
                self.counts.newest_start = newest
        if self.progress is not None:
            self.progress(self.counts)

    async def _spool_quotes(
        self, batch: jobs.JobBatch, rows: list[dict[str, Any]]
    ) -> dict[JobKey, job_costs.SpoolQuote]:
        """Quotes for the jobs the page writes (``rows`` as parsed: the batch holds
        their JSON serialized)."""
        if self.spools is None:
            return {}
        keyed = ((job_key(row), row) for row in rows)
        return await self.spools.quotes({key: row for key, row in keyed if batch.is_pending(key)})

    def _write_page(
        self,
        session: Session,
        batch: jobs.JobBatch,
        details: dict[JobKey, dict[str, Any]],
        quotes: dict[JobKey, job_costs.SpoolQuote],
    ) -> list[JobWritten]:
        # The printer row first: the job inserts' foreign-key checks take a shared lock on
        # it, and upgrading that lock afterwards can deadlock (MariaDB 1213) against another
        # server taking or renewing the lease on the same row.
        printers.mark_seen(session, self.target.printer_id, self.clock())
        job_costs.expect_spools(session, self.target.printer_id, quotes)
        page = write_page(session, batch, details)
        self.counts.details_extracted += page.details_extracted
        self.counts.jobs_created += page.result.created
        self.counts.jobs_updated += page.result.updated
        return page.written

    async def _details(
        self, page: list[dict[str, Any]], rows: list[dict[str, Any]], batch: jobs.JobBatch
    ) -> dict[JobKey, dict[str, Any]]:
        details: dict[JobKey, dict[str, Any]] = {}
        for raw, row in zip(page, rows, strict=True):
            key = job_key(row)
            if not row["job_metadata"] or not batch.is_pending(key):
                continue
            values = metadata_details(row)
            settings = await self._slicer.read(self.client, raw, row, values.get("slicer"))
            values.update({name: value for name, value in settings.items() if value is not None})
            details[key] = values
        return details


@dataclass(frozen=True, slots=True)
class PageWrite:
    result: jobs.UpsertResult
    details_extracted: int
    written: list[JobWritten]


def write_page(
    session: Session, batch: jobs.JobBatch, details: dict[JobKey, dict[str, Any]]
) -> PageWrite:
    """A planned page's jobs and the details of its new and changed ones, with one rollup
    delta for both: the write an import and a live history event share. The caller has
    written the printer row first (``printers.mark_seen``)."""
    with rollups.tracking(session):
        result = jobs.write_jobs(session, batch)
        # The details were read from the job's metadata: its document is their rawMetadata.
        detail_rows = [
            {
                "print_job_id": result.ids[key],
                "raw_metadata_id": result.metadata_ids[key],
                **values,
            }
            for key, values in details.items()
        ]
        extracted = jobs.upsert_details(session, detail_rows)
    return PageWrite(result, extracted, _written(batch, result))


def metadata_details(row: dict[str, Any]) -> dict[str, Any]:
    """The details read from a parsed job's metadata, without the slicer settings of its
    gcode file and without the document itself (which ``write_page`` links)."""
    values = parse_details(row["job_metadata"])
    del values["raw_metadata"]  # the job's own document (write_page)
    return values


def _written(batch: jobs.JobBatch, result: jobs.UpsertResult) -> list[JobWritten]:
    def written(key: JobKey, *, created: bool) -> JobWritten:
        status = batch.incoming[key]["status"]
        return JobWritten(result.ids[key], key[0], key[1], status, created)

    restated = [
        key
        for key in result.updated_keys
        if batch.stored[key].status != batch.incoming[key]["status"]
    ]
    return [
        *(written(key, created=True) for key in result.created_keys),
        *(written(key, created=False) for key in restated),
    ]


def _identity(raw: dict[str, Any]) -> tuple[str, Any]:
    return str(raw.get("job_id", "")).upper(), raw.get("start_time")
