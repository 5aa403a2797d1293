"""Ingest: agents' files -> canonical calls, persons and quarantine -> one atomic store transaction.

The steps, each vectorised over whole columns:
  read (piu.io.readers) -> join call/person files by reference -> split combined fields ->
  normalise (piu.io.normalise) -> quarantine rows that cannot be stored, with reasons ->
  group persons into calls (stable call_id) -> compare with the store (new / amended / unchanged)
  -> write calls, persons, quarantine and the ingest log in one transaction.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from piu import __version__
from piu.errors import InputError
from piu.memory import keep_freed_memory
from piu.schema import (CALL_FIELDS, CALL_REF, PERSON_FIELDS, calls_schema, ingests_schema, persons_schema,
                        quarantine_schema)
from piu.store import Store, new_txn_id

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from piu.io.readers import RawTable, ReadResult

# Input-only helper fields that the readers may map and ingest splits into canonical ones.
HELPER_FIELDS = ("full_name", "doc_combined", "birth_combined", "call_date", "call_hour", "person_no")
PERSON_NAME_FIELDS = ("family_name", "given_names", "full_name")
VESSEL_ID_FIELDS = ("vessel_name", "imo", "mmsi")
PROVENANCE_COLS = ("source_file", "source_sha256", "source_sheet", "source_row", "ingest_id")


@dataclass
class FileSummary:
    """What happened to one file."""

    source_file: str
    source_sha256: str
    ingest_id: str | None = None
    status: str = "ingested"          # ingested | already-ingested | rejected (with --strict) | dry-run
    rows: int = 0
    calls_new: int = 0
    calls_amended: int = 0
    calls_unchanged: int = 0
    persons: int = 0
    quarantined: int = 0
    reasons: Counter = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    value_counts: Counter = field(default_factory=Counter)
    buddhist_years: Counter = field(default_factory=Counter)  # column -> values read as Buddhist era
    read_options: str = ""
    unknown_noted: bool = False
    previous_ingest: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (stable keys for --format json)."""
        return {
            "file": self.source_file, "sha256": self.source_sha256, "ingest_id": self.ingest_id,
            "status": self.status, "rows": self.rows, "calls_new": self.calls_new,
            "calls_amended": self.calls_amended, "calls_unchanged": self.calls_unchanged,
            "persons": self.persons, "quarantined": self.quarantined,
            "quarantine_reasons": dict(self.reasons.most_common()), "warnings": self.warnings,
            "notes": self.notes, "previous_ingest": self.previous_ingest,
        }


@dataclass
class IngestSummary:
    """What an ingest command did, per file and in total."""

    files: list[FileSummary]
    dry_run: bool = False
    errors: list[str] = field(default_factory=list)   # one line per file that could not be stored

    def totals(self) -> dict[str, int]:
        """Counts over all files."""
        keys = ("rows", "calls_new", "calls_amended", "calls_unchanged", "persons", "quarantined")
        return {k: sum(getattr(f, k) for f in self.files) for k in keys}

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        reasons: Counter = Counter()
        for f in self.files:
            reasons.update(f.reasons)
        return {"dry_run": self.dry_run, "files": [f.as_dict() for f in self.files], **self.totals(),
                "quarantine_reasons": dict(reasons.most_common()), "errors": self.errors}


@dataclass
class _Prepared:
    """One file turned into canonical tables, before the store comparison."""

    summary: FileSummary
    calls: Any          # pd.DataFrame, one row per call (this file's version)
    persons: list[Any]  # parts: Arrow tables in memory, or _Staged batches on disk (big files)
    quarantine: Any     # pd.DataFrame
    started_at: datetime
    keep: set[str] | None = None  # call ids to store (None: all); set by the store comparison
    stage: Any = None             # _Stage holding staged persons of a big file


# ---------------------------------------------------------------------------------------------
# Public entry point
# ---------------------------------------------------------------------------------------------

def ingest_files(store: Store, paths: Sequence[str], *, mapping_path: str | None = None,
                 dayfirst: bool | None = None, dry_run: bool = False, strict: bool = False,
                 force: bool = False, progress: Callable[[str], None] | None = None) -> IngestSummary:
    """Ingest manifest files into the store; returns what happened per file.

    Each file stands alone and is stored whole or not at all: a file that cannot be read (missing,
    empty, binary, without the columns piu needs), whose rows were all quarantined, or that
    `strict` rejects, is listed in `errors` and the other files are stored. When no file could
    be stored and one failed, its error is raised. Everything is written in one transaction.
    `dayfirst` None means: day-first unless a file's dates only make sense month-first.
    """
    keep_freed_memory()  # before pyarrow is first imported: its allocator reads its options then
    from piu.io.headings import load_mapping
    from piu.io.ports import PortTable
    from piu.io.readers import open_batches, read_file

    say = progress or (lambda _msg: None)
    if not paths:
        raise InputError("no files given", hint="name one or more manifest files, or - for stdin")
    mapping = load_mapping(mapping_path) if mapping_path else None
    options = _read_options(mapping, dayfirst)
    errors: list[InputError] = []
    results: list[Any] = []  # ReadResult, or BatchedRead for big flat files (read in batches)
    for path in paths:
        say(f"reading {path}")
        try:
            batched = open_batches(path, mapping=mapping)
            if batched is not None and _batchable(batched.headings, mapping):
                results.append(batched)
            else:
                results.append(read_file(path, mapping=mapping))
        except InputError as exc:
            errors.append(exc)

    store.check_version()
    ports = PortTable.load(store.home if store.exists() else None)
    known = {} if force or not store.exists() else _ingested_hashes(store)

    # Shape 3: call files (no persons) may come with person files that reference them.
    whole = [r for r in results if hasattr(r, "tables")]
    call_tables = [t for r in whole for t in r.tables if _is_call_table(t)]
    # refs that person files join to: those calls are stored once, with their persons
    joined_refs = {ref for r in whole for t in r.tables if _needs_join(t) for ref in _refs(t.frame)}

    prepared: list[_Prepared] = []
    try:
        return _prepare_and_write(store, results, prepared, errors, known, options, call_tables, joined_refs,
                                  ports, dayfirst=dayfirst, dry_run=dry_run, strict=strict, say=say)
    finally:  # staged persons (names, documents) never outlive the command, whatever failed
        for p in prepared:
            _drop_staged(p)


def _prepare_and_write(store: Store, results: list[Any], prepared: list[_Prepared], errors: list[InputError],
                       known: dict[tuple[str, str], str], options: str, call_tables: list[RawTable],
                       joined_refs: set[str], ports: Any, *, dayfirst: bool | None, dry_run: bool, strict: bool,
                       say: Callable[[str], None]) -> IngestSummary:
    """Prepare every read file (filling `prepared` as it goes, for clean-up) and write them."""
    seen_in_command: set[str] = set()
    for res in results:
        summary = FileSummary(res.source_name, res.sha256, warnings=list(res.warnings), read_options=options)
        if (res.sha256, options) in known or res.sha256 in seen_in_command:
            summary.status = "already-ingested"
            summary.previous_ingest = known.get((res.sha256, options))
            prepared.append(_Prepared(summary, None, [], None, datetime.now(timezone.utc)))
            continue
        seen_in_command.add(res.sha256)
        say(f"normalising {res.source_name}")
        try:
            p = _prepare(res, summary, call_tables, ports, dayfirst=dayfirst, joined_refs=joined_refs)
        except InputError as exc:
            errors.append(exc)
            continue
        if p.calls is not None and len(p.calls) and summary.persons == 0:
            summary.warnings.append("no persons listed for any call: persons aboard come from the declared counts only; "
                                    "if the crew and passenger lists are in another file, ingest both together")
        problem = _file_problem(p, strict)
        if problem is not None:
            errors.append(problem)
            if strict or summary.rows == 0:  # nothing of it is stored (all-quarantined rows are kept)
                _drop_staged(p)
                continue
        prepared.append(p)

    todo = [p for p in prepared if p.calls is not None]
    if not todo and len(errors) == 1 and not prepared:
        raise errors[0]  # one file, and it failed: its one-line error is the whole story
    if dry_run:
        for p in todo:
            _classify_against_store(store, p)
            p.summary.status = "dry-run"
        return IngestSummary([p.summary for p in prepared], dry_run=True, errors=[e.one_line() for e in errors])
    if todo:
        say("writing to the store")
        with store.transaction("ingest") as txn:
            for p in todo:
                _classify_against_store(store, p)  # under the lock: no race with another ingest
                _write(txn, p)
        from piu.person_index import index_written

        index_written(store, txn.written)  # a day's manifests: their lookups are ready for the next score
    return IngestSummary([p.summary for p in prepared], errors=[e.one_line() for e in errors])


