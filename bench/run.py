"""The piu benchmark suite: generate a sample, then time each pipeline step against a baseline.

    .venv/bin/python bench/run.py --calls 50000 [--quick] [--steps ingest,score] [--keep]

Steps run in order, each in its own process (see bench/harness.py), on one shared work folder:
the generated manifest feeds the pyarrow baseline and `piu ingest`; the ingested store feeds
`piu score` and `piu report`. A step whose command module does not exist yet is recorded as
skipped. Results print as a table and go to bench/results/<UTC timestamp>.json.

Adding a step is one entry in STEPS: `cli("piu thing", lambda c: ["thing", ...], needs="thing")`
for a command, or `Step(name, function)` for anything else.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.harness import Harness  # noqa: E402

BASELINE = "baseline: pyarrow read_csv + write_table"
START = date(2026, 11, 1)
DAYS = 28


@dataclass
class Context:
    """What the steps share: sizes, the work folder, the generated files and the store."""

    calls: int
    work: Path
    home: Path
    manifest: Path
    persons: int = 0
    start: date = START
    days: int = DAYS
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def period(self) -> list[str]:
        """--since/--until (UTC days) covering every generated call: local times east of UTC start
        on the day before, departures run up to 3 days past the period."""
        return ["--since", (self.start - timedelta(days=1)).isoformat(),
                "--until", (self.start + timedelta(days=self.days + 3)).isoformat()]


@dataclass
class Step:
    """One benchmark: `run(harness, context)` measures it; `needs` names a piu command module."""

    name: str
    run: Callable[[Harness, Context], Any]
    needs: str | None = None


# ---- functions measured in a subprocess (module level: the wrapper imports them) ----------------

def generate_sample(calls: int, out: str, seed: int = 7) -> dict:
    """The generator writing a flat manifest (what `piu samples` does)."""
    from piu.synth import generate

    return generate(calls, Path(out), seed=seed, start=START, days=DAYS)


def pyarrow_baseline(csv: str, parquet: str) -> dict:
    """The floor for ingest: read the CSV with pyarrow and write it as one Parquet file."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    table = pacsv.read_csv(csv)
    pq.write_table(table, parquet)
    return {"rows": table.num_rows, "parquet_mb": round(Path(parquet).stat().st_size / 2**20, 1)}


# ---- the registry ------------------------------------------------------------------------------

def piu_argv(ctx: Context, *args: str) -> list[str]:
    """The real command line on the benchmark store, quiet."""
    exe = Path(sys.executable).parent / "piu"
    base = [str(exe)] if exe.exists() else [sys.executable, "-m", "piu"]
    return [*base, "--home", str(ctx.home), "-q", *args]


def has_command(name: str) -> bool:
    """True when piu/commands/<name>.py exists in this checkout."""
    return (REPO / "piu" / "commands" / f"{name}.py").exists()


def cli(name: str, args: Callable[[Context], list[str]], *, needs: str, baseline: str | None = None,
        items: str = "calls", fresh_store: bool = False, ok_codes: tuple[int, ...] = (0,)) -> Step:
    """A step that runs `piu ARGS` (items: 'calls' or 'persons' for the per-second column)."""
    def run(h: Harness, ctx: Context) -> dict:
        def setup() -> None:
            shutil.rmtree(ctx.home, ignore_errors=True)
        count = ctx.calls if items == "calls" else ctx.persons
        return h.measure(name, piu_argv(ctx, *args(ctx)), baseline=baseline, items=count,
                         setup=setup if fresh_store else None, ok_codes=ok_codes)
    return Step(name, run, needs)


def _generate(h: Harness, ctx: Context) -> dict:
    result = h.measure("generate", generate_sample, kwargs={"calls": ctx.calls, "out": str(ctx.work / "sample")},
                       items=ctx.calls)
    if result["ok"]:
        ctx.manifest = Path(result["info"]["manifest"])
        ctx.persons = result["info"]["persons"]
    return result


def _baseline(h: Harness, ctx: Context) -> dict:
    return h.measure(BASELINE, pyarrow_baseline, items=ctx.persons,
                     kwargs={"csv": str(ctx.manifest), "parquet": str(ctx.work / "baseline.parquet")})


STEPS: list[Step] = [
    Step("generate", _generate),
    Step(BASELINE, _baseline),
    # Each repeat ingests into an empty store, so every run does the same work.
    cli("piu ingest", lambda c: ["ingest", str(c.manifest)], needs="ingest", baseline=BASELINE, items="persons",
        fresh_store=True),
    # --rescore: repeats would otherwise find everything already scored.
    cli("piu score", lambda c: ["score", *c.period, "--rescore", "-f", "json"], needs="score", ok_codes=(0, 3)),
    cli("piu report", lambda c: ["report", *c.period, "-f", "json"], needs="report", ok_codes=(0, 3)),
    # TODO(bench): further steps plug in here as one entry each, e.g.
    # cli("piu identity", lambda c: ["identity", ...], needs="identity"),
]


def main(argv: list[str] | None = None) -> int:
    """Run the suite; exit 1 when a step that could run failed."""
    parser = argparse.ArgumentParser(description="piu benchmarks (each step in its own process)")
    parser.add_argument("--calls", type=int, default=50_000, help="calls to generate (default 50000)")
    parser.add_argument("--quick", action="store_true", help="one run per step instead of best of --repeat")
    parser.add_argument("--repeat", type=int, default=3, help="runs per step, best time kept (default 3)")
    parser.add_argument("--steps", default="", help="comma-separated substrings: run only matching steps "
                                                    "(generate always runs: the others need its files)")
    parser.add_argument("--work", type=Path, help="work folder (default: a temporary one, removed afterwards)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--no-save", action="store_true", help="do not write bench/results/<timestamp>.json")
    args = parser.parse_args(argv)

    work = args.work or Path(tempfile.mkdtemp(prefix="piu-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    ctx = Context(calls=args.calls, work=work, home=work / "store", manifest=work / "sample" / "manifest.csv")
    h = Harness(repeat=1 if args.quick else args.repeat, meta={"calls": args.calls, "quick": args.quick})
    wanted = [w.strip() for w in args.steps.split(",") if w.strip()]
    failed = False
    try:
        for step in STEPS:
            if wanted and step.name != "generate" and not any(w in step.name for w in wanted):
                continue
            if step.needs and not has_command(step.needs):
                h.skip(step.name, f"piu {step.needs} does not exist yet")
                continue
            result = step.run(h, ctx)
            print(f"{step.name}: {result['seconds']} s, {result['peak_mb']} MB peak"
                  + (f" ({result['error']})" if result["error"] else ""), file=sys.stderr)
            if not result["ok"]:
                failed = True
                if step.name == "generate":
                    break
        h.print_table()
        if not args.no_save:
            print(f"results: {h.save()}", file=sys.stderr)
    finally:
        if not args.keep and not args.work:
            shutil.rmtree(work, ignore_errors=True)
        elif args.keep:
            print(f"work folder kept: {work}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
