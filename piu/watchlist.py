"""Watchlists: import partners' and sanctions lists into the store, list, show and remove them.

A watchlist is a named list of entries of three kinds: `person` (name, aliases, date of birth,
nationality, gender, document), `document` (a lost, stolen or forged document number) and
`vessel` (name, IMO, MMSI, call sign, flag). Lists arrive as the piu watchlist layout (CSV, XLSX
or JSON Lines, headings matched as in ingest) or as the OpenSanctions "simple" CSV export
(`targets.simple.csv`), whose Person rows become person entries and Vessel rows vessel entries.

Storage: the store's `watchlists` dataset (unpartitioned). One import is one transaction that
writes that list's entries (and its quarantined rows) and retracts the transactions of the
list's earlier import, so re-importing replaces a list atomically; `remove` retracts them only.
Values are normalised with `piu.io.normalise`, exactly like ingest's, so screening compares like
with like.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from piu.errors import InputError, UsageError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import pyarrow as pa

    from piu.store import Store

DATASET = "watchlists"
FAILED_IMPORT = "watchlist-quarantine"  # the transaction kind of an import whose rows all failed
KINDS = ("person", "document", "vessel")
LIST_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

# Watchlist headings -> fields. Canonical manifest fields keep their names (so ingest's aliases
# apply too: "Date of birth", "Passport No", "Flag State"...); the rest are watchlist-only.
_HEADINGS: dict[str, tuple[str, ...]] = {
    "kind": ("kind", "entry kind", "entry type", "watchlist type", "subject type", "list type", "schema"),
    "entry_id": ("entry id", "entry", "id", "entry no", "watchlist id", "ref no", "reference no"),
    "full_name": ("name", "full name", "names", "person name", "subject name", "vessel name", "ship name",
                  "name of vessel", "caption"),
    "aliases": ("aliases", "alias", "aka", "also known as", "other names", "alternative names", "weak aliases"),
    "imo": ("imo", "imo number", "imo no"),
    "mmsi": ("mmsi", "mmsi number"),
    "call_sign": ("call sign", "callsign"),
    "flag": ("flag", "flag state"),
    "date_of_birth": ("date of birth", "dob", "birth date", "birth_date", "born"),
    "nationality": ("nationality", "citizenship", "country", "countries"),
    "gender": ("gender", "sex"),
    "doc_number": ("doc number", "document number", "passport number", "document", "passport"),
    "doc_issuer": ("doc issuer", "document issuer", "issuing state", "issuing country"),
    "reason": ("reason", "grounds", "listing reason", "remarks", "note", "notes", "sanctions"),
    "source": ("source", "listed by", "source agency", "dataset", "origin"),
    "listed_on": ("listed on", "listed", "date listed", "listing date", "added", "first seen", "first_seen"),
    "expires": ("expires", "expiry", "expiry date", "valid until", "until", "end date"),
    "identifiers": ("identifiers",),
    "last_seen": ("last seen", "last_seen"),
}
MAPPING: dict[str, str] = {h: f for f, hs in _HEADINGS.items() for h in hs}
_OPENSANCTIONS_COLUMNS = {"id", "schema", "name", "aliases", "identifiers", "dataset"}
_IMO_ID = re.compile(r"\bIMO\s*:?\s*(\d{7})\b", re.IGNORECASE)
_MMSI_ID = re.compile(r"(?:\bMMSI\s*:?\s*)?\b(\d{9})\b", re.IGNORECASE)


def watchlists_schema() -> pa.Schema:
    """Schema of the `watchlists` dataset: one row per entry of a list (proposed for piu/schema.py)."""
    import pyarrow as pa

    return pa.schema([
        ("list_name", pa.string()),
        ("entry_id", pa.string()),        # from the list, else W-<source row>
        ("kind", pa.string()),            # person | document | vessel
        ("name", pa.string()),            # as sent (trimmed)
        ("aliases", pa.string()),         # ';'-separated, as sent
        ("name_key", pa.string()),        # normalise.name_key of the name
        ("imo", pa.string()),
        ("mmsi", pa.string()),
        ("call_sign", pa.string()),
        ("flag", pa.string()),            # alpha-3 (vessels)
        ("date_of_birth", pa.date32()),   # when the full date is known
        ("birth_year", pa.int32()),       # also when only the year is known
        ("nationality", pa.string()),     # alpha-3
        ("gender", pa.string()),          # M | F | X
        ("doc_number", pa.string()),      # normalised; ';'-separated when several
        ("doc_issuer", pa.string()),      # alpha-3
        ("reason", pa.string()),
        ("source", pa.string()),
        ("listed_on", pa.date32()),
        ("expires", pa.date32()),         # null: does not expire
        ("source_file", pa.string()),
        ("source_sha256", pa.string()),
        ("source_row", pa.int64()),
        ("import_id", pa.string()),       # the store transaction that holds this list
        ("imported_at", pa.timestamp("us", tz="UTC")),
    ])


@dataclass
class ImportSummary:
    """What one `watchlist import` did."""

    list_name: str
    source_file: str
    source_sha256: str
    format: str                       # piu | opensanctions
    rows: int = 0
    entries: Counter = field(default_factory=Counter)   # kind -> count
    skipped: Counter = field(default_factory=Counter)   # OpenSanctions schema -> count (not persons/vessels)
    quarantined: int = 0
    reasons: Counter = field(default_factory=Counter)
    replaced: int = 0                 # entries the earlier version of the list had
    import_id: str | None = None
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (stable keys)."""
        return {"list": self.list_name, "file": self.source_file, "sha256": self.source_sha256,
                "format": self.format, "rows": self.rows, "entries": sum(self.entries.values()),
                "persons": self.entries["person"], "documents": self.entries["document"],
                "vessels": self.entries["vessel"], "skipped": dict(self.skipped), "quarantined": self.quarantined,
                "quarantine_reasons": dict(self.reasons.most_common()), "replaced": self.replaced,
                "import_id": self.import_id, "warnings": self.warnings}


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------