def _read_options(mapping: dict[str, str] | None, dayfirst: bool | None) -> str:
    """A short digest of how files are read: the same bytes read another way are a new ingest."""
    text = json.dumps({"map": sorted((mapping or {}).items()), "dayfirst": dayfirst}, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _file_problem(p: _Prepared, strict: bool) -> InputError | None:
    """Why a read file cannot (or, with --strict, must not) be stored, or None."""
    s = p.summary
    if s.rows == 0:
        return InputError(f"{s.source_file}: no rows under the headings; nothing to store",
                          hint="check that the agent sent the list, not only the header")
    if s.quarantined and (strict or (s.persons == 0 and len(p.calls) == 0)):
        reason, _n = s.reasons.most_common(1)[0]
        what = ("--strict rejects the whole file and nothing was stored from it" if strict
                else "nothing from it could be stored; the rows are kept in quarantine")
        return InputError(f"{s.source_file}: {s.quarantined} of {s.rows} row(s) cannot be stored (e.g. {reason}); {what}",
                          hint="see `piu quarantine`, fix the file or map its headings with --map FILE, and ingest it again")
    return None


def _batchable(headings: list[str], mapping: dict[str, str] | None) -> bool:
    """A flat file can be read in batches unless its persons join calls by reference."""
    from piu.io.headings import map_headings

    mapped = set(map_headings(headings, mapping)[0].values())
    return not (CALL_REF in mapped and not mapped & set(VESSEL_ID_FIELDS))


# ---------------------------------------------------------------------------------------------
# Preparing one file
# ---------------------------------------------------------------------------------------------

def _is_call_table(t: RawTable) -> bool:
    cols = set(t.frame.columns) | set(t.header)
    has_person = any(c in cols for c in PERSON_NAME_FIELDS)
    return not has_person and CALL_REF in cols


PERSON_HINT_FIELDS = ("date_of_birth", "doc_number", "doc_combined", "birth_combined", "rank", "gender", "doc_expiry")


def _is_person_table(t: RawTable) -> bool:
    """A crew or passenger list: name columns, or (names under unknown headings) two person fields."""
    cols = set(t.frame.columns)
    return any(c in cols for c in PERSON_NAME_FIELDS) or sum(c in cols for c in PERSON_HINT_FIELDS) >= 2


def _ingested_hashes(store: Store) -> dict[tuple[str, str], str]:
    """(file SHA-256, read options) -> ingest id of what was stored before."""
    log = store.read("ingests", ingests_schema(), columns=["ingest_id", "source_sha256", "read_options"])
    default = _read_options(None, None)  # logs from before read options were recorded
    opts = [o or default for o in log["read_options"].to_pylist()]
    return dict(zip(zip(log["source_sha256"].to_pylist(), opts), log["ingest_id"].to_pylist()))


def _needs_join(t: RawTable) -> bool:
    """A person table that names its call only by reference (shape 3)."""
    cols = set(t.frame.columns) | set(t.header)
    return CALL_REF in t.frame.columns and _is_person_table(t) and not any(c in cols for c in VESSEL_ID_FIELDS)


def _refs(frame: pd.DataFrame) -> pd.Series:
    """Reference values compared case- and space-insensitively."""
    return frame[CALL_REF].astype("str").str.strip().str.upper()


def _table_rows(t: RawTable, res: ReadResult, call_tables: list[RawTable], joined_refs: set[str]) -> pd.DataFrame:
    """One RawTable as a frame of text columns plus provenance, header block broadcast in."""
    import pandas as pd

    from piu.io.headings import direction_hint, doc_type_hint

    frame = t.frame.copy()
    rows = t.source_rows
    for key, value in t.header.items():
        if key not in frame.columns or frame[key].isna().all():
            frame[key] = value
    # what a heading says when no column does: 'ETA' / 'Ngày đến' are arrivals, 'Passport No.' passports
    by_field = {field: heading for heading, field in t.column_map.items()}
    if "direction" not in frame.columns:
        hint = next((direction_hint(by_field[f]) for f in ("call_time", "call_date", "port") if f in by_field
                     and direction_hint(by_field[f])), None)
        if hint:
            frame["direction"] = hint
    if "doc_type" not in frame.columns and "doc_number" in by_field:
        hint = doc_type_hint(by_field["doc_number"])
        if hint:
            frame["doc_type"] = hint
    if _needs_join(t):
        frame = _join_calls(frame, call_tables, res.source_name)
    elif _is_call_table(t) and joined_refs:
        keep = ~_refs(frame).isin(joined_refs).to_numpy()
        frame, rows = frame[keep], rows[keep]
    frame["source_row"] = pd.Series(rows, index=frame.index, dtype="int64")
    frame["source_sheet"] = t.sheet or ""
    frame["_kind"] = "persons" if _is_person_table(t) else "calls"
    return frame


def _join_calls(persons: pd.DataFrame, call_tables: list[RawTable], source: str) -> pd.DataFrame:
    """Shape 3: bring call fields onto person rows through the reference column."""
    import pandas as pd

    if not call_tables:
        raise InputError(f"{source}: persons refer to calls by '{CALL_REF}' but no call file was given",
                         hint="ingest the call file and the person file in one command: piu ingest calls.csv persons.csv")
    calls = pd.concat([ct.frame for ct in call_tables], ignore_index=True)
    calls = calls.drop_duplicates(CALL_REF, keep="last")
    keep = [c for c in calls.columns if c in CALL_FIELDS or c in ("call_date", "call_hour") or c == CALL_REF]
    calls = calls[keep]
    ref_p = _refs(persons)
    ref_c = _refs(calls)
    calls = calls.assign(_ref=ref_c.values).drop(columns=[CALL_REF])
    merged = persons.assign(_ref=ref_p.values).merge(calls, on="_ref", how="left", suffixes=("", "_call"))
    merged.index = persons.index
    return merged.drop(columns=["_ref"])


def _prepare(res: Any, summary: FileSummary, call_tables: list[RawTable], ports: Any,
             *, dayfirst: bool, joined_refs: set[str]) -> _Prepared:
    """Normalise a file batch by batch; calls are combined at the end, persons staged per batch."""
    import pandas as pd

    started = datetime.now(timezone.utc)
    ingest_id = new_txn_id()
    summary.ingest_id = ingest_id
    batched = not hasattr(res, "tables")
    batches = res.batches() if batched else [res.tables]
    partials, persons_parts, quarantines = [], [], []
    stage = _Stage(ingest_id) if batched else None

    def work(raw: pd.DataFrame, scratch: FileSummary, dayfirst: bool) -> tuple[Any, ...]:
        """One batch, on a worker thread: normalised, split into quarantine, call partial and persons."""
        canon, problems, calls = _normalise(raw, ports, dayfirst=dayfirst, summary=scratch, ingest_id=ingest_id)
        canon["ingest_id"] = ingest_id
        canon["source_file"] = res.source_name
        canon["source_sha256"] = res.sha256
        bad = problems.notna()
        quarantine, reasons = None, []
        if bad.any():  # the first problem of each row, with the row as sent
            quarantine = quarantine_rows(raw[bad.values], problems[bad], ingest_id=ingest_id,
                                         source_file=res.source_name, sha256=res.sha256,
                                         sheets=canon.loc[bad, "source_sheet"], rows=canon.loc[bad, "source_row"])
            reasons = problems[bad].str.split("\t").str[1].tolist()
        good = canon[~bad.values].reset_index(drop=True)
        persons = _to_arrow(good[good["_kind"] == "persons"], persons_schema())
        return quarantine, reasons, _with_call_texts(_call_partial(good, calls)), persons

    firsts = None  # port and time of each call's first row in the file so far (call_id index)

    def finish(done: Any, scratch: FileSummary) -> None:
        """One batch's results, in file order: warnings, quarantine, call partial, staged persons."""
        nonlocal firsts
        quarantine, reasons, partial, persons = done.result()
        summary.value_counts.update(scratch.value_counts)
        summary.buddhist_years.update(scratch.buddhist_years)
        summary.warnings.extend(w for w in scratch.warnings if w not in summary.warnings)
        if quarantine is not None:
            quarantines.append(quarantine)
            summary.quarantined += len(quarantine)
            summary.reasons.update(reasons)
        partials.append(partial)
        summary.persons += persons.num_rows
        if stage is None:
            persons_parts.append(persons)
            return
        # a call's persons take its first row's port and time, as the stored call does (its rows
        # may be in this batch or an earlier one): staged as they will be stored, partition by partition
        lookup = None
        if len(partial):
            lookup, firsts = _first_rows(partial, firsts)
        persons_parts.append(stage.put(_aligned(persons, lookup)))

    from concurrent.futures import Future, ThreadPoolExecutor

    # Batches of a big file are normalised two at a time on worker threads (much of the work is
    # Arrow compute, which releases the GIL), and finished here in file order. Each batch counts
    # its warnings in its own scratch summary, merged in file order: the same summary as one by one.
    pending: list[tuple[Any, FileSummary]] = []
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="piu-normalise") if batched else None
    try:
        for tables in batches:
            tables = [tables] if batched else tables
            frames = [_table_rows(t, res, call_tables, joined_refs) for t in tables
                      if _is_call_table(t) or _is_person_table(t) or any(c in t.frame.columns for c in VESSEL_ID_FIELDS)]
            if not frames:
                if batched:
                    continue
                raise InputError(f"{res.source_name}: no table with call or person columns",
                                 hint="check the headings, or map them with --map FILE")
            raw = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].reset_index(drop=True)
            rows_in = sum(len(t.frame) for t in tables)
            summary.rows += rows_in
            if rows_in > len(raw):
                summary.notes.append(f"{rows_in - len(raw)} call(s) stored with their persons from the person file")
            if dayfirst is None:  # decided once per file, on its first rows
                dayfirst = _infer_dayfirst(raw, summary)
            _note_unknown_columns(tables, summary)
            scratch = FileSummary(summary.source_file, summary.source_sha256, warnings=list(summary.warnings))
            if pool is None:
                done: Future = Future()
                done.set_result(work(raw, scratch, dayfirst))
                finish(done, scratch)
                continue
            while len(pending) >= 2:  # bounded memory: at most two batches in the making
                finish(*pending.pop(0))
            pending.append((pool.submit(work, raw, scratch, dayfirst), scratch))
        while pending:
            finish(*pending.pop(0))
        if pool is not None:
            pool.shutdown(wait=True)
        summary.warnings.extend(_value_warnings(summary))
        summary.warnings.extend(_buddhist_warning(summary))
        calls = _finish_calls(partials, ingest_id, started)
        if stage:
            stage.wait()
        quarantine = pd.concat(quarantines, ignore_index=True) if quarantines else None
    except BaseException:
        # the staged persons (names, documents) must not stay behind in the temporary folder
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if stage:
            stage.drop()
        raise
    return _Prepared(summary, calls, persons_parts, quarantine, started, stage=stage)


