"""Fleet query benchmark: our server vs raw SQL + json.dumps of the same data.

    python -m bench.fleet_query [--printers 50] [--jobs 200] [--rounds 30] [--no-fast-path]

Seeds a fresh SQLite database, then measures in one run (single client, median):
- "server": the whole ASGI request (auth, Strawberry, loaders, SQL, JSON) in-process;
- "raw": the same three SQL queries with sqlite3 and the same nested dict, json.dumps'd;
alternately, round by round.
Prints SQL statements per request, requests per second, the ratio, and the Python
function calls per request on the event loop's thread (cProfile): a figure that does not
move with the machine's load, for comparing two versions.
"""

import argparse
import asyncio
import cProfile
import json
import pstats
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from bench.seed import seed_fleet
from gql_server.app import create_app
from gql_server.config import Settings
from gql_server.db.engine import create_db_engine
from gql_server.db.migrate import upgrade_to_head
from gql_server.db.session import Database
from gql_server.services.api_keys import create_api_key
from tests.support.sql_counter import count_statements

FLEET_QUERY = """{ printers(first: 50) { nodes { name jobTotals { totalJobs }
  printJobs(first: 20) { nodes { filename status jobDetails { filamentType layerHeight }
  printer { name } } } } } }"""

RAW_PRINTERS = "SELECT id, name FROM printers ORDER BY name, id LIMIT 51"
RAW_TOTALS = "SELECT printer_id, total_jobs FROM job_totals WHERE printer_id IN ({})"
# The SQL our server sends (one LIMITed arm per printer reads its index in order, the
# picked jobs are joined back with their details), so that the ratio measures our
# stack, not a different query.
RAW_ARM = """SELECT job_pk FROM (SELECT id AS job_pk FROM print_jobs WHERE printer_id = ?
  ORDER BY start_time DESC, id DESC LIMIT 21) AS arm"""
RAW_JOBS = """SELECT print_jobs.id, print_jobs.printer_id, print_jobs.filename, print_jobs.status,
  job_details.id, job_details.filament_type, job_details.layer_height
FROM print_jobs JOIN ({}) AS picked ON picked.job_pk = print_jobs.id
LEFT OUTER JOIN job_details ON job_details.print_job_id = print_jobs.id
ORDER BY print_jobs.printer_id, print_jobs.start_time DESC, print_jobs.id DESC"""


def raw_fleet(connection: sqlite3.Connection) -> str:
    printers = connection.execute(RAW_PRINTERS).fetchall()[:50]
    ids = [row[0] for row in printers]
    marks = ",".join("?" * len(ids))
    totals = dict(connection.execute(RAW_TOTALS.format(marks), ids).fetchall())
    names = dict(printers)
    pages: dict[int, list[dict]] = {pid: [] for pid in ids}
    for _, pid, filename, status, details_id, filament, layer in connection.execute(
        RAW_JOBS.format(" UNION ALL ".join([RAW_ARM] * len(ids))), ids
    ):
        page = pages[pid]
        if len(page) < 20:
            details = None
            if details_id is not None:
                details = {"filamentType": filament, "layerHeight": layer}
            page.append(
                {
                    "filename": filename,
                    "status": status.upper(),
                    "jobDetails": details,
                    "printer": {"name": names[pid]},
                }
            )
    nodes = [
        {
            "name": names[pid],
            "jobTotals": {"totalJobs": totals.get(pid)},
            "printJobs": {"nodes": pages[pid]},
        }
        for pid in ids
    ]
    return json.dumps({"data": {"printers": {"nodes": nodes}}})


PROFILED_REQUESTS = 5


async def time_both(
    database: Database, path: Path, key: str, rounds: int, *, fast_path: bool = True
) -> tuple[list[float], list[float], int, int]:
    """Server and raw timed alternately, round by round, so that a busy moment of the
    machine weighs on both alike."""
    app = create_app(Settings(database_url="sqlite://", fast_path=fast_path), database=database)
    transport = httpx.ASGITransport(app=app)
    headers = {"X-API-Key": key}
    server, raw = [], []
    with sqlite3.connect(path) as connection:
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for _ in range(3):  # warm-up: caches, last_used write
                response = await client.post(
                    "/graphql", json={"query": FLEET_QUERY}, headers=headers
                )
                assert response.status_code == 200 and "errors" not in response.json(), (
                    response.text[:2000]
                )
                # Both sides must answer with the same data, or the ratio means nothing.
                assert response.json()["data"] == json.loads(raw_fleet(connection))["data"]
            with count_statements(database.engine) as log:
                await client.post("/graphql", json={"query": FLEET_QUERY}, headers=headers)
            for _ in range(rounds):
                started = time.perf_counter()
                await client.post("/graphql", json={"query": FLEET_QUERY}, headers=headers)
                server.append(time.perf_counter() - started)
                started = time.perf_counter()
                raw_fleet(connection)
                raw.append(time.perf_counter() - started)
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(PROFILED_REQUESTS):
                await client.post("/graphql", json={"query": FLEET_QUERY}, headers=headers)
            profile.disable()
    # typeshed does not declare Stats.total_calls.
    calls = pstats.Stats(profile).total_calls // PROFILED_REQUESTS  # type: ignore[attr-defined]
    return server, raw, log.count, calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--printers", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--no-fast-path", dest="fast_path", action="store_false")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fleet.db"
        database = Database(create_db_engine(f"sqlite:///{path}"))
        upgrade_to_head(database.engine)
        seed_fleet(database, args.printers, args.jobs)
        with database.scope() as session:
            key = create_api_key(session, name="bench", scopes="READ").plaintext
        server, raw, statements, calls = asyncio.run(
            time_both(database, path, key, args.rounds, fast_path=args.fast_path)
        )
        database.dispose()
    server_ms = statistics.median(server) * 1000
    raw_ms = statistics.median(raw) * 1000
    print(
        f"fleet: {args.printers} printers x {args.jobs} jobs, first 50 x 20, {args.rounds} rounds"
        + ("" if args.fast_path else ", fast path off")
    )
    print(
        f"server: median {server_ms:.1f} ms, {1000 / server_ms:.1f} req/s, "
        f"{statements} SQL statements per request (incl. 1 auth lookup)"
    )
    print(f"raw   : median {raw_ms:.1f} ms, {1000 / raw_ms:.1f} req/s, 3 SQL statements")
    print(f"ratio : {server_ms / raw_ms:.2f}x (target <= 3.5x)")
    print(f"calls : {calls} Python function calls per request on the event loop's thread")


if __name__ == "__main__":
    main()
