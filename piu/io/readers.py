"""Read whatever a shipping agent sends into raw text tables with mapped headings.

Formats are recognised by content, not by extension: CSV/TSV (delimiter sniffed among
`, ; TAB |`; UTF-8 with or without BOM, UTF-16, Thai Windows-874 or cp1252 fallback), XLSX (every sheet), and
JSON Lines. Three layouts are handled: a flat list, the IMO FAL form layout (a header block of
label/value cells above the list table, title and footer rows around it) and separate call and
person files (each read on its own; the ingest joins them on `call_ref`).

Every value stays text as sent (dates in XLSX cells become ISO text); normalising is the job of
`piu.io.normalise`. Each frame row carries its source row number as a person sees it in Excel or
a text editor. Any bytes either read or raise `InputError` with one line naming the file; messages
never quote cell values, which may be personal data.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Iterator
from typing import Any, Callable

import numpy as np
import pandas as pd

from piu.errors import InputError
from piu.io.headings import CALL_LIKE, PERSON_LIKE, birth_order, direction_hint, lookup, map_headings
from piu.io.headings import lookup as heading_lookup

_HEAD_BYTES = 1 << 16           # bytes sniffed for encoding, delimiter and layout
_SCAN_ROWS = 200                # rows searched for the table's heading row
_DELIMITERS = (",", ";", "\t", "|")

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"), (b"\x1f\x8b", "a gzip archive"), (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"), (b"\x7fELF", "a program"), (b"MZ\x90\x00", "a Windows program"),
)
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_FORMATS_HINT = "piu reads CSV, TSV, XLSX or JSON Lines; save the manifest in one of these"

_TITLE_CREW = re.compile(r"crew\s*list|\bfal\s*(?:form)?\s*(?:no\.?\s*)?5\b|danh\s*s[aá]ch\s*thuy[eề]n\s*vi[eê]n"
                         r"|daftar\s*(?:awak|abk|kru)|รายชื่อลูกเรือ", re.IGNORECASE)
_TITLE_PAX = re.compile(r"passenger\s*list|\bfal\s*(?:form)?\s*(?:no\.?\s*)?6\b|danh\s*s[aá]ch\s*h[aà]nh\s*kh[aá]ch"
                        r"|daftar\s*penumpang|รายชื่อผู้โดยสาร", re.IGNORECASE)
_MARK = r"[☐☑☒■□✓✔✗xX]|\[\s*[xX✓✔]?\s*\]|\(\s*[xX✓✔]?\s*\)"
_CHECKBOX = re.compile(rf"^\s*(?P<pre>{_MARK})?\s*(?P<word>arrival|departure)\s*(?P<post>{_MARK})?\s*$", re.IGNORECASE)
_CHECKED = re.compile(r"^\s*(?:[☑☒■✓✔✗xX]|\[\s*[xX✓✔]\s*\]|\(\s*[xX✓✔]\s*\)|yes)\s*$", re.IGNORECASE)
_DIRECTION_WORD = re.compile(r"\b(arrival|departure)\b", re.IGNORECASE)
# Rows under a list that are not persons: signature lines, stamps, totals, page numbers.
_FOOTER = re.compile(r"signature|\bsigned\b|^(?:ship'?s\s+|official\s+)?stamp\b|prepared\s+by|page\s+\d+\s+of"
                     r"|^total\b|authori[sz]ed\s+(?:agent|officer)|date\s+and\s+sign|tanda\s+tangan|chữ\s+ký",
                     re.IGNORECASE)
_TITLE = r"(?:the\s+)?(?:ship'?s\s+)?(?:master|captain|nakhoda|kapten|thuy[eề]n\s*tr[uư][oở]ng|นายเรือ)"
# The master's title alone ('Nakhoda / Master', 'Captain:') or with the name ('Master: Budi').
_SIGNATORY = re.compile(rf"^{_TITLE}(?:\s*[/,&]\s*{_TITLE})*\s*(?::.*)?$", re.IGNORECASE)
_BOX_ROW_CELL = re.compile(r"^\(?\d{1,2}(?:\.\d)?[.)]?$")
# A cell that only separates a label from its value ('Nama Kapal | : | KM SINAR').
_SEPARATOR = re.compile(r"^\s*[:=\-–—]+\s*$")
# A time of day alone in a cell (a datetime.time cell reads as '22:15:00').
_TIME_ONLY = re.compile(r"^\d{1,2}[:.h]\d{2}(?:[:.]\d{2})?\s*(?:[ap]\.?m\.?)?\s*(?:hrs?|hours|h|lt|local)?$", re.IGNORECASE)
_HAS_TIME = re.compile(r"\d{1,2}:\d{2}")


@dataclass
class RawTable:
    """One table read from a file or sheet: text columns, mapped headings, source rows."""

    sheet: str                      # '' for CSV/JSONL; the sheet name for XLSX
    frame: pd.DataFrame             # all text; columns canonical where matched, else as sent
    source_rows: np.ndarray         # int64, 1-based row/line number in the file or sheet
    header: dict[str, str] = field(default_factory=dict)       # FAL header block: call fields, 'role'
    column_map: dict[str, str] = field(default_factory=dict)   # original heading -> canonical
    unknown_columns: list[str] = field(default_factory=list)


@dataclass
class ReadResult:
    """Everything read from one file, with its identity for provenance."""

    source_name: str                # basename of the file, '<stdin>' for '-'
    sha256: str
    size: int
    tables: list[RawTable]
    warnings: list[str]             # no personal data


# --------------------------------------------------------------------------------------------
# entry point


def read_file(path: str, *, mapping: dict[str, str] | None = None) -> ReadResult:
    """Read a CSV/TSV, XLSX or JSON Lines file (or stdin for '-') into raw tables."""
    import hashlib

    name, raw = _read_bytes(path)
    warnings: list[str] = []
    tables = _read_any(raw, name, mapping, warnings)
    return ReadResult(source_name=name, sha256=hashlib.sha256(raw).hexdigest(), size=len(raw),
                      tables=tables, warnings=warnings)


def _read_bytes(path: str) -> tuple[str, bytes]:
    """The display name and raw bytes of a path, or of stdin for '-'."""
    if path == "-":
        return "<stdin>", sys.stdin.buffer.read()
    p = Path(path)
    try:
        return p.name, p.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file", hint="check the path") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not a file", hint="give one manifest file") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied", hint="check the file's permissions") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or type(exc).__name__})") from None


def _read_any(raw: bytes, name: str, mapping: dict[str, str] | None, warnings: list[str]) -> list[RawTable]:
    """Dispatch on content: XLSX, known binary formats, or text (JSON Lines or delimited)."""
    blank = b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"
    if not raw[:4096].strip(blank) and not raw.strip(blank):
        raise InputError(f"{name}: file is empty", hint="the agent's file has no content; ask for it again")
    if raw.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _read_xlsx(raw, name, mapping, warnings)
    if raw.startswith(_OLE):
        raise InputError(f"{name}: legacy Excel .xls (or password-protected) workbook",
                         hint="open it in a spreadsheet program and save as .xlsx or CSV")
    for magic, what in _MAGIC:
        if raw.startswith(magic):
            raise InputError(f"{name}: not a spreadsheet or text file (looks like {what})", hint=_FORMATS_HINT)
    text, utf8 = _decode(raw, name, warnings)
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return [_read_jsonl(text, name, mapping, warnings)]
    return [_read_delimited(text, utf8, name, mapping, warnings)]


# --------------------------------------------------------------------------------------------
# text decoding


def _looks_thai(raw: bytes) -> bool:
    """Bytes that are not UTF-8 and read as Thai (Windows-874 / TIS-620, what Thai Excel saves): their
    non-ASCII bytes are Thai letters, mostly in runs (whole words), not accents between ASCII letters."""
    runs = re.findall(rb"[\x80-\xff]+", raw[: 4 * _HEAD_BYTES])
    n = sum(len(r) for r in runs)
    if n < 8:
        return False
    thai = sum(1 for r in runs for b in r if 0xA1 <= b <= 0xDA or 0xDF <= b <= 0xFB)
    in_words = sum(len(r) for r in runs if len(r) >= 3)
    return thai >= 0.95 * n and in_words >= 0.6 * n


def _decode(raw: bytes, name: str, warnings: list[str]) -> tuple[str, bytes | None]:
    """Bytes to text (BOMs, UTF-16 without BOM, UTF-8, else cp1252 with a warning), and the
    UTF-8 bytes without BOM when the input already was UTF-8 (saves re-encoding big files)."""
    encoding = None
    utf8: bytes | None = None
    if raw.startswith(b"\xef\xbb\xbf"):
        encoding, raw = "utf-8", raw[3:]
    elif raw.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        encoding = "utf-32"
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    else:
        head = raw[:_HEAD_BYTES]
        if b"\x00" in head:
            # ASCII text saved as UTF-16 without a BOM has a NUL in every other byte.
            even, odd = head[0::2].count(0), head[1::2].count(0)
            half = max(1, len(head) // 2)
            if odd > 0.4 * half and even < 0.05 * half:
                encoding = "utf-16-le"
            elif even > 0.4 * half and odd < 0.05 * half:
                encoding = "utf-16-be"
            else:
                raise InputError(f"{name}: not a spreadsheet or text file (binary data)", hint=_FORMATS_HINT)
    if encoding:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            raise InputError(f"{name}: not valid {encoding.upper()} text", hint="re-save it as UTF-8") from None
    else:
        try:
            text = raw.decode("utf-8")
            utf8 = raw
        except UnicodeDecodeError:
            try:
                if _looks_thai(raw):
                    text = raw.decode("cp874")
                    warnings.append(f"{name}: not UTF-8, read as Thai (Windows-874/TIS-620); check the names")
                else:
                    text = raw.decode("cp1252")
                    warnings.append(f"{name}: not UTF-8, read as cp1252 (Windows Latin-1); check accented names")
            except UnicodeDecodeError:
                text = raw.decode("latin-1")
                warnings.append(f"{name}: not UTF-8, read as Latin-1; check accented names")
    text = text.removeprefix("\ufeff")
    head = text[:_HEAD_BYTES]
    controls = sum(1 for ch in head if unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f\x1a")
    if "\x00" in text or controls > max(2, len(head) // 100):
        raise InputError(f"{name}: not a spreadsheet or text file (binary data)", hint=_FORMATS_HINT)
    if encoding == "utf-8":
        utf8 = raw
    return text, utf8


# --------------------------------------------------------------------------------------------
# delimited text


def _sniff_delimiter(head: str) -> str:
    """The delimiter that splits the first lines into the most rows of one width (> 1)."""
    lines = [ln for ln in head.splitlines()[:60] if ln.strip()]
    if len(head) >= _HEAD_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line of a cut head may be partial
    best, best_score = ",", (0, 0)
    for delim in _DELIMITERS:
        try:
            widths = [len(r) for r in csv.reader(lines, delimiter=delim)]
        except csv.Error:
            continue
        multi = [w for w in widths if w > 1]
        if not multi:
            continue
        mode = max(set(multi), key=multi.count)
        score = (multi.count(mode), mode)
        if score > best_score:
            best, best_score = delim, score
    return best


def _parse_records(text: str, delim: str, name: str) -> tuple[list[list[str]], list[int]]:
    """All records with the line number each starts on (blank lines included as [])."""
    csv.field_size_limit(1 << 30)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    rows: list[list[str]] = []
    lines: list[int] = []
    prev = 0
    try:
        for rec in reader:
            rows.append(rec)
            lines.append(prev + 1)
            prev = reader.line_num
    except csv.Error as exc:
        raise InputError(f"{name}:{prev + 1}: cannot parse as CSV ({exc})",
                         hint="check quotes on that line, or re-save the file from a spreadsheet") from None
    if lines:
        # The csv module (non-strict) silently reads a quote that is never closed to the end of
        # the file, swallowing every later row into one cell; only the last record can do that.
        opened = _unclosed_quote_line(text, delim, lines[-1])
        if opened is not None:
            raise InputError(f"{name}:{opened}: a quote opened on this line is never closed; "
                             "the rest of the file would be read as one cell",
                             hint="close or remove the quote on that line, or re-save the file from a spreadsheet")
    return rows, lines


_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# A quoted field as the csv module reads it: '""' is a literal quote; possessive so that
# '"abc""' at the end of the file does not backtrack into a (wrongly) closed field.
_QUOTED = re.compile(r'"(?:[^"]++|"")*+"')


def _unclosed_quote_line(text: str, delim: str, start_line: int) -> int | None:
    """The line where a quoted field of the record starting on `start_line` opens and runs to
    the end of the text unclosed, or None when the record ends properly."""
    import itertools

    offset = 0
    if start_line > 1:  # the end of line break number start_line - 1, counted as csv.reader does
        offset = next(itertools.islice(_LINE_BREAK.finditer(text), start_line - 2, None)).end()
    unquoted = re.compile(rf"[^{re.escape(delim)}\r\n]*")
    pos = offset
    while pos < len(text):
        if text[pos] == '"':
            m = _QUOTED.match(text, pos)
            if m is None:
                return start_line + len(_LINE_BREAK.findall(text, offset, pos))
            pos = m.end()
        # After a field's closing quote (or in an unquoted field) quotes are literal to the csv module.
        pos = unquoted.match(text, pos).end()
        if pos >= len(text) or text[pos] != delim:
            return None
        pos += 1
    return None


def _read_delimited(text: str, utf8: bytes | None, name: str, mapping: dict[str, str] | None, warnings: list[str]) -> RawTable:
    """CSV/TSV: a pyarrow fast path for flat files, the layout analysis for FAL forms."""
    head = text[:_HEAD_BYTES]
    delim = _sniff_delimiter(head)
    try:
        head_rows, head_lines = _parse_records(head[: head.rfind("\n") + 1] if len(text) > len(head) else head,
                                               delim, name)
    except InputError:
        head_rows, head_lines = [], []  # a quoted field cut by the sniffing window: no fast path
    layout = _analyse_layout(head_rows, mapping)
    if layout.header_idx is not None and head_lines[layout.header_idx] == 1 and not layout.header:
        fast = _read_csv_fast(utf8 if utf8 is not None else text.encode("utf-8"), delim, head_rows[0],
                              mapping, warnings)
        if fast is not None:
            return fast
    rows, lines = _parse_records(text, delim, name)
    layout = _analyse_layout(rows, mapping)
    return _table_from_grid(rows, lines, layout, "", name, mapping, warnings, letters=False)


def _read_csv_fast(data: bytes, delim: str, headings: list[str], mapping: dict[str, str] | None,
                   warnings: list[str]) -> RawTable | None:
    """A flat file with headings on line 1, parsed by pyarrow; None when it needs the slow path."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = [f"c{i}" for i in range(len(headings))]
    has_quotes = b'"' in data
    if data.count(b'"') & 1:
        return None  # maybe a quote never closed: the slow path finds and reports its line
    try:
        table = pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=delim, newlines_in_values=has_quotes),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.large_string() for n in names},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, pa.ArrowException):
        return None  # ragged rows, odd quoting: the slow path reports the exact line
    rows = _record_start_lines(data, has_quotes)
    if rows is None or len(rows) != table.num_rows:
        return None
    frame = table.to_pandas()
    headings = list(headings)
    merged = _merged_birth_columns(headings, lambda i: bool(frame.iloc[:, i].str.strip().ne("").any()), mapping)
    for i, (_, second) in merged.items():
        headings[i + 1] = "Place of birth" if second == "place_of_birth" else "Date of birth"
    frame.columns = headings = _unique_headings(headings, letters=False)
    fields = {headings[i + k]: pair[k] for i, pair in merged.items() for k in (0, 1)}
    return _finish_table(frame, rows, "", {}, mapping, warnings, fields=fields)


