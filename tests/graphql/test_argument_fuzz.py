"""Every argument of every root field, fed out-of-range and malformed values of its type:
no response holds an INTERNAL_SERVER_ERROR, and every error carries an extensions.code.

The arguments are read from the built schema (Query and Mutation, down into input
objects), so a new field or argument is fuzzed without touching this file. One run per
database, over real HTTP, in two passes:

- a sweep: each argument slot (an argument, or a field of an input-object argument) gets
  every hostile value of its type once, the other arguments left at a harmless value;
- hypothesis (seeded, bounded in examples): whole argument sets mixing hostile and
  generated values across all the arguments of a field.
"""

import base64
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    get_named_type,
    is_leaf_type,
    is_required_argument,
    is_required_input_field,
)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from gql_server.app import create_app
from gql_server.config import Settings
from gql_server.db.session import Database
from gql_server.graphql.ids import to_global_id
from gql_server.graphql.schema import build_schema
from gql_server.services.api_keys import create_api_key
from gql_server.services.jobs import upsert_details, upsert_jobs
from gql_server.services.sync import Syncer, SyncOptions
from gql_server.services.totals import recompute_totals
from tests.factories import LOOPBACK, make_job_row, make_printer
from tests.support.fake_moonraker import closed_port_url
from tests.support.live_server import LiveServer

# Per root field; the sweep sends ~900 requests whatever this is.
HYPOTHESIS_EXAMPLES = 15
REQUEST_TIMEOUT = 15.0
# Mutations that remove rows go last, so the others still find the seeded rows.
LAST = ("revokeApiKey", "deletePrinter")
# A printer the fuzzer creates points at a closed port: its sync fails at once.
FAST_SYNC = SyncOptions(
    connect_timeout=0.5, read_timeout=2.0, retries=1, backoff_base=0.01, allowed_networks=LOOPBACK
)
CURSOR_ARGUMENTS = ("after", "before")  # Strings the schema cannot tell apart from text


# ------------------------------------------------------------------ hostile values


class Raw(str):
    """A JSON token sent as is: JSON numbers Python's encoder never writes (1e400)."""


def b64(raw: str | bytes) -> str:
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def cursor(*position: Any, ordering: str = "job:start_time:desc") -> str:
    return b64(json.dumps([ordering, list(position)]))


NOT_FINITE = [float("inf"), float("-inf"), float("nan"), Raw("1e400"), Raw("-1e400")]
INTS = [2**31, -(2**31) - 1, 2**53 + 1, 2**63, 2**64, -(2**63) - 1, 10**30, -1, 0, 101, 1.5]
STRINGS = [
    "",
    " ",
    "x" * 201,
    "x" * 60_000,
    "%" * 200,
    "\\%_" * 67,
    "\x00",
    "a\x00b",
    "\U0001f600" * 201,
    "\ud800",  # a lone surrogate: valid JSON, not valid Unicode
    "\u202e\u0301",
    "America",  # a directory of the zone database, not a zone
    "Pacific/Kiritimati",  # UTC+14
    "Etc/GMT+12",  # UTC-12
    "../../etc/passwd",
    "A" * 10_000,
]
CURSORS = [
    cursor({"t": "2026-01-01T00:00:00+00:00"}, 2**64),
    cursor("voron", 2**64, ordering="printer:name:asc"),
    cursor({"t": "2026-01-01T00:00:00+00:00"}, -(2**63) - 1, ordering="api_key:created_at:asc"),
    cursor({"t": "9999-12-31T23:59:59-14:00"}, 1),
    cursor({"t": "0001-01-01T00:00:00+14:00"}, 1, ordering="api_key:created_at:asc"),
    b64('["job:total_duration:desc",[Infinity,1]]'),
    b64('["job:filament_used:asc",[NaN,1]]'),
    b64('["job:total_duration:desc",[1e400,1]]'),
    b64('["printer:name:asc",["\\ud800",1]]'),
    b64('["job:start_time:desc",[{"t":12},1]]'),
    b64('["job:start_time:desc",[{"x":1},1]]'),
    b64("[" * 1_500 + "]" * 1_500),
    b64('{"a":1,"b":2}'),
    b64(b"\xff\xfe\x00garbage"),
    b64("null"),
    "!!!!",
    "x" * 60_000,
]
IDS = [
    b64(f"Printer:{2**64}"),
    b64(f"Printer:{2**63}"),
    b64("Printer:-1"),
    b64("Printer:0"),
    b64("Printer: 7"),
    b64("Printer:+7"),
    b64("Printer:1_0"),
    b64("Printer:\u0667"),  # ARABIC-INDIC DIGIT SEVEN
    b64("Printer:" + "9" * 5_000),
    b64("Nope:1"),
    b64(b"\xff\xfe:1"),
    "",
    "!!!!",
    "\ud800",
    "x" * 60_000,
]
DATETIMES = [
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59.999999+00:00",
    "0001-01-01T00:00:00+00:00",
    "2020-02-30T00:00:00",
    "2016-12-31T23:59:60Z",
    "2020-01-01T00:00:00+25:00",
    "+10000-01-01T00:00:00",
    "1e400",
    "",
    "x" * 10_000,
    Raw("1e400"),
    12345,
]
HOSTILE: dict[str, list[Any]] = {
    "Int": [*INTS, *NOT_FINITE, "7", True],
    "Float": [*NOT_FINITE, 1e308, -1e308, 5e-324, -0.0, 2**64, "1.5"],
    "String": STRINGS,
    "ID": IDS,
    "Boolean": ["true", 0, Raw("1e400")],
    "DateTime": DATETIMES,
}


