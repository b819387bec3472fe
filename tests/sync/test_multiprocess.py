"""Two server processes syncing the same printers every second, on one MariaDB database.

The lease on the printer row must keep their periodic syncs from overlapping, and the
unique key from storing a job twice. Three fake Moonrakers answer every history page
after 0.3 s, so syncs last long enough for the two processes to collide, and they gain
jobs while the servers run. One run (about 15 s) feeds every test below.
"""

import itertools
import signal
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gql_server.db.models import PrintJob, SyncRun
from gql_server.db.session import Database
from tests.conftest import MYSQL_URL, migrated_mysql_database
from tests.factories import make_printer
from tests.support import served
from tests.support.fake_moonraker import FakeMoonraker, FakeMoonrakerServer
from tests.support.served import ServerProcess, wait_healthy

pytestmark = pytest.mark.mariadb

URL = MYSQL_URL + "_multiproc"
PRINTERS = 3
SERVERS = 2
RUN_SECONDS = 10.0
FEED_SECONDS = 7.0  # jobs keep arriving this long; the last 3 s let the syncs catch up
FEED_EVERY = 0.2
PAGE_DELAY = 0.3
CATCH_UP_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0

Key = tuple[str, datetime]


@dataclass(frozen=True)
class Run:
    id: int
    printer_id: int
    started_at: datetime
    finished_at: datetime | None
    status: str


@dataclass(frozen=True)
class Outcome:
    printer_ids: list[int]
    runs: list[Run]
    duplicates: list[tuple]
    stored: dict[int, set[Key]]
    expected: dict[int, set[Key]]
    exit_codes: list[int | None]  # None: had to be killed
    syncs_logged: list[int]  # by server process
    logs: str  # the end of each server's log

    def runs_of(self, printer_id: int) -> list[Run]:
        return sorted(
            (r for r in self.runs if r.printer_id == printer_id), key=lambda r: r.started_at
        )


def fake_keys(fake: FakeMoonraker) -> set[Key]:
    with fake._lock:
        return {
            (job["job_id"], datetime.fromtimestamp(job["start_time"], UTC)) for job in fake.jobs
        }


# ---------------------------------------------------------------------------- servers


def start_server(log: Path, url: str = URL) -> ServerProcess:
    env = {"DATABASE_URL": url, "GQL_SYNC_INTERVAL": "1"}
    env["GQL_MOONRAKER_ALLOWED_NETWORKS"] = "127.0.0.0/8"
    return served.start_server(log, env)


def stop(servers: list[ServerProcess]) -> list[int | None]:
    return served.stop(servers, STOP_TIMEOUT)


@contextmanager
def running_servers(log_dir: Path) -> Iterator[list[ServerProcess]]:
    servers: list[ServerProcess] = []
    try:
        for n in range(SERVERS):
            servers.append(start_server(log_dir / f"server-{n}.log"))
        for server in servers:
            wait_healthy(server)
        yield servers
    finally:
        stop(servers)  # idempotent: the test stops them first to check the database


# ---------------------------------------------------------------------------- the run


@pytest.fixture(scope="module")
def mariadb() -> Iterator[Database]:
    with migrated_mysql_database(URL) as database:
        yield database


@pytest.fixture(scope="module")
def moonrakers() -> Iterator[list[FakeMoonrakerServer]]:
    with ExitStack() as stack:
        servers = [stack.enter_context(FakeMoonrakerServer()) for _ in range(PRINTERS)]
        for n, server in enumerate(servers):
            server.moonraker.add_sample_files()
            server.moonraker.add_jobs(20, seed=n)
            server.moonraker.fault("delay", path="/server/history/list", seconds=PAGE_DELAY)
        yield servers


def add_printers(database: Database, urls: list[str]) -> list[int]:
    with database.scope() as session:
        printers = [
            make_printer(session, f"multi-{n}", moonraker_url=url) for n, url in enumerate(urls)
        ]
        session.flush()
        return [printer.id for printer in printers]


def feed(fakes: list[FakeMoonraker], until: float) -> None:
    """New jobs on every printer, round robin, while the servers sync."""
    tick = 0
    while time.monotonic() < until:
        fakes[tick % len(fakes)].add_jobs(1, seed=1000 + tick)
        tick += 1
        time.sleep(FEED_EVERY)


def wait_caught_up(database: Database, printer_ids: list[int], added: datetime) -> None:
    """Until every printer has a successful sync that started after the last job was
    added (or the timeout: the tests then show what is missing)."""
    deadline = time.monotonic() + CATCH_UP_TIMEOUT
    query = (
        select(SyncRun.printer_id, func.max(SyncRun.started_at))
        .where(SyncRun.status == "succeeded")
        .group_by(SyncRun.printer_id)
    )
    while time.monotonic() < deadline:
        with database.scope() as session:
            latest = {p: started for p, started in session.execute(query)}
        if all(p in latest and latest[p] > added for p in printer_ids):
            return
        time.sleep(0.2)


