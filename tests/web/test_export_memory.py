"""An export of 200,000 jobs streams: the server's and the command's peak memory stay
within 50 MB of an export of 1,000 jobs, and every row arrives once, in order, on
SQLite and on MariaDB (each seeded by one INSERT … SELECT, tests/support/many_jobs.py).
tests/web/test_export.py compares the rows' values with printJobs on each database.
"""

import csv
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from gql_server.db.engine import create_db_engine
from gql_server.db.session import Database
from gql_server.graphql.job_export import COLUMN_NAMES
from tests.conftest import MYSQL_URL, migrated_mysql_database
from tests.graphql.conftest import make_key
from tests.support.many_jobs import EXPORT_AND_PEAK, START, seed_many_jobs
from tests.support.served import ServerProcess, served

JOBS = 200_000
SMALL = 1_000
GROWTH_LIMIT_KB = 50 * 1024
# Before the export of the JOBS - SMALL oldest jobs: the SMALL newest are left.
SMALL_CUTOFF = START + timedelta(minutes=JOBS - SMALL)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)]
)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[str]:
    """A database of its own holding JOBS jobs: its URL, for the server and the command."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("export-memory") / "farm.db"
        shutil.copyfile(sqlite_template, path)
        database = Database(create_db_engine(f"sqlite:///{path}"))
        try:
            seed_many_jobs(database, JOBS)
        finally:
            database.dispose()
        yield f"sqlite:///{path}"
        return
    url = f"{MYSQL_URL}_export"
    with migrated_mysql_database(url) as database:
        seed_many_jobs(database, JOBS)
        yield url


@pytest.fixture(scope="module")
def key(database_url: str) -> str:
    database = Database(create_db_engine(database_url))
    try:
        return make_key(database, scopes="READ", name="exporter")
    finally:
        database.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Iterator[Any]:
    log = tmp_path_factory.mktemp("export-server") / "server.log"
    with served(log, {"DATABASE_URL": database_url}) as process:
        yield process


def peak_kb(pid: int) -> int:
    """VmHWM: the process's peak resident set so far."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc/<pid>/status")


def csv_lines(chunks: Iterator[str]) -> Iterator[str]:
    """Lines with their ends, as csv.reader wants them, from chunks cut anywhere."""
    pending = ""
    for chunk in chunks:
        lines = (pending + chunk).splitlines(keepends=True)
        pending = lines.pop() if lines and not lines[-1].endswith("\n") else ""
        yield from lines
    if pending:
        yield pending


def exported_ids(server: ServerProcess, key: str, parameters: dict[str, str]) -> list[int]:
    """The databaseId of each row of the CSV, parsed as it arrives; the header checked."""
    with httpx.stream(
        "GET",
        f"{server.url}/export/print-jobs.csv",
        params=parameters,
        headers={"X-API-Key": key},
        timeout=120,
    ) as response:
        assert response.status_code == 200
        rows = csv.reader(csv_lines(response.iter_text()))
        assert next(rows) == list(COLUMN_NAMES)
        position = COLUMN_NAMES.index("databaseId")
        return [int(row[position]) for row in rows]


def test_the_server_streams_200000_jobs_in_flat_memory(server: ServerProcess, key: str) -> None:
    small = exported_ids(server, key, {"startedAfter": SMALL_CUTOFF.isoformat()})
    before = peak_kb(server.process.pid)
    every = exported_ids(server, key, {"orderBy": "START_TIME", "direction": "ASC"})
    growth = peak_kb(server.process.pid) - before
    assert growth < GROWTH_LIMIT_KB, f"peak RSS grew by {growth} kB"
    assert len(small) == SMALL
    assert every == list(range(1, JOBS + 1))  # each once, in start time order


def run_export(database_url: str, output: Path, *options: str) -> tuple[int, str]:
    """The command in a process of its own: its peak memory, and its stderr."""
    done = subprocess.run(
        [sys.executable, "-c", EXPORT_AND_PEAK, "export", "--format", "csv", "-o", str(output),
         *options],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )  # fmt: skip
    peak = int(done.stderr.rsplit("peak_kb=", 1)[1])
    return peak, done.stderr


def test_the_command_exports_200000_jobs_in_flat_memory(database_url: str, tmp_path: Path) -> None:
    small_peak, _ = run_export(
        database_url, tmp_path / "small.csv", "--started-after", SMALL_CUTOFF.isoformat()
    )
    peak, progress = run_export(database_url, tmp_path / "all.csv")
    assert peak - small_peak < GROWTH_LIMIT_KB, f"{peak - small_peak} kB more than {SMALL} rows"
    assert f"export: {JOBS:,} rows written" in progress
    with (tmp_path / "all.csv").open(newline="", encoding="utf-8") as stream:
        assert sum(1 for _ in csv.reader(stream)) == JOBS + 1
