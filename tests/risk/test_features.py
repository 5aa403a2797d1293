"""Feature helpers the rules share: ages, integer codes of person columns (also across the scored
and the history persons), and the history engine paths that must give the same hits."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import pandas as pd

from piu.queries import persons_of
from piu.risk.config import defaults
from piu.risk.features import age_in_years, given_codes, joint_codes
from piu.risk.registry import RuleData
from piu.risk.scoring import score_store
from piu.store import Store
from tests.risk.factories import call, crew, person, write


def test_age_in_years_counts_birthdays_leap_days_and_missing_dates() -> None:
    born = pd.Series(pd.to_datetime(["2000-02-29", "2010-06-15", None, "1990-12-31", "2008-11-20"]))
    on = pd.Series(pd.to_datetime(["2026-02-28", "2026-06-15", "2026-01-01", "2026-12-30", "2026-11-19"]))
    ages = age_in_years(born, on)
    assert str(ages.dtype) == "Int64"
    assert ages.tolist() == [25, 16, pd.NA, 35, 17]


def test_given_codes_equal_values_equal_codes_and_blank_is_not_given() -> None:
    text = pd.Series(["A1", " ", None, "A1", "B2", ""], dtype="str")
    codes = given_codes(text)
    assert codes.dtype == np.int64
    assert codes.tolist() == [0, -1, -1, 0, codes[4], -1] and codes[4] not in (0, -1)
    dates = pd.Series([date(2000, 1, 1), None, date(2000, 1, 1), date(1999, 5, 5)], dtype="object")
    assert given_codes(dates).tolist() == [0, -1, 0, 1]


def test_joint_codes_match_dates_read_as_objects_and_as_timestamps() -> None:
    mine = pd.DataFrame({"date_of_birth": pd.to_datetime(["1990-01-02", "1985-03-04", None])})
    theirs = pd.DataFrame({"date_of_birth": pd.Series([date(1985, 3, 4), date(1990, 1, 2), None], dtype="object")})
    d = RuleData(calls=pd.DataFrame(), persons=mine, history_persons=theirs)
    m, t = joint_codes(d, "date_of_birth")
    assert (m.tolist(), t.tolist()) == ([0, 1, -1], [1, 0, -1])
    assert joint_codes(d, "date_of_birth") is d.cache[("joint_codes", "date_of_birth")]  # computed once


def test_joint_codes_of_history_persons_taken_from_the_scored_persons() -> None:
    mine = pd.DataFrame({"doc_number": pd.Series(["P1", "P2", None, "P1"], dtype="str")})
    theirs = pd.DataFrame({"doc_number": pd.Series(["P2", "P1"], dtype="str"), "person_row": [1, 3]})
    m, t = joint_codes(RuleData(calls=pd.DataFrame(), persons=mine, history_persons=theirs), "doc_number")
    assert (m.tolist(), t.tolist()) == ([0, 1, -1, 0], [1, 0])


def test_persons_for_computing_have_timestamp_dates_and_the_same_rows(tmp_path: Path) -> None:
    st = Store(tmp_path)
    c = call()
    write(st, [c], [person(c, date_of_birth=date(1990, 1, 2), doc_number="P123456")])
    plain = persons_of(st, [c["version_id"]])
    computed = persons_of(st, [c["version_id"]], compute=True)
    assert plain["date_of_birth"].tolist() == [date(1990, 1, 2)]
    assert str(computed["date_of_birth"].dtype).startswith("datetime64")
    assert computed["date_of_birth"].tolist() == [pd.Timestamp("1990-01-02")]
    assert computed.drop(columns=["date_of_birth", "doc_expiry"]).equals(plain.drop(columns=["date_of_birth", "doc_expiry"]))


def test_new_calls_scored_on_top_of_a_scored_store_get_the_history_hits_of_a_rescore(tmp_path: Path) -> None:
    """Scoring only the new calls (history read from the store) gives what a full rescore (history
    taken from the persons in memory) gives: same scores and the same evidence."""
    st = Store(tmp_path)
    arrival = call(call_time="2026-11-18 08:00", direction="arrival", ingest_id="20261118T000000000000Z-aaaaaa")
    crew_a = crew(arrival, 6)
    write(st, [arrival], crew_a)
    first = score_store(st, defaults())
    assert first.scored == 1
    departure = call(call_time="2026-11-20 08:00", direction="departure", ingest_id="20261120T000000000000Z-bbbbbb")
    # two of the arrival crew are gone; one document shows up under another name
    kept = [person(departure, **{k: v for k, v in p.items() if k in ("family_name", "given_names", "name_key",
                                                                     "date_of_birth", "doc_number", "nationality")},
                   role="crew") for p in crew_a[:3]]
    borrowed = person(departure, role="crew", family_name="OTHER", given_names="PERSON", name_key="OTHER PERSON",
                      doc_number=crew_a[4]["doc_number"], date_of_birth=date(1971, 7, 7))
    write(st, [departure], kept + [borrowed])
    new = score_store(st, defaults())
    assert (new.scored, new.reused) == (1, 1)
    again = score_store(st, defaults(), rescore=True)
    rescored = {r["call_id"]: json.loads(r["hits"]) for r in again.frame.to_dict(orient="records")}
    # the arrival's stored score is reused by the incremental run (no --rescore; its hits are read only
    # for printing, piu.risk.scoring.with_hits): compare the new call
    inc = {r["call_id"]: json.loads(r["hits"]) for r in new.frame.to_dict(orient="records") if isinstance(r["hits"], str)}
    assert list(inc) == [departure["call_id"]]
    assert inc[departure["call_id"]] == rescored[departure["call_id"]]
    rules = sorted(h["rule"] for h in inc[departure["call_id"]])
    assert rules == ["crew-missing-on-departure", "document-reused"]
    missing = next(h for h in inc[departure["call_id"]] if h["rule"] == "crew-missing-on-departure")
    assert missing["evidence"] == (f"2 crew members on the arrival list {arrival['call_id']} (rows "
                                   f"{crew_a[3]['source_row']}, {crew_a[5]['source_row']}) not on this departure list")


def test_group_rows_of_a_few_rows_are_those_of_many(monkeypatch) -> None:  # noqa: ANN001
    """group_rows works in Python on a few rows: the same lists, texts and order as in Arrow."""
    import random

    import pandas as pd

    import piu.risk.features as features

    rng = random.Random(9)
    for _ in range(40):
        n = rng.randint(0, 40)
        frame = pd.DataFrame({"version_id": pd.array([rng.choice(["B@1", "A@2", "C@1", "a@3"]) for _ in range(n)],
                                                     dtype="str"),
                              "source_row": pd.array([rng.choice([None, 2, 3, 15, 40, 7]) for _ in range(n)],
                                                     dtype="Int64")})
        limit = rng.choice([2, 12])
        small = features.group_rows(frame, limit=limit)
        with monkeypatch.context() as m:
            m.setattr(features, "SMALL_GROUPS", -1)
            arrow = features.group_rows(frame, limit=limit)
        for got, want in zip(small, arrow):
            assert got.index.tolist() == want.index.tolist() and got.index.name == want.index.name
            assert got.tolist() == want.tolist()
            assert str(got.dtype) == str(want.dtype)


def test_ages_are_whole_years_as_the_calendar_counts_them() -> None:
    """age_in_years works on day numbers: the same as years, months and days read with pandas."""
    import numpy as np
    import pandas as pd

    from piu.risk.features import age_in_years

    rng = np.random.default_rng(4)
    n = 20000
    born = pd.Series(pd.to_datetime(rng.integers(-200_000, 200_000, n), unit="D").astype("datetime64[us]"))
    on = pd.Series(pd.to_datetime(rng.integers(-100_000, 300_000, n), unit="D").astype("datetime64[us]"))
    born[rng.random(n) < 0.05] = pd.NaT
    on[rng.random(n) < 0.05] = pd.NaT
    born[:3] = [pd.Timestamp("2000-02-29"), pd.Timestamp("2008-11-21"), pd.Timestamp("1600-03-01")]
    on[:3] = [pd.Timestamp("2026-02-28"), pd.Timestamp("2026-11-21"), pd.Timestamp("1700-02-28")]
    before = (on.dt.month * 100 + on.dt.day) < (born.dt.month * 100 + born.dt.day)
    want = (on.dt.year - born.dt.year - before.astype("Int64")).astype("Int64")
    got = age_in_years(born, on)
    assert got.equals(want)
    assert got[:3].tolist() == [25, 18, 99]


def test_plain_digit_identifiers_are_judged_as_the_normaliser_judges_them() -> None:
    """IMO and MMSI statuses of plain digits (how ingest stores a readable number) are decided without
    loading the ingest normaliser; every such value gets the normaliser's verdict (the same digits after
    a space are not plain: the normaliser judges them, and strips the space)."""
    import random

    from piu.risk import features

    rng = random.Random(5)
    imos = ["0000000", "0123456", "9074729", "9074728", "1000000"] + [f"{rng.randrange(10**7):07d}" for _ in range(3000)]
    mmsis = ["000000000", "200999999", "201000000", "775999999", "776000000", "012345678"] + [
        f"{rng.randrange(10**9):09d}" for _ in range(3000)]
    features._imo_status_one.cache_clear()
    features._mmsi_status_one.cache_clear()
    assert [features._imo_status_one(t) for t in imos] == [features._imo_status_one(" " + t) for t in imos]
    assert [features._mmsi_status_one(t) for t in mmsis] == [features._mmsi_status_one(" " + t) for t in mmsis]
    verdicts = {features._imo_status_one(t) for t in imos} | {features._mmsi_status_one(t) for t in mmsis}
    assert verdicts == {None, "ok", "check", "mid"}
    assert [features._imo_status_one(t) for t in ["IMO 9074729", "９０７４７２９", "907 4729", "9074728"]] == [
        "ok", "ok", "ok", "check"]


def test_vessel_keys_of_a_few_calls_are_those_of_the_column_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """vessel_key works a few calls out in Python: the same keys as the column operations give."""
    import random

    from piu.risk import features

    rng = random.Random(9)
    imos = [None, "", "  ", "9074729", "9074728", "0000000", "IMO 9074729", " imo9074729 ", "907472", "X", "9876543"]
    mmsis = [None, "", "514123000", "000000000", "123456789", "51412300", "MMSI 514123000", "abc"]
    names = [None, "", "  ", "SEA PEARL", " SEA  PEARL ", "ស៊ី", "N/A"]
    calls = pd.DataFrame({"imo": pd.array([rng.choice(imos) for _ in range(600)], dtype="str"),
                          "mmsi": pd.array([rng.choice(mmsis) for _ in range(600)], dtype="str"),
                          "vessel_name_key": pd.array([rng.choice(names) for _ in range(600)], dtype="str")},
                         index=range(100, 700))
    small = features.vessel_key(calls)
    monkeypatch.setattr(features, "SMALL_KEYS", 0)
    columns = features.vessel_key(calls)
    pd.testing.assert_series_equal(small, columns)
    assert {k.split(":")[0] for k in small.dropna()} == {"IMO", "MMSI", "NAME"} and small.isna().any()
