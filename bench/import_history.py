"""Import benchmark: sync 10,000 jobs from a local Moonraker-shaped server.

    python -m bench.import_history [--jobs 10000] [--page-size 200] [--database URL]

Prints the wall time of a full first sync, the requests it made, the process's peak
RSS, and the floor: the time to merely download the same pages with the same client
settings. The ratio import / floor is the overhead of parsing and writing to SQL.
"""

import argparse
import asyncio
import multiprocessing
import resource
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from gql_server.db.engine import create_db_engine
from gql_server.db.migrate import upgrade_to_head
from gql_server.db.session import Database
from gql_server.services.printers import create_printer
from gql_server.services.sync import Syncer, SyncOptions
from tests.support.fake_moonraker import LOOPBACK, FakeMoonraker, FakeMoonrakerServer


async def download_floor(url: str, page_size: int) -> tuple[float, int]:
    """Fetch every list page and nothing else: the network/JSON floor of an import."""
    started = time.perf_counter()
    requests = 0
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        start = 0
        while True:
            response = await client.get(
                "/server/history/list",
                params={"start": start, "limit": page_size, "order": "asc"},
            )
            requests += 1
            jobs = response.json()["result"]["jobs"]
            start += len(jobs)
            if len(jobs) < page_size:
                break
    return time.perf_counter() - started, requests


def _serve_fake(
    jobs: int, urls: "multiprocessing.Queue[str]", stop: "multiprocessing.Event"
) -> None:  # type: ignore[type-arg]
    fake = FakeMoonraker()
    fake.add_jobs(jobs, seed=1)
    with FakeMoonrakerServer(fake) as server:
        urls.put(server.url)
        stop.wait(600)


@contextmanager
def fake_printer(jobs: int) -> Iterator[str]:
    """The fake Moonraker in its own process, like a real printer on its own machine:
    in ours, its JSON encoding would compete with the import for the GIL."""
    context = multiprocessing.get_context("spawn")
    urls = context.Queue()
    stop = context.Event()
    process = context.Process(target=_serve_fake, args=(jobs, urls, stop), daemon=True)
    process.start()
    try:
        yield urls.get(timeout=60)
    finally:
        stop.set()
        process.join(10)
        if process.is_alive():
            process.kill()


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--page-size", type=int, default=200)
    parser.add_argument("--database", help="SQLAlchemy URL (default: a temporary SQLite file)")
    args = parser.parse_args()

    with fake_printer(args.jobs) as printer_url, tempfile.TemporaryDirectory() as folder:
        url = args.database or f"sqlite:///{Path(folder) / 'import.db'}"
        database = Database(create_db_engine(url))
        upgrade_to_head(database.engine)
        with database.scope() as session:
            printer_id = create_printer(
                session, name="bench", moonraker_url=printer_url, allowed_networks=LOOPBACK
            ).id
        rss_before = peak_rss_mib()
        floor, floor_requests = asyncio.run(download_floor(printer_url, args.page_size))
        options = SyncOptions(page_size=args.page_size, allowed_networks=LOOPBACK)
        syncer = Syncer(database, options)
        started = time.perf_counter()
        (result,) = asyncio.run(syncer.sync_printers([printer_id], full=True))
        wall = time.perf_counter() - started
        database.dispose()
    assert result.ok, (result.error_code, result.error_message)
    print(f"jobs: {args.jobs}, page size {args.page_size}, database {url.split(':')[0]}")
    print(
        f"import  : {wall:.2f} s, {result.requests_made} requests, "
        f"{result.counts.jobs_created} jobs created, {result.counts.details_extracted} details"
    )
    print(f"floor   : {floor:.2f} s, {floor_requests} requests (download only)")
    print(f"ratio   : {wall / floor:.2f}x (target <= 1.3x)")
    print(f"peak RSS: {peak_rss_mib():.0f} MiB (before the runs: {rss_before:.0f} MiB)")
    print("(the fake printer runs in its own process; RSS is this process's)")


if __name__ == "__main__":
    main()