# ------------------------------------------------------------------ values of each type


def _zoned_time(moment: datetime, minutes: int) -> str:
    return moment.replace(tzinfo=timezone(timedelta(minutes=minutes))).isoformat()


@dataclass(frozen=True)
class Values:
    """Values of each input type: hostile ones, harmless ones for the arguments a request
    does not attack, and hypothesis strategies. ``real_ids``: global ids of seeded rows
    by type, so that some ids reach the database."""

    real_ids: dict[str, list[str]]

    def hostile(self, type_: GraphQLInputType, name: str) -> list[Any]:
        """Out-of-range and malformed values of a type; lists get long and odd lists and
        each hostile item alone."""
        if isinstance(type_, GraphQLNonNull):
            return [None, *self.hostile(type_.of_type, name)]
        if isinstance(type_, GraphQLList):
            item = self.harmless(type_.of_type)
            singles = [[value] for value in self.hostile(type_.of_type, name)]
            return [[], [None], [item] * 101, [item] * 2_000, *singles]
        if isinstance(type_, GraphQLInputObjectType):
            return ["not an object", [], {"noSuchField": 1}]
        if isinstance(type_, GraphQLEnumType):
            return ["NOPE", "", 0, [next(iter(type_.values))]]
        if name in CURSOR_ARGUMENTS:
            return CURSORS
        return HOSTILE[type_.name]

    def harmless(self, type_: GraphQLInputType) -> Any:
        if isinstance(type_, GraphQLNonNull):
            return self.harmless(type_.of_type)
        if isinstance(type_, GraphQLList):
            return [self.harmless(type_.of_type)]
        if isinstance(type_, GraphQLInputObjectType):
            fields = type_.fields.items()
            return {n: self.harmless(f.type) for n, f in fields if is_required_input_field(f)}
        if isinstance(type_, GraphQLEnumType):
            # The last value: MONTH buckets (with time zones), orderings on nullable columns
            return list(type_.values)[-1]
        if type_.name == "ID":
            return self.real_ids["Printer"][0]
        return HARMLESS[type_.name]

    def generated(self, type_: GraphQLInputType, name: str) -> st.SearchStrategy[Any]:
        if isinstance(type_, GraphQLNonNull):
            return self.generated(type_.of_type, name)
        if isinstance(type_, GraphQLList):
            long_lists = [[self.harmless(type_.of_type)] * n for n in (101, 1_000)]
            items = self.generated(type_.of_type, name)
            return st.one_of(st.lists(items, max_size=4), st.sampled_from(long_lists))
        if isinstance(type_, GraphQLInputObjectType):
            return self.fields(type_.fields, is_required_input_field)
        if isinstance(type_, GraphQLEnumType):
            return st.sampled_from([*type_.values, "NOPE"])
        hostile = st.sampled_from(self.hostile(type_, name))
        return st.one_of(hostile, self.scalar(type_.name))

    def fields(
        self, holders: dict[str, Any], required: Callable[[Any], bool]
    ) -> st.SearchStrategy[dict[str, Any]]:
        """Argument sets, or input objects: the required entries always, others maybe."""
        return st.fixed_dictionaries(
            {n: self.generated(h.type, n) for n, h in holders.items() if required(h)},
            optional={n: self.generated(h.type, n) for n, h in holders.items() if not required(h)},
        )

    def scalar(self, name: str) -> st.SearchStrategy[Any]:
        if name == "ID":
            every_id = [global_id for ids in self.real_ids.values() for global_id in ids]
            return st.one_of(st.sampled_from(every_id), st.text(max_size=60))
        return SCALARS[name]()


