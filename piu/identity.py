"""Identity across the store: who and which vessel appears in which calls, under which names.

Both indexes are computed on read from the current call versions, so they can never fall out of
step with ingest (an amended manifest supersedes its earlier version here as everywhere):

* the person index (`person_index`) gives every listed person a `person_key`: the document
  (issuer and number) when there is one, else the spelling skeleton of the name with the date of
  birth, so "NGUYEN VAN HUNG" and "Hung Nguyễn Văn" born the same day share a key;
* the vessel index (`vessel_index`) gives every call its `vessel_key` (IMO, else MMSI, else name,
  as in `piu.risk.features.vessel_key`) and the crew and passenger counts of its lists.

`person_calls` and `vessel_calls` answer `piu person` and `piu vessel`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from piu.errors import UsageError
from piu.matching import DEFAULT_THRESHOLD

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from piu.queries import ScoreChoice
    from piu.store import Store

CALL_COLUMNS = ["call_id", "version_id", "ingest_id", "call_time", "port", "direction", "vessel_name",
                "vessel_name_key", "imo", "mmsi", "call_sign", "flag", "declared_crew", "declared_passengers"]
PERSON_COLUMNS = ["version_id", "role", "rank", "family_name", "given_names", "name_key", "nationality",
                  "date_of_birth", "gender", "doc_type", "doc_number", "doc_issuer", "source_file", "source_row"]
PERSON_OUTPUT = ["score", "match", "call_id", "call_time", "port", "direction", "vessel_name", "imo", "role",
                 "rank", "family_name", "given_names", "date_of_birth", "nationality", "doc_type", "doc_number",
                 "doc_issuer", "source_file", "source_row"]
VESSEL_OUTPUT = ["call_time", "port", "direction", "call_id", "vessel_name", "imo", "mmsi", "call_sign", "flag",
                 "crew_listed", "passengers_listed", "declared_crew", "declared_passengers", "score", "band"]


def _current(store: Store, columns: list[str] | None = None) -> pd.DataFrame:
    from piu.queries import current_calls

    return current_calls(store, columns=columns or CALL_COLUMNS)


def _persons(store: Store, version_ids: Iterable[str], columns: list[str] | None = None) -> pd.DataFrame:
    from piu.queries import persons_of

    return persons_of(store, version_ids, columns=columns or PERSON_COLUMNS)


def person_key(persons: pd.DataFrame) -> pd.Series:
    """A person's identity key: 'D:issuer:number' when a document is given, else 'N:name skeleton:dob'."""
    import pandas as pd

    from piu.matching import NameTable, doc_key

    doc = doc_key(persons["doc_number"].reset_index(drop=True))
    issuer = persons["doc_issuer"].astype("str").reset_index(drop=True).fillna("")
    names = persons["name_key"].astype("str").reset_index(drop=True).fillna("")
    table = NameTable(names)
    skel = pd.Series(table.skeleton_keys()[table.ids(names)], dtype="str")
    dob = pd.to_datetime(persons["date_of_birth"].reset_index(drop=True), errors="coerce").dt.strftime("%Y-%m-%d").fillna("")
    key = ("N:" + skel + ":" + dob).where(doc == "", "D:" + issuer + ":" + doc)
    return pd.Series(key.to_numpy(), index=persons.index, dtype="str")


def person_index(store: Store) -> pd.DataFrame:
    """Every person of every current call version with call fields and a `person_key`."""
    calls = _current(store)
    persons = _persons(store, calls["version_id"])
    persons = persons.merge(calls.drop(columns=["ingest_id"]), on="version_id", how="left")
    persons["person_key"] = person_key(persons) if len(persons) else persons.get("name_key")
    return persons


def vessel_index(store: Store) -> pd.DataFrame:
    """Every current call with its `vessel_key` and the numbers of crew and passengers listed."""
    from piu.risk.features import vessel_key

    calls = _current(store)
    if len(calls) == 0:
        return calls.assign(vessel_key=[], crew_listed=[], passengers_listed=[])
    calls["vessel_key"] = vessel_key(calls)
    return _with_counts(store, calls)