def _record_start_lines(data: bytes, has_quotes: bool) -> np.ndarray | None:
    """Line numbers where the data records after line 1 start, skipping empty lines (as pyarrow does)."""
    if not has_quotes and b"\n\n" not in data and b"\n\r\n" not in data and not data.startswith((b"\n", b"\r\n")):
        # The common case: one record per line, no blank lines; counting newlines is enough.
        n_lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
        return np.arange(2, n_lines + 1, dtype=np.int64)
    arr = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(arr == 10)
    ends = newlines
    if has_quotes:
        # A newline ends a record only outside quotes: an even count of '"' before it.
        parity = np.cumsum(arr == 34, dtype=np.uint8) & 1
        ends = newlines[parity[newlines] == 0]
    if len(ends) == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.concatenate(([0], ends + 1))
    stops = np.concatenate((ends, [len(arr)]))
    length = stops - starts
    # '\r\n' line endings leave a lone '\r' on an empty line.
    cr_only = (length == 1) & (arr[np.minimum(starts, len(arr) - 1)] == 13)
    keep = (length > 0) & ~cr_only
    keep[0] = False  # the heading record
    line_of_start = np.searchsorted(newlines, starts[keep], side="left") + 1
    return line_of_start.astype(np.int64)


# --------------------------------------------------------------------------------------------
# JSON Lines


