"""Relay connections: edges, nodes, pageInfo and a totalCount counted only on demand."""

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import strawberry

from gql_server.graphql.cursors import encode_cursor

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
    # Cursors are encoded only when edges or pageInfo are selected.
    ordering: strawberry.Private[str]
    positions: strawberry.Private[list[tuple[Any, ...]]]
    has_next: strawberry.Private[bool]
    has_previous: strawberry.Private[bool]
    counter: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field
    def edges(self) -> list[Edge[T]]:
        pairs = zip(self.positions, self.nodes, strict=True)
        return [Edge(cursor=encode_cursor(self.ordering, p), node=n) for p, n in pairs]

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
        if not self.positions:
            return None
        return encode_cursor(self.ordering, self.positions[index])
