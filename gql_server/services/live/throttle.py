"""Status changes for one reader, at most one per printer every ``interval`` seconds.

Moonraker pushes about 4 status updates a second per printer; a dashboard of a farm needs
fewer. The first change of a quiet printer goes out at once (leading edge); changes
within the interval are held, and the newest of them goes out when the interval ends
(trailing edge), so the reader always ends on the printer's current state.
"""

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable

from gql_server.services.live.hub import Event, StatusChanged

STATUS_INTERVAL_S = 0.25


async def throttled_statuses(
    batches: AsyncIterator[list[Event]],
    interval: float = STATUS_INTERVAL_S,
    *,
    clock: Callable[[], float] | None = None,
) -> AsyncGenerator[StatusChanged, None]:
    """The StatusChanged events of ``batches`` (a hub subscription), throttled per printer."""
    now = clock or asyncio.get_running_loop().time
    held: dict[int, StatusChanged] = {}
    last_sent: dict[int, float] = {}
    upcoming: asyncio.Task[list[Event]] | None = None
    try:
        while True:
            if upcoming is None:
                upcoming = asyncio.ensure_future(anext(batches))
            due = min((last_sent[p] + interval for p in held), default=None)
            timeout = None if due is None else max(0.0, due - now())
            done, _ = await asyncio.wait({upcoming}, timeout=timeout)
            if done:
                for event in upcoming.result():
                    if isinstance(event, StatusChanged):
                        held[event.printer_id] = event
                upcoming = None
            for printer_id in list(held):
                if now() >= last_sent.get(printer_id, float("-inf")) + interval:
                    last_sent[printer_id] = now()
                    yield held.pop(printer_id)
    finally:
        if upcoming is not None:
            upcoming.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await upcoming
