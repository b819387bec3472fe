"""Metrics, masked errors, request ids and JSON logs, seen from outside over HTTP.

/metrics is scraped the way Prometheus does (no key) and parsed with prometheus_client's
own parser; counters are compared before and after what a test does.
"""

import asyncio
import json
import logging
import re
import socket
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from starlette.types import Message, Receive, Scope, Send

from gql_server.app import create_app, live_figures
from gql_server.config import Settings
from gql_server.db.models import Printer, PrintJob
from gql_server.db.session import Database
from gql_server.observability.logs import JsonFormatter, RequestIdFilter
from gql_server.observability.request_id import RequestIdMiddleware, request_id
from gql_server.services import printer_queries, stats
from gql_server.services.sync import Syncer
from tests.graphql.conftest import GraphQLClient, make_key
from tests.live.conftest import FAST_LIVE
from tests.support.fake_moonraker import FakeMoonraker, FakeMoonrakerServer
from tests.support.live_server import LiveServer
from tests.sync.conftest import FAST, SYNC_MUTATION, add_printer

FLEET = "query Fleet { printers { nodes { name printJobs(first: 5) { nodes { jobId } } } } }"
SECRET = "secret internal detail"
GENERATED_ID = r"[0-9a-f]{32}"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def server(database: Database) -> Iterator[LiveServer]:
    app = create_app(
        Settings(database_url="sqlite://"), database=database, syncer=Syncer(database, FAST)
    )
    with LiveServer(app, name="observability") as live:
        yield live


@pytest.fixture
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


@pytest.fixture
def gql(http: httpx.Client, database: Database) -> GraphQLClient:
    return GraphQLClient(http=http, key=make_key(database))


def scrape(http: httpx.Client) -> Samples:
    response = http.get("/metrics")
    assert response.status_code == 200, response.text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def errors_by_code(samples: Samples) -> dict[str, float]:
    return {
        dict(labels)["code"]: number
        for (name, labels), number in samples.items()
        if name == "gql_errors_total"
    }


