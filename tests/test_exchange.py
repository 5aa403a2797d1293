"""The exchange package: keys, pseudonymisation, building, verifying, importing, the VRS rows."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import re
import stat
import zipfile
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from piu import exchange as ex
from piu.errors import InputError, UsageError
from piu.reviews import add_review
from piu.schema import persons_schema
from piu.store import Store
from tests import store_factories as f

UTC = timezone.utc
KEY = ex.ExchangeKey(bytes(range(32)), "test")
KEY_HEX = bytes(range(32)).hex()
SINCE, UNTIL = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
CREATED = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)

# Persons of the Thai unit's store: distinctive names so that a scan of package bytes is exact.
PEOPLE = [
    # family, given, doc, role, dob, nationality, gender, visa
    ("Nguyễn", "Văn Thắng", "C 0123-4567", "crew", date(2010, 5, 1), "VNM", "M", "VT998877"),
    ("PRASERTSUKSAWAT", "WANIDA", "AA9876543", "passenger", date(1990, 2, 3), "THA", "F", None),
    ("CHANTHAVONG", "SOMPHONE", "N1234567", "passenger", date(2001, 7, 9), "KHM", "M", None),
    ("KYAWTHURAMIN", "AUNGZAWHTET", "MD445566", "crew", date(1979, 12, 30), "MMR", "M", None),
]


def thai_store(home: Path) -> tuple[Store, dict[str, Any]]:
    """A store with one flagged call (and one unflagged) whose hits quote names and documents."""
    st = Store(home)
    flagged = f.call(port="THLCH", call_time=datetime(2026, 11, 12, 3, 0, tzinfo=UTC), vessel_type="Fishing vessel",
                     vessel_name="RUNG ARUN 7", imo="9074729", mmsi="567123456", flag="THA")
    quiet = f.call(port="THLCH", call_time=datetime(2026, 11, 13, 3, 0, tzinfo=UTC), imo="9311111", mmsi="567000111",
                   vessel_name="QUIET ONE")
    persons = [f.person(flagged, source_row=i, family_name=fam, given_names=giv, doc_number=doc, role=role,
                        date_of_birth=dob, nationality=nat, gender=g, visa_number=visa, doc_issuer=nat,
                        name_key=ex._fold(f"{fam} {giv}"))
               for i, (fam, giv, doc, role, dob, nat, g, visa) in enumerate(PEOPLE, start=12)]
    persons += [f.person(quiet, source_row=2, family_name="ORDINARYPERSON", given_names="QUIETLY", doc_number="Q7777777")]
    hits = [
        f.hit("passengers-on-non-passenger-vessel", 4, "2 passengers on a fishing vessel", persons=[13, 14]),
        f.hit("minor-in-crew", 4, "row 12: crew member aged 16 (born 2010-05-01)", persons=[12]),
        f.hit("document-reused", 4, "document AA9876543 also listed on another call under another name", persons=[13]),
        f.hit("duplicate-document", 3, "CHANTHAVONG SOMPHONE listed twice", persons=[14]),
        f.hit("watchlist-person", 5, "matches watchlist entry 'Chantavong Sompone' (name 0.91)", persons=[14]),
        f.hit("visa-check", 1, "visa VT998877 not on record", persons=[12]),
        f.hit("foreign-doc", 1, "document X9Z8Y7W6 from another list", persons=[15]),
    ]
    scores = [f.score(flagged, hits, band="high"), f.score(quiet, [], band="low")]
    f.write(st, [flagged, quiet], persons, scores)
    return st, flagged


def build(st: Store, **kw: Any) -> tuple[bytes, ex.ExportResult]:
    """A package of the store's flagged cases with fixed times."""
    opts = {"unit": "TH-SGZ", "since": SINCE, "until": UNTIL, "created_at": CREATED}
    opts.update(kw)
    return ex.export_package(st, KEY, **opts)


