"""Sync fixtures: fake Moonrakers on 127.0.0.1, fast sync options, printers pointing at them.

The two fake servers live for the whole session (uvicorn start-up is the slow part); each
test gets them back empty through ``FakeMoonraker.reset``. Helpers other modules import
live here too, next to the fixtures they serve.
"""

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import anyio
import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from gql_server.app import create_app
from gql_server.config import Settings
from gql_server.db.models import Printer, PrintJob, SyncRun
from gql_server.db.session import Database
from gql_server.services.sync import Syncer, SyncOptions, SyncResult
from tests.factories import LOOPBACK, TEST_BOX, TEST_SECRET, make_printer
from tests.graphql.conftest import GraphQLClient, make_key
from tests.support.fake_moonraker import FakeMoonraker, FakeMoonrakerServer, Job
from tests.support.live_server import LiveServer

# Small pages so a few hundred jobs span many; sub-second timeouts so faults cost little.
FAST = SyncOptions(
    page_size=50,
    connect_timeout=0.5,
    read_timeout=0.5,
    max_response_bytes=1024 * 1024,
    retries=1,
    backoff_base=0.01,
    allowed_networks=LOOPBACK,
)
LIST = "/server/history/list"
JOB = "/server/history/job"
TOTALS = "/server/history/totals"
GCODES = "/server/files/gcodes/"
API_KEY = "5f0e0c6b1d2a4e8f9b3c7d6e1a2b3c4d"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

SYNC_MUTATION = """
mutation Sync($input: SyncPrintersInput!) {
  syncPrinters(input: $input) {
    results {
      printer { name }
      ok jobsSeen jobsCreated jobsUpdated detailsExtracted requestsMade
      error { code message }
    }
    userErrors { message }
  }
}
"""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sync_options() -> SyncOptions:
    """Modules override this to change page size, timeouts or the body cap."""
    return FAST


@pytest.fixture
def syncer(database: Database, sync_options: SyncOptions) -> Syncer:
    return Syncer(database, sync_options, secret_box=TEST_BOX)


@pytest.fixture
def printer_id(
    database: Database, moonraker_server: FakeMoonrakerServer, fake: FakeMoonraker
) -> int:
    """A printer whose Moonraker is ``fake``."""
    return add_printer(database, "voron-1", moonraker_server.url)


@pytest.fixture
def gql(database: Database, sync_options: SyncOptions) -> Iterator[GraphQLClient]:
    """The app over real HTTP with an ADMIN key; its syncs use ``sync_options``."""
    syncer = Syncer(database, sync_options, secret_box=TEST_BOX)
    settings = Settings(
        database_url="sqlite://", secret_key=TEST_SECRET, moonraker_allowed_networks=LOOPBACK
    )
    app = create_app(settings, database=database, syncer=syncer)
    with (
        LiveServer(app, name="gql-server") as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        yield GraphQLClient(http=http, key=make_key(database))


# ---------------------------------------------------------------------------- helpers


def add_printer(database: Database, name: str, url: str, api_key: str | None = None) -> int:
    with database.scope() as session:
        printer = make_printer(session, name, moonraker_url=url, moonraker_api_key=api_key)
        session.flush()
        return printer.id


def set_printer(database: Database, printer_id: int, **values: Any) -> None:
    with database.scope() as session:
        session.execute(update(Printer).where(Printer.id == printer_id).values(**values))


def run_sync(syncer: Syncer, printer_id: int, *, full: bool = False) -> SyncResult:
    return anyio.run(partial(syncer.sync_printer, printer_id, full=full))


def sync_all(gql: GraphQLClient, *, full: bool = False) -> dict[str, dict[str, Any]]:
    """syncPrinters over GraphQL for every active printer: each result by printer name."""
    data = gql.execute(SYNC_MUTATION, {"input": {"full": full}})["syncPrinters"]
    assert data["userErrors"] == []
    return {result["printer"]["name"]: result for result in data["results"]}


def stored_jobs(database: Database, printer_id: int) -> list[PrintJob]:
    with database.scope() as session:
        query = (
            select(PrintJob)
            .where(PrintJob.printer_id == printer_id)
            .order_by(PrintJob.id)
            .options(selectinload(PrintJob.document), selectinload(PrintJob.metadata_document))
        )
        return list(session.scalars(query))


def stored_job(database: Database, printer_id: int, job_id: str) -> PrintJob:
    (job,) = [job for job in stored_jobs(database, printer_id) if job.job_id == job_id]
    return job


def utc(seconds: float | None) -> datetime | None:
    """Moonraker's float seconds as the microsecond we expect stored, computed in decimal
    from the number as Moonraker writes it (not with the product's conversion)."""
    if seconds is None:
        return None
    micros = round(Decimal(repr(seconds)) * 1_000_000)
    return EPOCH + timedelta(microseconds=micros)


def job_key(job: Job) -> tuple[str, datetime | None]:
    """A fake job's identity as we store it: (job_id, start time)."""
    return job["job_id"], utc(job["start_time"])


def stored_keys(database: Database, printer_id: int) -> Counter[tuple[str, datetime]]:
    """How many rows hold each (job_id, start_time): all 1 when nothing is duplicated."""
    return Counter((job.job_id, job.start_time) for job in stored_jobs(database, printer_id))


def requests_by_path(fake: FakeMoonraker) -> Counter[str]:
    with fake.requests_lock:
        return Counter(seen.path for seen in fake.requests)


def gcode_requests(fake: FakeMoonraker) -> list[str]:
    with fake.requests_lock:
        return [seen.path for seen in fake.requests if seen.path.startswith(GCODES)]


ROW_COLUMNS = (
    "id", "job_id", "filename", "status", "user", "start_time", "end_time", "print_duration",
    "total_duration", "filament_used", "metadata_id", "updated_at",
)  # fmt: skip


def snapshot(database: Database, printer_id: int) -> list[tuple[Any, ...]]:
    """Every column of every stored job, ``updated_at`` included, and its documents: equal
    snapshots mean no row was touched."""
    return [
        (
            *(getattr(job, name) for name in ROW_COLUMNS),
            job.metadata_document and job.metadata_document.document,
            job.document and job.document.auxiliary_data,
        )
        for job in stored_jobs(database, printer_id)
    ]


def lease_of(database: Database, printer_id: int) -> tuple[datetime | None, str | None]:
    """The printer's (sync_lease_until, sync_lease_owner): (None, None) when free."""
    with database.scope() as session:
        printer = session.get(Printer, printer_id)
        assert printer is not None
        return printer.sync_lease_until, printer.sync_lease_owner


def run_states(database: Database, printer_id: int) -> list[tuple[str, str | None]]:
    """(status, error_code) of each of the printer's sync runs, oldest first."""
    query = select(SyncRun.status, SyncRun.error_code).where(SyncRun.printer_id == printer_id)
    with database.scope() as session:
        return [tuple(row) for row in session.execute(query.order_by(SyncRun.id))]  # type: ignore[misc]


async def wait_for_request(fake: FakeMoonraker, path: str, timeout: float = 5.0) -> None:
    """Until the fake has seen a request to ``path``: the sync holds its lease by then."""
    with anyio.fail_after(timeout):
        while not fake.requests_to(path):
            await anyio.sleep(0.01)
