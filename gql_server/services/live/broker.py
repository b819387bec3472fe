"""The hub of one worker among several: every event also goes through Redis pub/sub.

``serve --workers N`` gives each printer's websocket to one worker (the live lease), so
each event happens in one process. ``BrokeredHub`` publishes it locally as ``EventHub``
does, and also to one Redis channel; every other worker's hub hands what it receives to
its own subscribers and keeps the newest ``LiveStatus`` of each printer, so that
``Printer.liveStatus`` answers alike on every worker.

Redis pub/sub and not a stream: an event is only worth its moment (a worker that was
away reads the database, and the holder restates each status every refresh), so
nothing needs storing in the broker. A lost or unreachable Redis never stops the
worker: the state says why (``/readyz`` shows it), queries go on, events stay in their
worker, and the connection is retried with a capped backoff; events resume with it.
"""

import asyncio
import contextlib
import logging
import random
import typing
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import anyio
import redis.asyncio as redis

from gql_server.services.live.connection import Backoff
from gql_server.services.live.hub import Event, EventHub, StatusChanged
from gql_server.services.live.state import LiveStatus
from gql_server.services.live.wire import WireError, decode, encode

log = logging.getLogger(__name__)

CHANNEL = "gql_server:live:v1"
CONNECTING = "CONNECTING"
CONNECTED = "CONNECTED"
UNREACHABLE = "UNREACHABLE"
# Events waiting for the broker: a burst, or an outage's newest ones (oldest dropped).
MAX_OUTBOX = 10_000
READ_WAIT_S = 1.0
CONNECT_TIMEOUT_S = 5.0
CLOSE_TIMEOUT_S = 2.0
# A half-open connection (Redis's host gone without a FIN) shows within this many seconds.
HEALTH_CHECK_S = 15


@dataclass(frozen=True, slots=True, kw_only=True)
class BrokerOptions:
    channel: str = CHANNEL
    backoff: Backoff = field(default_factory=lambda: Backoff(base=0.5, cap=30.0))
    max_outbox: int = MAX_OUTBOX


class BrokeredHub(EventHub):
    def __init__(self, url: str, options: BrokerOptions | None = None) -> None:
        super().__init__()
        self.url = url
        self.options = options or BrokerOptions()
        self.origin = str(uuid.uuid4())
        self.state = CONNECTING
        self.reason: str | None = "connecting to the broker"
        self.received = 0  # messages from other workers (restatements included)
        self.relayed = 0  # events from other workers handed to this worker's subscribers
        self.dropped = 0  # events that never reached the broker (outbox full)
        self.connects = 0
        self._outbox: deque[str] = deque()
        self._wake = asyncio.Event()
        self._remote: dict[int, LiveStatus] = {}
        self._rng = random.Random()

    @property
    def ready(self) -> bool:
        return self.state == CONNECTED

    def publish(self, event: Event) -> None:
        super().publish(event)
        self._send(encode(event, origin=self.origin))

    def replay(self, event: StatusChanged) -> None:
        """Restate a held printer's status for the other workers' stores (a worker that
        started or reconnected since the last change learns it), not to subscribers."""
        self._send(encode(event, origin=self.origin, replay=True))

    def remote_status(self, printer_id: int) -> LiveStatus | None:
        """The newest status another worker published for this printer."""
        return self._remote.get(printer_id)

    async def run(self) -> None:
        """Keep the broker connection until cancelled; never raises otherwise."""
        failures = 0
        while True:
            before = self.connects
            try:
                await self._session()
                reason = "the broker closed the connection"
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any broker failure: degrade, retry later
                reason = f"broker unreachable: {type(exc).__name__}: {exc}"
            failures = 1 if self.connects > before else failures + 1
            if self.state != UNREACHABLE or reason != self.reason:
                log.warning("%s (events stay in this worker until it is back)", reason)
            self.state, self.reason = UNREACHABLE, reason
            await asyncio.sleep(self.options.backoff.delay(failures - 1, self._rng))

    async def _session(self) -> None:
        client: Any = redis.from_url(  # type: ignore[no-untyped-call]
            self.url,
            socket_connect_timeout=CONNECT_TIMEOUT_S,
            health_check_interval=HEALTH_CHECK_S,
        )
        pubsub: Any = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.options.channel)
            await client.ping()
            self.connects += 1
            self.state, self.reason = CONNECTED, None
            log.info("broker connected: events reach every worker")
            await _first_to_end(self._read(pubsub), self._write(client))
        finally:
            await _close(pubsub, client)

    async def _read(self, pubsub: Any) -> None:
        while True:
            message = await pubsub.get_message(timeout=READ_WAIT_S)
            if message is not None and message.get("type") == "message":
                self._receive(message["data"])

    async def _write(self, client: Any) -> None:
        while True:
            while self._outbox:
                await client.publish(self.options.channel, self._outbox[0])
                self._outbox.popleft()  # only once sent: a failure keeps it for the next
            self._wake.clear()
            await self._wake.wait()

    def _send(self, text: str) -> None:
        if len(self._outbox) >= self.options.max_outbox:
            self._outbox.popleft()
            self.dropped += 1
        self._outbox.append(text)
        self._wake.set()

    def _receive(self, data: str | bytes) -> None:
        try:
            message = decode(data)
        except WireError as exc:
            log.debug("broker message ignored: %s", exc)
            return
        if message.origin == self.origin:
            return
        self.received += 1
        event = message.event
        if isinstance(event, StatusChanged):
            self._remote[event.printer_id] = event.status
        if not message.replay:
            self.relayed += 1
            super().publish(event)


async def _close(*closeable: Any) -> None:
    """Shielded: the session usually ends by cancellation (the server stopping), and
    its sockets must close all the same. Bounded, as Redis may not answer."""
    with anyio.CancelScope(shield=True), anyio.move_on_after(CLOSE_TIMEOUT_S):
        for item in closeable:
            with contextlib.suppress(Exception):
                await item.aclose()


async def _first_to_end(*work: Any) -> None:
    """Run both halves of a session; the first to fail (or end) ends the other."""
    tasks = [asyncio.ensure_future(w) for w in work]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            raise typing.cast(BaseException, task.exception())
