"""Tests for `piu samples` (piu/commands/samples.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from piu.cli import app


def run(tmp_path: Path, *args: str):  # noqa: ANN201 - click's Result
    return CliRunner().invoke(app, ["--home", str(tmp_path / "home"), "samples", *args])


def test_writes_files_summary_on_stderr_nothing_on_stdout(tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = run(tmp_path, "--calls", "40", "--out", str(out), "--seed", "2")
    assert res.exit_code == 0
    assert res.stdout == ""
    lines = (out / "manifest.csv").read_text(encoding="utf-8").splitlines()
    persons = len(lines) - 1
    truth = (out / "truth.csv").read_text(encoding="utf-8").splitlines()
    assert len(truth) == 41
    planted = sum(1 for row in truth[1:] if row.split(",")[5])
    assert res.stderr == (f"Wrote 40 calls ({persons:,} persons, {planted} with a planted scenario) to "
                          f"{out / 'manifest.csv'}; truth in {out / 'truth.csv'}\n")


def test_json_summary_on_stdout(tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = run(tmp_path, "-n", "30", "-o", str(out), "-f", "json", "--ports", "KHKOS,thsgz", "--days", "14",
              "--start", "2027-02-01", "--plant-rate", "0.5")
    assert res.exit_code == 0
    summary = json.loads(res.stdout)
    assert list(summary) == ["manifest", "truth", "calls", "persons", "planted", "shape", "files"]
    assert summary["manifest"] == str(out / "manifest.csv") and summary["truth"] == str(out / "truth.csv")
    assert summary["calls"] == 30 and summary["shape"] == "flat"
    assert summary["persons"] == len((out / "manifest.csv").read_text(encoding="utf-8").splitlines()) - 1
    assert 10 <= summary["planted"] <= 30
    truth = (out / "truth.csv").read_text(encoding="utf-8").splitlines()[1:]
    assert {row.split(",")[2] for row in truth} == {"KHKOS", "THSGZ"}
    assert all(row.split(",")[4][2:10] == "/02/2027" for row in truth)


def test_quiet_silences_the_summary(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["-q", "samples", "-n", "5", "-o", str(tmp_path / "o")])
    assert res.exit_code == 0 and res.stdout == "" and res.stderr == ""
    assert (tmp_path / "o" / "manifest.csv").exists()


def test_split_shape(tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = run(tmp_path, "-n", "10", "-o", str(out), "--shape", "split", "-f", "json")
    assert res.exit_code == 0
    summary = json.loads(res.stdout)
    assert summary["manifest"] == str(out / "calls.csv") and summary["persons_file"] == str(out / "persons.csv")
    assert sorted(p.name for p in out.iterdir()) == ["calls.csv", "persons.csv", "truth.csv"]
    assert (out / "calls.csv").read_text(encoding="utf-8").startswith("call_ref,port,direction,call_time,")
    assert res.stderr.startswith(f"Wrote 10 calls (")
    assert f"to {out / 'calls.csv'} and {out / 'persons.csv'}; truth in {out / 'truth.csv'}" in res.stderr


def test_same_seed_same_files(tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert run(tmp_path, "-n", "25", "-o", str(tmp_path / name), "--seed", "9").exit_code == 0
    assert (tmp_path / "a" / "manifest.csv").read_bytes() == (tmp_path / "b" / "manifest.csv").read_bytes()


@pytest.mark.parametrize("args, code, message", [
    (["-n", "0"], 2, "Error: --calls must be a whole number from 1 to 1,000,000, not 0"),
    (["-n", "5", "--start", "01/11/2026"], 2,
     "Error: --start '01/11/2026' is not a date; use an ISO date like 2026-11-01"),
    (["-n", "5", "--shape", "wide"], 2, "Error: --shape must be one of flat, split, not 'wide'"),
    (["-n", "5", "--ports", "Sihanoukville"], 2,
     "Error: --ports must be UN/LOCODEs like KHKOS,THSGZ (bad: SIHANOUKVILLE)"),
    (["-n", "5", "-f", "csv"], 2, "Error: unknown format 'csv'; use one of: json"),
])
def test_usage_errors_one_line_exit_2(tmp_path: Path, args: list[str], code: int, message: str) -> None:
    res = run(tmp_path, "-o", str(tmp_path / "out"), *args)
    assert res.exit_code == code
    assert res.stdout == ""
    assert res.stderr == message + "\n"
    assert not (tmp_path / "out").exists()


def test_unwritable_out_exit_1(tmp_path: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    res = run(tmp_path, "-n", "5", "-o", str(blocker))
    assert res.exit_code == 1
    assert res.stdout == ""
    assert res.stderr == (f"Error: cannot create the output folder {blocker} (File exists); "
                          "choose a folder you can write to with --out\n")


def test_out_under_a_missing_folder_is_one_line_exit_1(tmp_path: Path) -> None:
    out = tmp_path / "no-such-dir" / "s"
    res = run(tmp_path, "-n", "5", "--out", str(out))
    assert (res.exit_code, res.stdout, res.stderr) == (
        1, "", f"Error: cannot write to {out}: the folder {out.parent} does not exist; create it first or choose "
               "another folder with --out\n")
    assert not out.parent.exists()