def _json_text(value: Any) -> str:
    """A JSON value as cell text: integral floats without '.0', nested values as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


# Keys of a list of person objects in a single-window API record, and the role they imply.
_PERSON_LISTS: dict[str, str] = {
    "crew": "crew", "crews": "crew", "crewlist": "crew", "crewmembers": "crew", "crewmember": "crew",
    "passengers": "passenger", "passenger": "passenger", "passengerlist": "passenger", "pax": "passenger",
    "persons": "", "person": "", "personlist": "", "personsonboard": "", "people": "",
}


def _flatten_json(obj: dict[str, Any], prefix: str, out: dict[str, str],
                  lists: list[tuple[str, list[dict[str, Any]]]] | None) -> None:
    """Nested objects into `out` as 'parent_child' columns; person lists into `lists` (when
    given); every other value (lists included) as cell text."""
    from piu.io.headings import heading_key

    for key, value in obj.items():
        column = f"{prefix}_{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            _flatten_json(value, column, out, lists)
        elif (lists is not None and isinstance(value, list) and heading_key(key) in _PERSON_LISTS
              and all(isinstance(item, dict) for item in value)):
            lists.append((_PERSON_LISTS[heading_key(key)], value))
        else:
            out[column] = _json_text(value)


def _json_rows(obj: dict[str, Any], mapping: dict[str, str] | None, is_role: dict[str, bool]) -> list[dict[str, str]]:
    """One JSON Lines record as rows: one per person in its crew/passenger lists (the record's
    own fields repeated on each), or the record alone when it lists no persons."""
    base: dict[str, str] = {}
    lists: list[tuple[str, list[dict[str, Any]]]] = []
    _flatten_json(obj, "", base, lists)
    rows: list[dict[str, str]] = []
    for role, items in lists:
        for item in items:
            person: dict[str, str] = {}
            _flatten_json(item, "", person, None)
            row = {**base, **person}
            for k in person.keys() - is_role.keys():  # memo: heading lookups per distinct key
                is_role[k] = lookup(k, mapping) == "role"
            if role and not any(is_role[k] for k in person):
                row["role"] = role
            rows.append(row)
    return rows or [base]


def _read_jsonl(text: str, name: str, mapping: dict[str, str] | None, warnings: list[str]) -> RawTable:
    """One JSON object per line; a bad line is an error naming the line."""
    records: list[dict[str, str]] = []
    is_role: dict[str, bool] = {}
    lines: list[int] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            raise InputError(f"{name}:{number}: not valid JSON ({msg})",
                             hint="JSON Lines needs one complete object per line") from None
        if not isinstance(obj, dict):
            raise InputError(f"{name}:{number}: expected a JSON object, found {type(obj).__name__}",
                             hint="JSON Lines needs one object per line")
        expanded = _json_rows(obj, mapping, is_role)
        records.extend(expanded)
        lines.extend([number] * len(expanded))
    columns: dict[str, None] = {}
    for rec in records:
        columns.update(dict.fromkeys(rec))
    headings = list(columns)
    found, _ = map_headings(headings, mapping)
    if not _useful(found.values()):
        raise _no_columns(name, headings)
    frame = pd.DataFrame({h: pd.array([r.get(h, "") for r in records], dtype="str") for h in headings})
    frame.columns = _unique_headings(headings, letters=False)
    return _finish_table(frame, np.asarray(lines, dtype=np.int64), "", {}, mapping, warnings)


# --------------------------------------------------------------------------------------------
# XLSX


def _cell_text(value: Any) -> str:
    """An openpyxl cell value as text: ISO dates, '9074729' not '9074729.0'."""
    import datetime as dt

    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        if value.hour == value.minute == value.second == value.microsecond == 0:
            return value.date().isoformat()
        return value.replace(microsecond=0).isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    return str(value)


def _read_xlsx(raw: bytes, name: str, mapping: dict[str, str] | None, warnings: list[str]) -> list[RawTable]:
    """Every non-empty sheet of a workbook; damaged workbooks become one InputError."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            members = set(zf.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise InputError(f"{name}: damaged or incomplete ZIP/XLSX file",
                         hint="ask the agent to send it again, or re-save it from a spreadsheet") from None
    if "xl/workbook.xml" not in members:
        what = ("an OpenDocument spreadsheet" if "content.xml" in members
                else "a Word document" if any(m.startswith("word/") for m in members) else "a ZIP archive")
        raise InputError(f"{name}: {what}, not an XLSX workbook", hint=_FORMATS_HINT)
    import openpyxl

    tables: list[RawTable] = []
    first_found: list[str] | None = None
    try:
        wb = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        try:
            for ws in wb.worksheets:
                if not hasattr(ws, "iter_rows"):
                    continue  # chart sheets
                ws.reset_dimensions()  # some writers record a wrong sheet size
                rows: list[list[str]] = []
                numbers: list[int] = []
                for number, values in enumerate(ws.iter_rows(min_row=1, values_only=True), 1):
                    cells = [_cell_text(v) for v in values]
                    while cells and not cells[-1].strip():
                        cells.pop()
                    if cells:
                        rows.append(cells)
                        numbers.append(number)
                if not rows:
                    continue  # empty sheet
                layout = _analyse_layout(rows, mapping)
                if layout.header_idx is None and not layout.header:
                    first_found = first_found or rows[0]
                    warnings.append(f"{name} sheet '{ws.title}': no columns piu knows; sheet skipped")
                    continue
                tables.append(_table_from_grid(rows, numbers, layout, ws.title, name, mapping, warnings,
                                               letters=True))
        finally:
            wb.close()
    except InputError:
        raise
    except Exception as exc:  # openpyxl/zipfile/lxml raise many types on damaged workbooks
        raise InputError(f"{name}: damaged or unreadable XLSX workbook ({type(exc).__name__})",
                         hint="ask the agent to send it again, or re-save it from a spreadsheet") from None
    if not tables:
        if first_found is None:
            raise InputError(f"{name}: file is empty (every sheet is blank)", hint="ask the agent for the manifest again")
        raise _no_columns(name, first_found)
    return tables


