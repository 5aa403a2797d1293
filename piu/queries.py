"""Reading the store as analysts think of it: current call versions, their persons, their scores.

Every command that reads calls goes through here, so "current version", partition pruning and
period filters mean the same thing everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from piu.schema import calls_schema, persons_schema, scores_schema

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import pyarrow as pa

    from piu.store import Store


def _months(since: datetime | None, until: datetime | None) -> list[str] | None:
    from piu.timeparse import months_from
    return months_from(since, until)


def _time_filter(since: datetime | None, until: datetime | None):  # noqa: ANN202
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    expr = None
    if since is not None:
        expr = ds.field("call_time") >= pc.scalar(since)
    if until is not None:
        cond = ds.field("call_time") <= pc.scalar(until)
        expr = cond if expr is None else expr & cond
    return expr


def latest_versions(calls: pd.DataFrame) -> pd.DataFrame:
    """Keep the current version of each call (latest ingest id); others are superseded."""
    if len(calls) == 0:
        return calls
    calls = calls.sort_values(["call_id", "ingest_id"])
    return calls.drop_duplicates("call_id", keep="last").reset_index(drop=True)


def all_call_versions(store: Store, *, ports: Iterable[str] | None = None,
                      since: datetime | None = None, until: datetime | None = None,
                      columns: list[str] | None = None) -> pd.DataFrame:
    """Every stored version of calls in the period (superseded ones included)."""
    if columns is not None:
        columns = list(dict.fromkeys(["call_id", "ingest_id", *columns]))
    table = store.read("calls", calls_schema(), ports=ports, months=_months(since, until),
                       columns=columns, filter=_time_filter(since, until))
    return table.to_pandas()


def current_calls(store: Store, *, ports: Iterable[str] | None = None,
                  since: datetime | None = None, until: datetime | None = None,
                  columns: list[str] | None = None, txns: set[str] | None = None) -> pd.DataFrame:
    """The current version of every call in the period, sorted by call time (as `latest_versions`
    keeps them, chosen and sorted in Arrow before the one conversion to pandas). `txns`: read the
    store as these transactions make it (`Store.read`), default as it is now."""
    import pyarrow.compute as pc

    if columns is not None:
        columns = list(dict.fromkeys(["call_id", "ingest_id", *columns]))
    table = latest_rows(store.read("calls", calls_schema(), ports=ports, months=_months(since, until),
                                   columns=columns, filter=_time_filter(since, until), txns=txns))
    if since is not None or until is not None:
        table = _without_moved_out(store, table, ports=ports, since=since, until=until, txns=txns)
    if table.num_rows > 1:
        keys = ["call_time", "call_id"] if "call_time" in table.column_names else ["call_id", "ingest_id"]
        table = table.take(pc.sort_indices(table, [(k, "ascending") for k in keys]))
    return table.to_pandas()


def _without_moved_out(store: Store, table: pa.Table, *, ports: Iterable[str] | None, since: datetime | None,
                       until: datetime | None, txns: set[str] | None) -> pa.Table:
    """The period's current call versions without those superseded by a version outside the period (an
    amendment that moved the call's time out of it). A call's versions share its local day (its id
    names the day), so they lie within two days of each other: only those months are read, and only
    the ids and ingest ids of the versions outside the period."""
    from datetime import timedelta

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    if table.num_rows == 0:
        return table
    pad = timedelta(days=2)
    months = _months(since - pad if since is not None else None, until + pad if until is not None else None)
    outside = store.read("calls", calls_schema(), ports=ports, months=months, columns=["call_id", "ingest_id"],
                         filter=ds.field("call_id").isin(pc.unique(table["call_id"])) & ~_time_filter(since, until),
                         txns=txns)
    if outside.num_rows == 0:
        return table
    both = pa.concat_tables([table.select(["call_id", "ingest_id"]).append_column("inside", pa.repeat(True, table.num_rows)),
                             outside.append_column("inside", pa.repeat(False, outside.num_rows))])
    latest = latest_rows(both)
    moved = latest.filter(pc.invert(latest["inside"]))["call_id"]
    return table.filter(pc.invert(pc.is_in(table["call_id"], value_set=moved)))


def latest_rows(table: pa.Table) -> pa.Table:
    """The rows of an Arrow table of call versions (call_id, ingest_id columns) that are current among
    them, as `latest_versions` chooses: per call, the last when sorted by (call_id, ingest_id)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if table.num_rows > 1 and pc.count_distinct(table["call_id"], mode="all").as_py() < table.num_rows:
        # some calls have several versions: the last of each call's run when sorted by (call_id, ingest_id)
        table = table.take(pc.sort_indices(table, [("call_id", "ascending"), ("ingest_id", "ascending")]))
        ids = table["call_id"].combine_chunks()
        last = np.ones(len(ids), dtype=bool)
        last[:-1] = pc.fill_null(pc.not_equal(ids[:-1], ids[1:]), False).to_numpy(zero_copy_only=False)
        last[:-1] |= pc.is_null(ids[:-1]).to_numpy(zero_copy_only=False) != pc.is_null(ids[1:]).to_numpy(zero_copy_only=False)
        table = table.filter(pa.array(last))
    return table