def members(data: bytes) -> dict[str, bytes]:
    """Every member of a package, decompressed."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def rezip(parts: dict[str, bytes]) -> bytes:
    """A package from members (same layout as the exporter)."""
    return ex._zip_bytes(list(parts.items()))


def resign(parts: dict[str, bytes], manifest: dict[str, Any], key: ex.ExchangeKey = KEY) -> bytes:
    """A package whose manifest was changed and signed again with `key`."""
    mb = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    return rezip({ex.MANIFEST: mb, ex.CASES: parts[ex.CASES], ex.SIGNATURE: (key.mac(mb) + "\n").encode()})


# ---- keys ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "message"), [
    ("", "the exchange key from k is empty; make one with `piu exchange keygen -o FILE` and share it with the "
         "partner units over a secure channel"),
    ("zz" * 32, "the exchange key from k is not hexadecimal text; make one with `piu exchange keygen -o FILE` "
                "and share it with the partner units over a secure channel"),
    ("ab" * 16, "the exchange key from k is too short (16 bytes, need at least 32); make one with "
                "`piu exchange keygen -o FILE` and share it with the partner units over a secure channel"),
])
def test_bad_keys_are_explained_without_quoting_them(text: str, message: str) -> None:
    with pytest.raises(InputError) as err:
        ex.parse_key(text, "k")
    assert err.value.one_line() == message


def test_key_is_never_in_repr_and_has_a_stable_public_id() -> None:
    key = ex.parse_key(KEY_HEX + "\n", "k")
    assert KEY_HEX not in repr(key) and KEY_HEX not in str(key)
    assert key.key_id == hmac.new(bytes(range(32)), b"piu-exchange/1/key-id", hashlib.sha256).hexdigest()[:16]
    assert repr(key) == f"ExchangeKey(id={key.key_id})"


def test_key_precedence_file_then_env_then_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "exchange.key").write_text("11" * 32)
    (tmp_path / "other.key").write_text("22" * 32)
    monkeypatch.delenv(ex.KEY_ENV, raising=False)
    assert ex.load_key(None, tmp_path).key_id == ex.ExchangeKey(b"\x11" * 32).key_id
    monkeypatch.setenv(ex.KEY_ENV, "33" * 32)
    assert ex.load_key(None, tmp_path).key_id == ex.ExchangeKey(b"\x33" * 32).key_id
    assert ex.load_key(str(tmp_path / "other.key"), tmp_path).key_id == ex.ExchangeKey(b"\x22" * 32).key_id
    monkeypatch.delenv(ex.KEY_ENV)
    assert ex.load_key(None, tmp_path / "none", required=False) is None
    with pytest.raises(UsageError) as err:
        ex.load_key(None, tmp_path / "none")
    assert err.value.one_line().startswith("no exchange key given; use --key-file FILE or set PIU_EXCHANGE_KEY")
    with pytest.raises(InputError) as err:
        ex.load_key(str(tmp_path / "missing.key"))
    assert err.value.message == f"key file {tmp_path / 'missing.key'} not found"


def test_keygen_writes_an_owner_only_file_and_never_overwrites(tmp_path: Path) -> None:
    path = ex.write_key_file(tmp_path / "k" / "exchange.key")
    text = path.read_text()
    assert len(text.strip()) == 64 and int(text, 16) >= 0
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with pytest.raises(InputError) as err:  # a state error (exit 1), not a usage error (exit 2)
        ex.write_key_file(path)
    assert err.value.exit_code == 1
    assert err.value.one_line() == (f"{path} already exists; keep the existing key (partners use it), pass --force "
                                    "to replace it, or write another file with -o FILE")
    assert path.read_text() == text
    ex.write_key_file(path, force=True)
    assert path.read_text() != text


@pytest.mark.parametrize(("unit", "ok"), [("KH-SHV", True), ("th-sgz", True), ("KHSHV", False), ("K-SHV", False),
                                          ("KH-", False), ("KH-SHV/../x", False)])
def test_unit_codes(unit: str, ok: bool) -> None:
    if ok:
        assert ex.check_unit(unit) == unit.upper()
    else:
        with pytest.raises(UsageError):
            ex.check_unit(unit)


# ---- pseudonymisation ----------------------------------------------------------------------

def hashes(**cols: Any) -> pd.DataFrame:
    return ex.hash_persons(pd.DataFrame(cols), KEY)


def test_document_hash_is_hmac_of_the_documented_canonical_form() -> None:
    out = hashes(doc_number=["N1234567"], doc_issuer=["KHM"], nationality=["KHM"], name_key=["SOK DARA"],
                 date_of_birth=[date(2009, 3, 4)])
    assert out["doc_hash"].tolist() == [KEY.mac(b"piu-exchange/1/doc\nKHM\nN1234567")]
    assert out["name_dob_hash"].tolist() == [KEY.mac(b"piu-exchange/1/name-dob\nDARA SOK\n2009-03-04")]


def test_the_same_document_typed_differently_hashes_the_same() -> None:
    out = hashes(doc_number=["N1234567", "n 123-4567", "N.1234567", "N1234567", "N1234567", None, " "],
                 doc_issuer=["KHM", None, "KHM", "THA", None, "KHM", "KHM"],
                 nationality=["KHM", "KHM", None, "KHM", None, "KHM", "KHM"])
    h = out["doc_hash"].tolist()
    assert h[0] == h[1] == h[2]           # spacing, dashes, dots, case; issuer from nationality
    assert h[3] != h[0] and h[4] != h[0]  # another issuer, or none known, is another document
    assert h[5] is None and h[6] is None


def test_names_match_across_order_accents_and_spacing_but_need_a_birth_date() -> None:
    out = hashes(name_key=["Nguyễn Văn Thắng", "THANG VAN NGUYEN", "NGUYEN  VAN-THANG", "NGUYEN VAN THANG", "NGUYEN VAN THANG"],
                 date_of_birth=[date(2010, 5, 1), date(2010, 5, 1), date(2010, 5, 1), date(2010, 1, 5), None])
    h = out["name_dob_hash"].tolist()
    assert h[0] == h[1] == h[2]
    assert h[3] != h[0] and h[4] is None


def test_a_hash_depends_on_the_key() -> None:
    frame = pd.DataFrame({"doc_number": ["N1234567"], "doc_issuer": ["KHM"]})
    assert ex.hash_persons(frame, KEY)["doc_hash"][0] != ex.hash_persons(frame, ex.ExchangeKey(b"\x01" * 32))["doc_hash"][0]


def test_age_bands() -> None:
    ages = pd.Series([0, 15, 16, 17, 18, 24, 25, 34, 35, 64, 65, 99, None], dtype="Int64")
    assert ex.age_band(ages).tolist() == ["0-15", "0-15", "16-17", "16-17", "18-24", "18-24", "25-34", "25-34",
                                          "35-44", "55-64", "65+", "65+", None]


@pytest.mark.parametrize(("evidence", "safe"), [
    ("44 persons aboard, certified for 12", True),
    ("IMO 9074729 seen as SEA PEARL (KHM) on 2026-10-02", True),
    ("row 12: crew member aged 16", True),
    ("CHANTHAVONG listed twice", False),             # a family name
    ("document N 123 4567 used twice", False),       # a document, however spaced
    ("born 2010-05-01", False),                      # a birth date
    ("document ZX99887766 elsewhere", False),        # an identifier that is not the vessel's
    ("MMSI 514123456 does not match flag", True),    # the vessel's own MMSI
])
def test_evidence_check(evidence: str, safe: bool) -> None:
    words, ids, dates = {"CHANTHAVONG", "SOMPHONE"}, {"N1234567"}, {"2010-05-01"}
    assert ex.safe_evidence(evidence, words, ids, dates, {"9074729", "514123456"}) is safe


# ---- building a package --------------------------------------------------------------------

def test_package_layout_manifest_and_signature(tmp_path: Path) -> None:
    st, flagged = thai_store(tmp_path / "th")
    data, result = build(st)
    parts = members(data)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
    assert [i.filename for i in infos] == ["manifest.json", "cases.jsonl", "signature"]
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    manifest = json.loads(parts["manifest.json"])
    assert manifest == {
        "format": "piu-exchange", "format_version": 1, "unit": "TH-SGZ", "created_at": "2026-12-01T06:00:00Z",
        "created_by": f"piu {ex.__version__}",
        "period": {"since": "2026-10-01T00:00:00Z", "until": "2026-12-01T00:00:00Z"}, "port": None,
        "min_band": "medium", "ruleset_versions": ["2026.11-1"], "counts": {"cases": 1, "persons": 4, "hits": 7},
        "notes_included": False,
        "pseudonymisation": {"algorithm": "HMAC-SHA256", "key_id": KEY.key_id, "doc_hash": "piu-exchange/1/doc",
                             "name_dob_hash": "piu-exchange/1/name-dob"},
        "members": [{"name": "cases.jsonl", "bytes": len(parts["cases.jsonl"]),
                     "sha256": hashlib.sha256(parts["cases.jsonl"]).hexdigest()}],
    }
    assert parts["signature"] == (KEY.mac(parts["manifest.json"]) + "\n").encode()
    assert (result.cases, result.persons, result.hits, result.evidence_withheld) == (1, 4, 7, 6)


def test_cases_carry_vessel_in_clear_and_persons_pseudonymised(tmp_path: Path) -> None:
    st, flagged = thai_store(tmp_path / "th")
    data, _ = build(st)
    (case,) = [json.loads(line) for line in members(data)["cases.jsonl"].decode().splitlines()]
    assert {k: case[k] for k in ("call_id", "port", "call_date", "vessel_name", "imo", "mmsi", "flag", "vessel_type",
                                 "last_port", "next_port", "score", "band", "review_status")} == {
        "call_id": flagged["call_id"], "port": "THLCH", "call_date": "2026-11-12", "vessel_name": "RUNG ARUN 7",
        "imo": "9074729", "mmsi": "567123456", "flag": "THA", "vessel_type": "Fishing vessel",
        "last_port": "THLCH", "next_port": "IDTPP", "score": 22, "band": "high", "review_status": "unreviewed"}
    assert case["call_time"] == "2026-11-12T03:00:00Z"
    assert [(h["rule"], h["evidence"], h["persons"]) for h in case["hits"]] == [
        ("passengers-on-non-passenger-vessel", "2 passengers on a fishing vessel", [13, 14]),
        ("minor-in-crew", ex.WITHHELD_TEXT, [12]),          # quotes a birth date
        ("document-reused", ex.WITHHELD_TEXT, [13]),        # quotes a document number
        ("duplicate-document", ex.WITHHELD_TEXT, [14]),     # quotes a name
        ("watchlist-person", ex.WITHHELD_TEXT, [14]),       # watchlist evidence never leaves
        ("visa-check", ex.WITHHELD_TEXT, [12]),             # quotes a visa number
        ("foreign-doc", ex.WITHHELD_TEXT, [15]),            # an identifier not the vessel's
    ]
    first = case["persons"][0]
    assert set(first) == {"source_row", "role", "nationality", "age_band", "gender", "doc_hash", "name_dob_hash", "rules"}
    assert {k: first[k] for k in ("source_row", "role", "nationality", "age_band", "gender", "rules")} == {
        "source_row": 12, "role": "crew", "nationality": "VNM", "age_band": "16-17", "gender": "M",
        "rules": ["minor-in-crew", "visa-check"]}
    assert first["doc_hash"] == KEY.mac(b"piu-exchange/1/doc\nVNM\nC01234567")
    assert "review_note" not in case


def test_same_input_same_bytes_and_notes_only_on_request(tmp_path: Path) -> None:
    st, flagged = thai_store(tmp_path / "th")
    assert build(st)[0] == build(st)[0]
    add_review(st, flagged["call_id"], "referred", "boarding team informed", by="a1",
               at=datetime(2026, 11, 12, 9, tzinfo=UTC))
    case = json.loads(members(build(st)[0])["cases.jsonl"])
    assert (case["review_status"], case["reviewed_at"], "review_note" in case) == ("referred", "2026-11-12T09:00:00Z", False)
    noted = members(build(st, include_notes=True)[0])
    assert json.loads(noted["cases.jsonl"])["review_note"] == "boarding team informed"
    assert json.loads(noted["manifest.json"])["notes_included"] is True


def test_reproducible_created_at_from_source_date_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1796083200")
    assert ex.created_time() == datetime(2026, 12, 1, tzinfo=UTC)


def test_min_band_and_empty_packages(tmp_path: Path) -> None:
    st, _ = thai_store(tmp_path / "th")
    assert build(st, min_band="low")[1].cases == 2
    data, result = build(st, since=datetime(2026, 1, 1, tzinfo=UTC), until=datetime(2026, 2, 1, tzinfo=UTC))
    assert (result.cases, members(data)["cases.jsonl"]) == (0, b"")
    assert ex.read_package(data, KEY).cases == []


def test_no_raw_name_document_or_key_in_any_member(tmp_path: Path) -> None:
    st, _ = thai_store(tmp_path / "th")
    people = st.read("persons", persons_schema()).to_pandas()
    needles: set[str] = set()
    for col in ("family_name", "given_names", "name_key", "doc_number", "visa_number"):
        needles |= {str(v) for v in people[col].dropna()}
    needles |= {ex.canonical_document(v) for v in people["doc_number"].dropna()}
    needles |= {w for v in people["given_names"].dropna() for w in str(v).split() if len(w) >= 4}
    needles |= {d.isoformat() for d in people["date_of_birth"].dropna()}
    assert len(needles) > 20
    for include_notes in (False, True):
        data, _ = build(st, min_band="low", include_notes=include_notes)
        blobs = [data, *members(data).values()]
        for blob in blobs:
            text = blob.decode("utf-8", errors="replace")
            found = sorted(n for n in needles if n.lower() in text.lower())
            assert found == []
            assert KEY_HEX not in text and bytes(range(32)) not in blob


# ---- verifying -----------------------------------------------------------------------------

def test_a_valid_package_reads_back(tmp_path: Path) -> None:
    st, flagged = thai_store(tmp_path / "th")
    data, _ = build(st)
    pkg = ex.read_package(data, KEY, name="p.zip")
    assert [c["call_id"] for c in pkg.cases] == [flagged["call_id"]]
    assert pkg.package_id == hashlib.sha256(members(data)["manifest.json"]).hexdigest()


def flip(data: bytes, member: str, at: float = 0.5) -> bytes:
    """Flip one byte inside a member's stored data."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = zf.getinfo(member)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    pos = start + int(info.compress_size * at)
    return data[:pos] + bytes([data[pos] ^ 0x01]) + data[pos + 1:]


