"""Tests for piu.io.headings: heading keys, the alias table, map_headings and --map files."""

from __future__ import annotations

import pytest

from piu.errors import InputError
from piu.io.headings import (
    ALIASES, ALL_FIELDS, direction_hint, doc_type_hint, heading_key, load_mapping, lookup, map_headings,
)
from piu.schema import CALL_FIELDS, PERSON_FIELDS


@pytest.mark.parametrize("a, b", [
    ("Date of Birth", "date_of_birth"),
    ("DATE-OF-BIRTH", "date of birth"),
    ("  Flag State of ship ", "flag_state_of_ship"),
    ("Ngày sinh", "NGAY SINH"),
    ("Số hộ chiếu", "so ho chieu"),
    ("Đại lý", "dai ly"),
])
def test_heading_key_ignores_case_accents_spaces_and_punctuation(a: str, b: str) -> None:
    assert heading_key(a) == heading_key(b)


def test_heading_key_values() -> None:
    assert heading_key("D.O.B.") == "dob"
    assert heading_key("Rank/Rating") == "rankrating"
    assert heading_key("#") == "#"
    assert heading_key("José") == "jose"


CASES = [
    # canonical names
    ("vessel_name", "vessel_name"), ("call_ref", "call_ref"), ("doc_number", "doc_number"),
    # FAL 1
    ("Name of ship", "vessel_name"), ("1.1 Name of ship", "vessel_name"), ("IMO number", "imo"),
    ("Call sign", "call_sign"), ("Port of arrival/departure", "port"),
    ("Date and time of arrival/departure", "call_time"), ("Flag State of ship", "flag"),
    ("Last port of call", "last_port"), ("Next port of call", "next_port"), ("Gross tonnage", "gross_tonnage"),
    ("Number of crew", "declared_crew"), ("Number of passengers", "declared_passengers"),
    ("Name and contact details of ship's agent", "agent"), ("Type of ship", "vessel_type"),
    ("Voyage number", "voyage_number"), ("Name of master", "master_name"), ("Net tonnage", "net_tonnage"),
    # FAL 5/6
    ("No.", "person_no"), ("Family name", "family_name"), ("Given names", "given_names"),
    ("Rank or rating", "rank"), ("Nationality", "nationality"), ("Date of birth", "date_of_birth"),
    ("Place of birth", "place_of_birth"), ("Gender", "gender"), ("Nature of identity document", "doc_type"),
    ("Number of identity document", "doc_number"), ("Serial number of identity document", "doc_number"),
    ("Issuing State of identity document", "doc_issuer"), ("Expiry date of identity document", "doc_expiry"),
    ("Port of embarkation", "embark_port"), ("Port of disembarkation", "disembark_port"),
    ("Transit passenger or not", "transit"), ("Visa number if appropriate", "visa_number"),
    ("Nature and No. of identity document", "doc_combined"), ("Date and place of birth", "birth_combined"),
    # EMSWe
    ("FamilyName", "family_name"), ("GivenName", "given_names"), ("RoleCode", "rank"), ("GenderCode", "gender"),
    ("BirthDate", "date_of_birth"), ("BirthplaceName", "place_of_birth"), ("NationalityCode", "nationality"),
    ("IdentityDocumentExpiryDate", "doc_expiry"), ("PortOfEmbarkation", "embark_port"),
    # Greek single-window export
    ("Duty_of_crew", "rank"), ("Issuing_State_of_Identity_Document", "doc_issuer"),
    ("Visa_Residence_Permit_number", "visa_number"), ("Number_of_identity_document", "doc_number"),
    # NOA-style and common variants
    ("SURNAME", "family_name"), ("Last name", "family_name"), ("First name(s)", "given_names"),
    ("Forename(s)", "given_names"), ("Name", "full_name"), ("Crew name", "full_name"),
    ("Passport No", "doc_number"), ("Passport expiry", "doc_expiry"), ("Seaman book no", "doc_number"),
    ("D.O.B.", "date_of_birth"), ("Sex", "gender"), ("Position", "rank"), ("Rank/Rating", "rank"),
    ("Citizenship", "nationality"), ("Ship", "vessel_name"), ("MMSI", "mmsi"), ("Callsign", "call_sign"),
    ("GRT", "gross_tonnage"), ("Year of build", "year_built"), ("Type of vessel", "vessel_type"),
    ("Arrival port", "port"), ("ETA", "call_time"), ("Arr/Dep", "direction"), ("Type (C/P)", "role"),
    ("Crew/Passenger", "role"), ("Certified persons", "capacity"), ("No. of crew", "declared_crew"),
    ("Manifest ref", "call_ref"), ("Declared Pax", "declared_passengers"),
    # flattened JSON keys of a nested 'vessel' object (vessel_imo, vessel_flagState, ...)
    ("vessel_imo", "imo"), ("vessel_imoNumber", "imo"), ("vessel_mmsi", "mmsi"), ("vessel_flag", "flag"),
    ("vessel_flagState", "flag"), ("vessel_callSign", "call_sign"), ("vessel_grossTonnage", "gross_tonnage"),
    ("vessel_yearBuilt", "year_built"), ("vessel_name", "vessel_name"), ("vessel_type", "vessel_type"),
    ("ship_imo", "imo"), ("documentExpiry", "doc_expiry"), ("document_number", "doc_number"),
    # regional
    ("Nama", "full_name"), ("Kebangsaan", "nationality"), ("Tanggal lahir", "date_of_birth"),
    ("No. Paspor", "doc_number"), ("Jabatan", "rank"), ("Quốc tịch", "nationality"), ("Họ và tên", "full_name"),
    ("Tên tàu", "vessel_name"), ("สัญชาติ", "nationality"), ("นามสกุล", "family_name"), ("ឈ្មោះ", "full_name"),
    # Vietnamese agents' headings, with and without diacritics
    ("Ten tau", "vessel_name"), ("Số IMO", "imo"), ("So IMO", "imo"),
    ("Cảng đến", "port"), ("Cang den", "port"), ("Ngày đến", "call_time"), ("Ngay den", "call_time"),
    ("Cảng rời cuối cùng", "last_port"), ("Cang roi cuoi cung", "last_port"), ("Họ và tên", "full_name"),
    ("Ho va ten", "full_name"), ("Họ", "family_name"), ("Ho", "family_name"), ("Tên", "given_names"),
    ("Ten", "given_names"), ("Chức danh", "rank"), ("Chuc danh", "rank"), ("Quoc tich", "nationality"),
    ("Ngày sinh", "date_of_birth"), ("Ngay sinh", "date_of_birth"), ("Nơi sinh", "place_of_birth"),
    ("Noi sinh", "place_of_birth"), ("Giới tính", "gender"), ("Gioi tinh", "gender"),
    ("Số hộ chiếu", "doc_number"), ("So ho chieu", "doc_number"), ("Ngày hết hạn hộ chiếu", "doc_expiry"),
    ("Ngay het han ho chieu", "doc_expiry"), ("Thuyền viên/Hành khách", "role"),
    ("Thuyen vien/Hanh khach", "role"), ("STT", "person_no"),
    # Indonesian
    ("Nama Kapal", "vessel_name"), ("Bendera", "flag"), ("Pelabuhan", "port"),
    ("Tanggal Kedatangan", "call_time"), ("Tgl. Kedatangan", "call_time"), ("Tanggal Keberangkatan", "call_time"),
    ("Nama Lengkap", "full_name"), ("Tempat Lahir", "place_of_birth"), ("Jenis Kelamin", "gender"),
    ("Masa Berlaku Paspor", "doc_expiry"), ("Awak/Penumpang", "role"),
    # Thai
    ("ชื่อเรือ", "vessel_name"), ("วันเกิด", "date_of_birth"), ("เลขที่หนังสือเดินทาง", "doc_number"),
    ("ตำแหน่ง", "rank"),
    # bilingual: the Latin-script part, the part in parentheses, either side of ' / '
    ("ท่าเรือ Port", "port"), ("มาถึง/ออก Arr/Dep", "direction"), ("Tên tàu (Vessel)", "vessel_name"),
    ("ชื่อเรือ Vessel Name", "vessel_name"), ("ธง Flag", "flag"), ("ลำดับ No.", "person_no"),
    ("ชื่อ Given Name", "given_names"), ("นามสกุล Surname", "family_name"),
    ("เลขที่หนังสือเดินทาง Passport No.", "doc_number"), ("วันหมดอายุ Expiry Date", "doc_expiry"),
    ("Cảng rời cuối cùng (Last port of call)", "last_port"), ("Quốc tịch / Nationality", "nationality"),
    ("Ngày sinh (Date of birth)", "date_of_birth"), ("Kebangsaan | Nationality", "nationality"),
    ("8. ตำแหน่ง Rank", "rank"), ("ประเภทเรือ Vessel Type", "vessel_type"),
]


