"""Column headings agents use, mapped to piu's canonical field names.

Agents send the same field under many headings: the IMO FAL form labels ("Rank or rating"),
EU EMSWe element names ("FamilyName"), single-window exports ("Duty_of_crew"), US NOA-style
lists ("D.O.B."), and local variants in Indonesian, Thai, Vietnamese and Khmer. Headings are
compared by `heading_key` (case, accents, spaces and punctuation ignored), so one alias entry
covers "Date of Birth", "date_of_birth" and "DATE-OF-BIRTH". An analyst adds or overrides
entries with a mapping file (`--map FILE`, see `load_mapping`).

Ambiguous headings ("Type", "Number", "Date", "Crew", "From") are deliberately absent: they are
kept under their original heading rather than guessed.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
import unicodedata
from pathlib import Path

from piu.errors import InputError
from piu.schema import CALL_FIELDS, CALL_REF, PERSON_FIELDS

# Input-only helper fields the ingest splits or combines into canonical ones.
HELPER_FIELDS: tuple[str, ...] = (
    "full_name",        # one 'Name' column: family and given names together
    "doc_combined",     # 'Nature and No. of identity document': 'Passport P1234567'
    "birth_combined",   # 'Date and place of birth'
    "call_date",        # the call's date when its time is in a separate column
    "call_hour",        # the call's time of day
    "person_no",        # the 'No.' sequence column of a FAL list
)
# FAL form items that are not stored as columns; recognised so they are neither guessed as
# something else nor mistaken for data (the ingest keeps them in `extra`).
INFO_FIELDS: tuple[str, ...] = ("voyage_number", "master_name", "net_tonnage")

CALL_LIKE: frozenset[str] = frozenset(CALL_FIELDS) | {"call_date", "call_hour", CALL_REF}
PERSON_LIKE: frozenset[str] = frozenset(PERSON_FIELDS) | {"full_name", "doc_combined", "birth_combined"}
ALL_FIELDS: tuple[str, ...] = (*CALL_FIELDS, *PERSON_FIELDS, CALL_REF, *HELPER_FIELDS, *INFO_FIELDS)

# Letters that do not decompose under NFKD but have an obvious base letter.
_FOLD = str.maketrans({"đ": "d", "Đ": "d", "ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "ß": "ss",
                       "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "ı": "i"})
_BOX_NUMBER = re.compile(r"^\s*(?:box\s*)?\(?\d{1,2}(?:\.\d{1,2})*[.)]?\s+(?=\D)", re.IGNORECASE)


def heading_key(heading: str) -> str:
    """The comparison key of a heading: accents folded, case and non-alphanumerics dropped."""
    text = unicodedata.normalize("NFKD", str(heading).translate(_FOLD))
    # Combining marks go (Vietnamese tones, Thai/Khmer vowel signs): the key is only compared
    # with other keys made the same way, so dropping them consistently is safe.
    key = "".join(ch for ch in text if ch.isalnum() and not unicodedata.combining(ch)).casefold()
    if key:
        return key
    # '#' or '№' alone is a sequence-number heading; keep such symbols rather than return ''.
    return "".join(str(heading).split())


# canonical field -> headings seen in agents' files (any case/punctuation; keys are derived).
_ALIAS_SOURCE: dict[str, tuple[str, ...]] = {
    # ---- call fields ----
    "port": ("Port", "Port of call", "Arrival port", "Port of arrival", "Port of arrival/departure",
             "Port of arrival or departure", "Current port", "Call port", "PortOfCall", "Pelabuhan",
             "Pelabuhan kedatangan", "Cảng đến", "Cảng", "ท่าเรือ", "កំពង់ផែ"),
    "direction": ("Direction", "Arr/Dep", "Arr / Dep", "Arrival/Departure", "Arrival or departure",
                  "A/D", "Movement", "Movement type", "In/Out", "Kedatangan/Keberangkatan"),
    "call_time": ("Call time", "Date and time of arrival/departure", "Date and time of arrival",
                  "Date and time of departure", "Date of arrival/departure", "Date/time of arrival",
                  "Arrival date/time", "Arrival date-time", "Arrival datetime", "Departure datetime",
                  "ETA", "ATA", "ETD", "ATD", "Arrival date", "Date of arrival", "Departure date",
                  "Date of departure", "Arrived", "Arrival", "Departure", "Tanggal tiba",
                  "Tgl tiba", "Waktu tiba", "Ngày đến", "Thời gian đến", "Tanggal kedatangan",
                  "Tgl kedatangan", "Tgl. kedatangan", "Tanggal keberangkatan", "Tgl keberangkatan",
                  "Tgl. keberangkatan"),
    "call_date": ("Call date", "Date of call"),
    "call_hour": ("Call hour", "Arrival time", "Time of arrival", "Departure time", "Time of departure",
                  "ETA time", "Time", "Hour", "Jam", "Jam tiba", "Giờ đến"),
    "vessel_name": ("Vessel name", "Vessel", "Ship", "Ship name", "Ship's name", "Name of ship",
                    "Name of vessel", "Nama kapal", "Kapal", "Tên tàu", "ชื่อเรือ", "ឈ្មោះនាវា"),
    "imo": ("IMO", "IMO number", "IMO No", "IMO no.", "IMO Nr", "IMO_number", "IMO ship number",
            "Lloyd's/IMO number", "Nomor IMO", "Số IMO", "Vessel IMO", "Vessel IMO number", "Ship IMO",
            "Ship IMO number"),
    "mmsi": ("MMSI", "MMSI number", "MMSI no", "Nomor MMSI", "Vessel MMSI", "Ship MMSI"),
    "call_sign": ("Call sign", "Callsign", "Call-sign", "Radio call sign", "Tanda panggil", "Hô hiệu",
                  "Vessel call sign", "Ship call sign"),
    "flag": ("Flag", "Flag state", "Flag State of ship", "Flag of ship", "Flag of vessel",
             "Country of registry", "Country of registration", "Nationality of ship",
             "Bendera", "Bendera kapal", "Quốc tịch tàu", "สัญชาติเรือ", "ទង់ជាតិ", "Vessel flag",
             "Vessel flag state", "Ship flag", "Ship flag state"),
    "vessel_type": ("Vessel type", "Ship type", "Type of vessel", "Type of ship", "Kind of vessel",
                    "Jenis kapal", "Tipe kapal", "Loại tàu", "ประเภทเรือ", "Vessel ship type", "Vessel kind"),
    "gross_tonnage": ("Gross tonnage", "GT", "GRT", "Gross tonnage (GT)", "Gross register tonnage",
                      "Gross", "Isi kotor", "GT (tons)", "Tổng dung tích", "Vessel gross tonnage", "Vessel GT"),
    "year_built": ("Year built", "Built", "Year of build", "Build year", "Year of construction",
                   "Tahun pembuatan", "Tahun dibuat", "Năm đóng", "Vessel year built"),
    "capacity": ("Capacity", "Max persons", "Maximum persons", "Certified persons", "Persons capacity",
                 "Certified capacity", "Max POB", "Persons allowed", "Kapasitas"),
    "last_port": ("Last port of call", "Last port", "Previous port", "Previous port of call",
                  "Port of origin", "Coming from", "Arrived from", "Pelabuhan asal", "Cảng trước",
                  "Cảng rời cuối cùng", "Cảng rời cuối"),
    "next_port": ("Next port of call", "Next port", "Next destination", "Going to", "Bound for",
                  "Pelabuhan tujuan", "Cảng tiếp theo"),
    "declared_crew": ("Declared crew", "Number of crew", "No. of crew", "No of crew", "Crew count",
                      "Crew number", "Total crew", "Crew total", "Crew on board", "Jumlah awak",
                      "Jumlah awak kapal", "Jumlah ABK", "Số thuyền viên"),
    "declared_passengers": ("Declared passengers", "Number of passengers", "No. of passengers",
                            "No of passengers", "Passenger count", "Passengers count", "Total passengers",
                            "Pax", "No. of pax", "Declared pax", "Pax count", "Jumlah penumpang", "Số hành khách"),
    "agent": ("Agent", "Ship's agent", "Ships agent", "Shipping agent", "Local agent", "Agency",
              "Name and contact details of ship's agent", "Agent name", "Agen", "Keagenan", "Đại lý"),
    CALL_REF: ("Call ref", "Call reference", "Manifest ref", "Manifest reference", "Manifest no",
               "Voyage ref", "Reference", "Ref", "Ref no", "Call id"),
    "voyage_number": ("Voyage number", "Voyage no", "Voyage", "Nomor voyage"),
    "master_name": ("Name of master", "Master", "Master's name", "Captain", "Nama nakhoda", "Thuyền trưởng"),
    "net_tonnage": ("Net tonnage", "NT", "NRT", "Isi bersih"),
    # ---- person fields ----
    "person_no": ("No.", "No", "#", "№", "S/N", "S. No", "Sr. No", "Sr No", "Serial", "Seq",
                  "Sequence", "Item", "Person on board sequence", "STT", "ลำดับ", "ល.រ"),
    "role": ("Role", "Crew/Passenger", "Crew or passenger", "Category", "Type (C/P)", "C/P",
             "Person type", "Type of person", "PersonType", "Status on board", "Awak/Penumpang",
             "Thuyền viên/Hành khách"),
    "full_name": ("Name", "Full name", "Crew name", "Passenger name", "Name of crew member",
                  "Name of passenger", "Family name, given names", "Surname and given names",
                  "Names", "Nama", "Nama lengkap", "Nama ABK", "Họ và tên", "Họ tên",
                  "ชื่อ-นามสกุล", "ชื่อ นามสกุล", "ឈ្មោះ", "គោត្តនាម និងនាម"),
    "family_name": ("Family name", "Surname", "Last name", "Family_name", "FamilyName", "Nama keluarga",
                    "Nama belakang", "Họ", "นามสกุล", "គោត្តនាម"),
    "given_names": ("Given names", "Given name", "First name", "First names", "First name(s)",
                    "Forename", "Forenames", "Forename(s)", "Other names", "Given_name", "GivenName",
                    "Nama depan", "Tên", "ชื่อ", "នាម"),
    "rank": ("Rank", "Rating", "Rank or rating", "Rank/Rating", "Position", "Duty", "Duty_of_crew",
             "Duty of crew", "Designation", "RoleCode", "Rank code", "Job title", "Jabatan",
             "Chức danh", "Chức vụ", "ตำแหน่ง", "តួនាទី", "មុខងារ"),
    "nationality": ("Nationality", "Citizenship", "NationalityCode", "Nationality code", "Kebangsaan",
                    "Kewarganegaraan", "Warga negara", "Quốc tịch", "สัญชาติ", "សញ្ជាតិ"),
    "date_of_birth": ("Date of birth", "DOB", "D.O.B.", "Birth date", "Birthdate", "BirthDate",
                      "Date_of_birth", "Born", "Tanggal lahir", "Tgl lahir", "Tgl. lahir", "Ngày sinh",
                      "วันเกิด", "วันเดือนปีเกิด", "ថ្ងៃខែឆ្នាំកំណើត"),
    "place_of_birth": ("Place of birth", "Birth place", "Birthplace", "BirthplaceName", "Place_of_birth",
                       "Tempat lahir", "Nơi sinh", "สถานที่เกิด", "ទីកន្លែងកំណើត"),
    "birth_combined": ("Date and place of birth", "Place and date of birth", "Tempat/tanggal lahir",
                       "Tempat, tanggal lahir", "TTL"),
    "gender": ("Gender", "Sex", "GenderCode", "M/F", "Jenis kelamin", "Giới tính", "เพศ", "ភេទ"),
    "doc_type": ("Nature of identity document", "Type of identity document", "Identity document type",
                 "IdentityDocumentType", "ID type", "Document type", "Doc type", "Type of document",
                 "Nature_of_identity_document", "Jenis dokumen", "Loại giấy tờ"),
    "doc_number": ("Number of identity document", "Serial number of identity document",
                   "Identity document number", "IdentityDocumentNumber", "Number_of_identity_document",
                   "ID No", "ID number", "Document number", "Document no", "Doc no", "Doc number",
                   "Passport No", "Passport Number", "Passport", "Seaman book no", "Seaman book number",
                   "Seaman's book no", "Seamans book", "Seafarer's identity document", "SIRB no", "SIRB",
                   "CDC no", "No. Paspor", "Nomor paspor", "No paspor", "Paspor", "Số hộ chiếu",
                   "Hộ chiếu", "เลขที่หนังสือเดินทาง", "หนังสือเดินทาง", "លេខលិខិតឆ្លងដែន"),
    "doc_combined": ("Nature and No. of identity document", "Nature and number of identity document",
                     "Nature and no of ID document", "Type and number of identity document"),
    "doc_issuer": ("Issuing State of identity document", "Issuing State", "Issuing country", "Country of issue",
                   "Issuing_State_of_Identity_Document", "IdentityDocumentIssuingState",
                   "Passport issuing country", "Passport issued by", "Issuing authority country",
                   "Negara penerbit", "Nơi cấp hộ chiếu"),
    "doc_expiry": ("Expiry date of identity document", "Expiry_Date_of_Identity_Document",
                   "IdentityDocumentExpiryDate", "Expiry date", "Date of expiry", "Expiry", "Valid until",
                   "Passport expiry", "Passport expiry date", "Passport valid until", "Doc expiry",
                   "Document expiry", "Document expiry date",
                   "Masa berlaku", "Masa berlaku paspor", "Tanggal habis berlaku", "Ngày hết hạn",
                   "Ngày hết hạn hộ chiếu", "Hạn hộ chiếu",
                   "วันหมดอายุ"),
    "embark_port": ("Port of embarkation", "Port_of_embarkation", "PortOfEmbarkation", "Embarkation port",
                    "Place of embarkation", "Embarked at", "Port joined", "Joined at", "Port of joining",
                    "Pelabuhan embarkasi", "Pelabuhan naik", "Cảng lên tàu"),
    "disembark_port": ("Port of disembarkation", "Port_of_disembarkation", "PortOfDisembarkation",
                       "Disembarkation port", "Place of disembarkation", "Disembarking at",
                       "Pelabuhan debarkasi", "Pelabuhan turun", "Cảng rời tàu"),
    "transit": ("Transit passenger or not", "Transit", "In transit", "Transit passenger", "Transit (Y/N)",
                "InTransitIndicator", "Transit indicator", "Transit_passenger"),
    "visa_number": ("Visa number if appropriate", "Visa number", "Visa no", "Visa",
                    "Visa_Residence_Permit_number", "Visa/residence permit number", "Nomor visa", "Số thị thực"),
}


def _build_aliases() -> dict[str, str]:
    """heading_key -> canonical field, from the canonical names and `_ALIAS_SOURCE`."""
    aliases: dict[str, str] = {heading_key(f): f for f in ALL_FIELDS}
    for field, headings in _ALIAS_SOURCE.items():
        for heading in headings:
            key = heading_key(heading)
            if aliases.get(key, field) != field:  # a clash is a bug in the table, caught by tests
                raise AssertionError(f"alias {heading!r} maps to both {aliases[key]} and {field}")
            aliases[key] = field
    return aliases


ALIASES: dict[str, str] = _build_aliases()

# Headings that say which document a doc_number column holds (the ingest may use them for
# doc_type when the file has no doc_type column).
_DOC_TYPE_HINTS = {
    "passport": ("Passport No", "Passport Number", "Passport", "No. Paspor", "Nomor paspor", "No paspor",
                 "Paspor", "Số hộ chiếu", "Hộ chiếu", "เลขที่หนังสือเดินทาง", "หนังสือเดินทาง",
                 "លេខលិខិតឆ្លងដែន"),
    "seaman_book": ("Seaman book no", "Seaman book number", "Seaman's book no", "Seamans book",
                    "Seafarer's identity document", "SIRB no", "SIRB", "CDC no"),
    "id_card": ("ID No", "ID number"),
}
DOC_TYPE_HINTS: dict[str, str] = {heading_key(h): t for t, hs in _DOC_TYPE_HINTS.items() for h in hs}

# Headings that imply the call's direction when the file has no direction column.
_DIRECTION_HINTS = {
    "arrival": ("Port of arrival", "Date and time of arrival", "Date of arrival", "Arrival date",
                "Arrival date/time", "Arrival datetime", "Arrival date-time", "Date/time of arrival",
                "ETA", "ATA", "Arrived", "Arrival", "Arrival time", "Time of arrival", "Tanggal tiba",
                "Tgl tiba", "Waktu tiba", "Jam tiba", "Ngày đến", "Thời gian đến", "Giờ đến",
                "Pelabuhan kedatangan", "Arrived from", "Cảng đến", "Tanggal kedatangan", "Tgl kedatangan"),
    "departure": ("Date and time of departure", "Date of departure", "Departure date", "Departure datetime",
                  "ETD", "ATD", "Departure", "Departure time", "Time of departure", "Tanggal keberangkatan",
                  "Tgl keberangkatan"),
}
DIRECTION_HINTS: dict[str, str] = {heading_key(h): d for d, hs in _DIRECTION_HINTS.items() for h in hs}


def _strip_box_number(heading: str) -> str:
    """'1.1 Name of ship' -> 'Name of ship': FAL forms number their boxes."""
    return _BOX_NUMBER.sub("", heading, count=1)


def lookup(heading: str, mapping: dict[str, str] | None = None) -> str | None:
    """The canonical field for one heading, or None; a mapping entry wins over the aliases."""
    text = str(heading).strip().rstrip(":").strip()
    if not text:
        return None
    keys = [heading_key(text)]
    stripped = _strip_box_number(text)
    if stripped != text:
        keys.append(heading_key(stripped))
    mkeys = {heading_key(h): c for h, c in mapping.items()} if mapping else {}
    found = _lookup_keys(keys, mkeys)
    if found is not None:
        return found or None  # '' means "keep this column unmapped"
    # A bilingual heading ('ท่าเรือ Port', 'Tên tàu (Vessel)'): one of its languages alone.
    for part in _heading_parts(stripped):
        found = _lookup_keys([heading_key(part)], mkeys)
        if found is not None:
            return found or None
    return None


def _lookup_keys(keys: list[str], mkeys: dict[str, str]) -> str | None:
    """The field of the first key in the analyst's mapping, else in the aliases; '' if unmapped."""
    for key in keys:
        if key in mkeys:
            return mkeys[key]
    for key in keys:
        if key in ALIASES:
            return ALIASES[key]
    return None


