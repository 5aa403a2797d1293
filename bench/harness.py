"""Benchmark harness: time and peak memory of each step, measured in its own process.

Every measured step runs in a fresh `python -c` wrapper so that its peak RSS is its own:

- a command line (argv list) runs as the wrapper's only child; the wrapper reports the wall time
  around it and `RUSAGE_CHILDREN.ru_maxrss`, which in a fresh process with one child is exactly
  that child's peak (deltas of RUSAGE_CHILDREN in a long-lived parent are not per child);
- a Python function ("module:function", "path/to/file.py:function" or a module-level function
  object) is imported and called in the wrapper, which reports the call's wall time and its own
  `RUSAGE_SELF.ru_maxrss` (interpreter and imports included, as a command line would pay them).

    from bench.harness import Harness
    h = Harness(repeat=3)
    h.measure("baseline", "bench/run.py:pyarrow_baseline", kwargs={"csv": ..., "parquet": ...}, items=rows)
    h.measure("piu ingest", ["piu", "--home", home, "ingest", csv, "-q"], baseline="baseline", items=rows)
    h.print_table(); h.save()

Results are plain dicts: step, seconds (best of `repeat`), peak_mb (highest of the repeats),
per_second (items / seconds when `items` is given), baseline (name), ratio (seconds / baseline's
seconds), runs (every run's seconds), ok, error, info (what a function returned, JSON).
"""

from __future__ import annotations

import datetime as _dt
import inspect
import json
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"

# Runs in the child interpreter: execute one step, write {"seconds", "peak_kb", ...} to a file
# (not stdout: the step may print). Kept free of piu imports so the wrapper itself stays small.
_WRAPPER = r"""
import importlib, importlib.util, json, resource, subprocess, sys, time
spec = json.loads(sys.argv[1])
out = {"ok": True, "error": "", "info": None}
if spec["kind"] == "argv":
    t = time.perf_counter()
    proc = subprocess.run(spec["argv"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=spec["env"],
                          cwd=spec["cwd"])
    out["seconds"] = time.perf_counter() - t
    out["peak_kb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode not in spec["ok_codes"]:
        out["ok"] = False
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        out["error"] = "exit %d: %s" % (proc.returncode, tail[0][:300])
else:
    sys.path[:0] = spec["path"]
    target, name = spec["target"].rsplit(":", 1)
    if target.endswith(".py"):
        mod_spec = importlib.util.spec_from_file_location("_bench_step", target)
        module = importlib.util.module_from_spec(mod_spec)
        sys.modules["_bench_step"] = module
        mod_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(target)
    fn = getattr(module, name)
    t = time.perf_counter()
    try:
        out["info"] = fn(**spec["kwargs"])
    except Exception as exc:
        out["ok"] = False
        out["error"] = "%s: %s" % (type(exc).__name__, str(exc)[:300])
    out["seconds"] = time.perf_counter() - t
    out["peak_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with open(spec["result"], "w", encoding="utf-8") as fh:
    json.dump(out, fh, default=str)
"""


def _target_of(step: Callable[..., Any] | str) -> str:
    """'module:function' or 'file.py:function' for a step given as a function or a string."""
    if isinstance(step, str):
        return step
    module = inspect.getmodule(step)
    name = step.__name__
    if module is None or "<" in step.__qualname__ or "." in step.__qualname__:
        raise ValueError(f"step {name!r} must be a module-level function (it runs in another process)")
    if module.__name__ == "__main__":   # a script's function: load the script file by path
        return f"{Path(module.__file__).resolve()}:{name}"
    return f"{module.__name__}:{name}"


