"""The stable output records of scored calls: the keys `piu score -f json` and `piu report` share.

These keys are a documented interface for scripts (README "Output keys"); add keys, never rename.
"""

from __future__ import annotations

import json
from typing import Any

# Keys of one scored call, in output order.
SCORE_KEYS: tuple[str, ...] = (
    "call_id", "port", "direction", "call_time", "vessel_name", "imo", "mmsi", "flag",
    "vessel_type", "persons_aboard", "score", "band", "hits", "ruleset_version", "scored_at",
)

# Columns for tables and TSV/CSV (hits summarised as reasons).
TABLE_COLUMNS: tuple[str, ...] = (
    "call_id", "call_time", "port", "direction", "vessel_name", "imo", "flag", "vessel_type",
    "persons_aboard", "score", "band", "reasons",
)

# Keys that are whole numbers (a null in the column makes pandas read them as floats).
INTEGER_KEYS: tuple[str, ...] = ("persons_aboard", "score")


def main_reasons(hits: list[dict[str, Any]], limit: int = 3) -> str:
    """The heaviest rules hit, as 'rule-id (w), ...' for one table cell."""
    top = sorted(hits, key=lambda h: (-int(h.get("weight", 0)), h.get("rule", "")))[:limit]
    more = len(hits) - len(top)
    text = ", ".join(f"{h['rule']} ({h['weight']})" for h in top)
    return text + (f", +{more} more" if more > 0 else "")


def score_records(frame: Any) -> list[dict[str, Any]]:
    """Records with SCORE_KEYS (+ 'reasons') from a DataFrame of calls joined to their scores.

    `frame` has the calls columns of piu.schema.calls_schema and the scores columns
    (persons_aboard, score, band, hits as JSON text, ruleset_version, scored_at).
    """
    from piu.render import plain, whole

    out: list[dict[str, Any]] = []
    if frame is None or len(frame) == 0:
        return out
    cols = [c for c in SCORE_KEYS if c in frame.columns]
    for rec in frame[cols].to_dict(orient="records"):
        row = {k: plain(rec.get(k)) for k in SCORE_KEYS}
        for k in INTEGER_KEYS:  # 35.0 -> 35; a missing count stays None, never 0
            row[k] = whole(row[k])
        hits = rec.get("hits")
        row["hits"] = json.loads(hits) if isinstance(hits, str) and hits else []
        row["reasons"] = main_reasons(row["hits"])
        out.append(row)
    return out