# --------------------------------------------------------------------------------------------
# layout analysis (FAL form or flat list), shared by delimited text and XLSX sheets


@dataclass
class _Layout:
    header_idx: int | None          # index (into the grid) of the table's heading row
    header: dict[str, str]          # call fields from the block above it, and 'role'


def _is_label(text: str, mapping: dict[str, str] | None) -> bool:
    """A header-block label: a known heading, or a known heading followed by ':'."""
    text = text.strip()
    if not text:
        return False
    if lookup(text, mapping):
        return True
    if ":" in text:
        label, value = text.split(":", 1)
        return not value.strip() and bool(lookup(label, mapping))
    return False


def _row_kind(row: list[str], mapping: dict[str, str] | None,
              known: dict[str, str | None] | None = None) -> tuple[int, bool, bool]:
    """(known headings, any person/call field, looks like label/value pairs) for one row.

    `known`: heading lookups already made (cell text -> field), shared by the rows of one file:
    data rows repeat their ports, ranks and countries.
    """
    if known is None:
        known = {}

    def lookup(text: str, mapping: dict[str, str] | None) -> str | None:
        if text not in known:
            known[text] = heading_lookup(text, mapping)
        return known[text]

    cells = [(i, c.strip()) for i, c in enumerate(row) if c.strip()]
    matched = [(j, lookup(c, mapping)) for j, (_, c) in enumerate(cells)]
    matched = [(j, f) for j, f in matched if f]
    useful = any(f in CALL_LIKE or f in PERSON_LIKE for _, f in matched)
    if any(cells[j][1].endswith(":") for j, _ in matched):
        return len(matched), useful, True
    labelish = bool(matched) and len(matched) <= 4 and all(
        j + 1 < len(cells) and not lookup(cells[j + 1][1], mapping) for j, _ in matched)
    return len(matched), useful, labelish


