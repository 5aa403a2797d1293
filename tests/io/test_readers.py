"""Tests for piu.io.readers: formats, encodings, the three layouts, source rows and errors."""

from __future__ import annotations

import datetime as dt
import io
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from piu.errors import InputError
from piu.io.readers import RawTable, ReadResult, read_file

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
FLAT = "Vessel name,IMO,Family name,Given names,DOB,Remarks\n"


def write(tmp_path: Path, name: str, data: str | bytes, encoding: str = "utf-8") -> str:
    """Write test input and return its path as text."""
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return str(path)


def one(result: ReadResult) -> RawTable:
    assert len(result.tables) == 1
    return result.tables[0]


def rows(table: RawTable) -> list[list[str]]:
    return table.frame.fillna("").astype(str).values.tolist()


# ------------------------------------------------------------------ delimited text


def test_flat_csv_maps_headings_keeps_unknown_and_numbers_rows(tmp_path) -> None:
    path = write(tmp_path, "m.csv", FLAT + "SEA STAR,9074729,Sok,Dara,01/02/1990,ok\nSEA STAR,9074729,Chan,Vanna,03/04/1991,\n")
    result = read_file(path)
    table = one(result)
    assert result.source_name == "m.csv"
    assert result.size == len(Path(path).read_bytes())
    assert len(result.sha256) == 64
    assert result.warnings == []
    assert list(table.frame.columns) == ["vessel_name", "imo", "family_name", "given_names", "date_of_birth", "Remarks"]
    assert rows(table) == [["SEA STAR", "9074729", "Sok", "Dara", "01/02/1990", "ok"],
                           ["SEA STAR", "9074729", "Chan", "Vanna", "03/04/1991", ""]]
    assert table.source_rows.tolist() == [2, 3]
    assert table.source_rows.dtype == np.int64
    assert table.column_map == {"Vessel name": "vessel_name", "IMO": "imo", "Family name": "family_name",
                                "Given names": "given_names", "DOB": "date_of_birth"}
    assert table.unknown_columns == ["Remarks"]
    assert table.header == {} and table.sheet == ""
    assert all(str(t) == "str" for t in table.frame.dtypes)


def test_blank_lines_quoted_newlines_and_blank_rows_keep_exact_line_numbers(tmp_path) -> None:
    text = FLAT + "A,1,Sok,Dara,,\n\nB,2,\"Chan\nX\",Vanna,,\n,,,,,\nC,3,Keo,Rithy,,\n"
    table = one(read_file(write(tmp_path, "m.csv", text)))
    assert table.frame["vessel_name"].tolist() == ["A", "B", "C"]
    assert table.source_rows.tolist() == [2, 4, 7]


def test_crlf_line_ends(tmp_path) -> None:
    table = one(read_file(write(tmp_path, "m.csv", FLAT.replace("\n", "\r\n") + "A,1,Sok,Dara,,\r\n\r\nB,2,Chan,V,,\r\n")))
    assert table.frame["family_name"].tolist() == ["Sok", "Chan"]
    assert table.source_rows.tolist() == [2, 4]


def test_ragged_rows_fall_back_and_keep_extra_cells(tmp_path) -> None:
    text = "Vessel name,Family name\nA,Sok\nB,Chan,EXTRA\nC\n"
    table = one(read_file(write(tmp_path, "m.csv", text)))
    assert list(table.frame.columns) == ["vessel_name", "family_name", "column 3"]
    assert rows(table) == [["A", "Sok", ""], ["B", "Chan", "EXTRA"], ["C", "", ""]]
    assert table.source_rows.tolist() == [2, 3, 4]
    assert table.unknown_columns == ["column 3"]


UNCLOSED = ("Vessel Name,IMO No,Port,Arr/Dep,ETA,Surname,Given Names,D.O.B.\n"
            'SEA WOLF,9899997,KHKOS,ARR,20/11/2026 10:00,"Doe,Jane,01/01/1990\n'
            "SEA WOLF,9899997,KHKOS,ARR,20/11/2026 10:00,Roe,Richard,02/02/1980\n")