HARMLESS: dict[str, Any] = {
    "Int": 1,
    "Float": 1.0,
    "String": "UTC",
    "Boolean": False,
    "DateTime": "2030-01-01T00:00:00+00:00",
}
SCALARS: dict[str, Callable[[], st.SearchStrategy[Any]]] = {
    "Int": lambda: st.integers(),
    "Float": lambda: st.floats(),
    "String": lambda: st.text(max_size=300),
    "Boolean": lambda: st.booleans(),
    "DateTime": lambda: st.builds(_zoned_time, st.datetimes(), st.integers(-1439, 1439)),
}


# ---------------------------------------------------------------------------- the schema


@dataclass(frozen=True)
class Root:
    operation: str  # "query" or "mutation"
    name: str
    field: GraphQLField


@dataclass(frozen=True)
class Slot:
    """An argument, or a field of an input object given as an argument."""

    path: tuple[str, ...]
    type: GraphQLInputType


def root_fields() -> list[Root]:
    schema = build_schema()._schema
    roots = [
        Root(operation, name, root_field)
        for operation, type_ in (("query", schema.query_type), ("mutation", schema.mutation_type))
        if type_ is not None
        for name, root_field in type_.fields.items()
    ]
    return sorted(
        roots,
        key=lambda r: (r.operation, r.name in LAST, LAST.index(r.name) if r.name in LAST else 0),
    )


def slots(root: Root) -> Iterator[Slot]:
    for name, argument in root.field.args.items():
        yield from _slots((name,), argument)


def _slots(path: tuple[str, ...], holder: GraphQLArgument | GraphQLInputField) -> Iterator[Slot]:
    yield Slot(path, holder.type)
    nullable = holder.type.of_type if isinstance(holder.type, GraphQLNonNull) else holder.type
    if isinstance(nullable, GraphQLInputObjectType):
        for name, input_field in nullable.fields.items():
            yield from _slots((*path, name), input_field)