@pytest.mark.parametrize("heading, field", CASES)
def test_lookup_case_table(heading: str, field: str) -> None:
    assert lookup(heading) == field


@pytest.mark.parametrize("heading", ["Type", "Number", "Date", "Crew", "From", "To", "Remarks", "POB",
                                     "Middle name", "Place of issue", "Country of birth", "",
                                     "วันที่ Date", "ประเภท Type", "Ghi chú (Remarks)", "Crew / Ghi chú",
                                     "Tanggal", "Ngày", "ส.สมุทรชัย 9"])
def test_ambiguous_or_unknown_headings_are_not_mapped(heading: str) -> None:
    assert lookup(heading) is None


def test_every_alias_targets_a_known_field() -> None:
    assert set(ALIASES.values()) <= set(ALL_FIELDS)
    assert set(CALL_FIELDS) | set(PERSON_FIELDS) <= set(ALIASES.values())


def test_map_headings_unknown_absent_and_duplicates_warned() -> None:
    result, warnings = map_headings(["Surname", "Remarks", "Passport No", "Seaman book no", "Given names"])
    assert result == {"Surname": "family_name", "Passport No": "doc_number", "Given names": "given_names"}
    assert warnings == [
        "columns 'Passport No' and 'Seaman book no' both mean doc_number; using 'Passport No', keeping "
        "'Seaman book no' as an unmapped column (map headings with --map FILE)"]


