"""`piu doctor`: finds damaged files and interrupted writes; --repair makes the store readable."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from piu.cli import app
from piu.schema import STORE_FORMAT_VERSION, ingests_schema
from piu.store import Store
from tests.test_store import _log_row


def _store_with_two_ingests(home: Path) -> Store:
    store = Store(home)
    for name in ("a", "b"):
        with store.transaction("ingest") as txn:
            txn.write("ingests", _log_row(name, f"{name}.csv"))
    return store


def test_healthy_store(tmp_path: Path) -> None:
    _store_with_two_ingests(tmp_path)
    res = CliRunner().invoke(app, ["--home", str(tmp_path), "doctor"])
    assert res.exit_code == 0
    assert res.stdout == ""
    assert res.stderr.splitlines() == ["ingests: 2 file(s), 2 row(s)", "store OK"]


def test_damaged_file_is_found_and_repaired(tmp_path: Path) -> None:
    store = _store_with_two_ingests(tmp_path)
    victim = sorted((tmp_path / "ingests").glob("*.parquet"))[1]
    victim.write_bytes(b"garbage")
    res = CliRunner().invoke(app, ["--home", str(tmp_path), "doctor", "-f", "json"])
    assert res.exit_code == 1
    out = json.loads(res.stdout)
    assert out["ok"] is False
    assert [p["kind"] for p in out["problems"]] == ["damaged-file"]
    assert out["problems"][0]["where"] == f"ingests/{victim.name}"
    assert out["reingest"] == [f"(unknown: {victim.name} is damaged)"]

    res = CliRunner().invoke(app, ["--home", str(tmp_path), "doctor", "--repair"])
    assert res.exit_code == 0
    assert "(repaired)" in res.stderr
    assert res.stderr.splitlines()[-3:] == [
        f"ingest again: (unknown: {victim.name} is damaged)",
        "then `piu score --rescore --since D --until D` over the days of the removed calls", "store OK"]
    assert store.read("ingests", ingests_schema())["source_file"].to_pylist() == ["a.csv"]
    assert CliRunner().invoke(app, ["--home", str(tmp_path), "doctor"]).exit_code == 0


def test_missing_and_newer_stores(tmp_path: Path) -> None:
    none = tmp_path / "none"
    for args in ([], ["--repair"]):  # a mistyped --home: nothing to repair, and nothing is created
        res = CliRunner().invoke(app, ["--home", str(none), "doctor", *args])
        assert (res.exit_code, res.stdout, res.stderr) == (
            1, "", f"Error: no piu store at {none}; check --home or $PIU_HOME\n")
        assert not none.exists()
    res = CliRunner().invoke(app, ["--home", str(none), "doctor", "-f", "json"])
    assert res.exit_code == 1
    assert [p["kind"] for p in json.loads(res.stdout)["problems"]] == ["missing-store"]
    (tmp_path / "piu-store.json").write_text('{"format": 7}')
    res = CliRunner().invoke(app, ["--home", str(tmp_path), "doctor"])
    assert res.exit_code == 1
    assert res.stderr.splitlines() == ["problem: newer-format: " + str(tmp_path / "piu-store.json")
                                       + f": store format 7 is newer than this piu's ({STORE_FORMAT_VERSION})", "store has problems"]


def test_orphans_reported_but_not_a_failure_of_data(tmp_path: Path) -> None:
    _store_with_two_ingests(tmp_path)
    (tmp_path / "ingests" / "20260101T000000000000Z-dead00-0.parquet").write_bytes(b"x")
    res = CliRunner().invoke(app, ["--home", str(tmp_path), "doctor"])
    assert res.exit_code == 0
    assert res.stderr.splitlines()[-1] == "store OK"
    assert "problem: orphan-files" in res.stderr and "1 file(s) from interrupted writes" in res.stderr


def test_a_damaged_persons_index_is_found_and_removed(tmp_path: Path) -> None:
    """An index file damaged in place still opens, and would change history matches: doctor compares
    each with its data file; --repair removes it; the next score builds it again."""
    import pyarrow as pa

    from piu.person_index import index_path, persons_matching
    from tests.store_factories import call, person, write

    store = Store(tmp_path)
    c = call()
    write(store, [c], [person(c, source_row=r, doc_number=f"P{r:07d}") for r in range(2, 40)])
    persons_matching(store, months=None, doc_numbers=pa.array(["P0000003"]), version_ids=pa.array([], pa.string()))
    [data_file] = store.files("persons")
    index = index_path(store, data_file)
    assert CliRunner().invoke(app, ["--home", str(tmp_path), "doctor"]).exit_code == 0
    raw = bytearray(index.read_bytes())
    at = raw.index(b"P0000003")  # a document number in the index's dictionary, overwritten in place
    raw[at:at + 8] = b"P0000099"
    index.write_bytes(bytes(raw))
    res = CliRunner().invoke(app, ["--home", str(tmp_path), "doctor"])
    assert res.exit_code == 1
    where = f"_index/persons/{index.name}"
    assert res.stderr.splitlines()[-2:] == [
        f"problem: damaged-index: {where}: the persons index differs from its data file (derived data: "
        "--repair removes it, the next score builds it again)", "store has problems; run `piu doctor --repair`"]
    res = CliRunner().invoke(app, ["--home", str(tmp_path), "doctor", "--repair", "-f", "json"])
    assert res.exit_code == 0
    out = json.loads(res.stdout)
    assert (out["ok"], [(p["kind"], p["where"], p["fixed"]) for p in out["problems"]]) == (
        True, [("damaged-index", where, True)])
    assert not index.exists()
    found = persons_matching(store, months=None, doc_numbers=pa.array(["P0000003"]), version_ids=pa.array([], pa.string()))
    assert found["source_row"].to_pylist() == [3]
    assert CliRunner().invoke(app, ["--home", str(tmp_path), "doctor"]).exit_code == 0


def test_a_damaged_calls_index_is_found_and_removed(tmp_path: Path) -> None:
    import pyarrow as pa

    from piu.person_index import index_path, rows_matching
    from tests.store_factories import call, write

    store = Store(tmp_path)
    write(store, [call(imo="9074729")], [])
    wanted = {"imo": pa.array(["9074729"])}
    assert rows_matching(store, "calls", months=None, wanted=wanted, columns=["imo"]).num_rows == 1
    index = index_path(store, store.files("calls")[0])
    raw = bytearray(index.read_bytes())
    at = raw.index(b"9074729")
    raw[at:at + 7] = b"9074720"
    index.write_bytes(bytes(raw))
    res = CliRunner().invoke(app, ["--home", str(tmp_path), "doctor", "--repair", "-f", "json"])
    out = json.loads(res.stdout)
    assert (res.exit_code, [(p["kind"], p["where"], p["detail"], p["fixed"]) for p in out["problems"]]) == (0, [
        ("damaged-index", f"_index/calls/{index.name}", "the calls index differs from its data file (derived data: "
         "--repair removes it, the next score builds it again)", True)])
    assert not index.exists()
    assert rows_matching(store, "calls", months=None, wanted=wanted, columns=["imo"]).num_rows == 1
