"""Vectorised normalisers: turn the text a shipping agent sent into canonical values.

Every function takes a pandas Series of text as sent (NA and '' allowed) and returns values on
the same index. Work is done once per *unique* value (`pd.factorize`), then spread back to the
rows, so a 200,000-row manifest with 2,000 distinct dates parses 2,000 strings.

Functions returning `Normalised` (or `Dates`) also say which values were present but not understood
(`invalid`); missing input is never invalid. Unknown values are kept as sent (cleaned) wherever
the output column is text, so nothing an agent wrote is silently lost.

Choices worth knowing (documented here because analysts ask):
- Dates: day first by default ('03/04/2026' is 3 April); an impossible day-first reading that is
  a valid month-first one ('11/29/2026') is read month-first, and vice versa. Two-digit years
  pivot on the current year + 20 (in 2026: 00-46 -> 20xx, 47-99 -> 19xx). Excel serial numbers
  are read when they have five digits (1927-2173) and fall in 1900-2100; a bare 1-4 digit
  number is not a date (it is usually a year). Years are 1900-2100; a four-digit year of the
  Buddhist era (Thai agents write 23/11/2518 for 1975-11-23: B.E. = C.E. + 543) is read as C.E.
  when it falls in 2443-2643, exactly the years whose C.E. reading is out of range and whose B.E.
  reading is in it, so no C.E. year is ever changed; `Dates.buddhist` says which values were.
- Numbers: ',' or '.' followed by exactly three digits after one to three others is a thousands
  separator ('1,234' = '1.234' = 1234: agents in decimal-comma locales write '8.450' GT), otherwise
  a decimal mark ('12,5' = '12.5' = 12.5, '0.450' = 0.45); when both appear the last one is the
  decimal mark ('1.234,5' = 1234.5, '1,234.5' = 1234.5). Units after the
  number are ignored ('75 GT', '12 persons'). 'NIL'/'NONE' mean 0 (the FAL form convention);
  'N/A' and '-' mean not given.
- IMO/MMSI placeholders ('N/A', '-', '0', 'NIL', 'TBA', 'UNKNOWN') mean no number was sent.
"""

from __future__ import annotations

import calendar
import functools
import re
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd

from piu.io.identifiers import imo_check_digit_ok

if TYPE_CHECKING:  # pragma: no cover
    from piu.io.ports import PortTable


class Normalised(NamedTuple):
    """Normalised values and, on the same index, True where input was present but not understood."""

    values: pd.Series
    invalid: pd.Series


class Dates(NamedTuple):
    """Parsed dates or times, what was not understood, and on the same index: `buddhist`, True where
    a Buddhist-era year was read as C.E. (year - 543), and `bad_year`, True where a value is a date
    but its year is out of range (1900-2100, or 2443-2643 B.E.): a subset of `invalid`."""

    values: pd.Series
    invalid: pd.Series
    buddhist: pd.Series
    bad_year: pd.Series


# ---- text ------------------------------------------------------------------------------------

# RE2 (pyarrow) '\s' is ASCII only, so the Unicode spaces agents' spreadsheets carry are listed.
_SPACES = "[\\s\u00a0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff]+"
_NON_ALNUM = re.compile(r"[^A-Z0-9]+")


def _as_text(s: Any) -> pd.Series:
    """Any Series (or list) as pandas string dtype; missing stays missing."""
    if not isinstance(s, pd.Series):
        s = pd.Series(s, dtype="object")
    if s.dtype != "str":
        s = s.astype("str")
    return s


# the same set for RE2, which spells code points as \x{...}
_SPACES_RE2 = "[\\s\\x{00a0}\\x{1680}\\x{2000}-\\x{200b}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}\\x{feff}]+"