@pytest.mark.parametrize("text, line", [
    (UNCLOSED, 2),                                                        # pyarrow fast path
    ("CREW LIST\n" + UNCLOSED, 3),                                        # title row: csv-module path
    (UNCLOSED.replace(",", "\t"), 2),                                     # TSV
    (UNCLOSED.replace("\n", "\r\n"), 2),                                 # CRLF
    (FLAT + 'A,1,"Sok\nX",Dara,"01/02/1990,ok\nB,2,Chan,Vanna,,\n', 3),   # opens on the record's 2nd line
    (FLAT + 'A,1,Sok,Dara,,ok\nB,2,"Chan""', 3),                           # escaped quote, then EOF
])
def test_unclosed_quote_is_an_error_naming_the_line(tmp_path, text: str, line: int) -> None:
    with pytest.raises(InputError) as exc:
        read_file(write(tmp_path, "m.csv", text))
    assert exc.value.one_line().startswith(f"m.csv:{line}: a quote opened on this line is never closed; ")
    assert "Doe" not in exc.value.one_line() and "Chan" not in exc.value.one_line()


@pytest.mark.parametrize("text, last", [
    (FLAT + 'A,1,Sok,Dara,,ok\nB,2,Chan,Vanna,,"multi\nline, with, commas,,,"\n', "multi\nline, with, commas,,,"),
    (FLAT + 'A,1,Sok,Dara,,ok\nB,2,Chan,Vanna,,"no newline at end"', "no newline at end"),
    (FLAT + 'A,1,Sok,Dara,,ok\nB,2,Chan,Vanna,,"say ""hi"""\n', 'say "hi"'),
    (FLAT + 'A,1,Sok,Dara,,ok\nB,2,Chan,Vanna,,5\'10"\n', '5\'10"'),       # a literal quote mid-field
    ("CREW LIST\n" + FLAT + 'B,2,Chan,Vanna,,"a\nb"\n', "a\nb"),
])
def test_closed_and_literal_quotes_still_read(tmp_path, text: str, last: str) -> None:
    table = one(read_file(write(tmp_path, "m.csv", text)))
    assert table.frame["Remarks"].tolist()[-1] == last
    assert table.frame["family_name"].tolist()[-1] == "Chan"


def test_open_batches_leaves_an_unclosed_quote_to_read_file(tmp_path) -> None:
    from piu.io.readers import open_batches

    path = write(tmp_path, "m.csv", UNCLOSED)
    assert open_batches(path, min_bytes=1) is None
    closed = write(tmp_path, "ok.csv", UNCLOSED.replace('"Doe,Jane', '"Doe",Jane'))
    assert open_batches(closed, min_bytes=1).record_lines.tolist() == [2, 3]


@pytest.mark.parametrize("delimiter", [";", "\t", "|", ","])
def test_delimiter_is_sniffed(tmp_path, delimiter: str) -> None:
    text = delimiter.join(["Vessel", "Surname", "Given names", "Agent"]) + "\n" + \
        delimiter.join(["SEA STAR", "Sok", "Dara", "Mekong Shipping Ltd"]) + "\n"
    table = one(read_file(write(tmp_path, "m.txt", text)))
    assert rows(table) == [["SEA STAR", "Sok", "Dara", "Mekong Shipping Ltd"]]
    assert list(table.frame.columns) == ["vessel_name", "family_name", "given_names", "agent"]


def test_bilingual_thai_headings(tmp_path) -> None:
    text = ("ชื่อเรือ Vessel Name,ท่าเรือ Port,มาถึง/ออก Arr/Dep,วันที่ Date,เวลา Time,ชื่อ Given Name,"
            "นามสกุล Surname,วันเกิด Date of Birth,หมายเหตุ Remarks\n"
            "ส.สมุทรชัย 9,Songkhla,Arrival,25/11/2026,06:30,Somchai,Jaidee,12/05/1975,\n")
    table = one(read_file(write(tmp_path, "m.csv", text)))
    assert list(table.frame.columns) == ["vessel_name", "port", "direction", "call_date", "call_hour", "given_names",
                                         "family_name", "date_of_birth", "หมายเหตุ Remarks"]
    assert rows(table) == [["ส.สมุทรชัย 9", "Songkhla", "Arrival", "25/11/2026", "06:30", "Somchai", "Jaidee",
                            "12/05/1975", ""]]


def test_semicolon_with_commas_in_values(tmp_path) -> None:
    text = "Vessel;Surname;Agent\nSEA STAR;Sok;Mekong Shipping, Ltd\nSEA STAR;Chan;A, B, C\n"
    table = one(read_file(write(tmp_path, "m.csv", text)))
    assert rows(table) == [["SEA STAR", "Sok", "Mekong Shipping, Ltd"], ["SEA STAR", "Chan", "A, B, C"]]