def measure_once(step: Sequence[str] | Callable[..., Any] | str, *, kwargs: Mapping[str, Any] | None = None,
                 env: Mapping[str, str] | None = None, cwd: str | os.PathLike | None = None,
                 ok_codes: Sequence[int] = (0,), timeout: float | None = None) -> dict[str, Any]:
    """Run one step once in a fresh wrapper process: {'seconds', 'peak_mb', 'ok', 'error', 'info'}."""
    fd, result = tempfile.mkstemp(prefix="piu-bench-", suffix=".json")
    os.close(fd)
    try:
        if isinstance(step, (list, tuple)):
            spec: dict[str, Any] = {"kind": "argv", "argv": [str(a) for a in step], "ok_codes": list(ok_codes),
                                    "env": dict(env) if env is not None else None,
                                    "cwd": str(cwd) if cwd is not None else None}
        else:
            spec = {"kind": "call", "target": _target_of(step), "kwargs": dict(kwargs or {}),
                    "path": [str(REPO)]}
        spec["result"] = result
        proc = subprocess.run([sys.executable, "-c", _WRAPPER, json.dumps(spec)], env=env, cwd=cwd,
                              capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0 or os.path.getsize(result) == 0:
            tail = (proc.stderr.strip().splitlines() or [""])[-1]
            return {"seconds": None, "peak_mb": None, "ok": False, "error": f"wrapper failed: {tail[:300]}",
                    "info": None}
        with open(result, encoding="utf-8") as fh:
            out = json.load(fh)
    finally:
        os.unlink(result)
    # ru_maxrss is in kilobytes on Linux, bytes on macOS.
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    out["peak_mb"] = round(out.pop("peak_kb") / scale, 1)
    out["seconds"] = round(out["seconds"], 3)
    return out


class Harness:
    """A benchmark session: measured steps in order, their ratios, a table and a JSON file."""

    def __init__(self, *, repeat: int = 1, meta: Mapping[str, Any] | None = None) -> None:
        self.repeat = max(1, repeat)
        self.results: list[dict[str, Any]] = []
        self.meta: dict[str, Any] = {
            "started_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "python": platform.python_version(), "platform": platform.platform(),
            "cpus": os.cpu_count(), "memory_gb": _memory_gb(), "commit": _git_commit(), **(meta or {}),
        }

    def measure(self, name: str, step: Sequence[str] | Callable[..., Any] | str, *, baseline: str | None = None,
                kwargs: Mapping[str, Any] | None = None, items: int | None = None, repeat: int | None = None,
                env: Mapping[str, str] | None = None, cwd: str | os.PathLike | None = None,
                ok_codes: Sequence[int] = (0,), setup: Callable[[], Any] | None = None) -> dict[str, Any]:
        """Measure a step `repeat` times (best time, highest peak); append and return its result.

        `setup` runs (in this process, untimed) before every repeat, e.g. to empty a store so
        that each ingest starts from the same state. `baseline` names an earlier step.
        """
        runs = []
        for _ in range(repeat or self.repeat):
            if setup is not None:
                setup()
            runs.append(measure_once(step, kwargs=kwargs, env=env, cwd=cwd, ok_codes=ok_codes))
            if not runs[-1]["ok"]:
                break
        good = [r for r in runs if r["ok"]]
        best = min(good, key=lambda r: r["seconds"]) if good else runs[-1]
        result: dict[str, Any] = {
            "step": name,
            "seconds": best["seconds"] if good else None,
            "peak_mb": max(r["peak_mb"] for r in good) if good else None,
            "per_second": round(items / best["seconds"]) if good and items and best["seconds"] else None,
            "items": items,
            "baseline": baseline,
            "ratio": None,
            "runs": [r["seconds"] for r in runs],
            "ok": bool(good) and len(good) == len(runs),
            "error": "" if good and len(good) == len(runs) else runs[-1]["error"],
            "info": best.get("info"),
        }
        base = self.get(baseline) if baseline else None
        if base and base["seconds"] and result["seconds"] is not None:
            result["ratio"] = round(result["seconds"] / base["seconds"], 2)
        # peak memory against the baseline's, e.g. ingest of a 10x larger file against a 1x one
        result["peak_ratio"] = (round(result["peak_mb"] / base["peak_mb"], 2)
                                if base and base["peak_mb"] and result["peak_mb"] is not None else None)
        self.results.append(result)
        return result

    def compare(self, name: str, step: str, baseline: str) -> dict[str, Any] | None:
        """Record an already measured step again against another baseline (e.g. the same work at 1/10 size)."""
        result, base = self.get(step), self.get(baseline)
        if result is None or base is None or not result["ok"] or not base["ok"]:
            return None
        row = {**result, "step": name, "baseline": baseline,
               "ratio": round(result["seconds"] / base["seconds"], 2) if base["seconds"] else None,
               "peak_ratio": round(result["peak_mb"] / base["peak_mb"], 2) if base["peak_mb"] else None}
        self.results.append(row)
        return row

    def skip(self, name: str, reason: str) -> dict[str, Any]:
        """Record a step that could not run here (e.g. its command does not exist yet)."""
        result = {"step": name, "seconds": None, "peak_mb": None, "per_second": None, "items": None,
                  "baseline": None, "ratio": None, "peak_ratio": None, "runs": [], "ok": False, "error": f"skipped: {reason}",
                  "info": None}
        self.results.append(result)
        return result

    def get(self, name: str) -> dict[str, Any] | None:
        """The result of the step called `name`, if measured."""
        return next((r for r in self.results if r["step"] == name), None)

    def rows(self) -> list[dict[str, Any]]:
        """Results as table rows (missing values blank, errors in the note column)."""
        return [{"step": r["step"], "seconds": r["seconds"], "peak_mb": r["peak_mb"], "per_second": r["per_second"],
                 "baseline": r["baseline"] or "", "ratio": r["ratio"], "peak_ratio": r.get("peak_ratio"),
                 "note": r["error"]} for r in self.results]

    def markdown(self) -> str:
        """The results as a Markdown table."""
        from piu.render import markdown_table

        return markdown_table(self.rows(), TABLE_COLUMNS)

    def print_table(self, stream: Any = None) -> None:
        """A Rich table on a terminal, Markdown otherwise (e.g. into a CI log or a file)."""
        stream = stream or sys.stdout
        if getattr(stream, "isatty", lambda: False)():
            from rich.console import Console
            from rich.table import Table

            table = Table(title="piu benchmarks", header_style="bold")
            for c in TABLE_COLUMNS:
                table.add_column(c, justify="right" if c not in ("step", "baseline", "note") else "left")
            for r in self.rows():
                table.add_row(*["" if r[c] is None else f"{r[c]:,}" if isinstance(r[c], int) else str(r[c])
                                for c in TABLE_COLUMNS])
            Console(file=stream).print(table)
        else:
            stream.write(self.markdown())

    def save(self, directory: Path = RESULTS_DIR) -> Path:
        """Write {'meta', 'results'} to directory/<UTC timestamp>.json (atomically); return the path."""
        directory.mkdir(parents=True, exist_ok=True)
        stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        path = directory / f"{stamp}.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({"meta": self.meta, "results": self.results}, indent=2, default=str) + "\n",
                       encoding="utf-8")
        os.replace(tmp, path)
        # latest.json is the committed copy (timestamped files stay local): diff it between commits
        latest = directory / "latest.json"
        tmp.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
        os.replace(tmp, latest)
        return path


TABLE_COLUMNS = ("step", "seconds", "peak_mb", "per_second", "baseline", "ratio", "peak_ratio", "note")


def _memory_gb() -> float | None:
    """Physical memory of this machine in GB (None where sysconf does not say)."""
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None


def _git_commit() -> str:
    """The checked-out commit (short), or '' outside git."""
    try:
        return subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
