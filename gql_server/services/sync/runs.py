"""Sync printers: one lease, one run record and one history import per printer.

Every printer's outcome is a value (``SyncResult``), never an exception. Every way out of
a claimed sync (success, failure, shutdown, cancellation by the caller) closes its run
and releases its lease; a holder that dies outright leaves a lease that lapses within
``lease_seconds``.
"""

import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import anyio
import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from gql_server.config import DEFAULTS, Settings
from gql_server.db.faults import describe, run_retrying_conflicts
from gql_server.db.models import Printer
from gql_server.db.secret_box import SecretBox, secret_box_for
from gql_server.db.session import Database
from gql_server.db.types import utcnow
from gql_server.moonraker.client import ClientOptions, MoonrakerClient
from gql_server.services.moonraker_keys import open_api_key
from gql_server.services.sync.importer import (
    HistoryImport,
    ImportCounts,
    ImportOptions,
    ImportTarget,
    JobsWritten,
    JobWritten,
    Progress,
)
from gql_server.services.sync.lease import release_lease, renew_lease
from gql_server.services.sync.moonraker_totals import store_moonraker_totals
from gql_server.services.sync.results import (
    CANCELLED,
    LEASE_LOST,
    SHUTTING_DOWN,
    SHUTTING_DOWN_MESSAGE,
    SyncResult,
    fail_with,
)
from gql_server.services.sync.run_records import Claim, claim_printer, end_run, finish_run
from gql_server.services.sync.spools import SpoolQuoter
from gql_server.services.totals import recompute_totals
from gql_server.spoolman.client import SpoolmanClient

log = logging.getLogger(__name__)

CLOSE_TIMEOUT_S = 5.0  # how long shut_down waits for cancelled syncs to close their runs
IDLE_POLL_S = 0.05


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncOptions(ClientOptions):
    """The Moonraker client's options, and how the sync pages, reads slicer settings,
    runs printers side by side and holds its lease."""

    page_size: int = 200
    slicer_settings: bool = True
    # The rest are settings (syncer_from_settings), with the same defaults.
    concurrency: int = DEFAULTS.sync_concurrency
    # GQL_SYNC_LEASE: how long a holder that died blocks its printer; renewed every third.
    lease_seconds: float = DEFAULTS.sync_lease
    # GQL_SPOOLMAN_URL and GQL_CURRENCY: where the jobs' spools are priced, and the one
    # currency their prices must be in (services/sync/spools.py).
    spoolman_url: str | None = DEFAULTS.spoolman_url
    currency: str = DEFAULTS.currency


