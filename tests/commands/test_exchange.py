"""`piu export`, `piu import`, `piu exchange keygen`: two units' stores end to end, through the CLI."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from piu import exchange as ex
from piu.cli import app
from piu.schema import persons_schema
from piu.store import Store

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
PERIOD = ["--since", "2026-11-01", "--until", "2026-11-30"]
THAI_CASE = "THSGK-20261120-A-9805623"  # SOR CHAROENSUK 7 at Songkhla: a 15-year-old deck hand (row 80)


def piu(*args: str, env: dict[str, str] | None = None):  # noqa: ANN201 - click Result
    """Run the CLI; PIU_EXCHANGE_KEY is cleared unless given."""
    return CliRunner().invoke(app, list(args), env={"PIU_EXCHANGE_KEY": "", "COLUMNS": "200", **(env or {})})


@pytest.fixture(scope="module")
def thai(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The Thai unit: samples ingested and scored, a regional key, and its exported package."""
    root = tmp_path_factory.mktemp("units")
    home = root / "B"
    for files in (["flat_manifest.csv"], ["fal_general_declaration_crew.xlsx"], ["calls.csv", "persons.csv"]):
        res = piu("--home", str(home), "ingest", *[str(SAMPLES / f) for f in files])
        assert res.exit_code == 0, res.stderr
    res = piu("--home", str(home), "score", *PERIOD, "-f", "json")
    assert res.exit_code == 0, res.stderr
    res = piu("--home", str(home), "exchange", "keygen")
    assert res.exit_code == 0
    assert res.stdout == ""
    key = home / "exchange.key"
    assert res.stderr == (f"wrote a new regional key to {key} (readable by you only); send it to the partner units "
                          "over a secure channel, never with a package\n")
    package = root / "th-sgz-2026-11.zip"
    res = piu("--home", str(home), "export", "--unit", "TH-SGZ", *PERIOD, "-o", str(package))
    assert res.exit_code == 0, res.stderr
    assert res.stdout == ""
    return {"root": root, "home": home, "key": key, "package": package, "export_stderr": res.stderr}


def later_call(path: Path, doc_number: str, family: str, given: str, dob: str) -> Path:
    """A Cambodian agent's manifest: SOR CHAROENSUK 7 at Sihanoukville in December, one crew member."""
    rows = [
        ["port", "direction", "call_time", "vessel_name", "imo", "mmsi", "flag", "vessel_type", "declared_crew",
         "declared_passengers", "role", "family_name", "given_names", "nationality", "date_of_birth", "gender",
         "doc_type", "doc_number", "doc_issuer", "doc_expiry"],
        ["KHKOS", "arrival", "2026-12-05 09:00", "SOR CHAROENSUK 7", "9805623", "567390514", "Thailand",
         "Fishing vessel", "1", "0", "crew", family, given, "Cambodia", dob, "M", "Passport", doc_number, "KHM",
         "2030-01-01"],
    ]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


def test_thai_export_summary(thai: dict[str, Path]) -> None:
    assert thai["export_stderr"] == (
        f"{thai['package']}: 12 flagged case(s), 177 person(s) pseudonymised, unit TH-SGZ, 2026-11-01 to 2026-11-30; "
        "evidence of 3 hit(s) withheld because it could identify a person\n")


