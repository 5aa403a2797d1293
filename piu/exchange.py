"""Regional exchange: signed, pseudonymised packages of flagged cases shared with partner units.

A package is one zip file (docs/exchange-format.md) with three members in a fixed order and with
fixed timestamps, so the same input and `created_at` always give the same bytes:

    manifest.json   format, version, producing unit, period, counts, SHA-256 of every data member
    cases.jsonl     one flagged call per line: vessel particulars in clear, hits, review status,
                    persons pseudonymised (keyed hashes of document and of name + date of birth)
    signature       hex HMAC-SHA256 of the manifest bytes under the regional key

The regional key is shared by the partner units out of band. It never appears in a package, a
message or a log: only its *key id* (an HMAC of a fixed label, which reveals nothing about the
key) is written, so that a wrong key can be told apart from a tampered package.

Imported packages land in three unpartitioned store datasets, written in one transaction:
`partner_packages` (provenance), `partner_cases` (vessels) and `partner_persons` (hashes), which
the `partner-alert` rule reads through `partner_reference()`.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import re
import secrets
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from piu import __version__
from piu.errors import InputError, UsageError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import pyarrow as pa

    from piu.queries import ScoreChoice
    from piu.store import Store

FORMAT = "piu-exchange"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CASES = "cases.jsonl"
SIGNATURE = "signature"
MEMBERS = (MANIFEST, CASES, SIGNATURE)
# Zip entries carry this fixed time (the earliest a zip can hold) so packages are reproducible.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
MAX_MEMBER_BYTES = 512 * 1024 * 1024  # a zip bomb guard far above any real package

KEY_ENV = "PIU_EXCHANGE_KEY"
KEY_FILE_NAME = "exchange.key"
KEY_BYTES = 32
KEYGEN_HINT = "make one with `piu exchange keygen -o FILE` and share it with the partner units over a secure channel"

UNIT = re.compile(r"^[A-Z]{2}-[A-Z0-9]{2,10}$")
# Age bands kept in clear (lower bound, label); a person's exact date of birth never leaves.
AGE_BANDS: tuple[tuple[int, str], ...] = (
    (0, "0-15"), (16, "16-17"), (18, "18-24"), (25, "25-34"), (35, "35-44"), (45, "45-54"), (55, "55-64"),
    (65, "65+"),
)

PACKAGES = "partner_packages"
PARTNER_CASES = "partner_cases"
PARTNER_PERSONS = "partner_persons"

# Rules whose evidence quotes a watchlist entry (a name, possibly spelt differently from the
# manifest, so the name check below could miss it): their evidence never leaves the unit.
WITHHELD_CATEGORIES = ("watchlist",)
WITHHELD_TEXT = "evidence withheld (it may identify a person)"

VRS_COLUMNS: tuple[str, ...] = (
    "reporting_unit", "case_ref", "port", "direction", "call_date", "vessel_name", "imo", "mmsi", "flag",
    "vessel_type", "vessel_category", "last_port", "next_port", "score", "band", "rules", "review_status",
    "persons_aboard", "crew", "passengers", "minors", "female", "male", "nationalities", "ruleset_version",
)


# ---- the key -------------------------------------------------------------------------------

class ExchangeKey:
    """The regional key. Its bytes never appear in repr, messages or packages."""

    __slots__ = ("_key", "source")

    def __init__(self, key: bytes, source: str = "") -> None:
        if len(key) < KEY_BYTES:
            raise InputError(f"the exchange key from {source or 'the given source'} is too short "
                             f"({len(key)} bytes, need at least {KEY_BYTES})", hint=KEYGEN_HINT)
        self._key = key
        self.source = source

    def __repr__(self) -> str:
        return f"ExchangeKey(id={self.key_id})"

    __str__ = __repr__

    def mac(self, message: bytes) -> str:
        """Hex HMAC-SHA256 of a message under the key."""
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    @property
    def key_id(self) -> str:
        """A public fingerprint (16 hex) that tells keys apart without revealing them."""
        return self.mac(b"piu-exchange/1/key-id")[:16]


def generate_key() -> str:
    """A new random regional key as 64 hex characters (32 bytes)."""
    return secrets.token_hex(KEY_BYTES)


def parse_key(text: str, source: str) -> ExchangeKey:
    """A key from its hex text (as `generate_key` writes it); errors never quote the text."""
    compact = "".join(text.split())
    if not compact:
        raise InputError(f"the exchange key from {source} is empty", hint=KEYGEN_HINT)
    if not re.fullmatch(r"[0-9A-Fa-f]+", compact) or len(compact) % 2:
        raise InputError(f"the exchange key from {source} is not hexadecimal text", hint=KEYGEN_HINT)
    return ExchangeKey(bytes.fromhex(compact), source)


def load_key(key_file: str | None = None, home: str | os.PathLike[str] | None = None, *,
             required: bool = True) -> ExchangeKey | None:
    """The key from --key-file, else $PIU_EXCHANGE_KEY, else HOME/exchange.key (None if absent and optional)."""
    if key_file:
        path = Path(key_file).expanduser()
        try:
            return parse_key(path.read_text(encoding="ascii", errors="replace"), str(path))
        except FileNotFoundError:
            raise InputError(f"key file {path} not found", hint=KEYGEN_HINT) from None
        except IsADirectoryError:
            raise InputError(f"key file {path} is a folder", hint="give the key file itself") from None
        except PermissionError:
            raise InputError(f"key file {path} is not readable", hint="check its permissions") from None
    env = os.environ.get(KEY_ENV)
    if env:
        return parse_key(env, f"${KEY_ENV}")
    if home is not None:
        path = Path(home) / KEY_FILE_NAME
        if path.is_file():
            return parse_key(path.read_text(encoding="ascii", errors="replace"), str(path))
    if required:
        raise UsageError("no exchange key given",
                         hint=f"use --key-file FILE or set {KEY_ENV}; {KEYGEN_HINT}")
    return None


def write_key_file(path: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Create a new key file readable by its owner only; refuses to overwrite unless `force`.

    An existing file is a state of the disk, not a mistyped command: InputError (exit 1), not usage (2).
    """
    target = Path(path).expanduser()
    if target.exists() and not force:
        raise InputError(f"{target} already exists",
                         hint="keep the existing key (partners use it), pass --force to replace it, "
                              "or write another file with -o FILE")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(generate_key() + "\n")
    os.replace(tmp, target)
    return target


