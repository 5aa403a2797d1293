"""Scored marks (piu.risk.scoring) against the full check, for what test_scored_marks does not cover:
another `piu score` committing while one runs, doctor --repair of a score transaction, other rule
sets and trials, --rescore, --since, a crash before the mark is written, the Dask engine; and the
frame and the news (--new) of a marked run."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

import piu.risk.scoring as scoring
from piu.doctor import check
from piu.queries import latest_scores
from piu.risk.config import defaults
from piu.risk.scoring import score_store
from piu.store import Store
from tests.risk.factories import call, crew, write
from tests.risk.test_scored_marks import _ingest_id, _state, _without_marks, amend_random, ingest_random

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)


def _damage_scores_of(st: Store, txn: str) -> None:
    """Zero the middle of every scores file of one transaction (silent damage doctor finds)."""
    for f in st.files("scores"):
        if f.name.startswith(txn):
            raw = bytearray(f.read_bytes())
            raw[4:len(raw) // 2] = bytes(len(raw) // 2 - 4)
            f.write_bytes(bytes(raw))


def _concurrently(monkeypatch: pytest.MonkeyPatch, st: Store) -> list[str]:
    """Make the next score_store see another `piu score` commit while it scores (after its snapshot,
    before its own transaction): the other run's transaction id is appended to the list returned."""
    other: list[str] = []
    real = scoring.score_frames

    def racing(*a: object, **k: object) -> object:
        if not other:
            before = st.visible_txns()
            other.append("running")
            score_store(st, defaults(), now=NOW)  # the other process, start to end
            (done,) = [t for t in st.visible_txns() - before if st.txn_kind(t) == "score"]
            other[0] = done
        return real(*a, **k)
    monkeypatch.setattr(scoring, "score_frames", racing)
    return other


def test_a_mark_does_not_rely_on_a_score_it_does_not_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two `piu score` at once: the one committing second leaves out the calls the first stored
    (under the lock), and its mark says they are scored - but names only its own transaction. When
    doctor --repair retracts the first one's damaged scores, those calls are unscored again: the full
    check scores them, the marked run must too."""
    st = Store(tmp_path / "store")
    a = call(ingest_id=_ingest_id(1, "aaaaaa"))
    write(st, [a], crew(a, 2))
    score_store(st, defaults(), now=NOW)  # mark: {ingest a, score}
    b = call(imo="9074728", call_time="2026-11-21 08:00", ingest_id=_ingest_id(2, "bbbbbb"))
    write(st, [b], crew(b, 2))
    other = _concurrently(monkeypatch, st)
    run = score_store(st, defaults(), now=NOW)  # scores b, but stores nothing: the other run did
    monkeypatch.undo()
    assert (run.scored, run.reused, other[0] in st.visible_txns()) == (0, 2, True)  # b: the other run's
    import json

    mark = json.loads(st.home.joinpath(*scoring.MARK_DIR, f"{run.ruleset_version}-all.json").read_text())
    assert (mark["requires"], other[0] in mark["txns"]) == ([other[0]], False)
    _damage_scores_of(st, other[0])
    report = check(st, repair=True)
    assert report.repaired == [other[0]]
    want = _without_marks(st.home, tmp_path / "full", monkeypatch)
    assert want[0] == 1  # b is current and no longer scored
    got = score_store(st, defaults(), now=NOW)
    assert (got.scored, got.reused, _state(st)) == want


def test_a_full_check_mark_does_not_rely_on_a_score_committed_after_its_snapshot(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same through the full check: on main its scored versions were read after its snapshot, so a
    score committed in between made it score nothing, and its mark (its snapshot) named no score."""
    st = Store(tmp_path / "store")
    a = call(ingest_id=_ingest_id(1, "aaaaaa"))
    write(st, [a], crew(a, 2))
    other: list[str] = []
    real = scoring._scored_versions

    def racing(*a_: object, **k: object) -> object:
        if not other:
            before = st.visible_txns()
            other.append("running")
            score_store(st, defaults(), now=NOW)
            other[0] = next(t for t in st.visible_txns() - before if st.txn_kind(t) == "score")
        return real(*a_, **k)
    monkeypatch.setattr(scoring, "_scored_versions", racing)
    run = score_store(st, defaults(), now=NOW)
    monkeypatch.undo()
    assert (run.scored + run.reused, len(latest_scores(st))) == (1, 1)  # stored once, by the other run
    _damage_scores_of(st, other[0])
    assert check(st, repair=True).repaired == [other[0]]
    want = _without_marks(st.home, tmp_path / "full", monkeypatch)
    assert want[0] == 1
    got = score_store(st, defaults(), now=NOW)
    assert (got.scored, got.reused, _state(st)) == want


def _rows(frame: object) -> list:
    cols = ["version_id", "score", "band", "hits", "ruleset_version"]
    if len(frame) == 0:
        return []
    return sorted(tuple(str(v) for v in r) for r in frame.reindex(columns=cols).itertuples(index=False))


