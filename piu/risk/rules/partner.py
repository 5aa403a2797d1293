"""Rule `partner-alert`: the vessel or a person aboard was in a partner unit's flagged case.

Partner cases reach the rule through `RuleData.reference` (built by `piu.exchange.partner_reference`):
`partner_vessels` (unit, call_date, imo, mmsi, rules), `partner_persons` (unit, call_date, doc_hash,
name_dob_hash) and `partner_hasher`, which hashes local persons with the regional key exactly as
a package does. Without a key (`partner_hasher` None) only vessels can match.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from piu.risk.registry import Param, RuleData, hits_frame, no_hits, rule

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

MAX_LISTED = 3  # partner flags quoted per call; more are counted


def _imo(series: pd.Series) -> pd.Series:
    """IMO numbers as 7-digit text (None when not that shape)."""
    s = series.astype("str").str.strip().str.upper().str.removeprefix("IMO").str.strip()
    return s.where(s.str.fullmatch(r"\d{7}").fillna(False).astype(bool) & (s != "0000000"), None)


def _mmsi(series: pd.Series) -> pd.Series:
    """MMSIs as 9-digit text (None when not that shape)."""
    s = series.astype("str").str.strip()
    return s.where(s.str.fullmatch(r"\d{9}").fillna(False).astype(bool), None)


def _dates(series: pd.Series) -> pd.Series:
    import pandas as pd
    return pd.to_datetime(series, errors="coerce").astype("datetime64[us]")


def _in_window(frame: pd.DataFrame, days: int) -> pd.DataFrame:
    """Partner flags on or before the call's date and at most `days` days earlier."""
    import pandas as pd
    lo = frame["call_date"] - pd.Timedelta(days=days)
    return frame[(frame["partner_date"] <= frame["call_date"]) & (frame["partner_date"] >= lo)]


def _join(texts: pd.Series) -> str:
    items = list(dict.fromkeys(texts))
    more = len(items) - MAX_LISTED
    return "; ".join(items[:MAX_LISTED]) + (f"; +{more} more" if more > 0 else "")


def _vessel_matches(calls: pd.DataFrame, partner: pd.DataFrame, days: int) -> pd.DataFrame:
    """(version_id, text) for calls whose IMO or MMSI a partner flagged in the window."""
    import pandas as pd

    local = pd.DataFrame({"version_id": calls["version_id"], "call_date": _dates(calls["call_date"]),
                          "imo": _imo(calls["imo"]), "mmsi": _mmsi(calls["mmsi"])})
    theirs = pd.DataFrame({"unit": partner["unit"].astype("str"), "partner_date": _dates(partner["call_date"]),
                           "rules": partner["rules"].fillna("").astype("str"),
                           "imo": _imo(partner["imo"]), "mmsi": _mmsi(partner["mmsi"])})
    found = []
    for ident in ("imo", "mmsi"):
        left = local.dropna(subset=[ident])[["version_id", "call_date", ident]]
        right = theirs.dropna(subset=[ident])[["unit", "partner_date", "rules", ident]]
        found.append(left.merge(right, on=ident, how="inner")[["version_id", "call_date", "unit", "partner_date", "rules"]])
    hits = _in_window(pd.concat(found, ignore_index=True), days)
    if len(hits) == 0:
        return pd.DataFrame({"version_id": pd.Series(dtype="str"), "text": pd.Series(dtype="str")})
    hits = hits.drop_duplicates(["version_id", "unit", "partner_date", "rules"])
    hits = hits.sort_values(["version_id", "partner_date", "unit"], ascending=[True, False, True])
    rules = hits["rules"].str.replace(",", ", ")
    text = ("vessel flagged by unit " + hits["unit"] + " on " + hits["partner_date"].dt.strftime("%Y-%m-%d")
            + (" (" + rules + ")").where(rules != "", ""))
    out = hits.assign(text=text).groupby("version_id", sort=False)["text"].agg(_join).reset_index()
    return out