def check_unit(unit: str) -> str:
    """A unit code like KH-SHV (country alpha-2, dash, 2-10 letters or digits), upper-cased."""
    value = (unit or "").strip().upper()
    if not UNIT.match(value):
        raise UsageError(f"--unit {unit!r} is not a unit code",
                         hint="use the country's alpha-2 code, a dash and a short name, e.g. KH-SHV or TH-SGZ")
    return value


# ---- pseudonymisation ---------------------------------------------------------------------

def _fold(text: str) -> str:
    """ASCII, upper case, every run of non-alphanumerics one space (the name canonical form)."""
    from anyascii import anyascii
    return " ".join(re.sub(r"[^A-Z0-9]+", " ", anyascii(text).upper()).split())


def canonical_document(number: str) -> str:
    """A document number as hashed: ASCII, upper case, letters and digits only."""
    return _fold(number).replace(" ", "")


def canonical_name(name_key: str) -> str:
    """A name key as hashed: folded tokens in sorted order, so family/given order does not matter."""
    return " ".join(sorted(_fold(name_key).split()))


def _by_unique(series: pd.Series, func: Any) -> pd.Series:
    """Apply `func` to each distinct non-missing value once and map back (None for missing)."""
    import numpy as np
    import pandas as pd

    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    table = np.array([func(u) for u in uniques] + [None], dtype=object)
    return pd.Series(table[codes], index=series.index, dtype="object")


def _text(series: pd.Series) -> pd.Series:
    """Text values with blanks as missing."""
    s = series.astype("object").where(series.notna(), None)
    return s.map(lambda v: v if v is None or str(v).strip() else None)


def hash_persons(persons: pd.DataFrame, key: ExchangeKey) -> pd.DataFrame:
    """doc_hash and name_dob_hash per person (None when the inputs are missing); same index."""
    import pandas as pd

    from piu.io import normalise as nz

    # ingest's normalisers first (idempotent on stored values), then the format's canonical form
    number = (_by_unique(_text(nz.doc_number(persons["doc_number"])), canonical_document)
              if "doc_number" in persons else None)
    issuer = _text(persons["doc_issuer"]) if "doc_issuer" in persons else pd.Series(None, index=persons.index, dtype=object)
    if "nationality" in persons:  # a passport's issuer is its holder's state: agents often leave it blank
        issuer = issuer.where(issuer.notna(), _text(persons["nationality"]))
    issuer = issuer.fillna("").astype(str).str.strip().str.upper()
    out = pd.DataFrame(index=persons.index)
    if number is not None:
        doc_in = ("piu-exchange/1/doc\n" + issuer + "\n" + number.fillna("").astype(str))
        doc_in = doc_in.where(number.notna() & (number.fillna("") != ""), None)
        out["doc_hash"] = _by_unique(doc_in, lambda t: key.mac(t.encode("utf-8")))
    else:
        out["doc_hash"] = pd.Series(None, index=persons.index, dtype=object)
    names = _by_unique(_text(nz.name_key(persons["name_key"])), canonical_name) if "name_key" in persons else None
    dob = pd.to_datetime(persons["date_of_birth"], errors="coerce") if "date_of_birth" in persons else None
    if names is not None and dob is not None:
        dob_text = dob.dt.strftime("%Y-%m-%d")
        nd_in = "piu-exchange/1/name-dob\n" + names.fillna("").astype(str) + "\n" + dob_text.fillna("").astype(str)
        nd_in = nd_in.where(names.notna() & (names.fillna("") != "") & dob.notna(), None)
        out["name_dob_hash"] = _by_unique(nd_in, lambda t: key.mac(t.encode("utf-8")))
    else:
        out["name_dob_hash"] = pd.Series(None, index=persons.index, dtype=object)
    return out


def age_band(ages: pd.Series) -> pd.Series:
    """Ages in whole years as band labels ('0-15', '16-17', '18-24', ..., '65+'); None when unknown."""
    import numpy as np
    import pandas as pd

    lows = np.array([lo for lo, _ in AGE_BANDS])
    labels = np.array([lab for _, lab in AGE_BANDS] + [None], dtype=object)
    values = pd.to_numeric(ages, errors="coerce")
    idx = np.searchsorted(lows, values.fillna(-1).to_numpy(), side="right") - 1
    idx = np.where(values.isna().to_numpy() | (idx < 0), len(AGE_BANDS), idx)
    return pd.Series(labels[idx], index=ages.index, dtype=object)


