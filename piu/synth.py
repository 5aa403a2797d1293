"""Synthetic vessel-call manifests with planted risk scenarios, for tests, benchmarks and demos.

`generate()` writes what a busy port's shipping agents would send in a month: a fleet of
vessels (≈ one per 8 calls) calling repeatedly, each arrival followed 1–3 days later by a
departure with the same crew, crew and passengers with names from the region, valid IMO
numbers and MMSIs whose MID matches the flag. About `plant_rate` of the calls carry one of the
risk scenarios in `SCENARIOS` (ids as the rules name them); `truth.csv` says which call carries
which, and ordinary calls are built to trigger none of them:

- vessels built within 22 years, flags on no black list of the reference flag lists (so no
  Viet Nam, Togo, Tanzania, Cameroon or Sierra Leone flag), one name/flag/MMSI per IMO number;
- every document valid for at least six months after the last call, every crew member 20 or
  older, every document number unique to one person (a person keeps it across calls);
- declared crew and passengers equal to the listed rows, no passengers on non-passenger
  vessels, persons aboard within the certified capacity where one is given;
- crew embarked at a home port that is never the call's last port; the departure lists every
  crew member of the arrival (sometimes plus one who joined in port).

A call carries a scenario id when the evidence shows on that call, looking at the other calls
before or after it as the history rules do: `identity-change` marks every call of the vessel
(under the old and the new name/flag/MMSI), `document-reused` the calls of both holders of the
number, `crew-missing-on-departure` the departure only. Vessel-level scenarios (`imo-invalid`,
`mmsi-flag-mismatch`, `flag-risk`, `vessel-age`) mark every call of the vessel.

Everything is vectorised with numpy and pyarrow (the Python loops run over vessel types, flags
and planted scenarios, never over persons), so 50,000 calls take seconds. Same seed, same bytes.
Identifiers are unique within one `generate()` call, not across seeds: to simulate a longer
period generate one bigger sample rather than ingesting several seeds into one store.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from piu.errors import InputError, UsageError
from piu.schema import CALL_FIELDS, CALL_REF, PERSON_FIELDS

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pyarrow as pa

# Rule ids of the planted scenarios, as the scoring rules name them (API: never rename silently).
SCENARIOS: tuple[str, ...] = (
    "passengers-on-non-passenger-vessel",
    "overcapacity",
    "minor-in-crew",
    "document-expired",
    "document-missing",
    "duplicate-document",
    "declared-count-mismatch",
    "imo-invalid",
    "mmsi-flag-mismatch",
    "identity-change",
    "flag-risk",
    "vessel-age",
    "document-reused",
    "crew-missing-on-departure",
    "crew-joined-last-port",
)
VESSEL_SCENARIOS = ("imo-invalid", "mmsi-flag-mismatch", "flag-risk", "vessel-age")

MAX_CALLS = 1_000_000
SHAPES = ("flat", "split")
TRUTH_FIELDS: tuple[str, ...] = (
    "vessel_name", "imo", "port", "direction", "call_time", "planted", "call_ref", "call_id",
)

# Last/next ports of call and crew home ports: the region the Sihanoukville PIU sees.
REGION_PORTS: tuple[str, ...] = (
    "KHKOS", "THBKK", "THLCH", "THSGZ", "VNSGN", "VNVUT", "IDJKT", "IDBTM", "MYPKG", "SGSIN",
    "CNSHA", "HKHKG", "PHMNL", "MMRGN",
)

# Maritime Identification Digits per flag (ITU; checked against the reference MID table in tests).
MID_BY_FLAG: dict[str, tuple[int, ...]] = {
    "KHM": (514, 515), "THA": (567,), "IDN": (525,), "VNM": (574,), "MYS": (533,), "MMR": (506,),
    "PHL": (548,), "PAN": (351, 352, 353, 354, 355, 356, 357), "SGP": (563, 564, 565, 566),
    "CHN": (412, 413, 414), "LBR": (636, 637), "MHL": (538,), "TGO": (671,), "TZA": (674, 677),
    "SLE": (667,), "CMR": (613,),
}
# First characters of call signs (ITU series allocated to each flag State).
CALL_SIGN_PREFIX: dict[str, str] = {
    "KHM": "XU", "THA": "HS", "IDN": "PK", "VNM": "XV", "MYS": "9M", "MMR": "XY", "PHL": "DU",
    "PAN": "3E", "SGP": "9V", "CHN": "BQ", "LBR": "A8", "MHL": "V7", "TGO": "5V", "TZA": "5I",
    "SLE": "9L", "CMR": "TJ",
}
FLAGS: tuple[str, ...] = tuple(MID_BY_FLAG)
# Flags planted by `flag-risk` (black-listed by the Paris/Tokyo MoUs); ordinary vessels never use
# these nor any other flag black-listed in some year of the reference lists (VNM, SLE).
RISK_FLAGS: tuple[str, ...] = ("TGO", "TZA", "CMR")

# (vessel_type as agents write it, category, share of the fleet, GT range, crew range)
VESSEL_TYPES: tuple[tuple[str, str, float, int, int, int, int], ...] = (
    ("General cargo", "cargo", 0.17, 2_000, 30_000, 12, 25),
    ("Bulk carrier", "cargo", 0.06, 8_000, 60_000, 16, 22),
    ("Container ship", "cargo", 0.08, 5_000, 50_000, 14, 22),
    ("Oil tanker", "tanker", 0.06, 3_000, 60_000, 14, 22),
    ("Fishing vessel", "fishing", 0.50, 50, 400, 6, 20),
    ("Passenger ferry", "passenger", 0.03, 300, 5_000, 8, 16),
    ("Tug", "other", 0.10, 100, 500, 4, 8),
)
CATEGORIES: tuple[str, ...] = ("cargo", "tanker", "fishing", "passenger", "other")

# Ordinary flags per category with weights.
FLAG_CHOICES: dict[str, tuple[tuple[str, float], ...]] = {
    "cargo": (("PAN", .19), ("SGP", .13), ("LBR", .10), ("MHL", .10), ("THA", .10), ("KHM", .08),
              ("IDN", .08), ("MYS", .07), ("CHN", .08), ("PHL", .04), ("MMR", .03)),
    "fishing": (("KHM", .40), ("THA", .35), ("IDN", .15), ("MYS", .10)),
    "passenger": (("KHM", .45), ("THA", .40), ("MYS", .15)),
    "other": (("KHM", .40), ("THA", .30), ("SGP", .20), ("IDN", .10)),
}
FLAG_CHOICES["tanker"] = FLAG_CHOICES["cargo"]

NATIONALITIES: tuple[str, ...] = ("KHM", "THA", "VNM", "IDN", "MMR", "PHL", "CHN")
# Crew nationality of a vessel by flag; open registries and Malaysia recruit from the region.
CREW_BY_FLAG: dict[str, tuple[tuple[str, float], ...]] = {
    "KHM": (("KHM", 1.0),), "THA": (("THA", 1.0),), "IDN": (("IDN", 1.0),),
    "MYS": (("IDN", .7), ("MMR", .3)), "PHL": (("PHL", 1.0),), "CHN": (("CHN", 1.0),),
    "MMR": (("MMR", 1.0),), "VNM": (("VNM", 1.0),),
}
_OPEN_REGISTRY_CREW = (("PHL", .35), ("CHN", .2), ("MMR", .2), ("VNM", .1), ("IDN", .15))

# Ranks: officers by position on the list, then ratings drawn at random.
OFFICERS: dict[str, tuple[str, ...]] = {
    "cargo": ("Master", "Chief Officer", "Chief Engineer", "Second Officer", "Second Engineer",
              "Third Officer", "Third Engineer", "Bosun", "Cook"),
    "fishing": ("Master", "Engineer", "Cook"),
    "passenger": ("Master", "Chief Officer", "Chief Engineer", "Second Engineer", "Bosun"),
    "other": ("Master", "Chief Engineer"),
}
OFFICERS["tanker"] = OFFICERS["cargo"]
RATINGS: dict[str, tuple[str, ...]] = {
    "cargo": ("AB", "AB", "AB", "OS", "OS", "Oiler", "Oiler", "Wiper", "Messman", "Fitter", "Electrician"),
    "tanker": ("AB", "AB", "OS", "OS", "Oiler", "Pumpman", "Wiper", "Messman", "Fitter"),
    "fishing": ("Fisherman", "Fisherman", "Fisherman", "Deckhand", "Deckhand", "Bosun"),
    "passenger": ("AB", "OS", "Steward", "Oiler", "Cook", "Deckhand"),
    "other": ("AB", "Deckhand", "Oiler"),
}

AGENTS: tuple[str, ...] = (
    "Kampuchea Shipping Agency and Brokers", "Sihanoukville Maritime Services", "Ocean Link Shipping Agency",
    "Mekong Gulf Logistics", "Angkor Marine Agency", "Siam Sea Agency Co. Ltd.", "Songkhla Port Services",
    "Nusantara Bahari Agency", "Straits Shipping Agencies Pte Ltd", "Golden Harbour Agency",
    "Gulf of Thailand Maritime", "Pacific Star Agencies",
)
_NAME_A = ("SEA", "OCEAN", "GOLDEN", "PACIFIC", "ASIAN", "MEKONG", "SIAM", "ANGKOR", "KOTA", "BINTANG",
           "LUCKY", "GREAT", "ROYAL", "EASTERN", "SOUTHERN", "BLUE", "JADE", "SILVER", "SINAR", "HAI",
           "KOH", "ANDAMAN", "JAYA", "MAHA", "PHRA", "SRI", "TAN", "LONG", "NAGA", "BAHARI")
_NAME_B = ("GLORY", "PIONEER", "SPIRIT", "HARMONY", "PEARL", "WIND", "FORTUNE", "DRAGON", "PHOENIX",
           "TRADER", "EXPRESS", "VENTURE", "HOPE", "UNITY", "PRIDE", "DAWN", "BREEZE", "WAVE", "STAR",
           "LOTUS", "LAUT", "MAKMUR", "SAMUDRA", "CHAROEN", "SAKHON", "RONG", "PRASERT", "MERAH", "BAY", "QUEEN")

# Names by nationality: (family names, male given names, female given names, places of birth).
# Myanmar names have no family name: the whole name goes in family_name, given_names is empty.
NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "KHM": (
        ("Sok", "Chan", "Kim", "Heng", "Chea", "Ly", "Meas", "Keo", "Nguon", "Pich", "Prak", "Sam", "Seng",
         "Sin", "Sun", "Touch", "Var", "Yim", "Mao", "Hun", "Lim", "Long", "Ouk", "Phan", "Rath", "Sorn",
         "Tep", "Thach", "Chhim", "Khieu", "Nhem", "Kong", "Pen", "Vann"),
        ("Dara", "Sophal", "Vanna", "Rithy", "Sovann", "Visal", "Sothea", "Kosal", "Makara", "Narith",
         "Piseth", "Rotha", "Samnang", "Veasna", "Vuthy", "Bunthoeun", "Chamroeun", "Dararith", "Kimsan",
         "Mony", "Pheakdey", "Rachana", "Sambath", "Sokhom", "Sopheak", "Thearith", "Vibol", "Borey",
         "Chantha", "Hour", "Kakada", "Nimol"),
        ("Sokha", "Bopha", "Chanthou", "Pisey", "Sreymom", "Phalla", "Sophea", "Sreyleak", "Thida", "Chenda",
         "Kunthea", "Leakhena", "Nary", "Ratana", "Serey", "Sokunthea"),
        ("Preah Sihanouk", "Phnom Penh", "Kampot", "Koh Kong", "Kep", "Takeo", "Battambang", "Kampong Cham",
         "Prey Veng", "Svay Rieng"),
    ),
    "THA": (
        ("Saetang", "Srisuk", "Wongsa", "Boonmee", "Kaewmanee", "Sukprasert", "Thongdee", "Phromma",
         "Intharasuk", "Rattanakorn", "Siriwat", "Chantarasri", "Jaidee", "Kongkaew", "Meesuk", "Nakprasit",
         "Panyawong", "Sangthong", "Somboon", "Tangsiri", "Wattanapong", "Yodsuwan", "Charoenporn",
         "Chaiyasit", "Duangdee", "Khamphuang", "Limthong", "Moonsri", "Phothong", "Ruangrit",
         "Suwannarat", "Thammasak"),
        ("Somchai", "Somsak", "Niran", "Prasert", "Anan", "Boonsong", "Chaiwat", "Kittisak", "Manop",
         "Narong", "Pornchai", "Sakda", "Sombat", "Surachai", "Thanawat", "Wichai", "Chalerm", "Decha",
         "Ekkachai", "Jirayu", "Kriangkrai", "Phairoj", "Rungrot", "Sompong", "Suchart", "Thawatchai",
         "Uthai", "Wirat", "Yuthana", "Apichart", "Banlue", "Chatchai"),
        ("Apinya", "Kanya", "Malee", "Nittaya", "Pimchanok", "Siriporn", "Suda", "Wanida", "Arunee",
         "Busaba", "Duangjai", "Jintana", "Lamai", "Naree", "Ratchanee", "Sunisa"),
        ("Bangkok", "Samut Sakhon", "Songkhla", "Chon Buri", "Rayong", "Trat", "Chanthaburi", "Pattani",
         "Ranong", "Surat Thani"),
    ),
    "VNM": (
        ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ",
         "Ngô", "Dương", "Lý", "Đinh", "Trịnh", "Đào", "Mai", "Lâm", "Tạ", "Tô", "Cao", "Châu", "Lương",
         "Quách", "Thái", "Trương", "Hà", "Kiều", "Lưu"),
        ("Văn Hùng", "Minh Tuấn", "Văn Nam", "Đức Anh", "Quốc Bảo", "Thanh Hải", "Văn Long", "Hữu Phước",
         "Công Danh", "Văn Toàn", "Xuân Trường", "Đình Khoa", "Văn Thắng", "Quang Huy", "Văn Dũng",
         "Hoàng Phúc", "Trọng Nghĩa", "Thành Công", "Văn Sơn", "Tiến Dũng", "Bảo Long", "Văn Lộc",
         "Hữu Tài", "Minh Khôi", "Đức Thịnh", "Văn Hiếu", "Quốc Việt", "Anh Tuấn", "Văn Cường", "Ngọc Sơn",
         "Duy Mạnh", "Văn Phong"),
        ("Thị Lan", "Thị Hoa", "Thị Mai", "Ngọc Ánh", "Minh Châu", "Thị Hằng", "Thị Thu", "Kim Ngân",
         "Thị Hương", "Thu Trang", "Thị Nga", "Phương Thảo", "Thị Tuyết", "Bích Ngọc", "Thị Yến", "Hồng Nhung"),
        ("Hải Phòng", "Cà Mau", "Kiên Giang", "Vũng Tàu", "Thanh Hóa", "Nghệ An", "Quảng Ninh", "Đà Nẵng",
         "Bình Định", "Hồ Chí Minh"),
    ),
    "IDN": (
        ("Siregar", "Simanjuntak", "Nasution", "Harahap", "Lubis", "Situmorang", "Sihombing", "Pangaribuan",
         "Wijaya", "Santoso", "Saputra", "Setiawan", "Hidayat", "Kurniawan", "Pratama", "Gunawan", "Susanto",
         "Wibowo", "Hakim", "Rahman", "Sitompul", "Tambunan", "Purba", "Ginting", "Sembiring", "Manurung",
         "Nainggolan", "Hutapea", "Simatupang", "Tarigan", "Rangkuti", "Suryadi"),
        ("Budi", "Agus", "Joko", "Andi", "Dedi", "Eko", "Hendra", "Rizki", "Fajar", "Slamet", "Bambang",
         "Teguh", "Wahyu", "Yusuf", "Ahmad", "Rudi", "Dwi Cahyo", "Arif", "Imam", "Sugeng", "Supriadi",
         "Taufik", "Iwan", "Hadi", "Adi", "Bayu", "Irfan", "Ridwan", "Sutrisno", "Darmawan",
         "Muhammad Rizal", "Ilham"),
        ("Siti", "Dewi", "Sri Wahyuni", "Rina", "Wati", "Ayu", "Putri", "Fitri", "Lestari", "Nur Aini",
         "Indah", "Ratna", "Yuliana", "Kartika", "Mega", "Novita"),
        ("Jakarta", "Tegal", "Pekalongan", "Cirebon", "Indramayu", "Bitung", "Ambon", "Medan", "Batam",
         "Tanjung Pinang"),
    ),
    "MMR": (
        (),
        ("Aung Ko Ko", "Kyaw Min Htet", "Zaw Win", "Min Thant", "Htet Naing", "Soe Myint", "Win Tun",
         "Thant Zin Oo", "Ko Ko Lwin", "Hlaing Min", "Thein Zaw", "Maung Maung", "Nyi Nyi Aung", "Phyo Wai",
         "Yan Naing Soe", "Zin Min Oo", "Moe Kyaw", "Thura Aung", "Hein Htet", "Kyaw Zin", "Min Min Oo",
         "Aung Myo Min", "Tun Tun", "Zaw Lin Htet", "Myo Win", "Saw Htoo", "Naing Lin", "Than Htike",
         "Kyaw Swar", "Wai Yan", "Pyae Sone", "Htoo Aung"),
        ("Khin Mar", "Su Su", "Hnin Ei", "Mya Mya", "Nwe Nwe", "Thida Win", "Yadanar", "Ei Phyu", "Khin Myat",
         "Su Mon", "Thin Thin", "Aye Aye"),
        ("Yangon", "Mawlamyine", "Dawei", "Myeik", "Kawthaung", "Pathein", "Bago", "Hpa-an"),
    ),
    "PHL": (
        ("Santos", "Reyes", "Cruz", "Bautista", "Ocampo", "Garcia", "Mendoza", "Torres", "Tomas", "Andrada",
         "Castillo", "Flores", "Villanueva", "Ramos", "Castro", "Rivera", "Aquino", "Navarro", "Salazar",
         "Mercado", "Dela Cruz", "Del Rosario", "Gonzales", "Lopez", "Hernandez", "Perez", "Santiago",
         "Pascual", "Domingo", "Soriano", "Valdez", "Manalo"),
        ("Jose", "Juan", "Mark Anthony", "John Paul", "Rodel", "Jericho", "Ariel", "Romeo", "Rolando",
         "Ferdinand", "Joel", "Arnel", "Ronnie", "Jayson", "Christian", "Ramil", "Edwin", "Reynaldo",
         "Danilo", "Noel", "Jomar", "Renato", "Eduardo", "Alvin", "Michael", "Marvin", "Nestor", "Jonathan",
         "Rey", "Carlo", "Dennis", "Rommel"),
        ("Maria Cristina", "Ana Marie", "Rosalie", "Jennifer", "Lorna", "Marites", "Jocelyn", "Grace",
         "Mary Joy", "Rowena", "Analyn", "Kristine", "Liezel", "Michelle", "Charmaine", "Divina"),
        ("Manila", "Cebu City", "Iloilo", "Batangas", "Bacolod", "Davao City", "Tacloban", "Zamboanga"),
    ),
    "CHN": (
        ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun", "Ma",
         "Zhu", "Hu", "Guo", "He", "Gao", "Lin", "Luo", "Zheng", "Liang", "Xie", "Song", "Tang", "Han",
         "Feng", "Deng", "Cao", "Peng", "Zeng", "Xiao"),
        ("Wei", "Jun", "Lei", "Yong", "Jie", "Tao", "Ming", "Chao", "Qiang", "Hao", "Bin", "Gang", "Peng",
         "Hui", "Jian", "Xin", "Bo", "Feng", "Liang", "Yang", "Zhiwei", "Haitao", "Jianguo", "Dong", "Kai",
         "Long", "Ping", "Rui", "Shuai", "Wenjie", "Zhiqiang", "Jianhua"),
        ("Fang", "Jing", "Na", "Min", "Xiuying", "Yan", "Hong", "Ying", "Lan", "Xia", "Li", "Juan",
         "Yuling", "Lihua", "Mei", "Qing"),
        ("Shanghai", "Dalian", "Qingdao", "Ningbo", "Zhoushan", "Fuzhou", "Xiamen", "Guangzhou", "Zhanjiang",
         "Beihai"),
    ),
}
# Passport number layouts: (prefixes, digits); the digits come from a per-person unique number.
PASSPORT_FORMAT: dict[str, tuple[tuple[str, ...], int]] = {
    "KHM": (("N",), 8), "THA": (("AA", "AB", "AC", "AD"), 7), "VNM": (("C", "B"), 7),
    "IDN": (("A", "B", "C", "E"), 7), "MMR": (("M",), 7), "PHL": (("P",), 7), "CHN": (("E",), 8),
}
SEAMAN_BOOK_PREFIX: dict[str, str] = {
    "KHM": "KH", "THA": "TH", "VNM": "VN", "IDN": "ID", "MMR": "MM", "PHL": "PH", "CHN": "CN",
}

_DAY_MIN = 1440
_YEAR = 365.25
_UNIQUE_SPACE = 10_000_000      # document-number digits: unique per person below this many persons
_DOC_STEP = 7_368_787           # coprime with 10**7: a bijection that looks random
_IMO_SPACE = 300_000            # IMO stems 700000-999999
_MMSI_SPACE = 1_000_000


def imo_check_digit(stem: int) -> int:
    """The IMO ship number check digit of a 6-digit stem (weights 7,6,5,4,3,2; last digit of the sum)."""
    digits = [int(d) for d in f"{stem:06d}"]
    return sum(d * w for d, w in zip(digits, (7, 6, 5, 4, 3, 2))) % 10


@dataclass
class Sample:
    """A generated sample in memory: Arrow tables of strings, as the CSV files hold them."""

    calls: "pa.Table"     # call_ref + CALL_FIELDS, one row per call
    persons: "pa.Table"   # call_ref + PERSON_FIELDS, one row per listed person
    truth: "pa.Table"     # TRUTH_FIELDS, one row per call
    planted: int          # number of calls carrying at least one scenario

    def flat(self) -> "pa.Table":
        """The flat shape: one row per person with the call's fields repeated."""
        import pyarrow as pa
        import pyarrow.compute as pc

        index = pc.index_in(self.persons.column(CALL_REF), value_set=self.calls.column(CALL_REF))
        calls = self.calls.take(index)
        columns = [calls.column(f) for f in CALL_FIELDS] + [self.persons.column(f) for f in PERSON_FIELDS]
        return pa.table(columns, names=list(CALL_FIELDS) + list(PERSON_FIELDS))


