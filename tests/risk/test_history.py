"""History rules over a real store: identity changes, reused documents, persons on two vessels, crew
missing on departure, crew turnover - with hits, no hits, window edges and missing data."""

from __future__ import annotations

import pytest

import json
from datetime import date
from pathlib import Path
from typing import Any

from piu.risk.config import defaults
from piu.risk.scoring import score_store
from piu.store import Store
from tests.risk.factories import call, crew, person, write


def ingest_of(day: str, tag: str = "aaaaaa") -> str:
    return day.replace("-", "") + "T000000000000Z-" + tag


def hits_by_call(store: Store) -> dict[str, dict[str, dict[str, Any]]]:
    """call_id -> rule -> hit, after scoring every call."""
    run = score_store(store, defaults())
    return {r["call_id"]: {h["rule"]: h for h in json.loads(r["hits"])}
            for r in run.frame[["call_id", "hits"]].to_dict(orient="records")}


def test_identity_change_names_the_nearest_other_identity(tmp_path: Path) -> None:
    st = Store(tmp_path)
    old = call(port="THLCH", call_time="2026-03-02 08:00", vessel_name="OCEAN PEARL", flag="PAN", mmsi="351234000",
               mmsi_country="PAN", ingest_id=ingest_of("2026-03-02"))
    new = call(call_time="2026-11-20 08:00", ingest_id=ingest_of("2026-11-20"))
    write(st, [old, new], [])
    hits = hits_by_call(st)
    assert hits[new["call_id"]]["identity-change"]["evidence"] == (
        "IMO 9074729 seen 2026-03-02 at THLCH with name OCEAN PEARL (here SEA STAR), flag PAN (here KHM), "
        "MMSI 351234000 (here 514123456)")
    assert hits[old["call_id"]]["identity-change"]["weight"] == 3


def test_identity_change_outside_window_and_same_identity_do_not_fire(tmp_path: Path) -> None:
    st = Store(tmp_path)
    far = call(port="THLCH", call_time="2025-11-19 08:00", vessel_name="OCEAN PEARL", ingest_id=ingest_of("2025-11-19"))
    same = call(port="THLCH", call_time="2026-10-01 08:00", ingest_id=ingest_of("2026-10-01"))
    new = call(call_time="2026-11-20 08:00", ingest_id=ingest_of("2026-11-20"))
    write(st, [far, same, new], [])
    assert "identity-change" not in hits_by_call(st)[new["call_id"]]


def test_identity_change_mmsi_with_another_imo(tmp_path: Path) -> None:
    st = Store(tmp_path)
    other = call(port="THBKK", call_time="2026-11-01 08:00", imo="9176187", vessel_name="SEA STAR",
                 ingest_id=ingest_of("2026-11-01"))
    new = call(call_time="2026-11-20 08:00", ingest_id=ingest_of("2026-11-20"))
    write(st, [other, new], [])
    assert hits_by_call(st)[new["call_id"]]["identity-change"]["evidence"] == (
        "MMSI 514123456 seen 2026-11-01 at THBKK with IMO 9176187 (here 9074729)")


def test_document_reused_under_another_name(tmp_path: Path) -> None:
    st = Store(tmp_path)
    a = call(port="THBKK", call_time="2026-06-01 08:00", imo="9176187", mmsi="567000001", mmsi_country="THA",
             vessel_name="GOLDEN BAY", ingest_id=ingest_of("2026-06-01"))
    b = call(call_time="2026-11-20 08:00", ingest_id=ingest_of("2026-11-20"))
    pa = [person(a, name_key="CHAN SOK", doc_number="N9988776", doc_issuer="KHM", source_row=3)]
    pb = [person(b, name_key="PICH DARA", doc_number="N9988776", doc_issuer="KHM", source_row=7),
          person(b, name_key="SAME MAN", doc_number="N5555555", source_row=8)]
    pa.append(person(a, name_key="SAME MAN", doc_number="N5555555", source_row=4))
    write(st, [a, b], pa + pb)
    hit = hits_by_call(st)[b["call_id"]]["document-reused"]
    assert hit["evidence"] == "document N9988776 (KHM) (row 7) used 2026-06-01 at THBKK on GOLDEN BAY under another name"
    assert hit["persons"] == [7]
    assert hit["weight"] == 4


def test_document_reused_other_birth_date_and_missing_data(tmp_path: Path) -> None:
    st = Store(tmp_path)
    a = call(port="THBKK", call_time="2026-06-01 08:00", imo="9176187", ingest_id=ingest_of("2026-06-01"))
    b = call(call_time="2026-11-20 08:00", ingest_id=ingest_of("2026-11-20"))
    people = [person(a, name_key="CHAN SOK", doc_number="N1111111", date_of_birth=date(1980, 1, 1)),
              person(b, name_key="CHAN SOK", doc_number="N1111111", date_of_birth=date(1985, 1, 1), source_row=2),
              # no name and no birth date on one side: not evidence of another person
              person(a, name_key=None, doc_number="N2222222", date_of_birth=None),
              person(b, name_key="KEO MEAS", doc_number="N2222222", source_row=3)]
    write(st, [a, b], people)
    assert hits_by_call(st)[b["call_id"]]["document-reused"]["evidence"] == (
        "document N1111111 (KHM) (row 2) used 2026-06-01 at THBKK on SEA STAR under another date of birth")