def test_map_headings_date_and_time_columns_split() -> None:
    result, _ = map_headings(["Arrival date", "Arrival time"])
    assert result == {"Arrival date": "call_date", "Arrival time": "call_hour"}


def test_map_headings_lone_time_heading_is_the_full_call_time() -> None:
    assert map_headings(["Arrival time"])[0] == {"Arrival time": "call_time"}


def test_map_headings_mapping_wins_and_dash_unmaps() -> None:
    result, _ = map_headings(["Pspt No.", "Name", "Remarks"], {"pspt no": "doc_number", "NAME": ""})
    assert result == {"Pspt No.": "doc_number"}


def test_map_headings_bare_date_beside_the_call_time_of_day_is_the_call_date() -> None:
    headings = ["ชื่อเรือ Vessel Name", "วันที่ Date", "เวลา Time", "นามสกุล Surname"]
    assert map_headings(headings)[0] == {"ชื่อเรือ Vessel Name": "vessel_name", "วันที่ Date": "call_date",
                                         "เวลา Time": "call_hour", "นามสกุล Surname": "family_name"}
    assert map_headings(["Vessel", "Date", "Surname"])[0] == {"Vessel": "vessel_name", "Surname": "family_name"}
    assert map_headings(["Vessel", "ETA", "Date", "Time"])[0] == {"Vessel": "vessel_name", "ETA": "call_date",
                                                                  "Time": "call_hour"}


