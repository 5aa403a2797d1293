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
import compileall
import os
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

def generate_sample(calls: int, out: str, seed: int = 7, start: str | None = None, days: int = DAYS) -> dict:
    """The generator writing a flat manifest (what `piu samples` does)."""
    from piu.synth import generate

    return generate(calls, Path(out), seed=seed, start=date.fromisoformat(start) if start else START, days=days)


def pyarrow_baseline(csv: str, parquet: str) -> dict:
    """The floor for ingest: read the CSV with pyarrow and write it as one Parquet file."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    table = pacsv.read_csv(csv)
    pq.write_table(table, parquet)
    return {"rows": table.num_rows, "parquet_mb": round(Path(parquet).stat().st_size / 2**20, 1)}


def read_store(home: str) -> dict:
    """The floor for a full score: the store's current calls and their persons read into memory
    (what scoring reads before any rule runs), with piu.queries over pyarrow."""
    from piu.queries import current_calls, persons_of
    from piu.risk import features as feat
    from piu.store import Store

    store = Store(home)
    calls = current_calls(store, columns=feat.CALL_COLUMNS)
    persons = persons_of(store, calls["version_id"], columns=feat.PERSON_COLUMNS)
    return {"calls": len(calls), "persons": len(persons)}


def import_typer() -> dict:
    """Nothing but `import typer`: the floor for `piu --help` (run as `python -c "import typer"`)."""
    return {}


def screen_watchlist(home: str) -> dict:
    """Screening every person of the store against its watchlists (bench/bench_watchlist.py:screen);
    only the screening is timed (the candidate-pair statistics are left out)."""
    from bench.bench_watchlist import screen

    r = screen(Path(home), stats=False)
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()}


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
        items: str = "calls", fresh_store: bool = False, ok_codes: tuple[int, ...] = (0,),
        min_repeat: int = 1) -> Step:
    """A step that runs `piu ARGS` (items: 'calls' or 'persons' for the per-second column;
    min_repeat: at least this many runs unless --quick)."""
    def run(h: Harness, ctx: Context) -> dict:
        def setup() -> None:
            shutil.rmtree(ctx.home, ignore_errors=True)
        count = ctx.calls if items == "calls" else ctx.persons
        return h.measure(name, piu_argv(ctx, *args(ctx)), baseline=baseline, items=count,
                         setup=setup if fresh_store else None, ok_codes=ok_codes, repeat=_repeat(h, min_repeat))
    return Step(name, run, needs)


# Reading the store and scoring it fault in ~200 MB of fresh memory; on a virtual machine the
# system time of that varies 0.2-1.3 s between identical runs, so both take the best of five.
SCORE_REPEAT = 5


def _repeat(h: Harness, least: int) -> int:
    """Runs of a step: the suite's --repeat, raised to `least` (--quick: one run)."""
    return h.repeat if h.repeat == 1 else max(h.repeat, least)


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


READ_STORE = "baseline: read calls + persons (pyarrow)"
SCORE = "piu score"
INGEST = "piu ingest"
REPORT_1X = "piu report --since 7d (1x store)"
TYPER = "baseline: python -c 'import typer'"


def _read_store(h: Harness, ctx: Context) -> dict:
    return h.measure(READ_STORE, read_store, kwargs={"home": str(ctx.home)}, items=ctx.calls,
                     repeat=_repeat(h, SCORE_REPEAT))


def _snapshot(src: Path, dst: Path) -> Callable[[], None]:
    """A setup that resets `dst` to a copy of `src` before every repeat (so each run does the same work).
    Index files are linked, not copied: they stay the files the previous run read (the same inode and
    times, as between two daily runs), which piu.person_index need not read whole again. piu never
    writes into an index file (a new one replaces it), so the source's stay as they are."""
    def copy(a: str, b: str) -> None:
        if f"{os.sep}_index{os.sep}" in a:
            try:
                os.link(a, b)
                return
            except OSError:
                pass
        shutil.copy2(a, b)

    def setup() -> None:
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(src, dst, copy_function=copy)
    return setup