def check_list_name(name: str) -> str:
    """A valid list name, or a UsageError saying what is allowed."""
    if not LIST_NAME.match(name or ""):
        raise UsageError(f"list name {name!r} is not allowed",
                         hint="use letters, digits, '.', '_' or '-' (up to 64), e.g. --list blo-2026")
    return name


def _raw_frame(path: str) -> tuple[pd.DataFrame, str, str, str]:
    """The file's rows as text columns (mapped headings) + source_row; name, sha256, format."""
    import pandas as pd

    from piu.io.readers import NoColumnsError, read_file

    try:
        res = read_file(path, mapping=MAPPING)
    except NoColumnsError as exc:  # the readers' message names manifest columns and ingest's --map
        name = "<stdin>" if path == "-" else os.path.basename(path)
        raise InputError(f"{name}: none of the columns a watchlist needs ({exc.columns} column(s), none a heading "
                         "piu knows); expected e.g. name, date_of_birth, nationality, doc_number or imo",
                         hint="rename the headings to the watchlist columns (README: `piu watchlist`) and import it again") from None
    frames = []
    for t in res.tables:
        f = t.frame.copy()
        f["source_row"] = t.source_rows
        frames.append(f)
    if not frames:
        raise InputError(f"{res.source_name}: no table found", hint="a watchlist needs at least a name column")
    frame = pd.concat(frames, ignore_index=True)
    cols = {str(c).strip().lower() for t in res.tables for c in t.column_map}
    fmt = "opensanctions" if _OPENSANCTIONS_COLUMNS <= cols else "piu"
    return frame, res.source_name, res.sha256, fmt


def _col(frame: pd.DataFrame, name: str) -> pd.Series:
    import pandas as pd

    from piu.io.normalise import clean_text

    if name in frame.columns:
        return clean_text(frame[name])
    return pd.Series(pd.NA, index=frame.index, dtype="str")


def _first(values: pd.Series) -> pd.Series:
    """The first of ';'-separated values."""
    return values.str.split(";").str[0].str.strip().mask(lambda s: s == "")


