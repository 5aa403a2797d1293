"""The store: a folder of Parquet datasets with atomic, serialised, all-or-nothing writes.

Layout (HOME is `--home`, `$PIU_HOME` or the per-user data folder):

    HOME/piu-store.json                       format version, created-by
    HOME/.lock                                writers take an exclusive lock on it
    HOME/_commits/<txn>                       a transaction is visible once this marker exists
    HOME/_commits/<txn>.removes               JSON list of earlier txns this one retracts
    HOME/<dataset>/port=P/month=M/<txn>-N.parquet   partitioned datasets (calls, persons, scores)
    HOME/<dataset>/<txn>-N.parquet                  unpartitioned ones (ingests, quarantine, ...)
    HOME/_index/persons/<txn>-N.arrow               derived lookup of one persons file (piu.person_index)
    HOME/_index/calls/<txn>-N.arrow                 ... and of one calls file
    HOME/_index/scored/<ruleset>-<scope>.json       what the last score of a scope covered (derived:
                                                    piu.risk.scoring's scored marks)

Every data file is named after the transaction that wrote it, and readers only see files whose
transaction has a commit marker. So a crash or SIGKILL mid-write leaves invisible orphans
(removed by the next writer, under the lock) and the store reads exactly as it was before.
The marker is written last, to a temporary name and renamed, which is atomic on POSIX.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import secrets
import time
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from piu import __version__
from piu.errors import StoreError
from piu.schema import STORE_FORMAT_VERSION

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import pyarrow as pa

META = "piu-store.json"
COMMITS = "_commits"
PARTITIONED = {"calls", "persons", "scores"}
LOCK_TIMEOUT_S = 600.0


def default_home() -> Path:
    """The per-user data folder: $XDG_DATA_HOME/piu, else ~/.local/share/piu."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "piu"


def resolve_home(home: str | os.PathLike[str] | None) -> Path:
    """The store folder from the flag, then $PIU_HOME, then the default."""
    if home:
        return Path(home).expanduser()
    env = os.environ.get("PIU_HOME")
    return Path(env).expanduser() if env else default_home()


def new_txn_id() -> str:
    """A sortable, unique transaction id: UTC time plus random hex."""
    now = datetime.now(timezone.utc)
    return now.strftime("%Y%m%dT%H%M%S") + f"{now.microsecond:06d}Z-" + secrets.token_hex(3)


def _txn_of(filename: str) -> str:
    # "<txn>-<n>.parquet" where txn itself contains one '-'
    return filename.rsplit("-", 1)[0]


def txn_of(path: Path) -> str:
    """The transaction that wrote a data file (see `Store.txn_kind`)."""
    return _txn_of(path.name)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write a whole file or nothing: temporary file, fsync, rename."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _os_error(exc: OSError, home: Path, doing: str) -> StoreError:
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return StoreError(f"the store at {home} is not writable ({doing})",
                          hint="check its permissions or choose another with --home")
    if exc.errno == errno.ENOSPC:
        return StoreError(f"no space left on the device holding the store at {home} ({doing}); nothing was written",
                          hint="free some space and run the command again")
    return StoreError(f"cannot {doing} in the store at {home}: {exc.strerror}",
                      hint="check the folder, or choose another with --home")


