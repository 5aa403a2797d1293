"""Scoring: run the configured rules over call and person tables, sum weights into scores and bands,
and score a store incrementally.

`evaluate` and `summarise` are pure functions of DataFrames (the same functions a Dask engine runs
per partition); `score_store` reads only what is needed - the calls in the selection, the persons
of the calls to score, and for history rules the light columns of the calls in the history window
plus the persons that share a document or a vessel with the calls being scored.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from piu.risk import features as feat
from piu.risk.config import SCORE_CAP, RulesConfig
from piu.risk.registry import RuleData

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from piu.store import Store

HISTORY_DAYS = 365
TARGETED_MAX = 5000  # up to this many calls to score, history is read by identifier, not whole
HISTORY_CALL_COLUMNS = ["call_id", "version_id", "ingest_id", "port", "direction", "call_time", "vessel_name",
                        "vessel_name_key", "imo", "mmsi", "flag"]
HISTORY_PERSON_COLUMNS = ["version_id", "role", "name_key", "date_of_birth", "doc_number", "doc_issuer",
                          "disembark_port", "source_row"]
HIT_KEYS = ("rule", "title", "weight", "evidence", "persons")
_CONTROL = re.compile(r"[\x00-\x1f]")  # control characters left in JSON text become spaces (as _json_text)
# The store transaction kind of scores made with rules other than the configured ones (`piu score --rules
# trial.toml`): `--new` compares with the last score of the configured rules, not with a trial's.
TRIAL_KIND = "score-trial"
SCORE_KINDS = ("score", TRIAL_KIND)  # transactions that store scores


@dataclass
class ScoreRun:
    """The outcome of `score_store`: the selected calls with their scores, and what was done.

    `frame` (calls columns + persons_aboard, score, band, hits, ruleset_version, scored_at) is built
    when first asked for: scoring a few new calls does not read every call and score of the selection.
    """

    ruleset_version: str
    scored: int                # call versions scored now
    _reused: int | Callable[[], int]  # see reused
    notes: tuple[str, ...] = ()  # one-line notes for the analyst (stderr), e.g. a missing regional key
    build: Callable[[], pd.DataFrame] | None = field(default=None, repr=False)
    _frame: pd.DataFrame | None = field(default=None, repr=False)
    new: pd.DataFrame | None = field(default=None, repr=False)  # see new_or_raised

    @property
    def reused(self) -> int:
        """Call versions of the selection whose stored score was reused (counted when first asked for
        when the scored mark decided what is new: then the selection was not read)."""
        if callable(self._reused):
            self._reused = self._reused()
        return self._reused

    @property
    def frame(self) -> pd.DataFrame:
        """The selected calls with their scores (every call of the selection, one row each)."""
        if self._frame is None:
            self._frame = self.build() if self.build is not None else _empty_frame()
        return self._frame

    @property
    def new_or_raised(self) -> pd.DataFrame:
        """The calls scored in this run whose score is news (the frame's columns): scored for the first
        time (new, amended or late manifests), or now in a higher band than their last stored score (a
        rule or list change that raises them; one that leaves them where they were is not news).
        Filled when score_store was asked to (`compare_bands`)."""
        return self.new if self.new is not None else _empty_frame()


def reference_tables(store: Store | None, config: RulesConfig) -> dict[str, Any]:
    """Reference data the rules read: effective flag ratings and the shipped vessel norms."""
    from piu.risk import flags
    from piu.risk.rules.capacity import load_norms

    ref: dict[str, Any] = {"flag_ratings": flags.effective(store), "vessel_norms": load_norms()}
    partner = config.settings.get("partner-alert")
    if store is not None and store.exists() and partner is not None and partner.enabled:
        # partner units' flagged cases (regional exchange) reach the partner-alert rule as reference data
        from piu.exchange import partner_reference
        ref.update(partner_reference(store))
    if store is not None and store.exists():
        # active (non-expired) watchlist entries reach the watchlist rules as reference data
        from piu.watchlist import reference_tables as watchlist_reference
        ref.update(watchlist_reference(store))
    return ref


def reference_digest(reference: dict[str, Any], config: RulesConfig) -> str:
    """The part of the rule-set version that comes from reference data (flag lists in use)."""
    from piu.exchange import partner_digest
    from piu.risk import flags
    from piu.watchlist import digest as watchlist_digest

    # a changed or expired watchlist entry, or a newly imported partner package, means scores must be redone
    listed = watchlist_digest(reference) + partner_digest(reference)
    setting = config.settings.get("flag-risk")
    if setting is None or not setting.enabled:
        return listed
    return flags.digest(reference["flag_ratings"]) + listed


def evaluate(data: RuleData, config: RulesConfig) -> pd.DataFrame:
    """Every enabled rule over the data (history rules when it has history): hits with version_id,
    rule, title, weight, evidence, persons."""
    import numpy as np
    import pandas as pd

    frames, hit = [], []
    for s in config.active():
        if s.rule.history and data.history_calls is None:
            continue
        hits = s.rule.func(data, s.params)
        if len(hits) == 0:
            continue
        frames.append(hits)
        hit.append(s)
    if not frames:
        return pd.DataFrame({k: pd.Series(dtype="object") for k in ("version_id", *HIT_KEYS)})
    hits = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].reset_index(drop=True)
    # each rule's id, title and weight (where the rule gave none per hit), once for all hits
    counts = [len(f) for f in frames]
    default = pd.Series(np.repeat(np.array([s.weight for s in hit], dtype="int64"), counts))
    hits = hits.assign(rule=np.repeat(np.array([s.rule.id for s in hit], dtype=object), counts).astype("str"),
                       title=np.repeat(np.array([s.rule.title for s in hit], dtype=object), counts).astype("str"),
                       weight=hits["weight"].astype("Int64").fillna(default).astype("int64"))
    # a zero weight records nothing: the rule is switched off for that case (e.g. grey flags by default)
    return hits[hits["weight"] > 0].reset_index(drop=True)


def summarise(calls: pd.DataFrame, hits: pd.DataFrame, config: RulesConfig) -> pd.DataFrame:
    """Per call version: persons_aboard, score (capped), band and hits as JSON text."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    out = pd.DataFrame({"version_id": calls["version_id"].to_numpy(),
                        "persons_aboard": calls["persons_aboard"].to_numpy()})
    if 0 < len(hits) <= SMALL_HITS:
        _summarise_small(out, hits)
    elif len(hits):
        hits = hits.sort_values(["version_id", "weight", "rule"], ascending=[True, False, True])
        # each hit's JSON object is built with column operations (no per-hit Python loop)
        texts = ('{"rule": ' + _json_text(hits["rule"]) + ', "title": ' + _json_text(hits["title"])
                 + ', "weight": ' + hits["weight"].astype("int64").astype("str")
                 + ', "evidence": ' + _json_text(hits["evidence"]) + ', "persons": ' + _json_rows(hits["persons"]) + "}")
        table = pa.table({"v": pa.array(hits["version_id"].astype("str").to_numpy(dtype=object), type=pa.string()),
                          "j": pa.array(texts.to_numpy(dtype=object), type=pa.string()),
                          "w": pa.array(hits["weight"].astype("int64").to_numpy(), type=pa.int64())})
        # use_threads=False keeps the heaviest-first order inside each call's list
        g = table.group_by("v", use_threads=False).aggregate([("j", "list"), ("w", "sum")])
        index = pd.Index(g["v"].to_pylist())
        joined = pd.Series(pc.binary_join(g["j_list"], ",").to_numpy(zero_copy_only=False), index=index, dtype="str")
        joined = "[" + joined + "]"
        total = pd.Series(g["w_sum"].to_numpy(), index=index)
        out["hits"] = out["version_id"].map(joined).fillna("[]").astype("str")
        out["score"] = out["version_id"].map(total).fillna(0).clip(upper=SCORE_CAP).astype("int64")
    else:
        out["hits"] = "[]"
        out["score"] = 0
    out["band"] = config.band(out["score"])
    return out


