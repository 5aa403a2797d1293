"""Port state control flag performance lists (Paris MoU, Tokyo MoU): shipped, imported, selected.

piu ships what is known of the lists in `piu/data/flag_lists.csv` (one row per flag per edition:
regime, list_year, published, iso3, list, category, source, completeness). Several editions are
partial (news reports name only some flags), so every row says whether its source gave the whole
list (`full`) or only some names (`partial`). An analyst loads a newer official edition with
`piu rules flags import FILE`; imported editions live in the store (dataset `flag_lists`) and
replace the shipped rows of the same regime and year.

Which edition a call is judged by (`select`): for each regime asked for (the `regimes` parameter
of `flag-risk`, default Tokyo then Paris: Tokyo because Indonesia and Thailand, the partner ports,
are Tokyo MoU members; Paris because it is the reference scheme and its lists are the most
complete), the latest list year (or the `list_year` parameter). A flag missing from a *partial*
edition falls back to the most recent earlier edition that rates it, but never past a list that
the newer edition gives in full: Paris 2024's black list is complete, so a flag black in 2023 but
absent from 2024 is not treated as black; an edition whose rows are all `full` ends the fallback. A flag on no list is "not listed", which is not white.
"""

from __future__ import annotations

import hashlib
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from piu.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from piu.store import Store

DATASET = "flag_lists"
SHIPPED = Path(__file__).resolve().parents[1] / "data" / "flag_lists.csv"
COLUMNS = ("regime", "list_year", "published", "iso3", "list", "category", "source", "completeness")
LISTS = ("white", "grey", "black")
REGIMES = ("paris", "tokyo")
REGIME_NAMES = {"paris": "Paris MoU", "tokyo": "Tokyo MoU"}
# List years an edition may have (imports) and the flag-risk rule's list_year may name.
FIRST_LIST_YEAR, LAST_LIST_YEAR = 1980, 2100
CATEGORIES = ("very_high", "high", "medium_to_high", "medium")
# Tokyo MoU renamed its lists High/Medium/Low performance from 2025 (35th PSC Committee, Nov 2024).
# Mapping them onto white/grey/black is our documented assumption, applied on import.
LIST_ALIASES = {"white": "white", "grey": "grey", "gray": "grey", "black": "black",
                "high": "white", "medium": "grey", "low": "black"}


def flag_lists_schema():  # noqa: ANN201 - pyarrow is imported lazily
    """Schema of the store's `flag_lists` dataset (imported editions)."""
    import pyarrow as pa
    return pa.schema([
        ("regime", pa.string()), ("list_year", pa.int32()), ("published", pa.string()),
        ("iso3", pa.string()), ("list", pa.string()), ("category", pa.string()),
        ("source", pa.string()), ("completeness", pa.string()),
        ("source_file", pa.string()), ("imported_at", pa.timestamp("us", tz="UTC")),
    ])


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """The COLUMNS with their types (list_year Int64, text as str, blanks as missing)."""
    import pandas as pd

    out = pd.DataFrame({c: frame[c] if c in frame.columns else None for c in COLUMNS})
    out["list_year"] = pd.to_numeric(out["list_year"], errors="coerce").astype("Int64")
    for c in COLUMNS:
        if c != "list_year":
            out[c] = out[c].astype("str").str.strip().replace("", None)
    return out


def _typed_rows(rows: list[dict[str, str]]) -> pd.DataFrame:
    """`_typed` of rows read as text (a few hundred): the same frame, built in Python."""
    import pandas as pd

    def text(v: str | None) -> str | None:
        return (v.strip() or None) if isinstance(v, str) else None

    def year(v: str | None) -> int | None:
        try:
            number = float(v)  # what pd.to_numeric reads; a fraction or an unreadable value is missing
        except (TypeError, ValueError):
            return None
        return int(number) if number.is_integer() else None

    columns = {c: pd.array([text(r.get(c)) for r in rows], dtype="str") for c in COLUMNS if c != "list_year"}
    columns["list_year"] = pd.array([year(r.get("list_year")) for r in rows], dtype="Int64")
    return pd.DataFrame({c: columns[c] for c in COLUMNS})


