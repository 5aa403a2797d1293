"""Faults and hostile input: crashes, read-only and full disks, newer and damaged stores, formula
injection, file names as paths, very long fields, very many columns, a 100 MB single-line file.

Every case is named after the fault it survives. "Survives" means: a one-line `Error:` on stderr
with exit 1 (or success), nothing half-written in the store, and the next run completes the work.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from piu import queries
from piu.cli import app
from piu.schema import scores_schema
from piu.store import Store
from piu.synth import generate
from piu.watchlist import entries as watchlist_entries

PIU = [str(Path(sys.executable).parent / "piu")]
START = date(2026, 10, 1)


def run(home: Path, *args: str):  # noqa: ANN201
    return CliRunner().invoke(app, ["--home", str(home), "-q", *args])


def one_error_line(stderr: str) -> str:
    """The single `Error: ...` line of a failed command (asserts there is exactly one line)."""
    lines = stderr.strip("\n").split("\n")
    assert len(lines) == 1 and lines[0].startswith("Error: "), stderr
    return lines[0]


def snapshot(home: Path) -> dict[str, bytes]:
    """Every file of a store with its bytes (the lock file's content is irrelevant)."""
    return {str(p.relative_to(home)): p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file() and p.name != ".lock"}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """3,000 generated calls (about 50,000 person rows) over a month at three ports."""
    return generate(3000, tmp_path_factory.mktemp("sample"), seed=5, start=START, days=30,
                    ports=("KHKOS", "THLCH", "IDTPP"))


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory, sample: dict) -> Path:
    home = tmp_path_factory.mktemp("ingested") / "home"
    res = subprocess.run([*PIU, "--home", str(home), "-q", "ingest", sample["manifest"]], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return home


@pytest.fixture
def home(tmp_path: Path, ingested: Path) -> Path:
    """A private copy of the ingested store."""
    dst = tmp_path / "home"
    shutil.copytree(ingested, dst)
    return dst


def score_rows(home: Path) -> list[str]:
    return Store(home).read("scores", scores_schema(), columns=["version_id"]).column("version_id").to_pylist()


# --- SIGKILL at random points ------------------------------------------------------------------

def kill_at_random(argv: list[str], rng: random.Random, low: float, high: float) -> int | None:
    """Start a command, SIGKILL it after a random delay; its exit code when it finished first."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(rng.uniform(low, high))
    proc.send_signal(signal.SIGKILL)
    return proc.wait()


def test_sigkill_during_score_keeps_scores_all_or_nothing_and_rerun_completes(home: Path) -> None:
    calls = len(queries.current_calls(Store(home), columns=["call_id"]))
    rng = random.Random(11)
    for _ in range(3):  # while reading, evaluating rules or writing
        kill_at_random([*PIU, "--home", str(home), "-q", "score", "-f", "json"], rng, 0.3, 2.5)
        rows = score_rows(home)  # the store stays readable
        assert len(rows) in (0, calls) and len(set(rows)) == len(rows)
    res = subprocess.run([*PIU, "--home", str(home), "score", "-f", "json"], capture_output=True, text=True)
    assert res.returncode in (0, 3), res.stderr
    rows = score_rows(home)
    assert len(rows) == calls == len(set(rows))  # every call scored once, no duplicates
    assert run(home, "doctor").exit_code == 0


def write_watchlist(path: Path, n: int) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["kind", "entry_id", "name", "date_of_birth", "nationality", "reason"])
        for i in range(n):
            w.writerow(["person", f"W-{i:06d}", f"PERSON{i % 997} FAMILY{i // 997}", f"{1 + i % 28:02d}/0{1 + i % 9}/19{50 + i % 50}",
                        "KHM", "bench"])
    return path


def test_sigkill_during_watchlist_import_keeps_the_list_whole(tmp_path: Path) -> None:
    home = tmp_path / "home"
    listfile = write_watchlist(tmp_path / "big.csv", 40_000)
    rng = random.Random(5)
    for _ in range(3):
        kill_at_random([*PIU, "--home", str(home), "-q", "watchlist", "import", str(listfile), "--list", "big"],
                       rng, 0.3, 2.0)
        if Store(home).exists():
            assert len(watchlist_entries(Store(home))) in (0, 40_000)
    res = subprocess.run([*PIU, "--home", str(home), "-q", "watchlist", "import", str(listfile), "--list", "big"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    got = watchlist_entries(Store(home))
    assert len(got) == 40_000 and got["entry_id"].is_unique


# --- read-only and full store locations ----------------------------------------------------------

def test_read_only_store_location_is_one_line_and_writes_nothing(tmp_path: Path, home: Path, sample: dict,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import piu.store as store_mod

    before = snapshot(home)
    real_open = os.open

    def read_only_open(path: object, flags: int, *args: object) -> int:
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and str(path).startswith(str(home)):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(store_mod.os, "open", read_only_open)
    res = run(home, "score")
    assert res.exit_code == 1
    assert one_error_line(res.stderr) == (
        f"Error: the store at {home} is not writable (take the writer lock); "
        "check its permissions or choose another with --home")
    assert snapshot(home) == before
    # reading still works on a read-only store
    listing = run(home, "report", "--since", "2026-10-01", "--until", "2026-10-31", "-f", "json")
    assert listing.exit_code == 0


@pytest.mark.parametrize("where", ["write_table", "commit_rename"])
def test_full_disk_during_ingest_is_one_line_and_leaves_no_partial_write(tmp_path: Path, home: Path,
                                                                         monkeypatch: pytest.MonkeyPatch,
                                                                         where: str) -> None:
    import pyarrow.parquet as pq_mod

    import piu.store as store_mod

    new = generate(50, tmp_path / "new", seed=9, start=date(2026, 12, 1), days=2)
    before = snapshot(home)

    def no_space(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    if where == "write_table":
        monkeypatch.setattr(pq_mod, "write_table", no_space)
    else:  # the data is written, the commit marker cannot be
        monkeypatch.setattr(store_mod, "atomic_write_bytes", no_space)
    res = run(home, "ingest", new["manifest"])
    assert res.exit_code == 1
    line = one_error_line(res.stderr)
    assert line.startswith(f"Error: no space left on the device holding the store at {home}")
    assert line.endswith("nothing was written; free some space and run the command again")
    assert snapshot(home) == before  # no data file, no marker, no temporary file left behind
    monkeypatch.undo()
    again = run(home, "ingest", new["manifest"], "-f", "json")
    assert again.exit_code == 0, again.stderr
    assert len(queries.current_calls(Store(home), since=None, columns=["call_id"])) == 3050


def test_full_disk_during_score_writes_no_scores(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow.parquet as pq_mod

    def no_space(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pq_mod, "write_table", no_space)
    res = run(home, "score")
    assert res.exit_code == 1
    assert "no space left on the device" in one_error_line(res.stderr)
    assert score_rows(home) == []
    assert not [p for p in home.rglob("*.parquet") if "scores" in p.parts]


# --- stores written by a newer piu, and damaged stores ---------------------------------------------

@pytest.mark.parametrize("command", [["score"], ["ingest", "MANIFEST"], ["report", "--since", "7d"],
                                     ["watchlist", "list"]])
def test_store_from_a_newer_piu_is_refused_in_one_line(home: Path, sample: dict, command: list[str]) -> None:
    meta = home / "piu-store.json"
    info = json.loads(meta.read_text())
    meta.write_text(json.dumps({**info, "format": 999}))
    before = snapshot(home)
    res = run(home, *[sample["manifest"] if a == "MANIFEST" else a for a in command])
    assert res.exit_code == 1
    line = one_error_line(res.stderr)
    assert f"the store at {home} was written by a newer piu (store format 999" in line
    assert line.endswith("upgrade piu (pip install -U piu)")
    assert snapshot(home) == before
    doctor = run(home, "doctor")
    assert doctor.exit_code == 1


def test_corrupted_parquet_file_is_one_line_and_doctor_names_it(home: Path) -> None:
    victim = sorted((home / "persons").rglob("*.parquet"))[0]
    data = bytearray(victim.read_bytes())
    rng = random.Random(1)
    # damaged pages between an intact magic number and an intact footer
    data[100:len(data) - 2000] = bytes(rng.getrandbits(8) for _ in range(len(data) - 2100))
    victim.write_bytes(bytes(data))
    res = run(home, "score")
    assert res.exit_code == 1
    line = one_error_line(res.stderr)
    assert re.fullmatch(rf"Error: the persons dataset in {re.escape(str(home))} has an unreadable file "
                        r"\((OSError|ArrowInvalid)\); run `piu doctor` to find and repair it", line)
    assert score_rows(home) == []  # nothing written
    doctor = run(home, "doctor")
    assert doctor.exit_code == 1
    assert f"problem: damaged-file: {victim.relative_to(home)}: unreadable Parquet" in doctor.stderr
    repaired = run(home, "doctor", "--repair")
    assert repaired.exit_code == 0
    # the damaged ingest is retracted as a whole; ingesting it again restores the store
    assert run(home, "score").exit_code in (0, 3)


def test_truncated_parquet_file_is_one_line(home: Path) -> None:
    victim = sorted((home / "calls").rglob("*.parquet"))[0]
    victim.write_bytes(victim.read_bytes()[:100])
    res = run(home, "score")
    assert res.exit_code == 1
    assert one_error_line(res.stderr) == (
        f"Error: the calls dataset in {home} has an unreadable file (ArrowInvalid); "
        "run `piu doctor` to find and repair it")


# --- formula injection in spreadsheet exports ---------------------------------------------------------

HOSTILE = {"vessel_name": "=HYPERLINK(\"http://x\",\"A\")", "agent": "@SUM(A1:A9)", "call_sign": "+CMD|' /C calc'!A0",
           "flag": "KHM"}


def hostile_manifest(path: Path) -> Path:
    rows = [["port", "direction", "call_time", "vessel_name", "imo", "flag", "vessel_type", "agent", "call_sign",
             "capacity", "role", "family_name", "given_names", "nationality", "date_of_birth", "doc_number"]]
    for i in range(14):  # overcapacity: the call is flagged, so it is in every export
        rows.append(["KHKOS", "arrival", "2026-11-20 08:00", HOSTILE["vessel_name"], "9074729", "KHM", "Fishing vessel",
                     HOSTILE["agent"], HOSTILE["call_sign"], "4", "crew", "-2+3", f"=cmd{i}", "KHM",
                     "1990-01-01", f"N{1000000 + i}"])
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


@pytest.mark.parametrize("command", [["score", "--all"], ["report", "--since", "2026-11-01", "--until", "2026-11-30"]])
def test_csv_exports_neutralise_formula_injection(tmp_path: Path, command: list[str]) -> None:
    home = tmp_path / "h"
    assert run(home, "ingest", str(hostile_manifest(tmp_path / "m.csv"))).exit_code == 0
    assert run(home, "score").exit_code in (0, 3)
    res = run(home, *command, "-f", "csv")
    assert res.exit_code in (0, 3), res.stderr
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert rows, res.stdout
    for row in rows:
        for key, value in row.items():
            # no cell a spreadsheet would run: formulas start with ' (numbers like -3.5 stay numbers)
            if value[:1] in ("=", "+", "-", "@"):
                float(value)
            if key == "vessel_name":
                assert value == "'" + HOSTILE["vessel_name"]


def test_every_csv_writer_goes_through_render() -> None:
    """CSV is written in one place (piu.render.write_rows, which neutralises formulas)."""
    root = Path(__file__).resolve().parents[1] / "piu"
    writers = sorted(str(p.relative_to(root)) for p in root.rglob("*.py")
                     if any(s in p.read_text(encoding="utf-8") for s in ("csv.writer(", "csv.DictWriter(", ".to_csv(")))
    # flags.py only hashes a table's text (never written to a file)
    assert writers == ["render.py", "risk/flags.py"]


# --- names from manifests never become paths -----------------------------------------------------------

def test_port_and_names_from_a_manifest_never_become_paths(tmp_path: Path) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text("port,direction,call_time,vessel_name,imo,role,family_name,doc_number\n"
                        "../../../../tmp/evil,arrival,2026-11-20 08:00,../../x,9074729,crew,../etc/passwd,N1234567\n"
                        "KHKOS/../..,arrival,2026-11-21 08:00,/etc/passwd,9074729,crew,A,N7654321\n",
                        encoding="utf-8")
    home = tmp_path / "h"
    res = run(home, "ingest", str(manifest))
    assert res.exit_code in (0, 1)
    outside = [p for p in tmp_path.rglob("*") if p.is_file() and home not in p.parents and p != manifest]
    assert outside == []
    for p in home.rglob("*"):
        assert p.resolve().is_relative_to(home.resolve())
        assert ".." not in p.relative_to(home).parts
    assert not Path("/tmp/evil").exists()


def test_watchlist_name_cannot_be_a_path(tmp_path: Path) -> None:
    res = run(tmp_path / "h", "watchlist", "import", str(write_watchlist(tmp_path / "l.csv", 3)), "--list", "../../x")
    assert res.exit_code == 2
    assert one_error_line(res.stderr).startswith("Error: ")
    assert not (tmp_path / "x").exists()


# --- very long fields, very many columns, a 100 MB single-line file ---------------------------------

def ingest_bounded(home: Path, path: Path, limit_mb: int = 2500) -> subprocess.CompletedProcess:
    """`piu ingest` in a process whose address space is capped: memory stays bounded or it fails."""
    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit_mb * 2**20, limit_mb * 2**20))
    return subprocess.run([*PIU, "--home", str(home), "-q", "ingest", str(path)], capture_output=True, text=True,
                          preexec_fn=cap, timeout=300)


def test_one_megabyte_cell_is_stored_whole(tmp_path: Path) -> None:
    big = "X" * 1_000_000
    path = tmp_path / "long.csv"
    path.write_text("port,direction,call_time,vessel_name,imo,agent,role,family_name,doc_number\n"
                    f"KHKOS,arrival,2026-11-20 08:00,SEA STAR,9074729,{big},crew,SOK,N1234567\n", encoding="utf-8")
    res = ingest_bounded(tmp_path / "h", path)
    assert res.returncode == 0, res.stderr
    calls = queries.current_calls(Store(tmp_path / "h"), columns=["agent"])
    assert calls["agent"].str.len().tolist() == [1_000_000]


def test_five_thousand_columns_are_read_and_the_extras_named_once(tmp_path: Path) -> None:
    extra = [f"extra_{i}" for i in range(4991)]
    head = ["port", "direction", "call_time", "vessel_name", "imo", "role", "family_name", "doc_number", "nationality"]
    path = tmp_path / "wide.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(head + extra)
        for i in range(20):
            w.writerow(["KHKOS", "arrival", "2026-11-20 08:00", "SEA STAR", "9074729", "crew", f"P{i}", f"N{1000000 + i}",
                        "KHM"] + ["v"] * len(extra))
    res = ingest_bounded(tmp_path / "h", path)
    assert res.returncode == 0, res.stderr
    assert len(queries.persons_of(Store(tmp_path / "h"), queries.current_calls(Store(tmp_path / "h"))["version_id"])) == 20
    assert res.stderr.count("\n") <= 2  # a summary of the unknown columns, not 4,991 lines


def test_hundred_megabyte_single_line_file_is_one_clear_error_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "oneline.csv"
    with open(path, "wb") as fh:
        chunk = b"port;direction;" + b"A" * (1 << 20)
        for _ in range(100):
            fh.write(chunk)
    res = ingest_bounded(tmp_path / "h", path)
    assert res.returncode == 1
    assert one_error_line(res.stderr) == (
        "Error: oneline.csv: no table with call or person columns; check the headings, or map them with --map FILE")
    assert not (tmp_path / "h" / "calls").exists()