SCORE_IN_PROCESS = "score_store in-process, full rescore"
IMPORTS_TIMED = ", imports timed"
# bench/bench_score.py with the modules score_store imports on first use timed too (as before)
TIME_IMPORTS = {**os.environ, "PIU_BENCH_TIME_IMPORTS": "1"}


def _score_in_process(h: Harness, ctx: Context) -> list[dict]:
    """The full rescore's scoring work alone (bench/bench_score.py: imports are not timed), and the
    same with score_store's own first-use imports timed."""
    kwargs = {"home": str(ctx.home), "since": ctx.period[1], "until": ctx.period[3]}
    return [h.measure(SCORE_IN_PROCESS + suffix, "bench.bench_score:score_full", items=ctx.calls, kwargs=kwargs,
                      repeat=_repeat(h, SCORE_REPEAT), env=env)
            for suffix, env in (("", None), (IMPORTS_TIMED, TIME_IMPORTS))]


def _with_new_calls(ctx: Context, base: Path, name: str, info: dict, *, indexed: bool = True) -> tuple[Path, str]:
    """A copy of the store `base` with the new calls ingested (unscored): (its folder, '' or an error).
    `indexed`: the persons index built first, as the previous day's incremental score leaves it (a full
    rescore of the whole store does not need it and does not build it)."""
    snap = ctx.work / name
    shutil.rmtree(snap, ignore_errors=True)
    shutil.copytree(base, snap)
    if indexed:
        from bench.bench_score import build_index
        build_index(str(snap))
    else:  # e.g. the Dask step's chunks (targeted history reads) built some
        shutil.rmtree(snap / "_index", ignore_errors=True)
    return snap, _run(_piu(snap, "ingest", info["manifest"]))


