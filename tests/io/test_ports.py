"""The curated port table against UN/LOCODE and the World Port Index; resolving; the UN/LOCODE import."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from piu.io.countries import alpha2_to_alpha3, data_path
from piu.io.ports import PortTable, import_unlocode, read_unlocode
from piu.store import Store

REF = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference"
UNLOCODE_2024 = REF / "unlocode_2024.csv"
UNLOCODE_2014 = REF / "unlocode_2014_A-N_with_aliases.csv"
WPI = REF / "world_port_index_pub150.csv"


def curated() -> list[dict[str, str]]:
    with open(data_path("ports.csv"), encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def reference_unlocode() -> dict[str, dict[str, str]]:
    """UN/LOCODE 2024 read with the stdlib, independently of piu's importer."""
    out = {}
    with open(UNLOCODE_2024, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        for row in reader:
            if row[2].startswith('"') and row[3].endswith('"'):  # comma in the name: fields shifted
                row = [row[0], row[1], row[2][1:] + "," + row[3][:-1], row[4][1:] + "," + row[5][:-1],
                       row[6], "", row[7], "", *row[8:]]
            out[row[0] + row[1]] = {"name": row[3], "function": row[6]}
    return out


def test_curated_table_shape():
    rows = curated()
    assert 100 <= len(rows) <= 250
    assert len({r["locode"] for r in rows}) == len(rows)
    assert all(r["locode"] == r["locode"].upper() and len(r["locode"]) == 5 for r in rows)


def test_curated_codes_are_unlocode_ports_of_the_right_country():
    ref = reference_unlocode()
    a2a3 = alpha2_to_alpha3()
    problems = []
    for r in curated():
        entry = ref.get(r["locode"])
        if entry is None:
            problems.append(f"{r['locode']} not in UN/LOCODE")
        elif "1" not in entry["function"][:1]:
            problems.append(f"{r['locode']} has no port function ({entry['function']})")
        if a2a3[r["locode"][:2]] != r["country"]:
            problems.append(f"{r['locode']} country {r['country']}")
    assert problems == []


def test_curated_timezones_are_valid_zoneinfo_names():
    for r in curated():
        assert ZoneInfo(r["timezone"]).key == r["timezone"]


def test_curated_names_agree_with_world_port_index():
    wpi = {}
    with open(WPI, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            code = row["UN/LOCODE"].replace(" ", "").strip()
            if code:
                names = [row["Main Port Name"], *row["Alternate Port Name"].split(";")]
                wpi.setdefault(code, set()).update(_k(n) for n in names if n.strip())
    table = {r["locode"]: r for r in curated()}
    key_ports = ["KHKOS", "THBKK", "THLCH", "THSGK", "THKAN", "THPKT", "IDJKT", "IDSUB", "IDTBR",
                 "IDBLW", "IDDUM", "IDTNJ", "MYPKG", "MYBKI", "MYSDK", "MYTPP", "VNSGN", "VNDAD",
                 "VNUIH", "MMAKY", "BNMUA", "TLDIL", "PHGES", "SGKEP"]
    checked = 0
    for code in key_ports:
        if code not in wpi:
            continue
        ours = {_k(table[code]["name"]), *(_k(a) for a in table[code]["aliases"].split(";") if a)}
        assert ours & wpi[code], f"{code}: none of {sorted(ours)} in WPI {sorted(wpi[code])}"
        checked += 1
    assert checked >= 20


def _k(text: str) -> str:
    from piu.io.normalise import key_text
    return key_text(text)


def test_mid_reference_traps_documented_in_readme_are_respected():
    codes = {r["locode"]: r for r in curated()}
    assert codes["KHKOS"]["name"] == "Kampong Saom" and "Sihanoukville" in codes["KHKOS"]["aliases"]
    assert "KHKKZ" not in codes and "Koh Kong" in codes["KHKKO"]["aliases"]
    assert codes["IDBTM"]["name"] == "Batam Island"
    assert "Port Klang" in codes["MYPKG"]["aliases"]


# ---- resolving -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def imported_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("ports-home")
    import_unlocode(UNLOCODE_2024, Store(home))
    return home


def test_lookup_and_name_and_timezone_curated(tmp_path):
    table = PortTable.load(tmp_path)
    assert table.lookup("sihanoukville") == "KHKOS"
    assert table.lookup("  Kampong   Saom ") == "KHKOS"
    assert table.lookup("KH KOS") == "KHKOS"
    assert table.lookup("Oslo") is None
    assert table.lookup("") is None
    assert table.name("KHKOS") == "Kampong Saom"
    assert table.name("ZZZZZ") is None
    zones = table.timezone(pd.Series(["KHKOS", "IDAMQ", "MYBKI", "ZZZZZ", None]))
    assert zones.tolist() == ["Asia/Phnom_Penh", "Asia/Jayapura", "Asia/Kuching", "UTC", "UTC"]


def test_imported_list_resolves_ports_the_curated_table_lacks(imported_home):
    table = PortTable.load(imported_home)
    result = table.resolve(pd.Series(["Oslo", "NOOSL", "Sihanoukville", "Lumut, Brunei", "Narvik", "Nowhere-on-Sea"]))
    assert result.values.tolist() == ["NOOSL", "NOOSL", "KHKOS", "BNLUM", "NONVK", "Nowhere-on-Sea"]
    assert result.invalid.tolist() == [False, False, False, False, False, True]
    # one zone for Norway -> its zone; several for Brazil -> UTC unless curated
    assert table.timezone(pd.Series(["NOOSL", "BRSSZ", "KHKOS"])).tolist() == ["Europe/Oslo", "UTC", "Asia/Phnom_Penh"]
    assert table.name("NOOSL") == "Oslo"


def test_resolve_keeps_index(tmp_path):
    table = PortTable.load(tmp_path)
    result = table.resolve(pd.Series(["Bangkok", None, "Atlantis"], index=[7, 8, 9]))
    assert result.values.to_dict() == {7: "THBKK", 8: None, 9: "Atlantis"} or (
        result.values.index.tolist() == [7, 8, 9] and pd.isna(result.values[8]))
    assert result.invalid.to_dict() == {7: False, 8: False, 9: True}


# ---- importing -----------------------------------------------------------------------------

def test_import_2024_layout_repairs_broken_quoting_and_is_fast(tmp_path):
    started = time.monotonic()
    summary = import_unlocode(UNLOCODE_2024, Store(tmp_path))
    elapsed = time.monotonic() - started
    assert elapsed < 5.0
    assert summary["layout"] == "unlocode-community"
    assert summary["ports"] == 17513
    assert summary["repaired_lines"] == 1040      # names with a comma, the Jakarta row among them
    assert summary["skipped_lines"] == 0
    assert summary["replaced_previous_import"] is False
    table = PortTable.load(tmp_path)
    assert table.info("IDJKT")["source"] == "curated"
    assert table.name("MYBKI") == "Kota Kinabalu"
    imported = Store(tmp_path).read("ports", __import__("piu.io.ports", fromlist=["ports_schema"]).ports_schema()).to_pandas()
    jakarta = imported[imported["locode"] == "IDJKT"].iloc[0]
    assert (jakarta["name"], jakarta["function"], jakarta["subdivision"]) == ("Jakarta, Java", "12345---", "JK")
    # U+FFFD-damaged names are taken from nameWoDiacritics
    assert not imported["name"].str.contains("\ufffd", regex=False).any()
    assert imported.loc[imported["locode"] == "VNCLI", "name"].iloc[0] == "Cat Lai"


def test_import_official_layout_aliases_and_skipped_lines(tmp_path):
    summary = import_unlocode(UNLOCODE_2014, Store(tmp_path))
    assert summary["layout"] == "unlocode-official"
    assert summary["skipped_lines"] == 7
    assert summary["skipped_line_numbers"] == [17657, 17848, 27130, 36985, 41302]
    ports, _stats = read_unlocode(UNLOCODE_2014)
    kos = ports[ports["locode"] == "KHKOS"].iloc[0]
    assert kos["name"] == "Kâmpóng Saôm"
    assert "Sihanoukville" in kos["aliases"].split(";")
    bwh = ports[ports["locode"] == "MYBWH"].iloc[0]
    assert "Butterworth" in bwh["aliases"].split(";")
    # alias rows whose target is not a port ('Munich = München', no port function) add nothing
    assert "Munich" not in ";".join(ports["aliases"])
    assert "Madras" in ports.loc[ports["locode"] == "INMAA", "aliases"].iloc[0].split(";")
    assert PortTable.load(tmp_path).lookup("Flushing") == "NLVLI"


def test_reimport_replaces_previous_import_atomically(tmp_path):
    store = Store(tmp_path)
    import_unlocode(UNLOCODE_2014, store)
    summary = import_unlocode(UNLOCODE_2024, store)
    assert summary["replaced_previous_import"] is True
    table = PortTable.load(tmp_path)
    assert table.imported_count == 17513
    assert len(store.files("ports")) == 1


def test_import_rejects_files_that_are_not_unlocode(tmp_path):
    from piu.errors import InputError

    bad = tmp_path / "manifest.csv"
    bad.write_text("vessel_name,imo\nSea Star,9074729\n", encoding="utf-8")
    with pytest.raises(InputError, match="does not look like a UN/LOCODE CSV"):
        import_unlocode(bad, Store(tmp_path / "home"))
    with pytest.raises(InputError, match="does not exist"):
        import_unlocode(tmp_path / "missing.csv", Store(tmp_path / "home"))
    assert not (tmp_path / "home" / "ports").exists()


def test_import_unece_headerless_layout(tmp_path):
    src = tmp_path / "2024-2 UNLOCODE CodeListPart2.csv"
    src.write_text(
        ',"NO",,".NORWAY",,,,,,,,\n'
        ',"NO","OSL","Oslo","Oslo","03","12345---","AF","0701",,"5955N 01045E",\n'
        ',"NO","GEN","Gardermoen","Gardermoen","30","---4----","AI","0701",,,\n'
        'X,"NO","OLD","Old","Old",,"1-------","RL","0701",,,\n', encoding="utf-8")
    summary = import_unlocode(src, Store(tmp_path / "home"))
    assert (summary["layout"], summary["ports"], summary["skipped_lines"]) == ("unlocode-unece", 1, 0)
    assert PortTable.load(tmp_path / "home").lookup("oslo") == "NOOSL"
