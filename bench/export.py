"""Export benchmark: rows per second and peak memory of ``gql-server export`` and of
``GET /export/print-jobs.*``.

    python -m bench.export [--jobs 1000000] [--small 1000] [--keep DIR]

Seeds an SQLite farm of ``--jobs`` jobs with details (tests/support/many_jobs.py), then
per format, once over the ``--small`` newest jobs and once over all of them:
- runs ``gql-server export`` in a child process of its own;
- streams the export from ``gql-server serve`` (a child process) and throws it away.
Prints rows, seconds, rows per second, the file's size and the process's peak RSS
(VmHWM), and how much the peak grew from the small export to the whole one (the test's
bound: 50 MB).
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx

from gql_server.db.engine import create_db_engine
from gql_server.db.migrate import upgrade_to_head
from gql_server.db.session import Database
from gql_server.graphql.job_export_options import PARAMETERS
from gql_server.services.api_keys import create_api_key
from tests.support.many_jobs import EXPORT_AND_PEAK, START, seed_many_jobs
from tests.support.served import ServerProcess, served

CLI = {parameter.name: parameter.flag for parameter in PARAMETERS}


def export(url: str, output: Path, fmt: str, *options: str) -> tuple[float, int]:
    """Seconds and peak kB of one export in a child process."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", EXPORT_AND_PEAK, "export", "--format", fmt, "-o", str(output),
         *options],
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=True,
    )  # fmt: skip
    return time.perf_counter() - started, int(done.stderr.rsplit("peak_kb=", 1)[1])


def peak_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])


def served_export(
    server: ServerProcess, key: str, fmt: str, parameters: dict[str, str]
) -> tuple[float, int, int]:
    """Seconds, bytes and the server's peak kB after streaming one export."""
    started, size = time.perf_counter(), 0
    with httpx.stream(
        "GET",
        f"{server.url}/export/print-jobs.{fmt}",
        params=parameters,
        headers={"X-API-Key": key},
        timeout=600,
    ) as response:
        response.raise_for_status()
        for chunk in response.iter_raw():
            size += len(chunk)
    return time.perf_counter() - started, size, peak_kb(server.process.pid)


def report(label: str, rows: int, seconds: float, size: int, peak: int) -> None:
    print(f"{label:<14}{rows:>11,}{seconds:>9.1f}{rows / seconds:>10,.0f}"
          f"{size / 1e6:>8.1f}{peak / 1024:>9.1f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--keep", type=Path, help="seed into (or reuse) DIR/farm.db")
    args = parser.parse_args()
    directory = args.keep or Path(tempfile.mkdtemp(prefix="bench-export-"))
    path = directory / "farm.db"
    url = f"sqlite:///{path}"
    if not path.exists():
        database = Database(create_db_engine(url))
        upgrade_to_head(database.engine)
        started = time.perf_counter()
        seed_many_jobs(database, args.jobs)
        database.dispose()
        print(f"seeded {args.jobs:,} jobs in {time.perf_counter() - started:.1f} s")
    cutoff = (START + timedelta(minutes=args.jobs - args.small)).isoformat()
    sizes: list[tuple[int, dict[str, str]]] = [
        (args.small, {"startedAfter": cutoff}),
        (args.jobs, {}),
    ]
    print(f"{'':<14}{'rows':>11}{'seconds':>9}{'rows/s':>10}{'MB':>8}{'peak MB':>9}")
    for fmt in ("csv", "ndjson"):
        peaks = []
        for rows, parameters in sizes:
            output = directory / f"export.{fmt}"
            options = [item for name, value in parameters.items() for item in (CLI[name], value)]
            seconds, peak = export(url, output, fmt, *options)
            report(f"command {fmt}", rows, seconds, output.stat().st_size, peak)
            peaks.append(peak)
            output.unlink()
        print(f"command {fmt}: peak grew by {(peaks[1] - peaks[0]) / 1024:.1f} MB")
    database = Database(create_db_engine(url))
    with database.scope() as session:
        key = create_api_key(session, name=f"bench-{time.time_ns()}", scopes="READ").plaintext
    database.dispose()
    with served(directory / "server.log", {"DATABASE_URL": url}) as server:
        for fmt in ("csv", "ndjson"):
            peaks = []
            for rows, parameters in sizes:
                seconds, size, peak = served_export(server, key, fmt, parameters)
                report(f"server {fmt}", rows, seconds, size, peak)
                peaks.append(peak)
            print(f"server {fmt}: peak grew by {(peaks[1] - peaks[0]) / 1024:.1f} MB")


if __name__ == "__main__":
    main()
