"""Port resolver: the curated table shipped with piu plus the official UN/LOCODE list an analyst imports.

`piu/data/ports.csv` holds the region's ports and major trading ports with their aliases and time
zones (written by the team as facts; a test checks it against UN/LOCODE and the World Port
Index). `import_unlocode` loads an official UN/LOCODE CSV download into the store (dataset
`ports`), so every port in the world resolves without a new piu release. Resolution order for
one value: a known code ('KHKOS', 'kh-kos', 'KH KOS'); a curated name or alias; an imported name
or alias that is unambiguous; 'name, country'; the same without words such as 'Port of'.
"""

from __future__ import annotations

import csv
import functools
import re
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from piu.errors import InputError
from piu.io.countries import alpha2_to_alpha3, country_timezone, data_path, lookup_country

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import pyarrow as pa

    from piu.io.normalise import Normalised
    from piu.store import Store

DATASET = "ports"
_RE_CODE = re.compile(r"^[A-Z]{2}[A-Z2-9]{3}$")
_GENERIC = re.compile(r"\b(?:PORT OF|PORT|PT|HARBOUR|HARBOR|PELABUHAN|CANG|TERMINAL|ANCHORAGE|"
                      r"CITY|SEAPORT|NEW PORT|AUTONOMOUS)\b")
_QUALIFIER_SPLIT = re.compile(r"\s*(?:[,()/;]| - )\s*")


def ports_schema() -> pa.Schema:
    """Schema of the `ports` dataset (one row per imported UN/LOCODE port entry)."""
    import pyarrow as pa

    return pa.schema([
        ("locode", pa.string()),        # 5 characters, no space: KHKOS
        ("country", pa.string()),       # ISO alpha-3
        ("name", pa.string()),          # main name (without U+FFFD damage)
        ("name_key", pa.string()),      # piu.io.normalise.key_text(name)
        ("aliases", pa.string()),       # ';'-separated other names (alias rows, alternative names)
        ("alias_keys", pa.string()),    # ';'-separated keys of the aliases
        ("subdivision", pa.string()),
        ("function", pa.string()),      # UN/LOCODE function classifier, '1' first = port
        ("status", pa.string()),
        ("source_file", pa.string()),
        ("imported_at", pa.timestamp("us", tz="UTC")),
    ])


@functools.lru_cache(maxsize=1)
def _curated_rows() -> tuple[dict[str, str], ...]:
    with open(data_path("ports.csv"), encoding="utf-8", newline="") as fh:
        return tuple(dict(r) for r in csv.DictReader(fh))


