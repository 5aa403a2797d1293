"""Times the user types: durations (`24h`, `7d`, `2w`, `1m`) and ISO dates, always in UTC."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from piu.errors import UsageError

_DURATION = re.compile(r"^\s*(\d+)\s*([hdwmy])\s*$", re.IGNORECASE)
_UNIT_DAYS = {"d": 1, "w": 7, "m": 30, "y": 365}


def now_utc() -> datetime:
    """The current time in UTC (tests may monkeypatch this)."""
    return datetime.now(timezone.utc)


def parse_time(text: str, *, option: str = "--since", now: datetime | None = None,
               end_of_day: bool = False) -> datetime:
    """A duration back from now, or an ISO date/time, as an aware UTC datetime.

    `7d` means seven days before now; `2026-11-01` means that day's start (or its end with
    `end_of_day`, so `--until 2026-11-30` includes the 30th); a time without a zone is UTC.
    """
    now = now or now_utc()
    m = _DURATION.match(text or "")
    if m:
        n, unit = int(m.group(1)), m.group(2).lower()
        try:
            delta = timedelta(hours=n) if unit == "h" else timedelta(days=n * _UNIT_DAYS[unit])
            return now - delta
        except OverflowError:
            raise UsageError(f"{option} {text!r} reaches before year 1",
                             hint="use a shorter duration or an ISO date like 2026-11-01") from None
    try:
        value = datetime.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise UsageError(f"{option} {text!r} is not a duration or a date",
                         hint="use e.g. 24h, 7d, 2w, 1m or an ISO date like 2026-11-01") from None
    date_only = len(text.strip()) <= 10
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    if date_only and end_of_day:
        value = value + timedelta(days=1) - timedelta(microseconds=1)
    return value.astimezone(timezone.utc)


def months_from(since: datetime | None, until: datetime | None) -> list[str] | None:
    """The partition months a period [since, until] can touch (None: every month, no start given).
    Without `until` the period is open: it runs past today (calls expected later, announced by
    pre-arrival manifests, are in it too), so the months run ten years on from today."""
    if since is None:
        return None
    from datetime import timedelta

    return months_between(since, until or max(since, now_utc()) + timedelta(days=3660))


def months_between(start: datetime, end: datetime) -> list[str]:
    """The partition months (YYYY-MM) that [start, end] touches."""
    out = []
    y, m = start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out