@dataclass(frozen=True)
class PersonHasher:
    """Hashes local persons like a package does, for the partner-alert rule (key hidden in repr)."""

    key: ExchangeKey

    def hash_persons(self, persons: pd.DataFrame) -> pd.DataFrame:
        """doc_hash and name_dob_hash per person row."""
        return hash_persons(persons, self.key)


# ---- evidence that may leave the unit ----------------------------------------------------

def _sensitive_terms(persons: pd.DataFrame) -> tuple[set[str], set[str], set[str]]:
    """Name words, compact identifiers (documents, visas) and birth dates of the given persons."""
    words: set[str] = set()
    for col in ("family_name", "given_names", "name_key"):
        if col in persons:
            for value in persons[col].dropna().unique():  # unique names only
                words.update(w for w in _fold(str(value)).split() if len(w) >= 3)
    ids: set[str] = set()
    for col in ("doc_number", "visa_number"):
        if col in persons:
            ids.update(c for c in (canonical_document(str(v)) for v in persons[col].dropna().unique()) if len(c) >= 4)
    dates: set[str] = set()
    if "date_of_birth" in persons:
        dob = pd_dates(persons["date_of_birth"])
        dates = {d for d in dob.dropna().unique()}
    return words, ids, dates


def pd_dates(series: pd.Series) -> pd.Series:
    """ISO date text (YYYY-MM-DD) of a date column, None when missing."""
    import pandas as pd
    return pd.to_datetime(series, errors="coerce").dt.strftime("%Y-%m-%d")


_LONG_ID = re.compile(r"\b(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z0-9]{6,}\b|\b\d{10,}\b")


def safe_evidence(evidence: str, words: set[str], ids: set[str], dates: set[str], allowed: set[str]) -> bool:
    """True when evidence text names no person: no name word, document, birth date or unknown long id."""
    folded = _fold(evidence)
    if any(w in words for w in folded.split()):
        return False
    compact = folded.replace(" ", "")
    if any(i in compact for i in ids):
        return False
    if any(d in evidence for d in dates):
        return False
    # an identifier-like token (letters and digits, or 10+ digits) that is not the vessel's own
    # is probably a document or visa number from elsewhere in the store: withhold
    return all(tok in allowed for tok in _LONG_ID.findall(folded))


# ---- building a package ------------------------------------------------------------------

@dataclass
class ExportResult:
    """What an export wrote (for the summary on stderr)."""

    path: str
    unit: str
    cases: int
    persons: int
    hits: int
    evidence_withheld: int
    since: str
    until: str
    target: str = "package"
    manifest: dict[str, Any] = field(default_factory=dict)


def _iso(value: Any) -> str | None:
    from piu.render import plain
    v = plain(value)
    return None if v is None else str(v)


def flagged_cases(store: Store, since: datetime, until: datetime, *, port: str | None = None,
                  min_band: str = "medium", choice: ScoreChoice | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Current call versions scored at or above `min_band` in the period (with score and review), and their persons.

    Each call's score is its latest, or the one `choice` picks (the configured rule set's where there is
    one); `choice` then notes the calls of the period scored with another rule set only.
    """
    import pandas as pd

    from piu.queries import current_calls, latest_scores, persons_of
    from piu.reviews import AMENDED, UNREVIEWED, latest_reviews, read_reviews
    from piu.schema import BANDS

    ports = [port] if port else None
    span = {"ports": ports, "since": since, "until": until}
    calls = current_calls(store, **span)
    scores = latest_scores(store, **span, prefer=choice.version if choice is not None else None)
    if len(calls) == 0 or len(scores) == 0:
        return calls.iloc[0:0].assign(score=pd.Series(dtype="Int64"), band=pd.Series(dtype=str)), pd.DataFrame()
    cols = ["version_id", "persons_aboard", "score", "band", "hits", "ruleset_version", "scored_at"]
    cases = calls.merge(scores[cols], on="version_id", how="inner")
    if choice is not None:  # every scored call of the period: which are exported depends on their band
        choice.count(cases)
    rank = cases["band"].map({b: i for i, b in enumerate(BANDS)}).fillna(-1).astype(int)
    cases = cases[rank >= BANDS.index(min_band)].sort_values(["call_time", "call_id"]).reset_index(drop=True)
    reviews = latest_reviews(read_reviews(store, list(cases["call_id"]))) if len(cases) else pd.DataFrame()
    cases["review_status"] = UNREVIEWED
    cases["reviewed_at"] = None
    cases["review_note"] = None
    if len(reviews):
        last = reviews.set_index("call_id")
        status = cases["call_id"].map(last["status"])
        same = cases["call_id"].map(last["version_id"]) == cases["version_id"]
        cases["review_status"] = status.where(same, AMENDED).where(status.notna(), UNREVIEWED)
        cases["reviewed_at"] = cases["call_id"].map({k: _iso(v) for k, v in last["at"].items()})
        cases["review_note"] = cases["call_id"].map(last["note"])
    persons = persons_of(store, cases["version_id"], **span) if len(cases) else pd.DataFrame()
    return cases, persons


def _ages(persons: pd.DataFrame, cases: pd.DataFrame) -> pd.Series:
    """Age in whole years on the call's local date."""
    import pandas as pd

    from piu.risk.features import age_in_years

    local = cases.set_index("version_id")["call_time_local"].astype("str").str.slice(0, 10)
    on = pd.to_datetime(persons["version_id"].map(local), errors="coerce", format="%Y-%m-%d")
    born = pd.to_datetime(persons["date_of_birth"], errors="coerce")
    return age_in_years(born.astype("datetime64[us]"), on.astype("datetime64[us]"))


