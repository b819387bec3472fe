"""A printer's faults fail only its own sync, keep what was imported, and heal on the next.

Each fault runs through the syncPrinters mutation with two printers: the faulty one and a
healthy one on a second fake Moonraker. Faults in an answer hit page 3 of 5 (list offset
2 * PAGE); faults of the connection hit the first request.
"""

import select
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import pytest

from gql_server.db.session import Database
from gql_server.services.sync import Syncer, SyncOptions
from tests.factories import TEST_BOX
from tests.graphql.conftest import GraphQLClient
from tests.support.fake_moonraker import FakeMoonraker, FakeMoonrakerServer, closed_port_url
from tests.sync.conftest import (
    API_KEY,
    FAST,
    LIST,
    SYNC_MUTATION,
    add_printer,
    job_key,
    run_sync,
    set_printer,
    stored_keys,
    sync_all,
)

PAGE = 20
JOBS = 90  # five pages: 20, 20, 20, 20, 10
PAGE_3 = 2 * PAGE
HEALTHY_JOBS = 30
CAP = 256 * 1024
WRONG_KEY = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def sync_options() -> SyncOptions:
    return replace(
        FAST, page_size=PAGE, connect_timeout=0.3, read_timeout=0.5, max_response_bytes=CAP
    )


def on_page_3(kind: Any, **options: Any) -> Callable[[FakeMoonraker], None]:
    """Arrange `kind` for every request of list page 3, until the faults are cleared."""

    def arrange(fake: FakeMoonraker) -> None:
        # Each page after the first starts on the last job already read (the importer's
        # check that the list did not shift), so page 3 starts one job before PAGE_3.
        fake.fault(kind, path=LIST, **options).list_start = PAGE_3 - 1

    return arrange


@dataclass(frozen=True, slots=True)
class FaultCase:
    code: str
    kept: int  # jobs the failed sync keeps: those of the pages before the fault
    arrange: Callable[[FakeMoonraker], None] = field(default=lambda fake: None)
    address: str = "fake"  # "fake", or where the printer's URL points instead


CASES = {
    "unreachable_host": FaultCase("UNREACHABLE", 0, address="closed_port"),
    "connect_timeout": FaultCase("TIMEOUT", 0, address="blackhole"),
    "read_timeout": FaultCase("TIMEOUT", PAGE_3, on_page_3("delay", seconds=3.0)),
    "http_401": FaultCase("AUTH_FAILED", PAGE_3, on_page_3("status", status=401)),
    "http_500": FaultCase("HTTP_ERROR", PAGE_3, on_page_3("status", status=500)),
    "malformed_json": FaultCase("BAD_RESPONSE", PAGE_3, on_page_3("malformed_json")),
    "html_body": FaultCase("BAD_RESPONSE", PAGE_3, on_page_3("html", status=200)),
    "body_over_cap": FaultCase(
        "TOO_LARGE", PAGE_3, on_page_3("oversized", size=2 * CAP, chunked=True)
    ),
    "redirect": FaultCase("HTTP_ERROR", PAGE_3, on_page_3("redirect")),
}


def _connect_pending(port: int) -> socket.socket:
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.setblocking(False)
    probe.connect_ex(("127.0.0.1", port))
    return probe


