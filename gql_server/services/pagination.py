"""Keyset pagination: pages are WHERE clauses on the sort key, never OFFSET.

A page is addressed by the sort key of a boundary row (its value and id), so a page
stays the same when rows are inserted before it and costs an index range scan however
deep it is. Nullable sort columns sort their NULLs last in both directions.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, and_, case, false, or_, true

from gql_server.services.errors import ServiceError

T = TypeVar("T")

# The one declaration of the page sizes a caller may ask for; PageArgs checks it.
MIN_PAGE_SIZE = 1
MAX_PAGE_SIZE = 100


class PageArgumentError(ServiceError):
    """first/last out of range, or both directions at once."""

    code = "BAD_PAGE_SIZE"


@dataclass(frozen=True, slots=True)
class SortKey:
    """One column of an ordering; ``nullable`` adds an IS NULL key that sorts NULLs last."""

    column: Any
    descending: bool = False
    nullable: bool = False


def keyset_keys(column: Any, row_id: Any, *, descending: bool, nullable: bool) -> list[SortKey]:
    """Sort by ``column``, ties broken by the row id in the same direction."""
    return [
        SortKey(column, descending=descending, nullable=nullable),
        SortKey(row_id, descending=descending),
    ]


# A cursor position: the sort key values of a row, id last.
Position = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class PageArgs:
    first: int | None = None
    after: Position | None = None
    last: int | None = None
    before: Position | None = None

    def __post_init__(self) -> None:
        for name in ("first", "last"):
            value = getattr(self, name)
            if value is not None and not MIN_PAGE_SIZE <= value <= MAX_PAGE_SIZE:
                raise PageArgumentError(
                    f"{name} must be between {MIN_PAGE_SIZE} and {MAX_PAGE_SIZE}, got {value}",
                    field=name,
                )
        if self.first is not None and self.last is not None:
            raise PageArgumentError("pass first or last, not both", field="last")

    @property
    def backwards(self) -> bool:
        return self.last is not None

    @property
    def size(self) -> int:
        if self.last is not None:
            return self.last
        return MAX_PAGE_SIZE if self.first is None else self.first


@dataclass(slots=True)
class Page(Generic[T]):
    items: list[T]
    has_next: bool
    has_previous: bool


@dataclass(frozen=True, slots=True)
class _Term:
    """An ordering term after expanding nullable keys: an expression and a direction."""

    expression: Any
    descending: bool


def _terms(keys: Sequence[SortKey], *, reverse: bool) -> list[_Term]:
    terms: list[_Term] = []
    for key in keys:
        if key.nullable:
            # NULLs last: a 0/1 "is null" key, ascending in forward order. An integer, not
            # a boolean: SQL compares booleans with < and > only as numbers.
            terms.append(_Term(case((key.column.is_(None), 1), else_=0), reverse))
        terms.append(_Term(key.column, key.descending != reverse))
    return terms


def _values(keys: Sequence[SortKey], position: Position) -> list[Any]:
    values: list[Any] = []
    for key, value in zip(keys, position, strict=True):
        if key.nullable:
            values.append(1 if value is None else 0)
        values.append(value)
    return values


def is_valid_position(keys: Sequence[SortKey], position: Position) -> bool:
    """A position (from a client's cursor) has one value of each key's Python type."""
    if len(position) != len(keys):
        return False
    for key, value in zip(keys, position, strict=True):
        if value is None:
            if not key.nullable:
                return False
            continue
        expected = key.column.type.python_type
        if expected is float:
            expected = (int, float)
        if isinstance(value, bool) or not isinstance(value, expected):
            return False
    return True


def order_by(keys: Sequence[SortKey], *, reverse: bool) -> list[ColumnElement[Any]]:
    terms = _terms(keys, reverse=reverse)
    return [t.expression.desc() if t.descending else t.expression.asc() for t in terms]


def window(keys: Sequence[SortKey], args: "PageArgs") -> list[ColumnElement[bool]]:
    """WHERE conditions that keep the rows between the cursors of ``args``."""
    conditions = []
    if args.after is not None:
        conditions.append(after(keys, args.after))
    if args.before is not None:
        conditions.append(after(keys, args.before, reverse=True))
    return conditions


def after(
    keys: Sequence[SortKey], position: Position, *, reverse: bool = False
) -> ColumnElement[bool]:
    """Rows strictly after ``position`` in the ordering (or its reverse)."""
    terms = _terms(keys, reverse=reverse)
    values = _values(keys, position)
    alternatives = []
    for index, (term, value) in enumerate(zip(terms, values, strict=True)):
        if value is None:
            continue  # nothing sorts strictly after NULL among rows that are NULL too
        prefix = zip(terms[:index], values[:index], strict=True)
        equal_prefix = [_equal(t.expression, v) for t, v in prefix]
        beyond = term.expression < value if term.descending else term.expression > value
        alternatives.append(and_(true(), *equal_prefix, beyond))
    return or_(false(), *alternatives)


def _equal(expression: Any, value: Any) -> ColumnElement[bool]:
    condition: ColumnElement[bool] = expression.is_(None) if value is None else expression == value
    return condition


def position_of(keys: Sequence[SortKey], row: Any) -> Position:
    """The cursor position of a row, read by column key."""
    return tuple(getattr(row, key.column.key) for key in keys)


def build_page(rows: Sequence[T], args: PageArgs) -> Page[T]:
    """Trim the extra row fetched to learn whether more exist, restore forward order.

    hasPreviousPage while paging forward (and hasNextPage backwards) is reported true
    when a cursor was given: the Relay spec allows that shortcut when counting would cost.
    """
    items = list(rows[: args.size])
    more = len(rows) > args.size
    if args.backwards:
        items.reverse()
        return Page(items=items, has_next=args.before is not None, has_previous=more)
    return Page(items=items, has_next=more, has_previous=args.after is not None)
