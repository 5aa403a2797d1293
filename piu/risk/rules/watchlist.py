"""Watchlist rules: persons, documents and vessels already known to partners or sanctions lists.

Entries reach the rules as reference tables (`RuleData.reference["watchlist_persons"]`,
`["watchlist_documents"]`, `["watchlist_vessels"]`: active entries in the `watchlists` schema of
`piu.watchlist`). Matching is `piu.matching`; every hit says which row matched which entry on
which list, why the entry is listed, and how the match was made.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from piu.risk.registry import MAX_WEIGHT, Param, RuleData, hits_frame, no_hits, rule

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

SCREENING = ("OpenSanctions nomenklatura/yente matching model and 0.70 threshold (DOMAIN.md §6); "
             "piu.matching")


def _entries(d: RuleData, key: str) -> pd.DataFrame | None:
    frame = d.reference.get(key)
    if frame is None or len(frame) == 0:
        return None
    return frame.reset_index(drop=True)


def _evidence(rows: pd.Series, entries: pd.DataFrame, entry_pos: pd.Series, explanation: pd.Series,
              what: str = "row") -> pd.Series:
    """'row 14 matches entry W-0042 on list 'blo-2026' (reason: ...): name 0.93 ...' per match."""
    e = entries.iloc[entry_pos.to_numpy()]
    reason = e["reason"].astype("str").where(e["reason"].notna(), "no reason given").to_numpy()
    rows_txt = rows.astype("Int64").astype("str").fillna("?").to_numpy() if what == "row" else rows.to_numpy()
    prefix = f"{what} " if what == "row" else ""
    import pandas as pd
    return pd.Series(prefix + rows_txt + " matches entry " + e["entry_id"].astype("str").to_numpy()
                     + " on list '" + e["list_name"].astype("str").to_numpy() + "' (reason: " + reason + "): "
                     + explanation.astype("str").to_numpy())


def _per_call(version_id: pd.Series, evidence: pd.Series, rows: pd.Series, strong: pd.Series,
              weak_weight: int) -> pd.DataFrame:
    """One hit per call: evidence joined, source rows listed, the weak weight when no match is strong."""
    import pandas as pd

    f = pd.DataFrame({"version_id": version_id.to_numpy(), "evidence": evidence.to_numpy(),
                      "row": rows.to_numpy(), "strong": strong.to_numpy()})
    f = f.sort_values(["version_id", "strong", "row"], ascending=[True, False, True])
    g = f.groupby("version_id", sort=True)
    ev = g["evidence"].agg("; ".join)
    rows_list = g["row"].agg(lambda s: sorted({int(v) for v in s.dropna()}))  # one list per hit call
    any_strong = g["strong"].any()
    weight = pd.Series(pd.NA, index=any_strong.index, dtype="Int64").where(any_strong, weak_weight)
    return hits_frame(ev.index.to_series(), ev, rows_list, weight)


@rule(id="watchlist-person", title="Person on a watchlist", category="watchlist", weight=5,
      status="policy", source=SCREENING,
      rationale="""A listed person matches a person entry of a watchlist: by document number (and issuer when
      both are known), or by name (transliterated, spelling variants and token order ignored) with the date of
      birth; a match on the name alone counts less. Qualifiers lower the score when date of birth, nationality
      or gender disagree. Every hit needs an officer's review: a name match is a lead, not an identification.""",
      params=(Param("threshold", 0.70, "match score (0-1) from which a person matches an entry", high=1),
              Param("name_only_weight", 3, "weight when no match is by document or by name and date of birth",
                    high=MAX_WEIGHT)))
def watchlist_person(d: RuleData, p: Mapping[str, Any]) -> pd.DataFrame:
    """Persons matching person entries by document, by name and date of birth, or by name only."""
    from piu.matching import screen_persons

    entries = _entries(d, "watchlist_persons")
    persons = d.persons.reset_index(drop=True)
    if entries is None or len(persons) == 0:
        return no_hits()
    m = screen_persons(persons, entries, threshold=float(p["threshold"]))
    if len(m) == 0:
        return no_hits()
    pr = persons.iloc[m["person"].to_numpy()]
    ev = _evidence(pr["source_row"].reset_index(drop=True), entries, m["entry"], m["explanation"])
    strong = m["basis"].isin(["document", "name+dob"])
    return _per_call(pr["version_id"], ev, pr["source_row"], strong, int(p["name_only_weight"]))


@rule(id="watchlist-document", title="Document on a watchlist", category="watchlist", weight=5,
      status="policy", source=SCREENING,
      rationale="""A listed person's document number is on a watchlist of lost, stolen, forged or misused
      documents (numbers compared without spaces, dashes or case; the issuer must agree when both are known).
      Whoever carries it, the document itself is the problem.""")
def watchlist_document(d: RuleData, p: Mapping[str, Any]) -> pd.DataFrame:
    """Persons whose document number is on a document watchlist."""
    from piu.matching import screen_documents

    entries = _entries(d, "watchlist_documents")
    persons = d.persons.reset_index(drop=True)
    if entries is None or len(persons) == 0:
        return no_hits()
    m = screen_documents(persons, entries)
    if len(m) == 0:
        return no_hits()
    pr = persons.iloc[m["person"].to_numpy()]
    ev = _evidence(pr["source_row"].reset_index(drop=True), entries, m["entry"], m["explanation"])
    import pandas as pd
    return _per_call(pr["version_id"], ev, pr["source_row"], pd.Series(True, index=ev.index), 5)


@rule(id="watchlist-vessel", title="Vessel on a watchlist", category="watchlist", weight=5,
      status="policy", source=SCREENING,
      rationale="""The vessel matches a vessel entry of a watchlist: same IMO number or MMSI, or the same name
      (type prefixes such as MV or KM ignored) together with the same flag or call sign. Vessels change names
      and flags; the IMO number stays with the hull.""")
def watchlist_vessel(d: RuleData, p: Mapping[str, Any]) -> pd.DataFrame:
    """Calls whose vessel matches a vessel entry by IMO, MMSI, or name with flag or call sign."""
    import pandas as pd

    from piu.matching import screen_vessels

    entries = _entries(d, "watchlist_vessels")
    calls = d.calls.reset_index(drop=True)
    if entries is None or len(calls) == 0:
        return no_hits()
    m = screen_vessels(calls, entries)
    if len(m) == 0:
        return no_hits()
    c = calls.iloc[m["call"].to_numpy()]
    ev = _evidence(pd.Series(["vessel"] * len(m)), entries, m["entry"], m["explanation"], what="vessel")
    f = pd.DataFrame({"version_id": c["version_id"].to_numpy(), "evidence": ev.to_numpy()})
    g = f.groupby("version_id", sort=True)["evidence"].agg("; ".join)
    return hits_frame(g.index.to_series(), g)
