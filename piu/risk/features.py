"""Per-call features (persons aggregated to their call) and per-person features, vectorised.

`FEATURES` documents the call features that expression rules may use (`piu rules features`);
`build(calls, persons)` returns (call features, persons with derived columns). Identifier checks
(IMO check digit, MMSI format) run on the unique values of a column only.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from piu.risk.registry import RuleData

# name -> (kind, description). kind is number | text | bool. This is the documented interface of
# expression rules: add features, never rename one.
FEATURES: dict[str, tuple[str, str]] = {
    "port": ("text", "UN/LOCODE of the port, e.g. 'KHKOS'"),
    "direction": ("text", "'arrival' or 'departure'"),
    "vessel_name": ("text", "vessel name as sent (trimmed)"),
    "vessel_type": ("text", "vessel type as the agent wrote it, e.g. 'Fishing vessel'"),
    "vessel_category": ("text", "normalised type: passenger, fishing, cargo, tanker or other"),
    "flag": ("text", "flag state, ISO 3166-1 alpha-3, e.g. 'KHM'"),
    "imo": ("text", "IMO number (7 digits when parseable)"),
    "mmsi": ("text", "MMSI (9 digits when valid)"),
    "mmsi_country": ("text", "alpha-3 of the state the MMSI's MID belongs to"),
    "call_sign": ("text", "call sign"),
    "agent": ("text", "shipping agent"),
    "last_port": ("text", "UN/LOCODE of the last port of call"),
    "next_port": ("text", "UN/LOCODE of the next port of call"),
    "imo_valid": ("bool", "IMO number has 7 digits and a correct check digit (false when missing)"),
    "mmsi_valid": ("bool", "MMSI has 9 digits and a MID in 201-775 (false when missing)"),
    "gross_tonnage": ("number", "gross tonnage"),
    "year_built": ("number", "year the vessel was built"),
    "vessel_age": ("number", "years since year_built on the call date"),
    "capacity": ("number", "persons the vessel is certified to carry (when known)"),
    "declared_crew": ("number", "crew declared on the General Declaration (FAL 1)"),
    "declared_passengers": ("number", "passengers declared on the General Declaration (FAL 1)"),
    "crew_listed": ("number", "rows on the crew list (FAL 5)"),
    "passengers_listed": ("number", "rows on the passenger list (FAL 6)"),
    "persons_listed": ("number", "crew_listed + passengers_listed"),
    "persons_aboard": ("number", "persons listed, or the declared counts when no list was sent"),
    "nationalities": ("number", "distinct nationalities among the persons listed"),
    "crew_nationalities": ("number", "distinct nationalities among the crew"),
    "minors_aboard": ("number", "persons under 18 on the call date"),
    "minors_in_crew": ("number", "crew members under 18 on the call date"),
    "documents_missing": ("number", "persons without a document number"),
    "documents_expired": ("number", "persons whose document expired on or before the call date"),
    "transit_passengers": ("number", "passengers marked in transit"),
    "call_hour": ("number", "hour of the call, 0-23, in the port's local time when known (else UTC)"),
    "call_weekday": ("number", "day of the week of the call, 1 = Monday ... 7 = Sunday"),
}

# Text features whose values form a closed set piu knows, and how to name that set in a message.
# An expression comparing one with any other text can never hold, so rules files are refused
# (`piu rules check`). Free text (vessel_name, vessel_type, agent...) and ports (the store may hold
# imported UN/LOCODE ports beyond the shipped ones) are deliberately not here.
CLOSED_FEATURES: dict[str, str] = {
    "direction": "arrival or departure",
    "vessel_category": "passenger, fishing, cargo, tanker or other",
    "flag": "an ISO 3166-1 alpha-3 code in capitals, e.g. 'KHM'",
    "mmsi_country": "an ISO 3166-1 alpha-3 code in capitals, e.g. 'KHM'",
}


def known_values(name: str) -> frozenset[str] | None:
    """The values a closed text feature can take (`CLOSED_FEATURES`), else None (free text)."""
    if name == "direction":
        from piu.schema import DIRECTIONS
        return frozenset(DIRECTIONS)
    if name == "vessel_category":
        from piu.schema import VESSEL_CATEGORIES
        return frozenset(VESSEL_CATEGORIES)
    if name in ("flag", "mmsi_country"):
        from piu.io.countries import alpha3_codes
        return alpha3_codes()
    return None


def closest_value(name: str, text: str) -> str | None:
    """The known value of a closed feature an analyst most likely meant by `text`, or None."""
    import difflib

    values = known_values(name) or frozenset()
    by_lower = {v.lower(): v for v in values}
    if text.strip().lower() in by_lower:  # 'Fishing', 'khm'
        return by_lower[text.strip().lower()]
    if name in ("flag", "mmsi_country"):  # 'Cambodia', 'KH'
        from piu.io.countries import lookup_country
        code = lookup_country(text)
        if code in values:
            return code
    close = difflib.get_close_matches(text.strip().lower(), sorted(by_lower), n=1)
    return by_lower[close[0]] if close else None

# Call columns the features need from the store (everything else is pruned when reading).
CALL_COLUMNS = [
    "call_id", "version_id", "ingest_id", "port", "direction", "call_time", "call_time_local",
    "vessel_name", "vessel_name_key", "imo", "imo_valid", "mmsi", "mmsi_valid", "mmsi_country",
    "call_sign", "flag", "vessel_type", "vessel_category", "gross_tonnage", "year_built", "capacity",
    "last_port", "next_port", "declared_crew", "declared_passengers", "agent", "month",
]
PERSON_COLUMNS = [
    "version_id", "role", "name_key", "nationality", "date_of_birth", "gender", "doc_number",
    "doc_issuer", "doc_expiry", "embark_port", "disembark_port", "transit", "source_row",
]


VESSEL_WORDS = {"passenger": "a passenger vessel", "fishing": "a fishing vessel", "cargo": "a cargo vessel",
                "tanker": "a tanker", "other": "a vessel of another type"}


def vessel_words(category: pd.Series) -> pd.Series:
    """'a fishing vessel', 'a tanker', ... for a column of vessel categories."""
    return category.map(VESSEL_WORDS).fillna("a vessel of unknown type").astype("str")


def present(series: pd.Series) -> pd.Series:
    """True where a text value is given (not null, not blank)."""
    return series.notna() & (series.astype("str").str.strip() != "")


def isin(values: pd.Series, candidates: Any) -> Any:
    """Boolean array: is each value among `candidates` (a null matches a null, as in pandas).

    Text columns are compared in Arrow: pandas' isin on Arrow strings turns the candidates into
    Python objects one by one, which costs more than the comparison itself.
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    cand = pd.Series(candidates, dtype=values.dtype) if not isinstance(candidates, pd.Series) else candidates
    if values.dtype != "str" or cand.dtype != "str":
        return values.isin(candidates).to_numpy(dtype=bool)
    found = pc.is_in(pa.array(values.array), value_set=pa.array(cand.unique()).cast(pa.large_string()))
    return found.to_numpy(zero_copy_only=False)