def persons_of(store: Store, version_ids: Iterable[str], *, ports: Iterable[str] | None = None,
               since: datetime | None = None, until: datetime | None = None,
               columns: list[str] | None = None, ingest_ids: Iterable[str] | None = None,
               compute: bool = False, indexed: bool = False) -> pd.DataFrame:
    """The persons listed in the given call versions (pass the same period to prune partitions).

    `ingest_ids`: the ingests that wrote these versions (a person row carries its call version's
    ingest id); files of other ingests are then skipped by their statistics, without reading them.
    `compute`: laid out for computing on (scoring): dates (birth, document expiry) as datetime64
    instead of Python dates (converting 10^6 Python dates costs more than the read), and each column
    one contiguous array (pandas concatenates a column of many chunks again in every row selection).
    `indexed`: only the files whose persons index (piu.person_index) holds one of the versions are read
    (scoring: the indexes are read anyway for the history; a month holds a file per ingest).
    """
    import pyarrow.dataset as ds

    ids = _unique_text(version_ids)
    if columns is not None:
        columns = list(dict.fromkeys(["version_id", *columns]))
    flt = ds.field("version_id").isin(ids)
    if ingest_ids is not None:
        flt = ds.field("ingest_id").isin(_unique_text(ingest_ids)) & flt
    # persons are partitioned by their call's port and month, so the same period prunes them
    store.check_version()
    files = store.files("persons", ports=ports, months=_months(since, until))
    if indexed:
        from piu.person_index import files_holding

        files = files_holding(store, "persons", files, "version_id", ids)
    table = store.read_files("persons", files, persons_schema(), columns=columns, filter=flt)
    if compute:
        return table.combine_chunks().to_pandas(date_as_object=False)
    return table.to_pandas()