ALTERED = ("package p.zip failed verification: member {m} was altered or damaged (it does not match the manifest); "
           "nothing was imported; ask the producing unit to send it again")


@pytest.mark.parametrize("member", ["cases.jsonl", "manifest.json", "signature"])
def test_a_flipped_byte_in_any_member_is_refused(tmp_path: Path, member: str) -> None:
    st, _ = thai_store(tmp_path / "th")
    data, _ = build(st)
    with pytest.raises(InputError) as err:
        ex.read_package(flip(data, member), KEY, name="p.zip")
    assert err.value.one_line() == ALTERED.format(m=member)


def test_changed_cases_with_a_matching_hash_fail_the_signature(tmp_path: Path) -> None:
    st, _ = thai_store(tmp_path / "th")
    parts = members(build(st)[0])
    cases = parts["cases.jsonl"].replace(b'"band":"high"', b'"band":"low"')
    manifest = json.loads(parts["manifest.json"])
    manifest["members"][0]["sha256"] = hashlib.sha256(cases).hexdigest()
    mb = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    forged = rezip({"manifest.json": mb, "cases.jsonl": cases, "signature": parts["signature"]})
    with pytest.raises(InputError) as err:
        ex.read_package(forged, KEY, name="p.zip")
    assert err.value.one_line() == ("package p.zip failed verification: the signature does not match the manifest "
                                    "(altered); nothing was imported; ask the producing unit to send it again")
    # cases changed, manifest untouched: the member hash catches it
    swapped = rezip({"manifest.json": parts["manifest.json"], "cases.jsonl": cases, "signature": parts["signature"]})
    with pytest.raises(InputError) as err:
        ex.read_package(swapped, KEY, name="p.zip")
    assert err.value.one_line() == ALTERED.format(m="cases.jsonl")