# up to this many hits, summarise builds the JSON in Python (the same text): fewer than the column
# operations' fixed costs on the few hits of an incremental score
SMALL_HITS = 2000


def _summarise_small(out: pd.DataFrame, hits: pd.DataFrame) -> None:
    """summarise's hits and score columns, for a few hits: per call, its hits heaviest first (then by
    rule id, then as given) as the JSON text the column operations make."""
    import numpy as np
    import pandas as pd

    def text(v: Any) -> str:
        v = "" if v is None or v is pd.NA or (isinstance(v, float) and v != v) else str(v)
        v = (v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
             .replace("\r", "\\r"))
        return '"' + _CONTROL.sub(" ", v) + '"'

    rows = sorted(zip(hits["version_id"].astype("str").tolist(), hits["weight"].astype("int64").tolist(),
                      hits["rule"].tolist(), hits["title"].tolist(), hits["evidence"].tolist(), hits["persons"].tolist(),
                      range(len(hits))), key=lambda r: (r[0], -r[1], str(r[2]), r[6]))
    texts: dict[str, list[str]] = {}
    total: dict[str, int] = {}
    for v, w, rule_id, title, evidence, persons, _ in rows:
        rows_text = ",".join(str(int(x)) for x in persons) if isinstance(persons, list) else ""
        texts.setdefault(v, []).append(f'{{"rule": {text(rule_id)}, "title": {text(title)}, "weight": {w}, '
                                       f'"evidence": {text(evidence)}, "persons": [{rows_text}]}}')
        total[v] = total.get(v, 0) + w
    ids = out["version_id"].astype("str").tolist()
    out["hits"] = pd.array(["[" + ",".join(texts[v]) + "]" if v in texts else "[]" for v in ids], dtype="str")
    out["score"] = np.minimum(np.array([total.get(v, 0) for v in ids], dtype=np.int64), SCORE_CAP)


def _json_text(s: pd.Series) -> pd.Series:
    """JSON string literals for a text column (quotes, backslashes and control characters escaped)."""
    esc = (s.fillna("").astype("str").str.replace("\\", "\\\\", regex=False).str.replace('"', '\\"', regex=False)
           .str.replace("\n", "\\n", regex=False).str.replace("\t", "\\t", regex=False)
           .str.replace("\r", "\\r", regex=False).str.replace(r"[\x00-\x1f]", " ", regex=True))
    return '"' + esc + '"'