def arrow_text(s: pd.Series) -> Any:
    """A text Series as one contiguous Arrow large_string array (no copy when already Arrow-backed)."""
    import pyarrow as pa

    s = _as_text(s)
    arr = getattr(s.array, "_pa_array", None)
    if arr is None:
        arr = pa.array(s.to_numpy(dtype=object, na_value=None), type=pa.large_string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    return arr if arr.type == pa.large_string() else arr.cast(pa.large_string())


def clean_text(s: pd.Series) -> pd.Series:
    """Trim, collapse whitespace (NBSP and other Unicode spaces too); '' becomes NA.

    Done by Arrow compute over the whole column (C++), not a Python call per cell: agents'
    files hold hundreds of thousands of document numbers that are all distinct.
    """
    import pyarrow.compute as pc

    if _is_clean(s):  # the normalisers clean their input again; text cleaned here is returned as is
        return s
    s = _as_text(s)
    if s.isna().all():
        return s
    arr = arrow_text(s)
    if len(arr) >= 4096 and len(pc.unique(arr.slice(0, 1024))) <= 256:
        # a column of few distinct values (ports, ranks, countries, a call's fields on each of its
        # persons' rows): clean each distinct value once and spread back by index
        enc = arr.dictionary_encode()
        if 4 * len(enc.dictionary) <= len(arr):
            out = _clean_arrow(enc.dictionary).take(enc.indices)
            return _mark_clean(pd.Series(pd.array(out, dtype="str"), index=s.index))
    return _mark_clean(pd.Series(pd.array(_clean_arrow(arr), dtype="str"), index=s.index))


# Series that clean_text returned (id -> weak reference): cleaning is idempotent, so cleaning one
# of them again would only cost time. Weak references: an entry dies with its Series, and a new
# object that reuses the id is not mistaken for it.
_CLEANED: dict[int, Any] = {}


def _mark_clean(s: pd.Series) -> pd.Series:
    import weakref

    key = id(s)
    _CLEANED[key] = weakref.ref(s, lambda _ref, key=key: _CLEANED.pop(key, None))
    return s


def _is_clean(s: Any) -> bool:
    ref = _CLEANED.get(id(s))
    return ref is not None and ref() is s


def _clean_arrow(arr: Any) -> Any:
    """clean_text on an Arrow large_string array."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if arr.type != pa.large_string():
        arr = arr.cast(pa.large_string())
    # trimmed only if some value starts or ends with ASCII white space (most values do not)
    out = pc.ascii_trim_whitespace(arr) if _edge_space(arr) else arr
    # the regex (slow over UTF-8) only where it can change something: runs of spaces, tabs or line
    # breaks inside, or non-ASCII text that may hold NBSP and other Unicode spaces (a byte scan)
    needs = _needs_space_fix(out)
    if needs.any():
        mask = pa.array(needs)
        fixed = pc.utf8_trim(pc.replace_substring_regex(pc.filter(out, mask), pattern=_SPACES_RE2, replacement=" "),
                             characters=" ")
        out = pc.replace_with_mask(out, mask, fixed)
    return pc.if_else(pc.equal(out, ""), pa.scalar(None, out.type), out)


def _text_buffers(arr: Any) -> tuple[np.ndarray, np.ndarray]:
    """(offsets of the values, the whole data buffer as bytes) of an Arrow large_string array."""
    n = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset:arr.offset + n + 1] if n else np.zeros(1, np.int64)
    data = arr.buffers()[2] if n else None
    return offsets, (np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8))


_ASCII_SPACE = np.zeros(256, dtype=bool)
_ASCII_SPACE[list(b" \t\n\x0b\x0c\r")] = True  # what Arrow's ascii_trim_whitespace trims


def _edge_space(arr: Any) -> bool:
    """True when some value starts or ends with ASCII white space."""
    offsets, data = _text_buffers(arr)
    full = offsets[1:] > offsets[:-1]
    if not full.any():
        return False
    return bool(_ASCII_SPACE[data[offsets[:-1][full]]].any() or _ASCII_SPACE[data[offsets[1:][full] - 1]].any())


_SPACE_FIX = np.zeros(256, dtype=bool)
_SPACE_FIX[list(b"\t\n\r")] = True
_SPACE_FIX[0x80:] = True  # any byte of a non-ASCII character


def _needs_space_fix(arr: Any) -> np.ndarray:
    """Per value: not ASCII, or holding two spaces in a row, a tab or a line break (values without
    white space at either end, as ascii_trim_whitespace leaves them)."""
    offsets, data = _text_buffers(arr)
    rows = np.zeros(len(arr), dtype=bool)
    if not len(arr) or offsets[-1] == offsets[0]:
        return rows
    data = data[offsets[0]:offsets[-1]]
    space = data == 32
    found = np.concatenate((np.flatnonzero(_SPACE_FIX[data]), np.flatnonzero(space[:-1] & space[1:]))) + offsets[0]
    rows[np.searchsorted(offsets, found, side="right") - 1] = True
    return rows


def key_text(text: str) -> str:
    """One value as a match key: ASCII transliteration, upper case, punctuation as spaces."""
    from anyascii import anyascii

    return " ".join(_NON_ALNUM.sub(" ", anyascii(text).upper()).split())


def _per_unique(cleaned: pd.Series, fn: Callable[[str], Any]) -> tuple[np.ndarray, list[Any]]:
    """Factorize a cleaned Series and apply fn once per unique non-missing value."""
    codes, uniques = pd.factorize(cleaned, use_na_sentinel=True)
    return codes, [fn(u) for u in uniques.tolist()]  # tolist: no per-value Python iteration of pandas' array


def _spread(codes: np.ndarray, results: list[Any], index: pd.Index, dtype: str,
            missing: Any = None) -> pd.Series:
    """Results per unique spread back to rows (missing where the input was missing)."""
    if dtype == "str":  # take from the small array of distinct results, without a Python object pass
        uniq = pd.array(list(results) + [missing], dtype="str")
        return pd.Series(uniq.take(codes), index=index)  # code -1 picks the last slot
    table = np.array(list(results) + [missing], dtype=object)
    return pd.Series(table[codes], index=index, dtype=dtype)  # code -1 picks the last slot


def name_key(s: pd.Series) -> pd.Series:
    """Names as match keys: transliterated to ASCII, upper case, punctuation as spaces."""
    cleaned = clean_text(s)
    if cleaned.isna().all():
        return cleaned
    return pd.Series(pd.array(_on_distinct(arrow_text(cleaned), _name_keys), dtype="str"), index=cleaned.index)


def _name_keys(arr: Any) -> Any:
    """name_key of a cleaned Arrow large_string array."""
    import pyarrow as pa
    import pyarrow.compute as pc

    # ASCII names (most of them) in Arrow compute; only the others need transliteration in Python
    out = pc.utf8_trim(pc.replace_substring_regex(pc.ascii_upper(arr), pattern="[^A-Z0-9]+", replacement=" "),
                       characters=" ")
    other = pc.invert(pc.fill_null(pc.string_is_ascii(arr), True))
    if pc.any(other).as_py():
        out = pc.replace_with_mask(out, other, _word_keys(arr.filter(other)))
    return pc.if_else(pc.equal(out, ""), pa.scalar(None, out.type), out)


def _on_distinct(arr: Any, fn: Callable[[Any], Any]) -> Any:
    """fn (value by value, over an Arrow array) computed once per distinct value when the values
    repeat (a crew member's name on each of the vessel's calls), else over the array as it is."""
    import pyarrow.compute as pc

    if len(arr) >= 8192 and len(pc.unique(arr.slice(0, 4096))) <= 3072:
        enc = arr.dictionary_encode()
        if 2 * len(enc.dictionary) <= len(arr):
            return fn(enc.dictionary).take(enc.indices)
    return fn(arr)


def _word_keys(arr: Any) -> Any:
    """key_text of cleaned, non-missing names, in Python once per distinct name or, when names
    share words (a crew list's family names), once per distinct word, joined back in Arrow."""
    import pyarrow as pa
    import pyarrow.compute as pc

    names = arr.dictionary_encode()
    # clean text holds single ASCII spaces only, and transliteration goes character by character,
    # so the key of a name is the keys of its words joined by spaces (empty keys dropped)
    words = pc.split_pattern(names.dictionary, " ")
    enc = words.flatten().dictionary_encode()
    if len(enc.dictionary) >= len(names.dictionary):
        keys = pa.array([_name_key_one(v) for v in names.dictionary.to_pylist()], type=pa.large_string())
        return keys.take(names.indices)
    keys = pa.array([_name_key_one(w) for w in enc.dictionary.to_pylist()], type=pa.large_string()).take(enc.indices)
    joined = pc.binary_join(type(words).from_arrays(words.offsets, keys), pa.scalar(" ", pa.large_string()))
    joined = pc.utf8_trim(pc.replace_substring_regex(joined, pattern=" {2,}", replacement=" "), characters=" ")
    return joined.take(names.indices)


def _name_key_one(text: str) -> str:
    return key_text(text)


# ---- countries and ports ---------------------------------------------------------------------

def _country_one(text: str) -> str | None:
    from piu.io.countries import lookup_country

    return lookup_country(text)


def country(s: pd.Series) -> Normalised:
    """Countries written any way (names, codes, demonyms, ICAO codes) as ISO alpha-3."""
    cleaned = clean_text(s)
    codes, found = _per_unique(cleaned, _country_one)
    values = _spread(codes, found, cleaned.index, "str")
    invalid = values.isna() & cleaned.notna()
    values = values.fillna(cleaned.str.upper()) if invalid.any() else values
    return Normalised(values, invalid)


def port(s: pd.Series, ports: PortTable) -> Normalised:
    """Port names, codes and 'name, country' as UN/LOCODE (via the port table)."""
    return ports.resolve(s)


# ---- dates and times -------------------------------------------------------------------------

_MONTHS = {
    # English
    "JAN": 1, "JANUARY": 1, "FEB": 2, "FEBRUARY": 2, "MAR": 3, "MARCH": 3, "APR": 4, "APRIL": 4,
    "MAY": 5, "JUN": 6, "JUNE": 6, "JUL": 7, "JULY": 7, "AUG": 8, "AUGUST": 8, "SEP": 9,
    "SEPT": 9, "SEPTEMBER": 9, "OCT": 10, "OCTOBER": 10, "NOV": 11, "NOVEMBER": 11,
    "DEC": 12, "DECEMBER": 12,
    # Indonesian and Malay (agents in Indonesian and Malaysian ports write them)
    "JANUARI": 1, "FEBRUARI": 2, "PEB": 2, "MARET": 3, "MAC": 3, "MEI": 5, "JUNI": 6,
    "JULI": 7, "AGU": 8, "AGT": 8, "AGS": 8, "AGUSTUS": 8, "OGOS": 8, "OKT": 10, "OKTOBER": 10,
    "DES": 12, "DESEMBER": 12, "DIS": 12, "DISEMBER": 12,
}
_WEEKDAY = re.compile(r"^(?:MON|TUE|WED|THU|FRI|SAT|SUN)[A-Z]*\.?,?\s+")
_RE_SERIAL = re.compile(r"^(\d{5})(?:\.(\d+))?$")
_RE_YMD8 = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_RE_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_RE_NUM = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})$")
_RE_DMONY = re.compile(r"^(\d{1,2})(?:ST|ND|RD|TH)?[\s\-/.]*([A-Z]{3,9})\.?[\s\-/.,]*(\d{4}|\d{2})$")
_RE_MONDY = re.compile(r"^([A-Z]{3,9})\.?[\s\-/.]*(\d{1,2})(?:ST|ND|RD|TH)?[\s,\-/.]+(\d{4}|\d{2})$")
_RE_TIME = re.compile(
    r"^(\d{1,2})(?:[:.H]?(\d{2}))(?:[:.](\d{2})(?:[.,](\d{1,6}))?)?\s*"
    r"(AM|PM|A\.M\.|P\.M\.)?\s*(?:HRS|HOURS|HR|H|LT|LOCAL)?\s*"
    r"(Z|UTC|GMT|(?:UTC|GMT)?\s*[+-]\d{1,2}(?::?\d{2})?)?$")