def _check_args(n_calls: int, start: date, days: int, ports: Sequence[str], plant_rate: float, shape: str) -> list[str]:
    """Validated arguments (upper-case port codes); a UsageError names the bad one."""
    if isinstance(n_calls, bool) or not isinstance(n_calls, int) or not 1 <= n_calls <= MAX_CALLS:
        raise UsageError(f"--calls must be a whole number from 1 to {MAX_CALLS:,}, not {n_calls!r}")
    if not isinstance(days, int) or not 1 <= days <= 3660:
        raise UsageError(f"--days must be from 1 to 3660, not {days!r}")
    if not isinstance(start, date):
        raise UsageError(f"--start must be a date, not {start!r}", hint="use an ISO date like 2026-11-01")
    codes = [str(p).strip().upper() for p in ports if str(p).strip()]
    bad = [p for p in codes if len(p) != 5 or not p.isalnum() or not p[:2].isalpha()]
    if not codes or bad:
        raise UsageError(f"--ports must be UN/LOCODEs like KHKOS,THSGZ (bad: {', '.join(bad) or 'none given'})")
    if not 0.0 <= float(plant_rate) <= 1.0:
        raise UsageError(f"--plant-rate must be between 0 and 1, not {plant_rate!r}")
    if shape not in SHAPES:
        raise UsageError(f"--shape must be one of {', '.join(SHAPES)}, not {shape!r}")
    return list(dict.fromkeys(codes))