def _json_rows(persons: pd.Series) -> pd.Series:
    """JSON arrays of source rows ('[]' when none), joined in Arrow."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    lists = pa.array([v if isinstance(v, list) else [] for v in persons], type=pa.list_(pa.int64()))
    joined = pc.binary_join(lists.cast(pa.list_(pa.string())), ",")
    return "[" + pd.Series(joined.to_numpy(zero_copy_only=False), index=persons.index, dtype="str") + "]"


def score_frames(calls: pd.DataFrame, persons: pd.DataFrame, config: RulesConfig, *,
                 history_calls: pd.DataFrame | None = None, history_persons: pd.DataFrame | None = None,
                 reference: dict[str, Any] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score call versions given as DataFrames: (summary per call, hits)."""
    reference = reference if reference is not None else reference_tables(None, config)
    features, pfeat = feat.build(calls, persons)
    if history_calls is not None and "vessel_key" not in history_calls.columns:
        history_calls = _with_vessel_key(history_calls)
    data = RuleData(calls=features, persons=pfeat, history_calls=history_calls, history_persons=history_persons,
                    reference=reference)
    hits = evaluate(data, config)
    return summarise(features, hits, config), hits


def _with_vessel_key(calls: pd.DataFrame, known: pd.DataFrame | None = None) -> pd.DataFrame:
    """The calls with `vessel_key` and call_time as UTC timestamps; keys of calls in `known` (same
    version id, a vessel_key column) are taken from there instead of being derived again."""
    import numpy as np
    import pandas as pd

    out = calls.copy()
    if known is not None and "vessel_key" in known.columns and len(out):
        at = feat.call_positions(out["version_id"], known)
        found = at >= 0
        key = pd.Series(known["vessel_key"].array.take(np.maximum(at, 0)), index=out.index)
        if not found.all():
            key[~found] = feat.vessel_key(out[~found])
        out["vessel_key"] = key
    else:
        out["vessel_key"] = feat.vessel_key(out)
    out["call_time"] = pd.to_datetime(out["call_time"], utc=True)
    return out


def _history_days(config: RulesConfig) -> int:
    days = [HISTORY_DAYS]
    for s in config.active():
        if s.rule.history:
            days += [int(v) for k, v in s.params.items() if k.endswith("_days")]
    return max(days)