@pytest.mark.parametrize("encoding, prefix", [("utf-8", b"\xef\xbb\xbf"), ("utf-16-le", b"\xff\xfe"),
                                              ("utf-16-be", b"\xfe\xff")])
def test_bom_encodings(tmp_path, encoding: str, prefix: bytes) -> None:
    text = "Vessel name,Family name,Given names\nSEA STAR,Nguyễn,Văn An\n"
    result = read_file(write(tmp_path, "m.csv", prefix + text.encode(encoding)))
    table = one(result)
    assert list(table.frame.columns) == ["vessel_name", "family_name", "given_names"]
    assert rows(table) == [["SEA STAR", "Nguyễn", "Văn An"]]
    assert table.source_rows.tolist() == [2]
    assert result.warnings == []


def test_utf16_without_bom(tmp_path) -> None:
    text = "Vessel name\tFamily name\nSEA STAR\tSok\n"
    table = one(read_file(write(tmp_path, "m.txt", text.encode("utf-16-le"))))
    assert rows(table) == [["SEA STAR", "Sok"]]


def test_cp1252_fallback_is_announced(tmp_path) -> None:
    text = "Vessel name;Family name;Given names\nSEA STAR;García;José\n"
    result = read_file(write(tmp_path, "agent.csv", text, encoding="cp1252"))
    assert rows(one(result)) == [["SEA STAR", "García", "José"]]
    assert result.warnings == ["agent.csv: not UTF-8, read as cp1252 (Windows Latin-1); check accented names"]


def test_thai_windows_874_is_read_as_thai(tmp_path) -> None:
    """Thai Excel saves CSV as Windows-874 (TIS-620): read as cp1252 the names became 'ÈÃÕÊØ¢'."""
    text = "Vessel name,Family name,Given names\nSEA STAR,ศรีสุข,สมชาย\nSEA STAR,ใจดี,สมศรี\n"
    result = read_file(write(tmp_path, "thai.csv", text, encoding="cp874"))
    assert rows(one(result)) == [["SEA STAR", "ศรีสุข", "สมชาย"], ["SEA STAR", "ใจดี", "สมศรี"]]
    assert result.warnings == ["thai.csv: not UTF-8, read as Thai (Windows-874/TIS-620); check the names"]
    # a few accented Latin letters between ASCII ones stay cp1252 (test_cp1252_fallback_is_announced)
    latin = "Vessel name,Family name,Given names\nSEA STAR,Müller,José\nSEA STAR,Nuñez,François\nSEA STAR,Gómez,Zoë\n"
    result = read_file(write(tmp_path, "latin.csv", latin, encoding="cp1252"))
    assert rows(one(result))[1] == ["SEA STAR", "Nuñez", "François"]
    assert result.warnings == ["latin.csv: not UTF-8, read as cp1252 (Windows Latin-1); check accented names"]


def test_fal_layout_in_csv(tmp_path) -> None:
    text = (
        "IMO FAL Form 5,,,CREW LIST,,\n"
        "Name of ship: SEA STAR,,,IMO number:,9074729,\n"
        "Call sign,XUAB7,,Flag State of ship,,Cambodia\n"
        "Port of arrival,Sihanoukville,,Date and time of arrival,18/11/2026 14:30,\n"
        ",,,,,\n"
        "No.,Family name,Given names,Rank or rating,Nationality,Date of birth\n"
        "1,Sok,Dara,Master,KHM,01/02/1980\n"
        ",,,,,\n"
        "2,Chan,Vanna,AB,KHM,03/04/1990\n"
        "Date and signature by master,,,,,\n"
    )
    result = read_file(write(tmp_path, "fal.csv", text))
    table = one(result)
    assert table.header == {"role": "crew", "vessel_name": "SEA STAR", "imo": "9074729", "call_sign": "XUAB7",
                            "flag": "Cambodia", "port": "Sihanoukville", "call_time": "18/11/2026 14:30",
                            "direction": "arrival"}
    assert list(table.frame.columns) == ["person_no", "family_name", "given_names", "rank", "nationality", "date_of_birth"]
    assert table.frame["family_name"].tolist() == ["Sok", "Chan"]
    assert table.source_rows.tolist() == [7, 9]


