"""Store checks: what `piu doctor` verifies, and the one repair it can make safely.

A damaged data file belongs to one transaction; repairing retracts that whole transaction (its
calls, persons, log rows...) so the store is consistent again, and names the source files to
ingest again. Nothing is deleted: the damaged files are only hidden from readers.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from piu.schema import STORE_FORMAT_VERSION, ingests_schema
from piu.store import COMMITS, META, Store, _txn_of


@dataclass
class Problem:
    """One finding: what, where, how to fix."""

    kind: str          # damaged-file | damaged-index | orphan-files | newer-format | bad-metadata | missing-store
    where: str
    detail: str
    txn: str | None = None
    fixed: bool = False  # a damaged index file that --repair removed (derived data, rebuilt when needed)


@dataclass
class Report:
    """Everything doctor found."""

    home: str
    datasets: dict[str, int] = field(default_factory=dict)   # dataset -> visible files
    rows: dict[str, int] = field(default_factory=dict)       # dataset -> rows
    problems: list[Problem] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)        # retracted transactions
    reingest: list[str] = field(default_factory=list)        # source files to ingest again

    @property
    def ok(self) -> bool:
        """True when nothing is wrong (after repairs)."""
        # orphans of interrupted writes are invisible and harmless: a note, not a failure
        return not [p for p in self.problems
                    if (p.txn is None or p.txn not in self.repaired) and not p.fixed and p.kind != "orphan-files"]


def check(store: Store, *, repair: bool = False) -> Report:
    """Verify metadata, every visible Parquet file's footer and rows; optionally repair."""
    import pyarrow.parquet as pq

    report = Report(str(store.home))
    meta = store.home / META
    if not meta.is_file():
        report.problems.append(Problem("missing-store", str(store.home), "no piu store here (piu-store.json missing)"))
        return report
    try:
        fmt = int(json.loads(meta.read_text(encoding="utf-8")).get("format", 0))
    except (ValueError, OSError, AttributeError):
        report.problems.append(Problem("bad-metadata", str(meta), "piu-store.json is unreadable"))
        return report
    if fmt > STORE_FORMAT_VERSION:
        report.problems.append(Problem("newer-format", str(meta), f"store format {fmt} is newer than this piu's ({STORE_FORMAT_VERSION})"))
        return report

    visible = store.visible_txns()
    committed = {n for n in os.listdir(store.home / COMMITS) if "." not in n} if (store.home / COMMITS).is_dir() else set()
    orphans = 0
    for dataset_dir in sorted(p for p in store.home.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))):
        name = dataset_dir.name
        for path in sorted(dataset_dir.rglob("*.parquet")):
            txn = _txn_of(path.name)
            if txn not in committed:
                orphans += 1
                continue
            if txn not in visible:
                continue
            report.datasets[name] = report.datasets.get(name, 0) + 1
            try:
                report.rows[name] = report.rows.get(name, 0) + pq.read_metadata(path).num_rows
                pq.read_table(path, page_checksum_verification=True)  # the footer can survive while pages are damaged
            except Exception as exc:  # noqa: BLE001 - any failure to read is damage to report
                report.problems.append(Problem("damaged-file", str(path.relative_to(store.home)),
                                               f"unreadable Parquet ({type(exc).__name__})", txn))
    if orphans:
        report.problems.append(Problem("orphan-files", str(store.home),
                                       f"{orphans} file(s) from interrupted writes (invisible; removed by the next write)"))
    _check_indexes(store, report, repair)
    damaged = sorted({p.txn for p in report.problems if p.kind == "damaged-file" and p.txn})
    if damaged:
        report.reingest = _sources_of(store, damaged)
        if repair:
            with store.transaction("repair") as txn:
                txn.retract(damaged)
            report.repaired = damaged
    return report


def _check_indexes(store: Store, report: Report, repair: bool) -> None:
    """Index files of persons and calls data files (`piu.person_index`, derived data): each must equal
    the index of its data file. A damaged one could change history matches, so it is a problem;
    --repair removes it and the next score builds it again. Indexes of retracted data files are never
    read and not checked."""
    from piu import person_index
    from piu.errors import StoreError

    for dataset in person_index.INDEXED:
        folder = store.home / "_index" / dataset
        if not folder.is_dir():
            continue
        sources = {p.stem: p for p in store.files(dataset)}
        for path in sorted(folder.glob("*.arrow")):
            source = sources.get(path.stem)
            try:
                if source is None or person_index.matches(store, source, path):
                    continue
            except StoreError:  # its data file is damaged: reported above, repaired by retracting it
                continue
            problem = Problem("damaged-index", str(path.relative_to(store.home)),
                              f"the {dataset} index differs from its data file (derived data: --repair removes it, "
                              "the next score builds it again)")
            if repair:
                path.unlink(missing_ok=True)
                problem.fixed = True
            report.problems.append(problem)


def _sources_of(store: Store, txns: list[str]) -> list[str]:
    """Source files whose ingest log rows sit in the given transactions (when still readable)."""
    import pyarrow.parquet as pq

    out: list[str] = []
    for path in store.files("ingests", txns=set(txns)):
        try:
            out.extend(pq.read_table(path, schema=ingests_schema(), columns=["source_file"])["source_file"].to_pylist())
        except Exception:  # noqa: BLE001 - a damaged log file: its sources cannot be named
            out.append(f"(unknown: {Path(path).name} is damaged)")
    return sorted(set(out))
