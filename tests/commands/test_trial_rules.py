"""A trial rule set (`piu score --rules trial.toml`) next to the configured one: report, show, review,
vessel and export keep the configured scores; `--rules FILE` shows the trial's; calls not scored with the
configured rules fall back to an earlier score, said once on stderr; `piu score` stays incremental and
`--new` compares with the configured rules' last score, never a trial's."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from piu.cli import app
from piu.queries import configured_ruleset_version
from piu.report import report_keys
from piu.store import Store
from tests.risk.factories import call, crew, write

PERIOD = ["--since", "2026-11-01", "--until", "2026-11-30"]
HIGH = "KHKOS-20261120-A-9074728"    # overcapacity 5 + imo-invalid 3: 8, high
MEDIUM = "THLCH-20261121-A-9176187"  # declared-count-mismatch 3: medium
LOW = "KHKOS-20261122-A-9231212"     # nothing: 0, low
# the trial: no overcapacity, a heavier count mismatch - HIGH drops to medium, MEDIUM rises to high
TRIAL = "[rules.overcapacity]\nenabled = false\n[rules.declared-count-mismatch]\nweight = 5\n"
# (call_id, score, band, rules hit) in call id order, as `scored` gives them
CONFIGURED = [(HIGH, 8, "high", ["overcapacity", "imo-invalid"]), (LOW, 0, "low", []),
              (MEDIUM, 3, "medium", ["declared-count-mismatch"])]
TRIED = [(HIGH, 3, "medium", ["imo-invalid"]), (LOW, 0, "low", []), (MEDIUM, 5, "high", ["declared-count-mismatch"])]
REPORT_DOC_KEYS = ["title", "generated_at", "period", "port", "ports", "min_band", "unreviewed_only", "ruleset_versions",
                   "summary", "hits_per_rule", "flagged_per_day", "calls"]
SUMMARY_LINE = "3 scored calls (all bands) in 2026-11-01 00:00 to 2026-11-30 23:59 UTC (30 days)\n"


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    st = Store(tmp_path / "home")
    high = call(imo="9074728", vessel_category="fishing", gross_tonnage=75.0, call_time="2026-11-20 08:00")
    medium = call(imo="9176187", mmsi="567000001", mmsi_country="THA", flag="THA", port="THLCH",
                  call_time="2026-11-21 08:00", declared_crew=5)
    low = call(imo="9231212", mmsi="533000001", mmsi_country="MYS", flag="MYS", call_time="2026-11-22 08:00")
    write(st, [high, medium, low], crew(high, 30) + crew(medium, 4) + crew(low, 6))
    return st.home


@pytest.fixture()
def trial(tmp_path: Path) -> Path:
    path = tmp_path / "trial.toml"
    path.write_text(TRIAL, encoding="utf-8")
    return path


def piu(home: Path, *args: str):  # noqa: ANN201 - click Result
    return CliRunner().invoke(app, ["--home", str(home), *args], env={"COLUMNS": "200", "PIU_RULES": ""})


def scored(records: list[dict]) -> list[tuple]:
    """(call_id, score, band, rules hit) of score/report records, in call id order."""
    return sorted((r["call_id"], r["score"], r["band"], [h["rule"] for h in r["hits"]]) for r in records)


def score(home: Path, *args: str) -> tuple[str, str]:
    """Score every call; returns the rule-set version and stderr."""
    res = piu(home, "score", "--all", "-f", "json", *args)
    assert res.exit_code == 0, res.stderr
    return json.loads(res.stdout)[0]["ruleset_version"], res.stderr


def report(home: Path, *args: str) -> tuple[dict, str]:
    res = piu(home, "report", *PERIOD, "--min-band", "low", "-f", "json", *args)
    assert res.exit_code == 0, res.stderr
    return json.loads(res.stdout), res.stderr


def vrs(home: Path) -> tuple[list[dict], str]:
    res = piu(home, "export", "--unit", "KH-SHV", "--target", "vrs", *PERIOD, "-o", "-")
    assert res.exit_code == 0, res.stderr
    return list(csv.DictReader(io.StringIO(res.stdout))), res.stderr


def other_rules_note(n: int, version: str, fix: str = "piu score", which: str = "the configured rule set") -> str:
    calls = "1 call" if n == 1 else f"{n} calls"
    return (f"Warning: {calls} not scored with {which} ({version}) yet, so an earlier rule set's score is used; "
            f"run `{fix}`\n")


def test_a_trial_leaves_report_show_review_vessel_and_export_on_the_configured_scores(home: Path, trial: Path) -> None:
    configured, _ = score(home)
    before, err = report(home)
    assert (scored(before["calls"]), before["ruleset_versions"], err) == (CONFIGURED, [configured], SUMMARY_LINE)
    shown = json.loads(piu(home, "show", HIGH, "-f", "json").stdout)
    exported, _ = vrs(home)

    res = piu(home, "score", "--all", "-f", "json", "--rules", str(trial))
    assert res.exit_code == 0
    tried = json.loads(res.stdout)
    assert scored(tried) == TRIED
    version = tried[0]["ruleset_version"]
    assert version != configured
    assert res.stderr == (f"3 calls: 3 scored now, 0 already scored with rule set {version}; 2 flagged.\n"
                          "Note: trial.toml is not the configured rule set, so this is a trial: report, show and export "
                          f"keep the configured scores; `piu report --rules {trial}` shows these\n")

    after, err = report(home)
    assert err == SUMMARY_LINE  # nothing to say: every call has a score of the configured rules
    assert scored(after["calls"]) == CONFIGURED
    assert list(after) == REPORT_DOC_KEYS and [list(c) for c in after["calls"]] == [list(report_keys())] * 3
    assert {k: v for k, v in after.items() if k != "generated_at"} == {k: v for k, v in before.items() if k != "generated_at"}
    res = piu(home, "show", HIGH, "-f", "json")
    assert (res.exit_code, res.stderr) == (0, "")
    assert json.loads(res.stdout) == shown
    assert (shown["score"]["score"], shown["score"]["band"], shown["score"]["ruleset_version"]) == (8, "high", configured)
    assert [h["rule"] for h in shown["hits"]] == ["overcapacity", "imo-invalid"]
    assert vrs(home) == (exported, "-: 2 flagged case(s) for the regional reporting database (unit KH-SHV, "
                                   "2026-11-01 to 2026-11-30); no personal data\n")
    assert [(r["case_ref"], r["score"], r["band"], r["rules"], r["ruleset_version"]) for r in exported] == [
        (HIGH, "8", "high", "imo-invalid;overcapacity", configured),
        (MEDIUM, "3", "medium", "declared-count-mismatch", configured)]
    res = piu(home, "vessel", "9074728", "-f", "json")
    assert [(r["call_id"], r["score"], r["band"]) for r in json.loads(res.stdout)] == [(HIGH, 8, "high")]
    res = piu(home, "review", HIGH, "--status", "cleared", "--note", "crew list checked", "--by", "duty1")
    assert res.stderr == f"Recorded: {HIGH} cleared by duty1 (score 8, high, rules {configured})\n"


def test_report_and_show_with_rules_show_the_trial(home: Path, trial: Path) -> None:
    score(home)
    version, _ = score(home, "--rules", str(trial))
    doc, err = report(home, "--rules", str(trial))
    assert (scored(doc["calls"]), doc["ruleset_versions"], err) == (TRIED, [version], SUMMARY_LINE)
    res = piu(home, "show", HIGH, "-f", "json", "--rules", str(trial))
    assert (res.exit_code, res.stderr) == (0, "")
    detail = json.loads(res.stdout)
    assert (detail["score"]["score"], detail["score"]["band"], [h["rule"] for h in detail["hits"]]) == (
        3, "medium", ["imo-invalid"])


def test_a_trial_not_scored_yet_is_said_with_its_own_fix(home: Path, trial: Path) -> None:
    configured, _ = score(home)
    doc, err = report(home, "--rules", str(trial))
    assert (scored(doc["calls"]), doc["ruleset_versions"]) == (CONFIGURED, [configured])
    version = configured_ruleset_version(Store(home), str(trial))
    assert err == other_rules_note(3, version, f"piu score --rules {trial}", "the rule set of trial.toml") + SUMMARY_LINE


def test_changed_rules_fall_back_to_the_last_configured_score_not_the_trial_and_say_so(home: Path, trial: Path) -> None:
    configured, _ = score(home)
    score(home, "--rules", str(trial))
    (home / "rules.toml").write_text("[rules.vessel-age]\nweight = 2\n", encoding="utf-8")  # a new configured version
    changed = configured_ruleset_version(Store(home))
    assert changed != configured
    doc, err = report(home)
    assert (scored(doc["calls"]), doc["ruleset_versions"]) == (CONFIGURED, [configured])  # not the trial's, which is later
    assert err == other_rules_note(3, changed) + SUMMARY_LINE
    res = piu(home, "show", MEDIUM, "-f", "json")
    assert (json.loads(res.stdout)["score"]["score"], res.stderr) == (3, other_rules_note(1, changed))
    rows, err = vrs(home)
    assert [(r["case_ref"], r["score"], r["band"]) for r in rows] == [(HIGH, "8", "high"), (MEDIUM, "3", "medium")]
    assert err.startswith(other_rules_note(3, changed))

    assert score(home)[0] == changed  # the fix the note gives
    doc, err = report(home)
    assert (scored(doc["calls"]), doc["ruleset_versions"], err) == (CONFIGURED, [changed], SUMMARY_LINE)


def test_a_call_only_a_trial_scored_shows_the_trial_score_and_says_so(home: Path, trial: Path) -> None:
    score(home)
    late = call(imo="9321483", mmsi="533000002", mmsi_country="MYS", flag="MYS", call_time="2026-11-23 08:00",
                declared_crew=9)  # declared 9, 6 listed: a count mismatch
    write(Store(home), [late], crew(late, 6))
    version, _ = score(home, "--rules", str(trial))
    doc, err = report(home)
    shown = {c["call_id"]: (c["score"], c["band"], c["ruleset_version"]) for c in doc["calls"]}
    assert shown[late["call_id"]] == (5, "high", version)
    assert shown[HIGH][:2] == (8, "high")
    assert err == other_rules_note(1, configured_ruleset_version(Store(home))) + "4 scored calls (all bands) in 2026-11-01 00:00 to " \
        "2026-11-30 23:59 UTC (30 days)\n"


def test_score_after_a_trial_reuses_the_configured_scores(home: Path, trial: Path) -> None:
    configured, _ = score(home)
    score(home, "--rules", str(trial))
    res = piu(home, "score", "-f", "json")
    assert scored(json.loads(res.stdout)) == [CONFIGURED[0], CONFIGURED[2]]  # the flagged ones
    assert res.stderr == f"3 calls: 0 scored now, 3 already scored with rule set {configured}; 2 flagged.\n"
    res = piu(home, "score", "-f", "json", "--rules", str(trial))  # a trial is incremental too
    assert res.stderr.startswith("3 calls: 0 scored now, 3 already scored with rule set ")


def test_new_after_a_trial_still_shows_a_new_call_the_trial_scored_higher(home: Path, trial: Path) -> None:
    """A call first scored by a trial (high) and then by the configured rules (medium) is new to the daily
    job: --new compares with the configured rules' last score, and a trial's is none."""
    score(home)
    late = call(imo="9321483", mmsi="533000002", mmsi_country="MYS", flag="MYS", call_time="2026-11-23 08:00",
                declared_crew=9)
    write(Store(home), [late], crew(late, 6))
    # the trial's own --new: the late call, and MEDIUM, which the trial raises above its configured band
    assert scored(json.loads(piu(home, "score", "--new", "-f", "json", "--rules", str(trial)).stdout)) == [
        (late["call_id"], 5, "high", ["declared-count-mismatch"]), (MEDIUM, 5, "high", ["declared-count-mismatch"])]
    res = piu(home, "score", "--new", "--fail-on", "medium", "-f", "json")
    assert res.exit_code == 3
    assert scored(json.loads(res.stdout)) == [(late["call_id"], 3, "medium", ["declared-count-mismatch"])]


def test_new_after_a_trial_does_not_call_an_unchanged_band_raised(home: Path, tmp_path: Path) -> None:
    """A trial that lowered a call (medium -> low) is not what a rules change raises it from: still medium
    under the changed configured rules, it is no news."""
    score(home)
    lower = tmp_path / "lower.toml"
    lower.write_text("[rules.declared-count-mismatch]\nweight = 1\n", encoding="utf-8")
    score(home, "--rules", str(lower))
    (home / "rules.toml").write_text("[rules.vessel-age]\nweight = 2\n", encoding="utf-8")
    res = piu(home, "score", "--new", "--all", "-f", "json")
    assert (res.exit_code, json.loads(res.stdout)) == (0, [])
    assert res.stderr.startswith("3 calls: 3 scored now, 0 already scored with rule set ")


def test_rules_file_given_by_env_or_the_same_file_is_not_a_trial(home: Path) -> None:
    (home / "rules.toml").write_text("[rules.vessel-age]\nweight = 2\n", encoding="utf-8")
    res = piu(home, "score", "-f", "json", "--rules", str(home / "rules.toml"))
    assert res.exit_code == 0 and "trial" not in res.stderr
    other = home.parent / "other.toml"
    other.write_text("[rules.vessel-age]\nweight = 2\n", encoding="utf-8")  # the same rules in another file
    res = piu(home, "score", "-f", "json", "--rules", str(other))
    assert res.exit_code == 0 and "trial" not in res.stderr
    res = CliRunner().invoke(app, ["--home", str(home), "score", "-f", "json"], env={"PIU_RULES": str(other)})
    assert res.exit_code == 0 and "trial" not in res.stderr
    assert [k for k in (json.loads((Store(home).home / "_commits" / t).read_text())["kind"]
                        for t in sorted(Store(home).visible_txns()))] == ["ingest", "score"]


def test_a_missing_rules_file_for_report_is_one_line_exit_1(home: Path) -> None:
    score(home)
    res = piu(home, "report", *PERIOD, "--rules", str(home / "nope.toml"))
    assert (res.exit_code, res.stdout) == (1, "")
    assert res.stderr == (f"Error: rules file {home / 'nope.toml'} not found; check the path, or run "
                          "`piu rules init > rules.toml`\n")
