"""Query limits: each one refuses the query just over it with its code and answers the
query exactly at it.

Every query is built here so the boundary is exact: depth and aliases by construction,
tokens counted with graphql-core's lexer, bodies padded to the byte, nodes and cost from
the cost model spelled out next to the builders (limits.py: a leaf costs 0, an object
field 1 plus its selection, a connection 1 plus its page size times what each node
selects; nodes are page sizes multiplied down nested connections and summed).

SQLite only: the limits are measured on the document before any SQL runs, so one dialect
is enough; the servers live for the module.
"""

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import OperationDefinitionNode, build_schema, get_introspection_query, parse
from graphql.language import Lexer, Source, TokenKind

from gql_server.app import create_app
from gql_server.config import Settings, load_settings
from gql_server.db.engine import create_db_engine
from gql_server.db.models import Printer
from gql_server.db.session import Database
from gql_server.graphql.limits import (
    LIST_BOUNDS,
    MAX_LIST_ITEMS,
    PAGED,
    DocumentRefused,
    Measure,
    check_structure,
    measure_operation,
    sized_field_names,
)
from tests.factories import make_printer
from tests.graphql.conftest import GraphQLClient, make_key
from tests.support.live_server import LiveServer

KIB_64 = 64 * 1024
SMALL_LIMITS = {
    "GQL_MAX_DEPTH": "4",
    "GQL_MAX_ALIASES": "2",
    "GQL_MAX_TOKENS": "40",
    "GQL_MAX_NODES": "10",
    "GQL_MAX_COST": "31",
    "GQL_MAX_BODY_BYTES": "2048",
}


# --- servers ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_database(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[Database]:
    """One printer without jobs, so nested connections resolve once and return nothing."""
    path = tmp_path_factory.mktemp("limits") / "limits.db"
    shutil.copyfile(sqlite_template, path)
    database = Database(create_db_engine(f"sqlite:///{path}"))
    with database.scope() as session:
        make_printer(session, "voron-1")
    yield database
    database.dispose()


