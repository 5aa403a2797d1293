"""Tests for piu.watchlist: formats (piu CSV/XLSX/JSONL, OpenSanctions), replace, remove, expiry, quarantine."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from piu import watchlist as wl
from piu.errors import InputError, UsageError
from piu.risk.registry import RuleData, all_rules
from piu.schema import quarantine_schema
from piu.store import Store

# The same list in the piu layout: (heading as a partner writes it) -> values per entry.
HEADINGS = ["Kind", "Entry ID", "Full name", "AKA", "IMO number", "MMSI", "Call sign", "Flag", "DOB", "Nationality",
            "Passport No", "Reason", "Source", "Listed on", "Expires"]
ROWS = [
    ["person", "W-0001", "Nguyễn Văn Hùng", "Hung Nguyen; Nguyen V. Hung", "", "", "", "", "12/03/1985", "Viet Nam",
     "C1234567", "suspected facilitator", "blo", "01/02/2026", ""],
    ["person", "W-0002", "SOK DARA", "", "", "", "", "", "1987", "Cambodia", "", "absconded crew", "blo", "", ""],
    ["vessel", "W-0003", "MV SEA DRAGON", "OCEAN STAR 7", "", "", "", "", "", "", "", "IUU fishing", "blo", "", ""],
    ["vessel", "W-0004", "KM SRI REJEKI", "", "", "525012345", "", "Indonesia", "", "", "", "smuggling 2024", "blo", "", ""],
]
ROWS[2][4] = "IMO 9074729"

OPENSANCTIONS = """id,schema,name,aliases,birth_date,countries,addresses,identifiers,sanctions,phones,emails,dataset,first_seen,last_seen,last_change
W-0001,Person,Nguyễn Văn Hùng,Hung Nguyen;Nguyen V. Hung,1985-03-12,vn,,C1234567,suspected facilitator,,,blo,2026-02-01T00:00:00,2026-11-01T00:00:00,2026-02-01T00:00:00
W-0002,Person,SOK DARA,,1987,kh,,,absconded crew,,,blo,,,
W-0003,Vessel,MV SEA DRAGON,OCEAN STAR 7,,,,IMO9074729,IUU fishing,,,blo,,,
W-0004,Vessel,KM SRI REJEKI,,,id,,525012345,smuggling 2024,,,blo,,,
NK-acme,Company,ACME SHIPPING LTD,,,sg,,,,,,blo,,,
"""


def write_csv(path: Path, headings: list[str] = HEADINGS, rows: list[list[str]] = ROWS) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(headings)
        w.writerows(rows)
    return path


def write_xlsx(path: Path) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(HEADINGS)
    for r in ROWS:
        ws.append([v or None for v in r])
    wb.save(path)
    return path


def write_jsonl(path: Path) -> Path:
    keys = ["kind", "entry_id", "name", "aliases", "imo", "mmsi", "call_sign", "flag", "date_of_birth", "nationality",
            "doc_number", "reason", "source", "listed_on", "expires"]
    with open(path, "w", encoding="utf-8") as fh:
        for r in ROWS:
            fh.write(json.dumps({k: v for k, v in zip(keys, r) if v}, ensure_ascii=False) + "\n")
    return path


def write_opensanctions(path: Path) -> Path:
    path.write_text(OPENSANCTIONS, encoding="utf-8")
    return path


WRITERS = {"csv": (write_csv, "list.csv"), "xlsx": (write_xlsx, "list.xlsx"), "jsonl": (write_jsonl, "list.jsonl"),
           "opensanctions": (write_opensanctions, "targets.simple.csv")}


def _calls_and_persons() -> tuple[pd.DataFrame, pd.DataFrame]:
    calls = pd.DataFrame({"version_id": ["v1", "v2", "v3"], "vessel_name": ["OCEAN STAR 7", "SRI REJEKI", "OTHER"],
                          "imo": ["9074729", None, None], "mmsi": [None, "525012345", None],
                          "call_sign": [None, None, None], "flag": ["KHM", "IDN", "THA"]})
    persons = pd.DataFrame({
        "version_id": ["v1", "v1", "v2", "v3"], "source_row": [14, 15, 3, 9],
        "name_key": ["HUNG NGUYEN VAN", "SOKH DARA", "LIM CHHAY", "NGUYEN VAN HUY"],
        "date_of_birth": [date(1985, 12, 3), date(1987, 5, 17), None, date(1990, 1, 1)],
        "nationality": ["VNM", "KHM", "KHM", "VNM"], "gender": ["M", "M", "M", "M"],
        "doc_number": ["X9", None, "C1234567", None], "doc_issuer": ["VNM", None, None, None]})
    return calls, persons


def _screen(store: Store) -> dict[str, list[dict]]:
    calls, persons = _calls_and_persons()
    data = RuleData(calls=calls, persons=persons, reference=wl.reference_tables(store, on=date(2026, 11, 20)))
    rules = all_rules()
    return {r: rules[r].func(data, rules[r].defaults()).to_dict("records")
            for r in ("watchlist-person", "watchlist-document", "watchlist-vessel")}


EXPECTED = {
    "watchlist-person": [
        {"version_id": "v1", "persons": [14, 15], "weight": None, "evidence":
         "row 14 matches entry W-0001 on list 'screen' (reason: suspected facilitator): name equal, date of birth "
         "day/month swapped, nationality equal; row 15 matches entry W-0002 on list 'screen' (reason: absconded crew): "
         "name 0.95 spelling variant, birth year equal, nationality equal"},
        {"version_id": "v2", "persons": [3], "weight": None, "evidence":
         "row 3 matches entry W-0001 on list 'screen' (reason: suspected facilitator): document number equal "
         "(issuer not compared)"}],
    "watchlist-document": [],
    "watchlist-vessel": [
        {"version_id": "v1", "persons": None, "weight": None, "evidence":
         "vessel matches entry W-0003 on list 'screen' (reason: IUU fishing): IMO 9074729 equal"},
        {"version_id": "v2", "persons": None, "weight": None, "evidence":
         "vessel matches entry W-0004 on list 'screen' (reason: smuggling 2024): MMSI 525012345 equal; "
         "name and flag equal"}],
}


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_screening_is_identical_whatever_the_format(tmp_path: Path, fmt: str) -> None:
    writer, name = WRITERS[fmt]
    store = Store(tmp_path / "home")
    summary = wl.import_list(store, str(writer(tmp_path / name)), "screen")
    assert (summary.entries["person"], summary.entries["vessel"], summary.quarantined) == (2, 2, 0)
    assert summary.format == ("opensanctions" if fmt == "opensanctions" else "piu")
    got = _screen(store)
    for rule, hits in got.items():
        for h in hits:
            h["weight"] = None if pd.isna(h["weight"]) else int(h["weight"])
    assert got == EXPECTED


def test_opensanctions_skips_other_schemas_and_reads_identifiers(tmp_path: Path) -> None:
    store = Store(tmp_path / "home")
    summary = wl.import_list(store, str(write_opensanctions(tmp_path / "targets.simple.csv")))
    assert summary.list_name == "targets.simple"
    assert dict(summary.skipped) == {"Company": 1}
    e = wl.entries(store).set_index("entry_id")
    assert e.loc["W-0003", ["kind", "imo"]].tolist() == ["vessel", "9074729"]
    assert pd.isna(e.loc["W-0003", "mmsi"])
    assert e.loc["W-0004", ["mmsi", "flag"]].tolist() == ["525012345", "IDN"]
    assert e.loc["W-0001", ["doc_number", "nationality", "source"]].tolist() == ["C1234567", "VNM", "blo"]
    assert str(e.loc["W-0001", "listed_on"]) == "2026-02-01"
    assert (pd.isna(e.loc["W-0002", "date_of_birth"]), int(e.loc["W-0002", "birth_year"])) == (True, 1987)


def test_reimport_replaces_the_list_atomically_and_keeps_other_lists(tmp_path: Path) -> None:
    store = Store(tmp_path / "home")
    first = write_csv(tmp_path / "a.csv")
    wl.import_list(store, str(first), "blo")
    wl.import_list(store, str(write_csv(tmp_path / "b.csv", rows=ROWS[:1])), "other")
    second = write_csv(tmp_path / "a2.csv", rows=ROWS[2:])
    summary = wl.import_list(store, str(second), "blo")
    assert summary.replaced == 4
    e = wl.entries(store)
    assert sorted(zip(e["list_name"], e["entry_id"])) == [("blo", "W-0003"), ("blo", "W-0004"), ("other", "W-0001")]
    overview = wl.list_overview(store)
    assert overview[["list_name", "entries", "persons", "vessels"]].values.tolist() == [["blo", 2, 0, 2], ["other", 1, 1, 0]]


def test_failed_import_leaves_the_earlier_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(tmp_path / "home")
    wl.import_list(store, str(write_csv(tmp_path / "a.csv")), "blo")
    from piu import store as store_mod

    def boom(self, dataset, table):  # noqa: ANN001 - the disk fills up mid-import
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(store_mod.Transaction, "write", boom)
    with pytest.raises(OSError):
        wl.import_list(store, str(write_csv(tmp_path / "b.csv", rows=ROWS[:1])), "blo")
    assert len(wl.entries(store, lists=["blo"])) == 4


def test_remove_list(tmp_path: Path) -> None:
    store = Store(tmp_path / "home")
    wl.import_list(store, str(write_csv(tmp_path / "a.csv")), "blo")
    assert wl.remove_list(store, "blo") == 4
    assert len(wl.entries(store)) == 0
    with pytest.raises(InputError, match="no watchlist named 'blo'"):
        wl.remove_list(store, "blo")


def test_expired_entries_stop_matching(tmp_path: Path) -> None:
    rows = [list(r) for r in ROWS]
    rows[1][14] = "30/11/2026"   # SOK DARA's entry expires on 30 November 2026
    store = Store(tmp_path / "home")
    wl.import_list(store, str(write_csv(tmp_path / "a.csv", rows=rows)), "blo")
    before = wl.reference_tables(store, on=date(2026, 11, 30))["watchlist_persons"]
    after = wl.reference_tables(store, on=date(2026, 12, 1))["watchlist_persons"]
    assert before["entry_id"].tolist() == ["W-0001", "W-0002"]
    assert after["entry_id"].tolist() == ["W-0001"]
    assert wl.list_overview(store, on=date(2026, 12, 1))["expired"].tolist() == [1]


def test_bad_rows_are_quarantined_with_reasons(tmp_path: Path) -> None:
    rows = [
        ["person", "", "A PERSON", "", "", "", "", "", "31/02/1990", "", "", "", "", "", ""],
        ["", "", "NO KIND", "", "", "", "", "", "", "", "", "", "", "", ""],
        ["spy", "", "BAD KIND", "", "", "", "", "", "", "", "", "", "", "", ""],
        ["document", "", "", "", "", "", "", "", "", "", "", "", "", "", ""],
        ["vessel", "", "", "", "", "", "", "", "", "", "", "", "", "", ""],
        ["person", "", "", "", "", "", "", "", "", "", "", "", "", "", ""],
        ["person", "", "GOOD ONE", "", "", "", "", "", "", "", "", "", "", "not a date", ""],
        ["document", "D-1", "", "", "", "", "", "", "", "", "P 123-45", "", "", "", ""],
        ["document", "D-1", "", "", "", "", "", "", "", "", "P 999", "", "", "", ""],
    ]
    store = Store(tmp_path / "home")
    summary = wl.import_list(store, str(write_csv(tmp_path / "bad.csv", rows=rows)), "bad")
    assert summary.quarantined == 8
    assert sum(summary.entries.values()) == 1
    q = store.read("quarantine", quarantine_schema()).to_pandas().sort_values("source_row")
    assert q[["source_row", "column", "reason"]].values.tolist() == [
        [2, "date_of_birth", "date of birth is not a date (expected DD/MM/YYYY or a year)"],
        [3, "kind", "no kind (person, document or vessel)"],
        [4, "kind", "kind is not person, document or vessel"],
        [5, "doc_number", "document entry without a document number"],
        [6, "name", "vessel entry without a name, IMO or MMSI"],
        [7, "name", "person entry without a name or document"],
        [8, "listed_on", "listed_on is not a date"],
        [10, "entry_id", "entry id appears twice in the list; the first is kept"],
    ]
    assert set(q["source_file"]) == {"bad.csv"}
    e = wl.entries(store)
    assert e[["entry_id", "doc_number"]].values.tolist() == [["D-1", "P12345"]]


def test_default_entry_ids_and_dry_run(tmp_path: Path) -> None:
    rows = [["person", "", "SOK DARA"] + [""] * 12]
    store = Store(tmp_path / "home")
    path = str(write_csv(tmp_path / "x.csv", rows=rows))
    dry = wl.import_list(store, path, "x", dry_run=True)
    assert (dry.entries["person"], dry.import_id) == (1, None)
    assert len(wl.entries(store)) == 0
    wl.import_list(store, path, "x")
    assert wl.entries(store)["entry_id"].tolist() == ["W-0002"]


@pytest.mark.parametrize("name", ["", "a b", "../etc", "x" * 65])
def test_list_names_are_checked(name: str) -> None:
    with pytest.raises(UsageError, match="is not allowed"):
        wl.check_list_name(name)


def test_family_and_given_name_columns_are_joined(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "fg.csv", ["Type of entry", "Surname", "Given names", "Date of Birth"],
                     [["person", "NGUYEN", "VAN HUNG", "1985-03-12"]])
    path.write_text(path.read_text().replace("Type of entry", "Kind"))
    store = Store(tmp_path / "home")
    wl.import_list(store, str(path), "fg")
    e = wl.entries(store)
    assert e[["name", "name_key", "birth_year"]].values.tolist() == [["NGUYEN VAN HUNG", "NGUYEN VAN HUNG", 1985]]


def test_a_file_without_entries_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "os.csv"
    path.write_text(OPENSANCTIONS.splitlines()[0] + "\n" + OPENSANCTIONS.splitlines()[-1] + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="no person or vessel entries found"):
        wl.import_list(Store(tmp_path / "home"), str(path))


def test_a_file_without_watchlist_headings_names_the_watchlist_columns(tmp_path: Path) -> None:
    """Not the manifest reader's message: no manifest columns, no --map (watchlist import has none)."""
    path = write_csv(tmp_path / "colours.csv", ["colour", "size", " "], [["red", "10", ""]])
    with pytest.raises(InputError) as err:
        wl.import_list(Store(tmp_path / "home"), str(path))
    assert err.value.one_line() == (
        "colours.csv: none of the columns a watchlist needs (2 column(s), none a heading piu knows); expected e.g. "
        "name, date_of_birth, nationality, doc_number or imo; rename the headings to the watchlist columns "
        "(README: `piu watchlist`) and import it again")
    assert not (tmp_path / "home").exists()