def given_codes(values: pd.Series) -> Any:
    """Integer codes of a column as int64: equal values, equal codes; -1 where no value is given
    (missing, or blank text - what `present` calls not given)."""
    import numpy as np
    import pandas as pd

    if values.dtype == "str":  # in Arrow: encode, then blank text among the distinct values only
        import pyarrow as pa
        import pyarrow.compute as pc

        arr = pa.array(values.array)
        arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
        encoded = arr.dictionary_encode()
        out = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        blank = pc.equal(pc.utf8_trim_whitespace(encoded.dictionary), "").to_numpy(zero_copy_only=False)
        if blank.any():
            out[np.append(blank, False)[out]] = -1
        return out
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    out = np.asarray(codes, dtype=np.int64)
    if values.dtype == object:  # e.g. dates as Python objects: only a text value can be blank
        blank = np.array([isinstance(u, str) and not u.strip() for u in uniques] + [False], dtype=bool)
        out[blank[out]] = -1
    return out


def joint_codes(d: RuleData, column: str) -> tuple[Any, Any]:
    """`given_codes` of a person column over d.persons and d.history_persons together: (persons' codes,
    history persons' codes), equal codes for equal values on either side. Computed once per RuleData
    (rules share them, read-only); history persons taken from `persons` (a full rescore) reuse the persons'
    codes through their `person_row`, which holds while `build` keeps the persons' rows in order."""
    import numpy as np
    import pandas as pd

    key = ("joint_codes", column)
    if key not in d.cache:
        hp = d.history_persons
        mine = d.persons[column]
        if hp is None or len(hp) == 0:
            d.cache[key] = (given_codes(mine), np.empty(0, dtype=np.int64))
        elif "person_row" in hp.columns:
            codes_ = given_codes(mine)
            d.cache[key] = (codes_, codes_[hp["person_row"].to_numpy(dtype=np.int64)])
        else:
            theirs = hp[column]
            if mine.dtype != theirs.dtype and "datetime64" in f"{mine.dtype}{theirs.dtype}":
                # dates as Python objects on one side, timestamps on the other: equal dates, equal codes
                mine, theirs = (pd.to_datetime(mine, errors="coerce").astype("datetime64[us]"),
                                pd.to_datetime(theirs, errors="coerce").astype("datetime64[us]"))
            both = given_codes(pd.concat([mine, theirs], ignore_index=True))
            d.cache[key] = (both[:len(mine)], both[len(mine):])
        for codes_ in d.cache[key]:  # shared by every rule of the run: none may change them
            codes_.flags.writeable = False
    return d.cache[key]


