"""Small factories for calls and persons in the store schemas, for rule, scoring and command tests.

    c = call(vessel_category="fishing", gross_tonnage=60)
    people = [person(c, role="crew", date_of_birth=date(2012, 5, 1)) for _ in range(3)]
    calls_df, persons_df = frames([c], people)       # as the store would return them
    write(store, [c], people)                        # or land them in a store
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timezone
from typing import Any

import pandas as pd
import pyarrow as pa

from piu.schema import calls_schema, persons_schema
from piu.store import Store

INGEST = "20261120T000000000000Z-aaaaaa"
_seq = itertools.count(1)


def when(text: str) -> datetime:
    """An aware UTC datetime from 'YYYY-MM-DD HH:MM' (or a date)."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def call(**kw: Any) -> dict[str, Any]:
    """A clean call (scores 0 with the default rules) with the given fields changed."""
    row: dict[str, Any] = {
        "port": "KHKOS", "direction": "arrival", "call_time": "2026-11-20 08:00",
        "vessel_name": "SEA STAR", "imo": "9074729", "mmsi": "514123456", "mmsi_country": "KHM",
        "call_sign": "XUAB1", "flag": "KHM", "vessel_type": "General cargo", "vessel_category": "cargo",
        "gross_tonnage": 1500.0, "year_built": 2010, "capacity": None, "last_port": "THLCH",
        "next_port": "SGSIN", "declared_crew": None, "declared_passengers": None, "agent": "KOS AGENCY",
        "ingest_id": INGEST,
    }
    row.update(kw)
    if isinstance(row["call_time"], str):
        row["call_time"] = when(row["call_time"])
    row.setdefault("vessel_name_key", None)
    if row["vessel_name_key"] is None and row["vessel_name"]:
        row["vessel_name_key"] = row["vessel_name"].upper()
    t: datetime = row["call_time"]
    vkey = row["imo"] or row["mmsi"] or (row["vessel_name_key"] or "X").replace(" ", "")
    row.setdefault("call_id", f"{row['port']}-{t:%Y%m%d}-{row['direction'][0].upper()}-{vkey}")
    row.setdefault("version_id", f"{row['call_id']}@{row['ingest_id']}")
    row.setdefault("call_time_local", None)
    row.setdefault("month", f"{t:%Y-%m}")
    row.setdefault("imo_valid", None)
    row.setdefault("mmsi_valid", None)
    return row


def person(c: dict[str, Any], **kw: Any) -> dict[str, Any]:
    """A clean person listed in call `c` (unique name and document), with the given fields changed."""
    n = next(_seq)
    row: dict[str, Any] = {
        "role": "crew", "family_name": f"DOE{n}", "given_names": "JOHN", "name_key": f"DOE{n} JOHN",
        "rank": "AB", "nationality": "KHM", "date_of_birth": date(1990, 1, 1), "gender": "M",
        "doc_type": "passport", "doc_number": f"N{n:07d}", "doc_issuer": "KHM", "doc_expiry": date(2030, 1, 1),
        "embark_port": None, "disembark_port": None, "transit": None, "source_row": n,
    }
    row.update(kw)
    for k in ("call_id", "version_id", "port", "call_time", "month", "ingest_id"):
        row[k] = c[k]
    return row


def tables(calls: list[dict[str, Any]], persons: list[dict[str, Any]]) -> tuple[pa.Table, pa.Table]:
    """Arrow tables in the store schemas."""
    return (pa.Table.from_pylist(calls, schema=calls_schema()),
            pa.Table.from_pylist(persons, schema=persons_schema()))


def frames(calls: list[dict[str, Any]], persons: list[dict[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """DataFrames as the store's readers return them."""
    ct, pt = tables(calls, persons)
    return ct.to_pandas(), pt.to_pandas()


def write(store: Store, calls: list[dict[str, Any]], persons: list[dict[str, Any]]) -> None:
    """Land calls and persons in a store in one transaction (as ingest would)."""
    ct, pt = tables(calls, persons)
    store.init()
    with store.transaction("ingest") as txn:
        txn.write("calls", ct)
        txn.write("persons", pt)


def crew(c: dict[str, Any], n: int, **kw: Any) -> list[dict[str, Any]]:
    """n clean crew members of call c."""
    return [person(c, role="crew", **kw) for _ in range(n)]
