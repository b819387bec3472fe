"""Farm-scale read benchmark (issue 12): what a dashboard's queries cost on a big farm.

Why: the dashboard's queries must cost what they return, not what is stored. This bench
seeds a big farm (default 100 printers x 10,000 jobs, three years) and a small reference
farm (10,000 jobs in all, same printers), then times each query over the real ASGI app
in-process (httpx, one client, an API key; median of ``--rounds`` after a warm-up) on
both, and prints one Markdown table: big ms, small ms, ratio, SQL statements per request
and the issue's goal with PASS/FAIL per database. Figures only: nothing is asserted.

The jobs are what a sync stores (bench/seed.py, seed_farm): rows built with the
importer's own parsing, folding and fingerprints, bulk-inserted, checked on every
seeding against the importer's write path; totals by its own statement. Where the
server has them, ``gql-server rollups rebuild`` runs after seeding and ``GQL_TIMEZONE``
is set to ``--farm-timezone``; where not, the bench says so and skips what needs them.

    python -m bench.scale                                   # 1M + 10k, SQLite and MariaDB
    python -m bench.scale --database sqlite --printers 10 --jobs-per-printer 1000 \\
        --small-jobs 1000                                   # a quick look
    python -m bench.scale --keep ...; python -m bench.scale --reuse --keep ...
                                                            # seed once, measure again

MariaDB databases (``gql_scale_<printers>x<jobs>``) and SQLite files (in ``--dir``) are
created, and dropped at the end unless ``--keep``. ``--reuse`` measures an existing farm
of the same shape (migrated to head first) instead of seeding it again.
"""

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, make_url, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bench.fleet_query import FLEET_QUERY
from bench.seed import FARM_END, RARE_TERM, seed_farm
from bench.seed_costs import seed_costs
from gql_server.app import create_app
from gql_server.config import Settings, load_settings
from gql_server.db.engine import create_db_engine
from gql_server.db.migrate import upgrade_to_head
from gql_server.db.models import MaintenanceTask, PrintJob
from gql_server.db.session import Database
from gql_server.db.types import as_utc, utcnow
from gql_server.graphql.types.enums import (
    OrderDirection,
    PrintFileOrderField,
    PrintJobOrderField,
    StatsGroupBy,
)
from gql_server.services import maintenance
from gql_server.services.api_keys import create_api_key
from gql_server.services.maintenance import Intervals
from gql_server.services.rollups.maintain import stored_zone
from tests.support.sql_counter import count_statements

MARIADB_SERVER = "mysql+pymysql://root@127.0.0.1:3306"
COLLATION = "utf8mb4_unicode_ci"  # as tests/conftest.py creates its databases
JOB_PAGE = "nodes { id jobId filename status startTime endTime totalDuration filamentUsed }"
PAGE_INFO = "pageInfo { hasNextPage endCursor }"
BUCKET = "key jobCount completedCount successRate printTime totalTime filamentUsed"
FILE_PAGE = (
    "nodes { id filename prints completed successRate averagePrintDuration filamentUsed "
    "lastPrintedAt }"
)
COST_BUCKET = "key jobCount cost { filament machine total currency jobsWithoutFilamentCost }"
MB = 1e6
STORAGE_GOAL_GB_PER_MILLION = 1.3


@dataclass(frozen=True, slots=True)
class Goal:
    """The issue's goal for a query: at most ``ms``, or at most ``ratio`` x the small farm."""

    text: str
    ms: float | None = None
    ratio: float | None = None

    def verdict(self, big: float, small: float) -> str:
        if self.ms is not None:
            return "PASS" if big <= self.ms else "FAIL"
        if self.ratio is not None:
            return "PASS" if big <= self.ratio * small else "FAIL"
        return "—"


FLEET_GOAL = Goal("≤ 1.5× small", ratio=1.5)
PAGE_GOAL = Goal("≤ 30 ms", ms=30)
SEARCH_GOAL = Goal("≤ 100 ms", ms=100)
STATS_GOAL = Goal("≤ 100 ms", ms=100)
NO_GOAL = Goal("none (may read raw jobs)")
FILES_GOAL = Goal("≤ 100 ms (issue 14)", ms=100)
# A start bound near the end of the seeded history: files then sums the jobs in range.
THIRTY_DAYS_AGO = (FARM_END - timedelta(days=30)).isoformat()