ProgressCallback = Callable[[int, ImportCounts], None]
JobsCallback = Callable[[int, list[JobWritten]], None]


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
    # Told about every page any sync imports, besides the caller's own progress (the app
    # publishes it to GraphQL subscriptions).
    progress_observer: ProgressCallback | None = None
    # Told about the jobs each page of any sync created or changed the status of (the app
    # publishes them as job events).
    jobs_observer: JobsCallback | None = None
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
        on_page = self._on_page(printer_id, progress)
        await self._run_claimed(claim, result, on_page)
        return result

    def _on_page(self, printer_id: int, progress: ProgressCallback | None) -> Progress | None:
        callbacks = [c for c in (progress, self.progress_observer) if c is not None]
        if not callbacks:
            return None

        def on_page(counts: ImportCounts) -> None:
            for callback in callbacks:
                callback(printer_id, counts)

        return on_page

    def _on_jobs(self, printer_id: int) -> JobsWritten | None:
        observer = self.jobs_observer
        if observer is None:
            return None
        return lambda written: observer(printer_id, written)

    async def _claim_or_fail(self, printer_id: int, full: bool, result: SyncResult) -> Claim | None:
        def claim(session: Session) -> Claim | None:
            return claim_printer(
                session, printer_id, result, full=full, lease=self.lease, clock=self.clock
            )

        try:
            await self._release_unreleased(printer_id)
            return await run_retrying_conflicts(self.database, claim)
        except Exception as exc:
            fail_with(result, exc, f"claiming printer id {printer_id}")
            return None

    async def _run_claimed(
        self, claim: Claim, result: SyncResult, on_page: Progress | None
    ) -> None:
        """The import beside its lease's heartbeat, in a scope ``cancel_running`` can
        cancel; whatever happens, the run is closed and the lease released."""
        work = anyio.CancelScope()
        self._running.add(work)
        try:
            with work:
                async with anyio.create_task_group() as group:
                    group.start_soon(self._keep_lease, claim, result, work)
                    await self._import_or_fail(claim, result, on_page)
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
        self, claim: Claim, result: SyncResult, on_page: Progress | None
    ) -> None:
        try:
            reported = await self._import(claim, result, on_page)
            await self._record_totals(claim.printer_id, reported)
        except Exception as exc:  # a bug must not take down other printers' syncs
            fail_with(result, exc, f"sync of printer {claim.name!r} (id {claim.printer_id})")

    async def _keep_lease(self, claim: Claim, result: SyncResult, work: anyio.CancelScope) -> None:
        """Renew the lease every third of its length. A renewal that fails is tried again
        at the next beat (the import meets the same fault and reports it); a lease found
        taken over stops the import, so two syncs never write one printer at once."""
        while True:
            await anyio.sleep(self.options.lease_seconds / 3)
            try:
                held = await run_retrying_conflicts(
                    self.database,
                    lambda s: renew_lease(
                        s, claim.printer_id, claim.owner, self.clock() + self.lease
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
        self, claim: Claim, result: SyncResult, on_page: Progress | None
    ) -> dict[str, Any]:
        """Import the history, then read Moonraker's own totals (its ``job_totals``)."""
        client = self._client(claim)
        history = HistoryImport(
            database=self.database,
            client=client,
            target=ImportTarget(claim.printer_id, claim.watermark),
            options=ImportOptions(
                page_size=self.options.page_size, slicer_settings=self.options.slicer_settings
            ),
            clock=self.clock,
            progress=on_page,
            on_jobs=self._on_jobs(claim.printer_id),
        )
        async with client, contextlib.AsyncExitStack() as stack:
            if self.options.spoolman_url is not None:
                spoolman = await stack.enter_async_context(
                    SpoolmanClient(self.options.spoolman_url)
                )
                history.spools = SpoolQuoter(spoolman, self.options.currency)
            try:
                await history.run(full=claim.full)
                reported = await client.history_totals()
            finally:
                result.counts = history.counts
                result.requests_made = client.requests_made
        job_totals: dict[str, Any] = reported["job_totals"]
        return job_totals

    def _client(self, claim: Claim) -> MoonrakerClient:
        return self.moonraker_client(claim.url, claim.api_key)

    def moonraker_client(self, url: str, stored_api_key: str | None) -> MoonrakerClient:
        """An HTTP client for a printer with this sync's options; ``stored_api_key`` as
        stored (encrypted). Live mode reads through it too."""
        return MoonrakerClient(
            url,
            api_key=open_api_key(stored_api_key, self.secret_box),
            options=self.options,
            transport=self.transport,
        )

    async def _record_totals(self, printer_id: int, reported: dict[str, Any]) -> None:
        """Ours, recomputed once from every job the import wrote (not per page: the
        aggregate reads all the printer's jobs), and Moonraker's as it reported them, in
        one transaction so that a reader never sees one set newer than the other."""

        def record(session: Session) -> None:
            recompute_totals(session, [printer_id])
            store_moonraker_totals(session, printer_id, reported, self.clock())

        await self.database.run(record)

    async def _active_ids(self) -> list[int]:
        query = select(Printer.id).where(Printer.is_active.is_(True)).order_by(Printer.id)
        return await self.database.run(lambda s: list(s.scalars(query)))

    async def _close_run(self, claim: Claim, result: SyncResult) -> None:
        """Record the outcome and release the lease; when the storage refuses that (a full
        disk refuses the totals first), close the run and release the lease alone, and
        failing even that, remember the lease so this process frees it at the next claim."""
        try:
            await run_retrying_conflicts(self.database, lambda s: finish_run(s, claim, result))
            return
        except Exception as exc:
            fail_with(result, exc, f"recording the sync of printer {claim.name!r}")
        try:
            await run_retrying_conflicts(self.database, lambda s: end_run(s, claim, result))
        except Exception as exc:
            log.warning("could not release the sync lease of %s: %s", claim.name, describe(exc))
            self._unreleased[claim.printer_id] = claim.owner

    async def _release_unreleased(self, printer_id: int) -> None:
        owner = self._unreleased.get(printer_id)
        if owner is not None:
            await self.database.run(lambda s: release_lease(s, printer_id, owner))
            del self._unreleased[printer_id]


def syncer_from_settings(
    database: Database, settings: Settings, clock: Callable[[], datetime] = utcnow
) -> Syncer:
    """The Syncer the server and ``gql-server sync`` run: the GQL_SYNC_* options, the
    spool pricing and the secret that opens the stored Moonraker API keys."""
    options = SyncOptions(
        concurrency=settings.sync_concurrency,
        lease_seconds=settings.sync_lease,
        allowed_networks=settings.moonraker_allowed_networks,
        spoolman_url=settings.spoolman_url,
        currency=settings.currency,
    )
    return Syncer(database, options, clock=clock, secret_box=secret_box_for(settings.secret_key))
