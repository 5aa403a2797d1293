"""`piu report`: golden output per format, stdout/stderr separation, --fail-on, files, pipes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from piu.cli import app
from piu.queries import configured_ruleset_version
from piu.reviews import add_review
from piu.store import Store
from tests.store_factories import KIEN, NOW, PEARL, UTC, bulk_store, configure_sample_ruleset, sample_store

GOLDEN = Path(__file__).parent / "golden"
PERIOD = ["--since", "2026-11-16", "--until", "2026-11-22"]
SUMMARY_ERR = ("Warning: 1 call not scored; run `piu score`\n"
               "3 flagged calls in 2026-11-16 00:00 to 2026-11-22 23:59 UTC (7 days)\n")
PIU = str(Path(sys.executable).parent / "piu")


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr("piu.timeparse.now_utc", lambda: NOW)
    configure_sample_ruleset(monkeypatch)
    st = Store(tmp_path / "home")
    sample_store(st)
    add_review(st, KIEN, "cleared", "DOB checked against the passport", by="analyst2",
               at=datetime(2026, 11, 21, 2, 30, tzinfo=UTC))
    return str(st.home)


def run(home: str, *args: str, env: dict[str, str] | None = None):  # noqa: ANN201
    return CliRunner().invoke(app, ["--home", home, *args], env={"COLUMNS": "100", **(env or {})})


def check_golden(name: str, text: str) -> None:
    """Compare with tests/commands/golden/NAME; PIU_UPDATE_GOLDEN=1 rewrites it."""
    path = GOLDEN / name
    if os.environ.get("PIU_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize(("fmt", "golden"), [("table", "report.txt"), ("markdown", "report.md"),
                                              ("csv", "report.csv"), ("json", "report.json")])
def test_golden_output(home: str, fmt: str, golden: str) -> None:
    res = run(home, "report", *PERIOD, "-f", fmt)
    assert res.exit_code == 0
    assert res.stderr == SUMMARY_ERR
    check_golden(golden, res.stdout)


def test_every_format_states_the_period(home: str) -> None:
    for fmt in ("table", "markdown", "html"):
        assert "2026-11-16 00:00 to 2026-11-22 23:59 UTC (7 days)" in run(home, "report", *PERIOD, "-f", fmt).stdout
    for fmt in ("csv", "tsv", "jsonl"):
        assert "2026-11-16T00:00:00Z" in run(home, "report", *PERIOD, "-f", fmt).stdout.splitlines()[1]
    doc = json.loads(run(home, "report", *PERIOD, "-f", "json").stdout)
    assert doc["period"]["since"] == "2026-11-16T00:00:00Z"


def test_pipe_default_is_tsv_and_jsonl_is_one_call_a_line(home: str) -> None:
    lines = run(home, "report", *PERIOD).stdout.splitlines()
    assert lines[0].split("\t")[:3] == ["call_id", "port", "direction"]
    assert [ln.split("\t")[0] for ln in lines[1:]] == [PEARL, "THLCH-20261119-A-9188877", KIEN]
    recs = [json.loads(ln) for ln in run(home, "report", *PERIOD, "-f", "jsonl").stdout.splitlines()]
    assert [(r["call_id"], r["review_status"], r["reviewed_by"]) for r in recs] == [
        (PEARL, "unreviewed", None), ("THLCH-20261119-A-9188877", "unreviewed", None), (KIEN, "cleared", "analyst2")]


def test_default_period_is_seven_days(home: str) -> None:
    res = run(home, "report", "-f", "json")
    assert json.loads(res.stdout)["period"]["text"] == "2026-11-15 12:00 to 2026-11-22 12:00 UTC (7 days)"


def test_html_is_self_contained(home: str) -> None:
    page = run(home, "report", *PERIOD, "-f", "html").stdout
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<script" not in page and "@import" not in page and "url(" not in page
    assert re.findall(r"(?:src|href)=", page) == []
    assert set(re.findall(r"https?://[^\"' ]+", page)) == {"http://www.w3.org/2000/svg"}
    assert page.count('class="bar bar-high"') == 1 and page.count('class="bar bar-medium"') == 1
    assert "@media print" in page


def test_filters(home: str) -> None:
    ids = lambda res: [ln.split("\t")[0] for ln in res.stdout.splitlines()[1:]]  # noqa: E731
    assert ids(run(home, "report", *PERIOD, "--min-band", "high")) == [PEARL]
    assert ids(run(home, "report", *PERIOD, "--unreviewed")) == [PEARL, "THLCH-20261119-A-9188877"]
    assert ids(run(home, "report", *PERIOD, "--port", "THLCH")) == ["THLCH-20261119-A-9188877"]


def test_output_file_format_from_extension(home: str, tmp_path: Path) -> None:
    out = tmp_path / "week.md"
    res = run(home, "report", *PERIOD, "-o", str(out))
    assert res.exit_code == 0 and res.stdout == ""
    assert res.stderr.startswith(f"Wrote the markdown report to {out}\n")
    assert out.read_text(encoding="utf-8") == (GOLDEN / "report.md").read_text(encoding="utf-8")


def test_fail_on(home: str) -> None:
    res = run(home, "report", *PERIOD, "--fail-on", "high", "-f", "json")
    assert res.exit_code == 3
    assert json.loads(res.stdout)["summary"]["flagged"] == 3  # the report is still written
    assert res.stderr.endswith("Alert: 1 call at or above high in 2026-11-16 00:00 to 2026-11-22 23:59 UTC (7 days)\n")
    # reviewed calls do not alert when only unreviewed ones matter
    add_review(Store(home), PEARL, "boarded", "boarded with police", by="a")
    assert run(home, "report", *PERIOD, "--fail-on", "high", "--unreviewed").exit_code == 0
    assert run(home, "report", *PERIOD, "--fail-on", "high").exit_code == 3
    assert run(home, "report", "--since", "2026-10-01", "--until", "2026-10-31", "--fail-on", "medium").exit_code == 0


def test_quiet_leaves_only_data(home: str) -> None:
    res = run(home, "-q", "report", *PERIOD, "--fail-on", "medium", "-f", "csv")
    assert res.exit_code == 3
    assert res.stderr == ""
    assert res.stdout == (GOLDEN / "report.csv").read_text(encoding="utf-8")


@pytest.mark.parametrize(("args", "message"), [
    (["-f", "pdf"], "Error: unknown format 'pdf'; use one of: table, tsv, csv, json, jsonl, markdown, html\n"),
    (["--since", "lastweek"], "Error: --since 'lastweek' is not a duration or a date; use e.g. 24h, 7d, 2w, 1m "
                              "or an ISO date like 2026-11-01\n"),
    (["--min-band", "red"], "Error: --min-band 'red' is not a band; use one of: low, medium, high\n"),
    (["--fail-on", "red"], "Error: --fail-on 'red' is not a band; use one of: low, medium, high\n"),
])
def test_usage_errors_exit_2(home: str, args: list[str], message: str) -> None:
    res = run(home, "report", *args)
    assert res.exit_code == 2
    assert res.stdout == ""
    assert res.stderr == message


def test_no_store_yet_is_an_empty_report(tmp_path: Path) -> None:
    res = run(str(tmp_path / "none"), "report", "-f", "csv")
    assert res.exit_code == 0
    assert res.stdout.count("\n") == 1
    assert res.stderr.startswith(f"Warning: no store at {tmp_path / 'none'} yet; run `piu ingest FILE` first\n")


def test_colour_only_when_allowed(home: str) -> None:
    forced = run(home, "report", *PERIOD, "-f", "table", env={"FORCE_COLOR": "1", "TERM": "xterm-256color"})
    assert "\x1b[1;31mhigh" in forced.stdout
    plain = run(home, "report", *PERIOD, "-f", "table", env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert "\x1b[31" not in plain.stdout and "\x1b[1;31" not in plain.stdout and "\x1b[33" not in plain.stdout
    piped = run(home, "report", *PERIOD, "-f", "table")
    assert "\x1b[" not in piped.stdout


# ---- through a real process ----------------------------------------------------------------

def _env(**more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIU_", "FORCE_COLOR", "NO_COLOR"))}
    return {**env, "COLUMNS": "100", **more}


def test_subprocess_exit_codes_and_streams(tmp_path: Path) -> None:
    st = Store(tmp_path / "home")
    sample_store(st)
    base = [PIU, "--home", str(st.home), "report", *PERIOD]
    ok = subprocess.run([*base, "-f", "csv"], capture_output=True, text=True, env=_env())
    assert ok.returncode == 0
    assert ok.stdout == (GOLDEN / "report.csv").read_text(encoding="utf-8").replace("cleared,analyst2,2026-11-21T02:30:00Z", "unreviewed,,")
    # the factories' scores are not the configured rules' (the built-in ones): said, and the scores still shown
    configured = configured_ruleset_version(st)
    first, last = SUMMARY_ERR.splitlines(keepends=True)
    assert ok.stderr == (first + f"Warning: 4 calls not scored with the configured rule set ({configured}) yet, "
                         "so an earlier rule set's score is used; run `piu score`\n" + last)
    fail = subprocess.run([*base, "-f", "json", "--fail-on", "high"], capture_output=True, text=True, env=_env())
    assert fail.returncode == 3
    assert json.loads(fail.stdout)["summary"]["by_band"] == {"low": 1, "medium": 2, "high": 1}
    assert fail.stderr.splitlines()[-1].startswith("Alert: 1 call at or above high")
    usage = subprocess.run([*base, "--since", "soon"], capture_output=True, text=True, env=_env())
    assert (usage.returncode, usage.stdout, len(usage.stderr.splitlines())) == (2, "", 1)
    missing = subprocess.run([PIU, "--home", str(st.home), "show", "KHKOS-20260101-A-1"], capture_output=True,
                             text=True, env=_env())
    assert (missing.returncode, missing.stdout) == (1, "")
    assert missing.stderr == (f"Error: no call 'KHKOS-20260101-A-1' in the store at {st.home}; "
                              "run `piu report` to find call ids\n")


def test_report_into_head_ends_silently(tmp_path: Path) -> None:
    st = Store(tmp_path / "big")
    n = bulk_store(st, end=datetime.now(UTC) - timedelta(minutes=5), days=30, calls_per_day=400, persons_per_call=2)
    assert n == 12000
    script = f"set -o pipefail; '{PIU}' --home '{st.home}' report --since 30d --min-band low -f tsv | head -1"
    res = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=_env())
    assert res.stdout.startswith("call_id\tport\tdirection\t")
    assert res.stdout.count("\n") == 1
    assert res.stderr == ""  # no BrokenPipeError, no traceback, no "Exception ignored"
    assert res.returncode in (0, 141)  # 141: piu ended by SIGPIPE, as `yes | head` is


# ---- end to end: generated manifests, real ingest and scoring --------------------------------

def test_end_to_end_with_ingest_and_score(tmp_path: Path) -> None:
    from datetime import date

    from piu.synth import generate

    sample = generate(120, tmp_path / "gen", seed=5, start=date.today() - timedelta(days=5), days=5, plant_rate=0.3)
    home = str(tmp_path / "home")
    runner = CliRunner()
    assert runner.invoke(app, ["--home", home, "-q", "ingest", sample["manifest"]]).exit_code == 0
    scored = runner.invoke(app, ["--home", home, "score", "-f", "json"])
    assert scored.exit_code == 0
    score_rows = json.loads(scored.stdout)
    assert score_rows, "the planted scenarios flag some calls"

    # 7d, not 6d: the first day's calls are local times east of UTC, which start on the UTC day before
    res = runner.invoke(app, ["--home", home, "report", "--since", "7d", "-f", "json"])
    assert res.exit_code == 0
    assert "not scored" not in res.stderr
    doc = json.loads(res.stdout)
    assert doc["summary"]["calls_received"] == 120 and doc["summary"]["calls_not_scored"] == 0
    # same calls, same keys and values as `piu score -f json`, plus the reasons and the review
    assert sorted(c["call_id"] for c in doc["calls"]) == sorted(r["call_id"] for r in score_rows)
    by_id = {r["call_id"]: r for r in score_rows}
    for call in doc["calls"]:
        assert list(call) == [*score_rows[0], "reasons", "review_status", "reviewed_by", "reviewed_at"]
        assert {k: call[k] for k in score_rows[0]} == by_id[call["call_id"]]

    # piu show marks the persons each hit names; a review then shows in the report
    top = doc["calls"][0]
    detail = json.loads(runner.invoke(app, ["--home", home, "show", top["call_id"], "-f", "json"]).stdout)
    for h in detail["hits"]:
        named = {p["source_row"] for p in detail["persons"] if h["rule"] in p["hits"]}
        assert named == {int(r) for r in h["persons"]}
    assert runner.invoke(app, ["--home", home, "review", top["call_id"], "--status", "referred",
                               "--by", "duty1"]).exit_code == 0
    again = json.loads(runner.invoke(app, ["--home", home, "report", "--since", "7d", "-f", "json"]).stdout)
    assert next(c for c in again["calls"] if c["call_id"] == top["call_id"])["review_status"] == "referred"


@pytest.fixture()
def bare_home(tmp_path: Path) -> str:
    """35 crew on a fishing boat and a flagged call with no persons and no declared counts, scored and stored."""
    from tests.risk.factories import call, crew, write

    st = Store(tmp_path / "bare")
    boat = call(imo="9074728", vessel_category="fishing", gross_tonnage=75.0, call_time="2026-11-20 08:00")
    bare = call(imo="9176188", mmsi="567000001", mmsi_country="THA", flag="THA", call_time="2026-11-21 08:00",
                year_built=1990)  # check digit wrong and old: flagged medium
    write(st, [boat, bare], crew(boat, 35))
    assert run(str(st.home), "score", "-f", "json").exit_code == 0
    return str(st.home)


def test_report_whole_numbers_when_a_call_has_no_persons(bare_home: str) -> None:
    period = ["--since", "2026-11-01", "--until", "2026-11-30"]
    scored = json.loads(run(bare_home, "score", "--all", "-f", "json").stdout)
    report = json.loads(run(bare_home, "report", *period, "-f", "json").stdout)
    # the same keys with the same integer values (and types) as `piu score -f json`
    assert [(c["call_id"], c["persons_aboard"], c["score"]) for c in report["calls"]] == [
        (r["call_id"], r["persons_aboard"], r["score"]) for r in scored] == [
        ("KHKOS-20261120-A-9074728", 35, 8), ("KHKOS-20261121-A-9176188", None, 4)]
    assert [type(c["persons_aboard"]) for c in report["calls"]] == [int, type(None)]
    jsonl = [json.loads(line) for line in run(bare_home, "report", *period, "-f", "jsonl").stdout.splitlines()]
    assert [(c["persons_aboard"], c["score"]) for c in jsonl] == [(35, 8), (None, 4)]
    md = run(bare_home, "report", *period, "-f", "markdown").stdout
    rows = [line.split(" | ") for line in md.splitlines() if line.startswith("| 2026-11-2") and "KHKOS" in line]
    assert [(r[2], r[6], r[7]) for r in rows] == [("SEA STAR", "35", "8"), ("SEA STAR", "", "4")]
    html = run(bare_home, "report", *period, "-f", "html").stdout
    assert "35.0" not in html and "<td>35</td>" in html.replace('<td class="num">', "<td>")


@pytest.mark.parametrize("name", ["r.html", "r.md", "r.json"])
def test_output_in_a_missing_folder_is_one_line_exit_1(home: str, tmp_path: Path, name: str) -> None:
    target = tmp_path / "no-such-dir" / name
    res = run(home, "report", *PERIOD, "-o", str(target))
    assert (res.exit_code, res.stdout, res.stderr) == (
        1, "", f"Error: cannot write {target}: the folder does not exist; create {target.parent} first or choose "
               "another path with -o\n")


def test_output_that_is_a_folder_or_refuses_writes(home: str, tmp_path: Path) -> None:
    res = run(home, "report", *PERIOD, "-o", str(tmp_path))
    assert (res.exit_code, res.stderr) == (1, f"Error: cannot write {tmp_path}: it is a folder; give a file name with -o\n")
    full = Path("/dev/full")  # every write fails with ENOSPC
    if full.exists():
        res = run(home, "report", *PERIOD, "-f", "json", "-o", str(full))
        assert (res.exit_code, res.stderr) == (
            1, "Error: cannot write /dev/full: no space left on the device; choose another path with -o\n")


# ---- totals under --min-band and --unreviewed, through the command ------------------------------

@pytest.fixture()
def totals_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    from tests.store_factories import configure_sample_ruleset, totals_store

    monkeypatch.setattr("piu.timeparse.now_utc", lambda: NOW)
    configure_sample_ruleset(monkeypatch)  # the factory's scores are the configured rule set's
    st = Store(tmp_path / "totals")
    totals_store(st)
    return str(st.home)


@pytest.mark.parametrize(("args", "summary", "stderr_line"), [
    ([], (5, 3, 5, 3), "5 flagged calls in"),
    (["--min-band", "low"], (5, 3, 8, 5), "8 scored calls (all bands) in"),
    (["--unreviewed"], (3, 3, 3, 3), "3 flagged calls not yet reviewed in"),
    (["--min-band", "low", "--unreviewed"], (3, 3, 5, 5), "5 scored calls (all bands) not yet reviewed in"),
    (["--min-band", "high"], (2, 1, 2, 1), "2 flagged calls (high) in"),
])
def test_json_totals_and_stderr_count_the_rows(totals_home: str, args: list[str], summary: tuple,
                                               stderr_line: str) -> None:
    res = run(totals_home, "report", *PERIOD, *args, "-f", "json")
    assert res.exit_code == 0
    doc = json.loads(res.stdout)
    s = doc["summary"]
    assert (s["flagged"], s["flagged_unreviewed"], s["listed"], s["listed_unreviewed"]) == summary
    assert s["listed"] == len(doc["calls"]) == sum(d["total"] for d in doc["flagged_per_day"])
    assert (s["calls_received"], s["calls_scored"], s["by_band"]) == (9, 8, {"low": 3, "medium": 3, "high": 2})
    assert res.stderr == ("Warning: 1 call not scored; run `piu score`\n"
                          f"{stderr_line} 2026-11-16 00:00 to 2026-11-22 23:59 UTC (7 days)\n")
    # csv rows are the same calls
    rows = run(totals_home, "report", *PERIOD, *args, "-f", "csv").stdout.splitlines()[1:]
    assert [r.split(",")[0] for r in rows] == [c["call_id"] for c in doc["calls"]]


def test_fail_on_alert_says_when_it_counts_unreviewed_calls_only(totals_home: str) -> None:
    res = run(totals_home, "report", *PERIOD, "--unreviewed", "--fail-on", "medium", "-f", "json")
    assert res.exit_code == 3
    assert res.stderr.splitlines()[-1] == ("Alert: 3 calls at or above medium, not yet reviewed, in 2026-11-16 00:00 "
                                           "to 2026-11-22 23:59 UTC (7 days)")
    res = run(totals_home, "report", *PERIOD, "--fail-on", "low", "-f", "json")
    assert (res.exit_code, res.stderr.splitlines()[-1]) == (
        3, "Alert: 8 calls at or above low in 2026-11-16 00:00 to 2026-11-22 23:59 UTC (7 days)")


@pytest.mark.parametrize("columns", ["80", "100"])
def test_table_with_call_ids_fits_the_terminal(home: str, columns: str) -> None:
    res = run(home, "report", *PERIOD, "-f", "table", env={"COLUMNS": columns})
    assert res.exit_code == 0
    lines = res.stdout.splitlines()
    assert max(len(ln) for ln in lines) <= int(columns)
    ids = [ln.split()[0] for ln in lines if ln.startswith(("KHKOS-", "THLCH-"))]
    assert ids == [PEARL, "THLCH-20261119-A-9188877", KIEN]
    reasons = "Main reasons" in next(ln for ln in lines if ln.startswith("Call "))
    assert reasons == (columns == "100")