def _serve(database: Database, settings: Settings, name: str) -> Iterator[GraphQLClient]:
    app = create_app(settings, database=database)
    with (
        LiveServer(app, name=name) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        yield GraphQLClient(http=http, key=make_key(database, name=name))


@pytest.fixture(scope="module")
def client(sqlite_database: Database) -> Iterator[GraphQLClient]:
    """The default limits."""
    yield from _serve(sqlite_database, Settings(database_url="sqlite://"), "default-limits")


@pytest.fixture(scope="module")
def small(sqlite_database: Database) -> Iterator[GraphQLClient]:
    """Every limit lowered through its GQL_ variable."""
    settings = load_settings(SMALL_LIMITS)
    yield from _serve(sqlite_database, settings, "small-limits")


@pytest.fixture(scope="module")
def closed(sqlite_database: Database) -> Iterator[GraphQLClient]:
    """Introspection disabled."""
    settings = Settings(database_url="sqlite://", introspection=False)
    yield from _serve(sqlite_database, settings, "no-introspection")


# --- query builders --------------------------------------------------------------------

# Object fields that nest without end, and a leaf each one can end with.
CHAIN = ("printJobs(first: 1)", "nodes", "printer")
LEAF = {"printJobs(first: 1)": "totalCount", "nodes": "jobId", "printer": "name"}


def nested(fields: list[str], leaf: str) -> str:
    inner = leaf
    for field in reversed(fields):
        inner = f"{field} {{ {inner} }}"
    return inner


def deep_query(depth: int, operation: str = "") -> str:
    """A query whose deepest field (a leaf) sits ``depth`` levels down."""
    fields = [CHAIN[index % len(CHAIN)] for index in range(depth - 1)]
    return f"{operation} {{ {nested(fields, LEAF[fields[-1]])} }}"


def alias_query(aliases: int) -> str:
    names = " ".join(f"a{index}: name" for index in range(aliases))
    return f"{{ viewer {{ {names} }} }}"


def token_count(query: str) -> int:
    lexer = Lexer(Source(query))
    count = 0
    while lexer.advance().kind is not TokenKind.EOF:
        count += 1
    return count


def token_query(tokens: int) -> str:
    """A list of statuses filled to ``tokens`` (a token each). Not a repeated field: graphql-core
    aborts validation when comparing a thousand identical fields costs too much. The field
    is skipped: its resolver would refuse a list of over 100 items."""
    prefix, suffix = (
        "{ printJobs(first: 1, filter: {statuses: [",
        "]}) @skip(if: true) { totalCount } }",
    )
    items = tokens - token_count(prefix + suffix)
    query = prefix + "COMPLETED " * items + suffix
    assert token_count(query) == tokens
    return query


def fleet(alias: str, printers: int, jobs: int) -> str:
    """``printers * (1 + jobs)`` nodes for ``1 + 2 * printers`` cost (totalCount is a leaf)."""
    return (
        f"{alias}: printers(first: {printers}) "
        f"{{ nodes {{ printJobs(first: {jobs}) {{ totalCount }} }} }}"
    )


def nodes_query(extra: int) -> str:
    """4 × 10,100 + 96 × 100 = 50,000 nodes, plus ``extra`` from a last connection."""
    parts = [fleet(f"f{index}", 100, 100) for index in range(4)]
    parts.append(fleet("f4", 96, 99))
    if extra:
        parts.append(f"jobs: printJobs(first: {extra}) {{ totalCount }}")
    return "{ " + " ".join(parts) + " }"


def heavy(alias: str, printers: int, jobs: int) -> str:
    """Cost ``1 + printers * (2 + 2 * jobs)``: each job node selects an object (printer)."""
    return (
        f"{alias}: printers(first: {printers}) {{ nodes {{ printJobs(first: {jobs}) "
        f"{{ nodes {{ printer {{ name }} }} }} }} }}"
    )


def cost_query(last_page: int) -> str:
    """20,201 + 4,647 + 101 + (1 + last_page): 25,000 at ``last_page`` 50, 12,573 nodes."""
    return (
        "{ "
        f"{heavy('a', 100, 100)} {heavy('b', 23, 100)} "
        "c: printJobs(first: 100) { nodes { jobId } } "
        f"d: printJobs(first: {last_page}) {{ nodes {{ jobId }} }}"
        " }"
    )


def padded_body(size: int, query: str = "{ viewer { name } }") -> bytes:
    """A JSON body of exactly ``size`` bytes: the query padded with spaces (no tokens)."""
    bare = len(json.dumps({"query": query}).encode())
    body = json.dumps({"query": query + " " * (size - bare)}).encode()
    assert len(body) == size
    return body


# --- response helpers ------------------------------------------------------------------


def codes(response: httpx.Response) -> list[str]:
    return [error["extensions"]["code"] for error in response.json().get("errors") or []]


def answered(response: httpx.Response) -> bool:
    body = response.json()
    return response.status_code == 200 and "errors" not in body and body["data"] is not None


def refusal(response: httpx.Response) -> tuple[int, list[str]]:
    return response.status_code, codes(response)


def message(response: httpx.Response) -> str:
    (error,) = response.json()["errors"]
    return error["message"]


def post_body(client: GraphQLClient, content: Any) -> httpx.Response:
    """``content`` bytes go out with a Content-Length, an iterator of chunks without one."""
    headers = {"X-API-Key": client.key or "", "Content-Type": "application/json"}
    return client.http.post("/graphql", content=content, headers=headers)


def chunks(body: bytes) -> Iterator[bytes]:
    for start in range(0, len(body), 4096):
        yield body[start : start + 4096]


# --- depth -----------------------------------------------------------------------------


def test_the_builders_reach_the_depth_they_are_asked_for() -> None:
    assert deep_query(3) == " { printJobs(first: 1) { nodes { jobId } } }"


def test_a_query_8_levels_deep_is_answered(client: GraphQLClient) -> None:
    assert answered(client.post(deep_query(8)))


def test_a_query_9_levels_deep_is_refused(client: GraphQLClient) -> None:
    response = client.post(deep_query(9))
    assert refusal(response) == (200, ["QUERY_TOO_DEEP"])
    assert message(response) == "query depth 9 exceeds the limit of 8"


def test_fragments_do_not_hide_depth(client: GraphQLClient) -> None:
    query = (
        "{ printJobs(first: 1) { ...Jobs } } "
        "fragment Jobs on PrintJobConnection { nodes { printer { ... on Printer { "
        + nested([*CHAIN, *CHAIN[:2]], "jobId")  # levels 4 to 9
        + " } } } }"
    )
    assert refusal(client.post(query)) == (200, ["QUERY_TOO_DEEP"])


def test_a_refused_mutation_changes_nothing(
    client: GraphQLClient, sqlite_database: Database
) -> None:
    deep = nested(["printer", *CHAIN, *CHAIN], "name")  # createPrinter is level 1: 9 in all
    query = (
        'mutation { createPrinter(input: {name: "too-deep", moonrakerUrl: "http://x:7125"}) '
        f"{{ {deep} }} }}"
    )
    response = client.post(query)
    with sqlite_database.scope() as session:
        names = [printer.name for printer in session.query(Printer)]
    assert (codes(response), names) == (["QUERY_TOO_DEEP"], ["voron-1"])


def test_only_the_operation_that_runs_is_measured(client: GraphQLClient) -> None:
    document = deep_query(9, "query Deep") + deep_query(2, "query Shallow")
    body = {"query": document, "operationName": "Shallow"}
    response = client.http.post("/graphql", json=body, headers={"X-API-Key": client.key or ""})
    assert answered(response)


# --- aliases ---------------------------------------------------------------------------


def test_15_aliases_are_answered(client: GraphQLClient) -> None:
    assert answered(client.post(alias_query(15)))


def test_16_aliases_are_refused(client: GraphQLClient) -> None:
    response = client.post(alias_query(16))
    assert refusal(response) == (200, ["TOO_MANY_ALIASES"])
    assert message(response) == "16 aliases exceed the limit of 15"


# --- tokens ----------------------------------------------------------------------------


def test_a_query_of_1000_tokens_is_answered(client: GraphQLClient) -> None:
    assert answered(client.post(token_query(1000)))


def test_a_query_of_1001_tokens_is_refused(client: GraphQLClient) -> None:
    response = client.post(token_query(1001))
    assert refusal(response) == (400, ["TOO_MANY_TOKENS"])
    assert message(response) == "the query has more than 1000 tokens"


def test_a_get_query_of_1001_tokens_is_refused(client: GraphQLClient) -> None:
    params = {"query": token_query(1001)}
    response = client.http.get("/graphql", params=params, headers={"X-API-Key": client.key or ""})
    assert refusal(response) == (400, ["TOO_MANY_TOKENS"])


def test_a_get_query_of_1000_tokens_is_answered(client: GraphQLClient) -> None:
    params = {"query": token_query(1000)}
    response = client.http.get("/graphql", params=params, headers={"X-API-Key": client.key or ""})
    assert answered(response)


# --- page size -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "{ printJobs(first: 101) { totalCount } }",
        "{ printers(last: 101) { totalCount } }",
        "{ printers { nodes { printJobs(first: 101) { totalCount } } } }",
        "{ apiKeys(first: 101) { totalCount } }",
    ],
)
def test_a_page_of_101_is_refused(client: GraphQLClient, query: str) -> None:
    assert refusal(client.post(query)) == (200, ["BAD_PAGE_SIZE"])


