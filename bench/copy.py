"""``gql-server copy`` throughput and memory: SQLite -> SQLite and SQLite -> MariaDB.

    python -m bench.copy [--jobs 20000 100000] [--mysql mysql+pymysql://root@127.0.0.1:3306]

For each size, seeds an SQLite farm (bench/seed.py's fleet: jobs with details, documents
and metadata), then runs the real command in a child process and prints its wall time,
jobs per second and peak RSS (from wait4). Memory should not grow with the size: the
copy holds one batch, and the checksums stream.
"""

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.seed import seed_fleet
from gql_server.db.engine import create_db_engine
from gql_server.db.migrate import upgrade_to_head
from gql_server.db.session import Database

PRINTERS = 20


def seeded(path: Path, jobs: int) -> str:
    """Seeds in a process of its own: a forked child's peak RSS (wait4) counts the
    parent's pages it started with, and a parent that seeded 100,000 jobs holds many."""
    url = f"sqlite:///{path}"
    seeding = multiprocessing.get_context("spawn").Process(target=seed, args=(url, jobs))
    seeding.start()
    seeding.join()
    if seeding.exitcode != 0:
        raise SystemExit(f"seeding {path} failed")
    return url


def seed(url: str, jobs: int) -> None:
    database = Database(create_db_engine(url))
    try:
        upgrade_to_head(database.engine)
        seed_fleet(database, printers=PRINTERS, jobs=jobs // PRINTERS)
    finally:
        database.dispose()


def timed_copy(source: str, target: str) -> tuple[float, int]:
    """(seconds, peak RSS in KiB) of one `gql-server copy` run."""
    command = [sys.executable, "-m", "gql_server.cli", "copy", "--from", source, "--to", target]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"copy to {target} failed (exit {os.waitstatus_to_exitcode(status)})")
    return seconds, usage.ru_maxrss


def on_server(server: str, statement: str) -> None:
    engine = create_engine(make_url(server).set(database=""))
    try:
        with engine.begin() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--mysql", help="a MariaDB server URL (no database): also copy there")
    args = parser.parse_args()
    print(f"{'jobs':>8}  {'target':<8}  {'seconds':>8}  {'jobs/s':>8}  {'peak RSS':>9}")
    with tempfile.TemporaryDirectory() as folder:
        for jobs in args.jobs:
            source = seeded(Path(folder) / f"farm_{jobs}.db", jobs)
            targets = {"sqlite": f"sqlite:///{Path(folder) / f'copy_{jobs}.db'}"}
            name = f"gql_bench_copy_{os.getpid()}"
            if args.mysql:
                on_server(args.mysql, f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
                targets["mariadb"] = f"{args.mysql.rstrip('/')}/{name}"
            try:
                for kind, target in targets.items():
                    seconds, rss = timed_copy(source, target)
                    rate, mb = jobs / seconds, rss / 1024
                    print(f"{jobs:>8}  {kind:<8}  {seconds:>8.1f}  {rate:>8.0f}  {mb:>6.0f} MB")
            finally:
                if args.mysql:
                    on_server(args.mysql, f"DROP DATABASE IF EXISTS `{name}`")


if __name__ == "__main__":
    main()