_NUMERIC_DATE = r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2,4})\b"
# the same on ASCII text in RE2 (Python's \s there also holds \v and \x1c-\x1f; \d and \b are ASCII)
_NUMERIC_DATE_ASCII = r"^[ \t\n\r\x0b\x0c\x1c-\x1f]*(?P<a>[0-9]{1,2})[/.\-](?P<b>[0-9]{1,2})[/.\-][0-9]{2,4}\b"
_DATE_COLUMNS = ("call_time", "call_date", "date_of_birth", "doc_expiry", "birth_combined")


def _infer_dayfirst(raw: pd.DataFrame, summary: FileSummary) -> bool:
    """Day-first (the region's habit) unless the file's numeric dates only make sense month-first.

    13/05/1990 can only be day-first and 05/13/1990 only month-first; a file with only the second
    kind is read month-first, with a warning; a file with both gets a warning and stays day-first.
    """
    import numpy as np
    import pandas as pd
    import pyarrow.compute as pc

    from piu.io.normalise import arrow_text

    day_evidence = month_evidence = 0
    for col in _DATE_COLUMNS:
        if col not in raw.columns:
            continue
        values = pd.Series(pd.unique(raw[col].dropna().astype("str")), dtype="str")
        if not len(values):
            continue
        # ASCII values (nearly all) by Arrow's RE2, which reads them exactly as Python's re does;
        # the others (Unicode digits and spaces) by Python's re
        arr = arrow_text(values)
        ascii_ = pc.string_is_ascii(arr).to_numpy(zero_copy_only=False)
        found = pc.extract_regex(arr.filter(ascii_), pattern=_NUMERIC_DATE_ASCII)
        pairs = [(pc.cast(pc.struct_field(found, k), "int64").to_numpy(zero_copy_only=False) if len(found) else np.zeros(0))
                 for k in ("a", "b")]
        if not ascii_.all():
            parts = values[~ascii_].str.extract(_NUMERIC_DATE)
            pairs = [np.concatenate([p, pd.to_numeric(parts[i], errors="coerce").to_numpy(dtype=float, na_value=np.nan)])
                     for i, p in enumerate(pairs)]
        a, b = pairs
        day_evidence += int(((a > 12) & (b <= 12)).sum())
        month_evidence += int(((b > 12) & (a <= 12)).sum())
    if month_evidence and not day_evidence:
        summary.warnings.append(f"dates read month-first (MM/DD/YYYY): {month_evidence} value(s) only make sense that way; "
                                "pass --day-first to read them day-first")
        return False
    if month_evidence and day_evidence:
        summary.warnings.append(f"dates mix day-first ({day_evidence}) and month-first ({month_evidence}) values; "
                                "ambiguous ones were read day-first: check them, or pass --month-first")
    return True


def _note_unknown_columns(tables: list[RawTable], summary: FileSummary) -> None:
    """Say which headings piu did not recognise (kept as extra), once per file."""
    unknown = [c for t in tables for c in t.unknown_columns if str(c).strip() and not str(c).startswith("Unnamed")]
    if unknown and not summary.unknown_noted:
        summary.unknown_noted = True
        shown = ", ".join(repr(str(c)) for c in unknown[:8]) + (f" and {len(unknown) - 8} more" if len(unknown) > 8 else "")
        summary.warnings.append(f"{len(unknown)} column(s) not recognised, kept as extra: {shown}; "
                                "if one holds a piu field, map it with --map FILE")


class _Staged:
    """One batch of persons staged on disk: Parquet files as the store keeps them, one per partition."""

    def __init__(self) -> None:
        self.files: list[tuple[str, str, Path]] = []  # (port key, month key, file), filled by the stage's thread


class _Stage:
    """Persons of a big file staged on local disk between batches (bounded memory)."""

    def __init__(self, ingest_id: str) -> None:
        import tempfile

        self.dir = Path(tempfile.mkdtemp(prefix=f"piu-ingest-{ingest_id}-"))
        self.n = 0
        self._pool: Any = None
        self._writing: list[Any] = []  # batches being written on the worker threads, oldest first

    def put(self, table: Any) -> _Staged:
        """Write one batch of persons, split by partition and encoded as the store's Parquet files
        (on a worker thread: Arrow's writer releases the GIL, so the next batch is normalised
        meanwhile, and the files are moved into the store as they are); complete once `wait` returns."""
        staged = _Staged()
        while len(self._writing) >= 2:  # two batches in flight: memory stays bounded, and the
            self._writing.pop(0).result()  # last two are written while the calls are finished
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="piu-stage")
        self._writing.append(self._pool.submit(self._write, table, staged, self.n))
        self.n += 1
        return staged

    def _write(self, table: Any, staged: _Staged, n: int) -> None:
        from piu.store import partitions, write_parquet

        for i, (port, month, part) in enumerate(partitions(table) if table.num_rows else []):
            path = self.dir / f"persons-{n}-{i}.parquet"
            write_parquet(part, path)
            staged.files.append((port, month, path))

    def wait(self) -> None:
        """Wait until every staged batch is on disk (raises the first writer's error)."""
        writing, self._writing = self._writing, []
        errors = [f.exception() for f in writing]
        error = next((e for e in errors if e is not None), None)
        if error is not None:
            raise error

    def drop(self) -> None:
        """Remove the staged files."""
        import shutil

        with contextlib.suppress(BaseException):
            self.wait()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        shutil.rmtree(self.dir, ignore_errors=True)


def _drop_staged(p: _Prepared) -> None:
    if p.stage is not None:
        p.stage.drop()


def _col(frame: pd.DataFrame, name: str) -> pd.Series:
    """A text column, or an all-missing one when the file did not have it."""
    import pandas as pd

    if name in frame.columns:
        s = frame[name]
        return s.astype("str").where(s.notna(), None) if s.dtype != "str" else s
    return pd.Series(pd.NA, index=frame.index, dtype="str")


CALL_SOURCE_FIELDS = (*CALL_FIELDS, "call_date", "call_hour")


def _problem_setter(problem_holder: list) -> Callable[..., None]:
    """flag(mask, column, reason): record a row's first problem as 'column\treason'."""
    def flag(mask: pd.Series, column: str, reason: str) -> None:
        problem = problem_holder[0]
        mask = mask.fillna(False).astype(bool) & problem.isna()
        if mask.any():
            problem_holder[0] = problem.mask(mask, f"{column}\t{reason}")
    return flag


