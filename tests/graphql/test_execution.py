"""The fast path answers exactly as graphql-core's own execution does: same data, same
errors at the same paths, null propagation included."""

import asyncio
import enum
import logging
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import strawberry
from graphql import ExecutionResult, GraphQLSchema
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from gql_server.app import create_app
from gql_server.config import Settings
from gql_server.db.engine import create_db_engine
from gql_server.db.session import Database
from gql_server.graphql.extensions import Limits
from gql_server.graphql.runtime import execution
from gql_server.graphql.runtime.execution import (
    FIELD_PLAN,
    TESTED_VERSIONS,
    EventScopedExecutionContext,
    FastPathExecutionContext,
    fast_path_resolutions,
    fast_path_supported,
    installed_versions,
    plan_fields,
    untested_installed_versions,
    untested_versions,
    warn_if_fast_path_unsupported,
)
from gql_server.graphql.schema import build_schema


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Exploding:
    @property
    def value(self) -> str:
        raise RuntimeError("boom")


@strawberry.type
class Owner:
    name: str

    @strawberry.field
    async def later(self) -> str:
        """Asynchronous: completing the owner is then awaitable."""
        if self.name == "fail":
            raise ValueError("late failure")
        return self.name.lower()


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Tag(Named):
    """Strawberry's own is_type_of (it has an interface): not planned."""


@strawberry.type
class Gauge:
    reading: float | None
    unit: str


class ExplodingGauge:
    unit = "bar"

    @property
    def reading(self) -> float:
        raise RuntimeError("gauge broke")


@strawberry.type
class Item:
    gauge: Gauge | None
    owner: Owner | None
    main_owner: Owner
    tag: Tag | None
    name: str
    label: str | None
    weight: float | None
    count: int
    colour: Colour | None
    flag: bool

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()


@strawberry.type
class Broken:
    value: str


def _item(name: Any, owner: Any, main_owner: Any, **values: Any) -> Item:
    fields = {
        "label": None,
        "weight": 1.0,
        "count": 1,
        "colour": None,
        "flag": True,
        "gauge": Gauge(reading=1.5, unit="bar"),
    }
    return Item(
        name=name, owner=owner, main_owner=main_owner, tag=Tag(name="t"), **{**fields, **values}
    )


def _items() -> list[Item]:
    ann, fail, nameless = Owner(name="Ann"), Owner(name="fail"), Owner(name=None)  # type: ignore[arg-type]
    return [
        _item("ok", ann, ann, weight=1.5, count=3, colour=Colour.RED),
        # a non-null field holding None: the error nulls the item (or the whole list)
        _item(None, None, ann, label="x", weight=2, flag=False),
        # values the scalar and enum types cannot represent
        _item("bad", ann, ann, label="y", weight="heavy", count=2, colour="green"),
        _item("odd", None, ann, weight=None, count=2**40, colour=["red"], flag=1),
        _item("blue", ann, ann, weight=0.5, count=0, colour=Colour.BLUE, flag=False),
        # errors inside objects: synchronous and asynchronous, in nullable and
        # non-null object fields
        _item("owners", nameless, ann),
        _item("late", fail, ann),
        _item("main", ann, nameless),
        _item("main-late", ann, fail),
        _item("no-main", ann, None),
        # inside an object: a raising property, an unrepresentable value, a null unit
        _item("gauge-raises", ann, ann, gauge=ExplodingGauge()),
        _item("gauge-nan", ann, ann, gauge=Gauge(reading=float("nan"), unit="bar")),
        _item("gauge-unitless", ann, ann, gauge=Gauge(reading=2.0, unit=None)),  # type: ignore[arg-type]
    ]


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return _items()

    @strawberry.field
    def maybe_items(self) -> list[Item | None]:
        return _items()

    @strawberry.field
    def held_values(self) -> list[Item | None]:
        """Awaitables and exceptions held as values: graphql-core awaits and raises them."""
        loop = asyncio.get_running_loop()

        def ready(value: Any) -> Any:
            future = loop.create_future()
            future.set_result(value)
            return future

        ann = Owner(name="Ann")
        return [
            _item("awaitable", ready(Owner(name="Bo")), ann, label=ready("later")),
            _item("exception", ValueError("held owner"), ann, label=ValueError("held label")),
            _item("held-reading", ann, ann, gauge=Gauge(reading=ready(2.5), unit="bar")),
            _item("held-unit", ann, ann, gauge=Gauge(reading=1.0, unit=ValueError("no unit"))),
        ]

    @strawberry.field
    def broken(self) -> Broken | None:
        return Exploding()  # type: ignore[return-value]