def _from_opensanctions(raw: pd.DataFrame, summary: ImportSummary) -> pd.DataFrame:
    """OpenSanctions simple CSV rows -> watchlist fields (Person and Vessel rows only)."""
    import pandas as pd

    schema = _col(raw, "kind").fillna("")
    kind = schema.str.lower().map({"person": "person", "vessel": "vessel"})
    for s, n in schema[kind.isna()].value_counts().items():
        summary.skipped[s or "(none)"] += int(n)
    raw = raw[kind.notna()]
    kind = kind[kind.notna()]
    ids = _col(raw, "identifiers").fillna("")
    out = pd.DataFrame(index=raw.index)
    out["kind"] = kind
    out["entry_id"] = _col(raw, "entry_id")
    out["full_name"] = _col(raw, "full_name")
    out["aliases"] = _col(raw, "aliases")
    out["date_of_birth"] = _first(_col(raw, "date_of_birth"))
    out["nationality"] = _first(_col(raw, "nationality"))
    is_vessel = kind == "vessel"
    out["imo"] = ids.str.extract(_IMO_ID, expand=False).where(is_vessel)
    out["mmsi"] = ids.str.extract(_MMSI_ID, expand=False).where(is_vessel)
    out["flag"] = out["nationality"].where(is_vessel)
    out["nationality"] = out["nationality"].where(~is_vessel)
    # a person's identifiers are mostly passport and national ID numbers: each one is screened
    out["doc_number"] = ids.where(~is_vessel & (ids != ""))
    out["reason"] = _col(raw, "reason").fillna("listed in " + _col(raw, "source").fillna("OpenSanctions"))
    out["source"] = _col(raw, "source").fillna("OpenSanctions")
    out["listed_on"] = _col(raw, "listed_on").str.slice(0, 10)
    for c in ("call_sign", "gender", "doc_issuer", "expires"):  # not in the simple export
        out[c] = pd.Series(pd.NA, index=raw.index, dtype="str")
    out["source_row"] = raw["source_row"]
    return out


def _from_piu(raw: pd.DataFrame, summary: ImportSummary) -> pd.DataFrame:
    """piu watchlist layout rows -> watchlist fields (family/given name columns joined). Without a
    kind column (a partner's list of wanted persons, or of vessels), each row's kind is read from
    what it has - a vessel identifier (IMO, MMSI, call sign) or a flag and nothing of a person (date
    of birth, document, gender, nationality): a vessel; else a name: a person; else a document
    number: a document - and the summary says so."""
    import pandas as pd

    out = pd.DataFrame(index=raw.index)
    for c in ("kind", "entry_id", "full_name", "aliases", "imo", "mmsi", "call_sign", "flag", "date_of_birth",
              "nationality", "gender", "doc_number", "doc_issuer", "reason", "source", "listed_on", "expires"):
        out[c] = _col(raw, c)
    if "vessel_name" in raw.columns:
        out["full_name"] = out["full_name"].fillna(_col(raw, "vessel_name"))
    fam, giv = _col(raw, "family_name"), _col(raw, "given_names")
    joined = fam.fillna("").str.cat(giv.fillna(""), sep=" ").str.strip()
    out["full_name"] = out["full_name"].fillna(joined.mask(joined == ""))
    out["kind"] = out["kind"].str.lower().str.strip()
    if "kind" not in raw.columns and len(out):
        ship = out["imo"].notna() | out["mmsi"].notna() | out["call_sign"].notna() | out["flag"].notna()
        person = (out["date_of_birth"].notna() | out["doc_number"].notna() | out["gender"].notna()
                  | out["nationality"].notna())
        vessel = (ship & ~person).to_numpy(dtype=bool)  # a wanted person's row may name the vessel they left
        named = out["full_name"].notna().to_numpy(dtype=bool)
        document = ~vessel & ~named & out["doc_number"].notna().to_numpy(dtype=bool)
        kind = pd.Series("person", index=out.index, dtype="str").mask(vessel, "vessel").mask(document, "document")
        out["kind"] = kind.where(vessel | named | document)
        read = out["kind"].value_counts()
        summary.warnings.append("no kind column: kinds read from each row ("
                                + ", ".join(f"{read[k]} {k}(s)" for k in KINDS if k in read.index)
                                + "; a vessel has an IMO, MMSI, call sign or flag and no date of birth, "
                                  "document, gender or nationality); add a kind column to say so")
    out["source_row"] = raw["source_row"]
    return out


def _dates(values: pd.Series, dayfirst: bool) -> tuple[pd.Series, pd.Series, pd.Series, int]:
    """(date, year, invalid, how many had a Buddhist-era year): full dates, plus years alone ('1975', '1975-03')."""
    import pandas as pd

    from piu.io.normalise import BUDDHIST_ERA_OFFSET, BUDDHIST_ERA_YEARS, parse_dates

    year_only = values.str.fullmatch(r"\s*\d{4}(-\d{1,2})?\s*").fillna(False).astype(bool)
    parsed = parse_dates(values.mask(year_only), dayfirst=dayfirst)
    full = parsed.values
    year = pd.to_numeric(values.where(year_only).str.strip().str.slice(0, 4), errors="coerce").astype("Int32")
    buddhist = year.between(*BUDDHIST_ERA_YEARS).fillna(False).astype(bool)  # a year alone, as dates read it
    year = year.mask(buddhist, year - BUDDHIST_ERA_OFFSET)
    year = year.fillna(pd.Series(full.dt.year, index=values.index).astype("Int32"))
    return full, year, parsed.invalid & ~year_only, int(parsed.buddhist.sum()) + int(buddhist.sum())