def joint_vessel_codes(d: RuleData) -> tuple[Any, Any]:
    """Codes of each person's vessel (`vessel_key` of its call) for d.persons and d.history_persons,
    comparable across the two (-1: no vessel key)."""
    import numpy as np
    import pandas as pd

    key = ("joint_codes", "vessel_key")
    if key not in d.cache:
        calls, hc = d.calls, d.history_calls
        both = given_codes(pd.concat([calls["vessel_key"], hc["vessel_key"]], ignore_index=True))
        mine_calls, their_calls = both[:len(calls)], both[len(calls):]
        at = person_call_rows(d.persons, calls)
        mine = np.where(at >= 0, mine_calls[np.maximum(at, 0)], -1)
        theirs = their_calls[d.history_persons["hcall_row"].to_numpy(dtype=np.int64)]
        d.cache[key] = (mine, theirs)
        for codes_ in d.cache[key]:
            codes_.flags.writeable = False
    return d.cache[key]


def person_call_rows(persons: pd.DataFrame, calls: pd.DataFrame) -> Any:
    """Per person: the row of its call in `calls` (-1 when absent), from the `call_row` that `build`
    adds when present."""
    import numpy as np

    if "call_row" in persons.columns:
        return persons["call_row"].to_numpy(dtype=np.int64)
    return call_positions(persons["version_id"], calls)


def call_rows(persons: pd.DataFrame) -> Any:
    """Per person: an integer that is equal for persons of the same call version (int64).

    The `call_row` column that `build` adds (the row of the person's call) when present, else
    `given_codes` of version_id.
    """
    import numpy as np

    if "call_row" in persons.columns:
        return persons["call_row"].to_numpy(dtype=np.int64)
    return given_codes(persons["version_id"])


def repeated(*keys: Any) -> Any:
    """Boolean array: rows whose combination of integer keys (non-negative) occurs more than once."""
    import numpy as np
    import pandas as pd

    key = np.asarray(keys[0], dtype=np.int64)
    for k in keys[1:]:
        k = np.asarray(k, dtype=np.int64)
        size = int(k.max(initial=0)) + 1
        if int(key.max(initial=0)) >= (2**62) // size:  # the pair would overflow: number the pairs first
            key = pd.factorize(key)[0].astype(np.int64)
        key = key * size + k
    # most keys occur once: a count per hash bucket (no hash table) rules them out, and only rows
    # sharing a bucket are compared exactly
    buckets = 1 << max(4, (4 * len(key)).bit_length())
    mixed = (key ^ (key >> 31)) * np.int64(-4658895280553007687)  # 0xBF58476D1CE4E5B9 as int64
    bucket = (mixed ^ (mixed >> 29)) & (buckets - 1)
    out = np.zeros(len(key), dtype=bool)
    shared = np.bincount(bucket, minlength=buckets)[bucket] > 1
    out[shared] = pd.Series(key[shared]).duplicated(keep=False).to_numpy()
    return out


