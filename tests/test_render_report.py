"""Rendering the report model for people: the terminal table's columns at 100 and 80 columns, and
every total's words in the terminal, markdown and html (each one a count the reader can check)."""

from __future__ import annotations

import io
import re
from datetime import datetime
from pathlib import Path

import pytest
from rich.console import Console

from piu.report import Period, build_report
from piu.render_report import listed_heading, listed_phrase, render_html, render_markdown, render_terminal
from piu.reviews import add_review
from piu.store import Store
from tests.store_factories import KIEN, NOW, UTC, sample_store, totals_id, totals_store

WEEK = Period(datetime(2026, 11, 16, tzinfo=UTC), datetime(2026, 11, 22, 23, 59, 59, tzinfo=UTC))


@pytest.fixture()
def sample(tmp_path: Path) -> Store:
    st = Store(tmp_path / "sample")
    sample_store(st)
    add_review(st, KIEN, "cleared", "DOB checked against the passport", by="analyst2",
               at=datetime(2026, 11, 21, 2, 30, tzinfo=UTC))
    return st


@pytest.fixture()
def totals(tmp_path: Path) -> Store:
    st = Store(tmp_path / "totals")
    totals_store(st)
    return st


def terminal(report: dict, width: int) -> list[str]:
    out = io.StringIO()
    render_terminal(report, Console(file=out, width=width, highlight=False, soft_wrap=False, color_system=None))
    return out.getvalue().splitlines()


def table_of(lines: list[str]) -> list[str]:
    """The lines of the listed calls' table: its header to the line before the blank line after it."""
    start = next(i for i, ln in enumerate(lines) if ln.startswith("Call "))
    end = lines.index("", start)
    return [ln.rstrip() for ln in lines[start:end]]


# ---- the terminal table ----------------------------------------------------------------------

def test_call_id_column_fits_100_columns(sample: Store) -> None:
    lines = terminal(build_report(sample, WEEK, generated_at=NOW), 100)
    assert max(len(ln) for ln in lines) == 100
    table = table_of(lines)
    assert table == [
        "Call                         Local   Vessel          Score        Main reasons            Review",
        "─" * 100,
        "KHKOS-20261120-A-9074729     10:00   SEA PEARL        60 high     over-capacity (35),     unreviewed",
        "                                                                  passengers-on-cargo-v",
        "                                                                  essel (20),",
        "                                                                  flag-of-concern (5)",
        "THLCH-20261119-A-9188877     17:00   CHAO PHRAYA 2    35 medium   passengers-on-cargo-v   unreviewed",
        "                                                                  essel (20),",
        "                                                                  flag-of-concern (15)",
        "KHKOS-20261119-D-514000111   05:00   KIEN SVAY 88     25 medium   minor-in-crew (25)      cleared",
        "Not shown at 100 columns: Flag, Type, Persons; see piu show CALL_ID",
    ]


def test_call_id_column_at_80_columns_leaves_out_the_reasons_and_says_so(sample: Store) -> None:
    lines = terminal(build_report(sample, WEEK, generated_at=NOW), 80)
    assert max(len(ln) for ln in lines) <= 80
    assert table_of(lines) == [
        "Call                         Local   Vessel          Score        Review",
        "─" * 76,
        "KHKOS-20261120-A-9074729     10:00   SEA PEARL        60 high     unreviewed",
        "THLCH-20261119-A-9188877     17:00   CHAO PHRAYA 2    35 medium   unreviewed",
        "KHKOS-20261119-D-514000111   05:00   KIEN SVAY 88     25 medium   cleared",
        "Not shown at 80 columns: Flag, Type, Persons, Main reasons; see piu show CALL_ID",
    ]


@pytest.mark.parametrize("width", [60, 80, 100, 120, 160])
def test_every_call_id_is_whole_on_one_line(totals: Store, width: int) -> None:
    """An id folded over two lines cannot be copied into `piu show`: at every usual width it is whole."""
    report = build_report(totals, WEEK, min_band="low")
    lines = terminal(report, width)
    assert max(len(ln) for ln in lines) <= width
    rows = [ln for ln in table_of(lines) if ln.startswith("KHKOS-")]
    assert [ln.split()[0] for ln in rows] == [c["call_id"] for c in report["calls"]]
    assert rows[0].split()[0] == totals_id("9000001", 16)


def test_wide_terminal_shows_every_column_but_port_and_imo(sample: Store) -> None:
    """Port and IMO are in the call id: they come last, after every other column."""
    lines = terminal(build_report(sample, WEEK), 130)
    assert table_of(lines)[0].split() == ["Call", "Local", "Vessel", "Flag", "Type", "Persons", "Score", "Main",
                                          "reasons", "Review"]
    assert not any(ln.startswith("Not shown") for ln in lines)  # port and IMO: read them in the call id
    wider = terminal(build_report(sample, WEEK), 160)
    assert table_of(wider)[0].split() == ["Call", "Local", "Port", "Vessel", "IMO", "Flag", "Type", "Persons",
                                          "Score", "Main", "reasons", "Review"]


# ---- totals: words and numbers in every human format --------------------------------------------

