"""The data contract: canonical column names and the Arrow schemas of every stored dataset.

Everything that reads or writes the store goes through these schemas; rules, reports and the
exchange format refer to these column names. Changing a name here is an API change.

Imports pyarrow lazily (inside functions) so that `import piu.schema` stays cheap.
"""

from __future__ import annotations

STORE_FORMAT_VERSION = 1

# Canonical input/output fields of a call (DESIGN.md, "Canonical records").
CALL_FIELDS: tuple[str, ...] = (
    "port", "direction", "call_time", "vessel_name", "imo", "mmsi", "call_sign", "flag",
    "vessel_type", "gross_tonnage", "year_built", "capacity", "last_port", "next_port",
    "declared_crew", "declared_passengers", "agent",
)

# Canonical input/output fields of a person (one row of a FAL 5 or FAL 6 list).
PERSON_FIELDS: tuple[str, ...] = (
    "role", "family_name", "given_names", "rank", "nationality", "date_of_birth",
    "place_of_birth", "gender", "doc_type", "doc_number", "doc_issuer", "doc_expiry",
    "embark_port", "disembark_port", "transit", "visa_number",
)

# Reference column joining separate call and person files (shape 3).
CALL_REF = "call_ref"

# Provenance carried by every stored row.
PROVENANCE_FIELDS: tuple[str, ...] = (
    "ingest_id", "source_file", "source_sha256", "source_sheet", "source_row",
)

VESSEL_CATEGORIES = ("passenger", "fishing", "cargo", "tanker", "other")
ROLES = ("crew", "passenger")
DIRECTIONS = ("arrival", "departure")
BANDS = ("low", "medium", "high")


def _t():
    import pyarrow as pa
    return pa


def calls_schema():
    """Schema of the `calls` dataset: one row per version of a call."""
    pa = _t()
    return pa.schema([
        ("call_id", pa.string()),          # stable, printable: KHKOS-20261129-A-9074729
        ("version_id", pa.string()),       # call_id + '@' + ingest_id: one version of a call
        ("port", pa.string()),             # UN/LOCODE (as sent when unknown)
        ("direction", pa.string()),        # arrival | departure
        ("call_time", pa.timestamp("us", tz="UTC")),
        ("call_time_local", pa.string()),  # ISO 8601 with the port's offset, for display
        ("vessel_name", pa.string()),      # trimmed, spaces collapsed
        ("vessel_name_key", pa.string()),  # ASCII-folded, upper case, punctuation removed
        ("imo", pa.string()),              # 7 digits when parseable, else as sent
        ("imo_valid", pa.bool_()),         # null when no IMO was sent
        ("mmsi", pa.string()),
        ("mmsi_valid", pa.bool_()),
        ("mmsi_country", pa.string()),     # alpha-3 of the MMSI's MID
        ("call_sign", pa.string()),
        ("flag", pa.string()),             # ISO 3166-1 alpha-3 (as sent when unknown)
        ("vessel_type", pa.string()),      # as sent, trimmed
        ("vessel_category", pa.string()),  # passenger|fishing|cargo|tanker|other
        ("gross_tonnage", pa.float64()),
        ("year_built", pa.int32()),
        ("capacity", pa.int32()),
        ("last_port", pa.string()),
        ("next_port", pa.string()),
        ("declared_crew", pa.int32()),
        ("declared_passengers", pa.int32()),
        ("agent", pa.string()),
        ("extra", pa.string()),            # JSON object of columns piu does not know
        ("content_hash", pa.string()),     # SHA-256 of the call's normalised content + persons
        ("ingest_id", pa.string()),
        ("ingested_at", pa.timestamp("us", tz="UTC")),
        ("source_file", pa.string()),
        ("source_sha256", pa.string()),
        ("source_sheet", pa.string()),
        ("source_row", pa.int64()),        # first source row of the call
        ("month", pa.string()),            # partition: YYYY-MM of call_time (UTC)
    ])


def persons_schema():
    """Schema of the `persons` dataset: one row per listed person per call version."""
    pa = _t()
    return pa.schema([
        ("call_id", pa.string()),
        ("version_id", pa.string()),
        ("port", pa.string()),
        ("call_time", pa.timestamp("us", tz="UTC")),
        ("role", pa.string()),             # crew | passenger
        ("family_name", pa.string()),
        ("given_names", pa.string()),
        ("name_key", pa.string()),         # ASCII-folded upper-case "FAMILY GIVEN"
        ("rank", pa.string()),
        ("nationality", pa.string()),      # alpha-3
        ("date_of_birth", pa.date32()),
        ("place_of_birth", pa.string()),
        ("gender", pa.string()),           # M | F | X
        ("doc_type", pa.string()),         # passport | seaman_book | id_card | other (as sent if unknown)
        ("doc_number", pa.string()),       # upper case, no spaces or dashes
        ("doc_issuer", pa.string()),       # alpha-3
        ("doc_expiry", pa.date32()),
        ("embark_port", pa.string()),
        ("disembark_port", pa.string()),
        ("transit", pa.bool_()),
        ("visa_number", pa.string()),
        ("extra", pa.string()),
        ("ingest_id", pa.string()),
        ("source_file", pa.string()),
        ("source_sha256", pa.string()),
        ("source_sheet", pa.string()),
        ("source_row", pa.int64()),
        ("month", pa.string()),
    ])


def quarantine_schema():
    """Schema of the `quarantine` dataset: rows an agent sent that could not be stored."""
    pa = _t()
    return pa.schema([
        ("ingest_id", pa.string()),
        ("source_file", pa.string()),
        ("source_sha256", pa.string()),
        ("source_sheet", pa.string()),
        ("source_row", pa.int64()),
        ("column", pa.string()),           # canonical column at fault ('' for whole row)
        ("reason", pa.string()),           # one line an analyst can act on
        ("raw", pa.string()),              # JSON object of the row as sent
    ])


def ingests_schema():
    """Schema of the `ingests` dataset: the ingest log, one row per ingested file."""
    pa = _t()
    return pa.schema([
        ("ingest_id", pa.string()),
        ("started_at", pa.timestamp("us", tz="UTC")),
        ("finished_at", pa.timestamp("us", tz="UTC")),
        ("source_file", pa.string()),
        ("source_sha256", pa.string()),
        ("rows", pa.int64()),
        ("calls_new", pa.int64()),
        ("calls_amended", pa.int64()),
        ("calls_unchanged", pa.int64()),
        ("persons", pa.int64()),
        ("quarantined", pa.int64()),
        ("piu_version", pa.string()),
        ("user", pa.string()),
        ("read_options", pa.string()),     # digest of --map and date order: same bytes read anew
    ])


def scores_schema():
    """Schema of the `scores` dataset: one row per scored call version and rule-set version."""
    pa = _t()
    return pa.schema([
        ("call_id", pa.string()),
        ("version_id", pa.string()),
        ("port", pa.string()),
        ("call_time", pa.timestamp("us", tz="UTC")),
        ("ruleset_version", pa.string()),
        ("scored_at", pa.timestamp("us", tz="UTC")),
        ("scored_by", pa.string()),
        ("persons_aboard", pa.int32()),    # listed persons (declared counts when no list was sent)
        ("score", pa.int32()),
        ("band", pa.string()),
        ("hits", pa.string()),             # JSON list of {rule, title, weight, evidence, persons}
        ("month", pa.string()),
    ])