def _normalise(raw: pd.DataFrame, dayfirst: bool, warnings: list[str] | None = None) -> tuple[pd.DataFrame, pd.Series]:
    """Normalised entry columns and one problem ('column\\treason') per bad row (warnings about
    values appended to `warnings`)."""
    import pandas as pd

    from piu.io import normalise as nz

    idx = raw.index
    problem = pd.Series(pd.NA, index=idx, dtype="str")

    def flag(mask: pd.Series, column: str, reason: str) -> None:
        nonlocal problem
        mask = mask.fillna(False).astype(bool) & problem.isna()
        problem = problem.mask(mask, f"{column}\t{reason}")

    out = pd.DataFrame(index=idx)
    kind = raw["kind"]
    out["kind"] = kind
    nothing = (raw["full_name"].isna() & raw["doc_number"].isna() & raw["imo"].isna() & raw["mmsi"].isna()
               & raw["call_sign"].isna())
    flag(kind.isna() & nothing, "name", "nothing to match on (no name, document number, IMO, MMSI or call sign)")
    flag(kind.isna(), "kind", "no kind (person, document or vessel)")
    flag(kind.notna() & ~kind.isin(KINDS), "kind", "kind is not person, document or vessel")
    out["entry_id"] = raw["entry_id"].fillna("W-" + raw["source_row"].astype("int64").astype("str").str.zfill(4))
    out["name"] = raw["full_name"]
    out["aliases"] = raw["aliases"].str.replace(r"\s*;\s*", "; ", regex=True)
    out["name_key"] = nz.name_key(raw["full_name"])
    imo = nz.imo(raw["imo"])
    out["imo"] = imo["imo"]
    mmsi = nz.mmsi(raw["mmsi"])
    out["mmsi"] = mmsi["mmsi"]
    out["call_sign"] = raw["call_sign"].str.upper().str.replace(" ", "", regex=False)
    vessel = kind == "vessel"
    flag_state = nz.country(raw["flag"].fillna(raw["nationality"].where(vessel)))
    out["flag"] = flag_state.values.where(vessel)
    dob, year, bad_dob, dob_buddhist = _dates(raw["date_of_birth"], dayfirst)
    out["date_of_birth"] = dob
    out["birth_year"] = year
    flag(bad_dob, "date_of_birth", "date of birth is not a date (expected DD/MM/YYYY or a year)")
    out["nationality"] = nz.country(raw["nationality"]).values.where(~vessel)
    out["gender"] = nz.gender(raw["gender"]).values
    docs = raw["doc_number"]
    out["doc_number"] = nz.doc_number(docs)
    several = docs.str.contains(";", regex=False).fillna(False).astype(bool)
    if several.any():  # a few entries list several documents: each is normalised like ingest's
        parts = nz.doc_number(docs[several].str.split(";").explode().str.strip())
        out.loc[several, "doc_number"] = parts.dropna().groupby(level=0).agg(";".join).reindex(docs[several].index)
    out["doc_issuer"] = nz.country(raw["doc_issuer"]).values
    out["reason"] = raw["reason"]
    out["source"] = raw["source"]
    listed = nz.parse_dates(raw["listed_on"], dayfirst=dayfirst)
    out["listed_on"] = listed.values
    flag(listed.invalid, "listed_on", "listed_on is not a date")
    expires = nz.parse_dates(raw["expires"], dayfirst=dayfirst)
    out["expires"] = expires.values
    flag(expires.invalid, "expires", "expires is not a date")
    buddhist = nz.buddhist_era_warning([("date_of_birth", dob_buddhist), ("listed_on", int(listed.buddhist.sum())),
                                        ("expires", int(expires.buddhist.sum()))], check="the list's source")
    if buddhist and warnings is not None:
        warnings.append(buddhist)
    person = kind == "person"
    flag(person & out["name_key"].isna() & out["doc_number"].isna(), "name", "person entry without a name or document")
    flag((kind == "document") & out["doc_number"].isna(), "doc_number", "document entry without a document number")
    flag(vessel & out["name_key"].isna() & out["imo"].isna() & out["mmsi"].isna(), "name",
         "vessel entry without a name, IMO or MMSI")
    dup = out["entry_id"].duplicated(keep="first") & problem.isna()
    flag(dup, "entry_id", "entry id appears twice in the list; the first is kept")
    out["source_row"] = raw["source_row"].astype("int64")
    return out, problem


