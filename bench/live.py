"""Live-mode benchmark (issue 13): a farm of fake Moonrakers pushing over their websockets
into a served gql-server, and how fast and how completely it comes out the other side.

    python -m bench.live                          # 100 printers for 60 s
    python -m bench.live --seconds 10 --printers 20

Each fake printer (tests/support/fake_moonraker_ws.py, its own uvicorn on 127.0.0.1)
pushes a ``notify_status_update`` 4 times a second and finishes a job every
``--job-seconds`` (staggered across printers): print_stats first, then history's
``finished``, then the next job's ``added``, all through the fake's own history, which
its HTTP API serves too, so the server's reconnect sync reads the same jobs.

The server is ``gql-server serve`` in a subprocess (SQLite file in a temporary
directory, GQL_LIVE on). Measured, from the moment the fake sends ``finished``:

- to the job in a GraphQL query: one poller asks for the newest COMPLETED jobs every
  ``--poll-ms``; a job's delay is when the first answer holding it arrived (an upper
  bound: the resolution is the poll interval plus the query's own time);
- to the ``printJobChanged`` FINISHED message on one graphql-transport-ws subscriber.

Also the server's CPU share (utime + stime from /proc/PID/stat over the wall time of
the run), its RSS at the start and the end, and the events counted on each side: every
finished job must arrive once in the subscription and be stored once. The bench itself
(fakes, driver, poller, subscriber) shares the machine and the clock: its delays include
its own scheduling. Figures only; nothing is asserted.
"""

import argparse
import os
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from websockets.exceptions import ConnectionClosed

from gql_server.cli.farm_state import fetch_farm
from gql_server.db.engine import create_db_engine
from gql_server.db.migrate import upgrade_to_head
from gql_server.db.models import Printer, PrintJob
from gql_server.db.session import Database
from gql_server.services.api_keys import create_api_key
from gql_server.services.printers import create_printer
from tests.support.fake_moonraker import LOOPBACK, FakeMoonraker, FakeMoonrakerServer
from tests.support.graphql_ws import authenticated_socket
from tests.support.served import ServerProcess, start_server, stop, wait_healthy

GOAL_P99_MS = 250.0
PUSHES_PER_SECOND = 4
CONNECT_TIMEOUT_S = 120.0  # every printer CONNECTED, on a busy machine
DRAIN_TIMEOUT_S = 20.0  # after the last finish, for the stragglers to arrive
RSS_SAMPLE_S = 15.0  # how often the server's RSS is sampled during the run
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

JOBS_QUERY = """
query Finished($after: DateTime!) {
  printJobs(first: 100, orderBy: {field: END_TIME, direction: DESC},
            filter: {statuses: [COMPLETED], startedAfter: $after}) {
    nodes { databaseId }
  }
}"""
JOB_CHANGED = """
subscription { printJobChanged { action job { databaseId jobId status printer { name } } } }"""

JobKey = tuple[str, str]  # (printer name, Moonraker job id)


