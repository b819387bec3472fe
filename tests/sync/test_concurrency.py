"""One sync per printer at a time, across tasks and processes; a dead holder's lease lapses."""

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import anyio
import pytest

from gql_server.db.models import Printer
from gql_server.db.session import Database
from gql_server.db.types import utcnow
from gql_server.services.sync import ALREADY_RUNNING, Syncer, SyncOptions, SyncResult
from tests.graphql.conftest import GraphQLClient
from tests.support.fake_moonraker import FakeMoonraker
from tests.sync.conftest import FAST, LIST, run_sync, set_printer, stored_keys, sync_all

JOBS = 120
HOLD_S = 0.5  # how long the first list page is delayed: the first sync is still running


@pytest.fixture
def sync_options() -> SyncOptions:
    return replace(FAST, read_timeout=5.0)  # the held page must not time out


@pytest.fixture
def slow_printer(fake: FakeMoonraker, printer_id: int) -> int:
    """A printer whose first list page answers after HOLD_S."""
    fake.add_jobs(JOBS, seed=21)
    fake.fault("delay", path=LIST, nth=1, seconds=HOLD_S)
    return printer_id


async def sync_twice_at_once(first: Syncer, second: Syncer, printer_id: int) -> list[SyncResult]:
    results: list[SyncResult] = []

    async def one(syncer: Syncer) -> None:
        results.append(await syncer.sync_printer(printer_id))

    async with anyio.create_task_group() as group:
        group.start_soon(one, first)
        group.start_soon(one, second)
    return results


def error_codes(results: list[SyncResult]) -> list[str | None]:
    """The results' codes, the successful sync's (None) first."""
    return [result.error_code for result in sorted(results, key=lambda result: not result.ok)]


@pytest.mark.anyio
async def test_second_of_two_concurrent_syncs_gets_already_running(
    database: Database, syncer: Syncer, fake: FakeMoonraker, slow_printer: int
) -> None:
    results = await sync_twice_at_once(syncer, syncer, slow_printer)
    assert error_codes(results) == [None, ALREADY_RUNNING]


@pytest.mark.anyio
async def test_two_syncers_of_one_database_never_sync_a_printer_at_once(
    database: Database, sync_options: SyncOptions, fake: FakeMoonraker, slow_printer: int
) -> None:
    # Two Syncer instances share nothing but the database, like two server processes.
    first, second = Syncer(database, sync_options), Syncer(database, sync_options)
    results = await sync_twice_at_once(first, second, slow_printer)
    assert error_codes(results) == [None, ALREADY_RUNNING]


@pytest.mark.anyio
async def test_concurrent_syncs_store_every_job_once(
    database: Database, sync_options: SyncOptions, fake: FakeMoonraker, slow_printer: int
) -> None:
    first, second = Syncer(database, sync_options), Syncer(database, sync_options)
    await sync_twice_at_once(first, second, slow_printer)
    await sync_twice_at_once(first, second, slow_printer)  # and once more, without the delay
    assert len(stored_keys(database, slow_printer)) == JOBS
    assert set(stored_keys(database, slow_printer).values()) == {1}


def test_sync_through_the_api_while_another_runs_gets_already_running(
    database: Database,
    gql: GraphQLClient,
    syncer: Syncer,
    fake: FakeMoonraker,
    slow_printer: int,
) -> None:
    running = threading.Thread(target=run_sync, args=(syncer, slow_printer))
    running.start()
    try:
        wait_until(lambda: fake.requests_to(LIST) != [])  # it holds the lease by then
        result = sync_all(gql)["voron-1"]
    finally:
        running.join(timeout=10)
    assert result["error"]["code"] == ALREADY_RUNNING


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met within the timeout")
        time.sleep(0.005)


# ---------------------------------------------------------------------------- leases


def lease(database: Database, printer_id: int) -> tuple[object, object]:
    with database.scope() as session:
        printer = session.get(Printer, printer_id)
        assert printer is not None
        return printer.sync_lease_until, printer.sync_lease_owner


def test_lease_left_by_a_crashed_process_lapses(
    database: Database, syncer: Syncer, fake: FakeMoonraker, printer_id: int
) -> None:
    fake.add_jobs(10, seed=22)
    expired = utcnow() - timedelta(seconds=1)
    set_printer(database, printer_id, sync_lease_until=expired, sync_lease_owner="crashed")
    result = run_sync(syncer, printer_id)
    assert (result.ok, result.counts.jobs_created) == (True, 10)
    assert lease(database, printer_id) == (None, None)


def test_live_lease_of_another_process_blocks_the_sync_before_any_request(
    database: Database, syncer: Syncer, fake: FakeMoonraker, printer_id: int
) -> None:
    held = utcnow() + timedelta(minutes=1)
    set_printer(database, printer_id, sync_lease_until=held, sync_lease_owner="elsewhere")
    result = run_sync(syncer, printer_id)
    assert (result.error_code, fake.requests) == (ALREADY_RUNNING, [])


def test_failed_sync_releases_its_lease(
    database: Database, syncer: Syncer, fake: FakeMoonraker, printer_id: int
) -> None:
    fake.fault("status", path=LIST, status=500)
    assert run_sync(syncer, printer_id).error_code == "HTTP_ERROR"
    assert lease(database, printer_id) == (None, None)
