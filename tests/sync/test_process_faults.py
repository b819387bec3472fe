"""Processes that end badly: kill -9 in the middle of a sync, SIGTERM while a printer hangs.

Real ``gql-server`` processes on the test database (SQLite file or MariaDB) and a fake
Moonraker that holds the first history page: the sync is in flight when the signal lands.
"""

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from gql_server.db.session import Database
from gql_server.db.types import utcnow
from gql_server.services.sync import SHUTTING_DOWN, Syncer
from tests.factories import LOOPBACK
from tests.graphql.conftest import make_key
from tests.support.fake_moonraker import FakeMoonraker
from tests.support.served import GQL_SERVER, start_server, stop, wait_healthy
from tests.sync.conftest import FAST, LIST, SYNC_MUTATION, lease_of, run_states, run_sync

LEASE_S = 2.0
GRACE_S = 4.0
HANG_S = 60.0
START_TIMEOUT_S = 30.0


def environment(database: Database, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database.engine.url.render_as_string(hide_password=False),
        "GQL_MOONRAKER_ALLOWED_NETWORKS": "127.0.0.0/8",
        **extra,
    }


def wait_until(condition: Callable[[], bool], what: str, timeout: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.02)


@pytest.fixture
def hung_printer(fake: FakeMoonraker, printer_id: int) -> int:
    fake.add_jobs(30, seed=51)
    fake.fault("delay", path=LIST, nth=1, seconds=HANG_S)
    return printer_id


# ---------------------------------------------------------------------------- kill -9


def test_after_kill_9_mid_sync_the_next_sync_succeeds_within_one_lease(
    database: Database, fake: FakeMoonraker, hung_printer: int
) -> None:
    cli = subprocess.Popen(
        [GQL_SERVER, "sync"],
        env=environment(database, GQL_SYNC_LEASE=str(LEASE_S)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: fake.requests_to(LIST) != [], "the CLI's first history request")
    finally:
        cli.kill()
        cli.wait(10)
    killed_at = utcnow()
    lapses_at, _owner = lease_of(database, hung_printer)
    assert lapses_at is not None and lapses_at - killed_at <= timedelta(seconds=LEASE_S)
    time.sleep(max(0.0, (lapses_at - utcnow()).total_seconds()) + 0.05)
    result = run_sync(Syncer(database, replace(FAST, allowed_networks=LOOPBACK)), hung_printer)
    assert result.ok, result.error_message
    assert run_states(database, hung_printer) == [("abandoned", "ABANDONED"), ("succeeded", None)]


# ---------------------------------------------------------------------------- SIGTERM


@pytest.fixture
def server(database: Database, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``gql-server serve`` with a short grace, healthy."""
    env = environment(database, GQL_SHUTDOWN_GRACE=str(GRACE_S))
    served = start_server(tmp_path / "server.log", env)
    try:
        wait_healthy(served)
        yield served.process, served.url
    finally:
        stop([served], 0)


def test_sigterm_while_a_printer_hangs_answers_shutting_down_and_frees_the_printer(
    database: Database,
    fake: FakeMoonraker,
    hung_printer: int,
    server: tuple[subprocess.Popen, str],
) -> None:
    process, url = server
    key = make_key(database)
    answers: list[httpx.Response | Exception] = []

    def sync_printers() -> None:
        body = {"query": SYNC_MUTATION, "variables": {"input": {}}}
        try:
            answers.append(
                httpx.post(f"{url}/graphql", json=body, headers={"X-API-Key": key}, timeout=60)
            )
        except httpx.HTTPError as exc:
            answers.append(exc)

    client = threading.Thread(target=sync_printers)
    client.start()
    wait_until(lambda: fake.requests_to(LIST) != [], "the sync's first history request")
    process.send_signal(signal.SIGTERM)
    client.join(60)
    (answer,) = answers
    assert isinstance(answer, httpx.Response), answer
    (result,) = answer.json()["data"]["syncPrinters"]["results"]
    assert (result["ok"], result["error"]["code"]) == (False, SHUTTING_DOWN)
    assert process.wait(30) in (0, -signal.SIGTERM)
    assert run_states(database, hung_printer) == [("cancelled", SHUTTING_DOWN)]
    assert lease_of(database, hung_printer) == (None, None)


def test_sigterm_to_the_cli_cancels_its_syncs_without_a_traceback(
    database: Database, fake: FakeMoonraker, hung_printer: int
) -> None:
    cli = subprocess.Popen(
        [GQL_SERVER, "sync"],
        env=environment(database),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: fake.requests_to(LIST) != [], "the CLI's first history request")
        cli.send_signal(signal.SIGTERM)
        out, err = cli.communicate(timeout=30)
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait(10)
    assert (cli.returncode, SHUTTING_DOWN in out, "Traceback" in out + err) == (1, True, False)
    assert run_states(database, hung_printer) == [("cancelled", SHUTTING_DOWN)]
    assert lease_of(database, hung_printer) == (None, None)
