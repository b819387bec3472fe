"""A table's checksum: equal for the same rows in any order, different for any change."""

from datetime import UTC, datetime, timedelta, timezone
from math import nextafter

from gql_server.services.database_copy.checksum import MODULUS, canonical, row_digest

ROW = (7, "Größe", 0.1 + 0.2, b"\x00\xff", datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC), True)


def table_checksum(rows: list[tuple[object, ...]]) -> int:
    return sum(row_digest(row) for row in rows) % MODULUS


def test_checksum_does_not_depend_on_the_order_rows_are_read_in() -> None:
    other = (8, "b", None, None, None, False)
    assert table_checksum([ROW, other]) == table_checksum([other, ROW])


def test_checksum_changes_with_the_last_bit_of_a_float() -> None:
    changed = (*ROW[:2], nextafter(ROW[2], 1.0), *ROW[3:])
    assert row_digest(changed) != row_digest(ROW)


def test_checksum_changes_with_a_duplicated_row() -> None:
    assert table_checksum([ROW, ROW]) != table_checksum([ROW])


def test_the_same_instant_in_another_zone_is_the_same_value() -> None:
    moment = ROW[4]
    assert isinstance(moment, datetime)
    shifted = moment.astimezone(timezone(timedelta(hours=2)))
    assert canonical(shifted) == canonical(moment) == "datetime:2026-01-01T12:00:00.123456+00:00"


def test_kinds_are_told_apart() -> None:
    assert len({canonical(v) for v in (1, True, 1.0, "1", b"1", None, "null")}) == 7