def test_capacity_column_holding_ranks_is_read_as_rank(tmp_path) -> None:
    text = "Vessel,Surname,Capacity\nSEA STAR,Sok,Master\nSEA STAR,Chan,Cook\n"
    result = read_file(write(tmp_path, "noa.csv", text))
    table = one(result)
    assert table.column_map["Capacity"] == "rank"
    assert "rank" in table.frame.columns
    assert result.warnings == ["column 'Capacity' holds ranks, not a person count; read as rank"]


def test_duplicate_heading_warning_and_unknown_kept(tmp_path) -> None:
    text = "Vessel,Passport No,Seaman book no\nSEA STAR,N123,SB9\n"
    result = read_file(write(tmp_path, "m.csv", text))
    table = one(result)
    assert list(table.frame.columns) == ["vessel_name", "doc_number", "Seaman book no"]
    assert table.unknown_columns == ["Seaman book no"]
    assert len(result.warnings) == 1 and "both mean doc_number" in result.warnings[0]


def test_mapping_is_applied(tmp_path) -> None:
    text = "Vsl,Crew member,Pspt No.\nSEA STAR,SOK Dara,N123\n"
    table = one(read_file(write(tmp_path, "m.csv", text), mapping={"Vsl": "vessel_name", "Crew member": "full_name",
                                                                "Pspt No.": "doc_number"}))
    assert list(table.frame.columns) == ["vessel_name", "full_name", "doc_number"]


def test_stdin(monkeypatch) -> None:
    data = (FLAT + "SEA STAR,9074729,Sok,Dara,01/02/1990,\n").encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    result = read_file("-")
    assert result.source_name == "<stdin>"
    assert one(result).frame["family_name"].tolist() == ["Sok"]


# ------------------------------------------------------------------ JSON Lines


def test_jsonl(tmp_path) -> None:
    text = '{"vessel_name": "SEA STAR", "imo": 9074729, "family_name": "Sok", "extra": null}\n\n' \
           '{"vessel_name": "SEA STAR", "imo": 9074729.0, "family_name": "Chan", "tags": ["a"]}\n'
    table = one(read_file(write(tmp_path, "m.jsonl", text)))
    assert list(table.frame.columns) == ["vessel_name", "imo", "family_name", "extra", "tags"]
    assert rows(table) == [["SEA STAR", "9074729", "Sok", "", ""], ["SEA STAR", "9074729", "Chan", "", '["a"]']]
    assert table.source_rows.tolist() == [1, 3]


def test_jsonl_nested_objects_flattened_and_person_lists_exploded(tmp_path) -> None:
    import json

    call = {"vessel": {"name": "MEKONG TIGER", "imo": "9888883", "mmsi": 574000001, "flag": "KHM",
                       "owner": {"name": "X Co"}},
            "port": "KHKOS", "arrival": "2026-11-20T10:00", "tags": ["a", "b"],
            "crew": [{"family_name": "Sok", "given_names": "Dara", "document": {"type": "PASSPORT", "number": "N1"}},
                     {"family_name": "Chan", "given_names": "Vanna", "visits": [{"port": "THBKK"}]}],
            "passengers": [{"family_name": "Keo", "given_names": "Rithy"}]}
    second = {"vessel": {"name": "SEA STAR", "imo": "9074729"}, "port": "KHKOS", "crewList": [
        {"family_name": "Ly", "role": "P"}, {"family_name": "Ouk"}]}
    text = json.dumps(call) + "\n\n" + json.dumps(second) + "\n"
    table = one(read_file(write(tmp_path, "m.jsonl", text)))
    assert list(table.frame.columns) == [
        "vessel_name", "imo", "mmsi", "flag", "vessel_owner_name", "port", "call_time", "tags", "family_name",
        "given_names", "doc_type", "doc_number", "role", "visits"]
    assert table.column_map["vessel_imo"] == "imo" and table.column_map["vessel_mmsi"] == "mmsi"
    assert table.column_map["vessel_flag"] == "flag" and table.column_map["document_number"] == "doc_number"
    assert table.unknown_columns == ["vessel_owner_name", "tags", "visits"]
    assert rows(table) == [
        ["MEKONG TIGER", "9888883", "574000001", "KHM", "X Co", "KHKOS", "2026-11-20T10:00", '["a", "b"]',
         "Sok", "Dara", "PASSPORT", "N1", "crew", ""],
        ["MEKONG TIGER", "9888883", "574000001", "KHM", "X Co", "KHKOS", "2026-11-20T10:00", '["a", "b"]',
         "Chan", "Vanna", "", "", "crew", '[{"port": "THBKK"}]'],
        ["MEKONG TIGER", "9888883", "574000001", "KHM", "X Co", "KHKOS", "2026-11-20T10:00", '["a", "b"]',
         "Keo", "Rithy", "", "", "passenger", ""],
        ["SEA STAR", "9074729", "", "", "", "KHKOS", "", "", "Ly", "", "", "", "P", ""],
        ["SEA STAR", "9074729", "", "", "", "KHKOS", "", "", "Ouk", "", "", "", "crew", ""],
    ]
    assert table.source_rows.tolist() == [1, 1, 1, 3, 3]


