"""Relay connections: edges, nodes, pageInfo and a totalCount counted only on demand."""

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import strawberry

from gql_server.graphql.cursors import encode_cursor
from gql_server.services.pagination import Page

T = TypeVar("T")


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    nodes: list[T]
    # Cursors are computed and encoded only when edges or pageInfo are selected: the
    # row behind each node, and how to read a cursor position from a row.
    ordering: strawberry.Private[str]
    rows: strawberry.Private[list[Any]]
    position_of: strawberry.Private[Callable[[Any], tuple[Any, ...]]]
    has_next: strawberry.Private[bool]
    has_previous: strawberry.Private[bool]
    counter: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field
    def edges(self) -> list[Edge[T]]:
        pairs = zip(self.rows, self.nodes, strict=True)
        return [Edge(cursor=self._encode(row), node=node) for row, node in pairs]

    @strawberry.field
    def page_info(self) -> PageInfo:
        return PageInfo(
            has_next_page=self.has_next,
            has_previous_page=self.has_previous,
            start_cursor=self._cursor(0),
            end_cursor=self._cursor(-1),
        )

    @strawberry.field(description="Rows matching the filter; counted only when asked for.")
    async def total_count(self) -> int:
        return await self.counter()

    def _cursor(self, index: int) -> str | None:
        return self._encode(self.rows[index]) if self.rows else None

    def _encode(self, row: Any) -> str:
        return encode_cursor(self.ordering, self.position_of(row))


def page_connection(
    page: Page[Any],
    nodes: list[T],
    *,
    ordering: str,
    position_of: Callable[[Any], tuple[Any, ...]],
    counter: Callable[[], Awaitable[int]],
) -> Connection[T]:
    """The connection of a page whose ``nodes`` were built from its rows, in order."""
    return Connection(
        nodes=nodes,
        ordering=ordering,
        rows=page.items,
        position_of=position_of,
        has_next=page.has_next,
        has_previous=page.has_previous,
        counter=counter,
    )