@pytest.mark.parametrize(
    "query",
    [
        "{ printJobs(first: 100) { totalCount } }",
        "{ printers(last: 100) { totalCount } }",
        "{ printers { nodes { printJobs(first: 100) { totalCount } } } }",
        "{ apiKeys(first: 100) { totalCount } }",
    ],
)
def test_a_page_of_100_is_answered(client: GraphQLClient, query: str) -> None:
    assert answered(client.post(query))


def test_the_page_size_refusal_names_the_argument_and_the_range(client: GraphQLClient) -> None:
    response = client.post("{ printJobs(first: 101) { totalCount } }")
    assert message(response) == "first must be between 1 and 100, got 101"


# --- body size and batching ------------------------------------------------------------


def test_a_body_of_exactly_64_kib_is_answered(client: GraphQLClient) -> None:
    assert answered(post_body(client, padded_body(KIB_64)))


def test_a_body_one_byte_over_64_kib_is_refused_with_413(client: GraphQLClient) -> None:
    response = post_body(client, padded_body(KIB_64 + 1))
    assert refusal(response) == (413, ["PAYLOAD_TOO_LARGE"])


def test_a_chunked_body_of_exactly_64_kib_is_answered(client: GraphQLClient) -> None:
    assert answered(post_body(client, chunks(padded_body(KIB_64))))


def test_a_chunked_body_one_byte_over_64_kib_is_refused_with_413(client: GraphQLClient) -> None:
    response = post_body(client, chunks(padded_body(KIB_64 + 1)))
    assert refusal(response) == (413, ["PAYLOAD_TOO_LARGE"])


@pytest.mark.parametrize("batch", [1, 2])
def test_a_batch_is_refused(client: GraphQLClient, batch: int) -> None:
    content = json.dumps([{"query": "{ viewer { name } }"}] * batch).encode()
    response = post_body(client, content)
    assert refusal(response) == (400, ["BATCHING_NOT_SUPPORTED"])


@pytest.mark.parametrize("body", [b"5", b'"{ viewer { name } }"', b"null", b"true"])
def test_a_body_that_is_not_a_json_object_is_a_bad_request(
    client: GraphQLClient, body: bytes
) -> None:
    """Strawberry called .get on it: 500 Internal Server Error, in plain text."""
    assert refusal(post_body(client, body)) == (400, ["BAD_REQUEST"])


@pytest.mark.parametrize(
    "members",
    [{"variables": [1]}, {"operationName": 5}, {"query": 123}, {"extensions": "x"}],
)
def test_a_member_of_the_wrong_type_is_a_bad_request_in_json(
    client: GraphQLClient, members: dict[str, object]
) -> None:
    """Strawberry answered these with a plain-text 400 and no code."""
    content = json.dumps({"query": "{ viewer { name } }", **members}).encode()
    assert refusal(post_body(client, content)) == (400, ["BAD_REQUEST"])


def test_a_single_operation_object_is_answered(client: GraphQLClient) -> None:
    assert answered(post_body(client, json.dumps({"query": "{ viewer { name } }"}).encode()))


# --- nodes -----------------------------------------------------------------------------


def test_a_query_of_50000_nodes_is_answered(client: GraphQLClient) -> None:
    assert answered(client.post(nodes_query(0)))


def test_a_query_of_50001_nodes_is_refused(client: GraphQLClient) -> None:
    response = client.post(nodes_query(1))
    assert refusal(response) == (200, ["TOO_MANY_NODES"])
    assert message(response) == "the query may return 50001 nodes; the limit is 50000"