def _unique_text(values: Iterable[str]) -> Any:
    """The distinct values as a pyarrow string array (a pandas text column is not copied to Python)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype="str")
    if series.dtype == "str":
        return pc.unique(pa.array(series.array).cast(pa.string()))
    return pa.array(sorted({str(v) for v in series if v is not None}), type=pa.string())


def latest_scores(store: Store, *, ports: Iterable[str] | None = None,
                  since: datetime | None = None, until: datetime | None = None,
                  ruleset_version: str | None = None, prefer: str | None = None) -> pd.DataFrame:
    """The most recent score of each call version (optionally for one rule-set version; with `prefer`,
    the one `latest_score_rows` prefers: that rule-set version's, else the last not made by a trial)."""
    import pyarrow.dataset as ds

    flt = _time_filter(since, until)
    if ruleset_version is not None:
        cond = ds.field("ruleset_version") == ruleset_version
        flt = cond if flt is None else flt & cond
    months = _months(since, until)
    if prefer is None:
        frame = store.read("scores", scores_schema(), ports=ports, months=months, filter=flt).to_pandas()
    else:
        frame = read_scores_marked(store, ports=ports, months=months, filter=flt)
    return latest_score_rows(frame, prefer=prefer).reset_index(drop=True)


def score_files(store: Store, *, ports: Iterable[str] | None = None,
                months: Iterable[str] | None = None) -> tuple[list[Any], list[Any]]:
    """The scores files of these partitions: those written by configured runs of `piu score`, and those
    of trials (`piu score --rules FILE` with other rules, piu.risk.scoring.TRIAL_KIND), told apart by
    their transaction's commit marker (one small file per transaction)."""
    from piu.risk.scoring import TRIAL_KIND
    from piu.store import txn_of

    store.check_version()
    files = store.files("scores", ports=ports, months=months)
    trials = {t for t in {txn_of(f) for f in files} if store.txn_kind(t) == TRIAL_KIND}
    if not trials:
        return files, []
    return [f for f in files if txn_of(f) not in trials], [f for f in files if txn_of(f) in trials]


def read_scores_marked(store: Store, *, ports: Iterable[str] | None = None, months: Iterable[str] | None = None,
                       filter: Any = None, columns: list[str] | None = None) -> pd.DataFrame:
    """Stored scores (as store.read gives them) with a boolean column `trial`: made by a trial run."""
    import pandas as pd

    configured, trials = score_files(store, ports=ports, months=months)
    frame = store.read_files("scores", configured, scores_schema(), columns=columns, filter=filter).to_pandas()
    frame["trial"] = False
    if trials:
        tried = store.read_files("scores", trials, scores_schema(), columns=columns, filter=filter).to_pandas()
        frame = pd.concat([frame, tried.assign(trial=True)], ignore_index=True) if len(tried) else frame
    return frame


def latest_score_rows(scores: pd.DataFrame, *, prefer: str | None = None) -> pd.DataFrame:
    """Keep the most recent score row of each call version (by scored_at). With `prefer` (a rule-set
    version): the most recent row made with it; for call versions it never scored, the most recent row
    not made by a trial run (a `trial` column, see read_scores_marked), else the most recent of any."""
    if len(scores) == 0:
        return scores
    if prefer is None or "ruleset_version" not in scores.columns:
        return scores.sort_values(["version_id", "scored_at"]).drop_duplicates("version_id", keep="last")
    # preferred rows sort after the others of their call version, so keep="last" takes them first
    ranked = scores.assign(_preferred=(scores["ruleset_version"] == prefer).fillna(False).astype(bool),
                           _configured=~scores["trial"].astype(bool) if "trial" in scores.columns else True)
    ranked = ranked.sort_values(["version_id", "_preferred", "_configured", "scored_at"])
    return ranked.drop_duplicates("version_id", keep="last").drop(columns=["_preferred", "_configured", "trial"],
                                                                  errors="ignore")


def configured_ruleset_version(store: Store, rules_file: str | None = None) -> str | None:
    """The rule-set version `piu score` stores today with the rules in effect: `rules_file`, else
    $PIU_RULES, else $PIU_HOME/rules.toml, else the built-in rules; with the reference lists it hashes
    into the version (watchlists, partner cases, flag lists), computed as `score_store` computes it.
    Reads the rules file and the reference lists only, not calls or scores. None without a store."""
    if not store.exists():
        return None
    from piu.risk import config as rconfig
    from piu.risk.scoring import reference_digest, reference_tables

    config = rconfig.load(rules_file or rconfig.configured_rules_file(store.home))
    return config.version(reference_digest(reference_tables(store, config), config))


@dataclass
class ScoreChoice:
    """Which stored score of each call version report, show, review, vessel and export use: the latest made
    with `version` (the configured rule set) where there is one, else an earlier rule set's (see
    `latest_score_rows`); the latest of any when `version` is None (no store). `other` collects the calls
    shown with another rule set's score, for a note on stderr."""

    version: str | None = None
    other: set[str] = field(default_factory=set)

    def latest(self, scores: pd.DataFrame) -> pd.DataFrame:
        """The chosen score row of each call version."""
        return latest_score_rows(scores, prefer=self.version)

    def count(self, shown: pd.DataFrame) -> None:
        """Note the calls of `shown` (call_id, ruleset_version) whose score is of another rule set."""
        if self.version is None or len(shown) == 0 or "ruleset_version" not in shown.columns:
            return
        versions = shown["ruleset_version"]
        other = versions.notna() & (versions.astype("str") != self.version)
        self.other.update(str(c) for c in shown.loc[other.to_numpy(dtype=bool), "call_id"])