def rows_text(rows: pd.Series, limit: int = 12) -> str:
    """'14, 15, 19' for sorted source rows (long lists cut with '+N more')."""
    values = sorted(int(v) for v in rows.dropna())
    text = ", ".join(str(v) for v in values[:limit])
    return text + (f", +{len(values) - limit} more" if len(values) > limit else "")


# up to this many rows, group_rows works in Python: the same result, without Arrow's fixed costs
SMALL_GROUPS = 2000


def group_rows(frame: pd.DataFrame, key: str = "version_id", limit: int = 12) -> tuple[pd.Series, pd.Series]:
    """Per group, sorted by key: the sorted list of source rows and its '14, 15, 19' text (Arrow)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(frame) <= SMALL_GROUPS:
        return _group_rows_small(frame, key, limit)
    f = frame[[key, "source_row"]].dropna(subset=["source_row"]).sort_values([key, "source_row"], kind="stable")
    table = pa.table({"k": pa.array(f[key].astype("str").to_numpy(dtype=object), type=pa.string()),
                      "r": pa.array(f["source_row"].astype("int64").to_numpy(), type=pa.int64())})
    # use_threads=False keeps the sorted input order inside each list
    g = table.group_by("k", use_threads=False).aggregate([("r", "list"), ("r", "count")])
    shown = pc.list_slice(g["r_list"], 0, limit).cast(pa.list_(pa.string()))
    text = pd.Series(pc.binary_join(shown, ", ").to_numpy(zero_copy_only=False), dtype="str")
    count = pd.Series(g["r_count"].to_numpy(), dtype="int64")
    more = (count - limit).where(count > limit, 0)
    text = text.where(more == 0, text + ", +" + more.astype("str") + " more")
    index = pd.Index(g["k"].to_pylist(), name=key)
    lists = pd.Series(g["r_list"].to_pylist(), index=index, dtype="object")
    text.index = index
    # Arrow's group_by does not keep the groups in the order met: sorted by key, as documented
    order = index.argsort()
    return lists.iloc[order], text.iloc[order]


def _group_rows_small(frame: pd.DataFrame, key: str, limit: int) -> tuple[pd.Series, pd.Series]:
    """group_rows of a few rows, in Python."""
    import pandas as pd

    groups: dict[str, list[int]] = {}
    for k, row in zip(frame[key].astype("str").tolist(), frame["source_row"].tolist()):
        if not pd.isna(row):
            groups.setdefault(k, []).append(int(row))
    keys = sorted(groups)
    lists = [sorted(groups[k]) for k in keys]
    text = [", ".join(map(str, rows[:limit])) + (f", +{len(rows) - limit} more" if len(rows) > limit else "")
            for rows in lists]
    index = pd.Index(keys, name=key, dtype="str")
    return pd.Series(lists, index=index, dtype="object"), pd.Series(text, index=index, dtype="str")


def imo_status(imo: pd.Series) -> pd.Series:
    """Per value: None when missing, 'ok', 'format' (not 7 digits) or 'check' (check digit fails).

    Parsed by the ingest normaliser (`piu.io.normalise`), once per distinct value, so a number is
    valid, missing or a placeholder by one definition everywhere.
    """
    import pandas as pd

    codes, uniques = pd.factorize(imo, use_na_sentinel=True)
    return _lookup([_imo_status_one(str(u)) for u in _values(uniques)], codes, imo.index)


@lru_cache(maxsize=65536)
def _imo_status_one(text: str) -> str | None:
    """The status of one IMO text (memoised: calls and history calls share most vessels)."""
    if len(text) == 7 and text.isascii() and text.isdigit():  # as stored for a number ingest could read
        # what the normaliser decides for 7 plain digits, without loading it: all zeros is a placeholder
        # (missing); a leading zero or a wrong check digit is invalid
        if text == "0000000":
            return None
        from piu.io.identifiers import imo_check_digit_ok

        return "ok" if text[0] != "0" and imo_check_digit_ok(text) else "check"
    from piu.io.normalise import _imo_one

    number, valid = _imo_one(text)
    return (None if valid is None else "ok" if valid
            else "check" if number is not None and len(number) == 7 and number.isdigit() else "format")


def mmsi_status(mmsi: pd.Series) -> pd.Series:
    """Per value: None when missing, 'ok', 'format' (not 9 digits) or 'mid' (MID outside 201-775).

    Parsed by the ingest normaliser; unlike ingest's `mmsi_valid`, a MID inside 201-775 that the
    shipped MID table lacks is not judged here (the table may lag new allocations).
    """
    import pandas as pd

    codes, uniques = pd.factorize(mmsi, use_na_sentinel=True)
    return _lookup([_mmsi_status_one(str(u)) for u in _values(uniques)], codes, mmsi.index)


@lru_cache(maxsize=65536)
def _mmsi_status_one(text: str) -> str | None:
    """The status of one MMSI text (memoised like `_imo_status_one`)."""
    if len(text) == 9 and text.isascii() and text.isdigit():  # as stored: the normaliser's verdict, unloaded
        return None if text == "000000000" else "ok" if 201 <= int(text[:3]) <= 775 else "mid"
    from piu.io.normalise import _mmsi_one

    digits, valid, _country = _mmsi_one(text)
    if valid is None:
        return None
    if digits is None or len(digits) != 9 or not digits.isdigit():
        return "format"
    return "ok" if 201 <= int(digits[:3]) <= 775 else "mid"


def _values(uniques: Any) -> list[Any]:
    """The distinct values from a factorize as a Python list (iterating an Arrow-backed array one value
    at a time is slow)."""
    import numpy as np

    return np.asarray(uniques, dtype=object).tolist()


def _lookup(values: list[Any], codes: Any, index: Any) -> pd.Series:
    """Expand per-unique results back to the column (code -1, a missing value, maps to None)."""
    import numpy as np
    import pandas as pd

    table = np.array(values + [None], dtype=object)
    return pd.Series(table[codes], index=index, dtype="object")


def vessel_key(calls: pd.DataFrame) -> pd.Series:
    """The vessel of a call: 'IMO:n' when the IMO is valid, else 'MMSI:n', else 'NAME:key'."""
    import pandas as pd

    if len(calls) <= SMALL_KEYS:
        return _vessel_key_small(calls)
    imo_ok = imo_status(calls["imo"]) == "ok"
    mmsi_ok = mmsi_status(calls["mmsi"]) == "ok"
    key = pd.Series("NAME:", index=calls.index, dtype="str") + calls["vessel_name_key"].astype("str")
    key = key.where(present(calls["vessel_name_key"]), None)
    key = key.mask(mmsi_ok, "MMSI:" + calls["mmsi"].astype("str"))
    key = key.mask(imo_ok, "IMO:" + calls["imo"].astype("str").str.strip().str.upper().str.removeprefix("IMO").str.strip())
    return key.astype("str")


# up to this many calls, vessel_key is worked out in Python (the same keys): fewer than the column
# operations' fixed costs on the few calls of an incremental score and their history
SMALL_KEYS = 2000


def _vessel_key_small(calls: pd.DataFrame) -> pd.Series:
    """vessel_key of a few calls, value by value."""
    import pandas as pd

    def given(v: Any) -> bool:
        return isinstance(v, str) or not pd.isna(v)

    keys: list[str | None] = []
    for imo, mmsi, name in zip(calls["imo"].tolist(), calls["mmsi"].tolist(), calls["vessel_name_key"].tolist()):
        if given(imo) and _imo_status_one(str(imo)) == "ok":
            keys.append("IMO:" + str(imo).strip().upper().removeprefix("IMO").strip())
        elif given(mmsi) and _mmsi_status_one(str(mmsi)) == "ok":
            keys.append("MMSI:" + str(mmsi))
        elif given(name) and str(name).strip() != "":
            keys.append("NAME:" + str(name))
        else:
            keys.append(None)
    return pd.Series(keys, index=calls.index, dtype="str")


def _call_dates(calls: pd.DataFrame) -> pd.Series:
    """The call's local calendar date (from call_time_local) as datetime64, else the UTC date."""
    import pandas as pd

    utc = pd.to_datetime(calls["call_time"], utc=True).dt.tz_localize(None).dt.normalize()
    if "call_time_local" in calls.columns:
        local = pd.to_datetime(calls["call_time_local"].astype("str").str.slice(0, 10), errors="coerce", format="%Y-%m-%d")
        return local.fillna(utc).astype("datetime64[us]")
    return utc.astype("datetime64[us]")