@dataclass(frozen=True, slots=True)
class Query:
    name: str
    document: str
    goal: Goal


@dataclass(frozen=True, slots=True)
class Farm:
    """One seeded database: a kind (sqlite, mariadb) and a shape."""

    kind: str
    printers: int
    jobs_per_printer: int
    folder: Path
    server: str

    @property
    def jobs(self) -> int:
        return self.printers * self.jobs_per_printer

    @property
    def name(self) -> str:
        return f"gql_scale_{self.printers}x{self.jobs_per_printer}"

    @property
    def path(self) -> Path:
        return self.folder / f"{self.name}.db"

    @property
    def url(self) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.path}"
        return f"{self.server}/{self.name}"


@dataclass
class Measured:
    ms: float
    statements: int


@dataclass
class FarmRun:
    farm: Farm
    results: dict[str, Measured] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def say(line: str, end: str = "\n") -> None:
    """Progress, on stderr: stdout holds only the report."""
    print(line, end=end, file=sys.stderr, flush=True)


def short_count(n: int) -> str:
    for unit, size in (("M", 1_000_000), ("k", 1_000)):
        if n >= size and n % (size // 10) == 0:
            return f"{n / size:g}{unit}"
    return f"{n:,}"


def farm_label(farm: Farm) -> str:
    return f"{farm.kind} {short_count(farm.jobs)}"


# ------------------------------------------------------------------------- databases


def on_server(farm: Farm, statement: str, **params: str) -> Any:
    """One statement on the MariaDB server, outside any database; its first row."""
    engine = create_engine(make_url(farm.url).set(database=""))
    try:
        with engine.begin() as connection:
            result = connection.execute(text(statement), params)
            return result.first() if result.returns_rows else None
    finally:
        engine.dispose()


def exists(farm: Farm) -> bool:
    if farm.kind == "sqlite":
        return farm.path.exists()
    query = "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = :name"
    return on_server(farm, query, name=farm.name) is not None


def drop(farm: Farm) -> None:
    if farm.kind == "mariadb":
        on_server(farm, f"DROP DATABASE IF EXISTS `{farm.name}`")
        return
    for suffix in ("", "-wal", "-shm"):
        Path(f"{farm.path}{suffix}").unlink(missing_ok=True)


def create(farm: Farm) -> None:
    drop(farm)
    farm.folder.mkdir(parents=True, exist_ok=True)
    if farm.kind == "mariadb":
        on_server(farm, f"CREATE DATABASE `{farm.name}` CHARACTER SET utf8mb4 COLLATE {COLLATION}")


def job_count(database: Database) -> int:
    with database.scope() as session:
        return int(session.execute(text("SELECT COUNT(*) FROM print_jobs")).scalar_one())


@contextmanager
def opened(
    farm: Farm, *, reuse: bool, keep: bool, zone: str | None
) -> Iterator[tuple[FarmRun, Database]]:
    """The farm's database, seeded unless ``reuse`` finds one of the same shape; dropped
    afterwards unless ``keep``."""
    run = FarmRun(farm)
    reusable = reuse and exists(farm)
    if not reusable:
        create(farm)
    database = Database(create_db_engine(farm.url))
    try:
        upgrade_to_head(database.engine)
        if reusable and job_count(database) == farm.jobs:
            run.notes.append("reused: not seeded in this run")
            if zone is not None and built_zone(database) != zone:
                # Migration 0010 built them in the zone of its own environment.
                run.notes.append(rebuild_rollups(farm.url, zone))
        else:
            seed(database, run, zone)
        cost_farm(database, run)
        yield run, database
    finally:
        database.dispose()
        if not keep:
            drop(farm)


def built_zone(database: Database) -> str:
    """The zone the farm's rollups were built for."""
    with database.scope() as session:
        return stored_zone(session.connection())


def seed(database: Database, run: FarmRun, zone: str | None) -> None:
    farm = run.farm
    if job_count(database):
        database.dispose()
        create(farm)
        upgrade_to_head(database.engine)
    started = time.perf_counter()

    def progress(done: int) -> None:
        rate = done / (time.perf_counter() - started)
        say(f"\r  seeding {farm.kind} {done:,}/{farm.jobs:,} jobs, {rate:,.0f}/s", end="")

    workers = 1 if farm.kind == "sqlite" else 2  # SQLite has one writer at a time
    unfilled = seed_farm(
        database, farm.printers, farm.jobs_per_printer, workers=workers, progress=progress
    )
    say("")
    seconds = time.perf_counter() - started
    run.notes.append(f"seeded in {seconds:.1f} s ({farm.jobs / seconds:,.0f} jobs/s)")
    run.notes.append(rebuild_rollups(farm.url, zone))

    def costed(done: int, total: int) -> None:
        say(f"\r  costing {farm.kind} {done:,}/{total:,} jobs", end="")

    seconds = seed_costs(database, costed)
    say("")
    run.notes.append(f"prices set and every job costed in {seconds:.1f} s (services/job_costs)")
    if unfilled:
        tables = ", ".join(unfilled)
        run.notes.append(f"an import also writes {tables}: the seeding does not (rollups aside)")


def cost_farm(database: Database, run: FarmRun) -> None:
    """Prices and every job's cost (bench/seed_costs.py), unless the farm has them."""
    with database.scope() as session:
        if session.execute(text("SELECT 1 FROM job_costs LIMIT 1")).first() is not None:
            return

    def costed(done: int, total: int) -> None:
        say(f"\r  costing {run.farm.kind} {done:,}/{total:,} jobs", end="")

    seconds = seed_costs(database, costed)
    say("")
    run.notes.append(f"prices set and every job costed in {seconds:.1f} s (services/job_costs)")


def cli_env(url: str, zone: str | None) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": url}
    if zone is not None:
        env["GQL_TIMEZONE"] = zone
    return env


def rebuild_rollups(url: str, zone: str | None) -> str:
    """``gql-server rollups rebuild``, the way an operator builds them, when it exists."""
    cli = "import sys; from gql_server.cli import main; sys.exit(main(sys.argv[1:]))"
    command = [sys.executable, "-c", cli, "rollups", "rebuild"]
    env = cli_env(url, zone)
    probe = subprocess.run([*command, "--help"], env=env, capture_output=True, check=False)
    if probe.returncode != 0:
        return "no `gql-server rollups rebuild` in this version: rollups not built"
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True)
    return f"rollups rebuilt in {time.perf_counter() - started:.1f} s"