_SPLIT = re.compile(r"(?<=\d)T(?=\d)|[\s,]+")
_EXCEL_EPOCH = datetime(1899, 12, 30)
_EPOCH = datetime(1970, 1, 1)
_MIN_YEAR, _MAX_YEAR = 1900, 2100
# Buddhist era (the Thai calendar): B.E. year = C.E. year + 543. A four-digit year in this window is
# out of range as C.E. and in range as B.E. (2443-2643 -> 1900-2100), so it is read as B.E.
BUDDHIST_ERA_OFFSET = 543
_MIN_BE_YEAR, _MAX_BE_YEAR = _MIN_YEAR + BUDDHIST_ERA_OFFSET, _MAX_YEAR + BUDDHIST_ERA_OFFSET
BUDDHIST_ERA_YEARS = (_MIN_BE_YEAR, _MAX_BE_YEAR)
# the years a date may have, said when a value is a date but for its year
YEAR_RANGE = f"expected {_MIN_YEAR}-{_MAX_YEAR}, or {_MIN_BE_YEAR}-{_MAX_BE_YEAR} in the Buddhist era"


def _year(text: str) -> int:
    y = int(text)
    if len(text) == 2:
        pivot = (date.today().year + 20) % 100
        y += 2000 if y <= pivot else 1900
    return y


def _ymd(y: int, m: int, d: int, any_year: bool) -> tuple[datetime, bool] | None:
    """(the date, whether its year was Buddhist era), else None; `any_year` accepts every year
    (to tell a date whose year is out of range from text that is no date)."""
    buddhist = _MIN_BE_YEAR <= y <= _MAX_BE_YEAR and not any_year
    if buddhist:
        y -= BUDDHIST_ERA_OFFSET
    if not ((1 <= y <= 9999) if any_year else (_MIN_YEAR <= y <= _MAX_YEAR)) or not 1 <= m <= 12:
        return None
    if not 1 <= d <= calendar.monthrange(y, m)[1]:
        return None
    return datetime(y, m, d), buddhist


def _date_part(t: str, dayfirst: bool, any_year: bool = False) -> tuple[datetime, bool] | None:
    """A date (or an Excel serial with its time of day) from upper-case text, and whether its year
    was Buddhist era, else None."""
    m = _RE_ISO.match(t)
    if m:
        return _ymd(int(m[1]), int(m[2]), int(m[3]), any_year)
    m = _RE_NUM.match(t)
    if m:
        a, b, y = int(m[1]), int(m[2]), _year(m[3])
        first, second = ((b, a), (a, b)) if dayfirst else ((a, b), (b, a))
        return _ymd(y, *first, any_year) or _ymd(y, *second, any_year)
    m = _RE_DMONY.match(t)
    if m and m[2] in _MONTHS:
        return _ymd(_year(m[3]), _MONTHS[m[2]], int(m[1]), any_year)
    m = _RE_MONDY.match(t)
    if m and m[1] in _MONTHS:
        return _ymd(_year(m[3]), _MONTHS[m[1]], int(m[2]), any_year)
    m = _RE_YMD8.match(t)
    if m:
        return _ymd(int(m[1]), int(m[2]), int(m[3]), any_year)
    m = _RE_SERIAL.match(t)
    if m:
        value = _EXCEL_EPOCH + timedelta(days=float(t))
        # round to the second: Excel stores times as binary fractions of a day
        value = datetime.fromtimestamp(round((value - _EPOCH).total_seconds()), tz=timezone.utc).replace(tzinfo=None)
        return (value, False) if _MIN_YEAR <= value.year <= _MAX_YEAR else None
    return None


def _time_part(t: str) -> tuple[int, int | None] | None:
    """(microseconds after midnight, UTC offset in minutes or None) from a time, else None."""
    m = _RE_TIME.match(t)
    if not m:
        return None
    hour, minute = int(m[1]), int(m[2])
    second = int(m[3] or 0)
    micro = int((m[4] or "0").ljust(6, "0"))
    if m[5]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if m[5].startswith("P") else 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    offset = None
    if m[6]:
        zone = m[6].replace("UTC", "").replace("GMT", "").strip()
        if not zone or zone == "Z":
            offset = 0
        else:
            sign = -1 if zone[0] == "-" else 1
            digits = zone[1:].replace(":", "")
            hh, mm = (digits[:-2], digits[-2:]) if len(digits) > 2 else (digits, "0")
            if int(hh) > 14 or int(mm) > 59:
                return None
            offset = sign * (int(hh) * 60 + int(mm))
    return ((hour * 60 + minute) * 60 + second) * 1_000_000 + micro, offset


