"""Country reference data: ISO 3166 names and codes, aliases and demonyms, MIDs, time zones.

Tables are built once, on first use, from pycountry and the package's own data files
(`piu/data/country_aliases.csv`, `piu/data/mid.csv`) and cached for the life of the process.
Lookup keys are `piu.io.normalise.key_text` keys (ASCII, upper case, punctuation as spaces), so
'Korea, Republic of', 'KOREA REPUBLIC OF' and 'korea (republic of)' meet on the same key.

Besides ISO alpha-3 codes, a few ICAO Doc 9303 passport codes are kept as they are, because they
mean something to a border officer and have no ISO equivalent: XXA (stateless), XXB and XXC
(refugees), XXX (unspecified), UNO/UNA/UNK (United Nations documents), EUE (EU laissez-passer)
and XKX (Kosovo). ICAO's 'D' (Germany) and the British 'GBD/GBN/GBO/GBP/GBS' map to DEU/GBR.
"""

from __future__ import annotations

import csv
import functools
from importlib import resources
from pathlib import Path

# Codes that are valid nationality / issuer values although they are not ISO 3166-1 alpha-3.
ICAO_SPECIAL = frozenset({"XXA", "XXB", "XXC", "XXX", "UNO", "UNA", "UNK", "EUE", "XKX"})


def data_path(name: str) -> Path:
    """Path of a file shipped in piu/data."""
    return Path(str(resources.files("piu") / "data" / name))


def _key(text: str) -> str:
    from piu.io.normalise import key_text
    return key_text(text)


@functools.lru_cache(maxsize=1)
def alpha2_to_alpha3() -> dict[str, str]:
    """ISO alpha-2 -> alpha-3 for every ISO 3166-1 country (plus XK -> XKX)."""
    import pycountry

    table = {c.alpha_2: c.alpha_3 for c in pycountry.countries}
    table["XK"] = "XKX"  # Kosovo: user-assigned code used by the EU, ICAO and UN/LOCODE
    return table


@functools.lru_cache(maxsize=1)
def alpha3_codes() -> frozenset[str]:
    """Every country value piu accepts as valid: ISO alpha-3 plus the ICAO special codes."""
    return frozenset(alpha2_to_alpha3().values()) | ICAO_SPECIAL


@functools.lru_cache(maxsize=1)
def country_names() -> dict[str, str]:
    """alpha-3 -> a short English name (for display)."""
    import pycountry

    names = {c.alpha_3: getattr(c, "common_name", None) or c.name for c in pycountry.countries}
    names.update({"XKX": "Kosovo", "XXA": "Stateless", "XXB": "Refugee", "XXC": "Refugee (other)",
                  "XXX": "Unspecified", "UNO": "United Nations", "UNA": "United Nations agency",
                  "UNK": "UN Interim Administration in Kosovo", "EUE": "European Union"})
    return names


@functools.lru_cache(maxsize=1)
def country_index() -> dict[str, str]:
    """Key of every known way to write a country -> alpha-3."""
    import pycountry

    index: dict[str, str] = {}
    # Later writes win: ISO names first, then the curated aliases (they settle ambiguities such
    # as 'Korea' or 'Congo' in the way regional manifests mean them).
    for c in pycountry.countries:
        for text in (c.alpha_2, c.alpha_3, c.name, getattr(c, "official_name", None),
                     getattr(c, "common_name", None)):
            if text:
                index[_key(text)] = c.alpha_3
    with open(data_path("country_aliases.csv"), encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            index[_key(row["alias"])] = row["alpha3"].strip().upper()
    index.pop("", None)
    return index


def lookup_country(text: str) -> str | None:
    """alpha-3 for one country written any known way, or None."""
    return country_index().get(_key(text))


@functools.lru_cache(maxsize=1)
def mid_table() -> dict[str, str]:
    """ITU Maritime Identification Digits (3 digits) -> alpha-3 of the administration."""
    with open(data_path("mid.csv"), encoding="utf-8", newline="") as fh:
        return {row["mid"].strip(): row["alpha3"].strip() for row in csv.DictReader(fh)}


@functools.lru_cache(maxsize=1)
def zones_by_country() -> dict[str, list[str]]:
    """alpha-3 -> the IANA time zones of that country (from the tz database's zone.tab)."""
    a2a3 = alpha2_to_alpha3()
    text = _zone_tab_text()
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) >= 3 and parts[0] in a2a3:
            out.setdefault(a2a3[parts[0]], []).append(parts[2])
    return out


def _zone_tab_text() -> str:
    """zone.tab from the tzdata package, else from the system tz database."""
    try:
        return (resources.files("tzdata") / "zoneinfo" / "zone.tab").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        for folder in ("/usr/share/zoneinfo", "/usr/lib/zoneinfo"):
            p = Path(folder) / "zone.tab"
            if p.is_file():
                return p.read_text(encoding="utf-8")
    return ""


def country_timezone(alpha3: str | None) -> str:
    """The country's zone when it has exactly one, else 'UTC'."""
    zones = zones_by_country().get(alpha3 or "", [])
    return zones[0] if len(zones) == 1 else "UTC"
