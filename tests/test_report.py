"""The report model: period, counts, flagged calls with review state, hits, days; call detail."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from piu.errors import InputError, UsageError
from piu.report import (Period, build_report, call_detail, call_versions, report_document, report_keys,
                        report_rows, resolve_period, row_columns)
from piu.reviews import add_review
from piu.risk.output import SCORE_KEYS
from piu.store import Store
from tests.store_factories import (ANDAMAN, CHON, KIEN, MEKONG, NOW, PEARL, PEARL_OCT, UTC, call, hit, sample_store,
                                   score, write)

WEEK = Period(datetime(2026, 11, 16, tzinfo=UTC), datetime(2026, 11, 22, 23, 59, 59, tzinfo=UTC))


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    st = Store(tmp_path / "home")
    sample_store(st)
    return st


def test_period_from_durations_and_dates() -> None:
    p = resolve_period("7d", None, now=NOW)
    assert (p.since, p.until) == (datetime(2026, 11, 15, 12, tzinfo=UTC), NOW)
    assert p.text() == "2026-11-15 12:00 to 2026-11-22 12:00 UTC (7 days)"
    assert resolve_period("24h", None, now=NOW).text() == "2026-11-21 12:00 to 2026-11-22 12:00 UTC (1 day)"
    assert resolve_period("6h", None, now=NOW).text() == "2026-11-22 06:00 to 2026-11-22 12:00 UTC (6 hours)"
    p = resolve_period("2026-11-01", "2026-11-30", now=NOW)
    assert p.until == datetime(2026, 11, 30, 23, 59, 59, 999999, tzinfo=UTC)
    assert resolve_period(None, None, now=NOW).since == datetime(2026, 11, 15, 12, tzinfo=UTC)


def test_period_errors_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="--since 'yesterday' is not a duration"):
        resolve_period("yesterday", None, now=NOW)
    with pytest.raises(UsageError, match="--since is after --until"):
        resolve_period("2026-11-20", "2026-11-10", now=NOW)


def test_port_accepts_locode_without_a_port_table(tmp_path: Path) -> None:
    from piu.io.ports import resolve_port_option as resolve_port

    assert resolve_port(tmp_path, None) is None
    assert resolve_port(tmp_path, "khkos") == "KHKOS"


def test_header_numbers(store: Store) -> None:
    r = build_report(store, WEEK, generated_at=NOW)
    assert r["summary"] == {"calls_received": 5, "persons": 21, "calls_scored": 4, "calls_not_scored": 1,
                            "by_band": {"low": 1, "medium": 2, "high": 1}, "flagged": 3, "flagged_unreviewed": 3,
                            "listed": 3, "listed_unreviewed": 3}
    assert r["period"] == {"since": "2026-11-16T00:00:00Z", "until": "2026-11-22T23:59:59Z",
                           "text": "2026-11-16 00:00 to 2026-11-22 23:59 UTC (7 days)"}
    assert r["ports"] == ["KHKOS", "THLCH"]
    assert r["ruleset_versions"] == ["2026.11-1"]
    assert r["generated_at"] == "2026-11-22T12:00:00Z"


def test_flagged_calls_sorted_by_band_then_score(store: Store) -> None:
    r = build_report(store, WEEK)
    assert [(c["call_id"], c["band"], c["score"]) for c in r["calls"]] == [
        (PEARL, "high", 60), (CHON, "medium", 35), (KIEN, "medium", 25)]
    assert r["calls"][0]["reasons"] == "over-capacity (35), passengers-on-cargo-vessel (20), flag-of-concern (5)"
    # the amended call is reported from its current version (16 aboard, not the first version's score)
    assert r["calls"][0]["persons_aboard"] == 16


def test_min_band_and_port_filter(store: Store) -> None:
    assert [c["call_id"] for c in build_report(store, WEEK, min_band="high")["calls"]] == [PEARL]
    assert [c["call_id"] for c in build_report(store, WEEK, min_band="low")["calls"]] == [PEARL, CHON, KIEN, MEKONG]
    r = build_report(store, WEEK, port="THLCH")
    assert [c["call_id"] for c in r["calls"]] == [CHON]
    assert r["summary"]["calls_received"] == 1
    with pytest.raises(UsageError, match="--min-band 'severe' is not a band"):
        build_report(store, WEEK, min_band="severe")


def test_older_calls_are_outside_the_period(store: Store) -> None:
    r = build_report(store, Period(datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 31, tzinfo=UTC)))
    assert r["summary"]["calls_received"] == 1
    assert r["summary"]["by_band"] == {"low": 1, "medium": 0, "high": 0}
    assert r["calls"] == []
    assert r["hits_per_rule"] == []


def test_review_status_and_unreviewed_filter(store: Store) -> None:
    add_review(store, KIEN, "cleared", "DOB checked against passport", by="analyst2",
               at=datetime(2026, 11, 21, tzinfo=UTC))
    r = build_report(store, WEEK)
    by_id = {c["call_id"]: c for c in r["calls"]}
    assert (by_id[KIEN]["review_status"], by_id[KIEN]["reviewed_by"], by_id[KIEN]["reviewed_at"]) == (
        "cleared", "analyst2", "2026-11-21T00:00:00Z")
    assert (by_id[PEARL]["review_status"], by_id[PEARL]["reviewed_by"], by_id[PEARL]["reviewed_at"]) == (
        "unreviewed", None, None)
    assert r["summary"]["flagged_unreviewed"] == 2
    assert [c["call_id"] for c in build_report(store, WEEK, unreviewed=True)["calls"]] == [PEARL, CHON]


def test_amended_after_review_counts_as_unreviewed(tmp_path: Path) -> None:
    st = Store(tmp_path)
    t = datetime(2026, 11, 20, 3, tzinfo=UTC)
    v1 = call(call_time=t, ingested=datetime(2026, 11, 20, 4, tzinfo=UTC), tag="first1")
    write(st, calls=[v1], scores=[score(v1, [hit("over-capacity", 60, "40 aboard, certified for 12")])])
    add_review(st, v1["call_id"], "cleared", "ok", by="a", at=datetime(2026, 11, 20, 5, tzinfo=UTC))
    v2 = call(call_time=t, ingested=datetime(2026, 11, 20, 6, tzinfo=UTC), tag="second")
    write(st, calls=[v2], scores=[score(v2, [hit("over-capacity", 60, "44 aboard, certified for 12")])])
    r = build_report(st, WEEK, unreviewed=True)
    assert [(c["call_id"], c["review_status"]) for c in r["calls"]] == [(v1["call_id"], "amended")]


def test_hits_per_rule_and_days(store: Store) -> None:
    r = build_report(store, WEEK)
    assert r["hits_per_rule"] == [
        {"rule": "flag-of-concern", "title": "Flag of concern", "weight": 15, "calls": 3, "flagged": 2, "listed": 2},
        {"rule": "passengers-on-cargo-vessel", "title": "Passengers on a cargo vessel", "weight": 20, "calls": 2,
         "flagged": 2, "listed": 2},
        {"rule": "over-capacity", "title": "More persons than certified", "weight": 35, "calls": 1, "flagged": 1,
         "listed": 1},
        {"rule": "minor-in-crew", "title": "Minor among the crew", "weight": 25, "calls": 1, "flagged": 1,
         "listed": 1},
    ]
    days = {d["date"]: (d["high"], d["medium"], d["total"]) for d in r["flagged_per_day"]}
    assert len(days) == 7
    # KIEN sails 22:00 UTC on the 18th = 05:00 on the 19th in Sihanoukville: the local day counts
    assert days["2026-11-19"] == (0, 2, 2)
    assert days["2026-11-20"] == (1, 0, 1)
    assert days["2026-11-18"] == (0, 0, 0)


def test_machine_rows_carry_score_keys_review_and_period(store: Store) -> None:
    r = build_report(store, WEEK)
    assert report_keys() == (*SCORE_KEYS, "reasons", "review_status", "reviewed_by", "reviewed_at")
    rows = report_rows(r)
    assert tuple(rows[0]) == row_columns()
    assert (rows[0]["period_start"], rows[0]["period_end"]) == ("2026-11-16T00:00:00Z", "2026-11-22T23:59:59Z")
    doc = report_document(r)
    assert tuple(doc["calls"][0]) == report_keys()
    assert doc["calls"][0]["hits"][1]["persons"] == [14, 15, 16, 17]
    assert "call_time_local" not in doc["calls"][0]


def test_empty_store_gives_a_zero_report(tmp_path: Path) -> None:
    r = build_report(Store(tmp_path / "none"), WEEK)
    assert r["summary"]["calls_received"] == 0
    assert r["calls"] == [] and r["hits_per_rule"] == []
    assert [d["total"] for d in r["flagged_per_day"]] == [0] * 7


def test_call_versions_oldest_first(store: Store) -> None:
    v = call_versions(store, PEARL)
    assert list(v["ingest_id"].str.slice(-6)) == ["v1pear", "v2pear"]
    assert len(call_versions(store, "KHKOS-20261120-A-0000000")) == 0
    assert len(call_versions(store, "not-an-id")) == 0


def test_call_detail(store: Store) -> None:
    add_review(store, PEARL, "referred", "to maritime police", by="analyst1", at=datetime(2026, 11, 21, tzinfo=UTC))
    d = call_detail(store, PEARL)
    assert d["particulars"]["vessel_name"] == "SEA PEARL"
    assert d["particulars"]["call_time_local"] == "2026-11-20T10:00:00+07:00"
    assert d["score"] == {"score": 60, "band": "high", "ruleset_version": "2026.11-1",
                          "scored_at": "2026-11-20T09:05:00Z", "scored_by": "analyst1", "persons_aboard": 16}
    marked = {p["source_row"]: p["hits"] for p in d["persons"]}
    assert len(marked) == 16
    assert marked[14] == ["passengers-on-cargo-vessel"] and marked[2] == []
    assert d["sources"] == [{"source_file": "sea_pearl_amended.csv", "source_sha256": "c" * 64,
                             "source_sheet": None, "rows": "2-17"}]
    assert [(v["current"], v["persons"], v["changes"]) for v in d["versions"]] == [
        (False, 12, []), (True, 16, ["declared_passengers", "persons"])]
    assert [(c["call_id"], c["when"], c["band"]) for c in d["previous_calls"]] == [(PEARL_OCT, "earlier", "low")]
    assert [(x["status"], x["by"], x["note"]) for x in d["reviews"]] == [("referred", "analyst1", "to maritime police")]


def test_call_detail_marks_persons_named_by_file_and_row(store: Store) -> None:
    d = call_detail(store, KIEN)
    assert [(p["source_row"], p["hits"]) for p in d["persons"]][:2] == [(5, ["minor-in-crew"]), (6, [])]
    assert d["previous_calls"] == []
    assert d["sources"][0]["source_sheet"] == "Crew" and d["sources"][0]["rows"] == "2, 5-9"


def test_call_detail_unscored_and_unknown(store: Store) -> None:
    d = call_detail(store, ANDAMAN)
    assert d["score"] is None and d["hits"] == [] and d["persons"] == []
    with pytest.raises(InputError, match=r"no call 'KHKOS-20261101-A-1234567' .*run `piu report` to find call ids"):
        call_detail(store, "KHKOS-20261101-A-1234567")


def test_count_at_or_above_reuses_the_report(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from piu.report import count_at_or_above

    add_review(store, PEARL, "boarded", "", by="a")
    medium = build_report(store, WEEK)
    high_only = build_report(store, WEEK, min_band="high")
    unrev = build_report(store, WEEK, unreviewed=True)
    expected = {("high", False): 1, ("medium", False): 3, ("low", False): 4, ("high", True): 0, ("medium", True): 2,
                ("low", True): 3}
    for (band, only_unreviewed), n in expected.items():
        assert count_at_or_above(store, WEEK, band, unreviewed=only_unreviewed) == n
    monkeypatch.setattr("piu.report.build_report", lambda *a, **k: pytest.fail("read the store again"))
    assert count_at_or_above(store, WEEK, "high", report=medium) == 1
    assert count_at_or_above(store, WEEK, "low", report=high_only) == 4
    assert count_at_or_above(store, WEEK, "high", unreviewed=True, report=unrev) == 0
    assert count_at_or_above(store, WEEK, "medium", unreviewed=True, report=unrev) == 2


def test_call_detail_names_person_changes_of_an_amendment_by_rows_only(tmp_path: Path) -> None:
    """An amended manifest where only the persons changed used to show no change at all."""
    from tests import store_factories as f

    st = Store(tmp_path / "amend")
    v1 = f.call(ingested=datetime(2026, 11, 20, 4, tzinfo=UTC), tag="v1aaaa")
    v2 = f.call(ingested=datetime(2026, 11, 20, 6, tzinfo=UTC), tag="v2bbbb")
    v3 = f.call(ingested=datetime(2026, 11, 20, 8, tzinfo=UTC), tag="v3cccc")
    assert v1["call_id"] == v2["call_id"] == v3["call_id"]
    keep = dict(family_name="SOK", given_names="DARA", name_key="SOK DARA", doc_number="SB000002")
    gone = dict(family_name="CHEA", given_names="VUTHY", name_key="CHEA VUTHY", doc_number="SB000003")
    new = dict(family_name="LIM", given_names="BORA", name_key="LIM BORA", doc_number="SB000009")
    persons = [f.person(v1, source_row=2, **keep), f.person(v1, source_row=3, **gone),
               # v2: one crew member replaced by another (same count), rows renumbered
               f.person(v2, source_row=5, **keep), f.person(v2, source_row=6, **new),
               # v3: the same persons as v2 in another order: no change
               f.person(v3, source_row=7, **new), f.person(v3, source_row=8, **keep)]
    f.write(st, [v1, v2, v3], persons)
    versions = call_detail(st, v1["call_id"])["versions"]
    assert [(v["persons"], v["changes"], v["person_changes"], v["changes_summary"]) for v in versions] == [
        (2, [], None, ""),
        (2, ["persons"], {"added": 1, "removed": 1, "added_rows": [6], "removed_rows": [3]},
         "persons: 1 added (row 6), 1 removed (was row 3)"),
        (2, [], {"added": 0, "removed": 0, "added_rows": [], "removed_rows": []}, ""),
    ]
    for word in ("CHEA", "VUTHY", "LIM", "BORA", "SB000003", "SB000009"):
        assert word not in versions[1]["changes_summary"]


# ---- every total against the rows, for every --min-band and --unreviewed ------------------------

@pytest.fixture()
def totals(tmp_path: Path) -> Store:
    from tests.store_factories import totals_store

    st = Store(tmp_path / "totals")
    totals_store(st)
    return st


# (min_band, unreviewed): names listed, then flagged, flagged_unreviewed, listed, listed_unreviewed
TOTALS = {
    ("medium", False): (["HIGH ONE", "HIGH TWO", "MEDIUM AMENDED", "MEDIUM ONE", "MEDIUM BOARDED"], 5, 3, 5, 3),
    ("high", False): (["HIGH ONE", "HIGH TWO"], 2, 1, 2, 1),
    ("low", False): (["HIGH ONE", "HIGH TWO", "MEDIUM AMENDED", "MEDIUM ONE", "MEDIUM BOARDED", "LOW ONE",
                      "LOW CLEARED", "LOW QUIET"], 5, 3, 8, 5),
    ("medium", True): (["HIGH ONE", "MEDIUM AMENDED", "MEDIUM ONE"], 3, 3, 3, 3),
    ("high", True): (["HIGH ONE"], 1, 1, 1, 1),
    ("low", True): (["HIGH ONE", "MEDIUM AMENDED", "MEDIUM ONE", "LOW ONE", "LOW QUIET"], 3, 3, 5, 5),
}
# (min_band, unreviewed): per rule (calls in the period, flagged listed, listed)
HITS = {
    ("medium", False): {"rule-a": (4, 3, 3), "rule-c": (3, 2, 2), "rule-b": (2, 2, 2)},
    ("high", False): {"rule-a": (4, 2, 2), "rule-c": (3, 0, 0), "rule-b": (2, 1, 1)},
    ("low", False): {"rule-a": (4, 3, 4), "rule-c": (3, 2, 3), "rule-b": (2, 2, 2)},
    ("medium", True): {"rule-a": (4, 2, 2), "rule-c": (3, 1, 1), "rule-b": (2, 2, 2)},
    ("high", True): {"rule-a": (4, 1, 1), "rule-c": (3, 0, 0), "rule-b": (2, 1, 1)},
    ("low", True): {"rule-a": (4, 2, 3), "rule-c": (3, 1, 1), "rule-b": (2, 2, 2)},
}


@pytest.mark.parametrize(("min_band", "unreviewed"), list(TOTALS))
def test_every_total_counts_the_rows_it_names(totals: Store, min_band: str, unreviewed: bool) -> None:
    """The period's numbers count every call; the listed counts, hits and days count the rows shown."""
    r = build_report(totals, WEEK, min_band=min_band, unreviewed=unreviewed)
    names, flagged, flagged_unreviewed, listed, listed_unreviewed = TOTALS[(min_band, unreviewed)]
    assert [c["vessel_name"] for c in r["calls"]] == names
    assert r["summary"] == {
        # every call of the period, whatever --min-band and --unreviewed
        "calls_received": 9, "persons": 0, "calls_scored": 8, "calls_not_scored": 1,
        "by_band": {"low": 3, "medium": 3, "high": 2},
        # the rows: flagged = band medium or high; *_unreviewed = review_status unreviewed or amended
        "flagged": flagged, "flagged_unreviewed": flagged_unreviewed, "listed": listed,
        "listed_unreviewed": listed_unreviewed}
    assert {h["rule"]: (h["calls"], h["flagged"], h["listed"]) for h in r["hits_per_rule"]} == HITS[
        (min_band, unreviewed)]
    assert [h["rule"] for h in r["hits_per_rule"]] == ["rule-a", "rule-c", "rule-b"]

    # each number again, counted from the rows themselves
    rows = r["calls"]
    open_ = [c for c in rows if c["review_status"] in ("unreviewed", "amended")]
    assert len(rows) == listed and len(open_) == listed_unreviewed
    assert sum(c["band"] != "low" for c in rows) == flagged
    assert sum(c["band"] != "low" for c in open_) == flagged_unreviewed
    for h in r["hits_per_rule"]:
        hit_rows = [c for c in rows if h["rule"] in {x["rule"] for x in c["hits"]}]
        assert (h["listed"], h["flagged"]) == (len(hit_rows), sum(c["band"] != "low" for c in hit_rows))
    assert sum(d["total"] for d in r["flagged_per_day"]) == listed
    bands = {"low": ["low", "medium", "high"], "medium": ["medium", "high"], "high": ["high"]}[min_band]
    for d in r["flagged_per_day"]:
        assert list(d) == ["date", *bands, "total"]
        day_rows = [c for c in rows if c["call_time_local"].startswith(d["date"])]
        assert [d[b] for b in bands] == [sum(c["band"] == b for c in day_rows) for b in bands]