def farm_zone_supported() -> bool:
    """Whether this version reads GQL_TIMEZONE (it changes the settings when set)."""
    base = {"DATABASE_URL": "sqlite://"}
    return load_settings(base) != load_settings({**base, "GQL_TIMEZONE": "Asia/Kolkata"})


def settings_for(url: str, zone: str | None) -> Settings:
    return load_settings(cli_env(url, zone) | {"DATABASE_URL": url})


# --------------------------------------------------------------------------- storage


def storage(database: Database) -> dict[str, int]:
    """Bytes per table, its indexes included."""
    with database.scope() as session:
        if database.engine.dialect.name == "sqlite":
            return sqlite_storage(session)
        tables = session.execute(text("SHOW TABLES")).scalars().all()
        # InnoDB's sizes in information_schema are statistics: refresh them first.
        session.execute(text("ANALYZE TABLE " + ", ".join(f"`{t}`" for t in tables)))
        rows = session.execute(text(
            "SELECT TABLE_NAME, DATA_LENGTH + INDEX_LENGTH FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = DATABASE()"
        ))  # fmt: skip
        return {str(name): int(size) for name, size in rows}


def sqlite_storage(session: Session) -> dict[str, int]:
    session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    try:
        rows = session.execute(text(
            "SELECT COALESCE(m.tbl_name, s.name), SUM(s.pgsize) FROM dbstat AS s "
            "LEFT JOIN sqlite_master AS m ON m.name = s.name GROUP BY 1"
        ))  # fmt: skip
        return {str(name): int(size) for name, size in rows}
    except OperationalError:  # dbstat is a compile-time option of SQLite
        pages = session.execute(text("PRAGMA page_count")).scalar_one()
        page_size = session.execute(text("PRAGMA page_size")).scalar_one()
        return {"(whole file: no dbstat)": int(pages) * int(page_size)}


def server_note(database: Database) -> str:
    """The database's version, and on MariaDB the buffer pool the scans compete for."""
    with database.scope() as session:
        if database.engine.dialect.name == "sqlite":
            return f"SQLite {session.execute(text('SELECT sqlite_version()')).scalar_one()}"
        version, pool = session.execute(text("SELECT VERSION(), @@innodb_buffer_pool_size")).one()
        return f"MariaDB {version}, innodb_buffer_pool_size {int(pool) / MB:,.0f} MB"