class PortTable:
    """Curated and imported ports, with name/alias indexes for resolving agents' text."""

    def __init__(self, curated: list[dict[str, str]], imported: pd.DataFrame | None = None) -> None:
        from piu.io.normalise import key_text

        self._info: dict[str, dict[str, Any]] = {}
        self._by_key: dict[str, list[str]] = {}          # curated names and aliases
        self._imported_by_key: dict[str, list[str]] = {}  # imported names and aliases
        self._by_country_key: dict[tuple[str, str], str] = {}
        for row in curated:
            code = row["locode"].strip().upper()
            aliases = [a.strip() for a in (row.get("aliases") or "").split(";") if a.strip()]
            self._info[code] = {"locode": code, "name": row["name"], "country": row["country"],
                                "aliases": aliases, "timezone": row["timezone"], "source": "curated"}
            for text in [row["name"], *aliases]:
                key = key_text(text)
                self._by_key.setdefault(key, [])
                if code not in self._by_key[key]:
                    self._by_key[key].append(code)
                self._by_country_key.setdefault((row["country"], key), code)
        self.imported_count = 0
        if imported is not None and len(imported):
            self._add_imported(imported)

    def _add_imported(self, frame: pd.DataFrame) -> None:
        from piu.io.normalise import key_text

        curated = set(self._info)
        cols = [frame[c].tolist() for c in ("locode", "country", "name", "name_key", "aliases", "alias_keys")]
        for code, country, name, nkey, aliases, akeys in zip(*cols):
            self.imported_count += 1
            alias_list = [a for a in (aliases or "").split(";") if a]
            if code in curated:
                info = self._info[code]  # the curated entry keeps its name; learn the aliases
                known = {key_text(a) for a in [info["name"], *info["aliases"]]}
                info["aliases"] = info["aliases"] + [a for a in alias_list if key_text(a) not in known]
            else:
                self._info[code] = {"locode": code, "name": name, "country": country,
                                    "aliases": alias_list, "timezone": None, "source": "imported"}
            for key in [nkey, *[k for k in (akeys or "").split(";") if k]]:
                if not key:
                    continue
                bucket = self._imported_by_key.setdefault(key, [])
                if code not in bucket:
                    bucket.append(code)
                self._by_country_key.setdefault((country, key), code)

    @classmethod
    def load(cls, home: Path | str | None = None) -> PortTable:
        """The curated table plus the UN/LOCODE list imported into the store at `home` (None: curated only)."""
        from piu.store import Store

        imported = None
        store = Store(home) if home is not None else None
        if store is not None and store.exists() and store.files(DATASET):
            imported = store.read(DATASET, ports_schema(),
                                  columns=["locode", "country", "name", "name_key", "aliases", "alias_keys"]
                                  ).to_pandas()
        return cls(list(_curated_rows()), imported)

    # ---- resolving ---------------------------------------------------------------------------
    def _by_name(self, key: str) -> str | None:
        hits = self._by_key.get(key)
        if hits:
            return hits[0]
        hits = self._imported_by_key.get(key)
        if hits and len(hits) == 1:  # an ambiguous imported name needs its country
            return hits[0]
        return None

    def _resolve_one(self, text: str) -> str | None:
        from piu.io.normalise import key_text

        key = key_text(text)
        compact = key.replace(" ", "")
        if len(compact) == 5 and compact in self._info:
            return compact
        found = self._by_name(key)
        if found:
            return found
        parts = [p for p in _QUALIFIER_SPLIT.split(text) if p.strip()]
        if len(parts) >= 2:  # 'Sihanoukville, Cambodia', 'Lumut (Brunei)', 'Jurong/Singapore'
            for i in range(len(parts) - 1, -1, -1):
                country = lookup_country(parts[i])
                rest = [p for j, p in enumerate(parts) if j != i]
                if country:
                    for name in (" ".join(rest), rest[0]):
                        nkey = key_text(name)
                        code = (self._by_country_key.get((country, nkey))
                                or self._by_country_key.get((country, _strip_generic(nkey))))
                        if code:
                            return code
                    # the agent named the country: a same-named port elsewhere is not it
                    return None
            found = self._by_name(key_text(parts[0]))  # 'Tanjung Priok, Jakarta'

            if found:
                return found
        stripped = _strip_generic(key)
        if stripped and stripped != key:  # 'Port of Sihanoukville', 'Laem Chabang Port'
            return self._by_name(stripped)
        return None

    def resolve(self, s: pd.Series) -> Normalised:
        """Port text as UN/LOCODE; unknown text stays as sent (a code-shaped one compacted) and is invalid."""
        from piu.io.normalise import Normalised, _per_unique, _spread, clean_text, key_text

        cleaned = clean_text(s)
        codes, found = _per_unique(cleaned, self._resolve_one)
        values = _spread(codes, found, cleaned.index, "str")
        invalid = values.isna() & cleaned.notna()
        if invalid.any():
            def unknown(text: str) -> str:
                compact = key_text(text).replace(" ", "")
                return compact if _RE_CODE.match(compact) and len(text) <= 7 else text
            ucodes, shown = _per_unique(cleaned.where(invalid), unknown)
            values = values.fillna(_spread(ucodes, shown, cleaned.index, "str"))
        return Normalised(values, invalid)

    def lookup(self, text: str) -> str | None:
        """One port name or code (e.g. from --port) as a UN/LOCODE, or None."""
        if not text or not text.strip():
            return None
        return self._resolve_one(" ".join(text.split()))

    # ---- facts -------------------------------------------------------------------------------
    def name(self, locode: str) -> str | None:
        """The port's name, or None when the code is unknown."""
        info = self._info.get((locode or "").strip().upper())
        return info["name"] if info else None

    def info(self, locode: str) -> dict[str, Any] | None:
        """Everything known about one port (locode, name, country, aliases, timezone, source)."""
        info = self._info.get((locode or "").strip().upper())
        if info is None:
            return None
        return {**info, "timezone": self._zone(info)}

    def _zone(self, info: dict[str, Any]) -> str:
        return info["timezone"] or country_timezone(info["country"])

    def timezone(self, locodes: pd.Series) -> pd.Series:
        """IANA time zone per LOCODE: curated zone, else the country's only zone, else 'UTC'."""
        import pandas as pd

        uniques = pd.unique(locodes.dropna())
        zones = {}
        for code in uniques:
            info = self._info.get(str(code).strip().upper())
            zones[code] = self._zone(info) if info else "UTC"
        # object first: with no port at all the map is float NaN, which pandas will not fill with text
        return locodes.map(zones).astype("object").fillna("UTC").astype("str")

    def rows(self) -> list[dict[str, Any]]:
        """Every port, curated first then imported, as plain dicts."""
        out = [self.info(code) for code, i in self._info.items() if i["source"] == "curated"]
        out += [self.info(code) for code, i in self._info.items() if i["source"] == "imported"]
        return [r for r in out if r is not None]

    def __contains__(self, locode: object) -> bool:
        return isinstance(locode, str) and locode.upper() in self._info

    def __len__(self) -> int:
        return len(self._info)


