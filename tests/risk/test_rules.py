"""Case table for every per-call rule: hit, no hit, edge at the threshold, missing data does not fire."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from piu.risk.config import defaults, parse
from piu.risk.scoring import score_frames
from tests.risk.factories import call, frames, person


def run(rule_id: str, call_kw: dict[str, Any], people: list[dict[str, Any]], config: Any = None) -> tuple[str | None, int | None, list[int]]:
    """(evidence, weight, persons) of `rule_id` on one call, or (None, None, [])."""
    c = call(**call_kw)
    ps = [person(c, source_row=i + 1, **spec) for i, spec in enumerate(people)]
    cdf, pdf = frames([c], ps)
    _, hits = score_frames(cdf, pdf, config or defaults())
    h = hits[hits["rule"] == rule_id]
    assert len(h) <= 1
    if len(h) == 0:
        return None, None, []
    row = h.iloc[0]
    return row["evidence"], int(row["weight"]), list(row["persons"] or [])


CREW = {"role": "crew"}
PAX = {"role": "passenger"}

CASES = [
    # rule, case, call fields, persons, expected evidence (None: no hit), expected weight
    ("declared-count-mismatch", "crew differ", {"declared_crew": 10}, [CREW] * 12,
     "12 crew listed, 10 declared on the General Declaration", 3),
    ("declared-count-mismatch", "equal (edge)", {"declared_crew": 12}, [CREW] * 12, None, None),
    ("declared-count-mismatch", "both differ", {"declared_crew": 2, "declared_passengers": 5}, [CREW] * 3,
     "3 crew listed, 2 declared; 0 passengers listed, 5 declared on the General Declaration", 3),
    ("declared-count-mismatch", "nothing declared", {}, [CREW] * 12, None, None),
    ("declared-count-mismatch", "no list sent", {"declared_crew": 10}, [], None, None),
    ("duplicate-document", "same number and issuer",
     {}, [{"doc_number": "B1234567", "doc_issuer": "VNM"}, CREW, {"doc_number": "B1234567", "doc_issuer": "VNM"}],
     "document B1234567 (VNM) listed 2 times (rows 1, 3)", 3),
    ("duplicate-document", "other issuer", {},
     [{"doc_number": "B1234567", "doc_issuer": "VNM"}, {"doc_number": "B1234567", "doc_issuer": "THA"}], None, None),
    ("duplicate-document", "issuer missing on one", {},
     [{"doc_number": "B1234567", "doc_issuer": "VNM"}, {"doc_number": "B1234567", "doc_issuer": None}],
     "document B1234567 (VNM) listed 2 times (rows 1, 2)", 3),
    ("duplicate-document", "5 characters (edge)", {}, [{"doc_number": "A1234"}, {"doc_number": "A1234"}],
     "document A1234 (KHM) listed 2 times (rows 1, 2)", 3),
    ("duplicate-document", "placeholder ignored", {}, [{"doc_number": "NONE"}, {"doc_number": "NONE"}], None, None),
    ("duplicate-document", "crew and passenger",
     {}, [{"name_key": "SOK DARA", "date_of_birth": date(1990, 2, 3)},
          {"role": "passenger", "name_key": "SOK DARA", "date_of_birth": date(1990, 2, 3)}],
     "same name and date of birth on both the crew and the passenger list (rows 1, 2)", 3),
    ("duplicate-document", "namesakes without birth date", {},
     [{"name_key": "SOK DARA", "date_of_birth": None}, {"role": "passenger", "name_key": "SOK DARA", "date_of_birth": None}],
     None, None),
    ("document-expired", "expired on the call date (edge)", {}, [{"doc_expiry": date(2026, 11, 20)}, CREW],
     "1 document expired on or before 2026-11-20 (row 1)", 2),
    ("document-expired", "expires the next day", {}, [{"doc_expiry": date(2026, 11, 21)}], None, None),
    ("document-expired", "three expired: weight 3", {},
     [{"doc_expiry": date(2025, 1, 1)}, CREW, {"doc_expiry": date(2026, 1, 1)}, {"doc_expiry": date(2020, 5, 5)}],
     "3 documents expired on or before 2026-11-20 (rows 1, 3, 4)", 3),
    ("document-expired", "no expiry date", {}, [{"doc_expiry": None}], None, None),
    ("document-missing", "no number", {}, [CREW, {"doc_number": None}, {"doc_number": "  "}],
     "2 persons without a document number (rows 2, 3)", 2),
    ("document-missing", "all have numbers", {}, [CREW, CREW], None, None),
    ("minor-in-crew", "15 on a fishing vessel", {"vessel_category": "fishing", "gross_tonnage": 60.0},
     [{"date_of_birth": date(2010, 11, 21)}],
     "crew aged 15 on a fishing vessel; minimum age 16 (row 1)", 4),
    ("minor-in-crew", "16 today on a fishing vessel (edge)", {"vessel_category": "fishing", "gross_tonnage": 60.0},
     [{"date_of_birth": date(2010, 11, 20)}], None, None),
    ("minor-in-crew", "17 on a cargo vessel", {}, [CREW, {"date_of_birth": date(2009, 1, 1)}],
     "crew aged 17 on a cargo vessel; minimum age 18 (row 2)", 4),
    ("minor-in-crew", "child passenger", {}, [{"role": "passenger", "date_of_birth": date(2015, 1, 1)}], None, None),
    ("minor-in-crew", "no birth date", {}, [{"date_of_birth": None}], None, None),
    ("imo-invalid", "check digit", {"imo": "9074728"}, [], "IMO number 9074728 fails the check digit", 3),
    ("imo-invalid", "not 7 digits", {"imo": "12345"}, [], "IMO number '12345' is not 7 digits", 3),
    ("imo-invalid", "valid", {"imo": "9074729"}, [], None, None),
    ("imo-invalid", "missing", {"imo": None}, [], None, None),
    ("imo-invalid", "placeholder N/A", {"imo": "N/A", "gross_tonnage": 50.0}, [], None, None),
    ("imo-missing", "300 GT cargo (edge)", {"imo": None, "gross_tonnage": 300.0}, [],
     "no IMO number on a 300 GT cargo vessel (required from 300 GT)", 3),
    ("imo-missing", "299 GT cargo", {"imo": None, "gross_tonnage": 299.0}, [], None, None),
    ("imo-missing", "passenger 100 GT", {"imo": None, "gross_tonnage": 100.0, "vessel_category": "passenger"}, [],
     "no IMO number on a 100 GT passenger vessel (required from 100 GT)", 3),
    ("imo-missing", "tonnage unknown", {"imo": None, "gross_tonnage": None}, [], None, None),
    ("mmsi-invalid", "short", {"mmsi": "12345"}, [], "MMSI '12345' is not 9 digits", 2),
    ("mmsi-invalid", "MID out of range", {"mmsi": "123456789"}, [], "MMSI 123456789: MID 123 is outside 201-775", 2),
    ("mmsi-invalid", "MID 775 (edge)", {"mmsi": "775123456", "mmsi_country": "VEN", "flag": "VEN"}, [], None, None),
    ("mmsi-invalid", "missing", {"mmsi": None}, [], None, None),
    ("mmsi-flag-mismatch", "Thai MMSI, Cambodian flag", {"mmsi": "567123456", "mmsi_country": "THA"}, [],
     "MMSI 567123456 has MID 567 (THA), declared flag KHM", 3),
    ("mmsi-flag-mismatch", "same state", {"mmsi": "514123456", "mmsi_country": "KHM"}, [], None, None),
    ("mmsi-flag-mismatch", "MID state unknown", {"mmsi": "514123456", "mmsi_country": None}, [], None, None),
    ("mmsi-flag-mismatch", "flag missing", {"mmsi": "567123456", "mmsi_country": "THA", "flag": None}, [], None, None),
    ("flag-risk", "Paris black", {"flag": "TZA"}, [],
     "flag TZA: Paris MoU black list 2024 (very high risk) in force from 2025-07-01", 1),
    ("flag-risk", "Tokyo black", {"flag": "SLE"}, [], "flag SLE: Tokyo MoU black list 2021 in force from 2022", 1),
    ("flag-risk", "black on both", {"flag": "TGO"}, [],
     "flag TGO: Tokyo MoU black list 2021 in force from 2022; Paris MoU black list 2024 (medium risk) in force from 2025-07-01", 1),
    ("flag-risk", "grey only: weight 0", {"flag": "PAN"}, [], None, None),
    ("flag-risk", "black on one list, grey on the other: both named", {"flag": "BLZ"}, [],
     "flag BLZ: Tokyo MoU grey list 2021 in force from 2022; Paris MoU black list 2024 (medium to high risk) "
     "in force from 2025-07-01", 1),
    # Paris 2024's black list is complete: Algeria, black in 2023, is grey in 2024
    ("flag-risk", "full newer list wins", {"flag": "DZA"}, [], None, None),
    ("flag-risk", "unlisted flag", {"flag": "KHM"}, [], None, None),
    ("flag-risk", "flag missing", {"flag": None}, [], None, None),
    ("vessel-age", "26 years", {"year_built": 2000}, [], "built 2000, 26 years old on the call date (limit 25)", 1),
    ("vessel-age", "25 years (edge)", {"year_built": 2001}, [], None, None),
    ("vessel-age", "year unknown", {"year_built": None}, [], None, None),
    ("overcapacity", "above certificate", {"capacity": 12}, [CREW] * 13, "13 persons aboard, certified for 12", 5),
    ("overcapacity", "at certificate (edge)", {"capacity": 12}, [CREW] * 12, None, None),
    ("overcapacity", "above norm", {"vessel_category": "fishing", "gross_tonnage": 75.0}, [CREW] * 26,
     "26 persons aboard a 75 GT fishing vessel; norm for its size is 25", 5),
    ("overcapacity", "at norm (edge)", {"vessel_category": "fishing", "gross_tonnage": 75.0}, [CREW] * 25, None, None),
    ("overcapacity", "declared counts when no list", {"vessel_category": "fishing", "gross_tonnage": 20.0,
                                                      "declared_crew": 30}, [],
     "30 persons aboard a 20 GT fishing vessel; norm for its size is 10", 5),
    ("overcapacity", "tonnage unknown", {"vessel_category": "fishing", "gross_tonnage": None}, [CREW] * 60, None, None),
    ("overcapacity", "passenger vessel without capacity", {"vessel_category": "passenger", "gross_tonnage": 75.0},
     [PAX] * 60, None, None),
    ("passengers-on-non-passenger-vessel", "13 on cargo", {}, [PAX] * 13,
     "13 passengers listed on a cargo vessel (allowed: 12)", 4),
    ("passengers-on-non-passenger-vessel", "12 on cargo (edge)", {}, [PAX] * 12, None, None),
    ("passengers-on-non-passenger-vessel", "one on a fishing vessel", {"vessel_category": "fishing", "gross_tonnage": 60.0},
     [CREW, PAX], "1 passenger listed on a fishing vessel (allowed: 0)", 4),
    ("passengers-on-non-passenger-vessel", "declared only", {"declared_passengers": 20}, [],
     "20 passengers declared on a cargo vessel (allowed: 12)", 4),
    ("passengers-on-non-passenger-vessel", "passenger ship", {"vessel_category": "passenger"}, [PAX] * 100, None, None),
    ("passengers-on-non-passenger-vessel", "type unknown", {"vessel_category": None}, [PAX] * 30, None, None),
    ("crew-joined-last-port", "4 of 10", {}, [{"embark_port": "THLCH"}] * 4 + [{"embark_port": "KHKOS"}] * 6,
     "4 of 10 crew (40%) embarked at THLCH, the last port (rows 1, 2, 3, 4)", 2),
    ("crew-joined-last-port", "3 of 10 (edge, 30%)", {}, [{"embark_port": "THLCH"}] * 3 + [{"embark_port": "KHKOS"}] * 7,
     None, None),
    ("crew-joined-last-port", "no embarkation data", {}, [CREW] * 10, None, None),
    ("crew-joined-last-port", "last port unknown", {"last_port": None}, [{"embark_port": "THLCH"}] * 10, None, None),
]


@pytest.mark.parametrize(("rule_id", "case", "call_kw", "people", "evidence", "weight"), CASES,
                         ids=[f"{c[0]}: {c[1]}" for c in CASES])
def test_rule_case(rule_id: str, case: str, call_kw: dict[str, Any], people: list[dict[str, Any]],
                   evidence: str | None, weight: int | None) -> None:
    got, got_weight, _ = run(rule_id, call_kw, people)
    assert got == evidence
    assert got_weight == weight


def test_every_rule_has_cases() -> None:
    from piu.risk.registry import all_rules
    covered = {c[0] for c in CASES} | {"identity-change", "document-reused", "person-on-two-vessels",
                                       "crew-missing-on-departure", "crew-turnover"}
    builtin = {rid for rid, r in all_rules().items() if r.category != "watchlist"}
    assert builtin - covered == set()


def test_person_rules_name_the_rows() -> None:
    _, _, rows = run("document-expired", {}, [CREW, {"doc_expiry": date(2020, 1, 1)}])
    assert rows == [2]


def test_clean_call_scores_zero() -> None:
    c = call()
    ps = [person(c) for _ in range(12)]
    summary, hits = score_frames(*frames([c], ps), defaults())
    assert list(summary["score"]) == [0]
    assert list(summary["band"]) == ["low"]
    assert len(hits) == 0


def test_grey_weight_parameter() -> None:
    config = parse("[rules.flag-risk]\ngrey_weight = 1\n")
    assert run("flag-risk", {"flag": "PAN"}, [], config)[:2] == ("flag PAN: Paris MoU grey list 2022 in force from 2023-07-01", 1)


def test_parameters_change_thresholds() -> None:
    config = parse("[rules.vessel-age]\nmax_age = 20\n[rules.minor-in-crew]\nmin_age_other = 16\n")
    assert run("vessel-age", {"year_built": 2005}, [], config)[0] == "built 2005, 21 years old on the call date (limit 20)"
    assert run("minor-in-crew", {}, [{"date_of_birth": date(2009, 1, 1)}], config)[0] is None


def test_calls_over_their_norm_are_those_a_merge_with_the_norms_gives() -> None:
    """overcapacity's norm check, norm by norm in numpy: the rows (and limits) of an inner merge on the
    category kept within the band; overlapping bands of an analyst's file give a row per band."""
    import random

    import numpy as np

    import pandas as pd

    from piu.risk.rules.capacity import _over_norm, load_norms

    rng = random.Random(3)
    shipped = load_norms()
    overlapping = pd.concat([shipped, pd.DataFrame({"vessel_category": ["fishing"], "gt_from": [50.0],
                                                    "gt_to": [150.0], "max_persons": [12]})], ignore_index=True)
    for norms in (shipped, overlapping):
        for factor in (1.0, 0.5, 1.5):
            calls = pd.DataFrame({
                "version_id": pd.array([f"v{i}" for i in range(300)], dtype="str"),
                "vessel_category": pd.array([rng.choice(["fishing", "cargo", "tanker", "other", "passenger"])
                                             for _ in range(300)], dtype="str"),
                "gross_tonnage": [rng.choice([np.nan, 0.0, 25.0, 99.9, 100.0, 300.0, rng.uniform(0, 5000)])
                                  for _ in range(300)],
                "persons_aboard": pd.array([rng.randint(0, 80) for _ in range(300)], dtype="Int64")})
            got = _over_norm(calls, norms, factor)
            m = calls.merge(norms, on="vessel_category", how="inner")
            m = m[(m["gross_tonnage"] >= m["gt_from"]) & (m["gross_tonnage"] < m["gt_to"])]
            limit = (m["max_persons"] * factor).round().astype("int64")
            want = m.assign(limit=limit)[m["persons_aboard"] > limit]
            assert got["version_id"].tolist() == want["version_id"].tolist()
            assert got["limit"].tolist() == want["limit"].tolist()
            assert len(got) > 10
