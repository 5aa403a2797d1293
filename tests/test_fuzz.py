"""Hypothesis: readers, normalisers and `piu ingest` on arbitrary bytes and text never raise a traceback.

Every reader returns tables or raises `InputError` (a one-line message); every normaliser returns a
value per input row, and flags what it did not understand instead of failing; `piu ingest` exits 0
or 1, and 1 comes with exactly one `Error:` line. Example counts are kept small so that the whole
file runs in well under a minute.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from piu.cli import app
from piu.errors import InputError
from piu.io import normalise as nz
from piu.io.ports import PortTable
from piu.io.readers import ReadResult, read_file

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

HEADINGS = ["port", "direction", "call_time", "vessel_name", "imo", "mmsi", "flag", "vessel_type", "role",
            "family_name", "given_names", "nationality", "date_of_birth", "gender", "doc_number", "doc_expiry",
            "Name of ship", "Family name", "Nature and No. of identity document", "x", ""]
# text agents' files hold: delimiters, quotes, line breaks, BOMs, NBSP, scripts of the region, controls
CELL = st.text(alphabet=st.sampled_from(list("aZ09 ,;\t\"'\n\r=+-@./:|\\") + ["\ufeff", "\u00a0", "ễ", "ก", "ខ",
                                                                           "\x00", "\x1b", "😀"]), max_size=12)
ANY_TEXT = st.text(max_size=40)


def read_bytes(data: bytes, suffix: str = ".csv") -> ReadResult | None:
    """read_file on a file holding `data`: the result, or None after a clean InputError."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"input{suffix}"
        path.write_bytes(data)
        try:
            return read_file(str(path))
        except InputError as exc:
            message = str(exc)
            assert message and "\n" not in message and "Traceback" not in message
            return None


def check_result(res: ReadResult | None) -> None:
    if res is None:
        return
    for t in res.tables:
        assert len(t.source_rows) == len(t.frame)
        assert all(isinstance(w, str) and "\n" not in w for w in res.warnings)


# --- readers -------------------------------------------------------------------------------

@FAST
@given(st.binary(max_size=2000))
def test_read_file_on_arbitrary_bytes(data: bytes) -> None:
    check_result(read_bytes(data))


@FAST
@given(st.lists(st.lists(CELL, min_size=1, max_size=6), min_size=1, max_size=8),
       st.sampled_from([",", ";", "\t", "|"]), st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"]))
def test_read_file_on_delimited_text(rows: list[list[str]], delim: str, encoding: str) -> None:
    text = "\n".join(delim.join(r) for r in rows)
    data = text.encode(encoding, errors="replace")
    check_result(read_bytes(data))


@FAST
@given(st.lists(st.sampled_from(HEADINGS), min_size=1, max_size=8),
       st.lists(st.lists(CELL, min_size=0, max_size=9), max_size=6))
def test_read_file_on_manifest_like_csv(head: list[str], rows: list[list[str]]) -> None:
    import csv

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(head)
    w.writerows(rows)
    check_result(read_bytes(buf.getvalue().encode("utf-8")))


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | ANY_TEXT,
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ANY_TEXT, inner, max_size=3),
                           max_leaves=8)


@FAST
@given(st.lists(st.one_of(st.dictionaries(st.sampled_from(HEADINGS) | ANY_TEXT, JSON_VALUES, max_size=6)
                          .map(lambda d: json.dumps(d, allow_nan=True)),
                          ANY_TEXT.map(lambda t: "{" + t)), min_size=1, max_size=6))
def test_read_file_on_json_lines(lines: list[str]) -> None:
    check_result(read_bytes("\n".join(lines).encode("utf-8"), ".jsonl"))


@SLOW
@given(st.lists(st.tuples(st.sampled_from(["[Content_Types].xml", "xl/workbook.xml", "xl/worksheets/sheet1.xml",
                                           "xl/sharedStrings.xml", "xl/_rels/workbook.xml.rels", "_rels/.rels",
                                           "../../evil.txt", "docProps/app.xml"]),
                          st.binary(max_size=300)), max_size=5))
def test_read_file_on_xlsx_like_zips(members: list[tuple[str, bytes]]) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members:
            zf.writestr(name, data)
    check_result(read_bytes(buf.getvalue(), ".xlsx"))


XLSX_CELL = st.one_of(st.none(), st.integers(-10**12, 10**12), st.floats(allow_nan=False, allow_infinity=False),
                      st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=15))


@SLOW
@given(st.lists(st.lists(XLSX_CELL, min_size=1, max_size=6), min_size=1, max_size=8),
       st.lists(st.sampled_from(HEADINGS), min_size=1, max_size=6))
def test_read_file_on_real_workbooks_with_arbitrary_cells(rows: list[list[object]], head: list[str]) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(head)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    check_result(read_bytes(buf.getvalue(), ".xlsx"))


# --- normalisers ------------------------------------------------------------------------------

VALUES = st.lists(st.one_of(st.none(), ANY_TEXT, CELL), max_size=12)
PORTS = PortTable.load(None)

