"""`piu score`: output formats and keys, flagged-only by default, --fail-on exit codes, empty store."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from piu.cli import app
from piu.risk.output import SCORE_KEYS, TABLE_COLUMNS
from piu.store import Store
from tests.risk.factories import call, crew, person, write

runner = CliRunner()


def invoke(home: Path, *args: str, env: dict[str, str] | None = None):  # noqa: ANN201
    return runner.invoke(app, ["--home", str(home), *args], env=env)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    st = Store(tmp_path)
    high = call(imo="9074728", vessel_category="fishing", gross_tonnage=75.0, call_time="2026-11-20 08:00")
    medium = call(imo="9176187", mmsi="567000001", mmsi_country="THA", flag="THA", port="THLCH",
                  call_time="2026-11-21 08:00", declared_crew=5)
    low = call(imo="9231212", mmsi="533000001", mmsi_country="MYS", flag="MYS", call_time="2026-11-22 08:00")
    people = crew(high, 30) + crew(medium, 4) + crew(low, 6)
    write(st, [high, medium, low], people)
    return tmp_path


def test_json_keys_and_order(home: Path) -> None:
    res = invoke(home, "score", "-f", "json")
    assert res.exit_code == 0, res.stderr
    records = json.loads(res.stdout)
    assert [list(r) for r in records] == [list(SCORE_KEYS)] * 2
    assert [(r["call_id"], r["score"], r["band"]) for r in records] == [
        ("KHKOS-20261120-A-9074728", 8, "high"), ("THLCH-20261121-A-9176187", 3, "medium")]
    top = records[0]
    assert top["call_time"] == "2026-11-20T08:00:00Z"
    assert top["persons_aboard"] == 30
    assert [h["rule"] for h in top["hits"]] == ["overcapacity", "imo-invalid"]
    assert set(top["hits"][0]) == {"rule", "title", "weight", "evidence", "persons"}
    assert top["hits"][0]["evidence"] == "30 persons aboard a 75 GT fishing vessel; norm for its size is 25"
    assert res.stderr == "3 calls: 3 scored now, 0 already scored with rule set " + top["ruleset_version"] + "; 2 flagged.\n"


def test_all_and_jsonl(home: Path) -> None:
    res = invoke(home, "score", "--all", "-f", "jsonl")
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r["band"] for r in lines] == ["high", "medium", "low"]


def test_tsv_when_piped_and_csv(home: Path) -> None:
    res = invoke(home, "score")
    rows = res.stdout.splitlines()
    assert rows[0].split("\t") == list(TABLE_COLUMNS)
    assert rows[1].split("\t")[-1] == "overcapacity (5), imo-invalid (3)"
    res = invoke(home, "score", "-f", "csv", "--all")
    parsed = list(csv.reader(io.StringIO(res.stdout)))
    assert parsed[0] == list(TABLE_COLUMNS) and len(parsed) == 4


def test_table_columns(home: Path) -> None:
    res = invoke(home, "score", "-f", "table", env={"COLUMNS": "220"})
    header = res.stdout.splitlines()[2]
    for word in ("time", "port", "vessel", "IMO", "flag", "type", "persons", "score", "band", "main reasons"):
        assert word in header


@pytest.mark.parametrize(("band", "code"), [("high", 3), ("medium", 3), ("low", 3)])
def test_fail_on_matches(home: Path, band: str, code: int) -> None:
    assert invoke(home, "score", "--fail-on", band, "-f", "json").exit_code == code


def test_fail_on_not_matched_and_bad_band(home: Path) -> None:
    assert invoke(home, "score", "--fail-on", "high", "--port", "THLCH", "-f", "json").exit_code == 0
    res = invoke(home, "score", "--fail-on", "severe")
    assert res.exit_code == 2
    assert res.stderr == "Error: --fail-on 'severe' is not a band; use one of: low, medium, high\n"


def test_port_name_and_period(home: Path) -> None:
    res = invoke(home, "score", "--port", "sihanoukville", "--all", "-f", "json")
    assert [r["call_id"] for r in json.loads(res.stdout)] == ["KHKOS-20261120-A-9074728", "KHKOS-20261122-A-9231212"]
    res = invoke(home, "score", "--since", "2026-11-21", "--until", "2026-11-21", "--all", "-f", "json")
    assert [r["call_id"] for r in json.loads(res.stdout)] == ["THLCH-20261121-A-9176187"]


def test_incremental_and_rescore(home: Path) -> None:
    invoke(home, "score")
    again = invoke(home, "score", "-f", "json")
    assert again.stderr.startswith("3 calls: 0 scored now, 3 already scored")
    res = invoke(home, "score", "--rescore", "-f", "json")
    assert res.stderr.startswith("3 calls: 3 scored now, 0 already scored")


def test_rules_file_changes_scores(home: Path, tmp_path: Path) -> None:
    rules = tmp_path / "mine.toml"
    rules.write_text("[rules.overcapacity]\nenabled = false\n", encoding="utf-8")
    res = invoke(home, "score", "--rules", str(rules), "-f", "json")
    assert [r["score"] for r in json.loads(res.stdout)] == [3, 3]
    (home / "rules.toml").write_text("[bands]\nmedium = 4\n", encoding="utf-8")
    res = invoke(home, "score", "-f", "json")
    assert [r["band"] for r in json.loads(res.stdout)] == ["high"]


def test_bad_rules_file_scores_nothing(home: Path, tmp_path: Path) -> None:
    rules = tmp_path / "bad.toml"
    rules.write_text("[rules.overcapcity]\nweight = 2\n[rules.vessel-age]\nmax = 3\n", encoding="utf-8")
    res = invoke(home, "score", "--rules", str(rules))
    assert res.exit_code == 1
    assert res.stdout == ""
    assert res.stderr == (
        "Error: rules file bad.toml has 2 problems; nothing was scored; fix them and run again "
        "(`piu rules init` prints a complete valid file)\n"
        "  line 1: unknown rule 'overcapcity' (did you mean 'overcapacity'?)\n"
        "  line 4: vessel-age: unknown parameter 'max' (parameters: max_age; also weight, enabled)\n")
    assert not Store(home).files("scores")


@pytest.mark.parametrize(("fmt", "out"), [("json", "[]\n"), ("jsonl", ""),
                                         ("tsv", "\t".join(TABLE_COLUMNS) + "\n"),
                                         ("csv", ",".join(TABLE_COLUMNS) + "\n")])
def test_empty_store(tmp_path: Path, fmt: str, out: str) -> None:
    res = invoke(tmp_path / "empty", "score", "-f", fmt)
    assert res.exit_code == 0
    assert res.stdout == out
    assert res.stderr == "No calls to score: the store is empty.\n"


def test_no_matching_calls(home: Path) -> None:
    res = invoke(home, "score", "--port", "IDJKT", "-f", "json")
    assert (res.exit_code, res.stdout, res.stderr) == (0, "[]\n", "No calls to score in this selection.\n")


def test_no_personal_data_on_stderr(home: Path) -> None:
    st = Store(home)
    c = call(imo="9334567", mmsi="533000002", call_time="2026-11-23 08:00")
    write(st, [c], [person(c, name_key="SECRET NAME", doc_number="X9999999", doc_expiry=None)])
    res = invoke(home, "score", "-f", "json")
    assert "SECRET" not in res.stderr and "X9999999" not in res.stderr


@pytest.fixture
def home_with_bare_call(tmp_path: Path) -> Path:
    """35 crew on a fishing boat, and a call with no persons and no declared counts (persons_aboard null)."""
    st = Store(tmp_path)
    boat = call(imo="9074728", vessel_category="fishing", gross_tonnage=75.0, call_time="2026-11-20 08:00")
    bare = call(imo="9176187", mmsi="567000001", mmsi_country="THA", flag="THA", call_time="2026-11-21 08:00")
    write(st, [boat, bare], crew(boat, 35))
    assert invoke(tmp_path, "score", "--all", "-f", "json").exit_code == 0  # stored; later runs read the store
    return tmp_path


@pytest.mark.parametrize(("fmt", "want"), [
    ("tsv", [["KHKOS-20261120-A-9074728", "35", "8"], ["KHKOS-20261121-A-9176187", "", "0"]]),
    ("csv", [["KHKOS-20261120-A-9074728", "35", "8"], ["KHKOS-20261121-A-9176187", "", "0"]]),
])
def test_whole_numbers_stay_whole_when_a_call_has_no_persons(home_with_bare_call: Path, fmt: str,
                                                              want: list[list[str]]) -> None:
    res = invoke(home_with_bare_call, "score", "--all", "-f", fmt)
    rows = list(csv.reader(io.StringIO(res.stdout), delimiter="\t" if fmt == "tsv" else ","))
    at = [rows[0].index(c) for c in ("call_id", "persons_aboard", "score")]
    assert [[r[i] for i in at] for r in rows[1:]] == want


def test_whole_numbers_in_json_and_table_when_a_call_has_no_persons(home_with_bare_call: Path) -> None:
    res = invoke(home_with_bare_call, "score", "--all", "-f", "json")
    assert [(r["persons_aboard"], r["score"]) for r in json.loads(res.stdout)] == [(35, 8), (None, 0)]
    assert '"persons_aboard": 35,' in res.stdout and "35.0" not in res.stdout
    table = invoke(home_with_bare_call, "score", "--all", "-f", "table", env={"COLUMNS": "220"})
    assert "35.0" not in table.stdout
    assert [line.split("│")[7].strip() for line in table.stdout.splitlines() if "9074728" in line] == ["35"]


def test_engine_help_names_the_dask_extra(tmp_path: Path) -> None:
    """Rich read '[dask]' in the help as markup and printed `pip install 'piu'`."""
    res = runner.invoke(app, ["score", "--help"], env={"COLUMNS": "300"})
    assert res.exit_code == 0
    (line,) = [ln for ln in res.stdout.splitlines() if "--engine " in ln and "ENGINE" in ln]
    assert "dask (partitions in parallel, out of core or on a cluster; pip install 'piu[dask]')." in line


def test_dask_engine_without_dask_says_which_extra(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "dask", None)  # `import dask` raises ImportError
    res = invoke(home, "score", "--engine", "dask", "-f", "json")
    assert (res.exit_code, res.stdout, res.stderr) == (
        2, "", "Error: the dask engine needs Dask, which is not installed; pip install 'piu[dask]', or use "
               "--engine pandas\n")


def test_new_prints_and_fails_on_only_the_calls_scored_now(home: Path) -> None:
    """A daily job's alert: --new shows the calls scored for the first time in this run, whatever their
    call time, and --fail-on looks at these only (the high call scored yesterday no longer raises it)."""
    first = invoke(home, "score", "--new", "--fail-on", "high", "-f", "json")
    assert first.exit_code == 3
    assert [r["band"] for r in json.loads(first.stdout)] == ["high", "medium"]
    version = json.loads(first.stdout)[0]["ruleset_version"]
    assert first.stderr == f"3 calls: 3 scored now, 0 already scored with rule set {version}; 2 flagged among those new or raised.\n"

    late = call(imo="9321483", mmsi="533000002", mmsi_country="MYS", flag="MYS", call_time="2026-11-02 08:00",
                declared_crew=9)  # a late manifest: its call is weeks old, its score is new (medium)
    write(Store(home), [late], crew(late, 6))
    res = invoke(home, "score", "--new", "--fail-on", "high", "--all", "-f", "json")
    assert res.exit_code == 0, res.stderr
    assert [(r["call_id"], r["band"]) for r in json.loads(res.stdout)] == [("KHKOS-20261102-A-9321483", "medium")]
    assert res.stderr == f"4 calls: 1 scored now, 3 already scored with rule set {version}; 1 flagged among those new or raised.\n"
    assert invoke(home, "score", "--fail-on", "high", "-f", "json").exit_code == 3  # without --new: every flagged call
    quiet = invoke(home, "score", "--new", "--fail-on", "low", "-f", "json")
    assert (quiet.exit_code, quiet.stdout) == (0, "[]\n")


@pytest.mark.parametrize("command", ["score", "report"])
def test_fail_on_without_a_store_is_an_error_not_a_pass(tmp_path: Path, command: str) -> None:
    """A mistyped --home in a cron job must not read as 'nothing at or above the band' for ever."""
    typo = tmp_path / "stroe"
    res = invoke(typo, "-q", command, "--fail-on", "high", "-f", "json")
    assert (res.exit_code, res.stdout) == (1, "")
    assert res.stderr == (f"Error: no piu store at {typo}, so --fail-on high cannot check anything; "
                          "check --home or $PIU_HOME (or ingest manifests first)\n")
    assert not typo.exists()
    assert invoke(typo, "-q", command, "-f", "json").exit_code == 0  # without --fail-on: an empty result


def test_new_after_a_rule_change_shows_only_calls_it_raised(home: Path, tmp_path: Path) -> None:
    """A changed rule set (or watchlist) rescores every call; only those now in a higher band than their
    last score are news - an unrelated change does not flood a daily job's alert."""
    invoke(home, "score", "-f", "json")
    configured = home / "rules.toml"
    configured.write_text("[rules.vessel-age]\nweight = 2\n", encoding="utf-8")  # no call changes band
    res = invoke(home, "score", "--new", "--fail-on", "medium", "-f", "json")
    assert (res.exit_code, json.loads(res.stdout)) == (0, [])
    assert res.stderr.startswith("3 calls: 3 scored now, 0 already scored") and res.stderr.endswith(
        "; 0 flagged among those new or raised.\n")
    configured.write_text("[rules.declared-count-mismatch]\nweight = 5\n", encoding="utf-8")  # medium -> high
    res = invoke(home, "score", "--new", "--all", "-f", "json")
    assert [(r["call_id"], r["band"]) for r in json.loads(res.stdout)] == [("THLCH-20261121-A-9176187", "high")]
