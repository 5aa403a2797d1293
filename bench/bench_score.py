"""Benchmark functions for scoring measured inside one process: the scoring work of `score_store`
without the interpreter start and the imports that every `piu` command pays.

bench/run.py calls these through bench/harness.py, which imports this module before it starts the
clock, so the module-level imports below are not timed (SCORING_IMPORTS: also what score_store
imports on first use). Issue 3's incremental goal compares the scoring of 100 new calls with a full score ("cost grows with new work, not with history"); as
separate processes both would also carry ~0.35 s of Python and pandas start-up, which is not
scoring work, so the two are compared here in-process as well as as commands.
"""

from __future__ import annotations

import importlib
import os
from datetime import datetime, timezone

import pandas  # noqa: F401 - imported here so that the timed call does not pay for it
import pyarrow.dataset  # noqa: F401

from piu.risk import config as rconfig
from piu.risk.scoring import score_store
from piu.store import Store

# What score_store imports on first use (the rule modules, reference lists, queries, the indexes):
# imported here too, so that the timed calls are scoring work - the full score and the incremental
# one pay the same ~20 ms of imports. bench/run.py also measures both with these imports timed
# (PIU_BENCH_TIME_IMPORTS=1), as its numbers were before. A module missing here is only timed.
SCORING_IMPORTS = ("piu.exchange", "piu.io.identifiers", "piu.matching", "piu.memory", "piu.person_index",
                   "piu.queries", "piu.risk.flags", "piu.risk.rules.capacity", "piu.timeparse", "piu.watchlist",
                   "piu.who", "pyarrow.acero", "pyarrow.parquet", "getpass", "encodings.utf_8_sig")
if not os.environ.get("PIU_BENCH_TIME_IMPORTS"):
    for _name in SCORING_IMPORTS:
        importlib.import_module(_name)
    from piu.risk.registry import all_rules

    all_rules()


def _day(text: str | None, end: bool = False) -> datetime | None:
    if not text:
        return None
    day = datetime.fromisoformat(text).replace(tzinfo=timezone.utc)
    return day.replace(hour=23, minute=59, second=59) if end else day


def score_full(home: str, since: str | None = None, until: str | None = None) -> dict:
    """A full rescore of the period (what `piu score --since --until --rescore` runs)."""
    run = score_store(Store(home), rconfig.defaults(), since=_day(since), until=_day(until, end=True), rescore=True)
    return {"scored": run.scored, "reused": run.reused}


def score_new(home: str) -> dict:
    """Scoring what is new to the rule set in the whole store (what `piu score` runs). The count of
    calls whose score was reused is left out: when the scored mark decides what is new it is counted
    only when asked for, for the command's message (the command's step includes it)."""
    run = score_store(Store(home), rconfig.defaults())
    return {"scored": run.scored}


def build_index(home: str) -> dict:
    """Index every persons and calls file of the store (`piu.person_index`) and leave the scored mark
    of the whole store, as the previous day's incremental `piu score` leaves them."""
    import pyarrow as pa

    from piu.person_index import rows_matching, saved_on_success

    none = pa.array([], type=pa.string())
    store = Store(home)
    for _ in range(2):  # built, then read as the day's history reads check them (piu.person_index)
        with saved_on_success():
            rows_matching(store, "persons", months=None, wanted={"doc_number": none}, columns=["doc_number"])
            rows_matching(store, "calls", months=None, wanted={"call_id": none}, columns=["call_id"])
    score_store(store, rconfig.defaults())  # nothing new: it records the mark
    return {}