def _row_codes(frame: pd.DataFrame) -> tuple[Any, Any]:
    """Codes of identical rows (all columns as text) and the position of each distinct row's first use."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    if frame.shape[1] == 0:
        return np.zeros(len(frame), dtype=np.intp), np.zeros(min(1, len(frame)), dtype=np.intp)
    from piu.io.normalise import arrow_text

    n = len(frame)
    if n > 1:
        # a call's rows usually follow each other: a row equal to the one before has its code, so
        # only the first row of each run is coded (the code order, first appearance, is the same)
        same = np.ones(n - 1, dtype=bool)
        for c in frame.columns:
            arr = arrow_text(frame[c])
            a, b = arr.slice(1), arr.slice(0, n - 1)
            eq = pc.or_kleene(pc.fill_null(pc.equal(a, b), False), pc.and_(pc.is_null(a), pc.is_null(b)))
            same &= eq.to_numpy(zero_copy_only=False)
        heads = np.flatnonzero(np.concatenate(([True], ~same)))
        if 2 * len(heads) <= n:
            head_codes, head_first = _row_codes(frame.iloc[heads])
            return np.repeat(head_codes, np.diff(np.append(heads, n))), heads[head_first]

    # each column's values as small integers (missing: one more code), combined into one integer per
    # row: no text is built or hashed per row
    combined, card = np.zeros(len(frame), dtype=np.int64), 1
    for c in frame.columns:
        enc = arrow_text(frame[c]).dictionary_encode()
        k = len(enc.dictionary) + 1
        if card * k >= 2**62:  # renumber the combination so far before it could overflow
            combined = pd.factorize(combined)[0].astype(np.int64)
            card = int(combined.max()) + 1
        idx = pc.fill_null(enc.indices, pa.scalar(k - 1, enc.indices.type)).to_numpy(zero_copy_only=False)
        combined = combined * k + idx.astype(np.int64)
        card *= k
    codes, _uniques = pd.factorize(combined)  # numbered in order of first appearance
    first = np.full(codes.max() + 1 if len(codes) else 0, -1, dtype=np.intp)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)  # the last write per code is its first row
    return codes, first


_ROW_CALL_COLS = ("call_id", "version_id", "port", "call_time", "month")


def _normalise(raw: pd.DataFrame, ports: Any, *, dayfirst: bool, summary: FileSummary, ingest_id: str = ""
               ) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """Canonical typed columns from text, one problem ('column\treason') per bad row, and the calls.

    Call fields repeat on every person row of a flat list, so they are normalised once per
    distinct combination; the rows carry only their call's id, port and time, plus `_code`, the
    position of their call row in the third result (the typed call fields, for `_call_partial`).
    Person fields are normalised column by column.
    """
    import pandas as pd

    from piu.io import normalise as nz

    n = len(raw)
    idx = raw.index
    call_cols = [c for c in CALL_SOURCE_FIELDS if c in raw.columns]
    codes, first = _row_codes(raw[call_cols])
    calls_out, call_problem, call_warnings, call_buddhist = _normalise_calls(raw.iloc[first].reset_index(drop=True),
                                                                             ports, dayfirst=dayfirst, summary=summary)
    calls_out = _with_call_ids(calls_out, ingest_id)
    # per row only what a stored person row takes from its call; the call fields stay per distinct
    # call row (`calls`), and `_code` says which one is each row's
    out = calls_out[[c for c in _ROW_CALL_COLS if c in calls_out.columns]].take(codes)
    out.index = idx
    out["_code"] = codes
    for mask, column, what in call_warnings:
        _warn_values(summary, pd.Series(mask.to_numpy()[codes]), column, what)
    if call_buddhist.any():  # counted per row, as the warnings above
        _count_buddhist(summary, call_buddhist.to_numpy()[codes], "call_time")
    holder = [pd.Series(call_problem.array.take(codes), index=idx)]  # text taken in Arrow, no Python objects
    flag = _problem_setter(holder)

    # cleaned text per row where rows need it (stored as text, or split); the other fields are
    # normalised once per distinct value as sent (`per_value`)
    txt = {c: nz.clean_text(_col(raw, c)) for c in ("family_name", "given_names", "rank", "place_of_birth", "doc_number",
                                                      "visa_number", "full_name", "doc_combined", "birth_combined")}

    def per_value(c: str, fn: Callable[[pd.Series], Any]) -> Any:
        """fn (value by value) of a person field, on its distinct values when they repeat."""
        distinct = None if c in txt else _repeated_values(_col(raw, c))
        if distinct is None:
            if c not in txt:
                txt[c] = nz.clean_text(_col(raw, c))
            return fn(txt[c])
        codes, values = distinct
        return _spread_rows(fn(nz.clean_text(values)), codes, idx)

    is_person = pd.Series(raw["_kind"].values == "persons", index=idx)

    # --- split helper fields into canonical ones ----------------------------------------
    names_missing = txt["family_name"].isna() & txt["given_names"].isna()
    if txt["full_name"].notna().any():
        # 'TAN, Wei Ming' (FAL item 7, family name first) splits at the comma; a name without one
        # is kept whole as given names (Burmese and many Indonesian names have no family name)
        parts = txt["full_name"].str.split(",", n=1, regex=False)
        has_comma = names_missing & txt["full_name"].str.contains(",", regex=False).fillna(False).astype(bool)
        txt["family_name"] = txt["family_name"].mask(has_comma, nz.clean_text(parts.str[0]))
        txt["given_names"] = txt["given_names"].mask(has_comma, nz.clean_text(parts.str[1]))
        txt["given_names"] = txt["given_names"].mask(names_missing & ~has_comma, txt["full_name"])
    if txt["doc_combined"].notna().any():
        # 'Passport AA1234567', 'Seaman book: SB-1234': the number is the last token with a digit
        parts = txt["doc_combined"].str.extract(r"^\s*(?P<t>.*?)[\s:#]*(?P<n>[^\s:#]*\d[^\s:#]*)\s*$")
        txt["doc_type"] = nz.clean_text(_col(raw, "doc_type")).fillna(nz.clean_text(parts["t"]))
        txt["doc_number"] = txt["doc_number"].fillna(nz.clean_text(parts["n"]))
    if txt["birth_combined"].notna().any():
        parts = txt["birth_combined"].str.extract(r"^\s*(?P<d>[\d./\-]+(?:\s+\w{3,9}\s+\d{4})?)[\s,;/-]*(?P<p>.*)$")
        txt["date_of_birth"] = nz.clean_text(_col(raw, "date_of_birth")).fillna(nz.clean_text(parts["d"]))
        txt["place_of_birth"] = txt["place_of_birth"].fillna(nz.clean_text(parts["p"]))

    # --- person fields ------------------------------------------------------------------
    out["family_name"] = txt["family_name"]
    out["given_names"] = txt["given_names"]
    out["name_key"] = nz.name_key(_joined_names(txt["family_name"], txt["given_names"]))
    flag(is_person & txt["family_name"].isna() & txt["given_names"].isna(), "family_name", "no person name")
    role, no_role = per_value("role", lambda t: (nz.role(t), t.isna()))
    out["role"] = role.values.fillna("crew")  # crew lists are the common case; FAL 6 headers say passenger
    flag(is_person & role.invalid, "role", "role is neither crew nor passenger")
    if is_person.any() and no_role.all() and "no crew/passenger column: persons read as crew" not in summary.warnings:
        summary.warnings.append("no crew/passenger column: persons read as crew")
    out["rank"] = txt["rank"]
    nat = per_value("nationality", nz.country)
    out["nationality"] = nat.values
    _warn_values(summary, nat.invalid & is_person, "nationality", "not a known country; kept as sent")
    dob = per_value("date_of_birth", lambda t: nz.parse_dates(t, dayfirst=dayfirst))
    out["date_of_birth"] = dob.values
    if dob.buddhist.any():
        _count_buddhist(summary, (dob.buddhist & is_person).to_numpy(), "date_of_birth")
    if is_person.any():  # an agent's export without a column the rules need: said once per file
        for fields, what in ((("date_of_birth", "birth_combined"), "no date-of-birth column: the persons' ages are "
                              "unknown, so minor-in-crew cannot judge these calls"),
                             (("doc_number", "doc_combined"), "no document-number column: every person counts as "
                              "without a document, and documents are not compared")):
            if not any(f in raw.columns for f in fields) and what not in summary.warnings:
                summary.warnings.append(what)
    if dob.bad_year.any():
        flag(is_person & dob.bad_year, "date_of_birth", f"date of birth has a year out of range ({nz.YEAR_RANGE})")
    flag(is_person & dob.invalid, "date_of_birth", "date of birth is not a date (expected DD/MM/YYYY)")
    out["place_of_birth"] = txt["place_of_birth"]
    g = per_value("gender", nz.gender)
    out["gender"] = g.values
    _warn_values(summary, g.invalid & is_person, "gender", "not M/F; left empty")
    out["gender"] = out["gender"].where(~g.invalid.fillna(False).astype(bool), None)
    out["doc_type"] = per_value("doc_type", nz.doc_type)
    out["doc_number"] = nz.doc_number(txt["doc_number"])
    issuer = per_value("doc_issuer", nz.country)
    out["doc_issuer"] = issuer.values
    exp = per_value("doc_expiry", lambda t: nz.parse_dates(t, dayfirst=dayfirst))
    out["doc_expiry"] = exp.values
    if exp.buddhist.any():
        _count_buddhist(summary, (exp.buddhist & is_person).to_numpy(), "doc_expiry")
    if exp.bad_year.any():
        flag(is_person & exp.bad_year, "doc_expiry", f"document expiry has a year out of range ({nz.YEAR_RANGE})")
    flag(is_person & exp.invalid, "doc_expiry", "document expiry is not a date (expected DD/MM/YYYY)")
    for c in ("embark_port", "disembark_port"):
        out[c] = per_value(c, lambda t: nz.port(t, ports).values)
    tr = per_value("transit", nz.boolean)
    out["transit"] = tr.values
    out["visa_number"] = nz.doc_number(txt["visa_number"])

    # --- everything else: kept, as JSON, in `extra` ---------------------------------------
    known = set(CALL_SOURCE_FIELDS) | set(PERSON_FIELDS) | set(HELPER_FIELDS) | {CALL_REF, "source_row", "source_sheet", "_kind"}
    extra_cols = [c for c in raw.columns if c not in known and not str(c).endswith("_call")]
    if CALL_REF in raw.columns:
        extra_cols = [CALL_REF, *extra_cols]
    out["extra"] = _extra_json(raw, extra_cols)
    out["source_row"] = raw["source_row"].values
    out["source_sheet"] = raw["source_sheet"].values
    out["_kind"] = raw["_kind"].values
    assert len(out) == n
    return out, holder[0], calls_out


def _repeated_values(col: pd.Series) -> tuple[Any, pd.Series] | None:
    """(each row's code, the distinct values as sent plus a last slot for missing) of a text column
    whose values repeat (at most half of them distinct), else None."""
    import pandas as pd
    import pyarrow as pa

    from piu.io import normalise as nz

    arr = nz.arrow_text(col)
    enc = arr.dictionary_encode()
    if 2 * len(enc.dictionary) > len(arr):
        return None
    values = pd.Series(pd.array(pa.concat_arrays([enc.dictionary, pa.nulls(1, enc.dictionary.type)]), dtype="str"))
    return enc.indices.fill_null(len(enc.dictionary)).to_numpy(zero_copy_only=False), values


def _spread_rows(result: Any, codes: Any, index: pd.Index) -> Any:
    """Results per distinct value (a Series, a Normalised or a tuple of them) taken back to the rows."""
    import pandas as pd

    from piu.io.normalise import Dates, Normalised

    if isinstance(result, (Normalised, Dates)):
        return type(result)(*(_spread_rows(r, codes, index) for r in result))
    if isinstance(result, tuple):
        return tuple(_spread_rows(r, codes, index) for r in result)
    if result.dtype == bool and not result.any():  # a rare mask (dates of the Buddhist era): no take
        import numpy as np

        return pd.Series(np.zeros(len(codes), dtype=bool), index=index, name=result.name)
    return pd.Series(result.array.take(codes), index=index, name=result.name)


def _joined_names(family: pd.Series, given: pd.Series) -> pd.Series:
    """clean_text of 'FAMILY GIVEN' (a missing part as ''), from two clean_text columns, in Arrow.

    Clean parts hold no leading, trailing or repeated spaces, so joining the present parts with one
    space (missing when both are) is already clean; it is marked so, and name_key does not clean
    120,000 distinct names again.
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    from piu.io import normalise as nz

    if not (nz._is_clean(family) and nz._is_clean(given)):  # not clean parts: the general way
        return family.fillna("").str.cat(given.fillna(""), sep=" ")
    empty = pa.scalar("", pa.large_string())
    # (null_handling="skip" would do, but pyarrow 26 drops the rows where both parts are missing)
    joined = pc.binary_join_element_wise(pc.fill_null(nz.arrow_text(family), empty), pc.fill_null(nz.arrow_text(given), empty),
                                         pa.scalar(" ", pa.large_string()))
    joined = pc.utf8_trim(joined, characters=" ")  # the separator, when a part is missing
    joined = pc.if_else(pc.equal(joined, ""), pa.scalar(None, joined.type), joined)
    return nz._mark_clean(pd.Series(pd.array(joined, dtype="str"), index=family.index))


def _normalise_calls(raw: pd.DataFrame, ports: Any, *, dayfirst: bool, summary: FileSummary
                     ) -> tuple[pd.DataFrame, pd.Series, list[tuple[Any, str, str]], pd.Series]:
    """Call fields of distinct call rows: typed columns, first problem per row, value warnings, and
    which call times had a Buddhist-era year."""
    import pandas as pd

    from piu.io import normalise as nz

    n = len(raw)
    idx = raw.index
    out = pd.DataFrame(index=idx)
    holder = [pd.Series(pd.NA, index=idx, dtype="str")]
    flag = _problem_setter(holder)
    warnings: list[tuple[Any, str, str]] = []
    txt = {c: nz.clean_text(_col(raw, c)) for c in CALL_SOURCE_FIELDS}
    if txt["call_date"].notna().any():
        joined = txt["call_date"].str.cat(txt["call_hour"].fillna(""), sep=" ").str.strip()
        txt["call_time"] = txt["call_time"].fillna(joined)

    port = nz.port(txt["port"], ports)
    out["port"] = port.values
    warnings.append((port.invalid, "port", "not a known port; kept as sent, and its call times read as UTC "
                     "(give the UN/LOCODE, or load the official list with `piu ports import FILE`)"))
    flag(txt["port"].isna(), "port", "no port of call")

    direction = nz.direction(txt["direction"])
    out["direction"] = direction.values.fillna("arrival")
    flag(direction.invalid, "direction", "direction is neither arrival nor departure")
    if n and txt["direction"].isna().all() and "no direction column: calls read as arrivals" not in summary.warnings:
        summary.warnings.append("no direction column: calls read as arrivals")

    tz = ports.timezone(out["port"])
    times = nz.parse_times(txt["call_time"], tz, dayfirst=dayfirst)
    out["call_time"] = times.values
    flag(txt["call_time"].isna(), "call_time", "no date of arrival/departure")
    if times.bad_year.any():
        flag(times.bad_year, "call_time", f"date of arrival/departure has a year out of range ({nz.YEAR_RANGE})")
    flag(times.invalid, "call_time", "date of arrival/departure is not a date (expected DD/MM/YYYY HH:MM)")
    out["_tz"] = tz

    out["vessel_name"] = txt["vessel_name"]
    out["vessel_name_key"] = nz.name_key(txt["vessel_name"])
    flag(txt["vessel_name"].isna() & txt["imo"].isna() & txt["mmsi"].isna(), "vessel_name",
         "no vessel identity (name, IMO or MMSI)")
    imo = nz.imo(txt["imo"])
    out["imo"] = imo["imo"]
    out["imo_valid"] = imo["imo_valid"]
    mmsi = nz.mmsi(txt["mmsi"])
    for c in ("mmsi", "mmsi_valid", "mmsi_country"):
        out[c] = mmsi[c]
    out["call_sign"] = txt["call_sign"].str.upper().str.replace(" ", "", regex=False)
    flag_state = nz.country(txt["flag"])
    out["flag"] = flag_state.values
    warnings.append((flag_state.invalid, "flag", "not a known country; kept as sent"))
    out["vessel_type"] = txt["vessel_type"]
    out["vessel_category"] = nz.vessel_category(txt["vessel_type"])
    for c, conv in (("gross_tonnage", nz.to_float), ("year_built", nz.to_int), ("capacity", nz.to_int),
                    ("declared_crew", nz.to_int), ("declared_passengers", nz.to_int)):
        r = conv(txt[c])
        out[c] = r.values
        warnings.append((r.invalid, c, "not a number; left empty"))
    for c in ("last_port", "next_port"):
        out[c] = nz.port(txt[c], ports).values
    out["agent"] = txt["agent"]
    return out, holder[0], warnings, times.buddhist


def _warn_values(summary: FileSummary, invalid: pd.Series, column: str, what: str) -> None:
    """Count values kept as sent or left empty (warned once per file, counts only: no personal data)."""
    count = int(invalid.fillna(False).astype(bool).sum())
    if count:
        summary.value_counts[(column, what)] += count


def _value_warnings(summary: FileSummary) -> list[str]:
    return [f"{column}: {n} value(s) {what}" for (column, what), n in summary.value_counts.items()]


_BUDDHIST_COLUMNS = ("date_of_birth", "doc_expiry", "call_time")


def _count_buddhist(summary: FileSummary, mask: Any, column: str) -> None:
    """Count the values of a date column read with a Buddhist-era year (a vectorised sum)."""
    count = int(mask.sum())
    if count:
        summary.buddhist_years[column] += count


def _buddhist_warning(summary: FileSummary) -> list[str]:
    """One warning per file for all dates read as Buddhist era: counts per column, no values."""
    from piu.io.normalise import buddhist_era_warning

    warning = buddhist_era_warning((c, summary.buddhist_years[c]) for c in _BUDDHIST_COLUMNS)
    return [warning] if warning else []


def _extra_json(raw: pd.DataFrame, cols: list[str]) -> pd.Series:
    """Unknown columns as one JSON object per row, built column-wise (no per-row loop)."""
    import pandas as pd

    if not cols:
        return pd.Series(None, index=raw.index, dtype="str")
    pieces = []
    for c in cols:
        s = raw[c].astype("str")
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        enc = [json.dumps(str(c), ensure_ascii=False) + ":" + json.dumps(u, ensure_ascii=False) for u in uniques]
        encoded = pd.Series(pd.array(enc, dtype="str")[codes] if len(enc) else [None] * len(s), index=raw.index, dtype="str")
        encoded = encoded.where(codes >= 0, None)
        pieces.append(encoded)
    joined = pieces[0]
    for p in pieces[1:]:
        joined = joined.str.cat(p, sep=",", na_rep="\x00")
    joined = joined.str.replace(r"(^\x00,|,\x00|^\x00$)", "", regex=True)
    return ("{" + joined.fillna("") + "}").replace("{}", None)


def quarantine_rows(raw_bad: pd.DataFrame, problems: pd.Series, *, ingest_id: str, source_file: str,
                    sha256: str, sheets: Any, rows: Any) -> pd.DataFrame:
    """Bad rows for the quarantine dataset: provenance, column and reason ('column\treason'),
    and the row as sent as JSON (built column-wise, so a wholly bad column of 100k rows is cheap)."""
    import pandas as pd

    cols = [c for c in raw_bad.columns if c not in ("source_row", "source_sheet", "_kind")]
    split = problems.str.split("\t", n=1)
    return pd.DataFrame({
        "ingest_id": ingest_id,
        "source_file": source_file,
        "source_sha256": sha256,
        "source_sheet": pd.Series(sheets, index=raw_bad.index).fillna("").to_numpy() if not isinstance(sheets, str) else sheets,
        "source_row": pd.Series(rows, index=raw_bad.index).to_numpy(),
        "column": split.str[0].to_numpy(),
        "reason": split.str[1].to_numpy(),
        "raw": _extra_json(raw_bad, cols).fillna("{}").to_numpy(),
    })


_CALL_TEXT = ("port", "direction", "call_time", "call_time_local")


def _with_call_ids(good: pd.DataFrame, ingest_id: str) -> pd.DataFrame:
    """Each row's stable call_id (port, local date, direction, vessel) and version id."""
    import numpy as np
    import pandas as pd

    if len(good) == 0:
        return good.assign(call_id=pd_str([]), version_id=pd_str([]))
    # local date of the call in its port's zone: the day an analyst would name
    local_date = _local_dates(good["call_time"], good["_tz"])
    vkey = good["imo"].where(good["imo_valid"].fillna(False).astype(bool))
    vkey = vkey.fillna(good["mmsi"].where(good["mmsi_valid"].fillna(False).astype(bool)))
    named = vkey.isna().to_numpy()  # no valid IMO or MMSI: the vessel is known by a hash of its name
    if named.any():
        by_name = good[named]
        name_hash = _short_hash(by_name["vessel_name_key"].fillna(by_name["imo"]).fillna(by_name["mmsi"]).fillna(""))
        vkey = vkey.fillna("N" + name_hash)
    dir_code = pd.Series(np.where((good["direction"] == "departure").fillna(False).to_numpy(bool), "D", "A"),
                         index=good.index, dtype="str")
    port_txt = good["port"].fillna("").str.replace(r"[^A-Za-z0-9]", "", regex=True).str.upper().str[:8]
    call_id = port_txt + "-" + local_date + "-" + dir_code + "-" + vkey
    good = good.assign(call_id=call_id.values, version_id=(call_id + "@" + ingest_id).values)
    good["month"] = _strftime(good["call_time"], "%Y-%m")
    return good


def pd_str(values: list[str]) -> Any:
    """An empty-safe string Series."""
    import pandas as pd

    return pd.Series(values, dtype="str")


def _person_hash(persons: pd.DataFrame) -> Any:
    """32-bit content hash per person row; sums of these per call are order-insensitive and exact."""
    import numpy as np

    pcols = [c for c in persons_schema().names if c in persons.columns and c not in PROVENANCE_COLS
             and c not in ("call_id", "version_id", "port", "call_time", "month")]
    # typed columns hash as they are (formatting dates to text first would cost more than the hash)
    return _row_hashes(persons, pcols) >> np.uint64(32)


def _row_hashes(frame: pd.DataFrame, columns: list[str]) -> Any:
    """pd.util.hash_pandas_object(frame[columns], index=False), with text columns hashed from their
    Arrow bytes by `_siphash` (numpy, without the GIL) instead of one Python string per value."""
    import numpy as np
    import pandas as pd

    def hashed(col: pd.Series) -> Any:
        if isinstance(col.array, pd.arrays.ArrowStringArray):
            from piu.io.normalise import arrow_text

            # pandas' own way for Arrow text: each distinct value hashed, taken back; missing: all ones
            enc = arrow_text(col).dictionary_encode()
            per_value = _mix(_siphash(enc.dictionary))
            codes = enc.indices.fill_null(0).to_numpy(zero_copy_only=False)
            out = per_value.take(codes) if len(per_value) else np.zeros(len(codes), dtype=np.uint64)
            out[enc.indices.is_null().to_numpy(zero_copy_only=False)] = np.uint64(0xFFFFFFFFFFFFFFFF)
            return out
        return pd.util.hash_array(col.array)

    # pandas' combine_hash_arrays: CPython's tuple hash over the columns' hashes
    out = np.full(len(frame), 0x345678, dtype=np.uint64)
    mult = np.uint64(1000003)
    with np.errstate(over="ignore"):
        for i, c in enumerate(columns):
            out ^= hashed(frame[c])
            out *= mult
            mult += np.uint64(82520 + 2 * (len(columns) - i))
        out += np.uint64(97531)
    return out


def _mix(vals: Any) -> Any:
    """The bit mixing pandas applies to every 64-bit value hash (splitmix64's finaliser)."""
    import numpy as np

    vals = vals.copy()
    with np.errstate(over="ignore"):
        vals ^= vals >> np.uint64(30)
        vals *= np.uint64(0xBF58476D1CE4E5B9)
        vals ^= vals >> np.uint64(27)
        vals *= np.uint64(0x94D049BB133111EB)
        vals ^= vals >> np.uint64(31)
    return vals


def _rotl(x: Any, bits: int) -> Any:
    import numpy as np

    return (x << np.uint64(bits)) | (x >> np.uint64(64 - bits))


def _sip_rounds(v: list[Any], n: int) -> None:
    for _ in range(n):
        v[0] += v[1]; v[1] = _rotl(v[1], 13); v[1] ^= v[0]; v[0] = _rotl(v[0], 32)  # noqa: E702
        v[2] += v[3]; v[3] = _rotl(v[3], 16); v[3] ^= v[2]                          # noqa: E702
        v[0] += v[3]; v[3] = _rotl(v[3], 21); v[3] ^= v[0]                          # noqa: E702
        v[2] += v[1]; v[1] = _rotl(v[1], 17); v[1] ^= v[2]; v[2] = _rotl(v[2], 32)  # noqa: E702


def _siphash(arr: Any, key: bytes = b"0123456789123456") -> Any:
    """SipHash-2-4 of each value's UTF-8 bytes (an Arrow text array without missing values), as
    pandas' hash_object_array computes it with its default key; all values at once, in numpy."""
    import numpy as np
    import pyarrow as pa

    if arr.type != pa.large_string():
        arr = arr.cast(pa.large_string())
    n = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset:arr.offset + n + 1]
    data = arr.buffers()[2]
    size = int(offsets[-1]) if n else 0
    padded = np.zeros(size + 16, dtype=np.uint8)  # room to read 8 bytes past any value's end
    if size:
        padded[:size] = np.frombuffer(data, dtype=np.uint8)[:size]
    # a little-endian 64-bit word at every byte position (unaligned reads, no copies)
    words = np.lib.stride_tricks.as_strided(np.frombuffer(padded.data, dtype="<u8", count=1), shape=(size + 9,), strides=(1,))
    start, length = offsets[:-1], offsets[1:] - offsets[:-1]
    k0, k1 = (np.uint64(int.from_bytes(key[i:i + 8], "little")) for i in (0, 8))
    v = [np.full(n, k0 ^ np.uint64(0x736F6D6570736575)), np.full(n, k1 ^ np.uint64(0x646F72616E646F6D)),
         np.full(n, k0 ^ np.uint64(0x6C7967656E657261)), np.full(n, k1 ^ np.uint64(0x7465646279746573))]
    blocks = length // 8
    with np.errstate(over="ignore"):
        for j in range(int(blocks.max()) if n else 0):  # whole 8-byte blocks
            more = blocks > j
            if more.all():
                m = words[start + 8 * j]
                v[3] ^= m
                _sip_rounds(v, 2)
                v[0] ^= m
            else:  # only the values that are that long
                idx = np.flatnonzero(more)
                m = words[start[idx] + 8 * j]
                sub = [v[0][idx], v[1][idx], v[2][idx], v[3][idx] ^ m]
                _sip_rounds(sub, 2)
                sub[0] ^= m
                for k in range(4):
                    v[k][idx] = sub[k]
        # the last block: the remaining bytes and the length's low byte at the top
        rest = (length % 8).astype(np.uint64) * np.uint64(8)
        keep = np.where(rest == 0, np.uint64(0), (np.uint64(1) << rest) - np.uint64(1))
        last = (words[start + 8 * blocks] & keep) | ((length.astype(np.uint64) & np.uint64(0xFF)) << np.uint64(56))
        v[3] ^= last
        _sip_rounds(v, 2)
        v[0] ^= last
        v[2] ^= np.uint64(0xFF)
        _sip_rounds(v, 4)
    return v[0] ^ v[1] ^ v[2] ^ v[3]