@dataclass
class Tally:
    """What each side saw, keyed by job; times are time.monotonic()."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    finished_at: dict[JobKey, float] = field(default_factory=dict)
    added_sent: int = 0
    status_pushes: int = 0
    # The poller asks for row ids only (a light query, as a dashboard's refresh would be);
    # the subscription and the database name each row's job.
    queried_ids: dict[int, float] = field(default_factory=dict)
    row_ids: dict[JobKey, int] = field(default_factory=dict)
    subscribed: Counter[tuple[str, JobKey]] = field(default_factory=Counter)
    subscribed_at: dict[JobKey, float] = field(default_factory=dict)
    subscription_errors: list[str] = field(default_factory=list)
    polls: int = 0

    def added_received(self) -> int:
        return sum(n for (action, _), n in self.subscribed.items() if action == "ADDED")

    def all_arrived(self) -> bool:
        with self.lock:
            wanted = set(self.finished_at)
            queried = {key for key, row in self.row_ids.items() if row in self.queried_ids}
            return (
                wanted <= queried
                and wanted <= set(self.subscribed_at)
                and self.added_received() >= self.added_sent
            )


@dataclass
class FakePrinter:
    name: str
    fake: FakeMoonraker
    filename: str
    cycle: float  # seconds between two finished jobs
    next_finish: float
    running: str | None = None  # the in_progress job's id


# ---------------------------------------------------------------------------- setup


def start_fakes(count: int, stack: ExitStack) -> list[FakeMoonrakerServer]:
    """One uvicorn per printer, started a few at a time (each waits for its port)."""
    servers = [FakeMoonrakerServer(startup_timeout=30.0) for _ in range(count)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda server: server.start(), servers))
    for server in servers:
        stack.callback(server.stop)
        server.moonraker.add_sample_files()
    return servers


def prepare_database(path: Path, fakes: list[FakeMoonrakerServer]) -> tuple[str, list[str]]:
    """Migrated, one printer per fake, a READ key: the key and the printer names."""
    database = Database(create_db_engine(f"sqlite:///{path}"))
    try:
        upgrade_to_head(database.engine)
        names = [f"bench-{n:03d}" for n in range(len(fakes))]
        with database.scope() as session:
            for name, server in zip(names, fakes, strict=True):
                create_printer(
                    session, name=name, moonraker_url=server.url, allowed_networks=LOOPBACK
                )
            key = create_api_key(session, name="bench-live", scopes="READ").plaintext
        return key, names
    finally:
        database.dispose()


def wait_connected(url: str, key: str, count: int) -> float:
    """Seconds until live mode reports every printer CONNECTED."""
    started = time.monotonic()
    with httpx.Client(trust_env=False) as client:
        while time.monotonic() - started < CONNECT_TIMEOUT_S:
            printers = fetch_farm(client, url, key)
            connected = sum(
                1 for p in printers if p.live and p.live.get("connection") == "CONNECTED"
            )
            if connected == count:
                return time.monotonic() - started
            time.sleep(0.5)
    raise SystemExit(f"only some printers connected within {CONNECT_TIMEOUT_S:g} s")


# ---------------------------------------------------------------------------- the farm


def drive(printers: list[FakePrinter], seconds: float, tally: Tally) -> None:
    """Status 4 times a second per printer; a job finished (then the next one added)
    whenever a printer's turn comes. Bounded by tick count and by time."""
    period = 1.0 / PUSHES_PER_SECOND
    start = time.monotonic()
    for tick in range(int(seconds * PUSHES_PER_SECOND)):
        now = time.monotonic()
        if now - start > seconds + 5.0:
            break
        for n, printer in enumerate(printers):
            push_status(printer, tick, n)
            tally.status_pushes += 1
            if now >= printer.next_finish:
                finish_job(printer, tally)
                start_job(printer, tally)
                printer.next_finish = now + printer.cycle
        pause = start + (tick + 1) * period - time.monotonic()
        if pause > 0:
            time.sleep(pause)


def push_status(printer: FakePrinter, tick: int, n: int) -> None:
    progress = (tick % 40) / 40
    printer.fake.websocket.push_status(
        {
            "extruder": {"temperature": 209.0 + (tick + n) % 3 * 0.5, "target": 210.0},
            "heater_bed": {"temperature": 59.5 + tick % 2 * 0.5, "target": 60.0},
            "display_status": {"progress": progress},
            "virtual_sdcard": {"progress": progress, "file_position": tick * 1000},
            "print_stats": {"print_duration": tick * 0.25, "total_duration": tick * 0.25},
        }
    )


def finish_job(printer: FakePrinter, tally: Tally) -> None:
    """print_stats says complete, then history's ``finished`` (timed from just before)."""
    if printer.running is None:
        return
    printer.fake.websocket.push_status({"print_stats": {"state": "complete"}})
    finished_at = time.monotonic()
    printer.fake.finish_job(printer.running, "completed", end_time=time.time())
    with tally.lock:
        tally.finished_at[(printer.name, printer.running)] = finished_at
    printer.running = None


def start_job(printer: FakePrinter, tally: Tally) -> None:
    job = printer.fake.websocket.start_print(printer.filename, start_time=time.time())
    tally.added_sent += 1
    printer.running = str(job["job_id"])


# ---------------------------------------------------------------------------- observers