def _analyse_layout(rows: list[list[str]], mapping: dict[str, str] | None) -> _Layout:
    """Find the table's heading row and read the FAL header block above it."""
    best, best_n = None, 1
    known: dict[str, str | None] = {}
    for idx, row in enumerate(rows[:_SCAN_ROWS]):
        n, useful, labelish = _row_kind(row, mapping, known)
        if n > best_n and useful and not labelish:
            best, best_n = idx, n
    block = rows[: best if best is not None else min(len(rows), _SCAN_ROWS)]
    return _Layout(best, _read_header_block(block, mapping))


def _read_header_block(block: list[list[str]], mapping: dict[str, str] | None) -> dict[str, str]:
    """Call fields from 'Label: value' cells or label cells with the value to the right or below."""
    header: dict[str, str] = {}
    hinted_direction: str | None = None
    checked: set[str] = set()
    unmarked: set[str] = set()
    used: set[tuple[int, int]] = set()

    def value_right(r: int, c: int) -> str:
        row = block[r]
        for k in range(c + 1, len(row)):
            t = row[k].strip()
            if t:
                if _SEPARATOR.match(t):
                    continue  # 'Label | : | value': the value is past the colon cell
                if _is_label(t, mapping) or _CHECKBOX.match(t):
                    return ""
                used.add((r, k))
                return t
        return ""

    def time_after(r: int, value: str) -> str:
        """The time of day in the cell right of a date value on row r ('26/11/2026 | 22:15')."""
        row = block[r]
        k = next((k for k in range(len(row)) if (r, k) in used and row[k].strip() == value), None)
        if k is None:
            return ""
        for j in range(k + 1, len(row)):
            t = row[j].strip()
            if t:
                if _TIME_ONLY.match(t):
                    used.add((r, j))
                    return t
                return ""
        return ""

    def value_below(r: int, c: int) -> str:
        if r + 1 < len(block) and c < len(block[r + 1]):
            t = block[r + 1][c].strip()
            if t and not _is_label(t, mapping) and ":" not in t:
                used.add((r + 1, c))
                return t
        return ""

    for r, row in enumerate(block):
        for c, cell in enumerate(row):
            text = cell.strip()
            if not text or (r, c) in used:
                continue
            if _TITLE_CREW.search(text) or _TITLE_PAX.search(text):
                header.setdefault("role", "crew" if _TITLE_CREW.search(text) else "passenger")
                words = {w.lower() for w in _DIRECTION_WORD.findall(text)}
                if len(words) == 1:
                    hinted_direction = hinted_direction or words.pop()
                continue
            box = _CHECKBOX.match(text)
            if box:
                word = box.group("word").lower()
                mark = box.group("pre") or box.group("post")
                nxt = next((row[k].strip() for k in range(c + 1, len(row)) if row[k].strip()), "")
                if mark:
                    if _CHECKED.match(mark):
                        checked.add(word)
                    continue
                if nxt and _CHECKED.match(nxt):
                    checked.add(word)
                    used.add((r, row.index(nxt, c + 1)))
                    continue
                if not nxt or _is_label(nxt, mapping) or _CHECKBOX.match(nxt):
                    unmarked.add(word)
                    continue
                # 'Arrival | 18/11/2026 14:30': a label with its value; fall through.
            if ":" in text and not lookup(text, mapping):
                label, value = text.split(":", 1)
                fieldname = lookup(label, mapping)
                if not fieldname:
                    continue
                value = value.strip() or value_right(r, c) or value_below(r, c)
            else:
                fieldname = lookup(text, mapping)
                if not fieldname:
                    continue
                label = text
                value = value_right(r, c) or value_below(r, c)
            if fieldname in CALL_LIKE and value:
                if fieldname in ("call_time", "call_date") and not _HAS_TIME.search(value):
                    # A real Excel date with the time in the next cell: the ingest joins
                    # call_date and call_hour into the call time.
                    hour = time_after(r, value)
                    if hour:
                        header.setdefault("call_date", value)
                        header.setdefault("call_hour", hour)
                        hinted_direction = hinted_direction or direction_hint(label)
                        continue
                header.setdefault(fieldname, value)
                hinted_direction = hinted_direction or direction_hint(label)
    if "call_hour" in header and "call_date" not in header:
        if "call_time" in header and not _HAS_TIME.search(header["call_time"]):
            # 'Date of arrival' and a separate 'Time' label: a date and a time of day.
            header["call_date"] = header.pop("call_time")
        elif "call_time" not in header and not _TIME_ONLY.match(header["call_hour"]):
            header["call_time"] = header.pop("call_hour")  # 'Arrival time: 26/11/2026 22:15'
    if "direction" not in header:
        if len(checked) == 1:
            header["direction"] = checked.pop()
        elif not checked and len(unmarked) == 1:
            header["direction"] = unmarked.pop()
        elif hinted_direction:
            header["direction"] = hinted_direction
    return header