def storage_line(sizes: dict[str, int], jobs: int) -> str:
    total = sum(sizes.values())
    biggest = sorted(sizes.items(), key=lambda item: -item[1])[:4]
    parts = ", ".join(f"{name} {size / MB:,.1f}" for name, size in biggest)
    per_million = total / max(jobs, 1) / 1000  # bytes per job × 10^6 jobs / 10^9 bytes
    verdict = "PASS" if per_million <= STORAGE_GOAL_GB_PER_MILLION else "FAIL"
    return (
        f"storage {total / MB:,.1f} MB for {jobs:,} jobs ({parts} MB): {per_million:.2f} GB "
        f"per million jobs (goal ≤ {STORAGE_GOAL_GB_PER_MILLION} GB: {verdict})"
    )


# --------------------------------------------------------------------------- queries


def page_queries(printer_id: str) -> list[Query]:
    """First page of every ordering, farm-wide and for one printer."""
    scopes = {"farm-wide": "{ %s }", "one printer": f'{{ printer(id: "{printer_id}") {{ %s }} }}'}
    return [
        Query(
            f"printJobs(first: 50) {order.name} {direction.name}, {scope}",
            wrap % f"printJobs(first: 50, orderBy: {{field: {order.name}, direction: "
            f"{direction.name}}}) {{ {JOB_PAGE} {PAGE_INFO} }}",
            PAGE_GOAL,
        )
        for order in PrintJobOrderField
        for direction in OrderDirection
        for scope, wrap in scopes.items()
    ]


def stats_queries(zones: list[tuple[str, Goal]]) -> list[Query]:
    """Every grouping in each zone, each with the zone's goal: the rollups answer them
    all over the whole history (FAILURE_REASON from the annotated jobs and the rest)."""
    return [
        Query(
            f"printStats({group.name}) in {zone}",
            f'{{ printStats(groupBy: {group.name}, timezone: "{zone}") {{ {BUCKET} }} }}',
            goal,
        )
        for zone, goal in zones
        for group in StatsGroupBy
    ]


MAINTENANCE_DUE = Query(
    "maintenanceDue(first: 50)",
    "{ maintenanceDue(first: 50) { nodes { name printHours filamentMeters days overdueRatio "
    f"dueIn {{ printHours filamentMeters days }} }} {PAGE_INFO} totalCount }} }}",
    STATS_GOAL,
)
# Each printer's tasks: (name, intervals, days before its newest job it was last done;
# None: never done, so counted from its creation).
MAINTENANCE_TASKS = (
    ("nozzle", Intervals(every_print_hours=200.0), 30),
    ("belts", Intervals(every_filament_meters=5000.0, every_days=180.0), 120),
    ("lubricate rods", Intervals(every_days=90.0), None),
)


def seed_maintenance(database: Database) -> int:
    """The farm's maintenance tasks, unless it has some (``--reuse``); how many it has."""
    with database.scope() as session:
        held = session.scalar(select(func.count()).select_from(MaintenanceTask)) or 0
        if held:
            return held
        newest = session.execute(
            select(PrintJob.printer_id, func.max(PrintJob.start_time)).group_by(PrintJob.printer_id)
        ).all()
        now = utcnow()
        for printer_id, latest in newest:
            latest = as_utc(datetime.fromisoformat(latest) if isinstance(latest, str) else latest)
            for name, intervals, days_before in MAINTENANCE_TASKS:
                task = maintenance.create_task(
                    session, printer_id=printer_id, name=name, intervals=intervals, now=now
                )
                if days_before is not None:
                    done_at = latest - timedelta(days=days_before)
                    maintenance.record_maintenance(
                        session, task_id=task.id, done_at=done_at, note=None, now=now
                    )
        return len(newest) * len(MAINTENANCE_TASKS)


def cost_stats_queries(zones: list[tuple[str, Goal]]) -> list[Query]:
    """printStats with its buckets' costs (issue 14): the cost rollups answer where the
    job rollups do (services/rollups/cost_reads.py)."""
    return [
        Query(
            f"printStats({group.name}) cost in {zone}",
            f'{{ printStats(groupBy: {group.name}, timezone: "{zone}") {{ {COST_BUCKET} }} }}',
            goal,
        )
        for zone, goal in zones
        for group in StatsGroupBy
    ]