_PARENS = re.compile(r"\(([^()]*)\)")


def _is_latin(ch: str) -> bool:
    """True for a character of Latin-script text: ASCII, Latin letters, accents, spaces, punctuation."""
    if ch.isascii():
        return True
    if unicodedata.category(ch).startswith("M"):
        return unicodedata.name(ch, "").startswith("COMBINING")  # Vietnamese tones, not Thai vowels
    if ch.isalpha():
        return unicodedata.name(ch, "").startswith("LATIN")
    return not ch.isalnum()


def _heading_parts(text: str) -> list[str]:
    """The parts of a bilingual heading to try alone: the text in parentheses and outside them,
    the halves around ' / ', and the Latin-script and other-script parts of mixed text."""
    parts: list[str] = []
    inner = _PARENS.findall(text)
    if inner:
        parts += inner + [_PARENS.sub(" ", text)]
    halves = re.split(r"\s+/\s+|\s*\|\s*", text)
    if len(halves) > 1:
        parts += halves
    latin = "".join(ch if _is_latin(ch) else " " for ch in text)
    other = "".join(" " if _is_latin(ch) and not ch.isspace() else ch for ch in text)
    if any(ch.isalpha() for ch in latin) and any(ch.isalpha() for ch in other):
        parts += [latin, other]
    return [p for p in parts if p.strip() and p.strip() != text]


