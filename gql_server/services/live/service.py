"""Live mode for the server's lifespan: one ``PrinterConnection`` per active printer.

The printer list is read again every ``poll_interval`` seconds: a printer added or
reactivated gets a connection, one removed or deactivated loses it (and its live state),
and one whose URL or key changed is reconnected. Each connection is its own task, so a
printer that is down costs only its retry timer.
"""

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from gql_server.db.faults import describe
from gql_server.db.models import Printer
from gql_server.db.types import utcnow
from gql_server.moonraker.live import LiveOptions
from gql_server.services.live.connection import Backoff, PrinterConnection, PrinterTarget
from gql_server.services.live.hub import EventHub
from gql_server.services.live.state import LiveStatus, PrinterLive
from gql_server.services.sync.runs import Syncer

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class LiveServiceOptions:
    poll_interval: float = 10.0
    backoff: Backoff = field(default_factory=Backoff)
    socket: LiveOptions = field(default_factory=LiveOptions)


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
        self._stopping = asyncio.Event()
        # Printers syncing after a (re)connect at once: a restart reconnects the whole farm.
        self._sync_slots = asyncio.Semaphore(syncer.options.concurrency)

    def status(self, printer_id: int) -> LiveStatus | None:
        """The printer's live state; None when live mode does not follow it."""
        record = self._records.get(printer_id)
        return None if record is None else record.snapshot()

    async def run(self) -> None:
        """Follow the printer list until ``stop``; then close every connection."""
        try:
            while not self._stopping.is_set():
                await self.refresh()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.options.poll_interval)
        finally:
            await self._stop_all()

    async def stop(self) -> None:
        self._stopping.set()
        await self._stop_all()

    async def refresh(self) -> None:
        """Bring the connections in line with the active printers."""
        try:
            targets = await self._active_printers()
        except Exception as exc:  # the database is down: keep what runs, try again later
            log.warning("live mode could not read the printer list: %s", describe(exc))
            return
        for printer_id in list(self._tasks):
            if targets.get(printer_id) != self._target_of(printer_id):
                await self._stop_one(printer_id)
        for printer_id, target in targets.items():
            if printer_id not in self._tasks and not self._stopping.is_set():
                self._start(target)

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
        )
        self._records[target.printer_id] = record
        self.connections[target.printer_id] = connection
        self._tasks[target.printer_id] = asyncio.ensure_future(connection.run())

    async def _stop_one(self, printer_id: int) -> None:
        task = self._tasks.pop(printer_id)
        self.connections.pop(printer_id, None)
        self._records.pop(printer_id, None)
        task.cancel()
        await _wait_cancelled([task])

    async def _stop_all(self) -> None:
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        await _wait_cancelled(tasks)

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