def test_end_to_end_partner_alert_on_vessel_and_person(thai: dict[str, Path], tmp_path: Path) -> None:
    home = tmp_path / "A"
    res = piu("--home", str(home), "import", str(thai["package"]), "--key-file", str(thai["key"]))
    assert (res.exit_code, res.stdout) == (0, "")
    assert res.stderr == (f"{thai['package'].name}: imported 12 new case(s) of 12 and 177 pseudonymised person(s) from "
                          "unit TH-SGZ, period 2026-11-01 to 2026-11-30\n")
    # the same deck hand, typed differently by the Cambodian agent: spaced passport, name order swapped, lower case
    thai_persons = Store(thai["home"]).read("persons", persons_schema()).to_pandas()
    boy = thai_persons[(thai_persons["call_id"] == THAI_CASE) & (thai_persons["source_row"] == 80)].iloc[0]
    doc = boy["doc_number"]
    manifest = later_call(tmp_path / "later.csv", f"{doc[:1]} {doc[1:4]}-{doc[4:]}", boy["given_names"].lower(),
                          boy["family_name"].lower(), boy["date_of_birth"].isoformat())
    assert piu("--home", str(home), "ingest", str(manifest)).exit_code == 0
    shutil.copy(thai["key"], home / "exchange.key")  # the regional key, shared out of band
    res = piu("--home", str(home), "score", "--since", "2026-12-01", "--until", "2026-12-31", "-f", "json")
    assert res.exit_code == 0, res.stderr
    (call,) = json.loads(res.stdout)
    alert = [h for h in call["hits"] if h["rule"] == "partner-alert"]
    assert alert == [{
        "rule": "partner-alert", "title": "Vessel or person flagged by a partner unit", "weight": 4,
        "evidence": "vessel flagged by unit TH-SGZ on 2026-11-20 (minor-in-crew); row 2 matches a person in a case "
                    "flagged by unit TH-SGZ on 2026-11-20 (document, name and date of birth)",
        "persons": [2]}]


def test_without_the_key_only_the_vessel_matches(thai: dict[str, Path], tmp_path: Path) -> None:
    home = tmp_path / "A"
    assert piu("--home", str(home), "import", str(thai["package"]), "--key-file", str(thai["key"])).exit_code == 0
    assert piu("--home", str(home), "ingest", str(later_call(tmp_path / "later.csv", "X1234567", "A", "B",
                                                               "1990-01-01"))).exit_code == 0
    res = piu("--home", str(home), "score", "--since", "2026-12-01", "--until", "2026-12-31", "-f", "json")
    (call,) = json.loads(res.stdout)
    assert [h["evidence"] for h in call["hits"] if h["rule"] == "partner-alert"] == [
        "vessel flagged by unit TH-SGZ on 2026-11-20 (minor-in-crew)"]