def doc_type_hint(heading: str) -> str | None:
    """'passport', 'seaman_book' or 'id_card' when a doc_number heading names the document."""
    text = _strip_box_number(str(heading).strip().rstrip(":"))
    for part in (text, *_heading_parts(text)):
        hint = DOC_TYPE_HINTS.get(heading_key(part))
        if hint:
            return hint
    return None


def direction_hint(heading: str) -> str | None:
    """'arrival' or 'departure' when a heading such as 'ETA' or 'Port of arrival' implies it."""
    text = _strip_box_number(str(heading).strip().rstrip(":"))
    for part in (text, *_heading_parts(text)):
        hint = DIRECTION_HINTS.get(heading_key(part))
        if hint:
            return hint
    return None


def birth_order(heading: str, mapping: dict[str, str] | None = None) -> tuple[str, str] | None:
    """The two fields under a merged 'Date and place of birth' heading, left to right, or None.

    Printed FAL forms merge the heading over a date column and a place column; 'Place and
    date of birth' and Indonesian 'Tempat/tanggal lahir' put the place first.
    """
    if lookup(heading, mapping) != "birth_combined":
        return None
    key = heading_key(_strip_box_number(str(heading).strip().rstrip(":").strip()))
    if key.startswith(("place", "tempat", "ttl", "noi")):
        return "place_of_birth", "date_of_birth"
    return "date_of_birth", "place_of_birth"


