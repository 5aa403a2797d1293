"""piu.queries: which stored score of a call commands read (the configured rule set's, else an earlier
one's, trials last), and the configured rule-set version, which must be the one `piu score` stores."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest

from piu.queries import ScoreChoice, configured_ruleset_version, latest_score_rows, read_scores_marked, score_files
from piu.risk import config as rconfig
from piu.risk.scoring import score_store
from piu.store import Store
from tests.risk.factories import call, crew, write


def at(day: int) -> datetime:
    return datetime(2026, 11, day, tzinfo=timezone.utc)


SCORES = pd.DataFrame({
    "call_id": ["A", "A", "A", "B", "B"],
    "version_id": ["A@1", "A@1", "A@1", "B@1", "B@1"],
    "ruleset_version": ["old", "conf", "try", "try", "try2"],
    "scored_at": [at(1), at(2), at(3), at(1), at(2)],
    "score": [1, 2, 3, 4, 5],
    "trial": [False, False, True, True, True],
})


@pytest.mark.parametrize(("prefer", "expected"), [
    (None, [3, 5]),        # the latest of any rule set (as before: trials included)
    ("conf", [2, 5]),      # the configured rule set's, though a trial scored A later
    ("old", [1, 5]),       # an older configured version is still its own
    ("new", [2, 5]),       # no score with it: the latest not made by a trial, else the latest trial's
    ("try", [3, 4]),       # a trial asked for by its version (`piu report --rules trial.toml`)
])
def test_latest_score_rows_prefers_a_version_then_configured_runs(prefer: str | None, expected: list[int]) -> None:
    rows = latest_score_rows(SCORES, prefer=prefer)
    assert rows["score"].tolist() == expected
    assert list(rows.columns) == (list(SCORES.columns) if prefer is None else list(SCORES.columns[:-1]))


def test_score_choice_counts_calls_of_another_rule_set_once() -> None:
    choice = ScoreChoice("conf")
    shown = choice.latest(SCORES)
    choice.count(shown)
    choice.count(shown)  # e.g. the report read again for --fail-on
    assert choice.other == {"B"}
    nothing = ScoreChoice(None)
    nothing.count(shown)
    assert nothing.other == set()


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    st = Store(tmp_path / "home")
    c = call(imo="9074728", vessel_category="fishing", gross_tonnage=75.0)
    write(st, [c], crew(c, 30))
    return st


def test_configured_version_is_the_version_score_stores(store: Store, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIU_RULES", raising=False)
    assert configured_ruleset_version(Store(tmp_path / "none")) is None
    defaults = score_store(store, rconfig.load(None)).ruleset_version
    assert configured_ruleset_version(store) == defaults

    (store.home / "rules.toml").write_text("[rules.vessel-age]\nweight = 2\n", encoding="utf-8")
    home_rules = score_store(store, rconfig.load(str(store.home / "rules.toml"))).ruleset_version
    assert configured_ruleset_version(store) == home_rules != defaults

    env_rules = tmp_path / "env.toml"
    env_rules.write_text("[bands]\nmedium = 4\n", encoding="utf-8")
    monkeypatch.setenv("PIU_RULES", str(env_rules))
    by_env = score_store(store, rconfig.load(str(env_rules))).ruleset_version
    assert configured_ruleset_version(store) == by_env not in (defaults, home_rules)
    assert configured_ruleset_version(store, str(store.home / "rules.toml")) == home_rules  # --rules FILE first

    from piu.watchlist import import_list
    listed = tmp_path / "list.csv"
    listed.write_text("kind,name,imo,reason\nvessel,SEA STAR,9074728,test entry\n", encoding="utf-8")
    import_list(store, str(listed), "test")
    with_list = score_store(store, rconfig.load(str(env_rules))).ruleset_version
    assert configured_ruleset_version(store) == with_list != by_env


def test_score_files_tell_trial_runs_apart(store: Store) -> None:
    config = rconfig.load(None)
    score_store(store, config)
    trial = rconfig.parse("[rules.overcapacity]\nweight = 1\n")
    score_store(store, trial, trial=True)
    configured, trials = score_files(store)
    assert (len(configured), len(trials)) == (1, 1)
    marked = read_scores_marked(store, columns=["score"])
    assert sorted(zip(marked["score"], marked["trial"])) == [(4, True), (8, False)]


@pytest.mark.parametrize(("first", "moved", "period"), [
    ("2026-11-20 01:00", "2026-11-20 13:00", ("2026-11-19", "2026-11-20 06:00")),   # later the same day
    ("2026-11-30 23:00", "2026-12-01 02:00", ("2026-11-01", "2026-11-30 23:59")),   # into the next month
    ("2026-12-01 02:00", "2026-11-30 23:00", ("2026-12-01", "2026-12-31 23:59")),   # into the month before
])
def test_a_call_an_amendment_moved_out_of_a_period_is_not_shown_there(tmp_path: Path, first: str, moved: str,
                                                                       period: tuple[str, str]) -> None:
    """The current version of a call is chosen among all its versions, then the period applies: the
    superseded version is not shown (with its old score) in a period only it falls in (found by a new
    analyst's walkthrough: a departure moved from 08:00 to 20:00 local showed at 08:00 in the morning report)."""
    from piu.queries import current_calls

    def at(text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)

    st = Store(tmp_path)
    v1 = call(call_time=first, ingest_id="20261120T000000000000Z-aaaaaa")
    v2 = call(call_time=moved, call_id=v1["call_id"], ingest_id="20261121T000000000000Z-bbbbbb", year_built=1980)
    write(st, [v1], [])
    write(st, [v2], [])
    assert current_calls(st, since=at(period[0]), until=at(period[1]))["version_id"].tolist() == []
    assert current_calls(st, since=at("2026-11-01"), until=at("2026-12-31"))["version_id"].tolist() == [v2["version_id"]]
    assert current_calls(st, since=at(moved) - pd.Timedelta(hours=1))["version_id"].tolist() == [v2["version_id"]]
    run = score_store(st, rconfig.defaults(), since=at(period[0]), until=at(period[1]))
    assert (run.scored, run.reused) == (0, 0)