def poll_jobs(
    url: str, key: str, tally: Tally, stop_at: threading.Event, poll_s: float, limit_s: float
) -> None:
    """The newest COMPLETED jobs, again and again: when each first shows up. Bounded by
    ``limit_s`` and so by ``limit_s / poll_s`` queries."""
    since = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    deadline = time.monotonic() + limit_s
    with httpx.Client(trust_env=False, timeout=10.0) as client:
        while not stop_at.is_set() and time.monotonic() < deadline:
            sent = time.monotonic()
            response = client.post(
                f"{url}/graphql",
                json={"query": JOBS_QUERY, "variables": {"after": since}},
                headers={"X-API-Key": key},
            )
            arrived = time.monotonic()
            nodes = response.json()["data"]["printJobs"]["nodes"]
            with tally.lock:
                tally.polls += 1
                for node in nodes:
                    tally.queried_ids.setdefault(node["databaseId"], arrived)
            stop_at.wait(max(0.0, poll_s - (arrived - sent)))


def subscribe_jobs(
    url: str,
    key: str,
    tally: Tally,
    events: tuple[threading.Event, threading.Event],
    limit_s: float,
) -> None:
    ready, stop_at = events
    with authenticated_socket(url, key) as socket:
        socket.subscribe("jobs", JOB_CHANGED)
        ready.set()
        deadline = time.monotonic() + limit_s
        while not stop_at.is_set() and time.monotonic() < deadline:
            try:
                message = socket.receive(timeout=0.5)
            except TimeoutError:
                continue
            except ConnectionClosed as exc:
                last = max(tally.subscribed_at.values(), default=0.0)
                tally.subscription_errors.append(
                    f"socket closed: {exc} ({time.monotonic() - last:.1f} s after the last job)"
                )
                return
            arrived = time.monotonic()
            if message.get("type") != "next" or message["payload"].get("errors"):
                tally.subscription_errors.append(str(message)[:200])
                continue
            change = message["payload"]["data"]["printJobChanged"]
            job_key = (change["job"]["printer"]["name"], change["job"]["jobId"])
            with tally.lock:
                tally.row_ids[job_key] = change["job"]["databaseId"]
                tally.subscribed[(change["action"], job_key)] += 1
                if change["action"] == "FINISHED":
                    tally.subscribed_at.setdefault(job_key, arrived)


# ---------------------------------------------------------------------------- the server


@dataclass(frozen=True)
class ProcessSample:
    cpu_seconds: float
    rss_mib: float
    at: float


def sample(pid: int) -> ProcessSample:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime (fields 14, 15)
    rss_pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return ProcessSample(cpu, rss_pages * os.sysconf("SC_PAGE_SIZE") / 2**20, time.monotonic())


def sample_every(
    pid: int, every_s: float, done: threading.Event, into: list[ProcessSample]
) -> None:
    """The server's RSS over the run: growth that levels off is caches warming up;
    growth that goes on is a leak."""
    while not done.wait(every_s):
        into.append(sample(pid))


def rss_timeline(samples: list[ProcessSample]) -> str:
    return ", ".join(f"{s.rss_mib:.0f}" for s in samples)


@contextmanager
def gql_server(folder: Path, database_path: Path) -> Iterator[ServerProcess]:
    env = {
        "DATABASE_URL": f"sqlite:///{database_path}",
        "GQL_LIVE": "true",
        "GQL_MOONRAKER_ALLOWED_NETWORKS": "127.0.0.0/8",
        "GQL_LOG_FORMAT": "text",
    }
    server = start_server(folder / "server.log", env)
    try:
        wait_healthy(server, timeout=60.0)
        yield server
    finally:
        stop([server], 30.0)


def stored_jobs(database_path: Path) -> tuple[Counter[tuple[JobKey, str]], dict[int, JobKey]]:
    """Rows per job and status, and the job of each row id."""
    database = Database(create_db_engine(f"sqlite:///{database_path}"))
    try:
        with database.scope() as session:
            rows = session.execute(
                select(PrintJob.id, Printer.name, PrintJob.job_id, PrintJob.status).join(
                    Printer, Printer.id == PrintJob.printer_id
                )
            ).all()
        counts = Counter(((name, job_id), str(status)) for _, name, job_id, status in rows)
        return counts, {row_id: (name, job_id) for row_id, name, job_id, _ in rows}
    finally:
        database.dispose()