def fleet_by_variable(default: str = "") -> str:
    """5 × (100 + 100 × 100) = 50,500 nodes when ``$n`` is 100."""
    fleets = " ".join(
        f"f{index}: printers(first: $n) {{ nodes {{ printJobs(first: $n) {{ totalCount }} }} }}"
        for index in range(5)
    )
    return f"query Fleet($n: Int{default}) {{ {fleets} }}"


@pytest.mark.parametrize("page", [100, 100.0], ids=["int", "integral float"])
def test_page_sizes_given_in_variables_are_measured(client: GraphQLClient, page: object) -> None:
    # JSON 100.0 is a valid Int variable: graphql-core coerces it to 100.
    response = client.post(fleet_by_variable(), {"n": page})
    assert refusal(response) == (200, ["TOO_MANY_NODES"])


def test_page_sizes_given_as_variable_defaults_are_measured(client: GraphQLClient) -> None:
    response = client.post(fleet_by_variable(" = 100"))
    assert refusal(response) == (200, ["TOO_MANY_NODES"])


# --- cost ------------------------------------------------------------------------------


def test_a_query_costing_25000_is_answered(client: GraphQLClient) -> None:
    response = client.post(cost_query(50))
    assert answered(response)
    assert response.json()["extensions"]["cost"] == {"requested": 25_000, "limit": 25_000}


def test_a_query_costing_25001_is_refused(client: GraphQLClient) -> None:
    response = client.post(cost_query(51))
    assert refusal(response) == (200, ["QUERY_TOO_COMPLEX"])
    assert message(response) == "query cost 25001 exceeds the limit of 25000"


# --- introspection ---------------------------------------------------------------------


def test_an_operation_named_schema_is_measured_like_any_other(client: GraphQLClient) -> None:
    assert refusal(client.post(deep_query(9, "query __schema"))) == (200, ["QUERY_TOO_DEEP"])


def test_graphiqls_introspection_query_is_answered(client: GraphQLClient) -> None:
    response = client.post(get_introspection_query())
    assert answered(response)
    assert response.json()["data"]["__schema"]["queryType"]["name"] == "Query"


@pytest.mark.parametrize(
    "query",
    [
        "query __schema { __schema { types { name } } }",
        '{ __type(name: "Printer") { name } }',
        "{ schema: __schema { queryType { name } } }",
        "{ ...Types } fragment Types on Query { __schema { types { name } } }",
        "{ viewer { name } ... on Query { __schema { types { name } } } }",
    ],
)
def test_introspection_is_refused_when_disabled(closed: GraphQLClient, query: str) -> None:
    assert refusal(closed.post(query)) == (200, ["INTROSPECTION_DISABLED"])


def test_graphiqls_introspection_query_is_refused_when_disabled(closed: GraphQLClient) -> None:
    assert codes(closed.post(get_introspection_query())) == ["INTROSPECTION_DISABLED"]


def test_typename_is_answered_when_introspection_is_disabled(closed: GraphQLClient) -> None:
    response = closed.post("{ __typename }")
    assert answered(response)
    assert response.json()["data"] == {"__typename": "Query"}


def test_a_data_query_named_schema_is_answered_when_introspection_is_disabled(
    closed: GraphQLClient,
) -> None:
    assert answered(closed.post("query __schema { viewer { name } }"))


# --- extensions.cost on every response -------------------------------------------------

GRAPHQL_RESPONSES = {
    "answered": "{ viewer { name } }",
    "too deep": deep_query(9),
    "too many aliases": alias_query(16),
    "too many nodes": nodes_query(1),
    "too complex": cost_query(51),
    "bad page size": "{ printJobs(first: 101) { totalCount } }",
    "validation error": "{ viewer { nam } }",
    "syntax error": "{ viewer {",
}


@pytest.mark.parametrize("query", GRAPHQL_RESPONSES.values(), ids=GRAPHQL_RESPONSES.keys())
def test_every_graphql_response_reports_the_cost_limit(client: GraphQLClient, query: str) -> None:
    assert client.post(query).json()["extensions"]["cost"]["limit"] == 25_000


def test_the_cost_of_an_answered_query_is_reported(client: GraphQLClient) -> None:
    cost = client.post("{ printJobs(first: 10) { nodes { printer { name } } } }").json()
    assert cost["extensions"]["cost"] == {"requested": 21, "limit": 25_000}  # 1 + 10 × 2


def test_an_introspection_refusal_reports_the_cost_limit(closed: GraphQLClient) -> None:
    body = closed.post('{ __type(name: "Printer") { name } }').json()
    assert body["extensions"]["cost"]["limit"] == 25_000


# --- every limit is configurable -------------------------------------------------------

