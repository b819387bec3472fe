"""Live mode for the server's lifespan: one ``PrinterConnection`` per active printer.

The printer list is read again every ``poll_interval`` seconds: a printer added or
reactivated gets a connection, one removed or deactivated loses it (and its live state),
and one whose URL or key changed is reconnected. Each connection is its own task, so a
printer that is down costs only its retry timer.

A connection is opened only under the printer's live lease (services/sync/lease.py,
``LIVE``), so the processes of ``serve --workers N`` open one socket per printer between
them. Each refresh renews the leases held and tries to take the free or lapsed ones: a
worker that stops releases its printers (the others take them at their next refresh),
one that dies leaves them for at most one lease. Refreshes come every third of a lease
at least, so a live holder never lets its lease lapse.
"""

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from gql_server.db.faults import describe
from gql_server.db.models import Printer
from gql_server.db.types import utcnow
from gql_server.moonraker.live import LiveOptions
from gql_server.services.live.broker import BrokeredHub
from gql_server.services.live.connection import Backoff, PrinterConnection, PrinterTarget
from gql_server.services.live.group_commit import GroupCommit
from gql_server.services.live.hub import EventHub, StatusChanged
from gql_server.services.live.state import LiveStatus, PrinterLive
from gql_server.services.sync.lease import LEASE, LIVE, hold_leases, new_owner, release_lease
from gql_server.services.sync.runs import Syncer

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class LiveServiceOptions:
    poll_interval: float = 10.0
    backoff: Backoff = field(default_factory=Backoff)
    socket: LiveOptions = field(default_factory=LiveOptions)
    # How long a dead worker keeps its printers' sockets from the others (GQL_SYNC_LEASE).
    lease: timedelta = LEASE

    @property
    def refresh_interval(self) -> float:
        return min(self.poll_interval, self.lease.total_seconds() / 3)