SEARCH = Query(
    f'filenameContains: "{RARE_TERM}" + totalCount',
    f'{{ printJobs(first: 50, filter: {{filenameContains: "{RARE_TERM}"}}) '
    f"{{ totalCount {JOB_PAGE} {PAGE_INFO} }} }}",
    SEARCH_GOAL,
)


def file_queries(printer_id: str) -> list[Query]:
    """``files`` (issue 14): first pages of every ordering from the rollups, the same
    under a printer filter, a page with its printers and jobs, and a start bound (summed
    from the jobs: no goal)."""
    orders = [
        Query(
            f"files(first: 50) {order.name} {direction.name}",
            f"{{ files(first: 50, orderBy: {{field: {order.name}, direction: "
            f"{direction.name}}}) {{ {FILE_PAGE} {PAGE_INFO} }} }}",
            FILES_GOAL,
        )
        for order in PrintFileOrderField
        for direction in OrderDirection
    ]
    one_printer = f'filter: {{printerIds: ["{printer_id}"]}}'
    return [
        *orders,
        Query(
            "files(first: 50) one printer, SUCCESS_RATE",
            f"{{ files(first: 50, {one_printer}, orderBy: {{field: SUCCESS_RATE}}) "
            f"{{ {FILE_PAGE} {PAGE_INFO} }} }}",
            FILES_GOAL,
        ),
        Query(
            "files(first: 20) + printers + printJobs(first: 5) + totalCount",
            "{ files(first: 20) { totalCount nodes { filename printers { name } "
            f"printJobs(first: 5) {{ {JOB_PAGE} }} }} }} }}",
            FILES_GOAL,
        ),
        Query(
            "files(first: 50) started in the last 30 days",
            f'{{ files(first: 50, filter: {{startedAfter: "{THIRTY_DAYS_AGO}"}}) '
            f"{{ {FILE_PAGE} }} }}",
            NO_GOAL,
        ),
        Query(
            "printStats(SLICER) + estimateError",
            "{ printStats(groupBy: SLICER) { key jobCount estimateError { median p90 count } } }",
            NO_GOAL,
        ),
    ]


def all_queries(printer_id: str, zones: list[tuple[str, Goal]]) -> list[Query]:
    return [
        Query("fleet: printers(first: 50) × printJobs(first: 20)", FLEET_QUERY, FLEET_GOAL),
        *page_queries(printer_id),
        SEARCH,
        *stats_queries(zones),
        MAINTENANCE_DUE,
        *file_queries(printer_id),
        *cost_stats_queries(zones),
    ]


class Client:
    """One client of the in-process app, with a READ key."""

    def __init__(self, http: httpx.AsyncClient, key: str) -> None:
        self.http = http
        self.headers = {"X-API-Key": key}

    async def post(self, document: str) -> dict[str, Any]:
        response = await self.http.post("/graphql", json={"query": document}, headers=self.headers)
        body: dict[str, Any] = response.json()
        if response.status_code != 200 or "errors" in body:
            raise RuntimeError(f"{document[:200]} -> {response.text[:2000]}")
        return body

    async def measure(self, database: Database, document: str, rounds: int) -> Measured:
        await self.post(document)  # warm-up: caches, the key's last_used write
        with count_statements(database.engine) as log:
            await self.post(document)
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            await self.post(document)
            times.append(time.perf_counter() - started)
        return Measured(statistics.median(times) * 1000, log.count)


