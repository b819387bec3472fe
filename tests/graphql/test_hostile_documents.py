"""Documents built to hang or slow the server: each is answered or refused with a stable
code, and /healthz keeps answering within 100 ms while they are being processed.

The server runs in a child process (``gql-server serve``), so the latency measured is
the server's event loop, not this test's threads competing for one interpreter. SQLite
only: everything here is decided on the document before any SQL runs. Every hostile
request carries a unique trailing comment, so none is answered from the document cache.
"""

import shutil
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from gql_server.db.engine import create_db_engine
from gql_server.db.session import Database
from tests.graphql.conftest import make_key
from tests.support.hostile_documents import ATTACKS, WORST_ACCEPTED
from tests.support.served import served, start_server, stop, wait_healthy

HEALTHZ_WITHIN = 0.100  # seconds: the issue's bound for /healthz under attack
STREAMS = 2  # concurrent attackers
ATTACK_SECONDS = 1.5
ATTACK_REQUESTS = 20  # per stream, at most
REQUEST_TIMEOUT = 15.0  # a hostile request not answered by then has stalled the server


@dataclass(frozen=True)
class Server:
    url: str
    key: str


@pytest.fixture(scope="module")
def database_file(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Path:
    path = tmp_path_factory.mktemp("hostile") / "hostile.db"
    shutil.copyfile(sqlite_template, path)
    return path


@pytest.fixture(scope="module")
def key(database_file: Path) -> str:
    database = Database(create_db_engine(f"sqlite:///{database_file}"))
    try:
        return make_key(database, scopes="ADMIN", name="attacker")
    finally:
        database.dispose()


def _server(tmp: Path, database_file: Path, key: str, **env: str) -> Iterator[Server]:
    settings = {"DATABASE_URL": f"sqlite:///{database_file}", **env}
    with served(tmp / "server.log", settings) as process:
        yield Server(process.url, key)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, database_file: Path, key: str) -> Any:
    yield from _server(tmp_path_factory.mktemp("open"), database_file, key)


@pytest.fixture(scope="module")
def closed(tmp_path_factory: pytest.TempPathFactory, database_file: Path, key: str) -> Any:
    """Introspection off."""
    tmp = tmp_path_factory.mktemp("closed")
    yield from _server(tmp, database_file, key, GQL_INTROSPECTION="false")


def post(server: Server, query: str, timeout: float = REQUEST_TIMEOUT) -> dict[str, Any]:
    response = httpx.post(
        f"{server.url}/graphql",
        json={"query": query},
        headers={"X-API-Key": server.key},
        timeout=timeout,
    )
    body: dict[str, Any] = response.json()
    return body


def codes(body: dict[str, Any]) -> list[str]:
    return [error.get("extensions", {}).get("code") for error in body.get("errors", [])]


# --- the attack, with /healthz measured meanwhile --------------------------------------


@dataclass
class Stream:
    bodies: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def attack(server: Server, document: str, stream: Stream, tag: int) -> None:
    deadline = time.monotonic() + ATTACK_SECONDS
    for n in range(ATTACK_REQUESTS):
        if time.monotonic() > deadline:
            break
        try:
            stream.bodies.append(post(server, f"{document} # {tag}-{n}"))
        except httpx.HTTPError as exc:
            stream.failures.append(repr(exc))
            return


def healthz_latencies(server: Server, threads: list[threading.Thread]) -> list[float]:
    """Polls /healthz every 25 ms while any attacker runs (bounded by the attack time)."""
    latencies: list[float] = []
    deadline = time.monotonic() + ATTACK_SECONDS + REQUEST_TIMEOUT
    with httpx.Client(timeout=5) as client:
        while any(t.is_alive() for t in threads) and time.monotonic() < deadline:
            started = time.perf_counter()
            assert client.get(f"{server.url}/healthz").status_code == 200
            latencies.append(time.perf_counter() - started)
            time.sleep(0.025)
    return latencies


def under_attack(server: Server, document: str) -> tuple[list[Stream], list[float]]:
    streams = [Stream() for _ in range(STREAMS)]
    threads = [
        threading.Thread(target=attack, args=(server, document, stream, n), daemon=True)
        for n, stream in enumerate(streams)
    ]
    for thread in threads:
        thread.start()
    latencies = healthz_latencies(server, threads)
    for thread in threads:
        thread.join(REQUEST_TIMEOUT)
    return streams, latencies


