"""History rules: across the whole store, not only the calls being scored (merges, never loops).

They read `history_calls` (current versions of every call in the window, any port) and
`history_persons` (persons of history calls that share a document with, or belong to the vessel
of, a call being scored), which the engine prepares; the rules themselves stay pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from piu.risk.features import (call_positions, given_codes, group_rows, imo_status, joint_codes, joint_vessel_codes,
                               mmsi_status, person_call_rows, present)
from piu.risk.registry import Param, RuleData, hits_frame, no_hits, rule

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


def _join(parts: list[pd.Series], sep: str = ", ") -> pd.Series:
    """Join text columns row by row, skipping empty parts."""
    out = parts[0]
    for part in parts[1:]:
        both = (out != "") & (part != "")
        out = (out + sep + part).where(both, out + part)
    return out


def _utc(s: pd.Series) -> pd.Series:
    import pandas as pd
    return pd.to_datetime(s, utc=True)


def _stamp(s: pd.Series) -> pd.Series:
    """'2026-11-20 08:00 UTC'."""
    return _utc(s).dt.strftime("%Y-%m-%d %H:%M UTC")


def _gap_text(delta: pd.Series) -> pd.Series:
    """'6 h' under two days, else '18 days'."""
    hours = (delta.abs().dt.total_seconds() / 3600).round().astype("int64")
    days = (hours / 24).round().astype("int64")
    return (hours.astype("str") + " h").where(hours < 48, days.astype("str") + " days")


def _pair_codes(a: pd.Series, b: pd.Series) -> tuple[Any, Any]:
    """`given_codes` of two columns together: (a's codes, b's codes), equal values equal codes."""
    import pandas as pd

    both = given_codes(pd.concat([a, b], ignore_index=True))
    return both[:len(a)], both[len(a):]


def _diff(a: pd.Series, b: pd.Series) -> pd.Series:
    """True where both values are given and differ."""
    return (present(a) & present(b) & (a.astype("str") != b.astype("str"))).fillna(False).astype(bool)


@rule(id="identity-change", title="Vessel seen with another name, flag or MMSI",
      category="history", weight=3, status="verified", history=True,
      source="IMO numbers never change on renaming, reflagging or sale; a new MMSI is required on reflagging "
             "(DOMAIN.md §2.3); shadow-fleet and SIF/TMT vessel identity fraud patterns (§3.3)",
      rationale="""Within `window_days` of this call, the same IMO number appears in another call with
      another vessel name, flag or MMSI, or the same MMSI with another IMO number. Renaming and reflagging
      are legal, but frequent changes hide a vessel's history and a false IMO or MMSI hides its identity.
      The nearest such call is named.""",
      params=(Param("window_days", 365, "days before or after this call that are searched"),))
def identity_change(d: RuleData, p: Mapping[str, Any]) -> pd.DataFrame:
    """The same IMO with another name, flag or MMSI; the same MMSI with another IMO."""
    import functools

    import pandas as pd

    h = d.history_calls
    if h is None or len(h) == 0:
        return no_hits()
    window = pd.Timedelta(days=int(p["window_days"]))
    c = d.calls
    imo_ok = ((c["imo_check"] == "ok").to_numpy(dtype=bool), (imo_status(h["imo"]) == "ok").to_numpy(dtype=bool))
    mmsi_ok = ((c["mmsi_check"] == "ok").to_numpy(dtype=bool), (mmsi_status(h["mmsi"]) == "ok").to_numpy(dtype=bool))
    @functools.cache
    def frames() -> tuple[pd.DataFrame, pd.DataFrame]:  # the calls and their history, for a merge (made once)
        cols = ["version_id", "call_id", "call_time", "imo", "mmsi", "flag", "vessel_name", "vessel_name_key"]
        hh = h[["call_id", "call_time", "port", "imo", "mmsi", "flag", "vessel_name", "vessel_name_key"]]
        return c[cols].assign(call_time=_utc(c["call_time"])), hh.assign(call_time=_utc(hh["call_time"]))

    out = []
    # only an IMO seen with two names, flags or MMSIs (an MMSI with two IMOs) can fire: a vessel's
    # other calls under one identity are dropped before the self-merge, which grows with calls per vessel
    keep_t, keep_h = _varying([_pair_codes(c["imo"], h["imo"])],
                              [_pair_codes(c[col], h[col]) for col in ("vessel_name_key", "flag", "mmsi")], *imo_ok)
    if keep_t.any() and keep_h.any():  # else no merge can find a pair (the common case)
        t, hh = frames()
        m = t[keep_t].merge(hh[keep_h], on="imo", suffixes=("", "_h"))
        m = m[(m["call_id"] != m["call_id_h"]) & ((m["call_time"] - m["call_time_h"]).abs() <= window)]
        name_d = _diff(m["vessel_name_key"], m["vessel_name_key_h"])
        flag_d = _diff(m["flag"], m["flag_h"])
        mmsi_d = _diff(m["mmsi"], m["mmsi_h"])
        m = m.assign(name_d=name_d, flag_d=flag_d, mmsi_d=mmsi_d)[name_d | flag_d | mmsi_d]
        if len(m):
            m = m.assign(gap=(m["call_time"] - m["call_time_h"]).abs()).sort_values(["version_id", "gap", "call_id_h"])
            near = m.drop_duplicates("version_id")
            blank = pd.Series("", index=near.index, dtype="str")
            parts = [
                ("name " + near["vessel_name_h"].astype("str") + " (here " + near["vessel_name"].astype("str") + ")").where(near["name_d"], blank),
                ("flag " + near["flag_h"].astype("str") + " (here " + near["flag"].astype("str") + ")").where(near["flag_d"], blank),
                ("MMSI " + near["mmsi_h"].astype("str") + " (here " + near["mmsi"].astype("str") + ")").where(near["mmsi_d"], blank),
            ]
            ev = ("IMO " + near["imo"].astype("str") + " seen " + near["call_time_h"].dt.strftime("%Y-%m-%d") + " at "
                  + near["port"].astype("str") + " with " + _join(parts))
            others = m.groupby("version_id")["call_id_h"].nunique().reindex(near["version_id"]).to_numpy() - 1
            more = pd.Series(others, index=near.index)
            ev = ev + more.map(lambda k: f" (+{k} other call{'s' if k > 1 else ''} with a different identity)" if k else "").astype("str")
            out.append(hits_frame(near["version_id"], ev))
    keep_t, keep_h = _varying([_pair_codes(c["mmsi"], h["mmsi"])], [_pair_codes(c["imo"], h["imo"])],
                              mmsi_ok[0] & imo_ok[0], mmsi_ok[1] & imo_ok[1])
    if keep_t.any() and keep_h.any():
        t, hh = frames()
        m = t[keep_t].merge(hh[keep_h], on="mmsi", suffixes=("", "_h"))
        m = m[(m["call_id"] != m["call_id_h"]) & ((m["call_time"] - m["call_time_h"]).abs() <= window)
              & (m["imo"] != m["imo_h"])]
        if len(m):
            m = m.assign(gap=(m["call_time"] - m["call_time_h"]).abs()).sort_values(["version_id", "gap", "call_id_h"])
            near = m.drop_duplicates("version_id")
            ev = ("MMSI " + near["mmsi"].astype("str") + " seen " + near["call_time_h"].dt.strftime("%Y-%m-%d") + " at "
                  + near["port"].astype("str") + " with IMO " + near["imo_h"].astype("str") + " (here "
                  + near["imo"].astype("str") + ")")
            out.append(hits_frame(near["version_id"], ev))
    from piu.risk.registry import merge_hits
    return merge_hits(*out) if out else no_hits()


PERSON_DOC_COLUMNS = ["version_id", "role", "name_key", "date_of_birth", "doc_number", "doc_issuer", "source_row"]
HISTORY_DOC_COLUMNS = ["doc_number", "doc_issuer", "name_key", "date_of_birth", "call_id", "call_time", "port",
                       "direction", "vessel_key", "vessel_name", "imo"]


def _doc_persons(d: RuleData, keep: Any) -> pd.DataFrame:
    """The scored calls' persons where `keep` (usable document number), with their call's id and time."""
    import pandas as pd

    info = d.calls[["version_id", "call_id", "call_time", "vessel_key", "port", "direction"]]
    ps = d.persons[PERSON_DOC_COLUMNS][keep].merge(info, on="version_id")
    return ps.assign(call_time=_utc(ps["call_time"]), date_of_birth=pd.to_datetime(ps["date_of_birth"], errors="coerce"))


def _usable_docs(d: RuleData, min_length: int) -> Any:
    """Mask of the scored persons with a document number of at least `min_length` characters."""
    doc = d.persons["doc_number"]
    return (joint_codes(d, "doc_number")[0] >= 0) & (doc.str.len() >= min_length).fillna(False).to_numpy(dtype=bool)


def _history_docs(d: RuleData, keep: Any) -> pd.DataFrame:
    """History persons where `keep`, with their call's columns (looked up by `hcall_row` for these rows
    only) and call_time and date_of_birth as timestamps (candidates only)."""
    import numpy as np
    import pandas as pd

    hp = d.history_persons
    out = hp[["doc_number", "doc_issuer", "name_key", "date_of_birth"]][keep]
    rows = hp["hcall_row"].to_numpy(dtype=np.int64)[keep]
    hc = d.history_calls
    calls = {c: pd.Series(hc[c].array.take(rows), index=out.index) for c in HISTORY_DOC_COLUMNS if c not in out.columns}
    out = out.assign(**calls)
    return out.assign(call_time=_utc(out["call_time"]), date_of_birth=pd.to_datetime(out["date_of_birth"], errors="coerce"))


def _varying(keys: list[tuple[Any, Any]], values: list[tuple[Any, Any]], mine_rows: Any,
             their_rows: Any) -> tuple[Any, Any]:
    """Masks over the scored persons ("mine") and the history persons ("theirs"): rows (of mine_rows /
    their_rows) whose key has two or more distinct given values of some column among those rows.

    A rule that merges mine with theirs on the keys and fires only where a value differs between the
    two sides (both given) can only fire on such keys; every other row is dropped before the merge
    (most documents are the same crew member's on the same vessel call after call). Values are compared
    as coded, which can only keep more rows than the rule's own comparison, never fewer. `keys` and
    `values` are (mine's codes, theirs's codes) pairs from `joint_codes` (-1: not given).
    """
    import numpy as np
    import pandas as pd

    n = len(keys[0][0])
    rows = np.concatenate([np.asarray(mine_rows, dtype=bool), np.asarray(their_rows, dtype=bool)])
    key = None
    for a, b in keys:  # one integer per key over both sides (a missing key is a key of its own)
        k = np.concatenate([a, b]) + 1
        key = k if key is None else pd.factorize(key * (int(k.max(initial=0)) + 1) + k)[0].astype(np.int64)
    if key is None or not rows.any():
        return np.zeros(n, dtype=bool), np.zeros(len(rows) - n, dtype=bool)
    size = int(key.max()) + 1
    varies = np.zeros(size, dtype=bool)
    for a, b in values:
        codes = np.concatenate([a, b])
        given = rows & (codes >= 0)
        k, c = key[given], codes[given]
        # two distinct values under a key: its smallest and largest code differ
        lo = np.full(size, np.iinfo(np.int64).max, dtype=np.int64)
        hi = np.full(size, -1, dtype=np.int64)
        np.minimum.at(lo, k, c)
        np.maximum.at(hi, k, c)
        varies |= hi > lo
    hit = varies[key] & rows
    return hit[:n], hit[n:]


@rule(id="document-reused", title="Document used by another person in another call",
      category="history", weight=4, status="policy", history=True,
      source="Identity fraud with borrowed or forged documents (DOMAIN.md §7.6, SIF/TMT Document Verification "
             "Manual); data integrity across manifests",
      rationale="""A document number (same issuer, or issuer missing on one side) appears in another call
      within `window_days` under a different person: another name, or another date of birth. One passport
      is being used by several people. Numbers shorter than `min_length` are ignored.""",
      params=(Param("window_days", 365, "days before or after this call that are searched"),
              Param("min_length", 5, "shortest document number compared")))
def document_reused(d: RuleData, p: Mapping[str, Any]) -> pd.DataFrame:
    """A document number used under another name or date of birth in another call."""
    import pandas as pd

    if d.history_persons is None or len(d.history_persons) == 0:
        return no_hits()
    doc = joint_codes(d, "doc_number")
    # only documents seen under two names or two dates of birth can be reused
    keep_t, keep_h = _varying([doc], [joint_codes(d, "name_key"), joint_codes(d, "date_of_birth")],
                              _usable_docs(d, int(p["min_length"])), doc[1] >= 0)
    if not (keep_t.any() and keep_h.any()):  # no pair to compare (the common case)
        return no_hits()
    t = _doc_persons(d, keep_t)
    h = _history_docs(d, keep_h)
    m = t.merge(h[["doc_number", "doc_issuer", "name_key", "date_of_birth", "call_id", "call_time", "port",
                   "vessel_name"]], on="doc_number", suffixes=("", "_h"))
    issuer_ok = ~_diff(m["doc_issuer"], m["doc_issuer_h"])
    name_d = _diff(m["name_key"], m["name_key_h"])
    dob_d = (m["date_of_birth"].notna() & m["date_of_birth_h"].notna()
             & (m["date_of_birth"] != m["date_of_birth_h"])).fillna(False).astype(bool)
    m = m.assign(name_d=name_d, dob_d=dob_d)
    m = m[(m["call_id"] != m["call_id_h"]) & issuer_ok
          & ((m["call_time"] - m["call_time_h"]).abs() <= pd.Timedelta(days=int(p["window_days"])))
          & (name_d | dob_d)]
    if len(m) == 0:
        return no_hits()
    m = m.assign(gap=(m["call_time"] - m["call_time_h"]).abs()).sort_values(["version_id", "source_row", "gap"])
    m = m.drop_duplicates(["version_id", "source_row"])
    what = (pd.Series("another name", index=m.index).where(~m["dob_d"], "another date of birth")
            .where(~(m["name_d"] & m["dob_d"]), "another name and date of birth"))
    issuer = m["doc_issuer"].fillna("").astype("str").map(lambda s: f" ({s})" if s else "").astype("str")
    one = ("document " + m["doc_number"] + issuer + " (row " + m["source_row"].astype("str") + ") used "
           + m["call_time_h"].dt.strftime("%Y-%m-%d") + " at " + m["port_h"].astype("str") + " on "
           + m["vessel_name"].fillna("an unnamed vessel").astype("str") + " under " + what)
    m = m.assign(one=one)
    lists, _ = group_rows(m)
    ev = m.groupby("version_id", sort=False)["one"].agg("; ".join)
    return hits_frame(ev.index.to_series(), ev, lists.reindex(ev.index))


@rule(id="person-on-two-vessels", title="Same person on two vessels within a day",
      category="history", weight=4, status="policy", history=True,
      source="Crew-list abuse: persons posing as crew (ITIC/BIMCO), borrowed identities (DOMAIN.md §3.5)",
      rationale="""The same person (same document number and name) is listed on two different vessels whose
      calls are within `within_hours` of each other - one of the listings is false. A transfer at one port
      (arriving on one vessel, then departing on another from the same port) is not counted.""",
      params=(Param("within_hours", 24, "hours between the two calls"),))
def person_on_two_vessels(d: RuleData, p: Mapping[str, Any]) -> pd.DataFrame:
    """The same document and name on another vessel within within_hours."""
    import pandas as pd

    if d.history_persons is None or len(d.history_persons) == 0:
        return no_hits()
    doc, name = joint_codes(d, "doc_number"), joint_codes(d, "name_key")
    # only a document seen on two vessels can be on two vessels at once (keyed by the document alone:
    # a few more rows than by document and name, for one integer key instead of a numbered pair)
    keep_t, keep_h = _varying([doc], [joint_vessel_codes(d)], _usable_docs(d, 1) & (name[0] >= 0),
                              (doc[1] >= 0) & (name[1] >= 0))
    if not (keep_t.any() and keep_h.any()):
        return no_hits()
    t = _doc_persons(d, keep_t)
    h = _history_docs(d, keep_h)
    m = t.merge(h[["doc_number", "name_key", "call_id", "call_time", "port", "direction", "vessel_key",
                   "vessel_name", "imo"]], on=["doc_number", "name_key"], suffixes=("", "_h"))
    gap = m["call_time"] - m["call_time_h"]
    arr_then_dep = (((m["direction"] == "arrival") & (m["direction_h"] == "departure") & (gap <= pd.Timedelta(0)))
                    | ((m["direction"] == "departure") & (m["direction_h"] == "arrival") & (gap >= pd.Timedelta(0))))
    transfer = (m["port"] == m["port_h"]) & arr_then_dep
    m = m[(m["call_id"] != m["call_id_h"]) & _diff(m["vessel_key"], m["vessel_key_h"]) & ~transfer
          & (gap.abs() <= pd.Timedelta(hours=int(p["within_hours"])))]
    if len(m) == 0:
        return no_hits()
    m = m.assign(gap=(m["call_time"] - m["call_time_h"]).abs()).sort_values(["version_id", "source_row", "gap"])
    m = m.drop_duplicates(["version_id", "source_row"])
    imo = m["imo"].fillna("").astype("str").map(lambda s: f" (IMO {s})" if s else "").astype("str")
    one = ("document " + m["doc_number"] + " (row " + m["source_row"].astype("str") + ") also listed on "
           + m["vessel_name"].fillna("an unnamed vessel").astype("str") + imo + ", " + m["direction_h"].astype("str")
           + " " + m["port_h"].astype("str") + " " + _stamp(m["call_time_h"]) + ", " + _gap_text(m["gap"]) + " apart")
    m = m.assign(one=one)
    lists, _ = group_rows(m)
    ev = m.groupby("version_id", sort=False)["one"].agg("; ".join)
    return hits_frame(ev.index.to_series(), ev, lists.reindex(ev.index))


def _previous_calls(targets: pd.DataFrame, h: pd.DataFrame, *, same_port: bool, direction: str | None,
                    max_days: int, where: Any = None, h_where: Any = None,
                    cache: dict[Any, Any] | None = None) -> pd.DataFrame:
    """For each target call (the rows of `targets` where `where`, default all), the latest earlier call
    of the same vessel (and port when `same_port`; of that `direction` when given) among the rows of `h`
    where `h_where` at most `max_days` before it, unless that call is the target call itself (another
    version of it): the pairs a backward `merge_asof` with that tolerance and no exact matches gives,
    found with sorted integer keys on the few columns needed (a few calls each time: no per-operation
    costs). Columns: version_id, call_id (and port when `same_port`), call_time, prev_call_id,
    prev_version_id, prev_time; in call-time order. `cache` (a RuleData's): what does not depend on the
    arguments after `h` is worked out once for the rules that pair the same calls."""
    import numpy as np
    import pandas as pd

    if len(targets) > SMALL_PAIRS:  # many calls (a full score): merge_asof's fixed costs are nothing
        return _previous_calls_merged(targets if where is None else targets[np.asarray(where, dtype=bool)],
                                      h if h_where is None else h[np.asarray(h_where, dtype=bool)],
                                      same_port=same_port, direction=direction, max_days=max_days)
    by = ["vessel_key", "port"] if same_port else ["vessel_key"]
    base = _pairing_base(targets, h, {} if cache is None else cache)
    cmask = base["h_present"].copy()  # (changed below)
    if h_where is not None:
        cmask &= np.asarray(h_where, dtype=bool)
    if direction is not None:
        cmask &= (h["direction"] == direction).fillna(False).to_numpy(dtype=bool)
    lmask = base["targets_present"].copy()
    if where is not None:
        lmask &= np.asarray(where, dtype=bool)
    out_columns = ["version_id", "call_id", *by[1:], "call_time", "prev_call_id", "prev_version_id", "prev_time"]
    ctime, ltime, cns, lns = base["ctime"], base["ltime"], base["cns"], base["lns"]
    cand, left = np.flatnonzero(cmask & base["h_timed"]), np.flatnonzero(lmask & base["targets_timed"])
    if not (len(cand) and len(left)):
        return pd.DataFrame({c: pd.Series(dtype="object") for c in out_columns})
    # one integer per vessel (and port) over both sides, as merge_asof's `by` compares them (a
    # missing port is a value of its own)
    ccode, lcode = np.zeros(len(cand), dtype=np.int64), np.zeros(len(left), dtype=np.int64)
    for c in by:
        hc_codes, t_codes, width = base["codes", c]
        ccode, lcode = ccode * width + hc_codes[cand], lcode * width + t_codes[left]
    # candidates sorted by (vessel, time), original order among equals; a target's match is the last
    # candidate before it in that order, if of its vessel and strictly earlier
    order = np.lexsort((cand, cns[cand], ccode))
    ccode, cand = ccode[order], cand[order]
    lorder = np.argsort(lns[left], kind="stable")
    lcode, left = lcode[lorder], left[lorder]
    times = np.unique(np.concatenate([cns[cand], lns[left]]))
    width = len(times) + 1
    at = np.searchsorted(ccode * width + np.searchsorted(times, cns[cand]),
                         lcode * width + np.searchsorted(times, lns[left]), side="left") - 1
    found = (at >= 0) & (ccode[np.maximum(at, 0)] == lcode)
    prev = cand[np.maximum(at, 0)]
    found &= (lns[left] - cns[prev]) <= np.int64(max_days) * 86_400_000_000_000
    def taken(frame: pd.DataFrame, column: str, rows: Any) -> Any:  # the rows' values only, as objects
        return frame[column].take(rows).to_numpy(dtype=object)

    prev_call = taken(h, "call_id", prev)
    found &= prev_call != taken(targets, "call_id", left)
    rows, prev = left[found], prev[found]
    out = {"version_id": taken(targets, "version_id", rows), "call_id": taken(targets, "call_id", rows)}
    if same_port:
        out["port"] = taken(targets, "port", rows)
    out.update(call_time=ltime.iloc[rows].reset_index(drop=True), prev_call_id=prev_call[found],
               prev_version_id=taken(h, "version_id", prev), prev_time=ctime.iloc[prev].reset_index(drop=True))
    return pd.DataFrame(out)


# up to this many target calls, _previous_calls pairs them with sorted integer keys; more, with merge_asof
SMALL_PAIRS = 2000


def _pairing_base(targets: pd.DataFrame, h: pd.DataFrame, cache: dict[Any, Any]) -> dict[Any, Any]:
    """What _previous_calls reads of two call tables whatever it pairs: which calls have a vessel and a
    time, times as integers, and integer codes of vessel_key and port over both tables together (equal
    values, equal codes; a missing value is a value of its own, as merge_asof's `by` compares them)."""
    import numpy as np
    import pandas as pd

    key = ("pairing", id(targets), id(h))
    if key not in cache:
        ctime, ltime = _utc(h["call_time"]).dt.as_unit("ns"), _utc(targets["call_time"]).dt.as_unit("ns")
        base: dict[Any, Any] = {
            "h_present": np.array(present(h["vessel_key"]), dtype=bool),
            "targets_present": np.array(present(targets["vessel_key"]), dtype=bool),
            "ctime": ctime, "ltime": ltime, "cns": ctime.array.asi8, "lns": ltime.array.asi8,
            "h_timed": ~np.isnat(ctime.to_numpy(dtype="datetime64[ns]")),
            "targets_timed": ~np.isnat(ltime.to_numpy(dtype="datetime64[ns]"))}
        for c in ("vessel_key", "port"):
            codes, uniques = pd.factorize(pd.concat([h[c], targets[c]], ignore_index=True), use_na_sentinel=False)
            base["codes", c] = (codes[:len(h)], codes[len(h):], len(uniques) + 1)
        cache[key] = (targets, h, base)  # (the tables kept with it: their ids stay theirs)
    return cache[key][2]


def _previous_calls_merged(targets: pd.DataFrame, h: pd.DataFrame, *, same_port: bool, direction: str | None,
                           max_days: int) -> pd.DataFrame:
    """_previous_calls with a backward merge_asof (tolerance, no exact matches), for many calls."""
    import pandas as pd

    by = ["vessel_key", "port"] if same_port else ["vessel_key"]
    cand = h if direction is None else h[(h["direction"] == direction).fillna(False).to_numpy(dtype=bool)]
    cand = cand[present(cand["vessel_key"]).to_numpy(dtype=bool)][[*by, "call_time", "call_id", "version_id"]]
    cand = cand.rename(columns={"call_id": "prev_call_id", "version_id": "prev_version_id"})
    cand = cand.assign(prev_time=_utc(cand["call_time"]), call_time=_utc(cand["call_time"]))
    left = targets[present(targets["vessel_key"]).to_numpy(dtype=bool)][["version_id", "call_id", *by, "call_time"]]
    left = left.assign(call_time=_utc(left["call_time"]))
    columns = ["version_id", "call_id", *by[1:], "call_time", "prev_call_id", "prev_version_id", "prev_time"]
    if len(left) == 0 or len(cand) == 0:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    merged = pd.merge_asof(left.sort_values("call_time", kind="stable"), cand.sort_values("call_time", kind="stable"),
                           on="call_time", by=by, direction="backward", allow_exact_matches=False,
                           tolerance=pd.Timedelta(days=max_days))
    merged = merged[merged["prev_version_id"].notna() & (merged["prev_call_id"] != merged["call_id"])]
    return merged[columns].reset_index(drop=True)


def _present_in(mine_key: Any, mine: Mapping[str, Any], their_key: Any, theirs: Mapping[str, Any]) -> Any:
    """Per row of `mine`: is the same document or name among `theirs` rows of the same key?

    Keys are integers (a call, a pair of calls); `mine` and `theirs` map "doc_number", "name_key" and
    "date_of_birth" to their `joint_codes` on those rows (-1: not given). An exact match of integer
    pairs, as a merge on the strings would make.
    """
    import numpy as np

    n = len(mine_key)
    found = np.zeros(n, dtype=bool)
    if n == 0 or len(their_key) == 0:
        return found
    mk, tk = np.asarray(mine_key, dtype=np.int64), np.asarray(their_key, dtype=np.int64)
    md, td = mine["date_of_birth"], theirs["date_of_birth"]
    for col in ("doc_number", "name_key"):
        mc, tc = mine[col], theirs[col]
        mgiven, tgiven = (mc >= 0) & ~found, tc >= 0  # a row found by its document needs no name match
        if col == "name_key":
            # a name alone is weak (crews share common names): with a date of birth on both sides,
            # the name counts only together with it (the date joins the key); without one, the name
            # alone still counts
            dwidth = int(max(md.max(initial=0), td.max(initial=0))) + 1
            sure, their_sure = mgiven & (md >= 0), tgiven & (td >= 0)
            found[sure] |= _pairs_in(mk[sure] * dwidth + md[sure], mc[sure],
                                     tk[their_sure] * dwidth + td[their_sure], tc[their_sure])
            mgiven = mgiven & (md < 0)
        found[mgiven] |= _pairs_in(mk[mgiven], mc[mgiven], tk[tgiven], tc[tgiven])
    return found


def _pairs_in(mine_key: Any, mine_code: Any, their_key: Any, their_code: Any) -> Any:
    """Per (key, code) pair of mine: is the same pair among theirs? (non-negative integers, hashed as one)"""
    import numpy as np
    import pandas as pd

    if len(mine_code) == 0 or len(their_code) == 0:
        return np.zeros(len(mine_code), dtype=bool)
    keys = np.concatenate([mine_key, their_key])
    codes = np.concatenate([mine_code, their_code])
    width = int(codes.max()) + 1
    if int(keys.max()) >= 2**62 // width:  # the pairs would overflow: number the keys first
        keys = pd.factorize(keys)[0].astype(np.int64)
    pairs = keys * width + codes
    n = len(mine_code)
    return pd.Series(pairs[:n]).isin(pairs[n:]).to_numpy()


def _pair_of_persons(d: RuleData, pairs: pd.DataFrame) -> Any:
    """Per scored person: the row in `pairs` (one per scored call, column version_id) of its call's
    pair, -1 when its call has none."""
    import numpy as np

    pair_of_call = np.full(len(d.calls), -1, dtype=np.int64)
    pair_of_call[call_positions(pairs["version_id"], d.calls)] = np.arange(len(pairs))
    at = person_call_rows(d.persons, d.calls)
    return np.where(at >= 0, pair_of_call[np.maximum(at, 0)], -1)


def _codes_at(d: RuleData, side: int, rows: Any) -> dict[str, Any]:
    """The document, name and date-of-birth codes of some rows of the persons (side 0) or the
    history persons (side 1)."""
    return {c: joint_codes(d, c)[side][rows] for c in ("doc_number", "name_key", "date_of_birth")}


@rule(id="crew-missing-on-departure", title="Crew who arrived are missing on departure",
      category="history", weight=3, status="verified", history=True,
      source="CBP Vessel Inspection Guide: deserters and absconders; crew mustering (DOMAIN.md §3.5)",
      rationale="""Crew on the vessel's arrival list at this port (its latest arrival within `max_days`
      before this departure) who are not on the departure list, by document number or name, and whose
      arrival entry does not name this port as their port of disembarkation (a planned sign-off). Crew who
      vanish in port may be absconders or smuggled persons posing as crew. Departures without a crew list
      are not judged.""",
      params=(Param("max_days", 30, "longest stay in port between the arrival and the departure"),))
def crew_missing_on_departure(d: RuleData, p: Mapping[str, Any]) -> pd.DataFrame:
    """Arrival crew absent from the departure list without a sign-off."""
    import numpy as np
    import pandas as pd

    if d.history_calls is None or d.history_persons is None:
        return no_hits()
    deps = ((d.calls["direction"] == "departure") & (d.calls["crew_listed"] > 0)).fillna(False).to_numpy(dtype=bool)
    pairs = _previous_calls(d.calls, d.history_calls, same_port=True, direction="arrival", max_days=int(p["max_days"]),
                            where=deps, cache=d.cache)
    if len(pairs) == 0:
        return no_hits()
    pairs = pairs.reset_index(drop=True)
    hp, hc = d.history_persons, d.history_calls
    hrow = hp["hcall_row"].to_numpy(dtype=np.int64)
    # the arrival crew of each pair (an arrival may pair with more than one departure), in the
    # history persons' order, as integer rows; only they and the paired departures' crew are compared
    arrival = call_positions(pairs["prev_version_id"], hc)
    is_arrival = np.zeros(len(hc), dtype=bool)
    is_arrival[arrival] = True
    ai = np.flatnonzero((hp["role"] == "crew").to_numpy(dtype=bool) & is_arrival[hrow])
    if len(ai) == 0:
        return no_hits()
    # each arrival crew row with each pair of its arrival (rows in order, then pairs in order: as an
    # inner merge on the arrival gives them), by binary search over the pairs sorted by arrival
    by_arrival = np.argsort(arrival, kind="stable")
    lo = np.searchsorted(arrival[by_arrival], hrow[ai], side="left")
    count = np.searchsorted(arrival[by_arrival], hrow[ai], side="right") - lo
    rows = np.repeat(ai, count)
    pair = by_arrival[np.repeat(lo, count) + np.arange(len(rows)) - np.repeat(np.cumsum(count) - count, count)]
    dep_pair = _pair_of_persons(d, pairs)
    di = np.flatnonzero((d.persons["role"] == "crew").to_numpy(dtype=bool) & (dep_pair >= 0))
    here = _present_in(pair, _codes_at(d, 1, rows), dep_pair[di], _codes_at(d, 0, di))
    port = pairs["port"].to_numpy(dtype=object)[pair]
    signed_off = (hp["disembark_port"].iloc[rows].astype("str").str.upper().to_numpy(dtype=object) == port)
    keep = ~here & ~signed_off.astype(bool)
    if not keep.any():
        return no_hits()
    missing = pd.DataFrame({"version_id": pairs["version_id"].to_numpy(dtype=object)[pair[keep]],
                            "prev_call_id": pairs["prev_call_id"].to_numpy(dtype=object)[pair[keep]],
                            "source_row": hp["source_row"].to_numpy()[rows[keep]]})
    missing = missing.astype({"version_id": "str", "prev_call_id": "str"})
    _, texts = group_rows(missing)
    g = missing.groupby("version_id", sort=False)
    n = g.size()
    arr_id = g["prev_call_id"].first()
    ev = (n.astype("str") + n.map(lambda k: " crew member" if k == 1 else " crew members").astype("str")
          + " on the arrival list " + arr_id + n.map(lambda k: " (row " if k == 1 else " (rows ").astype("str")
          + texts.reindex(n.index)
          + ") not on this departure list")
    return hits_frame(n.index.to_series(), ev)


@rule(id="crew-turnover", title="More than half the crew changed since the previous call",
      category="history", weight=1, status="policy", history=True,
      source="ITIC/BIMCO: migrants posing as crew arrive for 'crew changes'; the 50% share is a PIU choice",
      rationale="""Compared with the vessel's previous call (any port, within `max_days`) that has a crew
      list, more than `max_share` of this call's crew are new (by document number or name). Calls with fewer
      than `min_crew` crew are not judged.""",
      params=(Param("max_share", 0.5, "share of new crew (0-1) that is accepted", high=1),
              Param("max_days", 30, "the previous call must be at most this many days earlier"),
              Param("min_crew", 4, "smallest crew judged")))
def crew_turnover(d: RuleData, p: Mapping[str, Any]) -> pd.DataFrame:
    """More than max_share of the crew is new since the vessel's previous call."""
    import numpy as np

    if d.history_calls is None or d.history_persons is None:
        return no_hits()
    hp, hc = d.history_persons, d.history_calls
    hrow = hp["hcall_row"].to_numpy(dtype=np.int64)
    h_crew = (hp["role"] == "crew").to_numpy(dtype=bool)
    with_crew = np.zeros(len(hc), dtype=bool)
    with_crew[hrow[h_crew]] = True
    targets = (d.calls["crew_listed"] >= int(p["min_crew"])).fillna(False).to_numpy(dtype=bool)
    pairs = _previous_calls(d.calls, hc, same_port=False, direction=None, max_days=int(p["max_days"]),
                            where=targets, h_where=with_crew, cache=d.cache)
    if len(pairs) == 0:
        return no_hits()
    pairs = pairs.reset_index(drop=True)
    # integer rows only: each scored call's pair, each pair's previous call in the history calls
    pair = _pair_of_persons(d, pairs)
    ci = np.flatnonzero((d.persons["role"] == "crew").to_numpy(dtype=bool) & (pair >= 0))
    prev = call_positions(pairs["prev_version_id"], hc)
    is_prev = np.zeros(len(hc), dtype=bool)
    is_prev[prev] = True
    pi = np.flatnonzero(h_crew & is_prev[hrow])
    known = _present_in(prev[pair[ci]], _codes_at(d, 0, ci), hrow[pi], _codes_at(d, 1, pi))
    total = np.bincount(pair[ci], minlength=len(pairs))
    new = np.bincount(pair[ci][~known], minlength=len(pairs))
    hit = (total > 0) & (new / np.maximum(total, 1) > float(p["max_share"]))
    if not hit.any():
        return no_hits()
    fresh = ci[~known & hit[pair[ci]]]
    lists, texts = group_rows(d.persons[["version_id", "source_row"]].iloc[fresh])
    info = pairs[hit].assign(total=total[hit], new=new[hit]).set_index("version_id").sort_index()
    vids = info.index
    gap = _utc(info["call_time"]) - _utc(info["prev_time"])
    pct = (info["new"] * 100 / info["total"]).round().astype("int64").astype("str")
    ev = (info["new"].astype("str") + " of " + info["total"].astype("str") + " crew (" + pct
          + "%) were not on the crew list of the previous call " + info["prev_call_id"].astype("str") + ", "
          + _gap_text(gap) + " earlier" + info["new"].map(lambda k: " (row " if k == 1 else " (rows ").astype("str")
          + texts.reindex(vids) + ")")
    return hits_frame(vids.to_series(), ev, lists.reindex(vids))