def _related_calls(store: Store, calls: pd.DataFrame, persons: pd.DataFrame, since: datetime,
                   until: datetime) -> tuple[pd.DataFrame, pd.DataFrame, Any]:
    """Current versions of the window's calls that share a vessel identifier or a document with `calls`;
    the window's persons that share a document with `calls` or belong to a call of the same vessel
    identifiers (one pass over the persons); and the version ids of those vessel-matched calls. Calls
    and persons are looked up in the data files' indexes (`piu.person_index`)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from piu.person_index import persons_matching, rows_matching
    from piu.queries import latest_rows
    from piu.timeparse import months_between

    def arr(values: Any) -> Any:  # (tolist: iterating an Arrow-backed column value by value is slow)
        return pa.array(sorted({str(v) for v in values.tolist() if isinstance(v, str) and v.strip()}), type=pa.string())

    def in_window(table: Any) -> Any:  # as a read filtered on call_time: a missing time is outside
        return table.filter(pc.and_(pc.greater_equal(table["call_time"], pa.scalar(since, table.schema.field("call_time").type)),
                                    pc.less_equal(table["call_time"], pa.scalar(until, table.schema.field("call_time").type))))

    months = months_between(since, until)
    matched = in_window(rows_matching(store, "calls", months=months, columns=["call_id", "version_id", "call_time"],
                                      wanted={"imo": arr(calls["imo"]), "mmsi": arr(calls["mmsi"]),
                                              "vessel_name_key": arr(calls["vessel_name_key"])}))
    docs = arr(persons["doc_number"])  # (the given ones: arr leaves out missing and blank values)
    matched_versions = matched.column("version_id").combine_chunks().cast(pa.string())
    found = persons_matching(store, months=months, doc_numbers=docs, version_ids=matched_versions,
                             columns=HISTORY_PERSON_COLUMNS)
    candidates = found.to_pandas(date_as_object=False)
    # a call version id is call_id + '@' + ingest_id (piu.schema): the calls of the shared documents
    shared = found.filter(pc.is_in(found["doc_number"], value_set=docs))["version_id"].combine_chunks()
    shared = pc.list_element(pc.split_pattern(shared, "@", max_splits=1, reverse=True), 0)
    ids = pa.chunked_array([matched.column("call_id").combine_chunks().cast(pa.string()), shared.cast(pa.string())],
                           type=pa.string())
    # every version of the matched calls, so that "current" means what it means everywhere else
    versions = in_window(rows_matching(store, "calls", months=months, columns=HISTORY_CALL_COLUMNS,
                                       wanted={"call_id": pc.unique(ids)}))
    # the current one of each (in Arrow: `latest_versions`' choice and its order, by call id)
    current = latest_rows(versions.sort_by([("call_id", "ascending"), ("ingest_id", "ascending")]))
    return current.to_pandas(), candidates, matched_versions


def load_history(store: Store, calls: pd.DataFrame, persons: pd.DataFrame,
                 config: RulesConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """History for the calls being scored (and `persons`, theirs): calls in the window, and persons
    that can matter."""
    import numpy as np
    import pandas as pd
    import pyarrow.compute as pc

    from piu.person_index import persons_matching
    from piu.timeparse import months_between

    days = _history_days(config)
    times = calls["call_time"]
    since = times.min().to_pydatetime() - timedelta(days=days)
    until = times.max().to_pydatetime() + timedelta(days=days)
    candidates = matched = None
    if len(calls) <= TARGETED_MAX:
        related_calls, candidates, matched = _related_calls(store, calls, persons, since, until)
        hcalls = _with_vessel_key(related_calls, calls)
    else:  # scoring much of the store: reading the whole window is cheaper than long filters
        hcalls = _with_vessel_key(_window_calls(store, since, until, calls), calls)
    keys = (calls["vessel_key"] if "vessel_key" in calls.columns else feat.vessel_key(calls)).dropna().unique()
    related = hcalls.loc[feat.isin(hcalls["vessel_key"], keys), "version_id"]
    # crew are matched by name only inside related calls, which the filter already keeps
    if set(HISTORY_PERSON_COLUMNS) <= set(persons.columns) and feat.isin(hcalls["version_id"], calls["version_id"]).all():
        # every history call is being scored (e.g. a full rescore): its persons are already in memory, in
        # the store's order (files are read in one sorted order), so they are not read a second time.
        # The persons' own documents are the documents searched for, so "shares a document" is "has one".
        keep = (feat.isin(persons["version_id"], hcalls["version_id"])
                & (feat.isin(persons["version_id"], related) | feat.present(persons["doc_number"]).to_numpy()))
        hpersons = persons[HISTORY_PERSON_COLUMNS]  # copy-on-write: no copy while nothing is dropped
        rows = np.arange(len(persons)) if keep.all() else np.flatnonzero(keep)
        hpersons = (hpersons if keep.all() else hpersons.iloc[rows]).reset_index(drop=True)
        hpersons["person_row"] = rows.astype("int64")
    else:
        docs = persons.loc[feat.present(persons["doc_number"]), "doc_number"].unique()
        if candidates is not None and feat.isin(related, pd.Series(matched.to_pylist(), dtype="str")).all():
            # the persons read with the related calls hold every person wanted (in the store's order)
            keep = (feat.isin(candidates["version_id"], hcalls["version_id"])
                    & (feat.isin(candidates["version_id"], related) | feat.isin(candidates["doc_number"], pd.Series(docs))))
            hpersons = candidates[keep].reset_index(drop=True)
        else:
            table = persons_matching(store, months=months_between(since, until), columns=HISTORY_PERSON_COLUMNS,
                                     doc_numbers=_text_array(pd.Series(docs)), version_ids=_text_array(related))
            in_window = pc.is_in(table["version_id"], value_set=_text_array(hcalls["version_id"]))
            hpersons = table.filter(in_window).to_pandas(date_as_object=False)  # dates as persons_of(compute=True) gives
    # each history person gets the row of its call in hcalls (call version ids are unique): rules look
    # the call's columns up for the few rows they compare, instead of copying them to every person
    at = pc.index_in(_text_array(hpersons["version_id"]), value_set=_text_array(hcalls["version_id"]))
    at = at.to_numpy(zero_copy_only=False)
    found = ~pd.isna(at)
    if not found.all():
        hpersons = hpersons[found].reset_index(drop=True)
    hpersons["hcall_row"] = at[found].astype("int64")
    return hcalls, hpersons


def _window_calls(store: Store, since: datetime, until: datetime, calls: pd.DataFrame) -> pd.DataFrame:
    """The current version of every call in the window (HISTORY_CALL_COLUMNS), in call-time order: the
    rows of `calls` (being scored, already in memory) are taken from there, only the others are read
    whole (which calls are current is decided on light columns). `calls` must hold current versions
    only, as score_store and the Dask engine pass them."""
    import pandas as pd

    from piu.queries import current_calls

    light = current_calls(store, since=since, until=until, columns=SELECT_COLUMNS)
    at = feat.call_positions(light["version_id"], calls)
    parts = [calls.iloc[at[at >= 0]][HISTORY_CALL_COLUMNS]]
    if (at < 0).any():
        parts.append(_calls_by_version(store, light[at < 0], HISTORY_CALL_COLUMNS))
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
    return out.sort_values(["call_time", "call_id"]).reset_index(drop=True)


def _text_array(values: Any) -> Any:
    """A column of text as a pyarrow string array (Arrow-backed columns without a Python round trip)."""
    import pandas as pd
    import pyarrow as pa

    values = values if isinstance(values, pd.Series) else pd.Series(values)
    if values.dtype == "str":
        return pa.array(values.array).cast(pa.string())
    return pa.array(values.astype("str").to_numpy(dtype=object), type=pa.string(), from_pandas=True)


def score_store(store: Store, config: RulesConfig, *, ports: list[str] | None = None,
                since: datetime | None = None, until: datetime | None = None, rescore: bool = False,
                now: datetime | None = None, user: str | None = None, engine: str = "pandas",
                scheduler: str | None = None, compare_bands: bool = False, trial: bool = False) -> ScoreRun:
    """Score the selected calls not yet scored with this rule set (all with `rescore`); store the scores.

    `trial`: the rules are not the configured ones (piu.risk.config.is_trial); the scores are stored as
    such (TRIAL_KIND), so that a later run's `compare_bands` does not compare with them.

    engine="dask" runs the same rules per partition with Dask (`piu.risk.engine_dask`; `scheduler`
    is a Dask scheduler address or a local scheduler name); the scores are the same. Person indexes
    built for the history rules (`piu.person_index`) are saved only when scoring succeeds (Dask
    workers save what they build).
    """
    from piu.person_index import saved_on_success

    with saved_on_success():
        return _score_store(store, config, ports=ports, since=since, until=until, rescore=rescore, now=now,
                            user=user, engine=engine, scheduler=scheduler, compare_bands=compare_bands, trial=trial)


def _score_store(store: Store, config: RulesConfig, *, ports: list[str] | None, since: datetime | None,
                 until: datetime | None, rescore: bool, now: datetime | None, user: str | None, engine: str,
                 scheduler: str | None, compare_bands: bool, trial: bool = False) -> ScoreRun:
    from piu.memory import keep_freed_memory

    keep_freed_memory()
    import pandas as pd
    import pyarrow as pa

    from piu.exchange import partner_key_note
    from piu.queries import current_calls, persons_of
    from piu.schema import scores_schema

    reference = reference_tables(store, config)
    version = config.version(reference_digest(reference, config))
    notes = tuple(n for n in (partner_key_note(reference),) if n)
    if not store.exists():
        return ScoreRun(version, 0, 0, notes)
    # the store as it is now: what is read below comes from these transactions, so one committed
    # meanwhile is new to the next run (see the scored marks)
    snapshot = store.visible_txns()
    whole = since is None and until is None  # a selection a scored mark can describe
    light: pd.DataFrame | None = None
    marked = None if rescore or not whole else _new_since_mark(store, version, ports, snapshot)
    if rescore:  # every selected call is scored: read them whole once
        calls = current_calls(store, ports=ports, since=since, until=until, columns=feat.CALL_COLUMNS, txns=snapshot)
        todo, selected = calls, len(calls)
        newest = _newest_ingest(calls) if ports is None else None
    elif marked is not None:  # the calls of the files committed after the mark, not the whole selection
        todo, newest = marked
        calls, selected = None, None
    else:
        # which calls are new to this rule set, from light columns: the cost follows the new calls
        light = current_calls(store, ports=ports, since=since, until=until, columns=SELECT_COLUMNS, txns=snapshot)
        # the scores of the snapshot only: what is scored meanwhile is left out under the lock below, where
        # the mark learns which scores it relies on
        done = _scored_versions(store, version, ports=ports, since=since, until=until, txns=snapshot)
        todo = _calls_by_version(store, light[~feat.isin(light["version_id"], done)])
        calls, selected = None, len(light)
        newest = _newest_ingest(light) if ports is None else None
    if selected == 0:
        if whole:
            _write_mark(store, version, ports, snapshot, newest)
        return ScoreRun(version, 0, 0, notes)
    own: str | None = None
    relied: set[str] = set()  # scores committed after the snapshot that this run's scores leave out
    skipped = 0  # calls scored here that another run stored meanwhile (not stored twice: counted as reused)
    new = prior = None
    if len(todo):
        todo = todo.reset_index(drop=True)
        if engine == "dask":  # the same score_frames per chunk of calls, each chunk reading its own persons
            from piu.risk.engine_dask import score_calls
            summary = score_calls(store, todo, config, reference=reference, scheduler=scheduler)
        else:
            t0, t1 = todo["call_time"].min().to_pydatetime(), todo["call_time"].max().to_pydatetime()
            todo = todo.assign(vessel_key=feat.vessel_key(todo))  # once, for the history and the features
            history = any(s.rule.history for s in config.active())
            persons = persons_of(store, todo["version_id"], ports=sorted(todo["port"].dropna().unique()),
                                 since=t0, until=t1, columns=feat.PERSON_COLUMNS, compute=True,
                                 ingest_ids=(todo["ingest_id"].unique()
                                             if not rescore and todo["ingest_id"].notna().all() else None),
                                 indexed=history and len(todo) <= TARGETED_MAX)  # (indexes the history reads)
            # history rules see the whole store: the calls and persons that can matter to these calls
            # (few calls: looked up in the indexes, piu.person_index; many: the window read whole)
            hc = hp = None
            if history:
                hc, hp = load_history(store, todo, persons, config)
            summary, _hits = score_frames(todo, persons, config, reference=reference, history_calls=hc,
                                          history_persons=hp)
        stamp = now or datetime.now(timezone.utc)
        new = todo[["call_id", "version_id", "port", "call_time", "month"]].merge(summary, on="version_id")
        new["ruleset_version"] = version
        new["scored_at"] = pd.Timestamp(stamp).tz_convert("UTC") if pd.Timestamp(stamp).tzinfo else pd.Timestamp(stamp, tz="UTC")
        new["scored_by"] = user or _user()
        new["persons_aboard"] = new["persons_aboard"].astype("Int64")
        new["score"] = new["score"].astype("int64")
        table = pa.Table.from_pandas(new[[f.name for f in scores_schema()]], schema=scores_schema(), preserve_index=False)
        prior = _last_bands(store, todo) if compare_bands else None
        with store.transaction(TRIAL_KIND if trial else "score") as txn:
            relied = set() if rescore else _scored_since(store, snapshot)
            if relied:
                # under the lock: calls another `piu score` stored meanwhile are not stored twice
                import pyarrow.compute as pc

                done_now = _already_scored(store, version, todo, snapshot | relied)
                if len(done_now):
                    keep = pc.invert(pc.is_in(table["version_id"], value_set=done_now))
                    skipped = table.num_rows - pc.sum(keep.cast("int64")).as_py()
                    table = table.filter(keep)
            txn.write("scores", table)
            own = txn.id
    if whole:  # after the commit: the mark never says more than the store holds
        _write_mark(store, version, ports, snapshot | ({own} if own else set()), newest, relied)

    def light_calls() -> pd.DataFrame:
        nonlocal light
        if light is None:
            light = current_calls(store, ports=ports, columns=SELECT_COLUMNS, txns=snapshot)
        return light

    def build() -> pd.DataFrame:
        """Every call of the selection as it was decided above, with its latest score for this rule set
        (new ones from memory): calls stored after the scoring do not appear unscored."""
        frame = calls if calls is not None else _calls_by_version(store, light_calls())
        existing = (pd.DataFrame({"version_id": pd.Series(dtype="str")}) if rescore
                    else _stored_scores(store, version, ports=ports, since=since, until=until))
        if len(existing):
            existing = existing[feat.isin(existing["version_id"], frame["version_id"])]
        scores = existing[~feat.isin(existing["version_id"], todo["version_id"])] if len(existing) else existing
        parts = [s for s in (scores, new) if s is not None and len(s)]
        cols = ["version_id", "persons_aboard", "score", "band", "hits", "ruleset_version", "scored_at"]
        if not parts:
            return frame
        all_scores = pd.concat([s.reindex(columns=cols) for s in parts], ignore_index=True)
        return frame.merge(all_scores, on="version_id", how="left")

    news = None
    if new is not None and prior is not None:
        cols = ["version_id", "persons_aboard", "score", "band", "hits", "ruleset_version", "scored_at"]
        news = todo[feat.CALL_COLUMNS].merge(new[cols], on="version_id", how="left")
        from piu.schema import BANDS

        rank = {b: i for i, b in enumerate(BANDS)}  # one lookup per column, as piu.report.band_rank ranks them
        before = news["version_id"].map(prior).map(rank)
        news = news[before.isna() | (news["band"].map(rank) > before)].reset_index(drop=True)
    scored = len(todo) - skipped
    reused = selected - scored if selected is not None else lambda: len(light_calls()) - scored
    return ScoreRun(version, scored, reused, notes, build, new=news)


# What deciding which calls to score reads of the selection (current versions, partitions, ids).
SELECT_COLUMNS = ["call_id", "version_id", "ingest_id", "call_time", "port", "month"]

# Scored marks: HOME/_index/scored/<rule-set version>-<scope>.json says "every current call of this
# scope (all ports, or some) in the store made by these transactions is scored with this rule set".
# Derived data, like the persons index: written after a score of a whole scope commits (with the
# score's own transaction), so the next `piu score` reads only the calls files committed since
# instead of every call and score of the scope. It is used only while every transaction it names is
# still visible: a retraction (doctor --repair) makes the full check run again, and so does a
# missing, damaged or other-format mark. It names, besides the transactions the run read ("txns"),
# the scores another run committed meanwhile whose calls this run left out ("requires"): its calls
# are scored only while those are visible too. They are not among "txns": the calls files they were
# made from may be newer than the mark, and the next run reads them.
MARK_DIR = ("_index", "scored")
MARKS_KEPT = 8  # the newest marks kept (one per rule set and scope)
MARK_FORMAT = 2


def _mark_path(store: Store, version: str, ports: list[str] | None) -> Any:
    import hashlib

    scope = "all" if ports is None else hashlib.sha256("\n".join(sorted(ports)).encode()).hexdigest()[:12]
    return store.home.joinpath(*MARK_DIR, f"{version}-{scope}.json")


def _read_mark(store: Store, version: str, ports: list[str] | None,
               visible: set[str]) -> tuple[set[str], str | None] | None:
    """(transactions, newest ingest id or None) of a usable mark of this scope or of the whole store."""
    import json

    for scope in dict.fromkeys([None if ports is None else tuple(ports), None]):
        try:
            doc = json.loads(_mark_path(store, version, None if scope is None else list(scope)).read_text("utf-8"))
            txns, newest, requires = set(doc["txns"]), doc["newest_ingest"], set(doc["requires"])
            usable = (doc["format"] == MARK_FORMAT and doc["ruleset_version"] == version
                      and txns | requires <= visible and all(isinstance(t, str) for t in txns)
                      and (newest is None or isinstance(newest, str)))
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if usable:
            return txns, newest
    return None


def _write_mark(store: Store, version: str, ports: list[str] | None, txns: set[str], newest: str | None,
                requires: set[str] = frozenset()) -> None:
    """Record that the scope's current calls in these transactions are scored, by scores among them and
    `requires` (best effort: a store that cannot be written to is checked in full next time)."""
    import contextlib
    import json
    import os
    import secrets

    path = _mark_path(store, version, ports)
    doc = {"format": MARK_FORMAT, "ruleset_version": version, "ports": ports, "newest_ingest": newest,
           "txns": sorted(txns), "requires": sorted(requires - txns)}
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(doc), encoding="utf-8")
        os.replace(tmp, path)
        # marks of earlier rule sets and scopes (trials, list changes) are not kept for ever: the newest few
        marks = sorted(path.parent.glob("*.json"), key=lambda m: m.stat().st_mtime_ns, reverse=True)
        for old in marks[MARKS_KEPT:]:
            old.unlink(missing_ok=True)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _newest_ingest(calls: pd.DataFrame) -> str | None:
    """The newest ingest id among call versions (None when unknown): no stored version of any call is
    newer, when these are the current versions of every call of the store."""
    ids = calls["ingest_id"]
    return None if len(ids) == 0 or ids.isna().any() else str(ids.max())


def _score_txns(store: Store, txns: set[str]) -> set[str]:
    """The transactions among `txns` that stored scores."""
    return {t for t in txns if store.txn_kind(t) in SCORE_KINDS}


def _scored_since(store: Store, snapshot: set[str]) -> set[str]:
    """The scores committed after the snapshot of visible transactions was taken (and still visible)."""
    return _score_txns(store, store.visible_txns() - snapshot)


def _already_scored(store: Store, version: str, calls: pd.DataFrame, txns: set[str]) -> Any:
    """The version ids among `calls` (with their port and month) scored with this rule set in the store
    as the transactions `txns` make it (a pyarrow array)."""
    from piu.schema import scores_schema

    return store.read("scores", scores_schema(), columns=["version_id"], **_partitions(calls),
                      filter=_score_filter(version, None, None, calls["version_id"].tolist()),
                      txns=txns).column("version_id").combine_chunks()


def _new_since_mark(store: Store, version: str, ports: list[str] | None,
                    visible: set[str]) -> tuple[pd.DataFrame, str | None] | None:
    """With a usable scored mark: the calls to score (whole rows, features.CALL_COLUMNS, in call-time
    order) - the scope's current versions in calls files committed after the mark that are not scored
    with this rule set yet - and the newest ingest id now known. None without a mark."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    from piu.queries import latest_rows
    from piu.schema import calls_schema

    mark = _read_mark(store, version, ports, visible)
    if mark is None:
        return None
    marked, marked_newest = mark
    newest = marked_newest
    later = visible - marked
    # every port's new files: the newest ingest id stays the whole store's
    table = store.read("calls", calls_schema(), columns=feat.CALL_COLUMNS, txns=later)
    if table.num_rows:
        ingests = table["ingest_id"]
        top = pc.max(ingests).as_py()
        newest = None if newest is None or ingests.null_count or top is None else max(newest, top)
    table = latest_rows(table)
    if ports is not None:
        table = table.filter(pc.is_in(table["port"], value_set=pa.array(ports, type=pa.string())))
    if table.num_rows and (marked_newest is None or table["ingest_id"].null_count
                           or pc.any(pc.less_equal(table["ingest_id"], marked_newest)).as_py()):
        # a version not newer than every marked one may be superseded by a stored version of its call
        stored = store.read("calls", calls_schema(), columns=["call_id", "ingest_id"], txns=visible,
                            filter=ds.field("call_id").isin(pc.unique(table["call_id"])))
        current = latest_rows(stored).to_pandas()
        keep = table.select(["call_id", "ingest_id"]).to_pandas().merge(current, how="left", indicator=True)
        table = table.filter(pa.array((keep["_merge"] == "both").to_numpy()))
    if table.num_rows and _score_txns(store, later):
        # another score ran after the mark (e.g. a concurrent or a --port run): skip what it stored
        done = _already_scored(store, version, table.select(["version_id", "port", "month"]).to_pandas(), visible)
        table = table.filter(pc.invert(pc.is_in(table["version_id"], value_set=done)))
    # in call-time order (sorted in Arrow: a few rows, and fewer pandas operations)
    out = table.sort_by([("call_time", "ascending"), ("call_id", "ascending")]).to_pandas()
    if pc.count_distinct(table["version_id"]).as_py() < table.num_rows:  # one version in two files
        out = out.drop_duplicates("version_id").reset_index(drop=True)
    return out, newest


