"""Country tables: the shipped MID table against the ITU-derived reference, aliases, time zones."""

from __future__ import annotations

import csv
from pathlib import Path

import pycountry
import pytest

from piu.io import countries as c

REF = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference"

# Where piu's MID table deliberately differs from the reference file (mobiml's whitelist), and why.
MID_DIFFERENCES = {
    "501": "ATF",  # Adelie Land (French Southern Territories); reference says AQ
    "608": "SHN",  # Ascension Island (St Helena, Ascension, Tristan da Cunha); reference says IO
    "618": "ATF",  # Crozet Archipelago; reference says AQ
    "635": "ATF",  # Kerguelen Islands; reference says AQ
    "659": "NAM",  # Namibia: the reference lost alpha-2 'NA' (read as missing)
    "740": "FLK",  # Falkland Islands; reference writes 'UK'
}
MID_ADDITIONS = {"550": "TLS", "638": "SSD"}  # Timor-Leste, South Sudan: allocated, not in the reference


def reference_mids() -> dict[str, str]:
    with open(REF / "mmsi_mid_countries.csv", encoding="utf-8", newline="") as fh:
        return {row["MID"]: row["Country Code"] for row in csv.DictReader(fh)}


def test_mid_table_matches_reference():
    ours = c.mid_table()
    ref = reference_mids()
    assert set(ours) == set(ref) | set(MID_ADDITIONS)
    for mid, alpha2 in ref.items():
        expected = MID_DIFFERENCES.get(mid) or pycountry.countries.get(alpha_2=alpha2).alpha_3
        assert ours[mid] == expected, mid
    for mid, alpha3 in MID_ADDITIONS.items():
        assert ours[mid] == alpha3
    assert all(201 <= int(m) <= 775 for m in ours)


def test_alias_file_uses_known_codes():
    codes = c.alpha3_codes()
    with open(c.data_path("country_aliases.csv"), encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) > 300
    assert [r["alias"] for r in rows if r["alpha3"] not in codes] == []


@pytest.mark.parametrize("text, expected", [
    ("Kampuchea", "KHM"), ("viet nam", "VNM"), ("Korea (Republic of)", "KOR"), ("PH", "PHL"),
    ("Brunei Darussalam", "BRN"), ("Tanzania, United Republic of", "TZA"), ("XK", "XKX"),
    ("Mars", None), ("", None),
])
def test_lookup_country(text, expected):
    assert c.lookup_country(text) == expected


@pytest.mark.parametrize("alpha3, zone", [
    ("KHM", "Asia/Phnom_Penh"), ("THA", "Asia/Bangkok"), ("NOR", "Europe/Oslo"),
    ("IDN", "UTC"), ("MYS", "UTC"), ("AUS", "UTC"), (None, "UTC"), ("ZZZ", "UTC"),
])
def test_country_timezone(alpha3, zone):
    assert c.country_timezone(alpha3) == zone


def test_country_names_cover_special_codes():
    names = c.country_names()
    assert names["KHM"] == "Cambodia"
    assert names["XXA"] == "Stateless"
