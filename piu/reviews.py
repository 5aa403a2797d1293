"""The review audit log: the human decision on a call, appended to the store and never rewritten.

No automated score is final (EU PNR Art. 6(5) in spirit): an analyst records what was decided
about a call — cleared, referred, boarded, confirmed — with who, when, a note, and the rule-set
version, score and band the call had at that moment, so the decision can be reconstructed later
even after the rules change. Each review is its own store transaction in the unpartitioned
`reviews` dataset; nothing ever rewrites or retracts one.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from piu.errors import InputError, UsageError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import pyarrow as pa

    from piu.queries import ScoreChoice
    from piu.store import Store

REVIEWS = "reviews"
REVIEW_STATUSES: tuple[str, ...] = ("cleared", "referred", "boarded", "confirmed")
# Derived statuses shown in reports (never stored): no review yet, or reviewed before an amendment.
UNREVIEWED = "unreviewed"
AMENDED = "amended"
REVIEW_KEYS: tuple[str, ...] = (
    "call_id", "version_id", "status", "note", "by", "at", "ruleset_version", "score", "band",
)


def reviews_schema() -> pa.Schema:
    """Schema of the `reviews` dataset: one row per recorded decision (append-only)."""
    import pyarrow as pa
    return pa.schema([
        ("call_id", pa.string()),
        ("version_id", pa.string()),       # the call version the analyst looked at
        ("status", pa.string()),           # cleared | referred | boarded | confirmed
        ("note", pa.string()),
        ("by", pa.string()),
        ("at", pa.timestamp("us", tz="UTC")),
        ("ruleset_version", pa.string()),  # of the call's latest score when reviewed (null: unscored)
        ("score", pa.int32()),
        ("band", pa.string()),
    ])


def default_reviewer() -> str:
    """Who is reviewing: $PIU_USER, else the operating-system user."""
    from piu.who import current_user

    return current_user()


def check_status(status: str) -> str:
    """The status in lower case, or a usage error listing the allowed ones."""
    value = (status or "").strip().lower()
    if value not in REVIEW_STATUSES:
        raise UsageError(f"--status {status!r} is not a review status",
                         hint=f"use one of: {', '.join(REVIEW_STATUSES)}")
    return value


def add_review(store: Store, call_id: str, status: str, note: str = "", *,
               by: str | None = None, at: datetime | None = None, choice: ScoreChoice | None = None) -> dict[str, Any]:
    """Append one review of the call's current version; returns the stored record. The score recorded is
    the one `piu show` shows: the latest, or the one `choice` picks (the configured rule set's)."""
    import pyarrow as pa

    from piu.report import call_versions, version_score
    from piu.timeparse import now_utc

    status = check_status(status)
    versions = call_versions(store, call_id)
    if len(versions) == 0:
        raise InputError(f"no call {call_id!r} in the store at {store.home}",
                         hint="run `piu report` to find call ids")
    current = versions.iloc[-1]
    score = version_score(store, current, choice)
    record = {
        "call_id": str(current["call_id"]),
        "version_id": str(current["version_id"]),
        "status": status,
        "note": " ".join((note or "").split()),
        "by": (by or "").strip() or default_reviewer(),
        "at": at or now_utc(),
        "ruleset_version": score.get("ruleset_version"),
        "score": score.get("score"),
        "band": score.get("band"),
    }
    table = pa.Table.from_pylist([record], schema=reviews_schema())
    with store.transaction("review") as txn:
        txn.write(REVIEWS, table)
    return record


def read_reviews(store: Store, call_ids: list[str] | None = None) -> pd.DataFrame:
    """Every review (of the given calls), oldest first."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    flt = None
    if call_ids is not None:
        flt = ds.field("call_id").isin(pa.array(sorted(set(call_ids)), type=pa.string()))
    frame = store.read(REVIEWS, reviews_schema(), filter=flt).to_pandas()
    if len(frame):
        frame = frame.sort_values(["at", "call_id"], kind="stable").reset_index(drop=True)
    return frame


def latest_reviews(reviews: pd.DataFrame) -> pd.DataFrame:
    """The most recent review of each call."""
    if len(reviews) == 0:
        return reviews
    return reviews.sort_values("at", kind="stable").drop_duplicates("call_id", keep="last").reset_index(drop=True)


def review_records(reviews: pd.DataFrame) -> list[dict[str, Any]]:
    """Plain records with REVIEW_KEYS (ISO times, None for missing)."""
    from piu.render import rows_from_frame
    if len(reviews) == 0:
        return []
    return rows_from_frame(reviews[list(REVIEW_KEYS)])