class Store:
    """A piu store folder. Cheap to construct; touches the disk only when used."""

    def __init__(self, home: str | os.PathLike[str] | None = None) -> None:
        self.home = resolve_home(home)

    # ---- opening -----------------------------------------------------------------------
    def exists(self) -> bool:
        """True when the folder holds a piu store."""
        return (self.home / META).is_file()

    def check_version(self) -> None:
        """Refuse a store written by a newer piu (its layout may differ)."""
        meta = self.home / META
        if not meta.is_file():
            return
        try:
            info = json.loads(meta.read_text(encoding="utf-8"))
            fmt = int(info.get("format", 0))
        except (ValueError, OSError, AttributeError) as exc:
            raise StoreError(f"the store metadata {meta} is unreadable",
                             hint="run `piu doctor` to check the store") from exc
        if fmt > STORE_FORMAT_VERSION:
            raise StoreError(
                f"the store at {self.home} was written by a newer piu (store format {fmt}, this piu reads {STORE_FORMAT_VERSION})",
                hint="upgrade piu (pip install -U piu)")

    def init(self) -> None:
        """Create the store folder if needed."""
        self.check_version()
        try:
            (self.home / COMMITS).mkdir(parents=True, exist_ok=True)
            meta = self.home / META
            if not meta.exists():
                atomic_write_bytes(meta, json.dumps(
                    {"format": STORE_FORMAT_VERSION, "created_by": f"piu {__version__}",
                     "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds")},
                    indent=2).encode())
        except OSError as exc:
            raise _os_error(exc, self.home, "create the store") from exc

    # ---- visibility ----------------------------------------------------------------------
    def visible_txns(self) -> set[str]:
        """Transactions whose data readers see: committed and not retracted."""
        cdir = self.home / COMMITS
        try:
            names = os.listdir(cdir)
        except FileNotFoundError:
            return set()
        committed = {n for n in names if not n.startswith(".") and "." not in n}
        removed: set[str] = set()
        for n in names:
            if n.endswith(".removes") and n[: -len(".removes")] in committed:
                with contextlib.suppress(OSError, ValueError):
                    removed.update(json.loads((cdir / n).read_text(encoding="utf-8")))
        return committed - removed

    def txn_kind(self, txn: str) -> str | None:
        """The kind a committed transaction was written as ('ingest', 'score', ...), None if unknown."""
        try:
            return json.loads((self.home / COMMITS / txn).read_text(encoding="utf-8")).get("kind")
        except (OSError, ValueError, AttributeError):
            return None

    def files(self, dataset: str, *, ports: Iterable[str] | None = None,
              months: Iterable[str] | None = None, txns: set[str] | None = None) -> list[Path]:
        """Visible Parquet files of a dataset, pruned by partition (port, month) when given."""
        root = self.home / dataset
        if not root.is_dir():
            return []
        visible = self.visible_txns() if txns is None else txns
        port_set = {_safe(p) for p in ports} if ports is not None else None
        month_set = {_safe(m) for m in months} if months is not None else None
        out: list[Path] = []
        if dataset in PARTITIONED:
            for pdir in sorted(root.iterdir()):
                if not pdir.name.startswith("port="):
                    continue
                if port_set is not None and pdir.name[5:] not in port_set:
                    continue
                for mdir in sorted(pdir.iterdir()):
                    if not mdir.name.startswith("month="):
                        continue
                    if month_set is not None and mdir.name[6:] not in month_set:
                        continue
                    out.extend(mdir / f for f in sorted(os.listdir(mdir))
                               if f.endswith(".parquet") and _txn_of(f) in visible)
        else:
            out = [root / f for f in sorted(os.listdir(root))
                   if f.endswith(".parquet") and _txn_of(f) in visible]
        return out

    def read(self, dataset: str, schema: pa.Schema, *, ports: Iterable[str] | None = None,
             months: Iterable[str] | None = None, columns: list[str] | None = None,
             filter: Any = None, txns: set[str] | None = None) -> pa.Table:
        """Read a dataset as one Arrow table in the given schema (empty table when nothing); `txns`: the
        visible transactions to read (default: those visible now), e.g. a snapshot taken earlier."""
        self.check_version()
        return self.read_files(dataset, self.files(dataset, ports=ports, months=months, txns=txns), schema,
                               columns=columns, filter=filter)

    def read_files(self, dataset: str, paths: list[Path], schema: pa.Schema, *, columns: list[str] | None = None,
                   filter: Any = None) -> pa.Table:
        """Read some of a dataset's files (as `files` lists them) as one Arrow table in the given schema."""
        import pyarrow as pa
        import pyarrow.dataset as ds

        if not paths:
            empty = schema.empty_table()
            return empty.select(columns) if columns else empty
        try:
            # partition values are also stored inside each file, so paths are only for pruning;
            # page checksums (written by every transaction) catch silent damage, e.g. zeroed bytes
            dset = ds.dataset([str(p) for p in paths], schema=schema, format=_parquet_format())
            return dset.to_table(columns=columns, filter=filter)
        except (pa.ArrowInvalid, OSError) as exc:
            raise StoreError(f"the {dataset} dataset in {self.home} has an unreadable file ({type(exc).__name__})",
                             hint="run `piu doctor` to find and repair it") from exc

    # ---- writing -------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
        """Exclusive writer lock; waits for another writer up to `timeout` seconds."""
        self.init()
        try:
            fd = os.open(self.home / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise _os_error(exc, self.home, "take the writer lock") from exc
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise StoreError(f"another piu process is writing to {self.home} and did not finish within {int(timeout)} s",
                                         hint="wait for it to finish, then run the command again") from None
                    time.sleep(0.05)
            yield
        finally:
            os.close(fd)  # closing releases the flock

    @contextlib.contextmanager
    def transaction(self, kind: str) -> Iterator[Transaction]:
        """All-or-nothing write: files become visible together when the block exits cleanly."""
        with self.lock():
            self.remove_orphans()
            txn = Transaction(self, kind)
            try:
                yield txn
            except BaseException:
                txn.rollback()
                raise
            txn.commit()

    def remove_orphans(self) -> int:
        """Delete data files left by transactions that never committed (call under the lock)."""
        committed = set()
        with contextlib.suppress(FileNotFoundError):
            committed = {n for n in os.listdir(self.home / COMMITS) if "." not in n}
        removed = 0
        for dirpath, _dirs, names in os.walk(self.home):
            if Path(dirpath).name == COMMITS:
                for n in names:
                    if n.startswith(".") and n.endswith(".tmp"):
                        with contextlib.suppress(OSError):
                            os.unlink(os.path.join(dirpath, n))
                continue
            for n in names:
                if (n.endswith(".parquet") and _txn_of(n) not in committed) or (n.startswith(".") and n.endswith(".tmp")):
                    with contextlib.suppress(OSError):
                        os.unlink(os.path.join(dirpath, n))
                        removed += 1
        return removed


class Transaction:
    """Files written under one id; invisible until `commit`."""

    def __init__(self, store: Store, kind: str) -> None:
        self.store = store
        self.kind = kind
        self.id = new_txn_id()
        self.written: list[Path] = []
        self.retracts: set[str] = set()
        self._n = 0
        self._pool: Any = None           # worker threads of background writes (created on first use)
        self._pending: list[Any] = []    # their futures, awaited before commit or rollback
        self._background = False

    def write(self, dataset: str, table: pa.Table, *, background: bool = False) -> None:
        """Write a table into a dataset (split by port and month when partitioned).

        `background`: the Parquet encoding runs on worker threads (it releases the GIL, so a big
        ingest writes on both cores) while the caller prepares the next table; file names are
        still given here, in call order. Errors surface at the latest at `commit`.
        """
        if table.num_rows == 0:
            return
        self._background = background
        root = self.store.home / dataset
        try:
            if dataset in PARTITIONED:
                for port_v, month_v, part in partitions(table):
                    self._write_file(partition_dir(root, port_v, month_v), part, dataset)
            else:
                self._write_file(root, table, dataset)
        except OSError as exc:
            raise _os_error(exc, self.store.home, f"write the {dataset} dataset") from exc

    def _write_file(self, folder: Path, table: pa.Table, dataset: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.id}-{self._n}.parquet"
        self._n += 1
        self.written.append(path)
        if not self._background:
            write_parquet(table, path)
            return
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="piu-write")
        # at most two tables in flight: the caller waits rather than piling tables up in memory
        busy = [f for _, f in self._pending if not f.done()]
        if len(busy) >= 2:
            busy[0].exception()
        self._pending.append((dataset, self._pool.submit(write_parquet, table, path)))

    def add_file(self, dataset: str, port: str | None, month: str | None, source: Path) -> None:
        """Move a data file made elsewhere by `write_parquet` (rows of one partition, as
        `partitions` gives them) into the transaction, as if `write` had written it here."""
        import errno
        import shutil

        root = self.store.home / dataset
        folder = partition_dir(root, port, month) if dataset in PARTITIONED else root
        path = folder / f"{self.id}-{self._n}.parquet"
        self._n += 1
        self.written.append(path)  # a rollback removes it, whatever happens next
        try:
            folder.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(source, path)
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise
                shutil.copyfile(source, path)  # another file system: copied, fsynced at commit
        except OSError as exc:
            raise _os_error(exc, self.store.home, f"write the {dataset} dataset") from exc

    def _wait(self) -> None:
        """Wait for background writes; the first error is raised (after all have finished), naming
        its dataset as a direct write's error does."""
        failed = [(dataset, f.exception()) for dataset, f in self._pending]
        self._pending = []  # only once every write has finished
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        dataset, error = next(((d, e) for d, e in failed if e is not None), (None, None))
        if isinstance(error, OSError):
            raise _os_error(error, self.store.home, f"write the {dataset} dataset") from error
        if error is not None:
            raise error

    def retract(self, txn_ids: Iterable[str]) -> None:
        """Hide earlier transactions' files from readers when this one commits."""
        self.retracts.update(txn_ids)

    def commit(self) -> None:
        """Make the written files visible, atomically."""
        cdir = self.store.home / COMMITS
        try:
            self._wait()
        except BaseException:
            self.rollback()
            raise
        try:
            for p in self.written:  # data must be on disk before the marker says it is there
                with open(p, "rb") as fh:
                    os.fsync(fh.fileno())
            if self.retracts:
                atomic_write_bytes(cdir / f"{self.id}.removes", json.dumps(sorted(self.retracts)).encode())
            atomic_write_bytes(cdir / self.id, json.dumps({"kind": self.kind}).encode())
        except OSError as exc:
            self.rollback()
            raise _os_error(exc, self.store.home, "commit the transaction") from exc
        except BaseException:  # e.g. Ctrl-C while syncing: undone unless the marker already landed
            if not (cdir / self.id).exists():
                self.rollback()
            raise

    def rollback(self) -> None:
        """Remove what was written; nothing becomes visible."""
        while True:  # no file may still be in the making once this returns, even after a second Ctrl-C
            try:
                self._wait()
            except KeyboardInterrupt:
                continue
            except BaseException:  # noqa: BLE001 - a failed write: every write has finished
                pass
            break
        for p in self.written:
            with contextlib.suppress(OSError):
                p.unlink()
        with contextlib.suppress(OSError):
            (self.store.home / COMMITS / f"{self.id}.removes").unlink()


