"""Sync printers: one lease, one run record and one history import per printer.

Every printer's outcome is a value (``SyncResult``), never an exception: one printer's
network fault or bug cannot fail the others or the caller.
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import anyio
import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gql_server.config import IPNetwork
from gql_server.db.models import Printer, SyncRun
from gql_server.db.secret_box import SecretBox
from gql_server.db.session import Database
from gql_server.db.types import utcnow
from gql_server.moonraker.client import MoonrakerClient
from gql_server.moonraker.errors import MoonrakerError
from gql_server.services.importer import HistoryImport, ImportCounts, ImportOptions, ImportTarget
from gql_server.services.moonraker_keys import SecretKeyError, open_api_key
from gql_server.services.sync_lease import new_owner, release_lease, take_lease
from gql_server.services.totals import recompute_totals

log = logging.getLogger(__name__)
T = TypeVar("T")

ALREADY_RUNNING = "SYNC_ALREADY_RUNNING"
NOT_FOUND = "NOT_FOUND"
INTERNAL = "INTERNAL_ERROR"
MESSAGE_MAX = 500


@dataclass(frozen=True, slots=True)
class SyncOptions:
    page_size: int = 200
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    max_response_bytes: int = 32 * 1024 * 1024
    retries: int = 3
    backoff_base: float = 0.2
    slicer_settings: bool = True
    concurrency: int = 4
    # GQL_MOONRAKER_ALLOWED_NETWORKS: where a Moonraker URL may point beyond the default
    # address rule (tests on 127.0.0.1 allow loopback here).
    allowed_networks: tuple[IPNetwork, ...] = ()


@dataclass(slots=True)
class SyncResult:
    printer_id: int
    printer_name: str | None
    started_at: datetime
    finished_at: datetime | None = None
    full: bool = False
    jobs_seen: int = 0
    jobs_created: int = 0
    jobs_updated: int = 0
    details_extracted: int = 0
    requests_made: int = 0
    error_code: str | None = None
    error_message: str | None = None
    newest_start: datetime | None = None  # newest job start time imported
    complete: bool = True  # False when the history shifted too much to trust the pass

    @property
    def ok(self) -> bool:
        return self.error_code is None

    @property
    def duration_seconds(self) -> float:
        end = self.finished_at or self.started_at
        return (end - self.started_at).total_seconds()

    def fail(self, code: str, message: str) -> None:
        self.error_code = code
        self.error_message = message[:MESSAGE_MAX]

    def count(self, counts: ImportCounts) -> None:
        self.jobs_seen = counts.jobs_seen
        self.jobs_created = counts.jobs_created
        self.jobs_updated = counts.jobs_updated
        self.details_extracted = counts.details_extracted
        self.newest_start = counts.newest_start
        self.complete = counts.complete


@dataclass(frozen=True, slots=True)
class _Claim:
    printer_id: int
    name: str
    url: str
    api_key: str | None  # as stored: encrypted, opened just before the import
    watermark: datetime | None
    owner: str
    run_id: int


ProgressCallback = Callable[[int, ImportCounts], None]


@dataclass
class Syncer:
    """Runs syncs against one database; tests inject the clock and an HTTP transport."""

    database: Database
    options: SyncOptions = field(default_factory=SyncOptions)
    clock: Callable[[], datetime] = utcnow
    transport: httpx.AsyncBaseTransport | None = None
    # Told about every finished sync (the app counts them for /metrics).
    observer: Callable[[SyncResult], None] | None = None
    # Opens the stored Moonraker API keys; None when the server has no secret.
    secret_box: SecretBox | None = None

    async def sync_printers(
        self,
        printer_ids: Sequence[int] | None = None,
        *,
        full: bool = False,
        progress: ProgressCallback | None = None,
    ) -> list[SyncResult]:
        """Sync the given printers (all active ones when None), ``concurrency`` at a time;
        results come back in the order of ``printer_ids``."""
        ids = list(printer_ids) if printer_ids is not None else await self._active_ids()
        results: dict[int, SyncResult] = {}
        limiter = anyio.CapacityLimiter(self.options.concurrency)

        async def one(printer_id: int) -> None:
            async with limiter:
                results[printer_id] = await self.sync_printer(
                    printer_id, full=full, progress=progress
                )

        async with anyio.create_task_group() as group:
            for printer_id in dict.fromkeys(ids):
                group.start_soon(one, printer_id)
        return [results[printer_id] for printer_id in dict.fromkeys(ids)]

    async def sync_printer(
        self, printer_id: int, *, full: bool = False, progress: ProgressCallback | None = None
    ) -> SyncResult:
        result = SyncResult(printer_id=printer_id, printer_name=None, started_at=self.clock())
        result.full = full
        claim = await self.database.run(lambda s: self._claim(s, printer_id, full, result))
        if claim is None:
            result.finished_at = self.clock()
            return result
        result.printer_name = claim.name
        try:
            await self._import(claim, full, result, progress)
        except (MoonrakerError, SecretKeyError) as exc:
            result.fail(exc.code, exc.message)
        except Exception:  # a bug must not take down other printers' syncs
            log.exception("sync of printer %s (id %s) failed", claim.name, printer_id)
            result.fail(INTERNAL, "the sync failed unexpectedly; the server log has details")
        finally:
            result.finished_at = self.clock()
            await self.database.run(lambda s: self._finish(s, claim, result))
            if self.observer is not None:
                self.observer(result)
        return result

    async def _import(
        self,
        claim: _Claim,
        full: bool,
        result: SyncResult,
        progress: ProgressCallback | None,
    ) -> None:
        options = self.options
        client = MoonrakerClient(
            claim.url,
            api_key=open_api_key(claim.api_key, self.secret_box),
            connect_timeout=options.connect_timeout,
            read_timeout=options.read_timeout,
            max_response_bytes=options.max_response_bytes,
            retries=options.retries,
            backoff_base=options.backoff_base,
            allowed_networks=options.allowed_networks,
            transport=self.transport,
        )
        history = HistoryImport(
            database=self.database,
            client=client,
            target=ImportTarget(claim.printer_id, claim.owner, claim.watermark),
            options=ImportOptions(
                page_size=options.page_size, slicer_settings=options.slicer_settings
            ),
            clock=self.clock,
            progress=None if progress is None else lambda c: progress(claim.printer_id, c),
        )
        async with client:
            try:
                await history.run(full=full)
            finally:
                result.count(history.counts)
                result.requests_made = client.requests_made

    async def _active_ids(self) -> list[int]:
        query = select(Printer.id).where(Printer.is_active.is_(True)).order_by(Printer.id)
        return await self.database.run(lambda s: list(s.scalars(query)))

    def _claim(
        self, session: Session, printer_id: int, full: bool, result: SyncResult
    ) -> _Claim | None:
        printer = session.get(Printer, printer_id)
        if printer is None:
            result.fail(NOT_FOUND, f"no printer with id {printer_id}")
            return None
        result.printer_name = printer.name
        owner = new_owner()
        if not take_lease(session, printer_id, owner, result.started_at):
            result.fail(ALREADY_RUNNING, f"printer {printer.name!r} is being synced already")
            return None
        # The run starts once the lease is ours: on MariaDB taking it may have waited for
        # the previous holder's commit, and the runs must not seem to overlap.
        result.started_at = self.clock()
        run = SyncRun(printer_id=printer_id, started_at=result.started_at, status="running")
        run.full = full
        session.add(run)
        session.flush()
        return _Claim(
            printer_id=printer_id,
            name=printer.name,
            url=printer.moonraker_url,
            api_key=printer.moonraker_api_key,
            watermark=printer.sync_watermark,
            owner=owner,
            run_id=run.id,
        )

    def _finish(self, session: Session, claim: _Claim, result: SyncResult) -> None:
        status = "succeeded" if result.ok else "failed"
        session.execute(
            update(SyncRun)
            .where(SyncRun.id == claim.run_id)
            .values(
                finished_at=result.finished_at,
                status=status,
                jobs_seen=result.jobs_seen,
                jobs_created=result.jobs_created,
                jobs_updated=result.jobs_updated,
                details_extracted=result.details_extracted,
                requests_made=result.requests_made,
                error_code=result.error_code,
                error_message=result.error_message,
            )
        )
        values: dict[str, Any] = {
            "last_sync_at": result.finished_at,
            "last_sync_status": status,
            "last_sync_error_code": result.error_code,
            "last_sync_error_message": result.error_message,
        }
        newest = result.newest_start
        if result.ok and result.complete and newest is not None:
            watermark = newest if claim.watermark is None else max(newest, claim.watermark)
            values["sync_watermark"] = watermark
        session.execute(
            update(Printer)
            .where(Printer.id == claim.printer_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if not result.ok:
            # The pages imported before the failure count; a success recomputed already.
            recompute_totals(session, [claim.printer_id])
        release_lease(session, claim.printer_id, claim.owner)
