"""The store: atomic transactions, orphan clean-up, crash safety, locking, version checks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pytest

from piu.errors import StoreError
from piu.schema import ingests_schema
from piu.store import Store, _safe


def _log_row(ingest_id: str, name: str = "a.csv") -> pa.Table:
    now = datetime(2026, 11, 29, tzinfo=timezone.utc)
    return pa.table({"ingest_id": [ingest_id], "started_at": [now], "finished_at": [now], "source_file": [name],
                     "source_sha256": ["0" * 64], "rows": [1], "calls_new": [1], "calls_amended": [0],
                     "calls_unchanged": [0], "persons": [1], "quarantined": [0], "piu_version": ["t"],
                     "user": ["u"], "read_options": [None]}, schema=ingests_schema())


def _ids(store: Store) -> list[str]:
    return sorted(store.read("ingests", ingests_schema())["ingest_id"].to_pylist())


def test_commit_makes_files_visible(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with store.transaction("t") as txn:
        txn.write("ingests", _log_row("one"))
    assert _ids(store) == ["one"]
    assert json.loads((tmp_path / "piu-store.json").read_text())["format"] == 1


def test_exception_in_transaction_leaves_store_unchanged(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with store.transaction("t") as txn:
        txn.write("ingests", _log_row("one"))
    with pytest.raises(RuntimeError):
        with store.transaction("t") as txn:
            txn.write("ingests", _log_row("two"))
            raise RuntimeError("boom")
    assert _ids(store) == ["one"]
    assert len(list((tmp_path / "ingests").glob("*.parquet"))) == 1


def test_uncommitted_files_are_invisible_and_cleaned(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with store.transaction("t") as txn:
        txn.write("ingests", _log_row("one"))
    # a crashed writer's file: named after a transaction that never committed
    orphan = tmp_path / "ingests" / "20260101T000000000000Z-dead00-0.parquet"
    orphan.write_bytes(b"PAR1 truncated")
    assert _ids(store) == ["one"]
    with store.transaction("t") as txn:
        txn.write("ingests", _log_row("two"))
    assert not orphan.exists()
    assert _ids(store) == ["one", "two"]


def test_retract_hides_an_earlier_transaction(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with store.transaction("t") as first:
        first.write("ingests", _log_row("old"))
    with store.transaction("t") as txn:
        txn.retract([first.id])
        txn.write("ingests", _log_row("new"))
    assert _ids(store) == ["new"]


def test_sigkill_mid_transaction_leaves_store_readable_and_unchanged(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with store.transaction("t") as txn:
        txn.write("ingests", _log_row("before"))
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
        from tests.test_store import _log_row
        from piu.store import Store
        with Store({str(tmp_path)!r}).transaction("t") as txn:
            for i in range(1000):
                txn.write("ingests", _log_row(f"x{{i}}"))
                if i == 3:
                    print("written", flush=True)
                time.sleep(0.01)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "written"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert len(list((tmp_path / "ingests").glob("*.parquet"))) > 1  # orphans are on disk...
    assert _ids(store) == ["before"]                                 # ...but invisible
    with store.transaction("t") as txn:                              # the lock was released by the kill
        txn.write("ingests", _log_row("after"))
    assert _ids(store) == ["after", "before"]
    assert len(list((tmp_path / "ingests").glob("*.parquet"))) == 2


def test_second_writer_waits_for_the_lock(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.init()
    script = textwrap.dedent(f"""
        import time
        from piu.store import Store
        with Store({str(tmp_path)!r}).lock():
            print("locked", flush=True)
            time.sleep(1.0)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    t0 = time.monotonic()
    with store.transaction("t") as txn:
        txn.write("ingests", _log_row("mine"))
    waited = time.monotonic() - t0
    proc.wait()
    assert waited > 0.3  # it waited for the other writer instead of interleaving
    assert _ids(store) == ["mine"]