def map_headings(headings: list[str], mapping: dict[str, str] | None = None) -> tuple[dict[str, str], list[str]]:
    """Original heading -> canonical field for the headings piu knows, and warnings.

    When two columns map to one field, the first wins and the second stays unmapped (kept
    under its own heading), with a warning. A call time split over a date column and a time
    column maps to `call_date` and `call_hour`; a lone time-of-day heading ('Arrival time')
    with no date column is read as the full `call_time`.
    """
    result: dict[str, str] = {}
    taken: dict[str, str] = {}
    warnings: list[str] = []
    mkeys = {heading_key(h): c for h, c in (mapping or {}).items()}
    for heading in headings:
        field = lookup(heading, mapping)
        if field is None:
            continue
        if field in taken:
            warnings.append(
                f"columns '{taken[field]}' and '{heading}' both mean {field}; using '{taken[field]}', "
                f"keeping '{heading}' as an unmapped column (map headings with --map FILE)")
            continue
        taken[field] = heading
        result[heading] = field
    if "call_hour" in taken and "call_time" not in taken and "call_date" not in taken:
        # 'Date' alone is ambiguous, but beside the call's 'Time' column it is the call's date
        # (Thai lists: 'วันที่ Date | เวลา Time').
        date = next((h for h in headings if h not in result and _is_date_word(h)), None)
        if date is not None and heading_key(date) not in mkeys:
            result[date] = "call_date"
            taken["call_date"] = date
    # Date and time in separate columns: the date column is only the date part.
    if "call_hour" in taken and "call_time" in taken and "call_date" not in taken:
        if heading_key(taken["call_time"]) not in mkeys:
            result[taken["call_time"]] = "call_date"
    elif "call_hour" in taken and "call_time" not in taken and "call_date" not in taken:
        # 'Arrival time' alone usually holds the whole date-time.
        if heading_key(taken["call_hour"]) not in mkeys:
            result[taken["call_hour"]] = "call_time"
    return result, warnings


