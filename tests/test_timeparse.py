"""Times the user types: durations and ISO dates, in UTC."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from piu.errors import UsageError
from piu.timeparse import months_between, parse_time

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("text, expected", [
    ("24h", datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)),
    ("7d", datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)),
    ("2w", datetime(2026, 11, 15, 12, 0, tzinfo=timezone.utc)),
    ("1m", datetime(2026, 10, 30, 12, 0, tzinfo=timezone.utc)),
    (" 3D ", datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)),
    ("2026-11-01", datetime(2026, 11, 1, tzinfo=timezone.utc)),
    ("2026-11-01T07:00+07:00", datetime(2026, 11, 1, 0, 0, tzinfo=timezone.utc)),
])
def test_parse_time(text: str, expected: datetime) -> None:
    assert parse_time(text, now=NOW) == expected


def test_until_a_date_includes_that_day() -> None:
    assert parse_time("2026-11-30", end_of_day=True) == datetime(2026, 11, 30, 23, 59, 59, 999999, tzinfo=timezone.utc)


@pytest.mark.parametrize("text, message", [
    ("yesterday", "--since 'yesterday' is not a duration or a date"),
    ("1000000d", "--since '1000000d' reaches before year 1"),
])
def test_bad_times_are_usage_errors(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_time(text, now=NOW)


def test_months_between_crosses_years() -> None:
    assert months_between(datetime(2026, 11, 20), datetime(2027, 2, 1)) == ["2026-11", "2026-12", "2027-01", "2027-02"]
