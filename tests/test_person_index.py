"""The persons index (piu.person_index): the same rows as a filtered read of the persons dataset,
built once per data file, rebuilt when stale, never required to be writable; and current_calls."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from piu import person_index, queries
from piu.person_index import index_path, persons_matching
from piu.schema import persons_schema
from piu.store import Store
from tests.store_factories import call, person, write

UTC = timezone.utc
COLUMNS = list(person_index.COLUMNS)


def texts(values: list[str]) -> pa.Array:
    return pa.array(values, type=pa.string())


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """Three ingests over two ports and three months, one of them retracted; documents shared across
    calls, missing (null and empty), and repeated within a call."""
    st = Store(tmp_path / "home")
    rng = random.Random(4)
    start = datetime(2026, 9, 25, 3, 0, tzinfo=UTC)
    for k, tag in enumerate(("aaaaaa", "bbbbbb", "cccccc")):
        calls, persons = [], []
        for i in range(12):
            c = call(port=("KHKOS", "THLCH")[i % 2], call_time=start + timedelta(days=4 * i + k), imo=f"90{k}{i:04d}",
                     tag=tag, ingested=start + timedelta(days=60 + k))
            calls.append(c)
            for row in range(2, 2 + rng.randint(0, 6)):
                doc = rng.choice([f"P{rng.randint(0, 30):07d}", None, "", f"P{rng.randint(0, 30):07d}"])
                persons.append(person(c, source_row=row, doc_number=doc, family_name=rng.choice(["SOK", "LIM", "TAN"]),
                                      disembark_port=rng.choice([None, "KHKOS"])))
        write(st, calls, persons)
    retracted = sorted(st.visible_txns())[-1]
    with st.transaction("repair") as txn:
        txn.retract([retracted])
    return st


def filtered_read(st: Store, months: list[str] | None, docs: pa.Array, versions: pa.Array) -> pa.Table:
    """What scoring read before the index: the persons dataset with the same filter."""
    return st.read("persons", persons_schema(), months=months, columns=COLUMNS,
                   filter=ds.field("doc_number").isin(docs) | ds.field("version_id").isin(versions))


def test_the_index_gives_the_rows_of_a_filtered_read_in_the_same_order(store: Store) -> None:
    every = store.read("persons", persons_schema(), columns=COLUMNS)
    all_docs = sorted({d for d in every["doc_number"].to_pylist() if d})
    all_versions = sorted(set(every["version_id"].to_pylist()))
    rng = random.Random(7)
    cases = [([], [], None), (all_docs, [], None), ([], all_versions, None), (["P0000003", "NOPE"], [], ["2026-10"])]
    cases += [(rng.sample(all_docs, rng.randint(0, 8)), rng.sample(all_versions, rng.randint(0, 5)),
               rng.choice([None, ["2026-10"], ["2026-09", "2026-11"]])) for _ in range(25)]
    for docs, versions, months in cases:
        got = persons_matching(store, months=months, doc_numbers=texts(docs), version_ids=texts(versions))
        want = filtered_read(store, months, texts(docs), texts(versions))
        assert got.schema == want.schema
        assert got.to_pylist() == want.to_pylist(), (docs, versions, months)
    # the cases are not empty ones: every person with a document number, and no other, is found by it
    found = persons_matching(store, months=None, doc_numbers=texts(all_docs), version_ids=texts([]))
    assert found.num_rows == sum(1 for d in every["doc_number"].to_pylist() if d) == 19


def test_the_calls_index_gives_the_rows_of_a_filtered_read_in_the_same_order(store: Store) -> None:
    from piu.person_index import CALL_COLUMNS, rows_matching
    from piu.schema import calls_schema

    columns = list(CALL_COLUMNS)
    every = store.read("calls", calls_schema(), columns=columns)
    values = {c: sorted({v for v in every[c].to_pylist() if v}) for c in ("imo", "mmsi", "vessel_name_key", "call_id")}
    rng = random.Random(11)
    cases = [{"imo": [], "mmsi": []}, {"call_id": values["call_id"]}, {"imo": ["NOPE"], "vessel_name_key": []}]
    cases += [{c: rng.sample(values[c], min(len(values[c]), rng.randint(0, 4)))
               for c in rng.sample(sorted(values), rng.randint(1, 3))} for _ in range(25)]
    for wanted in cases:
        months = rng.choice([None, ["2026-10"], ["2026-09", "2026-11"]])
        got = rows_matching(store, "calls", months=months, columns=columns,
                            wanted={c: texts(v) for c, v in wanted.items()})
        flt = None
        for c, v in wanted.items():
            flt = ds.field(c).isin(texts(v)) if flt is None else flt | ds.field(c).isin(texts(v))
        want = store.read("calls", calls_schema(), months=months, columns=columns, filter=flt)
        assert got.schema == want.schema
        assert got.to_pylist() == want.to_pylist(), (wanted, months)
    assert rows_matching(store, "calls", months=None, columns=["call_id"],
                         wanted={"call_id": texts(values["call_id"])}).num_rows == every.num_rows == 24
    assert sorted(p.name for p in (store.home / "_index" / "calls").iterdir()) == sorted(
        f.stem + ".arrow" for f in store.files("calls"))


def test_one_index_file_per_visible_data_file_built_once(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    files = store.files("persons")
    assert not any(index_path(store, f).exists() for f in files)
    first = persons_matching(store, months=None, doc_numbers=texts(["P0000003"]), version_ids=texts([]))
    assert sorted(p.name for p in (store.home / "_index" / "persons").iterdir()) == sorted(f.stem + ".arrow" for f in files)

    def no_build(*args: object) -> None:
        raise AssertionError("built again")

    monkeypatch.setattr(person_index, "build", no_build)
    again = persons_matching(store, months=None, doc_numbers=texts(["P0000003"]), version_ids=texts([]))
    assert again.equals(first)


@pytest.mark.parametrize("damage", ["garbage", "another file's index", "empty", "zeroed bytes", "a value changed",
                                    "a folder", "Arrow IPC without the trailer"])
def test_a_stale_or_damaged_index_file_is_rebuilt(store: Store, damage: str) -> None:
    """Damage in place is found by the CRC before the file is parsed (damaged Arrow IPC can crash the
    reader, or be read as other values): the index is built again and the rows are right."""
    a, b = store.files("persons")[:2]
    in_a = next(d for d in store.read_files("persons", [a], persons_schema())["doc_number"].to_pylist() if d)
    docs = texts([in_a, "P0000003", "P0000020"])
    want = filtered_read(store, None, docs, texts([]))
    persons_matching(store, months=None, doc_numbers=docs, version_ids=texts([]))
    target = index_path(store, a)
    raw = bytearray(target.read_bytes())
    if damage == "garbage":
        target.write_bytes(b"ARROW1" + b"\x00" * 100)
    elif damage == "another file's index":
        target.write_bytes(index_path(store, b).read_bytes())
    elif damage == "empty":
        target.write_bytes(b"")
    elif damage == "zeroed bytes":
        middle = len(raw) // 2
        raw[middle:middle + 64] = bytes(64)
        target.write_bytes(bytes(raw))
    elif damage == "a value changed":
        at = raw.index(in_a.encode())  # in the dictionary: the rows of this document would not be found
        raw[at:at + len(in_a)] = b"X" * len(in_a)
        target.write_bytes(bytes(raw))
    elif damage == "a folder":
        target.unlink()
        target.mkdir()
    else:  # as the first index format wrote them
        with pa.OSFile(str(target), "wb") as sink, pa.ipc.new_file(sink, person_index.build(store, a).schema) as w:
            w.write_table(person_index.build(store, a))
    assert persons_matching(store, months=None, doc_numbers=docs, version_ids=texts([])).equals(want)
    assert person_index._load(store, a).num_rows == store.read_files("persons", [a], persons_schema()).num_rows
    if damage != "a folder":
        assert person_index.matches(store, a, target)  # saved again, whole


def test_an_index_built_earlier_in_the_run_is_not_built_again(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    built = []
    real = person_index.build
    monkeypatch.setattr(person_index, "build", lambda st, f: built.append(f) or real(st, f))
    with person_index.saved_on_success():
        for _ in range(3):
            persons_matching(store, months=None, doc_numbers=texts(["P0000003"]), version_ids=texts([]))
    assert sorted(built) == sorted(store.files("persons"))


def test_an_index_that_cannot_be_written_is_built_in_memory(store: Store) -> None:
    (store.home / "_index").write_text("not a folder")  # mkdir of _index/persons fails
    docs = texts(["P0000003"])
    got = persons_matching(store, months=None, doc_numbers=docs, version_ids=texts([]))
    assert got.equals(filtered_read(store, None, docs, texts([])))
    assert (store.home / "_index").read_text() == "not a folder"


def test_indexes_built_in_a_failed_block_are_not_saved(store: Store) -> None:
    with pytest.raises(RuntimeError), person_index.saved_on_success():
        persons_matching(store, months=None, doc_numbers=texts(["P0000003"]), version_ids=texts([]))
        raise RuntimeError("the score failed")
    assert not (store.home / "_index").exists()
    with person_index.saved_on_success():
        persons_matching(store, months=None, doc_numbers=texts(["P0000003"]), version_ids=texts([]))
        assert not (store.home / "_index").exists()  # saved when the block ends
    assert len(list((store.home / "_index" / "persons").iterdir())) == len(store.files("persons"))


def test_current_calls_keeps_the_latest_version_sorted_by_time(tmp_path: Path) -> None:
    st = Store(tmp_path / "home")
    t0 = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    a1 = call(imo="9074729", call_time=t0, ingested=t0 + timedelta(hours=1), tag="aaaaaa")
    b1 = call(imo="9176187", call_time=t0 - timedelta(days=1), ingested=t0 + timedelta(hours=1), tag="aaaaaa")
    a2 = call(imo="9074729", call_time=t0, ingested=t0 + timedelta(hours=2), tag="bbbbbb", vessel_name="SEA PEARL II")
    c1 = call(imo="9321483", call_time=t0 - timedelta(days=2), ingested=t0 + timedelta(hours=3), tag="cccccc")
    write(st, [a2, b1])
    write(st, [a1, c1])
    write(st, [b1])  # the same version written twice is one version
    got = queries.current_calls(st, columns=["vessel_name", "call_time"])
    assert got["call_id"].tolist() == [c1["call_id"], b1["call_id"], a1["call_id"]]
    assert got["vessel_name"].tolist() == ["SEA PEARL", "SEA PEARL", "SEA PEARL II"]
    assert got["ingest_id"].tolist() == [c1["ingest_id"], b1["ingest_id"], a2["ingest_id"]]
    by_id = queries.current_calls(st, columns=["call_id"])  # without call_time: by call id
    latest = {a1["call_id"]: a2["ingest_id"], b1["call_id"]: b1["ingest_id"], c1["call_id"]: c1["ingest_id"]}
    assert list(zip(by_id["call_id"], by_id["ingest_id"])) == sorted(latest.items())
    # the same rows as latest_versions over every version (the pandas definition)
    every = queries.all_call_versions(st, columns=["vessel_name", "call_time"])
    want = queries.latest_versions(every).sort_values(["call_time", "call_id"]).reset_index(drop=True)
    assert got.equals(want)


def test_a_score_saves_the_indexes_its_history_reads_built(store: Store) -> None:
    """The history is read on a second thread: the indexes it builds are still saved with the score."""
    from piu.risk.config import defaults
    from piu.risk.scoring import score_store

    run = score_store(store, defaults(), now=datetime(2026, 12, 1, tzinfo=UTC))
    assert run.scored == 24  # the retracted ingest's 12 calls are not in the store
    saved = sorted(p.name for p in (store.home / "_index" / "persons").iterdir())
    assert saved == sorted(f.stem + ".arrow" for f in store.files("persons"))


def test_a_failed_score_saves_no_index(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from piu.risk.config import defaults
    from piu.risk.scoring import score_store

    def refused(kind: str) -> None:
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(store, "transaction", refused)
    with pytest.raises(OSError):
        score_store(store, defaults(), now=datetime(2026, 12, 1, tzinfo=UTC))
    assert not (store.home / "_index").exists()


def test_a_run_checks_each_unchanged_index_file_whole_once(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CRC-32 of an index file is computed when a run first reads it after it changed (as os.stat
    sees it); damage in place changes its times, and is found."""
    import zlib

    docs = texts(["P0000003", "P0000007"])
    want = filtered_read(store, None, docs, texts([]))
    persons_matching(store, months=None, doc_numbers=docs, version_ids=texts([]))  # builds and saves them
    folder = store.home / "_index" / "persons"
    sums = []
    real = zlib.crc32
    monkeypatch.setattr(zlib, "crc32", lambda data, *a: sums.append(1) or real(data, *a))

    def run() -> pa.Table:
        with person_index.saved_on_success():
            return persons_matching(store, months=None, doc_numbers=docs, version_ids=texts([]))
    assert run().equals(want) and len(sums) == len(store.files("persons"))
    record = json.loads((folder / ".checked.json").read_text())
    assert sorted(record) == sorted(f.stem + ".arrow" for f in store.files("persons"))
    sums.clear()
    assert run().equals(want) and sums == []  # nothing changed: nothing read whole again
    # damage in place, same size: its stat changes, its CRC is computed, it is rebuilt
    target = index_path(store, store.files("persons")[0])
    raw = bytearray(target.read_bytes())
    at = raw.index(b"P0000")
    raw[at:at + 5] = b"X0000"
    target.write_bytes(bytes(raw))
    assert run().equals(want) and len(sums) == 2  # found damaged; the rebuilt one's CRC-32 for its trailer
    assert person_index.matches(store, store.files("persons")[0], target)
    # a damaged record is no record: every file is checked again
    (folder / ".checked.json").write_text('{"x": [1, 2]')
    sums.clear()
    assert run().equals(want) and len(sums) == len(store.files("persons"))