def _call_partial(good: pd.DataFrame, calls: pd.DataFrame) -> pd.DataFrame:
    """Per call of one batch: first non-null call fields, first source row, persons' hash sum.

    `good` holds the batch's stored rows (`_code`: the row's distinct call row in `calls`); the
    result is what a group-by of the rows on call_id would give, computed on the distinct call
    rows: rows with one code have identical call fields.
    """
    import numpy as np
    import pandas as pd

    names = [c for c in calls_schema().names if c not in ("call_id", "version_id")]
    call_level = [c for c in names if c in calls.columns]
    call_cols = [c for c in names if c in call_level or c in good.columns]
    row_level = [c for c in call_cols if c not in call_level]
    if len(good) == 0:
        return pd.DataFrame(columns=[*call_cols, "_tz", "_phash"], index=pd.Index([], name="call_id", dtype="str"))
    codes = good["_code"].to_numpy()
    # calls in order of their first stored row, and each row's call (group) number
    cid, _ = pd.factorize(calls["call_id"])
    group, _ = pd.factorize(cid[codes])
    n = int(group.max()) + 1
    first = np.empty(n, dtype=np.intp)
    first[group[::-1]] = np.arange(len(group) - 1, -1, -1)  # the last write per group is its first row
    first_code = codes[first]
    part = pd.concat([calls[call_level + ["_tz"]].iloc[first_code].reset_index(drop=True),
                      good[row_level].iloc[first].reset_index(drop=True)], axis=1)[[*call_cols, "_tz"]]
    part.index = pd.Index(calls["call_id"].iloc[first_code].array, name="call_id")
    gaps = [c for c in call_cols if c not in ("source_row", "source_sheet") and part[c].isna().any()]
    if gaps and len(good) > n:
        # first non-null value per call: over its distinct call rows in order of first use (the
        # first row with a value is its call row's first row), over the rows for per-row fields
        gap_calls = [c for c in gaps if c in call_level]
        gap_rows = [c for c in gaps if c not in call_level]
        if gap_calls:
            pairs = pd.unique(group.astype(np.int64) * len(calls) + codes)
            pg, pc_ = pairs // len(calls), pairs % len(calls)
            filled = calls[gap_calls].iloc[pc_].reset_index(drop=True).groupby(pg, sort=False).first()
            part[gap_calls] = filled.reindex(range(n)).set_axis(part.index).astype(part[gap_calls].dtypes.to_dict())
        if gap_rows:
            filled = good[gap_rows].groupby(group, sort=False).first()
            part[gap_rows] = filled.reindex(range(n)).set_axis(part.index).astype(part[gap_rows].dtypes.to_dict())
    by_group = pd.Series(good["source_row"].to_numpy()).groupby(group, sort=False)
    part["source_row"] = by_group.min().reindex(range(n)).to_numpy()
    is_person = (good["_kind"] == "persons").to_numpy()
    ph = np.where(is_person, _person_hash(good), np.uint64(0))
    part["_phash"] = pd.Series(ph).groupby(group, sort=False).sum().reindex(range(n)).to_numpy()
    return part