def test_jsonl_empty_person_list_keeps_the_call_row(tmp_path) -> None:
    text = '{"vessel": {"name": "SEA STAR"}, "crew": [], "pax": 3, "family_name": "Sok"}\n'
    table = one(read_file(write(tmp_path, "m.jsonl", text)))
    assert list(table.frame.columns) == ["vessel_name", "declared_passengers", "family_name"]
    assert rows(table) == [["SEA STAR", "3", "Sok"]]
    assert table.source_rows.tolist() == [1]


@pytest.mark.parametrize("text, message", [
    ('{"family_name": "Sok"}\n{"family_name": \n', "m.jsonl:2: not valid JSON"),
    ('{"family_name": "Sok"}\n[1, 2]\n', "m.jsonl:2: expected a JSON object, found list"),
])
def test_jsonl_bad_line(tmp_path, text: str, message: str) -> None:
    with pytest.raises(InputError) as exc:
        read_file(write(tmp_path, "m.jsonl", text))
    assert exc.value.one_line().startswith(message)


# ------------------------------------------------------------------ XLSX


def fal_workbook(path: Path) -> None:
    """A FAL 5 sheet (label:value in one cell and in cells apart), an empty sheet, a notes sheet."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Crew List"
    ws["A1"] = "IMO FAL Form 5"
    ws["C1"] = "CREW LIST"
    ws["A2"] = "☐ Arrival"
    ws["C2"] = "☒ Departure"
    ws["A3"] = "1.1 Name of ship: MV SEA STAR"
    ws["D3"] = "1.2 IMO number"
    ws["F3"] = 9074729.0
    ws["A4"] = "3. Date of arrival/departure"
    ws["C4"] = dt.datetime(2026, 11, 18, 14, 30)
    ws["D4"] = "Number of crew"
    ws["E4"] = 2
    ws.append([])
    ws.append(["No.", "Family name", "Given names", "Rank or rating", "Date of birth", "Remarks"])   # row 6
    ws.append([1, "Sok", "Dara", "Master", dt.datetime(1980, 2, 1), 1.5])                           # row 7
    ws.append([])
    ws.append([2, "Chan", "Vanna", "AB", dt.date(1990, 4, 3), None])                                # row 9
    ws.append(["Date and signature by master, authorized agent or officer"])
    wb.create_sheet("Empty")
    notes = wb.create_sheet("Notes")
    notes["A1"] = "Prepared for the port authority"
    wb.save(path)


def test_xlsx_fal_layout(tmp_path) -> None:
    path = tmp_path / "fal.xlsx"
    fal_workbook(path)
    result = read_file(str(path))
    table = one(result)
    assert table.sheet == "Crew List"
    assert table.header == {"role": "crew", "vessel_name": "MV SEA STAR", "imo": "9074729",
                            "call_time": "2026-11-18T14:30:00", "declared_crew": "2", "direction": "departure"}
    assert rows(table) == [["1", "Sok", "Dara", "Master", "1980-02-01", "1.5"], ["2", "Chan", "Vanna", "AB", "1990-04-03", ""]]
    assert table.source_rows.tolist() == [7, 9]
    assert table.unknown_columns == ["Remarks"]
    assert result.warnings == ["fal.xlsx sheet 'Notes': no columns piu knows; sheet skipped"]


def test_xlsx_flat_sheets_and_header_only_sheet(tmp_path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Passengers"
    ws.append(["Vessel", "Surname", "Passport No", None, None])
    ws.append(["SEA STAR", "Sok", 12345678.0])
    gd = wb.create_sheet("General Declaration")
    gd["A1"] = "Name of ship"
    gd["C1"] = "SEA STAR"
    gd["A2"] = "Number of passengers"
    gd["C2"] = 1
    path = tmp_path / "two.xlsx"
    wb.save(path)
    result = read_file(str(path))
    flat, header_only = result.tables
    assert list(flat.frame.columns) == ["vessel_name", "family_name", "doc_number"]
    assert rows(flat) == [["SEA STAR", "Sok", "12345678"]]
    assert flat.source_rows.tolist() == [2]
    assert header_only.sheet == "General Declaration"
    assert header_only.header == {"vessel_name": "SEA STAR", "declared_passengers": "1"}
    assert len(header_only.frame) == 0 and len(header_only.source_rows) == 0


def sheet_table(tmp_path: Path, grid: list[list], merge: str | None = None) -> RawTable:
    """Write one sheet of cells (row by row from A1) and read it back as one table."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    for row in grid:
        ws.append(row)
    if merge:
        ws.merge_cells(merge)
    path = tmp_path / "m.xlsx"
    wb.save(path)
    return one(read_file(str(path)))


