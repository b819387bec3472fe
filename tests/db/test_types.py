"""as_utc: the one conversion of a time to aware UTC."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from gql_server.db.types import as_utc


def test_a_time_without_a_zone_is_taken_as_utc() -> None:
    assert as_utc(datetime(2024, 5, 1, 12, 30)) == datetime(2024, 5, 1, 12, 30, tzinfo=UTC)


def test_a_time_in_another_zone_is_moved_to_utc() -> None:
    berlin_summer = timezone(timedelta(hours=2))
    moved = as_utc(datetime(2024, 5, 1, 14, 30, tzinfo=berlin_summer))
    assert (moved, moved.tzinfo) == (datetime(2024, 5, 1, 12, 30, tzinfo=UTC), UTC)


def test_a_time_that_leaves_year_9999_in_utc_overflows() -> None:
    with pytest.raises(OverflowError):
        as_utc(datetime.max.replace(tzinfo=timezone(timedelta(hours=-14))))
