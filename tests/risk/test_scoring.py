"""Scoring: sums, cap, bands, stored scores, incremental runs and --rescore."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from piu.queries import latest_scores
from piu.risk.config import defaults, parse
from piu.risk.scoring import score_frames, score_store, select_output
from piu.store import Store
from tests.risk.factories import call, crew, frames, person, write

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)


def test_score_is_the_sum_of_weights_and_bands_follow() -> None:
    c = call(imo="9074728", year_built=1990)          # imo-invalid 3 + vessel-age 1 = 4: medium
    d = call(imo="9176187", call_time="2026-11-21 08:00", year_built=1990)  # vessel-age 1: low
    summary, _ = score_frames(*frames([c, d], []), defaults())
    assert summary[["score", "band"]].values.tolist() == [[4, "medium"], [1, "low"]]
    hits = json.loads(summary["hits"][0])
    assert [(h["rule"], h["weight"]) for h in hits] == [("imo-invalid", 3), ("vessel-age", 1)]
    assert set(hits[0]) == {"rule", "title", "weight", "evidence", "persons"}


def test_configurable_bands_and_cap() -> None:
    config = parse("[bands]\nmedium = 1\nhigh = 2\n[rules.overcapacity]\nweight = 100\n")
    c = call(capacity=1)
    summary, _ = score_frames(*frames([c], crew(c, 2) + [person(c, doc_number=None)]), config)
    assert summary["score"].tolist() == [100]  # 100 + 2 (document-missing), capped
    assert summary["band"].tolist() == ["high"]


def test_persons_aboard_from_lists_or_declared_counts() -> None:
    a = call(declared_crew=5, declared_passengers=2)
    b = call(imo="9176187", call_time="2026-11-21 08:00", declared_crew=7)
    e = call(imo="9231212", call_time="2026-11-22 08:00")
    summary, _ = score_frames(*frames([a, b, e], crew(a, 3)), defaults())
    assert summary["persons_aboard"].iloc[:2].tolist() == [3, 7]
    assert summary["persons_aboard"].isna().tolist() == [False, False, True]


def test_store_scoring_is_incremental(tmp_path: Path) -> None:
    st = Store(tmp_path)
    a = call(imo="9074728", ingest_id="20261120T000000000000Z-aaaaaa")
    write(st, [a], crew(a, 3))
    first = score_store(st, defaults(), now=NOW, user="analyst")
    assert (first.scored, first.reused) == (1, 0)
    stored = latest_scores(st)
    assert stored[["call_id", "score", "band", "scored_by", "persons_aboard"]].values.tolist() == [
        [a["call_id"], 3, "medium", "analyst", 3]]
    assert stored["ruleset_version"].tolist() == [first.ruleset_version]
    assert stored["port"].tolist() == ["KHKOS"] and stored["month"].tolist() == ["2026-11"]

    second = score_store(st, defaults(), now=NOW)
    assert (second.scored, second.reused) == (0, 1)
    assert second.frame["score"].tolist() == [3]
    assert len(st.files("scores")) == 1  # nothing was written

    b = call(imo="9176187", call_time="2026-11-21 08:00", ingest_id="20261121T000000000000Z-aaaaaa")
    write(st, [b], [])
    third = score_store(st, defaults(), now=NOW)
    assert (third.scored, third.reused) == (1, 1)

    again = score_store(st, defaults(), now=NOW, rescore=True)
    assert (again.scored, again.reused) == (2, 0)


def test_other_rules_rescore_and_amended_calls_rescore(tmp_path: Path) -> None:
    st = Store(tmp_path)
    a = call(imo="9074728", ingest_id="20261120T000000000000Z-aaaaaa")
    write(st, [a], [])
    score_store(st, defaults(), now=NOW)
    changed = score_store(st, parse("[rules.imo-invalid]\nweight = 5\n"), now=NOW)
    assert (changed.scored, changed.frame["score"].tolist(), changed.frame["band"].tolist()) == (1, [5], ["high"])
    amended = call(imo="9074728", year_built=1980, ingest_id="20261121T000000000000Z-bbbbbb")
    write(st, [amended], [])
    run = score_store(st, defaults(), now=NOW)
    assert run.scored == 1
    assert run.frame["version_id"].tolist() == [amended["version_id"]]
    assert run.frame["score"].tolist() == [4]


@pytest.mark.parametrize("targeted_max", [5000, 0])  # history read by identifier, or the whole window
def test_history_rules_see_calls_outside_the_selection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       targeted_max: int) -> None:
    import piu.risk.scoring as scoring

    monkeypatch.setattr(scoring, "TARGETED_MAX", targeted_max)
    st = Store(tmp_path)
    old = call(port="THBKK", call_time="2026-06-01 08:00", imo="9176187", mmsi="567000001", mmsi_country="THA",
               flag="THA", ingest_id="20260601T000000000000Z-aaaaaa")
    new = call(call_time="2026-11-20 08:00", ingest_id="20261120T000000000000Z-aaaaaa")
    write(st, [old, new], [person(old, name_key="A B", doc_number="N1234567", date_of_birth=date(1980, 1, 1)),
                           person(new, name_key="C D", doc_number="N1234567", date_of_birth=date(1980, 1, 1))])
    run = score_store(st, defaults(), ports=["KHKOS"], since=datetime(2026, 11, 1, tzinfo=timezone.utc), now=NOW)
    assert run.frame["call_id"].tolist() == [new["call_id"]]
    assert [h["rule"] for h in json.loads(run.frame["hits"][0])] == ["document-reused"]


def test_empty_store(tmp_path: Path) -> None:
    run = score_store(Store(tmp_path / "none"), defaults())
    assert (len(run.frame), run.scored, run.reused) == (0, 0, 0)
    assert len(select_output(run.frame, all_calls=True)) == 0


def test_select_output_flagged_first() -> None:
    import pandas as pd
    frame = pd.DataFrame({"call_id": ["a", "b", "c"], "call_time": [1, 2, 3], "score": [1, 6, 3],
                          "band": ["low", "high", "medium"]})
    assert select_output(frame, all_calls=False)["call_id"].tolist() == ["b", "c"]
    assert select_output(frame, all_calls=True)["call_id"].tolist() == ["b", "c", "a"]


def test_targeted_and_whole_window_history_agree(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    import piu.risk.scoring as scoring

    st = Store(tmp_path)
    old = call(port="THBKK", call_time="2026-06-01 08:00", vessel_name="OLD NAME", ingest_id="20260601T000000000000Z-aaaaaa")
    other = call(port="THBKK", call_time="2026-07-01 08:00", imo="9176187", mmsi="567000001", mmsi_country="THA",
                 flag="THA", ingest_id="20260701T000000000000Z-aaaaaa")
    new = call(call_time="2026-11-20 08:00", ingest_id="20261120T000000000000Z-aaaaaa")
    write(st, [old, other, new], [person(other, name_key="A B", doc_number="N1234567"),
                                  person(new, name_key="C D", doc_number="N1234567")])
    targeted = score_store(st, defaults(), now=NOW)
    monkeypatch.setattr(scoring, "TARGETED_MAX", 0)
    whole = score_store(st, defaults(), now=NOW, rescore=True)
    assert targeted.frame[["call_id", "score", "hits"]].values.tolist() == whole.frame[["call_id", "score", "hits"]].values.tolist()
    assert sorted(h["rule"] for h in json.loads(whole.frame.set_index("call_id").loc[new["call_id"], "hits"])) == [
        "document-reused", "identity-change"]


def test_a_call_version_stored_twice_is_scored_once(tmp_path: Path) -> None:
    st = Store(tmp_path)
    c = call()
    write(st, [c], crew(c, 3))
    write(st, [c], crew(c, 3))  # the same version's rows written again (e.g. restored from a copy)
    run = score_store(st, defaults(), now=NOW)
    assert (run.scored, run.reused, run.frame["call_id"].tolist()) == (1, 0, [c["call_id"]])
    assert len(latest_scores(st)) == 1


def test_the_printed_frame_is_the_selection_that_was_scored(tmp_path: Path) -> None:
    """ScoreRun.frame is built when first read: a call stored after the scoring is not in it."""
    st = Store(tmp_path)
    first = call()
    write(st, [first], crew(first, 3))
    run = score_store(st, defaults(), now=NOW)
    later = call(call_time="2026-11-21 08:00", ingest_id="20261121T000000000000Z-bbbbbb")
    write(st, [later], crew(later, 3))
    assert run.frame["call_id"].tolist() == [first["call_id"]]
    assert str(run.frame["score"].dtype) == "int64"


def test_evidence_and_rows_stay_with_their_call_whatever_the_row_order() -> None:
    """Persons listed in an order other than their calls' ids: every hit names its own call's rows
    (Arrow's group-by does not keep the order groups are met in)."""
    ids = ["C6", "C11", "C1", "C3", "C9", "C4", "C10", "C2"]
    calls = [call(call_id=f"KHKOS-{c}", vessel_category="fishing", declared_crew=3) for c in ids]
    persons = []
    for k, c in enumerate(reversed(calls)):
        base = 100 * (k + 1)
        persons += [person(c, doc_number=None, source_row=base + 1),
                    person(c, date_of_birth=date(2012, 1, 1), source_row=base + 2),
                    person(c, doc_number=f"DUP{k:05d}", source_row=base + 3),
                    person(c, doc_number=f"DUP{k:05d}", source_row=base + 4)]
    rows_of = {}
    for p in persons:
        rows_of.setdefault(p["version_id"], set()).add(p["source_row"])
    _, hits = score_frames(*frames(calls, persons), defaults())
    checked = hits[hits["rule"].isin(["document-missing", "minor-in-crew", "duplicate-document"])]
    assert sorted(checked["rule"].value_counts().tolist()) == [8, 8, 8]
    for h in checked.to_dict(orient="records"):
        assert set(h["persons"]) <= rows_of[h["version_id"]], (h["rule"], h["version_id"])
        assert all(str(r) in h["evidence"] for r in h["persons"])


def test_history_hits_come_in_the_rule_sets_order(tmp_path: Path) -> None:
    """History read for the calls being scored (load_history): the hits of history rules come in the
    rule set's order, between the others, and a call without history hits has only its own."""
    from piu.queries import current_calls, persons_of
    from piu.risk import features as feat
    from piu.risk.scoring import load_history

    st = Store(tmp_path)
    old = call(port="THBKK", call_time="2026-06-01 08:00", vessel_name="OLD NAME", ingest_id="20260601T000000000000Z-aaaaaa")
    new = call(call_time="2026-11-20 08:00", year_built=1980, ingest_id="20261120T000000000000Z-aaaaaa")
    write(st, [old, new], [person(old, name_key="A B", doc_number="N1234567"),
                           person(new, name_key="C D", doc_number="N1234567"), person(new, doc_number=None)])
    config = parse('[[expression]]\nid = "late-night"\ntitle = "Many aboard"\nweight = 1\nwhen = "persons_aboard > 1"\n')
    todo = current_calls(st, columns=feat.CALL_COLUMNS)
    todo = todo[todo["call_id"] == new["call_id"]].reset_index(drop=True)
    todo = todo.assign(vessel_key=feat.vessel_key(todo))
    persons = persons_of(st, todo["version_id"], columns=feat.PERSON_COLUMNS, compute=True)
    hc, hp = load_history(st, todo, persons, config)
    summary, hits = score_frames(todo, persons, config, history_calls=hc, history_persons=hp)
    assert hits["rule"].tolist() == [
        "document-missing", "vessel-age", "identity-change", "document-reused", "late-night"]
    assert summary["score"].tolist() == [2 + 1 + 3 + 4 + 1]
    assert sorted(hc["version_id"]) == sorted([old["version_id"], new["version_id"]])


def test_calls_expected_later_are_in_an_open_period(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pre-arrival manifest announces a call in a later month than today: --since without --until
    selects it (partition months used to stop at today's), and its score is found as stored."""
    import piu.timeparse as tp
    from piu.queries import current_calls

    monkeypatch.setattr(tp, "now_utc", lambda: datetime(2026, 11, 29, 9, 0, tzinfo=timezone.utc))
    st = Store(tmp_path)
    soon = call(call_time="2026-12-01 06:00", imo="9074728", ingest_id="20261129T000000000000Z-aaaaaa")
    write(st, [soon], crew(soon, 3))
    since = datetime(2026, 11, 28, tzinfo=timezone.utc)
    assert current_calls(st, since=since, columns=["call_id"])["call_id"].tolist() == [soon["call_id"]]
    first = score_store(st, defaults(), since=since, now=NOW)
    assert (first.scored, first.frame["call_id"].tolist(), first.frame["score"].tolist()) == (1, [soon["call_id"]], [3])
    again = score_store(st, defaults(), since=datetime(2026, 12, 1, tzinfo=timezone.utc), now=NOW)
    assert (again.scored, again.reused, again.frame["score"].tolist()) == (0, 1, [3])


def test_two_scores_at_once_store_each_call_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both decide what to score before either holds the writer lock: the second to write keeps only
    what the first did not store (found by a new-analyst walkthrough: 1,200 score rows became 1,280)."""
    from piu.schema import scores_schema

    st = Store(tmp_path)
    a, b = call(imo="9074728"), call(imo="9176187", call_time="2026-11-21 08:00")
    write(st, [a, b], crew(a, 3) + crew(b, 4))
    real = Store.transaction
    other = []

    def meanwhile(self: Store, kind: str):  # noqa: ANN202 - the other process scores just before this one writes
        if kind == "score" and not other:
            other.append(None)  # once: the other score's own write goes through
            other[0] = score_store(Store(tmp_path), defaults(), now=NOW)
        return real(self, kind)

    monkeypatch.setattr(Store, "transaction", meanwhile)
    run = score_store(st, defaults(), now=NOW)
    # the second stores nothing, and says so: both calls were already scored when it came to write
    assert (other[0].scored, run.scored, run.reused) == (2, 0, 2)
    rows = st.read("scores", scores_schema(), columns=["version_id"])["version_id"].to_pylist()
    assert sorted(rows) == sorted([a["version_id"], b["version_id"]])
    assert run.frame["score"].tolist() == other[0].frame["score"].tolist() == [3, 0]


def test_few_hits_are_summarised_as_the_column_operations_do(monkeypatch: pytest.MonkeyPatch) -> None:
    """summarise builds the JSON of a few hits in Python: the same text and scores as for many."""
    import random

    import pandas as pd

    import piu.risk.scoring as scoring
    from piu.risk.config import defaults as default_rules

    rng = random.Random(5)
    words = ['plain', 'a "quoted" word', 'back\\slash', 'new\nline', 'tab\there', 'bell\x07', 'ខ្មែរ', '', None]
    for _ in range(40):
        n_calls = rng.randint(1, 6)
        calls = pd.DataFrame({"version_id": [f"C{i}@x" for i in range(n_calls)],
                              "persons_aboard": pd.array([rng.choice([None, 3, 40]) for _ in range(n_calls)], dtype="Int64")})
        n = rng.randint(1, 12)
        hits = pd.DataFrame({
            "version_id": pd.array([f"C{rng.randrange(n_calls)}@x" for _ in range(n)], dtype="str"),
            "evidence": pd.array([rng.choice(words) for _ in range(n)], dtype="str"),
            "persons": pd.Series([rng.choice([None, [], [3], [7, 2, 11]]) for _ in range(n)], dtype="object"),
            "weight": [rng.choice([1, 3, 4, 60]) for _ in range(n)],
            "rule": pd.array([rng.choice(["imo-invalid", "vessel-age", "a-rule"]) for _ in range(n)], dtype="str"),
            "title": pd.array([rng.choice(words) for _ in range(n)], dtype="str")})
        small = scoring.summarise(calls, hits, default_rules())
        with monkeypatch.context() as m:
            m.setattr(scoring, "SMALL_HITS", 0)
            columns = scoring.summarise(calls, hits, default_rules())
        pd.testing.assert_frame_equal(small, columns)
        assert all(json.loads(h) is not None for h in small["hits"])


def test_a_failed_persons_read_stops_the_history_read_and_is_reported(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The history read starts before the persons read it waits for: when that read fails, the error
    reaches the caller (no wait forever, no score stored)."""
    import piu.queries

    st = Store(tmp_path)
    a = call(ingest_id="20261120T000000000000Z-aaaaaa")
    write(st, [a], crew(a, 2))

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError(5, "Input/output error")
    monkeypatch.setattr(piu.queries, "persons_of", broken)
    with pytest.raises(OSError, match="Input/output error"):
        score_store(st, defaults(), now=NOW)
    assert st.files("scores") == []


def test_a_vessel_name_too_long_for_index_keys_in_one_file(tmp_path: Path) -> None:
    """One calls file whose vessel_name_key is longer than the index keys hold (kept as text), another
    with keys: the history read puts both together (an ArrowTypeError before)."""
    st = Store(tmp_path)
    a = call(call_time="2026-11-01 08:00", ingest_id="20261101T000000000000Z-aaaaaa", vessel_name="SEA " * 25)
    write(st, [a], crew(a, 2))
    b = call(call_time="2026-11-20 08:00", ingest_id="20261120T000000000000Z-aaaaaa")
    write(st, [b], crew(b, 2))
    run = score_store(st, defaults(), now=NOW)
    assert (run.scored, run.frame["call_id"].tolist()) == (2, [a["call_id"], b["call_id"]])