def _parse_datetime_one(text: str, dayfirst: bool, any_year: bool = False) -> tuple[int, int | None, bool] | None:
    """One date or date-time as (wall-clock microseconds since 1970, offset minutes or None,
    whether its year was Buddhist era); `any_year`: see `_ymd`."""
    t = _WEEKDAY.sub("", text.strip().upper())
    day = _date_part(t, dayfirst, any_year)
    if day is not None:
        return _micros(day[0]), None, day[1]
    # Try every split into "date" + "time" (left to right): '29 Nov 2026 14:30' splits at the
    # third gap, '2026-11-29T14:30+07:00' at the 'T'.
    for sep in _SPLIT.finditer(t):
        day = _date_part(t[: sep.start()], dayfirst, any_year)
        if day is None or day[0].hour or day[0].minute or day[0].second:
            continue
        tod = _time_part(t[sep.end():].strip())
        if tod is not None:
            return _micros(day[0]) + tod[0], tod[1], day[1]
    return None


def _micros(value: datetime) -> int:
    delta = value - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


class _Column(NamedTuple):
    cleaned: pd.Series
    wall: np.ndarray      # wall-clock micros (int64)
    offset: np.ndarray    # offset minutes (float, NaN = none)
    ok: np.ndarray        # parsed
    buddhist: np.ndarray  # parsed with a Buddhist-era year
    bad_year: np.ndarray  # not parsed, but a date with a year out of range


def _parse_column(s: pd.Series, dayfirst: bool) -> _Column:
    """A date or date-time column parsed once per distinct value, spread back to the rows."""
    cleaned = clean_text(s)
    codes, uniques = pd.factorize(cleaned, use_na_sentinel=True)
    n = len(uniques)
    wall = np.zeros(n + 1, dtype="int64")
    offset = np.full(n + 1, np.nan)
    ok = np.zeros(n + 1, dtype=bool)
    buddhist = np.zeros(n + 1, dtype=bool)
    bad_year = np.zeros(n + 1, dtype=bool)
    if n:
        wall[:n], ok[:n], buddhist[:n] = _fast_numeric_dates(uniques, dayfirst)
    for i in np.flatnonzero(~ok[:n]):  # the rest: every other way of writing a date, one by one
        p = _parse_datetime_one(uniques[i], dayfirst)
        if p is not None:
            wall[i], ok[i], buddhist[i] = p[0], True, p[2]
            if p[1] is not None:
                offset[i] = p[1]
        else:  # not understood (rare): a date all but its year is worth saying so
            bad_year[i] = _parse_datetime_one(uniques[i], dayfirst, any_year=True) is not None
    def rows(per_value: np.ndarray) -> np.ndarray:  # the rare masks: nothing to spread when all False
        return per_value[codes] if per_value.any() else np.zeros(len(codes), dtype=bool)

    return _Column(cleaned, wall[codes], offset[codes], ok[codes], rows(buddhist), rows(bad_year))


_FAST_DMY = (r"^(?P<a>\d{1,2})[/.-](?P<b>\d{1,2})[/.-](?P<y>\d{4})"
             r"(?:[ T](?P<H>\d{1,2})[:.](?P<M>\d{2}))?$")
_FAST_ISO = r"^(?P<y>\d{4})-(?P<b>\d{2})-(?P<a>\d{2})(?:[ T](?P<H>\d{2}):(?P<M>\d{2})(?::00)?)?$"


