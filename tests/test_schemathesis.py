"""Schemathesis fuzzes every root field of the running app: no server error, no untyped error.

One bounded run (fixed seed, at least 500 generated operations, a time budget) over real
HTTP with an ADMIN key, against a seeded SQLite database and a fake Moonraker, so that
syncPrinters really imports. Each test below states one rule about the responses of that
run. Expected failures must be typed: an error raised while executing carries a stable
``extensions.code``, and a mutation reports what the caller can fix in ``userErrors``.
Syntax, validation and coercion errors (no ``path``) are the GraphQL layer's own.
"""

import base64
import json
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode
from schemathesis.graphql import nodes
from schemathesis.specs.graphql.scalars import CUSTOM_SCALARS
from sqlalchemy import select

from gql_server.app import create_app
from gql_server.config import Settings
from gql_server.db.engine import create_db_engine
from gql_server.db.models import JobDetails, JobTotals
from gql_server.db.session import Database
from gql_server.graphql.ids import to_global_id
from gql_server.services.api_keys import create_api_key
from gql_server.services.jobs import upsert_details, upsert_jobs
from gql_server.services.sync import Syncer, SyncOptions
from gql_server.services.totals import recompute_totals
from tests.factories import LOOPBACK, make_job_row, make_printer
from tests.support.fake_moonraker import FakeMoonrakerServer, closed_port_url
from tests.support.live_server import LiveServer

MIN_OPERATIONS = 500
# Per root field (14 of them); fields with few distinct queries run out sooner, so the
# 14 x 50 = 700 asked for send about 670.
POSITIVE_EXAMPLES = 40
NEGATIVE_EXAMPLES = 10  # syntactically valid queries the schema must refuse
# The whole run, schema load to last response; a local run takes about 20 s.
TIME_BUDGET = 80.0
REQUEST_TIMEOUT = 15.0
# Mutations that remove rows run last, so the queries before them see the seeded data.
LAST = ("Mutation.revokeApiKey", "Mutation.deletePrinter")
# Short timeouts: a printer URL the fuzzer invents must fail fast, not stall the run.
FAST_SYNC = SyncOptions(
    connect_timeout=0.5, read_timeout=2.0, retries=1, backoff_base=0.01, allowed_networks=LOOPBACK
)
TRACEBACK_MARKERS = ("Traceback (most recent call last)", 'File "/', "sqlalchemy.", "sqlite3.")


@dataclass(frozen=True)
class Exchange:
    operation: str
    query: str
    status: int
    body: Any  # the decoded JSON, or the text when it is not JSON

    def errors(self) -> list[dict[str, Any]]:
        if not isinstance(self.body, dict):
            return []
        return [e for e in self.body.get("errors") or [] if isinstance(e, dict)]

    def describe(self, error: dict[str, Any] | None = None) -> str:
        shown = error if error is not None else self.body
        return f"{self.operation} -> {self.status} {json.dumps(shown)[:400]}\n{self.query[:600]}"


@dataclass
class FuzzRun:
    responses: list[Exchange] = field(default_factory=list)
    elapsed: float = 0.0
    viewer_after: Any = None

    def summary(self) -> str:
        statuses = Counter(r.status for r in self.responses)
        codes = Counter(
            str((e.get("extensions") or {}).get("code")) for r in self.responses for e in r.errors()
        )
        sent = f"{len(self.responses)} sent in {self.elapsed:.1f} s"
        return f"{sent}; statuses {dict(statuses)}; error codes {dict(codes)}"


def first_problems(problems: list[str], limit: int = 5) -> str:
    return f"{len(problems)} problem(s); first ones:\n\n" + "\n\n".join(problems[:limit])


# ---------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Seeded:
    global_ids: list[str]
    admin_key: str


