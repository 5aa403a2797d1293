"""Scored marks (piu.risk.scoring): after a score of a whole scope, the next `piu score` reads only the
calls files committed since. Whatever happens to the store in between, it must score exactly the
call versions the full check (every current call against every stored score) would score."""

from __future__ import annotations

import json
import random
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import piu.risk.scoring as scoring
from piu.queries import latest_scores
from piu.risk.config import defaults, parse
from piu.risk.scoring import score_store
from piu.store import Store
from tests.risk.factories import call, crew, write

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)
IMOS = ["9074729", "9176187", "9231212", "9074728", "9262211"]


def _ingest_id(day: int, tag: str) -> str:
    return (datetime(2026, 10, 1, tzinfo=timezone.utc) + timedelta(days=day)).strftime("%Y%m%dT%H%M%S") + f"000000Z-{tag}"


def ingest_random(st: Store, rng: random.Random, tag: str, step: int, imos: list[str],
                  months: tuple[int, ...]) -> list[dict]:
    """A few new calls stored in one ingest; its id now and then older than earlier ones (two ingests
    interleaved)."""
    day = step if rng.random() > 0.3 else rng.randrange(0, 3)
    ingest = _ingest_id(day, f"{tag}aa")
    batch = [call(port=rng.choice(["KHKOS", "THBKK"]), imo=rng.choice(imos), ingest_id=ingest,
                  call_time=f"2026-{rng.choice(months)}-{rng.randrange(1, 28):02d} {rng.randrange(24):02d}:00",
                  year_built=rng.choice([1990, 2010]))
             for _ in range(rng.randrange(1, 4))]
    batch = list({c["call_id"]: c for c in batch}.values())
    write(st, batch, [p for c in batch for p in crew(c, rng.randrange(0, 3))])
    return batch


def amend_random(st: Store, rng: random.Random, tag: str, step: int, known: list[dict]) -> dict:
    """A new version of a stored call (its ingest id now and then older than earlier ones)."""
    old = rng.choice(known)
    day = step if rng.random() > 0.3 else rng.randrange(0, 3)
    new = call(**{**{k: old[k] for k in ("port", "imo", "call_time", "call_id")},
                  "year_built": rng.choice([1985, 2015]), "ingest_id": _ingest_id(day, f"{tag}bb")})
    write(st, [new], crew(new, 1))
    return new


def _state(st: Store) -> list[tuple[str, int]]:
    """Every scored call version of the default rule set with its score."""
    s = latest_scores(st)
    return sorted(zip(s["version_id"], s["score"].astype(int)))


def _without_marks(src: Path, dst: Path, monkeypatch: pytest.MonkeyPatch, **kw: object) -> tuple[int, int, list]:
    """Score a copy of the store with the marks ignored (the full check): scored, reused, state."""
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
    with monkeypatch.context() as m:
        m.setattr(scoring, "_read_mark", lambda *a, **k: None)
        run = score_store(Store(dst), defaults(), now=NOW, **kw)
        return run.scored, run.reused, _state(Store(dst))


@pytest.mark.parametrize("seed", range(8))
def test_marked_runs_score_what_the_full_check_scores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      seed: int) -> None:
    rng = random.Random(seed)
    home = tmp_path / "store"
    st = Store(home)
    used = []
    real = scoring._new_since_mark

    def spy(*a: object, **k: object) -> object:
        out = real(*a, **k)
        used.append(out is not None)
        return out
    monkeypatch.setattr(scoring, "_new_since_mark", spy)
    known: list[dict] = []
    for step in range(14):
        action = rng.choice(["ingest", "ingest", "amend", "score", "score", "score-port", "retract", "damage"])
        if action == "ingest" or not known and action in ("amend", "retract"):
            known += ingest_random(st, rng, f"{seed:02d}{step:02d}", step, IMOS, months=(10, 11))
        elif action == "amend":
            known.append(amend_random(st, rng, f"{seed:02d}{step:02d}", step, known))
        elif action == "retract" and st.exists():  # e.g. doctor --repair retracting a damaged ingest
            ingests = sorted(t for t in st.visible_txns() if st.txn_kind(t) == "ingest")
            if ingests:
                with st.transaction("repair") as txn:
                    txn.retract([rng.choice(ingests)])
        elif action == "damage":
            for mark in home.joinpath(*scoring.MARK_DIR).glob("*.json") if home.exists() else []:
                mark.write_text(rng.choice(["", "{", json.dumps({"format": 1})]))
        elif action in ("score", "score-port") and st.exists():
            kw = {"ports": ["KHKOS"]} if action == "score-port" else {}
            want = _without_marks(home, tmp_path / "full", monkeypatch, **kw)
            run = score_store(st, defaults(), now=NOW, **kw)
            assert (run.scored, run.reused, _state(st)) == want, (seed, step, action)
    want = _without_marks(home, tmp_path / "full", monkeypatch)
    run = score_store(st, defaults(), now=NOW)
    assert (run.scored, run.reused, _state(st)) == want
    assert any(used)  # the marks were used, not only written


def test_a_mark_records_the_scored_transactions(tmp_path: Path) -> None:
    st = Store(tmp_path)
    a = call(ingest_id=_ingest_id(1, "aaaaaa"))
    write(st, [a], crew(a, 2))
    run = score_store(st, defaults(), now=NOW)
    marks = list(tmp_path.joinpath(*scoring.MARK_DIR).glob("*.json"))
    assert [m.name for m in marks] == [f"{run.ruleset_version}-all.json"]
    doc = json.loads(marks[0].read_text())
    assert doc["txns"] == sorted(st.visible_txns())  # the ingest and this score
    assert [st.txn_kind(t) for t in doc["txns"]] == ["ingest", "score"]
    assert (doc["ruleset_version"], doc["newest_ingest"], doc["ports"]) == (run.ruleset_version, a["ingest_id"], None)