# (query at the configured limit, query one over it, the refusal's code) under SMALL_LIMITS.
CONFIGURED = {
    "depth": (deep_query(4), deep_query(5), "QUERY_TOO_DEEP"),
    "aliases": (alias_query(2), alias_query(3), "TOO_MANY_ALIASES"),
    "tokens": (token_query(40), token_query(41), "TOO_MANY_TOKENS"),
    "nodes": (
        "{ printJobs(first: 10) { totalCount } }",
        "{ printJobs(first: 11) { totalCount } }",
        "TOO_MANY_NODES",
    ),
    "cost": (
        "{ printJobs(first: 10) { nodes { printer { name } jobDetails { id } } } }",  # 1 + 10 × 3
        "{ printJobs(first: 10) { nodes { printer { name } jobDetails { id } } } viewer { id } }",
        "QUERY_TOO_COMPLEX",
    ),
}


@pytest.mark.parametrize("limit", CONFIGURED)
def test_a_query_at_a_configured_limit_is_answered(small: GraphQLClient, limit: str) -> None:
    at_limit, _, _ = CONFIGURED[limit]
    assert answered(small.post(at_limit))


@pytest.mark.parametrize("limit", CONFIGURED)
def test_a_query_over_a_configured_limit_is_refused(small: GraphQLClient, limit: str) -> None:
    _, over_limit, code = CONFIGURED[limit]
    assert codes(small.post(over_limit)) == [code]


def test_a_body_at_the_configured_size_is_answered(small: GraphQLClient) -> None:
    assert answered(post_body(small, padded_body(2048)))


def test_a_body_over_the_configured_size_is_refused(small: GraphQLClient) -> None:
    assert refusal(post_body(small, padded_body(2049))) == (413, ["PAYLOAD_TOO_LARGE"])


def test_the_reported_cost_limit_is_the_configured_one(small: GraphQLClient) -> None:
    assert small.post("{ viewer { name } }").json()["extensions"]["cost"]["limit"] == 31


# --- introspection does not hide what stands next to it ---------------------------------

# Introspection fields are left out of depth and cost, never the fields beside them.
BESIDE_INTROSPECTION = {
    "typename first": "__typename",
    "schema first": "__schema { queryType { name } }",
    "type first": '__type(name: "Printer") { name }',
    "aliased schema first": "s: __schema { queryType { name } }",
}


def _beside(prefix: str, query: str) -> str:
    return "{ " + prefix + " " + query.strip().removeprefix("{")


@pytest.mark.parametrize("prefix", BESIDE_INTROSPECTION.values(), ids=BESIDE_INTROSPECTION.keys())
def test_cost_after_an_introspection_field_is_measured(client: GraphQLClient, prefix: str) -> None:
    response = client.post(_beside(prefix, cost_query(51)))
    assert refusal(response) == (200, ["QUERY_TOO_COMPLEX"])
    assert message(response) == "query cost 25001 exceeds the limit of 25000"


@pytest.mark.parametrize("prefix", BESIDE_INTROSPECTION.values(), ids=BESIDE_INTROSPECTION.keys())
def test_nodes_after_an_introspection_field_are_measured(
    client: GraphQLClient, prefix: str
) -> None:
    response = client.post(_beside(prefix, nodes_query(1)))
    assert message(response) == "the query may return 50001 nodes; the limit is 50000"


@pytest.mark.parametrize("prefix", BESIDE_INTROSPECTION.values(), ids=BESIDE_INTROSPECTION.keys())
def test_depth_after_an_introspection_field_is_measured(client: GraphQLClient, prefix: str) -> None:
    response = client.post(_beside(prefix, deep_query(9)))
    assert message(response) == "query depth 9 exceeds the limit of 8"


def test_a_query_beside_introspection_costs_what_it_costs_alone(client: GraphQLClient) -> None:
    query = "{ printJobs(first: 10) { nodes { printer { name } } } }"
    alone = client.post(query).json()["extensions"]["cost"]
    beside = client.post(_beside(BESIDE_INTROSPECTION["schema first"], query)).json()
    assert beside["extensions"]["cost"] == alone == {"requested": 21, "limit": 25_000}


def test_introspection_after_the_data_fields_leaves_their_measure_alone(
    client: GraphQLClient,
) -> None:
    query = cost_query(51).rstrip().removesuffix("}") + " __schema { queryType { name } } }"
    assert refusal(client.post(query)) == (200, ["QUERY_TOO_COMPLEX"])


def test_a_data_field_inside_an_inline_fragment_after_introspection_is_measured(
    client: GraphQLClient,
) -> None:
    query = "{ __schema { queryType { name } } ... on Query " + cost_query(51) + " }"
    assert refusal(client.post(query)) == (200, ["QUERY_TOO_COMPLEX"])


# --- aliases inside introspection ------------------------------------------------------


def introspection_alias_query(aliases: int) -> str:
    fields = " ".join(f"a{index}: types {{ name }}" for index in range(aliases))
    return f"{{ __schema {{ {fields} }} }}"


def test_15_aliases_inside_introspection_are_answered(client: GraphQLClient) -> None:
    assert answered(client.post(introspection_alias_query(15)))


def test_16_aliases_inside_introspection_are_refused(client: GraphQLClient) -> None:
    response = client.post(introspection_alias_query(16))
    assert refusal(response) == (200, ["TOO_MANY_ALIASES"])
    assert message(response) == "16 aliases exceed the limit of 15"


