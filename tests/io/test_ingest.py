"""Ingest: every shape into the store, provenance, idempotency, amendments, quarantine, bad input, crashes."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from piu import queries
from piu.cli import app
from piu.schema import quarantine_schema
from piu.store import Store

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "data" / "samples"
FLAT = SAMPLES / "flat_manifest.csv"
FAL = SAMPLES / "fal_general_declaration_crew.xlsx"
CALLS = SAMPLES / "calls.csv"
PERSONS = SAMPLES / "persons.csv"
PIU = [sys.executable, "-m", "piu"]

HEADER = ("port,direction,call_time,vessel_name,imo,mmsi,flag,vessel_type,role,family_name,given_names,"
          "nationality,date_of_birth,doc_number,doc_expiry")


def run(home: Path, *args: str, input: str | None = None):  # noqa: A002
    """Invoke the CLI in-process with a store at `home`."""
    return CliRunner().invoke(app, ["--home", str(home), *args], input=input)


def store_files(home: Path) -> list[str]:
    """Every file in the store but the lock (to compare 'untouched')."""
    return sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_file() and p.name != ".lock")


def write_csv(path: Path, *rows: str, header: str = HEADER) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


ROW_A = "KHKOS,A,20/11/2026 10:00,SEA PEARL,9074729,514123456,KHM,General cargo,C,Sok,Dara,KHM,01/02/1990,N1234567,01/01/2030"
ROW_B = "KHKOS,A,20/11/2026 10:00,SEA PEARL,9074729,514123456,KHM,General cargo,C,Chan,Vibol,KHM,03/04/1985,N7654321,01/01/2030"


# --- the three shapes ----------------------------------------------------------------------

def test_flat_sample_is_stored_with_provenance(tmp_path: Path) -> None:
    res = run(tmp_path, "ingest", str(FLAT), "-f", "json")
    assert res.exit_code == 0, res.stderr
    summary = json.loads(res.stdout)
    assert (summary["rows"], summary["calls_new"], summary["persons"], summary["quarantined"]) == (175, 12, 175, 0)
    assert res.stderr.splitlines()[0] == ("flat_manifest.csv: 175 rows; stored 12 new, 0 amended call(s) "
                                         "(0 unchanged), 175 person(s); 0 row(s) quarantined")
    store = Store(tmp_path)
    calls = queries.current_calls(store)
    persons = queries.persons_of(store, calls["version_id"])
    assert len(calls) == 12 and len(persons) == 175
    first = calls[calls["vessel_name"] == "ORIENT PEARL"].iloc[0]
    assert first["call_id"] == "KHKOS-20261116-A-9763124"
    # 16/11/2026 08:30 in Sihanoukville (UTC+7) is 01:30 UTC
    assert first["call_time"] == pd.Timestamp("2026-11-16T01:30:00Z")
    assert first["call_time_local"] == "2026-11-16T08:30:00+07:00"
    assert (first["flag"], first["port"], first["last_port"], first["imo_valid"]) == ("SGP", "KHKOS", "SGSIN", True)
    assert first["source_file"] == "flat_manifest.csv"
    import hashlib
    assert first["source_sha256"] == hashlib.sha256(FLAT.read_bytes()).hexdigest()
    master = persons[(persons["version_id"] == first["version_id"]) & (persons["source_row"] == 2)].iloc[0]
    assert (master["family_name"], master["nationality"], master["role"], master["rank"]) == ("Dela Cruz", "PHL", "crew", "Master")
    assert master["date_of_birth"] == date(1978, 11, 29)
    assert master["doc_number"] == "P4168095A"
    assert master["name_key"] == "DELA CRUZ RONALDO"


def test_fal_form_workbook_reads_header_block_and_both_sheets(tmp_path: Path) -> None:
    res = run(tmp_path, "ingest", str(FAL))
    assert res.exit_code == 0, res.stderr
    store = Store(tmp_path)
    calls = queries.current_calls(store)
    assert len(calls) == 1
    call = calls.iloc[0]
    assert (call["vessel_name"], call["port"], call["direction"], call["imo"]) == ("MV SEA STAR", "KHKOS", "arrival", "9812054")
    assert call["call_time"] == pd.Timestamp("2026-11-20T03:00:00Z")
    persons = queries.persons_of(store, calls["version_id"])
    assert persons["role"].value_counts().to_dict() == {"crew": 14, "passenger": 2}
    assert set(persons["source_sheet"]) == {"Crew List", "Passenger List"}
    # the combined FAL column 'Nature and No. of identity document' was split
    assert persons["doc_number"].notna().all()
    assert set(persons.loc[persons["role"] == "crew", "doc_type"]) == {"passport"}


def test_separate_call_and_person_files_are_joined(tmp_path: Path) -> None:
    res = run(tmp_path, "ingest", str(CALLS), str(PERSONS), "-f", "json")
    assert res.exit_code == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["calls_new"] == 5 and summary["persons"] == 82
    assert "5 call(s) stored with their persons from the person file" in res.stderr
    store = Store(tmp_path)
    calls = queries.all_call_versions(store)
    assert len(calls) == 5 and calls["call_id"].is_unique
    persons = queries.persons_of(store, calls["version_id"])
    assert persons.groupby("version_id").size().sum() == 82
    lucky = calls[calls["vessel_name"] == "LUCKY FORTUNE"].iloc[0]
    assert (lucky["flag"], lucky["year_built"], lucky["last_port"]) == ("TGO", 1992, "THBKK")


def test_person_file_without_its_call_file_is_an_error(tmp_path: Path) -> None:
    res = run(tmp_path, "ingest", str(PERSONS))
    assert res.exit_code == 1
    assert res.stderr.strip() == ("Error: persons.csv: persons refer to calls by 'call_ref' but no call file was given; "
                                  "ingest the call file and the person file in one command: piu ingest calls.csv persons.csv")
    assert not (tmp_path / "calls").exists()


# --- idempotency and amendments --------------------------------------------------------------

def test_same_file_twice_stores_nothing_new(tmp_path: Path) -> None:
    assert run(tmp_path, "ingest", str(FLAT)).exit_code == 0
    before = store_files(tmp_path)
    res = run(tmp_path, "ingest", str(FLAT), "-f", "json")
    assert res.exit_code == 0
    assert json.loads(res.stdout)["files"][0]["status"] == "already-ingested"
    assert "flat_manifest.csv: already ingested (" in res.stderr and "nothing new stored" in res.stderr
    assert store_files(tmp_path) == before


def test_identical_content_in_a_new_file_is_unchanged(tmp_path: Path) -> None:
    a = write_csv(tmp_path / "a.csv", ROW_A, ROW_B)
    b = write_csv(tmp_path / "b.csv", ROW_B, ROW_A)  # same manifest, rows in another order
    assert run(tmp_path / "h", "ingest", str(a)).exit_code == 0
    res = run(tmp_path / "h", "ingest", str(b), "-f", "json")
    out = json.loads(res.stdout)
    assert (out["calls_new"], out["calls_amended"], out["calls_unchanged"]) == (0, 0, 1)
    assert len(queries.all_call_versions(Store(tmp_path / "h"))) == 1


def test_amended_manifest_supersedes_and_keeps_the_earlier_version(tmp_path: Path) -> None:
    home = tmp_path / "h"
    assert run(home, "ingest", str(write_csv(tmp_path / "v1.csv", ROW_A))).exit_code == 0
    res = run(home, "ingest", str(write_csv(tmp_path / "v2.csv", ROW_A, ROW_B)), "-f", "json")
    out = json.loads(res.stdout)
    assert (out["calls_new"], out["calls_amended"], out["persons"]) == (0, 1, 2)
    store = Store(home)
    versions = queries.all_call_versions(store)
    assert len(versions) == 2 and versions["call_id"].nunique() == 1
    current = queries.current_calls(store)
    assert current.iloc[0]["source_file"] == "v2.csv"
    assert len(queries.persons_of(store, current["version_id"])) == 2
    old = versions[versions["source_file"] == "v1.csv"]
    assert len(queries.persons_of(store, old["version_id"])) == 1  # kept for audit


# --- quarantine, strict, dry run ------------------------------------------------------------

BAD_ROWS = [
    ROW_A,
    "KHKOS,A,20/11/2026 10:00,SEA PEARL,9074729,514123456,KHM,General cargo,C,,,KHM,01/02/1990,N1,01/01/2030",
    "KHKOS,A,20/11/2026 10:00,SEA PEARL,9074729,514123456,KHM,General cargo,C,Keo,Sina,KHM,31/02/1990,N2,01/01/2030",
    "KHKOS,A,20/11/2026 10:00,,,,KHM,General cargo,C,Lim,Bora,KHM,01/02/1990,N3,01/01/2030",
    "KHKOS,A,someday,SEA PEARL,9074729,514123456,KHM,General cargo,C,Meas,Rith,KHM,01/02/1990,N4,01/01/2030",
]


def test_bad_rows_go_to_quarantine_with_row_and_reason(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "bad.csv", *BAD_ROWS)
    res = run(tmp_path / "h", "ingest", str(src), "-f", "json")
    assert res.exit_code == 0, res.stderr
    out = json.loads(res.stdout)
    assert (out["rows"], out["persons"], out["quarantined"]) == (5, 1, 4)
    assert out["quarantine_reasons"] == {
        "no person name": 1, "date of birth is not a date (expected DD/MM/YYYY)": 1,
        "no vessel identity (name, IMO or MMSI)": 1,
        "date of arrival/departure is not a date (expected DD/MM/YYYY HH:MM)": 1}
    q = Store(tmp_path / "h").read("quarantine", quarantine_schema()).to_pandas().sort_values("source_row")
    assert q["source_row"].tolist() == [3, 4, 5, 6]
    assert q["column"].tolist() == ["family_name", "date_of_birth", "vessel_name", "call_time"]
    assert json.loads(q.iloc[1]["raw"])["date_of_birth"] == "31/02/1990"  # nothing an agent sent is lost
    # the stderr summary names reasons and counts, never the personal data of the rows
    assert "quarantined 1: no person name" in res.stderr
    assert "Keo" not in res.stderr and "31/02/1990" not in res.stderr
    listed = run(tmp_path / "h", "quarantine", "-f", "csv")
    assert listed.stdout.splitlines()[0] == "ingest_id,source_file,source_sheet,source_row,column,reason"
    assert len(listed.stdout.splitlines()) == 5


def test_strict_rejects_the_whole_file(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "bad.csv", *BAD_ROWS)
    res = run(tmp_path / "h", "ingest", "--strict", str(src))
    assert res.exit_code == 1
    assert res.stderr.startswith("Error: bad.csv: 4 of 5 row(s) cannot be stored (e.g. ")
    assert "--strict rejects the whole file and nothing was stored from it" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "h" / "calls").exists()


def test_strict_rejects_only_the_bad_file(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "bad.csv", *BAD_ROWS)
    res = run(tmp_path / "h", "ingest", "--strict", str(src), str(FLAT))
    assert res.exit_code == 1
    assert res.stderr.strip().splitlines()[-1].startswith("Error: bad.csv: 4 of 5 row(s) cannot be stored")
    assert len(queries.current_calls(Store(tmp_path / "h"))) == 12


def test_a_file_whose_rows_are_all_bad_is_an_error_but_kept_in_quarantine(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "bad.csv", *BAD_ROWS[1:])
    res = run(tmp_path / "h", "ingest", str(src))
    assert res.exit_code == 1
    assert res.stderr.strip().splitlines()[-1].startswith(
        "Error: bad.csv: 4 of 4 row(s) cannot be stored (e.g. ")
    assert "nothing from it could be stored; the rows are kept in quarantine" in res.stderr
    q = Store(tmp_path / "h").read("quarantine", quarantine_schema())
    assert q.num_rows == 4


def test_header_only_file_is_an_error(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "empty_list.csv")
    res = run(tmp_path / "h", "ingest", str(src))
    assert res.exit_code == 1
    assert res.stderr.strip() == ("Error: empty_list.csv: no rows under the headings; nothing to store; "
                                  "check that the agent sent the list, not only the header")


def test_same_file_with_another_mapping_is_read_again(tmp_path: Path) -> None:
    header = HEADER.replace("family_name,given_names", "Col 9,Col 10")  # headings piu cannot know
    src = write_csv(tmp_path / "vn.csv", ROW_A, header=header)
    res = run(tmp_path / "h", "ingest", str(src))
    assert res.exit_code == 1  # no person name: the row is quarantined
    assert "2 column(s) not recognised, kept as extra: 'Col 9', 'Col 10'" in res.stderr
    (tmp_path / "map.csv").write_text("Col 9,family_name\nCol 10,given_names\n", encoding="utf-8")
    res = run(tmp_path / "h", "ingest", "--map", str(tmp_path / "map.csv"), str(src), "-f", "json")
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["persons"] == 1
    res = run(tmp_path / "h", "ingest", "--map", str(tmp_path / "map.csv"), str(src))
    assert "already ingested" in res.stderr
    res = run(tmp_path / "h", "ingest", "--force", "--map", str(tmp_path / "map.csv"), str(src), "-f", "json")
    out = json.loads(res.stdout)
    assert (out["calls_new"], out["calls_unchanged"]) == (0, 1)


def test_month_first_files_are_recognised(tmp_path: Path) -> None:
    us = ROW_A.replace("01/02/1990", "11/23/1981").replace("20/11/2026 10:00", "11/20/2026 10:00")
    us2 = ROW_B.replace("03/04/1985", "07/04/1972").replace("20/11/2026 10:00", "11/20/2026 10:00")
    src = write_csv(tmp_path / "us.csv", us, us2)
    res = run(tmp_path / "h", "ingest", str(src))
    assert res.exit_code == 0, res.stderr
    assert "dates read month-first (MM/DD/YYYY): 2 value(s) only make sense that way" in res.stderr
    store = Store(tmp_path / "h")
    persons = queries.persons_of(store, queries.current_calls(store)["version_id"]).sort_values("source_row")
    assert persons["date_of_birth"].tolist() == [date(1981, 11, 23), date(1972, 7, 4)]
    res = run(tmp_path / "h2", "ingest", "--day-first", str(src))
    assert res.exit_code == 0 and "month-first" not in res.stderr
    store = Store(tmp_path / "h2")
    persons = queries.persons_of(store, queries.current_calls(store)["version_id"]).sort_values("source_row")
    assert persons["date_of_birth"].tolist()[1] == date(1972, 4, 7)  # ambiguous: read as told


def test_family_comma_given_in_one_name_column(tmp_path: Path) -> None:
    header = HEADER.replace("family_name,given_names", "Name")
    rows = [ROW_A.replace("Sok,Dara", '"TAN, Wei Ming"'), ROW_B.replace("Chan,Vibol", "Aung Kyaw")]
    res = run(tmp_path / "h", "ingest", str(write_csv(tmp_path / "n.csv", *rows, header=header)))
    assert res.exit_code == 0, res.stderr
    store = Store(tmp_path / "h")
    persons = queries.persons_of(store, queries.current_calls(store)["version_id"]).sort_values("source_row")
    assert persons["family_name"].tolist()[0] == "TAN" and persons["given_names"].tolist() == ["Wei Ming", "Aung Kyaw"]
    assert pd.isna(persons["family_name"].tolist()[1])


def test_unknown_port_says_times_were_read_as_utc(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "k.csv", ROW_A.replace("KHKOS", "Atlantis"))
    res = run(tmp_path / "h", "ingest", str(src))
    assert "port: 1 value(s) not a known port; kept as sent, and its call times read as UTC" in res.stderr


def test_dry_run_stores_nothing(tmp_path: Path) -> None:
    res = run(tmp_path / "h", "ingest", "--dry-run", str(FLAT), "-f", "json")
    assert res.exit_code == 0
    out = json.loads(res.stdout)
    assert out["dry_run"] is True and out["calls_new"] == 12
    assert "would store 12 new" in res.stderr and "dry run: nothing was stored" in res.stderr
    assert not (tmp_path / "h" / "calls").exists()


def test_unknown_columns_are_kept(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "x.csv", ROW_A + ",bunk 7,yes", header=HEADER + ",Cabin,Vaccinated")
    assert run(tmp_path / "h", "ingest", str(src)).exit_code == 0
    store = Store(tmp_path / "h")
    persons = queries.persons_of(store, queries.current_calls(store)["version_id"])
    assert json.loads(persons.iloc[0]["extra"]) == {"Cabin": "bunk 7", "Vaccinated": "yes"}


def test_stdin_is_read_with_dash(tmp_path: Path) -> None:
    text = "\n".join([HEADER, ROW_A, ROW_B]) + "\n"
    res = run(tmp_path / "h", "ingest", "-", "-f", "json", input=text)
    assert res.exit_code == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["files"][0]["file"] == "<stdin>" and out["persons"] == 2


def test_cp1252_fallback_is_announced(tmp_path: Path) -> None:
    src = tmp_path / "latin.csv"
    src.write_bytes(("\n".join([HEADER, ROW_A.replace("Dara", "José")]) + "\n").encode("cp1252"))
    res = run(tmp_path / "h", "ingest", str(src))
    assert res.exit_code == 0
    assert "cp1252" in res.stderr
    store = Store(tmp_path / "h")
    persons = queries.persons_of(store, queries.current_calls(store)["version_id"])
    assert persons.iloc[0]["given_names"] == "José"


# --- bad input: one line, exit 1, store untouched ----------------------------------------------

@pytest.mark.parametrize("name, content, fragment", [
    ("missing.csv", None, "missing.csv"),
    ("empty.csv", b"", "empty.csv"),
    ("picture.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01" + bytes(range(256)), "picture.csv"),
    ("truncated.xlsx", None, "truncated.xlsx"),
    ("unrelated.csv", b"colour,size,price\nred,10,3\n", "none of the columns piu needs"),
])
def test_bad_files_fail_cleanly(tmp_path: Path, name: str, content: bytes | None, fragment: str) -> None:
    home = tmp_path / "h"
    assert run(home, "ingest", str(FLAT)).exit_code == 0
    before = store_files(home)
    path = tmp_path / name
    if name == "truncated.xlsx":
        path.write_bytes(FAL.read_bytes()[:3000])
    elif content is not None:
        path.write_bytes(content)
    res = run(home, "ingest", str(path))
    assert res.exit_code == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and fragment in lines[0]
    assert res.stdout == ""
    assert store_files(home) == before


def test_one_bad_file_among_good_ones_is_named_and_the_others_stored(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    res = run(tmp_path / "h", "ingest", str(FLAT), str(tmp_path / "empty.csv"))
    assert res.exit_code == 1
    errors = [line for line in res.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and "empty.csv" in errors[0]
    assert len(queries.current_calls(Store(tmp_path / "h"))) == 12


# --- crashes and concurrency (real processes) --------------------------------------------------

@pytest.fixture(scope="module")
def big_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from piu.synth import generate

    out = tmp_path_factory.mktemp("big")
    generate(4000, out, seed=11)
    return out / "manifest.csv"


def test_sigkill_during_ingest_leaves_the_store_as_it_was(tmp_path: Path, big_manifest: Path) -> None:
    home = tmp_path / "h"
    assert subprocess.run([*PIU, "--home", str(home), "ingest", str(FLAT)], capture_output=True).returncode == 0
    before_calls = len(queries.all_call_versions(Store(home)))
    rng = random.Random(7)
    for attempt in range(3):  # random points: while reading, normalising or writing
        proc = subprocess.Popen([*PIU, "--home", str(home), "ingest", str(big_manifest)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.5, 3.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        store = Store(home)
        versions = queries.all_call_versions(store)
        if len(versions) != before_calls:  # it finished before the kill: nothing to check here
            break
        assert versions["call_id"].is_unique
    res = subprocess.run([*PIU, "--home", str(home), "ingest", str(big_manifest), "-f", "json"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    versions = queries.all_call_versions(Store(home))
    assert versions["call_id"].is_unique  # re-running completed the work without duplicates
    assert len(versions) == before_calls + 4000 or json.loads(res.stdout)["files"][0]["status"] == "already-ingested"


def test_two_ingests_at_once_both_land_once(tmp_path: Path) -> None:
    home = tmp_path / "h"
    procs = [subprocess.Popen([*PIU, "--home", str(home), "ingest", str(p)], stderr=subprocess.PIPE)
             for p in (FLAT, FAL)]
    for p in procs:
        assert p.wait() == 0, p.stderr.read()
    versions = queries.all_call_versions(Store(home))
    assert len(versions) == 13 and versions["call_id"].is_unique
    log = run(home, "ingest", "--list", "-f", "json")
    assert sorted(r["source_file"] for r in json.loads(log.stdout)) == [FAL.name, FLAT.name]


def test_batched_reading_stores_exactly_what_whole_reading_stores(tmp_path: Path, big_manifest: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import piu.io.readers as readers
    from piu.io.ingest import ingest_files

    whole = Store(tmp_path / "whole")
    monkeypatch.setattr(readers, "BATCH_MIN_BYTES", 1 << 40)
    ingest_files(whole, [str(big_manifest)])
    batched = Store(tmp_path / "batched")
    real_open = readers.open_batches
    seen = []

    def small_batches(path, **kw):
        br = real_open(path, mapping=kw.get("mapping"), min_bytes=0, batch_bytes=1 << 20)
        seen.append(br)
        return br

    monkeypatch.setattr(readers, "open_batches", small_batches)
    summary = ingest_files(batched, [str(big_manifest)])
    assert seen and seen[0] is not None
    assert len(list(seen[0].batches())) > 10  # really read in many batches
    assert summary.files[0].rows == 4000 * 0 + summary.files[0].persons + summary.files[0].quarantined

    def canon(store: Store) -> tuple[pd.DataFrame, pd.DataFrame]:
        calls = queries.current_calls(store).drop(columns=["version_id", "ingest_id", "ingested_at"])
        calls = calls.sort_values("call_id").reset_index(drop=True)
        persons = queries.persons_of(store, queries.current_calls(store)["version_id"])
        persons = persons.drop(columns=["version_id", "ingest_id"]).sort_values(["call_id", "source_row"])
        return calls, persons.reset_index(drop=True)

    (c1, p1), (c2, p2) = canon(whole), canon(batched)
    pd.testing.assert_frame_equal(c1, c2)
    pd.testing.assert_frame_equal(p1, p2)


def test_batches_normalised_concurrently_give_the_whole_file_summary(tmp_path: Path, big_manifest: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches are normalised two at a time on threads; warnings, value counts, quarantine and the
    stored rows must be those of reading the file whole (bad values spread over many batches)."""
    import piu.io.readers as readers
    from piu.io.ingest import ingest_files

    frame = pd.read_csv(big_manifest, dtype="str", keep_default_na=False)
    rows = np.arange(len(frame))
    frame.loc[rows % 97 == 5, "flag"] = "Atlantis"                 # value warning, every batch
    frame.loc[rows % 101 == 7, "gender"] = "?"                     # another, in another order
    frame.loc[rows % 89 == 3, "date_of_birth"] = "=1+2"            # quarantined, formula-like
    frame.loc[rows % 71 == 4, "date_of_birth"] = "23/11/2518"      # Buddhist era: one warning per file
    frame.loc[rows % 83 == 1, "family_name"] = ""                  # names cut to the given names
    frame.loc[rows % 79 == 2, "given_names"] = "  Nguyễn\u00a0 Thị  "  # non-ASCII, odd spaces
    frame.loc[rows > len(frame) - 500, "declared_crew"] = "many"   # a warning first seen late
    frame["remarks"] = np.where(rows % 7 == 0, "see note", "")      # kept as extra, mostly empty
    src = tmp_path / "bad.csv"
    frame.to_csv(src, index=False)

    monkeypatch.setattr(readers, "BATCH_MIN_BYTES", 1 << 40)
    whole = ingest_files(Store(tmp_path / "whole"), [str(src)]).files[0]
    real_open = readers.open_batches
    monkeypatch.setattr(readers, "open_batches",
                        lambda path, **kw: real_open(path, mapping=kw.get("mapping"), min_bytes=0, batch_bytes=1 << 20))
    batched = ingest_files(Store(tmp_path / "batched"), [str(src)]).files[0]
    again = ingest_files(Store(tmp_path / "again"), [str(src)]).files[0]

    # the same counts; in batches, warnings come in the order their values first appear in the
    # file (one by one), whichever thread finished first
    assert sorted(batched.warnings) == sorted(whole.warnings) and batched.warnings == again.warnings
    assert dict(batched.value_counts) == dict(whole.value_counts)
    order = [k[0] for k in batched.value_counts]
    assert order.index("flag") < order.index("gender") < order.index("declared_crew")
    assert batched.reasons == whole.reasons and batched.quarantined == whole.quarantined > 0
    assert (batched.rows, batched.persons, batched.calls_new) == (whole.rows, whole.persons, whole.calls_new)
    assert ("declared_crew", "not a number; left empty") in batched.value_counts
    be = BE_WARNING.format(f"{int((rows % 71 == 4).sum())} value(s) in date_of_birth")
    assert [w for w in batched.warnings if "Buddhist" in w] == [w for w in whole.warnings if "Buddhist" in w] == [be]

    def stored(home: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
        store = Store(home)
        calls = queries.current_calls(store).drop(columns=["version_id", "ingest_id", "ingested_at"])
        persons = queries.persons_of(store, queries.current_calls(store)["version_id"])
        persons = persons.drop(columns=["version_id", "ingest_id"]).sort_values(["call_id", "source_row"])
        return calls.sort_values("call_id").reset_index(drop=True), persons.reset_index(drop=True)

    (c1, p1), (c2, p2) = stored(tmp_path / "whole"), stored(tmp_path / "batched")
    pd.testing.assert_frame_equal(c1, c2)
    pd.testing.assert_frame_equal(p1, p2)


def test_headings_that_imply_direction_and_document_type(tmp_path: Path) -> None:
    src = tmp_path / "hint.csv"
    src.write_text("Vessel Name,IMO No,Port,ETD,Surname,Given Names,Seaman Book No\n"
                   "SEA WOLF,9074729,KHKOS,20/11/2026 10:00,Sok,Dara,SB123\n", encoding="utf-8")
    res = run(tmp_path / "h", "ingest", str(src))
    assert res.exit_code == 0, res.stderr
    assert "no direction column" not in res.stderr
    store = Store(tmp_path / "h")
    calls = queries.current_calls(store)
    assert calls["call_id"].tolist() == ["KHKOS-20261120-D-9074729"]  # ETD: a departure
    persons = queries.persons_of(store, calls["version_id"])
    assert persons[["doc_type", "doc_number"]].values.tolist() == [["seaman_book", "SB123"]]


@pytest.mark.parametrize("fmt", ["%Y%m%d", "%Y-%m"])
@pytest.mark.parametrize("zone", [None, "UTC", "Asia/Bangkok", "Asia/Kathmandu", "America/St_Johns", "Australia/Lord_Howe"])
def test_dates_formatted_in_arrow_equal_pandas_formatting(zone: str | None, fmt: str) -> None:
    from piu.io.ingest import _strftime

    rng = np.random.default_rng(2)
    # 1890-2103 at microseconds: DST rules after 2037 included, where Arrow's own zone rules end
    utc = pd.Series(pd.to_datetime(rng.integers(-2_500_000_000, 4_250_000_000, 5000), unit="s", utc=True)
                    + pd.to_timedelta(rng.integers(0, 10**6, 5000), unit="us"))
    utc[::9] = pd.NaT
    times = utc.dt.tz_convert(zone) if zone else utc.dt.tz_localize(None)
    expected = times.dt.strftime(fmt).fillna("")
    assert _strftime(times, fmt).tolist() == expected.tolist()


def test_text_of_typed_call_fields_equals_pandas_astype() -> None:
    from piu.io.ingest import _as_str

    utc = "datetime64[us, UTC]"
    cases = [pd.Series([True, None, False], dtype="boolean"), pd.Series([1, None, 3], dtype="Int64"),
             pd.Series([1.5, None, 1e16, -0.0, 0.0], dtype="Float64"),
             pd.Series(pd.to_datetime(["2026-01-01 00:00:00", None, "1969-12-31 23:59:59"]).tz_localize("UTC").astype(utc)),
             pd.Series(pd.to_datetime(["2026-01-01", None, "2026-01-01 00:00:00.5"], format="ISO8601").tz_localize("UTC").astype(utc)),
             pd.Series(pd.to_datetime(["2026-01-01 00:00:00", None]).tz_localize("Asia/Bangkok")),
             pd.Series(pd.to_datetime([None, None]).tz_localize("UTC").astype(utc)),
             pd.Series(["a", None], dtype="str")]
    for s in cases:
        assert _as_str(s).equals(s.astype("str")), s


def test_hex_digits_of_hash_pairs() -> None:
    from piu.io.ingest import _hex

    pairs = _hex(np.array([0, 2**64 - 1, 255], dtype=np.uint64), np.array([16, 1, 2**63], dtype=np.uint64))
    assert pairs.tolist() == ["00000000000000000000000000000010", "ffffffffffffffff0000000000000001",
                              "00000000000000ff8000000000000000"]


def test_row_hashes_equal_pandas_hash_of_the_same_frame() -> None:
    from piu.io.ingest import _row_hashes

    rng = np.random.default_rng(4)
    alphabet = list("abcXYZ0189 -'/") + ["é", "ệ", "ก", "ស", "中", "😀", "\u00a0"]
    text = ["".join(rng.choice(alphabet, size=k)) for k in rng.integers(0, 41, 3000)]
    text = [None if i % 11 == 0 else t for i, t in enumerate(text)]
    frame = pd.DataFrame({
        "text": pd.Series(text, dtype="str"),
        "few": pd.Series(rng.choice(["crew", "passenger", None], 3000), dtype="str"),
        "none": pd.Series([None] * 3000, dtype="str"),
        "when": pd.Series(pd.to_datetime(rng.integers(-10**9, 3 * 10**9, 3000), unit="s")).astype("datetime64[s]"),
        "flag": pd.Series(rng.choice([True, False, None], 3000), dtype="boolean"),
        "count": pd.Series(rng.choice([1, 2, None], 3000), dtype="Int64"),
    })
    frame.loc[::13, "when"] = pd.NaT
    expected = pd.util.hash_pandas_object(frame, index=False).to_numpy(np.uint64)
    assert (_row_hashes(frame, list(frame.columns)) == expected).all()
    part = frame.iloc[1000:1500].reset_index(drop=True)  # Arrow arrays sliced at an offset
    assert (_row_hashes(part, list(part.columns)) == pd.util.hash_pandas_object(part, index=False).to_numpy(np.uint64)).all()


def test_day_first_evidence_from_ascii_and_unicode_dates() -> None:
    from piu.io.ingest import FileSummary, _infer_dayfirst

    raw = pd.DataFrame({"date_of_birth": pd.Series(["05/13/1990", " 07-14-1985", "\u0661\u0662/\u0661\u0665/1990",
                                                    "12/11/1990", "05/13/19901", "x05/13/1990", None], dtype="str"),
                        "call_time": pd.Series(["01/02/2026 10:00", "\x1c02/28/2026", "\u00a003/30/2026"], dtype="str")})
    summary = FileSummary("f.csv", "0")
    assert _infer_dayfirst(raw, summary) is False
    # month-first: 05/13, 07-14, 02/28 after \x1c, 03/30 after NBSP (Python's \s); Arabic-Indic digits
    # match the pattern but are no numbers to pandas; 19901 and x05 do not match
    assert summary.warnings == ["dates read month-first (MM/DD/YYYY): 4 value(s) only make sense that way; "
                                "pass --day-first to read them day-first"]


def test_row_codes_of_runs_equal_codes_of_shuffled_rows() -> None:
    from piu.io.ingest import _row_codes

    rng = np.random.default_rng(8)
    calls = pd.DataFrame({"port": rng.choice(["KHKOS", "THBKK", None], 40), "imo": rng.choice(["9074729", None, "1"], 40)})
    rows = calls.iloc[np.repeat(np.arange(40), rng.integers(1, 30, 40))].reset_index(drop=True).astype("str")
    rows = rows.where(rows != "None", None)
    codes, first = _row_codes(rows)  # runs of equal rows: coded by their first rows
    order = rng.permutation(len(rows))
    shuffled_codes, shuffled_first = _row_codes(rows.iloc[order].reset_index(drop=True))  # no runs
    # equal rows share a code; codes count up in order of first appearance; first: each code's first row
    for c in (codes, shuffled_codes):
        assert list(pd.unique(c)) == list(range(c.max() + 1))
    assert pd.Series(codes).groupby(rows.fillna("-").agg("|".join, axis=1).to_numpy()).nunique().max() == 1
    assert (codes[first] == np.arange(len(first))).all() and (first == pd.Series(codes).drop_duplicates().index).all()
    assert len(first) == len(shuffled_first) == rows.fillna("-").drop_duplicates().shape[0]


def test_numbers_as_plain_digits_and_otherwise_equal_the_one_by_one_rule() -> None:
    from piu.io import normalise as nz

    values = ["0", "007", "123456789012345", "1234567890123456", "1,234", "75 GT", "NIL", "N/A", "", None, "12.5", "abc"] * 50
    cleaned, vals, bad = nz._numbers(pd.Series(values, dtype="object"))
    expected = [nz._number_one(v) if v is not None and v != "" else float("nan") for v in values]
    assert [None if np.isnan(v) else v for v in vals] == [None if e is None or np.isnan(e) else e for e in expected]
    assert bad.tolist() == [e is None for e in expected]


def test_calls_finished_from_batch_texts_equal_calls_finished_from_scratch() -> None:
    from piu.io.ingest import _finish_calls, _with_call_texts

    def partial(ids: list[str], agent: list, times: list[str]) -> pd.DataFrame:
        return pd.DataFrame({
            "port": "THBKK", "direction": "arrival", "call_time": pd.to_datetime(times, format="ISO8601").tz_localize("UTC"),
            "vessel_name": ["SEA STAR"] * len(ids), "agent": pd.Series(agent, dtype="str"),
            "gross_tonnage": pd.Series([1.5] * len(ids), dtype="Float64"), "source_row": range(len(ids)),
            "source_sheet": "", "_tz": "Asia/Bangkok", "_phash": np.arange(len(ids), dtype=np.uint64)},
            index=pd.Index(ids, name="call_id")).astype({"port": "str", "direction": "str", "vessel_name": "str"})

    started = datetime(2026, 11, 29, tzinfo=timezone.utc)
    cases = [
        [partial(["a", "b"], ["X", None], ["2026-11-01 10:00", "2026-11-02 11:00"]),
         partial(["b", "c"], ["Y", "Z"], ["2026-11-02 12:00", "2026-11-03 13:00"])],  # b spans batches
        [partial(["a"], ["X"], ["2026-11-01 10:00"]), partial(["c"], ["Z"], ["2026-11-03 13:00:00.5"])],  # a fraction
    ]
    for parts in cases:
        expected = _finish_calls(parts, "I", started)
        assert _finish_calls([_with_call_texts(p) for p in parts], "I", started).equals(expected)
    assert expected["call_time_local"].tolist() == ["2026-11-01T17:00:00+07:00", "2026-11-03T20:00:00+07:00"]


def test_a_failure_after_the_batches_leaves_no_staged_persons_behind(tmp_path: Path, big_manifest: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Staged persons (names, documents) live in a temporary folder until the commit: an error after
    the last batch (here while the calls are combined) removes it, and nothing reaches the store."""
    import tempfile

    import piu.io.ingest as ig
    import piu.io.readers as readers

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    real_open = readers.open_batches
    monkeypatch.setattr(readers, "open_batches",
                        lambda path, **kw: real_open(path, mapping=kw.get("mapping"), min_bytes=0, batch_bytes=1 << 20))

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("simulated")

    monkeypatch.setattr(ig, "_finish_calls", broken)
    store = Store(tmp_path / "home")
    with pytest.raises(ValueError, match="simulated"):
        ig.ingest_files(store, [str(big_manifest)])
    assert sorted(p.name for p in tmp.iterdir()) == []
    assert len(queries.current_calls(store)) == 0


def test_a_file_without_the_columns_rules_need_is_stored_with_warnings(tmp_path: Path) -> None:
    """Found by a new-analyst walkthrough: a re-sent export without date of birth or document numbers
    silently erased flags (the amended calls had no ages, every person 'no document')."""
    header = "port,direction,call_time,vessel_name,imo,mmsi,flag,vessel_type,role,family_name,given_names,nationality"
    path = write_csv(tmp_path / "short.csv", *[",".join(r.split(",")[:12]) for r in (ROW_A, ROW_B)], header=header)
    res = run(tmp_path / "h", "ingest", str(path), "-f", "json")
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["files"][0]["warnings"] == [
        "no date-of-birth column: the persons' ages are unknown, so minor-in-crew cannot judge these calls",
        "no document-number column: every person counts as without a document, and documents are not compared"]
    full = run(tmp_path / "h2", "ingest", str(write_csv(tmp_path / "full.csv", ROW_A, ROW_B)), "-f", "json")
    assert json.loads(full.stdout)["files"][0]["warnings"] == []


def test_a_calls_file_without_its_persons_file_says_so(tmp_path: Path) -> None:
    alone = run(tmp_path / "a", "ingest", str(CALLS), "-f", "json")
    assert alone.exit_code == 0, alone.stderr
    assert json.loads(alone.stdout)["files"][0]["warnings"] == [
        "no persons listed for any call: persons aboard come from the declared counts only; if the crew and "
        "passenger lists are in another file, ingest both together"]
    both = run(tmp_path / "b", "ingest", str(CALLS), str(PERSONS), "-f", "json")
    assert [f["warnings"] for f in json.loads(both.stdout)["files"]] == [[], []]


# --- Buddhist-era years (Thai agents: B.E. = C.E. + 543) ------------------------------------------

BE_WARNING = "Buddhist-era years (B.E. = C.E. + 543) read as C.E. (year - 543): {}; check them against the documents"
BE_CALL = "KHKOS,A,{},SEA PEARL,9074729,514123456,KHM,General cargo,C,"


def _stored_persons(home: Path) -> pd.DataFrame:
    store = Store(home)
    calls = queries.current_calls(store)
    return queries.persons_of(store, calls["version_id"]).sort_values("source_row").reset_index(drop=True)


def test_buddhist_era_dates_are_stored_as_ce_with_one_warning_per_file(tmp_path: Path) -> None:
    """Found by a user walkthrough: a Thai agent's list (23/11/2518 for 1975-11-23) was quarantined
    row by row as 'not a date'. Every date column, DD/MM/YYYY and ISO text; one warning, counts only."""
    src = write_csv(tmp_path / "thai.csv",
                    BE_CALL.format("19/11/2569 10:00") + "Sok,Dara,THA,23/11/2518,N1234567,2572-03-01",
                    BE_CALL.format("19/11/2569 10:00") + "Chan,Vibol,THA,2525-04-03,N7654321,01/01/2573",
                    BE_CALL.format("19/11/2569 10:00") + "Lim,Bo,THA,03/04/1985,N7654322,01/01/2030",
                    BE_CALL.format("19/11/2569 10:00") + "Keo,Nary,THA,23/11/2700,N7654323,01/01/2030",
                    BE_CALL.format("19/11/2569 10:00") + "Meas,Sophal,THA,23/11/1990,N7654324,01/01/2999",
                    BE_CALL.format("19/11/2700 10:00") + "Heng,Chea,THA,23/11/1991,N7654325,01/01/2030")
    res = run(tmp_path / "h", "ingest", str(src), "-f", "json")
    assert res.exit_code == 0, res.stderr
    out = json.loads(res.stdout)
    warning = BE_WARNING.format("2 value(s) in date_of_birth, 2 in doc_expiry, 5 in call_time")
    assert out["files"][0]["warnings"] == [warning]
    assert [line for line in res.stderr.splitlines() if "warning" in line] == [f"  warning: {warning}"]
    assert (out["rows"], out["persons"], out["quarantined"]) == (6, 3, 3)
    assert out["quarantine_reasons"] == {
        "date of birth has a year out of range (expected 1900-2100, or 2443-2643 in the Buddhist era)": 1,
        "document expiry has a year out of range (expected 1900-2100, or 2443-2643 in the Buddhist era)": 1,
        "date of arrival/departure has a year out of range (expected 1900-2100, or 2443-2643 in the Buddhist era)": 1}
    q = Store(tmp_path / "h").read("quarantine", quarantine_schema()).to_pandas().sort_values("source_row")
    assert list(zip(q["source_row"], q["column"])) == [(5, "date_of_birth"), (6, "doc_expiry"), (7, "call_time")]
    calls = queries.current_calls(Store(tmp_path / "h"))
    assert calls["call_time"].tolist() == [pd.Timestamp("2026-11-19T03:00:00Z")]  # 10:00 in Sihanoukville
    assert calls["call_id"].tolist() == ["KHKOS-20261119-A-9074729"]
    persons = _stored_persons(tmp_path / "h")
    assert persons["source_row"].tolist() == [2, 3, 4]
    assert persons["date_of_birth"].tolist() == [date(1975, 11, 23), date(1982, 4, 3), date(1985, 4, 3)]
    assert persons["doc_expiry"].tolist() == [date(2029, 3, 1), date(2030, 1, 1), date(2030, 1, 1)]
    # counts and the rule only: no name, document number or date of the rows
    for personal in ("Sok", "N1234567", "2518", "2572", "2700"):
        assert personal not in res.stderr


def test_ce_dates_are_never_read_as_buddhist_era(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "ce.csv",
                    BE_CALL.format("19/11/2026 10:00") + "Sok,Dara,THA,23/11/1975,N1234567,2029-03-01",
                    BE_CALL.format("19/11/2026 10:00") + "Chan,Vibol,THA,1900-01-01,N7654321,31/12/2100",
                    BE_CALL.format("19/11/2026 10:00") + "Lim,Bo,THA,23/11/2101,N7654322,01/01/2030")
    res = run(tmp_path / "h", "ingest", str(src), "-f", "json")
    assert res.exit_code == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["files"][0]["warnings"] == [] and "warning" not in res.stderr
    assert out["quarantine_reasons"] == {
        "date of birth has a year out of range (expected 1900-2100, or 2443-2643 in the Buddhist era)": 1}
    assert queries.current_calls(Store(tmp_path / "h"))["call_time"].tolist() == [pd.Timestamp("2026-11-19T03:00:00Z")]
    persons = _stored_persons(tmp_path / "h")
    assert persons["date_of_birth"].tolist() == [date(1975, 11, 23), date(1900, 1, 1)]
    assert persons["doc_expiry"].tolist() == [date(2029, 3, 1), date(2100, 12, 31)]


def test_buddhist_era_fal_workbook_with_true_date_cells_stores_what_the_ce_one_does(tmp_path: Path) -> None:
    """The FAL sample with B.E. years: Excel date cells (call date in the header block, expiry, date
    of birth) and text (the combined 'date and place of birth', an expiry) are stored as in C.E."""
    import openpyxl

    wb = openpyxl.load_workbook(FAL)
    crew, pax = wb["Crew List"], wb["Passenger List"]
    for ws in (crew, pax):
        assert ws["G5"].value == datetime(2026, 11, 20, 10, 0)
        ws["G5"] = datetime(2569, 11, 20, 10, 0)
    assert (crew["F10"].value, crew["J10"].value) == ("04/06/1971, Rayong", datetime(2027, 8, 11))
    crew["F10"], crew["J10"] = "04/06/2514, Rayong", datetime(2570, 8, 11)
    assert (pax["E10"].value, pax["K10"].value) == (datetime(1997, 5, 21), datetime(2027, 8, 18))
    pax["E10"], pax["K10"] = datetime(2540, 5, 21), "18/08/2570"
    thai = tmp_path / "fal_be.xlsx"
    wb.save(thai)

    res = run(tmp_path / "be", "ingest", str(thai), "-f", "json")
    assert res.exit_code == 0, res.stderr
    warning = BE_WARNING.format("2 value(s) in date_of_birth, 2 in doc_expiry, 16 in call_time")
    assert json.loads(res.stdout)["files"][0]["warnings"] == [warning]
    assert run(tmp_path / "ce", "ingest", str(FAL)).exit_code == 0

    provenance = ["version_id", "ingest_id", "ingested_at", "source_file", "source_sha256"]

    def stored(home: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
        calls = queries.current_calls(Store(home))
        persons = queries.persons_of(Store(home), calls["version_id"])
        persons = persons.sort_values(["source_sheet", "source_row"]).reset_index(drop=True)
        return (calls.drop(columns=[c for c in provenance if c in calls.columns]),
                persons.drop(columns=[c for c in provenance if c in persons.columns]))

    (c_be, p_be), (c_ce, p_ce) = stored(tmp_path / "be"), stored(tmp_path / "ce")
    assert c_be["call_time"].tolist() == [pd.Timestamp("2026-11-20T03:00:00Z")]
    pd.testing.assert_frame_equal(c_be, c_ce)
    pd.testing.assert_frame_equal(p_be, p_ce)