def _strip_generic(key: str) -> str:
    return " ".join(_GENERIC.sub(" ", key).split())


# ---- importing the official list ------------------------------------------------------------------

_MAX_FIELDS = 32


def _read_lines(path: Path) -> tuple[pd.DataFrame, list[int]]:
    """Every line as up to 32 text fields (line numbers in 'line'), plus lines too long to read."""
    import pandas as pd

    overlong: list[int] = []
    frame = None
    for encoding in ("utf-8", "cp1252"):  # official downloads have been published in both
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                frame = pd.read_csv(path, header=None, names=range(_MAX_FIELDS), dtype=str,
                                    na_filter=False, skip_blank_lines=False, encoding=encoding,
                                    on_bad_lines="warn", engine="c")
            overlong = [int(m.group(1)) for w in caught
                        for m in [re.search(r"line (\d+)", str(w.message))] if m]
            break
        except UnicodeDecodeError:
            continue
        except (pd.errors.ParserError, ValueError, OSError) as exc:
            raise InputError(f"{path.name} cannot be read as CSV ({type(exc).__name__})",
                             hint="give the UN/LOCODE CSV download (not the .mdb or .txt edition)") from exc
    if frame is None:
        raise InputError(f"{path.name} is neither UTF-8 nor Windows-1252 text",
                         hint="give the UN/LOCODE CSV download")
    import numpy as np

    # Physical line of each record: quoted fields may hold line breaks (the official file has
    # 'BQ,"Bonair, Sint Eustatius and Saba<newline>"'), and pandas drops over-long lines.
    extra_breaks = np.zeros(len(frame), dtype="int64")
    if path.read_bytes().count(b"\n") > len(frame) + len(overlong):
        for col in range(_MAX_FIELDS):
            extra_breaks += frame[col].str.count("\n").to_numpy(dtype="int64")
    start = 1 + np.arange(len(frame)) + np.concatenate([[0], np.cumsum(extra_breaks)[:-1]])
    for n in sorted(overlong):  # every record at or after a dropped line moves down by one
        start[start >= n] += 1
    frame["line"] = start
    return frame, overlong