def test_aliases_inside_and_outside_introspection_add_up(client: GraphQLClient) -> None:
    names = " ".join(f"n{index}: name" for index in range(8))
    query = introspection_alias_query(8).removesuffix("}") + f" viewer {{ {names} }} }}"
    assert codes(client.post(query)) == ["TOO_MANY_ALIASES"]


def test_the_alias_of_an_introspection_field_counts(client: GraphQLClient) -> None:
    aliased = "s: __schema { " + " ".join(f"a{i}: types {{ name }}" for i in range(15)) + " }"
    assert codes(client.post("{ " + aliased + " }")) == ["TOO_MANY_ALIASES"]


# --- page sizes given through variables --------------------------------------------------

VARIABLE_FLEET = (
    "query Fleet($n: Int{default}) {{ printers(first: $n) {{ nodes {{ printJobs(first: $n) "
    "{{ nodes {{ printer {{ name }} }} }} }} }} }}"
)


def fleet_cost(page: int) -> int:
    """``heavy``: 1 + printers × (2 + 2 × jobs), both pages ``page``."""
    return 1 + page * (2 + 2 * page)


def requested_cost(client: GraphQLClient, query: str, variables: dict[str, Any]) -> int:
    response = client.post(query, variables)
    assert answered(response), response.json()
    cost: int = response.json()["extensions"]["cost"]["requested"]
    return cost


@pytest.mark.parametrize("page", [2, 7, 100])
def test_a_page_size_variable_is_charged_at_its_value(client: GraphQLClient, page: int) -> None:
    query = VARIABLE_FLEET.format(default="")
    assert requested_cost(client, query, {"n": page}) == fleet_cost(page)


def test_a_page_size_variable_sent_as_an_integral_float_is_charged_at_its_value(
    client: GraphQLClient,
) -> None:
    query = VARIABLE_FLEET.format(default="")
    assert requested_cost(client, query, {"n": 2.0}) == fleet_cost(2)


def test_a_variable_sent_beats_its_default(client: GraphQLClient) -> None:
    query = VARIABLE_FLEET.format(default=" = 100")
    assert requested_cost(client, query, {"n": 2}) == fleet_cost(2)


def test_a_variable_not_sent_is_charged_at_its_default(client: GraphQLClient) -> None:
    query = VARIABLE_FLEET.format(default=" = 3")
    assert requested_cost(client, query, {}) == fleet_cost(3)


def test_a_variable_without_value_or_default_is_charged_the_default_page_size(
    client: GraphQLClient,
) -> None:
    """No value at all: the resolvers page by 20 (DEFAULT_PAGE_SIZE)."""
    query = VARIABLE_FLEET.format(default="")
    assert requested_cost(client, query, {}) == requested_cost(client, query, {"n": None})
    assert requested_cost(client, query, {}) == fleet_cost(20)


def test_a_page_size_variable_over_the_budget_is_refused_and_a_small_one_answered(
    small: GraphQLClient,
) -> None:
    query = "query ($n: Int) { printJobs(first: $n) { totalCount } }"  # nodes limit 10
    outcomes = (codes(small.post(query, {"n": 11})), answered(small.post(query, {"n": 10})))
    assert outcomes == (["TOO_MANY_NODES"], True)


def test_a_last_page_size_variable_is_charged_like_first(client: GraphQLClient) -> None:
    query = "query ($n: Int) { printJobs(last: $n) { nodes { printer { name } } } }"
    assert requested_cost(client, query, {"n": 7}) == 1 + 7 * 2


@pytest.mark.parametrize("value", ["5", 5.5, True, [5]], ids=["text", "fraction", "bool", "list"])
def test_a_page_size_variable_that_is_no_int_is_measured_as_the_largest_page(
    small: GraphQLClient, value: object
) -> None:
    """Coercion refuses it later; the measure must not let it through meanwhile."""
    response = small.post("query ($n: Int) { printJobs(first: $n) { totalCount } }", {"n": value})
    assert message(response) == "the query may return 100 nodes; the limit is 10"


def test_a_null_page_size_variable_is_measured_as_the_default_page(small: GraphQLClient) -> None:
    response = small.post("query ($n: Int) { printJobs(first: $n) { totalCount } }", {"n": None})
    assert message(response) == "the query may return 20 nodes; the limit is 10"


# --- structure: nesting guard, fragment cycles, fragments declared before their use -------


def wrapped_in_inline_fragments(levels: int) -> str:
    """``viewer { name }`` inside ``levels - 2`` inline fragments: ``levels`` selection sets
    (the operation's, viewer's, one per fragment) but a depth of 2 fields."""
    inner = "name"
    for _ in range(levels - 2):
        inner = f"... on ApiKey {{ {inner} }}"
    return f"{{ viewer {{ {inner} }} }}"


def test_selection_sets_nested_64_levels_are_answered(client: GraphQLClient) -> None:
    assert answered(client.post(wrapped_in_inline_fragments(64)))


