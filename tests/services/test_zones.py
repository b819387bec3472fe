"""Zone offsets from the zone's own transitions (services/zones.py)."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from gql_server.services.zones import first_instant_of_day, offset_spans, transitions

BERLIN = ZoneInfo("Europe/Berlin")
YEAR_2025 = (datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))


def test_berlin_changes_offset_at_the_second_tzdata_says() -> None:
    assert transitions(BERLIN, *YEAR_2025) == [
        (datetime(2025, 3, 30, 1, tzinfo=UTC), 7200),
        (datetime(2025, 10, 26, 1, tzinfo=UTC), 3600),
    ]


def test_utc_and_kolkata_have_one_offset_and_no_transition() -> None:
    assert offset_spans(ZoneInfo("UTC"), *YEAR_2025) == [(YEAR_2025[0], 0)]
    assert offset_spans(ZoneInfo("Asia/Kolkata"), *YEAR_2025) == [(YEAR_2025[0], 19800)]


def test_a_span_of_years_has_two_transitions_a_year() -> None:
    start, end = datetime(2020, 6, 1, tzinfo=UTC), datetime(2025, 6, 1, tzinfo=UTC)
    spans = offset_spans(ZoneInfo("America/New_York"), start, end)
    assert len(spans) == 1 + 2 * 5
    assert [offset for _, offset in spans[:3]] == [-14400, -18000, -14400]


def test_local_midnight_is_the_first_instant_of_its_day() -> None:
    midnight = datetime(2025, 3, 30, tzinfo=BERLIN).astimezone(UTC)
    assert first_instant_of_day(midnight, BERLIN) == date(2025, 3, 30)
    assert first_instant_of_day(midnight + timedelta(microseconds=1), BERLIN) is None
    assert first_instant_of_day(datetime(2025, 3, 30, tzinfo=UTC), BERLIN) is None


def test_midnights_next_to_an_offset_going_back_are_day_boundaries_when_the_date_runs_on() -> None:
    """Berlin goes back from 03:00 to 02:00: the date never runs backwards."""
    midnight = datetime(2025, 10, 26, tzinfo=BERLIN).astimezone(UTC)
    assert first_instant_of_day(midnight, BERLIN) == date(2025, 10, 26)


def test_the_first_and_last_days_of_the_calendar_are_no_boundaries() -> None:
    """A filter from year 1 or to year 9999 is answered from the jobs, not refused."""
    utc = ZoneInfo("UTC")
    assert first_instant_of_day(datetime(1, 1, 1, tzinfo=UTC), utc) is None
    assert first_instant_of_day(datetime(9999, 12, 31, tzinfo=UTC), BERLIN) is None
