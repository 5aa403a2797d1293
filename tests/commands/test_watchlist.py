"""`piu watchlist import|list|show|remove`, and a listed person found by `piu score`."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from piu.cli import app
from piu.store import Store
from tests.risk.factories import call, person, write
from tests.test_watchlist import ROWS, write_csv, write_opensanctions

runner = CliRunner()


def invoke(home: Path, *args: str):  # noqa: ANN201
    return runner.invoke(app, ["--home", str(home), *args], env={"COLUMNS": "200"})


@pytest.fixture
def listfile(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "blo-2026.csv")


def test_import_summary_on_stderr_nothing_on_stdout(tmp_path: Path, listfile: Path) -> None:
    res = invoke(tmp_path / "h", "watchlist", "import", str(listfile))
    assert res.exit_code == 0, res.stderr
    assert res.stdout == ""
    assert res.stderr == ("blo-2026.csv: 4 rows (piu format); stored list 'blo-2026': 2 person(s), 0 document(s), "
                          "2 vessel(s); 0 row(s) quarantined\n")
    again = invoke(tmp_path / "h", "watchlist", "import", str(listfile))
    assert "  replaced the earlier version (4 entries)\n" in again.stderr


def test_import_json_summary_and_list_name(tmp_path: Path) -> None:
    path = write_opensanctions(tmp_path / "targets.simple.csv")
    res = invoke(tmp_path / "h", "watchlist", "import", str(path), "--list", "os-maritime", "-f", "json")
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert {k: doc[k] for k in ("list", "format", "entries", "persons", "vessels", "skipped", "quarantined")} == {
        "list": "os-maritime", "format": "opensanctions", "entries": 4, "persons": 2, "vessels": 2,
        "skipped": {"Company": 1}, "quarantined": 0}
    assert "  skipped 1 Company row(s): only persons and vessels are screened\n" in res.stderr


def test_quarantine_reasons_without_personal_data(tmp_path: Path) -> None:
    rows = [list(r) for r in ROWS]
    rows[0][8] = "31/02/1985"
    path = write_csv(tmp_path / "bad.csv", rows=rows)
    res = invoke(tmp_path / "h", "watchlist", "import", str(path))
    assert res.exit_code == 0
    assert "  quarantined 1: date of birth is not a date (expected DD/MM/YYYY or a year)\n" in res.stderr
    assert "Nguy" not in res.stderr and "1985" not in res.stderr
    q = invoke(tmp_path / "h", "quarantine", "-f", "csv")
    assert q.stdout.splitlines()[1].split(",")[1:5] == ["bad.csv", "", "2", "date_of_birth"]


def test_list_show_remove(tmp_path: Path, listfile: Path) -> None:
    home = tmp_path / "h"
    invoke(home, "watchlist", "import", str(listfile))
    res = invoke(home, "watchlist", "list", "-f", "csv")
    assert res.stdout.splitlines()[0] == "list_name,entries,persons,documents,vessels,expired,source_file,imported_at"
    assert res.stdout.splitlines()[1].startswith("blo-2026,4,2,0,2,0,blo-2026.csv,")
    show = invoke(home, "watchlist", "show", "blo-2026", "--kind", "person", "-f", "jsonl")
    entries = [json.loads(line) for line in show.stdout.splitlines()]
    assert [(e["entry_id"], e["name"], e["date_of_birth"], e["birth_year"], e["active"]) for e in entries] == [
        ("W-0001", "Nguyễn Văn Hùng", "1985-03-12", 1985, True), ("W-0002", "SOK DARA", None, 1987, True)]
    rm = invoke(home, "watchlist", "remove", "blo-2026")
    assert (rm.exit_code, rm.stdout, rm.stderr) == (0, "", "removed list 'blo-2026' (4 entries)\n")
    gone = invoke(home, "watchlist", "show", "blo-2026")
    assert (gone.exit_code, gone.stderr) == (1, "Error: no watchlist named 'blo-2026'; see the lists with "
                                                "`piu watchlist list`\n")
    empty = invoke(home, "watchlist", "list", "-f", "json")
    assert (empty.stdout, empty.stderr) == ("[]\n", "No watchlists: import one with `piu watchlist import FILE`.\n")


def test_unknown_kind_is_a_usage_error(tmp_path: Path) -> None:
    res = invoke(tmp_path / "h", "watchlist", "show", "x", "--kind", "spy")
    assert (res.exit_code, res.stdout, res.stderr) == (
        2, "", "Error: --kind 'spy' is not a kind of entry; use person, document or vessel\n")


def test_bad_list_name_is_a_usage_error(tmp_path: Path, listfile: Path) -> None:
    res = invoke(tmp_path / "h", "watchlist", "import", str(listfile), "--list", "a b")
    assert (res.exit_code, res.stderr) == (2, "Error: list name 'a b' is not allowed; use letters, digits, '.', "
                                              "'_' or '-' (up to 64), e.g. --list blo-2026\n")


def test_missing_file(tmp_path: Path) -> None:
    res = invoke(tmp_path / "h", "watchlist", "import", str(tmp_path / "nope.csv"))
    assert res.exit_code == 1
    assert res.stderr.startswith("Error: ") and "nope.csv: no such file" in res.stderr


def test_score_finds_a_listed_person_and_vessel(tmp_path: Path, listfile: Path) -> None:
    home = tmp_path / "h"
    st = Store(home)
    c = call(imo="9074729", vessel_name="OCEAN STAR 7", call_time="2026-11-20 08:00")
    people = [person(c, role="crew", family_name="HUNG", given_names="NGUYEN VAN", name_key="HUNG NGUYEN VAN",
                     date_of_birth=date(1985, 3, 12), nationality="VNM", source_row=14)]
    write(st, [c], people)
    before = invoke(home, "score", "--all", "-f", "json")
    version = json.loads(before.stdout)[0]["ruleset_version"]
    invoke(home, "watchlist", "import", str(listfile))
    res = invoke(home, "score", "--all", "-f", "json")
    assert res.exit_code == 0, res.stderr
    rec = json.loads(res.stdout)[0]
    assert rec["ruleset_version"] != version  # the list changed: scores are redone, not reused
    hits = {h["rule"]: h for h in rec["hits"]}
    assert hits["watchlist-person"]["weight"] == 5
    assert hits["watchlist-person"]["persons"] == [14]
    assert hits["watchlist-person"]["evidence"] == (
        "row 14 matches entry W-0001 on list 'blo-2026' (reason: suspected facilitator): name equal, "
        "date of birth equal, nationality equal")
    assert hits["watchlist-vessel"]["evidence"] == (
        "vessel matches entry W-0003 on list 'blo-2026' (reason: IUU fishing): IMO 9074729 equal")


def test_show_birth_year_is_a_whole_number_when_vessels_have_none(tmp_path: Path, listfile: Path) -> None:
    home = tmp_path / "h"
    invoke(home, "watchlist", "import", str(listfile))
    tsv = invoke(home, "watchlist", "show", "blo-2026", "-f", "tsv").stdout.splitlines()
    at = tsv[0].split("\t").index("birth_year")
    assert [line.split("\t")[at] for line in tsv[1:]] == ["1985", "1987", "", ""]
    rows = json.loads(invoke(home, "watchlist", "show", "blo-2026", "-f", "json").stdout)
    assert [r["birth_year"] for r in rows] == [1985, 1987, None, None]
