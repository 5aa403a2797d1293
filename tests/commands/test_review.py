"""`piu review`: record a decision (append-only) and list the log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from piu.cli import app
from piu.store import Store
from tests.store_factories import KIEN, PEARL, configure_sample_ruleset, sample_store


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    configure_sample_ruleset(monkeypatch)
    st = Store(tmp_path / "home")
    sample_store(st)
    return str(st.home)


def run(home: str, *args: str, env: dict[str, str] | None = None):  # noqa: ANN201
    return CliRunner().invoke(app, ["--home", home, "review", *args], env={"PIU_USER": "", **(env or {})})


def test_record_then_list(home: str) -> None:
    res = run(home, PEARL, "--status", "boarded", "--note", "44 aboard; 4 without visas", "--by", "lt.sok")
    assert res.exit_code == 0 and res.stdout == ""
    assert res.stderr == f"Recorded: {PEARL} boarded by lt.sok (score 60, high, rules 2026.11-1)\n"
    run(home, KIEN, "--status", "cleared", env={"PIU_USER": "duty1"})
    listed = json.loads(run(home, "--list", "-f", "json").stdout)
    assert [(r["call_id"], r["status"], r["by"], r["note"], r["score"]) for r in listed] == [
        (PEARL, "boarded", "lt.sok", "44 aboard; 4 without visas", 60), (KIEN, "cleared", "duty1", "", 25)]
    assert list(listed[0]) == ["call_id", "version_id", "status", "note", "by", "at", "ruleset_version", "score", "band"]
    only = run(home, "--list", "--call", KIEN, "-f", "tsv").stdout.splitlines()
    assert len(only) == 2
    cells = only[1].split("\t")
    assert (cells[0], cells[1].startswith(f"{KIEN}@"), cells[2], cells[4]) == (KIEN, True, "cleared", "duty1")


def test_record_with_json_output(home: str) -> None:
    res = run(home, KIEN, "--status", "referred", "--by", "a", "-f", "json")
    assert json.loads(res.stdout)[0]["status"] == "referred"


def test_empty_log(home: str) -> None:
    res = run(home, "--list", "-f", "csv")
    assert res.exit_code == 0
    assert res.stdout == "call_id,version_id,status,note,by,at,ruleset_version,score,band\n"
    assert res.stderr == "No reviews yet.\n"


@pytest.mark.parametrize(("args", "code", "message"), [
    ([PEARL, "--status", "ok"], 2, "Error: --status 'ok' is not a review status; use one of: cleared, referred, "
                                   "boarded, confirmed\n"),
    ([PEARL], 2, "Error: --status is required to record a review; Decision: cleared, referred, boarded or confirmed.\n"),
    (["--status", "cleared"], 2, "Error: no call id given; piu review CALL_ID --status cleared --note TEXT, "
                                 "or piu review --list\n"),
    (["KHKOS-20260101-A-1", "--status", "cleared"], 1, None),
])
def test_errors(home: str, args: list[str], code: int, message: str | None) -> None:
    res = run(home, *args)
    assert res.exit_code == code and res.stdout == ""
    assert res.stderr == (message or f"Error: no call 'KHKOS-20260101-A-1' in the store at {home}; "
                                     "run `piu report` to find call ids\n")
    assert not (Path(home) / "reviews").exists()


@pytest.mark.parametrize("note", [[], ["--note", "   "]])
def test_a_decision_without_a_note_is_recorded_with_a_warning(home: str, note: list[str]) -> None:
    res = run(home, KIEN, "--status", "cleared", "--by", "duty1", *note)
    assert (res.exit_code, res.stdout) == (0, "")
    assert res.stderr == (f"Recorded: {KIEN} cleared by duty1 (score 25, medium, rules 2026.11-1)\n"
                          "Warning: no --note: the audit log will not say why\n")
    listed = json.loads(run(home, "--list", "-f", "json").stdout)
    assert [(r["status"], r["note"]) for r in listed] == [("cleared", "")]
    assert run(home, KIEN, "--status", "referred", "--by", "duty1", "--note", "DOB checked").stderr.count("Warning") == 0


def test_help_says_what_the_audit_log_records(home: str) -> None:
    res = CliRunner().invoke(app, ["review", "--help"], env={"COLUMNS": "200"})
    text = " ".join(res.stdout.split())
    assert "who decided, when, the decision, why (the note)" in text
    assert "without --note the review is recorded with a warning" in text
