"""A lookup of stored persons by call version and by document number, for history rules.

Scoring a few new calls must find, among every person of the history window, those who share a
document with the new calls or sailed on the same vessels. Parquet cannot be searched for a few
hundred scattered document numbers without decoding every person of the window (~0.1 s per
million persons, growing with history). So each persons data file gets, when scoring first needs
it, an index file beside the store's datasets:

    HOME/_index/persons/<data file name>.arrow

It holds the history columns of that data file, in the file's row order, dictionary-encoded, as
an uncompressed Arrow IPC file read through a memory map, followed by a CRC-32 of those bytes:
finding rows compares the few wanted values with each column's dictionary and reads one small
integer per person; only the matching rows' values are taken.

An index file is derived data: a data file is never rewritten once its transaction committed (its
name carries the transaction id), so the index of a file is valid for as long as the file is.
Indexes are looked up only for the visible data files (a retracted transaction's index is unused),
written to a temporary name and renamed (readers never see half a file), checked against their
CRC-32 before they are parsed (damage in place is found, as the store's Parquet page checksums
find it in data files), and rebuilt when damaged or made for another data file or index format.
Writing one is best effort: a read-only store is searched from the index built in memory. The
pandas engine saves the indexes a score builds only when the score succeeds (`saved_on_success`);
Dask workers save what they build. Index files hold names and document numbers like the persons
dataset itself and live in the same store folder. A damaged data file is no longer read by an
incremental score once its index exists: `piu doctor` still reads and checks every data file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import struct
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from piu.store import Store

INDEX_DIR = ("_index", "persons")
FORMAT = b"2"
# after the Arrow IPC bytes: a magic word, their CRC-32 and their length
_TRAILER = struct.Struct("<8sIQ")
_MAGIC = b"PIUINDEX"
# indexes built inside `saved_on_success`, waiting to be saved
_PENDING: ContextVar[dict[Path, Any] | None] = ContextVar("piu_person_index_pending", default=None)
# the columns an index holds: what history rules read of the persons of other calls
COLUMNS = ("version_id", "role", "name_key", "date_of_birth", "doc_number", "doc_issuer", "disembark_port",
           "source_row")


def index_path(store: Store, data_file: Path) -> Path:
    """Where the index of one persons data file lives."""
    return store.home.joinpath(*INDEX_DIR, data_file.stem + ".arrow")


def persons_matching(store: Store, *, months: Sequence[str] | None, doc_numbers: pa.Array,
                     version_ids: pa.Array, columns: Sequence[str] = COLUMNS) -> pa.Table:
    """The stored persons (of the given months' partitions, any port) whose doc_number is one of
    `doc_numbers` or whose version_id is one of `version_ids`: the rows, in the store's order, that
    reading the persons dataset with that filter gives (`columns` of the persons schema)."""
    import numpy as np
    import pyarrow as pa

    from piu.schema import persons_schema

    store.check_version()
    schema = persons_schema()
    target = pa.schema([schema.field(c) for c in columns])
    parts = []
    for data_file in store.files("persons", months=months):
        table = _load(store, data_file)
        mask = _member(table["doc_number"], doc_numbers) | _member(table["version_id"], version_ids)
        rows = np.flatnonzero(mask)
        if len(rows):
            picked = table.select(list(columns)).take(pa.array(rows))
            parts.append(pa.table([picked[c].cast(target.field(c).type) for c in columns], schema=target))
    if not parts:
        return target.empty_table()
    return pa.concat_tables(parts) if len(parts) > 1 else parts[0]


def _member(column: pa.ChunkedArray, values: pa.Array) -> Any:
    """Per row of a dictionary-encoded index column: is its value one of `values`? (numpy bool)"""
    import numpy as np
    import pyarrow.compute as pc

    out = []
    for chunk in column.chunks:
        if len(values) == 0 or len(chunk) == 0:
            out.append(np.zeros(len(chunk), dtype=bool))
            continue
        # the few wanted values against the dictionary, then one gather per row: no row's text is read
        wanted = pc.is_in(chunk.dictionary, value_set=values).fill_null(False).to_numpy(zero_copy_only=False)
        out.append(wanted[chunk.indices.to_numpy()])
    return np.concatenate(out) if len(out) != 1 else out[0]


def _load(store: Store, data_file: Path) -> pa.Table:
    """The index of one data file: read from its index file, else built (and saved when possible)."""
    path = index_path(store, data_file)
    pending = _PENDING.get()
    if pending is not None and path in pending:  # built earlier in this run, not saved yet
        return pending[path]
    meta = _meta(data_file)
    table = _read(path, meta)
    if table is not None:
        return table
    table = build(store, data_file).replace_schema_metadata(meta)
    if pending is None:
        _save(path, table)
    else:
        pending[path] = table
    return table


def _meta(data_file: Path) -> dict[bytes, bytes]:
    """What an index file says of itself: the index format and the data file it was made from."""
    size = str(data_file.stat().st_size).encode() if data_file.exists() else b""
    return {b"piu.index": FORMAT, b"piu.source": data_file.name.encode(), b"piu.source_size": size}


def _read(path: Path, meta: dict[bytes, bytes]) -> pa.Table | None:
    """The index stored at `path` if it is whole and was made for the data file `meta` describes; None
    when it is missing, damaged (its CRC-32 is checked before a byte of it is parsed: Arrow IPC has no
    checksums of its own, and damaged IPC can crash the reader) or another file's."""
    import zlib

    import pyarrow as pa

    try:
        buf = pa.memory_map(str(path)).read_buffer()
    except OSError:
        return None
    if buf.size < _TRAILER.size:
        return None
    magic, crc, n = _TRAILER.unpack(buf.slice(buf.size - _TRAILER.size).to_pybytes())
    if magic != _MAGIC or n != buf.size - _TRAILER.size:
        return None
    body = buf.slice(0, n)
    if zlib.crc32(memoryview(body)) != crc:
        return None
    try:
        reader = pa.ipc.open_file(body)
        if (reader.schema.metadata or {}) != meta:
            return None
        return reader.read_all()
    except pa.ArrowInvalid:
        return None


@contextlib.contextmanager
def saved_on_success() -> Iterator[None]:
    """Indexes built inside the block are saved when it ends without an error (a command that fails,
    e.g. on a store it may not write to, leaves no file behind)."""
    pending: dict[Path, pa.Table] = {}
    token = _PENDING.set(pending)
    try:
        yield
    finally:
        _PENDING.reset(token)
    for path, table in pending.items():
        _save(path, table)


def matches(store: Store, data_file: Path, path: Path) -> bool:
    """True when the index file `path` is whole and holds exactly the index of `data_file` (what
    `piu doctor` checks)."""
    table = _read(path, _meta(data_file))
    return table is not None and table.replace_schema_metadata(None).equals(build(store, data_file))


def build(store: Store, data_file: Path) -> pa.Table:
    """The index table of one persons data file: COLUMNS in the file's row order, text columns
    dictionary-encoded (a missing value is an entry of its own, so row codes are never null)."""
    import pyarrow as pa

    from piu.schema import persons_schema

    table = store.read_files("persons", [data_file], persons_schema(), columns=list(COLUMNS))
    columns = {}
    for field in table.schema:
        column = table[field.name].combine_chunks()
        if pa.types.is_string(field.type):
            column = _narrow(column.dictionary_encode(null_encoding="encode"))
        columns[field.name] = column
    return pa.table(columns)


def _narrow(column: pa.DictionaryArray) -> pa.DictionaryArray:
    """The same dictionary array with the smallest integer codes that hold its dictionary."""
    import pyarrow as pa

    n = len(column.dictionary)
    kind = pa.int8() if n <= 127 else pa.int16() if n <= 32767 else pa.int32()
    return pa.DictionaryArray.from_arrays(column.indices.cast(kind), column.dictionary)


def _save(path: Path, table: pa.Table) -> None:
    """Write an index file atomically (Arrow IPC, then the trailer with its CRC-32); a store that
    cannot be written to is searched without one."""
    import zlib

    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    body = sink.getvalue()
    # a dot name ending in .tmp: a writer's orphan cleanup removes it if this process dies mid-write
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(memoryview(body))
            fh.write(_TRAILER.pack(_MAGIC, zlib.crc32(memoryview(body)), body.size))
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
