"""Manifest integrity rules: counts, duplicate and expired documents, minors in the crew."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from piu.risk.features import call_column, call_rows, group_rows, joint_codes, person_call_rows, repeated, vessel_words
from piu.risk.registry import MAX_WEIGHT, Param, RuleData, hits_frame, merge_hits, no_hits, rule

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

FAL1 = "IMO FAL Convention, FAL Form 1 General Declaration (numbers of crew and passengers), FAL Forms 5 and 6"


def _plural(n: pd.Series, one: str, many: str) -> pd.Series:
    """'1 person' / '3 persons' for a column of counts."""
    return n.astype("str") + " " + n.map(lambda k: one if k == 1 else many).astype("str")


def _rows_word(lists: pd.Series) -> pd.Series:
    """'row' or 'rows' for a column of row lists."""
    return lists.map(lambda r: "row" if len(r) == 1 else "rows").astype("str")


@rule(id="declared-count-mismatch", title="Persons listed differ from the General Declaration",
      category="manifest", weight=3, status="verified", source=FAL1,
      rationale="""The General Declaration (FAL Form 1) states the number of crew and passengers; the
      crew and passenger lists (FAL Forms 5 and 6) must match it. A difference means persons were added
      to or left off the lists. Fires only when at least one person is listed and the declared number is
      given; a difference up to `tolerance` is accepted.""",
      params=(Param("tolerance", 0, "difference between listed and declared numbers that is accepted"),))
def declared_count_mismatch(d: RuleData, p: Mapping[str, Any]) -> pd.DataFrame:
    """Crew or passengers listed differ from the numbers declared on FAL 1."""
    c = d.calls
    listed = c["persons_listed"] > 0
    tol = int(p["tolerance"])
    crew_bad = (listed & ((c["crew_listed"] - c["declared_crew"]).abs() > tol)).fillna(False).astype(bool)
    pax_bad = (listed & ((c["passengers_listed"] - c["declared_passengers"]).abs() > tol)).fillna(False).astype(bool)
    if not (crew_bad | pax_bad).any():
        return no_hits()
    crew_txt = (c["crew_listed"].astype("str") + " crew listed, " + c["declared_crew"].astype("str") + " declared")
    pax_txt = (c["passengers_listed"].astype("str") + " passengers listed, "
               + c["declared_passengers"].astype("str") + " declared")
    both = crew_bad & pax_bad
    evidence = crew_txt.where(crew_bad, pax_txt).where(~both, crew_txt + "; " + pax_txt)
    hit = crew_bad | pax_bad
    return hits_frame(c.loc[hit, "version_id"], evidence[hit] + " on the General Declaration")


@rule(id="duplicate-document", title="Same document twice, or one person on both lists",
      category="manifest", weight=3, status="policy", source="Data integrity of FAL Forms 5 and 6 (DOMAIN.md §9 MAN-03)",
      rationale="""A document number (of the same issuer) appears on two rows of one call, or the same name
      and date of birth appear on both the crew and the passenger list. Either is a copy-paste error or a
      borrowed or forged identity. Document numbers shorter than `min_length` (placeholders like 'NA')
      are ignored.""",
      params=(Param("min_length", 5, "shortest document number compared"),))
def duplicate_document(d: RuleData, p: Mapping[str, Any]) -> pd.DataFrame:
    """The same document number twice in a call, or one person on the crew and passenger lists."""
    persons = d.persons
    doc = persons["doc_number"]
    doc_codes = joint_codes(d, "doc_number")[0]
    usable = (doc_codes >= 0) & (doc.str.len() >= int(p["min_length"])).fillna(False).to_numpy(dtype=bool)
    # duplicates are found on the two key columns, so only their rows are copied with every column
    # (integer keys: the call's row and the document's code, so no pair of strings is hashed per row)
    rows = call_rows(persons)
    usable[usable] = repeated(rows[usable], doc_codes[usable])
    out = []
    docs = persons[["version_id", "doc_number", "doc_issuer", "source_row"]][usable] if usable.any() else None
    if docs is not None:  # (no number twice in a call: the common case, no group-by)
        # the same number from two different issuers is two documents, not a duplicate
        issuers = docs.groupby(["version_id", "doc_number"])["doc_issuer"].transform("nunique")
        docs = docs[issuers <= 1]
    if docs is not None and len(docs):
        docs = docs.assign(issuer=docs.groupby(["version_id", "doc_number"])["doc_issuer"].transform("first"))
        key = docs["version_id"] + "\x1f" + docs["doc_number"]
        lists, texts = group_rows(docs.assign(k=key), "k")
        first = docs.assign(k=key).drop_duplicates("k").set_index("k")
        n = docs.assign(k=key).groupby("k").size()
        issuer = first["issuer"].fillna("").map(lambda s: f" ({s})" if s else "").astype("str")
        ev = ("document " + first["doc_number"] + issuer + " listed " + n.astype("str") + " times ("
              + _rows_word(lists) + " " + texts + ")")
        # hits_frame is positional: call, evidence and rows all in the evidence's (key) order
        out.append(hits_frame(first["version_id"].reindex(ev.index), ev, lists.reindex(ev.index)))
    name_codes, dob_codes = joint_codes(d, "name_key")[0], joint_codes(d, "date_of_birth")[0]
    named = (name_codes >= 0) & (dob_codes >= 0)
    # a name and date of birth on both lists appears at least twice in its call: others cannot be on both
    named[named] = repeated(rows[named], name_codes[named], dob_codes[named])
    both = None
    if named.any():
        named = persons[["version_id", "role", "name_key", "date_of_birth", "source_row"]][named]
        roles = named.groupby(["version_id", "name_key", "date_of_birth"])["role"].transform("nunique")
        both = named[roles >= 2]
    if both is not None and len(both):
        key = both["version_id"] + "\x1f" + both["name_key"] + "\x1f" + both["date_of_birth"].astype("str")
        lists, texts = group_rows(both.assign(k=key), "k")
        first = both.assign(k=key).drop_duplicates("k").set_index("k")
        ev = "same name and date of birth on both the crew and the passenger list (rows " + texts + ")"
        out.append(hits_frame(first["version_id"].reindex(ev.index), ev, lists.reindex(ev.index)))
    return merge_hits(*out) if out else no_hits()


@rule(id="document-expired", title="Document expired on or before the call date",
      category="manifest", weight=2, status="verified",
      source="FAL Forms 5 and 6 (expiry date of identity document); DOMAIN.md §9 MAN-02",
      rationale="""A travel or identity document that expired on or before the call date cannot be used to
      enter or leave; it may be a lapsed, borrowed or forged document. The weight rises to `weight_many`
      when `many` or more persons of one call carry expired documents. Persons without an expiry date are
      not counted.""",
      params=(Param("many", 3, "number of persons from which weight_many applies"),
              Param("weight_many", 3, "weight when `many` or more documents expired", high=MAX_WEIGHT)))
def document_expired(d: RuleData, p: Mapping[str, Any]) -> pd.DataFrame:
    """Documents that expired on or before the call date."""
    exp = d.persons[d.persons["doc_expired"]]
    if len(exp) == 0:
        return no_hits()
    n = exp.groupby("version_id", sort=False).size()
    lists, texts = (s.reindex(n.index) for s in group_rows(exp))  # in n's order: hits_frame is positional
    date = exp.groupby("version_id", sort=False)["call_date"].first().dt.strftime("%Y-%m-%d")
    ev = (_plural(n, "document", "documents") + " expired on or before " + date + " (" + _rows_word(lists) + " " + texts + ")")
    weight = n.map(lambda k: int(p["weight_many"]) if k >= int(p["many"]) else None)
    return hits_frame(n.index.to_series(), ev, lists, weight.astype("Int64"))


@rule(id="document-missing", title="Person without a document number",
      category="manifest", weight=2, status="verified",
      source="FAL Forms 5 and 6 (nature and number of identity document)",
      rationale="""Every person on a crew or passenger list must be identified by a travel or identity
      document. A person without a document number cannot be checked against any list.""")
def document_missing(d: RuleData, p: Mapping[str, Any]) -> pd.DataFrame:
    """Persons without any document number."""
    miss = d.persons[d.persons["doc_missing"]]
    if len(miss) == 0:
        return no_hits()
    n = miss.groupby("version_id", sort=False).size()
    lists, texts = (s.reindex(n.index) for s in group_rows(miss))  # in n's order: hits_frame is positional
    ev = _plural(n, "person", "persons") + " without a document number (" + _rows_word(lists) + " " + texts + ")"
    return hits_frame(n.index.to_series(), ev, lists)


@rule(id="minor-in-crew", title="Child in the crew",
      category="manifest", weight=4, status="unverified",
      source="ILO C188 Work in Fishing Convention (minimum age 16) [not checked against the text]; "
             "UNODC, Transnational Organized Crime in the Fishing Industry (2011): trafficking of children",
      rationale="""A crew member younger than `min_age_fishing` on a fishing vessel, or younger than
      `min_age_other` on any other vessel, on the call date. Children are trafficked for forced labour on
      fishing boats. When the vessel type is unknown the lower (fishing) age applies. Persons without a
      date of birth are not counted.""",
      params=(Param("min_age_fishing", 16, "minimum crew age on fishing vessels"),
              Param("min_age_other", 18, "minimum crew age on other vessels")))
def minor_in_crew(d: RuleData, p: Mapping[str, Any]) -> pd.DataFrame:
    """Crew members under the minimum age on the call date."""
    import numpy as np

    persons = d.persons
    age = persons["age_at_call"]
    # the vessel category of each person's call, compared as integers; only the young rows are copied
    fishing_call = ((d.calls["vessel_category"] == "fishing") | d.calls["vessel_category"].isna()).to_numpy(dtype=bool)
    at = person_call_rows(persons, d.calls)
    fishing = np.where(at >= 0, fishing_call[np.maximum(at, 0)], True)
    limit = np.where(fishing, int(p["min_age_fishing"]), int(p["min_age_other"]))
    ages = age.to_numpy(dtype="float64", na_value=np.nan)
    mask = (persons["role"] == "crew").to_numpy(dtype=bool) & (ages < limit) & (ages >= 0)
    if not mask.any():
        return no_hits()
    young = persons[["version_id", "age_at_call", "source_row"]][mask]
    young = young.assign(limit=limit[mask], category=call_column(young["version_id"], d.calls, "vessel_category"))
    young = young.sort_values(["version_id", "source_row"])
    lists, texts = group_rows(young)
    g = young.groupby("version_id", sort=False)
    ages = g["age_at_call"].agg(lambda s: ", ".join(str(int(v)) for v in s))
    kind = vessel_words(g["category"].first())
    lim = g["limit"].first().astype("str")
    ev = ("crew aged " + ages + " on " + kind + "; minimum age " + lim
          + " (" + _rows_word(lists) + " " + texts + ")")
    return hits_frame(ages.index.to_series(), ev, lists.reindex(ages.index))  # hits_frame is positional