SERIES_NORMALISERS = {
    "clean_text": nz.clean_text, "name_key": nz.name_key, "country": nz.country,
    "port": lambda s: nz.port(s, PORTS), "parse_dates": nz.parse_dates,
    "parse_dates_monthfirst": lambda s: nz.parse_dates(s, dayfirst=False),
    "parse_times_utc": lambda s: nz.parse_times(s, "UTC"),
    "parse_times_zones": lambda s: nz.parse_times(s, pd.Series(["Asia/Phnom_Penh", None, "Not/AZone"] * 10)[:len(s)]),
    "imo": nz.imo, "mmsi": nz.mmsi, "doc_number": nz.doc_number, "gender": nz.gender, "role": nz.role,
    "direction": nz.direction, "boolean": nz.boolean, "doc_type": nz.doc_type,
    "vessel_category": nz.vessel_category, "to_float": nz.to_float, "to_int": nz.to_int,
}


@pytest.mark.parametrize("name", sorted(SERIES_NORMALISERS))
def test_normalisers_on_arbitrary_text(name: str) -> None:
    fn = SERIES_NORMALISERS[name]

    @settings(max_examples=40, deadline=None)
    @given(VALUES)
    def check(values: list[str | None]) -> None:
        s = pd.Series(values, dtype="object")
        out = fn(s)
        if isinstance(out, (nz.Normalised, nz.Dates)):
            assert len(out.values) == len(out.invalid) == len(s)
            # not understood is flagged, never silently dropped; missing input is never "invalid"
            assert not out.invalid[s.isna().to_numpy()].any()
            if isinstance(out, nz.Dates):  # a Buddhist-era year is read, a year out of range is not
                assert len(out.buddhist) == len(out.bad_year) == len(s)
                assert not (out.buddhist & out.invalid).any() and not (out.bad_year & ~out.invalid).any()
        else:
            assert len(out) == len(s)

    check()


@FAST
@given(ANY_TEXT)
def test_key_text_is_ascii_upper_words(text: str) -> None:
    key = nz.key_text(text)
    assert key == " ".join(key.split()) and key.isascii() and key == key.upper()


# --- piu ingest on generated CSV text ---------------------------------------------------------------

@SLOW
@given(st.lists(st.sampled_from(HEADINGS), min_size=1, max_size=8, unique=True),
       st.lists(st.lists(CELL, min_size=0, max_size=9), max_size=5))
def test_piu_ingest_exits_0_or_1_with_one_error_line(head: list[str], rows: list[list[str]]) -> None:
    import csv

    assume(any(h for h in head))
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "m.csv"
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(head)
            w.writerows(rows)
        res = CliRunner().invoke(app, ["--home", str(Path(d) / "h"), "-q", "ingest", str(path)])
        assert res.exit_code in (0, 1), (res.exit_code, res.stderr)
        if res.exit_code == 1:
            lines = res.stderr.strip("\n").split("\n")
            assert len(lines) == 1 and lines[0].startswith("Error: ") and "internal error" not in lines[0], res.stderr
        assert not isinstance(res.exception, Exception) or isinstance(res.exception, SystemExit)


VALID_HEAD = ["port", "direction", "call_time", "vessel_name", "imo", "mmsi", "flag", "role", "family_name",
              "nationality", "date_of_birth", "doc_number", "doc_expiry", "gender", "capacity"]
GOOD = {"port": "KHKOS", "direction": "arrival", "call_time": "2026-11-20 08:00", "vessel_name": "SEA STAR",
        "imo": "9074729", "mmsi": "514123456", "flag": "KHM", "role": "crew", "family_name": "SOK",
        "nationality": "KHM", "date_of_birth": "1990-01-02", "doc_number": "N1234567", "doc_expiry": "2030-01-01",
        "gender": "M", "capacity": "12"}


@SLOW
@given(st.lists(st.dictionaries(st.sampled_from(VALID_HEAD), CELL | ANY_TEXT, max_size=4), min_size=1, max_size=6))
def test_piu_ingest_stores_or_quarantines_rows_with_hostile_cells(changes: list[dict[str, str]]) -> None:
    """Good rows with a few hostile cells: every row is stored or quarantined with a reason."""
    import csv

    from piu.store import Store

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "m.csv"
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(VALID_HEAD)
            for i, change in enumerate(changes):
                w.writerow([{**GOOD, "doc_number": f"N{1000000 + i}", **change}[h].replace("\x00", "") for h in VALID_HEAD])
        res = CliRunner().invoke(app, ["--home", str(Path(d) / "h"), "-q", "ingest", str(path), "-f", "json"])
        assert res.exit_code in (0, 1), (res.exit_code, res.stderr)
        if res.exit_code == 1:
            lines = res.stderr.strip("\n").split("\n")
            assert len(lines) == 1 and lines[0].startswith("Error: ") and "internal error" not in lines[0], res.stderr
            return
        summary = json.loads(res.stdout)
        store = Store(Path(d) / "h")
        from piu.queries import all_call_versions, persons_of
        from piu.schema import quarantine_schema

        persons = persons_of(store, all_call_versions(store)["version_id"]) if store.exists() else []
        quarantined = store.read("quarantine", quarantine_schema()).to_pandas() if store.exists() else pd.DataFrame()
        if len(quarantined):
            assert quarantined["reason"].str.len().min() > 0  # a reason for every quarantined row
        assert len(persons) + len(quarantined) >= len(changes), summary  # nothing silently dropped
