"""The Dask engine of `piu score --engine dask`: the same rule functions, run per partition of the store.

The pandas engine scores every selected call in one process. This engine splits the calls to
score into tasks - one per (port, month) partition of the store, cut into chunks of at most
`chunk_calls` calls - and runs, in each task, exactly what the pandas engine runs on the whole:
read the chunk's persons from its own partition, `piu.risk.scoring.load_history`, then
`piu.risk.scoring.score_frames` (features, every rule, `summarise`). A call's score depends only
on the call, its persons and its history, so the per-call results are the same; a test runs both
engines on one generated store and compares them.

History rules look across ports and up to a year back and forward: each task loads the history
of its own calls with `load_history` - the calls of the window (any port) that share a vessel
identifier or a document with them, and those calls' persons - so no task needs the whole store,
and chunks are kept small enough (`chunk_calls`) for that targeted read. The rule set and the
reference tables (watchlists, flag lists) are one object each in the graph, sent once per worker.

Tasks read the store themselves (only the calls' light columns, the reference tables and the
summaries travel through the scheduler), so on a cluster every worker must see the store folder
at the same path (a shared filesystem). The scheduler is chosen with `scheduler`:

    None / "threads"        threads in this process (default; bounded by the chunks in flight)
    "processes"             a local process pool
    "synchronous"           one task at a time, in this thread (debugging)
    "tcp://HOST:8786"       a running Dask scheduler (`dask scheduler`, `dask worker ...`)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from piu.errors import InputError, UsageError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from piu.risk.config import RulesConfig
    from piu.store import Store

DEFAULT_CHUNK_CALLS = 5000
LOCAL_SCHEDULERS = ("threads", "processes", "synchronous")
SUMMARY_COLUMNS = ["version_id", "persons_aboard", "score", "band", "hits"]
CONNECT_TIMEOUT = "10s"  # how long to wait for a scheduler address before a one-line error


def _require_dask() -> None:
    """Dask is an optional extra: say how to install it instead of a traceback."""
    try:
        import dask  # noqa: F401
    except ImportError:
        raise UsageError("the dask engine needs Dask, which is not installed",
                         hint="pip install 'piu[dask]', or use --engine pandas") from None


def partitions(todo: pd.DataFrame, chunk_calls: int = DEFAULT_CHUNK_CALLS) -> list[pd.DataFrame]:
    """The calls to score cut into tasks: by (port, month) partition, then chunks of <= chunk_calls."""
    import numpy as np

    if len(todo) == 0:
        return []
    size = max(1, int(chunk_calls))
    frame = todo.sort_values(["port", "month", "call_time", "call_id"], na_position="last", kind="stable")
    out = []
    for _, part in frame.groupby(["port", "month"], dropna=False, sort=True):
        n = int(np.ceil(len(part) / size))
        out.extend(part.iloc[i * size:(i + 1) * size].reset_index(drop=True) for i in range(n))
    return out


def score_chunk(home: str, calls: pd.DataFrame, config: RulesConfig, reference: dict[str, Any]) -> pd.DataFrame:
    """One task: the summary (version_id, persons_aboard, score, band, hits) of one chunk of calls."""
    from piu.queries import persons_of
    from piu.risk import features as feat
    from piu.risk.scoring import load_history, score_frames
    from piu.store import Store

    store = Store(home)
    t0, t1 = calls["call_time"].min().to_pydatetime(), calls["call_time"].max().to_pydatetime()
    ports = sorted(calls["port"].dropna().unique())
    persons = persons_of(store, calls["version_id"], ports=ports, since=t0, until=t1, columns=feat.PERSON_COLUMNS,
                         compute=True)
    hc = hp = None
    if any(s.rule.history for s in config.active()):
        hc, hp = load_history(store, calls, persons, config)
    summary, _hits = score_frames(calls, persons, config, history_calls=hc, history_persons=hp, reference=reference)
    return summary[SUMMARY_COLUMNS]


def score_calls(store: Store, todo: pd.DataFrame, config: RulesConfig, *, reference: dict[str, Any],
                scheduler: str | None = None, chunk_calls: int = DEFAULT_CHUNK_CALLS) -> pd.DataFrame:
    """Score the given current call versions with Dask: one summary row per call version."""
    _require_dask()
    import dask
    import pandas as pd

    if len(todo) == 0:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in SUMMARY_COLUMNS})
    # shared objects are single graph keys: sent once to each worker, not once per task
    shared_config = dask.delayed(config, traverse=False)
    shared_ref = dask.delayed(reference, traverse=False)
    home = str(store.home.resolve())
    tasks = [dask.delayed(score_chunk, pure=True)(home, part, shared_config, shared_ref)
             for part in partitions(todo, chunk_calls)]
    results = compute(tasks, scheduler)
    return pd.concat(results, ignore_index=True)


def compute(tasks: list[Any], scheduler: str | None) -> list[Any]:
    """Run delayed tasks on a local scheduler or on the Dask cluster at `scheduler`."""
    import dask

    name = (scheduler or "threads").strip()
    if name in LOCAL_SCHEDULERS:
        return list(dask.compute(*tasks, scheduler=name))
    if "://" not in name and ":" not in name:
        raise UsageError(f"--scheduler {scheduler!r} is neither a scheduler address nor a local scheduler",
                         hint=f"give tcp://HOST:PORT or one of: {', '.join(LOCAL_SCHEDULERS)}")
    try:
        from distributed import Client
    except ImportError:
        raise UsageError("a Dask scheduler address needs dask.distributed, which is not installed",
                         hint="pip install 'piu[dask]'") from None
    try:
        client = Client(name, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(f"cannot reach the Dask scheduler at {name} ({type(exc).__name__})",
                         hint="check the address, or start one with `dask scheduler` and `dask worker ADDRESS`") from None
    try:
        return list(client.gather(client.compute(tasks)))
    finally:
        client.close()
