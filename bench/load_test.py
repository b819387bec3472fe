"""Load test: concurrent clients against the real server, over HTTP on 127.0.0.1.

    python -m bench.load_test [--seconds 30] [--clients 16] [--printers 20] [--jobs 200]

Seeds a fresh SQLite file (bench/seed.py), creates a READ key with ``gql-server api-key
create``, starts ``gql-server serve`` on a free 127.0.0.1 port, collects real ids, then
runs ``--clients`` asyncio clients for ``--seconds`` (each also stops after
``--max-requests`` requests). Every client sends a seeded mix of print-job pages with
filters, printers with nested jobs, printStats by DAY/STATUS/PRINTER and node lookups.

Prints requests, errors (a non-200 answer, any GraphQL error or a transport failure),
throughput and p50/p90/p99 latency, overall and per kind. Exits 1 when any error
occurred.
"""

import argparse
import asyncio
import math
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.seed import seed_fleet
from gql_server.db.engine import create_db_engine
from gql_server.db.migrate import upgrade_to_head
from gql_server.db.session import Database

GQL_SERVER = str(Path(sys.executable).with_name("gql-server"))
STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
REQUEST_TIMEOUT = 30.0

IDS = """{ printers(first: 100) { nodes { id
  printJobs(first: 25) { nodes { id jobDetails { id } } } } } }"""

JOB_PAGE = """query Jobs($first: Int!, $filter: PrintJobFilter, $order: PrintJobOrder) {
  printJobs(first: $first, filter: $filter, orderBy: $order) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id jobId filename status startTime printDuration filamentUsed
      printer { name } jobDetails { filamentType layerHeight } } }
  }
}"""
FLEET = """query Fleet($first: Int!, $jobs: Int!) {
  printers(first: $first) {
    nodes { id name isActive jobTotals { totalJobs totalPrintTime }
      printJobs(first: $jobs) { nodes { filename status startTime
        jobDetails { filamentType } } } }
  }
}"""
STATS = """query Stats($groupBy: StatsGroupBy!, $filter: PrintJobFilter) {
  printStats(groupBy: $groupBy, filter: $filter) {
    key jobCount completedCount successRate printTime totalTime filamentUsed
  }
}"""
NODE = """query Node($id: ID!) {
  node(id: $id) {
    __typename id databaseId
    ... on Printer { name lastSyncAt }
    ... on PrintJob { filename status startTime printer { name } }
    ... on JobDetails { filamentType layerHeight }
  }
}"""
STATUSES = ["COMPLETED", "CANCELLED", "ERROR"]
FILAMENTS = ["PLA", "PETG", "ABS", "ASA", "TPU"]
ORDER_FIELDS = ["START_TIME", "END_TIME", "DURATION", "FILAMENT_USED"]


# ---------------------------------------------------------------------------- the mix


@dataclass(frozen=True)
class Ids:
    printers: list[str]
    nodes: list[str]  # printers, jobs and job details


Request = tuple[str, str, dict[str, Any]]  # (kind, query, variables)


def job_page(rng: random.Random, ids: Ids) -> Request:
    filters: list[dict[str, Any]] = [
        {},
        {"statuses": rng.sample(STATUSES, rng.randint(1, 2))},
        {"printerIds": rng.sample(ids.printers, min(3, len(ids.printers)))},
        {"filenameContains": f"part_{rng.randint(1, 99)}"},
        {"filamentTypes": [rng.choice(FILAMENTS)]},
        {"slicer": "PrusaSlicer", "startedAfter": "2025-02-01T00:00:00Z"},
    ]
    order = {"field": rng.choice(ORDER_FIELDS), "direction": rng.choice(["ASC", "DESC"])}
    variables = {"first": rng.choice([10, 25, 50]), "filter": rng.choice(filters), "order": order}
    return "list", JOB_PAGE, variables


def fleet(rng: random.Random, ids: Ids) -> Request:
    return "printers", FLEET, {"first": rng.choice([10, 20]), "jobs": rng.choice([5, 10])}


def stats(rng: random.Random, ids: Ids) -> Request:
    group_by = rng.choice(["DAY", "STATUS", "PRINTER"])
    filters = [None, {"printerIds": rng.sample(ids.printers, 1)}, {"statuses": ["COMPLETED"]}]
    return f"stats:{group_by}", STATS, {"groupBy": group_by, "filter": rng.choice(filters)}


def node(rng: random.Random, ids: Ids) -> Request:
    return "node", NODE, {"id": rng.choice(ids.nodes)}


# Weights of the mix: lists and lookups are what frontends send most.
MIX: list[tuple[Callable[[random.Random, Ids], Request], int]] = [
    (job_page, 40),
    (fleet, 15),
    (stats, 20),
    (node, 25),
]


# ---------------------------------------------------------------------------- clients


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)

    def all_latencies(self) -> list[float]:
        return [ms for per_kind in self.latencies.values() for ms in per_kind]