def test_person_on_two_vessels_within_a_day(tmp_path: Path) -> None:
    st = Store(tmp_path)
    a = call(call_time="2026-11-20 08:00", ingest_id=ingest_of("2026-11-20"))
    b = call(port="THLCH", call_time="2026-11-21 07:00", imo="9176187", vessel_name="GOLDEN BAY",
             ingest_id=ingest_of("2026-11-21"))
    c = call(port="THLCH", call_time="2026-11-21 09:00", imo="9231212", vessel_name="LATE ONE", mmsi="567000002",
             ingest_id=ingest_of("2026-11-21", "bbbbbb"))
    people = [person(a, name_key="LY NA", doc_number="N7777777", source_row=5),
              person(b, name_key="LY NA", doc_number="N7777777", source_row=2),
              person(c, name_key="LY NA", doc_number="N7777777", source_row=9)]
    write(st, [a, b, c], people)
    hits = hits_by_call(st)
    assert hits[a["call_id"]]["person-on-two-vessels"]["evidence"] == (
        "document N7777777 (row 5) also listed on GOLDEN BAY (IMO 9176187), arrival THLCH 2026-11-21 07:00 UTC, 23 h apart")
    assert hits[b["call_id"]]["person-on-two-vessels"]["persons"] == [2]
    # 25 hours apart: outside the 24-hour window for a and c, but c is 2 h from b
    assert "LATE ONE" not in hits[a["call_id"]]["person-on-two-vessels"]["evidence"]


def test_transfer_at_one_port_is_not_two_vessels(tmp_path: Path) -> None:
    st = Store(tmp_path)
    a = call(call_time="2026-11-20 08:00", ingest_id=ingest_of("2026-11-20"))
    b = call(direction="departure", call_time="2026-11-20 20:00", imo="9176187", vessel_name="GOLDEN BAY",
             mmsi="567000001", ingest_id=ingest_of("2026-11-20", "bbbbbb"))
    people = [person(a, name_key="LY NA", doc_number="N7777777"), person(b, name_key="LY NA", doc_number="N7777777")]
    write(st, [a, b], people)
    hits = hits_by_call(st)
    assert "person-on-two-vessels" not in hits[a["call_id"]]
    assert "person-on-two-vessels" not in hits[b["call_id"]]


def test_crew_missing_on_departure_and_sign_off(tmp_path: Path) -> None:
    st = Store(tmp_path)
    arr = call(call_time="2026-11-18 08:00", ingest_id=ingest_of("2026-11-18"))
    dep = call(direction="departure", call_time="2026-11-20 08:00", ingest_id=ingest_of("2026-11-20"))
    arrival_crew = crew(arr, 6)
    for i, p in enumerate(arrival_crew):
        p["source_row"] = i + 1
    arrival_crew[5]["disembark_port"] = "KHKOS"  # signed off here
    departure_crew = [person(dep, name_key=p["name_key"], doc_number=p["doc_number"]) for p in arrival_crew[:3]]
    # a renewed passport, same name: still aboard
    departure_crew.append(person(dep, name_key=arrival_crew[3]["name_key"], doc_number="N0000000"))
    write(st, [arr, dep], arrival_crew + departure_crew)
    hits = hits_by_call(st)
    assert hits[dep["call_id"]]["crew-missing-on-departure"]["evidence"] == (
        f"1 crew member on the arrival list {arr['call_id']} (row 5) not on this departure list")
    assert "crew-missing-on-departure" not in hits[arr["call_id"]]


def test_crew_missing_needs_a_departure_crew_list(tmp_path: Path) -> None:
    st = Store(tmp_path)
    arr = call(call_time="2026-11-18 08:00", ingest_id=ingest_of("2026-11-18"))
    dep = call(direction="departure", call_time="2026-11-20 08:00", ingest_id=ingest_of("2026-11-20"))
    write(st, [arr, dep], crew(arr, 5))
    assert "crew-missing-on-departure" not in hits_by_call(st)[dep["call_id"]]


def test_crew_turnover(tmp_path: Path) -> None:
    st = Store(tmp_path)
    prev = call(port="THLCH", call_time="2026-11-10 08:00", ingest_id=ingest_of("2026-11-10"))
    now = call(call_time="2026-11-20 08:00", ingest_id=ingest_of("2026-11-20"))
    before = crew(prev, 6)
    kept = [person(now, name_key=p["name_key"], doc_number=p["doc_number"], source_row=i + 1) for i, p in enumerate(before[:2])]
    fresh = [person(now, source_row=i + 3) for i in range(4)]
    write(st, [prev, now], before + kept + fresh)
    hit = hits_by_call(st)[now["call_id"]]["crew-turnover"]
    assert hit["evidence"] == (f"4 of 6 crew (67%) were not on the crew list of the previous call {prev['call_id']}, "
                               "10 days earlier (rows 3, 4, 5, 6)")
    assert hit["persons"] == [3, 4, 5, 6]


