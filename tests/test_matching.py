"""Tests for piu.matching: normalisation, the name/date/qualifier model, blocking, documents, vessels, quality."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from piu import matching as mt

CASES = Path(__file__).parent / "data" / "matching_cases.csv"


@pytest.mark.parametrize("text, tokens", [
    ("Nguyễn Văn Hùng", ["NGUYEN", "VAN", "HUNG"]),
    ("nguyen, van-hung", ["NGUYEN", "VAN", "HUNG"]),
    ("BUDI BUDI", ["BUDI"]),
    ("Ahmad bin Ismail", ["AHMAD", "ISMAIL"]),
    ("U Thein Sein", ["THEIN", "SEIN"]),
    ("Kyaw Zaw U", ["KYAW", "ZAW", "U"]),
    ("Mr. SOK Dara", ["SOK", "DARA"]),
    ("សុខ", ["SOKH"]),
    (None, []),
])
def test_name_tokens(text: object, tokens: list[str]) -> None:
    assert mt.name_tokens(text) == tokens


@pytest.mark.parametrize("a, b", [
    ("SOK", "SOKH"), ("CHANTHOU", "CHANTOU"), ("SOMCHAI", "SOMCHAY"), ("WICHAI", "VICHAI"),
    ("CHHAY", "CHAY"), ("SOEHARTO", "SUHARTO"), ("WIDJAJA", "WIJAJA"), ("MOHAMMED", "MOHAMED"),
])
def test_skeleton_folds_romanisation_variants(a: str, b: str) -> None:
    assert mt.skeleton(a) == mt.skeleton(b)


@pytest.mark.parametrize("a, b", [("HUNG", "HANG"), ("DARA", "DAVY"), ("THANH", "THINH"), ("HUNG", "UNG")])
def test_skeleton_keeps_different_names_apart(a: str, b: str) -> None:
    assert mt.skeleton(a) != mt.skeleton(b)


@pytest.mark.parametrize("name, key", [("M/V Sea Dragon", "SEA DRAGON"), ("KM. Sri Rejeki", "SRI REJEKI"),
                                       ("MV", "MV"), ("Ocean Star 7", "OCEAN STAR 7")])
def test_vessel_name_key(name: str, key: str) -> None:
    assert mt.vessel_name_key(name) == key


# (person, entry, expected score, expected explanation): the model's case table
PAIR_CASES = [
    ({"name": "NGUYEN VAN HUNG", "date_of_birth": "1985-03-12", "nationality": "VNM"},
     {"name": "Nguyễn Văn Hùng", "date_of_birth": "1985-03-12", "nationality": "VNM"},
     1.0, "name equal, date of birth equal, nationality equal"),
    ({"name": "HUNG NGUYEN VAN"}, {"name": "NGUYEN VAN HUNG"}, 1.0, "name equal, date of birth not compared"),
    ({"name": "SOKH DARA", "date_of_birth": "1987-05-17"}, {"name": "SOK DARA", "date_of_birth": "1987-17-05"},
     0.95, "name 0.95 spelling variant, date of birth not compared"),
    ({"name": "SOKH DARA", "date_of_birth": "1987-05-17"}, {"name": "SOK DARA", "birth_year": 1987},
     0.98, "name 0.95 spelling variant, birth year equal"),
    ({"name": "SOK DARA", "date_of_birth": "1987-05-07"}, {"name": "SOK DARA", "date_of_birth": "1987-07-05"},
     1.0, "name equal, date of birth day/month swapped"),
    ({"name": "SOK DARA", "date_of_birth": "1987-05-07"}, {"name": "SOK DARA", "date_of_birth": "1995-05-07"},
     0.65, "name equal, date of birth differs"),
    ({"name": "SOK DARA", "date_of_birth": "1987-05-07"}, {"name": "SOK DARA", "date_of_birth": "1987-09-30"},
     0.75, "name equal, date of birth differs (same year)"),
    ({"name": "SOK DARA", "nationality": "KHM", "gender": "M"}, {"name": "SOK DARA", "nationality": "THA", "gender": "F"},
     0.6, "name equal, date of birth not compared, nationality differs, gender differs"),
    ({"name": "AUNG KYAW MIN", "date_of_birth": "1988-12-12"}, {"name": "KYAW MIN", "date_of_birth": "1988-12-12"},
     0.85, "name 0.70 token-match, date of birth equal"),
    ({"name": "AUNG KYAW MIN", "date_of_birth": "1988-12-12"}, {"name": "AUNG", "date_of_birth": "1988-12-12"},
     0.77, "name 0.62 partial (a name part missing), date of birth equal"),
    ({"name": "AUNG KYAW MIN"}, {"name": "AUNG"}, 0.62, "name 0.62 partial (a name part missing), date of birth not compared"),
    ({"name": "SOK DARA"}, {"name": "SOK DAVY"}, 0.22, "name 0.22 token-match, date of birth not compared"),
    ({"name": "X Y", "doc_number": "n-123 456", "doc_issuer": "KHM"}, {"name": "SOK DARA", "doc_number": "N123456",
                                                                      "doc_issuer": "KHM"},
     1.0, "document number and issuer equal; name not alike, date of birth not compared"),
    ({"name": "SOK DARA"}, {"name": "OTHER PERSON", "aliases": "Dara Sok; D. Sok"}, 1.0,
     "name equal, date of birth not compared"),
]


@pytest.mark.parametrize("a, b, score, explanation", PAIR_CASES)
def test_match_one(a: dict, b: dict, score: float, explanation: str) -> None:
    got, expl = mt.match_one(a, b)
    assert round(got, 2) == score
    assert expl == explanation


def test_document_issuer_must_agree_when_both_known() -> None:
    persons = pd.DataFrame({"name_key": ["A B", "C D", "E F"], "doc_number": ["P1", "P1", "P1"],
                            "doc_issuer": ["KHM", "THA", None]})
    entries = pd.DataFrame({"name": ["Z"], "doc_number": ["p 1"], "doc_issuer": ["KHM"]})
    got = mt.screen_documents(persons, entries)
    assert got["person"].tolist() == [0, 2]
    assert got["explanation"].tolist() == ["document number and issuer equal", "document number equal (issuer not compared)"]


def _load_cases() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    c = pd.read_csv(CASES, dtype=str, keep_default_na=False)

    def side(s: str) -> pd.DataFrame:
        dob = c[f"dob_{s}"]
        return pd.DataFrame({
            "name": c[f"name_{s}"], "date_of_birth": dob.where(dob.str.len() == 10, None),
            "birth_year": pd.to_numeric(dob.where(dob.str.len() == 4, None)).astype("Int64"),
            "nationality": c[f"nationality_{s}"].replace("", None), "gender": c[f"gender_{s}"].replace("", None)})
    return c, side("a"), side("b")


def test_labelled_set_recall_and_false_match_rate() -> None:
    cases, a, b = _load_cases()
    assert len(cases) >= 300
    assert set(cases["expected"]) == {"match", "no-match"}
    got = mt.score_pairs(a, b)
    predicted = got["score"] >= mt.DEFAULT_THRESHOLD
    positive = cases["expected"] == "match"
    recall = predicted[positive].mean()
    false_match = predicted[~positive].mean()
    assert recall >= 0.95, f"recall {recall:.3f}"
    assert false_match <= 0.01, f"false-match rate {false_match:.3f}"


@pytest.mark.parametrize("category", ["diacritics", "token-order", "dob-day-month-swapped", "missing-family-name",
                                      "missing-given-name", "burmese-honorific", "burmese-name-split", "typo",
                                      "joined-tokens"])
def test_labelled_categories_all_match(category: str) -> None:
    cases, a, b = _load_cases()
    sel = (cases["category"] == category).to_numpy()
    got = mt.score_pairs(a[sel], b[sel])
    assert sel.sum() >= 4
    assert (got["score"] >= mt.DEFAULT_THRESHOLD).all()


def test_screening_with_blocking_finds_what_all_pairs_finds() -> None:
    cases, a, b = _load_cases()
    persons = a.rename(columns={"name": "name_key"})
    entries = b.drop_duplicates("name").reset_index(drop=True)
    blocked = mt.screen_persons(persons, entries)
    full = mt.screen_persons(persons, entries, blocking=False)
    pairs_b = set(zip(blocked["person"], blocked["entry"]))
    pairs_f = set(zip(full["person"], full["entry"]))
    assert pairs_b <= pairs_f
    # blocking may drop a few pairs that need a fuzzy first token and have no birth year to fall back on
    assert len(pairs_b) >= 0.97 * len(pairs_f)


def test_candidate_pairs_are_far_fewer_than_all_pairs() -> None:
    cases, a, b = _load_cases()
    table = mt.NameTable(pd.concat([a["name"], b["name"]], ignore_index=True))
    rows_a = pd.DataFrame({"nid": table.ids(a["name"]), "year": pd.to_datetime(a["date_of_birth"]).dt.year.astype("Int64")})
    rows_b = pd.DataFrame({"nid": table.ids(b["name"]), "year": b["birth_year"]})
    pairs = mt.candidate_pairs(table, rows_a, rows_b)
    all_pairs = rows_a["nid"].nunique() * rows_b["nid"].nunique()
    assert 0 < len(pairs) < all_pairs / 10


def test_threshold_is_configurable() -> None:
    persons = pd.DataFrame({"name_key": ["SOK DARA"]})
    entries = pd.DataFrame({"name": ["SOK DANA"]})
    assert len(mt.screen_persons(persons, entries)) == 0
    # no shared token pair and no birth year: only an unblocked screen compares them at all
    assert len(mt.screen_persons(persons, entries, threshold=0.4)) == 0
    low = mt.screen_persons(persons, entries, threshold=0.4, blocking=False)
    assert low["explanation"].tolist() == ["name 0.49 token-match, date of birth not compared"]


VESSEL_ENTRIES = pd.DataFrame({
    "name": ["MV SEA DRAGON", "KM SRI REJEKI", "BLUE WAVE"], "aliases": ["OCEAN STAR 7", None, None],
    "imo": ["9074729", None, None], "mmsi": [None, "525012345", None], "call_sign": [None, "PKAB7", None],
    "flag": [None, "IDN", "KHM"]})


@pytest.mark.parametrize("call, entry, basis, explanation", [
    ({"imo": "IMO 9074729", "vessel_name": "OTHER"}, 0, "imo", "IMO 9074729 equal"),
    ({"mmsi": "525012345", "vessel_name": "X"}, 1, "mmsi", "MMSI 525012345 equal"),
    ({"vessel_name": "Sri Rejeki", "call_sign": "PK AB7", "flag": "MYS"}, 1, "name+call-sign", "name and call sign equal"),
    ({"vessel_name": "m/v Blue Wave", "flag": "KHM"}, 2, "name+flag", "name and flag equal"),
])
def test_screen_vessels(call: dict, entry: int, basis: str, explanation: str) -> None:
    got = mt.screen_vessels(pd.DataFrame([call]), VESSEL_ENTRIES)
    assert got[["entry", "basis", "explanation"]].values.tolist() == [[entry, basis, explanation]]


@pytest.mark.parametrize("call", [{"vessel_name": "BLUE WAVE", "flag": "THA"}, {"vessel_name": "OCEAN STAR 7"},
                                  {"imo": "9074720", "vessel_name": "SEA DRAGONS"}])
def test_screen_vessels_needs_identifier_or_name_with_flag_or_call_sign(call: dict) -> None:
    assert len(mt.screen_vessels(pd.DataFrame([call]), VESSEL_ENTRIES)) == 0
