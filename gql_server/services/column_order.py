"""Orderings by one column of a table, ties broken by the row id: what keyset pages of
jobs and of printers sort by."""

import enum
from typing import Any, ClassVar

from gql_server.services.pagination import SortKey, keyset_keys


def ordering_name(kind: str, field: enum.Enum, descending: bool) -> str:
    """An ordering's name in cursors: a cursor of one ordering fits no other."""
    return f"{kind}:{field.value}:{'desc' if descending else 'asc'}"


class ColumnOrder:
    """Base of the frozen dataclasses that hold an ordering: ``field``'s value names a
    column of ``model``. Whether NULLs can occur (they sort last) is read from the model,
    where the column declares it. ``kind`` names what is ordered in cursors."""

    __slots__ = ()
    model: ClassVar[Any]
    kind: ClassVar[str]
    field: enum.Enum
    descending: bool

    def __str__(self) -> str:
        return ordering_name(self.kind, self.field, self.descending)

    def sort_keys(self) -> list[SortKey]:
        column = getattr(self.model, self.field.value)
        nullable = bool(self.model.__table__.c[self.field.value].nullable)
        return keyset_keys(column, self.model.id, descending=self.descending, nullable=nullable)
