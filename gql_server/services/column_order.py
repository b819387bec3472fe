"""Orderings by one column of a table, ties broken by the row id: what keyset pages of
jobs and of printers sort by."""

import enum
from typing import Any

from gql_server.services.pagination import SortKey, keyset_keys


def column_sort_keys(
    model: Any, field: enum.Enum, *, descending: bool, nullable: bool
) -> list[SortKey]:
    """``field``'s value names the column of ``model``; ``nullable`` puts NULLs last."""
    return keyset_keys(
        getattr(model, field.value), model.id, descending=descending, nullable=nullable
    )