def _scored_versions(store: Store, version: str, *, ports: list[str] | None, since: datetime | None,
                     until: datetime | None, txns: set[str] | None = None) -> pd.Series:
    """Version ids of the selection's calls already scored with this rule set (one light column), in
    the store as `txns` make it (default: now)."""
    from piu.schema import scores_schema
    from piu.timeparse import months_from

    months = months_from(since, until)
    table = store.read("scores", scores_schema(), ports=ports, months=months, columns=["version_id"],
                       filter=_score_filter(version, since, until), txns=txns)
    return table.column("version_id").to_pandas()


def _last_bands(store: Store, calls: pd.DataFrame) -> pd.Series:
    """Band of the latest stored score (any rule set, trials excepted) of each of these call versions
    (version_id index)."""
    import pyarrow.dataset as ds

    from piu.queries import _unique_text, latest_score_rows, score_files
    from piu.schema import scores_schema

    configured, _trials = score_files(store, **_partitions(calls))
    stored = store.read_files("scores", configured, scores_schema(), columns=["version_id", "band", "scored_at"],
                              filter=ds.field("version_id").isin(_unique_text(calls["version_id"]))).to_pandas()
    return latest_score_rows(stored).set_index("version_id")["band"]


def _partitions(calls: pd.DataFrame) -> dict[str, list[str] | None]:
    """The ports and months (store.read's pruning) of some calls' partitions; None where one is missing
    (its rows sit in the '__none__' partition, so nothing is pruned)."""
    return {c + "s": sorted(calls[c].astype("str").unique()) if calls[c].notna().all() else None
            for c in ("port", "month")}