def _fast_numeric_dates(uniques: Any, dayfirst: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised parse of the two shapes most files use (DD/MM/YYYY [HH:MM], ISO), without zone:
    (wall-clock micros, parsed, parsed with a Buddhist-era year).

    Same rules as the one-by-one parser: day-first (or month-first) first, the other order when
    the first is impossible, Buddhist-era years read as C.E.; anything else is left for the
    one-by-one parser (ok False).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(np.asarray(uniques, dtype=object), type=pa.string())
    wall = np.zeros(len(arr), dtype="int64")
    done = np.zeros(len(arr), dtype=bool)
    buddhist = np.zeros(len(arr), dtype=bool)
    for pattern, swap_allowed in ((_FAST_DMY, True), (_FAST_ISO, False)):
        m = pc.extract_regex(arr, pattern=pattern)
        hit = m.is_valid().to_numpy(zero_copy_only=False) & ~done
        if not hit.any():
            continue

        def num(name: str) -> np.ndarray:
            col = pc.struct_field(m, name)
            return pc.fill_null(pc.cast(pc.if_else(pc.equal(col, ""), None, col), pa.int64()), 0).to_numpy(zero_copy_only=False)

        a, b, y, hh, mm = (num(k) for k in ("a", "b", "y", "H", "M"))
        be = (y >= _MIN_BE_YEAR) & (y <= _MAX_BE_YEAR)  # Buddhist era: as the one-by-one parser's _ymd
        y = np.where(be, y - BUDDHIST_ERA_OFFSET, y)
        if pattern is _FAST_ISO:
            day, month = a, b
        else:
            day, month = (a, b) if dayfirst else (b, a)
        for attempt in range(2 if swap_allowed else 1):
            if attempt:
                day, month = month, day
            valid = hit & ~done & (y >= _MIN_YEAR) & (y <= _MAX_YEAR) & (month >= 1) & (month <= 12) & (hh <= 23) & (mm <= 59)
            safe_m = np.where(valid, month, 1)
            first = (np.where(valid, y, 1970) - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (safe_m - 1).astype("timedelta64[M]")
            dim = ((first + np.timedelta64(1, "M")).astype("datetime64[D]") - first.astype("datetime64[D]")).astype(int)
            valid &= (day >= 1) & (day <= dim)
            days = first.astype("datetime64[D]").astype("int64") + (day - 1)
            wall = np.where(valid, (days * 86_400 + hh * 3_600 + mm * 60) * 1_000_000, wall)
            buddhist |= valid & be
            done |= valid
    return wall, done, buddhist


def _dates(col: _Column, values: pd.Series) -> Dates:
    index = col.cleaned.index
    invalid = pd.Series(~col.ok, index=index) & col.cleaned.notna()
    return Dates(values, invalid, pd.Series(col.buddhist, index=index), pd.Series(col.bad_year, index=index))


def buddhist_era_warning(counts: Iterable[tuple[str, int]], check: str = "the documents") -> str | None:
    """The one warning for the dates of a file read with Buddhist-era years: counts per column
    (never values: they are personal data), or None when there were none."""
    counts = [(column, n) for column, n in counts if n]
    if not counts:
        return None
    per_column = ", ".join(f"{n} value(s) in {c}" if i == 0 else f"{n} in {c}" for i, (c, n) in enumerate(counts))
    return f"Buddhist-era years (B.E. = C.E. + 543) read as C.E. (year - 543): {per_column}; check them against {check}"


def parse_dates(s: pd.Series, *, dayfirst: bool = True) -> Dates:
    """Dates in the many ways agents write them, as datetime64[s] at midnight (naive)."""
    col = _parse_column(s, dayfirst)
    cleaned, wall, ok = col.cleaned, col.wall, col.ok
    day_seconds = (wall // 86_400_000_000) * 86_400
    values = pd.Series(day_seconds.astype("datetime64[s]"), index=cleaned.index)
    values[~ok] = pd.NaT
    return _dates(col, values)


def parse_times(s: pd.Series, tz: pd.Series | str, *, dayfirst: bool = True) -> Dates:
    """Call times as UTC: a stated offset wins, else the time is read in `tz` (IANA, per row)."""
    col = _parse_column(s, dayfirst)
    cleaned, wall, offset, ok = col.cleaned, col.wall, col.offset, col.ok
    index = cleaned.index
    utc = np.full(len(cleaned), np.iinfo("int64").min, dtype="int64")  # NaT
    has_off = ok & ~np.isnan(offset)
    utc[has_off] = wall[has_off] - (offset[has_off] * 60_000_000).astype("int64")
    local = ok & np.isnan(offset)
    if local.any():
        zones = (pd.Series(tz, index=index, dtype="str") if isinstance(tz, str)
                 else pd.Series(np.asarray(tz, dtype=object), index=index, dtype="str"))
        zones = zones.fillna("UTC")
        naive = pd.Series(wall.astype("datetime64[us]"), index=index)
        for zone in pd.unique(zones[local]):
            rows = local & (zones == zone).to_numpy()
            stamped = naive[rows].dt.tz_localize(
                _zone_or_utc(zone), ambiguous=np.ones(int(rows.sum()), dtype=bool),
                nonexistent="shift_forward")
            utc[rows] = stamped.dt.tz_convert("UTC").dt.tz_localize(None).astype("int64").to_numpy()
    values = pd.Series(utc.view("datetime64[us]"), index=index).dt.tz_localize("UTC")
    return _dates(col, values)


def _zone_or_utc(zone: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(zone)
        return zone
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"


# ---- vessel identifiers ----------------------------------------------------------------------

_PLACEHOLDERS = frozenset({"N A", "NA", "NIL", "NONE", "NULL", "0", "0000000", "000000000", "TBA",
                           "TBC", "UNKNOWN", "UNK", "NOT APPLICABLE", ""})
_RE_IMO_PREFIX = re.compile(r"^IMO\s*(?:NO|NR|NUMBER|NUM)?\.?\s*[:#.\-]?\s*", re.IGNORECASE)
_RE_MMSI_PREFIX = re.compile(r"^MMSI\s*(?:NO|NR|NUMBER)?\.?\s*[:#.\-]?\s*", re.IGNORECASE)
_RE_FLOAT_ZERO = re.compile(r"\.0+$")


@functools.lru_cache(maxsize=1 << 16)  # a vessel's number repeats in every batch of a big file
def _imo_one(text: str) -> tuple[str | None, bool | None]:
    if key_text(text) in _PLACEHOLDERS:
        return None, None
    core = _RE_FLOAT_ZERO.sub("", _RE_IMO_PREFIX.sub("", text.strip()))
    compact = core.replace(" ", "")
    if len(compact) == 7 and compact.isdigit():
        return compact, compact[0] != "0" and imo_check_digit_ok(compact)
    return text, False


def _distinct_text(cleaned: pd.Series) -> tuple[np.ndarray, Any, list[str]]:
    """(codes, distinct values as an Arrow string array, the same as Python strings) of a text column."""
    import pyarrow as pa

    codes, uniques = pd.factorize(cleaned, use_na_sentinel=True)
    arr = arrow_text(pd.Series(uniques.array)).cast(pa.string()) if len(uniques) else pa.array([], pa.string())
    return codes, arr, arr.to_pylist()  # to_pylist: no per-value Python iteration of pandas' array


def _plain_numbers(uniques: Any, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Which distinct values (an Arrow string array) are exactly `width` ASCII digits, not all zeros
    (the placeholder), and their digits (one row each): the common case, decided all at once."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = uniques
    plain = pc.and_(pc.match_substring_regex(arr, f"^[0-9]{{{width}}}$"), pc.not_equal(arr, "0" * width))
    plain = plain.to_numpy(zero_copy_only=False)
    kept = arr.filter(pa.array(plain))
    offsets = np.frombuffer(kept.buffers()[1], dtype=np.int32)[kept.offset:kept.offset + len(kept) + 1]
    data = np.frombuffer(kept.buffers()[2], dtype=np.uint8) if len(kept) else np.zeros(0, np.uint8)
    digits = data[offsets[0]:offsets[-1]].reshape(len(kept), width).astype(np.int64) - 48
    return plain, digits


def imo(s: pd.Series) -> pd.DataFrame:
    """IMO numbers: 7 digits when parseable (else as sent) and whether the check digit holds."""
    cleaned = clean_text(s)
    codes, arr, uniques = _distinct_text(cleaned)
    numbers, valid = list(uniques), [None] * len(uniques)
    plain, digits = _plain_numbers(arr, 7) if len(uniques) else (np.zeros(0, bool), None)
    # 7 plain digits: the number itself, valid when it does not start with 0 and the check digit holds
    # (as _imo_one decides); anything else one by one
    ok = (digits[:, 0] != 0) & ((digits[:, :6] @ np.arange(7, 1, -1)) % 10 == digits[:, 6]) if plain.any() else []
    for i, v in zip(np.flatnonzero(plain), ok):
        valid[i] = bool(v)
    for i in np.flatnonzero(~plain):
        numbers[i], valid[i] = _imo_one(uniques[i])
    return pd.DataFrame({
        "imo": _spread(codes, numbers, cleaned.index, "str"),
        "imo_valid": _spread(codes, valid, cleaned.index, "boolean"),
    }, index=cleaned.index)


@functools.lru_cache(maxsize=1 << 16)  # a vessel's number repeats in every batch of a big file
def _mmsi_one(text: str) -> tuple[str | None, bool | None, str | None]:
    from piu.io.countries import mid_table

    if key_text(text) in _PLACEHOLDERS:
        return None, None, None
    core = _RE_FLOAT_ZERO.sub("", _RE_MMSI_PREFIX.sub("", text.strip())).replace(" ", "")
    if not core.isdigit():
        return text, False, None
    mid = core[:3]
    country_code = mid_table().get(mid) if len(core) == 9 else None
    valid = len(core) == 9 and 201 <= int(mid) <= 775 and country_code is not None
    return core, valid, country_code


def mmsi(s: pd.Series) -> pd.DataFrame:
    """MMSI numbers: digits, validity (9 digits, allocated MID 201-775) and the MID's country."""
    from piu.io.countries import mid_table

    cleaned = clean_text(s)
    codes, arr, uniques = _distinct_text(cleaned)
    numbers, valid, country = list(uniques), [None] * len(uniques), [None] * len(uniques)
    plain, digits = _plain_numbers(arr, 9) if len(uniques) else (np.zeros(0, bool), None)
    if plain.any():  # 9 plain digits: the number itself; its MID's country, valid for an allocated MID
        mids = digits[:, :3] @ np.array([100, 10, 1])
        table = mid_table()
        by_mid = {m: table.get(f"{m:03d}") for m in np.unique(mids).tolist()}
        for i, m in zip(np.flatnonzero(plain).tolist(), mids.tolist()):
            country[i] = by_mid[m]
            valid[i] = 201 <= m <= 775 and country[i] is not None
    for i in np.flatnonzero(~plain):
        numbers[i], valid[i], country[i] = _mmsi_one(uniques[i])
    return pd.DataFrame({
        "mmsi": _spread(codes, numbers, cleaned.index, "str"),
        "mmsi_valid": _spread(codes, valid, cleaned.index, "boolean"),
        "mmsi_country": _spread(codes, country, cleaned.index, "str"),
    }, index=cleaned.index)


def doc_number(s: pd.Series) -> pd.Series:
    """Document numbers in upper case without spaces, dashes, dots or slashes."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cleaned = clean_text(s)
    if cleaned.isna().all():
        return cleaned
    arr = arrow_text(cleaned)
    out = pc.utf8_upper(arr)
    # only values holding a space, dash, dot, slash or underscore change beyond upper case: the
    # regular expressions run on those alone (most document numbers have none)
    hit = _rows_with_bytes(arr, b" \t\n\f\r-./_")
    if hit.any():
        mask = pa.array(hit)
        part = arr.filter(mask)
        # '1234567.0' is a spreadsheet's float, not a document number with a dot (Arrow compute: RE2)
        part = pc.replace_substring_regex(part, pattern=r"^(\d+)\.0+$", replacement=r"\1")
        part = pc.replace_substring_regex(pc.utf8_upper(part), pattern=r"[\s\-./_]+", replacement="")
        out = pc.replace_with_mask(out, mask, part)
    out = pc.if_else(pc.equal(out, ""), pa.scalar(None, out.type), out)
    return pd.Series(pd.array(out, dtype="str"), index=cleaned.index)


def _rows_with_bytes(arr: Any, chars: bytes) -> np.ndarray:
    """Which values of an Arrow large_string array hold any of the given ASCII bytes (a byte scan of
    the data buffer: ASCII bytes never occur inside a multi-byte UTF-8 character)."""
    n = len(arr)
    rows = np.zeros(n, dtype=bool)
    if not n or arr.buffers()[2] is None:
        return rows
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset:arr.offset + n + 1]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]]
    table = np.zeros(256, dtype=bool)
    table[list(chars)] = True
    found = np.flatnonzero(table[data]) + offsets[0]
    rows[np.searchsorted(offsets, found, side="right") - 1] = True
    return rows


# ---- words -----------------------------------------------------------------------------------

def _table(pairs: dict[str, Iterable[str]]) -> dict[str, str]:
    """{canonical: [ways to write it]} as {key: canonical}."""
    out: dict[str, str] = {}
    for canonical, words in pairs.items():
        for w in words:
            out[key_text(w)] = canonical
    return out


_GENDER_WORDS = {
    "M": ["M", "Male", "Man", "Boy", "1", "L", "Laki-laki", "Laki laki", "Lelaki", "Pria", "Nam",
          "ชาย", "เพศชาย", "ប្រុស", "Lalaki", "男", "H", "Homme", "Masculino", "Mr"],
    "F": ["F", "Female", "Woman", "Girl", "W", "2", "P", "Perempuan", "Wanita", "Nữ", "Nu",
          "หญิง", "เพศหญิง", "ស្រី", "Babae", "女", "Femme", "Femenino", "Mrs", "Ms", "Miss"],
    "X": ["X", "U", "Unspecified", "Unknown", "Other", "Non-binary", "Nonbinary", "0", "9",
          "Not known", "Not specified", "Undisclosed"],
}
_ROLE_WORDS = {
    "crew": ["Crew", "C", "CR", "Crew member", "Crewmember", "Crew list", "Seafarer", "Seaman",
             "Sailor", "Master", "Captain", "Capt", "Skipper", "Officer", "Chief Officer",
             "Chief Mate", "Mate", "2nd Officer", "3rd Officer", "Engineer", "Chief Engineer",
             "2nd Engineer", "3rd Engineer", "Oiler", "Wiper", "Bosun", "Boatswain", "AB",
             "Able Seaman", "OS", "Ordinary Seaman", "Cook", "Chief Cook", "Messman", "Steward",
             "Deckhand", "Deck hand", "Fisherman", "Fishing crew", "Electrician", "ETO", "Cadet",
             "Fitter", "Pumpman", "Radio Officer", "ABK", "Anak Buah Kapal", "Awak Kapal",
             "Kru", "Nakhoda", "Nahkoda", "ลูกเรือ", "Thuyền viên", "Thuyen vien", "FAL 5", "FAL5"],
    "passenger": ["Passenger", "P", "PAX", "PSG", "Pass", "Passengers", "Passenger list",
                  "Traveller", "Traveler", "Penumpang", "ผู้โดยสาร", "Hành khách", "Hanh khach",
                  "FAL 6", "FAL6"],
}
_DIRECTION_WORDS = {
    "arrival": ["A", "Arr", "Arrival", "Arrived", "Arriving", "Inbound", "In", "I", "Incoming",
                "Inward", "Entry", "Entering", "ETA", "ATA", "Kedatangan", "Datang", "Masuk",
                "Tiba", "ขาเข้า", "เข้า", "Đến", "Den", "Nhập cảnh", "Nhap canh"],
    "departure": ["D", "Dep", "Dept", "Departure", "Departed", "Departing", "Outbound", "Out",
                  "O", "Outgoing", "Outward", "Exit", "Leaving", "Sailing", "Sailed", "ETD", "ATD",
                  "Keberangkatan", "Berangkat", "Keluar", "ขาออก", "ออก", "Rời", "Roi", "Đi",
                  "Xuất cảnh", "Xuat canh", "Clearance out"],
}
_BOOLEAN_WORDS = {
    "true": ["Y", "Yes", "True", "T", "1", "X", "✓", "✔", "Ya", "Iya", "Ada", "Có", "Co", "ใช่",
             "Oui", "Si", "On", "Transit", "In transit"],
    "false": ["N", "No", "False", "F", "0", "Tidak", "Tak", "Bukan", "Không", "Khong", "ไม่",
              "ไม่ใช่", "Non", "Off", "Nil", "None"],
}
_DOC_TYPE_WORDS = {
    "passport": ["Passport", "PP", "P", "PPT", "PSPT", "PASS", "National passport", "Paspor",
                 "Pasport", "Passeport", "Pasaporte", "Hộ chiếu", "Ho chieu", "หนังสือเดินทาง",
                 "Official passport", "Diplomatic passport", "Service passport", "PD", "PO", "PS"],
    "seaman_book": ["Seaman book", "Seamans book", "Seaman's book", "Seamen book",
                    "Seaman's record book", "Seafarer book", "Seafarers book", "SB", "SIRB",
                    "Seafarer's Identification and Record Book", "CDC",
                    "Continuous Discharge Certificate", "Discharge book", "Seafarer ID",
                    "Seafarers identity document", "SID", "Seaman ID", "Buku Pelaut",
                    "Seaman card", "Sổ thuyền viên", "So thuyen vien", "Seaman passport"],
    "id_card": ["ID card", "ID", "I", "IC", "Identity card", "National ID", "National ID card",
                "National identity card", "NIC", "NRIC", "KTP", "MyKad", "Kartu Tanda Penduduk",
                "CCCD", "CMND", "Citizen ID", "บัตรประชาชน", "Thai ID", "Identity document"],
    "other": ["Other", "Travel document", "Refugee travel document", "Laissez-passer",
              "Laissez passer", "Emergency travel document", "ETD", "Border pass", "Border card",
              "Visa", "Birth certificate", "Certificate of identity", "Crew pass", "Fishing license",
              "Driving licence", "Driver license", "Residence permit", "Work permit",
              "Certificate of Identity", "CI", "Document of identity", "Pas Lintas Batas", "PLB"],
}


class _Lazy:
    """A word table built on first use (building it transliterates every word)."""

    def __init__(self, words: dict[str, list[str]]) -> None:
        self.words, self._table = words, None

    def get(self) -> dict[str, str]:
        if self._table is None:
            self._table = _table(self.words)
        return self._table


_GENDER, _ROLE, _DIRECTION = _Lazy(_GENDER_WORDS), _Lazy(_ROLE_WORDS), _Lazy(_DIRECTION_WORDS)
_BOOLEAN, _DOC_TYPE = _Lazy(_BOOLEAN_WORDS), _Lazy(_DOC_TYPE_WORDS)


def _word_one(text: str, table: dict[str, str]) -> str | None:
    return table.get(key_text(text))


def _words(s: pd.Series, table: _Lazy) -> tuple[pd.Series, pd.Series]:
    """(cleaned text, canonical word or NA) for a word table."""
    cleaned = clean_text(s)
    words = table.get()
    codes, found = _per_unique(cleaned, lambda u: _word_one(u, words))
    return cleaned, _spread(codes, found, cleaned.index, "str")


def _as_normalised(cleaned: pd.Series, found: pd.Series) -> Normalised:
    invalid = found.isna() & cleaned.notna()
    return Normalised(found.fillna(cleaned) if invalid.any() else found, invalid)


def gender(s: pd.Series) -> Normalised:
    """M, F or X from the words agents use (English, Indonesian, Malay, Thai, Vietnamese, ISO 5218 digits)."""
    return _as_normalised(*_words(s, _GENDER))


def role(s: pd.Series) -> Normalised:
    """crew or passenger (a rank such as 'Master' or 'Cook' means crew)."""
    cleaned, found = _words(s, _ROLE)
    missing = found.isna() & cleaned.notna()
    if missing.any():  # 'Chief Officer (Deck)', '2/O', 'Crew - Engine': look at the words
        keys = name_key(cleaned.where(missing))
        crewish = keys.str.contains(r"\b(?:CREW|OFFICER|ENGINEER|MATE|MASTER|SEAMAN|COOK|FISHERMAN|CADET|RATING)\b",
                                    regex=True, na=False)
        paxish = keys.str.contains(r"\b(?:PASSENGER|PAX)\b", regex=True, na=False)
        found = found.mask(crewish, "crew").mask(paxish & ~crewish, "passenger")
    return _as_normalised(cleaned, found)


def direction(s: pd.Series) -> Normalised:
    """arrival or departure."""
    return _as_normalised(*_words(s, _DIRECTION))


def boolean(s: pd.Series) -> Normalised:
    """True/False from yes/no words in the region's languages; unknown words are NA and invalid."""
    cleaned, found = _words(s, _BOOLEAN)
    true, false = (found == "true").fillna(False).to_numpy(bool), (found == "false").fillna(False).to_numpy(bool)
    values = pd.Series(pd.arrays.BooleanArray(true, ~(true | false)), index=found.index)
    return Normalised(values, values.isna() & cleaned.notna())


def doc_type(s: pd.Series) -> pd.Series:
    """passport, seaman_book, id_card or other; text that names no known document stays as sent."""
    cleaned, found = _words(s, _DOC_TYPE)
    missing = found.isna() & cleaned.notna()
    if missing.any():  # 'Passport No.', 'Seaman Book (CDC)': decide on the words inside
        keys = name_key(cleaned.where(missing))
        for canonical, pattern in (
            ("seaman_book", r"\b(?:SEAMAN|SEAMANS|SEAMEN|SEAFARER|SEAFARERS|SIRB|CDC|DISCHARGE|PELAUT)\b"),
            ("passport", r"\b(?:PASSPORT|PASPOR|PASSEPORT|PASAPORTE)\b"),
            ("id_card", r"\b(?:ID|IDENTITY|KTP|NRIC|IC)\b"),
        ):
            found = found.mask(keys.str.contains(pattern, regex=True, na=False) & found.isna(), canonical)
    return found.fillna(cleaned)


# ---- vessel type -----------------------------------------------------------------------------

_AIS_CODES = [((30, 30), "fishing"), ((60, 69), "passenger"), ((70, 79), "cargo"), ((80, 89), "tanker")]
# Checked in order: 'Ro-Ro passenger' is a passenger ship, 'Fish carrier' belongs to the fishing
# fleet (transhipment at sea), 'Oil/chemical tanker' is a tanker even though it carries cargo.
_VESSEL_PATTERNS = [
    ("passenger", r"\b(?:PASSENGER|PASSENGERS|PAX|FERRY|FERRIES|CRUISE|ROPAX|RO PAX|HIGH SPEED CRAFT|HSC|"
                  r"PENUMPANG|KAPAL PENUMPANG|SPEEDBOAT|SPEED BOAT|TAU KHACH)\b"),
    ("fishing", r"\b(?:FISHING|FISHERY|FISHERIES|TRAWLER|TRAWLERS|SEINER|PURSE SEINER|LONGLINER|"
                r"LONG LINER|GILLNETTER|GILL NETTER|JIGGER|SQUID|TUNA|POLE AND LINE|FISH|"
                r"KAPAL IKAN|KAPAL PENANGKAP IKAN|IKAN|TAU CA|PRAMONG|PRAMUNG|PRAMOM)\b"),
    ("tanker", r"\b(?:TANKER|TANKERS|OIL|CHEMICAL|LPG|LNG|GAS CARRIER|PRODUCT|PRODUCTS|CRUDE|"
               r"BUNKER|BUNKERING|ASPHALT|BITUMEN|TANKER KAPAL|KAPAL TANKER)\b"),
    ("cargo", r"\b(?:CARGO|BULK|BULKER|BULK CARRIER|CONTAINER|CONTAINERSHIP|BOX|GENERAL|RO RO|RORO|"
              r"REEFER|REFRIGERATED|VEHICLE|CAR CARRIER|PCTC|PCC|LIVESTOCK|HEAVY LIFT|"
              r"MULTI PURPOSE|MULTIPURPOSE|MPP|LANDING CRAFT|LCT|BARGE|COASTER|FREIGHTER|"
              r"WOOD CHIP|TIMBER|CEMENT|ORE|KAPAL BARANG|KARGO|BARANG|TAU HANG)\b"),
]


def _vessel_category_one(text: str) -> str:
    key = key_text(text)
    digits = key.replace(" ", "")
    if digits.isdigit() and len(digits) <= 2:
        code = int(digits)
        for (lo, hi), category in _AIS_CODES:
            if lo <= code <= hi:
                return category
        return "other"
    for category, pattern in _VESSEL_PATTERNS_RE:
        if pattern.search(key):
            return category
    return "other"


_VESSEL_PATTERNS_RE = [(c, re.compile(p)) for c, p in _VESSEL_PATTERNS]


def vessel_category(s: pd.Series) -> pd.Series:
    """passenger, fishing, cargo, tanker or other, from a vessel type in words or an AIS type code."""
    cleaned = clean_text(s)
    codes, found = _per_unique(cleaned, _vessel_category_one)
    return _spread(codes, found, cleaned.index, "str")


# ---- numbers ---------------------------------------------------------------------------------

_RE_NUMBER = re.compile(
    r"^(?:APPROX\.?|ABOUT|CA\.?|~|ABT\.?)?\s*([+-]?\d[\d.,'\s]*)\s*([A-Z][A-Z .()/]*)?$")
_ZERO_WORDS = frozenset({"NIL", "NONE", "ZERO", "NO"})
_MISSING_WORDS = frozenset({"N A", "NA", "", "TBA", "TBC", "UNKNOWN"})


def _number_one(text: str) -> float | None:
    """A number from text (see the module docstring), NaN for 'not given', None when not a number."""
    key = key_text(text)
    if key in _ZERO_WORDS:
        return 0.0
    if key in _MISSING_WORDS:
        return float("nan")
    m = _RE_NUMBER.match(text.strip().upper())
    if not m:
        return None
    num = re.sub(r"[\s']", "", m[1])
    if "," in num and "." in num:
        dec = "," if num.rfind(",") > num.rfind(".") else "."
        num = num.replace("." if dec == "," else ",", "").replace(",", ".")
    elif "," in num:
        parts = num.split(",")
        if len(parts) > 2 or (len(parts[1]) == 3 and parts[0].lstrip("+-") not in ("", "0")):
            if not all(len(p) == 3 for p in parts[1:]):
                return None
            num = num.replace(",", "")
        else:
            num = num.replace(",", ".")
    elif num.count(".") > 1:
        parts = num.split(".")
        if not all(len(p) == 3 for p in parts[1:]):
            return None
        num = num.replace(".", "")
    elif "." in num:
        whole, frac = num.split(".")
        if len(frac) == 3 and 1 <= len(whole.lstrip("+-")) <= 3 and whole.lstrip("+-") != "0":
            # '8.450': a thousands separator, as decimal-comma locales (Indonesian Excel) write it;
            # tonnages, capacities and counts are not given to three decimals
            num = whole + frac
    try:
        return float(num)
    except ValueError:
        return None


def _numbers(s: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    import pyarrow as pa
    import pyarrow.compute as pc

    cleaned = clean_text(s)
    codes, arr, uniques = _distinct_text(cleaned)
    vals = np.full(len(uniques) + 1, np.nan)  # the last slot: missing
    bad = np.zeros(len(uniques) + 1, dtype=bool)
    # plain digits (most numbers) are what _number_one makes of them: the same float, all at once
    plain = pc.match_substring_regex(arr, "^[0-9]{1,15}$").to_numpy(zero_copy_only=False) if len(arr) else np.zeros(0, bool)
    if plain.any():
        vals[:-1][plain] = pc.cast(arr.filter(pa.array(plain)), pa.float64()).to_numpy(zero_copy_only=False)
    for i in np.flatnonzero(~plain):
        f = _number_one(uniques[i])
        vals[i], bad[i] = (np.nan, True) if f is None else (f, False)
    return cleaned, vals[codes], bad[codes]


def to_float(s: pd.Series) -> Normalised:
    """Numbers such as '1,234', '1.234,5', '75 GT', '12.0' as nullable floats."""
    cleaned, vals, bad = _numbers(s)
    values = pd.Series(vals, index=cleaned.index).astype("Float64")
    values[np.isnan(vals)] = pd.NA
    return Normalised(values, pd.Series(bad, index=cleaned.index))


def to_int(s: pd.Series) -> Normalised:
    """Whole numbers such as '1,234', '12 persons', '12.0' as nullable integers ('12.5' is invalid)."""
    cleaned, vals, bad = _numbers(s)
    fractional = ~np.isnan(vals) & (np.mod(vals, 1) != 0)
    too_big = ~np.isnan(vals) & (np.abs(vals) > 2**53)
    bad = bad | fractional | too_big
    keep = ~np.isnan(vals) & ~bad
    ints = np.where(keep, vals, 0).astype("int64")
    values = pd.Series(pd.array(ints, dtype="Int64"), index=cleaned.index)
    values[~keep] = pd.NA
    return Normalised(values, pd.Series(bad, index=cleaned.index))