async def measure_farm(
    database: Database, run: FarmRun, zones: list[tuple[str, Goal]], zone: str | None, rounds: int
) -> None:
    tasks = seed_maintenance(database)
    run.notes.append(f"{tasks:,} maintenance tasks")
    with database.scope() as session:
        key = create_api_key(session, name="bench-scale", scopes="READ").plaintext
    app = create_app(settings_for(run.farm.url, zone), database=database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
        client = Client(http, key)
        first = await client.post("{ printers(first: 1) { nodes { id } } }")
        printer_id = first["data"]["printers"]["nodes"][0]["id"]
        for query in all_queries(printer_id, zones):
            run.results[query.name] = await client.measure(database, query.document, rounds)
            say(f"  {farm_label(run.farm)}: {query.name}: {run.results[query.name].ms:.1f} ms")
        found = await client.post(SEARCH.document)
        matches = found["data"]["printJobs"]["totalCount"]
        run.notes.append(f'"{RARE_TERM}" matches {matches:,} jobs ({matches / run.farm.jobs:.2%})')


# ------------------------------------------------------------------------ the report


def report_table(pairs: list[tuple[FarmRun, FarmRun]], queries: list[Query]) -> str:
    """Markdown: per database, big and small farm ms, their ratio, statements per request
    (big/small when they differ) and the goal's verdict."""
    header = ["query", "goal"]
    for big, small in pairs:
        header += [f"{farm_label(big.farm)} ms", f"{farm_label(small.farm)} ms", "ratio", "stmts"]
        header.append(big.farm.kind)
    lines = ["| " + " | ".join(header) + " |", "|---|---|" + "---:|" * (len(header) - 2)]
    for query in queries:
        cells = [query.name, query.goal.text]
        for big, small in pairs:
            b, s = big.results[query.name], small.results[query.name]
            same = b.statements == s.statements
            statements = str(b.statements) if same else f"{b.statements}/{s.statements}"
            ratio = f"{b.ms / s.ms:.2f}×"
            cells += [
                f"{b.ms:,.1f}",
                f"{s.ms:,.1f}",
                ratio,
                statements,
                query.goal.verdict(b.ms, s.ms),
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def zones_for(args: argparse.Namespace) -> tuple[list[tuple[str, Goal]], str | None, str]:
    """(zone, goal) to measure printStats in, the farm zone (None when unsupported), a note."""
    zones = {"UTC": STATS_GOAL}
    farm_zone: str | None = None
    if farm_zone_supported():
        farm_zone = args.farm_timezone
        zones.setdefault(args.farm_timezone, STATS_GOAL)
        note = f"GQL_TIMEZONE={args.farm_timezone}"
    else:
        note = (
            f"no GQL_TIMEZONE setting in this version: printStats in {args.farm_timezone} skipped"
        )
    zones.setdefault(args.other_timezone, NO_GOAL)
    return list(zones.items()), farm_zone, note


def run_database(
    kind: str, args: argparse.Namespace, zones: list[tuple[str, Goal]], zone: str | None
) -> tuple[FarmRun, FarmRun]:
    small_per_printer = max(args.small_jobs // args.printers, 1)
    shapes = ((args.printers, args.jobs_per_printer), (args.printers, small_per_printer))
    runs = []
    for printers, per_printer in shapes:
        farm = Farm(kind, printers, per_printer, args.dir, args.mariadb_server)
        with opened(farm, reuse=args.reuse, keep=args.keep, zone=zone) as (run, database):
            asyncio.run(measure_farm(database, run, zones, zone, args.rounds))
            run.notes.append(storage_line(storage(database), job_count(database)))
            run.notes.append(server_note(database))
        runs.append(run)
    return runs[0], runs[1]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add = parser.add_argument
    add("--database", choices=("sqlite", "mariadb", "both"), default="both")
    add("--printers", type=int, default=100)
    add("--jobs-per-printer", type=int, default=10_000)
    add("--small-jobs", type=int, default=10_000, help="jobs in all of the small farm")
    add("--rounds", type=int, default=5, help="timed requests per query")
    add("--reuse", action="store_true", help="measure an existing farm of the same shape")
    add("--keep", action="store_true", help="do not drop the databases at the end")
    add("--dir", type=Path, default=Path(tempfile.gettempdir()) / "gql-scale", help="SQLite files")
    add("--mariadb-server", default=MARIADB_SERVER, help="SQLAlchemy URL without a database")
    zone = os.environ.get("GQL_TIMEZONE", "Europe/Berlin")
    add("--farm-timezone", default=zone, help="GQL_TIMEZONE, where the server has it")
    add("--other-timezone", default="Asia/Kolkata", help="a zone that is not the farm's")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    kinds = ("sqlite", "mariadb") if args.database == "both" else (args.database,)
    zones, zone, zone_note = zones_for(args)
    pairs = [run_database(kind, args, zones, zone) for kind in kinds]
    print(
        f"\n{args.printers} printers × {args.jobs_per_printer:,} jobs vs {args.small_jobs:,} jobs "
        f"in all; median of {args.rounds} after a warm-up, one client; {zone_note}\n"
    )
    print(report_table(pairs, all_queries("-", zones)))
    for big, small in pairs:
        for run in (big, small):
            for note in run.notes:
                print(f"- {farm_label(run.farm)}: {note}")


if __name__ == "__main__":
    main()
