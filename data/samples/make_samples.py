"""Write piu's sample manifests (data/samples/) deterministically.

    python data/samples/make_samples.py            # rewrites the files beside this script

Every name, document number and vessel here is invented. The calls are ordinary except the
planted problems listed in README.md; running this twice gives byte-identical files (fixed
random seed, fixed XLSX timestamps).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
RNG = random.Random(20261116)
FIXED_ZIP_TIME = (2026, 11, 1, 0, 0, 0)


def imo(first6: str, *, valid: bool = True) -> str:
    """A 7-digit IMO number with its check digit (weights 7..2), or a wrong one when planted."""
    check = sum(int(d) * w for d, w in zip(first6, range(7, 1, -1))) % 10
    return first6 + str(check if valid else (check + 3) % 10)


# ---------------------------------------------------------------------------------------------
# people

KHMER_FAMILY = ["Sok", "Chan", "Heng", "Chea", "Keo", "Meas", "Nhem", "Pich", "Touch", "Vann", "Ouk",
                "Prak", "Srey", "Yim", "Long", "Mao", "Seng", "Hun", "Khieu", "Ros"]
KHMER_GIVEN = ["Dara", "Sophea", "Vanna", "Rithy", "Sokha", "Bunthoeun", "Samnang", "Veasna", "Kosal",
               "Piseth", "Vuthy", "Sarath", "Chhay", "Sokhom", "Visal", "Rotha", "Phalla", "Sambath",
               "Narith", "Sovann", "Makara", "Chamroeun", "Ratanak", "Sophal"]
THAI_FAMILY = ["Saetang", "Srisuk", "Wongsawat", "Chaiyaphum", "Kaewmanee", "Boonmee", "Thongdee",
               "Phromma", "Suksawat", "Rattanakorn", "Intharasuk", "Jaidee", "Sombat", "Pongsiri"]
THAI_GIVEN = ["Somchai", "Anan", "Prasert", "Niran", "Somsak", "Wichai", "Kittisak", "Thanawat",
              "Surachai", "Chatchai", "Sombat", "Preecha", "Apichart", "Weerapong", "Narong"]
VIET_FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Võ", "Đặng", "Bùi", "Đỗ", "Huỳnh", "Phan", "Vũ"]
VIET_GIVEN = ["Văn An", "Minh Đức", "Văn Hùng", "Thanh Tùng", "Quốc Bảo", "Văn Thắng", "Văn Phúc",
              "Thị Hương", "Thị Lan", "Văn Khoa", "Hữu Lộc", "Công Thành", "Đình Trọng", "Thị Mai"]
INDO_GIVEN = ["Bambang", "Agus", "Dedi", "Rudi", "Joko", "Eko", "Hendra", "Ahmad", "Budi", "Yusuf", "Irfan",
              "Rahmat", "Teguh", "Arif", "Dwi", "Andi", "Fajar", "Rizki"]
INDO_FAMILY = ["Sutrisno", "Salim", "Kurniawan", "Hartono", "Susilo", "Prasetyo", "Gunawan", "Fauzi", "Santoso",
               "Maulana", "Hakim", "Hidayat", "Wibowo", "Rahman", "Cahyono", "Saputra", "Nugroho", "Setiawan"]
INDO_SINGLE = ["Suyanto", "Slamet", "Wahyudi", "Sutarno", "Mulyadi", "Sugianto", "Supriyadi", "Suparman",
               "Darmawan", "Rusdi", "Sukirno", "Ponirin"]   # many Indonesians have one name only
BURMESE_FIRST = ["Aung", "Kyaw", "Zaw", "Thant", "Myo", "Soe", "Htet", "Naing", "Win", "Tun", "Min", "Ye",
                 "Hla", "Thein", "Khin", "Nyein", "Thura", "Zaw Zaw"]
BURMESE_SECOND = ["Min", "Zin", "Win", "Tun", "Moe", "Aung", "Lin", "Naing", "Khant", "Oo", "Htun", "Myint",
                  "Kyaw", "Soe", "Paing", "Htike"]
FILIPINO_FAMILY = ["Santos", "Reyes", "Cruz", "Bautista", "Garcia", "Mendoza", "Dela Cruz", "Villanueva",
                   "Ramos", "Aquino", "Castillo", "Fernandez", "Navarro", "Pascual", "Manalo", "Tolentino"]
FILIPINO_GIVEN = ["Mark Anthony", "Jose Miguel", "Ramil", "Rodel", "Jericho", "Arnel", "Ronaldo", "Joel",
                  "Efren", "Dennis", "John Paul", "Rey", "Marlon", "Jonathan", "Christopher", "Ariel"]
CHINESE_FAMILY = ["Wang", "Li", "Zhang", "Liu", "Chen", "Zhao", "Huang", "Zhou", "Wu", "Xu", "Lin"]
CHINESE_GIVEN = ["Wei", "Qiang", "Lei", "Yang", "Jie", "Ming", "Hao", "Jun", "Tao", "Bin", "Xiaoling", "Haiyan"]
MALAY_FAMILY = ["bin Ahmad", "bin Ismail", "Tan", "bin Hassan", "Lim", "a/l Raman", "bin Osman", "Wong",
                "bin Yusof", "Ng", "bin Abdullah", "Chong"]
MALAY_GIVEN = ["Mohd Faizal", "Ahmad Zaki", "Chee Keong", "Muhammad Hafiz", "Wei Liang", "Khairul Anuar",
               "Kah Meng", "Shahrul Nizam", "Boon Hock", "Azlan", "Wai Kit", "Hairul"]
WESTERN = [("Müller", "Jonas", "DEU", "Germany"), ("Dubois", "Camille", "FRA", "France"),
           ("Smith", "Oliver", "GBR", "United Kingdom"), ("García", "Lucía", "ESP", "Spain"),
           ("Jansen", "Sanne", "NLD", "Netherlands"), ("Novák", "Tomáš", "CZE", "Czechia"),
           ("O'Brien", "Siobhán", "IRL", "Ireland"), ("Rossi", "Giulia", "ITA", "Italy")]

_used_docs: set[str] = set()
_used_names: set[tuple[str, str]] = set()


def doc_number(nat: str) -> str:
    """A unique, plausible passport number for a nationality (invented)."""
    while True:
        d = RNG.randrange(10**6, 10**7)
        num = {"KHM": f"N{d:07d}", "THA": f"AA{d:07d}", "VNM": f"C{d:07d}", "IDN": f"B{d:07d}",
               "MMR": f"MC{d % 10**6:06d}", "PHL": f"P{d:07d}{'ABC'[d % 3]}", "CHN": f"E{d:08d}",
               "MYS": f"A{d:08d}"}.get(nat, f"X{d:08d}")
        if num not in _used_docs:
            _used_docs.add(num)
            return num


@dataclass
class Person:
    role: str
    family: str
    given: str
    rank: str
    nat_code: str
    nat_text: str               # as the agent writes it: a code, a country name or a demonym
    dob: dt.date
    pob: str
    gender: str
    doc_type: str
    doc: str
    doc_issuer: str
    expiry: dt.date
    embark: str = ""
    disembark: str = ""
    transit: str = ""
    visa: str = ""


NATION = {
    "KHM": (("Cambodia", "KHM", "Cambodian"), ["Phnom Penh", "Kampot", "Sihanoukville", "Kep", "Takeo", "Koh Kong"]),
    "THA": (("Thailand", "THA", "Thai"), ["Bangkok", "Songkhla", "Chon Buri", "Trat", "Rayong", "Pattani"]),
    "VNM": (("Viet Nam", "VNM", "Vietnamese"), ["Hải Phòng", "Kiên Giang", "Cà Mau", "Hà Nội", "Nghệ An"]),
    "IDN": (("Indonesia", "IDN", "Indonesian"), ["Tegal", "Cirebon", "Surabaya", "Semarang", "Bitung", "Batam"]),
    "MMR": (("Myanmar", "MMR", "Burmese"), ["Yangon", "Mawlamyine", "Myeik", "Pathein", "Dawei"]),
    "PHL": (("Philippines", "PHL", "Filipino"), ["Manila", "Cebu", "Iloilo", "Batangas", "Davao"]),
    "CHN": (("China", "CHN", "Chinese"), ["Fuzhou", "Dalian", "Qingdao", "Guangzhou", "Zhanjiang"]),
    "MYS": (("Malaysia", "MYS", "Malaysian"), ["Klang", "Penang", "Kuantan", "Johor Bahru", "Kota Kinabalu"]),
}


def person(nat: str, role: str, rank: str, call_date: dt.date, *, style: int = 0, gender: str = "M",
           age: int | None = None, expiry: dt.date | None = None) -> Person:
    """An invented person of a nationality; `style` picks how the agent writes nationality."""
    for _attempt in range(10_000):
        if nat == "KHM":
            family, given = RNG.choice(KHMER_FAMILY), RNG.choice(KHMER_GIVEN)
        elif nat == "THA":
            family, given = RNG.choice(THAI_FAMILY), RNG.choice(THAI_GIVEN)
        elif nat == "VNM":
            family, given = RNG.choice(VIET_FAMILY), RNG.choice(VIET_GIVEN)
        elif nat == "IDN":
            if RNG.random() < 0.25:
                family, given = RNG.choice(INDO_SINGLE), ""
            else:
                family, given = RNG.choice(INDO_FAMILY), RNG.choice(INDO_GIVEN)
        elif nat == "MMR":
            # Burmese names have no family name: agents put the whole name under 'Family name'.
            family, given = f"{RNG.choice(BURMESE_FIRST)} {RNG.choice(BURMESE_SECOND)}", ""
        elif nat == "PHL":
            family, given = RNG.choice(FILIPINO_FAMILY), RNG.choice(FILIPINO_GIVEN)
        elif nat == "CHN":
            family, given = RNG.choice(CHINESE_FAMILY), RNG.choice(CHINESE_GIVEN)
        else:
            family, given = RNG.choice(MALAY_FAMILY), RNG.choice(MALAY_GIVEN)
        if nat == "VNM":  # 'Thị' is a women's middle name
            given = RNG.choice([g for g in VIET_GIVEN if g.startswith("Thị") == (gender == "F")])
        if (family, given) not in _used_names:
            _used_names.add((family, given))
            break
    else:
        raise RuntimeError(f"ran out of distinct {nat} names")
    years = age if age is not None else RNG.randrange(22, 57)
    dob = dt.date(call_date.year - years - 1, RNG.randrange(1, 13), RNG.randrange(1, 29)) + dt.timedelta(days=RNG.randrange(0, 200))
    if age is not None:
        dob = dt.date(call_date.year - age, min(call_date.month, 3), 14)
    (names, places) = NATION[nat]
    nat_text = names[style % 3]
    exp = expiry or dt.date(RNG.randrange(2027, 2034), RNG.randrange(1, 13), RNG.randrange(1, 29))
    if exp.year == 2027 and exp.month < 6:
        exp = exp.replace(month=exp.month + 6)
    return Person(role, family.upper() if style == 1 else family, given.upper() if style == 1 else given, rank,
                  nat, nat_text, dob, RNG.choice(places), gender, "Passport", doc_number(nat), names[1], exp)


def western(i: int, call_date: dt.date, embark: str, disembark: str) -> Person:
    """A tourist passenger from Europe (passenger ferry)."""
    family, given, code, country = WESTERN[i % len(WESTERN)]
    dob = dt.date(1960 + (i * 7) % 40, 1 + i % 12, 1 + (i * 3) % 27)
    doc = f"{code[0]}{RNG.randrange(10**7, 10**8)}"
    _used_docs.add(doc)
    return Person("passenger", family, given, "", code, country, dob, "", "F" if i % 2 else "M", "Passport", doc,
                  code, dt.date(2030 + i % 4, 5, 20), embark, disembark, "N", "")


# ---------------------------------------------------------------------------------------------
# calls


@dataclass
class Call:
    ref: str
    port: str                   # as the agent writes it
    direction: str
    when: dt.datetime           # local time at the port
    vessel: str
    imo: str
    mmsi: str
    call_sign: str
    flag: str
    vessel_type: str
    gt: str
    built: str
    capacity: str
    last_port: str
    next_port: str
    agent: str
    persons: list[Person] = field(default_factory=list)
    declared_crew: int | None = None
    declared_pax: int | None = None

    def counts(self) -> tuple[int, int]:
        crew = sum(p.role == "crew" for p in self.persons)
        pax = sum(p.role == "passenger" for p in self.persons)
        return (self.declared_crew if self.declared_crew is not None else crew,
                self.declared_pax if self.declared_pax is not None else pax)


CARGO_RANKS = ["Master", "Chief Officer", "2nd Officer", "3rd Officer", "Chief Engineer", "2nd Engineer",
               "3rd Engineer", "Bosun", "AB", "AB", "AB", "OS", "Oiler", "Oiler", "Wiper", "Cook", "Messman",
               "Fitter", "Electrician", "OS"]
FISHING_RANKS = ["Skipper", "Engineer", "Deck hand", "Deck hand", "Fisherman", "Fisherman", "Deck hand",
                 "Cook", "Fisherman", "Deck hand", "Fisherman", "Deck hand", "Fisherman", "Fisherman"]


def crew(n: int, nats: list[str], when: dt.datetime, *, fishing: bool = False, style: int = 0) -> list[Person]:
    """n crew with ranks in order (master first) and nationalities drawn from `nats`."""
    ranks = FISHING_RANKS if fishing else CARGO_RANKS
    return [person(nats[i % len(nats)] if i else nats[0], "crew", ranks[i % len(ranks)], when.date(), style=style)
            for i in range(n)]


def d(day: int, hh: int, mm: int) -> dt.datetime:
    """A local time in November 2026."""
    return dt.datetime(2026, 11, day, hh, mm)


KAMSAB = "Kampuchea Shipping Agency & Brokers (KAMSAB)"
SMS = "Sihanoukville Maritime Services Co., Ltd"
SIAM = "Siam Maritime Agency Co., Ltd"


def flat_calls() -> list[Call]:
    """Calls of flat_manifest.csv (call fields repeated on every person row)."""
    calls: list[Call] = []
    c = Call("", "KHKOS", "ARR", d(16, 8, 30), "ORIENT PEARL", imo("976312"), "563118240", "9V3817", "Singapore",
             "General cargo", "8450", "2016", "", "SGSIN", "THLCH", KAMSAB)
    c.persons = crew(16, ["PHL", "PHL", "IDN", "MMR"], c.when, style=2)
    calls.append(c)
    c = Call("", "Sihanoukville", "ARR", d(17, 6, 0), "KAMPOT STAR 18", imo("978120"), "514203117", "XUKS8", "Cambodia",
             "Fishing vessel", "142", "2017", "14", "KHKKO", "KHKOS", SMS)
    c.persons = crew(9, ["KHM"], c.when, fishing=True)
    calls.append(c)
    # Planted: 35 'passengers' on a 60 GT fishing vessel certified for 12 persons.
    c = Call("", "KHKOS", "ARR", d(19, 23, 40), "SAMUDRA MAS 27", "", "515026481", "XUBM4", "Cambodia",
             "Fishing vessel", "60", "2016", "12", "Koh Kong", "Songkhla", SMS)
    c.persons = crew(6, ["KHM", "VNM"], c.when, fishing=True)
    pax_nats = ["VNM", "CHN", "KHM", "MMR", "VNM", "CHN", "MMR"]
    for i in range(35):
        p = person(pax_nats[i % len(pax_nats)], "passenger", "", c.when.date(), gender="F" if i % 4 == 0 else "M")
        p.embark, p.disembark = "Koh Kong", "Songkhla"
        c.persons.append(p)
    calls.append(c)
    # Planted: a 15-year-old deck hand on a Thai fishing vessel.
    c = Call("", "Songkhla", "ARR", d(20, 4, 50), "SOR CHAROENSUK 7", imo("980562"), "567390514", "HSF2219",
             "Thailand", "Fishing vessel", "180", "2018", "", "Pattani", "THSGZ", "Songkhla Marine Services")
    c.persons = crew(12, ["THA", "MMR", "MMR", "KHM"], c.when, fishing=True)
    c.persons.append(person("KHM", "crew", "Deck hand", c.when.date(), age=15))
    calls.append(c)
    # Planted: three crew passports expired before arrival.
    c = Call("", "KHKOS", "ARR", d(21, 14, 15), "BUNGA MELATI 5", imo("979845"), "533184220", "9MBT5", "Malaysia",
             "General cargo", "5200", "2019", "", "MYPKG", "VNSGN", KAMSAB)
    c.persons = crew(16, ["MYS", "IDN", "MMR", "MYS"], c.when)
    for i, exp in zip((5, 9, 13), (dt.date(2026, 3, 2), dt.date(2025, 12, 18), dt.date(2026, 10, 30))):
        c.persons[i].expiry = exp
    calls.append(c)
    # Planted: the same passport number twice in one crew list.
    c = Call("", "KHKOS", "ARR", d(22, 9, 45), "PETCH SAMUT", imo("977401"), "567312904", "HSB4821", "Thailand",
             "Oil/chemical tanker", "2900", "2015", "", "THSRI", "THSRI", SIAM)
    c.persons = crew(12, ["THA", "THA", "MMR"], c.when)
    c.persons[7].doc = c.persons[4].doc
    c.persons[7].nat_code = c.persons[4].nat_code
    c.persons[7].nat_text = c.persons[4].nat_text
    c.persons[7].doc_issuer = c.persons[4].doc_issuer
    calls.append(c)
    # Planted: IMO number with a wrong check digit.
    c = Call("", "KHKOS", "ARR", d(23, 16, 0), "GOLDEN LOTUS", "IMO " + imo("975562", valid=False), "514338102",
             "XUGL3", "Cambodia", "General cargo", "1850", "2016", "", "VNSGN", "THBKK", SMS)
    c.persons = crew(10, ["KHM", "VNM", "KHM"], c.when)
    calls.append(c)
    # Planted: Cambodian flag, Thai MID (567) in the MMSI.
    c = Call("", "KHKOS", "ARR", d(24, 7, 20), "MEKONG GLORY", imo("978805"), "567481236", "XUMG2", "Cambodia",
             "General cargo", "650", "2017", "", "Trat", "KHKOS", SMS)
    c.persons = crew(9, ["KHM", "THA"], c.when)
    calls.append(c)
    # Planted: declared crew 12, 16 crew listed.
    c = Call("", "KHKOS", "ARR", d(25, 11, 30), "CHAO PHRAYA PRIDE", imo("980127"), "567520118", "HSC7713",
             "Thailand", "General cargo", "3200", "2018", "", "THLCH", "VNSGN", SIAM)
    c.persons = crew(16, ["THA", "MMR", "KHM"], c.when)
    c.declared_crew = 12
    calls.append(c)
    c = Call("", "KHKOS", "ARR", d(26, 13, 0), "NUSANTARA BERSAMA", "IMO " + imo("981466"), "525119304", "YBNB2",
             "Indonesia", "General cargo", "6400", "2020", "", "IDJKT", "THLCH", KAMSAB)
    c.persons = crew(12, ["IDN"], c.when, style=1)
    calls.append(c)
    c = Call("", "Laem Chabang", "ARR", d(27, 18, 10), "LUZON BREEZE", imo("982233"), "548221905", "DUHL4",
             "Philippines", "Container ship", "4100", "2021", "", "KHKOS", "SGSIN", SIAM)
    c.persons = crew(11, ["PHL"], c.when, style=2)
    calls.append(c)
    # Planted (identity change, with LUCKY FORTUNE in calls.csv): same IMO, other name and flag.
    c = Call("", "Bangkok", "DEP", d(17, 5, 30), "FORTUNE STAR", imo("892451"), "514660127", "XUFS9", "Cambodia",
             "General cargo", "2450", "1992", "", "HKHKG", "KHKOS", SIAM)
    c.persons = crew(10, ["CHN", "MMR", "VNM"], c.when)
    calls.append(c)
    return calls


def shape3_calls(flat: list[Call]) -> list[Call]:
    """Calls of calls.csv/persons.csv (joined on 'Call ref')."""
    calls: list[Call] = []
    c = Call("KOS-2611-001", "KHKOS", "Arrival", d(16, 15, 30), "KOH RONG EXPRESS", imo("983571"), "514902338",
             "XUKR1", "Cambodia", "Passenger ship (ro-pax)", "280", "2019", "150", "VNPQC", "VNPQC", KAMSAB)
    c.persons = crew(8, ["KHM", "KHM", "VNM"], c.when)
    for p in c.persons:
        p.embark = "Phnom Penh"
    for i in range(18):
        p = person(["VNM", "KHM", "CHN"][i % 3], "passenger", "", c.when.date(), gender="F" if i % 2 else "M")
        p.embark, p.disembark, p.transit = "Phu Quoc", "Sihanoukville", "N"
        c.persons.append(p)
    for i in range(8):
        c.persons.append(western(i, c.when.date(), "Phu Quoc", "Sihanoukville"))
    calls.append(c)
    # Planted: Togo flag, built 1992; same IMO as FORTUNE STAR (Cambodia) the day before.
    fortune = flat[-1]
    c = Call("KOS-2611-002", "KHKOS", "Arrival", d(18, 10, 15), "LUCKY FORTUNE", fortune.imo, "671240093", "5VLF7",
             "Togo", "General cargo", "2450", "1992", "", "THBKK", "IDJKT", SIAM)
    c.persons = [Person(**{**p.__dict__, "embark": "Hong Kong"}) for p in fortune.persons]
    calls.append(c)
    # Planted: two crew on the arrival list are absent from the departure list.
    c = Call("KOS-2611-003", "KHKOS", "Arrival", d(22, 6, 40), "MERAK BIRU", imo("979128"), "525307716", "PNMB",
             "Indonesia", "General cargo", "3800", "2018", "", "SGSIN", "THLCH", KAMSAB)
    c.persons = crew(14, ["IDN", "IDN", "MMR"], c.when)
    for p in c.persons:
        p.embark = "Jakarta"
    calls.append(c)
    dep = Call("KOS-2611-004", "KHKOS", "Departure", d(24, 17, 0), c.vessel, c.imo, c.mmsi, c.call_sign, c.flag,
               c.vessel_type, c.gt, c.built, "", "SGSIN", "THLCH", KAMSAB)
    dep.persons = [p for i, p in enumerate(c.persons) if i not in (9, 12)]
    calls.append(dep)
    # Planted: 8 of 12 crew joined at the last port (Batam) a few days before arrival; one of
    # them uses the passport number of a crew member of ORIENT PEARL (document reused).
    c = Call("KOS-2611-005", "KHKOS", "Arrival", d(27, 8, 0), "OCEAN GRACE 3", imo("977834"), "533902417", "9MOG3",
             "Malaysia", "Refrigerated cargo", "1600", "2017", "", "IDBTM", "THSGZ", SMS)
    c.persons = crew(12, ["MYS", "IDN", "MMR", "VNM"], c.when)
    for i, p in enumerate(c.persons):
        p.embark = "Batam" if i >= 4 else "Port Klang"
    borrowed = flat[0].persons[6]
    c.persons[8].doc, c.persons[8].doc_issuer = borrowed.doc, borrowed.doc_issuer
    c.persons[8].nat_code, c.persons[8].nat_text = borrowed.nat_code, NATION[borrowed.nat_code][0][0]
    calls.append(c)
    return calls


def fal_call() -> Call:
    """The one call of fal_general_declaration_crew.xlsx (FAL 5 and FAL 6 sheets)."""
    c = Call("", "Sihanoukville (KHKOS)", "Arrival", d(20, 10, 0), "MV SEA STAR", imo("981205"), "567044318",
             "HSA6620", "Thailand", "General cargo", "4980", "2018", "", "Bangkok", "Ho Chi Minh City", SIAM)
    c.persons = crew(14, ["THA", "THA", "MMR", "KHM"], c.when)
    for i, nat in enumerate(["THA", "KHM"]):
        p = person(nat, "passenger", "", c.when.date(), gender="F" if i else "M")
        p.embark, p.disembark, p.transit = "Bangkok", "Sihanoukville", "N"
        c.persons.append(p)
    return c


# ---------------------------------------------------------------------------------------------
# writers


def ddmmyyyy(x: dt.date) -> str:
    return x.strftime("%d/%m/%Y")


def write_flat(calls: list[Call], path: Path) -> None:
    """flat_manifest.csv: comma-separated, mixed-case headings, call fields on every row."""
    head = ["Port", "Arr/Dep", "ETA", "Vessel Name", "IMO No", "MMSI", "Call Sign", "Flag", "Vessel Type", "GT",
            "Year Built", "Capacity", "Last Port", "Next Port", "Declared Crew", "Declared Pax", "Agent",
            "Crew/Passenger", "SURNAME", "Given Names", "Rank", "Nationality", "D.O.B.", "Sex", "Passport No",
            "Issuing State", "Passport Expiry", "Port of Embarkation", "Port of Disembarkation"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(head)
    for c in calls:
        dc, dp = c.counts()
        for p in c.persons:
            w.writerow([c.port, c.direction, c.when.strftime("%d/%m/%Y %H:%M"), c.vessel, c.imo, c.mmsi, c.call_sign,
                        c.flag, c.vessel_type, c.gt, c.built, c.capacity, c.last_port, c.next_port, dc, dp, c.agent,
                        "C" if p.role == "crew" else "P", p.family, p.given, p.rank, p.nat_text, ddmmyyyy(p.dob),
                        p.gender, p.doc, p.doc_issuer, ddmmyyyy(p.expiry), p.embark, p.disembark])
    path.write_bytes(buf.getvalue().encode("utf-8"))


def write_shape3(calls: list[Call], calls_path: Path, persons_path: Path) -> None:
    """calls.csv (semicolon, date and time in two columns) and persons.csv (FAL 5/6 headings)."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", lineterminator="\n")
    w.writerow(["Call ref", "Vessel", "IMO number", "MMSI", "Callsign", "Flag state", "Ship type", "Gross tonnage",
                "Year of build", "Max persons", "Port of call", "Direction", "Date of arrival/departure", "Time",
                "Last port of call", "Next port of call", "Crew count", "Passenger count", "Shipping agent"])
    for c in calls:
        dc, dp = c.counts()
        w.writerow([c.ref, c.vessel, c.imo, c.mmsi, c.call_sign, c.flag, c.vessel_type, c.gt, c.built, c.capacity,
                    c.port, c.direction, ddmmyyyy(c.when), c.when.strftime("%H:%M"), c.last_port, c.next_port, dc, dp,
                    c.agent])
    calls_path.write_bytes(buf.getvalue().encode("utf-8"))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["Call Ref", "No.", "Category", "Family name", "Given names", "Rank or rating", "Nationality",
                "Date of birth", "Place of birth", "Gender", "Nature of identity document",
                "Number of identity document", "Issuing State of identity document",
                "Expiry date of identity document", "Port of embarkation", "Port of disembarkation",
                "Transit passenger or not", "Visa number if appropriate"])
    for c in calls:
        for i, p in enumerate(c.persons, 1):
            w.writerow([c.ref, i, "Crew" if p.role == "crew" else "Passenger", p.family, p.given, p.rank, p.nat_text,
                        ddmmyyyy(p.dob), p.pob, p.gender, p.doc_type, p.doc, p.doc_issuer, ddmmyyyy(p.expiry),
                        p.embark, p.disembark, p.transit, p.visa])
    persons_path.write_bytes(buf.getvalue().encode("utf-8"))