def test_an_extra_member_is_refused(tmp_path: Path) -> None:
    st, _ = thai_store(tmp_path / "th")
    parts = members(build(st)[0])
    with pytest.raises(InputError) as err:
        ex.read_package(rezip({**parts, "persons.csv": b"x"}), KEY, name="p.zip")
    assert err.value.one_line() == ALTERED.format(m="persons.csv")


def test_wrong_key_and_unknown_version(tmp_path: Path) -> None:
    st, _ = thai_store(tmp_path / "th")
    data, _ = build(st)
    other = ex.ExchangeKey(b"\x07" * 32)
    with pytest.raises(InputError) as err:
        ex.read_package(data, other, name="p.zip")
    assert err.value.one_line() == (
        f"p.zip was made with a different regional key (key id {KEY.key_id}, yours {other.key_id}); nothing was "
        "imported; use the key shared by the partner units (--key-file or $PIU_EXCHANGE_KEY)")
    parts = members(data)
    manifest = json.loads(parts["manifest.json"])
    manifest["format_version"] = 2
    with pytest.raises(InputError) as err:
        ex.read_package(resign(parts, manifest), KEY, name="p.zip")
    assert err.value.one_line() == ("p.zip uses exchange format version 2; this piu reads version 1; upgrade piu "
                                    "(pip install -U piu) or ask the producing unit for a version 1 package")