def _weighted(rng: "np.random.Generator", pairs: Sequence[tuple[str, float]], size: int) -> "np.ndarray":
    """`size` values drawn from (value, weight) pairs."""
    import numpy as np

    values = np.array([v for v, _ in pairs])
    weights = np.array([w for _, w in pairs], dtype=float)
    return values[rng.choice(len(values), size=size, p=weights / weights.sum())]


def build(n_calls: int, *, seed: int = 0, start: date = date(2026, 11, 1), days: int = 28,
          ports: Sequence[str] = ("KHKOS",), plant_rate: float = 0.03) -> Sample:
    """Generate a sample in memory (see the module docstring); `generate` writes it to files."""
    port_codes = _check_args(n_calls, start, days, ports, plant_rate, "flat")
    return _Builder(n_calls, seed, start, days, port_codes, float(plant_rate)).run()


def generate(n_calls: int, out_dir: Path, *, seed: int = 0, start: date = date(2026, 11, 1), days: int = 28,
             ports: Sequence[str] = ("KHKOS",), plant_rate: float = 0.03, shape: str = "flat") -> dict:
    """Write manifest.csv (or calls.csv + persons.csv) and truth.csv to `out_dir`; return a summary.

    The summary: {'manifest': path, 'truth': path, 'calls': n, 'persons': m, 'planted': k,
    'shape': shape, 'files': [paths]}; with shape='split' 'manifest' is calls.csv and
    'persons_file' is persons.csv.
    """
    _check_args(n_calls, start, days, ports, plant_rate, shape)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the output folder {out} ({exc.strerror or exc})",
                         hint="choose a folder you can write to with --out") from None
    if not out.is_dir() or not os.access(out, os.W_OK):
        raise InputError(f"cannot write to the output folder {out}", hint="choose a folder you can write to with --out")
    sample = build(n_calls, seed=seed, start=start, days=days, ports=ports, plant_rate=plant_rate)
    extra: dict[str, Any] = {}
    if shape == "flat":
        manifest = out / "manifest.csv"
        _write_csv(sample.flat(), manifest)
        files = [manifest]
    else:
        manifest, persons = out / "calls.csv", out / "persons.csv"
        _write_csv(sample.calls, manifest)
        _write_csv(sample.persons, persons)
        files = [manifest, persons]
        extra["persons_file"] = str(persons)
    truth = out / "truth.csv"
    _write_csv(sample.truth, truth)
    return {"manifest": str(manifest), "truth": str(truth), "calls": sample.calls.num_rows,
            "persons": sample.persons.num_rows, "planted": sample.planted, "shape": shape, **extra,
            "files": [str(f) for f in files + [truth]]}


