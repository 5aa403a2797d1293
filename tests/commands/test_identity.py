"""`piu person` and `piu vessel`: rows on stdout in every format, summaries and errors on stderr."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from piu.cli import app
from piu.identity import PERSON_OUTPUT, VESSEL_OUTPUT
from piu.store import Store
from tests.test_identity import store as _store  # noqa: F401 - the shared store fixture

runner = CliRunner()


@pytest.fixture
def home(_store: Store) -> str:  # noqa: F811
    return str(_store.home)


def invoke(home: str, *args: str):  # noqa: ANN201
    return runner.invoke(app, ["--home", home, *args], env={"COLUMNS": "250"})


def test_person_json(home: str) -> None:
    res = invoke(home, "person", "Hung Nguyen Van", "--dob", "1985-03-12", "-f", "json")
    assert res.exit_code == 0 and res.stderr == ""
    rows = json.loads(res.stdout)
    assert [list(r) for r in rows] == [PERSON_OUTPUT] * 3
    assert [(r["score"], r["vessel_name"], r["call_time"], r["role"], r["doc_number"]) for r in rows] == [
        (1.0, "SEA PEARL", "2026-10-01T03:00:00Z", "crew", "C1234567"),
        (1.0, "OCEAN STAR", "2026-11-02T03:00:00Z", "crew", "C1234567"),
        (0.96, "M/V OCEAN STAR 7", "2026-11-20T03:00:00Z", "crew", None)]


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_person_csv_tsv(home: str, fmt: str) -> None:
    res = invoke(home, "person", "--doc", "C1234567", "-f", fmt)
    rows = list(csv.reader(io.StringIO(res.stdout), delimiter="," if fmt == "csv" else "\t"))
    assert rows[0] == PERSON_OUTPUT
    assert [r[PERSON_OUTPUT.index("source_row")] for r in rows[1:]] == ["2", "5"]


def test_person_table_and_no_match(home: str) -> None:
    res = invoke(home, "person", "SOK DARA", "-f", "table")
    assert "SOK" in res.stdout and "score" in res.stdout
    none = invoke(home, "person", "NOBODY KNOWN", "-f", "json")
    assert (none.exit_code, none.stdout, none.stderr) == (0, "[]\n", "No matching person in the store.\n")


@pytest.mark.parametrize("args, code, err", [
    (["person"], 2, "Error: give a name, or --doc NUMBER; e.g. piu person 'Nguyen Van Hung' --dob 1985-03-12\n"),
    (["person", "X", "--dob", "31/02/1999"], 2, "Error: --dob is not a date; write it as YYYY-MM-DD or DD/MM/YYYY\n"),
    (["person", "X", "-f", "xml"], 2, "Error: unknown format 'xml'; use one of: table, tsv, csv, json, jsonl\n"),
])
def test_person_errors_without_personal_data(home: str, args: list[str], code: int, err: str) -> None:
    res = invoke(home, *args)
    assert (res.exit_code, res.stdout, res.stderr) == (code, "", err)


def test_vessel_jsonl_and_changes_on_stderr(home: str) -> None:
    res = invoke(home, "vessel", "IMO9074729", "-f", "jsonl")
    assert res.exit_code == 0
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert [list(r) for r in rows] == [VESSEL_OUTPUT] * 3
    assert [(r["vessel_name"], r["flag"], r["mmsi"], r["crew_listed"], r["score"]) for r in rows] == [
        ("SEA PEARL", "KHM", "514123456", 1, None), ("OCEAN STAR", "SLE", "667001234", 1, None),
        ("M/V OCEAN STAR 7", "SLE", "667001234", 1, None)]
    assert res.stderr == ("3 names: SEA PEARL (2026-10-01), OCEAN STAR (2026-11-02), M/V OCEAN STAR 7 (2026-11-20)\n"
                          "2 flags: KHM (2026-10-01), SLE (2026-11-02..2026-11-20)\n"
                          "2 MMSIs: 514123456 (2026-10-01), 667001234 (2026-11-02..2026-11-20)\n")


def test_vessel_scores_and_quiet(home: str) -> None:
    scored = {r["call_id"]: r for r in json.loads(invoke(home, "score", "--all", "-f", "json").stdout)}
    res = invoke(home, "-q", "vessel", "MEKONG STAR", "-f", "csv")
    assert res.stderr == ""
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    want = scored["KHKOS-20261121-A-9321456"]
    assert [(r["vessel_name"], r["score"], r["band"]) for r in rows] == [
        ("MEKONG STAR", str(want["score"]), want["band"])]


def test_vessel_unknown_and_empty_store(home: str, tmp_path: Path) -> None:
    res = invoke(home, "vessel", "NO SUCH SHIP", "-f", "json")
    assert (res.exit_code, res.stdout, res.stderr) == (0, "[]\n", "No calls of this vessel in the store.\n")
    empty = invoke(str(tmp_path / "empty"), "vessel", "9074729", "-f", "csv")
    assert (empty.exit_code, empty.stdout) == (0, ",".join(VESSEL_OUTPUT) + "\n")


def test_vessel_declared_counts_stay_whole_when_one_call_has_none(tmp_path: Path) -> None:
    from tests.risk.factories import call, write

    st = Store(tmp_path / "v")
    write(st, [call(imo="9074729", declared_crew=10, declared_passengers=0, call_time="2026-11-01 03:00"),
               call(imo="9074729", call_time="2026-11-02 03:00")], [])
    res = invoke(str(st.home), "vessel", "9074729", "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert [(r["declared_crew"], r["declared_passengers"]) for r in rows] == [("10", "0"), ("", "")]
    rows = json.loads(invoke(str(st.home), "vessel", "9074729", "-f", "json").stdout)
    assert [(r["declared_crew"], r["declared_passengers"]) for r in rows] == [(10, 0), (None, None)]