def shipped() -> pd.DataFrame:
    """The flag lists shipped with piu."""
    import csv

    with open(SHIPPED, newline="", encoding="utf-8") as fh:
        return _typed_rows(list(csv.DictReader(fh)))


def imported(store: Store) -> pd.DataFrame:
    """The editions imported into the store (empty when none)."""
    if not store.files(DATASET):
        return _typed_rows([])
    return _typed(store.read(DATASET, flag_lists_schema()).to_pandas())


def effective(store: Store | None) -> pd.DataFrame:
    """Shipped lists, with every regime/year that was imported replaced by the imported rows."""
    import pandas as pd

    base = shipped()
    if store is None or not store.exists():
        return base
    imp = imported(store)
    if len(imp) == 0:
        return base
    replaced = pd.MultiIndex.from_frame(imp[["regime", "list_year"]].drop_duplicates())
    keep = ~pd.MultiIndex.from_frame(base[["regime", "list_year"]]).isin(replaced)
    return pd.concat([base[keep], imp], ignore_index=True)


def select(ratings: pd.DataFrame, regimes: list[str], list_year: int = 0) -> pd.DataFrame:
    """Per regime and flag, the rating used for scoring (see the module docstring): rows of `ratings`,
    regime by regime, latest edition first."""
    import pandas as pd

    # reference data (a few hundred rows at most): walked row by row, which beats a dozen table
    # operations per edition
    # (as lists: iterating the columns value by value is slow)
    year = [None if pd.isna(y) else int(y) for y in ratings["list_year"].tolist()]
    rows = list(zip(range(len(ratings)), ratings["regime"].tolist(), year, ratings["iso3"].tolist(),
                    ratings["list"].tolist(), ratings["completeness"].tolist()))
    picked: list[int] = []
    for regime in regimes:
        mine = [r for r in rows if r[1] == regime and r[2] is not None and (not list_year or r[2] <= list_year)]
        rated: set[str] = set()
        closed: set[str] = set()
        for edition_year in sorted({r[2] for r in mine}, reverse=True):
            edition = [r for r in mine if r[2] == edition_year]
            take = [r for r in edition if not (_given(r[3]) and r[3] in rated) and not (_given(r[4]) and r[4] in closed)]
            picked.extend(r[0] for r in take)
            rated.update(r[3] for r in take if _given(r[3]))
            closed.update(r[4] for r in edition if r[5] == "full" and _given(r[4]))
            if all(r[5] == "full" for r in edition):  # a complete edition rates every flag
                closed.update(LISTS)
            if closed >= set(LISTS):
                break
    return ratings.iloc[picked].reset_index(drop=True) if picked else ratings.iloc[0:0]


def _given(value: Any) -> bool:
    """A value that is there (not None, NaN or NA)."""
    import pandas as pd
    return not pd.isna(value)


DIGEST_COLUMNS = ("regime", "list_year", "iso3", "list", "category", "completeness")


def digest(ratings: pd.DataFrame) -> str:
    """A short hash of the ratings' content (part of the rule-set version): of the CSV text of their
    DIGEST_COLUMNS as text, rows sorted (missing values last), as pandas' to_csv writes it - made in
    Python, the ratings being a few hundred rows."""
    import csv
    import io

    import pandas as pd

    def text(v: Any) -> str | None:
        return None if v is None or v is pd.NA or (isinstance(v, float) and v != v) else str(v)

    rows = sorted(zip(*(map(text, ratings[c].tolist()) for c in DIGEST_COLUMNS)),
                  key=lambda row: tuple((v is None, v or "") for v in row))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(DIGEST_COLUMNS)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return hashlib.sha256(out.getvalue().encode()).hexdigest()[:12]