PERSONS = [["No", "Nama", "Jabatan", "Kewarganegaraan", "Tanggal Lahir"],
           [1, "Budi Santoso", "Nakhoda", "Indonesia", "10/10/1972"],
           [2, "Agus Salim", "KKM", "Indonesia", "05/05/1980"]]


def test_header_block_label_colon_value_in_three_cells(tmp_path) -> None:
    grid = [["DAFTAR AWAK KAPAL (CREW LIST)"],
            ["Nama Kapal", ":", "KM SINAR LAUT 8"],
            ["Nomor IMO", " : ", 9812341],
            ["Bendera", "=", "Indonesia"],
            ["Pelabuhan Kedatangan", "-", "Sihanoukville"],
            ["Pelabuhan asal", ":", "Tanjung Priok", "Tanda panggil", ":", "PLAB"],
            [], *PERSONS]
    table = sheet_table(tmp_path, grid)
    assert table.header == {"role": "crew", "vessel_name": "KM SINAR LAUT 8", "imo": "9812341", "flag": "Indonesia",
                            "port": "Sihanoukville", "last_port": "Tanjung Priok", "call_sign": "PLAB",
                            "direction": "arrival"}
    assert table.frame["full_name"].tolist() == ["Budi Santoso", "Agus Salim"]
    assert table.source_rows.tolist() == [9, 10]


@pytest.mark.parametrize("cells, expected", [
    # a real Excel date with the time (a time cell, or text) in the next cell
    ([["3. Date of arrival/departure", dt.date(2026, 11, 26), dt.time(22, 15)]],
     {"call_date": "2026-11-26", "call_hour": "22:15:00"}),
    ([["Date of arrival", ":", dt.datetime(2026, 11, 26), "22.15"]],
     {"call_date": "2026-11-26", "call_hour": "22.15"}),
    # a separate 'Time' label, on the same row or the next
    ([["Date of arrival", "26/11/2026", "Time", "22:15"]], {"call_date": "26/11/2026", "call_hour": "22:15"}),
    ([["Date of arrival", "26/11/2026"], ["Time of arrival", "22:15"]],
     {"call_date": "26/11/2026", "call_hour": "22:15"}),
    # a date-time stays the call time; a lone 'Arrival time' holding a date-time too
    ([["ETA", dt.datetime(2026, 11, 26, 22, 15), dt.time(23, 0)]], {"call_time": "2026-11-26T22:15:00"}),
    ([["Arrival time", "26/11/2026 22:15"]], {"call_time": "26/11/2026 22:15"}),
    # a date with a non-time cell after it: only the date
    ([["Date of arrival", dt.date(2026, 11, 26), "Kampot"]], {"call_time": "2026-11-26"}),
])
def test_header_call_date_and_time_in_separate_cells(tmp_path, cells: list[list], expected: dict) -> None:
    table = sheet_table(tmp_path, [["Name of ship", "SEA STAR"], *cells, [], *PERSONS])
    header = {k: v for k, v in table.header.items() if k.startswith("call_")}
    assert header == expected
    assert table.header["vessel_name"] == "SEA STAR"