def problem(response: httpx.Response) -> str | None:
    if response.status_code != 200:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    try:
        body = response.json()
    except ValueError:
        return f"not JSON: {response.text[:200]}"
    if body.get("errors"):
        return f"GraphQL error: {str(body['errors'])[:200]}"
    return None


async def client(
    number: int, base_url: str, key: str, ids: Ids, deadline: float, limit: int, tally: Tally
) -> None:
    rng = random.Random(number)
    makers, weights = zip(*MIX, strict=True)
    headers = {"X-API-Key": key}
    async with httpx.AsyncClient(base_url=base_url, timeout=REQUEST_TIMEOUT) as http:
        for _ in range(limit):
            if time.monotonic() >= deadline:
                return
            kind, query, variables = rng.choices(makers, weights)[0](rng, ids)
            started = time.perf_counter()
            try:
                response = await http.post(
                    "/graphql", json={"query": query, "variables": variables}, headers=headers
                )
                error = problem(response)
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            tally.latencies[kind].append((time.perf_counter() - started) * 1000)
            if error is not None:
                tally.errors.append(f"{kind}: {error}")


async def run_clients(args: argparse.Namespace, base_url: str, key: str, ids: Ids) -> Tally:
    tally = Tally()
    deadline = time.monotonic() + args.seconds
    async with asyncio.TaskGroup() as group:
        for number in range(args.clients):
            group.create_task(
                client(number, base_url, key, ids, deadline, args.max_requests, tally)
            )
    return tally


# ---------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [GQL_SERVER, *args], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


@contextmanager
def served(env: dict[str, str], port: int, log: Path) -> Iterator[str]:
    """``gql-server serve`` on 127.0.0.1 only; stopped (then killed) whatever happens."""
    base_url = f"http://127.0.0.1:{port}"
    with log.open("w") as output:
        process = subprocess.Popen(
            [GQL_SERVER, "serve", "--host", "127.0.0.1", "--port", str(port),
             "--no-bootstrap-key"],
            env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            wait_healthy(base_url, process, log)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_healthy(base_url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"server not healthy within {STARTUP_TIMEOUT} s:\n{log.read_text()}")


def collect_ids(base_url: str, key: str) -> Ids:
    response = httpx.post(
        f"{base_url}/graphql", json={"query": IDS}, headers={"X-API-Key": key}, timeout=30
    )
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    printers = body["data"]["printers"]["nodes"]
    nodes = [p["id"] for p in printers]
    for printer in printers:
        for job in printer["printJobs"]["nodes"]:
            nodes.append(job["id"])
            if job["jobDetails"] is not None:
                nodes.append(job["jobDetails"]["id"])
    return Ids(printers=[p["id"] for p in printers], nodes=nodes)


def seed(path: Path, printers: int, jobs: int) -> None:
    database = Database(create_db_engine(f"sqlite:///{path}"))
    try:
        upgrade_to_head(database.engine)
        seed_fleet(database, printers, jobs)
    finally:
        database.dispose()


# ---------------------------------------------------------------------------- report


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile of sorted ``values``."""
    rank = max(1, math.ceil(share * len(values)))
    return values[rank - 1]


def report(args: argparse.Namespace, tally: Tally, elapsed: float) -> None:
    latencies = sorted(tally.all_latencies())
    requests = len(latencies)
    print(
        f"load: {args.clients} clients, {args.seconds:g} s, "
        f"{args.printers} printers x {args.jobs} jobs (SQLite, 1 worker, 127.0.0.1)"
    )
    print(f"requests  : {requests}")
    print(f"errors    : {len(tally.errors)}")
    print(f"throughput: {requests / elapsed:.1f} req/s over {elapsed:.1f} s")
    if latencies:
        p50, p90, p99 = (percentile(latencies, q) for q in (0.50, 0.90, 0.99))
        print(f"latency   : p50 {p50:.1f} ms, p90 {p90:.1f} ms, p99 {p99:.1f} ms")
    print(f"{'kind':<16} {'requests':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for kind, values in sorted(tally.latencies.items()):
        ordered = sorted(values)
        print(
            f"{kind:<16} {len(ordered):>8} {statistics.median(ordered):>8.1f}"
            f" {percentile(ordered, 0.99):>8.1f}"
        )
    for error in tally.errors[:10]:
        print(f"error: {error}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--max-requests", type=int, default=50_000, help="per client")
    parser.add_argument("--printers", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=200, help="per printer")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "load.db"
        seed(path, args.printers, args.jobs)
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}", "GQL_SYNC_INTERVAL": "0"}
        key = cli(env, "api-key", "create", "--name", "load-test", "--scope", "READ")
        key = key.strip().splitlines()[-1]
        with served(env, free_port(), Path(folder) / "server.log") as base_url:
            ids = collect_ids(base_url, key)
            started = time.monotonic()
            tally = asyncio.run(run_clients(args, base_url, key, ids))
            elapsed = time.monotonic() - started
    report(args, tally, elapsed)
    return 1 if tally.errors else 0


if __name__ == "__main__":
    sys.exit(main())