def _rule_categories() -> dict[str, str]:
    from piu.risk.registry import all_rules
    return {rid: r.category for rid, r in all_rules().items()}


def case_records(cases: pd.DataFrame, persons: pd.DataFrame, key: ExchangeKey, *,
                 include_notes: bool = False) -> tuple[list[dict[str, Any]], int]:
    """The cases.jsonl records (persons pseudonymised, evidence checked) and how many evidences were withheld."""

    from piu.render import plain

    if len(cases) == 0:
        return [], 0
    if len(persons):
        p = persons.copy()
        hashes = hash_persons(p, key)
        p["doc_hash"] = hashes["doc_hash"]
        p["name_dob_hash"] = hashes["name_dob_hash"]
        p["age_band"] = age_band(_ages(p, cases))
        p = p.sort_values(["version_id", "role", "source_row"], kind="stable")
        keep = ["source_row", "role", "nationality", "age_band", "gender", "doc_hash", "name_dob_hash"]
        by_version = {vid: [{k: plain(v) for k, v in rec.items()} for rec in grp[keep].to_dict(orient="records")]
                      for vid, grp in p.groupby("version_id", sort=False)}
        words, ids, dates = _sensitive_terms(p)
    else:
        by_version, words, ids, dates = {}, set(), set(), set()
    categories = _rule_categories()
    withheld = 0
    out: list[dict[str, Any]] = []
    for rec in cases.to_dict(orient="records"):  # one record per flagged case: tens to hundreds
        allowed = {_fold(str(rec.get(c) or "")).replace(" ", "") for c in ("imo", "mmsi", "call_sign", "call_id")}
        allowed |= set(_LONG_ID.findall(_fold(str(rec.get("call_id") or ""))))
        hits = json.loads(rec["hits"]) if isinstance(rec.get("hits"), str) and rec["hits"] else []
        safe_hits = []
        for h in hits:
            evidence = str(h.get("evidence") or "")
            rule_id = str(h.get("rule") or "")
            ok = (categories.get(rule_id) not in WITHHELD_CATEGORIES and not rule_id.startswith("watchlist")
                  and safe_evidence(evidence, words, ids, dates, allowed))
            withheld += 0 if ok else 1
            rows = sorted({int(x["source_row"]) if isinstance(x, dict) else int(x)
                           for x in (h.get("persons") or [])
                           if (isinstance(x, dict) and x.get("source_row") is not None)
                           or (not isinstance(x, dict) and str(x).isdigit())})
            title = str(h.get("title") or "")
            safe_hits.append({"rule": rule_id,
                              "title": title if safe_evidence(title, words, ids, dates, allowed) else rule_id,
                              "weight": int(h.get("weight") or 0),
                              "evidence": evidence if ok else WITHHELD_TEXT, "persons": rows})
        plist = by_version.get(rec["version_id"], [])
        rules_of_row: dict[int, list[str]] = {}
        for h in safe_hits:
            for r in h["persons"]:
                rules_of_row.setdefault(r, []).append(h["rule"])
        for person in plist:
            person["rules"] = sorted(set(rules_of_row.get(person["source_row"], [])))
        # Missing cells come out of pandas as NaN (not None): `plain` makes them None before any `or`.
        local = str(plain(rec.get("call_time_local")) or "")
        case = {
            "call_id": rec["call_id"], "port": plain(rec.get("port")), "direction": plain(rec.get("direction")),
            "call_time": _iso(rec.get("call_time")), "call_time_local": local or None,
            "call_date": local[:10] if re.match(r"^\d{4}-\d{2}-\d{2}", local) else (_iso(rec.get("call_time")) or "")[:10],
            **{c: plain(rec.get(c)) for c in ("vessel_name", "imo", "mmsi", "call_sign", "flag", "vessel_type",
                                               "vessel_category", "gross_tonnage", "last_port", "next_port",
                                               "band", "ruleset_version")},
            # whole numbers stay whole even where a merge made the column float
            **{c: _opt_int(plain(rec.get(c))) for c in ("year_built", "capacity", "declared_crew",
                                                        "declared_passengers", "persons_aboard", "score")},
            "scored_at": _iso(rec.get("scored_at")),
            "hits": safe_hits,
            "review_status": plain(rec.get("review_status")), "reviewed_at": _iso(rec.get("reviewed_at")),
            "persons": plist,
        }
        if include_notes:
            note = rec.get("review_note")
            note = plain(note)
            case["review_note"] = None if note is None else str(note)
        out.append(case)
    return out, withheld


