"""A lookup of stored persons (and calls) by call version, document number or vessel, for history rules.

Scoring a few new calls must find, among every person of the history window, those who share a
document with the new calls or sailed on the same vessels. Parquet cannot be searched for a few
hundred scattered document numbers without decoding every person of the window (~0.1 s per
million persons, growing with history). So each persons data file gets, when scoring first needs
it, an index file beside the store's datasets; and so does each calls data file (the calls of the
same vessels, and every version of them, are found the same way):

    HOME/_index/persons/<data file name>.arrow
    HOME/_index/calls/<data file name>.arrow

It holds the history columns of that data file, in the file's row order, dictionary-encoded, as
an uncompressed Arrow IPC file read through a memory map, followed by a CRC-32 of those bytes:
finding rows looks the few wanted values up in each column's dictionary and reads one small
integer per row; only the matching rows' values are taken. The columns rows are looked up by
(SEARCHED) keep their dictionary sorted, as fixed-width keys (a 64-bit hash of the value, then its
bytes): a wanted value is found by binary search - its cost, not the dictionary's size, which grows
with the file (an Arrow is_in would hash every distinct value of every file on every run).

An index file is derived data: a data file is never rewritten once its transaction committed (its
name carries the transaction id), so the index of a file is valid for as long as the file is.
Indexes are looked up only for the visible data files (a retracted transaction's index is unused),
written to a temporary name and renamed (readers never see half a file, and a file is never written
in place), checked against their CRC-32 before they are parsed (damage in place is found, as the
store's Parquet page checksums find it in data files), and rebuilt when damaged or made for another
data file or index format. A scoring run records the files it checked, with their size, modification
time and inode (`_index/<dataset>/.checked.json`), and reads a file whole again only when one of them
changed: damage that keeps all three (bit rot; a write that sets the time back) is found by `piu
doctor`, which compares every index with its data file. Writing one is best effort: a read-only
store is searched from the index built in memory. The pandas engine saves the indexes a score builds
only when the score succeeds (`saved_on_success`); Dask workers save what they build. Index files
hold names and document numbers like the persons dataset itself and live in the same store folder.
A damaged data file is no longer read by an incremental score once its index exists: `piu doctor`
still reads and checks every data file.
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

FORMAT = b"3"
INDEXED = ("persons", "calls")  # the datasets whose files get an index (HOME/_index/<dataset>/)
# after the Arrow IPC bytes: a magic word, their CRC-32 and their length
_TRAILER = struct.Struct("<8sIQ")
_MAGIC = b"PIUINDEX"
# the run inside `saved_on_success`: indexes built (waiting to be saved), loaded, and checked
_RUN: ContextVar[_Run | None] = ContextVar("piu_person_index_run", default=None)
# per index folder: the files whose CRC-32 was checked, each with what os.stat said of it then
_CHECKED = ".checked.json"
# the columns an index holds: what history rules read of the persons of other calls
COLUMNS = ("version_id", "role", "name_key", "date_of_birth", "doc_number", "doc_issuer", "disembark_port",
           "source_row")
# ... and of calls: what history rules read of other calls (scoring.HISTORY_CALL_COLUMNS)
CALL_COLUMNS = ("call_id", "version_id", "ingest_id", "port", "direction", "call_time", "vessel_name",
                "vessel_name_key", "imo", "mmsi", "flag")
# the columns rows are looked up by (rows_matching's `wanted`): their dictionaries are stored sorted, as
# fixed-width bytes, so that a few wanted values are found by binary search (numpy) instead of hashing
# every distinct value of the file, as an Arrow is_in over the dictionary does (~1.5 ms per 100,000)
SEARCHED = {"persons": ("version_id", "doc_number"), "calls": ("call_id", "imo", "mmsi", "vessel_name_key")}
# ... unless a value is longer than this many bytes (the dictionary stays text, searched with is_in)
KEY_WIDTH_MAX = 96


def _dataset(store: Store, data_file: Path) -> str:
    """The dataset a data file belongs to (HOME/<dataset>/...)."""
    return data_file.relative_to(store.home).parts[0]


def index_path(store: Store, data_file: Path) -> Path:
    """Where the index of one persons (or calls) data file lives."""
    return store.home.joinpath("_index", _dataset(store, data_file), data_file.stem + ".arrow")


def persons_matching(store: Store, *, months: Sequence[str] | None, doc_numbers: pa.Array,
                     version_ids: pa.Array, columns: Sequence[str] = COLUMNS) -> pa.Table:
    """The stored persons (of the given months' partitions, any port) whose doc_number is one of
    `doc_numbers` or whose version_id is one of `version_ids`: the rows, in the store's order, that
    reading the persons dataset with that filter gives (`columns` of the persons schema)."""
    return rows_matching(store, "persons", months=months, wanted={"doc_number": doc_numbers, "version_id": version_ids},
                         columns=columns)


def rows_matching(store: Store, dataset: str, *, months: Sequence[str] | None, wanted: dict[str, pa.Array],
                  columns: Sequence[str]) -> pa.Table:
    """The rows of an indexed dataset (the given months' partitions, any port) where any column of
    `wanted` holds one of its values: in the store's order, as a read of the dataset with that filter
    gives them (`columns`, in the dataset's schema; all of them indexed)."""
    import numpy as np
    import pyarrow as pa

    from piu.schema import calls_schema, persons_schema

    store.check_version()
    schema = persons_schema() if dataset == "persons" else calls_schema()
    target = pa.schema([schema.field(c) for c in columns])
    sought = {column: _Sought(values) for column, values in wanted.items()}  # (their keys made once)
    searched = SEARCHED[dataset]

    def matching(table: pa.Table) -> pa.Table | None:
        mask = None
        for column, values in sought.items():
            hit = _member(table[column], values)
            mask = hit if mask is None else mask | hit
        rows = np.flatnonzero(mask)
        if not len(rows):
            return None
        picked = table.select(list(columns)).take(pa.array(rows)).replace_schema_metadata(None)
        return pa.table({c: _as_text(picked[c], c in searched) for c in columns})

    parts = []
    for data_file in store.files(dataset, months=months):
        try:
            part = matching(_load(store, data_file))
        except (OSError, ValueError, IndexError):  # an index damaged in place that its file times hide
            part = matching(_rebuilt(store, data_file))
        if part is not None:
            parts.append(part)
    if not parts:
        return target.empty_table()
    # the files' own dictionaries, decoded once per column for all of them
    picked = pa.concat_tables(parts, promote_options="permissive") if len(parts) > 1 else parts[0]
    return pa.table([picked[c].cast(target.field(c).type) for c in columns], schema=target)


def files_holding(store: Store, dataset: str, files: Sequence[Path], column: str, values: pa.Array) -> list[Path]:
    """The data files among `files` (of an indexed dataset) that hold one of `values` in `column`, by
    their indexes: a read of a few calls' rows opens only their files, not every file of their months."""
    sought = _Sought(values)
    out = []
    for data_file in files:
        try:
            index = _load(store, data_file)
        except (OSError, ValueError, IndexError):  # as rows_matching: an index damaged in place is rebuilt
            index = _rebuilt(store, data_file)
        if _member(index[column], sought).any():
            out.append(data_file)
    return out


# files of at most this many rows get their index when they are written (a day's manifests: a few
# milliseconds); bigger ones (a bulk load) when a score first needs it
INDEX_ON_WRITE_ROWS = 20_000


def index_written(store: Store, paths: Sequence[Path]) -> None:
    """Build and save the indexes of small data files just committed (best effort: a failure leaves
    them to the next score, which builds what it needs)."""
    import pyarrow.parquet as pq

    from piu.errors import StoreError

    for path in paths:
        try:
            if _dataset(store, path) not in INDEXED or pq.read_metadata(path).num_rows > INDEX_ON_WRITE_ROWS:
                continue
            _rebuilt(store, path)  # (outside a scoring run: saved at once)
        except (OSError, ValueError, StoreError):  # (pyarrow's errors are OSError or ValueError subclasses)
            continue


class _Sought:
    """Values looked for in a column, with their search keys per key width (made once per lookup)."""

    def __init__(self, values: pa.Array) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        if isinstance(values, pa.ChunkedArray):  # (as is_in takes them; the keys read one array's buffers)
            values = values.combine_chunks()
        self.values = values
        text = (values.cast(pa.string()) if values.type != pa.string() else values).drop_null()
        # a value with a zero byte is in no searchable dictionary; padded, it could equal another value
        self.text = text.filter(pc.invert(pc.match_substring(text, "\x00")))
        self._keys: dict[int, Any] = {}

    def keys(self, width: int) -> Any:
        """`_keys` and hashes of the values that fit in `width` bytes, in hash order."""
        import numpy as np

        if width not in self._keys:
            needles, hashes, fits = _keys(self.text, width)
            order = np.argsort(hashes[fits])  # (searched in order: fewer cache misses)
            self._keys[width] = needles[fits][order], hashes[fits][order]
        return self._keys[width]


def _member(column: pa.ChunkedArray, sought: _Sought) -> Any:
    """Per row of a dictionary-encoded index column: is its value one of the values sought? (numpy bool)"""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    values = sought.values
    out = []
    for chunk in column.chunks:
        if len(values) == 0 or len(chunk) == 0:
            out.append(np.zeros(len(chunk), dtype=bool))
            continue
        # the few wanted values against the dictionary, then one gather per row: no row's text is read
        if pa.types.is_fixed_size_binary(chunk.dictionary.type):
            wanted = _sorted_member(chunk.dictionary, sought)
        else:
            wanted = pc.is_in(chunk.dictionary, value_set=values).fill_null(False).to_numpy(zero_copy_only=False)
        out.append(wanted[chunk.indices.to_numpy()])
    if not out:  # a column of no chunks (an index of no rows, as Arrow IPC reads it back)
        return np.zeros(0, dtype=bool)
    return np.concatenate(out) if len(out) != 1 else out[0]


def _sorted_member(keys: pa.FixedSizeBinaryArray, sought: _Sought) -> Any:
    """Per entry of a searchable dictionary (`_sorted_keys`): is it one of the values sought? Binary
    search of their keys (their cost, not the dictionary's size); a null value finds the null entry."""
    import numpy as np

    size = keys.type.byte_width
    known = len(keys) - keys.null_count  # the null entry, if any, is last
    table = np.frombuffer(keys.buffers()[1], dtype=f"S{size}", count=keys.offset + known)[keys.offset:]
    needles, hashes = sought.keys(size - 8)
    wanted = np.zeros(len(keys), dtype=bool)
    if len(needles) and known:
        # by the hash first (numbers: faster than comparing byte strings), each found key checked whole
        sorted_hashes = np.ndarray((known,), dtype=">u8", buffer=keys.buffers()[1], offset=keys.offset * size,
                                   strides=(size,)).astype(np.uint64)
        at = np.minimum(np.searchsorted(sorted_hashes, hashes), known - 1)
        same = table[at] == needles
        shared = ~same & (sorted_hashes[at] == hashes)
        if shared.any():  # another value with the same hash sorts first (keys sort by hash, then value)
            at[shared] = np.minimum(np.searchsorted(table, needles[shared]), known - 1)
            same[shared] = table[at[shared]] == needles[shared]
        wanted[at[same]] = True
    if sought.values.null_count:
        wanted[known:] = True
    return wanted


def _keys(text: pa.StringArray, width: int) -> tuple[Any, Any, Any]:
    """Search keys of text values (no nulls): 8 bytes of a 64-bit hash (big-endian), then the value's
    bytes zero-padded to `width`, as numpy `S<8 + width>` (compared byte by byte, as numpy sorts and
    searches them); the hashes; and whether each value fits in `width` bytes (a longer one is cut: it
    is no dictionary's value)."""
    import numpy as np

    n = len(text)
    words = -(-width // 8)
    grid = np.zeros((n, words * 8), dtype=np.uint8)
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int32)[text.offset:text.offset + n + 1].astype(np.int64)
    lengths = np.diff(offsets)
    if n and offsets[-1] > offsets[0]:
        data = np.frombuffer(text.buffers()[2], dtype=np.uint8)
        cut = np.minimum(lengths, width)
        for size in np.unique(cut).tolist():  # the values of one length at a time: one 2-D gather each
            rows = np.flatnonzero(cut == size)
            if size:
                grid[rows, :size] = data[offsets[rows][:, None] + np.arange(size)]
    hashes = _hashed(grid)
    out = np.empty((n, 8 + width), dtype=np.uint8)
    out[:, :8] = hashes.astype(">u8").view(np.uint8).reshape(n, 8)
    out[:, 8:] = grid[:, :width]
    return out.view(f"S{8 + width}").reshape(n), hashes, lengths <= width


def _hashed(grid: Any) -> Any:
    """A 64-bit hash of each row of zero-padded bytes (a multiple of 8 wide): FNV-style mixing of its
    8-byte words (uint64 arithmetic wraps around). Equal values, equal hashes; others rarely."""
    import numpy as np

    hashes = np.full(len(grid), 0xCBF29CE484222325, dtype=np.uint64)
    for word in grid.view("<u8").T:
        hashes ^= word
        hashes *= np.uint64(0x100000001B3)
        hashes ^= hashes >> np.uint64(29)
    return hashes


def _sorted_keys(column: pa.DictionaryArray) -> pa.DictionaryArray | None:
    """A dictionary-encoded text column with its dictionary made searchable: each entry's `_keys` (hash,
    then value), sorted, as fixed-width bytes, the null entry last; None when a value is too long for
    that (KEY_WIDTH_MAX) or holds a zero byte (which the padding could not tell apart)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    dictionary = column.dictionary
    present = dictionary.drop_null()
    width = max(1, pc.max(pc.binary_length(present)).as_py() or 0)
    if width > KEY_WIDTH_MAX or (len(present) and pc.any(pc.match_substring(present, "\x00")).as_py()):
        return None
    keys, hashes, _ = _keys(present, width)
    order = np.argsort(hashes, kind="stable")  # numbers sort faster than text; by the hash bytes, then
    ordered = hashes[order]
    if len(order) > 1 and (ordered[1:] == ordered[:-1]).any():  # two values, one hash: by the whole key
        order = np.argsort(keys, kind="stable")
    valid = dictionary.is_valid().to_numpy(zero_copy_only=False)
    new_code = np.empty(len(dictionary), dtype=np.int64)
    new_code[np.flatnonzero(valid)[order]] = np.arange(len(order))
    new_code[~valid] = len(order)  # the null entry (null_encoding="encode": at most one)
    kind = pa.binary(8 + width)
    searchable = pa.FixedSizeBinaryArray.from_buffers(kind, len(order), [None, pa.py_buffer(keys[order].tobytes())])
    if not valid.all():
        searchable = pa.concat_arrays([searchable, pa.nulls(1, kind)])
    return pa.DictionaryArray.from_arrays(pa.array(new_code[column.indices.to_numpy()]), searchable)


def _as_text(column: pa.ChunkedArray, searched: bool = False) -> pa.ChunkedArray:
    """An index column as rows_matching gives it: searchable keys back to text (the hash and the zero
    padding removed); a `searched` column (SEARCHED) kept as a text dictionary (a value too long for
    keys) decoded too, so that it has the type it has from the other files' indexes (Arrow cannot
    concatenate text with a dictionary); other columns as they are."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not (pa.types.is_dictionary(column.type) and pa.types.is_fixed_size_binary(column.type.value_type)):
        return column.cast(column.type.value_type) if searched and pa.types.is_dictionary(column.type) else column
    width = column.type.value_type.byte_width  # (an explicit stop: pyarrow 26 fails without one on arrays without nulls)
    raw = pc.binary_slice(column.cast(column.type.value_type).cast(pa.binary()), 8, width)
    return pc.utf8_rtrim(raw.cast(pa.string()), characters="\x00")


class _Run:
    """What one scoring run knows of the indexes (see saved_on_success)."""

    def __init__(self) -> None:
        self.pending: dict[Path, pa.Table] = {}   # built, saved when the run succeeds
        self.loaded: dict[Path, pa.Table] = {}    # read (or built) earlier in the run
        self.checked: dict[Path, dict[str, list[int]]] = {}  # per folder: as in its _CHECKED file
        self.newly_checked: set[Path] = set()     # folders whose _CHECKED file is to be written again


def _load(store: Store, data_file: Path) -> pa.Table:
    """The index of one data file: read from its index file, else built (and saved when possible)."""
    path = index_path(store, data_file)
    run = _RUN.get()
    if run is not None and path in run.loaded:  # read or built earlier in this run
        return run.loaded[path]
    meta = _meta(data_file)
    table = _read(path, meta, run)
    if table is None:
        return _rebuilt(store, data_file)
    if run is not None:
        run.loaded[path] = table
    return table


def _rebuilt(store: Store, data_file: Path) -> pa.Table:
    """The index of a data file built again from it (its index file could not be used), saved as _load
    saves what it builds."""
    path = index_path(store, data_file)
    table = build(store, data_file).replace_schema_metadata(_meta(data_file))
    run = _RUN.get()
    if run is None:
        _save(path, table)
    else:
        run.pending[path] = table
        run.loaded[path] = table
    return table


def _meta(data_file: Path) -> dict[bytes, bytes]:
    """What an index file says of itself: the index format and the data file it was made from."""
    size = str(data_file.stat().st_size).encode() if data_file.exists() else b""
    return {b"piu.index": FORMAT, b"piu.source": data_file.name.encode(), b"piu.source_size": size}


def _read(path: Path, meta: dict[bytes, bytes], run: _Run | None = None) -> pa.Table | None:
    """The index stored at `path` if it is whole and was made for the data file `meta` describes; None
    when it is missing, damaged (its CRC-32 is checked before a byte of it is parsed: Arrow IPC has no
    checksums of its own, and damaged IPC can crash the reader) or another file's.

    In a scoring run (`run`), a file whose CRC-32 was found right before, and that has not changed
    since as os.stat sees it (size, modification time, inode), is not read whole again: a write to it
    changes its modification time, a new or copied file has another inode (index files are never
    written in place: a new one replaces the old). `piu doctor` checks every index in full."""
    import zlib

    import pyarrow as pa

    try:
        stat = os.stat(path)
        buf = pa.memory_map(str(path)).read_buffer()
    except OSError:
        return None
    if buf.size < _TRAILER.size:
        return None
    magic, crc, n = _TRAILER.unpack(buf.slice(buf.size - _TRAILER.size).to_pybytes())
    if magic != _MAGIC or n != buf.size - _TRAILER.size:
        return None
    body = buf.slice(0, n)
    stamp = [stat.st_size, stat.st_mtime_ns, stat.st_ino, crc]
    checked = _checked(run, path.parent) if run is not None else {}
    if checked.get(path.name) != stamp:
        if zlib.crc32(memoryview(body)) != crc:
            return None
        if run is not None:
            checked[path.name] = stamp
            run.newly_checked.add(path.parent)
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
    run = _Run()
    token = _RUN.set(run)
    try:
        yield
    finally:
        _RUN.reset(token)
    for path, table in run.pending.items():
        _save(path, table)
    for folder in run.newly_checked:
        _save_checked(folder, run.checked[folder])


def _checked(run: _Run, folder: Path) -> dict[str, list[int]]:
    """The folder's record of index files checked whole (read once per run; empty when unreadable)."""
    import json

    if folder not in run.checked:
        try:
            record = json.loads((folder / _CHECKED).read_text(encoding="utf-8"))
            valid = isinstance(record, dict) and all(
                isinstance(v, list) and len(v) == 4 and all(type(x) is int for x in v) for v in record.values())
        except (OSError, ValueError):
            valid = False
        run.checked[folder] = record if valid else {}
    return run.checked[folder]


def _save_checked(folder: Path, record: dict[str, list[int]]) -> None:
    """Write a folder's record of checked files (best effort, like the indexes; entries of files that
    are gone are dropped)."""
    import json

    tmp = folder / f".{_CHECKED}.{secrets.token_hex(4)}.tmp"
    try:
        present = set(os.listdir(folder))
        tmp.write_text(json.dumps({k: v for k, v in sorted(record.items()) if k in present}), encoding="utf-8")
        os.replace(tmp, folder / _CHECKED)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()


def matches(store: Store, data_file: Path, path: Path) -> bool:
    """True when the index file `path` is whole and holds exactly the index of `data_file` (what
    `piu doctor` checks)."""
    table = _read(path, _meta(data_file))
    return table is not None and table.replace_schema_metadata(None).equals(build(store, data_file))


def build(store: Store, data_file: Path) -> pa.Table:
    """The index table of one persons (calls) data file: COLUMNS (CALL_COLUMNS) in the file's row
    order, text columns dictionary-encoded (a missing value is an entry of its own, so row codes are
    never null)."""
    import pyarrow as pa

    from piu.schema import calls_schema, persons_schema

    if _dataset(store, data_file) == "calls":
        table = store.read_files("calls", [data_file], calls_schema(), columns=list(CALL_COLUMNS))
    else:
        table = store.read_files("persons", [data_file], persons_schema(), columns=list(COLUMNS))
    searched = SEARCHED[_dataset(store, data_file)]
    columns = {}
    for field in table.schema:
        column = table[field.name].combine_chunks()
        if pa.types.is_string(field.type):
            column = column.dictionary_encode(null_encoding="encode")
            column = _narrow((_sorted_keys(column) if field.name in searched else None) or column)
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
