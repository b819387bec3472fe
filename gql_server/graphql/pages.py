"""Connection arguments (first/after/last/before) to keyset page arguments."""

from dataclasses import dataclass, replace
from typing import Any

from strawberry.annotation import StrawberryAnnotation
from strawberry.extensions.field_extension import FieldExtension
from strawberry.types.arguments import StrawberryArgument
from strawberry.types.field import StrawberryField

from gql_server.graphql.cursors import MAX_CURSOR_LENGTH, decode_cursor
from gql_server.graphql.errors import ApiError, api_error
from gql_server.services.pagination import (
    MAX_PAGE_SIZE,
    MIN_PAGE_SIZE,
    PageArgs,
    PageArgumentError,
    SortKey,
    is_valid_position,
)

DEFAULT_PAGE_SIZE = 20

_CURSOR = f"a cursor this connection returned (at most {MAX_CURSOR_LENGTH} characters)."


def _argument(name: str, annotation: object, description: str) -> StrawberryArgument:
    return StrawberryArgument(
        python_name=name,
        graphql_name=None,
        type_annotation=StrawberryAnnotation(annotation),
        description=description,
        default=None,
    )


def page_arguments() -> list[StrawberryArgument]:
    """The Relay arguments with their bounds stated in the schema, in the order every
    connection field lists them before its own."""
    return [
        _argument(
            "first",
            int | None,
            f"Items after `after`: {MIN_PAGE_SIZE} to {MAX_PAGE_SIZE}; "
            f"{DEFAULT_PAGE_SIZE} when neither first nor last is given.",
        ),
        _argument("after", str | None, f"Start after {_CURSOR}"),
        _argument(
            "last", int | None, f"Items before `before`: {MIN_PAGE_SIZE} to {MAX_PAGE_SIZE}."
        ),
        _argument("before", str | None, f"End before {_CURSOR}"),
    ]


@dataclass(frozen=True, slots=True)
class PageWindow:
    """The Relay arguments as the client sent them; ``page_args`` validates them once
    the connection's ordering is known."""

    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None


PAGE_ARGUMENT_NAMES = ("first", "after", "last", "before")


class PageArguments(FieldExtension):
    """Gives a connection field the four Relay arguments, before its resolver's own, and
    hands them to the resolver as one ``window: PageWindow``.

    Strawberry's documented way to reshape a field's arguments, as its relay
    ConnectionExtension and InputMutationExtension do: ``apply`` sets
    ``field.arguments`` when a schema is built, ``map_arguments`` maps the converted
    values before each call. It has no resolve wrapper, so the call path is unchanged.
    """

    def apply(self, field: StrawberryField) -> None:
        own = field.arguments
        if tuple(argument.python_name for argument in own[:4]) == PAGE_ARGUMENT_NAMES:
            return  # another schema was built from the same type
        if not any(argument.python_name == "window" for argument in own):
            raise TypeError(f"{field.python_name} is paged but takes no `window: PageWindow`")
        field.arguments = [*page_arguments(), *(a for a in own if a.python_name != "window")]

    def map_arguments(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        window = PageWindow(*(kwargs.pop(name, None) for name in PAGE_ARGUMENT_NAMES))
        return {**kwargs, "window": window}


def _decode(cursor: str | None, ordering: str, keys: list[SortKey]) -> tuple[Any, ...] | None:
    if cursor is None:
        return None
    position = decode_cursor(cursor, ordering, size=len(keys))
    if not is_valid_position(keys, position):
        raise ApiError("the cursor is not one this server issued", "INVALID_CURSOR")
    return position


def page_args(window: PageWindow, order: Any, keys: list[SortKey] | None = None) -> PageArgs:
    """Validate the Relay arguments: the page size first (PageArgs holds its range),
    then the cursors."""
    first = window.first
    if first is None and window.last is None:
        first = DEFAULT_PAGE_SIZE
    try:
        sizes = PageArgs(first=first, last=window.last)
    except PageArgumentError as refused:
        raise api_error(refused) from None
    ordering = str(order)
    keys = keys if keys is not None else order.sort_keys()
    return replace(
        sizes,
        after=_decode(window.after, ordering, keys),
        before=_decode(window.before, ordering, keys),
    )