def _finish_calls(partials: list[pd.DataFrame], ingest_id: str, started: datetime) -> pd.DataFrame:
    """Calls of the whole file from the batches' partials, with version ids and content hashes."""
    import numpy as np
    import pandas as pd

    partials = [p for p in partials if len(p)]
    if not partials:
        return pd.DataFrame(columns=calls_schema().names)
    both = pd.concat(partials) if len(partials) > 1 else partials[0]
    both_ids = pd.Series(both.index.to_numpy())
    if len(partials) > 1:  # a call whose rows span batches: combine in file order
        grouped = both.groupby(level=0, sort=False)
        combined = grouped.first()
        combined["source_row"] = grouped["source_row"].min()
        combined["_phash"] = grouped["_phash"].sum()
        both = combined
    calls = both.rename_axis("call_id").reset_index()
    calls["version_id"] = calls["call_id"] + "@" + ingest_id
    calls["ingested_at"] = pd.Timestamp(started)
    calls["month"] = _strftime(calls["call_time"], "%Y-%m").where(calls["call_time"].notna())
    # local time and content hash of each call: made per batch on the worker threads; made again
    # here for calls whose rows span batches (their fields combined above), and for all calls when
    # some call time has a fraction of a second (pandas then shows every time with one)
    done = "_call_h" in calls.columns and _whole_seconds(calls["call_time"])
    redo = calls["call_id"].isin(both_ids[both_ids.duplicated()]).to_numpy() if done else np.ones(len(calls), bool)
    local = calls.pop("call_time_local") if "call_time_local" in calls.columns else None
    call_h = calls.pop("_call_h").to_numpy(np.uint64) if "_call_h" in calls.columns else np.zeros(len(calls), np.uint64)
    if redo.any():
        redo_local, redo_h = _call_texts(calls[redo])
        local = redo_local if local is None or redo.all() else local.mask(redo, redo_local)
        call_h = call_h.copy()
        call_h[redo] = redo_h
    calls["call_time_local"] = local
    # content hash: call fields + persons, order-insensitive, so a re-sent identical manifest is "unchanged"
    person_h = calls["_phash"].fillna(0).to_numpy(np.uint64)
    calls["content_hash"] = _hex(call_h, person_h)
    return calls.drop(columns=["_phash"])