def test_merged_date_and_place_of_birth_heading_keeps_the_place(tmp_path) -> None:
    grid = [["6. No.", "7. Family name, given names", "9. Nationality", "10. Date and place of birth", None,
             "11. Nature and No. of identity document"],
            [1, "TAN, Wei Ming", "Singaporean", dt.date(1970, 4, 4), "Singapore", "Passport E1234567A"],
            [2, "LIM, Boon Keng", "Malaysian", dt.date(1978, 8, 8), "Penang", "Passport A33445566"]]
    table = sheet_table(tmp_path, grid, merge="D1:E1")
    assert list(table.frame.columns) == ["person_no", "full_name", "nationality", "date_of_birth", "place_of_birth",
                                         "doc_combined"]
    assert table.frame["date_of_birth"].tolist() == ["1970-04-04", "1978-08-08"]
    assert table.frame["place_of_birth"].tolist() == ["Singapore", "Penang"]
    assert table.column_map["10. Date and place of birth"] == "date_of_birth"
    assert table.column_map["Place of birth"] == "place_of_birth"
    assert table.unknown_columns == []


@pytest.mark.parametrize("title", ["", "CREW LIST\n"])    # pyarrow fast path and csv-module path
@pytest.mark.parametrize("heading", ["Tempat/tanggal lahir", "Place and date of birth"])
def test_merged_birth_heading_place_first(tmp_path, heading: str, title: str) -> None:
    text = f"{title}Vessel,Family name,{heading},,Nationality\nSEA STAR,Sok,Surabaya,10/10/1972,IDN\n"
    table = one(read_file(write(tmp_path, "m.csv", text)))
    assert list(table.frame.columns) == ["vessel_name", "family_name", "place_of_birth", "date_of_birth", "nationality"]
    assert table.column_map[heading] == "place_of_birth" and table.column_map["Date of birth"] == "date_of_birth"
    assert rows(table) == [["SEA STAR", "Sok", "Surabaya", "10/10/1972", "IDN"]]


def test_merged_birth_heading_left_alone_with_own_date_column_or_empty_neighbour(tmp_path) -> None:
    own = "Family name,Date and place of birth,,Date of birth\nSok,10/10/1972 Surabaya,x,10/10/1972\n"
    assert list(one(read_file(write(tmp_path, "a.csv", own))).frame.columns) == [
        "family_name", "birth_combined", "column 3", "date_of_birth"]
    empty = "Family name,Date and place of birth,,Rank\nSok,10/10/1972 Surabaya,,AB\n"
    assert list(one(read_file(write(tmp_path, "b.csv", empty))).frame.columns) == [
        "family_name", "birth_combined", "column 3", "rank"]


@pytest.mark.parametrize("footer", [
    ["Nakhoda / Master", "", "Budi Santoso"],
    ["Master:", "Budi Santoso"],
    ["Master: Budi Santoso"],
    ["Captain", "", "", "Budi Santoso"],
    ["Nakhoda", "Budi Santoso"],
    ["Thuyền trưởng", "Nguyễn Văn Hùng"],
    ["", "The Master", "Budi Santoso"],
])
def test_master_signature_footer_is_not_a_person(tmp_path, footer: list[str]) -> None:
    table = sheet_table(tmp_path, [*PERSONS, [], footer])
    assert table.frame["full_name"].tolist() == ["Budi Santoso", "Agus Salim"]
    assert table.source_rows.tolist() == [2, 3]


def test_sparse_person_row_with_master_rank_is_kept(tmp_path) -> None:
    table = sheet_table(tmp_path, [*PERSONS, [None, "Sok Dara", "Master"], [None, None, "Captain", None, None]])
    assert table.frame["full_name"].tolist() == ["Budi Santoso", "Agus Salim", "Sok Dara", ""]
    assert table.frame["rank"].tolist() == ["Nakhoda", "KKM", "Master", "Captain"]
    narrow = one(read_file(write(tmp_path, "n.csv", "Rank,Name\nMaster,Sok Dara\n")))
    assert rows(narrow) == [["Master", "Sok Dara"]]


# ------------------------------------------------------------------ samples


def test_samples_read() -> None:
    flat = one(read_file(str(SAMPLES / "flat_manifest.csv")))
    assert flat.frame.shape == (175, 29) and flat.unknown_columns == []
    assert flat.source_rows[0] == 2 and flat.source_rows[-1] == 176
    calls = one(read_file(str(SAMPLES / "calls.csv")))
    assert {"call_ref", "call_date", "call_hour"} <= set(calls.frame.columns) and len(calls.frame) == 5
    persons = one(read_file(str(SAMPLES / "persons.csv")))
    assert "call_ref" in persons.frame.columns and len(persons.frame) == 82
    crew, pax = read_file(str(SAMPLES / "fal_general_declaration_crew.xlsx")).tables
    assert (crew.sheet, crew.header["role"], len(crew.frame)) == ("Crew List", "crew", 14)
    assert (pax.sheet, pax.header["role"], len(pax.frame)) == ("Passenger List", "passenger", 2)
    assert crew.header["vessel_name"] == "MV SEA STAR" and crew.header["direction"] == "arrival"
    assert crew.source_rows.tolist() == list(range(10, 24))