def arguments_with(values: Values, root: Root, path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """The required arguments at harmless values, and ``value`` at ``path``."""
    args = root.field.args.items()
    arguments = {n: values.harmless(a.type) for n, a in args if is_required_argument(a)}
    container: dict[str, Any] = arguments
    holders: dict[str, Any] = root.field.args
    for step in path[:-1]:
        object_type = get_named_type(holders[step].type)
        if not isinstance(container.get(step), dict):
            container[step] = values.harmless(object_type)
        container = container[step]
        holders = object_type.fields
    container[path[-1]] = value
    return arguments


def selection(type_: GraphQLOutputType, depth: int = 2) -> str:
    """Every field without required arguments, two levels deep: resolvers beyond the
    root one run too (a nested page, a payload's userErrors)."""
    named = get_named_type(type_)
    if is_leaf_type(named):
        return ""
    assert isinstance(named, GraphQLObjectType | GraphQLInterfaceType)
    parts = ["__typename"]
    for name, sub in named.fields.items():
        if any(is_required_argument(a) for a in sub.args.values()):
            continue
        if is_leaf_type(get_named_type(sub.type)):
            parts.append(name)
        elif depth > 1:
            parts.append(f"{name} {selection(sub.type, depth - 1)}")
    return "{ " + " ".join(parts) + " }"


def operation_text(root: Root, arguments: dict[str, Any]) -> str:
    definitions = ", ".join(f"${n}: {root.field.args[n].type}" for n in arguments)
    call = ", ".join(f"{n}: ${n}" for n in arguments)
    head = f"{root.operation} Fuzz({definitions})" if arguments else root.operation
    field_call = f"{root.name}({call})" if arguments else root.name
    return f"{head} {{ {field_call} {selection(root.field.type)} }}"


def encode(query: str, variables: dict[str, Any]) -> bytes:
    """JSON as a client may write it: NaN and Infinity as Python writes them, the ``Raw``
    tokens verbatim, lone surrogates as escapes."""
    raws: dict[str, str] = {}

    def mark(value: Any) -> Any:
        if isinstance(value, Raw):
            key = f"__raw_{len(raws)}__"
            raws[key] = str(value)
            return key
        if isinstance(value, dict):
            return {k: mark(v) for k, v in value.items()}
        if isinstance(value, list):
            return [mark(v) for v in value]
        return value

    text = json.dumps({"query": query, "variables": mark(variables)})
    for key, token in raws.items():
        text = text.replace(json.dumps(key), token)
    return text.encode()


# ---------------------------------------------------------------------------- the run


@dataclass(frozen=True)
class Exchange:
    label: str
    query: str
    status: int
    body: Any

    def errors(self) -> list[dict[str, Any]]:
        if not isinstance(self.body, dict):
            return []
        return [e for e in self.body.get("errors") or [] if isinstance(e, dict)]

    def describe(self, error: Any = None) -> str:
        shown = self.body if error is None else error
        return f"{self.label} -> {self.status} {json.dumps(shown)[:300]}\n{self.query[:300]}"


@dataclass
class FuzzRun:
    exchanges: list[Exchange] = field(default_factory=list)

    def problems(self) -> list[str]:
        found = []
        for exchange in self.exchanges:
            if exchange.status >= 500 or not isinstance(exchange.body, dict):
                found.append(exchange.describe())
            for error in exchange.errors():
                code = (error.get("extensions") or {}).get("code")
                if code == "INTERNAL_SERVER_ERROR" or not isinstance(code, str):
                    found.append(exchange.describe(error))
        return found

    def summary(self) -> str:
        codes = Counter(
            str((e.get("extensions") or {}).get("code")) for x in self.exchanges for e in x.errors()
        )
        return f"{len(self.exchanges)} requests; error codes {dict(codes)}"


@dataclass(frozen=True)
class Seeded:
    key: str
    values: Values


def seed(database: Database) -> Seeded:
    """A printer with jobs, details and totals, an API key to revoke, and the fuzzer's
    own ADMIN key (returned), whose id is never offered: revoking it would end the run."""
    start = datetime(2026, 3, 1, tzinfo=UTC)
    with database.scope() as session:
        printer = make_printer(session, "fuzz-voron", moonraker_url=closed_port_url())
        session.flush()
        rows = [make_job_row(i, start_time=start + timedelta(hours=i)) for i in range(3)]
        written = upsert_jobs(session, printer.id, rows)
        upsert_details(
            session, [{"print_job_id": i, "filament_type": "PLA"} for i in written.ids.values()]
        )
        recompute_totals(session, [printer.id])
        victim = create_api_key(session, name="revocable", scopes="READ").api_key
        fuzzer = create_api_key(session, name="fuzzer", scopes="ADMIN").plaintext
        session.flush()
        real_ids = {
            "Printer": [to_global_id("Printer", printer.id)],
            "PrintJob": [to_global_id("PrintJob", i) for i in written.ids.values()],
            "ApiKey": [to_global_id("ApiKey", victim.id)],
        }
    return Seeded(key=fuzzer, values=Values(real_ids))


def send(
    http: httpx.Client, run: FuzzRun, label: str, root: Root, arguments: dict[str, Any]
) -> None:
    query = operation_text(root, arguments)
    response = http.post("/graphql", content=encode(query, arguments))
    try:
        body = response.json()
    except ValueError:
        body = response.text
    run.exchanges.append(Exchange(label, query, response.status_code, body))


def sweep(http: httpx.Client, run: FuzzRun, values: Values, root: Root) -> None:
    for slot in slots(root):
        label = f"{root.name}({'.'.join(slot.path)})"
        for value in values.hostile(slot.type, slot.path[-1]):
            send(http, run, label, root, arguments_with(values, root, slot.path, value))


def mix(http: httpx.Client, run: FuzzRun, values: Values, root: Root) -> None:
    @settings(
        max_examples=HYPOTHESIS_EXAMPLES,
        derandomize=True,  # a fixed seed: the same requests on every run
        database=None,
        deadline=None,
        phases=[Phase.generate],  # findings are collected and reported, not shrunk
        suppress_health_check=list(HealthCheck),
    )
    @given(arguments=values.fields(root.field.args, is_required_argument))
    def one(arguments: dict[str, Any]) -> None:
        send(http, run, f"{root.name}(mixed)", root, arguments)

    one()


@pytest.fixture
def fuzz_run(database: Database) -> FuzzRun:
    seeded = seed(database)
    app = create_app(
        Settings(database_url="sqlite://"), database=database, syncer=Syncer(database, FAST_SYNC)
    )
    run = FuzzRun()
    headers = {"X-API-Key": seeded.key, "Content-Type": "application/json"}
    with (
        LiveServer(app, name="gql-server") as server,
        httpx.Client(base_url=server.url, headers=headers, timeout=REQUEST_TIMEOUT) as http,
    ):
        for root in root_fields():
            sweep(http, run, seeded.values, root)
            mix(http, run, seeded.values, root)
    return run


def test_no_argument_value_causes_an_unexpected_or_uncoded_error(fuzz_run: FuzzRun) -> None:
    problems = fuzz_run.problems()
    assert problems == [], f"{fuzz_run.summary()}\n{len(problems)} problem(s):\n\n" + "\n\n".join(
        problems[:8]
    )


def test_the_sweep_reaches_the_fields_of_input_object_arguments() -> None:
    (print_jobs,) = [root for root in root_fields() if root.name == "printJobs"]
    paths = {slot.path for slot in slots(print_jobs)}
    assert {("after",), ("filter", "startedAfter"), ("orderBy", "direction")} <= paths
