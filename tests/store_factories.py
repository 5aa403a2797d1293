"""Factories that write calls, persons and scores straight into a store (no ingest, no scoring).

`call(...)`, `person(...)`, `score(...)` return one row with every schema column filled with
plausible defaults; `write(store, calls, persons, scores)` stores them in one transaction.
`bulk_store(...)` builds a large store with whole-column (vectorised) arrays for benchmarks.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pyarrow as pa

from piu.schema import calls_schema, persons_schema, scores_schema

UTC = timezone.utc
PORT_OFFSETS = {"KHKOS": 7, "THLCH": 7, "THBKK": 7, "IDTPP": 7, "IDJKT": 7, "IDBLW": 7}


SAMPLE_RULESET = "2026.11-1"  # the rule-set version `score(...)` stamps by default


def configure_sample_ruleset(monkeypatch: Any) -> None:
    """Make SAMPLE_RULESET the configured rule-set version (as if the configured rules had made the
    factories' scores), so that commands read them without a note about an earlier rule set."""
    monkeypatch.setattr("piu.queries.configured_ruleset_version",
                        lambda store, rules_file=None: SAMPLE_RULESET if store.exists() else None)


def ingest_id(when: datetime, tag: str = "aaaaaa") -> str:
    """An ingest id that sorts by time like the store's transaction ids."""
    return when.astimezone(UTC).strftime("%Y%m%dT%H%M%S") + f"{when.microsecond:06d}Z-{tag}"


def call(*, port: str = "KHKOS", call_time: datetime = datetime(2026, 11, 20, 3, 0, tzinfo=UTC),
         direction: str = "arrival", imo: str | None = "9074729", mmsi: str | None = "514123000",
         vessel_name: str = "SEA PEARL", ingested: datetime | None = None, tag: str = "aaaaaa",
         **fields: Any) -> dict[str, Any]:
    """One calls row (current version unless a later ingest of the same call is written)."""
    offset = timedelta(hours=PORT_OFFSETS.get(port, 0))
    local = (call_time + offset).replace(tzinfo=timezone(offset))
    key = imo or mmsi or "N00000000"
    cid = f"{port}-{local:%Y%m%d}-{'A' if direction == 'arrival' else 'D'}-{key}"
    ing = ingest_id(ingested or call_time + timedelta(hours=1), tag)
    row: dict[str, Any] = {
        "call_id": cid, "version_id": f"{cid}@{ing}", "port": port, "direction": direction,
        "call_time": call_time, "call_time_local": local.isoformat(), "vessel_name": vessel_name,
        "vessel_name_key": vessel_name.upper(), "imo": imo, "imo_valid": True if imo else None,
        "mmsi": mmsi, "mmsi_valid": True if mmsi else None, "mmsi_country": "KHM" if mmsi else None,
        "call_sign": "XUAB7", "flag": "KHM", "vessel_type": "General cargo", "vessel_category": "cargo",
        "gross_tonnage": 1490.0, "year_built": 1991, "capacity": 14, "last_port": "THLCH",
        "next_port": "IDTPP", "declared_crew": 12, "declared_passengers": 0, "agent": "Kampot Marine Agency",
        "extra": "{}", "content_hash": "0" * 64, "ingest_id": ing, "ingested_at": ingested or call_time + timedelta(hours=1),
        "source_file": "manifest.csv", "source_sha256": "a" * 64, "source_sheet": None, "source_row": 2,
        "month": f"{call_time.astimezone(UTC):%Y-%m}",
    }
    row.update(fields)
    return row


def person(of: dict[str, Any], *, source_row: int, family_name: str = "SOK", given_names: str = "DARA",
           role: str = "crew", **fields: Any) -> dict[str, Any]:
    """One persons row belonging to the call version `of`."""
    row: dict[str, Any] = {
        "call_id": of["call_id"], "version_id": of["version_id"], "port": of["port"],
        "call_time": of["call_time"], "role": role, "family_name": family_name, "given_names": given_names,
        "name_key": f"{family_name} {given_names}".upper(), "rank": "AB" if role == "crew" else None,
        "nationality": "KHM", "date_of_birth": datetime(1990, 1, 1).date(), "place_of_birth": None,
        "gender": "M", "doc_type": "seaman_book", "doc_number": f"SB{source_row:06d}", "doc_issuer": "KHM",
        "doc_expiry": datetime(2028, 1, 1).date(), "embark_port": None, "disembark_port": None,
        "transit": False, "visa_number": None, "extra": "{}", "ingest_id": of["ingest_id"],
        "source_file": of["source_file"], "source_sha256": of["source_sha256"], "source_sheet": of["source_sheet"],
        "source_row": source_row, "month": of["month"],
    }
    row.update(fields)
    return row


def hit(rule: str, weight: int, evidence: str, *, title: str | None = None,
        persons: list[Any] | None = None) -> dict[str, Any]:
    """One rule hit as stored in scores.hits."""
    return {"rule": rule, "title": title or rule.replace("-", " ").capitalize(), "weight": weight,
            "evidence": evidence, "persons": persons or []}


def score(of: dict[str, Any], hits: list[dict[str, Any]], *, band: str | None = None,
          ruleset_version: str = SAMPLE_RULESET, scored_at: datetime | None = None,
          persons_aboard: int = 12) -> dict[str, Any]:
    """One scores row for the call version `of`; score = sum of weights (cap 100)."""
    total = min(100, sum(int(h["weight"]) for h in hits))
    band = band or ("high" if total >= 50 else "medium" if total >= 20 else "low")
    return {
        "call_id": of["call_id"], "version_id": of["version_id"], "port": of["port"],
        "call_time": of["call_time"], "ruleset_version": ruleset_version,
        "scored_at": scored_at or of["ingested_at"] + timedelta(minutes=5), "scored_by": "analyst1",
        "persons_aboard": persons_aboard, "score": total, "band": band, "hits": json.dumps(hits),
        "month": of["month"],
    }


def write(store: Any, calls: list[dict[str, Any]] = (), persons: list[dict[str, Any]] = (),
          scores: list[dict[str, Any]] = (), kind: str = "test") -> None:
    """Store the rows in one transaction."""
    with store.transaction(kind) as txn:
        if calls:
            txn.write("calls", pa.Table.from_pylist(list(calls), schema=calls_schema()))
        if persons:
            txn.write("persons", pa.Table.from_pylist(list(persons), schema=persons_schema()))
        if scores:
            txn.write("scores", pa.Table.from_pylist(list(scores), schema=scores_schema()))


def bulk_store(store: Any, *, end: datetime, days: int, calls_per_day: int, persons_per_call: int = 15,
               port: str = "KHKOS", seed: int = 1, chunk_days: int = 31) -> int:
    """A large store of scored calls over `days` days before `end`, built column-wise; returns calls."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    total = 0
    for start_day in range(0, days, chunk_days):  # one transaction per month-ish keeps memory flat
        n_days = min(chunk_days, days - start_day)
        n = n_days * calls_per_day
        offsets = start_day * 86400 + rng.integers(0, n_days * 86400, n)
        times = pd.to_datetime(end.timestamp() - offsets, unit="s", utc=True).astype("datetime64[us, UTC]")
        imo = pd.Series(rng.integers(9000000, 9999999, n)).astype(str)
        seq = pd.Series(np.arange(total, total + n)).astype(str)
        local = times + pd.Timedelta(hours=7)
        cid = port + "-" + local.strftime("%Y%m%d") + "-A-" + imo.to_numpy() + "-" + seq.to_numpy()
        ing = "20260101T000000000000Z-" + seq.str.zfill(6)
        version = cid + "@" + ing
        month = times.strftime("%Y-%m")
        calls = pd.DataFrame({
            "call_id": cid, "version_id": version, "port": port, "direction": "arrival",
            "call_time": times, "call_time_local": local.strftime("%Y-%m-%dT%H:%M:%S+07:00"),
            "vessel_name": "VESSEL " + seq, "vessel_name_key": "VESSEL " + seq, "imo": imo,
            "imo_valid": True, "flag": "KHM", "vessel_type": "General cargo", "vessel_category": "cargo",
            "declared_crew": persons_per_call, "ingest_id": ing, "ingested_at": times,
            "source_file": "bulk.csv", "source_sha256": "b" * 64, "source_row": 2, "month": month,
        })
        pidx = np.repeat(np.arange(n), persons_per_call)
        persons = pd.DataFrame({
            "call_id": calls["call_id"].to_numpy()[pidx], "version_id": version.to_numpy()[pidx],
            "port": port, "call_time": times.to_numpy()[pidx], "role": "crew",
            "family_name": "CREW", "given_names": "MEMBER", "nationality": "KHM",
            "ingest_id": ing.to_numpy()[pidx], "source_file": "bulk.csv",
            "source_row": np.tile(np.arange(2, 2 + persons_per_call), n), "month": month.to_numpy()[pidx],
        })
        pts = rng.choice([0, 5, 20, 30, 55], n, p=[0.6, 0.2, 0.1, 0.06, 0.04])
        hits_text = np.array([
            "[]",
            json.dumps([hit("flag-of-concern", 5, "flag KHM")]),
            json.dumps([hit("passengers-on-cargo-vessel", 20, "14 passengers on a cargo vessel")]),
            json.dumps([hit("passengers-on-cargo-vessel", 20, "14 passengers on a cargo vessel"),
                        hit("flag-of-concern", 10, "flag KHM")]),
            json.dumps([hit("over-capacity", 35, "44 persons aboard, certified for 12"),
                        hit("passengers-on-cargo-vessel", 20, "14 passengers on a cargo vessel")]),
        ])[np.searchsorted([0, 5, 20, 30, 55], pts)]
        scores = pd.DataFrame({
            "call_id": calls["call_id"], "version_id": version, "port": port, "call_time": times,
            "ruleset_version": "bench-1", "scored_at": times, "scored_by": "bench",
            "persons_aboard": np.int32(persons_per_call), "score": pts.astype("int32"),
            "band": np.where(pts >= 50, "high", np.where(pts >= 20, "medium", "low")), "hits": hits_text,
            "month": month,
        })
        with store.transaction("bench") as txn:
            txn.write("calls", _table(calls, calls_schema()))
            txn.write("persons", _table(persons, persons_schema()))
            txn.write("scores", _table(scores, scores_schema()))
        total += n
    return total


def _table(frame: Any, schema: pa.Schema) -> pa.Table:
    """A frame as an Arrow table in `schema` (missing columns null)."""
    cols = {}
    for field in schema:
        if field.name in frame.columns:
            cols[field.name] = pa.array(frame[field.name], type=field.type, from_pandas=True)
        else:
            cols[field.name] = pa.nulls(len(frame), type=field.type)
    return pa.table(cols, schema=schema)


# ---- the small store every report/show/review test shares ----------------------------------

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)  # tests pin piu.timeparse.now_utc to this
PEARL = "KHKOS-20261120-A-9074729"
KIEN = "KHKOS-20261119-D-514000111"
MEKONG = "KHKOS-20261117-A-9321456"
ANDAMAN = "KHKOS-20261121-A-9555012"
CHON = "THLCH-20261119-A-9188877"
PEARL_OCT = "KHKOS-20261005-D-9074729"


def sample_store(store: Any) -> None:
    """Six calls around 16-22 Nov 2026: high (amended), medium, low, unscored, another port, older."""
    t = lambda d, h=3: datetime(2026, 11, d, h, 0, tzinfo=UTC)  # noqa: E731
    pearl_v1 = call(call_time=t(20), ingested=t(19, 8), tag="v1pear", declared_passengers=0)
    pearl = call(call_time=t(20), ingested=t(20, 9), tag="v2pear", declared_passengers=30,
                 source_file="sea_pearl_amended.csv", source_sha256="c" * 64)
    pearl_p = [person(pearl, source_row=r, family_name=f"CREW{r}", given_names="A") for r in range(2, 14)]
    pearl_p += [person(pearl, source_row=r, family_name=f"PAX{r}", given_names="B", role="passenger",
                       nationality="MMR", doc_type="passport", doc_issuer="MMR") for r in range(14, 18)]
    pearl_v1_p = [person(pearl_v1, source_row=r, family_name=f"CREW{r}", given_names="A") for r in range(2, 14)]
    kien = call(call_time=t(18, 22), direction="departure", imo=None, mmsi="514000111",
                vessel_name="KIEN SVAY 88", vessel_type="Fishing vessel", vessel_category="fishing",
                flag="KHM", capacity=None, tag="kien01", source_file="kien_svay.xlsx", source_sheet="Crew")
    kien_p = [person(kien, source_row=r, family_name=f"FISH{r}", given_names="C") for r in range(5, 10)]
    kien_p[0]["date_of_birth"] = datetime(2011, 3, 4).date()
    mekong = call(call_time=t(17, 6), imo="9321456", mmsi="574111222", vessel_name="MEKONG STAR",
                  flag="VNM", tag="mekong")
    andaman = call(call_time=t(21, 1), imo="9555012", mmsi=None, vessel_name="ANDAMAN TRADER",
                   flag="PAN", tag="andama")
    chon = call(port="THLCH", call_time=t(19, 10), imo="9188877", mmsi=None, vessel_name="CHAO PHRAYA 2",
                flag="TZA", tag="chonbu", last_port="KHKOS")
    pearl_oct = call(call_time=datetime(2026, 10, 5, 2, 0, tzinfo=UTC), direction="departure", tag="pearlo")
    scores = [
        score(pearl_v1, [hit("flag-of-concern", 5, "flag KHM is on the Tokyo MoU grey list")]),
        score(pearl, [
            hit("over-capacity", 35, "16 persons aboard, certified for 14", title="More persons than certified"),
            hit("passengers-on-cargo-vessel", 20, "4 passengers on a cargo vessel",
                title="Passengers on a cargo vessel", persons=[14, 15, 16, 17]),
            hit("flag-of-concern", 5, "flag KHM is on the Tokyo MoU grey list", title="Flag of concern"),
        ], persons_aboard=16),
        score(kien, [hit("minor-in-crew", 25, "a crew member aged 15 on the call date", title="Minor among the crew",
                         persons=[{"source_file": "kien_svay.xlsx", "source_row": 5}])], persons_aboard=5),
        score(mekong, [hit("flag-of-concern", 5, "flag VNM on the grey list", title="Flag of concern")]),
        score(chon, [hit("flag-of-concern", 15, "flag TZA is on the Paris MoU black list", title="Flag of concern"),
                     hit("passengers-on-cargo-vessel", 20, "18 passengers on a cargo vessel",
                         title="Passengers on a cargo vessel")], persons_aboard=30),
        score(pearl_oct, []),
    ]
    write(store, calls=[pearl_v1, mekong, kien, andaman, chon, pearl_oct],
          persons=pearl_v1_p + kien_p, scores=[scores[0], *scores[2:]])
    write(store, calls=[pearl], persons=pearl_p, scores=[scores[1]])


# ---- a store for checking every report total against the rows --------------------------------

# (name, imo, day of Nov 2026, band, rules hit, review): rule-a 30, rule-b 25, rule-c 5 points
TOTALS_CALLS = (
    ("HIGH ONE", "9000001", 16, "high", ("rule-a", "rule-b"), None),
    ("HIGH TWO", "9000002", 17, "high", ("rule-a",), "cleared"),
    ("MEDIUM ONE", "9000003", 17, "medium", ("rule-b",), None),
    ("MEDIUM AMENDED", "9000004", 18, "medium", ("rule-a", "rule-c"), "amended"),
    ("MEDIUM BOARDED", "9000005", 19, "medium", ("rule-c",), "boarded"),
    ("LOW ONE", "9000006", 19, "low", ("rule-a",), None),
    ("LOW CLEARED", "9000007", 20, "low", ("rule-c",), "cleared"),
    ("LOW QUIET", "9000008", 21, "low", (), None),
)
TOTALS_UNSCORED = "KHKOS-20261121-A-9000009"
_TOTALS_WEIGHTS = {"rule-a": 30, "rule-b": 25, "rule-c": 5}


def totals_id(imo: str, day: int) -> str:
    return f"KHKOS-202611{day:02d}-A-{imo}"


def totals_store(store: Any) -> None:
    """Eight scored calls (2 high, 3 medium, 3 low; reviewed, unreviewed and amended) and one unscored, 16-21 Nov.

    "amended": reviewed (cleared), then a later manifest for the same call; the review is of the old version.
    """
    from piu.reviews import add_review

    first, scores = [], []
    for name, imo, day, band, rules, _ in TOTALS_CALLS:
        c = call(call_time=datetime(2026, 11, day, 3, tzinfo=UTC), imo=imo, mmsi=None, vessel_name=name,
                 ingested=datetime(2026, 11, day, 4, tzinfo=UTC), tag="first1")
        hits = [hit(r, _TOTALS_WEIGHTS[r], f"{r} evidence") for r in rules]
        first.append(c)
        scores.append(score(c, hits, band=band))
    unscored = call(call_time=datetime(2026, 11, 21, 5, tzinfo=UTC), imo="9000009", mmsi=None,
                    vessel_name="NOT SCORED", tag="unscor")
    assert unscored["call_id"] == TOTALS_UNSCORED
    write(store, calls=[*first, unscored], scores=scores)
    for (name, imo, day, band, rules, review), c in zip(TOTALS_CALLS, first):
        if review:
            status = "cleared" if review == "amended" else review
            add_review(store, c["call_id"], status, "checked row 2", by="analyst2",
                       at=datetime(2026, 11, day, 6, tzinfo=UTC))
        if review == "amended":
            v2 = call(call_time=c["call_time"], imo=imo, mmsi=None, vessel_name=name,
                      ingested=datetime(2026, 11, day, 8, tzinfo=UTC), tag="second")
            hits = [hit(r, _TOTALS_WEIGHTS[r], f"{r} evidence, amended") for r in rules]
            write(store, calls=[v2], scores=[score(v2, hits, band=band)])
