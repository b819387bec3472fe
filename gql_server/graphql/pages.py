"""Connection arguments (first/after/last/before) to keyset page arguments."""

from dataclasses import replace
from typing import Annotated, Any

import strawberry

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

# The Relay arguments with their bounds stated in the schema, for every connection field.
First = Annotated[
    int | None,
    strawberry.argument(
        description=f"Items after `after`: {MIN_PAGE_SIZE} to {MAX_PAGE_SIZE}; "
        f"{DEFAULT_PAGE_SIZE} when neither first nor last is given."
    ),
]
Last = Annotated[
    int | None,
    strawberry.argument(description=f"Items before `before`: {MIN_PAGE_SIZE} to {MAX_PAGE_SIZE}."),
]
_CURSOR = f"a cursor this connection returned (at most {MAX_CURSOR_LENGTH} characters)."
After = Annotated[str | None, strawberry.argument(description=f"Start after {_CURSOR}")]
Before = Annotated[str | None, strawberry.argument(description=f"End before {_CURSOR}")]


def _decode(cursor: str | None, ordering: str, keys: list[SortKey]) -> tuple[Any, ...] | None:
    if cursor is None:
        return None
    position = decode_cursor(cursor, ordering, size=len(keys))
    if not is_valid_position(keys, position):
        raise ApiError("the cursor is not one this server issued", "INVALID_CURSOR")
    return position


def page_args(
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    order: Any,
    keys: list[SortKey] | None = None,
) -> PageArgs:
    """Validate the Relay arguments: the page size first (PageArgs holds its range),
    then the cursors."""
    if first is None and last is None:
        first = DEFAULT_PAGE_SIZE
    try:
        sizes = PageArgs(first=first, last=last)
    except PageArgumentError as refused:
        raise api_error(refused) from None
    ordering = str(order)
    keys = keys if keys is not None else order.sort_keys()
    return replace(
        sizes, after=_decode(after, ordering, keys), before=_decode(before, ordering, keys)
    )
