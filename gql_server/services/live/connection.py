"""One printer's live connection, kept up for as long as the printer is active.

Each (re)connect: open and identify (AUTH_FAILED when Moonraker refuses the key, since it
would otherwise leave the socket open and silent), subscribe, run an incremental sync so
that nothing printed while the socket was down is lost, then follow the notifications.
Notifications arriving during the sync wait in the socket's bounded backlog and are
applied after it, in order.

Every failure ends the attempt with a stable code (as the sync's: UNREACHABLE, TIMEOUT,
AUTH_FAILED, ADDRESS_REFUSED, STORAGE_ERROR, …) and a retry after a capped exponential
backoff with jitter. Nothing escapes the loop: one printer cannot disturb another.
"""

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gql_server.db.faults import storage_fault
from gql_server.moonraker.errors import MoonrakerError
from gql_server.moonraker.live import LiveOptions, MoonrakerSocket, Notification
from gql_server.services.live.group_commit import GroupCommit
from gql_server.services.live.history import HistoryWriter, LeaseBusyError
from gql_server.services.live.hub import EventHub, JobAction, JobChanged, StatusChanged
from gql_server.services.live.state import Connection, LiveStatus, PrinterLive
from gql_server.services.moonraker_keys import SecretKeyError, open_api_key
from gql_server.services.sync.results import ALREADY_RUNNING, INTERNAL
from gql_server.services.sync.runs import Syncer

log = logging.getLogger(__name__)

