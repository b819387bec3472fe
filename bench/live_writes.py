"""The server's CPU per live history event (issue 13), without the rest of live mode.

    python -m bench.live_writes                       # 4 printers, 150 jobs each
    python -m bench.live_writes --history 5000        # printers with a long past

Each job is two notifications, ``added`` then ``finished``, written one after the other
by each printer's ``HistoryWriter`` (the live path), all printers' events interleaved as
a farm sends them, into a migrated SQLite file. Moonraker is the fake over real HTTP on
127.0.0.1, for the totals and the gcode tails the writes read. ``--history`` gives every
printer that many finished jobs first (imported, not timed): the cost of an event
should not grow with a printer's past.

Printed: CPU seconds of this process per event, counted around each write, less the fake
Moonraker's threads (read from /proc), and the wall time per event (which includes the
fakes' bookkeeping). Figures only; nothing is asserted.
"""

import argparse
import asyncio
import os
import tempfile
import threading
import time
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

from gql_server.db.engine import create_db_engine
from gql_server.db.migrate import upgrade_to_head
from gql_server.db.session import Database
from gql_server.services.live.history import HistoryWriter
from gql_server.services.printers import create_printer
from gql_server.services.sync.runs import Syncer, SyncOptions
from tests.support.fake_moonraker import LOOPBACK, FakeMoonraker, FakeMoonrakerServer
from tests.support.fake_moonraker_ws import EVENT_JOB_KEYS

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
FAKE_THREADS = ("fake-moonraker",)  # tests/support/live_server.py names its threads so


def notification(fake: FakeMoonraker, job: dict[str, Any]) -> dict[str, Any]:
    """The job as ``notify_history_changed`` carries it (fake_moonraker_ws.history_changed)."""
    shown = {key: job[key] for key in EVENT_JOB_KEYS}
    shown.update(exists=fake.public_job(job, job["job_id"])["exists"], job_id=job["job_id"])
    return shown


def thread_cpu(names: tuple[str, ...]) -> float:
    """CPU seconds of this process's threads whose name starts with one of ``names``."""
    total = 0
    for thread in threading.enumerate():
        if thread.native_id is not None and thread.name.startswith(names):
            stat = Path(f"/proc/self/task/{thread.native_id}/stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def process_cpu() -> float:
    times = os.times()
    return times.user + times.system


def server_cpu() -> float:
    """This process's CPU seconds but the fake Moonrakers' threads."""
    return process_cpu() - thread_cpu(FAKE_THREADS)


async def write_all(
    writers: list[HistoryWriter], fakes: list[FakeMoonrakerServer], syncer: Syncer, jobs: int
) -> tuple[int, float]:
    """Events written and the CPU seconds spent in the writes (the fakes' bookkeeping of
    their own history, between the writes, is not counted)."""
    events, cpu = 0, 0.0
    async with AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(syncer.moonraker_client(server.url, None))
            for server in fakes
        ]
        for _ in range(jobs):
            for writer, server, client in zip(writers, fakes, clients, strict=True):
                fake = server.moonraker
                filename = next(iter(fake.files))
                added = fake.add_job(filename=filename, status="in_progress")
                cpu += await timed_write(writer, notification(fake, added), client)
                finished = fake.finish_job(added["job_id"], "completed", end_time=time.time())
                cpu += await timed_write(writer, notification(fake, finished), client)
                events += 2
    return events, cpu


async def timed_write(writer: HistoryWriter, job: dict[str, Any], client: Any) -> float:
    before = server_cpu()
    await writer.write(job, client)
    return server_cpu() - before


def run(args: argparse.Namespace, folder: Path) -> None:
    fakes = [FakeMoonrakerServer() for _ in range(args.printers)]
    for server in fakes:
        server.start()
        server.moonraker.add_sample_files()
    try:
        database = Database(create_db_engine(f"sqlite:///{folder / 'bench.db'}"))
        upgrade_to_head(database.engine)
        syncer = Syncer(database, SyncOptions(allowed_networks=LOOPBACK))
        with database.scope() as session:
            ids = [
                create_printer(
                    session, name=f"p{n}", moonraker_url=s.url, allowed_networks=LOOPBACK
                ).id
                for n, s in enumerate(fakes)
            ]
        if args.history:
            for printer_id, server in zip(ids, fakes, strict=True):
                server.moonraker.add_jobs(args.history, seed=printer_id)
                assert asyncio.run(syncer.sync_printer(printer_id, full=True)).ok
        writers = [
            HistoryWriter(database, printer_id, syncer.clock, timedelta(seconds=30))
            for printer_id in ids
        ]
        wall = time.monotonic()
        events, cpu = asyncio.run(write_all(writers, fakes, syncer, args.jobs))
        wall = time.monotonic() - wall
        database.dispose()
    finally:
        for server in fakes:
            server.stop()
    print(
        f"bench.live_writes: {args.printers} printers x {args.jobs} jobs "
        f"({events} events), {args.history} jobs of history each"
    )
    print(f"  server CPU per event   {1000 * cpu / events:7.2f} ms")
    print(f"  wall time per event    {1000 * wall / events:7.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--printers", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=150, help="jobs per printer (2 events each)")
    parser.add_argument("--history", type=int, default=0, help="finished jobs per printer first")
    args = parser.parse_args()
    if not (1 <= args.printers <= 20 and 1 <= args.jobs <= 2000 and 0 <= args.history <= 20000):
        parser.error("--printers 1..20, --jobs 1..2000, --history 0..20000")
    with tempfile.TemporaryDirectory(prefix="bench-live-writes-") as folder:
        run(args, Path(folder))


if __name__ == "__main__":
    main()
