"""The leaf fast path answers exactly as graphql-core's own execution does: same data,
same errors at the same paths, null propagation included."""

import asyncio
import enum
from collections.abc import Iterator
from typing import Any

import pytest
import strawberry
from graphql import ExecutionResult
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from gql_server.graphql.execution import LEAF_PLAN, LeafFastPathExecutionContext, plan_leaf_fields
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
class Item:
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


def _items() -> list[Item]:
    return [
        Item(name="ok", label=None, weight=1.5, count=3, colour=Colour.RED, flag=True),
        # a non-null field holding None: the error nulls the item (or the whole list)
        Item(name=None, label="x", weight=2, count=1, colour=None, flag=False),  # type: ignore[arg-type]
        # values the scalar and enum types cannot represent
        Item(name="bad", label="y", weight="heavy", count=2, colour="green", flag=True),  # type: ignore[arg-type]
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
    def broken(self) -> Broken | None:
        return Exploding()  # type: ignore[return-value]


QUERIES = [
    "{ items { name label weight count colour flag shout __typename } }",
    "{ maybeItems { name label weight count colour flag } }",
    "{ maybeItems { a: name b: name label } }",
    "{ maybeItems { ... on Item { count colour } } }",
    "{ broken { value } }",
]


def _schema(execution_context_class: type, extensions: list[Any] | None = None) -> Any:
    schema = strawberry.Schema(
        query=Query,
        execution_context_class=execution_context_class,
        extensions=extensions or [],
    )
    plan_leaf_fields(schema._schema)
    return schema


def _answer(result: ExecutionResult) -> tuple[Any, list[tuple[str, Any]]]:
    errors = sorted((e.message, e.path) for e in result.errors or [])
    return result.data, errors


@pytest.mark.parametrize("query", QUERIES)
def test_fast_path_answers_like_graphql_core(query: str) -> None:
    fast = asyncio.run(_schema(LeafFastPathExecutionContext).execute(query))
    standard = asyncio.run(_schema(StrawberryGraphQLCoreExecutionContext).execute(query))
    assert _answer(fast) == _answer(standard)


def test_the_compared_queries_do_produce_errors() -> None:
    """Otherwise the comparison above would say nothing about error handling."""
    data, errors = _answer(asyncio.run(_schema(LeafFastPathExecutionContext).execute(QUERIES[1])))
    messages = [message for message, _ in errors]
    assert "Cannot return null for non-nullable field Item.name." in messages
    assert any("Float cannot represent" in message for message in messages)
    assert any("Colour" in message for message in messages)
    assert data["maybeItems"][0] == {
        "name": "ok",
        "label": None,
        "weight": 1.5,
        "count": 3,
        "colour": "RED",
        "flag": True,
    }
    assert data["maybeItems"][1] is None


def test_only_plain_leaf_fields_are_planned() -> None:
    schema = build_schema()._schema
    planned = {
        f"{type_name}.{name}"
        for type_name, graphql_type in schema.type_map.items()
        for name, field in getattr(graphql_type, "fields", {}).items()
        if LEAF_PLAN in (field.extensions or {})
    }
    assert {"PrintJob.filename", "PrintJob.status", "JobDetails.layerHeight"} <= planned
    assert {"Printer.name", "JobTotals.totalJobs", "PageInfo.hasNextPage"} <= planned
    # resolvers, object-typed fields, root fields with permissions, ids: the standard way
    for field in ("PrintJob.id", "PrintJob.printer", "PrintJob.jobDetails", "Printer.jobTotals"):
        assert field not in planned
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
    schema = _schema(LeafFastPathExecutionContext, extensions=[SeesEveryField])
    asyncio.run(schema.execute("{ maybeItems { name count } }"))
    # the second item stops at its null name, as graphql-core stops it
    assert seen == ["maybeItems", "name", "count", "name", "name", "count"]
