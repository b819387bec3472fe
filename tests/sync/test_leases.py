"""A sync's lease is short, kept alive by a heartbeat, and freed on every way out.

A dead holder blocks its printer for at most one lease; the sync that takes the lapsed
lease over marks the dead run ``abandoned``; a sync cancelled by its caller or by a
shutdown closes its run as ``cancelled`` and frees the lease at once.
"""

from dataclasses import replace
from datetime import timedelta

import anyio
import pytest

from gql_server.db.models import SyncRun
from gql_server.db.session import Database
from gql_server.db.types import utcnow
from gql_server.services.sync import (
    ALREADY_RUNNING,
    CANCELLED,
    LEASE_LOST,
    SHUTTING_DOWN,
    Syncer,
    SyncOptions,
    SyncResult,
)
from tests.factories import LOOPBACK
from tests.support.fake_moonraker import FakeMoonraker
from tests.sync.conftest import (
    FAST,
    LIST,
    lease_of,
    run_states,
    run_sync,
    set_printer,
    wait_for_request,
)

LEASE_S = 0.6
HANG_S = 30.0  # a printer that accepts the request and never answers (within the test)


@pytest.fixture
def sync_options() -> SyncOptions:
    return replace(FAST, read_timeout=10.0, lease_seconds=LEASE_S, allowed_networks=LOOPBACK)


@pytest.fixture
def hung_printer(fake: FakeMoonraker, printer_id: int) -> int:
    fake.add_jobs(10, seed=31)
    fake.fault("delay", path=LIST, nth=1, seconds=HANG_S)
    return printer_id


async def sync_into(results: list[SyncResult], syncer: Syncer, printer_id: int) -> None:
    results.append(await syncer.sync_printer(printer_id))


def test_the_default_lease_is_thirty_seconds() -> None:
    assert SyncOptions().lease_seconds == 30.0


@pytest.mark.anyio
async def test_heartbeat_keeps_the_lease_of_a_sync_longer_than_the_lease(
    database: Database,
    syncer: Syncer,
    sync_options: SyncOptions,
    fake: FakeMoonraker,
    printer_id: int,
) -> None:
    fake.add_jobs(10, seed=32)
    fake.fault("delay", path=LIST, nth=1, seconds=5 * LEASE_S)
    first: list[SyncResult] = []
    async with anyio.create_task_group() as group:
        group.start_soon(sync_into, first, syncer, printer_id)
        await wait_for_request(fake, LIST)
        await anyio.sleep(3 * LEASE_S)  # without a heartbeat the lease would have lapsed
        second = await Syncer(database, sync_options).sync_printer(printer_id)
    assert (first[0].ok, second.error_code) == (True, ALREADY_RUNNING)


@pytest.mark.anyio
async def test_a_running_sync_holds_its_lease_for_at_most_one_lease_ahead(
    database: Database, syncer: Syncer, fake: FakeMoonraker, hung_printer: int
) -> None:
    async with anyio.create_task_group() as group:
        group.start_soon(syncer.sync_printer, hung_printer)
        await wait_for_request(fake, LIST)
        until, _owner = lease_of(database, hung_printer)
        syncer.cancel_running()
    assert until is not None and until - utcnow() <= timedelta(seconds=LEASE_S)


def test_taking_over_a_lapsed_lease_marks_the_dead_holders_run_abandoned(
    database: Database, syncer: Syncer, fake: FakeMoonraker, printer_id: int
) -> None:
    fake.add_jobs(5, seed=33)
    # What a killed process leaves behind: its run still running, its lease lapsed.
    with database.scope() as session:
        session.add(SyncRun(printer_id=printer_id, started_at=utcnow(), status="running"))
    lapsed = utcnow() - timedelta(seconds=1)
    set_printer(database, printer_id, sync_lease_until=lapsed, sync_lease_owner="killed")
    assert run_sync(syncer, printer_id).ok
    assert run_states(database, printer_id) == [("abandoned", "ABANDONED"), ("succeeded", None)]


@pytest.mark.anyio
async def test_a_sync_whose_lease_was_taken_stops_with_lease_lost(
    database: Database, syncer: Syncer, fake: FakeMoonraker, hung_printer: int
) -> None:
    results: list[SyncResult] = []
    async with anyio.create_task_group() as group:
        group.start_soon(sync_into, results, syncer, hung_printer)
        await wait_for_request(fake, LIST)
        held = utcnow() + timedelta(minutes=1)
        set_printer(database, hung_printer, sync_lease_until=held, sync_lease_owner="other")
    assert results[0].error_code == LEASE_LOST
    assert lease_of(database, hung_printer) == (held, "other")  # the new holder's, untouched


@pytest.mark.anyio
async def test_a_sync_cancelled_by_its_caller_is_cancelled_and_frees_its_lease(
    database: Database, syncer: Syncer, fake: FakeMoonraker, hung_printer: int
) -> None:
    results: list[SyncResult] = []
    async with anyio.create_task_group() as group:
        group.start_soon(sync_into, results, syncer, hung_printer)
        await wait_for_request(fake, LIST)
        group.cancel_scope.cancel()
    assert results == []  # the cancellation went on up to the caller
    assert run_states(database, hung_printer) == [("cancelled", CANCELLED)]
    assert lease_of(database, hung_printer) == (None, None)


@pytest.mark.anyio
async def test_shutdown_cancels_a_sync_of_a_hung_printer_with_shutting_down(
    database: Database, syncer: Syncer, fake: FakeMoonraker, hung_printer: int
) -> None:
    results: list[SyncResult] = []
    async with anyio.create_task_group() as group:
        group.start_soon(sync_into, results, syncer, hung_printer)
        await wait_for_request(fake, LIST)
        await syncer.shut_down(grace=0.1)
    assert results[0].error_code == SHUTTING_DOWN
    assert run_states(database, hung_printer) == [("cancelled", SHUTTING_DOWN)]
    assert lease_of(database, hung_printer) == (None, None)


def test_after_shutdown_a_sync_is_refused_without_a_run_or_a_request(
    database: Database, syncer: Syncer, fake: FakeMoonraker, printer_id: int
) -> None:
    syncer.close()
    result = run_sync(syncer, printer_id)
    assert (result.error_code, run_states(database, printer_id), fake.requests) == (
        SHUTTING_DOWN,
        [],
        [],
    )