def _unique_headings(headings: list[str], *, letters: bool) -> list[str]:
    """Headings made unique and non-empty: 'column 5' (or 'column E') for blanks, 'Name (2)'."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, h in enumerate(headings):
        h = " ".join(str(h).split())
        if not h:
            if letters:
                from openpyxl.utils import get_column_letter
                h = f"column {get_column_letter(i + 1)}"
            else:
                h = f"column {i + 1}"
        base, n = h, seen.get(h, 0)
        while h in seen:
            n += 1
            h = f"{base} ({n + 1})"
        seen[base] = n
        seen[h] = 0
        out.append(h)
    return out


def _table_from_grid(rows: list[list[str]], numbers: list[int], layout: _Layout, sheet: str, name: str,
                     mapping: dict[str, str] | None, warnings: list[str], *, letters: bool) -> RawTable:
    """The list table under the heading row (or an empty one for a header-only FAL 1 sheet)."""
    header = dict(layout.header)
    if "role" not in header and sheet:
        if _TITLE_CREW.search(sheet):
            header["role"] = "crew"
        elif _TITLE_PAX.search(sheet):
            header["role"] = "passenger"
    if layout.header_idx is None:
        if not header:
            raise _no_columns(name, rows[0] if rows else [])
        empty = pd.DataFrame({})
        return RawTable(sheet, empty, np.zeros(0, dtype=np.int64), header, {}, [])
    h = layout.header_idx
    data = rows[h + 1:]
    data_numbers = numbers[h + 1:]
    # A row of box numbers ('(6) (7) (8)') under the headings of a printed FAL form.
    if data:
        cells = [c.strip() for c in data[0] if c.strip()]
        if len(cells) >= 3 and all(_BOX_ROW_CELL.match(c) for c in cells):
            data, data_numbers = data[1:], data_numbers[1:]
    width = max([len(rows[h])] + [len(r) for r in data])
    headings = list(rows[h]) + [""] * (width - len(rows[h]))
    # Drop trailing columns with neither a heading nor any data (Excel's padding).
    while width and not headings[width - 1].strip() and not any(len(r) >= width and r[width - 1].strip() for r in data):
        width -= 1
    headings = headings[:width]
    merged = _merged_birth_columns(headings, lambda i: any(len(r) > i and r[i].strip() for r in data), mapping)
    for i, (_, second) in merged.items():
        headings[i + 1] = "Place of birth" if second == "place_of_birth" else "Date of birth"
    headings = _unique_headings(headings, letters=letters)
    fields = {headings[i + k]: pair[k] for i, pair in merged.items() for k in (0, 1)}
    columns = {f"c{i}": [r[i] if i < len(r) else "" for r in data] for i in range(width)}
    frame = pd.DataFrame({k: pd.array(v, dtype="str") for k, v in columns.items()}, index=pd.RangeIndex(len(data)))
    frame.columns = headings
    return _finish_table(frame, np.asarray(data_numbers, dtype=np.int64), sheet, header, mapping, warnings,
                         fields=fields)


def _merged_birth_columns(headings: list[str], has_data: Callable[[int], bool],
                          mapping: dict[str, str] | None) -> dict[int, tuple[str, str]]:
    """Column index -> (field, field of the next column) for a 'Date and place of birth' heading
    merged over two columns (the second heading cell empty, its cells filled)."""
    found: dict[int, tuple[str, str]] = {}
    taken = {lookup(h, mapping) for h in headings if h.strip()}
    if "date_of_birth" in taken or "place_of_birth" in taken:
        return found  # the file has its own date or place column: nothing to split
    for i in range(len(headings) - 1):
        if not headings[i].strip() or headings[i + 1].strip():
            continue
        pair = birth_order(headings[i], mapping)
        if pair and has_data(i + 1):
            found[i] = pair
            break  # one person has one birth date
    return found


def _finish_table(frame: pd.DataFrame, source_rows: np.ndarray, sheet: str, header: dict[str, str],
                  mapping: dict[str, str] | None, warnings: list[str], *,
                  fields: dict[str, str] | None = None) -> RawTable:
    """Drop blank and footer rows, rename columns to canonical names, build the RawTable.

    `fields` (heading -> canonical) overrides the heading lookup for columns the layout
    analysis has already identified (the halves of a merged birth heading).
    """
    headings = list(frame.columns)
    column_map, map_warnings = map_headings(headings, mapping)
    column_map.update(fields or {})
    if len(frame.columns) and len(frame):
        # Cheap first pass on lengths; only rows with at most two non-empty cells can be blank
        # or footer rows, and only those get the exact (strip + regex) test.
        count = np.zeros(len(frame), dtype=np.int64)
        for i in range(frame.shape[1]):
            count += _filled(frame.iloc[:, i])
        keep = np.ones(len(frame), dtype=bool)
        few = np.flatnonzero(count <= 2)
        if len(few):
            sub = frame.iloc[few]
            filled = np.zeros(len(few), dtype=np.int64)
            footer = np.zeros(len(few), dtype=bool)
            # A signature line ('Nakhoda / Master | Budi Santoso') starts with the master's title
            # outside the rank column, in a wide table where a person row fills more cells.
            wide = frame.shape[1] >= 4
            for i in range(sub.shape[1]):
                col = sub.iloc[:, i].fillna("").str.strip()
                footer |= col.str.contains(_FOOTER, regex=True).to_numpy()
                if wide and column_map.get(headings[i]) not in ("rank", "capacity"):
                    footer |= (filled == 0) & col.str.contains(_SIGNATORY, regex=True).to_numpy()
                filled += col.ne("").to_numpy()
            keep[few[(filled == 0) | footer]] = False
        if not keep.all():
            frame = frame.loc[keep].reset_index(drop=True)
            source_rows = source_rows[keep]
    warnings.extend(f"{('sheet ' + repr(sheet) + ': ') if sheet else ''}{w}" for w in map_warnings)
    _capacity_holding_ranks(frame, column_map, sheet, warnings)
    used = set(column_map.values())
    unknown = [h for h in headings if h not in column_map]
    renamed = {}
    for h in headings:
        if h in column_map:
            renamed[h] = column_map[h]
        elif h in used:  # an unmapped heading spelled like a canonical name already taken
            renamed[h] = f"{h} (unmapped)"
        else:
            renamed[h] = h
    frame = frame.rename(columns=renamed)
    return RawTable(sheet=sheet, frame=frame, source_rows=np.asarray(source_rows, dtype=np.int64),
                    header=header, column_map=column_map, unknown_columns=unknown)


def _filled(col: pd.Series) -> np.ndarray:
    """Which cells of a text column are not empty (Arrow's byte length when Arrow-backed)."""
    arr = getattr(col.array, "_pa_array", None)
    if arr is None:
        return col.str.len().fillna(0).to_numpy() > 0
    import pyarrow as pa
    import pyarrow.compute as pc

    if arr.num_chunks == 1 and arr.null_count == 0 and arr.type in (pa.large_string(), pa.string()):
        # the usual case (parsed text, no missing cells): lengths straight from the offsets
        chunk = arr.chunk(0)
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int64 if chunk.type == pa.large_string() else np.int32)
        return np.diff(offsets[chunk.offset:chunk.offset + len(chunk) + 1]) > 0

    return pc.fill_null(pc.greater(pc.binary_length(arr), 0), False).to_numpy(zero_copy_only=False)