def _calls_by_version(store: Store, light: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    """The whole rows (`columns`, default features.CALL_COLUMNS) of the given current call versions, in
    call-time order, read from their partitions only."""
    import pyarrow.dataset as ds

    from piu.queries import _unique_text
    from piu.schema import calls_schema

    columns = columns or feat.CALL_COLUMNS
    if len(light) == 0:
        return light.reindex(columns=columns)
    wanted = ds.field("version_id").isin(_unique_text(light["version_id"]))
    if light["ingest_id"].notna().all():
        # a file holds one ingest's rows: the other ingests' files are skipped by their statistics
        wanted = ds.field("ingest_id").isin(_unique_text(light["ingest_id"])) & wanted
    table = store.read("calls", calls_schema(), **_partitions(light), columns=columns, filter=wanted)
    # a version stored twice (the same rows written again) is one call version, as in current_calls
    out = table.to_pandas().drop_duplicates("version_id")
    return out.sort_values(["call_time", "call_id"]).reset_index(drop=True)


def _score_filter(version: str, since: datetime | None, until: datetime | None, ids: Any = None) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    expr = ds.field("ruleset_version") == version
    if since is not None:
        expr = expr & (ds.field("call_time") >= pc.scalar(since))
    if until is not None:
        expr = expr & (ds.field("call_time") <= pc.scalar(until))
    if ids is not None:
        expr = expr & ds.field("version_id").isin(pa.array(list(ids), type=pa.string()))
    return expr


def _stored_scores(store: Store, version: str, *, ports: list[str] | None, since: datetime | None,
                   until: datetime | None) -> pd.DataFrame:
    """Latest stored score per call version for this rule set, without the (large) hits column."""
    from piu.schema import scores_schema
    from piu.timeparse import months_from

    months = months_from(since, until)
    cols = ["version_id", "persons_aboard", "score", "band", "ruleset_version", "scored_at"]
    from piu.queries import latest_score_rows

    return latest_score_rows(store.read("scores", scores_schema(), ports=ports, months=months, columns=cols,
                                        filter=_score_filter(version, since, until)).to_pandas())


def with_hits(store: Store, frame: pd.DataFrame, version: str) -> pd.DataFrame:
    """Fill in the hits of rows whose score was reused (read only for these call versions)."""
    from piu.queries import latest_score_rows
    from piu.schema import scores_schema

    if len(frame) == 0 or "hits" not in frame.columns or not frame["hits"].isna().any():
        return frame
    missing = frame.loc[frame["hits"].isna(), "version_id"].astype("str")
    ports = sorted(frame.loc[frame["hits"].isna(), "port"].dropna().astype("str").unique())
    months = sorted(frame.loc[frame["hits"].isna(), "month"].dropna().astype("str").unique())
    stored = store.read("scores", scores_schema(), ports=ports, months=months,
                        columns=["version_id", "hits", "scored_at"],
                        filter=_score_filter(version, None, None, missing.tolist())).to_pandas()
    stored = latest_score_rows(stored)
    out = frame.copy()
    mapped = out["version_id"].map(stored.set_index("version_id")["hits"]).astype("str")
    out["hits"] = mapped.where(out["hits"].isna(), out["hits"].astype("object")).astype("str")
    return out


def _empty_frame() -> pd.DataFrame:
    """An empty selection: the frame's columns, no rows."""
    import pandas as pd
    return pd.DataFrame({c: pd.Series(dtype="object") for c in (
        *feat.CALL_COLUMNS, "persons_aboard", "score", "band", "hits", "ruleset_version", "scored_at")})


def _user() -> str:
    """Who scored ($PIU_USER, else the OS user): the same as ingest and review record."""
    from piu.who import current_user

    return current_user()


def select_output(frame: pd.DataFrame, *, all_calls: bool) -> pd.DataFrame:
    """Flagged calls (medium or high), or every call; highest score first, then latest first."""
    if len(frame) == 0:
        return frame
    out = frame if all_calls else frame[frame["band"].isin(["medium", "high"])]
    return out.sort_values(["score", "call_time", "call_id"], ascending=[False, False, True]).reset_index(drop=True)
