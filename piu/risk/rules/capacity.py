"""Capacity and purpose rules (IMO MSC/Circ.896: migrants travel on ships not manned, equipped or
licensed for passengers): overcapacity, passengers on non-passenger vessels, crew joined en route."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from piu.risk.features import group_rows, person_call_rows, vessel_words
from piu.risk.registry import Param, RuleData, hits_frame, no_hits, rule

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

MSC896 = "IMO MSC/Circ.896/Rev.1 (2001), interim measures against unsafe practices in the transport of migrants by sea"
NORMS = Path(__file__).resolve().parents[2] / "data" / "vessel_norms.csv"
NORM_COLUMNS = ("vessel_category", "gt_from", "gt_to", "max_persons")


def load_norms(path: str = "") -> pd.DataFrame:
    """Persons-aboard norms by vessel category and tonnage band (shipped, or an analyst's CSV)."""
    import csv

    import pandas as pd

    def number(text: str, missing: float) -> float:  # an empty or unreadable bound is open
        try:
            value = float(text)
        except ValueError:
            return missing
        return missing if value != value else value

    def count(text: str) -> int:  # inf, or beyond int64: a ValueError (reported), not an OverflowError
        value = float(text)
        if not -2.0**63 <= value < 2.0**63:
            raise ValueError("max_persons out of range")
        return int(value)

    # a few dozen rows: read in Python (pandas' CSV reader costs more to start than to read them)
    with open(path or NORMS, newline="", encoding="utf-8-sig") as fh:
        # as pandas read them: blank (or only white space) lines skipped, a repeated column's first one used
        rows = [r for r in csv.reader(fh) if len(r) > 1 or (r and r[0].strip())]
    header = rows[0] if rows else []
    missing = [c for c in NORM_COLUMNS if c not in header]
    if missing:  # (as a missing column of a DataFrame: _check_norms_file reports it)
        raise KeyError(", ".join(missing))
    at = {c: header.index(c) for c in NORM_COLUMNS}
    columns = {c: [r[i] if i < len(r) else "" for r in rows[1:]] for c, i in at.items()}
    return pd.DataFrame({"vessel_category": pd.array(columns["vessel_category"], dtype="str"),
                         "gt_from": [number(v, 0.0) for v in columns["gt_from"]],
                         "gt_to": [number(v, float("inf")) for v in columns["gt_to"]],
                         "max_persons": pd.array([count(v) for v in columns["max_persons"]], dtype="int64")},
                        columns=list(NORM_COLUMNS))


def _check_norms_file(value: Any) -> str | None:
    if not value:
        return None
    if not os.path.isfile(value):
        return f"file {os.path.basename(str(value))} not found"
    try:
        load_norms(value)
    except (KeyError, ValueError) as exc:
        return f"file {os.path.basename(str(value))} is not a norms table ({type(exc).__name__}); " \
               f"columns: {', '.join(NORM_COLUMNS)}"
    return None


def _num_text(v: pd.Series) -> pd.Series:
    whole = (v % 1 == 0).fillna(False)
    return v.astype("str").where(~whole, v.round().astype("Int64").astype("str"))


@rule(id="overcapacity", title="More persons aboard than the vessel is certified or sized for",
      category="capacity", weight=5, status="policy",
      source=MSC896 + "; norms by type and tonnage are PIU policy (piu/data/vessel_norms.csv)",
      rationale="""Migrants are carried on ships not licensed or equipped for them. When the certified
      capacity is known, more persons aboard than certified fires. Otherwise the persons aboard are
      compared with a norm for the vessel's type and gross tonnage (times `norm_factor`); the shipped norms
      are a PIU choice, not an external standard: replace them with `norms_file` (CSV with columns
      vessel_category, gt_from, gt_to, max_persons). Passenger vessels without a known capacity, and vessels
      of unknown type or tonnage, are not judged by norm.""",
      params=(Param("norm_factor", 1.0, "multiplier applied to the norms"),
              Param("norms_file", "", "CSV of norms replacing the shipped ones ('' = shipped)",
                    check=_check_norms_file)))
def overcapacity(d: RuleData, p: Mapping[str, Any]) -> pd.DataFrame:
    """Persons aboard above the certified capacity, else above the norm for type and tonnage."""
    import pandas as pd

    c = d.calls
    aboard = c["persons_aboard"]
    cap_known = (c["capacity"] > 0).fillna(False).astype(bool)
    over_cap = (cap_known & (aboard > c["capacity"])).fillna(False).astype(bool)
    out = []
    if over_cap.any():
        cc = c[over_cap]
        out.append(hits_frame(cc["version_id"], cc["persons_aboard"].astype("str") + " persons aboard, certified for "
                              + cc["capacity"].astype("str")))
    norms = load_norms(p["norms_file"]) if p["norms_file"] else d.reference.get("vessel_norms")
    judged = (~cap_known & aboard.notna() & c["gross_tonnage"].notna() & c["vessel_category"].notna()).to_numpy(dtype=bool)
    if norms is not None and judged.any():
        # (the few columns first: the call features are many)
        rest = c[["version_id", "vessel_category", "gross_tonnage", "persons_aboard"]][judged]
        m = _over_norm(rest, norms, float(p["norm_factor"]))
        if len(m):
            ev = (m["persons_aboard"].astype("str") + " persons aboard a " + _num_text(m["gross_tonnage"]) + " GT "
                  + vessel_words(m["vessel_category"]).str.removeprefix("a ") + "; norm for its size is "
                  + m["limit"].astype("str"))
            out.append(hits_frame(m["version_id"], ev))
    return pd.concat(out, ignore_index=True) if out else no_hits()


def _over_norm(calls: pd.DataFrame, norms: pd.DataFrame, factor: float) -> pd.DataFrame:
    """The calls above the norm of their category and tonnage band (times `factor`), with `limit`: the
    rows an inner merge of the calls with the norms on the category, kept within the band, gives. Norm
    by norm (a few dozen) with numpy when no call falls in two bands; else by that merge."""
    import numpy as np

    category = calls["vessel_category"].to_numpy(dtype=object)
    tonnage = calls["gross_tonnage"].to_numpy(dtype=float, na_value=np.nan)
    limit = np.zeros(len(calls), dtype=np.int64)
    bands = np.zeros(len(calls), dtype=np.int64)
    for cat, low, high, most in zip(norms["vessel_category"].tolist(), norms["gt_from"].tolist(),
                                    norms["gt_to"].tolist(), norms["max_persons"].tolist()):
        inside = (category == cat) & (tonnage >= low) & (tonnage < high)
        limit[inside] = np.round(most * factor)
        bands += inside
    if (bands > 1).any():  # overlapping bands (an analyst's norms file): one row per band, as merged
        m = calls.merge(norms, on="vessel_category", how="inner")
        m = m[(m["gross_tonnage"] >= m["gt_from"]) & (m["gross_tonnage"] < m["gt_to"])]
        limit = (m["max_persons"] * factor).round().astype("int64")
        return m.assign(limit=limit)[m["persons_aboard"] > limit]
    over = (bands == 1) & (calls["persons_aboard"].to_numpy(dtype=float, na_value=np.nan) > limit)
    return calls[over].assign(limit=limit[over])


@rule(id="passengers-on-non-passenger-vessel", title="Passengers on a vessel not licensed for them",
      category="capacity", weight=4, status="unverified",
      source=MSC896 + "; SOLAS I/2: a passenger ship carries more than 12 passengers [not checked against the text]",
      rationale="""A ship carrying more than 12 passengers is a passenger ship and needs a passenger
      certificate; a cargo, tanker or other vessel listing more than `max_passengers` passengers, or a
      fishing vessel with more than `max_passengers_fishing`, carries people it is not licensed for - the
      pattern of migrant smuggling by sea. The count is the larger of the passengers listed and declared.
      Vessels of unknown type are not judged.""",
      params=(Param("max_passengers", 12, "passengers allowed on a non-passenger vessel"),
              Param("max_passengers_fishing", 0, "passengers allowed on a fishing vessel")))
def passengers_on_non_passenger_vessel(d: RuleData, p: Mapping[str, Any]) -> pd.DataFrame:
    """More passengers than allowed on a cargo, tanker, other or fishing vessel."""
    import pandas as pd

    c = d.calls
    listed = c["passengers_listed"].fillna(0)
    declared = c["declared_passengers"].fillna(0)
    count = listed.where(listed >= declared, declared).astype("Int64")
    fishing = c["vessel_category"] == "fishing"
    limit = pd.Series(int(p["max_passengers"]), index=c.index).where(~fishing, int(p["max_passengers_fishing"]))
    hit = (c["vessel_category"].notna() & (c["vessel_category"] != "passenger") & (count > limit)).fillna(False)
    hit = hit.astype(bool)
    if not hit.any():
        return no_hits()
    cc = c[["version_id", "vessel_category"]][hit]  # (the few columns first: the call features are many)
    how = pd.Series(" listed", index=cc.index).where(listed[hit] >= declared[hit], " declared")
    word = count[hit].map(lambda k: " passenger" if k == 1 else " passengers").astype("str")
    ev = (count[hit].astype("str") + word + how + " on " + vessel_words(cc["vessel_category"])
          + " (allowed: " + limit[hit].astype("str") + ")")
    pax = d.persons[["version_id", "source_row"]][((d.persons["role"] == "passenger")
                                                   & d.persons["version_id"].isin(cc["version_id"])).to_numpy(dtype=bool)]
    lists, _ = group_rows(pax) if len(pax) else (pd.Series(dtype="object"), None)
    persons = cc["version_id"].map(lists)
    return hits_frame(cc["version_id"], ev, persons.where(persons.notna(), None))


@rule(id="crew-joined-last-port", title="Many crew joined at the last port",
      category="capacity", weight=2, status="policy",
      source="ITIC/BIMCO: illegal immigrants posing as crew members; the 30% share is a PIU choice",
      rationale="""Migrants are made to pose as crew who joined for a 'crew change'. Fires when more than
      `max_share` of the crew embarked at the call's last port and at least `min_joined` did. Calls whose
      crew list has no embarkation ports, or without a last port, are not judged.""",
      params=(Param("max_share", 0.3, "share of the crew (0-1) that may have joined at the last port",
                    high=1),
              Param("min_joined", 2, "fewest crew joined at the last port for the rule to fire")))
def crew_joined_last_port(d: RuleData, p: Mapping[str, Any]) -> pd.DataFrame:
    """More than max_share of the crew embarked at the last port."""
    import pandas as pd

    import numpy as np

    persons = d.persons
    is_crew = (persons["role"] == "crew").to_numpy(dtype=bool)
    if not is_crew.any():
        return no_hits()
    # counted per call row with integers; ports compared as codes over both columns
    at = person_call_rows(persons, d.calls)
    crew = is_crew & (at >= 0)
    last, embark = d.calls["last_port"], persons["embark_port"]
    codes, _ = pd.factorize(pd.concat([last.astype("str").str.strip().str.upper(),
                                       embark.astype("str").str.strip().str.upper()], ignore_index=True))
    last_code, embark_code = codes[:len(last)], codes[len(last):]
    with_last = last.notna().to_numpy(dtype=bool)
    given = embark.notna().to_numpy(dtype=bool)
    row = np.maximum(at, 0)
    joined_all = crew & given & with_last[row] & (embark_code == last_code[row]) & (embark_code >= 0)
    if not joined_all.any():  # nobody joined at the last port: no share can be too high
        return no_hits()
    n = len(d.calls)
    counts = pd.DataFrame({"joined": np.bincount(at[joined_all], minlength=n),
                           "with_data": np.bincount(at[crew & given], minlength=n),
                           "one": np.bincount(at[crew], minlength=n)}, index=d.calls["version_id"].to_numpy())
    g = counts[counts["one"] > 0].sort_index()
    share = g["joined"] / g["one"]
    hit = (g["with_data"] > 0) & (share > float(p["max_share"])) & (g["joined"] >= int(p["min_joined"]))
    if not hit.any():
        return no_hits()
    g = g[hit]
    who = persons[["version_id", "embark_port", "source_row"]][joined_all]
    who = who[who["version_id"].isin(g.index)]
    lists, texts = group_rows(who)
    port = who.groupby("version_id", sort=False)["embark_port"].first().astype("str").str.upper()
    pct = (g["joined"] * 100 / g["one"]).round().astype("int64").astype("str")
    ev = (g["joined"].astype("str") + " of " + g["one"].astype("str") + " crew (" + pct + "%) embarked at "
          + port.reindex(g.index) + ", the last port (rows " + texts.reindex(g.index) + ")")
    return hits_frame(g.index.to_series(), ev, lists.reindex(g.index))