QUERIES = [
    "{ maybeItems { name owner { name later } mainOwner { name later } tag { name } } }",
    "{ maybeItems { owner { name } mainOwner { name } } }",
    "{ items { name owner { later } } }",
    "{ maybeItems { ... on Item { o: owner { ... on Owner { name } } } } }",
    "{ items { name label weight count colour flag shout __typename } }",
    "{ maybeItems { name label weight count colour flag } }",
    "{ maybeItems { a: name b: name label } }",
    "{ maybeItems { ... on Item { count colour } } }",
    "{ broken { value } }",
    "{ heldValues { name label owner { name } } }",
    "{ heldValues { name gauge { reading unit } } }",
    "{ maybeItems { name gauge { reading unit } g: gauge { unit } } }",
    "{ maybeItems { gauge { unit __typename } } }",
]


def _schema(execution_context_class: type, extensions: list[Any] | None = None) -> Any:
    schema = strawberry.Schema(
        query=Query,
        execution_context_class=execution_context_class,
        extensions=extensions or [],
    )
    plan_fields(schema._schema)
    return schema


def _answer(result: ExecutionResult) -> tuple[Any, list[tuple[str, Any]]]:
    errors = sorted((e.message, e.path) for e in result.errors or [])
    return result.data, errors


@pytest.mark.parametrize("query", QUERIES)
def test_fast_path_answers_like_graphql_core(query: str) -> None:
    fast = asyncio.run(_schema(FastPathExecutionContext).execute(query))
    standard = asyncio.run(_schema(StrawberryGraphQLCoreExecutionContext).execute(query))
    assert _answer(fast) == _answer(standard)


def _resolutions(execution_context_class: type, query: str) -> int:
    before = fast_path_resolutions.total
    asyncio.run(_schema(execution_context_class).execute(query))
    return fast_path_resolutions.total - before


@pytest.mark.parametrize("query", QUERIES)
def test_the_compared_queries_do_take_the_fast_path(query: str) -> None:
    """Otherwise the comparison above would compare the standard path with itself."""
    assert _resolutions(FastPathExecutionContext, query) > 0
    assert _resolutions(StrawberryGraphQLCoreExecutionContext, query) == 0


def test_the_compared_queries_do_produce_errors() -> None:
    """Otherwise the comparison above would say nothing about error handling."""
    query = "{ maybeItems { name label weight count colour flag owner { name later } } }"
    data, errors = _answer(asyncio.run(_schema(FastPathExecutionContext).execute(query)))
    messages = [message for message, _ in errors]
    assert "Cannot return null for non-nullable field Item.name." in messages
    assert any("Float cannot represent" in message for message in messages)
    assert any("Colour" in message for message in messages)
    assert "late failure" in messages
    assert data["maybeItems"][0] == {
        "name": "ok",
        "label": None,
        "weight": 1.5,
        "count": 3,
        "colour": "RED",
        "flag": True,
        "owner": {"name": "Ann", "later": "ann"},
    }
    assert data["maybeItems"][6]["owner"] is None  # the asynchronous error nulled it
    assert data["maybeItems"][1] is None
    assert data["maybeItems"][4]["colour"] == "BLUE"


def _planned(schema: GraphQLSchema) -> set[str]:
    return {
        f"{type_name}.{name}"
        for type_name, graphql_type in schema.type_map.items()
        for name, field in getattr(graphql_type, "fields", {}).items()
        if FIELD_PLAN in (field.extensions or {})
    }


def test_only_plain_fields_are_planned() -> None:
    planned = _planned(build_schema()._schema)
    assert {"PrintJob.filename", "PrintJob.status", "JobDetails.layerHeight"} <= planned
    assert {"Printer.name", "JobTotals.totalJobs", "PageInfo.hasNextPage"} <= planned
    assert {"PrintJob.printer", "PrintJob.jobDetails", "PrintJobEdge.node"} <= planned
    # resolvers, lists, root fields with permissions, ids: the standard way
    for field in (
        "PrintJob.id",
        "Printer.jobTotals",
        "Printer.printJobs",
        "PrintJobConnection.nodes",
    ):
        assert field not in planned


def test_types_with_their_own_is_type_of_are_not_planned() -> None:
    """Strawberry's is_type_of for a type with an interface is given a resolve info."""
    planned = _schema(FastPathExecutionContext)._schema.type_map["Item"].fields
    assert FIELD_PLAN in planned["owner"].extensions
    assert FIELD_PLAN not in planned["tag"].extensions
    assert not any(name.startswith(("Query.", "Mutation.")) for name in planned)


class SeesEveryField(SchemaExtension):
    seen: list[str] = []

    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        SeesEveryField.seen.append(info.field_name)
        return _next(root, info, *args, **kwargs)