def assert_responsive(latencies: list[float]) -> None:
    """Nine polls in ten within 100 ms, and none stalled.

    A blocked event loop delays every poll while it is blocked, and the attack repeats
    its document for the whole measurement: the old code never answered the cycle and
    held the loop 2.9 s on the doubling chain. What is tolerated is the odd poll that
    waits behind the attackers' own requests, or that the operating system delays, on
    a busy two-core machine (up to 133 ms seen with other test suites running)."""
    assert len(latencies) >= 10
    slow = [latency for latency in latencies if latency >= HEALTHZ_WITHIN]
    assert len(slow) <= len(latencies) // 10, sorted(latencies)[-5:]
    assert max(latencies) < 5 * HEALTHZ_WITHIN, sorted(latencies)[-5:]


@pytest.mark.parametrize("name", list(ATTACKS))
def test_healthz_answers_within_100_ms_while_a_hostile_document_is_processed(
    server: Server, name: str
) -> None:
    attack_ = ATTACKS[name]
    streams, latencies = under_attack(server, attack_.document)
    assert not [f for s in streams for f in s.failures], "a hostile request stalled"
    bodies = [body for stream in streams for body in stream.bodies]
    # On a loaded machine a slow document may run out of its preparation budget; every
    # other answer is the designed one.
    designed = [body for body in bodies if codes(body) != ["QUERY_BUDGET_EXCEEDED"]]
    assert designed
    for body in designed:
        if attack_.code is None:
            assert "errors" not in body, body["errors"][:1]
            assert len(body["data"]) == 1
        else:
            assert set(codes(body)) == {attack_.code}, body["errors"][:1]
            assert body.get("data") is None
    assert_responsive(latencies)


def test_a_document_over_the_preparation_budget_is_refused(
    tmp_path: Path, database_file: Path, key: str
) -> None:
    with served(
        tmp_path / "server.log",
        {"DATABASE_URL": f"sqlite:///{database_file}", "GQL_PREPARE_TIMEOUT": "0.001"},
    ) as process:
        body = post(Server(process.url, key), WORST_ACCEPTED)
    assert codes(body) == ["QUERY_BUDGET_EXCEEDED"]
    assert "0.001 s" in body["errors"][0]["message"]


def test_sigterm_stops_a_server_busy_with_hostile_documents(
    tmp_path: Path, database_file: Path, key: str
) -> None:
    process = start_server(tmp_path / "server.log", {"DATABASE_URL": f"sqlite:///{database_file}"})
    try:
        wait_healthy(process)
        target = Server(process.url, key)
        streams = [Stream() for _ in range(STREAMS)]
        threads = [
            threading.Thread(target=attack, args=(target, WORST_ACCEPTED, s, n), daemon=True)
            for n, s in enumerate(streams)
        ]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        process.process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        exit_code = process.process.wait(timeout=30)
        stopped_after = time.monotonic() - started
        for thread in threads:
            thread.join(REQUEST_TIMEOUT)
    finally:
        stop([process], 5)
    # uvicorn stops gracefully, then ends by the signal it caught.
    assert exit_code in (0, -signal.SIGTERM), process.output()
    assert "Application shutdown complete" in process.output()
    # In-flight documents finish within their budget (2 s); nothing waits for the 30 s
    # graceful timeout to run out.
    assert stopped_after < 10, process.output()


# --- nesting is measured, never a way around the limits --------------------------------

# 100 + 100**2 + 100**3 nodes at depth 7, selection sets nested 7 deep.
CONNECTIONS = (
    "printers(first: 100) { nodes { printJobs(first: 100) { nodes { printer {"
    " printJobs(first: 100) { totalCount } } } } } }"
)


def inline_wrapped(selection: str, levels: int) -> str:
    return "query { " + "... { " * levels + selection + " }" * levels + " }"


def chain_of_fragments(selection: str, levels: int) -> str:
    """``levels`` named fragments W0…, each spreading the next once; the last holds
    ``selection``."""
    fragments = [f"fragment W{levels - 1} on Query {{ {selection} }}"]
    fragments += [f"fragment W{n} on Query {{ ...W{n + 1} }}" for n in range(levels - 1)]
    return " ".join(fragments)


def fragment_wrapped(selection: str, levels: int) -> str:
    return "query { ...W0 } " + chain_of_fragments(selection, levels)


def mixed_wrapped(selection: str, levels: int) -> str:
    """Inline fragments around a spread of a chain of named fragments."""
    return inline_wrapped("...W0", levels) + " " + chain_of_fragments(selection, levels)


def deep_selection(depth: int) -> str:
    """A selection whose deepest field sits ``depth`` levels down."""
    chain = ["printJobs(first: 1)", "nodes", "printer"]
    fields = [chain[n % 3] for n in range(depth - 1)]
    leaf = {"printJobs(first: 1)": "totalCount", "nodes": "jobId", "printer": "name"}[fields[-1]]
    inner = leaf
    for name in reversed(fields):
        inner = f"{name} {{ {inner} }}"
    return inner