_NOT_HASHED = ("call_id", "version_id", "ingest_id", "ingested_at", "content_hash", "month", "call_time_local",
               "source_row", "source_sheet")


def _call_texts(calls: pd.DataFrame) -> tuple[pd.Series, Any]:
    """Per call: its local time (ISO 8601 with offset) and the 64-bit hash of its call fields as text."""
    import pandas as pd

    local = _local_iso(calls["call_time"], calls["_tz"].values)
    names = set(calls_schema().names)
    hash_cols = [c for c in calls.columns if c in names and c not in PROVENANCE_COLS and c not in _NOT_HASHED]
    as_text = pd.DataFrame({c: _as_str(calls[c]) for c in hash_cols}, index=calls.index)
    return local, _row_hashes(as_text, hash_cols)


def _with_call_texts(partial: pd.DataFrame) -> pd.DataFrame:
    """A batch's call partial with each call's local time and call-field hash (see _finish_calls)."""
    if not len(partial):
        return partial
    local, call_h = _call_texts(partial)
    return partial.assign(call_time_local=local, _call_h=call_h)


def _whole_seconds(times: pd.Series) -> bool:
    """True when no time has a fraction of a second (missing times aside)."""
    import numpy as np

    values = times.to_numpy(dtype="datetime64[ns]", na_value=np.datetime64(0, "ns")).view(np.int64)
    return not (values % 10**9).any()


def _as_str(col: pd.Series) -> pd.Series:
    """col.astype("str"), formatted once per distinct value (pandas formats times value by value in
    Python); whole-second UTC times, the usual call times, formatted by Arrow exactly as pandas does."""
    import pandas as pd

    if col.dtype == "str":
        return col
    if col.dtype.kind == "f":  # floats as they are: factorize takes -0.0 for 0.0
        return col.astype("str")
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    per_second = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}
    if (isinstance(uniques, pd.DatetimeIndex) and str(uniques.tz) == "UTC" and uniques.unit in per_second
            and len(uniques) and not (uniques.asi8 % per_second[uniques.unit]).any()):
        import pyarrow as pa
        import pyarrow.compute as pc

        secs = pa.array(uniques.tz_localize(None)).cast(pa.timestamp("s"))  # whole seconds: exact
        text = pd.array(pc.binary_join_element_wise(pc.strftime(secs, format="%Y-%m-%d %H:%M:%S"), "+00:00", ""),
                        dtype="str")
    else:
        text = pd.Series(uniques).astype("str").array
    return pd.Series(text.take(codes, allow_fill=True), index=col.index)


def _hex(*columns: Any) -> pd.Series:
    """Per row, the uint64 values of the columns as 16 lower-case hex digits each, joined."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    raw = np.stack([np.asarray(v, dtype=np.uint64) for v in columns], axis=1).astype(">u8").view(np.uint8)
    raw = raw.reshape(len(columns[0]), 8 * len(columns))  # big-endian bytes: the most significant digit first
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    chars = np.empty((raw.shape[0], 2 * raw.shape[1]), dtype=np.uint8)
    chars[:, 0::2], chars[:, 1::2] = digits[raw >> 4], digits[raw & 15]
    # an Arrow string array straight from the fixed-width bytes: no Python string per row
    width = chars.shape[1]
    offsets = np.arange(0, width * (len(chars) + 1), width, dtype=np.int32)
    text = pa.StringArray.from_buffers(len(chars), pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(chars)))
    return pd.Series(pd.array(text, dtype="str"))


_DATE_FORMATS = ("%Y%m%d", "%Y-%m")  # formats Arrow gives exactly as pandas does, at any time unit


def _strftime(times: pd.Series, fmt: str) -> pd.Series:
    """Format times once per distinct value (a call's time repeats on each of its persons' rows)."""
    import pandas as pd

    codes, uniques = pd.factorize(times, use_na_sentinel=True)
    uniques = pd.DatetimeIndex(uniques)
    if len(uniques) and (fmt in _DATE_FORMATS or ("%z" in fmt and uniques.tz is not None)):
        # pandas formats value by value in Python (slow); Arrow does it in C++, identically: dates
        # from the local wall-clock times pandas computes (Arrow's own zone rules stop at 2037),
        # with seconds in the format at second precision, as pandas shows them
        import pyarrow as pa
        import pyarrow.compute as pc

        if fmt in _DATE_FORMATS:
            arr = pa.array(uniques.tz_localize(None) if uniques.tz is not None else uniques)
        else:
            arr = pa.array(uniques).cast(pa.timestamp("s", tz=str(uniques.tz)), safe=False)
        text = pc.strftime(arr, format=fmt)
        text = pa.concat_arrays([text, pa.array([""], type=text.type)])  # code -1 (missing) picks ''
        return pd.Series(pd.array(text, dtype="str").take(codes), index=times.index)
    text = pd.array(list(uniques.strftime(fmt)) + [""], dtype="str")
    return pd.Series(text.take(codes), index=times.index)


def _per_zone(times: pd.Series, tzs: Any, fmt: str) -> pd.Series:
    """Each UTC time formatted in its row's time zone (per distinct zone, per distinct time)."""
    import pandas as pd

    tzs = pd.Series(tzs, index=times.index).fillna("UTC")
    out = pd.Series("", index=times.index, dtype="str")
    for tz in pd.unique(tzs):
        mask = (tzs == tz).values
        out[mask] = _strftime(times[mask].dt.tz_convert(tz), fmt)
    return out


