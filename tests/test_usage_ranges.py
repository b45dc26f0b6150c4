import zoneinfo
from datetime import UTC, date, datetime

import pytest
from django.http import QueryDict
from django.utils import timezone

from usage.ranges import RangeError, parse_usage_query

TODAY = date(2026, 3, 18)


def _parse(querystring: str, today: date = TODAY):
    return parse_usage_query(QueryDict(querystring), today=today)


@pytest.mark.parametrize(
    ("preset", "first", "last"),
    [
        ("today", date(2026, 3, 18), date(2026, 3, 18)),
        ("7d", date(2026, 3, 12), date(2026, 3, 18)),
        ("30d", date(2026, 2, 17), date(2026, 3, 18)),
        ("this_month", date(2026, 3, 1), date(2026, 3, 18)),
        ("last_month", date(2026, 2, 1), date(2026, 2, 28)),
    ],
)
def test_presets_cover_whole_days_up_to_today(preset, first, last):
    query = _parse(f"range={preset}")
    assert (query.first_day, query.last_day) == (first, last)


def test_default_is_the_last_30_days():
    assert _parse("").preset == "30d"


def test_last_month_in_january_is_december_of_last_year():
    query = _parse("range=last_month", today=date(2026, 1, 5))
    assert (query.first_day, query.last_day) == (date(2025, 12, 1), date(2025, 12, 31))


def test_custom_range_is_inclusive_of_its_end_day():
    query = _parse("range=custom&start=2026-01-10&end=2026-01-12")
    assert query.days == 3
    assert query.start == datetime(2026, 1, 10, tzinfo=UTC)
    assert query.end == datetime(2026, 1, 13, tzinfo=UTC)


def test_short_ranges_are_charted_by_hour_longer_ones_by_day():
    assert _parse("range=today").by_hour
    assert not _parse("range=7d").by_hour


@pytest.mark.parametrize(
    ("querystring", "message", "field"),
    [
        ("range=custom&start=2026-13-01&end=2026-01-02", "not a date", "start"),
        ("range=custom&start=2026-01-01&end=yesterday", "not a date", "end"),
        ("range=custom&start=2026-01-05&end=2026-01-01", "before the start", "end"),
        ("range=custom&end=2026-01-01", "needs a start date", "start"),
        ("range=custom&start=2020-01-01&end=2026-01-01", "at most", "start"),
        ("range=fortnight", "Unknown range", "range"),
        ("range=7d&start=2026-01-01", "custom range only", "start"),
        ("end=2026-01-01", "custom range only", "end"),
        ("key=abc", "not a key of this group", "key"),
    ],
)
def test_bad_parameters_say_what_is_wrong(querystring, message, field):
    with pytest.raises(RangeError, match=message) as caught:
        _parse(querystring)
    assert caught.value.field == field


def test_days_are_the_users_days_stored_as_utc():
    with timezone.override(zoneinfo.ZoneInfo("America/New_York")):
        query = _parse("range=custom&start=2026-07-01&end=2026-07-01")
    # Midnight in New York in summer is 04:00 UTC.
    assert query.start == datetime(2026, 7, 1, 4, tzinfo=UTC)
    assert query.end == datetime(2026, 7, 2, 4, tzinfo=UTC)


def test_a_day_with_a_daylight_saving_change_has_its_real_length():
    with timezone.override(zoneinfo.ZoneInfo("Europe/Berlin")):
        query = _parse("range=custom&start=2026-03-29&end=2026-03-29")
    assert (query.end - query.start).total_seconds() == 23 * 3600


def test_querystring_reproduces_the_query_for_sharing():
    query = _parse("range=custom&start=2026-01-10&end=2026-01-12&model=sonar&key=7")
    again = _parse(query.querystring())
    assert again == query
    assert "key=9" in query.querystring(key=9)