@pytest.fixture
def blackhole_url() -> Iterator[str]:
    """A port on 127.0.0.1 that never completes a handshake, like a printer switched off
    behind a switch: a listener that never accepts, its accept queue (backlog 0) filled,
    makes Linux drop further SYNs, so a connect times out instead of being refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        pending = [_connect_pending(port) for _ in range(2)]
        probe = _connect_pending(port)
        pending.append(probe)
        try:
            _, connected, _ = select.select([], [probe], [], 0.2)
            if connected:
                pytest.skip("this kernel completes handshakes past a full accept queue")
            yield f"http://127.0.0.1:{port}"
        finally:
            for sock in pending:
                sock.close()


def faulty_url(request: pytest.FixtureRequest, case: FaultCase, server: FakeMoonrakerServer) -> str:
    if case.address == "closed_port":
        return closed_port_url()
    if case.address == "blackhole":
        return str(request.getfixturevalue("blackhole_url"))
    return server.url


@dataclass(frozen=True, slots=True)
class FailedSync:
    case: FaultCase
    printer_id: int
    results: dict[str, dict[str, Any]]


@pytest.fixture(params=list(CASES))
def failed_sync(
    request: pytest.FixtureRequest,
    database: Database,
    gql: GraphQLClient,
    fake: FakeMoonraker,
    other_fake: FakeMoonraker,
    moonraker_server: FakeMoonrakerServer,
    other_moonraker_server: FakeMoonrakerServer,
) -> FailedSync:
    """The faulty printer and a healthy one synced together, once, through the API."""
    case = CASES[request.param]
    fake.add_jobs(JOBS, seed=11)
    other_fake.add_jobs(HEALTHY_JOBS, seed=12)
    printer_id = add_printer(database, "faulty", faulty_url(request, case, moonraker_server))
    add_printer(database, "healthy", other_moonraker_server.url)
    case.arrange(fake)
    return FailedSync(case, printer_id, sync_all(gql))


def test_fault_fails_only_its_printer_with_its_code_keeping_the_pages_before_it(
    failed_sync: FailedSync, database: Database, fake: FakeMoonraker
) -> None:
    faulty, healthy = failed_sync.results["faulty"], failed_sync.results["healthy"]
    kept = {job_key(job): 1 for job in fake.jobs[: failed_sync.case.kept]}
    outcome = (faulty["ok"], faulty["error"]["code"], stored_keys(database, failed_sync.printer_id))
    assert outcome == (False, failed_sync.case.code, kept)
    assert (healthy["ok"], healthy["jobsCreated"]) == (True, HEALTHY_JOBS)


def test_sync_after_a_fault_completes_the_import_without_duplicate_or_gap(
    failed_sync: FailedSync,
    database: Database,
    gql: GraphQLClient,
    fake: FakeMoonraker,
    moonraker_server: FakeMoonrakerServer,
) -> None:
    fake.clear_faults()
    set_printer(database, failed_sync.printer_id, moonraker_url=moonraker_server.url)
    fake.add_jobs(5, seed=13)  # and the printer went on printing meanwhile
    assert sync_all(gql)["faulty"]["ok"]
    expected = {job_key(job): 1 for job in fake.jobs}
    assert stored_keys(database, failed_sync.printer_id) == expected


# ---------------------------------------------------------------------------- API keys


class RecordingTransport(httpx.AsyncBaseTransport):
    """Real HTTP, with the X-Api-Key header of every request noted on the way out."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.api_keys: list[str | None] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.api_keys.append(request.headers.get("x-api-key"))
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_sync_sends_the_printers_api_key_with_every_request(
    database: Database,
    sync_options: SyncOptions,
    fake: FakeMoonraker,
    moonraker_server: FakeMoonrakerServer,
) -> None:
    fake.api_key = API_KEY  # the fake answers 401 to any request without it
    fake.add_jobs(50, seed=14)
    transport = RecordingTransport()
    printer_id = add_printer(database, "voron-1", moonraker_server.url, api_key=API_KEY)
    syncer = Syncer(database, sync_options, transport=transport, secret_box=TEST_BOX)
    result = run_sync(syncer, printer_id)
    assert (result.ok, result.counts.jobs_created) == (True, 50)
    assert set(transport.api_keys) == {API_KEY}


@pytest.mark.parametrize("stored_key", [None, WRONG_KEY], ids=["missing", "wrong"])
def test_sync_without_the_right_api_key_is_auth_failed(
    database: Database,
    gql: GraphQLClient,
    fake: FakeMoonraker,
    moonraker_server: FakeMoonrakerServer,
    stored_key: str | None,
) -> None:
    fake.api_key = API_KEY
    fake.add_jobs(5, seed=15)
    add_printer(database, "voron-1", moonraker_server.url, api_key=stored_key)
    assert sync_all(gql)["voron-1"]["error"]["code"] == "AUTH_FAILED"


PRINTERS_QUERY = """
{
  printers {
    nodes { name moonrakerUrl hasMoonrakerApiKey lastSyncStatus lastSyncError { code message } }
  }
}
"""


def test_api_keys_appear_in_no_graphql_response(
    database: Database,
    gql: GraphQLClient,
    fake: FakeMoonraker,
    other_fake: FakeMoonraker,
    moonraker_server: FakeMoonrakerServer,
    other_moonraker_server: FakeMoonrakerServer,
) -> None:
    fake.api_key = other_fake.api_key = API_KEY
    fake.add_jobs(5, seed=16)
    add_printer(database, "accepted", moonraker_server.url, api_key=API_KEY)
    add_printer(database, "rejected", other_moonraker_server.url, api_key=WRONG_KEY)
    responses = [
        gql.post(SYNC_MUTATION, {"input": {}}).text,
        gql.post(PRINTERS_QUERY).text,
    ]
    assert "AUTH_FAILED" in responses[1]
    assert [text for text in responses if API_KEY in text or WRONG_KEY in text] == []
