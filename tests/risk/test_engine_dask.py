"""The Dask engine scores exactly as the pandas engine: same scores, bands and hits on one store.

The store mixes a generated sample (three ports, three months) with planted history cases whose
two sides sit in different (port, month) partitions and chunks - the case a partitioned engine
could get wrong - and a watchlist, so every family of rules is compared.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from piu.cli import app
from piu.errors import InputError, UsageError
from piu.io.ingest import ingest_files
from piu.queries import current_calls
from piu.risk import engine_dask
from piu.risk import features as feat
from piu.risk.config import defaults
from piu.risk.scoring import reference_tables, score_store
from piu.store import Store
from piu.synth import generate
from tests.risk.factories import call, crew, person, write
from tests.test_watchlist import write_csv

distributed = pytest.importorskip("distributed")

COLUMNS = ["version_id", "persons_aboard", "score", "band", "hits"]
HISTORY_RULES = {"identity-change", "document-reused", "crew-missing-on-departure", "crew-turnover"}


def ingest_of(day: str, tag: str) -> str:
    return day.replace("-", "") + "T000000000000Z-" + tag


def plant_history(st: Store) -> None:
    """History cases whose two calls are in different partitions (port or month) of the store."""
    # a document used under another name: THBKK in June, KHKOS in November
    a = call(port="THBKK", call_time="2026-06-01 08:00", imo="9176187", mmsi="567000001", mmsi_country="THA",
             vessel_name="GOLDEN BAY", ingest_id=ingest_of("2026-06-01", "aaaaa1"))
    b = call(call_time="2026-11-20 08:00", ingest_id=ingest_of("2026-11-20", "aaaaa2"))
    people = [person(a, name_key="CHAN SOK", doc_number="N9988776", doc_issuer="KHM", source_row=3),
              person(b, name_key="PICH DARA", doc_number="N9988776", doc_issuer="KHM", source_row=7),
              person(b, name_key="SOK DARA", date_of_birth=date(1987, 5, 1), nationality="KHM", source_row=8)]
    # the same IMO under another name and flag at THLCH in October
    c = call(port="THLCH", call_time="2026-10-02 08:00", vessel_name="OCEAN PEARL", flag="PAN",
             ingest_id=ingest_of("2026-10-02", "aaaaa3"))
    # crew who arrived on 31 October are missing when the vessel leaves on 2 November (two months)
    arr = call(imo="9231212", mmsi="514000777", vessel_name="RIVER KING", call_time="2026-10-31 08:00",
               ingest_id=ingest_of("2026-10-31", "aaaaa4"))
    dep = call(imo="9231212", mmsi="514000777", vessel_name="RIVER KING", direction="departure",
               call_time="2026-11-02 08:00", ingest_id=ingest_of("2026-11-02", "aaaaa5"))
    arrival_crew = crew(arr, 6)
    for i, p in enumerate(arrival_crew):
        p["source_row"] = i + 1
    departure_crew = [person(dep, name_key=p["name_key"], doc_number=p["doc_number"], source_row=i + 1)
                      for i, p in enumerate(arrival_crew[:2])]
    # most of the crew changed between THLCH on 10 November and KHKOS on 20 November
    prev = call(port="THLCH", imo="9319466", mmsi="514000888", vessel_name="BLUE WAVE",
                call_time="2026-11-10 08:00", ingest_id=ingest_of("2026-11-10", "aaaaa6"))
    now = call(imo="9319466", mmsi="514000888", vessel_name="BLUE WAVE", call_time="2026-11-21 08:00",
               ingest_id=ingest_of("2026-11-21", "aaaaa7"))
    before = crew(prev, 6)
    kept = [person(now, name_key=p["name_key"], doc_number=p["doc_number"], source_row=i + 1)
            for i, p in enumerate(before[:2])]
    fresh = [person(now, source_row=i + 3) for i in range(4)]
    write(st, [a, b, c, arr, dep, prev, now], people + arrival_crew + departure_crew + before + kept + fresh)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    root = tmp_path_factory.mktemp("dask")
    info = generate(600, root / "sample", seed=3, start=date(2026, 9, 1), days=75, ports=("KHKOS", "THLCH", "IDTPP"))
    st = Store(root / "home")
    ingest_files(st, [info["manifest"]])
    plant_history(st)
    res = CliRunner().invoke(app, ["--home", str(st.home), "-q", "watchlist", "import",
                                   str(write_csv(root / "list.csv")), "--list", "blo"])
    assert res.exit_code == 0, res.output
    return st


def pandas_scores(st: Store) -> pd.DataFrame:
    run = score_store(st, defaults(), rescore=True)
    return run.frame[COLUMNS].sort_values("version_id").reset_index(drop=True)


def dask_scores(st: Store, scheduler: str | None, chunk_calls: int) -> pd.DataFrame:
    config = defaults()
    todo = current_calls(st, columns=feat.CALL_COLUMNS)
    summary = engine_dask.score_calls(st, todo, config, reference=reference_tables(st, config), scheduler=scheduler,
                                      chunk_calls=chunk_calls)
    return summary[COLUMNS].sort_values("version_id").reset_index(drop=True)


def assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert len(a) == len(b) == 607
    assert a["version_id"].tolist() == b["version_id"].tolist()
    assert a["score"].astype("int64").tolist() == b["score"].astype("int64").tolist()
    assert a["band"].tolist() == b["band"].tolist()
    assert a["persons_aboard"].astype("Int64").tolist() == b["persons_aboard"].astype("Int64").tolist()
    assert a["hits"].tolist() == b["hits"].tolist()  # the same JSON text: rules, order, evidence, rows


def test_the_store_exercises_every_rule_family(store: Store) -> None:
    scores = pandas_scores(store)
    rules = {h["rule"] for text in scores["hits"] for h in json.loads(text)}
    assert HISTORY_RULES <= rules
    assert {"watchlist-person", "watchlist-vessel", "imo-invalid", "overcapacity"} <= rules


@pytest.mark.parametrize("processes", [False, True], ids=["threads", "processes"])
def test_dask_on_a_local_cluster_equals_pandas(store: Store, processes: bool) -> None:
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=processes,
                                  dashboard_address=None) as cluster:
        # chunks of 120 calls: several tasks per partition, history pairs split across them
        got = dask_scores(store, cluster.scheduler_address, chunk_calls=120)
    assert_same(pandas_scores(store), got)


def test_dask_local_threads_equals_pandas(store: Store) -> None:
    assert_same(pandas_scores(store), dask_scores(store, "threads", chunk_calls=250))


def test_partitions_follow_port_and_month_then_chunk() -> None:
    todo = pd.DataFrame({"port": ["KHKOS"] * 5 + ["THLCH"], "month": ["2026-10", "2026-11", "2026-11", "2026-11",
                                                                     "2026-11", "2026-11"],
                         "call_time": pd.to_datetime(["2026-10-03", "2026-11-04", "2026-11-01", "2026-11-02",
                                                      "2026-11-03", "2026-11-01"], utc=True),
                         "call_id": list("abcdef")})
    parts = engine_dask.partitions(todo, chunk_calls=2)
    assert [p["call_id"].tolist() for p in parts] == [["a"], ["c", "d"], ["e", "b"], ["f"]]
    assert engine_dask.partitions(todo.iloc[0:0]) == []


def test_unknown_scheduler_word_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="neither a scheduler address nor a local scheduler"):
        engine_dask.compute([], "fastest")


def test_unreachable_scheduler_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_dask, "CONNECT_TIMEOUT", "1s")
    with pytest.raises(InputError, match=r"cannot reach the Dask scheduler at tcp://127.0.0.1:9 "):
        engine_dask.compute([], "tcp://127.0.0.1:9")


def run(home: Path, *args: str):  # noqa: ANN201
    return CliRunner().invoke(app, ["--home", str(home), "-q", *args])


def test_piu_score_engine_dask_prints_what_pandas_prints(store: Store) -> None:
    dask_out = run(store.home, "score", "--rescore", "--all", "--engine", "dask", "-f", "json")
    pandas_out = run(store.home, "score", "--rescore", "--all", "-f", "json")
    assert (dask_out.exit_code, pandas_out.exit_code) == (0, 0)
    def rows(text: str) -> list[dict]:
        return [{k: v for k, v in r.items() if k != "scored_at"} for r in json.loads(text)]  # the clock moved

    assert rows(dask_out.stdout) == rows(pandas_out.stdout)
    assert len(rows(dask_out.stdout)) == 607


def test_score_engine_options_are_checked(tmp_path: Path) -> None:
    bad = run(tmp_path, "score", "--engine", "spark")
    assert (bad.exit_code, bad.stderr) == (2, "Error: --engine 'spark' is not an engine; use pandas or dask\n")
    lone = run(tmp_path, "score", "--scheduler", "tcp://127.0.0.1:8786")
    assert (lone.exit_code, lone.stderr) == (2, "Error: --scheduler needs --engine dask; add --engine dask\n")