def _capacity_holding_ranks(frame: pd.DataFrame, column_map: dict[str, str], sheet: str,
                            warnings: list[str]) -> None:
    """US-style crew lists head the rank column 'Capacity' ('in what capacity'); detect that."""
    cap = next((h for h, f in column_map.items() if f == "capacity"), None)
    if cap is None or "rank" in column_map.values():
        return
    values = pd.Series(frame[cap].dropna().unique(), dtype="str").str.strip()
    values = values[values.ne("")]
    if len(values) and values.str.fullmatch(r"[\d\s.,]+").mean() < 0.5:
        column_map[cap] = "rank"
        where = f"sheet '{sheet}': " if sheet else ""
        warnings.append(f"{where}column '{cap}' holds ranks, not a person count; read as rank")


# --------------------------------------------------------------------------------------------
# errors


def _useful(fields: Any) -> bool:
    """True when a set of mapped fields contains a call or person field."""
    return any(f in CALL_LIKE or f in PERSON_LIKE for f in fields)


class NoColumnsError(InputError):
    """No heading of the file is one piu knows (`columns`: how many non-blank columns it has)."""

    def __init__(self, message: str, *, hint: str, columns: int) -> None:
        super().__init__(message, hint=hint)
        self.columns = columns


def _no_columns(name: str, found: list[str]) -> InputError:
    """The 'none of the columns piu needs' error. Cells are never quoted: with no heading piu
    knows, the first row may as well be a person (names have no digits to tell them apart)."""
    n = sum(1 for c in found if str(c).strip())
    return NoColumnsError(f"{name}: none of the columns piu needs ({n} column(s), none a heading piu knows); "
                          "expected e.g. vessel_name or imo, and family_name",
                          hint="open the file to see its headings, then map them with --map FILE (heading,field lines)",
                          columns=n)


__all__ = ["RawTable", "ReadResult", "read_file"]


# --------------------------------------------------------------------------------------------
# streaming: big flat CSV files in batches (bounded memory)

BATCH_MIN_BYTES = 32 << 20      # smaller files are read whole
_CHUNK = 16 << 20


@dataclass
class BatchedRead:
    """A flat delimited file read in batches: identity first, then RawTables one batch at a time."""

    source_name: str
    sha256: str
    size: int
    warnings: list[str]
    path: str
    delimiter: str
    headings: list[str]
    record_lines: np.ndarray        # the line each data record starts on (1-based)
    mapping: dict[str, str] | None
    batch_bytes: int = 32 << 20

    early: Any = None               # Future of the first batch's (frame, later groups), parsed during the scan

    def batches(self):  # noqa: ANN201 - Iterator[RawTable]
        """RawTables of consecutive records, each about `batch_bytes` of the file."""
        import itertools

        import pyarrow as pa

        headings = _unique_headings(self.headings, letters=False)
        early, self.early = self.early, None
        start = 0
        try:
            first, groups = early.result() if early is not None else _first_group(self)
            frames = itertools.chain([] if first is None else [first], (table.to_pandas() for table in groups))
            # the next batch is parsed on a second core while this one is normalised
            for frame in _prefetched(frames):
                frame.columns = headings
                rows = self.record_lines[start:start + len(frame)]
                start += len(frame)
                yield _finish_table(frame, rows, "", {}, self.mapping, [])
        except (pa.ArrowInvalid, pa.ArrowException):
            raise InputError(f"{self.source_name}: cannot parse as CSV near line {int(self.record_lines[min(start, len(self.record_lines) - 1)])}",
                             hint="check quotes and the number of columns on that line, or re-save the file from a spreadsheet") from None


def _first_group(read: Any) -> tuple[pd.DataFrame | None, Iterator[Any]]:
    """(the first batch as a frame or None, the later batches as Arrow tables) of a BatchedRead
    (only `path`, `delimiter`, `headings` and `batch_bytes` are used: it may not be complete yet)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = [f"c{i}" for i in range(len(read.headings))]
    # Arrow parses small blocks much faster than big ones (a 32 MB block: ~3x the CPU), so
    # blocks of at most 4 MB are parsed and grouped into batches of about `batch_bytes`
    block = min(read.batch_bytes, _PARSE_BLOCK)
    per_batch = max(1, read.batch_bytes // block)
    reader = pacsv.open_csv(
        read.path,
        # one thread: the batches are parsed one ahead on a thread of their own, in parallel with
        # the normalising; Arrow's own threads would only compete for the same cores
        read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=block,
                                       encoding="utf8", use_threads=False),
        parse_options=pacsv.ParseOptions(delimiter=read.delimiter, newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(column_types={n: pa.large_string() for n in names},
                                             strings_can_be_null=False, quoted_strings_can_be_null=False))
    # the first batch is `batch_bytes` (the file's day-first reading is decided on its rows); the
    # later ones half as big again: fewer batches cost less per row, within the memory bound
    groups = _grouped(reader, per_batch, max(1, int(read.batch_bytes * _LATER_BATCHES) // block))
    first = next(groups, None)
    return (None if first is None else first.to_pandas()), groups


# one file's first batch parsed ahead at a time (many big files in one command: bounded memory);
# a weak reference to its BatchedRead
_EARLY: list[Any] = []


def _utf8_ok(data: bytes | memoryview) -> bool:
    """True when the bytes are valid UTF-8 (Arrow's validation, without decoding to text)."""
    import pyarrow as pa

    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64))
    try:
        pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(data)]).cast(pa.large_string())
    except pa.ArrowInvalid:
        return False
    return True


_PARSE_BLOCK = 4 << 20
_LATER_BATCHES = 1.5  # later batches' size, in first batches


def _prefetched(items: Iterator[Any]) -> Iterator[Any]:
    """The items of an iterator, each next one produced in a worker thread while the caller uses
    the current one (Arrow's CSV parsing releases the GIL: two cores instead of one).

    At most one item is produced ahead; an error producing an item is raised where the caller
    asks for it, and closing the generator waits for the item in flight, never leaving a thread behind.
    """
    from concurrent.futures import ThreadPoolExecutor

    done = object()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="piu-read") as pool:
        ahead = pool.submit(next, items, done)
        while True:
            item = ahead.result()
            if item is done:
                return
            ahead = pool.submit(next, items, done)
            yield item