def _local_clock(calls: pd.DataFrame) -> pd.Series:
    """Local wall-clock time of the call (from call_time_local), else UTC, as naive datetime64."""
    import pandas as pd

    utc = pd.to_datetime(calls["call_time"], utc=True).dt.tz_localize(None)
    if "call_time_local" in calls.columns:
        local = pd.to_datetime(calls["call_time_local"].astype("str").str.slice(0, 19), errors="coerce",
                               format="%Y-%m-%dT%H:%M:%S")
        return local.fillna(utc)
    return utc


def age_in_years(born: pd.Series, on: pd.Series) -> pd.Series:
    """Whole years between two datetime64 columns (birthday not reached yet counts one less), Int64."""
    import numpy as np
    import pandas as pd

    def parts(values: pd.Series) -> tuple[Any, Any]:  # (year, month * 100 + day) in integer numpy
        days = values.to_numpy(dtype="datetime64[us]").astype("datetime64[D]").astype(np.int64)
        # civil date from days since 1970-01-01 (H. Hinnant's algorithm): a few integer passes
        z = days + 719468
        era = np.floor_divide(z, 146097)
        doe = z - era * 146097
        yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
        doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
        mp = (5 * doy + 2) // 153
        month = np.where(mp < 10, mp + 3, mp - 9)
        return yoe + era * 400 + (month <= 2), month * 100 + doy - (153 * mp + 2) // 5 + 1

    (by, bmd), (oy, omd) = parts(born), parts(on)
    missing = np.isnat(born.to_numpy(dtype="datetime64[us]")) | np.isnat(on.to_numpy(dtype="datetime64[us]"))
    years = np.where(missing, 0, oy - by - (omd < bmd))
    return pd.Series(pd.arrays.IntegerArray(years.astype(np.int64), missing), index=on.index)