def test_without_a_kind_column_each_rows_kind_is_read_from_what_it_has(tmp_path: Path) -> None:
    from piu.commands.watchlist import summary_text

    path = write_csv(tmp_path / "wanted.csv", ["Full Name", "DOB", "Passport No", "IMO number", "Flag", "Remarks"], [
        ["SOK Dara", "01/02/1990", "N1234567", "", "", "absconded"],
        ["LIM Wei", "", "", "", "", ""],
        ["", "", "P7654321", "", "", "stolen passport"],
        ["SEA DRAGON", "", "", "9074729", "", "IUU"],
        ["TAN Ah Kow", "05/06/1970", "", "9176187", "", "left the vessel with this IMO"],  # a person, not a vessel
        ["BINTANG LAUT", "", "", "", "Indonesia", "small boat, no IMO"],
        ["", "", "", "", "", "nothing to match on"],
    ])
    store = Store(tmp_path / "home")
    summary = wl.import_list(store, str(path), "wanted")
    assert (dict(summary.entries), summary.quarantined) == ({"person": 3, "document": 1, "vessel": 2}, 1)
    assert summary.warnings == ["no kind column: kinds read from each row (3 person(s), 1 document(s), 2 vessel(s); "
                                "a vessel has an IMO, MMSI, call sign or flag and no date of birth, document, gender "
                                "or nationality); add a kind column to say so"]
    assert summary.reasons == {"nothing to match on (no name, document number, IMO, MMSI or call sign)": 1}
    assert summary_text(summary, dry_run=False).splitlines()[-2] == "  warning: " + summary.warnings[0]
    got = wl.entries(store).sort_values("source_row")
    assert got[["kind", "name_key", "doc_number", "imo", "flag"]].fillna("").values.tolist() == [
        ["person", "SOK DARA", "N1234567", "", ""], ["person", "LIM WEI", "", "", ""], ["document", "", "P7654321", "", ""],
        ["vessel", "SEA DRAGON", "", "9074729", ""], ["person", "TAN AH KOW", "", "9176187", ""],
        ["vessel", "BINTANG LAUT", "", "", "IDN"]]