def write_fal_xlsx(c: Call, path: Path) -> None:
    """The FAL layout: header block, title, list table, signature footer; one sheet per form."""
    import openpyxl
    from openpyxl.styles import Font

    wb = openpyxl.Workbook()
    crew_ws = wb.active
    crew_ws.title = "Crew List"
    pax_ws = wb.create_sheet("Passenger List")
    dc, dp = c.counts()
    for ws, form, title in ((crew_ws, "IMO FAL Form 5", "CREW LIST"), (pax_ws, "IMO FAL Form 6", "PASSENGER LIST")):
        ws["A1"] = form
        ws["D1"] = title
        ws["D1"].font = Font(bold=True, size=14)
        ws["A2"] = "☒ Arrival"
        ws["C2"] = "☐ Departure"
        # label and value in one cell, and label/value in adjacent cells (value spread right)
        ws["A3"] = f"1.1 Name of ship: {c.vessel}"
        ws["E3"] = "1.2 IMO number"
        ws["G3"] = f"IMO {c.imo}"
        ws["A4"] = "1.3 Call sign"
        ws["C4"] = c.call_sign
        ws["E4"] = "1.4 Voyage number"
        ws["G4"] = "SS-2611"
        ws["A5"] = "2. Port of arrival/departure"
        ws["C5"] = c.port
        ws["E5"] = "3. Date of arrival/departure"
        ws["G5"] = c.when  # a real Excel date-time cell
        ws["A6"] = "4. Flag State of ship:"
        ws["C6"] = c.flag
        ws["E6"] = f"5. Last port of call: {c.last_port}"
        ws["A7"] = f"Number of crew: {dc}"
        ws["E7"] = f"Number of passengers: {dp}"
    crew_head = ["No.", "Family name", "Given names", "Rank or rating", "Nationality", "Date and place of birth",
                 "Gender", "Nature and No. of identity document", "Issuing State of identity document",
                 "Expiry date of identity document"]
    crew_ws.append([])                      # row 8 blank
    crew_ws.append(crew_head)               # row 9
    for i, p in enumerate([p for p in c.persons if p.role == "crew"], 1):
        crew_ws.append([i, p.family, p.given, p.rank, p.nat_text, f"{ddmmyyyy(p.dob)}, {p.pob}", p.gender,
                        f"{p.doc_type} {p.doc}", p.doc_issuer, dt.datetime.combine(p.expiry, dt.time())])
    crew_ws.append([])
    crew_ws.append(["Date and signature by master, authorized agent or officer"])
    crew_ws.append([None, None, None, None, "20/11/2026", None, "Capt. (signed)"])
    pax_head = ["No.", "Family name", "Given names", "Nationality", "Date of birth", "Place of birth", "Gender",
                "Nature of identity document", "Serial number of identity document",
                "Issuing State of identity document", "Expiry date of identity document", "Port of embarkation",
                "Port of disembarkation", "Transit passenger or not", "Visa number if appropriate"]
    pax_ws.append([])
    pax_ws.append(pax_head)
    for i, p in enumerate([p for p in c.persons if p.role == "passenger"], 1):
        pax_ws.append([i, p.family, p.given, p.nat_text, dt.datetime.combine(p.dob, dt.time()), p.pob, p.gender,
                       p.doc_type, p.doc, p.doc_issuer, dt.datetime.combine(p.expiry, dt.time()), p.embark,
                       p.disembark, p.transit, p.visa])
    pax_ws.append([])
    pax_ws.append(["Date and signature by master, authorized agent or officer"])
    wb.properties.creator = "piu samples"
    wb.properties.created = wb.properties.modified = dt.datetime(2026, 11, 1)
    buf = io.BytesIO()
    wb.save(buf)
    # Re-pack with fixed timestamps so the file is byte-identical on every run.
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps 'modified' with the time of saving
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2026-11-01T00:00:00Z", data)
            dst.writestr(zipfile.ZipInfo(info.filename, FIXED_ZIP_TIME), data, zipfile.ZIP_DEFLATED)
    path.write_bytes(out.getvalue())


def write_mapping_example(path: Path) -> None:
    """An analyst's --map file for an agent who uses unusual headings."""
    path.write_text(
        "# piu heading map: one 'heading,canonical' pair per line (see README.md)\n"
        "heading,canonical\n"
        "Crew member,full_name\n"
        "Pspt No.,doc_number\n"
        "Pspt Exp.,doc_expiry\n"
        "Ctry,nationality\n"
        "Joined,embark_port\n"
        "Cert. POB,capacity\n"
        "Vsl,vessel_name\n"
        "Remarks,-\n", encoding="utf-8")


def main() -> None:
    """Write every sample file beside this script."""
    flat = flat_calls()
    shape3 = shape3_calls(flat)
    fal = fal_call()
    write_flat(flat, HERE / "flat_manifest.csv")
    write_shape3(shape3, HERE / "calls.csv", HERE / "persons.csv")
    write_fal_xlsx(fal, HERE / "fal_general_declaration_crew.xlsx")
    write_mapping_example(HERE / "mapping_example.csv")


if __name__ == "__main__":
    main()