@pytest.mark.parametrize(("blob", "message"), [
    (b"not a zip at all", "p.zip is not a piu exchange package (not a zip file); give the .zip file written by `piu export`"),
    (None, "p.zip is not a piu exchange package (no manifest.json or signature); give the .zip file written by `piu export`"),
])
def test_not_a_package(blob: bytes | None, message: str) -> None:
    data = blob if blob is not None else rezip({"readme.txt": b"hello"})
    with pytest.raises(InputError) as err:
        ex.read_package(data, KEY, name="p.zip")
    assert err.value.one_line() == message


# ---- importing -----------------------------------------------------------------------------

def test_import_stores_provenance_and_is_idempotent(tmp_path: Path) -> None:
    st, flagged = thai_store(tmp_path / "th")
    path = tmp_path / "p.zip"
    path.write_bytes(build(st)[0])
    kh = Store(tmp_path / "kh")
    when = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    first = ex.import_package(kh, str(path), KEY, now=when)
    assert first.as_dict() == {"package": "p.zip", "unit": "TH-SGZ", "since": "2026-10-01T00:00:00Z",
                               "until": "2026-12-01T00:00:00Z", "cases": 1, "cases_new": 1, "persons_new": 4,
                               "already_imported": False, "imported_at": "2026-12-02T01:00:00Z"}
    pk = ex.imported_packages(kh)
    assert pk[["unit", "cases", "cases_new", "persons", "source_file"]].to_dict(orient="records") == [
        {"unit": "TH-SGZ", "cases": 1, "cases_new": 1, "persons": 4, "source_file": "p.zip"}]
    assert str(pk["imported_at"][0]) == "2026-12-02 01:00:00+00:00"
    assert pk["source_sha256"][0] == hashlib.sha256(path.read_bytes()).hexdigest()
    ref = ex.partner_reference(kh, key=KEY)
    assert ref["partner_vessels"][["unit", "call_id", "imo", "mmsi"]].to_dict(orient="records") == [
        {"unit": "TH-SGZ", "call_id": flagged["call_id"], "imo": "9074729", "mmsi": "567123456"}]
    assert str(ref["partner_vessels"]["call_date"][0]) == "2026-11-12"
    assert len(ref["partner_persons"]) == 4
    files_before = sorted(p.name for p in kh.home.rglob("*") if p.is_file())
    again = ex.import_package(kh, str(path), KEY, now=datetime(2026, 12, 3, tzinfo=UTC))
    assert (again.already_imported, again.cases_new, again.imported_at) == (True, 0, "2026-12-02T01:00:00Z")
    assert sorted(p.name for p in kh.home.rglob("*") if p.is_file()) == files_before
    assert ex.summary_line(again) == ("p.zip: already imported on 2026-12-02T01:00:00Z (unit TH-SGZ, 2026-10-01 to "
                                      "2026-12-01); nothing new stored")