def test_totals_store_review_states(totals: Store) -> None:
    r = build_report(totals, WEEK, min_band="low")
    assert {c["vessel_name"]: c["review_status"] for c in r["calls"]} == {
        "HIGH ONE": "unreviewed", "HIGH TWO": "cleared", "MEDIUM ONE": "unreviewed", "MEDIUM AMENDED": "amended",
        "MEDIUM BOARDED": "boarded", "LOW ONE": "unreviewed", "LOW CLEARED": "cleared", "LOW QUIET": "unreviewed"}
    days = {d["date"]: (d["low"], d["medium"], d["high"], d["total"]) for d in r["flagged_per_day"]}
    assert days == {"2026-11-16": (0, 0, 1, 1), "2026-11-17": (0, 1, 1, 2), "2026-11-18": (0, 1, 0, 1),
                    "2026-11-19": (1, 1, 0, 2), "2026-11-20": (1, 0, 0, 1), "2026-11-21": (1, 0, 0, 1),
                    "2026-11-22": (0, 0, 0, 0)}


@pytest.mark.parametrize(("band", "unreviewed", "expected"), [
    ("low", False, 8), ("medium", False, 5), ("high", False, 2), ("low", True, 5), ("medium", True, 3),
    ("high", True, 1)])
def test_fail_on_counts_every_band_at_or_above(totals: Store, band: str, unreviewed: bool, expected: int) -> None:
    """--fail-on low counts low calls too: it counts the listed rows, not the flagged total (medium and high)."""
    from piu.report import count_at_or_above

    assert count_at_or_above(totals, WEEK, band, unreviewed=unreviewed) == expected
    for min_band in ("low", "medium", "high"):  # reusing a report of any threshold gives the same count
        model = build_report(totals, WEEK, min_band=min_band, unreviewed=unreviewed)
        assert count_at_or_above(totals, WEEK, band, unreviewed=unreviewed, report=model) == expected
