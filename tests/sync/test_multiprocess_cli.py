"""Two servers syncing every second and a CLI sync loop, on one MariaDB database, for 60 s.

All three claim the same printers' leases at once, which made MariaDB pick deadlock
victims (1213): a whole periodic round failed and a CLI sync crashed with a traceback.
Every lease claim and renewal now retries lock conflicts, so no round fails, nothing
crashes, the only refusal is SYNC_ALREADY_RUNNING, and no job is stored twice. This is
the suite's one long test; one run feeds every rule below.
"""

import os
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from gql_server.db.session import Database
from tests.conftest import MYSQL_URL, migrated_mysql_database
from tests.support.fake_moonraker import FakeMoonrakerServer
from tests.support.served import GQL_SERVER, wait_healthy
from tests.sync.test_multiprocess import (
    Run,
    add_printers,
    feed,
    read_outcome,
    start_server,
    stop,
    wait_caught_up,
)

pytestmark = pytest.mark.mariadb

URL = MYSQL_URL + "_soak"
PRINTERS = 3
SERVERS = 2
SOAK_SECONDS = 60.0
FEED_SECONDS = 55.0
PAGE_DELAY = 0.2
CLI_TIMEOUT = 60.0
CLI_MAX_RUNS = 200
FAILED_ROW = re.compile(r"FAILED \(([A-Z_]+)\)")


@dataclass(frozen=True)
class CliRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def failure_codes(self) -> set[str]:
        return set(FAILED_ROW.findall(self.stdout))


@dataclass(frozen=True)
class Soak:
    runs: list[Run]
    duplicates: list[tuple]
    stored: dict[int, set]
    expected: dict[int, set]
    printer_ids: list[int]
    cli_runs: list[CliRun]
    server_logs: list[str]
    exit_codes: list[int | None]


def cli_loop(until: float, runs: list[CliRun]) -> None:
    """``gql-server sync`` again and again until ``until`` (at most CLI_MAX_RUNS times)."""
    env = {**os.environ, "DATABASE_URL": URL, "GQL_MOONRAKER_ALLOWED_NETWORKS": "127.0.0.0/8"}
    for _ in range(CLI_MAX_RUNS):
        if time.monotonic() >= until:
            return
        done = subprocess.run(
            [GQL_SERVER, "sync"],
            env=env,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            check=False,
        )
        runs.append(CliRun(done.returncode, done.stdout, done.stderr))


@pytest.fixture(scope="module")
def soak_database() -> Iterator[Database]:
    with migrated_mysql_database(URL) as database:
        yield database


@pytest.fixture(scope="module")
def soak(soak_database: Database, tmp_path_factory: pytest.TempPathFactory) -> Soak:
    log_dir = tmp_path_factory.mktemp("soak")
    with ExitStack() as stack:
        moonrakers = [stack.enter_context(FakeMoonrakerServer()) for _ in range(PRINTERS)]
        fakes = [server.moonraker for server in moonrakers]
        for n, fake in enumerate(fakes):
            fake.add_jobs(20, seed=100 + n)
            fake.fault("delay", path="/server/history/list", seconds=PAGE_DELAY)
        printer_ids = add_printers(soak_database, [server.url for server in moonrakers])
        servers = [start_server(log_dir / f"server-{n}.log", URL) for n in range(SERVERS)]
        stack.callback(stop, servers)
        for server in servers:
            wait_healthy(server)
        started = time.monotonic()
        cli_runs: list[CliRun] = []
        loop = threading.Thread(target=cli_loop, args=(started + SOAK_SECONDS, cli_runs))
        loop.start()
        feed(fakes, started + FEED_SECONDS)
        loop.join(SOAK_SECONDS + CLI_TIMEOUT)
        wait_caught_up(soak_database, printer_ids, added=datetime.now(UTC))
        exit_codes = stop(servers)
        found = read_outcome(soak_database, printer_ids, fakes)
    return Soak(
        printer_ids=printer_ids,
        cli_runs=cli_runs,
        server_logs=[server.log.read_text() for server in servers],
        exit_codes=exit_codes,
        **found,
    )


def test_no_periodic_round_failed(soak: Soak) -> None:
    failed = [log.count("periodic sync round failed") for log in soak.server_logs]
    assert failed == [0] * SERVERS


def test_no_process_printed_a_traceback(soak: Soak) -> None:
    outputs = [*soak.server_logs, *(run.stdout + run.stderr for run in soak.cli_runs)]
    assert [text for text in outputs if "Traceback" in text] == []


def test_the_cli_ran_all_along_and_was_refused_only_by_a_running_sync(soak: Soak) -> None:
    codes = set().union(*(run.failure_codes for run in soak.cli_runs))
    statuses = {run.returncode for run in soak.cli_runs}
    assert (len(soak.cli_runs) >= 10, codes <= {"SYNC_ALREADY_RUNNING"}, statuses <= {0, 1}) == (
        True,
        True,
        True,
    ), [run.stdout[-500:] + run.stderr for run in soak.cli_runs if run.returncode != 0][:3]


def test_the_servers_logged_no_failed_sync(soak: Soak) -> None:
    assert [log.count("sync of multi-") for log in soak.server_logs] == [0] * SERVERS


def test_every_sync_run_succeeded(soak: Soak) -> None:
    assert sorted({run.status for run in soak.runs}) == ["succeeded"]


def test_no_job_is_stored_twice_and_none_is_missing(soak: Soak) -> None:
    assert soak.duplicates == []
    assert {p: soak.stored.get(p, set()) for p in soak.printer_ids} == soak.expected


def test_both_servers_stopped_on_sigterm(soak: Soak) -> None:
    assert set(soak.exit_codes) <= {0, -15}
