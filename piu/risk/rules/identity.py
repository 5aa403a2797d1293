"""Vessel identity rules: IMO and MMSI numbers, flag performance lists, vessel age."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from piu.risk.features import present, vessel_words
from piu.risk.registry import MAX_WEIGHT, Param, RuleData, hits_frame, no_hits, rule

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

IMO_SCHEME = ("IMO ship identification number scheme (IMO Res. A.1117(30)); check digit with weights 7..2, "
              "DOMAIN.md §2.3")


@rule(id="imo-invalid", title="IMO number not 7 digits or check digit wrong",
      category="identity", weight=3, status="verified", source=IMO_SCHEME,
      rationale="""An IMO number is 'IMO' and 7 digits; the last digit is the last digit of the sum of the
      first six multiplied by 7, 6, 5, 4, 3, 2. A number that fails this was mistyped or made up, and the
      vessel cannot be traced by it. Vessel identity fraud is widespread (SIF/TMT Document Verification
      Manual).""")
def imo_invalid(d: RuleData, p: Mapping[str, Any]) -> pd.DataFrame:
    """IMO numbers that are not 7 digits or fail the check digit."""
    c = d.calls
    bad = c["imo_check"].isin(["format", "check"])
    if not bad.any():  # the usual case: nothing to word
        return no_hits()
    c = c[bad]
    imo = c["imo"].astype("str").str.strip()
    ev = ("IMO number " + imo + " fails the check digit").where(
        c["imo_check"] == "check", "IMO number '" + imo + "' is not 7 digits")
    return hits_frame(c["version_id"], ev)


def _gt_text(gt: pd.Series) -> pd.Series:
    """'75' for 75.0, '75.5' otherwise."""
    whole = (gt % 1 == 0).fillna(False)
    return gt.astype("str").where(~whole, gt.round().astype("Int64").astype("str"))


@rule(id="imo-missing", title="No IMO number on a vessel that must have one",
      category="identity", weight=3, status="unverified",
      source="SOLAS XI-1/3 via the IMO number scheme: passenger ships from 100 GT, cargo ships from 300 GT "
             "[thresholds not checked against the text]",
      rationale="""Passenger ships of 100 GT and more and other ships of 300 GT and more must carry an IMO
      number. Its absence on such a vessel hides the vessel's history. Vessels of unknown tonnage are not
      judged.""",
      params=(Param("min_gt", 300.0, "gross tonnage from which every vessel needs an IMO number"),
              Param("min_gt_passenger", 100.0, "gross tonnage from which a passenger vessel needs one")))
def imo_missing(d: RuleData, p: Mapping[str, Any]) -> pd.DataFrame:
    """No IMO number on a vessel above the tonnage thresholds."""
    import pandas as pd

    c = d.calls
    gt = c["gross_tonnage"]
    passenger = c["vessel_category"] == "passenger"
    limit = pd.Series(float(p["min_gt"]), index=c.index).where(~passenger, float(p["min_gt_passenger"]))
    hit = (c["imo_check"].isna() & (gt >= limit)).fillna(False).astype(bool)
    if not hit.any():
        return no_hits()
    c, limit = c[hit], limit[hit]
    ev = ("no IMO number on a " + _gt_text(c["gross_tonnage"]) + " GT "
          + vessel_words(c["vessel_category"]).str.removeprefix("a ") + " (required from "
          + _gt_text(limit) + " GT)")
    return hits_frame(c["version_id"], ev)


@rule(id="mmsi-invalid", title="MMSI not 9 digits or MID outside 201-775",
      category="identity", weight=2, status="verified",
      source="ITU-R M.585 (MMSI formats), MID range 201-775; DOMAIN.md §2.3",
      rationale="""A ship station's MMSI is 9 digits whose first three (the MID) identify the flag
      administration, in the range 201-775. Anything else is a typing error, a placeholder or a number of
      another kind of station (coast station, SAR aircraft, AIS aid to navigation).""")
def mmsi_invalid(d: RuleData, p: Mapping[str, Any]) -> pd.DataFrame:
    """MMSIs that are not 9 digits or whose MID is outside 201-775."""
    bad = d.calls["mmsi_check"].isin(["format", "mid"])
    if not bad.any():
        return no_hits()
    c = d.calls[bad]
    mmsi = c["mmsi"].astype("str").str.strip()
    ev = ("MMSI " + mmsi + ": MID " + mmsi.str.slice(0, 3) + " is outside 201-775").where(
        c["mmsi_check"] == "mid", "MMSI '" + mmsi + "' is not 9 digits")
    return hits_frame(c["version_id"], ev)


@rule(id="mmsi-flag-mismatch", title="MMSI belongs to another state than the flag",
      category="identity", weight=3, status="verified",
      source="ITU Maritime Identification Digits table; a new MMSI is required on reflagging (DOMAIN.md §2.3)",
      rationale="""The MID of a ship's MMSI names the administration that assigned it. A MID of another
      state than the declared flag means the flag or the MMSI is false, or the vessel was reflagged without
      a new MMSI. Fires only when the MMSI is valid, its state is known and the flag is a 3-letter code.""")
def mmsi_flag_mismatch(d: RuleData, p: Mapping[str, Any]) -> pd.DataFrame:
    """MMSI's MID state differs from the declared flag."""
    c = d.calls
    flag = c["flag"].astype("str").str.strip().str.upper()
    country = c["mmsi_country"].astype("str").str.strip().str.upper()
    hit = ((c["mmsi_check"] == "ok") & present(c["mmsi_country"]) & flag.str.fullmatch(r"[A-Z]{3}").fillna(False)
           & (flag != country)).fillna(False).astype(bool)
    if not hit.any():
        return no_hits()
    c, flag, country = c[hit], flag[hit], country[hit]
    mmsi = c["mmsi"].astype("str").str.strip()
    ev = "MMSI " + mmsi + " has MID " + mmsi.str.slice(0, 3) + " (" + country + "), declared flag " + flag
    return hits_frame(c["version_id"], ev)