def test_crew_turnover_half_is_not_more_than_half(tmp_path: Path) -> None:
    st = Store(tmp_path)
    prev = call(port="THLCH", call_time="2026-11-10 08:00", ingest_id=ingest_of("2026-11-10"))
    now = call(call_time="2026-11-20 08:00", ingest_id=ingest_of("2026-11-20"))
    before = crew(prev, 4)
    people = before + [person(now, name_key=p["name_key"], doc_number=p["doc_number"]) for p in before[:2]] + crew(now, 2)
    write(st, [prev, now], people)
    assert "crew-turnover" not in hits_by_call(st)[now["call_id"]]


def test_crew_missing_is_not_hidden_by_a_namesake(tmp_path: Path) -> None:
    st = Store(tmp_path)
    arr = call(call_time="2026-11-18 08:00", ingest_id=ingest_of("2026-11-18"))
    dep = call(direction="departure", call_time="2026-11-20 08:00", ingest_id=ingest_of("2026-11-20"))
    arrival_crew = crew(arr, 3)
    for i, p in enumerate(arrival_crew):
        p["source_row"] = i + 1
    arrival_crew[2].update(name_key="NGUYEN VAN HUNG", date_of_birth=date(1990, 1, 2))
    departure_crew = [person(dep, name_key=p["name_key"], doc_number=p["doc_number"],
                             date_of_birth=p["date_of_birth"]) for p in arrival_crew[:2]]
    # another man of the same common name, born another day, with another passport: not the one who left
    departure_crew.append(person(dep, name_key="NGUYEN VAN HUNG", doc_number="C7777777", date_of_birth=date(1985, 6, 7)))
    write(st, [arr, dep], arrival_crew + departure_crew)
    assert hits_by_call(st)[dep["call_id"]]["crew-missing-on-departure"]["evidence"] == (
        f"1 crew member on the arrival list {arr['call_id']} (row 3) not on this departure list")


@pytest.mark.parametrize("same_port", [True, False])
def test_previous_calls_are_the_pairs_merge_asof_gives(same_port: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    import random

    import numpy as np
    import pandas as pd

    from piu.risk.rules.history import _previous_calls, _previous_calls_merged

    rng = random.Random(2)
    matched = 0
    for _ in range(40):
        def calls(n: int, tag: str) -> pd.DataFrame:
            minutes = rng.sample(range(0, 60 * 24 * 20, 7), n)  # distinct times: ties have no defined order
            return pd.DataFrame({
                "version_id": [f"{tag}{i}@x" for i in range(n)],
                "call_id": [rng.choice([f"{tag}{i}", "SAME"]) for i in range(n)],
                "vessel_key": pd.array([rng.choice(["IMO:1", "IMO:2", "MMSI:3", None, " "]) for _ in range(n)], dtype="str"),
                "port": pd.array([rng.choice(["KHKOS", "THBKK", None]) for _ in range(n)], dtype="str"),
                "direction": pd.array([rng.choice(["arrival", "departure"]) for _ in range(n)], dtype="str"),
                "call_time": pd.Series([pd.Timestamp("2026-09-01", tz="UTC") + pd.Timedelta(minutes=m)
                                        for m in minutes], dtype="datetime64[us, UTC]")})
        h, targets = calls(rng.randint(0, 25), "H"), calls(rng.randint(0, 10), "T")
        cache: dict = {}  # one RuleData's: shared by every pairing of the same two tables
        for direction in (None, "arrival"):
            days = rng.choice([1, 30])
            got = _previous_calls(targets, h, same_port=same_port, direction=direction, max_days=days, cache=cache)
            # the definition: a backward merge_asof (what a full score runs)
            want = _previous_calls_merged(targets, h, same_port=same_port, direction=direction, max_days=days)
            cols = ["version_id", "call_id", "call_time", "prev_call_id", "prev_version_id", "prev_time"]
            assert got[cols].astype("str").values.tolist() == want[cols].astype("str").values.tolist()
            if same_port:
                assert got["port"].astype("str").tolist() == want["port"].astype("str").tolist()
            matched += len(got)
            # the same pairs when rows are chosen by masks instead of by copies of the frames
            where, h_where = (np.array([rng.random() < 0.7 for _ in range(len(f))], dtype=bool) for f in (targets, h))
            masked = _previous_calls(targets, h, same_port=same_port, direction=direction, max_days=days,
                                     where=where, h_where=h_where, cache=cache)
            copied = _previous_calls_merged(targets[where], h[h_where], same_port=same_port, direction=direction,
                                            max_days=days)
            assert masked[cols].astype("str").values.tolist() == copied[cols].astype("str").values.tolist()
            with monkeypatch.context() as m:  # many calls take merge_asof, masks included
                m.setattr("piu.risk.rules.history.SMALL_PAIRS", -1)
                large = _previous_calls(targets, h, same_port=same_port, direction=direction, max_days=days,
                                        where=where, h_where=h_where)
            assert large[cols].astype("str").values.tolist() == copied[cols].astype("str").values.tolist()
    assert matched > 20  # the cases pair calls, not only nothing with nothing