def read_list_file(path: str) -> pd.DataFrame:
    """Read and check a flag list CSV (columns as the shipped file; `flag` accepted for iso3)."""
    import pandas as pd

    name = os.path.basename(path)
    try:
        raw = pd.read_csv(path, dtype="str", keep_default_na=False, comment=None)
    except FileNotFoundError:
        raise InputError(f"flag list file {name} not found", hint="check the path") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a folder, not a flag list file", hint="give the CSV file itself") from None
    except OSError as exc:  # permission denied and the like
        raise InputError(f"flag list file {name} cannot be read ({exc.strerror})", hint="check its permissions") from None
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"flag list file {name} is not a readable CSV ({type(exc).__name__})",
                         hint="save it as UTF-8 CSV with a heading row") from None
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    if "iso3" not in raw.columns and "flag" in raw.columns:
        raw = raw.rename(columns={"flag": "iso3"})
    missing = [c for c in ("regime", "list_year", "iso3", "list") if c not in raw.columns]
    if missing:
        raise InputError(f"flag list file {name} has no column {', '.join(missing)}",
                         hint=f"use the columns {', '.join(COLUMNS)} (see piu/data/flag_lists.csv)")
    frame = _typed(raw)
    frame["regime"] = frame["regime"].str.lower()
    frame["iso3"] = frame["iso3"].str.upper()
    frame["list"] = frame["list"].str.lower().map(LIST_ALIASES).astype("str")
    frame["category"] = frame["category"].str.lower().str.replace(" ", "_").str.replace("-", "_")
    frame["completeness"] = frame["completeness"].str.lower().fillna("partial")
    line = pd.Series(range(2, len(frame) + 2))  # heading is line 1
    checks = [
        (~frame["regime"].isin(REGIMES), "regime must be paris or tokyo"),
        (frame["list_year"].isna() | ~frame["list_year"].between(FIRST_LIST_YEAR, LAST_LIST_YEAR).fillna(False),
         "list_year must be a year"),
        (~frame["iso3"].fillna("").str.fullmatch(r"[A-Z]{3}"), "iso3 must be a 3-letter ISO 3166 code"),
        (~frame["list"].isin(LISTS), "list must be white, grey or black (or high, medium, low)"),
        (frame["category"].notna() & ~frame["category"].isin(CATEGORIES),
         "category must be very_high, high, medium_to_high or medium"),
        (~frame["completeness"].isin(("full", "partial")), "completeness must be full or partial"),
    ]
    problems: list[str] = []
    for mask, what in checks:
        bad = line[mask.fillna(True).to_numpy()]
        if len(bad):
            shown = ", ".join(str(v) for v in bad[:5]) + (f" (+{len(bad) - 5} more)" if len(bad) > 5 else "")
            problems.append(f"line {shown}: {what}")
    dup = frame.duplicated(["regime", "list_year", "iso3"], keep=False)
    if dup.any():
        problems.append(f"line {', '.join(str(v) for v in line[dup.to_numpy()][:5])}: a flag listed twice in one edition")
    if problems:
        raise InputError(f"flag list file {name}: {'; '.join(problems)}", hint="fix these lines and import again")
    if len(frame) == 0:
        raise InputError(f"flag list file {name} has no rows", hint="nothing was imported")
    return frame


def import_file(store: Store, path: str) -> dict[str, Any]:
    """Import a flag list CSV: its regime/year editions replace earlier ones, atomically."""
    import pandas as pd
    import pyarrow as pa

    new = read_list_file(path)
    new["source_file"] = os.path.basename(path)
    new["imported_at"] = datetime.now(timezone.utc)
    store.init()
    with store.transaction("flag-import") as txn:
        old_files = store.files(DATASET)
        old = store.read(DATASET, flag_lists_schema()).to_pandas()
        editions = pd.MultiIndex.from_frame(new[["regime", "list_year"]].drop_duplicates())
        if len(old):
            old = old[~pd.MultiIndex.from_frame(old[["regime", "list_year"]].astype({"list_year": "Int64"})).isin(editions)]
        combined = pd.concat([old, new], ignore_index=True) if len(old) else new
        combined["list_year"] = combined["list_year"].astype("Int64")
        table = pa.Table.from_pandas(combined[[f.name for f in flag_lists_schema()]], schema=flag_lists_schema(),
                                     preserve_index=False)
        txn.write(DATASET, table)
        # retract every earlier import: the new files hold the whole imported set
        txn.retract({p.name.rsplit("-", 1)[0] for p in old_files})
    counts = new.groupby(["regime", "list_year", "list"]).size()
    return {"file": os.path.basename(path), "rows": len(new),
            "editions": [{"regime": r, "list_year": int(y), "list": lst, "flags": int(n)}
                         for (r, y, lst), n in counts.items()]}