# ---------------------------------------------------------------------------- report


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def delays_ms(finished: dict[JobKey, float], seen: dict[JobKey, float]) -> list[float]:
    return [1000 * (seen[key] - at) for key, at in finished.items() if key in seen]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(args: argparse.Namespace, tally: Tally, figures: dict[str, Any]) -> None:
    finished = tally.finished_at
    stored, jobs_of_rows = figures["stored"]
    queried_at = {
        jobs_of_rows[row]: at for row, at in tally.queried_ids.items() if row in jobs_of_rows
    }
    completed = Counter(
        {job: n for (job, status), n in stored.items() if status.lower() == "completed"}
    )
    rows: list[tuple[str, str, str]] = []
    goals: list[tuple[str, bool]] = []
    for label, seen in (("query", queried_at), ("subscription", tally.subscribed_at)):
        ms = delays_ms(finished, seen)
        p50 = statistics.median(ms) if ms else float("nan")
        p99 = percentile(ms, 0.99) if ms else float("nan")
        rows.append((f"finished -> {label} p50", f"{p50:.0f} ms", f"of {len(ms)} jobs"))
        rows.append((f"finished -> {label} p99", f"{p99:.0f} ms", f"goal <= {GOAL_P99_MS:g}"))
        rows.append(
            (
                f"finished -> {label} max",
                f"{max(ms, default=float('nan')):.0f} ms",
                _slowest(finished, seen, figures["begin"].at),
            )
        )
        goals.append((f"{label} p99 <= {GOAL_P99_MS:g} ms", bool(ms) and p99 <= GOAL_P99_MS))
    begin, end = figures["begin"], figures["end"]
    wall = end.at - begin.at
    cpu_share = (end.cpu_seconds - begin.cpu_seconds) / wall
    bench_begin, bench_end = figures["bench_begin"], figures["bench_end"]
    bench_share = (bench_end.cpu_seconds - bench_begin.cpu_seconds) / wall
    finished_msgs = {
        job: n for (action, job), n in tally.subscribed.items() if action == "FINISHED"
    }
    added_msgs = tally.added_received()
    once_in_subscription = all(finished_msgs.get(job) == 1 for job in finished)
    once_stored = all(completed.get(job) == 1 for job in finished)
    rows += [
        ("printers / run seconds", f"{args.printers} / {wall:.1f} s", ""),
        ("status updates sent", str(tally.status_pushes), ""),
        ("jobs added sent / ADDED received", f"{tally.added_sent} / {added_msgs}", ""),
        ("jobs finished sent", str(len(finished)), ""),
        ("FINISHED received (distinct / total)", _pair(finished_msgs), "each exactly once"),
        ("finished jobs seen by the query", str(len(set(finished) & set(queried_at))), ""),
        (
            "finished jobs stored COMPLETED once",
            str(sum(completed.get(j) == 1 for j in finished)),
            "",
        ),
        ("job rows stored (all statuses)", str(sum(stored.values())), ""),
        ("query polls", f"{tally.polls} (every {args.poll_ms:g} ms)", ""),
        ("server CPU share", f"{100 * cpu_share:.0f} % of one core", ""),
        (
            "server CPU per finished job",
            f"{1000 * cpu_share * wall / max(len(finished), 1):.1f} ms",
            "all its work (events, status, queries, subscription) / jobs finished",
        ),
        ("bench process CPU share (same machine)", f"{100 * bench_share:.0f} % of one core", ""),
        ("server RSS start / end", f"{begin.rss_mib:.0f} / {end.rss_mib:.0f} MiB", ""),
        (
            f"server RSS every {RSS_SAMPLE_S:g} s",
            f"{rss_timeline(figures['rss'])} MiB",
            "levels off: caches; keeps rising: a leak",
        ),
        ("connect time (all printers)", f"{figures['connect_s']:.1f} s", ""),
    ]
    if tally.subscription_errors:
        rows.append(("subscription errors", str(len(tally.subscription_errors)), ""))
    goals += [
        ("no loss: every finished job once in the subscription", once_in_subscription),
        ("no loss: every finished job stored once", once_stored),
    ]
    width = max(len(name) for name, _, _ in rows)
    value_width = max(len(value) for _, value, _ in rows)
    print(
        f"\nbench.live: {args.printers} printers, {args.seconds:g} s, a job per "
        f"{args.job_seconds:g} s each, status {PUSHES_PER_SECOND}/s each"
    )
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:>{value_width}}  {note}".rstrip())
    print()
    for name, ok in goals:
        print(f"  {verdict(ok)}  {name}")
    for error in tally.subscription_errors[:3]:
        print(f"  subscription error: {error}")