class LiveService:
    def __init__(
        self,
        syncer: Syncer,
        options: LiveServiceOptions | None = None,
        *,
        hub: EventHub | None = None,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
    ) -> None:
        self.syncer = syncer
        self.options = options or LiveServiceOptions()
        self.hub = hub or EventHub()
        self.clock = clock
        self.rng = rng or random.Random()
        self.connections: dict[int, PrinterConnection] = {}
        self._records: dict[int, PrinterLive] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._active: set[int] = set()
        self.owner = new_owner()  # this process, as the holder of live leases
        self.retired_reconnects = 0  # of connections stopped since, for the metrics
        self._stopping = asyncio.Event()
        # Printers syncing after a (re)connect at once: a restart reconnects the whole farm.
        self._sync_slots = asyncio.Semaphore(syncer.options.concurrency)
        # SQLite writes one transaction at a time: the printers' history writes share one.
        sqlite = syncer.database.engine.dialect.name == "sqlite"
        self._writes = GroupCommit(syncer.database) if sqlite else None

    def status(self, printer_id: int) -> LiveStatus | None:
        """The printer's live state; None when live mode does not follow it. A printer
        another worker holds answers with what that worker published through the broker."""
        record = self._records.get(printer_id)
        if record is not None:
            return record.snapshot()
        if printer_id in self._active and isinstance(self.hub, BrokeredHub):
            return self.hub.remote_status(printer_id)
        return None

    def connection_counts(self) -> dict[str, int]:
        """Printers this worker holds, by connection state (CONNECTED, OFFLINE, …)."""
        counts: dict[str, int] = {}
        for record in self._records.values():
            counts[record.connection] = counts.get(record.connection, 0) + 1
        return counts

    @property
    def reconnects(self) -> int:
        """Attempts after each connection's first, over this worker's life."""
        current = sum(max(c.attempts - 1, 0) for c in self.connections.values())
        return self.retired_reconnects + current

    async def run(self) -> None:
        """Follow the printer list until ``stop``; then close every connection."""
        try:
            while not self._stopping.is_set():
                await self.refresh()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.options.refresh_interval)
        finally:
            await self._stop_all()

    async def stop(self) -> None:
        self._stopping.set()
        await self._stop_all()

    async def refresh(self) -> None:
        """Bring the connections in line with the active printers."""
        try:
            targets = await self._active_printers()
            held = await self.syncer.database.run(lambda s: self._hold(s, set(targets)))
        except Exception as exc:  # the database is down: keep what runs, try again later
            log.warning("live mode could not read the printer list: %s", describe(exc))
            return
        self._active = set(targets)
        for printer_id in list(self._tasks):
            if printer_id not in held or targets.get(printer_id) != self._target_of(printer_id):
                await self._stop_one(printer_id)
        for printer_id in held:
            if printer_id not in self._tasks and not self._stopping.is_set():
                self._start(targets[printer_id])
        self._restate()

    def _hold(self, session: Session, printer_ids: set[int]) -> set[int]:
        """Renew the leases held here, take the free ones: what this worker holds now."""
        lease = self.options.lease
        return hold_leases(session, printer_ids, self.owner, self.clock(), lease, kind=LIVE)

    def _restate(self) -> None:
        """Each refresh, the other workers learn the status of the printers held here."""
        if isinstance(self.hub, BrokeredHub):
            for printer_id, record in self._records.items():
                self.hub.replay(StatusChanged(printer_id, record.snapshot()))

    def _target_of(self, printer_id: int) -> PrinterTarget | None:
        connection = self.connections.get(printer_id)
        return None if connection is None else connection.target

    def _start(self, target: PrinterTarget) -> None:
        record = PrinterLive(target.printer_id, self.clock)
        connection = PrinterConnection(
            target,
            syncer=self.syncer,
            hub=self.hub,
            record=record,
            socket_options=self.options.socket,
            backoff=self.options.backoff,
            sync_slots=self._sync_slots,
            clock=self.clock,
            rng=random.Random(self.rng.random()),
            writes=self._writes,
        )
        self._records[target.printer_id] = record
        self.connections[target.printer_id] = connection
        self._tasks[target.printer_id] = asyncio.ensure_future(connection.run())

    async def _stop_one(self, printer_id: int) -> None:
        task = self._tasks.pop(printer_id)
        self._retire(printer_id)
        task.cancel()
        await _wait_cancelled([task])
        await self._release([printer_id])

    async def _stop_all(self) -> None:
        held = list(self._tasks)
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        await _wait_cancelled(tasks)
        await self._release(held)

    def _retire(self, printer_id: int) -> None:
        connection = self.connections.pop(printer_id, None)
        if connection is not None:
            self.retired_reconnects += max(connection.attempts - 1, 0)
        self._records.pop(printer_id, None)

    async def _release(self, printer_ids: list[int]) -> None:
        """Hand the printers to the other workers now rather than after the lease."""
        if not printer_ids:
            return

        def release(session: Session) -> None:
            for printer_id in printer_ids:
                release_lease(session, printer_id, self.owner, kind=LIVE)

        try:
            await self.syncer.database.run(release)
        except Exception as exc:  # the leases then lapse on their own
            log.warning("live mode could not release its leases: %s", describe(exc))

    async def _active_printers(self) -> dict[int, PrinterTarget]:
        query = select(
            Printer.id, Printer.name, Printer.moonraker_url, Printer.moonraker_api_key
        ).where(Printer.is_active.is_(True))
        rows = await self.syncer.database.run(lambda s: list(s.execute(query)))
        return {
            row.id: PrinterTarget(row.id, row.name, row.moonraker_url, row.moonraker_api_key)
            for row in rows
        }


async def _wait_cancelled(tasks: list[asyncio.Task[None]]) -> None:
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=STOP_TIMEOUT_S)
    if pending:
        log.warning("%d live connection(s) did not stop within %s s", len(pending), STOP_TIMEOUT_S)
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            log.error("a live connection ended with an error", exc_info=task.exception())