def test_damage_that_keeps_the_files_times_is_found_by_doctor(store: Store) -> None:
    """A scoring run reads an index file whole (its CRC-32) when its size, modification time or inode
    changed since it was last checked (README, `piu doctor`). Damage that leaves all three as they were
    (bit rot, a write that sets the time back) is found by `piu doctor`, which checks every index in
    full against its data file."""
    import os

    from piu.doctor import check

    docs = texts(["P0000003", "P0000007"])
    want = filtered_read(store, None, docs, texts([]))
    assert want.num_rows > 0

    def run() -> pa.Table:
        with person_index.saved_on_success():
            return persons_matching(store, months=None, doc_numbers=docs, version_ids=texts([]))
    assert run().equals(want) and run().equals(want)  # built, then checked and recorded
    damaged = []
    for data_file in store.files("persons"):
        target = index_path(store, data_file)
        raw = bytearray(target.read_bytes())
        if b"P0000003" not in raw and b"P0000007" not in raw:
            continue
        before = os.stat(target)
        for doc in (b"P0000003", b"P0000007"):
            at = raw.find(doc)
            if at >= 0:
                raw[at:at + 1] = b"X"
        with open(target, "r+b") as fh:  # in place: same inode, same size
            fh.write(bytes(raw))
        os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert os.stat(target).st_ino == before.st_ino
        damaged.append(f"_index/persons/{target.name}")
    assert damaged
    report = check(store)
    assert sorted(p.where for p in report.problems if p.kind == "damaged-index") == sorted(damaged)