def _dumps(obj: Any) -> str:
    """Compact JSON; every missing value (NaN, NaT, NA) becomes null, and a stray NaN still fails loudly."""
    from piu.render import plain
    return json.dumps(plain(obj), ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _zip_bytes(members: Iterable[tuple[str, bytes]]) -> bytes:
    """A zip with fixed order, times and attributes: the same members always give the same bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            zf.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return buf.getvalue()


def package_bytes(records: list[dict[str, Any]], key: ExchangeKey, *, unit: str, since: datetime,
                  until: datetime, created_at: datetime, port: str | None, min_band: str,
                  include_notes: bool) -> tuple[bytes, dict[str, Any]]:
    """The package file bytes and its manifest."""
    cases_bytes = "".join(_dumps(r) + "\n" for r in records).encode("utf-8")
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "unit": unit,
        "created_at": _iso(created_at),
        "created_by": f"piu {__version__}",
        "period": {"since": _iso(since), "until": _iso(until)},
        "port": port,
        "min_band": min_band,
        "ruleset_versions": sorted({str(r["ruleset_version"]) for r in records if r.get("ruleset_version")}),
        "counts": {"cases": len(records), "persons": sum(len(r["persons"]) for r in records),
                   "hits": sum(len(r["hits"]) for r in records)},
        "notes_included": include_notes,
        "pseudonymisation": {"algorithm": "HMAC-SHA256", "key_id": key.key_id,
                             "doc_hash": "piu-exchange/1/doc", "name_dob_hash": "piu-exchange/1/name-dob"},
        "members": [{"name": CASES, "bytes": len(cases_bytes), "sha256": hashlib.sha256(cases_bytes).hexdigest()}],
    }
    manifest_bytes = (json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")
    signature = (key.mac(manifest_bytes) + "\n").encode("ascii")
    return _zip_bytes([(MANIFEST, manifest_bytes), (CASES, cases_bytes), (SIGNATURE, signature)]), manifest


def created_time(now: datetime | None = None) -> datetime:
    """Now, or $SOURCE_DATE_EPOCH when set (reproducible packages, as reproducible builds do)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), tz=timezone.utc)
    from piu.timeparse import now_utc
    return now or now_utc()


def export_package(store: Store, key: ExchangeKey, *, unit: str, since: datetime, until: datetime,
                   port: str | None = None, min_band: str = "medium", include_notes: bool = False,
                   created_at: datetime | None = None, choice: ScoreChoice | None = None) -> tuple[bytes, ExportResult]:
    """Build the package of the period's flagged cases (scores as `flagged_cases` picks them); returns its
    bytes and a summary."""
    unit = check_unit(unit)
    cases, persons = flagged_cases(store, since, until, port=port, min_band=min_band, choice=choice)
    records, withheld = case_records(cases, persons, key, include_notes=include_notes)
    data, manifest = package_bytes(records, key, unit=unit, since=since, until=until,
                                   created_at=created_at or created_time(), port=port, min_band=min_band,
                                   include_notes=include_notes)
    counts = manifest["counts"]
    return data, ExportResult(path="", unit=unit, cases=counts["cases"], persons=counts["persons"],
                              hits=counts["hits"], evidence_withheld=withheld, since=manifest["period"]["since"],
                              until=manifest["period"]["until"], manifest=manifest)


# ---- the regional reporting database (VRS) ------------------------------------------------

def vrs_rows(store: Store, *, unit: str, since: datetime, until: datetime, port: str | None = None,
             min_band: str = "medium", choice: ScoreChoice | None = None) -> list[dict[str, Any]]:
    """One row per flagged case with aggregated counts and no personal data at all."""
    import pandas as pd

    from piu.render import plain

    unit = check_unit(unit)
    cases, persons = flagged_cases(store, since, until, port=port, min_band=min_band, choice=choice)
    if len(cases) == 0:
        return []
    counts = pd.DataFrame({"version_id": cases["version_id"]}).set_index("version_id")
    if len(persons):
        p = persons.assign(age=_ages(persons, cases))
        g = p.groupby("version_id")
        counts["crew"] = g["role"].agg(lambda s: int((s == "crew").sum()))
        counts["passengers"] = g["role"].agg(lambda s: int((s == "passenger").sum()))
        counts["minors"] = g["age"].agg(lambda s: int((s < 18).sum()))
        counts["female"] = g["gender"].agg(lambda s: int((s == "F").sum()))
        counts["male"] = g["gender"].agg(lambda s: int((s == "M").sum()))
        nat = p.assign(n=p["nationality"].fillna("unknown")).groupby(["version_id", "n"]).size()
        counts["nationalities"] = nat.groupby(level=0).agg(
            lambda s: ";".join(f"{k[1]}:{int(v)}" for k, v in sorted(s.items(), key=lambda kv: (-kv[1], kv[0][1]))))
    rows = []
    for rec in cases.to_dict(orient="records"):  # one per flagged case
        hits = json.loads(rec["hits"]) if isinstance(rec.get("hits"), str) and rec["hits"] else []
        local = str(plain(rec.get("call_time_local")) or "")
        c = counts.loc[rec["version_id"]] if len(counts.columns) else {}
        rows.append({
            "reporting_unit": unit, "case_ref": rec["call_id"], "port": rec.get("port"),
            "direction": rec.get("direction"), "call_date": local[:10] or (_iso(rec.get("call_time")) or "")[:10],
            **{k: plain(rec.get(k)) for k in ("vessel_name", "imo", "mmsi", "flag", "vessel_type", "vessel_category",
                                             "last_port", "next_port", "score", "band", "persons_aboard",
                                             "ruleset_version", "review_status")},
            "rules": ";".join(sorted({str(h.get("rule")) for h in hits})),
            **{k: plain(c.get(k)) if len(counts.columns) else (0 if k != "nationalities" else "")
               for k in ("crew", "passengers", "minors", "female", "male", "nationalities")},
        })
    return rows


# ---- reading and verifying a package -----------------------------------------------------