@pytest.fixture
def seen() -> Iterator[list[str]]:
    SeesEveryField.seen = []
    yield SeesEveryField.seen


def test_an_extension_with_a_resolve_hook_still_sees_leaf_fields(seen: list[str]) -> None:
    schema = _schema(FastPathExecutionContext, extensions=[SeesEveryField])
    asyncio.run(schema.execute("{ maybeItems { name count } }"))
    # the second item stops at its null name, as graphql-core stops it
    others = len(_items()) - 2
    assert seen == ["maybeItems", "name", "count", "name", *["name", "count"] * others]


# The fence: the fast path runs only where it was tested, and can be switched off.

FILTER_QUERY = "query($f: PrinterFilter) { printers(filter: $f) { totalCount } }"


def test_with_the_fast_path_off_nothing_is_planned_and_execution_is_standard() -> None:
    schema = build_schema(Limits(fast_path=False))
    # graphql-core's execution; the one change is a subscription event's own memo.
    assert schema.execution_context_class is EventScopedExecutionContext
    assert _planned(schema._schema) == set()


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast", "standard"])
def test_without_introspection_variable_errors_suggest_no_names(fast_path: bool) -> None:
    variables = {"f": {"nmeContains": "x"}}
    closed = build_schema(Limits(introspection=False, fast_path=fast_path))
    result = asyncio.run(closed.execute(FILTER_QUERY, variables))
    assert [error.message for error in result.errors or []] == [
        "Variable '$f' has invalid value: Expected value of type 'PrinterFilter' not to "
        "include unknown field 'nmeContains', found: {'nmeContains': 'x'}."
    ]


@pytest.mark.parametrize(
    ("name", "version"),
    [
        ("graphql-core", "3.4.0"),
        ("graphql-core", "3.3.1"),
        ("graphql-core", "3.3.3rc1"),
        ("strawberry-graphql", "0.342.0"),
        ("strawberry-graphql", None),
    ],
)
def test_a_version_outside_the_tested_range_is_named(name: str, version: str | None) -> None:
    tested = {package: lowest for package, (lowest, _) in TESTED_VERSIONS.items()}
    lowest, first_untested = TESTED_VERSIONS[name]
    assert untested_versions(tested) == []
    assert untested_versions({**tested, name: version}) == [
        f"{name} {version or 'not installed'} (tested: >={lowest},<{first_untested})"
    ]


def test_the_installed_versions_are_the_tested_ones() -> None:
    """Else this suite would pass while the fast path it tests is off."""
    assert untested_versions(installed_versions()) == []
    assert fast_path_supported()


def test_pyproject_pins_the_tested_versions() -> None:
    pyproject = Path(__file__).parents[2] / "pyproject.toml"
    dependencies = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    for name, (lowest, first_untested) in TESTED_VERSIONS.items():
        assert f"{name}>={lowest},<{first_untested}" in dependencies


@pytest.fixture
def untested_graphql_core(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The versions a newer graphql-core would report; the gate is checked afresh."""
    versions = {**installed_versions(), "graphql-core": "3.4.0"}
    monkeypatch.setattr(execution, "installed_versions", lambda: versions)
    caches = (untested_installed_versions, warn_if_fast_path_unsupported)
    for cached in caches:
        cached.cache_clear()
    yield
    for cached in caches:
        cached.cache_clear()


@pytest.mark.usefixtures("untested_graphql_core")
def test_untested_versions_turn_the_fast_path_off() -> None:
    schemas = [build_schema(), build_schema(Limits(introspection=False))]
    assert [s.execution_context_class.__name__ for s in schemas] == [
        "EventScopedExecutionContext",
        "SuggestionlessStandardExecutionContext",
    ]
    assert not any(_planned(s._schema) for s in schemas)


def _warnings_of_apps(caplog: pytest.LogCaptureFixture, *, fast_path: bool) -> list[str]:
    settings = Settings(database_url="sqlite://", fast_path=fast_path)
    database = Database(create_db_engine("sqlite://"))
    with caplog.at_level(logging.WARNING, logger="gql_server.graphql.runtime.execution"):
        for _ in range(2):
            create_app(settings, database=database)
    database.dispose()
    return [record.getMessage() for record in caplog.records]


@pytest.mark.usefixtures("untested_graphql_core")
def test_untested_versions_are_named_once_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    assert _warnings_of_apps(caplog, fast_path=True) == [
        "GraphQL fast path off: graphql-core 3.4.0 (tested: >=3.3.2,<3.4); fields run "
        "through graphql-core's standard execution (same answers, slower on large pages)"
    ]


@pytest.mark.usefixtures("untested_graphql_core")
def test_nothing_is_said_when_the_fast_path_is_switched_off(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert _warnings_of_apps(caplog, fast_path=False) == []