def _parquet_format():  # noqa: ANN202 - pyarrow is imported lazily
    """Parquet reading that verifies page checksums."""
    import pyarrow.dataset as ds

    return ds.ParquetFileFormat(
        default_fragment_scan_options=ds.ParquetFragmentScanOptions(page_checksum_verification=True))


def partitions(table: pa.Table) -> list[tuple[str, str, pa.Table]]:
    """The rows of a partitioned dataset's table per partition: [(port key, month key, rows)]."""
    import pyarrow as pa
    import pyarrow.compute as pc

    # null and '' are the same partition ('__none__'): one key for grouping and filtering
    port_k, month_k = (pc.if_else(pc.or_kleene(pc.is_null(table[c]), pc.equal(table[c], "")),
                                  "__none__", table[c]) for c in ("port", "month"))
    keys = pa.table({"p": port_k, "m": month_k}).group_by(["p", "m"]).aggregate([])
    return [(port_v, month_v, table.filter(pc.and_(pc.equal(port_k, port_v), pc.equal(month_k, month_v))))
            for port_v, month_v in zip(keys["p"].to_pylist(), keys["m"].to_pylist())]


def partition_dir(root: Path, port: str | None, month: str | None) -> Path:
    """The folder of one partition under a dataset's folder."""
    return root / f"port={_safe(port or '')}" / f"month={_safe(month or '')}"


def write_parquet(table: pa.Table, path: Path) -> None:
    """One data file as every transaction writes it (zstd, page checksums that readers verify)."""
    import pyarrow.parquet as pq

    pq.write_table(table, path, compression="zstd", write_page_checksum=True)


def _safe(value: str) -> str:
    """A partition value that can never become a path (manifest text is untrusted)."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in value)[:64] or "__none__"


def frame_of(table: pa.Table) -> pd.DataFrame:
    """table.to_pandas(), with the frame of an empty table made once per schema (most stores hold no
    watchlist and no partner case: converting their empty tables costs ~0.5 ms a time per score)."""
    if table.num_rows:
        return table.to_pandas()
    if table.schema not in _EMPTY_FRAMES:
        _EMPTY_FRAMES[table.schema] = table.to_pandas()
    return _EMPTY_FRAMES[table.schema].copy()


_EMPTY_FRAMES: dict[Any, pd.DataFrame] = {}