# ---------------------------------------------------------------------------------------------
# Importing, listing, removing
# ---------------------------------------------------------------------------------------------

def _list_txns(store: Store, list_name: str) -> tuple[set[str], int]:
    """Transactions holding a list's current entries, and how many entries it has."""
    import pyarrow.compute as pc

    t = store.read(DATASET, watchlists_schema(), columns=["list_name", "import_id"])
    mask = pc.equal(t["list_name"], list_name)
    ids = t.filter(mask)["import_id"].to_pylist()
    return set(ids), len(ids)


def import_list(store: Store, path: str, list_name: str | None = None, *, dayfirst: bool = True,
                dry_run: bool = False) -> ImportSummary:
    """Import a watchlist file as the list `list_name` (default: the file's stem), replacing it."""
    import pandas as pd
    import pyarrow as pa

    raw, source, sha, fmt = _raw_frame(path)
    name = check_list_name(list_name or Path(source).stem)
    summary = ImportSummary(name, source, sha, fmt, rows=len(raw))
    fields = _from_opensanctions(raw, summary) if fmt == "opensanctions" else _from_piu(raw, summary)
    canon, problem = _normalise(fields, dayfirst, summary.warnings)
    bad = problem.notna()
    split = problem[bad].str.split("\t", n=1)
    summary.quarantined = int(bad.sum())
    summary.reasons = Counter(split.str[1].tolist())
    good = canon[~bad].reset_index(drop=True)
    summary.entries = Counter(good["kind"].tolist())
    if len(good) == 0 and summary.quarantined == 0:
        raise InputError(f"{source}: no person or vessel entries found",
                         hint="a watchlist needs columns kind and name (or the OpenSanctions simple CSV)")
    if len(good) == 0:  # every row failed: the list is not replaced by an empty one (the rows are kept)
        if not dry_run:
            with store.transaction(FAILED_IMPORT) as txn:
                _write_quarantine(txn, raw, problem, canon, source, sha)
                txn.retract(_failed_imports_of(store, sha))  # the same file failing again: its rows once
        reason, n = summary.reasons.most_common(1)[0]
        kept = "" if dry_run else "; they are kept in quarantine"
        raise InputError(f"{source}: none of its {summary.rows} row(s) is a usable entry ({n} with: {reason}){kept}; "
                         f"list '{name}' was not changed",
                         hint="fix the rows" + ("" if dry_run else " (`piu quarantine` shows them)")
                         + " and import the file again")
    if dry_run:
        summary.replaced = _list_txns(store, name)[1] if store.exists() else 0
        return summary
    now = datetime.now(timezone.utc)
    with store.transaction("watchlist") as txn:
        earlier, summary.replaced = _list_txns(store, name)  # under the lock: no race with another import
        good = good.assign(list_name=name, source_file=source, source_sha256=sha, import_id=txn.id, imported_at=now)
        for c in ("date_of_birth", "listed_on", "expires"):
            good[c] = pd.to_datetime(good[c], errors="coerce").dt.date.astype("object").where(good[c].notna(), None)
        schema = watchlists_schema()
        table = pa.Table.from_pandas(good[schema.names], schema=schema, preserve_index=False)
        txn.write(DATASET, table)
        if summary.quarantined:
            _write_quarantine(txn, raw, problem, canon, source, sha)
        txn.retract(earlier)
        summary.import_id = txn.id
    return summary


def _failed_imports_of(store: Store, sha: str) -> set[str]:
    """Earlier failed imports (all rows quarantined) of the same file bytes: their transactions."""
    import pyarrow.compute as pc

    from piu.schema import quarantine_schema

    if not store.exists():
        return set()
    rows = store.read("quarantine", quarantine_schema(), columns=["ingest_id", "source_sha256"])
    txns = set(rows.filter(pc.equal(rows["source_sha256"], sha))["ingest_id"].to_pylist())
    return {t for t in txns if t and store.txn_kind(t) == FAILED_IMPORT}


