"""Tests for piu.identity: person and vessel indexes over current calls, person and vessel lookups."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from piu import identity as idn
from piu.errors import UsageError
from piu.store import Store
from tests.risk.factories import call, person, write


@pytest.fixture
def store(tmp_path: Path) -> Store:
    st = Store(tmp_path / "h")
    pearl = call(imo="9074729", mmsi="514123456", vessel_name="SEA PEARL", flag="KHM", call_time="2026-10-01 03:00")
    star = call(imo="9074729", mmsi="667001234", vessel_name="OCEAN STAR", flag="SLE", call_time="2026-11-02 03:00")
    star7 = call(imo=None, mmsi="667001234", vessel_name="M/V OCEAN STAR 7", flag="SLE", call_time="2026-11-20 03:00")
    other = call(imo="9321456", mmsi="574111222", vessel_name="MEKONG STAR", flag="VNM", call_time="2026-11-21 03:00")
    # an amended manifest: the earlier version of `other` lists a person the current one does not
    old = call(imo="9321456", mmsi="574111222", vessel_name="MEKONG STAR", flag="VNM", call_time="2026-11-21 03:00",
               ingest_id="20261119T000000000000Z-oldold")
    old["version_id"] = old["call_id"] + "@" + old["ingest_id"]
    people = [
        person(pearl, family_name="NGUYEN", given_names="VAN HUNG", name_key="NGUYEN VAN HUNG",
               date_of_birth=date(1985, 3, 12), doc_number="C1234567", doc_issuer="VNM", source_row=2),
        person(star, family_name="HUNG", given_names="NGUYEN VAN", name_key="HUNG NGUYEN VAN",
               date_of_birth=date(1985, 3, 12), doc_number="C1234567", doc_issuer="VNM", source_row=5),
        person(star, role="passenger", family_name="NGUYEN", given_names="VAN HUY", name_key="NGUYEN VAN HUY",
               date_of_birth=date(1990, 1, 1), doc_number="C7654321", source_row=6),
        person(star7, family_name="NGUYEN", given_names="V HUNG", name_key="NGUYEN V HUNG",
               date_of_birth=date(1985, 12, 3), doc_number=None, source_row=3),
        person(other, family_name="SOK", given_names="DARA", name_key="SOK DARA", source_row=4),
        person(old, family_name="NGUYEN", given_names="VAN HUNG", name_key="NGUYEN VAN HUNG",
               date_of_birth=date(1985, 3, 12), source_row=9),
    ]
    write(st, [pearl, star, star7, other, old], people)
    return st


def test_person_calls_best_match_first(store: Store) -> None:
    got = idn.person_calls(store, "Nguyễn Văn Hùng", dob="12/03/1985")
    assert got[["score", "vessel_name", "source_row", "match"]].values.tolist() == [
        [1.0, "SEA PEARL", 2, "name equal, date of birth equal"],
        [1.0, "OCEAN STAR", 5, "name equal, date of birth equal"],
        [0.96, "M/V OCEAN STAR 7", 3, "name 0.91 token-match, date of birth day/month swapped"],
    ]
    assert list(got.columns) == idn.PERSON_OUTPUT


def test_person_calls_by_document_only(store: Store) -> None:
    got = idn.person_calls(store, None, doc="c-1234567")
    assert got[["call_id", "source_row", "match"]].values.tolist() == [
        ["KHKOS-20261001-A-9074729", 2, "document number equal (issuer not compared)"],
        ["KHKOS-20261102-A-9074729", 5, "document number equal (issuer not compared)"]]


def test_person_calls_threshold(store: Store) -> None:
    assert idn.person_calls(store, "NGUYEN VAN HUY", threshold=0.99)["source_row"].tolist() == [6]
    assert len(idn.person_calls(store, "NOBODY KNOWN")) == 0


@pytest.mark.parametrize("name, dob, doc, message", [
    ("", None, None, "give a name, or --doc NUMBER"),
    ("SOK", "31/02/1990", None, "--dob is not a date"),
])
def test_person_calls_usage(store: Store, name: str, dob: str | None, doc: str | None, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        idn.person_calls(store, name, dob=dob, doc=doc)


@pytest.mark.parametrize("query", ["9074729", "IMO 9074729", "667001234", "ocean star", "MV Sea Pearl"])
def test_vessel_calls_follow_the_identity_across_names(store: Store, query: str) -> None:
    frame, history = idn.vessel_calls(store, query)
    assert frame["vessel_name"].tolist() == ["SEA PEARL", "OCEAN STAR", "M/V OCEAN STAR 7"]
    assert frame["crew_listed"].tolist() == [1, 1, 1]
    assert frame["passengers_listed"].tolist() == [0, 1, 0]
    assert history["flag"] == ["KHM (2026-10-01)", "SLE (2026-11-02..2026-11-20)"]
    assert history["mmsi"] == ["514123456 (2026-10-01)", "667001234 (2026-11-02..2026-11-20)"]


def test_vessel_calls_unknown_and_empty(store: Store) -> None:
    frame, history = idn.vessel_calls(store, "NO SUCH SHIP")
    assert (len(frame), history) == (0, {})
    with pytest.raises(UsageError):
        idn.vessel_calls(store, "  ")


def test_person_index_keys_and_current_versions_only(store: Store) -> None:
    index = idn.person_index(store)
    assert sorted(index["source_row"].tolist()) == [2, 3, 4, 5, 6]  # row 9 was superseded
    keys = dict(zip(index["source_row"], index["person_key"]))
    assert keys[2] == keys[5] == "D:VNM:C1234567"
    assert keys[3] == "N:HUNG NGUIEN V:1985-12-03"


def test_vessel_index(store: Store) -> None:
    index = idn.vessel_index(store).set_index("vessel_name")
    assert index.loc["OCEAN STAR", ["vessel_key", "crew_listed", "passengers_listed"]].tolist() == ["IMO:9074729", 1, 1]
    assert index.loc["M/V OCEAN STAR 7", "vessel_key"] == "MMSI:667001234"
    assert len(index) == 4