def _person_matches(persons: pd.DataFrame, calls: pd.DataFrame, partner: pd.DataFrame, hasher: Any,
                    days: int) -> pd.DataFrame:
    """(version_id, text, rows) for persons whose document or name+birth-date hash a partner flagged."""
    import pandas as pd

    empty = pd.DataFrame({"version_id": pd.Series(dtype="str"), "text": pd.Series(dtype="str"),
                          "rows": pd.Series(dtype="object")})
    if len(persons) == 0 or len(partner) == 0:
        return empty
    dates = pd.Series(_dates(calls["call_date"]).to_numpy(), index=calls["version_id"].to_numpy())
    hashed = hasher.hash_persons(persons)
    local = pd.DataFrame({"version_id": persons["version_id"].to_numpy(),
                          "source_row": persons["source_row"].to_numpy(),
                          "doc_hash": hashed["doc_hash"].to_numpy(),
                          "name_dob_hash": hashed["name_dob_hash"].to_numpy()})
    local["call_date"] = local["version_id"].map(dates)
    theirs = pd.DataFrame({"unit": partner["unit"].astype("str"), "partner_date": _dates(partner["call_date"]),
                           "doc_hash": partner["doc_hash"], "name_dob_hash": partner["name_dob_hash"]})
    found = []
    for ident, kind in (("doc_hash", "document"), ("name_dob_hash", "name and date of birth")):
        left = local.dropna(subset=[ident])[["version_id", "source_row", "call_date", ident]]
        right = theirs.dropna(subset=[ident])[["unit", "partner_date", ident]]
        m = left.merge(right, on=ident, how="inner")[["version_id", "source_row", "call_date", "unit", "partner_date"]]
        found.append(m.assign(kind=kind))
    hits = _in_window(pd.concat(found, ignore_index=True), days)
    if len(hits) == 0:
        return empty
    # one line per (person, partner flag); both kinds of match are named together
    hits = hits.sort_values(["version_id", "source_row", "partner_date", "unit", "kind"],
                            ascending=[True, True, False, True, True])
    grouped = hits.groupby(["version_id", "source_row", "unit", "partner_date"], sort=False)["kind"].agg(
        lambda s: ", ".join(dict.fromkeys(s))).reset_index()
    grouped["text"] = ("row " + grouped["source_row"].astype("Int64").astype("str")
                       + " matches a person in a case flagged by unit " + grouped["unit"] + " on "
                       + grouped["partner_date"].dt.strftime("%Y-%m-%d") + " (" + grouped["kind"] + ")")
    g = grouped.groupby("version_id", sort=False)
    return pd.DataFrame({"text": g["text"].agg(_join),
                         "rows": g["source_row"].agg(lambda s: sorted({int(v) for v in s.dropna()}))}).reset_index()


@rule(
    id="partner-alert",
    title="Vessel or person flagged by a partner unit",
    category="watchlist",
    weight=4,
    rationale="""The vessel (same IMO number or MMSI) or a person aboard (same document, or same name and
    date of birth, compared as keyed hashes) was in a case a partner unit flagged and shared through
    the regional exchange within `days` days before this call. Smuggling networks use the same boats
    and facilitators across borders; a partner's flag is intelligence the manifest alone cannot show.
    Person matches need the regional key ($PIU_EXCHANGE_KEY or $PIU_HOME/exchange.key).""",
    source="UNODC regional port intelligence units (Cambodia, Indonesia, Thailand) and the Bali Process "
           "VRS-MSRC reciprocal sharing: https://www.unodc.org/roseap/en/cambodia/2013/06/migrant-smuggling/story.html",
    status="policy",
    params=(Param("days", 180, "how many days before the call a partner's flag counts"),),
)
def partner_alert(data: RuleData, params: dict[str, Any]) -> pd.DataFrame:
    """Calls whose vessel or persons match a partner's flagged case in the window."""
    import pandas as pd

    days = int(params.get("days", 180))
    vessels = data.reference.get("partner_vessels")
    partner_persons = data.reference.get("partner_persons")
    hasher = data.reference.get("partner_hasher")
    calls = data.calls
    if len(calls) == 0:
        return no_hits()
    if "call_date" not in calls.columns:  # RuleData built without features: the UTC date
        calls = calls.assign(call_date=pd.to_datetime(calls["call_time"], utc=True).dt.tz_localize(None).dt.normalize())
    parts = []
    if vessels is not None and len(vessels):
        parts.append(_vessel_matches(calls, vessels, days).assign(rows=None))
    if hasher is not None and partner_persons is not None and len(partner_persons):
        parts.append(_person_matches(data.persons, calls, partner_persons, hasher, days))
    parts = [p for p in parts if len(p)]
    if not parts:
        return no_hits()
    both = pd.concat(parts, ignore_index=True)
    order = {v: i for i, v in enumerate(calls["version_id"])}
    both["_order"] = both["version_id"].map(order)
    both = both.sort_values(["_order"], kind="stable")
    g = both.groupby("version_id", sort=False)
    evidence = g["text"].agg("; ".join)
    rows = g["rows"].agg(lambda s: sorted({int(r) for lst in s if isinstance(lst, list) for r in lst}) or None)
    return hits_frame(evidence.index, evidence.to_numpy(), rows.to_numpy())