def test_lock_timeout_is_a_one_line_store_error(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with store.lock():
        with pytest.raises(StoreError, match="another piu process is writing"):
            with store.lock(timeout=0.2):
                pass


def test_newer_store_format_is_refused(tmp_path: Path) -> None:
    (tmp_path / "piu-store.json").write_text(json.dumps({"format": 99}))
    with pytest.raises(StoreError, match=r"written by a newer piu \(store format 99, this piu reads 1\)"):
        Store(tmp_path).read("ingests", ingests_schema())


def test_read_only_store_location_is_a_clear_error(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        # root ignores permission bits; a read-only bind is not available here, so use a file as the parent
        blocker = tmp_path / "file"
        blocker.write_text("x")
        store = Store(blocker / "store")
    else:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        store = Store(ro / "store")
    with pytest.raises(StoreError, match="cannot create the store|not writable"):
        with store.transaction("t"):
            pass


def test_corrupt_committed_file_is_reported(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with store.transaction("t") as txn:
        txn.write("ingests", _log_row("one"))
    victim = next((tmp_path / "ingests").glob("*.parquet"))
    victim.write_bytes(b"not parquet at all")
    with pytest.raises(StoreError, match=r"the ingests dataset in .* has an unreadable file \(ArrowInvalid\); run `piu doctor`"):
        store.read("ingests", ingests_schema())


@pytest.mark.parametrize("value, expected", [
    ("KHKOS", "KHKOS"), ("../../etc", "______etc"), ("", "__none__"), ("a/b", "a_b"),
])
def test_partition_values_never_become_paths(value: str, expected: str) -> None:
    assert _safe(value) == expected


def test_home_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIU_HOME", str(tmp_path / "env"))
    assert Store(str(tmp_path / "flag")).home == tmp_path / "flag"
    assert Store(None).home == tmp_path / "env"
    monkeypatch.delenv("PIU_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert Store(None).home == tmp_path / "xdg" / "piu"


def test_silently_zeroed_bytes_are_caught_by_page_checksums(tmp_path: Path) -> None:
    from piu.doctor import check

    store = Store(tmp_path)
    big = pa.concat_tables([_log_row(f"id{i:06d}", f"file{i}.csv") for i in range(3000)])
    with store.transaction("t") as txn:
        txn.write("ingests", big)
    victim = next((tmp_path / "ingests").glob("*.parquet"))
    data = bytearray(victim.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 64] = bytes(64)  # damage that leaves the file structurally valid
    victim.write_bytes(bytes(data))
    with pytest.raises(StoreError, match=r"the ingests dataset in .* has an unreadable file"):
        store.read("ingests", ingests_schema())
    assert [p.kind for p in check(store).problems] == ["damaged-file"]


def test_empty_and_missing_partition_values_land_in_one_partition(tmp_path: Path) -> None:
    from piu.schema import calls_schema

    store = Store(tmp_path)
    rows = {f.name: [None, None, None] for f in calls_schema()}
    rows.update(call_id=["a", "b", "c"], port=["", None, "KHKOS"], month=["2026-11", "2026-11", ""])
    with store.transaction("t") as txn:
        txn.write("calls", pa.table(rows, schema=calls_schema()))
    assert sorted(store.read("calls", calls_schema())["call_id"].to_pylist()) == ["a", "b", "c"]
    assert sorted(p.name for p in (tmp_path / "calls").iterdir()) == ["port=KHKOS", "port=__none__"]



def test_a_file_made_elsewhere_is_moved_in_and_visible_only_after_commit(tmp_path: Path) -> None:
    from piu.schema import calls_schema
    from piu.store import partitions, write_parquet

    store = Store(tmp_path / "home")
    rows = {f.name: [None, None, None] for f in calls_schema()}
    rows.update(call_id=["a", "b", "c"], port=["KHKOS", "", "KHKOS"], month=["2026-11", "2026-11", "2026-11"])
    parts = partitions(pa.table(rows, schema=calls_schema()))
    assert [(p, m, t["call_id"].to_pylist()) for p, m, t in parts] == [("KHKOS", "2026-11", ["a", "c"]),
                                                                         ("__none__", "2026-11", ["b"])]
    staged = []
    for i, (port, month, part) in enumerate(parts):
        staged.append((port, month, tmp_path / f"staged-{i}.parquet"))
        write_parquet(part, staged[-1][2])
    with pytest.raises(RuntimeError):
        with store.transaction("t") as txn:
            txn.add_file("calls", *staged[0])
            raise RuntimeError("interrupted")
    assert store.read("calls", calls_schema()).num_rows == 0
    assert not staged[0][2].exists()  # moved in, then removed by the rollback
    with store.transaction("t") as txn:
        txn.add_file("calls", *staged[1])
    assert store.read("calls", calls_schema())["call_id"].to_pylist() == ["b"]
    files = sorted(str(f.relative_to(tmp_path / "home" / "calls").parent) for f in (tmp_path / "home" / "calls").rglob("*.parquet"))
    assert files == ["port=__none__/month=2026-11"]


def test_a_failed_background_write_names_its_dataset_and_leaves_nothing(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    import piu.store as store_mod

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    st = Store(tmp_path)
    st.init()
    table = pa.table({"x": [1, 2]})
    monkeypatch.setattr(store_mod, "write_parquet", full)
    with pytest.raises(StoreError, match=r"write the ingests dataset"):
        with st.transaction("ingest") as txn:
            txn.write("ingests", table, background=True)
    assert list(tmp_path.rglob("*.parquet")) == []  # rolled back: the file being written is gone too
    assert [p.name for p in (tmp_path / "_commits").iterdir()] == []