@dataclass
class Package:
    """A verified package: its manifest, cases and identity."""

    manifest: dict[str, Any]
    cases: list[dict[str, Any]]
    package_id: str        # SHA-256 of the manifest bytes (what the signature covers)
    file_sha256: str


def _altered(name: str, member: str) -> InputError:
    return InputError(f"package {name} failed verification: member {member} was altered or damaged "
                      "(it does not match the manifest); nothing was imported",
                      hint="ask the producing unit to send it again")


def read_package(data: bytes, key: ExchangeKey, *, name: str = "package") -> Package:
    """Verify format version, key, signature and member hashes, then parse the cases."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        names = zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise InputError(f"{name} is not a piu exchange package (not a zip file)",
                         hint="give the .zip file written by `piu export`") from None
    if MANIFEST not in names or SIGNATURE not in names:
        raise InputError(f"{name} is not a piu exchange package (no {MANIFEST} or {SIGNATURE})",
                         hint="give the .zip file written by `piu export`")

    def member(m: str) -> bytes:
        info = zf.getinfo(m)
        if info.file_size > MAX_MEMBER_BYTES:
            raise _altered(name, m)
        try:
            return zf.read(m)
        except (zipfile.BadZipFile, zlib_error(), OSError, EOFError, NotImplementedError, RuntimeError):
            raise _altered(name, m) from None

    manifest_bytes = member(MANIFEST)
    try:
        manifest = json.loads(manifest_bytes.decode("utf-8"))
        if not isinstance(manifest, dict):
            raise ValueError
    except (ValueError, UnicodeDecodeError):
        raise _altered(name, MANIFEST) from None
    if manifest.get("format") != FORMAT:
        raise InputError(f"{name} is not a piu exchange package (format {str(manifest.get('format'))[:40]!r})",
                         hint="give the .zip file written by `piu export`")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise InputError(f"{name} uses exchange format version {str(version)[:20]}; this piu reads version {FORMAT_VERSION}",
                         hint="upgrade piu (pip install -U piu) or ask the producing unit for a version 1 package")
    signed_id = str((manifest.get("pseudonymisation") or {}).get("key_id", ""))[:64]
    if signed_id != key.key_id:
        raise InputError(f"{name} was made with a different regional key (key id {signed_id or 'none'}, "
                         f"yours {key.key_id}); nothing was imported",
                         hint="use the key shared by the partner units (--key-file or $PIU_EXCHANGE_KEY)")
    signature = member(SIGNATURE).decode("ascii", errors="replace").strip()
    if not hmac.compare_digest(signature, key.mac(manifest_bytes)):
        raise InputError(f"package {name} failed verification: the signature does not match the manifest "
                         "(altered); nothing was imported", hint="ask the producing unit to send it again")
    listed = manifest.get("members")
    if not isinstance(listed, list) or not all(isinstance(m, dict) for m in listed):
        raise _altered(name, MANIFEST)
    expected = {str(m.get("name")): str(m.get("sha256")) for m in listed}
    for extra in sorted(set(names) - set(expected) - {MANIFEST, SIGNATURE}):
        raise _altered(name, extra[:60])
    if CASES not in expected:
        raise _altered(name, MANIFEST)
    for m, digest in expected.items():
        if m not in names:
            raise _altered(name, m[:60])
        if not hmac.compare_digest(hashlib.sha256(member(m)).hexdigest(), digest):
            raise _altered(name, m[:60])
    cases = _parse_cases(member(CASES), name)
    counts = manifest.get("counts") or {}
    if counts.get("cases") != len(cases):
        raise _altered(name, CASES)
    return Package(manifest=manifest, cases=cases, package_id=hashlib.sha256(manifest_bytes).hexdigest(),
                   file_sha256=hashlib.sha256(data).hexdigest())


def zlib_error() -> type[Exception]:
    """zlib's error class (a flipped byte in deflated data raises it)."""
    import zlib
    return zlib.error


