"""Orderings by one column of a table, ties broken by the row id: what keyset pages of
jobs and of printers sort by."""

import enum
from typing import Any, ClassVar

from gql_server.services.pagination import SortKey, keyset_keys


class ColumnOrder:
    """Base of the frozen dataclasses that hold an ordering: ``field``'s value names a
    column of ``model``. Whether NULLs can occur (they sort last) is read from the model,
    where the column declares it."""

    __slots__ = ()
    model: ClassVar[Any]
    field: enum.Enum
    descending: bool

    def sort_keys(self) -> list[SortKey]:
        column = getattr(self.model, self.field.value)
        nullable = bool(self.model.__table__.c[self.field.value].nullable)
        return keyset_keys(column, self.model.id, descending=self.descending, nullable=nullable)