def seed(database: Database, moonraker_url: str) -> Seeded:
    """Three printers (one synced from the fake Moonraker, one unreachable, one inactive),
    jobs with details and totals, and a second key the fuzzer may revoke (never ours)."""
    base = datetime(2025, 6, 1, tzinfo=UTC)
    ids: list[str] = []
    with database.scope() as session:
        printers = [
            make_printer(session, "fuzz-voron", moonraker_url=moonraker_url),
            make_printer(session, "fuzz-prusa", moonraker_url=closed_port_url()),
            make_printer(session, "fuzz-old", moonraker_url=closed_port_url(), is_active=False),
        ]
        session.flush()
        for n, printer in enumerate(printers):
            ids.append(to_global_id("Printer", printer.id))
            rows = [
                make_job_row(i, start_time=base + timedelta(days=i, hours=n), status=status)
                for i, status in enumerate(("completed", "cancelled", "error", "in_progress"), 1)
            ]
            written = upsert_jobs(session, printer.id, rows)
            details = [
                {"print_job_id": job_id, "filament_type": "PLA;PETG", "layer_height": 0.2}
                for job_id in written.ids.values()
            ]
            upsert_details(session, details)
            ids += [to_global_id("PrintJob", job_id) for job_id in written.ids.values()]
        recompute_totals(session, [printer.id for printer in printers])
        victim = create_api_key(session, name="revocable", scopes="READ").api_key
        admin = create_api_key(session, name="fuzzer", scopes="ADMIN").plaintext
        session.flush()
        ids.append(to_global_id("ApiKey", victim.id))
    with database.scope() as session:
        ids += [to_global_id("JobDetails", i) for i in session.scalars(select(JobDetails.id))]
        ids += [to_global_id("JobTotals", i) for i in session.scalars(select(JobTotals.id))]
    return Seeded(global_ids=ids, admin_key=admin)


def id_values(global_ids: list[str]) -> st.SearchStrategy:
    """Real ids of every type (so lookups and mutations reach the database), ids that
    decode to nonsense, and arbitrary text."""

    def encoded(raw: str) -> str:
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    forged = st.sampled_from(
        ["Printer:999999", "Printer:-1", "Printer:abc", "Nope:1", "Printer", ":", "PrintJob:0"]
    ).map(encoded)
    return st.one_of(st.sampled_from(global_ids), forged, st.text(max_size=30)).map(nodes.String)


# ---------------------------------------------------------------------------- the run