def _with_counts(store: Store, calls: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    persons = _persons(store, calls["version_id"], columns=["version_id", "role"])
    counts = pd.crosstab(persons["version_id"], persons["role"]) if len(persons) else pd.DataFrame()
    for role, col in (("crew", "crew_listed"), ("passenger", "passengers_listed")):
        per = counts[role] if role in counts.columns else pd.Series(dtype="int64")
        calls[col] = calls["version_id"].map(per).fillna(0).astype("int64")
    return calls


def _parse_dob(text: str | None) -> Any:
    if text is None:
        return None
    import pandas as pd

    from piu.io.normalise import parse_dates

    parsed = parse_dates(pd.Series([text], dtype="str"))
    if bool(parsed.invalid.iloc[0]) or pd.isna(parsed.values.iloc[0]):
        raise UsageError("--dob is not a date", hint="write it as YYYY-MM-DD or DD/MM/YYYY")
    return parsed.values.iloc[0].date()


def person_calls(store: Store, name: str | None, *, dob: str | None = None, doc: str | None = None,
                 threshold: float = DEFAULT_THRESHOLD) -> pd.DataFrame:
    """Every current call in which this person or a likely match appears, best match first."""
    import pandas as pd

    from piu.matching import screen_documents, screen_persons

    if not (name or "").strip() and not (doc or "").strip():
        raise UsageError("give a name, or --doc NUMBER", hint="e.g. piu person 'Nguyen Van Hung' --dob 1985-03-12")
    calls = _current(store)
    persons = _persons(store, calls["version_id"]).reset_index(drop=True)
    query = pd.DataFrame([{"name": name or "", "date_of_birth": _parse_dob(dob), "doc_number": doc,
                           "doc_issuer": None}])
    if len(persons) == 0:
        return pd.DataFrame(columns=PERSON_OUTPUT)
    if (name or "").strip():
        # one query: compare against every distinct name (no blocking), so nothing is missed
        m = screen_persons(persons, query, threshold=threshold, blocking=False)
    else:
        m = screen_documents(persons, query)
    if len(m) == 0:
        return pd.DataFrame(columns=PERSON_OUTPUT)
    hits = persons.iloc[m["person"].to_numpy()].reset_index(drop=True)
    hits["score"] = m["score"].round(2).to_numpy()
    hits["match"] = m["explanation"].to_numpy()
    hits = hits.merge(calls.drop(columns=["ingest_id"]), on="version_id", how="left")
    hits = hits.sort_values(["score", "call_time", "source_row"], ascending=[False, True, True])
    return hits[PERSON_OUTPUT].reset_index(drop=True)


_IMO = re.compile(r"^\s*(?:IMO\s*:?\s*)?(\d{7})\s*$", re.IGNORECASE)
_MMSI = re.compile(r"^\s*(?:MMSI\s*:?\s*)?(\d{9})\s*$", re.IGNORECASE)


def vessel_calls(store: Store, query: str,
                 choice: ScoreChoice | None = None) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """The vessel's calls (by IMO, MMSI or name) over time, and its names, flags and MMSIs with dates;
    each call's score is its latest, or the one `choice` picks (noted there when of another rule set)."""
    import pandas as pd

    from piu.matching import fold_series, vessel_name_key
    from piu.queries import latest_scores

    calls = _current(store)
    if not query.strip():
        raise UsageError("give an IMO number, an MMSI or a vessel name", hint="e.g. piu vessel 9074729")
    if len(calls) == 0:
        return pd.DataFrame(columns=VESSEL_OUTPUT), {}
    imo = calls["imo"].astype("str").fillna("")
    mmsi = calls["mmsi"].astype("str").fillna("")
    if m := _IMO.match(query):
        seed = imo == m.group(1)
    elif m := _MMSI.match(query):
        seed = mmsi == m.group(1)
    else:
        key = vessel_name_key(query)
        seed = fold_series(calls["vessel_name"].astype("str"), vessel_name_key) == key
    # the vessel's identity: IMO numbers and MMSIs seen on its calls bring in calls under other names
    imos = set(imo[seed & (imo != "")])
    mmsis = set(mmsi[seed & (mmsi != "")])
    mask = seed.copy()
    for _ in range(2):
        mask = mask | imo.isin(imos) & (imo != "") | mmsi.isin(mmsis) & (mmsi != "")
        imos |= set(imo[mask & (imo != "")])
        mmsis |= set(mmsi[mask & (mmsi != "")])
    found = calls[mask.to_numpy()].copy()
    if len(found) == 0:
        return pd.DataFrame(columns=VESSEL_OUTPUT), {}
    found = _with_counts(store, found)
    scores = latest_scores(store, prefer=choice.version if choice is not None else None)
    if len(scores):
        if choice is not None:
            choice.count(scores[scores["version_id"].isin(found["version_id"])])
        s = scores.set_index("version_id")
        found["score"] = found["version_id"].map(s["score"]).astype("Int64")
        found["band"] = found["version_id"].map(s["band"])
    else:
        found["score"], found["band"] = pd.NA, None
    found = found.sort_values(["call_time", "call_id"]).reset_index(drop=True)
    return found[VESSEL_OUTPUT], _history(found)


def _history(found: pd.DataFrame) -> dict[str, list[str]]:
    """Names, flags and MMSIs in order of first use, each with its first and last call date."""
    out: dict[str, list[str]] = {}
    day = found["call_time"].dt.strftime("%Y-%m-%d")
    for col in ("vessel_name", "flag", "mmsi", "call_sign"):
        g = found.assign(_d=day).dropna(subset=[col]).groupby(col, sort=False)["_d"].agg(["min", "max"])
        g = g.sort_values("min")
        out[col] = [f"{v} ({a}..{b})" if a != b else f"{v} ({a})" for v, a, b in zip(g.index, g["min"], g["max"])]
    return out