HEADINGS = {
    ("medium", False): "Flagged calls (medium and high): 5 calls · 3 not reviewed (1 amended since their review)",
    ("high", False): "Flagged calls (high): 2 calls · 1 not reviewed",
    ("low", False): "Scored calls (all bands): 8 calls · 5 flagged (medium or high) · 5 not reviewed "
                    "(1 amended since their review)",
    ("medium", True): "Flagged calls (medium and high), not yet reviewed: 3 calls (1 amended since their review)",
    ("high", True): "Flagged calls (high), not yet reviewed: 1 call",
    ("low", True): "Scored calls (all bands), not yet reviewed: 5 calls (1 amended since their review) · "
                   "3 flagged (medium or high)",
}
PHRASES = {("medium", False): "5 flagged calls", ("high", False): "2 flagged calls (high)",
           ("low", False): "8 scored calls (all bands)", ("medium", True): "3 flagged calls not yet reviewed",
           ("high", True): "1 flagged call (high) not yet reviewed",
           ("low", True): "5 scored calls (all bands) not yet reviewed"}


@pytest.mark.parametrize(("min_band", "unreviewed"), list(HEADINGS))
def test_listed_heading_in_every_human_format(totals: Store, min_band: str, unreviewed: bool) -> None:
    report = build_report(totals, WEEK, min_band=min_band, unreviewed=unreviewed, generated_at=NOW)
    heading = HEADINGS[(min_band, unreviewed)]
    assert listed_heading(report) == heading
    assert listed_phrase(report) == PHRASES[(min_band, unreviewed)]
    assert f"\n## {heading}\n" in render_markdown(report)
    assert f"<h2>{heading}</h2>" in render_html(report)
    text = " ".join(ln.strip() for ln in terminal(report, 200))
    assert heading in text
    # the period's numbers are the same whatever is listed
    assert "Scored by band (every call scored in the period): high 2 · medium 3 · low 3" in text
    assert "not reviewed: " not in text  # the old "flagged and not reviewed: N" beside the period's bands


def test_period_numbers_and_listed_counts_are_told_apart_in_markdown(totals: Store) -> None:
    md = render_markdown(build_report(totals, WEEK, min_band="low", generated_at=NOW))
    assert ("Every call of the period:\n\n| Calls received | Persons | Calls scored | Not scored | High | Medium | Low |\n"
            "|---|---|---|---|---|---|---|\n| 9 | 0 | 8 | 1 | 2 | 3 | 3 |\n") in md
    assert ("Calls: every call scored in the period that hit the rule; Listed: of them, the calls listed above.\n\n"
            "| Rule | Title | Weight | Calls | Listed |\n|---|---|---|---|---|\n| rule-a | Rule a | 30 | 4 | 4 |\n"
            "| rule-c | Rule c | 5 | 3 | 3 |\n| rule-b | Rule b | 25 | 2 | 2 |\n") in md
    assert "## Calls listed above, per day (port local date)\n\n| Date (local) | Calls |  |\n" in md
    days = re.findall(r"^\| (2026-11-\d\d) \w\w\w \| (\d) \|", md, re.M)
    assert [int(n) for _, n in days] == [1, 2, 1, 2, 1, 1, 0]  # 8 in all: the rows listed


def test_hits_listed_column_counts_the_rows_shown(totals: Store) -> None:
    """With --unreviewed the hits table's second count is of the unreviewed rows, and says so ("Listed")."""
    report = build_report(totals, WEEK, unreviewed=True, generated_at=NOW)
    lines = [ln.rstrip() for ln in terminal(report, 100)]
    start = lines.index("Hits per rule")
    assert lines[start + 1:start + 6] == [
        "Rule     Title    Weight   Calls   Listed",
        "─" * 41,
        "rule-a   Rule a       30       4        2",
        "rule-c   Rule c        5       3        1",
        "rule-b   Rule b       25       2        2",
    ]
    html = render_html(report)
    assert "<th>Calls</th><th>Listed</th>" in html and "<th>Flagged</th>" not in html
    assert '<td class="num">4</td><td class="num">2</td>' in html


def test_per_day_legend_names_every_band_drawn(totals: Store) -> None:
    lines = [ln.rstrip() for ln in terminal(build_report(totals, WEEK, min_band="low"), 100)]
    start = lines.index("Calls listed above, per day (port local date)")
    assert lines[start + 1:start + 9] == [
        "2026-11-16 Mon ███████████████ 1",
        "2026-11-17 Tue ██████████████████████████████ 2",
        "2026-11-18 Wed ███████████████ 1",
        "2026-11-19 Thu ██████████████████████████████ 2",
        "2026-11-20 Fri ███████████████ 1",
        "2026-11-21 Sat ███████████████ 1",
        "2026-11-22 Sun 0",
        "  █ high  █ medium  █ low",
    ]


def test_no_listed_call_says_none(totals: Store) -> None:
    report = build_report(totals, Period(datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 31, tzinfo=UTC)))
    assert listed_heading(report) == "Flagged calls (medium and high): none"
    assert listed_phrase(report) == "0 flagged calls"
    assert "Flagged calls (medium and high): none" in terminal(report, 100)