def _write_quarantine(txn: Any, raw: pd.DataFrame, problem: pd.Series, canon: pd.DataFrame, source: str,
                      sha: str) -> None:
    """The rows that failed, with their reasons, into the store's quarantine (as ingest keeps them)."""
    import pyarrow as pa

    from piu.io.ingest import quarantine_rows
    from piu.schema import quarantine_schema

    bad = problem.notna()
    q = quarantine_rows(raw.loc[bad[bad].index], problem[bad], ingest_id=txn.id, source_file=source,
                        sha256=sha, sheets="", rows=canon.loc[bad, "source_row"])
    txn.write("quarantine", pa.Table.from_pandas(q, schema=quarantine_schema(), preserve_index=False))


def entries(store: Store, *, lists: list[str] | None = None, active_on: date | None = None) -> pd.DataFrame:
    """Stored entries (of some lists), only those not expired on `active_on` when given."""
    from piu.store import frame_of

    table = store.read(DATASET, watchlists_schema()) if store.exists() else watchlists_schema().empty_table()
    frame = frame_of(table)
    if len(frame) == 0:  # no list (most stores): nothing to choose or sort
        return frame
    if lists is not None:
        frame = frame[frame["list_name"].isin(lists)]
    if active_on is not None:
        frame = active(frame, active_on)
    return frame.sort_values(["list_name", "source_row"]).reset_index(drop=True)


def active(frame: pd.DataFrame, on: date) -> pd.DataFrame:
    """Entries that have not expired on the given day (an entry expiring that day still counts)."""
    import pandas as pd

    exp = pd.to_datetime(frame["expires"], errors="coerce")
    return frame[exp.isna() | (exp >= pd.Timestamp(on))]


def reference_tables(store: Store, on: date | None = None) -> dict[str, pd.DataFrame]:
    """Active entries by kind, as the rules read them from `RuleData.reference`."""
    today = on or datetime.now(timezone.utc).date()
    frame = entries(store, active_on=today)
    if len(frame) == 0:
        return {"watchlist_persons": frame, "watchlist_documents": frame.copy(), "watchlist_vessels": frame.copy()}
    return {"watchlist_persons": frame[frame["kind"] == "person"].reset_index(drop=True),
            "watchlist_documents": frame[frame["kind"] == "document"].reset_index(drop=True),
            "watchlist_vessels": frame[frame["kind"] == "vessel"].reset_index(drop=True)}


def list_overview(store: Store, on: date | None = None) -> pd.DataFrame:
    """One row per list: entries by kind, expired entries, file and when it was imported."""
    import pandas as pd

    today = on or datetime.now(timezone.utc).date()
    frame = entries(store)
    cols = ["list_name", "entries", "persons", "documents", "vessels", "expired", "source_file", "imported_at", "import_id"]
    if len(frame) == 0:
        return pd.DataFrame(columns=cols)
    exp = pd.to_datetime(frame["expires"], errors="coerce")
    frame = frame.assign(_p=frame["kind"] == "person", _d=frame["kind"] == "document", _v=frame["kind"] == "vessel",
                         _x=exp.notna() & (exp < pd.Timestamp(today)))
    g = frame.groupby("list_name", sort=True)
    out = pd.DataFrame({"entries": g.size(), "persons": g["_p"].sum(), "documents": g["_d"].sum(),
                        "vessels": g["_v"].sum(), "expired": g["_x"].sum(), "source_file": g["source_file"].first(),
                        "imported_at": g["imported_at"].max(), "import_id": g["import_id"].first()}).reset_index()
    return out[cols]


def remove_list(store: Store, list_name: str) -> int:
    """Remove a list (its entries stop matching at once); returns how many entries it had."""
    if not store.exists():
        raise InputError(f"no watchlist named {list_name!r}", hint="see the lists with `piu watchlist list`")
    with store.transaction("watchlist-remove") as txn:
        earlier, n = _list_txns(store, list_name)
        if not earlier:
            raise InputError(f"no watchlist named {list_name!r}", hint="see the lists with `piu watchlist list`")
        txn.retract(earlier)
    return n


def digest(reference: dict[str, Any]) -> str:
    """A short hash of the active entries in use ('' when none), so a changed list means a new rule-set version."""
    import hashlib

    parts = []
    for key in ("watchlist_persons", "watchlist_documents", "watchlist_vessels"):
        frame = reference.get(key)
        if frame is not None and len(frame):
            parts.extend(sorted(frame["import_id"].astype("str") + "/" + frame["entry_id"].astype("str")))
    if not parts:
        return ""
    return "wl:" + hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]
