"""examples/daily.sh, the cron job, run end to end: generate manifests, ingest, score, report, mail, alert."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from piu.synth import generate

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "examples" / "daily.sh"


def run_daily(tmp_path: Path, **settings: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIU", "FORCE_COLOR", "NO_COLOR"))}
    env.update({"PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
                "PIU_HOME": str(tmp_path / "store"), "PIU_INBOX": str(tmp_path / "inbox"),
                "PIU_REPORT_DIR": str(tmp_path / "reports"), "PIU_SINCE": "4d", **settings})
    return subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)


@pytest.fixture()
def inbox(tmp_path: Path) -> Path:
    # three days of a port's manifests, a third of the calls carrying a planted risk scenario
    generate(90, tmp_path / "inbox", seed=3, start=date.today() - timedelta(days=3), days=3, plant_rate=0.35)
    (tmp_path / "inbox" / "truth.csv").unlink()  # the answer key is not a manifest
    return tmp_path / "inbox"


def test_daily_run_writes_mails_and_alerts(tmp_path: Path, inbox: Path) -> None:
    res = run_daily(tmp_path, PIU_MAILER="file", PIU_MAIL_TO="piu@example.org")
    today = date.today().isoformat()
    assert res.returncode == 3, res.stderr
    assert res.stdout == ""
    assert "offering 1 file(s) in" in res.stderr
    assert res.stderr.splitlines()[-1] == (f"ALERT: calls at or above high in the last 4d; "
                                           f"see {tmp_path}/reports/piu-report-{today}.md")
    report = (tmp_path / "reports" / f"piu-report-{today}.md").read_text(encoding="utf-8")
    assert report.startswith("# Flagged vessel calls\n\nPeriod: ")
    assert "| high |" in report
    mail = (tmp_path / "reports" / "outbox" / f"piu-report-{today}.eml").read_text(encoding="utf-8")
    assert mail.startswith(f"To: piu@example.org\nSubject: [ALERT: high] PIU daily report {today}\n")
    assert mail.endswith(report)

    # a rerun the same day ingests nothing new, and a mailer command receives the report
    again = run_daily(tmp_path, PIU_MAILER='cat > "$PIU_REPORT_DIR/mailed.txt"', PIU_ALERT_BAND="high")
    assert again.returncode == 3
    assert "report mailed" in again.stderr
    rewritten = (tmp_path / "reports" / f"piu-report-{today}.md").read_text(encoding="utf-8")  # its period moved on
    assert (tmp_path / "reports" / "mailed.txt").read_text(encoding="utf-8") == rewritten


def test_quiet_day_exits_0(tmp_path: Path) -> None:
    (tmp_path / "inbox").mkdir()
    for args in (["ingest", str(REPO / "data" / "samples" / "calls.csv")], ["score"]):  # yesterday's work
        done = subprocess.run([sys.executable, "-m", "piu", "--home", str(tmp_path / "store"), "-q", *args],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    res = run_daily(tmp_path, PIU_MAILER="file")
    assert res.returncode == 0, res.stderr
    assert "no manifests in" in res.stderr and "ALERT" not in res.stderr
    mail = next((tmp_path / "reports" / "outbox").glob("*.eml")).read_text(encoding="utf-8")
    assert mail.startswith("To: (not set)\nSubject: PIU daily report ")
    assert "Calls received | Persons" in mail


def test_no_store_at_piu_home_is_a_failure_not_a_quiet_day(tmp_path: Path) -> None:
    """A mistyped PIU_HOME (or a job that never ingested anything) must not pass as 'nothing to alert on'."""
    (tmp_path / "inbox").mkdir()
    res = run_daily(tmp_path, PIU_MAILER="file")
    assert res.returncode == 1, res.stderr
    assert f"Error: no piu store at {tmp_path}/store, so --fail-on high cannot check anything" in res.stderr
    assert "daily: score failed (exit 1)" in res.stderr and res.stderr.splitlines()[-1].endswith("report failed (exit 1)")


def test_a_late_manifest_raises_the_alert_and_is_in_the_mail(tmp_path: Path) -> None:
    """Calls of 20 days ago, sent today: outside the report's period, but scored now."""
    generate(40, tmp_path / "inbox", seed=5, start=date.today() - timedelta(days=20), days=1, plant_rate=0.5)
    (tmp_path / "inbox" / "truth.csv").unlink()
    res = run_daily(tmp_path, PIU_MAILER="file")
    today = date.today().isoformat()
    assert res.returncode == 3, res.stderr
    assert res.stderr.splitlines()[-1] == (f"ALERT: calls at or above high among those new or raised in this run "
                                           f"(outside the report's period); see {tmp_path}/reports/piu-report-{today}.md")
    scored = (tmp_path / "reports" / f"piu-scored-{today}.tsv").read_text(encoding="utf-8").splitlines()
    heading = scored[0].split("\t")
    rows = [dict(zip(heading, line.split("\t"))) for line in scored[1:]]
    assert rows and {r["band"] for r in rows} <= {"medium", "high"} and "high" in {r["band"] for r in rows}
    days = {(date.today() - date.fromisoformat(r["call_time"][:10])).days for r in rows}
    assert min(days) > 4 and max(days) <= 21  # all before the report's period (the last 4 days)
    mail = next((tmp_path / "reports" / "outbox").glob("*.eml")).read_text(encoding="utf-8")
    assert mail.startswith(f"To: (not set)\nSubject: [ALERT: high] PIU daily report {today}\n")
    assert "\n## Flagged among the calls new or raised in this run\n\n```\n" + "\n".join(scored) + "\n```\n" in mail


def test_calls_expected_in_the_next_days_are_in_the_report(tmp_path: Path) -> None:
    """Pre-arrival manifests: calls of the next two days are in the daily report (and alert)."""
    generate(40, tmp_path / "inbox", seed=6, start=date.today() + timedelta(days=1), days=1, plant_rate=0.5)
    (tmp_path / "inbox" / "truth.csv").unlink()
    res = run_daily(tmp_path, PIU_MAILER="file", PIU_SINCE="24h")
    today = date.today().isoformat()
    assert res.returncode == 3, res.stderr
    assert res.stderr.splitlines()[-1] == (f"ALERT: calls at or above high in the last 24h; "
                                           f"see {tmp_path}/reports/piu-report-{today}.md")
    report = (tmp_path / "reports" / f"piu-report-{today}.md").read_text(encoding="utf-8")
    until = (date.today() + timedelta(days=3)).isoformat()
    assert f"to {until} 23:59 UTC" in report.splitlines()[2]
    assert "| high |" in report


def test_a_file_with_an_old_time_is_ingested_and_then_skipped(tmp_path: Path) -> None:
    """A manifest that lands after a run, or is copied with its old modification time, is not missed:
    every inbox file is offered to ingest, which skips the ones it stored before."""
    import os
    import time

    from piu.store import Store

    info = generate(12, tmp_path / "inbox", seed=4, start=date.today() - timedelta(days=2), days=2)
    Path(info["truth"]).unlink()  # the answer key is not a manifest
    old = time.time() - 10 * 86400
    os.utime(info["manifest"], (old, old))
    res = run_daily(tmp_path, PIU_MAILER="file")
    assert res.returncode in (0, 3), res.stderr
    assert "offering 1 file(s) in" in res.stderr
    stored = Store(tmp_path / "store").files("calls")
    assert stored
    again = run_daily(tmp_path, PIU_MAILER="file")
    assert again.returncode in (0, 3), again.stderr
    assert Store(tmp_path / "store").files("calls") == stored  # the same file: nothing stored twice