def read_outcome(database: Database, printer_ids: list[int], fakes: list[FakeMoonraker]) -> dict:
    with database.scope() as session:
        runs = [
            Run(r.id, r.printer_id, r.started_at, r.finished_at, r.status)
            for r in session.scalars(select(SyncRun))
        ]
        key = (PrintJob.printer_id, PrintJob.job_id, PrintJob.start_time)
        duplicates = list(
            session.execute(select(*key, func.count()).group_by(*key).having(func.count() > 1))
        )
        stored: dict[int, set[Key]] = defaultdict(set)
        for printer_id, job_id, start in session.execute(select(*key)):
            stored[printer_id].add((job_id, start))
    expected = {p: fake_keys(fake) for p, fake in zip(printer_ids, fakes, strict=True)}
    return {"runs": runs, "duplicates": duplicates, "stored": dict(stored), "expected": expected}


@pytest.fixture(scope="module")
def outcome(
    mariadb: Database,
    moonrakers: list[FakeMoonrakerServer],
    tmp_path_factory: pytest.TempPathFactory,
) -> Outcome:
    fakes = [server.moonraker for server in moonrakers]
    printer_ids = add_printers(mariadb, [server.url for server in moonrakers])
    log_dir = tmp_path_factory.mktemp("multiprocess-sync")
    with running_servers(log_dir) as servers:
        started = time.monotonic()
        feed(fakes, started + FEED_SECONDS)
        time.sleep(max(0.0, started + RUN_SECONDS - time.monotonic()))
        # Wall clock, as the servers write sync_runs.started_at.
        wait_caught_up(mariadb, printer_ids, added=datetime.now(UTC))
        exit_codes = stop(servers)
    texts = [server.log.read_text() for server in servers]
    found = read_outcome(mariadb, printer_ids, fakes)
    return Outcome(
        printer_ids=printer_ids,
        exit_codes=exit_codes,
        # The scheduler logs "synced <printer>: …" for each sync it ran (at INFO).
        syncs_logged=[text.count(" synced multi-") for text in texts],
        logs="\n".join(f"--- server {n}\n{text[-3000:]}" for n, text in enumerate(texts)),
        **found,
    )


# ---------------------------------------------------------------------------- the rules


def test_the_periodic_sync_ran_at_least_twice_per_printer(outcome: Outcome) -> None:
    counts = {p: len(outcome.runs_of(p)) for p in outcome.printer_ids}
    assert all(count >= 2 for count in counts.values()), (counts, outcome.logs)


def test_both_processes_ran_syncs(outcome: Outcome) -> None:
    assert all(count > 0 for count in outcome.syncs_logged), (outcome.syncs_logged, outcome.logs)


def test_no_printer_had_two_overlapping_syncs(outcome: Outcome) -> None:
    overlaps = []
    for printer_id in outcome.printer_ids:
        ended = [r for r in outcome.runs_of(printer_id) if r.status in ("succeeded", "failed")]
        for previous, following in itertools.pairwise(ended):
            assert previous.finished_at is not None
            if following.started_at < previous.finished_at:
                overlaps.append(describe_overlap(previous, following))
    assert overlaps == []


def describe_overlap(previous: Run, following: Run) -> str:
    assert previous.finished_at is not None and following.finished_at is not None
    by = (previous.finished_at - following.started_at).total_seconds() * 1000
    return (
        f"printer {previous.printer_id}: run {following.id} "
        f"[{following.started_at.time()}, {following.finished_at.time()}] started {by:.1f} ms "
        f"before run {previous.id} [{previous.started_at.time()}, {previous.finished_at.time()}]"
        " finished"
    )


def test_no_job_is_stored_twice(outcome: Outcome) -> None:
    assert outcome.duplicates == []


def test_the_stored_jobs_are_the_moonraker_jobs(outcome: Outcome) -> None:
    differences = {
        p: (
            outcome.expected[p] - outcome.stored.get(p, set()),
            outcome.stored.get(p, set()) - outcome.expected[p],
        )
        for p in outcome.printer_ids
    }
    assert {p: d for p, d in differences.items() if d != (set(), set())} == {}


def test_every_sync_finished_and_succeeded(outcome: Outcome) -> None:
    statuses = sorted({r.status for r in outcome.runs})
    assert statuses == ["succeeded"], outcome.logs


def test_both_servers_stopped_on_sigterm_without_a_kill(outcome: Outcome) -> None:
    # uvicorn re-raises the signal once its graceful shutdown is done: -SIGTERM is clean.
    assert set(outcome.exit_codes) <= {0, -signal.SIGTERM}, outcome.logs
