"""A keyset page as a few index range scans, each read in index order and LIMITed.

Pages sort a nullable column's NULLs last in both directions (services/pagination.py),
but an index on (column, id) holds the NULLs before the values on SQLite and on MariaDB
alike, and an ORDER BY on the "is null" CASE term cannot be read from any index: the
database would read and sort every matching row to return a page. So a page is read as
ranges ("arms") that each follow an index: the column's values in the page's direction,
then the NULLs by id (the other way round when paging backwards). A caller reads each
arm with LIMIT size + 1 and sorts the union of the arms' rows by the page's ordering,
which gives the same page as sorting every row would: the first size + 1 rows of the
whole ordering are among the first size + 1 rows of the arms it is made of.

Where the index's own order is the page's (reading down, where the NULLs come last, or
up over a page read backwards, where they come first) an uncursored page is one range.

The cursor splits the values' range once more: the rows that tie with the cursor's value
and follow its id come first, then the values beyond it. SQLite does not use the id of
a row-value or OR-of-ANDs keyset condition to bound an index range, so one range
"value ties, then beyond" would read every tied row before the cursor's id (a farm
prints the same file again and again: the same filament length thousands of times).
tests/services/test_job_page_plans.py checks the plans and the rows read.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_

from gql_server.services.pagination import PageArgs, Position, SortKey


@dataclass(frozen=True, slots=True)
class Arm:
    """One index range: its WHERE conditions and the ORDER BY the index delivers."""

    conditions: tuple[ColumnElement[bool], ...]
    order: tuple[ColumnElement[Any], ...]


@dataclass(frozen=True, slots=True)
class _Scan:
    """The ordering as the page reads it: ``descending`` for the value and the id, and
    whether the NULLs come first (paging backwards) or last."""

    value: Any
    row_id: Any
    descending: bool
    nullable: bool
    nulls_first: bool

    def beyond(self, expression: Any, value: Any) -> ColumnElement[bool]:
        """``expression`` comes after ``value`` in reading order."""
        condition: ColumnElement[bool] = (
            expression < value if self.descending else expression > value
        )
        return condition

    def short_of(self, expression: Any, value: Any) -> ColumnElement[bool]:
        condition: ColumnElement[bool] = (
            expression > value if self.descending else expression < value
        )
        return condition

    def ordered(self, *expressions: Any) -> tuple[ColumnElement[Any], ...]:
        return tuple(e.desc() if self.descending else e.asc() for e in expressions)


def index_arms(keys: Sequence[SortKey], args: PageArgs) -> list[Arm]:
    """The arms of a page ordered by ``keys`` (a value and the id, as from
    ``keyset_keys``), in reading order, each bounded by the page's cursors."""
    value_key, id_key = keys
    reverse = args.backwards
    scan = _Scan(
        value=value_key.column,
        row_id=id_key.column,
        descending=value_key.descending != reverse,
        nullable=value_key.nullable,
        nulls_first=reverse,
    )
    near, far = (args.before, args.after) if reverse else (args.after, args.before)
    if scan.nullable and near is None and far is None and scan.descending != scan.nulls_first:
        # The index itself holds the NULLs where the page wants them (last when reading
        # down, first when reading up), by id in the same direction: one range.
        return [Arm((), scan.ordered(scan.value, scan.row_id))]
    segments = [_value_arms(scan, near, far)]
    if scan.nullable:
        nulls = _null_arms(scan, near, far)
        segments.insert(0 if scan.nulls_first else 1, nulls)
    arms = [arm for segment in segments for arm in segment]
    return arms or [Arm((false(),), scan.ordered(scan.row_id))]


def _value_arms(scan: _Scan, near: Position | None, far: Position | None) -> list[Arm]:
    """The rows whose value is not NULL, between the cursors."""
    base: list[ColumnElement[bool]] = [scan.value.is_not(None)] if scan.nullable else []
    if far is not None:
        far_value, far_id = far
        if far_value is None:
            if scan.nulls_first:
                return []  # the far cursor is among the NULLs, which come first
        else:
            base.append(
                or_(
                    scan.short_of(scan.value, far_value),
                    and_(scan.value == far_value, scan.short_of(scan.row_id, far_id)),
                )
            )
    values_order = scan.ordered(scan.value, scan.row_id)
    if near is None:
        return [Arm(tuple(base), values_order)]
    near_value, near_id = near
    if near_value is None:
        # The near cursor is among the NULLs: every value follows it or none does.
        return [Arm(tuple(base), values_order)] if scan.nulls_first else []
    ties = Arm(
        (*base, scan.value == near_value, scan.beyond(scan.row_id, near_id)),
        scan.ordered(scan.row_id),
    )
    beyond = Arm((*base, scan.beyond(scan.value, near_value)), values_order)
    return [ties, beyond]


def _null_arms(scan: _Scan, near: Position | None, far: Position | None) -> list[Arm]:
    """The rows whose value is NULL, by id, between the cursors."""
    conditions: list[ColumnElement[bool]] = [scan.value.is_(None)]
    # Per cursor: whether a cursor at a value keeps the NULLs (they follow the near
    # cursor, or come before the far one), and how a cursor among the NULLs bounds them.
    bounds = ((near, not scan.nulls_first, scan.beyond), (far, scan.nulls_first, scan.short_of))
    for cursor, nulls_inside, side in bounds:
        if cursor is None:
            continue
        cursor_value, cursor_id = cursor
        if cursor_value is None:
            conditions.append(side(scan.row_id, cursor_id))
        elif not nulls_inside:
            return []
    return [Arm(tuple(conditions), scan.ordered(scan.row_id))]