# ------------------------------------------------------------------ errors


def error_of(path: str) -> str:
    with pytest.raises(InputError) as exc:
        read_file(path)
    return exc.value.one_line()


def test_missing_file(tmp_path) -> None:
    assert error_of(str(tmp_path / "nope.csv")) == f"{tmp_path / 'nope.csv'}: no such file; check the path"


def test_folder(tmp_path) -> None:
    assert "is a folder, not a file" in error_of(str(tmp_path))


@pytest.mark.parametrize("data, fragment", [
    (b"", "e.csv: file is empty"),
    (b"\xef\xbb\xbf\r\n \n", "e.csv: file is empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "e.csv: not a spreadsheet or text file (looks like a PNG image)"),
    (bytes(range(256)) * 4, "e.csv: not a spreadsheet or text file (binary data)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "e.csv: legacy Excel .xls (or password-protected) workbook"),
    (b"PK\x03\x04garbage", "e.csv: damaged or incomplete ZIP/XLSX file"),
    (b"Remarks,Cabin\nok,12\n", "e.csv: none of the columns piu needs (2 column(s), none a heading piu knows); "
                                "expected e.g. vessel_name or imo, and family_name; open the file to see its headings"),
    # a names-only first row (no digits) must not be quoted either: it may be a person
    (b"TAN Wei Ming,MYS,Master\n", "e.csv: none of the columns piu needs (3 column(s), none a heading piu knows)"),
    (b"SOK Dara,01/02/1990,N1234567\n", "e.csv: none of the columns piu needs (3 column(s), none a heading piu knows)"),
])
def test_bad_inputs(tmp_path, data: bytes, fragment: str) -> None:
    assert error_of(write(tmp_path, "e.csv", data)).startswith(fragment)


def test_truncated_xlsx(tmp_path) -> None:
    path = tmp_path / "fal.xlsx"
    fal_workbook(path)
    raw = path.read_bytes()
    cut = write(tmp_path, "cut.xlsx", raw[: len(raw) // 2])
    assert error_of(cut).startswith("cut.xlsx: damaged or incomplete ZIP/XLSX file")


def test_zip_that_is_not_a_workbook(tmp_path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", "hello")
    assert error_of(write(tmp_path, "x.xlsx", buf.getvalue())).startswith("x.xlsx: a ZIP archive, not an XLSX workbook")


def test_corrupt_sheet_xml(tmp_path) -> None:
    path = tmp_path / "fal.xlsx"
    fal_workbook(path)
    out = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            dst.writestr(info.filename, data[:200] if info.filename == "xl/worksheets/sheet1.xml" else data)
    assert error_of(write(tmp_path, "bad.xlsx", out.getvalue())).startswith("bad.xlsx: damaged or unreadable XLSX workbook")


def test_xlsx_without_known_columns(tmp_path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append(["Remarks", "Cabin"])
    path = tmp_path / "n.xlsx"
    wb.save(path)
    assert error_of(str(path)).startswith("n.xlsx: none of the columns piu needs (2 column(s), none a heading piu knows)")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(
    st.binary(max_size=400),
    st.text(max_size=300).map(lambda s: s.encode("utf-8")),
    st.lists(st.sampled_from(["Vessel", "Surname", "Name of ship:", "No.", ",", ";", "\t", "\n", '"', "x", "1", "{",
                              "}", ":", "\r\n", "PK\x03\x04", "\x00"]), max_size=60).map(lambda p: "".join(p).encode()),
))
def test_any_bytes_read_or_raise_input_error(tmp_path, data: bytes) -> None:
    path = tmp_path / "h.csv"
    path.write_bytes(data)
    try:
        result = read_file(str(path))
    except InputError as exc:
        assert "\n" not in exc.one_line()
    else:
        assert isinstance(result, ReadResult) and result.tables
        for table in result.tables:
            assert len(table.source_rows) == len(table.frame)