def test_selection_sets_nested_65_levels_are_refused_naming_the_guard(
    client: GraphQLClient,
) -> None:
    response = client.post(wrapped_in_inline_fragments(65))
    assert refusal(response) == (200, ["QUERY_TOO_DEEP"])
    assert message(response) == (
        "selection sets are nested more than 64 levels deep (fields and fragments)"
    )


def test_a_fragment_nested_65_levels_is_refused(client: GraphQLClient) -> None:
    """Its own selection set and 64 inline fragments: the count starts again in it."""
    body = wrapped_in_inline_fragments(66).removeprefix("{ viewer ").removesuffix(" }")
    query = f"{{ viewer {{ ...deep }} }} fragment deep on ApiKey {body}"
    assert codes(client.post(query)) == ["QUERY_TOO_DEEP"]


@pytest.mark.parametrize(
    "fragments",
    [
        "fragment a on ApiKey { ...a }",
        "fragment a on ApiKey { name ...b } fragment b on ApiKey { ...a }",
        "fragment a on ApiKey { ...b } fragment b on ApiKey { ...c } fragment c on ApiKey { ...b }",
    ],
    ids=["itself", "through another", "past an acyclic start"],
)
def test_a_fragment_cycle_is_refused_naming_the_fragment(
    client: GraphQLClient, fragments: str
) -> None:
    response = client.post("{ viewer { ...a } } " + fragments)
    assert refusal(response) == (200, ["FRAGMENT_CYCLE"])
    assert message(response) in {f"fragment {name!r} spreads itself" for name in "abc"}


def fleet_cost_of(printers: int, jobs: int) -> int:
    """``printers { nodes { printJobs { nodes { … printer { name } } } } }``: each job node
    costs 1 + 1 (printer), each printer node 1 + (1 + jobs × 2)."""
    return 1 + printers * (2 + 2 * jobs)


FLEET_FRAGMENTS = (
    "fragment fleet on Query { printers(first: 4) { nodes { ...jobs } } } "
    "fragment jobs on Printer { printJobs(first: 5) { nodes { ...job } } } "
    "fragment job on PrintJob { jobId printer { name } }"
)


def test_fragments_declared_before_those_they_spread_cost_what_the_inline_query_costs(
    client: GraphQLClient,
) -> None:
    inline = (
        "{ printers(first: 4) { nodes { printJobs(first: 5) "
        "{ nodes { jobId printer { name } } } } } }"
    )
    spread = "{ ...fleet } " + FLEET_FRAGMENTS
    assert (
        requested_cost(client, spread, {})
        == requested_cost(client, inline, {})
        == fleet_cost_of(4, 5)
    )


def test_a_fragment_spread_twice_is_charged_twice(client: GraphQLClient) -> None:
    query = (
        "{ a: printers(first: 4) { nodes { ...jobs } } "
        "b: printers(first: 4) { nodes { ...jobs } } } "
        "fragment jobs on Printer { printJobs(first: 5) { nodes { printer { name } } } }"
    )
    assert requested_cost(client, query, {}) == 2 * fleet_cost_of(4, 5)


# --- the step budget: only reachable with a token limit raised far above its default ------


def _measure_fields(count: int) -> Measure:
    document = parse("{ " + "name " * count + "}")
    (operation,) = document.definitions
    assert isinstance(operation, OperationDefinitionNode)
    return measure_operation(operation, check_structure(document), None, {})


def test_a_measurement_of_100000_steps_finishes() -> None:
    assert _measure_fields(100_000).depth == 1


def test_a_measurement_past_100000_steps_is_refused() -> None:
    with pytest.raises(DocumentRefused) as refused:
        _measure_fields(100_001)
    assert (refused.value.code, refused.value.message) == (
        "QUERY_BUDGET_EXCEEDED",
        "measuring the query took more than 100000 steps",
    )


def test_a_list_of_objects_without_nested_objects_is_not_charged_as_a_long_list(
    small: GraphQLClient,
) -> None:
    """``userErrors`` hold leaves only: nothing inside them can multiply (nodes limit 10)."""
    query = 'mutation { revokeApiKey(input: {id: "bogus"}) { userErrors { message } } }'
    body = small.post(query).json()
    assert (body.get("errors"), body["data"]["revokeApiKey"]["userErrors"][0]["message"]) == (
        None,
        "'bogus' is not a valid id",
    )


@pytest.mark.parametrize("page", [0, -5])
def test_a_page_size_under_1_is_charged_as_an_empty_page(client: GraphQLClient, page: int) -> None:
    """The resolver refuses it; meanwhile the measure charges no node for it."""
    query = f"{{ printJobs(first: {page}) {{ nodes {{ printer {{ name }} }} }} }}"
    body = client.post(query).json()
    assert (body["errors"][0]["extensions"]["code"], body["extensions"]["cost"]["requested"]) == (
        "BAD_PAGE_SIZE",
        1,
    )


# --- lists of objects outside a connection ------------------------------------------------