def test_a_file_whose_rows_all_fail_keeps_the_earlier_list_and_its_rows_in_quarantine(tmp_path: Path) -> None:
    store = Store(tmp_path / "home")
    wl.import_list(store, str(write_csv(tmp_path / "blo.csv")), "blo")
    before = wl.entries(store)
    bad = write_csv(tmp_path / "blo2.csv", ["kind", "name"], [["spy", "A B"], ["", "C D"], ["spy", "E F"]])
    with pytest.raises(InputError) as err:
        wl.import_list(store, str(bad), "blo", dry_run=True)
    assert err.value.one_line() == ("blo2.csv: none of its 3 row(s) is a usable entry (2 with: kind is not person, "
                                    "document or vessel); list 'blo' was not changed; fix the rows and import the file again")
    assert len(store.read("quarantine", quarantine_schema())) == 0
    with pytest.raises(InputError) as err:
        wl.import_list(store, str(bad), "blo")
    assert err.value.one_line() == (
        "blo2.csv: none of its 3 row(s) is a usable entry (2 with: kind is not person, document or vessel); they are "
        "kept in quarantine; list 'blo' was not changed; fix the rows (`piu quarantine` shows them) and import the "
        "file again")
    pd.testing.assert_frame_equal(wl.entries(store), before)
    q = store.read("quarantine", quarantine_schema()).to_pandas().sort_values("source_row")
    assert q[["source_file", "source_row", "column"]].values.tolist() == [
        ["blo2.csv", 2, "kind"], ["blo2.csv", 3, "kind"], ["blo2.csv", 4, "kind"]]
    with pytest.raises(InputError):  # the same file failing again: its rows are kept once
        wl.import_list(store, str(bad), "blo")
    assert len(store.read("quarantine", quarantine_schema())) == 3


