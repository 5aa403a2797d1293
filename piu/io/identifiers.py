"""Check digits of vessel identifiers: light (no regular expressions), for the scoring path, which
reads identifiers ingest already normalised (piu.io.normalise parses what agents write)."""

from __future__ import annotations


def imo_check_digit_ok(number: str) -> bool:
    """True when a 7-digit IMO ship number's last digit matches its check digit."""
    if len(number) != 7 or not number.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(number[:6], range(7, 1, -1)))
    return total % 10 == int(number[6])