# A connection inside each item of such a list: it runs once per item.
PER_ITEM_JOBS = "printer { printJobs(first: 10) { totalCount } }"
LONG_LISTS = {
    "printStats": f"{{ printStats(groupBy: PRINTER) {{ {PER_ITEM_JOBS} }} }}",
    "syncPrinters": f"mutation {{ syncPrinters(input: {{}}) {{ results {{ {PER_ITEM_JOBS} }} }} }}",
}


def test_a_list_of_objects_outside_a_connection_is_charged_as_5000_objects(
    client: GraphQLClient,
) -> None:
    """Cost 1 + 5000 × (printer: 1), whatever the number of buckets returned."""
    query = "{ printStats(groupBy: PRINTER) { printer { name } } }"
    assert requested_cost(client, query, {}) == 5001


@pytest.mark.parametrize("query", LONG_LISTS.values(), ids=LONG_LISTS.keys())
def test_a_connection_inside_a_long_list_is_charged_once_per_item(
    client: GraphQLClient, query: str
) -> None:
    """5000 items + 5000 × 10 jobs: past the node limit of 50000, while the same
    connection outside the list costs 10 nodes. A refused sync syncs nothing."""
    assert message(client.post(query)) == "the query may return 55000 nodes; the limit is 50000"


def test_an_introspection_field_under_another_field_marks_the_operation() -> None:
    """No field of today's schema returns ``Query``, so validation refuses this document
    before it is measured; the measure must not count on that: a payload field of type
    ``Query`` (Relay's habit) would make it valid, and introspection must still be seen."""
    document = parse("{ payload { query { __schema { queryType { name } } } } }")
    (operation,) = document.definitions
    assert isinstance(operation, OperationDefinitionNode)
    assert measure_operation(operation, check_structure(document), None, {}).introspection


def test_a_refusal_reads_as_its_message() -> None:
    """What a traceback or a log line shows of a refusal raised outside the guard."""
    with pytest.raises(DocumentRefused) as refused:
        check_structure(parse("{ ...a } fragment a on Query { ...a }"))
    assert str(refused.value) == "fragment 'a' spreads itself"


def test_introspection_lists_make_no_data_field_of_their_name_a_long_list() -> None:
    """Sized fields are known by name alone: ``__Type.fields`` (a list of objects that
    nest) must not charge a data field called ``fields`` 5000 objects."""
    schema = build_schema("type Query { fields: Box types: Box } type Box { inner: Box }")
    assert sized_field_names(schema) == {}


def _depth(query: str) -> int:
    document = parse(query)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    return measure_operation(operation, check_structure(document), None, {}).depth


def test_a_fragment_declared_after_one_already_ordered_is_measured() -> None:
    """``b`` is ordered as ``a``'s dependency before its own turn comes: the fragments
    after it must still be summarised, or a spread of ``c`` would measure nothing."""
    query = (
        "{ ...c } fragment a on Query { ...b } fragment b on Query { x } "
        "fragment c on Query { deep { deeper { leaf } } }"
    )
    assert _depth(query) == 3


def test_a_spread_of_an_unknown_fragment_is_left_to_validation() -> None:
    document = parse("{ ...a } fragment a on Query { ...missing }")
    assert [fragment.name.value for fragment in check_structure(document)] == ["a"]


# --- what the walk adds up, and which fields it sizes --------------------------------------


def _measure(query: str, sized_fields: dict[str, int | None]) -> Measure:
    document = parse(query)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    return measure_operation(operation, check_structure(document), None, sized_fields)


@pytest.mark.parametrize(
    "tail",
    ["... on Query { x }", "...f } fragment f on Query { x", "...missing"],
    ids=["inline fragment", "fragment spread", "unknown fragment"],
)
def test_fields_before_a_fragment_are_still_counted(tail: str) -> None:
    """A fragment adds to what the selection set has counted so far; a spread of a
    fragment the document does not define adds nothing (validation refuses it)."""
    query = "{ a: jobs(first: 10) { nodes { id } } b: x " + tail + " }"
    measure = _measure(query, {"jobs": None})
    assert (measure.aliases, measure.nodes, measure.depth) == (2, 10, 3)


def test_the_sized_fields_are_read_from_the_schema_by_type() -> None:
    """Connections take their size from first/last; lists of objects that nest are
    bounded (maintenance by its own bound); a connection's own lists, lists of leaves or
    of leaf-only objects, and single objects are not sized. ``count`` puts a scalar
    before Bucket in the schema's type map: it is passed over, not an end."""
    schema = build_schema(
        """
        type Query {
          count: Int
          printers(first: Int): PrinterConnection!
          stats: [Bucket!]!
          maintenance: [Task!]
          scopes: [String!]!
          points: [Point]
          single: Bucket
        }
        type PrinterConnection { nodes: [Bucket!]! edges: [Bucket] }
        type Bucket { key: String printer: Point tasks: [Task!] }
        type Task { name: String printer: Point }
        type Point { x: Int }
        """
    )
    assert sized_field_names(schema) == {
        "printers": PAGED,
        "stats": MAX_LIST_ITEMS,
        "maintenance": LIST_BOUNDS["maintenance"],
        "tasks": MAX_LIST_ITEMS,
    }