def test_wrappers_do_not_change_what_a_query_costs(server: Server) -> None:
    selection = "printJobs(first: 5) { nodes { printer { name } } }"
    plain = post(server, f"query {{ {selection} }}")
    assert "errors" not in plain
    expected = plain["extensions"]["cost"]["requested"]
    assert expected == 1 + 5 * 2
    for document in (
        inline_wrapped(selection, 60),
        fragment_wrapped(selection, 66),
        mixed_wrapped(selection, 30),
    ):
        body = post(server, document)
        assert "errors" not in body, body["errors"]
        assert body["extensions"]["cost"]["requested"] == expected


@pytest.mark.parametrize(
    "wrap",
    [
        lambda s: inline_wrapped(s, 50),
        lambda s: fragment_wrapped(s, 66),
        lambda s: mixed_wrapped(s, 30),
    ],
    ids=["inline", "named", "mixed"],
)
def test_limits_hold_through_wrappers(server: Server, wrap: Any) -> None:
    assert codes(post(server, wrap(CONNECTIONS))) == ["TOO_MANY_NODES"]
    too_deep = post(server, wrap(deep_selection(9)))
    assert codes(too_deep) == ["QUERY_TOO_DEEP"]
    assert "depth 9 " in too_deep["errors"][0]["message"]
    assert "errors" not in post(server, wrap(deep_selection(8)))
    aliases = " ".join(f"a{n}: __typename" for n in range(16))
    assert codes(post(server, wrap(aliases))) == ["TOO_MANY_ALIASES"]


def test_selection_sets_nested_past_the_guard_are_refused_not_waved_through(
    server: Server,
) -> None:
    body = post(server, inline_wrapped(CONNECTIONS, 66))
    assert codes(body) == ["QUERY_TOO_DEEP"]
    assert body.get("data") is None


# --- introspection off, whatever the wrapping ------------------------------------------

SCHEMA = "__schema { types { name } }"
INTROSPECTION_DOCUMENTS = {
    "plain": f"{{ {SCHEMA} }}",
    "alias": "{ s: __schema { types { name } } }",
    "__type": '{ __type(name: "Printer") { fields { name } } }',
    "inline fragment": f"{{ ... on Query {{ {SCHEMA} }} }}",
    "named fragment": f"query {{ ...I }} fragment I on Query {{ {SCHEMA} }}",
    "nested inline fragments": inline_wrapped(SCHEMA, 60),
    "chain of named fragments": fragment_wrapped(SCHEMA, 66),
    "beside data": f"{{ viewer {{ name }} ... {{ {SCHEMA} }} }}",
    "after data in a fragment": (
        f"query {{ ...I }} fragment I on Query {{ viewer {{ name }} {SCHEMA} }}"
    ),
}


@pytest.mark.parametrize("name", list(INTROSPECTION_DOCUMENTS))
def test_introspection_off_refuses_every_shape(closed: Server, name: str) -> None:
    body = post(closed, INTROSPECTION_DOCUMENTS[name])
    assert codes(body) == ["INTROSPECTION_DISABLED"]
    assert body.get("data") is None


def test_introspection_off_refuses_wrappers_past_the_nesting_guard(closed: Server) -> None:
    body = post(closed, inline_wrapped(SCHEMA, 66))
    assert codes(body) == ["QUERY_TOO_DEEP"]
    assert "types" not in str(body)


def test_introspection_on_answers_the_same_shapes(server: Server) -> None:
    body = post(server, INTROSPECTION_DOCUMENTS["chain of named fragments"])
    assert "errors" not in body
    assert any(t["name"] == "Printer" for t in body["data"]["__schema"]["types"])


MISSPELT = {
    "field": "{ viewer { nme } }",
    "argument": "{ printers(frist: 1) { totalCount } }",
    "type": "query($f: PrinterFiltr) { printers(filter: $f) { totalCount } }",
    "input field": '{ printers(filter: {nmeContains: "x"}) { totalCount } }',
}


@pytest.mark.parametrize("name", list(MISSPELT))
def test_without_introspection_errors_suggest_no_names(
    server: Server, closed: Server, name: str
) -> None:
    assert "Did you mean" in str(post(server, MISSPELT[name])["errors"])
    hidden = post(closed, MISSPELT[name])
    assert codes(hidden) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "Did you mean" not in str(hidden["errors"])


def test_without_introspection_variable_errors_suggest_no_names(
    server: Server, closed: Server
) -> None:
    query = "query($f: PrinterFilter) { printers(filter: $f) { totalCount } }"
    variables = {"f": {"nmeContains": "x"}}
    for target, suggests in ((server, True), (closed, False)):
        response = httpx.post(
            f"{target.url}/graphql",
            json={"query": query, "variables": variables},
            headers={"X-API-Key": target.key},
            timeout=REQUEST_TIMEOUT,
        )
        assert ("nameContains" in response.text) is suggests, response.text
