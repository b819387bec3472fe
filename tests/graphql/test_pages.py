"""A paged resolver: the four Relay arguments come first in its field, and reach the
resolver as one PageWindow."""

import asyncio

import pytest
import strawberry

from gql_server.graphql.pages import PagedResolver, PageWindow


async def _unpaged(order: str | None = None) -> int:
    return 0


async def _windowed(window: PageWindow, order: str | None = None) -> PageWindow:
    return window


def test_a_paged_resolver_without_a_window_is_refused_when_declared() -> None:
    with pytest.raises(TypeError, match="_unpaged is paged but takes no `window: PageWindow`"):
        strawberry.field(resolver=PagedResolver(_unpaged))


def test_the_page_arguments_come_before_the_resolvers_own() -> None:
    names = [argument.python_name for argument in PagedResolver(_windowed).arguments]
    assert names == ["first", "after", "last", "before", "order"]


def test_the_resolver_receives_the_four_as_one_window() -> None:
    window = asyncio.run(PagedResolver(_windowed)(first=5, after="c", order="name"))
    assert window == PageWindow(first=5, after="c", last=None, before=None)
