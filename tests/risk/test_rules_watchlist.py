"""Case tables for the watchlist rules: watchlist-person, watchlist-document, watchlist-vessel."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import pytest

from piu.risk.registry import RuleData, all_rules

RULES = all_rules()


def entry(**kw: Any) -> dict[str, Any]:
    """One watchlist entry as the rules receive it (the watchlists schema's columns)."""
    row = {"list_name": "blo-2026", "entry_id": "W-0042", "kind": "person", "name": None, "aliases": None,
           "imo": None, "mmsi": None, "call_sign": None, "flag": None, "date_of_birth": None, "birth_year": None,
           "nationality": None, "gender": None, "doc_number": None, "doc_issuer": None, "reason": "smuggling facilitator",
           "source": "BLO", "expires": None}
    row.update(kw)
    return row


def person(**kw: Any) -> dict[str, Any]:
    """One person row as the rules receive it."""
    row = {"version_id": "C1@i", "source_row": 14, "role": "crew", "name_key": "SOK DARA", "nationality": "KHM",
           "date_of_birth": date(1987, 5, 17), "gender": "M", "doc_number": "SB0001", "doc_issuer": "KHM"}
    row.update(kw)
    return row


def run(rule_id: str, persons: list[dict], entries: list[dict], key: str, calls: list[dict] | None = None,
        **params: Any) -> list[dict]:
    calls_df = pd.DataFrame(calls or [{"version_id": "C1@i"}])
    data = RuleData(calls=calls_df, persons=pd.DataFrame(persons), reference={key: pd.DataFrame(entries)})
    r = RULES[rule_id]
    out = r.func(data, {**r.defaults(), **params}).to_dict("records")
    for h in out:
        h["weight"] = None if pd.isna(h["weight"]) else int(h["weight"])
    return out


PERSON_CASES = [
    # (person, entry, expected weight or 'none', evidence)
    (person(), entry(name="Sok Dara", date_of_birth=date(1987, 5, 17)), None,
     "row 14 matches entry W-0042 on list 'blo-2026' (reason: smuggling facilitator): name equal, date of birth equal"),
    (person(name_key="DARA SOKH"), entry(name="SOK DARA", nationality="KHM"), 3,
     "row 14 matches entry W-0042 on list 'blo-2026' (reason: smuggling facilitator): name 0.95 spelling variant, "
     "date of birth not compared, nationality equal"),
    (person(name_key="UNRELATED NAME", doc_number="P777"), entry(name="SOK DARA", doc_number="P-777"), None,
     "row 14 matches entry W-0042 on list 'blo-2026' (reason: smuggling facilitator): document number "
     "equal (issuer not compared)"),
    (person(), entry(name="SOK DARA", date_of_birth=date(1960, 1, 1)), "none", None),
    (person(), entry(name="SOK DAVY", date_of_birth=date(1987, 5, 17)), "none", None),
    (person(name_key="SOK DARA"), entry(name="SOK DARA", gender="F", nationality="THA"), "none", None),
    (person(), entry(name="Somebody", aliases="Dara Sok; D. Sok", birth_year=1987, reason=None), 3,
     "row 14 matches entry W-0042 on list 'blo-2026' (reason: no reason given): name equal, birth year equal"),
]


@pytest.mark.parametrize("p, e, weight, evidence", PERSON_CASES)
def test_watchlist_person(p: dict, e: dict, weight: Any, evidence: str | None) -> None:
    hits = run("watchlist-person", [p], [e], "watchlist_persons")
    if weight == "none":
        assert hits == []
    else:
        assert hits == [{"version_id": "C1@i", "evidence": evidence, "persons": [14], "weight": weight}]


def test_watchlist_person_one_hit_per_call_strong_match_wins() -> None:
    persons = [person(source_row=15, name_key="NGUYEN VAN HUNG", date_of_birth=None),
               person(source_row=14), person(version_id="C2@i", source_row=3, name_key="NGUYEN HUNG VAN",
                                              date_of_birth=None)]
    entries = [entry(name="SOK DARA", date_of_birth=date(1987, 5, 17)),
               entry(entry_id="W-0043", name="Nguyễn Văn Hùng", reason="absconded")]
    hits = run("watchlist-person", persons, entries, "watchlist_persons",
               calls=[{"version_id": "C1@i"}, {"version_id": "C2@i"}])
    assert [(h["version_id"], h["persons"], h["weight"]) for h in hits] == [("C1@i", [14, 15], None), ("C2@i", [3], 3)]
    assert hits[0]["evidence"].startswith("row 14 matches entry W-0042")
    assert "; row 15 matches entry W-0043 on list 'blo-2026' (reason: absconded): name equal" in hits[0]["evidence"]


def test_watchlist_person_threshold_and_name_only_weight_are_parameters() -> None:
    p, e = person(name_key="SOK DANA", date_of_birth=None), entry(name="SOK DARA")
    assert run("watchlist-person", [p], [e], "watchlist_persons") == []
    p2 = person(name_key="DARA SOKH")
    hits = run("watchlist-person", [p2], [entry(name="SOK DARA")], "watchlist_persons", name_only_weight=2)
    assert hits[0]["weight"] == 2
    assert run("watchlist-person", [p2], [entry(name="SOK DARA")], "watchlist_persons", threshold=0.99) == []


def test_no_entries_no_hits() -> None:
    for rule_id, key in (("watchlist-person", "watchlist_persons"), ("watchlist-document", "watchlist_documents"),
                         ("watchlist-vessel", "watchlist_vessels")):
        data = RuleData(calls=pd.DataFrame([{"version_id": "C1@i", "imo": "9074729"}]),
                        persons=pd.DataFrame([person()]), reference={})
        assert len(RULES[rule_id].func(data, RULES[rule_id].defaults())) == 0
        data = RuleData(calls=data.calls, persons=data.persons, reference={key: pd.DataFrame([entry()]).iloc[:0]})
        assert len(RULES[rule_id].func(data, RULES[rule_id].defaults())) == 0


DOC_CASES = [
    (person(doc_number="N12345678", doc_issuer="KHM"), entry(kind="document", doc_number="n 1234-5678", doc_issuer="KHM"),
     "row 14 matches entry W-0042 on list 'blo-2026' (reason: smuggling facilitator): document number and issuer equal"),
    (person(doc_number="N12345678", doc_issuer=None), entry(kind="document", doc_number="N12345678", doc_issuer="KHM"),
     "row 14 matches entry W-0042 on list 'blo-2026' (reason: smuggling facilitator): document number equal "
     "(issuer not compared)"),
    (person(doc_number="N12345678", doc_issuer="THA"), entry(kind="document", doc_number="N12345678", doc_issuer="KHM"),
     None),
    (person(doc_number="N12345679"), entry(kind="document", doc_number="N12345678"), None),
]


@pytest.mark.parametrize("p, e, evidence", DOC_CASES)
def test_watchlist_document(p: dict, e: dict, evidence: str | None) -> None:
    hits = run("watchlist-document", [p], [e], "watchlist_documents")
    assert hits == ([] if evidence is None else [{"version_id": "C1@i", "evidence": evidence, "persons": [14],
                                                  "weight": None}])


def vcall(**kw: Any) -> dict[str, Any]:
    row = {"version_id": "C1@i", "vessel_name": "SEA STAR", "imo": None, "mmsi": None, "call_sign": None, "flag": "KHM"}
    row.update(kw)
    return row


VESSEL_CASES = [
    (vcall(imo="9074729", vessel_name="NEW NAME"), entry(kind="vessel", name="OLD NAME", imo="9074729"),
     "vessel matches entry W-0042 on list 'blo-2026' (reason: smuggling facilitator): IMO 9074729 equal"),
    (vcall(mmsi="514123456"), entry(kind="vessel", name="X", mmsi="514123456"),
     "vessel matches entry W-0042 on list 'blo-2026' (reason: smuggling facilitator): MMSI 514123456 equal"),
    (vcall(vessel_name="MV SEA STAR"), entry(kind="vessel", name="KM Sea Star", flag="KHM"),
     "vessel matches entry W-0042 on list 'blo-2026' (reason: smuggling facilitator): name and flag equal"),
    (vcall(call_sign="XUAB1", flag="SLE"), entry(kind="vessel", name="SEA STAR", flag="KHM", call_sign="XUAB1"),
     "vessel matches entry W-0042 on list 'blo-2026' (reason: smuggling facilitator): name and call sign equal"),
    (vcall(flag="SLE"), entry(kind="vessel", name="SEA STAR", flag="KHM"), None),
    (vcall(imo="9074730"), entry(kind="vessel", name="OTHER", imo="9074729"), None),
]


@pytest.mark.parametrize("c, e, evidence", VESSEL_CASES)
def test_watchlist_vessel(c: dict, e: dict, evidence: str | None) -> None:
    hits = run("watchlist-vessel", [], [e], "watchlist_vessels", calls=[c])
    assert hits == ([] if evidence is None else [{"version_id": "C1@i", "evidence": evidence, "persons": None,
                                                  "weight": None}])


def test_rules_are_registered_with_their_weights() -> None:
    assert {r: (RULES[r].weight, RULES[r].category) for r in ("watchlist-person", "watchlist-document", "watchlist-vessel")} \
        == {"watchlist-person": (5, "watchlist"), "watchlist-document": (5, "watchlist"), "watchlist-vessel": (5, "watchlist")}
    assert RULES["watchlist-person"].defaults() == {"threshold": 0.70, "name_only_weight": 3}