def _write_csv(table: "pa.Table", path: Path) -> None:
    """Write a table of strings as minimal CSV (values never hold delimiters), atomically."""
    import pyarrow.csv as pacsv

    tmp = path.parent / f".{path.name}.{os.getpid()}.tmp"    # same folder: the rename is atomic
    try:
        with open(tmp, "wb") as fh:
            fh.write((",".join(table.column_names) + "\n").encode("utf-8"))
            pacsv.write_csv(table, fh, pacsv.WriteOptions(include_header=False, quoting_style="none",
                                                         batch_size=65_536))
        os.replace(tmp, path)
    except OSError as exc:
        if tmp.exists():
            tmp.unlink()
        raise InputError(f"cannot write {path} ({exc.strerror or exc})",
                         hint="check the free space and permissions of the output folder") from None


class _Builder:
    """One generation run: arrays for vessels, visits, calls, persons and rows."""

    def __init__(self, n_calls: int, seed: int, start: date, days: int, ports: list[str], plant_rate: float) -> None:
        import numpy as np

        self.np = np
        self.rng = np.random.default_rng(seed)
        self.n_calls, self.start, self.days, self.plant_rate = n_calls, start, days, plant_rate
        self.ref = (start - date(1970, 1, 1)).days          # day number of the start date
        # Port codes: call ports first, then the region; indices into self.port_names.
        self.port_names = np.array(list(dict.fromkeys(list(ports) + list(REGION_PORTS))))
        self.call_ports = np.arange(len(ports))
        self.region = np.array([int(np.flatnonzero(self.port_names == p)[0]) for p in REGION_PORTS])

    # -- vessels -------------------------------------------------------------------------------
    def vessels(self) -> None:
        """The fleet: type, tonnage, crew size, build year, flag, capacity, home port, crew nationalities."""
        np, rng = self.np, self.rng
        n_visits = (self.n_calls + 1) // 2
        self.slots = max(1, self.days // 4)     # a visit takes up to 4 days: at most days//4 per vessel
        n_v = min(n_visits, max(1, round(self.n_calls / 8), -(-n_visits // self.slots)))
        self.n_v, self.n_visits = n_v, n_visits
        weights = np.array([t[2] for t in VESSEL_TYPES])
        self.vtype = rng.choice(len(VESSEL_TYPES), size=n_v, p=weights / weights.sum())
        cat_of_type = np.array([CATEGORIES.index(t[1]) for t in VESSEL_TYPES])
        self.cat = cat_of_type[self.vtype]
        lo = np.array([t[3] for t in VESSEL_TYPES])[self.vtype]
        hi = np.array([t[4] for t in VESSEL_TYPES])[self.vtype]
        # Log-uniform tonnage: small ships are more common than big ones.
        self.gt = np.round(np.exp(np.log(lo) + rng.random(n_v) * (np.log(hi) - np.log(lo)))).astype(np.int64)
        self.crew = rng.integers(np.array([t[5] for t in VESSEL_TYPES])[self.vtype],
                                 np.array([t[6] for t in VESSEL_TYPES])[self.vtype] + 1)
        self.year_built = self.start.year - rng.integers(1, 23, size=n_v)
        flags = np.empty(n_v, dtype=object)
        for c, name in enumerate(CATEGORIES):
            mask = self.cat == c
            flags[mask] = _weighted(rng, FLAG_CHOICES[name], int(mask.sum()))
        self.flag = flags.astype("U3")
        # Capacity: ferries always certify persons; half the other vessels state one (with room
        # for a joiner and a couple of extra crew so that ordinary lists never exceed it).
        is_ferry = self.cat == CATEGORIES.index("passenger")
        self.capacity = np.where(rng.random(n_v) < 0.5, self.crew + rng.integers(4, 11, size=n_v), -1)
        self.capacity[is_ferry] = self.crew[is_ferry] + rng.integers(60, 240, size=int(is_ferry.sum()))
        self.home = self.region[rng.integers(len(self.region), size=n_v)]
        self.agent = rng.integers(len(AGENTS), size=n_v)
        # Crew nationalities: a main group by flag, a second group, and how often it appears.
        main = np.empty(n_v, dtype="U3")
        for f in np.unique(self.flag):
            mask = self.flag == f
            main[mask] = _weighted(rng, CREW_BY_FLAG.get(f, _OPEN_REGISTRY_CREW), int(mask.sum()))
        nat_index = {n: i for i, n in enumerate(NATIONALITIES)}
        self.main_nat = _map_codes(np, main, nat_index)
        self.second_nat = rng.integers(len(NATIONALITIES), size=n_v)
        self.mix = np.full(n_v, 0.15)
        thai_fishing = (self.flag == "THA") & (self.cat == CATEGORIES.index("fishing"))
        # Thai fishing boats are largely crewed by Cambodian and Myanmar workers.
        self.second_nat[thai_fishing] = np.where(rng.random(int(thai_fishing.sum())) < 0.5,
                                                 nat_index["KHM"], nat_index["MMR"])
        self.mix[thai_fishing] = 0.55
        self._identities()

    def _identities(self) -> None:
        """Names, IMO numbers, MMSIs and call signs of the fleet plus spare identities for renames."""
        np, rng = self.np, self.rng
        n_v = self.n_v
        spare = n_v // 4 + 16
        total = n_v + spare
        a = np.array(_NAME_A)[rng.integers(len(_NAME_A), size=total)]
        b = np.array(_NAME_B)[rng.integers(len(_NAME_B), size=total)]
        num = rng.integers(1, 40, size=total)
        with_num = rng.random(total) < 0.6
        base = np.char.add(np.char.add(a, " "), b)
        base = np.where(with_num, np.char.add(np.char.add(base, " "), num.astype("U2")), base)
        import pandas as pd
        s = pd.Series(base)
        dup = s.groupby(s).cumcount().to_numpy()
        # A second ship of the same name gets a Roman-style suffix, as registries require.
        suffix = np.where(dup > 0, np.char.add(" ", (dup + 1).astype("U6")), "")
        names = np.char.add(base, suffix)
        clash = pd.Series(names).duplicated().to_numpy()    # rare: "SEA GLORY 2" twice after suffixing
        names = np.where(clash, np.char.add(np.char.add(names, " "), np.arange(total).astype("U7")), names)
        self.id_name = names
        off = int(rng.integers(_IMO_SPACE))
        stem = 700_000 + (np.arange(n_v, dtype=np.int64) * 7919 + off) % _IMO_SPACE
        check = _imo_check(np, stem)
        self.imo = np.char.add(stem.astype("U6"), check.astype("U1"))
        self.id_flag = np.concatenate([self.flag, np.full(spare, "", dtype="U3")])
        moff = int(rng.integers(_MMSI_SPACE))
        self.mmsi_suffix = (np.arange(total, dtype=np.int64) * 7_919 + moff) % _MMSI_SPACE
        self.id_mmsi = np.full(total, "", dtype="U9")
        self.id_callsign = np.full(total, "", dtype="U6")
        self.spare_next = n_v
        self._set_identity_codes(np.arange(n_v))

    def _set_identity_codes(self, ids: "np.ndarray") -> None:
        """MMSI (MID of the identity's flag) and call sign (flag's prefix) for identities `ids`."""
        np, rng = self.np, self.rng
        flags = self.id_flag[ids]
        mids = np.zeros(len(ids), dtype=np.int64)
        prefix = np.empty(len(ids), dtype="U2")
        for f in np.unique(flags):
            mask = flags == f
            mids[mask] = np.array(MID_BY_FLAG[f])[rng.integers(len(MID_BY_FLAG[f]), size=int(mask.sum()))]
            prefix[mask] = CALL_SIGN_PREFIX[f]
        self.id_mmsi[ids] = np.char.add(mids.astype("U3"), np.char.zfill(self.mmsi_suffix[ids].astype("U6"), 6))
        alphabet = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
        code = self.mmsi_suffix[ids] % (36 ** 4)
        chars = [alphabet[(code // 36 ** k) % 36] for k in (3, 2, 1, 0)]
        self.id_callsign[ids] = np.char.add(prefix, np.char.add(np.char.add(chars[0], chars[1]), np.char.add(chars[2], chars[3])))

    # -- visits and calls ----------------------------------------------------------------------
    def visits(self) -> None:
        """Visits (an arrival and, 1-3 days later, a departure) spread over each vessel's slots; the calls."""
        np, rng = self.np, self.rng
        n_v, n_visits, slots = self.n_v, self.n_visits, self.slots
        extra = n_visits - n_v
        vessel = np.arange(n_v)
        if extra:
            picked = rng.choice(n_v * (slots - 1), size=extra, replace=False)
            vessel = np.concatenate([vessel, picked // (slots - 1)])
        order = np.argsort(vessel, kind="stable")
        vessel = vessel[order]
        k = np.bincount(vessel, minlength=n_v)
        first = np.concatenate([[0], np.cumsum(k)[:-1]])
        j = np.arange(n_visits) - first[vessel]
        # Each vessel's window splits into k equal slots; a visit (arrival + up to 3 days) fits in one.
        slot_len = self.days * _DAY_MIN / k[vessel]
        slack = np.maximum(slot_len - 3 * _DAY_MIN, 0)
        arr = np.floor(j * slot_len + rng.random(n_visits) * slack).astype(np.int64)
        dep = arr + rng.integers(_DAY_MIN, 3 * _DAY_MIN + 1, size=n_visits)
        self.v_vessel, self.v_j, self.v_arr, self.v_dep = vessel, j, arr, dep
        self.v_count = k
        self.v_first = first
        self.v_port = self.call_ports[rng.integers(len(self.call_ports), size=n_visits)]
        self.v_last = self._region_port(n_visits, exclude=(self.v_port, self.home[vessel]))
        self.v_next = self._region_port(n_visits, exclude=(self.v_port,))
        has_dep = np.ones(n_visits, dtype=bool)
        if self.n_calls % 2:
            has_dep[int(np.argmax(arr))] = False   # the latest arrival is still in port
        n_dep = int(has_dep.sum())
        dep_visits = np.flatnonzero(has_dep)
        self.arr_call = np.arange(n_visits)
        self.dep_call = np.full(n_visits, -1)
        self.dep_call[dep_visits] = n_visits + np.arange(n_dep)
        self.c_visit = np.concatenate([np.arange(n_visits), dep_visits])
        self.c_dir = np.concatenate([np.zeros(n_visits, dtype=np.int8), np.ones(n_dep, dtype=np.int8)])
        self.c_min = np.concatenate([arr, dep[dep_visits]])
        self.c_vessel = vessel[self.c_visit]
        self.c_ident = self.c_vessel.copy()
        self.c_capacity = self.capacity[self.c_vessel].copy()
        self.c_decl_off = np.zeros(len(self.c_visit), dtype=np.int64)
        self.c_year = self.year_built[self.c_vessel].copy()
        n_calls = len(self.c_visit)
        # Ordinary departures: now and then a crew member joins in port.
        self.c_joiner = (self.c_dir == 1) & (rng.random(n_calls) < 0.15)
        crew_here = self.crew[self.c_vessel] + self.c_joiner
        ferry = self.cat[self.c_vessel] == CATEGORIES.index("passenger")
        room = np.maximum(self.c_capacity - crew_here - 3, 0)
        self.c_pax = np.where(ferry, np.floor(room * rng.uniform(0.2, 0.75, size=n_calls)), 0).astype(np.int64)
        self.c_migrants = np.zeros(n_calls, dtype=bool)

    def _region_port(self, n: int, exclude: tuple) -> "np.ndarray":
        """Region port indices avoiding the given per-row port indices."""
        np = self.np
        pick = self.rng.integers(len(self.region), size=n)
        for _ in range(len(exclude) + 1):
            bad = np.zeros(n, dtype=bool)
            for e in exclude:
                bad |= self.region[pick] == e
            if not bad.any():
                break
            pick[bad] = (pick[bad] + 1) % len(self.region)
        return self.region[pick]

    # -- planted scenarios ---------------------------------------------------------------------
    def plant(self) -> None:
        """Choose visits/vessels for the scenarios until about plant_rate of the calls carry one."""
        np, rng = self.np, self.rng
        self.planted: dict[int, list[str]] = {}
        self.minors: list[tuple[int, int]] = []          # (visit, how many)
        self.expired: list[tuple[int, "np.ndarray"]] = []
        self.missing: list[tuple[int, "np.ndarray"]] = []
        self.dups: list[int] = []                         # call
        self.reused: list[tuple[int, int]] = []           # (earlier visit, later visit)
        self.dropped: list[tuple[int, "np.ndarray"]] = []  # (departure call, roster positions)
        self.joined: list[tuple[int, "np.ndarray"]] = []  # (visit, roster positions)
        budget = round(self.plant_rate * self.n_calls)
        if budget == 0:
            return
        used_visit = np.zeros(self.n_visits, dtype=bool)
        used_vessel = np.zeros(self.n_v, dtype=bool)     # vessel reserved by a vessel-level scenario
        visit_order = rng.permutation(self.n_visits)
        vessel_order = rng.permutation(self.n_v)
        pointer = dict.fromkeys(SCENARIOS, 0)
        exhausted: set[str] = set()
        cat = self.cat
        fishing, ferry = CATEGORIES.index("fishing"), CATEGORIES.index("passenger")
        cargoish = (CATEGORIES.index("cargo"), fishing)

        def next_visit(sid: str, ok: Callable[[int], bool]) -> int | None:
            while pointer[sid] < self.n_visits:
                v = int(visit_order[pointer[sid]])
                pointer[sid] += 1
                if not used_visit[v] and not used_vessel[self.v_vessel[v]] and ok(v):
                    return v
            return None

        def next_vessel(sid: str, ok: Callable[[int], bool]) -> int | None:
            while pointer[sid] < self.n_v:
                s = int(vessel_order[pointer[sid]])
                pointer[sid] += 1
                visits = self._visits_of(s)
                if not used_vessel[s] and not used_visit[visits].any() and ok(s):
                    return s
            return None

        def mark(calls: list[int], sid: str) -> int:
            new = sum(1 for c in calls if c not in self.planted)
            for c in calls:
                self.planted.setdefault(int(c), []).append(sid)
            return new

        count = 0
        per_sid = dict.fromkeys(SCENARIOS, 0)
        while count < budget and len(exhausted) < len(SCENARIOS):
            # Balance by calls: the scenario with the fewest planted calls takes the next unit
            # (a vessel-level unit is all the vessel's calls, a visit-level unit one or two).
            sid = min((s for s in SCENARIOS if s not in exhausted), key=lambda s: (per_sid[s], SCENARIOS.index(s)))
            if sid == "identity-change" and self.spare_next >= len(self.id_name):
                exhausted.add(sid)      # no spare identity left (only with very high plant rates)
                continue
            if sid in VESSEL_SCENARIOS or sid == "identity-change":
                need_two = sid == "identity-change"
                s = next_vessel(sid, lambda s: self.v_count[s] >= 2 if need_two else True)
                if s is None:
                    exhausted.add(sid)
                    continue
                used_vessel[s] = True
                visits = self._visits_of(s)
                used_visit[visits] = True
                added = mark(self._plant_vessel(sid, s, visits), sid)
                count += added
                per_sid[sid] += added
                continue
            if sid == "passengers-on-non-passenger-vessel":
                v = next_visit(sid, lambda v: cat[self.v_vessel[v]] in cargoish)
            elif sid == "overcapacity":
                v = next_visit(sid, lambda v: cat[self.v_vessel[v]] == ferry)
            elif sid == "minor-in-crew":
                v = next_visit(sid, lambda v: cat[self.v_vessel[v]] == fishing)
            elif sid == "crew-missing-on-departure":
                v = next_visit(sid, lambda v: self.dep_call[v] >= 0 and self.crew[self.v_vessel[v]] >= 4)
            elif sid == "document-expired":
                v = next_visit(sid, lambda v: self.crew[self.v_vessel[v]] >= 3)
            else:
                v = next_visit(sid, lambda v: True)
            if v is None:
                exhausted.add(sid)
                continue
            calls = self._plant_visit(sid, v, used_visit, used_vessel)
            if calls is None:
                continue
            used_visit[v] = True
            added = mark(calls, sid)
            count += added
            per_sid[sid] += added
        self.planted_count = len(self.planted)

    def _visits_of(self, vessel: int) -> "np.ndarray":
        """Indices of a vessel's visits, in time order."""
        return self.np.arange(self.v_first[vessel], self.v_first[vessel] + self.v_count[vessel])

    def _plant_vessel(self, sid: str, s: int, visits: "np.ndarray") -> list[int]:
        """Apply a vessel-level scenario (or identity-change); the calls that carry it."""
        np, rng = self.np, self.rng
        calls = [int(c) for v in visits for c in (self.arr_call[v], self.dep_call[v]) if c >= 0]
        if sid == "imo-invalid":
            stem, check = self.imo[s][:6], int(self.imo[s][6])
            self.imo[s] = stem + str((check + int(rng.integers(1, 10))) % 10)
        elif sid == "mmsi-flag-mismatch":
            others = [f for f in FLAGS if f != self.id_flag[s] and f not in RISK_FLAGS]
            other = others[int(rng.integers(len(others)))]
            mid = MID_BY_FLAG[other][int(rng.integers(len(MID_BY_FLAG[other])))]
            self.id_mmsi[s] = f"{mid}{self.id_mmsi[s][3:]}"
        elif sid == "flag-risk":
            self.id_flag[s] = RISK_FLAGS[int(rng.integers(len(RISK_FLAGS)))]
            self.flag[s] = self.id_flag[s]
            self._set_identity_codes(np.array([s]))
        elif sid == "vessel-age":
            self.c_year[calls] = self.start.year - int(rng.integers(27, 46))
        elif sid == "identity-change":
            change = int(rng.integers(1, len(visits)))   # first visit under the new identity
            new = self.spare_next
            self.spare_next += 1
            options = [f for f, _ in FLAG_CHOICES[CATEGORIES[self.cat[s]]] if f != self.id_flag[s]]
            self.id_flag[new] = options[int(rng.integers(len(options)))]
            self._set_identity_codes(np.array([new]))
            renamed = [int(c) for v in visits[change:] for c in (self.arr_call[v], self.dep_call[v]) if c >= 0]
            self.c_ident[renamed] = new
        return calls

    def _plant_visit(self, sid: str, v: int, used_visit: "np.ndarray", used_vessel: "np.ndarray") -> list[int] | None:
        """Apply a visit-level scenario to visit `v`; the calls that carry it (None: not possible)."""
        np, rng = self.np, self.rng
        s = int(self.v_vessel[v])
        crew = int(self.crew[s])
        all_calls = [int(c) for c in (self.arr_call[v], self.dep_call[v]) if c >= 0]
        if sid == "passengers-on-non-passenger-vessel":
            c = all_calls[int(rng.integers(len(all_calls)))]
            self.c_pax[c] = int(rng.integers(15, 61))
            self.c_migrants[c] = True
            self.c_capacity[c] = -1     # no certificate stated: the call must not also read as overcapacity
            return [c]
        if sid == "overcapacity":
            c = all_calls[int(rng.integers(len(all_calls)))]
            aboard_crew = crew + int(self.c_joiner[c])
            self.c_pax[c] = max(int(self.c_capacity[c]) - aboard_crew + int(rng.integers(5, 41)), 1)
            return [c]
        if sid == "minor-in-crew":
            self.minors.append((v, int(rng.integers(1, 3))))
            return all_calls
        if sid == "document-expired":
            k = int(rng.integers(3, min(5, crew) + 1))
            self.expired.append((v, rng.choice(crew, size=k, replace=False)))
            return all_calls
        if sid == "document-missing":
            k = int(rng.integers(1, min(3, crew) + 1))
            self.missing.append((v, rng.choice(crew, size=k, replace=False)))
            return all_calls
        if sid == "duplicate-document":
            c = all_calls[-1]       # two persons sharing one number, on the last list only
            self.dups.append(c)
            return [c]
        if sid == "declared-count-mismatch":
            c = all_calls[int(rng.integers(len(all_calls)))]
            off = int(rng.integers(1, 4))
            self.c_decl_off[c] = off if rng.random() < 0.5 or crew <= 4 else -off
            return [c]
        if sid == "crew-missing-on-departure":
            k = int(rng.integers(1, min(3, crew - 2) + 1))
            self.dropped.append((int(self.dep_call[v]), 1 + rng.choice(crew - 1, size=k, replace=False)))
            return [int(self.dep_call[v])]
        if sid == "crew-joined-last-port":
            k = max(math.ceil(0.6 * crew), 1)
            self.joined.append((v, rng.choice(crew, size=k, replace=False)))
            return all_calls
        if sid == "document-reused":
            # The first holder sails on an earlier, otherwise ordinary visit of another vessel that
            # is over before this visit starts.
            ends = np.where(self.dep_call >= 0, self.v_dep, self.v_arr)
            ok = (ends < self.v_arr[v]) & ~used_visit & ~used_vessel[self.v_vessel] & (self.v_vessel != s)
            candidates = np.flatnonzero(ok)
            if len(candidates) == 0:
                return None
            a = int(candidates[int(rng.integers(len(candidates)))])
            used_visit[a] = True
            self.reused.append((a, v))
            return all_calls + self._visit_calls(a)
        raise AssertionError(sid)  # pragma: no cover

    # -- persons and rows ----------------------------------------------------------------------
    def persons(self) -> None:
        """The person pool (roster crew, then everyone added to particular calls) and list rows."""
        np, rng = self.np, self.rng
        seg: list[dict[str, Any]] = []     # person segments
        rows: list[tuple] = []             # (call, person, role 0/1, order)
        n_calls = len(self.c_visit)

        # Roster: each vessel's crew sails on all its calls; positions 0.. give the ranks.
        roster_off = np.concatenate([[0], np.cumsum(self.crew)[:-1]])
        r_vessel = np.repeat(np.arange(self.n_v), self.crew)
        r_pos = np.arange(len(r_vessel)) - roster_off[r_vessel]
        n_r = len(r_vessel)
        seg.append(self._people(
            nat=self._crew_nat(r_vessel), crew=True, vessel=r_vessel, pos=r_pos,
            dob=self.ref - rng.integers(int(20 * _YEAR) + 10, int(62 * _YEAR), size=n_r),
            embark=self.home[r_vessel]))
        next_person = n_r

        # Roster rows of every call, without the crew a planted departure leaves behind.
        per_call = self.crew[self.c_vessel]
        call_rep = np.repeat(np.arange(n_calls), per_call)
        pos = np.arange(len(call_rep)) - np.repeat(np.cumsum(per_call) - per_call, per_call)
        keep = np.ones(len(call_rep), dtype=bool)
        if self.dropped:
            drop_keys = np.concatenate([c * 1000 + p for c, p in self.dropped])
            keep = ~np.isin(call_rep * 1000 + pos, drop_keys)
        person = roster_off[self.c_vessel][call_rep] + pos
        rows.append((call_rep[keep], person[keep], 0, pos[keep]))

        def add(people: dict[str, Any], calls_per_person: list[list[int]] | "np.ndarray", order: int) -> "np.ndarray":
            nonlocal next_person
            n = len(people["nat"])
            ids = np.arange(next_person, next_person + n)
            next_person += n
            seg.append(people)
            if isinstance(calls_per_person, np.ndarray):
                rows.append((calls_per_person, ids, 0, np.full(n, order)))
            else:
                cs = np.array([c for cl in calls_per_person for c in cl], dtype=np.int64)
                ps = np.repeat(ids, [len(cl) for cl in calls_per_person])
                rows.append((cs, ps, 0, np.full(len(cs), order)))
            return ids

        # Joiners on ordinary departures: embarked here.
        jc = np.flatnonzero(self.c_joiner)
        js = self.c_vessel[jc]
        if len(jc):
            add(self._people(nat=self._crew_nat(js), crew=True, vessel=js, pos=np.full(len(jc), 99),
                             dob=self.ref - rng.integers(int(20 * _YEAR) + 10, int(55 * _YEAR), size=len(jc)),
                             embark=self.v_port[self.c_visit[jc]]), jc, 1000)
        # Minors on fishing vessels: 14-15 years old on every call of the visit.
        if self.minors:
            mv = np.repeat([v for v, _ in self.minors], [k for _, k in self.minors])
            ms = self.v_vessel[mv]
            add(self._people(nat=self._crew_nat(ms), crew=True, vessel=ms, pos=np.full(len(mv), 98),
                             dob=self.ref + (self.v_arr[mv] // _DAY_MIN) - rng.integers(5114, 5834, size=len(mv)),
                             embark=self.home[ms], female=np.zeros(len(mv), dtype=bool)),
                [self._visit_calls(v) for v in mv], 900)
        # Duplicate documents: two fresh crew on one list sharing one number.
        dup_pairs: list[tuple[int, int]] = []
        if self.dups:
            dc = np.repeat(np.array(self.dups), 2)
            ds = self.c_vessel[dc]
            nat = np.repeat(self.main_nat[self.c_vessel[np.array(self.dups)]], 2)
            here = np.where(self.c_dir[dc] == 1, self.v_port[self.c_visit[dc]], self.home[ds])
            ids = add(self._people(nat=nat, crew=True, vessel=ds, pos=np.full(len(dc), 99),
                                   dob=self.ref - rng.integers(int(20 * _YEAR) + 10, int(50 * _YEAR), size=len(dc)),
                                   embark=here, passport=True), dc, 1001)
            dup_pairs = [(int(ids[i]), int(ids[i + 1])) for i in range(0, len(ids), 2)]
        # Document reuse: holder X on an earlier visit, holder Y (same nationality) on the later one.
        reuse_pairs: list[tuple[int, int]] = []
        if self.reused:
            va = np.array([a for a, _ in self.reused])
            vb = np.array([b for _, b in self.reused])
            nat = self.main_nat[self.v_vessel[va]]
            both_v = np.concatenate([va, vb])
            both_s = self.v_vessel[both_v]
            ids = add(self._people(nat=np.concatenate([nat, nat]), crew=True, vessel=both_s,
                                   pos=np.full(len(both_v), 99),
                                   dob=self.ref - rng.integers(int(20 * _YEAR) + 10, int(50 * _YEAR), size=len(both_v)),
                                   embark=self.home[both_s], passport=True),
                      [self._visit_calls(v) for v in both_v], 1100)
            reuse_pairs = [(int(ids[i]), int(ids[i + len(va)])) for i in range(len(va))]
        # Passengers: ferry travellers on ordinary calls, migrants on planted non-passenger calls.
        pc_ = np.flatnonzero(self.c_pax > 0)
        if len(pc_):
            counts = self.c_pax[pc_]
            pcall = np.repeat(pc_, counts)
            n_p = len(pcall)
            migrant = self.c_migrants[pcall]
            groups = np.where(rng.random(n_p) < 0.5, self.main_nat[self.c_vessel[pcall]],
                              rng.integers(len(NATIONALITIES), size=n_p))
            # Migrants on one boat mostly share a nationality (KHM, MMR, VNM or CHN).
            mig_nat = np.array([0, 4, 2, 6])[(pcall * 7 + rng.integers(0, 2, size=n_p)) % 4]
            nat = np.where(migrant, mig_nat, groups)
            child = ~migrant & (rng.random(n_p) < 0.08)
            age_days = np.where(child, rng.integers(2 * 365, 15 * 365, size=n_p),
                                rng.integers(int(18 * _YEAR) + 10, 75 * 365, size=n_p))
            age_days = np.where(migrant, rng.integers(int(18 * _YEAR) + 10, 45 * 365, size=n_p), age_days)
            visit = self.c_visit[pcall]
            arriving = self.c_dir[pcall] == 0
            embark = np.where(arriving, self.v_last[visit], self.v_port[visit])
            disembark = np.where(arriving, self.v_port[visit], self.v_next[visit])
            people = self._people(nat=nat, crew=False, vessel=self.c_vessel[pcall], pos=np.zeros(n_p, dtype=np.int64),
                                  dob=self.ref - age_days, embark=embark, disembark=disembark,
                                  female=rng.random(n_p) < np.where(migrant, 0.2, 0.5))
            ids = np.arange(next_person, next_person + n_p)
            next_person += n_p
            seg.append(people)
            order = np.arange(n_p) - np.repeat(np.cumsum(counts) - counts, counts)
            rows.append((pcall, ids, 1, order))

        pool = {k: np.concatenate([s[k] for s in seg]) for k in seg[0]}
        self.pool, self.n_persons = pool, next_person
        r_call = np.concatenate([r[0] for r in rows])
        r_person = np.concatenate([r[1] for r in rows])
        r_role = np.concatenate([np.full(len(r[0]), r[2], dtype=np.int8) for r in rows])
        r_order = np.concatenate([r[3] for r in rows])
        self.rows = (r_call, r_person, r_role, r_order)
        self.dup_pairs, self.reuse_pairs = dup_pairs, reuse_pairs
        self.roster_off = roster_off
        self.n_roster = n_r

    def _visit_calls(self, v: int) -> list[int]:
        """The arrival and (when there is one) the departure call of visit `v`."""
        return [int(c) for c in (self.arr_call[v], self.dep_call[v]) if c >= 0]

    def _crew_nat(self, vessel: "np.ndarray") -> "np.ndarray":
        """Nationality codes of new crew members of the given vessels."""
        np = self.np
        return np.where(self.rng.random(len(vessel)) < self.mix[vessel], self.second_nat[vessel], self.main_nat[vessel])

    def _people(self, *, nat: "np.ndarray", crew: bool, vessel: "np.ndarray", pos: "np.ndarray", dob: "np.ndarray",
                embark: "np.ndarray", disembark: "np.ndarray | None" = None, female: "np.ndarray | None" = None,
                passport: bool = False) -> dict[str, Any]:
        """Attributes of new persons as arrays (names and documents are drawn here)."""
        np, rng = self.np, self.rng
        n = len(nat)
        if female is None:
            female = rng.random(n) < (0.03 if crew else 0.5)
        if passport or not crew:
            doc_kind = np.zeros(n, dtype=np.int8)
        else:
            doc_kind = (rng.random(n) < 0.35).astype(np.int8)     # 1: seaman's book
        return {
            "nat": np.asarray(nat, dtype=np.int64), "role": np.full(n, 0 if crew else 1, dtype=np.int8),
            "vessel": np.asarray(vessel), "pos": np.asarray(pos), "dob": np.asarray(dob, dtype=np.int64),
            "female": np.asarray(female, dtype=bool), "embark": np.asarray(embark, dtype=np.int64),
            "disembark": np.full(n, -1, dtype=np.int64) if disembark is None else np.asarray(disembark, dtype=np.int64),
            "doc_kind": doc_kind, "r1": rng.random(n), "r2": rng.random(n), "r3": rng.random(n),
            "expiry": self.ref + self.days + 3 + rng.integers(183, 3650, size=n),
        }

    # -- tables --------------------------------------------------------------------------------
    def tables(self) -> Sample:
        """Arrow tables of strings: calls in time order, persons grouped by call, truth."""
        import pyarrow as pa
        import pyarrow.compute as pc

        np = self.np
        r_call, r_person, r_role, r_order = self.rows
        p = self.pool
        n_calls = len(self.c_visit)

        # Calls in time order; rows grouped by call, crew (Master first) then passengers.
        call_rank = np.empty(n_calls, dtype=np.int64)
        order = np.lexsort((self.c_dir, self.c_vessel, self.c_min))
        call_rank[order] = np.arange(n_calls)
        row_order = np.lexsort((r_order, r_role, call_rank[r_call]))
        r_call, r_person, r_role = r_call[row_order], r_person[row_order], r_role[row_order]

        crew_n = np.bincount(r_call, weights=(r_role == 0), minlength=n_calls).astype(np.int64)
        pax_n = np.bincount(r_call, weights=(r_role == 1), minlength=n_calls).astype(np.int64)
        decl_crew = crew_n + self.c_decl_off

        # ---- person columns (per pool person, then taken per row) ----
        nat_codes = np.array(NATIONALITIES)
        nat = p["nat"]
        fam, giv, place = (np.empty(len(nat), dtype=object) for _ in range(3))
        for g, code in enumerate(NATIONALITIES):
            mask = nat == g
            if not mask.any():
                continue
            families, males, females, places = (np.array(x, dtype=object) for x in NAMES[code])
            fem = p["female"][mask]
            m_idx = (p["r1"][mask] * len(males)).astype(np.int64)
            f_idx = (p["r1"][mask] * len(females)).astype(np.int64)
            given = np.where(fem, females[f_idx], males[m_idx])
            if len(families):
                fam[mask] = families[(p["r2"][mask] * len(families)).astype(np.int64)]
                giv[mask] = given
            else:   # Myanmar: one name, written in the family-name column
                fam[mask] = given
                giv[mask] = ""
            place[mask] = places[(p["r3"][mask] * len(places)).astype(np.int64)]
        doc_number = self._doc_numbers(nat_codes[nat], p["doc_kind"], p["r3"])
        for a, b in self.dup_pairs + self.reuse_pairs:
            doc_number[b] = doc_number[a]
        # Y of a reused document is another person of the same nationality: make the name differ.
        for a, b in self.reuse_pairs:
            if fam[a] == fam[b] and giv[a] == giv[b]:
                families, males = NAMES[nat_codes[nat[b]]][:2]
                if families:
                    fam[b] = families[(families.index(fam[b]) + 1) % len(families)]
                else:
                    fam[b] = males[(males.index(fam[b]) + 1) % len(males)] if fam[b] in males else males[0]
        rank = self._ranks(p)
        visa = np.where((p["role"] == 1) & (p["r2"] < 0.2),
                        np.char.add("V", np.char.zfill(((p["r1"] * 1e8).astype(np.int64)).astype("U8"), 8)), "")
        doc_type = np.where(p["doc_kind"] == 1, "Seaman's book", "Passport")

        def col(values: Any) -> "pa.Array":
            return pa.array(values, type=pa.string()).take(pa.array(r_person))

        ports = self.port_names
        embark = col(np.where(p["embark"] >= 0, ports[np.maximum(p["embark"], 0)], ""))
        disembark = col(np.where(p["disembark"] >= 0, ports[np.maximum(p["disembark"], 0)], ""))
        expiry_days = p["expiry"][r_person].copy()
        blank_doc = np.zeros(len(r_person), dtype=bool)
        key = r_call.astype(np.int64) * 1000 + (r_person - self.roster_off[self.c_vessel[r_call]])
        roster_row = r_person < self.n_roster

        def roster_rows(visit_pos: list[tuple[int, "np.ndarray"]]) -> "np.ndarray":
            """Rows of the given roster positions on every call of the given visits."""
            keys = [c * 1000 + np.asarray(positions) for v, positions in visit_pos for c in self._visit_calls(v)]
            return roster_row & np.isin(key, np.concatenate(keys))

        if self.expired:
            hit = roster_rows(self.expired)
            arrival_day = self.ref + self.v_arr[self.c_visit[r_call]] // _DAY_MIN
            expiry_days = np.where(hit, arrival_day - 1 - (p["r2"][r_person] * 700).astype(np.int64), expiry_days)
        if self.missing:
            blank_doc = roster_rows(self.missing)
        embark_arr = embark
        if self.joined:
            hit = roster_rows(self.joined)
            last = pa.array(ports[self.v_last[self.c_visit[r_call]]], type=pa.string())
            embark_arr = pc.if_else(pa.array(hit), last, embark)
        blank = pa.array(blank_doc)
        empty = pa.scalar("", pa.string())
        expiry = _dates(pa, pc, np, expiry_days)
        persons_cols = {
            "role": pa.array(np.array(["crew", "passenger"])[r_role], type=pa.string()),
            "family_name": col(fam), "given_names": col(giv), "rank": col(rank),
            "nationality": col(nat_codes[nat]),
            "date_of_birth": _dates(pa, pc, np, p["dob"]).take(pa.array(r_person)),
            "place_of_birth": col(place), "gender": col(np.where(p["female"], "F", "M")),
            "doc_type": pc.if_else(blank, empty, col(doc_type)),
            "doc_number": pc.if_else(blank, empty, col(doc_number)),
            "doc_issuer": pc.if_else(blank, empty, col(nat_codes[nat])),
            "doc_expiry": pc.if_else(blank, empty, expiry),
            "embark_port": embark_arr, "disembark_port": disembark,
            "transit": col(np.where(p["role"] == 1, "N", "")),
            "visa_number": col(visa),
        }

        # ---- call columns (per call, in time order) ----
        ident = self.c_ident
        vt = self.vtype[self.c_vessel]
        call_time = pc.strftime(pa.array(((self.ref * _DAY_MIN + self.c_min) * 60).astype(np.int64),
                                         type=pa.timestamp("s")), format="%d/%m/%Y %H:%M")
        imo = self.imo[self.c_vessel]
        port = ports[self.v_port[self.c_visit]]
        calls_cols = {
            "port": port, "direction": np.array(["arrival", "departure"])[self.c_dir],
            "call_time": call_time, "vessel_name": self.id_name[ident], "imo": imo,
            "mmsi": self.id_mmsi[ident], "call_sign": self.id_callsign[ident], "flag": self.id_flag[ident],
            "vessel_type": np.array([t[0] for t in VESSEL_TYPES])[vt],
            "gross_tonnage": self.gt[self.c_vessel].astype("U7"), "year_built": self.c_year.astype("U4"),
            "capacity": np.where(self.c_capacity >= 0, self.c_capacity.astype("U6"), ""),
            "last_port": ports[self.v_last[self.c_visit]], "next_port": ports[self.v_next[self.c_visit]],
            "declared_crew": decl_crew.astype("U6"), "declared_passengers": pax_n.astype("U6"),
            "agent": np.array(AGENTS)[self.agent[self.c_vessel]],
        }
        refs = np.char.add("C", np.char.zfill((call_rank + 1).astype("U7"), 7))
        take = pa.array(order)
        calls = pa.table({CALL_REF: pa.array(refs, type=pa.string()).take(take),
                          **{k: _as_str(pa, v).take(take) for k, v in calls_cols.items()}})
        persons = pa.table({CALL_REF: pa.array(refs, type=pa.string()).take(pa.array(r_call)), **persons_cols})

        planted = np.full(n_calls, "", dtype=object)
        for c, ids in self.planted.items():
            planted[c] = ";".join(sorted(set(ids), key=SCENARIOS.index))
        date_key = pc.strftime(pa.array(((self.ref * _DAY_MIN + self.c_min) * 60).astype(np.int64),
                                        type=pa.timestamp("s")), format="%Y%m%d").to_numpy(zero_copy_only=False)
        # call_id as the store derives it (architecture.md): port-YYYYMMDD(local)-A|D-vessel key,
        # the key being the IMO number when its check digit holds, else the MMSI.
        imo_num = imo.astype(np.int64)
        imo_ok = _imo_check(np, imo_num // 10) == imo_num % 10
        vkey = np.where(imo_ok, imo, self.id_mmsi[ident])
        call_id = np.char.add(np.char.add(np.char.add(port.astype("U5"), "-"), date_key.astype("U8")),
                              np.char.add(np.where(self.c_dir == 0, "-A-", "-D-"), vkey))
        truth = pa.table({
            "vessel_name": calls.column("vessel_name"), "imo": calls.column("imo"), "port": calls.column("port"),
            "direction": calls.column("direction"), "call_time": calls.column("call_time"),
            "planted": pa.array(planted, type=pa.string()).take(take), "call_ref": calls.column(CALL_REF),
            "call_id": pa.array(call_id, type=pa.string()).take(take),
        })
        return Sample(calls=calls, persons=persons, truth=truth, planted=len(self.planted))

    def _doc_numbers(self, nat: "np.ndarray", kind: "np.ndarray", r: "np.ndarray") -> "np.ndarray":
        """Document numbers in each nationality's layout, unique per person of the pool."""
        np = self.np
        n = len(nat)
        if n > _UNIQUE_SPACE:  # pragma: no cover - MAX_CALLS keeps the pool far below this
            raise UsageError("too many persons for unique document numbers", hint="generate fewer calls")
        u = (np.arange(n, dtype=np.int64) * _DOC_STEP + int(self.rng.integers(_UNIQUE_SPACE))) % _UNIQUE_SPACE
        out = np.empty(n, dtype=object)
        seven = np.char.zfill(u.astype("U7"), 7)
        eight = np.char.zfill(u.astype("U8"), 8)
        for code, (prefixes, width) in PASSPORT_FORMAT.items():
            mask = (nat == code) & (kind == 0)
            if not mask.any():
                continue
            pre = np.array(prefixes)[(r[mask] * len(prefixes)).astype(np.int64)]
            if code == "MMR":   # MA123456: the second letter carries the millions so numbers stay unique
                pre = np.char.add("M", np.array(list("ABCDEFGHJK"))[u[mask] // 1_000_000])
                digits = np.char.zfill((u[mask] % 1_000_000).astype("U6"), 6)
            else:
                digits = (eight if width == 8 else seven)[mask]
            value = np.char.add(pre, digits)
            if code == "PHL":   # P1234567A
                value = np.char.add(value, np.array(list("ABCDEFGHJKLMNPRSTUVWXYZ"))[(r[mask] * 23).astype(np.int64)])
            out[mask] = value
        book = kind == 1
        if book.any():
            prefix = np.array([SEAMAN_BOOK_PREFIX[c] for c in NATIONALITIES])
            idx = _map_codes(np, nat[book], {c: i for i, c in enumerate(NATIONALITIES)})
            out[book] = np.char.add(prefix[idx], seven[book])
        return out

    def _ranks(self, p: dict[str, Any]) -> "np.ndarray":
        """Rank by position on the crew list (officers first) and vessel category; '' for passengers."""
        np = self.np
        n = len(p["nat"])
        out = np.full(n, "", dtype=object)
        cat = self.cat[p["vessel"]]
        for c, name in enumerate(CATEGORIES):
            officers = np.array(OFFICERS[name], dtype=object)
            ratings = np.array(RATINGS[name], dtype=object)
            mask = (cat == c) & (p["role"] == 0)
            pos = p["pos"][mask]
            rating = ratings[(p["r3"][mask] * len(ratings)).astype(np.int64)]
            out[mask] = np.where(pos < len(officers), officers[np.minimum(pos, len(officers) - 1)], rating)
        return out

    def run(self) -> Sample:
        """All phases in order."""
        self.vessels()
        self.visits()
        self.plant()
        self.persons()
        return self.tables()


def _imo_check(np: Any, stem: "np.ndarray") -> "np.ndarray":
    """Vectorised IMO check digits of 6-digit stems."""
    total = np.zeros(len(stem), dtype=np.int64)
    for i, w in enumerate((7, 6, 5, 4, 3, 2)):
        total += (stem // 10 ** (5 - i)) % 10 * w
    return total % 10


def _map_codes(np: Any, values: "np.ndarray", index: dict[str, int]) -> "np.ndarray":
    """Integer codes of string values through a small dict, via the unique values."""
    uniq, inv = np.unique(values, return_inverse=True)
    return np.array([index[u] for u in uniq], dtype=np.int64)[inv]


def _dates(pa: Any, pc: Any, np: Any, days: "np.ndarray") -> "pa.Array":
    """Day numbers as DD/MM/YYYY strings (formatted once per distinct day)."""
    uniq, inv = np.unique(days, return_inverse=True)
    text = pc.strftime(pa.array(uniq.astype(np.int32), type=pa.date32()).cast(pa.timestamp("s")), format="%d/%m/%Y")
    return text.take(pa.array(inv))


def _as_str(pa: Any, values: Any) -> "pa.Array":
    """A string Arrow array (Arrow arrays pass through)."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values
    return pa.array(values, type=pa.string())
