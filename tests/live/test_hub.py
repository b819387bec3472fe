"""The event hub: a slow reader gets each printer's newest state and every job event,
and never holds up the publisher or another reader."""

import asyncio
from datetime import UTC, datetime

from gql_server.services.live import EventHub, JobChanged, StatusChanged
from gql_server.services.live.state import PrinterLive

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _status(printer_id: int, temperature: float) -> StatusChanged:
    live = PrinterLive(printer_id, lambda: NOW)
    return StatusChanged(printer_id, live.merge({"extruder": {"temperature": temperature}}))


def _job(printer_id: int, n: int) -> JobChanged:
    return JobChanged(printer_id, "FINISHED", n, f"{n:06X}", NOW)


def test_a_slow_reader_gets_the_newest_status_per_printer_and_every_job() -> None:
    async def scenario() -> list[object]:
        hub = EventHub()
        reader = hub.subscribe()
        first = asyncio.ensure_future(reader.__anext__())
        await asyncio.sleep(0)
        for temperature in (20.0, 21.0, 22.0):
            hub.publish(_status(1, temperature))
        hub.publish(_job(1, 1))
        hub.publish(_status(2, 50.0))
        batch = await first
        await reader.aclose()
        return batch

    batch = asyncio.run(scenario())
    assert [type(e).__name__ for e in batch] == ["JobChanged", "StatusChanged", "StatusChanged"]
    temperatures = [e.status.extruder.temperature for e in batch if isinstance(e, StatusChanged)]
    assert temperatures == [22.0, 50.0]


def test_a_reader_of_some_printers_hears_nothing_of_the_others() -> None:
    async def scenario() -> list[int]:
        hub = EventHub()
        reader = hub.subscribe([2])
        pending = asyncio.ensure_future(reader.__anext__())
        await asyncio.sleep(0)
        hub.publish(_job(1, 1))
        hub.publish(_job(2, 2))
        batch = await pending
        await reader.aclose()
        return [event.printer_id for event in batch]

    assert asyncio.run(scenario()) == [2]


def test_a_stuck_reader_keeps_a_bounded_backlog_and_counts_what_it_lost() -> None:
    async def scenario() -> tuple[int, int]:
        hub = EventHub(max_job_events=3)
        reader = hub.subscribe()
        pending = asyncio.ensure_future(reader.__anext__())
        await asyncio.sleep(0)
        (subscriber,) = hub._subscribers
        for n in range(10):
            hub.publish(_job(1, n))
        batch = await pending
        await reader.aclose()
        return len(batch), subscriber.lost

    assert asyncio.run(scenario()) == (3, 7)


def test_a_reader_that_stops_is_forgotten() -> None:
    async def scenario() -> int:
        hub = EventHub()
        reader = hub.subscribe()
        pending = asyncio.ensure_future(reader.__anext__())
        await asyncio.sleep(0)
        hub.publish(_job(1, 1))
        await pending
        await reader.aclose()
        return hub.subscriber_count

    assert asyncio.run(scenario()) == 0