def test_ingest_indexes_the_small_files_it_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A day's manifest gets its calls and persons indexes when it is stored (the next score only reads
    them); a bulk load's big files are indexed by the first score that needs them."""
    from piu.io.ingest import ingest_files
    from piu.synth import generate

    info = generate(6, str(tmp_path / "sample"))
    store = Store(tmp_path / "home")
    ingest_files(store, [info["manifest"]])
    files = store.files("calls") + store.files("persons")
    assert files and all(person_index.matches(store, f, index_path(store, f)) for f in files)
    monkeypatch.setattr(person_index, "INDEX_ON_WRITE_ROWS", 0)
    info = generate(3, str(tmp_path / "more"), seed=9)
    ingest_files(store, [info["manifest"]])
    new = [f for f in store.files("calls") + store.files("persons") if f not in files]
    assert new and not any(index_path(store, f).exists() for f in new)


def test_an_index_that_fails_when_read_is_built_again(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """An index damaged in place can pass unnoticed until Arrow fails on it: the file's index is built
    again from its data file, and the lookup gives the rows it would have."""
    docs = texts(["P0000003", "P0000007"])
    want = filtered_read(store, None, docs, texts([]))
    persons_matching(store, months=None, doc_numbers=docs, version_ids=texts([]))  # built and saved
    first = store.files("persons")[0]
    real_member, real_build, failed, built = person_index._member, person_index.build, [], []

    def member(column: pa.ChunkedArray, values: pa.Array) -> object:
        if not failed:
            failed.append(1)
            raise OSError("Invalid: index out of bounds")
        return real_member(column, values)
    monkeypatch.setattr(person_index, "_member", member)
    monkeypatch.setattr(person_index, "build", lambda st, f: built.append(f) or real_build(st, f))
    with person_index.saved_on_success():
        got = persons_matching(store, months=None, doc_numbers=docs, version_ids=texts([]))
    assert got.equals(want) and built == [first]


AWKWARD = ["AB", "ABC", "AB ", " AB", "", "ÁB", "ស១២៣", "ทด 123", "A\x00B", "Z" * (person_index.KEY_WIDTH_MAX + 5),
           "A" * person_index.KEY_WIDTH_MAX, None, "ab", "A-B/1"]


@pytest.mark.parametrize(("long_values", "colliding"), [(False, False), (True, False), (False, True)])
def test_sorted_keys_find_exactly_what_a_filtered_read_finds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            long_values: bool, colliding: bool) -> None:
    """Looked-up columns keep their dictionary sorted as fixed-width bytes (binary search instead of
    hashing every distinct value): prefixes, padding, spaces, non-ASCII text, empty text and nulls find
    exactly their own rows; a file with a value too long for that, or a zero byte, keeps a text
    dictionary and is searched as before. With a hash that makes most values collide, the same."""
    from piu.person_index import _load, rows_matching

    if colliding:
        monkeypatch.setattr(person_index, "_hashed", lambda grid: (grid.sum(axis=1) % 3).astype("uint64"))
    st = Store(tmp_path / "home")
    docs = [d for d in AWKWARD if long_values or (d is None or (len(d) < 40 and "\x00" not in d))]
    calls, persons = [], []
    for i, doc in enumerate(docs * 2):
        c = call(call_time=datetime(2026, 11, 1, 3, 0, tzinfo=UTC) + timedelta(hours=i), imo=f"90{i:05d}", tag="aaaaaa")
        calls.append(c)
        persons.append(person(c, source_row=2 + i, doc_number=doc))
    write(st, calls, persons)
    [data_file] = st.files("persons")
    kind = _load(st, data_file)["doc_number"].type.value_type
    assert pa.types.is_string(kind) if long_values else kind == pa.binary(8 + max(len(d.encode()) for d in docs if d))
    wanted_sets = [[d] for d in AWKWARD] + [AWKWARD, ["AB", "ZZ", "A" * 200], ["AB\x00"], []]
    for wanted in wanted_sets:
        values = pa.array(wanted, type=pa.string())
        got = rows_matching(st, "persons", months=None, wanted={"doc_number": values}, columns=COLUMNS)
        want = st.read("persons", persons_schema(), columns=COLUMNS,
                       filter=ds.field("doc_number").isin(values.drop_null())
                       | (ds.field("doc_number").is_null() if values.null_count else ds.scalar(False)))
        assert got.schema == want.schema
        assert got.to_pylist() == want.to_pylist(), wanted
        assert got.num_rows == 2 * sum(1 for d in docs if d in wanted or (d is None and None in wanted))


