"""UTC offsets and local days of an IANA zone, from the zone's own transitions.

``zoneinfo`` does not expose a zone's transitions, so they are found by asking the
zone for its offset a day apart and bisecting to the second where it changed (tzdata
transitions fall on whole seconds), once per zone and year. A zone that changes offset
twice within one day would hide that pair; no zone in tzdata does since the 1900s.
"""

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import cast
from zoneinfo import ZoneInfo

STEP = timedelta(days=1)
SECOND = timedelta(seconds=1)
# How far from a day's first instant an offset going back could take the local date
# back across it: more than any backward jump in tzdata.
MONOTONE_MARGIN = timedelta(days=3)

Transition = tuple[datetime, int]  # (UTC instant, offset in seconds from then on)


def offset_at(zone: ZoneInfo, instant: datetime) -> int:
    # An aware datetime always has an offset; utcoffset() is None only for naive ones.
    return int(cast(timedelta, instant.astimezone(zone).utcoffset()).total_seconds())


def local_day(instant: datetime, zone: ZoneInfo) -> date:
    """The calendar day ``instant`` falls on in ``zone``."""
    return instant.astimezone(zone).date()


def _first_with_new_offset(zone: ZoneInfo, before: datetime, after: datetime) -> datetime:
    old = offset_at(zone, before)
    while after - before > SECOND:
        middle = before + (after - before) // 2
        middle = middle.replace(microsecond=0)
        if offset_at(zone, middle) == old:
            before = middle
        else:
            after = middle
    return after


@lru_cache(maxsize=4096)
def _transitions_in_year(zone: ZoneInfo, year: int) -> tuple[Transition, ...]:
    """Transitions in (1 January ``year``, 1 January ``year + 1``], UTC."""
    moment = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    offset = offset_at(zone, moment)
    found: list[Transition] = []
    while moment < end:
        following = min(moment + STEP, end)
        new_offset = offset_at(zone, following)
        if new_offset != offset:
            found.append((_first_with_new_offset(zone, moment, following), new_offset))
            offset = new_offset
        moment = following
    return tuple(found)


def transitions(zone: ZoneInfo, start: datetime, end: datetime) -> list[Transition]:
    """Every offset change in (``start``, ``end``], oldest first."""
    # Years whose bounds, and their local times, are datetimes in every zone.
    first, last = max(start.astimezone(UTC).year - 1, 2), min(end.astimezone(UTC).year, 9998)
    years = range(first, last + 1)
    return [t for year in years for t in _transitions_in_year(zone, year) if start < t[0] <= end]


def offset_spans(zone: ZoneInfo, start: datetime, end: datetime) -> list[Transition]:
    """(UTC instant, offset from then on): the offset at ``start``, then one entry per
    change up to ``end``."""
    return [(start, offset_at(zone, start)), *transitions(zone, start, end)]


def first_instant_of_day(instant: datetime, zone: ZoneInfo) -> date | None:
    """The local day that ``instant`` begins in ``zone``, when "before ``instant``" means
    exactly "on an earlier local day": it is that day's first instant and, nearby, no
    offset going back takes the local date back (a zone turning its clocks back from
    00:30 to 23:30 would). None otherwise."""
    try:
        day = local_day(instant, zone)
        if local_day(instant - timedelta(microseconds=1), zone) >= day:
            return None
        nearby = transitions(zone, instant - MONOTONE_MARGIN, instant + MONOTONE_MARGIN)
    except OverflowError:  # within days of the first or last datetime: no day to speak of
        return None
    for moment, _ in nearby:
        if local_day(moment, zone) < local_day(moment - timedelta(microseconds=1), zone):
            return None
    return day