def _check_regimes(value: Any) -> str | None:
    from piu.risk.flags import REGIMES
    bad = [v for v in value if v not in REGIMES]
    if bad or not value:
        return f"must list regimes among {', '.join(REGIMES)}"
    return None


def _check_list_year(value: Any) -> str | None:
    from piu.risk.flags import FIRST_LIST_YEAR, LAST_LIST_YEAR
    if value != 0 and not FIRST_LIST_YEAR <= value <= LAST_LIST_YEAR:
        return f"must be 0 (the latest edition) or a year from {FIRST_LIST_YEAR} to {LAST_LIST_YEAR}"
    return None


@rule(id="flag-risk", title="Flag on a port state control black or grey list",
      category="identity", weight=1, status="unverified",
      source="Paris MoU and Tokyo MoU white/grey/black flag performance lists (piu/data/flag_lists.csv; "
             "several editions partial, from secondary sources); Directive 2009/16/EC Annex II",
      rationale="""Flags with many detentions relative to inspections are black-listed by the port state
      control MoUs; in the Ship Risk Profile a black-listed flag adds 1-2 points. A black-listed flag adds
      the rule's weight, a grey-listed one `grey_weight`. The latest edition of each regime in `regimes` is
      used (`list_year` = 0), falling back to earlier editions for flags a partial edition does not name;
      load a newer official edition with `piu rules flags import FILE`. A flag on no list is not rated.""",
      params=(Param("grey_weight", 0, "weight when the flag is grey-listed (black-listed: the rule's weight)",
                    high=MAX_WEIGHT),
              Param("regimes", ["tokyo", "paris"], "MoU regimes whose lists are used (tokyo, paris)",
                    check=_check_regimes),
              Param("list_year", 0, "use editions up to this list year (0 = the latest available)",
                    check=_check_list_year)))
def flag_risk(d: RuleData, p: Mapping[str, Any]) -> pd.DataFrame:
    """Flags on a black (or grey) list of the chosen regimes."""
    import pandas as pd

    from piu.risk.flags import REGIME_NAMES, select

    ratings = d.reference.get("flag_ratings")
    if ratings is None or len(ratings) == 0:
        return no_hits()
    chosen = select(ratings, list(p["regimes"]), int(p["list_year"]))
    # per flag, its black and grey listings in words (reference rows, a few hundred at most), Tokyo
    # before Paris; then one lookup per call
    listings: dict[str, list[tuple[str, str]]] = {}
    black: set[str] = set()
    for regime, kind, year, category, published, iso3 in zip(  # (lists: iterating columns is slow)
            chosen["regime"].tolist(), chosen["list"].tolist(), chosen["list_year"].tolist(),
            chosen["category"].tolist(), chosen["published"].tolist(), chosen["iso3"].tolist()):
        if kind not in ("black", "grey"):
            continue
        cat = "" if pd.isna(category) else str(category).replace("_", " ")
        text = (f"{REGIME_NAMES[regime]} {kind} list {year}{f' ({cat} risk)' if cat else ''} in force from "
                f"{'?' if pd.isna(published) else published}")
        listings.setdefault(iso3, []).append((regime, text))
        if kind == "black":
            black.add(iso3)
    if int(p["grey_weight"]) <= 0:
        # a grey-only flag would be recorded as nothing (weight 0, the default): it is not rated; a
        # black-listed flag keeps its grey listings in the evidence
        listings = {k: v for k, v in listings.items() if k in black}
    texts = {k: "; ".join(t for _, t in sorted(v, key=lambda rt: rt[0], reverse=True)) for k, v in listings.items()}
    calls = d.calls[["version_id"]].assign(iso3=d.calls["flag"].astype("str").str.strip().str.upper())
    calls = calls[calls["iso3"].isin(list(texts))].sort_values("version_id")
    if len(calls) == 0:
        return no_hits()
    ev = "flag " + calls["iso3"] + ": " + calls["iso3"].map(texts).astype("str")
    grey_only = ~calls["iso3"].isin(list(black))
    weight = pd.Series(pd.NA, index=calls.index, dtype="Int64").mask(grey_only, int(p["grey_weight"]))
    return hits_frame(calls["version_id"], ev, None, weight)


@rule(id="vessel-age", title="Vessel older than the age limit",
      category="identity", weight=1, status="policy",
      source="UNODC Issue Paper: Smuggling of Migrants by Sea (2011): old vessels bought cheaply near the end "
             "of their life; the Ship Risk Profile counts age over 12 years (Directive 2009/16/EC Annex II)",
      rationale="""Smugglers buy old vessels cheaply and expect to lose them. The age limit (25 years by
      default, a PIU choice; the Ship Risk Profile uses 12) is counted from the year built to the call date.
      Vessels without a plausible year built are not judged.""",
      params=(Param("max_age", 25, "age in years above which the rule fires"),))
def vessel_age(d: RuleData, p: Mapping[str, Any]) -> pd.DataFrame:
    """Vessels older than max_age on the call date."""
    c = d.calls
    hit = ((c["vessel_age"] > int(p["max_age"])) & (c["year_built"] >= 1850)).fillna(False).astype(bool)
    if not hit.any():
        return no_hits()
    c = c[hit]
    ev = ("built " + c["year_built"].astype("str") + ", " + c["vessel_age"].astype("str")
          + " years old on the call date (limit " + str(int(p["max_age"])) + ")")
    return hits_frame(c["version_id"], ev)
