"""Several live services on one database open one Moonraker socket per printer.

Each service stands for one worker of ``serve --workers N``: its own Syncer and lease
owner, the same database (SQLite and MariaDB). Sockets are counted where they arrive, at
the fake Moonrakers.
"""

import asyncio
from datetime import timedelta

from gql_server.db.session import Database
from gql_server.db.types import utcnow
from gql_server.services.sync import Syncer
from gql_server.services.sync.lease import LIVE, SYNC, hold_leases, new_owner, take_lease
from tests.factories import TEST_BOX
from tests.live.conftest import Live, running
from tests.support.fake_moonraker import FakeMoonraker, FakeMoonrakerServer
from tests.sync.conftest import FAST, add_printer, lease_of, set_printer

REFRESHES = 5


def _worker(database: Database) -> Syncer:
    return Syncer(database, FAST, secret_box=TEST_BOX)


def _followed(live: Live) -> set[int]:
    return {pid for pid, c in live.service.connections.items() if c.synced}


async def _refresh(*lives: Live) -> None:
    """Several rounds of renewing and taking, by every service in turn."""
    for _ in range(REFRESHES):
        for live in lives:
            await live.service.refresh()


def test_two_services_open_one_socket_per_printer(
    database: Database,
    moonraker_server: FakeMoonrakerServer,
    other_moonraker_server: FakeMoonrakerServer,
    fake: FakeMoonraker,
    other_fake: FakeMoonraker,
) -> None:
    printers = {
        add_printer(database, "voron-1", moonraker_server.url),
        add_printer(database, "voron-2", other_moonraker_server.url),
    }

    async def scenario() -> tuple[set[int], set[int]]:
        async with running(_worker(database)) as one, running(_worker(database)) as two:
            await one.until(
                lambda: _followed(one) | _followed(two) == printers, "both printers followed"
            )
            await _refresh(one, two)
            return set(one.service.connections), set(two.service.connections)

    held_by_one, held_by_two = asyncio.run(scenario())
    assert (held_by_one | held_by_two, held_by_one & held_by_two) == (printers, set())
    assert (fake.websocket.opened, other_fake.websocket.opened) == (1, 1)


def test_a_stopped_holder_hands_its_printer_over(
    database: Database, moonraker_server: FakeMoonrakerServer, fake: FakeMoonraker
) -> None:
    printer = add_printer(database, "voron-1", moonraker_server.url)

    async def scenario() -> tuple[set[int], int]:
        first_running = running(_worker(database))
        first = await first_running.__aenter__()
        await first.connected(printer, fake)
        async with running(_worker(database)) as second:
            await _refresh(first, second)
            assert second.service.connections == {}
            await first_running.__aexit__(None, None, None)
            await second.until(lambda: _followed(second) == {printer}, "taken over")
            return set(second.service.connections), len(fake.websocket.connections)

    assert asyncio.run(scenario()) == ({printer}, 1)
    assert fake.websocket.opened == 2  # the first holder's socket, then the second's


def test_a_dead_holder_keeps_its_printer_until_the_lease_lapses(
    database: Database, moonraker_server: FakeMoonrakerServer, fake: FakeMoonraker
) -> None:
    printer = add_printer(database, "voron-1", moonraker_server.url)
    set_printer(
        database,
        printer,
        live_lease_owner="killed",
        live_lease_until=utcnow() + timedelta(hours=1),
    )

    async def scenario() -> tuple[int, set[int]]:
        async with running(_worker(database)) as live:
            await _refresh(live)
            opened_while_held = fake.websocket.opened
            set_printer(database, printer, live_lease_until=utcnow() - timedelta(seconds=1))
            await live.connected(printer, fake)
            return opened_while_held, set(live.service.connections)

    assert asyncio.run(scenario()) == (0, {printer})


def test_the_live_lease_and_the_sync_lease_are_separate(
    database: Database, moonraker_server: FakeMoonrakerServer
) -> None:
    printer = add_printer(database, "voron-1", moonraker_server.url)
    now = utcnow()
    with database.scope() as session:
        live = take_lease(session, printer, new_owner(), now, kind=LIVE)
        sync = take_lease(session, printer, new_owner(), now, kind=SYNC)
        second_live = take_lease(session, printer, new_owner(), now, kind=LIVE)
    assert (live, sync, second_live) == (True, True, False)
    assert lease_of(database, printer)[1] is not None  # the sync lease, taken


def test_holding_renews_its_own_takes_free_and_lapsed_and_leaves_the_others(
    database: Database, moonraker_server: FakeMoonrakerServer
) -> None:
    now = utcnow()
    ours, free, lapsed, theirs = (
        add_printer(database, f"voron-{n}", moonraker_server.url) for n in range(4)
    )
    set_printer(database, ours, live_lease_owner="me", live_lease_until=now)
    set_printer(database, lapsed, live_lease_owner="dead", live_lease_until=now - timedelta(1))
    set_printer(database, theirs, live_lease_owner="other", live_lease_until=now + timedelta(1))
    with database.scope() as session:
        held = hold_leases(session, {ours, free, lapsed, theirs}, "me", now, kind=LIVE)
    assert held == {ours, free, lapsed}