@pytest.mark.parametrize("odd", ["X" * (person_index.KEY_WIDTH_MAX + 1), "P12\x0034"])
def test_files_with_and_without_sorted_keys_are_searched_together(tmp_path: Path, odd: str) -> None:
    """One file's looked-up column kept as a text dictionary (a value too long for keys, or with a zero
    byte), another's sorted keys: rows of both are found and put together (they were an ArrowTypeError)."""
    from piu.person_index import _load

    st = Store(tmp_path / "home")
    for k, (tag, doc) in enumerate((("aaaaaa", odd), ("bbbbbb", "P1234567"))):
        c = call(call_time=datetime(2026, 11, 1, 3, 0, tzinfo=UTC) + timedelta(days=k), imo=f"90{k:05d}", tag=tag)
        write(st, [c], [person(c, source_row=2, doc_number=doc), person(c, source_row=3, doc_number="P7654321")])
    kinds = [_load(st, f)["doc_number"].type.value_type for f in st.files("persons")]
    assert sorted(str(k) for k in kinds) == ["fixed_size_binary[16]", "string"]
    versions = st.read("persons", persons_schema(), columns=["version_id"])["version_id"].unique()
    for docs, ids in ([[odd, "P1234567"], []], [["P7654321"], []], [[], versions.to_pylist()]):
        got = persons_matching(st, months=None, doc_numbers=texts(docs), version_ids=texts(ids))
        want = filtered_read(st, None, texts(docs), texts(ids))
        assert got.schema == want.schema
        assert got.to_pylist() == want.to_pylist()
        assert got.num_rows == {1: 2, 2: 2}.get(len(docs), 4)


