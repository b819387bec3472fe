"""The live connection's lifecycle: auth, Klippy restarts, isolation between printers."""

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest

from gql_server.db.session import Database
from gql_server.services.sync import Syncer
from tests.live.conftest import BASE_DELAY, FAST_LIVE, MAX_DELAY, running
from tests.support.fake_moonraker import FakeMoonraker, FakeMoonrakerServer, closed_port_url
from tests.support.sql_counter import count_statements
from tests.sync.conftest import API_KEY, add_printer, set_printer, stored_jobs

ATTEMPTS = 4
# Attempts after which every wait is at the cap (base * 2**n reaches it by the fourth).
RAMP = 4
RETRY_WINDOW_S = 2.0


@pytest.mark.parametrize("stored_key", ["wrong-key", None], ids=["wrong key", "no key"])
def test_a_refused_key_is_auth_failed_and_retried_with_backoff(
    database: Database,
    syncer: Syncer,
    moonraker_server: FakeMoonrakerServer,
    fake: FakeMoonraker,
    stored_key: str | None,
) -> None:
    """Moonraker keeps such a socket open and silent; it must not look connected, and
    each retry waits longer than the one before (at least half of base * 2**n)."""
    fake.api_key = API_KEY
    printer = add_printer(database, "voron-1", moonraker_server.url, api_key=stored_key)

    async def scenario() -> tuple[str | None, float]:
        async with running(syncer) as live:
            loop = asyncio.get_running_loop()
            start = loop.time()
            await live.until(lambda: fake.websocket.opened >= ATTEMPTS, f"{ATTEMPTS} attempts")
            elapsed = loop.time() - start
            status = live.status(printer)
            assert status is not None
            await live.until(
                lambda: live.status(printer).connection == "AUTH_FAILED", "AUTH_FAILED"
            )
            return live.status(printer).error_code, elapsed

    code, elapsed = asyncio.run(scenario())
    assert code == "AUTH_FAILED"
    shortest_waits = sum(0.5 * BASE_DELAY * 2**n for n in range(ATTEMPTS - 1))
    assert elapsed >= shortest_waits
    assert fake.websocket.subscriptions() == []
    assert fake.requests_to("/server/history/list") == []  # no sync behind a refused key


def test_a_refused_key_is_no_retry_storm(
    database: Database,
    syncer: Syncer,
    moonraker_server: FakeMoonrakerServer,
    fake: FakeMoonraker,
) -> None:
    """Once the backoff has reached its cap, a window of RETRY_WINDOW_S seconds holds at
    most one attempt per shortest capped wait (half the cap), plus the one under way. A
    loaded machine only makes fewer; a storm would make hundreds."""
    fake.api_key = API_KEY
    printer = add_printer(database, "voron-1", moonraker_server.url, api_key="wrong-key")

    async def scenario() -> tuple[int, int, str | None]:
        async with running(syncer) as live:
            await live.until(lambda: fake.websocket.opened >= RAMP, f"{RAMP} attempts")
            before = fake.websocket.opened
            await asyncio.sleep(RETRY_WINDOW_S)
            after = fake.websocket.opened
            status = live.status(printer)
            assert status is not None
            return before, after, status.error_code

    before, after, code = asyncio.run(scenario())
    assert code == "AUTH_FAILED"
    assert after - before <= RETRY_WINDOW_S / (0.5 * MAX_DELAY) + 1
    assert fake.requests_to("/server/history/list") == []


def test_the_right_key_connects_through_the_header(
    database: Database,
    syncer: Syncer,
    moonraker_server: FakeMoonrakerServer,
    fake: FakeMoonraker,
) -> None:
    fake.api_key = API_KEY
    printer = add_printer(database, "voron-1", moonraker_server.url, api_key=API_KEY)

    async def scenario() -> list[tuple[str | None, str]]:
        async with running(syncer) as live:
            await live.connected(printer, fake)
            return [
                (conn.headers.get("x-api-key"), conn.client_data["type"])
                for conn in fake.websocket.connections
            ]

    assert asyncio.run(scenario()) == [(API_KEY, "agent")]


def test_after_a_klippy_restart_it_subscribes_again_and_status_flows(
    database: Database,
    syncer: Syncer,
    moonraker_server: FakeMoonrakerServer,
    fake: FakeMoonraker,
) -> None:
    printer = add_printer(database, "voron-1", moonraker_server.url)

    async def scenario() -> None:
        async with running(syncer) as live:
            await live.connected(printer, fake)
            fake.websocket.klippy_disconnect()
            await live.until(
                lambda: live.status(printer).klippy_state == "disconnected", "Klippy seen gone"
            )
            fake.websocket.klippy_ready()
            await live.until(fake.websocket.subscriptions, "a new subscription")
            fake.websocket.push_status({"extruder": {"temperature": 215.5, "target": 220.0}})
            await live.until(
                lambda: live.status(printer).extruder.temperature == 215.5,
                "the new temperature",
            )

    asyncio.run(scenario())
    assert fake.websocket.opened == 1  # the same socket all along


