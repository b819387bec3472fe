"""The orderings of keyset pages of jobs, printers and files: each by one column of a
table, ties broken by the table's primary key in the same direction.

The API exposes the field enums as they are (graphql/types/enums.py). Everything else
about an ordering is its row of ORDERINGS.
"""

import enum
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Table

from gql_server.db.tables import PRINT_FILE_TOTALS, PRINT_JOBS, PRINTERS
from gql_server.services.pagination import SortKey, keyset_keys


class OrderField(enum.Enum):
    """What a kind of page can be sorted by: each value names a column of the table of
    that kind's ordering."""


class JobOrderField(OrderField):
    START_TIME = "start_time"
    END_TIME = "end_time"
    DURATION = "total_duration"
    FILAMENT_USED = "filament_used"


class PrinterOrderField(OrderField):
    NAME = "name_folded"  # the same order on every database
    CREATED_AT = "created_at"
    LAST_SEEN = "last_seen"


class FileOrderField(OrderField):
    PRINTS = "job_count"
    LAST_PRINTED = "last_start"
    SUCCESS_RATE = "success_rate"
    FILAMENT_USED = "filament_used"


F = TypeVar("F", bound=OrderField)


@dataclass(frozen=True, slots=True, init=False)
class ColumnOrder(Generic[F]):
    """An ordering by ``field``'s column; a field or direction not given is the
    ordering's default. Whether NULLs can occur (they sort last) is read from the
    column, where the table declares it."""

    field: F
    descending: bool

    def __init__(self, field: F | None = None, descending: bool | None = None) -> None:
        default = ORDERINGS[type(self)]
        object.__setattr__(self, "field", default.field if field is None else field)
        if descending is None:
            descending = default.descending
        object.__setattr__(self, "descending", descending)

    def __str__(self) -> str:
        """The ordering's name in cursors: a cursor of one ordering fits no other."""
        kind = ORDERINGS[type(self)].kind
        return f"{kind}:{self.field.value}:{'desc' if self.descending else 'asc'}"

    def sort_keys(self) -> list[SortKey]:
        table = ORDERINGS[type(self)].table
        column = table.c[self.field.value]
        (row_id,) = table.primary_key.columns
        nullable = bool(column.nullable)
        return keyset_keys(column, row_id, descending=self.descending, nullable=nullable)


class JobOrder(ColumnOrder[JobOrderField]):
    __slots__ = ()


class PrinterOrder(ColumnOrder[PrinterOrderField]):
    __slots__ = ()


class FileOrder(ColumnOrder[FileOrderField]):
    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Ordering:
    """What an ordering sorts (rows of ``table``), its ``kind`` in cursors, and the
    field and direction it sorts by unless asked otherwise."""

    table: Table
    kind: str
    field: OrderField
    descending: bool


ORDERINGS: dict[type[ColumnOrder[Any]], Ordering] = {
    # Newest first: what a history view shows first.
    JobOrder: Ordering(PRINT_JOBS, "job", JobOrderField.START_TIME, descending=True),
    # By name, A to Z: how an operator finds a printer.
    PrinterOrder: Ordering(PRINTERS, "printer", PrinterOrderField.NAME, descending=False),
    # Most printed first; files that print as often, by id the same way.
    FileOrder: Ordering(PRINT_FILE_TOTALS, "file", FileOrderField.PRINTS, descending=True),
}
