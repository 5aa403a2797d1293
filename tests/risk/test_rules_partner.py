"""The partner-alert rule: vessels and (hashed) persons in partner units' flagged cases."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import pytest

from piu.exchange import ExchangeKey, PersonHasher, hash_persons
from piu.risk import features as feat
from piu.risk.registry import RuleData, get_rule
from tests.risk.factories import call, frames, person

KEY = ExchangeKey(bytes(range(32)), "test")
OTHER_KEY = ExchangeKey(bytes(range(1, 33)), "test")
RULE = get_rule("partner-alert")


def partner_vessel(imo: str | None = "9074729", mmsi: str | None = None, on: str = "2026-11-12",
                   unit: str = "TH-SGZ", rules: str = "passengers-on-non-passenger-vessel") -> dict[str, Any]:
    """One row of reference['partner_vessels'] as partner_reference returns it."""
    return {"unit": unit, "call_id": f"THLCH-{on.replace('-', '')}-A-X", "call_date": date.fromisoformat(on),
            "imo": imo, "mmsi": mmsi, "rules": rules}


def partner_person(on: str = "2026-11-12", unit: str = "TH-SGZ", **fields: Any) -> dict[str, Any]:
    """One row of reference['partner_persons']: a partner's person hashed with the regional key."""
    base = {"doc_number": None, "doc_issuer": None, "nationality": None, "name_key": None, "date_of_birth": None}
    base.update(fields)
    hashed = hash_persons(pd.DataFrame([base]), KEY).iloc[0]
    return {"unit": unit, "call_id": "THLCH-X", "call_date": date.fromisoformat(on),
            "doc_hash": hashed["doc_hash"], "name_dob_hash": hashed["name_dob_hash"]}


def run(calls: list[dict[str, Any]], persons: list[dict[str, Any]], vessels: list[dict[str, Any]] = (),
        partner_persons: list[dict[str, Any]] = (), key: ExchangeKey | None = KEY,
        params: dict[str, Any] | None = None) -> pd.DataFrame:
    """Hits of the rule over call/person rows and partner reference rows."""
    c, p = frames(calls, persons)
    fc, fp = feat.build(c, p)
    reference = {"partner_vessels": pd.DataFrame(list(vessels), columns=["unit", "call_id", "call_date", "imo", "mmsi", "rules"]),
                 "partner_persons": pd.DataFrame(list(partner_persons),
                                                 columns=["unit", "call_id", "call_date", "doc_hash", "name_dob_hash"]),
                 "partner_hasher": PersonHasher(key) if key is not None else None}
    return RULE.func(RuleData(calls=fc, persons=fp, reference=reference), {**RULE.defaults(), **(params or {})})


LOCAL_TIME = "2026-12-01 08:00"  # 15:00 in Sihanoukville: the local date is 2026-12-01


def local_call(**kw: Any) -> dict[str, Any]:
    return call(call_time=LOCAL_TIME, call_time_local="2026-12-01T15:00:00+07:00", **kw)


VESSEL_CASES = [
    # (call fields, partner vessel rows, params, expected evidence or None)
    ({}, [partner_vessel()], {},
     "vessel flagged by unit TH-SGZ on 2026-11-12 (passengers-on-non-passenger-vessel)"),
    ({"imo": None}, [partner_vessel(imo=None, mmsi="514123456", rules="overcapacity,minor-in-crew")], {},
     "vessel flagged by unit TH-SGZ on 2026-11-12 (overcapacity, minor-in-crew)"),
    ({"imo": "IMO 9074729"}, [partner_vessel(on="2026-06-04")], {},  # exactly 180 days before: counts
     "vessel flagged by unit TH-SGZ on 2026-06-04 (passengers-on-non-passenger-vessel)"),
    ({}, [partner_vessel(on="2026-06-03")], {}, None),                 # 181 days before
    ({}, [partner_vessel(on="2026-06-03")], {"days": 181},
     "vessel flagged by unit TH-SGZ on 2026-06-03 (passengers-on-non-passenger-vessel)"),
    ({}, [partner_vessel(on="2026-12-02")], {}, None),                 # after the call
    ({}, [partner_vessel(imo="9999999")], {}, None),                   # another vessel
    ({"imo": None, "mmsi": None}, [partner_vessel(imo=None, mmsi=None)], {}, None),  # nothing to compare
    ({}, [partner_vessel(on="2026-11-12"), partner_vessel(on="2026-11-20", unit="ID-TPP", rules="")], {},
     "vessel flagged by unit ID-TPP on 2026-11-20; vessel flagged by unit TH-SGZ on 2026-11-12 "
     "(passengers-on-non-passenger-vessel)"),
]