def _grouped(reader: Any, n: int, later: int | None = None) -> Any:
    """The reader's record batches, n at a time (`later` at a time after the first group), each
    group as one Arrow table."""
    import pyarrow as pa

    pending: list[Any] = []
    for batch in reader:
        pending.append(batch)
        if len(pending) == n:
            yield pa.Table.from_batches(pending).combine_chunks()
            pending, n = [], later or n
    if pending:
        yield pa.Table.from_batches(pending).combine_chunks()


def open_batches(path: str, *, mapping: dict[str, str] | None = None,
                 min_bytes: int = BATCH_MIN_BYTES, batch_bytes: int = 32 << 20) -> BatchedRead | None:
    """A big flat UTF-8 CSV/TSV file with headings on line 1, ready to read in batches; else None.

    One streaming pass computes the SHA-256, checks UTF-8 and finds where each record starts
    (quote-aware, carried across chunks), so the file is never held in memory whole. Anything
    else (small files, stdin, XLSX, FAL layouts, other encodings) returns None: use read_file.
    """
    import hashlib
    from concurrent.futures import ThreadPoolExecutor

    if path == "-":
        return None
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError:
        return None
    if size < min_bytes:
        return None
    try:
        with open(p, "rb") as fh:
            head = fh.read(_HEAD_BYTES)
    except OSError:
        return None  # unreadable: read_file says why, in one line
    if head.startswith((b"PK", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head:
        return None
    try:
        head_text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not a character cut at the end of the window
            return None
        head_text = head[:exc.start].decode("utf-8")
    if head_text.lstrip().startswith("{"):
        return None
    delim = _sniff_delimiter(head_text)
    cut = head_text[: head_text.rfind("\n") + 1]
    try:
        head_rows, head_lines = _parse_records(cut, delim, p.name)
    except InputError:
        return None
    layout = _analyse_layout(head_rows, mapping)
    if layout.header_idx is None or head_lines[layout.header_idx] != 1 or layout.header:
        return None

    # the first batch is parsed on another core meanwhile (it needs only the headings): the
    # normalising starts as soon as the scan ends; dropped if the file turns out not batchable
    read = BatchedRead(source_name=p.name, sha256="", size=size, warnings=[], path=str(p), delimiter=delim,
                       headings=head_rows[0], record_lines=np.zeros(0, np.int64), mapping=mapping, batch_bytes=batch_bytes)
    if not any(r() is not None and r().early is not None for r in _EARLY):
        import weakref

        _EARLY[:] = [weakref.ref(read)]  # the slot frees once the batch is taken or the read dropped
        parsing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="piu-read-first")
        read.early = parsing.submit(_first_group, read)
        parsing.shutdown(wait=False)
    sha = hashlib.sha256()
    carry = b""  # bytes after the last newline read, not yet checked as UTF-8
    all_newlines: list[np.ndarray] = []
    all_ends: list[np.ndarray] = []       # newlines that end a record (outside quotes)
    before_end: list[np.ndarray] = []     # the byte just before each of those newlines
    offset, in_quotes, last_byte = 0, 0, 10
    # hashing releases the GIL: the SHA-256 of a chunk runs on a worker thread while the record
    # starts of the same chunk are found here (one hashing job in flight, in file order)
    hashing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="piu-sha")
    hashed = None
    with hashing, open(p, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            if hashed is not None:
                hashed.result()
            hashed = hashing.submit(sha.update, chunk)
            arr = np.frombuffer(chunk, dtype=np.uint8)
            newlines = np.flatnonzero(arr == 10)
            # UTF-8 is checked between newlines (never inside a character), in Arrow: no text decoded
            if len(newlines):
                first, cut = int(newlines[0]) + 1, int(newlines[-1]) + 1
                if not (_utf8_ok(carry + chunk[:first]) and _utf8_ok(memoryview(chunk)[first:cut])):
                    return None  # not UTF-8: the whole-file reader handles other encodings
                carry = chunk[cut:]
            else:
                carry += chunk
            if in_quotes or b'"' in chunk:  # a newline ends a record only outside quotes
                quotes = np.flatnonzero(arr == 34)
                ends = newlines[((np.searchsorted(quotes, newlines) + in_quotes) & 1) == 0]
                in_quotes = (len(quotes) + in_quotes) & 1
            else:
                ends = newlines
            # arr[e - 1], or the previous chunk's last byte (no copy of the chunk)
            prev = arr[np.maximum(ends - 1, 0)]
            if len(ends) and ends[0] == 0:
                prev[0] = last_byte
            all_newlines.append(newlines + offset)
            all_ends.append(ends + offset)
            before_end.append(prev)
            last_byte = int(arr[-1])
            offset += len(chunk)
    if not _utf8_ok(carry):
        return None
    if in_quotes:
        return None  # a quote maybe never closed: read_file reports the line it opens on
    newlines = np.concatenate(all_newlines) if all_newlines else np.zeros(0, dtype=np.int64)
    ends = np.concatenate(all_ends) if all_ends else np.zeros(0, dtype=np.int64)
    prev = np.concatenate(before_end) if before_end else np.zeros(0, dtype=np.uint8)
    # the same rule as _record_start_lines, on offsets gathered chunk by chunk
    starts = np.concatenate(([0], ends + 1))
    stops = np.concatenate((ends, [offset]))
    length = stops - starts
    byte_before_stop = np.concatenate((prev, [last_byte]))
    keep = (length > 0) & ~((length == 1) & (byte_before_stop == 13))
    keep[0] = False  # the heading record
    record_lines = (np.searchsorted(newlines, starts[keep], side="left") + 1).astype(np.int64)
    # heading warnings once for the file (the batches map the same headings again, silently)
    _map, heading_warnings = map_headings(list(_unique_headings(head_rows[0], letters=False)), mapping)
    read.sha256, read.warnings, read.record_lines = sha.hexdigest(), heading_warnings, record_lines
    return read