def test_the_next_score_reads_only_files_committed_after_the_mark(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    st = Store(tmp_path)
    a = call(ingest_id=_ingest_id(1, "aaaaaa"))
    write(st, [a], crew(a, 2))
    score_store(st, defaults(), now=NOW)
    b = call(imo="9074728", call_time="2026-11-21 08:00", ingest_id=_ingest_id(2, "bbbbbb"))
    write(st, [b], crew(b, 2))

    def no_full_check(*a: object, **k: object) -> None:
        raise AssertionError("the whole selection was read")
    monkeypatch.setattr(scoring, "_scored_versions", no_full_check)
    run = score_store(st, defaults(), now=NOW)
    assert (run.scored, run.frame["version_id"].tolist()) == (1, [a["version_id"], b["version_id"]])
    assert run.reused == 1  # counted when asked for
    assert latest_scores(st).set_index("call_id")["score"].to_dict() == {a["call_id"]: 0, b["call_id"]: 3}


@pytest.mark.parametrize("text", ["", "{", "[]", '{"format": 1}', '{"format": 2, "txns": [], "ruleset_version": "x"}'])
def test_a_damaged_mark_means_the_full_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    st = Store(tmp_path)
    a = call(ingest_id=_ingest_id(1, "aaaaaa"))
    write(st, [a], [])
    first = score_store(st, defaults(), now=NOW)
    mark = tmp_path.joinpath(*scoring.MARK_DIR, f"{first.ruleset_version}-all.json")
    mark.write_text(text)
    calls = []
    real = scoring._scored_versions
    monkeypatch.setattr(scoring, "_scored_versions", lambda *a, **k: calls.append(1) or real(*a, **k))
    run = score_store(st, defaults(), now=NOW)
    assert (run.scored, run.reused, calls) == (0, 1, [1])
    assert json.loads(mark.read_text())["txns"] == sorted(st.visible_txns())  # written again, whole


def test_a_retraction_after_the_mark_means_the_full_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    st = Store(tmp_path)
    a = call(ingest_id=_ingest_id(1, "aaaaaa"))
    write(st, [a], [])
    score_store(st, defaults(), now=NOW)
    amended = call(year_built=1980, ingest_id=_ingest_id(2, "bbbbbb"))
    write(st, [amended], [])
    changed = score_store(st, defaults(), now=NOW)  # the amendment scored: vessel-age
    assert (changed.scored, changed.frame["score"].tolist()) == (1, [1])
    # the rule set changes and everything is scored under it; then the amendment's ingest is retracted:
    # the first version is current again, and not scored with that rule set
    other = parse("[rules.vessel-age]\nweight = 2\n")
    assert score_store(st, other, now=NOW).scored == 1
    ingest = max(t for t in st.visible_txns() if st.txn_kind(t) == "ingest")
    with st.transaction("repair") as txn:
        txn.retract([ingest])
    run = score_store(st, other, now=NOW)
    assert (run.scored, run.frame["version_id"].tolist(), run.frame["score"].tolist()) == (1, [a["version_id"]], [0])


def test_a_port_run_uses_the_whole_store_mark_and_writes_its_own(tmp_path: Path) -> None:
    st = Store(tmp_path)
    a = call(ingest_id=_ingest_id(1, "aaaaaa"))
    write(st, [a], [])
    score_store(st, defaults(), now=NOW)
    b, c = (call(port=p, imo="9074728", ingest_id=_ingest_id(2, "bbbbbb")) for p in ("KHKOS", "THBKK"))
    write(st, [b, c], [])
    port_run = score_store(st, defaults(), ports=["KHKOS"], now=NOW)
    assert (port_run.scored, port_run.reused) == (1, 1)
    marks = sorted(m.name.split("-")[1] for m in tmp_path.joinpath(*scoring.MARK_DIR).glob("*.json"))
    assert len(marks) == 2 and "all.json" in marks
    # the whole-store run: the port run's scores were committed after its mark, and are not redone
    run = score_store(st, defaults(), now=NOW)
    assert (run.scored, run.reused) == (1, 2)
    assert sorted(latest_scores(st)["call_id"]) == sorted([a["call_id"], b["call_id"], c["call_id"]])


def test_a_mark_that_cannot_be_written_is_left_out(tmp_path: Path) -> None:
    st = Store(tmp_path)
    a = call(ingest_id=_ingest_id(1, "aaaaaa"))
    write(st, [a], [])
    blocker = tmp_path.joinpath(*scoring.MARK_DIR)
    blocker.parent.mkdir(parents=True)
    blocker.write_text("not a folder")  # the marks' folder cannot be made
    run = score_store(st, defaults(), now=NOW)
    assert (run.scored, blocker.read_text()) == (1, "not a folder")
    assert score_store(st, defaults(), now=NOW).reused == 1


def test_marks_of_earlier_rule_sets_are_not_kept_for_ever(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scoring, "MARKS_KEPT", 3)
    st = Store(tmp_path)
    a = call(ingest_id=_ingest_id(1, "aaaaaa"))
    write(st, [a], [])
    versions = [score_store(st, parse(f"[rules.vessel-age]\nweight = {w}\n"), now=NOW).ruleset_version
                for w in (1, 2, 3, 4, 5)]
    kept = sorted(m.name for m in tmp_path.joinpath(*scoring.MARK_DIR).glob("*.json"))
    assert kept == sorted(f"{v}-all.json" for v in versions[-3:])