def test_an_overlapping_package_adds_only_new_cases(tmp_path: Path) -> None:
    st, _ = thai_store(tmp_path / "th")
    kh = Store(tmp_path / "kh")
    (tmp_path / "a.zip").write_bytes(build(st)[0])
    (tmp_path / "b.zip").write_bytes(build(st, min_band="low", created_at=datetime(2026, 12, 2, tzinfo=UTC))[0])
    ex.import_package(kh, str(tmp_path / "a.zip"), KEY)
    second = ex.import_package(kh, str(tmp_path / "b.zip"), KEY)
    assert (second.cases, second.cases_new, second.persons_new) == (2, 1, 1)
    assert len(ex.partner_reference(kh)["partner_vessels"]) == 2


def test_a_refused_package_stores_nothing(tmp_path: Path) -> None:
    st, _ = thai_store(tmp_path / "th")
    path = tmp_path / "p.zip"
    path.write_bytes(flip(build(st)[0], "cases.jsonl"))
    kh = Store(tmp_path / "kh")
    with pytest.raises(InputError):
        ex.import_package(kh, str(path), KEY)
    assert not kh.home.exists()
    with pytest.raises(InputError) as err:
        ex.import_package(kh, str(tmp_path / "missing.zip"), KEY)
    assert err.value.one_line() == f"package {tmp_path / 'missing.zip'} not found; check the path"