def test_a_printer_at_a_bad_url_does_not_hold_up_another(
    database: Database,
    syncer: Syncer,
    moonraker_server: FakeMoonrakerServer,
    fake: FakeMoonraker,
) -> None:
    broken = add_printer(database, "broken", closed_port_url())
    printer = add_printer(database, "voron-1", moonraker_server.url)

    async def scenario() -> str | None:
        async with running(syncer) as live:
            await live.connected(printer, fake)
            job = fake.websocket.start_print("a.gcode")
            fake.websocket.end_print(job["job_id"])
            await live.job_event("FINISHED")
            await live.until(lambda: live.status(broken).error_code, "the broken printer's error")
            return live.status(broken).error_code

    assert asyncio.run(scenario()) == "UNREACHABLE"
    assert [job.status for job in stored_jobs(database, printer)] == ["completed"]


def test_live_status_follows_partial_updates(
    database: Database,
    syncer: Syncer,
    moonraker_server: FakeMoonrakerServer,
    fake: FakeMoonraker,
) -> None:
    printer = add_printer(database, "voron-1", moonraker_server.url)

    async def scenario() -> None:
        async with running(syncer) as live:
            await live.connected(printer, fake)
            fake.websocket.start_print("benchy.gcode")
            fake.websocket.push_status(
                {"print_stats": {"print_duration": 600.0}, "display_status": {"progress": 0.25}}
            )
            await live.until(lambda: live.status(printer).progress == 0.25, "progress 0.25")
            fake.websocket.notify_noise()
            fake.websocket.push_status({"heater_bed": {"target": 60.0}})
            await live.until(lambda: live.status(printer).bed.target == 60.0, "bed target")
            status = live.status(printer)
            assert (status.print_state, status.filename) == ("printing", "benchy.gcode")
            assert status.estimated_time_left == 1800.0

    asyncio.run(scenario())


def test_a_deactivated_printer_is_let_go(
    database: Database,
    syncer: Syncer,
    moonraker_server: FakeMoonrakerServer,
    fake: FakeMoonraker,
) -> None:
    printer = add_printer(database, "voron-1", moonraker_server.url)

    async def scenario() -> None:
        async with running(syncer) as live:
            await live.connected(printer, fake)
            set_printer(database, printer, is_active=False)
            await live.until(lambda: live.status(printer) is None, "the printer let go")
            await live.until(lambda: not fake.websocket.connections, "its socket closed")

    asyncio.run(scenario())


def test_a_printer_added_while_running_is_followed(
    database: Database,
    syncer: Syncer,
    moonraker_server: FakeMoonrakerServer,
    fake: FakeMoonraker,
) -> None:
    async def scenario() -> None:
        async with running(syncer) as live:
            await live.until(lambda: live.service.connections == {}, "no printer followed")
            printer = add_printer(database, "voron-1", moonraker_server.url)
            await live.connected(printer, fake)

    asyncio.run(scenario())


def test_a_moonraker_without_klippy_yet_is_connected_and_subscribed_once_it_is_ready(
    database: Database,
    syncer: Syncer,
    moonraker_server: FakeMoonrakerServer,
    fake: FakeMoonraker,
) -> None:
    """Before Klippy first connects Moonraker does not know printer.objects.subscribe."""
    fake.websocket.klippy_state, fake.websocket.klippy_ever_connected = "disconnected", False
    printer = add_printer(database, "voron-1", moonraker_server.url)

    async def scenario() -> tuple[str | None, str | None]:
        async with running(syncer) as live:
            await live.until(lambda: live.synced(printer), "its sync")
            before = live.status(printer)
            assert before is not None and fake.websocket.subscriptions() == []
            fake.websocket.klippy_ready()
            await live.connected(printer, fake)
            after = live.status(printer)
            assert after is not None
            return before.klippy_state, after.klippy_state

    assert asyncio.run(scenario()) == ("disconnected", "ready")


STATUS_PUSHES = 40


def test_status_updates_stay_in_memory(
    database: Database,
    syncer: Syncer,
    moonraker_server: FakeMoonrakerServer,
    fake: FakeMoonraker,
) -> None:
    """Status comes a few times a second per printer: it reaches liveStatus without a
    single SQL statement (the printer list is not re-read meanwhile: a long poll)."""
    printer = add_printer(database, "voron-1", moonraker_server.url)
    quiet = replace(FAST_LIVE, poll_interval=3600.0, lease=timedelta(hours=3))

    async def scenario() -> int:
        async with running(syncer, quiet) as live:
            await live.connected(printer, fake)
            await live.until(lambda: live.synced(printer), "the catch-up sync")
            with count_statements(database.engine) as log:
                for tick in range(1, STATUS_PUSHES + 1):
                    fake.websocket.push_status({"extruder": {"temperature": 200.0 + tick}})
                last = 200.0 + STATUS_PUSHES
                await live.until(
                    lambda: live.status(printer).extruder.temperature == last, "the last push"
                )
            return log.count

    assert asyncio.run(scenario()) == 0
