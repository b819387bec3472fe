"""A paged field: the four Relay arguments come first, and reach the resolver as one
PageWindow."""

from dataclasses import dataclass

import strawberry
from strawberry.types.base import get_object_definition

from gql_server.graphql.pages import (
    ConnectionArgs,
    FilteredPageArguments,
    PageArguments,
    PageWindow,
)


def _unpaged(order: str | None = None) -> int:
    return 0


def _windowed(window: PageWindow, order: str | None = None) -> str:
    return repr(window)


def _schema(resolver: object) -> strawberry.Schema:
    @strawberry.type
    class Query:
        paged: str = strawberry.field(resolver=resolver, extensions=[PageArguments()])

    return strawberry.Schema(query=Query)


def test_a_paged_field_whose_resolver_takes_no_window_is_refused_when_built() -> None:
    try:
        _schema(_unpaged)
    except TypeError as refused:
        assert "paged is paged but takes no `window`" in str(refused)
    else:
        raise AssertionError("a paged field without a window was accepted")


def test_the_page_arguments_come_before_the_resolvers_own_in_every_schema_built() -> None:
    schema = _schema(_windowed)
    again = strawberry.Schema(query=schema.query)  # a second schema from the same type
    definition = get_object_definition(schema.query, strict=True)
    names = [argument.python_name for argument in definition.fields[0].arguments]
    assert names == ["first", "after", "last", "before", "order"]
    assert str(again) == str(schema)
    assert str(again).count("first: Int = null") == 1


def test_the_resolver_receives_the_four_as_one_window() -> None:
    result = _schema(_windowed).execute_sync('{ paged(first: 5, after: "c", order: "name") }')
    assert result.errors is None
    assert result.data == {"paged": repr(PageWindow(first=5, after="c", last=None, before=None))}


class _FilterInput:
    def __init__(self, text: str = "no filter") -> None:
        self.text = text

    def to_service(self) -> str:
        return self.text


class _OrderInput:
    def to_service(self) -> str:
        return "default order"


def test_an_absent_filter_or_order_reaches_the_services_as_its_inputs_defaults() -> None:
    @dataclass(frozen=True, slots=True)
    class Arguments(ConnectionArgs[str, str]):
        inputs = (_FilterInput, _OrderInput)

    mapped = FilteredPageArguments(Arguments).map_arguments({"first": 3, "extra": 1})
    assert mapped["extra"] == 1
    arguments = mapped["arguments"]
    assert isinstance(arguments, Arguments)
    assert arguments.window == PageWindow(first=3)
    assert (arguments.filter.to_service(), arguments.order_by.to_service()) == (
        "no filter",
        "default order",
    )