def _local_dates(times: pd.Series, tzs: pd.Series) -> pd.Series:
    """YYYYMMDD of each UTC time in its row's time zone."""
    return _per_zone(times, tzs, "%Y%m%d")


def _local_iso(times: pd.Series, tzs: Any) -> pd.Series:
    """ISO 8601 local time with offset, for display."""
    return _per_zone(times, tzs, "%Y-%m-%dT%H:%M:%S%z").str.replace(r"([+-]\d\d)(\d\d)$", r"\1:\2", regex=True)


def _short_hash(s: pd.Series) -> pd.Series:
    """8 hex characters of SHA-256 of each distinct value (stable across runs and machines)."""
    import pandas as pd

    codes, uniques = pd.factorize(s)
    hashed = [hashlib.sha256(str(u).encode()).hexdigest()[:8].upper() for u in uniques.tolist()]
    return pd.Series(pd.array(hashed, dtype="str")[codes], index=s.index, dtype="str")


# ---------------------------------------------------------------------------------------------
# Store comparison and writing
# ---------------------------------------------------------------------------------------------

def _classify_against_store(store: Store, p: _Prepared) -> None:
    """Mark each call new, amended (content differs from the current version) or unchanged."""
    import pandas as pd

    from piu.queries import latest_versions

    calls = p.calls
    if len(calls) == 0:
        p.calls = calls
        return
    # distinct values via unique().tolist(): iterating 50,000 Arrow-backed values one by one costs ~0.05 s
    existing = store.read("calls", calls_schema(), ports=sorted(set(calls["port"].dropna().unique().tolist())) or None,
                          months=sorted(set(calls["month"].dropna().unique().tolist())) or None,
                          columns=["call_id", "ingest_id", "content_hash"]).to_pandas() if store.exists() else pd.DataFrame(
                              columns=["call_id", "ingest_id", "content_hash"])
    current = latest_versions(existing).set_index("call_id")["content_hash"] if len(existing) else pd.Series(dtype="str")
    prev = calls["call_id"].map(current)
    unchanged = (prev == calls["content_hash"]).fillna(False).astype(bool)
    amended = prev.notna() & ~unchanged
    p.summary.calls_unchanged = int(unchanged.sum())
    p.summary.calls_amended = int(amended.sum())
    p.summary.calls_new = int(prev.isna().sum())
    p.calls = calls[~unchanged.values].reset_index(drop=True)
    if unchanged.any():
        p.keep = set(p.calls["call_id"])
        p.summary.persons = sum(t.num_rows for t in _persons_tables(p))


def _to_arrow(frame: pd.DataFrame, schema: Any) -> Any:
    """A DataFrame as an Arrow table in exactly the dataset's schema (missing columns null)."""
    import pyarrow as pa

    arrays = []
    n = len(frame)
    for f in schema:
        if f.name in frame.columns:
            col = frame[f.name]
            if pa.types.is_date32(f.type) and str(col.dtype).startswith("datetime64"):
                col = col.to_numpy().astype("datetime64[D]")  # Arrow reads day precision as date32
            try:
                arr = pa.array(col, type=f.type, from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                arr = pa.array(col.astype("object").where(col.notna(), None), type=f.type, from_pandas=True)
        else:
            arr = pa.nulls(n, type=f.type)
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, schema=schema)


def _write(txn: Any, p: _Prepared) -> None:
    """Write one prepared file (calls, persons, quarantine, log row) into the transaction."""
    import pandas as pd

    s = p.summary
    txn.write("calls", _to_arrow(p.calls, calls_schema()))
    lookup = None
    for part in p.persons:
        if isinstance(part, _Staged) and p.keep is None:
            for port, month, path in part.files:  # aligned, split and encoded already: moved in
                txn.add_file("persons", port, month, path)
            continue
        lookup = lookup or _call_lookup(p.calls)
        for persons in _part_tables(p, part, lookup):
            txn.write("persons", persons, background=True)  # encoded on other threads while the next part is read
    if p.quarantine is not None and len(p.quarantine):
        txn.write("quarantine", _to_arrow(p.quarantine, quarantine_schema()))
    log = pd.DataFrame([{
        "ingest_id": s.ingest_id, "started_at": pd.Timestamp(p.started_at),
        "finished_at": pd.Timestamp(datetime.now(timezone.utc)), "source_file": s.source_file,
        "source_sha256": s.source_sha256, "rows": s.rows, "calls_new": s.calls_new,
        "calls_amended": s.calls_amended, "calls_unchanged": s.calls_unchanged, "persons": s.persons,
        "quarantined": s.quarantined, "piu_version": __version__, "user": _user(),
        "read_options": s.read_options,
    }])
    txn.write("ingests", _to_arrow(log, ingests_schema()))


def _persons_tables(p: _Prepared) -> Iterator[Any]:
    """The file's persons part by part, only calls being stored."""
    for part in p.persons:
        yield from _part_tables(p, part, None)


def _call_lookup(calls: pd.DataFrame) -> tuple[Any, Any] | None:
    """(call ids, their port, call_time and month) for `_aligned`."""
    import pandas as pd
    import pyarrow as pa

    if not len(calls):
        return None
    if "call_id" in calls.columns:
        ids = pa.array(calls["call_id"].astype("str").tolist(), type=pa.string())
    else:  # a batch's partial: call ids as its index (Arrow-backed text: no Python objects)
        from piu.io.normalise import arrow_text

        ids = arrow_text(pd.Series(calls.index.astype("str").array)).cast(pa.string())
        calls = calls.assign(month=_strftime(calls["call_time"], "%Y-%m"))  # what _finish_calls stores
    return ids, pa.Table.from_pandas(calls[["port", "call_time", "month"]], preserve_index=False)


def _aligned(table: Any, lookup: tuple[Any, Any] | None) -> Any:
    """Persons with their call's canonical port, call_time and month (its first row's), so that
    persons and calls fall into the same partitions (`lookup`: `_call_lookup` of their calls)."""
    import pyarrow.compute as pc

    if lookup is None or not table.num_rows:
        return table
    pos = pc.index_in(table["call_id"], value_set=lookup[0])
    for col in ("port", "call_time", "month"):
        i = table.schema.get_field_index(col)
        table = table.set_column(i, col, lookup[1][col].take(pos).cast(table.schema.field(col).type))
    return table


def _first_rows(partial: pd.DataFrame, firsts: tuple[Any, Any] | None) -> tuple[tuple[Any, Any], tuple[Any, Any]]:
    """(a `_call_lookup` of the batch's calls with the port, time and month of each call's first
    row in the file, the calls seen so far with theirs), given those of the earlier batches."""
    import pyarrow as pa
    import pyarrow.compute as pc

    ids, values = _call_lookup(partial)
    if firsts is None:
        return (ids, values), (ids, values)
    seen_ids, seen = firsts
    pos = pc.index_in(ids, value_set=seen_ids)  # a call that began in an earlier batch: its values then
    earlier = pos.is_valid()
    both = pa.concat_tables([seen, values])
    canon = both.take(pc.if_else(earlier, pos, pa.array(range(len(seen), len(seen) + len(ids)), pa.int32())))
    new = pc.invert(earlier)
    return (ids, canon), (pa.concat_arrays([seen_ids, ids.filter(new)]), pa.concat_tables([seen, values.filter(new)]))


def _part_tables(p: _Prepared, part: Any, lookup: tuple[Any, Any] | None) -> Iterator[Any]:
    """One part of the persons as tables: only calls being stored, aligned to `lookup` when given
    (staged parts were aligned when staged)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    tables = [pq.read_table(path) for _port, _month, path in part.files] if isinstance(part, _Staged) else [part]
    for table in tables:
        if p.keep is not None:
            table = table.filter(pc.is_in(table["call_id"], value_set=pa.array(sorted(p.keep), type=pa.string())))
        yield table if isinstance(part, _Staged) else _aligned(table, lookup)


def _user() -> str:
    """Who ran the command ($PIU_USER, else the OS user)."""
    from piu.who import current_user

    return current_user()


def ingest_log(store: Store) -> pd.DataFrame:
    """Past ingests, newest first."""
    frame = store.read("ingests", ingests_schema()).to_pandas()
    return frame.sort_values("started_at", ascending=False).reset_index(drop=True)