def _incremental(h: Harness, ctx: Context) -> list[dict]:
    """100 new calls on the two days after the period, ingested; then `piu score` (no --rescore), as a
    command and as scoring work in-process, in the steady state of daily runs (the persons index of
    earlier ingests already built) and as the first run after a full score (which builds it); and the
    same 100 calls on a store a tenth the size, to show how the cost grows with history."""
    n = 100
    label = f"piu score, {n} new calls (incremental)"
    info = generate_sample(n, str(ctx.work / "new"), seed=8, start=(ctx.start + timedelta(days=ctx.days)).isoformat(),
                           days=2)
    snap, err = _with_new_calls(ctx, ctx.home, "store-plus-100", info)
    if err:
        return [h.skip(label, err)]
    inc = ctx.work / "store-incremental"
    out = [h.measure(label, _piu(inc, "score", "-f", "json"), baseline=SCORE, items=n,
                     setup=_snapshot(snap, inc), ok_codes=(0, 3)),
           h.measure(f"score_store in-process, {n} new calls", "bench.bench_score:score_new",
                     kwargs={"home": str(inc)}, baseline=SCORE_IN_PROCESS, items=n, setup=_snapshot(snap, inc),
                     repeat=_repeat(h, SCORE_REPEAT)),
           h.measure(f"score_store in-process, {n} new calls{IMPORTS_TIMED}", "bench.bench_score:score_new",
                     kwargs={"home": str(inc)}, baseline=SCORE_IN_PROCESS + IMPORTS_TIMED, items=n,
                     setup=_snapshot(snap, inc), repeat=_repeat(h, SCORE_REPEAT), env=TIME_IMPORTS)]
    cold, err = _with_new_calls(ctx, ctx.home, "store-plus-100-unindexed", info, indexed=False)
    if not err:
        out.append(h.measure(f"score_store in-process, {n} new calls, first run (builds the index)",
                             "bench.bench_score:score_new", kwargs={"home": str(inc)}, baseline=SCORE_IN_PROCESS,
                             items=n, setup=_snapshot(cold, inc)))
    # the same new calls on a store of a tenth of the calls: scoring cost against history size
    tenth = generate_sample(max(1, ctx.calls // 10), str(ctx.work / "tenth-history"))
    small = ctx.work / "store-tenth-history"
    shutil.rmtree(small, ignore_errors=True)
    err = _run(_piu(small, "ingest", tenth["manifest"])) or _run(_piu(small, "score", "-f", "json"), ok_codes=(0, 3))
    if err:
        return out + [h.skip(f"score_store in-process, {n} new calls on a 1/10 store", err)]
    snap_small, err = _with_new_calls(ctx, small, "store-tenth-plus-100", info)
    if err:
        return out + [h.skip(f"score_store in-process, {n} new calls on a 1/10 store", err)]
    inc_small = ctx.work / "store-tenth-incremental"
    out.append(h.measure(f"score_store in-process, {n} new calls on a 1/10 store", "bench.bench_score:score_new",
                         kwargs={"home": str(inc_small)}, items=n, setup=_snapshot(snap_small, inc_small),
                         repeat=_repeat(h, SCORE_REPEAT)))
    row = h.compare(f"{n} new calls: 10x history vs 1/10", out[1]["step"], out[-1]["step"])
    return out + ([row] if row else [])


def _dask(h: Harness, ctx: Context) -> dict:
    """The Dask engine on the same store (local threads), against the pandas engine."""
    try:
        import dask  # noqa: F401
    except ImportError:
        return h.skip("piu score --engine dask", "dask is not installed (pip install 'piu[dask]')")
    return h.measure("piu score --engine dask", piu_argv(ctx, "score", *ctx.period, "--rescore", "--engine", "dask",
                                                          "-f", "json"),
                     baseline=SCORE, items=ctx.calls, ok_codes=(0, 3))


def _watchlist(h: Harness, ctx: Context) -> list[dict]:
    """A 10,000-entry list built from the store (bench/bench_watchlist.py:make_list): import, screen, score."""
    from bench.bench_watchlist import make_list

    entries = ctx.extra.get("entries", 10_000)
    base = ctx.work / "store-for-watchlist"
    shutil.rmtree(base, ignore_errors=True)
    shutil.copytree(ctx.home, base)
    listfile = ctx.work / "watchlist.csv"
    planted = make_list(base, listfile, entries, min(2_000, entries // 5))
    wl = ctx.work / "store-watchlist"
    out = [h.measure(f"piu watchlist import ({entries:,} entries)", _piu(wl, "watchlist", "import", str(listfile),
                                                                         "--list", "bench"),
                     baseline=INGEST, items=entries, setup=_snapshot(base, wl))]
    if not out[-1]["ok"]:
        return out
    out.append(h.measure("watchlist screening (every person x list)", screen_watchlist, kwargs={"home": str(wl)},
                         baseline=INGEST, items=ctx.persons))
    if out[-1]["info"]:
        out[-1]["info"]["planted_in_list"] = planted
    # the same screening as it runs for analysts: inside a full score, against the score without a list
    out.append(h.measure("piu score with the watchlist", _piu(wl, "score", *ctx.period, "--rescore", "-f", "json"),
                         baseline=SCORE, items=ctx.calls, ok_codes=(0, 3)))
    return out


def _report_scale(h: Harness, ctx: Context) -> list[dict]:
    """`piu report --since 7d` on a store of one month and one of ten (bench/bench_report.py builds them)."""
    from bench.bench_report import build_with_ingest

    per_month = max(100, ctx.calls // 25)  # ~2,000 calls a month for the 50,000-call run
    out = []
    for scale, name in ((1, REPORT_1X), (10, "piu report --since 7d (10x store)")):
        home = ctx.work / f"report-x{scale}"
        shutil.rmtree(home, ignore_errors=True)
        build_with_ingest(home, per_month * scale, 30 * scale)
        out.append(h.measure(name, _piu(home, "report", "--since", "7d", "-f", "json"),
                             baseline=REPORT_1X if scale == 10 else None, items=per_month, ok_codes=(0, 3)))
    return out


def _ingest_memory(h: Harness, ctx: Context) -> list[dict]:
    """Ingest of a file a tenth the size, then the full file's ingest against it: with batched reading
    the peak memory of a 10x larger file grows far less than 10x (peak_ratio)."""
    small = generate_sample(max(1, ctx.calls // 10), str(ctx.work / "tenth"))
    home = ctx.work / "store-tenth"
    name = f"piu ingest of a 1/10 file ({small['calls']:,} calls)"
    out = [h.measure(name, _piu(home, "ingest", small["manifest"]), items=small["persons"],
                     setup=lambda: shutil.rmtree(home, ignore_errors=True))]
    row = h.compare("piu ingest, 10x file vs 1/10 file", INGEST, name)
    return out + ([row] if row else [])


def _help(h: Harness, ctx: Context) -> list[dict]:
    exe = Path(sys.executable).parent / "piu"
    base = [str(exe)] if exe.exists() else [sys.executable, "-m", "piu"]
    return [h.measure(TYPER, [sys.executable, "-c", "import typer"]),
            h.measure("piu --help", [*base, "--help"], baseline=TYPER)]


def _piu(home: Path, *args: str) -> list[str]:
    """`piu --home HOME -q ARGS` on another store than the main one."""
    exe = Path(sys.executable).parent / "piu"
    base = [str(exe)] if exe.exists() else [sys.executable, "-m", "piu"]
    return [*base, "--home", str(home), "-q", *args]


def _run(argv: list[str], ok_codes: tuple[int, ...] = (0,)) -> str:
    """Run an untimed preparation command; '' when it worked, else the last line of its stderr."""
    import subprocess

    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode in ok_codes:
        return ""
    return (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1][:300]


STEPS: list[Step] = [
    Step("generate", _generate),
    Step(BASELINE, _baseline),
    # Each repeat ingests into an empty store, so every run does the same work.
    cli(INGEST, lambda c: ["ingest", str(c.manifest)], needs="ingest", baseline=BASELINE, items="persons",
        fresh_store=True),
    Step(READ_STORE, _read_store, needs="ingest"),
    # --rescore: repeats would otherwise find everything already scored.
    cli(SCORE, lambda c: ["score", *c.period, "--rescore", "-f", "json"], needs="score", ok_codes=(0, 3),
        min_repeat=SCORE_REPEAT,
        baseline=READ_STORE),
    Step(SCORE_IN_PROCESS, _score_in_process, needs="score"),
    Step("piu score --engine dask", _dask, needs="score"),
    Step("piu score, 100 new calls (incremental)", _incremental, needs="score"),
    cli("piu report", lambda c: ["report", *c.period, "-f", "json"], needs="report", ok_codes=(0, 3)),
    Step("piu report --since 7d, 1x and 10x store", _report_scale, needs="report"),
    Step("watchlist import, screening, score", _watchlist, needs="watchlist"),
    Step("piu ingest, peak memory of a 1/10 file", _ingest_memory, needs="ingest"),
    Step("piu --help", _help),
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

    # piu's bytecode, as `pip install` leaves it for an installed package: with PYTHONDONTWRITEBYTECODE
    # set (as on some machines) an editable checkout would otherwise compile every module in every
    # measured process (~0.1 s of each command's time that no installed copy pays)
    compileall.compile_dir(str(REPO / "piu"), quiet=1)
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
            results = step.run(h, ctx)
            for result in results if isinstance(results, list) else [results]:
                print(f"{result['step']}: {result['seconds']} s, {result['peak_mb']} MB peak"
                      + (f" ({result['error']})" if result["error"] else ""), file=sys.stderr)
                if not result["ok"] and not result["error"].startswith("skipped"):
                    failed = True
            if step.name == "generate" and not results["ok"]:
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