_DATE_WORDS = frozenset(heading_key(w) for w in ("Date", "วันที่", "Tanggal", "Tgl", "Ngày", "ថ្ងៃខែ"))


def _is_date_word(heading: str) -> bool:
    """True for a heading that says only 'Date' (in any of the languages piu knows)."""
    text = _strip_box_number(str(heading).strip().rstrip(":"))
    return any(heading_key(part) in _DATE_WORDS for part in (text, *_heading_parts(text)))


def _resolve_field(name: str) -> str | None:
    """A canonical field from what an analyst typed ('family_name', 'Family name'), or None."""
    key = heading_key(name)
    for field in ALL_FIELDS:
        if heading_key(field) == key:
            return field
    return None


def _check_pairs(pairs: list[tuple[int, str, str]], source: str) -> dict[str, str]:
    """Validate (line, heading, canonical) pairs into a mapping; InputError names the line."""
    mapping: dict[str, str] = {}
    seen: dict[str, tuple[int, str]] = {}
    for line, heading, canonical in pairs:
        heading, canonical = heading.strip(), canonical.strip()
        if not heading:
            raise InputError(f"{source}:{line}: empty heading", hint="write 'heading,field' on each line")
        if canonical in ("-", ""):
            field = ""
        else:
            field = _resolve_field(canonical)
            if field is None:
                close = difflib.get_close_matches(canonical.lower(), ALL_FIELDS, n=1)
                hint = f"did you mean {close[0]}?" if close else f"fields: {', '.join(ALL_FIELDS)}"
                raise InputError(f"{source}:{line}: '{canonical}' is not a piu field", hint=hint)
        key = heading_key(heading)
        if key in seen and seen[key][1] != field:
            raise InputError(f"{source}:{line}: heading '{heading}' is already mapped on line {seen[key][0]}",
                             hint="keep one line per heading")
        seen[key] = (line, field)
        mapping[heading] = field
    return mapping