def call_positions(version_ids: pd.Series, calls: pd.DataFrame) -> Any:
    """Per person: the row of its call in `calls` (-1 when the call is not there), as int64.

    Call version ids are unique, so this one lookup replaces a map or merge per feature.
    """
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    ids = calls["version_id"]
    if version_ids.dtype == "str" and ids.dtype == "str":
        at = pc.index_in(pa.array(version_ids.array), value_set=pa.array(ids.array).cast(pa.large_string()))
        return at.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return pd.Index(ids.to_numpy()).get_indexer(version_ids.to_numpy()).astype(np.int64)


def call_column(version_ids: pd.Series, calls: pd.DataFrame, column: str) -> pd.Series:
    """Per person: `column` of its call (missing when the call is not in `calls`), like a map by version id."""
    import pandas as pd

    at = call_positions(version_ids, calls)
    return pd.Series(calls[column].array.take(at, allow_fill=True), index=version_ids.index, name=column)


def _person_features(persons: pd.DataFrame, calls: pd.DataFrame, at: Any,
                     call_dates: pd.Series | None = None) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    p = persons.copy(deep=False)  # copy-on-write: new columns never reach the caller's frame
    # the row of the person's call: rules group and match persons of one call on this integer
    p["call_row"] = pd.Series(np.asarray(at, dtype=np.int64), index=p.index)
    dates = (_call_dates(calls) if call_dates is None else call_dates).to_numpy().astype("datetime64[us]")
    found = at >= 0
    call_date = np.full(len(p), np.datetime64("NaT"), dtype="datetime64[us]")
    call_date[found] = dates[at[found]]
    p["call_date"] = pd.Series(call_date, index=p.index)
    dob = pd.to_datetime(p["date_of_birth"], errors="coerce").astype("datetime64[us]")
    p["age_at_call"] = age_in_years(dob, p["call_date"])
    expiry = pd.to_datetime(p["doc_expiry"], errors="coerce").astype("datetime64[us]")
    p["doc_expired"] = (expiry <= p["call_date"]).fillna(False).astype(bool)
    p["doc_missing"] = ~present(p["doc_number"])
    return p