@pytest.fixture(scope="module")
def fuzz_database(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[Database]:
    path = tmp_path_factory.mktemp("schemathesis") / "fuzz.db"
    shutil.copyfile(sqlite_template, path)
    database = Database(create_db_engine(f"sqlite:///{path}"))
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def moonraker() -> Iterator[FakeMoonrakerServer]:
    with FakeMoonrakerServer() as server:
        server.moonraker.add_sample_files()
        server.moonraker.add_jobs(30, seed=7)
        yield server


def ordered(operations: list[Any]) -> list[Any]:
    return sorted(
        operations,
        key=lambda op: (op.label in LAST, LAST.index(op.label) if op.label in LAST else 0),
    )


def fuzz_operation(
    operation: Any,
    mode: GenerationMode,
    examples: int,
    run: FuzzRun,
    send: Callable[[str, Any], Exchange],
    deadline: float,
) -> None:
    @settings(
        max_examples=examples,
        derandomize=True,  # a fixed seed: the same queries on every run
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # findings are collected, never shrunk
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def one(case: Any) -> None:
        if time.monotonic() < deadline:
            run.responses.append(send(operation.label, case))

    one()


@pytest.fixture(scope="module")
def fuzz_run(fuzz_database: Database, moonraker: FakeMoonrakerServer) -> Iterator[FuzzRun]:
    seeded = seed(fuzz_database, moonraker.url)
    syncer = Syncer(fuzz_database, FAST_SYNC)
    app = create_app(Settings(database_url="sqlite://"), database=fuzz_database, syncer=syncer)
    headers = {"X-API-Key": seeded.admin_key}
    run = FuzzRun()
    # The built-in ID is overridden for this run only: the registry is Schemathesis's
    # module-level dict (schemathesis.graphql.scalar() adds to it; nothing removes).
    CUSTOM_SCALARS["ID"] = id_values(seeded.global_ids)
    started = time.monotonic()
    deadline = started + TIME_BUDGET
    try:
        with LiveServer(app, name="gql-server") as server, requests.Session() as http:
            schema = schemathesis.graphql.from_url(
                f"{server.url}/graphql", headers=headers, timeout=REQUEST_TIMEOUT
            )

            def send(label: str, case: Any) -> Exchange:
                response = case.call(session=http, headers=headers, timeout=REQUEST_TIMEOUT)
                try:
                    body = response.json()
                except ValueError:
                    body = response.text
                return Exchange(label, str(case.body), response.status_code, body)

            operations = ordered([result.ok() for result in schema.get_all_operations()])
            for operation in operations:
                fuzz_operation(
                    operation, GenerationMode.POSITIVE, POSITIVE_EXAMPLES, run, send, deadline
                )
                fuzz_operation(
                    operation, GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES, run, send, deadline
                )
            viewer = http.post(
                f"{server.url}/graphql", json={"query": "{ viewer { name } }"}, headers=headers
            )
            run.viewer_after = viewer.json().get("data")
    finally:
        CUSTOM_SCALARS.pop("ID", None)
    run.elapsed = time.monotonic() - started
    yield run


# ---------------------------------------------------------------------------- the rules


def test_the_run_sends_at_least_500_generated_operations(fuzz_run: FuzzRun) -> None:
    assert len(fuzz_run.responses) >= MIN_OPERATIONS, fuzz_run.summary()


def test_the_run_stays_within_its_time_budget(fuzz_run: FuzzRun) -> None:
    assert fuzz_run.elapsed < TIME_BUDGET, fuzz_run.summary()


def test_no_response_is_an_http_server_error(fuzz_run: FuzzRun) -> None:
    problems = [r.describe() for r in fuzz_run.responses if r.status >= 500]
    assert problems == [], first_problems(problems)


def test_every_response_is_a_graphql_json_object(fuzz_run: FuzzRun) -> None:
    problems = [
        r.describe()
        for r in fuzz_run.responses
        if not isinstance(r.body, dict) or not ({"data", "errors"} & r.body.keys())
    ]
    assert problems == [], first_problems(problems)


def test_no_error_is_an_unexpected_one(fuzz_run: FuzzRun) -> None:
    problems = [
        r.describe(e)
        for r in fuzz_run.responses
        for e in r.errors()
        if (e.get("extensions") or {}).get("code") == "INTERNAL_SERVER_ERROR"
    ]
    assert problems == [], first_problems(problems)


def test_every_error_raised_while_executing_has_a_code(fuzz_run: FuzzRun) -> None:
    problems = [
        r.describe(e)
        for r in fuzz_run.responses
        for e in r.errors()
        if "path" in e and not isinstance((e.get("extensions") or {}).get("code"), str)
    ]
    assert problems == [], first_problems(problems)


def test_no_error_message_shows_a_traceback_or_sql(fuzz_run: FuzzRun) -> None:
    problems = [
        r.describe(e)
        for r in fuzz_run.responses
        for e in r.errors()
        if any(marker in str(e.get("message")) for marker in TRACEBACK_MARKERS)
    ]
    assert problems == [], first_problems(problems)


def test_mutations_report_expected_failures_as_user_errors(fuzz_run: FuzzRun) -> None:
    problems = [
        r.describe(e)
        for r in fuzz_run.responses
        if r.operation.startswith("Mutation.")
        for e in r.errors()
        # The mutation field itself raised; errors deeper down come from the payload's
        # selection (a nested page with a bad cursor), which are query-side and typed.
        if len(e.get("path") or ()) == 1
    ]
    assert problems == [], first_problems(problems)


def test_the_fuzzer_keeps_its_key(fuzz_run: FuzzRun) -> None:
    assert fuzz_run.viewer_after == {"viewer": {"name": "fuzzer"}}