def _parse_cases(data: bytes, name: str) -> list[dict[str, Any]]:
    out = []
    for n, line in enumerate(data.decode("utf-8", errors="strict").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            raise InputError(f"{name}: {CASES} line {n} is not JSON", hint="ask the producing unit to send it again") from None
        if not isinstance(rec, dict) or not isinstance(rec.get("call_id"), str) \
                or not isinstance(rec.get("persons", []), list) or not isinstance(rec.get("hits", []), list):
            raise InputError(f"{name}: {CASES} line {n} is not a case record",
                             hint="ask the producing unit to send it again")
        out.append(rec)
    return out


# ---- storing partner intelligence --------------------------------------------------------

def packages_schema() -> pa.Schema:
    """Schema of `partner_packages`: one row per imported package (provenance)."""
    import pyarrow as pa
    return pa.schema([
        ("package_id", pa.string()), ("unit", pa.string()), ("format_version", pa.int32()),
        ("period_since", pa.timestamp("us", tz="UTC")), ("period_until", pa.timestamp("us", tz="UTC")),
        ("created_at", pa.timestamp("us", tz="UTC")), ("created_by", pa.string()),
        ("ruleset_versions", pa.string()), ("cases", pa.int64()), ("cases_new", pa.int64()),
        ("persons", pa.int64()), ("source_file", pa.string()), ("source_sha256", pa.string()),
        ("imported_at", pa.timestamp("us", tz="UTC")), ("imported_by", pa.string()),
    ])


def partner_cases_schema() -> pa.Schema:
    """Schema of `partner_cases`: one row per partner case version (vessel in clear)."""
    import pyarrow as pa
    return pa.schema([
        ("unit", pa.string()), ("call_id", pa.string()), ("case_sha256", pa.string()),
        ("package_id", pa.string()), ("imported_at", pa.timestamp("us", tz="UTC")),
        ("port", pa.string()), ("direction", pa.string()), ("call_time", pa.timestamp("us", tz="UTC")),
        ("call_date", pa.date32()), ("vessel_name", pa.string()), ("imo", pa.string()), ("mmsi", pa.string()),
        ("call_sign", pa.string()), ("flag", pa.string()), ("vessel_type", pa.string()),
        ("last_port", pa.string()), ("next_port", pa.string()), ("persons_aboard", pa.int32()),
        ("score", pa.int32()), ("band", pa.string()), ("rules", pa.string()), ("hits", pa.string()),
        ("review_status", pa.string()), ("review_note", pa.string()),
    ])


def partner_persons_schema() -> pa.Schema:
    """Schema of `partner_persons`: one row per pseudonymised person of a partner case version."""
    import pyarrow as pa
    return pa.schema([
        ("unit", pa.string()), ("call_id", pa.string()), ("case_sha256", pa.string()),
        ("package_id", pa.string()), ("call_date", pa.date32()), ("source_row", pa.int64()),
        ("role", pa.string()), ("nationality", pa.string()), ("age_band", pa.string()), ("gender", pa.string()),
        ("doc_hash", pa.string()), ("name_dob_hash", pa.string()), ("rules", pa.string()),
    ])


@dataclass
class ImportResult:
    """What an import did."""

    package: str
    unit: str
    since: str | None
    until: str | None
    cases: int
    cases_new: int
    persons_new: int
    already_imported: bool = False
    imported_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return dict(self.__dict__)


def _user() -> str:
    from piu.who import current_user
    return current_user()


def _ts(text: Any) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _date(text: Any) -> Any:
    from datetime import date
    try:
        return date.fromisoformat(str(text)[:10])
    except ValueError:
        return None


def import_package(store: Store, path: str, key: ExchangeKey, *, now: datetime | None = None) -> ImportResult:
    """Verify a package and store its cases in one transaction (nothing new when already imported)."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    from piu.timeparse import now_utc

    name = os.path.basename(path) or path
    try:
        data = Path(path).expanduser().read_bytes()
    except FileNotFoundError:
        raise InputError(f"package {path} not found", hint="check the path") from None
    except (IsADirectoryError, PermissionError):
        raise InputError(f"package {path} is not a readable file", hint="check the path and its permissions") from None
    pkg = read_package(data, key, name=name)
    m = pkg.manifest
    unit = str(m.get("unit") or "")
    if not UNIT.match(unit):
        raise _altered(name, MANIFEST)
    period = m.get("period") or {}
    imported_at = now or now_utc()
    result = ImportResult(package=name, unit=unit, since=period.get("since"), until=period.get("until"),
                          cases=len(pkg.cases), cases_new=0, persons_new=0, imported_at=_iso(imported_at))
    def already() -> bool:
        seen = store.read(PACKAGES, packages_schema(), filter=ds.field("package_id") == pkg.package_id)
        if seen.num_rows:
            result.already_imported = True
            result.imported_at = _iso(seen.column("imported_at")[0].as_py())
        return bool(seen.num_rows)

    if already():  # checked before taking the lock so a replay writes nothing at all
        return result
    with store.transaction("exchange-import") as txn:
        if already():  # and again under the lock: another import of it may just have finished
            return result
        known = store.read(PARTNER_CASES, partner_cases_schema(), columns=["unit", "call_id", "case_sha256"],
                           filter=ds.field("unit") == unit)
        have = set(zip(known.column("call_id").to_pylist(), known.column("case_sha256").to_pylist()))
        case_rows, person_rows = [], []
        for rec in pkg.cases:  # one per case: the package is already parsed line by line
            digest = hashlib.sha256(_dumps(rec).encode("utf-8")).hexdigest()
            if (rec["call_id"], digest) in have:
                continue  # the same case in an overlapping package: nothing new
            have.add((rec["call_id"], digest))
            hits = rec.get("hits") or []
            base = {"unit": unit, "call_id": rec["call_id"], "case_sha256": digest, "package_id": pkg.package_id,
                    "call_date": _date(rec.get("call_date"))}
            case_rows.append({
                **base, "imported_at": imported_at, "port": rec.get("port"), "direction": rec.get("direction"),
                "call_time": _ts(rec.get("call_time")),
                **{k: _opt_text(rec.get(k)) for k in ("vessel_name", "imo", "mmsi", "call_sign", "flag",
                                                      "vessel_type", "last_port", "next_port", "band",
                                                      "review_status", "review_note")},
                "persons_aboard": _opt_int(rec.get("persons_aboard")), "score": _opt_int(rec.get("score")),
                "rules": ",".join(sorted({str(h.get("rule")) for h in hits if isinstance(h, dict)})),
                "hits": _dumps(hits),
            })
            for p in rec.get("persons") or []:
                if not isinstance(p, dict):
                    raise InputError(f"{name}: a person in case {rec['call_id'][:60]} is not a record",
                                     hint="ask the producing unit to send it again")
                person_rows.append({
                    **{k: v for k, v in base.items()}, "source_row": _opt_int(p.get("source_row")),
                    **{k: _opt_text(p.get(k)) for k in ("role", "nationality", "age_band", "gender", "doc_hash",
                                                        "name_dob_hash")},
                    "rules": ",".join(str(r) for r in (p.get("rules") or [])),
                })
        try:
            cases_t = pa.Table.from_pylist(case_rows, schema=partner_cases_schema())
            persons_t = pa.Table.from_pylist(person_rows, schema=partner_persons_schema())
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
            raise InputError(f"{name}: a case has a value of the wrong type",
                             hint="ask the producing unit to send it again (made by a different piu?)") from None
        result.cases_new, result.persons_new = len(case_rows), len(person_rows)
        pkg_row = {
            "package_id": pkg.package_id, "unit": unit, "format_version": FORMAT_VERSION,
            "period_since": _ts(period.get("since")), "period_until": _ts(period.get("until")),
            "created_at": _ts(m.get("created_at")), "created_by": _opt_text(m.get("created_by")),
            "ruleset_versions": ",".join(str(v) for v in m.get("ruleset_versions") or []),
            "cases": len(pkg.cases), "cases_new": len(case_rows), "persons": len(person_rows),
            "source_file": name, "source_sha256": pkg.file_sha256, "imported_at": imported_at,
            "imported_by": _user(),
        }
        txn.write(PACKAGES, pa.Table.from_pylist([pkg_row], schema=packages_schema()))
        txn.write(PARTNER_CASES, cases_t)
        txn.write(PARTNER_PERSONS, persons_t)
    return result


def _opt_text(value: Any) -> str | None:
    return None if value is None else str(value)[:500]


def _opt_int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def imported_packages(store: Store) -> pd.DataFrame:
    """Every imported package (provenance), oldest import first."""
    frame = store.read(PACKAGES, packages_schema()).to_pandas()
    return frame.sort_values("imported_at").reset_index(drop=True) if len(frame) else frame


# ---- partner intelligence for the scorer -------------------------------------------------

def partner_reference(store: Store, *, since: datetime | None = None,
                      key: ExchangeKey | None = None) -> dict[str, Any]:
    """Reference tables for the partner-alert rule: partner_vessels, partner_persons, partner_hasher.

    `since` drops partner cases older than that (the rule's window before the earliest call);
    without a key (`key` or $PIU_EXCHANGE_KEY or HOME/exchange.key) only vessels can match and
    `partner_hasher` is None.
    """
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    flt = None
    if since is not None:
        flt = ds.field("call_date") >= pc.scalar(since.date())
    from piu.store import frame_of

    vessels = frame_of(store.read(PARTNER_CASES, partner_cases_schema(), filter=flt,
                                  columns=["unit", "call_id", "call_date", "imo", "mmsi", "rules"]))
    persons = frame_of(store.read(PARTNER_PERSONS, partner_persons_schema(), filter=flt,
                                  columns=["unit", "call_id", "call_date", "doc_hash", "name_dob_hash"]))
    if key is None:
        key = load_key(None, store.home, required=False)
    return {"partner_vessels": vessels, "partner_persons": persons,
            "partner_hasher": PersonHasher(key) if key is not None else None}


def summary_line(result: ImportResult) -> str:
    """The import summary for stderr."""
    period = f"{(result.since or '?')[:10]} to {(result.until or '?')[:10]}"
    if result.already_imported:
        return (f"{result.package}: already imported on {(result.imported_at or '?')[:19]}Z "
                f"(unit {result.unit}, {period}); nothing new stored")
    return (f"{result.package}: imported {result.cases_new} new case(s) of {result.cases} and "
            f"{result.persons_new} pseudonymised person(s) from unit {result.unit}, period {period}")


def export_line(result: ExportResult) -> str:
    """The export summary for stderr."""
    if result.target == "vrs":
        return (f"{result.path}: {result.cases} flagged case(s) for the regional reporting database "
                f"(unit {result.unit}, {result.since[:10]} to {result.until[:10]}); no personal data")
    line = (f"{result.path}: {result.cases} flagged case(s), {result.persons} person(s) pseudonymised, "
            f"unit {result.unit}, {result.since[:10]} to {result.until[:10]}")
    if result.evidence_withheld:
        line += f"; evidence of {result.evidence_withheld} hit(s) withheld because it could identify a person"
    return line


def partner_digest(reference: dict[str, Any]) -> str:
    """A short digest of the partner data and key in use, for the rule-set version ('' when none).

    Adding it to the rule-set version makes `piu score` re-check calls after a package is imported.
    """
    vessels = reference.get("partner_vessels")
    persons = reference.get("partner_persons")
    if vessels is None or len(vessels) == 0:
        return ""
    h = hashlib.sha256()
    for value in sorted(set(zip(vessels["unit"].astype(str), vessels["call_id"].astype(str)))):
        h.update(f"{value[0]}\x1f{value[1]}\n".encode())
    hasher = reference.get("partner_hasher")
    h.update(f"persons={0 if persons is None else len(persons)};key={hasher.key.key_id if hasher else ''}".encode())
    return "p" + h.hexdigest()[:8]


def partner_key_note(reference: dict[str, Any]) -> str | None:
    """The one-line note a command prints when partner persons cannot be matched for want of a key."""
    persons = reference.get("partner_persons")
    if reference.get("partner_hasher") is None and persons is not None and len(persons):
        return (f"no regional key: partner-alert matches vessels only, not persons "
                f"(set {KEY_ENV} or put the key in $PIU_HOME/{KEY_FILE_NAME})")
    return None
