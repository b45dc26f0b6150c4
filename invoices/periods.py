"""Invoice periods: calendar months in UTC, named by their first day."""

import re
from datetime import UTC, date, datetime, timedelta

_PERIOD = re.compile(r"(\d{4})-(\d{2})")


class PeriodError(ValueError):
    pass


def next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def last_day(first: date) -> date:
    return next_month(first) - timedelta(days=1)


def month_of(moment: datetime) -> date:
    return moment.astimezone(UTC).date().replace(day=1)


def previous_month(moment: datetime) -> date:
    """Return the month before the one `moment` falls in, in UTC."""
    return (month_of(moment) - timedelta(days=1)).replace(day=1)


def bounds(first: date) -> tuple[datetime, datetime]:
    """Return the month's first instant and the first instant after it, in UTC."""
    start = datetime(first.year, first.month, 1, tzinfo=UTC)
    end_day = next_month(first)
    return start, datetime(end_day.year, end_day.month, 1, tzinfo=UTC)


def parse_period(text: str) -> date:
    """Read `YYYY-MM` as the first day of that month."""
    match = _PERIOD.fullmatch(text.strip())
    if match is None:
        raise PeriodError(f"{text!r} is not a month: use YYYY-MM, e.g. 2026-03")
    year, month = int(match[1]), int(match[2])
    if not 1 <= month <= 12 or year < 2000:
        raise PeriodError(f"{text!r} is not a month: use YYYY-MM, e.g. 2026-03")
    return date(year, month, 1)


def ensure_ended(first: date, now: datetime) -> None:
    """Refuse a month that has not ended yet: its usage may still grow."""
    if now < bounds(first)[1]:
        raise PeriodError(
            f"{first:%Y-%m} has not ended yet; invoices are issued after the month ends"
        )