def closed_port_url() -> str:
    """A port bound but not listening: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def sync(gql: GraphQLClient) -> list[dict[str, Any]]:
    return gql.execute(SYNC_MUTATION, {"input": {}})["syncPrinters"]["results"]


def error_of(response: httpx.Response) -> dict[str, Any]:
    (error,) = response.json()["errors"]
    return error


# --- /metrics: operations and errors ---------------------------------------------------


def test_each_named_operation_is_counted_under_its_name(
    gql: GraphQLClient, http: httpx.Client
) -> None:
    before = value(scrape(http), "gql_requests_total", operation="Fleet")
    for _ in range(3):
        gql.execute(FLEET)
    assert value(scrape(http), "gql_requests_total", operation="Fleet") == before + 3


def test_each_operation_is_timed_under_its_name(gql: GraphQLClient, http: httpx.Client) -> None:
    for _ in range(2):
        gql.execute(FLEET)
    count = value(scrape(http), "gql_request_duration_seconds_count", operation="Fleet")
    assert count == 2


def test_an_unnamed_operation_is_counted_as_anonymous(
    gql: GraphQLClient, http: httpx.Client
) -> None:
    gql.execute("{ viewer { name } }")
    assert value(scrape(http), "gql_requests_total", operation="anonymous") == 1


def _read_only_key_creating_a_key(gql: GraphQLClient, database: Database) -> httpx.Response:
    key = make_key(database, "READ", name="reader")
    mutation = 'mutation { createApiKey(input: {name: "x", scopes: [READ]}) { key } }'
    return gql.post(mutation, key=key)


REFUSALS = {
    "UNAUTHENTICATED": lambda gql, database: gql.post("{ viewer { name } }", key=None),
    "FORBIDDEN": _read_only_key_creating_a_key,
    "PAYLOAD_TOO_LARGE": lambda gql, database: gql.post("{ viewer { name } }" + " " * 70_000),
    "BATCHING_NOT_SUPPORTED": lambda gql, database: gql.http.post(
        "/graphql", json=[{"query": "{ viewer { name } }"}], headers={"X-API-Key": gql.key}
    ),
    "TOO_MANY_TOKENS": lambda gql, database: gql.post("{ viewer { " + "name " * 1000 + "} }"),
    "QUERY_TOO_DEEP": lambda gql, database: gql.post(
        "{ printJobs { nodes { printer { printJobs { nodes { printer "
        "{ printJobs { nodes { jobId } } } } } } } } }"
    ),
    "BAD_PAGE_SIZE": lambda gql, database: gql.post("{ printJobs(first: 101) { totalCount } }"),
}


@pytest.mark.parametrize("code", REFUSALS)
def test_a_refusal_is_counted_once_under_its_code(
    gql: GraphQLClient, http: httpx.Client, database: Database, code: str
) -> None:
    before = value(scrape(http), "gql_errors_total", code=code)
    response = REFUSALS[code](gql, database)
    assert [error["extensions"]["code"] for error in response.json()["errors"]] == [code]
    assert value(scrape(http), "gql_errors_total", code=code) == before + 1


def test_an_unexpected_error_is_counted_as_internal_server_error(
    gql: GraphQLClient, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stats, "print_stats", _raise_secret)
    gql.post("query Stats { printStats(groupBy: STATUS) { jobCount } }")
    assert errors_by_code(scrape(http)) == {"INTERNAL_SERVER_ERROR": 1}


# --- /metrics: syncs and the fleet -----------------------------------------------------


def test_a_sync_is_counted_as_one_succeeded_run_of_its_printer(
    gql: GraphQLClient,
    http: httpx.Client,
    database: Database,
    fake: FakeMoonraker,
    moonraker_server: FakeMoonrakerServer,
) -> None:
    fake.add_jobs(12, seed=3)
    add_printer(database, "voron-1", moonraker_server.url)
    sync(gql)
    samples = scrape(http)
    assert value(samples, "gql_sync_runs_total", printer="voron-1", outcome="succeeded") == 1


def test_a_sync_counts_the_jobs_it_imported(
    gql: GraphQLClient,
    http: httpx.Client,
    database: Database,
    fake: FakeMoonraker,
    moonraker_server: FakeMoonrakerServer,
) -> None:
    fake.add_jobs(12, seed=3)
    add_printer(database, "voron-1", moonraker_server.url)
    (result,) = sync(gql)
    imported = value(scrape(http), "gql_sync_jobs_imported_total", printer="voron-1")
    assert (imported, result["jobsCreated"]) == (12, 12)


def test_a_sync_that_imports_nothing_new_adds_no_jobs(
    gql: GraphQLClient,
    http: httpx.Client,
    database: Database,
    fake: FakeMoonraker,
    moonraker_server: FakeMoonrakerServer,
) -> None:
    fake.add_jobs(5, seed=4)
    add_printer(database, "voron-1", moonraker_server.url)
    sync(gql)
    sync(gql)
    samples = scrape(http)
    runs = value(samples, "gql_sync_runs_total", printer="voron-1", outcome="succeeded")
    assert (runs, value(samples, "gql_sync_jobs_imported_total", printer="voron-1")) == (2, 5)


def test_a_failed_sync_is_counted_under_its_error_code(
    gql: GraphQLClient, http: httpx.Client, database: Database
) -> None:
    add_printer(database, "offline", closed_port_url())
    (result,) = sync(gql)
    code = result["error"]["code"]
    assert value(scrape(http), "gql_sync_runs_total", printer="offline", outcome=code) == 1


def _stored_counts(database: Database) -> dict[tuple[str, str], float]:
    query = (
        select(Printer.name, PrintJob.status, func.count())
        .join(PrintJob, PrintJob.printer_id == Printer.id)
        .group_by(Printer.name, PrintJob.status)
    )
    with database.scope() as session:
        return {(name, status): float(count) for name, status, count in session.execute(query)}


def _fleet_gauge(samples: Samples) -> dict[tuple[str, str], float]:
    return {
        (dict(labels)["printer"], dict(labels)["status"]): number
        for (name, labels), number in samples.items()
        if name == "gql_fleet_jobs"
    }


def test_the_fleet_gauge_matches_the_stored_jobs(
    gql: GraphQLClient,
    http: httpx.Client,
    database: Database,
    fake: FakeMoonraker,
    moonraker_server: FakeMoonrakerServer,
) -> None:
    fake.add_jobs(40, seed=5)
    add_printer(database, "voron-1", moonraker_server.url)
    sync(gql)
    stored = _stored_counts(database)
    assert (_fleet_gauge(scrape(http)), sum(stored.values())) == (stored, 40)


def test_the_fleet_gauge_is_empty_without_jobs(http: httpx.Client) -> None:
    assert _fleet_gauge(scrape(http)) == {}


# --- unexpected errors: masked for the client, whole in the log -------------------------


def _raise_secret(*args: object, **kwargs: object) -> Any:
    raise RuntimeError(SECRET)


# (service to break, a query whose resolver calls it, where the error lands)
BROKEN = {
    "root field": (stats, "print_stats", "{ printStats(groupBy: STATUS) { jobCount } }"),
    "nested field": (
        printer_queries,
        "count_printers",
        "{ printers { totalCount } }",
    ),
}


@pytest.fixture(params=list(BROKEN))
def broken(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The query whose service now raises RuntimeError(SECRET)."""
    module, name, query = BROKEN[request.param]
    monkeypatch.setattr(module, name, _raise_secret)
    return query