HISTORY_ACTIONS: dict[str, JobAction] = {"added": "ADDED", "finished": "FINISHED"}


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays between attempts: ``base * 2**n`` capped at ``cap``, times a random factor
    in [0.5, 1] so that a farm that lost its network does not reconnect in lockstep."""

    base: float = 1.0
    cap: float = 60.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        ceiling: float = min(self.cap, self.base * 2.0 ** min(attempt, 30))
        return ceiling * rng.uniform(0.5, 1.0)


@dataclass(frozen=True, slots=True)
class PrinterTarget:
    """What the printer list says about one active printer; a change restarts it."""

    printer_id: int
    name: str
    url: str
    api_key: str | None  # as stored (encrypted)


@dataclass(frozen=True, slots=True)
class Failure:
    code: str
    message: str


class PrinterConnection:
    def __init__(
        self,
        target: PrinterTarget,
        *,
        syncer: Syncer,
        hub: EventHub,
        record: PrinterLive,
        socket_options: LiveOptions,
        backoff: Backoff,
        sync_slots: asyncio.Semaphore,
        clock: Callable[[], datetime],
        rng: random.Random | None = None,
        writes: GroupCommit | None = None,
    ) -> None:
        self.target = target
        self.syncer = syncer
        self.hub = hub
        self.record = record
        self.socket_options = socket_options
        self.backoff = backoff
        self.sync_slots = sync_slots
        self.clock = clock
        self.rng = rng or random.Random()
        self.attempts = 0  # connection attempts made, for tests and metrics
        self.synced = False  # this connection's catch-up sync is done: following live
        self.writer = HistoryWriter(
            syncer.database,
            target.printer_id,
            clock,
            syncer.lease,
            slicer_settings=syncer.options.slicer_settings,
            spoolman_url=syncer.options.spoolman_url,
            currency=syncer.options.currency,
            writes=writes,
        )

    async def run(self) -> None:
        """Connect, follow, and retry after failures, until cancelled."""
        failures = 0
        while True:
            self.attempts += 1
            self.synced = False
            self._publish(self.record.connecting())
            started = asyncio.get_running_loop().time()
            failure = await self._attempt()
            up_for = asyncio.get_running_loop().time() - started
            failures = 1 if up_for > self.backoff.cap else failures + 1
            connection = (
                Connection.AUTH_FAILED if failure.code == "AUTH_FAILED" else Connection.OFFLINE
            )
            # Logged when the reason changes: a printer off for a week is one line.
            level = logging.INFO if failure.code != self.record.error_code else logging.DEBUG
            self._publish(self.record.failed(connection, failure.code, failure.message))
            log.log(
                level,
                "live connection to %s ended: %s %s",
                self.target.name,
                failure.code,
                failure.message,
            )
            await asyncio.sleep(self.backoff.delay(failures - 1, self.rng))

    async def _attempt(self) -> Failure:
        try:
            await self._connect_and_follow()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # every failure is this printer's alone
            return _failure(exc, self.target.name)
        return Failure("UNREACHABLE", "Moonraker closed the websocket")

    async def _connect_and_follow(self) -> None:
        api_key = open_api_key(self.target.api_key, self.syncer.secret_box)
        socket = MoonrakerSocket(self.target.url, api_key=api_key, options=self.socket_options)
        async with socket:
            info = await socket.server_info()
            self._publish(self.record.connected(_str(info.get("klippy_state"))))
            await self._subscribe(socket)
            await self._sync()
            self.synced = True
            log.info("live: following %s", self.target.name)
            async with self.syncer.moonraker_client(self.target.url, self.target.api_key) as http:
                async for notification in socket.notifications():
                    await self._handle(notification, socket, http)

    async def _subscribe(self, socket: MoonrakerSocket) -> None:
        status = await socket.subscribe()
        if status is not None:
            self._publish(self.record.replace_objects(status))

    async def _sync(self) -> None:
        """An incremental sync under the sync's own lease; one already running (periodic
        or asked for) covers the gap as well."""
        async with self.sync_slots:
            result = await self.syncer.sync_printer(self.target.printer_id)
        if not result.ok and result.error_code != ALREADY_RUNNING:
            log.warning(
                "sync of %s after connecting failed: %s %s (the next sync resumes)",
                self.target.name,
                result.error_code,
                result.error_message,
            )

    async def _handle(self, note: Notification, socket: MoonrakerSocket, http: Any) -> None:
        method, params = note.method, note.params
        if method == "notify_status_update":
            if params and isinstance(params[0], dict):
                self._publish(self.record.merge(params[0]))
        elif method == "notify_history_changed":
            await self._history(params, http)
        elif method == "notify_klippy_ready":
            # Moonraker dropped every subscription when Klippy went away.
            self._publish(self.record.klippy("ready"))
            await self._subscribe(socket)
        elif method == "notify_klippy_shutdown":
            self._publish(self.record.klippy("shutdown"))
        elif method == "notify_klippy_disconnected":
            self._publish(self.record.klippy("disconnected"))

    async def _history(self, params: list[Any], http: Any) -> None:
        change = params[0] if params and isinstance(params[0], dict) else {}
        action = HISTORY_ACTIONS.get(str(change.get("action")))
        job = change.get("job")
        if action is None or not isinstance(job, dict):
            return  # a deletion or reset: jobs deleted from Moonraker stay here
        written = await self.writer.write(job, http)
        if written.changed:  # otherwise a sync wrote it first, and announced it
            self.hub.publish(
                JobChanged(
                    self.target.printer_id,
                    action,
                    written.print_job_id,
                    written.job_id,
                    written.start_time,
                )
            )
        if written.finished:
            await self.writer.store_totals(http)

    def _publish(self, status: LiveStatus) -> None:
        self.hub.publish(StatusChanged(self.target.printer_id, status))


def _failure(exc: Exception, name: str) -> Failure:
    if isinstance(exc, MoonrakerError | SecretKeyError):
        return Failure(exc.code, exc.message)
    if isinstance(exc, LeaseBusyError):
        return Failure(ALREADY_RUNNING, str(exc))
    fault = storage_fault(exc)
    if fault is not None:
        return Failure(fault.code, fault.message)
    log.error("live connection to %s failed", name, exc_info=exc)
    return Failure(INTERNAL, "the live connection failed unexpectedly; the server log has details")


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
