"""Case tables for every normaliser in piu.io.normalise, including what must be marked invalid."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from piu.io import normalise as n
from piu.io.ports import PortTable

NA = None


def one(values: list) -> pd.Series:
    return pd.Series(values, dtype="object")


def as_list(s: pd.Series) -> list:
    return [None if pd.isna(v) else v for v in s.tolist()]


# ---- text --------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("  Sea\u00a0 Star  ", "Sea Star"),
    ("a\tb\nc", "a b c"),
    ("\u3000x\u202fy\ufeff", "x y"),
    ("", None),
    ("   ", None),
    (None, None),
])
def test_clean_text(raw, expected):
    assert as_list(n.clean_text(one([raw]))) == [expected]


@pytest.mark.parametrize("raw, expected", [
    ("Nguyễn Văn Hùng", "NGUYEN VAN HUNG"),
    ("o'brien-smith, john", "O BRIEN SMITH JOHN"),
    ("  Müller  ", "MULLER"),
    ("张伟", "ZHANGWEI"),
    ("", None),
])
def test_name_key(raw, expected):
    assert as_list(n.name_key(one([raw]))) == [expected]


@pytest.mark.parametrize("raw", ["สมชาย ใจดี", "សុខ ចាន់", "အောင် ကို"])
def test_name_key_transliterates_thai_khmer_burmese_to_ascii(raw):
    key = n.name_key(one([raw])).iloc[0]
    assert key and key.isascii() and key == key.upper()


# ---- countries ---------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("Cambodia", "KHM"), ("KH", "KHM"), ("khm", "KHM"), ("Cambodian", "KHM"), ("Khmer", "KHM"),
    ("Thai", "THA"), ("Thailand", "THA"), ("Vietnamese", "VNM"), ("Viet Nam", "VNM"),
    ("Việt Nam", "VNM"), ("Filipino", "PHL"), ("Burmese", "MMR"), ("Burma", "MMR"),
    ("Indonesian", "IDN"), ("Hong Kong, China", "HKG"), ("Korea, Republic of", "KOR"),
    ("Republic of Korea", "KOR"), ("DPRK", "PRK"), ("Lao PDR", "LAO"), ("D", "DEU"),
    ("GBD", "GBR"), ("XXA", "XXA"), ("Stateless", "XXA"), ("  united   kingdom ", "GBR"),
    ("Bolivia, Plurinational State of", "BOL"), ("Timor-Leste", "TLS"), ("Kamboja", "KHM"),
])
def test_country_known(raw, expected):
    result = n.country(one([raw]))
    assert as_list(result.values) == [expected]
    assert result.invalid.tolist() == [False]


@pytest.mark.parametrize("raw, expected", [("Narnia", "NARNIA"), ("zz", "ZZ"), ("  Atlantis  land", "ATLANTIS LAND")])
def test_country_unknown_kept_upper_and_invalid(raw, expected):
    result = n.country(one([raw]))
    assert as_list(result.values) == [expected]
    assert result.invalid.tolist() == [True]


def test_country_missing_is_not_invalid():
    result = n.country(one([None, "", "Thai"]))
    assert as_list(result.values) == [None, None, "THA"]
    assert result.invalid.tolist() == [False, False, False]


# ---- ports -------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("KHKOS", "KHKOS"), ("KH KOS", "KHKOS"), ("kh-kos", "KHKOS"), ("Sihanoukville", "KHKOS"),
    ("Kampong Saom", "KHKOS"), ("Kompong Som", "KHKOS"), ("Sihanoukville, Cambodia", "KHKOS"),
    ("Port of Sihanoukville", "KHKOS"), ("Koh Kong", "KHKKO"), ("Bangkok", "THBKK"),
    ("Port Klang", "MYPKG"), ("Batam", "IDBTM"), ("Tanjung Priok", "IDJKT"),
    ("Laem Chabang Port", "THLCH"), ("Kawthaung", "MMVIC"), ("Lumut, Malaysia", "MYLUM"),
    ("Tanjung Priok, Jakarta", "IDJKT"), ("Songkhla (Thailand)", "THSGK"),
])
def test_port(raw, expected):
    result = n.port(one([raw]), PortTable.load(None))
    assert as_list(result.values) == [expected]
    assert result.invalid.tolist() == [False]


@pytest.mark.parametrize("raw, shown", [
    ("Atlantis Harbour", "Atlantis Harbour"), ("zz qqq", "ZZQQQ"),
    ("Lumut, Brunei", "Lumut, Brunei"),  # curated Lumut is in Malaysia: not what the agent meant
])
def test_port_unknown_kept_and_invalid(raw, shown):
    result = n.port(one([raw]), PortTable.load(None))
    assert as_list(result.values) == [shown]
    assert result.invalid.tolist() == [True]


# ---- dates -------------------------------------------------------------------------------------

NOV29 = np.datetime64("2026-11-29T00:00:00", "s")


@pytest.mark.parametrize("raw", [
    "2026-11-29", "29/11/2026", "29.11.2026", "29-11-2026", "29-Nov-2026", "29 Nov 2026",
    "Nov 29 2026", "November 29, 2026", "29 November 2026", "20261129", "46355", "46355.0",
    "29/11/26", "29-NOV-26", "2026/11/29", "2026-11-29 00:00:00", "2026-11-29T13:45:00",
    "Sun, 29 Nov 2026", "29th Nov 2026", "11/29/2026",
])
def test_parse_dates_same_day(raw):
    result = n.parse_dates(one([raw]))
    assert result.values.dtype == "datetime64[s]"
    assert result.values.iloc[0] == NOV29
    assert result.invalid.tolist() == [False]


@pytest.mark.parametrize("raw, expected", [
    ("17 Agustus 2026", "2026-08-17"), ("1 Mei 2026", "2026-05-01"), ("5 Okt 2026", "2026-10-05"),
    ("31/12/1985", "1985-12-31"), ("01/01/70", "1970-01-01"), ("29/02/2028", "2028-02-29"),
    ("14-MAR-1990", "1990-03-14"), ("44927", "2023-01-01"),
])
def test_parse_dates_values(raw, expected):
    result = n.parse_dates(one([raw]))
    assert str(result.values.iloc[0].date()) == expected
    assert result.invalid.tolist() == [False]


@pytest.mark.parametrize("raw", ["31/02/2026", "29/02/2026", "2026-13-01", "32.01.2026", "1985",
                                 "hello", "00/00/0000", "29 Foo 2026", "3000000", "12:30"])
def test_parse_dates_invalid(raw):
    result = n.parse_dates(one([raw]))
    assert pd.isna(result.values.iloc[0])
    assert result.invalid.tolist() == [True]


def test_parse_dates_dayfirst_and_monthfirst():
    s = one(["03/04/2026", "13/04/2026", "04/13/2026", None])
    day = n.parse_dates(s)
    month = n.parse_dates(s, dayfirst=False)
    assert [str(v.date()) if not pd.isna(v) else None for v in day.values] == ["2026-04-03", "2026-04-13", "2026-04-13", None]
    assert [str(v.date()) if not pd.isna(v) else None for v in month.values] == ["2026-03-04", "2026-04-13", "2026-04-13", None]
    assert day.invalid.tolist() == [False, False, False, False]


def test_parse_dates_keeps_index():
    s = pd.Series(["29/11/2026", "bad"], index=[10, 20])
    result = n.parse_dates(s)
    assert result.values.index.tolist() == [10, 20]
    assert result.invalid.to_dict() == {10: False, 20: True}


# ---- Buddhist-era years (Thai agents: B.E. = C.E. + 543) -----------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("23/11/2518", "1975-11-23"), ("23.11.2518", "1975-11-23"), ("2518-11-23", "1975-11-23"),
    ("2572-03-01", "2029-03-01"), ("2518/11/23", "1975-11-23"), ("23 Nov 2518", "1975-11-23"),
    ("Nov 23, 2518", "1975-11-23"), ("25181123", "1975-11-23"), ("2518-11-23 00:00:00", "1975-11-23"),
    ("๒๓/๑๑/๒๕๑๘", "1975-11-23"),   # Thai digits: 23/11/2518
    ("29/02/2543", "2000-02-29"),                                           # 2000 is a leap year
    ("11/29/2568", "2025-11-29"),                                           # only month-first makes sense
    ("01/01/2443", "1900-01-01"), ("31/12/2643", "2100-12-31"),             # the window's ends
])
def test_buddhist_era_years_are_read_as_ce(raw, expected):
    result = n.parse_dates(one([raw]))
    assert str(result.values.iloc[0].date()) == expected
    assert (result.invalid.tolist(), result.buddhist.tolist(), result.bad_year.tolist()) == ([False], [True], [False])


@pytest.mark.parametrize("raw, expected", [
    ("23/11/1975", "1975-11-23"), ("2026-11-20", "2026-11-20"), ("01/01/1900", "1900-01-01"),
    ("31/12/2100", "2100-12-31"), ("23/11/75", "1975-11-23"), ("46355", "2026-11-29"),
])
def test_ce_years_are_never_read_as_buddhist_era(raw, expected):
    result = n.parse_dates(one([raw]))
    assert str(result.values.iloc[0].date()) == expected
    assert (result.invalid.tolist(), result.buddhist.tolist()) == ([False], [False])


@pytest.mark.parametrize("raw, bad_year", [
    # a date but for its year: out of range as C.E. (1900-2100) and as B.E. (2443-2643)
    ("23/11/2700", True), ("2442-12-31", True), ("01/01/2644", True), ("01/01/2101", True), ("31/12/1899", True),
    ("23 Nov 2700", True), ("27000101", True), ("23/11/2700 10:00", True),
    # not a date at all
    ("31/02/2518", False), ("00/00/0000", False), ("hello", False), ("2518", False), ("23/11/2518 25:00", False),
])
def test_years_out_of_range_are_invalid_and_said_so(raw, bad_year):
    result = n.parse_dates(one([raw]))
    assert pd.isna(result.values.iloc[0])
    assert (result.invalid.tolist(), result.buddhist.tolist(), result.bad_year.tolist()) == ([True], [False], [bad_year])
    assert n.YEAR_RANGE == "expected 1900-2100, or 2443-2643 in the Buddhist era"


def test_buddhist_era_call_times_to_utc():
    s = one(["19/11/2568 14:30", "2568-11-19T14:30:00", "19 Nov 2568 2:30 PM", "2568-11-19 14:30+07:00",
             "19/11/2025 14:30", None])
    result = n.parse_times(s, "Asia/Bangkok")
    assert as_list(result.values.astype("str").where(result.values.notna())) == ["2025-11-19 07:30:00+00:00"] * 5 + [None]
    assert result.buddhist.tolist() == [True, True, True, True, False, False]
    assert result.invalid.tolist() == [False] * 6


def test_buddhist_era_dates_need_no_python_call_per_value(monkeypatch):
    """The common shapes with B.E. years are read by the vectorised path, as C.E. ones are."""
    s = pd.Series([f"{1 + i % 28:02d}/{1 + i // 28 % 12:02d}/{2493 + i // 336}" for i in range(2000)]
                  + [f"{2493 + i // 336}-{1 + i // 28 % 12:02d}-{1 + i % 28:02d} 08:30" for i in range(2000)])
    calls = []
    monkeypatch.setattr(n, "_parse_datetime_one", lambda *a: calls.append(a))
    result = n.parse_dates(s)
    assert calls == []
    assert result.values.iloc[0] == pd.Timestamp("1950-01-01") and result.values.iloc[2029] == pd.Timestamp("1950-02-02")
    assert result.buddhist.all() and not result.invalid.any()


def test_buddhist_era_fast_path_equals_the_one_by_one_rule():
    values = [f"{d:02d}/{m:02d}/{y}" for y in (1899, 1900, 2026, 2100, 2101, 2442, 2443, 2518, 2543, 2643, 2644, 2700)
              for m in (1, 2, 12, 13) for d in (1, 12, 13, 28, 29, 31)]
    values += [f"{y}-{m:02d}-{d:02d}" for y in (2026, 2442, 2443, 2543, 2644) for m in (2, 11) for d in (28, 29, 30)]
    fast_wall, fast_ok, fast_be = n._fast_numeric_dates(values, True)
    for v, wall, ok, be in zip(values, fast_wall, fast_ok, fast_be):
        one_by_one = n._parse_datetime_one(v, True)
        if ok:  # what the fast path reads, the one-by-one parser reads the same way
            assert one_by_one == (wall, None, be), v
        else:
            assert one_by_one is None, v


# ---- times -------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected_utc", [
    ("29/11/2026 14:30", "2026-11-29 07:30:00+00:00"),           # Sihanoukville is UTC+7
    ("2026-11-29T14:30", "2026-11-29 07:30:00+00:00"),
    ("2026-11-29 14:30:00+07:00", "2026-11-29 07:30:00+00:00"),
    ("2026-11-29 14:30:00+0900", "2026-11-29 05:30:00+00:00"),   # a stated offset wins
    ("2026-11-29T07:30Z", "2026-11-29 07:30:00+00:00"),
    ("2026-11-29 07:30 UTC", "2026-11-29 07:30:00+00:00"),
    ("29 Nov 2026 1430", "2026-11-29 07:30:00+00:00"),
    ("29/11/2026 2:30 PM", "2026-11-29 07:30:00+00:00"),
    ("29/11/2026 14.30", "2026-11-29 07:30:00+00:00"),
    ("29/11/2026", "2026-11-28 17:00:00+00:00"),                 # midnight local
    ("46355.6041666667", "2026-11-29 07:30:00+00:00"),           # Excel serial with time
])
def test_parse_times_to_utc(raw, expected_utc):
    result = n.parse_times(one([raw]), "Asia/Phnom_Penh")
    assert str(result.values.dtype) == "datetime64[us, UTC]"
    assert str(result.values.iloc[0]) == expected_utc
    assert result.invalid.tolist() == [False]


def test_parse_times_zone_per_row_and_invalid():
    s = one(["29/11/2026 14:30", "29/11/2026 14:30", "29/11/2026 25:00", None])
    tz = pd.Series(["Asia/Phnom_Penh", "Asia/Jayapura", "Asia/Bangkok", "Asia/Bangkok"])
    result = n.parse_times(s, tz)
    assert [str(v) if not pd.isna(v) else None for v in result.values] == [
        "2026-11-29 07:30:00+00:00", "2026-11-29 05:30:00+00:00", None, None]
    assert result.invalid.tolist() == [False, False, True, False]


def test_parse_times_monthfirst():
    result = n.parse_times(one(["11/12/2026 08:00"]), "UTC", dayfirst=False)
    assert str(result.values.iloc[0]) == "2026-11-12 08:00:00+00:00"


# ---- IMO and MMSI ------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, imo, valid", [
    ("IMO 9074729", "9074729", True), ("9074729", "9074729", True), ("imo:9074729", "9074729", True),
    ("9074729.0", "9074729", True), ("IMO No. 9074729", "9074729", True),
    ("9074728", "9074728", False),          # bad check digit: kept as sent, never corrected
    ("907472", "907472", False), ("12345678", "12345678", False), ("ABC1234", "ABC1234", False),
    ("N/A", None, None), ("", None, None), (None, None, None), ("0", None, None),
])
def test_imo(raw, imo, valid):
    out = n.imo(one([raw]))
    assert list(out.columns) == ["imo", "imo_valid"]
    assert as_list(out["imo"]) == [imo]
    assert as_list(out["imo_valid"]) == [valid]


@pytest.mark.parametrize("number, ok", [("9074729", True), ("9176187", True), ("9074728", False),
                                        ("907472", False), ("abcdefg", False)])
def test_imo_check_digit(number, ok):
    assert n.imo_check_digit_ok(number) is ok


@pytest.mark.parametrize("raw, digits, valid, country", [
    ("514123456", "514123456", True, "KHM"), ("567 123 456", "567123456", True, "THA"),
    ("525123456.0", "525123456", True, "IDN"), ("MMSI: 533123456", "533123456", True, "MYS"),
    ("51412345", "51412345", False, None),             # 8 digits
    ("111514123", "111514123", False, None),           # MID 111 outside 201-775
    ("800123456", "800123456", False, None),           # MID 800 outside 201-775
    ("217123456", "217123456", False, None),           # 217 not allocated
    ("abc", "abc", False, None), ("", None, None, None), (None, None, None, None),
])
def test_mmsi(raw, digits, valid, country):
    out = n.mmsi(one([raw]))
    assert list(out.columns) == ["mmsi", "mmsi_valid", "mmsi_country"]
    assert as_list(out["mmsi"]) == [digits]
    assert as_list(out["mmsi_valid"]) == [valid]
    assert as_list(out["mmsi_country"]) == [country]


# ---- documents and words -----------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("a 123-456.78/9", "A123456789"), ("  k1234567 ", "K1234567"), ("1234567.0", "1234567"), ("", None),
])
def test_doc_number(raw, expected):
    assert as_list(n.doc_number(one([raw]))) == [expected]


@pytest.mark.parametrize("raw, expected, invalid", [
    ("M", "M", False), ("Male", "M", False), ("male", "M", False), ("F", "F", False),
    ("Female", "F", False), ("W", "F", False), ("nam", "M", False), ("nữ", "F", False),
    ("ชาย", "M", False), ("หญิง", "F", False), ("L", "M", False), ("P", "F", False),
    ("Laki-laki", "M", False), ("Perempuan", "F", False), ("1", "M", False), ("2", "F", False),
    ("X", "X", False), ("robot", "robot", True), (None, None, False),
])
def test_gender(raw, expected, invalid):
    result = n.gender(one([raw]))
    assert as_list(result.values) == [expected]
    assert result.invalid.tolist() == [invalid]


@pytest.mark.parametrize("raw, expected, invalid", [
    ("Crew", "crew", False), ("C", "crew", False), ("crew member", "crew", False),
    ("Master", "crew", False), ("Chief Officer", "crew", False), ("ABK", "crew", False),
    ("2nd Engineer (Motor)", "crew", False), ("Passenger", "passenger", False),
    ("P", "passenger", False), ("pax", "passenger", False), ("Penumpang", "passenger", False),
    ("visitor", "visitor", True),
])
def test_role(raw, expected, invalid):
    result = n.role(one([raw]))
    assert as_list(result.values) == [expected]
    assert result.invalid.tolist() == [invalid]


@pytest.mark.parametrize("raw, expected, invalid", [
    ("A", "arrival", False), ("Arr", "arrival", False), ("Arrival", "arrival", False),
    ("inbound", "arrival", False), ("Kedatangan", "arrival", False), ("D", "departure", False),
    ("Dep", "departure", False), ("outbound", "departure", False), ("Departure", "departure", False),
    ("sideways", "sideways", True),
])
def test_direction(raw, expected, invalid):
    result = n.direction(one([raw]))
    assert as_list(result.values) == [expected]
    assert result.invalid.tolist() == [invalid]


@pytest.mark.parametrize("raw, expected, invalid", [
    ("Y", True, False), ("yes", True, False), ("true", True, False), ("1", True, False),
    ("x", True, False), ("Ya", True, False), ("N", False, False), ("no", False, False),
    ("false", False, False), ("0", False, False), ("tidak", False, False),
    ("maybe", None, True), (None, None, False),
])
def test_boolean(raw, expected, invalid):
    result = n.boolean(one([raw]))
    assert str(result.values.dtype) == "boolean"
    assert as_list(result.values) == [expected]
    assert result.invalid.tolist() == [invalid]


@pytest.mark.parametrize("raw, expected", [
    ("Passport", "passport"), ("PP", "passport"), ("P", "passport"), ("Passport No.", "passport"),
    ("Seaman book", "seaman_book"), ("SIRB", "seaman_book"), ("CDC", "seaman_book"),
    ("Seafarer ID", "seaman_book"), ("Seaman's Book (Indonesia)", "seaman_book"),
    ("ID card", "id_card"), ("National ID", "id_card"), ("KTP", "id_card"),
    ("Travel document", "other"), ("Laissez-passer", "other"),
    ("Library card", "Library card"), ("", None),
])
def test_doc_type(raw, expected):
    assert as_list(n.doc_type(one([raw]))) == [expected]


@pytest.mark.parametrize("raw, expected", [
    ("Fishing vessel", "fishing"), ("Trawler", "fishing"), ("Purse seiner", "fishing"),
    ("Kapal Ikan", "fishing"), ("General cargo", "cargo"), ("Bulk carrier", "cargo"),
    ("Container ship", "cargo"), ("Oil tanker", "tanker"), ("Chemical/Oil Products Tanker", "tanker"),
    ("LPG carrier", "tanker"), ("Passenger ship", "passenger"), ("Ferry", "passenger"),
    ("Ro-Ro passenger", "passenger"), ("Ro-Ro cargo", "cargo"), ("Tug", "other"), ("Yacht", "other"),
    ("30", "fishing"), ("60", "passenger"), ("69", "passenger"), ("70", "cargo"), ("79", "cargo"),
    ("80", "tanker"), ("89", "tanker"), ("52", "other"), ("Submarine", "other"), (None, None),
])
def test_vessel_category(raw, expected):
    assert as_list(n.vessel_category(one([raw]))) == [expected]


# ---- numbers -----------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected, invalid", [
    ("1,234", 1234, False), ("1.234.567", 1234567, False), ("75 GT", 75, False),
    ("12 persons", 12, False), ("12.0", 12, False), ("1 234", 1234, False), ("NIL", 0, False),
    ("N/A", None, False), ("-", None, False), ("12.5", None, True), ("twelve", None, True), ("8.450", 8450, False),
    ("", None, False),
])
def test_to_int(raw, expected, invalid):
    result = n.to_int(one([raw]))
    assert str(result.values.dtype) == "Int64"
    assert as_list(result.values) == [expected]
    assert result.invalid.tolist() == [invalid]


@pytest.mark.parametrize("raw, expected, invalid", [
    ("1,234", 1234.0, False), ("1.234,5", 1234.5, False), ("1,234.5", 1234.5, False),
    ("12,5", 12.5, False), ("0,125", 0.125, False), ("75.5 GT", 75.5, False),
    # a '.' before exactly three digits is a thousands separator too (decimal-comma locales: '8.450' GT)
    ("1.234", 1234.0, False), ("8.450 GT", 8450.0, False), ("0.450", 0.45, False), ("1234.567", 1234.567, False),
    ("8.45", 8.45, False), ("abc", None, True), ("1,23,4", None, True),
])
def test_to_float(raw, expected, invalid):
    result = n.to_float(one([raw]))
    assert str(result.values.dtype) == "Float64"
    assert as_list(result.values) == [expected]
    assert result.invalid.tolist() == [invalid]


# ---- vectorised on unique values ---------------------------------------------------------------

@pytest.mark.parametrize("func, inner, make", [
    # written the uncommon way ('29-Nov-1950'): the common DD/MM/YYYY shape is parsed by Arrow compute
    (n.parse_dates, "_parse_datetime_one",
     lambda i: f"{1 + i % 28:02d}-{['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][i // 28 % 12]}-{1950 + i // 336}"),
    (n.country, "_country_one", lambda i: f"Country {i}"),
    (n.name_key, "_name_key_one", lambda i: f"Nguyễn Văn {i}"),
])
def test_normalisers_work_once_per_unique_value(monkeypatch, func, inner, make):
    uniques = [make(i) for i in range(2000)]
    assert len(set(uniques)) == 2000
    s = pd.Series(uniques * 100)  # 200,000 rows
    calls = []
    original = getattr(n, inner)

    def counting(*args):
        calls.append(args[0])
        return original(*args)

    monkeypatch.setattr(n, inner, counting)
    result = func(s)
    assert len(calls) == 2000
    values = result.values if hasattr(result, "invalid") else result
    assert len(values) == 200_000


def test_common_date_shapes_need_no_python_call_per_value(monkeypatch):
    s = pd.Series([f"{1 + i % 28:02d}/{1 + i // 28 % 12:02d}/{1950 + i // 336}" for i in range(2000)] * 10)
    calls = []
    monkeypatch.setattr(n, "_parse_datetime_one", lambda *a: calls.append(a))
    result = n.parse_dates(s)
    assert calls == []
    assert result.values.iloc[0] == pd.Timestamp("1950-01-01") and result.values.iloc[29] == pd.Timestamp("1950-02-02")
    assert not result.invalid.any()


# ---- whole-column paths agree with the value-by-value rules ------------------------------------

def _column_of_identifiers() -> pd.Series:
    """Plain 7/9-digit numbers (checked all at once) mixed with forms the one-by-one rules read."""
    rng = np.random.default_rng(5)
    plain = ["".join(map(str, rng.integers(0, 10, size=w))) for w in rng.choice([7, 9], size=3000)]
    odd = ["0000000", "000000000", "0", "N/A", "IMO 9074729", "IMO9074729", "9074729.0", "MMSI: 533123456",
           "533 123 456", "123456789.00", "", None, "TBA", "12345678", "1234567890", "\uff11\uff12\uff13\uff14\uff15\uff16\uff17"]
    values = plain + odd * 20
    rng.shuffle(values)
    return pd.Series(values * 2, dtype="object")


def test_imo_column_equals_the_one_by_one_rule() -> None:
    s = _column_of_identifiers()
    out = n.imo(s)
    cleaned = [None if pd.isna(v) else v for v in n.clean_text(s).tolist()]
    expected = [n._imo_one(v) if v is not None else (None, None) for v in cleaned]
    assert list(zip(as_list(out["imo"]), as_list(out["imo_valid"]))) == expected
    assert str(out["imo"].dtype) == "str" and str(out["imo_valid"].dtype) == "boolean"


def test_mmsi_column_equals_the_one_by_one_rule() -> None:
    s = _column_of_identifiers()
    out = n.mmsi(s)
    cleaned = [None if pd.isna(v) else v for v in n.clean_text(s).tolist()]
    expected = [n._mmsi_one(v) if v is not None else (None, None, None) for v in cleaned]
    assert list(zip(as_list(out["mmsi"]), as_list(out["mmsi_valid"]), as_list(out["mmsi_country"]))) == expected


def test_name_key_of_a_long_column_of_repeated_names_equals_each_name_alone() -> None:
    names = ["Nguyễn Văn An", "TAN, Wei Ming", "o'brien  sean", "Siti Nur-Aini", None, "ស៊ុន សុខា"]
    s = pd.Series(names * 3000, dtype="object")
    keys = as_list(n.name_key(s))
    assert keys[:6] == as_list(n.name_key(pd.Series(names, dtype="object")))
    assert keys == keys[:6] * 3000


def test_document_numbers_changed_only_where_they_hold_separators() -> None:
    values = ["vn1234567", "1234567.0", "12.00", "AB-12/3_4", "a\tb", "a\x0cb", "a\x0bb", "straße", "-", " . ", None, ""]
    s = pd.Series(values * 400, dtype="object")
    assert as_list(n.doc_number(s))[:12] == ["VN1234567", "1234567", "12", "AB1234", "AB", "AB", "A\x0bB", "STRA\u1e9eE",
                                             None, None, None, None]


def test_rows_with_bytes_of_a_sliced_array() -> None:
    import pyarrow as pa

    arr = pa.array(["x", "a-b", "é-", "", None, "ab", "c/"], type=pa.large_string()).slice(1)
    assert n._rows_with_bytes(arr, b"-/").tolist() == [True, True, False, False, False, True]


@pytest.mark.parametrize("raw, expected", [
    ("a\x0cb", "a\x0cb"),            # a lone form feed inside ASCII text is left alone
    ("\x0ba b\x0c", "a b"),          # ASCII white space at the ends is trimmed
    ("a  b", "a b"), ("a\r\nb", "a b"), ("a\u2009\u2009b", "a b"), ("\u00a0", None),
])
def test_clean_text_byte_scan_cases(raw, expected):
    assert as_list(n.clean_text(one([raw, "plain", None] * 3000)))[:2] == [expected, "plain"]