def _flip(data: bytes, member: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = zf.getinfo(member)
    pos = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + info.compress_size // 2
    return data[:pos] + bytes([data[pos] ^ 0x01]) + data[pos + 1:]


def _unknown_version(data: bytes, key: ex.ExchangeKey) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    manifest = json.loads(parts["manifest.json"])
    manifest["format_version"] = 2
    mb = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    return ex._zip_bytes([("manifest.json", mb), ("cases.jsonl", parts["cases.jsonl"]),
                          ("signature", (key.mac(mb) + "\n").encode())])


@pytest.mark.parametrize("case", ["tamper", "wrong-key", "unknown-version"])
def test_refused_packages_exit_1_with_one_line_and_store_nothing(thai: dict[str, Path], tmp_path: Path, case: str) -> None:
    key = ex.load_key(str(thai["key"]))
    data = thai["package"].read_bytes()
    key_file = thai["key"]
    bad = tmp_path / "p.zip"
    if case == "tamper":
        bad.write_bytes(_flip(data, "cases.jsonl"))
        expected = ("Error: package p.zip failed verification: member cases.jsonl was altered or damaged (it does not "
                    "match the manifest); nothing was imported; ask the producing unit to send it again\n")
    elif case == "wrong-key":
        bad.write_bytes(data)
        key_file = tmp_path / "other.key"
        assert piu("exchange", "keygen", "-o", str(key_file)).exit_code == 0
        other = ex.load_key(str(key_file))
        expected = (f"Error: p.zip was made with a different regional key (key id {key.key_id}, yours {other.key_id}); "
                    "nothing was imported; use the key shared by the partner units (--key-file or $PIU_EXCHANGE_KEY)\n")
    else:
        bad.write_bytes(_unknown_version(data, key))
        expected = ("Error: p.zip uses exchange format version 2; this piu reads version 1; upgrade piu "
                    "(pip install -U piu) or ask the producing unit for a version 1 package\n")
    home = tmp_path / "A"
    res = piu("--home", str(home), "import", str(bad), "--key-file", str(key_file))
    assert (res.exit_code, res.stdout, res.stderr) == (1, "", expected)
    assert not (home / ex.PARTNER_CASES).exists() and not (home / ex.PACKAGES).exists()


def test_replay_changes_nothing_and_says_so(thai: dict[str, Path], tmp_path: Path) -> None:
    home = tmp_path / "A"
    env = {"PIU_EXCHANGE_KEY": thai["key"].read_text().strip()}
    first = piu("--home", str(home), "import", str(thai["package"]), "-f", "json", env=env)
    assert first.exit_code == 0
    assert json.loads(first.stdout)["cases_new"] == 12
    before = sorted(p.relative_to(home) for p in home.rglob("*") if p.is_file())
    again = piu("--home", str(home), "-q", "import", str(thai["package"]), env=env)
    assert (again.exit_code, again.stdout) == (0, "")
    assert re.fullmatch(r"th-sgz-2026-11\.zip: already imported on \S+Z \(unit TH-SGZ, 2026-11-01 to 2026-11-30\); "
                        r"nothing new stored\n", again.stderr)
    assert sorted(p.relative_to(home) for p in home.rglob("*") if p.is_file()) == before


def _word_hits(needles: set[str], text: str) -> list[str]:
    """Needles found in the text as whole words (any case): 'EKO' is not found inside 'MEKONG'."""
    return sorted(n for n in needles if re.search(r"(?<!\w)" + re.escape(n) + r"(?!\w)", text, re.IGNORECASE))


def test_package_from_the_samples_holds_no_name_or_document(thai: dict[str, Path], tmp_path: Path) -> None:
    people = Store(thai["home"]).read("persons", persons_schema()).to_pandas()
    needles: set[str] = set()
    for col in ("family_name", "given_names", "name_key", "doc_number", "visa_number"):
        needles |= {str(v) for v in people[col].dropna()}
    needles |= {w for col in ("family_name", "given_names") for v in people[col].dropna() for w in str(v).split()}
    assert len(needles) > 700
    out = tmp_path / "all.zip"
    res = piu("--home", str(thai["home"]), "export", "--unit", "TH-SGZ", *PERIOD, "--min-band", "low", "-o", str(out))
    assert res.exit_code == 0, res.stderr
    key_hex = thai["key"].read_text().strip()
    with zipfile.ZipFile(out) as zf:
        texts = {n: zf.read(n).decode("utf-8") for n in zf.namelist()}
    assert json.loads(texts["manifest.json"])["counts"]["persons"] == len(people)
    for name, text in texts.items():
        assert (name, _word_hits(needles, text)) == (name, [])
        assert key_hex not in text.lower()
    # document numbers are long enough to be found anywhere, even inside other words
    docs = {str(v) for v in people["doc_number"].dropna()}
    assert [d for d in docs if any(d in t for t in texts.values())] == []


def test_vrs_target_is_csv_without_personal_data(thai: dict[str, Path]) -> None:
    res = piu("--home", str(thai["home"]), "export", "--unit", "TH-SGZ", *PERIOD, "--target", "vrs", "-o", "-")
    assert res.exit_code == 0, res.stderr
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert list(rows[0]) == list(ex.VRS_COLUMNS)
    assert len(rows) == 12
    boat = next(r for r in rows if r["case_ref"] == THAI_CASE)
    assert {k: boat[k] for k in ("vessel_name", "imo", "band", "rules", "crew", "passengers", "minors")} == {
        "vessel_name": "SOR CHAROENSUK 7", "imo": "9805623", "band": "medium", "rules": "minor-in-crew",
        "crew": "13", "passengers": "0", "minors": "1"}
    people = Store(thai["home"]).read("persons", persons_schema()).to_pandas()
    needles = {str(v) for col in ("name_key", "doc_number") for v in people[col].dropna()}
    assert _word_hits(needles, res.stdout) == []
    assert res.stderr == ("-: 12 flagged case(s) for the regional reporting database (unit TH-SGZ, 2026-11-01 to "
                          "2026-11-30); no personal data\n")


@pytest.mark.parametrize(("args", "code", "stderr"), [
    (["--unit", "THSGZ"], 2, "Error: --unit 'THSGZ' is not a unit code; use the country's alpha-2 code, a dash and "
                             "a short name, e.g. KH-SHV or TH-SGZ\n"),
    (["--unit", "TH-SGZ", "--target", "fax"], 2, "Error: --target 'fax' is not an export target; use partner or vrs\n"),
    (["--unit", "TH-SGZ", "--min-band", "severe"], 2,
     "Error: --min-band 'severe' is not a band; use one of: low, medium, high\n"),
    (["--unit", "TH-SGZ"], 2, "Error: no exchange key given; use --key-file FILE or set PIU_EXCHANGE_KEY; make one "
                              "with `piu exchange keygen -o FILE` and share it with the partner units over a secure "
                              "channel\n"),
])
def test_export_usage_errors(tmp_path: Path, args: list[str], code: int, stderr: str) -> None:
    res = piu("--home", str(tmp_path / "h"), "export", *args, "-o", str(tmp_path / "p.zip"))
    assert (res.exit_code, res.stdout, res.stderr) == (code, "", stderr)
    assert not (tmp_path / "p.zip").exists()


def test_keygen_refuses_to_overwrite(tmp_path: Path) -> None:
    """An existing key is a state of the disk, not a usage error: exit 1 (README), with how to go on."""
    key = tmp_path / "k.key"
    assert piu("exchange", "keygen", "-o", str(key)).exit_code == 0
    text = key.read_text()
    res = piu("exchange", "keygen", "-o", str(key))
    assert (res.exit_code, res.stdout, res.stderr) == (
        1, "", f"Error: {key} already exists; keep the existing key (partners use it), pass --force to replace "
               "it, or write another file with -o FILE\n")
    assert key.read_text() == text
    assert text.strip() not in res.stdout + res.stderr
    # the default file in the store folder is refused the same way
    home = tmp_path / "home"
    assert piu("--home", str(home), "exchange", "keygen").exit_code == 0
    res = piu("--home", str(home), "exchange", "keygen")
    assert (res.exit_code, res.stderr) == (
        1, f"Error: {home / 'exchange.key'} already exists; keep the existing key (partners use it), pass --force "
           "to replace it, or write another file with -o FILE\n")
    # --force, as the message says, replaces it
    res = piu("exchange", "keygen", "-o", str(key), "--force")
    assert (res.exit_code, res.stdout) == (0, "")
    assert key.read_text() != text and len(key.read_text().strip()) == 64


def test_keygen_over_an_existing_key_exits_1_in_a_real_process(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    key = tmp_path / "k.key"
    key.write_text("ab" * 32 + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIU_")}
    res = subprocess.run([str(Path(sys.executable).parent / "piu"), "exchange", "keygen", "-o", str(key)],
                         capture_output=True, text=True, env=env)
    assert (res.returncode, res.stdout, res.stderr.count("\n")) == (1, "", 1)
    assert res.stderr.startswith(f"Error: {key} already exists; ")
    assert key.read_text() == "ab" * 32 + "\n"


def test_import_with_a_bad_key_file_says_how_to_make_one(thai: dict[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad.key"
    bad.write_text("not a key")
    res = piu("--home", str(tmp_path / "A"), "import", str(thai["package"]), "--key-file", str(bad))
    assert (res.exit_code, res.stderr) == (1, f"Error: the exchange key from {bad} is not hexadecimal text; make one "
                                              "with `piu exchange keygen -o FILE` and share it with the partner "
                                              "units over a secure channel\n")


EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "example-package"


def test_the_documented_example_package_verifies_and_matches_a_fresh_export(thai: dict[str, Any]) -> None:
    key = ex.load_key(str(EXAMPLE / "demo.key"))
    data = (EXAMPLE / "th-sgz-2026-11.zip").read_bytes()
    pkg = ex.read_package(data, key, name="example")
    assert (pkg.manifest["unit"], pkg.manifest["counts"], pkg.manifest["created_at"]) == (
        "TH-SGZ", {"cases": 12, "persons": 177, "hits": 17}, "2026-12-01T00:00:00Z")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.read("manifest.json") == (EXAMPLE / "manifest.json").read_bytes()
        assert zf.read("cases.jsonl") == (EXAMPLE / "cases.jsonl").read_bytes()
    fresh, _ = ex.export_package(Store(thai["home"]), key, unit="TH-SGZ",
                                 since=datetime(2026, 11, 1, tzinfo=timezone.utc),
                                 until=datetime(2026, 11, 30, 23, 59, 59, 999999, tzinfo=timezone.utc))
    again = ex.read_package(fresh, key)

    def stable(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in c.items() if k not in ("scored_at", "ruleset_version")} for c in cases]
    assert stable(again.cases) == stable(pkg.cases)
    people = Store(thai["home"]).read("persons", persons_schema()).to_pandas()
    needles = {str(v) for col in ("family_name", "given_names", "name_key", "doc_number") for v in people[col].dropna()}
    # the unpacked members are the zip's members (checked above): scan them and the VRS file
    for name in ("manifest.json", "cases.jsonl", "vrs-th-sgz-2026-11.csv"):
        assert (name, _word_hits(needles, (EXAMPLE / name).read_text())) == (name, [])


def test_score_says_once_when_persons_cannot_be_matched_without_a_key(thai: dict[str, Path], tmp_path: Path) -> None:
    home = tmp_path / "A"
    assert piu("--home", str(home), "import", str(thai["package"]), "--key-file", str(thai["key"])).exit_code == 0
    assert piu("--home", str(home), "ingest", str(later_call(tmp_path / "later.csv", "X1234567", "A", "B",
                                                               "1990-01-01"))).exit_code == 0
    res = piu("--home", str(home), "score", "-f", "json")
    assert res.exit_code == 0
    notes = [line for line in res.stderr.splitlines() if line.startswith("Note: ")]
    assert notes == ["Note: no regional key: partner-alert matches vessels only, not persons "
                     "(set PIU_EXCHANGE_KEY or put the key in $PIU_HOME/exchange.key)"]


def test_calls_scored_before_an_import_are_checked_again_after_it(thai: dict[str, Path], tmp_path: Path) -> None:
    home = tmp_path / "A"
    manifest = later_call(tmp_path / "later.csv", "X1234567", "A", "B", "1990-01-01")
    assert piu("--home", str(home), "ingest", str(manifest)).exit_code == 0
    before = json.loads(piu("--home", str(home), "score", "--all", "-f", "json").stdout)
    assert [h["rule"] for h in before[0]["hits"] if h["rule"] == "partner-alert"] == []
    assert piu("--home", str(home), "import", str(thai["package"]), "--key-file", str(thai["key"])).exit_code == 0
    res = piu("--home", str(home), "score", "--all", "-f", "json")  # no --rescore: the partner data changed
    assert "1 scored now, 0 already scored" in res.stderr
    assert [h["rule"] for h in json.loads(res.stdout)[0]["hits"] if h["rule"] == "partner-alert"] == ["partner-alert"]


@pytest.mark.parametrize("args", [
    ["export", "--unit", "TH-SGZ", *PERIOD],
    ["export", "--unit", "TH-SGZ", *PERIOD, "--target", "vrs"],
    ["exchange", "keygen"],
])
def test_output_in_a_missing_folder_is_one_line_exit_1(thai: dict[str, Path], tmp_path: Path, args: list[str]) -> None:
    target = tmp_path / "no-such-dir" / "out.file"
    res = piu("--home", str(thai["home"]), *args, "-o", str(target), env={"PIU_EXCHANGE_KEY": ""})
    assert (res.exit_code, res.stdout, res.stderr) == (
        1, "", f"Error: cannot write {target}: the folder does not exist; create {target.parent} first or choose "
               "another path with -o\n")
    assert not target.parent.exists()


def test_export_to_a_folder_is_one_line_exit_1(thai: dict[str, Path], tmp_path: Path) -> None:
    res = piu("--home", str(thai["home"]), "export", "--unit", "TH-SGZ", *PERIOD, "-o", str(tmp_path))
    assert (res.exit_code, res.stdout, res.stderr) == (
        1, "", f"Error: cannot write {tmp_path}: it is a folder; give a file name with -o\n")