def test_buddhist_era_dates_and_years_are_read_as_ce_with_one_warning(tmp_path: Path) -> None:
    """As in ingest: a Thai partner's list writes 23/11/2518 for 1975-11-23 (B.E. = C.E. + 543)."""
    rows = [
        ["person", "W-1", "SOK DARA", "", "", "", "", "", "23/11/2518", "", "", "", "", "01/02/2569", "2572-03-01"],
        ["person", "W-2", "CHAN VIBOL", "", "", "", "", "", "2520", "", "", "", "", "01/02/2026", ""],
        ["person", "W-3", "LIM BO", "", "", "", "", "", "1987", "", "", "", "", "", "31/12/2100"],
        ["person", "W-4", "KEO NARY", "", "", "", "", "", "23/11/2700", "", "", "", "", "", ""],
    ]
    store = Store(tmp_path / "home")
    summary = wl.import_list(store, str(write_csv(tmp_path / "thai.csv", rows=rows)), "thai")
    assert summary.warnings == ["Buddhist-era years (B.E. = C.E. + 543) read as C.E. (year - 543): 2 value(s) in "
                                "date_of_birth, 1 in listed_on, 1 in expires; check them against the list's source"]
    assert summary.quarantined == 1
    e = wl.entries(store).sort_values("entry_id")
    assert e["entry_id"].tolist() == ["W-1", "W-2", "W-3"]
    assert e["date_of_birth"].tolist() == [date(1975, 11, 23), None, None]
    assert e["birth_year"].tolist() == [1975, 1977, 1987]
    assert e["listed_on"].tolist() == [date(2026, 2, 1), date(2026, 2, 1), None]
    assert e["expires"].tolist() == [date(2029, 3, 1), None, date(2100, 12, 31)]