@pytest.mark.parametrize(("call_fields", "vessels", "params", "expected"), VESSEL_CASES)
def test_vessel_cases(call_fields: dict[str, Any], vessels: list[dict[str, Any]], params: dict[str, Any],
                      expected: str | None) -> None:
    c = local_call(**call_fields)
    hits = run([c], [person(c)], vessels, params=params)
    if expected is None:
        assert len(hits) == 0
    else:
        assert hits["version_id"].tolist() == [c["version_id"]]
        assert hits["evidence"].tolist() == [expected]
        assert hits["persons"].tolist() == [None]


PERSON_CASES = [
    # (local person fields, partner person fields, expected evidence or None)
    ({"doc_number": "N1234567", "doc_issuer": "KHM"}, {"doc_number": "N 123-4567", "nationality": "KHM"},
     "row 12 matches a person in a case flagged by unit TH-SGZ on 2026-11-12 (document)"),
    ({"doc_number": "N1234567", "doc_issuer": "KHM"}, {"doc_number": "N1234567", "doc_issuer": "THA"}, None),
    ({"name_key": "SOK DARA", "date_of_birth": date(2009, 3, 4)},
     {"name_key": "Dara  Sók", "date_of_birth": date(2009, 3, 4)},
     "row 12 matches a person in a case flagged by unit TH-SGZ on 2026-11-12 (name and date of birth)"),
    ({"name_key": "SOK DARA", "date_of_birth": date(2009, 3, 4)},
     {"name_key": "SOK DARA", "date_of_birth": date(2009, 4, 3)}, None),
    ({"name_key": "SOK DARA", "date_of_birth": None}, {"name_key": "SOK DARA", "date_of_birth": None}, None),
    ({"doc_number": "N1234567", "doc_issuer": "KHM", "name_key": "SOK DARA", "date_of_birth": date(2009, 3, 4)},
     {"doc_number": "n1234567", "doc_issuer": "KHM", "name_key": "SOK DARA", "date_of_birth": date(2009, 3, 4)},
     "row 12 matches a person in a case flagged by unit TH-SGZ on 2026-11-12 (document, name and date of birth)"),
]


@pytest.mark.parametrize(("local", "theirs", "expected"), PERSON_CASES)
def test_person_cases(local: dict[str, Any], theirs: dict[str, Any], expected: str | None) -> None:
    c = local_call(imo="9311111", mmsi=None)
    fields = {"doc_number": None, "doc_issuer": None, "name_key": "OTHER NAME", "date_of_birth": date(1980, 1, 1)}
    fields.update(local)
    people = [person(c, source_row=11), person(c, source_row=12, **fields)]
    hits = run([c], people, partner_persons=[partner_person(**theirs)])
    if expected is None:
        assert len(hits) == 0
    else:
        assert hits["evidence"].tolist() == [expected]
        assert hits["persons"].tolist() == [[12]]


def test_vessel_and_person_in_one_hit() -> None:
    c = local_call()
    people = [person(c, source_row=4, doc_number="AA7654321", doc_issuer="THA")]
    hits = run([c], people, [partner_vessel()], [partner_person(doc_number="AA7654321", doc_issuer="THA")])
    assert hits["evidence"].tolist() == [
        "vessel flagged by unit TH-SGZ on 2026-11-12 (passengers-on-non-passenger-vessel); "
        "row 4 matches a person in a case flagged by unit TH-SGZ on 2026-11-12 (document)"]
    assert hits["persons"].tolist() == [[4]]


def test_without_a_key_only_vessels_match() -> None:
    c = local_call()
    people = [person(c, source_row=4, doc_number="AA7654321", doc_issuer="THA")]
    theirs = [partner_person(doc_number="AA7654321", doc_issuer="THA")]
    hits = run([c], people, [partner_vessel()], theirs, key=None)
    assert hits["evidence"].tolist() == ["vessel flagged by unit TH-SGZ on 2026-11-12 (passengers-on-non-passenger-vessel)"]
    assert len(run([c], people, [], theirs, key=None)) == 0


def test_a_different_key_matches_no_person() -> None:
    c = local_call()
    people = [person(c, source_row=4, doc_number="AA7654321", doc_issuer="THA")]
    assert len(run([c], people, [], [partner_person(doc_number="AA7654321", doc_issuer="THA")], key=OTHER_KEY)) == 0


def test_only_matching_calls_hit_among_many() -> None:
    calls = [local_call(imo=f"93{i:05d}", mmsi=None) for i in range(50)]
    people = [person(c) for c in calls]
    hits = run(calls, people, [partner_vessel(imo="9300007"), partner_vessel(imo="9300042")])
    assert sorted(hits["version_id"]) == sorted([calls[7]["version_id"], calls[42]["version_id"]])


def test_no_partner_data_no_hits() -> None:
    c = local_call()
    assert len(run([c], [person(c)])) == 0
    fc, fp = feat.build(*frames([c], [person(c)]))
    assert len(RULE.func(RuleData(calls=fc, persons=fp), RULE.defaults())) == 0


def test_registered_with_weight_and_window() -> None:
    assert (RULE.weight, RULE.category, RULE.defaults()) == (4, "watchlist", {"days": 180})