def test_partner_reference_without_key_or_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ex.KEY_ENV, raising=False)
    ref = ex.partner_reference(Store(tmp_path / "empty"))
    assert (len(ref["partner_vessels"]), len(ref["partner_persons"]), ref["partner_hasher"]) == (0, 0, None)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "exchange.key").write_text(KEY_HEX)
    assert ex.partner_reference(Store(tmp_path / "empty"))["partner_hasher"].key.key_id == KEY.key_id


# ---- the regional reporting database --------------------------------------------------------

def test_vrs_rows_are_aggregates_without_personal_data(tmp_path: Path) -> None:
    st, flagged = thai_store(tmp_path / "th")
    rows = ex.vrs_rows(st, unit="TH-SGZ", since=SINCE, until=UNTIL)
    assert rows == [{
        "reporting_unit": "TH-SGZ", "case_ref": flagged["call_id"], "port": "THLCH", "direction": "arrival",
        "call_date": "2026-11-12", "vessel_name": "RUNG ARUN 7", "imo": "9074729", "mmsi": "567123456", "flag": "THA",
        "vessel_type": "Fishing vessel", "vessel_category": "cargo", "last_port": "THLCH", "next_port": "IDTPP",
        "score": 22, "band": "high", "persons_aboard": 12, "ruleset_version": "2026.11-1",
        "review_status": "unreviewed",
        "rules": "document-reused;duplicate-document;foreign-doc;minor-in-crew;passengers-on-non-passenger-vessel;"
                 "visa-check;watchlist-person",
        "crew": 2, "passengers": 2, "minors": 1, "female": 1, "male": 3, "nationalities": "KHM:1;MMR:1;THA:1;VNM:1",
    }]
    assert set(rows[0]) == set(ex.VRS_COLUMNS)
    assert ex.vrs_rows(st, unit="TH-SGZ", since=datetime(2026, 1, 1, tzinfo=UTC), until=datetime(2026, 2, 1, tzinfo=UTC)) == []