def read_unlocode(path: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Port entries of a UN/LOCODE CSV (any of the published layouts) and what reading found."""
    import pandas as pd

    frame, overlong = _read_lines(path)
    if frame.empty:
        raise InputError(f"{path.name} is empty", hint="give the UN/LOCODE CSV download")
    first_row = [str(v).strip() for v in frame.iloc[0, :_MAX_FIELDS]]
    ncols = max((i + 1 for i, v in enumerate(first_row) if v), default=0)
    head = [v.lower() for v in first_row[:max(ncols, 12)]]
    repaired = pd.Series(False, index=frame.index)
    if head[:2] == ["country", "location"]:
        # Community layout: country,location,name,nameWoDiacritics,subdivision,status,function,...
        body = frame.iloc[1:]
        # Names with a comma lost their quoting ('"Jakarta"," Java"') and shifted the row by one
        # field while dropping status and IATA; the shape is regular, so put it back together.
        broken = (body[2].str.startswith('"') & body[3].str.endswith('"') & body[4].str.startswith('"')
                  & body[5].str.endswith('"'))
        out = pd.DataFrame({
            "ch": "", "country": body[0], "location": body[1],
            "name": body[2].where(~broken, body[2].str[1:] + "," + body[3].str[:-1]),
            "name_wo": body[3].where(~broken, body[4].str[1:] + "," + body[5].str[:-1]),
            "subdivision": body[4].where(~broken, body[6]),
            "status": body[5].where(~broken, ""),
            "function": body[6].where(~broken, body[7]),
            "line": body["line"],
        })
        extra = body[list(range(max(ncols, 11), _MAX_FIELDS))].ne("").any(axis=1)
        repaired = broken
        out = out.assign(_extra=extra)
        layout = "unlocode-community"
    elif "locode" in head and "ch" in head:
        # Official layout with a heading (datasets/un-locode): ISO 3166-1, Country Name, Ch, LOCODE...
        body = frame.iloc[1:]
        pos = {name: i for i, name in enumerate(head)}
        code = body[pos["locode"]].str.replace(" ", "", regex=False).str.upper()
        out = pd.DataFrame({
            "ch": body[pos["ch"]].str.strip(), "country": code.str[:2], "location": code.str[2:],
            "name": body[pos["name"]].str.strip(), "name_wo": body[pos["namewodiacritics"]].str.strip(),
            "subdivision": body[pos["subdiv"]].str.strip(), "status": body[pos["status"]].str.strip(),
            "function": body[pos["function"]].str.strip(), "line": body["line"],
            "_extra": body[list(range(ncols, _MAX_FIELDS))].ne("").any(axis=1),
        })
        layout = "unlocode-official"
    elif len(head[1]) == 2 and head[1].isalpha() and len(head) >= 12:
        # UNECE download without a heading: Ch,Country,Location,Name,NameWoDiacritics,SubDiv,Function,Status,...
        body = frame
        out = pd.DataFrame({
            "ch": body[0].str.strip(), "country": body[1].str.strip().str.upper(),
            "location": body[2].str.strip().str.upper(), "name": body[3].str.strip(),
            "name_wo": body[4].str.strip(), "subdivision": body[5].str.strip(),
            "function": body[6].str.strip(), "status": body[7].str.strip(), "line": body["line"],
            "_extra": body[list(range(12, _MAX_FIELDS))].ne("").any(axis=1),
        })
        layout = "unlocode-unece"
    else:
        raise InputError(f"{path.name} does not look like a UN/LOCODE CSV (unknown heading)",
                         hint="download the CSV edition from unece.org/trade/uncefact/unlocode")
    for col in ("country", "location"):
        out[col] = out[col].str.strip().str.upper()
    out["name"] = out["name"].str.strip()
    out["name_wo"] = out["name_wo"].str.strip()
    is_alias = out["ch"].eq("=")
    good_code = (out["country"] + out["location"]).str.fullmatch(r"[A-Z]{2}[A-Z0-9]{3}")
    blank = (out.drop(columns=["line", "_extra"]) == "").all(axis=1)
    country_row = out["location"].eq("") & out["name"].str.startswith(".")  # UNECE country headings
    bad = out["_extra"] | (~good_code & ~is_alias & ~blank & ~country_row) | (is_alias & ~out["name_wo"].str.contains(" = ", regex=False))
    skipped_lines = sorted(set(out.loc[bad, "line"].tolist()) | set(overlong))
    out = out[~bad & ~blank & ~country_row & out["ch"].ne("X")]  # 'X' marks entries to be removed

    aliases = out[out["ch"].eq("=")]
    entries = out[~out["ch"].eq("=") & good_code.reindex(out.index, fill_value=False)]
    ports = entries[entries["function"].str.startswith("1")].copy()
    stats = {"source_file": path.name, "layout": layout, "records": int(len(frame)),
             "repaired_lines": int(repaired.sum()), "skipped_lines": len(skipped_lines),
             "skipped_line_numbers": skipped_lines[:5]}
    return _port_frame(ports, aliases), stats


def _port_frame(ports: pd.DataFrame, aliases: pd.DataFrame) -> pd.DataFrame:
    """One row per LOCODE: main name, alternative names and '=' aliases joined with ';'."""
    import pandas as pd

    from piu.io.normalise import name_key

    ports = ports.assign(
        locode=ports["country"] + ports["location"],
        # the community file replaced diacritics by U+FFFD in `name`; nameWoDiacritics is intact
        display=ports["name"].where(~ports["name"].str.contains("\ufffd", regex=False) & ports["name"].ne(""),
                                    ports["name_wo"]),
    )
    ports = ports.assign(key=name_key(ports["display"]))
    first = ports.drop_duplicates("locode", keep="first")
    # Other spellings: nameWoDiacritics when it differs, and later rows for the same code
    # (the official list repeats a code for each of its names, e.g. 'Poipet (Paoy Pet)').
    others = pd.concat([
        ports[["locode", "name_wo"]].rename(columns={"name_wo": "alias"}),
        ports.loc[ports.duplicated("locode", keep="first"), ["locode", "display"]].rename(columns={"display": "alias"}),
    ])
    if len(aliases):
        # 'Sihanoukville = Kampong Saom': find the target among the country's port names
        left = aliases["name_wo"].str.split(" = ", n=1).str[0].str.strip()
        right = aliases["name_wo"].str.split(" = ", n=1).str[1].str.strip()
        wanted = pd.DataFrame({"country": aliases["country"], "alias": left, "key": name_key(right)})
        names = pd.concat([
            ports[["country", "locode", "key"]],
            ports[["country", "locode"]].assign(key=name_key(ports["display"].str.replace(r"\s*\(.*\)\s*$", "", regex=True))),
        ]).drop_duplicates(["country", "key"], keep="first")
        matched = wanted.merge(names, on=["country", "key"], how="inner")
        others = pd.concat([others, matched[["locode", "alias"]]])
    others = others.merge(first[["locode", "display"]], on="locode")
    others = others[others["alias"].notna() & others["alias"].ne("") & others["alias"].ne(others["display"])]
    others = others.assign(alias_key=name_key(others["alias"]))
    others = others[others["alias_key"].notna()].drop_duplicates(["locode", "alias_key"])
    joined = others.groupby("locode", sort=False).agg(aliases=("alias", ";".join),
                                                      alias_keys=("alias_key", ";".join))
    a2a3 = alpha2_to_alpha3()
    out = first[["locode", "country", "display", "key", "subdivision", "function", "status"]].rename(
        columns={"display": "name", "key": "name_key"})
    out = out.merge(joined, how="left", left_on="locode", right_index=True)
    out["country"] = out["country"].map(lambda c: a2a3.get(c, c))
    out["aliases"] = out["aliases"].fillna("")
    out["alias_keys"] = out["alias_keys"].fillna("")
    out.attrs["alias_count"] = int(len(others))
    return out.reset_index(drop=True)


def import_unlocode(path: Path, store: Store) -> dict[str, Any]:
    """Load a UN/LOCODE CSV download into the store, replacing the previous import atomically."""
    import pyarrow as pa

    started = time.monotonic()
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path} does not exist", hint="give the path of the UN/LOCODE CSV download")
    ports, stats = read_unlocode(path)
    if ports.empty:
        raise InputError(f"{path.name} holds no port entries (function '1')",
                         hint="give the full UN/LOCODE CSV download, not an extract without ports")
    frame = ports.assign(source_file=path.name,
                         imported_at=datetime.now(timezone.utc))
    table = pa.Table.from_pandas(frame[[f.name for f in ports_schema()]], schema=ports_schema(),
                                 preserve_index=False)
    with store.transaction("ports-import") as txn:
        previous = {p.name.rsplit("-", 1)[0] for p in store.files(DATASET)}
        txn.write(DATASET, table)
        txn.retract(previous)
    return {**stats, "ports": int(len(ports)), "aliases": int(ports.attrs.get("alias_count", 0)),
            "replaced_previous_import": bool(previous),
            "seconds": round(time.monotonic() - started, 2)}


def resolve_port_option(home: Any, text: str | None, option: str = "--port") -> str | None:
    """A --port value (name or UN/LOCODE) as a UN/LOCODE, None for every port; a UsageError otherwise.

    An unknown but well-formed 5-character code is accepted as is: calls may carry ports the
    curated table and the imported list do not know.
    """
    from piu.errors import UsageError

    if text is None or not text.strip():
        return None
    value = text.strip()
    code = PortTable.load(home).lookup(value)
    if code:
        return code
    compact = value.replace(" ", "").upper()
    if len(compact) == 5 and compact.isalnum():
        return compact
    raise UsageError(f"{option} {value!r} is not a known port name or UN/LOCODE",
                     hint="give a UN/LOCODE such as KHKOS, or see `piu ports list`")