def _slowest(finished: dict[JobKey, float], seen: dict[JobKey, float], start: float) -> str:
    """When in the run the slowest job finished: a warm-up, a stall, or spread out."""
    late = [(seen[key] - at, at) for key, at in finished.items() if key in seen]
    return f"finished at +{max(late)[1] - start:.1f} s" if late else ""


def _pair(counts: dict[JobKey, int]) -> str:
    return f"{len(counts)} / {sum(counts.values())}"


# ---------------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="run time (default 60)")
    parser.add_argument("--printers", type=int, default=100, help="fake printers (default 100)")
    parser.add_argument(
        "--job-seconds", type=float, default=5.0, help="a job finishes this often (default 5)"
    )
    parser.add_argument(
        "--poll-ms", type=float, default=50.0, help="query poll interval (default 50)"
    )
    parser.add_argument("--server-log", help="copy the server's log to this file")
    args = parser.parse_args()
    if not (1 <= args.printers <= 100 and 1 <= args.seconds <= 600 and args.job_seconds >= 1):
        parser.error("--printers 1..100, --seconds 1..600, --job-seconds >= 1")
    return args


def run(args: argparse.Namespace, folder: Path) -> None:
    tally = Tally()
    with ExitStack() as stack:
        print(f"starting {args.printers} fake Moonrakers ...", flush=True)
        fakes = start_fakes(args.printers, stack)
        database_path = folder / "bench.db"
        key, names = prepare_database(database_path, fakes)
        print("starting gql-server serve (live mode) ...", flush=True)
        with gql_server(folder, database_path) as server:
            connect_s = wait_connected(server.url, key, args.printers)
            stop_at, ready = threading.Event(), threading.Event()
            limit_s = args.seconds + DRAIN_TIMEOUT_S + 30.0
            subscriber = threading.Thread(
                target=subscribe_jobs,
                args=(server.url, key, tally, (ready, stop_at), limit_s),
                daemon=True,
            )
            subscriber.start()
            if not ready.wait(30.0):
                raise SystemExit("the subscriber never connected")
            time.sleep(1.0)  # the hub has the reader before the first event
            poller = threading.Thread(
                target=poll_jobs,
                args=(server.url, key, tally, stop_at, args.poll_ms / 1000, limit_s),
                daemon=True,
            )
            poller.start()
            start = time.monotonic()
            printers = [
                FakePrinter(
                    name=name,
                    fake=fake.moonraker,
                    filename=next(iter(fake.moonraker.files)),
                    cycle=args.job_seconds,
                    # staggered: the farm finishes jobs evenly, not all at once
                    next_finish=start + args.job_seconds * (n + 1) / len(fakes),
                )
                for n, (name, fake) in enumerate(zip(names, fakes, strict=True))
            ]
            for printer in printers:
                start_job(printer, tally)
            begin, bench_begin = sample(server.process.pid), sample(os.getpid())
            print(f"driving for {args.seconds:g} s ...", flush=True)
            rss_done = threading.Event()
            rss_samples: list[ProcessSample] = []
            sampler = threading.Thread(
                target=sample_every,
                args=(server.process.pid, RSS_SAMPLE_S, rss_done, rss_samples),
                daemon=True,
            )
            sampler.start()
            drive(printers, args.seconds, tally)
            rss_done.set()
            sampler.join(RSS_SAMPLE_S + 5.0)
            end, bench_end = sample(server.process.pid), sample(os.getpid())
            drain_until = time.monotonic() + DRAIN_TIMEOUT_S
            while not tally.all_arrived() and time.monotonic() < drain_until:
                time.sleep(0.1)
            stop_at.set()
            subscriber.join(10.0)
            poller.join(10.0)
        stored = stored_jobs(database_path)
        if args.server_log is not None:
            Path(args.server_log).write_text(server.output())
    figures = {
        "begin": begin,
        "end": end,
        "bench_begin": bench_begin,
        "bench_end": bench_end,
        "rss": [begin, *rss_samples, end],
    }
    report(args, tally, {**figures, "stored": stored, "connect_s": connect_s})


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-live-") as folder:
        run(args, Path(folder))


if __name__ == "__main__":
    main()
