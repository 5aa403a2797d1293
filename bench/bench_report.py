"""Benchmark: `piu report --since 7d` on a store 10x larger (more months of the same port).

The report must read only the partitions of the period, so its time should barely grow with
the store: goal <= 1.3x. Stores are built the way an analyst builds them — the sample generator
(piu.synth) and `piu ingest`, then `piu score` when it is installed — or, with --factories,
written directly with the test factories (scores included) at the same scale.

    .venv/bin/python bench/bench_report.py [--calls-per-month 2000] [--months 1] [--repeat 7] [--factories]

Prints one line per store and the ratio; exit 1 when the ratio is above --goal.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PIU = str(Path(sys.executable).parent / "piu")


def run_piu(home: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the real command line on a store."""
    return subprocess.run([PIU, "--home", str(home), "-q", *args], capture_output=True, text=True)


def has_command(name: str) -> bool:
    """True when `piu NAME` exists in this checkout."""
    return (REPO / "piu" / "commands" / f"{name}.py").exists()


def build_with_ingest(home: Path, calls: int, days: int) -> str:
    """Generate `calls` calls over the `days` before today, ingest and score them."""
    from piu.synth import generate

    work = Path(tempfile.mkdtemp(prefix="piu-bench-gen-"))
    try:
        summary = generate(calls, work, seed=7, start=date.today() - timedelta(days=days), days=days)
        res = run_piu(home, "ingest", summary["manifest"])
        if res.returncode != 0:
            raise SystemExit(f"ingest failed: {res.stderr.strip()}")
        scored = "not scored (piu score not installed)"
        if has_command("score"):
            res = run_piu(home, "score")
            if res.returncode != 0:
                raise SystemExit(f"score failed: {res.stderr.strip()}")
            scored = "scored"
        return f"generator + ingest, {scored}"
    finally:
        shutil.rmtree(work, ignore_errors=True)


def build_with_factories(home: Path, calls: int, days: int) -> str:
    """Write calls, persons and scores directly (vectorised test factories)."""
    sys.path.insert(0, str(REPO))
    from piu.store import Store
    from tests.store_factories import bulk_store

    bulk_store(Store(home), end=datetime.now(timezone.utc), days=days, calls_per_day=max(1, calls // days),
               persons_per_call=15)
    return "test factories, scored"


def time_report(home: Path, repeat: int) -> tuple[float, float, int]:
    """Median wall time of `piu report --since 7d -f json` (process) and of build_report (in process)."""
    import json

    from piu.report import build_report, resolve_period
    from piu.store import Store

    process, library = [], []
    flagged = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = run_piu(home, "report", "--since", "7d", "-f", "json")
        process.append(time.perf_counter() - t0)
        if res.returncode != 0:
            raise SystemExit(f"report failed: {res.stderr.strip()}")
        flagged = json.loads(res.stdout)["summary"]["calls_received"]
        t0 = time.perf_counter()
        build_report(Store(home), resolve_period("7d"))
        library.append(time.perf_counter() - t0)
    return statistics.median(process), statistics.median(library), flagged


def main() -> int:
    """Build the 1x and 10x stores, time the report on both, print the ratio."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls-per-month", type=int, default=2000)
    ap.add_argument("--months", type=int, default=1, help="months in the 1x store (10x has ten times as many)")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--goal", type=float, default=1.3)
    ap.add_argument("--factories", action="store_true", help="write stores directly instead of generate + ingest")
    args = ap.parse_args()

    build = build_with_factories if args.factories else build_with_ingest
    root = Path(tempfile.mkdtemp(prefix="piu-bench-"))
    results = {}
    try:
        for scale in (1, 10):
            home = root / f"x{scale}"
            days = 30 * args.months * scale
            t0 = time.perf_counter()
            how = build(home, args.calls_per_month * args.months * scale, days)
            built = time.perf_counter() - t0
            files = sum(1 for _ in home.rglob("*.parquet"))
            proc, lib, in_week = time_report(home, args.repeat)
            results[scale] = (proc, lib)
            print(f"{scale:>2}x: {days} days, {args.calls_per_month * args.months * scale} calls, {files} parquet files "
                  f"({how}, built in {built:.1f} s); report --since 7d ({in_week} calls): "
                  f"process {proc * 1000:.0f} ms, build_report {lib * 1000:.0f} ms")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    ratio_proc = results[10][0] / results[1][0]
    ratio_lib = results[10][1] / results[1][1]
    print(f"ratio 10x/1x: process {ratio_proc:.2f}, build_report {ratio_lib:.2f} (goal <= {args.goal})")
    return 0 if ratio_proc <= args.goal else 1


if __name__ == "__main__":
    os.environ.pop("PIU_HOME", None)
    raise SystemExit(main())
