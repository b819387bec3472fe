"""The bounds of filter and input values, checked without a database."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

from gql_server.services.errors import ValidationError
from gql_server.services.input_bounds import (
    FILTER_TEXT_MAX,
    LIST_MAX,
    check_items,
    check_text,
    to_utc,
)


def refusal(
    check: Callable[..., object], *args: object, **kwargs: object
) -> tuple[str, str | None]:
    """The code and field of the ValidationError ``check`` raises."""
    with pytest.raises(ValidationError) as caught:
        check(*args, **kwargs)
    return caught.value.code, caught.value.field


def test_a_text_at_the_bound_passes_unchanged() -> None:
    text = "%" * FILTER_TEXT_MAX
    assert check_text(text, field="nameContains") is text


def test_a_text_over_the_bound_is_too_long() -> None:
    text = "a" * (FILTER_TEXT_MAX + 1)
    assert refusal(check_text, text, field="nameContains") == ("TOO_LONG", "nameContains")


def test_a_list_over_the_bound_is_too_long() -> None:
    assert check_items([1] * LIST_MAX, field="printerIds") == [1] * LIST_MAX
    assert refusal(check_items, [1] * (LIST_MAX + 1), field="printerIds") == (
        "TOO_LONG",
        "printerIds",
    )


def test_a_time_without_a_zone_is_taken_as_utc() -> None:
    assert to_utc(datetime(2026, 1, 2, 3, 4), field="t") == datetime(2026, 1, 2, 3, 4, tzinfo=UTC)


def test_a_zoned_time_is_moved_to_utc() -> None:
    zoned = datetime(2026, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=2)))
    assert to_utc(zoned, field="t") == datetime(2025, 12, 31, 23, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "moment",
    [
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(-timedelta(hours=14))),
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),
    ],
    ids=["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"],
)
def test_a_time_leaving_years_1_to_9999_in_utc_is_out_of_range(moment: datetime) -> None:
    assert refusal(to_utc, moment, field="startedAfter") == ("OUT_OF_RANGE", "startedAfter")