def _per_call(at: Any, size: int, mask: Any) -> Any:
    """Persons per call (by call row) where `mask`."""
    import numpy as np

    keep = (at >= 0) & mask
    return np.bincount(at[keep], minlength=size)


def _distinct_per_call(at: Any, size: int, values: pd.Series, mask: Any) -> Any:
    """Distinct non-null values per call (by call row) among persons where `mask`."""
    import numpy as np
    import pandas as pd

    codes, uniques = pd.factorize(values)
    keep = (at >= 0) & (codes >= 0) & mask
    width = len(uniques) + 1
    if size * width <= 50_000_000:  # few distinct values (nationalities): a call x value table of flags
        seen = np.zeros(size * width, dtype=bool)
        seen[at[keep] * width + codes[keep]] = True
        return seen.reshape(size, width).sum(axis=1)
    pairs = pd.unique(at[keep] * width + codes[keep])
    return np.bincount(pairs // width, minlength=size)


def build(calls: pd.DataFrame, persons: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Call features and person features for the given call versions and their persons."""
    import numpy as np
    import pandas as pd

    c = calls.reset_index(drop=True).copy(deep=False)
    at = call_positions(persons["version_id"], c)
    call_dates = _call_dates(c)
    p = _person_features(persons, c, at, call_dates)
    n = len(c)
    is_crew = (p["role"] == "crew").to_numpy(dtype=bool)
    is_pax = (p["role"] == "passenger").to_numpy(dtype=bool)
    minor = (p["age_at_call"] < 18).fillna(False).to_numpy(dtype=bool)
    transit = p["transit"].fillna(False).astype(bool).to_numpy(dtype=bool)
    # per-call counts over the call rows (one positional lookup, no string group-by)
    counts = {
        "crew_listed": _per_call(at, n, is_crew),
        "passengers_listed": _per_call(at, n, is_pax),
        "minors_aboard": _per_call(at, n, minor),
        "minors_in_crew": _per_call(at, n, minor & is_crew),
        "documents_missing": _per_call(at, n, p["doc_missing"].to_numpy(dtype=bool)),
        "documents_expired": _per_call(at, n, p["doc_expired"].to_numpy(dtype=bool)),
        "transit_passengers": _per_call(at, n, is_pax & transit),
        "nationalities": _distinct_per_call(at, n, p["nationality"], np.ones(len(p), dtype=bool)),
        "crew_nationalities": _distinct_per_call(at, n, p["nationality"], is_crew),
    }
    for col, values in counts.items():
        c[col] = pd.array(values, dtype="Int64")
    c["persons_listed"] = (c["crew_listed"] + c["passengers_listed"]).astype("Int64")
    declared = c["declared_crew"].astype("Int64").fillna(0) + c["declared_passengers"].astype("Int64").fillna(0)
    no_declared = c["declared_crew"].isna() & c["declared_passengers"].isna()
    # persons aboard: the lists when sent; otherwise what the General Declaration says
    c["persons_aboard"] = c["persons_listed"].where(c["persons_listed"] > 0,
                                                    declared.where(~no_declared, pd.NA)).astype("Int64")
    c["call_date"] = call_dates
    clock = _local_clock(c)
    c["call_hour"] = clock.dt.hour.astype("Int64")
    c["call_weekday"] = (clock.dt.day_of_week + 1).astype("Int64")
    c["vessel_age"] = (c["call_date"].dt.year - c["year_built"].astype("Int64")).astype("Int64")
    c["imo_check"] = imo_status(c["imo"])
    c["mmsi_check"] = mmsi_status(c["mmsi"])
    c["imo_valid"] = (c["imo_check"] == "ok").astype(bool)
    c["mmsi_valid"] = (c["mmsi_check"] == "ok").astype(bool)
    for col in ("gross_tonnage",):
        c[col] = c[col].astype("float64")
    for col in ("year_built", "capacity", "declared_crew", "declared_passengers"):
        c[col] = c[col].astype("Int64")
    if "vessel_key" not in c.columns:  # the engine may have derived it already
        c["vessel_key"] = vessel_key(c)
    return c, p
