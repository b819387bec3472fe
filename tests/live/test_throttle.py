"""Status throttling per printer: the first change goes out at once, changes within the
interval are held, and the newest of them goes out when it ends. The clock is a stand-in
moved by the test, so nothing here depends on how fast the machine is."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from gql_server.services.live import StatusChanged
from gql_server.services.live.hub import Event
from gql_server.services.live.state import PrinterLive
from gql_server.services.live.throttle import throttled_statuses

NOW = datetime(2026, 1, 1, tzinfo=UTC)
INTERVAL = 1000.0  # never reached by the real clock: only the stand-in ends it


def _status(printer_id: int, progress: float) -> StatusChanged:
    live = PrinterLive(printer_id, lambda: NOW)
    return StatusChanged(printer_id, live.merge({"display_status": {"progress": progress}}))


async def _batches(queue: "asyncio.Queue[list[Event]]") -> AsyncIterator[list[Event]]:
    while True:
        yield await queue.get()


def test_changes_within_the_interval_are_held_and_the_newest_follows() -> None:
    async def scenario() -> tuple[list[float | None], bool]:
        queue: asyncio.Queue[list[Event]] = asyncio.Queue()
        now = [0.0]
        statuses = throttled_statuses(_batches(queue), INTERVAL, clock=lambda: now[0])
        queue.put_nowait([_status(1, 0.1)])
        first = await anext(statuses)
        for step in range(2, 11):
            queue.put_nowait([_status(1, step / 10)])
        held = asyncio.ensure_future(anext(statuses))
        while not queue.empty():
            await asyncio.sleep(0)
        await asyncio.sleep(0)
        sent_early = held.done()
        now[0] = INTERVAL
        queue.put_nowait([_status(2, 0.5)])  # any event wakes it once the interval is over
        second = await held
        third = await anext(statuses)
        await statuses.aclose()
        shown = [first.status.progress, second.status.progress, third.status.progress]
        return shown, sent_early

    shown, sent_early = asyncio.run(scenario())
    assert not sent_early
    assert shown == [0.1, 1.0, 0.5]


def test_the_held_state_goes_out_when_the_interval_ends_without_more_events() -> None:
    async def scenario() -> list[float | None]:
        queue: asyncio.Queue[list[Event]] = asyncio.Queue()
        statuses = throttled_statuses(_batches(queue), 0.01)
        queue.put_nowait([_status(1, 0.1)])
        queue.put_nowait([_status(1, 0.2)])
        shown = [(await anext(statuses)).status.progress for _ in range(2)]
        await statuses.aclose()
        return shown

    assert asyncio.run(scenario()) == [0.1, 0.2]