def load_mapping(path: str) -> dict[str, str]:
    """Read an analyst's mapping file (CSV 'heading,field' lines, or TOML) into heading -> field.

    In CSV, an optional first line `heading,field` (or `heading,canonical`, any case), blank
    lines and `#` comments are
    skipped. In TOML, pairs go at top level or under `[headings]`. A canonical of `-` keeps a
    column unmapped even if piu would otherwise recognise it.
    """
    p = Path(path)
    name = p.name
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: mapping file not found", hint="give the path of a CSV or TOML mapping file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read mapping file ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    if p.suffix.lower() == ".toml":
        return _load_toml(text, name)
    pairs: list[tuple[int, str, str]] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for row in reader:
            line = reader.line_num
            cells = [c.strip() for c in row]
            if not any(cells) or cells[0].startswith("#"):
                continue
            while cells and not cells[-1]:
                cells.pop()
            if not pairs and [heading_key(c) for c in cells] in (["heading", "field"], ["heading", "canonical"]):
                continue
            if len(cells) != 2:
                raise InputError(f"{name}:{line}: expected 2 fields 'heading,field', found {len(cells)}",
                                 hint="quote headings that contain commas")
            pairs.append((line, cells[0], cells[1]))
    except csv.Error as exc:
        raise InputError(f"{name}:{reader.line_num}: cannot parse CSV ({exc})") from None
    if not pairs:
        raise InputError(f"{name}: mapping file has no 'heading,field' lines")
    return _check_pairs(pairs, name)


def _load_toml(text: str, name: str) -> dict[str, str]:
    """The TOML form of a mapping file; line numbers are found by searching for the key."""
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{name}: not valid TOML ({exc})") from None
    table = data.get("headings", data)
    lines = text.splitlines()
    pairs: list[tuple[int, str, str]] = []
    for heading, canonical in table.items():
        line = next((i for i, t in enumerate(lines, 1) if heading in t), 0)
        if not isinstance(canonical, str):
            raise InputError(f"{name}:{line}: the field for '{heading}' must be a string")
        pairs.append((line, heading, canonical))
    if not pairs:
        raise InputError(f"{name}: mapping file has no heading = \"field\" pairs")
    return _check_pairs(pairs, name)