def test_values_sought_may_be_a_chunked_array(store: Store) -> None:
    """As an Arrow is_in takes them (e.g. a pandas text column of several chunks, scoring._text_array)."""
    every = store.read("persons", persons_schema(), columns=COLUMNS)
    docs = sorted({d for d in every["doc_number"].to_pylist() if d})[:6]
    versions = sorted(set(every["version_id"].to_pylist()))[:3]
    chunked = (pa.chunked_array([texts(docs[:2]), texts(docs[2:])]), pa.chunked_array([texts(versions[:1]), texts(versions[1:])]))
    got = persons_matching(store, months=None, doc_numbers=chunked[0], version_ids=chunked[1])
    want = filtered_read(store, None, texts(docs), texts(versions))
    assert got.to_pylist() == want.to_pylist()
    assert got.num_rows == 12


def test_an_index_column_of_no_chunks_matches_no_row() -> None:
    """Arrow IPC reads an index of no rows back as columns of no chunks (files_holding searches it
    outside the rebuild that rows_matching's error handling does)."""
    from piu.person_index import _member, _Sought

    for kind in (pa.dictionary(pa.int8(), pa.binary(9)), pa.dictionary(pa.int8(), pa.string())):
        hit = _member(pa.chunked_array([], type=kind), _Sought(texts(["A"])))
        assert hit.dtype == bool and hit.tolist() == []