def test_bilingual_hints() -> None:
    assert direction_hint("Tanggal Kedatangan") == "arrival"
    assert direction_hint("Tgl Keberangkatan") == "departure"
    assert direction_hint("วันที่มาถึง ETA") == "arrival"
    assert doc_type_hint("เลขที่หนังสือเดินทาง Passport No.") == "passport"
    assert doc_type_hint("Số sổ thuyền viên (Seaman book no)") == "seaman_book"


def test_hints() -> None:
    assert doc_type_hint("Seaman book no") == "seaman_book"
    assert doc_type_hint("Passport No.") == "passport"
    assert doc_type_hint("Doc no") is None
    assert direction_hint("ETD") == "departure"
    assert direction_hint("Port of arrival:") == "arrival"
    assert direction_hint("Port") is None


def test_load_mapping_csv(tmp_path) -> None:
    path = tmp_path / "map.csv"
    path.write_text("# agent X\nheading,canonical\nPspt No.,doc_number\n\n\"Name, full\",Full Name\nRemarks,-\n",
                    encoding="utf-8")
    assert load_mapping(str(path)) == {"Pspt No.": "doc_number", "Name, full": "full_name", "Remarks": ""}


@pytest.mark.parametrize("first", ["heading,field", "Heading,Field", "HEADING,FIELD", "heading,canonical",
                                   "Heading , Canonical", "heading,field,"])
def test_load_mapping_header_row_is_skipped(tmp_path, first: str) -> None:
    path = tmp_path / "map.csv"
    path.write_text(f"{first}\nPspt No.,doc_number\nCtry,nationality\n", encoding="utf-8")
    assert load_mapping(str(path)) == {"Pspt No.": "doc_number", "Ctry": "nationality"}


def test_load_mapping_header_words_after_the_first_pair_are_an_error(tmp_path) -> None:
    path = tmp_path / "map.csv"
    path.write_text("Pspt No.,doc_number\nheading,field\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_mapping(str(path))
    assert exc.value.one_line().startswith("map.csv:2: 'field' is not a piu field; ")


def test_load_mapping_toml(tmp_path) -> None:
    path = tmp_path / "map.toml"
    path.write_text('[headings]\n"Pspt No." = "doc_number"\nCtry = "nationality"\n', encoding="utf-8")
    assert load_mapping(str(path)) == {"Pspt No.": "doc_number", "Ctry": "nationality"}


def test_sample_mapping_file_loads() -> None:
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "data" / "samples" / "mapping_example.csv"
    mapping = load_mapping(str(path))
    assert mapping["Pspt No."] == "doc_number" and mapping["Remarks"] == ""


@pytest.mark.parametrize("text, suffix, message", [
    ("heading,canonical\nPspt No.,passport_number\n", ".csv", "map.csv:2: 'passport_number' is not a piu field"),
    ("Pspt No.,doc_number\nCtry,nation\n", ".csv", "map.csv:2: 'nation' is not a piu field; did you mean nationality?"),
    ("Pspt No.,doc_number,extra\n", ".csv", "map.csv:1: expected 2 fields 'heading,field', found 3"),
    ("Pspt No.,doc_number\npspt-no,nationality\n", ".csv", "map.csv:2: heading 'pspt-no' is already mapped on line 1"),
    ("# nothing\n", ".csv", "map.csv: mapping file has no 'heading,field' lines"),
    ('a = "family_name"\nb = "surname_x"\n', ".toml", "map.toml:2: 'surname_x' is not a piu field"),
    ("a = = b\n", ".toml", "map.toml: not valid TOML"),
])
def test_load_mapping_errors(tmp_path, text: str, suffix: str, message: str) -> None:
    path = tmp_path / f"map{suffix}"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_mapping(str(path))
    assert exc.value.one_line().startswith(message)


def test_load_mapping_missing_file(tmp_path) -> None:
    with pytest.raises(InputError, match="mapping file not found"):
        load_mapping(str(tmp_path / "nope.csv"))
