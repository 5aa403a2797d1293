"""Reports: select a period's calls, scores and reviews and build a plain-data report model.

The model is a dict of plain values (str, int, None, lists, dicts; times as ISO 8601 text) so
that every renderer — the terminal, markdown, html, json, csv — shows the same numbers, and a
test can compare them. This module never prints; piu/render_report.py turns a model into text.

Also here: `call_detail`, everything about one call for `piu show`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from piu.errors import UsageError
from piu.schema import BANDS, CALL_FIELDS

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from piu.queries import ScoreChoice
    from piu.store import Store

# Keys of one report row in json/jsonl/csv/tsv: the `piu score -f json` keys plus the review.
REVIEW_COLUMNS: tuple[str, ...] = ("review_status", "reviewed_by", "reviewed_at")
PERIOD_COLUMNS: tuple[str, ...] = ("period_start", "period_end")
# "Flagged" means these bands everywhere in piu (`piu score` prints them; --min-band low lists more)
FLAGGED_BANDS: tuple[str, ...] = BANDS[1:]


def report_keys() -> tuple[str, ...]:
    """Keys of each call in `piu report -f json` (SCORE_KEYS + reasons + review)."""
    from piu.risk.output import SCORE_KEYS
    return (*SCORE_KEYS, "reasons", *REVIEW_COLUMNS)


def row_columns() -> tuple[str, ...]:
    """Columns of `piu report` as csv/tsv/jsonl: report keys plus the period on every row."""
    return (*report_keys(), *PERIOD_COLUMNS)


def band_rank(band: Any) -> int:
    """0 low, 1 medium, 2 high; -1 for anything else (unscored)."""
    return BANDS.index(band) if band in BANDS else -1


def check_band(band: str, option: str = "--min-band") -> str:
    """A band name in lower case, or a usage error."""
    value = (band or "").strip().lower()
    if value not in BANDS:
        raise UsageError(f"{option} {band!r} is not a band", hint=f"use one of: {', '.join(BANDS)}")
    return value


# ---- period and ports ----------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    """A closed interval of call times, in UTC."""

    since: datetime
    until: datetime

    def text(self) -> str:
        """The period in words, as every report format states it."""
        span = self.until - self.since
        hours = span.total_seconds() / 3600
        if hours >= 24:
            days = round(hours / 24, 1)
            length = f"{days:g} day" + ("" if days == 1 else "s")
        else:
            length = f"{hours:g} hour" + ("" if hours == 1 else "s")
        return f"{_minute(self.since)} to {_minute(self.until)} UTC ({length})"


def _iso(value: datetime) -> str:
    """UTC time to the second (an end-of-day bound's microseconds are noise to a reader)."""
    return value.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _minute(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M")


def resolve_period(since: str | None = None, until: str | None = None, *, now: datetime | None = None) -> Period:
    """The report period from --since (default 7d) and --until (default now)."""
    from piu.timeparse import now_utc, parse_time

    now = now or now_utc()
    start = parse_time(since or "7d", option="--since", now=now)
    end = parse_time(until, option="--until", now=now, end_of_day=True) if until else now
    if start > end:
        raise UsageError("--since is after --until", hint="give an earlier --since or a later --until")
    return Period(start, end)


# ---- reading one call ----------------------------------------------------------------------

def _call_id_partitions(call_id: str) -> tuple[list[str] | None, list[str] | None]:
    """Ports and months a call id can live in ({port}-{YYYYMMDD local}-...), or (None, None)."""
    parts = call_id.split("-")
    if len(parts) < 4:
        return None, None
    try:
        day = datetime.strptime(parts[1], "%Y%m%d").date()
    except ValueError:
        return None, None
    # the id carries the local date; the month partition is the UTC month, a day either side
    months = sorted({(day + timedelta(days=d)).strftime("%Y-%m") for d in (-1, 0, 1)})
    return [parts[0]], months


def call_versions(store: Store, call_id: str) -> pd.DataFrame:
    """Every stored version of one call, oldest first (empty when unknown)."""
    import pyarrow.dataset as ds

    from piu.schema import calls_schema

    ports, months = _call_id_partitions(call_id)
    flt = ds.field("call_id") == call_id
    frame = store.read("calls", calls_schema(), ports=ports, months=months, filter=flt).to_pandas()
    if len(frame) == 0 and ports is not None:  # an id typed by hand from another source: scan
        frame = store.read("calls", calls_schema(), filter=flt).to_pandas()
    return frame.sort_values("ingest_id").reset_index(drop=True)


def _scores_of(store: Store, version_ids: list[str], ports: list[str] | None = None,
               months: list[str] | None = None, choice: ScoreChoice | None = None) -> pd.DataFrame:
    """The score of each given call version: the latest, or the one `choice` picks."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    from piu.queries import latest_score_rows, read_scores_marked
    from piu.schema import scores_schema

    flt = ds.field("version_id").isin(pa.array(sorted(set(version_ids)), type=pa.string()))
    if choice is None:
        return latest_score_rows(store.read("scores", scores_schema(), ports=ports, months=months, filter=flt).to_pandas())
    return choice.latest(read_scores_marked(store, ports=ports, months=months, filter=flt))


def version_score(store: Store, version: Any, choice: ScoreChoice | None = None) -> dict[str, Any]:
    """The score of one call version (a row of calls) as plain values, {} if unscored: the latest, or
    the one `choice` picks (the configured rule set's), noted in `choice` when of another rule set."""
    from piu.render import plain

    frame = _scores_of(store, [str(version["version_id"])], [str(version["port"])], [str(version["month"])], choice)
    if len(frame) == 0:
        return {}
    if choice is not None:
        choice.count(frame)
    rec = frame.iloc[-1].to_dict()
    return {k: plain(v) for k, v in rec.items()}


# ---- the report ----------------------------------------------------------------------------

def _parse_hits(hits: pd.Series) -> pd.Series:
    """JSON hit lists as Python lists, parsing each distinct text once."""
    import pandas as pd

    codes, uniques = pd.factorize(hits.fillna(""))
    parsed = [json.loads(u) if u else [] for u in uniques]
    return pd.Series([parsed[c] for c in codes], index=hits.index, dtype=object)


def _review_state(calls: pd.DataFrame, reviews: pd.DataFrame) -> pd.DataFrame:
    """review_status, reviewed_by, reviewed_at for each call (amended: reviewed an older version)."""
    from piu.render import plain
    from piu.reviews import AMENDED, UNREVIEWED, latest_reviews

    out = calls[["call_id", "version_id"]].copy()
    out["review_status"] = UNREVIEWED
    out["reviewed_by"] = None
    out["reviewed_at"] = None
    if len(reviews) == 0:
        return out
    last = latest_reviews(reviews).set_index("call_id")
    status = out["call_id"].map(last["status"])
    same_version = out["call_id"].map(last["version_id"]) == out["version_id"]
    has = status.notna()
    out["review_status"] = status.where(same_version, AMENDED).where(has, UNREVIEWED)
    out["reviewed_by"] = out["call_id"].map(last["by"]).where(has, None)
    # ISO text, not timestamps: a column mixing times and "no review" would turn into NaT
    at_text = {k: plain(v) for k, v in last["at"].items()}
    out["reviewed_at"] = out["call_id"].map(at_text).where(has, None)
    return out


def _day_of(calls: pd.DataFrame) -> pd.Series:
    """The port-local calendar day of each call (the analyst's day), else its UTC day."""
    local = calls["call_time_local"].astype("str").str.slice(0, 10) if "call_time_local" in calls else None
    utc = calls["call_time"].dt.strftime("%Y-%m-%d")
    if local is None:
        return utc
    ok = local.str.match(r"^\d{4}-\d{2}-\d{2}$").fillna(False).astype(bool)
    return local.where(ok, utc)


def build_report(store: Store, period: Period, *, port: str | None = None, min_band: str = "medium",
                 unreviewed: bool = False, generated_at: datetime | None = None,
                 choice: ScoreChoice | None = None) -> dict[str, Any]:
    """The report model for one period (and port): numbers, flagged calls, hits, days.

    Each call's score is its latest, or the one `choice` picks (the configured rule set's where there is
    one); `choice` then notes the calls of the period scored with another rule set only.
    """
    import pandas as pd

    from piu.queries import current_calls, latest_scores, persons_of
    from piu.render import plain
    from piu.reviews import AMENDED, UNREVIEWED, read_reviews
    from piu.risk.output import score_records
    from piu.timeparse import now_utc

    min_band = check_band(min_band)
    ports = [port] if port else None
    span = {"ports": ports, "since": period.since, "until": period.until}
    calls = current_calls(store, **span)
    n_persons = 0
    if len(calls):
        n_persons = len(persons_of(store, calls["version_id"], columns=["version_id"], **span))
    scores = latest_scores(store, **span, prefer=choice.version if choice is not None else None)
    score_cols = ["version_id", "persons_aboard", "score", "band", "hits", "ruleset_version", "scored_at", "scored_by"]
    if len(scores):
        scored = calls.merge(scores[score_cols], on="version_id", how="inner")
    else:
        scored = calls.iloc[0:0].assign(**{c: pd.Series(dtype=object) for c in score_cols[1:]})
    if choice is not None:
        choice.count(scored)
    by_band = {b: int((scored["band"] == b).sum()) for b in BANDS}

    rank = scored["band"].map({b: i for i, b in enumerate(BANDS)}).fillna(-1).astype(int)
    flagged = scored[rank >= BANDS.index(min_band)].copy()
    reviews = read_reviews(store, list(flagged["call_id"])) if len(flagged) else read_reviews(store, [])
    state = _review_state(flagged, reviews)
    for col in ("review_status", "reviewed_by", "reviewed_at"):
        flagged[col] = state[col].to_numpy()
    if unreviewed:
        flagged = flagged[flagged["review_status"].isin([UNREVIEWED, AMENDED])]
    flagged["_rank"] = flagged["band"].map({b: i for i, b in enumerate(BANDS)})
    flagged = flagged.sort_values(["_rank", "score", "call_time", "call_id"],
                                  ascending=[False, False, True, True]).reset_index(drop=True)
    flagged["day"] = _day_of(flagged) if len(flagged) else pd.Series(dtype="str")

    records = score_records(flagged)
    extra = flagged[["call_time_local", "review_status", "reviewed_by", "reviewed_at", "day"]].to_dict(orient="records")
    for rec, more in zip(records, extra):
        rec.update({k: plain(v) for k, v in more.items()})

    return {
        "title": "Flagged vessel calls",
        "generated_at": plain(generated_at or now_utc()),
        "period": {"since": _iso(period.since), "until": _iso(period.until), "text": period.text()},
        "port": port,
        "ports": sorted({str(p) for p in calls["port"].dropna()}) if len(calls) else [],
        "min_band": min_band,
        "unreviewed_only": unreviewed,
        "ruleset_versions": sorted({str(v) for v in scored["ruleset_version"].dropna()}),
        # the period's calls (and port), whatever --min-band and --unreviewed; then the listed calls
        "summary": {
            "calls_received": int(len(calls)),
            "persons": int(n_persons),
            "calls_scored": int(len(scored)),
            "calls_not_scored": int(len(calls) - len(scored)),
            "by_band": by_band,
            **_listed_counts(records, (UNREVIEWED, AMENDED)),
        },
        "calls": records,
        "hits_per_rule": _hits_per_rule(scored, flagged),
        "flagged_per_day": _per_day(period, records, min_band),
    }


def _listed_counts(records: list[dict[str, Any]], open_statuses: tuple[str, ...]) -> dict[str, int]:
    """Counts of the listed calls (the report's rows), each checkable by counting rows.

    flagged: rows in a flagged band (medium, high); listed: every row (more with --min-band low);
    *_unreviewed: of those, rows no analyst has reviewed, or amended since their review.
    """
    flagged = [band_rank(r["band"]) >= band_rank(FLAGGED_BANDS[0]) for r in records]
    open_ = [r["review_status"] in open_statuses for r in records]
    return {
        "flagged": sum(flagged),
        "flagged_unreviewed": sum(f and o for f, o in zip(flagged, open_)),
        "listed": len(records),
        "listed_unreviewed": sum(open_),
    }


def _hits_per_rule(scored: pd.DataFrame, listed: pd.DataFrame) -> list[dict[str, Any]]:
    """For each rule hit in the period: title, weight, calls hit, and how many of them are listed.

    calls: every call scored in the period (and port) that hit the rule, whatever the filters;
    listed: of them, the report's rows; flagged: of the listed, those in a flagged band.
    """
    import pandas as pd

    if len(scored) == 0:
        return []
    listed_versions = set(listed["version_id"])
    flagged_versions = set(listed.loc[listed["band"].isin(FLAGGED_BANDS), "version_id"])
    parsed = _parse_hits(scored["hits"])
    pairs = pd.DataFrame({"version_id": scored["version_id"].to_numpy(), "hit": parsed.to_numpy()}).explode("hit")
    pairs = pairs[pairs["hit"].notna()]
    if len(pairs) == 0:
        return []
    hits = pd.DataFrame(list(pairs["hit"]))
    hits["version_id"] = pairs["version_id"].to_numpy()
    hits["is_listed"] = hits["version_id"].isin(listed_versions)
    hits["is_flagged"] = hits["version_id"].isin(flagged_versions)
    hits = hits.drop_duplicates(["version_id", "rule"])
    grouped = hits.groupby("rule", sort=True).agg(
        title=("title", "first"), weight=("weight", "max"), calls=("version_id", "size"),
        flagged=("is_flagged", "sum"), listed=("is_listed", "sum"))
    grouped = grouped.reset_index().sort_values(["calls", "weight", "rule"], ascending=[False, False, True])
    return [{"rule": str(r.rule), "title": str(r.title) if pd.notna(r.title) else "",
             "weight": int(r.weight), "calls": int(r.calls), "flagged": int(r.flagged), "listed": int(r.listed)}
            for r in grouped.itertuples(index=False)]


def _per_day(period: Period, records: list[dict[str, Any]], min_band: str) -> list[dict[str, Any]]:
    """Listed calls (the report's rows) per day of the period, zero days included, split by band."""
    bands = [b for b in BANDS if band_rank(b) >= band_rank(min_band)]
    counts: dict[str, dict[str, int]] = {}
    for rec in records:  # one entry per flagged call: tens to hundreds, not a data table
        counts.setdefault(rec["day"], dict.fromkeys(bands, 0))[rec["band"]] += 1
    first, last = period.since.date(), period.until.date()
    if counts:
        first = min(first, date.fromisoformat(min(counts)))
        last = max(last, date.fromisoformat(max(counts)))
    out = []
    day = first
    while day <= last:
        key = day.isoformat()
        c = counts.get(key, dict.fromkeys(bands, 0))
        out.append({"date": key, **c, "total": sum(c.values())})
        day += timedelta(days=1)
    return out


def report_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Flat rows for csv/tsv/jsonl: each flagged call with the period on it."""
    since, until = report["period"]["since"], report["period"]["until"]
    return [{**{k: rec.get(k) for k in report_keys()}, "period_start": since, "period_end": until}
            for rec in report["calls"]]


def report_document(report: dict[str, Any]) -> dict[str, Any]:
    """The `-f json` document: period, summary, calls (report keys only), hits and days."""
    keys = report_keys()
    doc = {k: v for k, v in report.items() if k != "calls"}
    doc["calls"] = [{k: rec.get(k) for k in keys} for rec in report["calls"]]
    return doc


def count_at_or_above(store: Store, period: Period, band: str, *, port: str | None = None,
                      unreviewed: bool = False, report: dict[str, Any] | None = None,
                      choice: ScoreChoice | None = None) -> int:
    """Calls in the period scored at or above `band` (for --fail-on), optionally unreviewed only.

    Counted from `report` when it already holds the answer (its threshold is not above `band`),
    so `--fail-on` does not read the store twice.
    """
    band = check_band(band, "--fail-on")
    if report is not None and report["port"] == port and report["period"]["since"] == _iso(period.since):
        if band_rank(band) >= band_rank(report["min_band"]) and report["unreviewed_only"] == unreviewed:
            return sum(band_rank(c["band"]) >= band_rank(band) for c in report["calls"])
        if not unreviewed:
            return sum(n for b, n in report["summary"]["by_band"].items() if band_rank(b) >= band_rank(band))
    return build_report(store, period, port=port, min_band=band, unreviewed=unreviewed,
                        choice=choice)["summary"]["listed"]


# ---- one call, for `piu show` --------------------------------------------------------------

PERSON_COLUMNS: tuple[str, ...] = (
    "role", "family_name", "given_names", "rank", "nationality", "date_of_birth", "place_of_birth",
    "gender", "doc_type", "doc_number", "doc_issuer", "doc_expiry", "embark_port", "disembark_port",
    "transit", "visa_number", "source_file", "source_sheet", "source_row",
)
PARTICULARS: tuple[str, ...] = (
    "call_id", *CALL_FIELDS[:2], "call_time_local", *CALL_FIELDS[2:], "imo_valid", "mmsi_valid",
    "mmsi_country", "vessel_category",
)
VERSION_COLUMNS: tuple[str, ...] = (
    "version_id", "ingest_id", "ingested_at", "source_file", "source_sha256", "source_sheet", "source_row",
)


def _rows_text(rows: list[int]) -> str:
    """Row numbers as compact ranges: 2-14, 17."""
    out: list[str] = []
    rows = sorted(set(rows))
    i = 0
    while i < len(rows):
        j = i
        while j + 1 < len(rows) and rows[j + 1] == rows[j] + 1:
            j += 1
        out.append(str(rows[i]) if i == j else f"{rows[i]}-{rows[j]}")
        i = j + 1
    return ", ".join(out)


def _hit_person_keys(hit: dict[str, Any]) -> set[tuple[str | None, int]]:
    """(source_file or None, source_row) of the persons a hit names."""
    keys: set[tuple[str | None, int]] = set()
    for p in hit.get("persons") or []:
        if isinstance(p, dict) and p.get("source_row") is not None:
            keys.add((p.get("source_file"), int(p["source_row"])))
        elif isinstance(p, (int, str)) and str(p).isdigit():
            keys.add((None, int(p)))
    return keys


PERSON_IDENTITY: tuple[str, ...] = ("name_key", "date_of_birth", "doc_number")


def person_changes(persons: pd.DataFrame, before: str, after: str) -> dict[str, Any]:
    """Persons added and removed between two versions of a call, compared on PERSON_IDENTITY (rows only, no names).

    Each person is matched once (a second identical row counts as its own person), so a list
    re-sent in another order, or with rows renumbered, shows no change.
    """
    import pandas as pd

    def keyed(version_id: str) -> pd.DataFrame:
        p = persons[persons["version_id"] == version_id]
        k = pd.DataFrame({c: p[c].astype("string").fillna("") for c in PERSON_IDENTITY})
        k["nth"] = k.groupby(list(PERSON_IDENTITY)).cumcount()
        k["source_row"] = p["source_row"].to_numpy()
        return k

    both = keyed(before).merge(keyed(after), on=[*PERSON_IDENTITY, "nth"], how="outer", indicator=True,
                               suffixes=("_before", "_after"))
    added = sorted(int(r) for r in both.loc[both["_merge"] == "right_only", "source_row_after"])
    removed = sorted(int(r) for r in both.loc[both["_merge"] == "left_only", "source_row_before"])
    return {"added": len(added), "removed": len(removed), "added_rows": added, "removed_rows": removed}


def _rows_label(rows: list[int]) -> str:
    return ("row " if len(rows) == 1 else "rows ") + _rows_text(rows)


def changes_summary(changes: list[str], moved: dict[str, Any] | None) -> str:
    """'declared_crew, persons: 1 added (row 6), 1 removed (was row 3)': what an amendment changed, in one line."""
    parts = []
    for field in changes:
        if field == "persons" and moved and (moved["added"] or moved["removed"]):
            said = []
            if moved["added"]:
                said.append(f"{moved['added']} added ({_rows_label(moved['added_rows'])})")
            if moved["removed"]:
                # rows of the earlier version: where to look in the superseded manifest
                said.append(f"{moved['removed']} removed (was {_rows_label(moved['removed_rows'])})")
            parts.append("persons: " + ", ".join(said))
        else:
            parts.append(field)
    return ", ".join(parts)


def call_detail(store: Store, call_id: str, choice: ScoreChoice | None = None) -> dict[str, Any]:
    """Everything about one call: particulars, persons with hits, score, sources, versions, history.

    Scores (the call's and its vessel's other calls') are the latest, or those `choice` picks.
    """
    import pandas as pd

    from piu.errors import InputError
    from piu.queries import latest_versions
    from piu.render import plain, rows_from_frame, whole_number_columns
    from piu.reviews import read_reviews, review_records

    # whole numbers stay whole when one version leaves an integer column null (35, not 35.0)
    versions = whole_number_columns(call_versions(store, call_id))
    if len(versions) == 0:
        raise InputError(f"no call {call_id!r} in the store at {store.home}",
                         hint="run `piu report` to find call ids")
    current = versions.iloc[-1]
    month = str(current["month"])
    persons = _persons_of_versions(store, versions)
    score = version_score(store, current, choice)
    hits = json.loads(score["hits"]) if score.get("hits") else []

    # mark each person with the rules that named them (by source row, and file when given)
    mine = persons[persons["version_id"] == current["version_id"]].reset_index(drop=True)
    person_rows = rows_from_frame(mine[[c for c in PERSON_COLUMNS if c in mine.columns]])
    for rec in person_rows:
        rec["hits"] = [h["rule"] for h in hits
                       if {(rec["source_file"], rec["source_row"]), (None, rec["source_row"])} & _hit_person_keys(h)]

    # source files and rows the current version came from
    sources: list[dict[str, Any]] = []
    src = pd.concat([pd.DataFrame([current[["source_file", "source_sha256", "source_sheet", "source_row"]]]),
                     mine[["source_file", "source_sha256", "source_sheet", "source_row"]]], ignore_index=True)
    for (f, sha, sheet), grp in src.groupby(["source_file", "source_sha256", "source_sheet"], dropna=False, sort=True):
        sources.append({"source_file": plain(f), "source_sha256": plain(sha), "source_sheet": plain(sheet),
                        "rows": _rows_text([int(r) for r in grp["source_row"].dropna()])})

    # versions, with what each amendment changed (call fields, and persons added or removed)
    counts = persons.groupby("version_id").size()
    version_rows = []
    prev = None
    for _, v in versions.iterrows():  # a handful of versions per call
        rec = {k: plain(v[k]) for k in VERSION_COLUMNS}
        rec["persons"] = int(counts.get(v["version_id"], 0))
        rec["current"] = v["version_id"] == current["version_id"]
        if prev is not None:
            changed = [f for f in CALL_FIELDS if plain(prev[f]) != plain(v[f])]
            moved = person_changes(persons, prev["version_id"], v["version_id"])
            if moved["added"] or moved["removed"] or rec["persons"] != version_rows[-1]["persons"]:
                changed.append("persons")
            rec["changes"] = changed
            rec["person_changes"] = moved
        else:
            rec["changes"], rec["person_changes"] = [], None
        rec["changes_summary"] = changes_summary(rec["changes"], rec["person_changes"])
        version_rows.append(rec)
        prev = v

    reviews = read_reviews(store, [call_id])
    return {
        "call_id": call_id,
        "particulars": {k: plain(current[k]) for k in PARTICULARS if k in current.index},
        "version": {k: plain(current[k]) for k in VERSION_COLUMNS},
        "score": {k: score.get(k) for k in ("score", "band", "ruleset_version", "scored_at", "scored_by",
                                              "persons_aboard")} if score else None,
        "hits": hits,
        "persons": person_rows,
        "sources": sources,
        "versions": version_rows,
        "previous_calls": _other_calls(store, current, latest_versions, choice),
        "reviews": review_records(reviews),
        "month": month,
    }


def _persons_of_versions(store: Store, versions: pd.DataFrame) -> pd.DataFrame:
    """The persons of every version of one call, read from that call's partitions only."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    from piu.schema import persons_schema

    flt = ds.field("version_id").isin(pa.array(sorted(set(versions["version_id"])), type=pa.string()))
    frame = store.read("persons", persons_schema(), ports=sorted(set(versions["port"])),
                       months=sorted(set(versions["month"])), filter=flt).to_pandas()
    return frame.sort_values(["version_id", "source_row"], kind="stable").reset_index(drop=True)


def _other_calls(store: Store, current: Any, latest_versions: Any,
                 choice: ScoreChoice | None = None) -> list[dict[str, Any]]:
    """The vessel's other calls (same IMO or MMSI), newest first, with their latest score (or the one
    `choice` picks)."""
    import pyarrow.dataset as ds

    from piu.render import plain, whole_number_columns
    from piu.schema import calls_schema

    flt = None
    for key in ("imo", "mmsi"):
        value = current[key]
        if isinstance(value, str) and value.strip():
            cond = ds.field(key) == value
            flt = cond if flt is None else flt | cond
    if flt is None:
        return []
    cols = ["call_id", "version_id", "ingest_id", "port", "month", "direction", "call_time", "vessel_name",
            "imo", "mmsi", "flag"]
    # every port and month: the vessel's history is wherever it went (column-pruned read)
    frame = store.read("calls", calls_schema(), columns=cols, filter=flt).to_pandas()
    frame = latest_versions(frame[frame["call_id"] != current["call_id"]])
    if len(frame) == 0:
        return []
    frame = frame.sort_values("call_time", ascending=False).reset_index(drop=True)
    scores = _scores_of(store, list(frame["version_id"]), sorted(set(frame["port"])), sorted(set(frame["month"])),
                        choice)
    if len(scores):
        if choice is not None:
            choice.count(scores)
        frame = frame.merge(scores[["version_id", "score", "band"]], on="version_id", how="left")
    else:
        frame["score"] = None
        frame["band"] = None
    out = []
    # an unscored call makes the merged score column float: show 4, not 4.0
    frame = whole_number_columns(frame)
    for rec in frame.drop(columns=["ingest_id", "month"]).to_dict(orient="records"):
        row = {k: plain(v) for k, v in rec.items()}
        row["when"] = "earlier" if rec["call_time"] < current["call_time"] else "later"
        out.append(row)
    return out