def test_an_unexpected_error_reaches_the_client_as_a_generic_message_and_an_id(
    gql: GraphQLClient, broken: str
) -> None:
    error = error_of(gql.post(broken))
    error_id = error["extensions"]["errorId"]
    assert error["message"] == f"Internal server error (error id {error_id})"
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "errorId": error_id}


def test_the_client_never_sees_the_exception_or_a_traceback(
    gql: GraphQLClient, broken: str
) -> None:
    text = gql.post(broken).text
    assert (SECRET in text, "Traceback" in text, "RuntimeError" in text) == (False, False, False)


def test_the_log_has_the_error_id_and_the_traceback(
    gql: GraphQLClient, broken: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="gql_server.errors"):
        error_id = error_of(gql.post(broken))["extensions"]["errorId"]
    (record,) = [r for r in caplog.records if r.name == "gql_server.errors"]
    assert (record.__dict__["error_id"], error_id in record.getMessage()) == (error_id, True)
    assert "Traceback" in caplog.text and f"RuntimeError: {SECRET}" in caplog.text


def test_the_log_record_carries_the_exception_itself(
    gql: GraphQLClient, broken: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="gql_server.errors"):
        gql.post(broken)
    (record,) = [r for r in caplog.records if r.name == "gql_server.errors"]
    assert record.exc_info is not None and str(record.exc_info[1]) == SECRET


def test_each_unexpected_error_gets_its_own_id(gql: GraphQLClient, broken: str) -> None:
    ids = {error_of(gql.post(broken))["extensions"]["errorId"] for _ in range(3)}
    assert len(ids) == 3


READABLE = {
    "misspelled field": (
        "{ viewer { nam } }",
        "Cannot query field 'nam' on type 'ApiKey'. Did you mean 'name'?",
    ),
    "syntax error": ("{ viewer { name }", "Syntax Error: Expected Name, found <EOF>."),
    "bad argument": (
        "{ printJobs(first: true) { totalCount } }",
        "Int cannot represent non-integer value: true",
    ),
    "expected error": (
        "{ printJobs(first: 101) { totalCount } }",
        "first must be between 1 and 100, got 101",
    ),
}


@pytest.mark.parametrize("query, message", READABLE.values(), ids=READABLE.keys())
def test_syntax_validation_and_expected_errors_stay_readable(
    gql: GraphQLClient, query: str, message: str
) -> None:
    assert error_of(gql.post(query))["message"] == message


def test_an_expected_error_is_not_logged_as_unexpected(
    gql: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="gql_server.errors"):
        gql.post("{ printJobs(first: 101) { totalCount } } ")
    assert [r for r in caplog.records if r.name == "gql_server.errors"] == []


# --- request ids ------------------------------------------------------------------------


def test_a_sane_request_id_is_echoed(gql: GraphQLClient) -> None:
    response = gql.http.get("/healthz", headers={"X-Request-ID": "lb-7f3a:9.2_x-1"})
    assert response.headers["X-Request-ID"] == "lb-7f3a:9.2_x-1"


def test_a_request_id_is_generated_when_none_is_sent(http: httpx.Client) -> None:
    ids = [http.get("/healthz").headers["X-Request-ID"] for _ in range(2)]
    assert all(re.fullmatch(GENERATED_ID, rid) for rid in ids) and ids[0] != ids[1]


@pytest.mark.parametrize(
    "sent",
    [b"has space", b"x" * 65, b"semi;colon", b"caf\xc3\xa9", b"<script>", b""],
    ids=["space", "65 chars", "semicolon", "non-ascii", "markup", "empty"],
)
def test_a_malformed_request_id_is_replaced(http: httpx.Client, sent: bytes) -> None:
    echoed = http.get("/healthz", headers={"X-Request-ID": sent}).headers["X-Request-ID"]
    assert re.fullmatch(GENERATED_ID, echoed)


def test_a_request_id_with_a_newline_is_replaced() -> None:
    """HTTP clients refuse to send a newline in a header, so this talks ASGI directly."""
    sent: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "headers": [(b"x-request-id", b"abc\r\nSet-Cookie: x=1")]}
    anyio.run(RequestIdMiddleware(app), scope, receive, send)
    headers = dict(sent[0]["headers"])
    assert re.fullmatch(GENERATED_ID, headers[b"x-request-id"].decode())


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/graphql?query={__typename}"])
def test_every_route_answers_with_a_request_id_even_a_refusal(
    http: httpx.Client, path: str
) -> None:
    assert re.fullmatch(GENERATED_ID, http.get(path).headers["X-Request-ID"])


class ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def json_log() -> Iterator[ListHandler]:
    """The handler configure_logging("json") installs, on the error logger only."""
    handler = ListHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("gql_server.errors")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def test_the_unexpected_error_log_line_carries_the_request_id(
    gql: GraphQLClient, broken: str, json_log: ListHandler
) -> None:
    response = gql.http.post(
        "/graphql",
        json={"query": broken},
        headers={"X-API-Key": gql.key or "", "X-Request-ID": "trace-42"},
    )
    (line,) = json_log.lines
    entry = json.loads(line)
    error_id = error_of(response)["extensions"]["errorId"]
    assert (entry["request_id"], entry["error_id"]) == ("trace-42", error_id)
    assert SECRET in entry["traceback"]


# --- JSON log format -------------------------------------------------------------------


def _formatted(message: str, exc_info: Any = None, **extra: Any) -> dict[str, Any]:
    record = logging.getLogger("gql_server.test").makeRecord(
        "gql_server.test", logging.WARNING, __file__, 1, message, (), exc_info, extra=extra
    )
    token = request_id.set("req-1")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id.reset(token)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    return json.loads(line)


def test_a_json_log_line_has_time_level_logger_message_and_request_id() -> None:
    entry = _formatted('printer "voron"\nwent away')
    assert {key: entry[key] for key in ("level", "logger", "message", "request_id")} == {
        "level": "WARNING",
        "logger": "gql_server.test",
        "message": 'printer "voron"\nwent away',
        "request_id": "req-1",
    }
    assert entry["time"].endswith("+00:00")


def test_a_json_log_line_keeps_extra_fields() -> None:
    assert _formatted("x", error_id="abc", printer=object())["error_id"] == "abc"


def test_a_json_log_line_of_an_exception_has_its_traceback() -> None:
    try:
        raise RuntimeError(SECRET)
    except RuntimeError as exc:
        entry = _formatted("boom", (RuntimeError, exc, exc.__traceback__))
    assert entry["traceback"].startswith("Traceback") and SECRET in entry["traceback"]


# ---------------------------------------------------------------------------- live mode


def _until_scraped(http: httpx.Client, ready: Any, what: str) -> Samples:
    """Bounded: at most 600 scrapes, 0.05 s apart."""
    for _ in range(600):
        samples = scrape(http)
        if ready(samples):
            return samples
        anyio.run(anyio.sleep, 0.05)
    pytest.fail(f"/metrics never showed {what}")


def test_live_printers_are_counted_by_connection_state_with_their_reconnects(
    database: Database, moonraker_server: FakeMoonrakerServer, fake: FakeMoonraker
) -> None:
    add_printer(database, "voron-1", moonraker_server.url)
    add_printer(database, "voron-down", closed_port_url())
    settings = Settings(database_url="sqlite://", live=True)
    app = create_app(settings, database=database, syncer=Syncer(database, FAST),
                     live_options=FAST_LIVE)  # fmt: skip
    with LiveServer(app, name="live-metrics") as live, httpx.Client(base_url=live.url) as http:
        samples = _until_scraped(
            http,
            lambda s: (
                value(s, "gql_live_printers", connection="CONNECTED") == 1
                and value(s, "gql_live_printers", connection="OFFLINE") == 1
                and value(s, "gql_live_reconnects_total") >= 1
            ),
            "one printer connected, one offline and retried",
        )
    assert value(samples, "gql_live_events_total", source="this_worker") > 0
    assert value(samples, "gql_live_events_total", source="broker") == 0


def test_an_unreachable_broker_shows_in_the_broker_state(database: Database) -> None:
    port = closed_port_url().rsplit(":", 1)[1]
    settings = Settings(database_url="sqlite://", broker_url=f"redis://127.0.0.1:{port}/0")
    app = create_app(settings, database=database, syncer=Syncer(database, FAST))
    with LiveServer(app, name="broker-metrics") as live, httpx.Client(base_url=live.url) as http:
        _until_scraped(
            http,
            lambda s: value(s, "gql_broker_state", state="UNREACHABLE") == 1,
            "the broker unreachable",
        )


def test_open_subscriptions_are_counted(database: Database) -> None:
    app = create_app(Settings(database_url="sqlite://"), database=database)

    async def with_one_subscriber() -> int:
        events = app.state.hub.subscribe()
        reading = asyncio.ensure_future(anext(events))
        await asyncio.sleep(0)
        try:
            return live_figures(app).subscriptions
        finally:
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)
            await events.aclose()

    assert asyncio.run(with_one_subscriber()) == 1
    assert live_figures(app).subscriptions == 0
