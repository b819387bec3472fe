"""Sync printers: one lease, one run record and one history import per printer.

Every printer's outcome is a value (``SyncResult``), never an exception: one printer's
network fault, storage fault or bug cannot fail the others or the caller. Every way out
of a claimed sync (success, failure, shutdown, cancellation by the caller) closes its run
and releases its lease; a holder that dies outright leaves a lease that lapses within
``lease_seconds``.
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

import anyio
import httpx
from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from gql_server.config import IPNetwork
from gql_server.db.faults import describe, run_retrying_conflicts, storage_fault
from gql_server.db.models import Printer, SyncRun
from gql_server.db.secret_box import SecretBox
from gql_server.db.session import Database
from gql_server.db.types import utcnow
from gql_server.moonraker.client import MoonrakerClient
from gql_server.moonraker.errors import MoonrakerError
from gql_server.services.importer import HistoryImport, ImportCounts, ImportOptions, ImportTarget
from gql_server.services.moonraker_keys import SecretKeyError, open_api_key
from gql_server.services.sync_lease import (
    abandon_runs,
    new_owner,
    release_lease,
    renew_lease,
    take_lease,
)
from gql_server.services.totals import recompute_totals

log = logging.getLogger(__name__)
T = TypeVar("T")

ALREADY_RUNNING = "SYNC_ALREADY_RUNNING"
NOT_FOUND = "NOT_FOUND"
INTERNAL = "INTERNAL_ERROR"
SHUTTING_DOWN = "SHUTTING_DOWN"  # the server (or the CLI) is stopping
CANCELLED = "CANCELLED"  # the caller gave up on the sync (e.g. its request was cancelled)
LEASE_LOST = "LEASE_LOST"  # the lease lapsed (heartbeats failed) and another sync took it
MESSAGE_MAX = 500
RUN_STATUS = {SHUTTING_DOWN: "cancelled", CANCELLED: "cancelled"}
SHUTTING_DOWN_MESSAGE = (
    "the server is shutting down; the sync was cancelled (pages already imported are kept)"
)
CLOSE_TIMEOUT_S = 5.0  # how long shut_down waits for cancelled syncs to close their runs
IDLE_POLL_S = 0.05


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
    # GQL_SYNC_LEASE: how long a holder that died blocks its printer; renewed every third.
    lease_seconds: float = 30.0
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
    """Runs syncs against one database; tests inject the clock and an HTTP transport.

    One Syncer may serve several event loops one after the other (the CLI, tests), so it
    keeps no loop-bound object between calls: only the cancel scopes of the syncs running.
    """

    database: Database
    options: SyncOptions = field(default_factory=SyncOptions)
    clock: Callable[[], datetime] = utcnow
    transport: httpx.AsyncBaseTransport | None = None
    # Told about every finished sync (the app counts them for /metrics).
    observer: Callable[[SyncResult], None] | None = None
    # Opens the stored Moonraker API keys; None when the server has no secret.
    secret_box: SecretBox | None = None
    _running: set[anyio.CancelScope] = field(default_factory=set, init=False, repr=False)
    _closing: bool = field(default=False, init=False, repr=False)
    # Leases a storage fault kept us from releasing, by printer: released at its next claim.
    _unreleased: dict[int, str] = field(default_factory=dict, init=False, repr=False)

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.options.lease_seconds)

    def close(self) -> None:
        """Refuse new syncs with SHUTTING_DOWN; running ones go on."""
        self._closing = True

    def cancel_running(self) -> None:
        """Stop every running sync now: each ends SHUTTING_DOWN, its run ``cancelled``
        and its lease released (pages already written stay)."""
        self.close()
        for scope in list(self._running):
            scope.cancel()

    async def shut_down(self, grace: float) -> None:
        """Refuse new syncs, give running ones ``grace`` seconds to end, cancel the rest
        and wait (briefly) until they have closed their runs."""
        self.close()
        with anyio.move_on_after(grace):
            await self._until_idle()
        self.cancel_running()
        with anyio.move_on_after(CLOSE_TIMEOUT_S):
            await self._until_idle()

    async def _until_idle(self) -> None:
        while self._running:
            await anyio.sleep(IDLE_POLL_S)

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
        if self._closing:
            result.fail(SHUTTING_DOWN, SHUTTING_DOWN_MESSAGE)
            claim = None
        else:
            claim = await self._claim_or_fail(printer_id, full, result)
        if claim is None:
            result.finished_at = self.clock()
            return result
        result.printer_name = claim.name
        await self._run_claimed(claim, full, result, progress)
        return result

    async def _claim_or_fail(
        self, printer_id: int, full: bool, result: SyncResult
    ) -> _Claim | None:
        try:
            await self._release_unreleased(printer_id)
            return await run_retrying_conflicts(
                self.database, lambda s: self._claim(s, printer_id, full, result)
            )
        except Exception as exc:
            _fail_with(result, exc, f"claiming printer id {printer_id}")
            return None

    async def _run_claimed(
        self,
        claim: _Claim,
        full: bool,
        result: SyncResult,
        progress: ProgressCallback | None,
    ) -> None:
        """The import beside its lease's heartbeat, in a scope ``cancel_running`` can
        cancel; whatever happens, the run is closed and the lease released."""
        work = anyio.CancelScope()
        self._running.add(work)
        try:
            with work:
                async with anyio.create_task_group() as group:
                    group.start_soon(self._keep_lease, claim, result, work)
                    await self._import_or_fail(claim, full, result, progress)
                    group.cancel_scope.cancel()
            if work.cancelled_caught and result.ok:
                result.fail(SHUTTING_DOWN, SHUTTING_DOWN_MESSAGE)
        except anyio.get_cancelled_exc_class():
            result.fail(CANCELLED, "the sync was cancelled before it finished")
            raise
        finally:
            self._running.discard(work)
            result.finished_at = self.clock()
            with anyio.CancelScope(shield=True):
                await self._close_run(claim, result)
            if self.observer is not None:
                self.observer(result)

    async def _import_or_fail(
        self,
        claim: _Claim,
        full: bool,
        result: SyncResult,
        progress: ProgressCallback | None,
    ) -> None:
        try:
            await self._import(claim, full, result, progress)
        except Exception as exc:  # a bug must not take down other printers' syncs
            _fail_with(result, exc, f"sync of printer {claim.name!r} (id {claim.printer_id})")

    async def _keep_lease(self, claim: _Claim, result: SyncResult, work: anyio.CancelScope) -> None:
        """Renew the lease every third of its length. A renewal that fails is tried again
        at the next beat (the import meets the same fault and reports it); a lease found
        taken over stops the import, so two syncs never write one printer at once."""
        while True:
            await anyio.sleep(self.options.lease_seconds / 3)
            try:
                held = await run_retrying_conflicts(
                    self.database,
                    lambda s: renew_lease(
                        s, claim.printer_id, claim.owner, self.clock(), self.lease
                    ),
                )
            except Exception as exc:
                log.warning("could not renew the sync lease of %s: %s", claim.name, describe(exc))
                continue
            if not held:
                result.fail(LEASE_LOST, "the sync lost its lease to another sync and stopped")
                work.cancel()
                return

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
            target=ImportTarget(claim.printer_id, claim.watermark),
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
        if not take_lease(session, printer_id, owner, result.started_at, self.lease):
            result.fail(ALREADY_RUNNING, f"printer {printer.name!r} is being synced already")
            return None
        # The run starts once the lease is ours: on MariaDB taking it may have waited for
        # the previous holder's commit, and the runs must not seem to overlap.
        result.started_at = self.clock()
        abandon_runs(session, printer_id, result.started_at)
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

    async def _close_run(self, claim: _Claim, result: SyncResult) -> None:
        """Record the outcome and release the lease; when the storage refuses that (a full
        disk refuses the totals first), close the run and release the lease alone, and
        failing even that, remember the lease so this process frees it at the next claim."""
        try:
            await run_retrying_conflicts(self.database, lambda s: self._finish(s, claim, result))
            return
        except Exception as exc:
            _fail_with(result, exc, f"recording the sync of printer {claim.name!r}")
        try:
            await run_retrying_conflicts(self.database, lambda s: _end_run(s, claim, result))
        except Exception as exc:
            log.warning("could not release the sync lease of %s: %s", claim.name, describe(exc))
            self._unreleased[claim.printer_id] = claim.owner

    async def _release_unreleased(self, printer_id: int) -> None:
        owner = self._unreleased.get(printer_id)
        if owner is not None:
            await self.database.run(lambda s: release_lease(s, printer_id, owner))
            del self._unreleased[printer_id]

    def _finish(self, session: Session, claim: _Claim, result: SyncResult) -> None:
        if not _end_run(session, claim, result):
            return  # taken over meanwhile: the new holder owns the printer's sync state
        status = _run_status(result)
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


def _run_status(result: SyncResult) -> str:
    if result.ok:
        return "succeeded"
    return RUN_STATUS.get(result.error_code or "", "failed")


def _end_run(session: Session, claim: _Claim, result: SyncResult) -> bool:
    """Close the run and release the lease: the two writes every exit path needs, first
    in the transaction so that the printer row is locked before the run row, as in the
    claim. False when the run is no longer ours (a later sync marked it abandoned)."""
    release_lease(session, claim.printer_id, claim.owner)
    closed = session.execute(
        update(SyncRun)
        .where(SyncRun.id == claim.run_id, SyncRun.status == "running")
        .values(
            finished_at=result.finished_at,
            status=_run_status(result),
            jobs_seen=result.jobs_seen,
            jobs_created=result.jobs_created,
            jobs_updated=result.jobs_updated,
            details_extracted=result.details_extracted,
            requests_made=result.requests_made,
            error_code=result.error_code,
            error_message=result.error_message,
        )
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], closed).rowcount == 1


def _fail_with(result: SyncResult, exc: Exception, doing: str) -> None:
    """A Moonraker or storage fault as its stable code; anything else is a bug, logged
    whole and reported as INTERNAL_ERROR."""
    if isinstance(exc, MoonrakerError | SecretKeyError):
        result.fail(exc.code, exc.message)
        return
    fault = storage_fault(exc)
    if fault is not None:
        log.warning("%s: storage fault (%s): %s", doing, fault.kind, exc)
        result.fail(fault.code, fault.message)
        return
    log.error("%s failed", doing, exc_info=exc)
    result.fail(INTERNAL, "the sync failed unexpectedly; the server log has details")