def test_partner_digest_and_key_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ex.KEY_ENV, raising=False)
    st, _ = thai_store(tmp_path / "th")
    (tmp_path / "p.zip").write_bytes(build(st)[0])
    kh = Store(tmp_path / "kh")
    empty = ex.partner_reference(kh)
    assert (ex.partner_digest(empty), ex.partner_key_note(empty)) == ("", None)
    ex.import_package(kh, str(tmp_path / "p.zip"), KEY)
    without, with_key = ex.partner_reference(kh), ex.partner_reference(kh, key=KEY)
    assert ex.partner_key_note(without) == ("no regional key: partner-alert matches vessels only, not persons "
                                            "(set PIU_EXCHANGE_KEY or put the key in $PIU_HOME/exchange.key)")
    assert ex.partner_key_note(with_key) is None
    assert re.fullmatch(r"p[0-9a-f]{8}", ex.partner_digest(with_key))
    assert ex.partner_digest(with_key) != ex.partner_digest(without)
    assert ex.partner_digest(with_key) == ex.partner_digest(ex.partner_reference(kh, key=KEY))


# ---- missing values ------------------------------------------------------------------------

def test_missing_values_are_null_in_every_exported_field_once_one_call_is_reviewed(tmp_path: Path) -> None:
    """A reviewed call left NaN in reviewed_at of the others and the strict JSON writer crashed the export."""
    st, flagged = thai_store(tmp_path / "th")
    # A second flagged call with every optional vessel field missing and no persons.
    bare = f.call(port="THLCH", call_time=datetime(2026, 11, 14, 3, 0, tzinfo=UTC), imo=None, mmsi="567999000",
                  vessel_name="NO DETAILS", call_sign=None, flag=None, vessel_type=None, vessel_category=None,
                  gross_tonnage=None, year_built=None, capacity=None, last_port=None, next_port=None,
                  declared_crew=None, declared_passengers=None)
    f.write(st, [bare], [], [f.score(bare, [f.hit("flag-risk", 3, "no flag declared")], band="medium")])
    add_review(st, flagged["call_id"], "referred", "t", by="a1", at=datetime(2026, 11, 12, 9, tzinfo=UTC))
    data, result = build(st, include_notes=True)
    assert result.cases == 2
    text = members(data)["cases.jsonl"].decode()
    assert "NaN" not in text and "nan" not in text.replace("\"", " ").split()
    by_id = {c["call_id"]: c for c in map(json.loads, text.splitlines())}
    reviewed, unreviewed = by_id[flagged["call_id"]], by_id[bare["call_id"]]
    assert (reviewed["review_status"], reviewed["reviewed_at"], reviewed["review_note"]) == (
        "referred", "2026-11-12T09:00:00Z", "t")
    assert {k: unreviewed[k] for k in (
        "review_status", "reviewed_at", "review_note", "imo", "call_sign", "flag", "vessel_type", "vessel_category",
        "gross_tonnage", "year_built", "capacity", "declared_crew", "declared_passengers", "last_port", "next_port",
        "persons")} == {
        "review_status": "unreviewed", "reviewed_at": None, "review_note": None, "imo": None, "call_sign": None,
        "flag": None, "vessel_type": None, "vessel_category": None, "gross_tonnage": None, "year_built": None,
        "capacity": None, "declared_crew": None, "declared_passengers": None, "last_port": None, "next_port": None,
        "persons": []}
    assert (unreviewed["persons_aboard"], unreviewed["score"], unreviewed["call_date"]) == (12, 3, "2026-11-14")
    assert ex.read_package(data, KEY).cases[1]["reviewed_at"] is None