def _frames(dst: Path, src: Path, monkeypatch: pytest.MonkeyPatch, **kw: object) -> tuple[list, list]:
    """The frame and the news of a full-check run on a copy of the store."""
    import shutil

    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
    with monkeypatch.context() as m:
        m.setattr(scoring, "_read_mark", lambda *a, **k: None)
        run = score_store(Store(dst), defaults(), now=NOW, compare_bands=True, **kw)
        return _rows(run.frame), _rows(run.new_or_raised)


def _retract_score(st: Store, rng: object) -> None:
    """doctor --repair after silent damage to one score transaction's files."""
    from piu.store import txn_of

    scores = sorted({txn_of(f) for f in st.files("scores")})
    if scores:
        victim = rng.choice(scores)
        _damage_scores_of(st, victim)
        assert victim in check(st, repair=True).repaired


@pytest.mark.parametrize("seed", range(30))
def test_more_actions_marked_runs_score_what_the_full_check_scores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    seed: int) -> None:
    """The differential test of test_scored_marks with the actions it does not cover: a concurrent
    score, doctor --repair of a score transaction, a trial / other rule set, --rescore, --since,
    a crash between the score's commit and the mark."""
    import random

    from piu.risk.config import parse

    rng = random.Random(seed)
    home = tmp_path / "store"
    st = Store(home)
    other_rules = parse("[rules.vessel-age]\nweight = 2\n")
    known: list[dict] = []
    for step in range(16):
        action = rng.choice(["ingest", "ingest", "amend", "score", "score", "score-port", "race", "repair-score",
                             "other-rules", "rescore", "since", "crash"])
        if action == "ingest" or not known and action == "amend":
            known += ingest_random(st, rng, f"{seed:02d}{step:02d}", step, ["9074729", "9176187", "9231212"], months=(11,))
        elif action == "amend":
            known.append(amend_random(st, rng, f"{seed:02d}{step:02d}", step, known))
        elif not st.exists():
            continue
        elif action == "repair-score":
            _retract_score(st, rng)
        elif action == "other-rules":
            score_store(st, other_rules, now=NOW, trial=rng.random() < 0.5)
        elif action == "rescore":
            score_store(st, defaults(), now=NOW, rescore=True)
        elif action == "since":
            score_store(st, defaults(), now=NOW, since=datetime(2026, 11, 15, tzinfo=timezone.utc))
        elif action == "crash":  # committed, then killed before the mark is written
            with monkeypatch.context() as m:
                m.setattr(scoring, "_write_mark", lambda *a, **k: None)
                score_store(st, defaults(), now=NOW)
        elif action == "race":
            with monkeypatch.context() as m:
                other: list[str] = []
                real = scoring.score_frames

                def racing(*a: object, **k: object) -> object:
                    if not other:
                        before = st.visible_txns()
                        other.append("x")
                        score_store(st, defaults(), now=NOW)
                        other.extend(st.visible_txns() - before)
                    return real(*a, **k)
                m.setattr(scoring, "score_frames", racing)
                score_store(st, defaults(), now=NOW)
            from piu.store import txn_of

            raced = {txn_of(f) for f in st.files("scores")} & set(other[1:])
            if raced and rng.random() < 0.5:  # the other run's scores found damaged and retracted
                _damage_scores_of(st, min(raced))
                assert check(st, repair=True).repaired == [min(raced)]
        else:
            kw = {"ports": ["KHKOS"]} if action == "score-port" else {}
            want = _without_marks(home, tmp_path / "full", monkeypatch, **kw)
            full = _frames(tmp_path / "full2", home, monkeypatch, **kw)
            run = score_store(st, defaults(), now=NOW, compare_bands=True, **kw)
            assert (run.scored, run.reused, _state(st)) == want, (seed, step, action)
            assert (_rows(run.frame), _rows(run.new_or_raised)) == full, (seed, step, action)
    if st.exists():
        want = _without_marks(home, tmp_path / "full", monkeypatch)
        run = score_store(st, defaults(), now=NOW)
        assert (run.scored, run.reused, _state(st)) == want


@pytest.mark.parametrize("scheduler", ["synchronous", "threads"])
def test_the_dask_engine_after_a_mark(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scheduler: str) -> None:
    pytest.importorskip("dask")
    st = Store(tmp_path / "store")
    a = call(ingest_id=_ingest_id(1, "aaaaaa"))
    write(st, [a], crew(a, 2))
    score_store(st, defaults(), now=NOW, engine="dask", scheduler=scheduler)
    b = call(imo="9074728", call_time="2026-11-21 08:00", ingest_id=_ingest_id(2, "bbbbbb"))
    amended = call(year_built=1980, ingest_id=_ingest_id(0, "cccccc"))  # older ingest id: not current
    write(st, [b], crew(b, 2))
    write(st, [amended], crew(amended, 1))
    want = _without_marks(st.home, tmp_path / "full", monkeypatch, engine="dask", scheduler=scheduler)
    run = score_store(st, defaults(), now=NOW, engine="dask", scheduler=scheduler)
    assert (run.scored, run.reused, _state(st)) == want
    assert want[:2] == (1, 1)
