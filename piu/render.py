"""The one place that writes to the terminal: Rich tables for people, stdlib csv/json for scripts.

Machine formats (tsv, csv, json, jsonl) are written with the standard library straight to the
stream, never through Rich, so no colour code or line wrap can leak into a pipe. Messages for
people (progress, warnings, summaries) go to stderr and are silenced by `-q`.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import math
import os
import sys
from collections.abc import Mapping, Sequence
from typing import IO, Any

FORMATS = ("table", "tsv", "csv", "json", "jsonl")
REPORT_FORMATS = FORMATS + ("markdown", "html")

# Characters that make a spreadsheet treat a cell as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def quiet() -> bool:
    """True when -q/--quiet was given."""
    from piu.cli import settings
    return settings.quiet


def progress_line(message: str) -> None:
    """A transient progress line on stderr, only when stderr is a terminal."""
    if sys.stderr.isatty() and not quiet():
        sys.stderr.write(f"\r\x1b[2K{message}…")
        sys.stderr.flush()


def end_progress() -> None:
    """Clear the transient progress line."""
    if sys.stderr.isatty() and not quiet():
        sys.stderr.write("\r\x1b[2K")
        sys.stderr.flush()



def stdout_console(width: int | None = None):  # noqa: ANN201
    """A Rich console on stdout for tables; width pinned by $COLUMNS or the argument."""
    from rich.console import Console
    return Console(highlight=False, width=width, soft_wrap=False)


def info(message: str) -> None:
    """A progress or summary line on stderr (silenced by -q)."""
    if not quiet():
        sys.stderr.write(message.rstrip("\n") + "\n")


def warn(message: str) -> None:
    """A warning line on stderr (silenced by -q)."""
    if not quiet():
        sys.stderr.write(f"Warning: {message}\n")


def default_format(stream: IO[str] | None = None) -> str:
    """A table on a terminal, TSV in a pipe (as the GitHub CLI does)."""
    stream = stream or sys.stdout
    try:
        return "table" if stream.isatty() else "tsv"
    except (AttributeError, ValueError):
        return "tsv"


def plain(value: Any) -> Any:
    """A JSON-safe value: ISO 8601 times, None for missing, lists kept."""
    if value is None:
        return None
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, _dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(_dt.timezone.utc)
            return value.isoformat().replace("+00:00", "Z")
        return value.isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    # numpy / pandas scalars
    mod = type(value).__module__
    if mod.startswith(("numpy", "pandas")):
        if hasattr(value, "to_pydatetime"):
            try:
                return plain(value.to_pydatetime())
            except ValueError:
                return None
        if hasattr(value, "item"):
            return plain(value.item())
        if str(value) in ("NaT", "<NA>", "nan"):
            return None
    return value


def _cell(value: Any) -> str:
    """A value as text for tsv/csv/table cells."""
    value = plain(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def neutralise_formula(text: str) -> str:
    """Prefix a cell a spreadsheet would run as a formula with a quote (plain numbers kept)."""
    if text and text.startswith(_FORMULA_START):
        try:
            float(text)
            return text
        except ValueError:
            return "'" + text
    return text


def write_rows(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], fmt: str,
               stream: IO[str] | None = None, *, title: str | None = None,
               headers: Mapping[str, str] | None = None, width: int | None = None) -> None:
    """Write rows in one of FORMATS to `stream` (stdout by default)."""
    stream = stream or sys.stdout
    if fmt == "json":
        json.dump([{c: plain(r.get(c)) for c in columns} for r in rows], stream, ensure_ascii=False, indent=2)
        stream.write("\n")
    elif fmt == "jsonl":
        for r in rows:
            stream.write(json.dumps({c: plain(r.get(c)) for c in columns}, ensure_ascii=False) + "\n")
    elif fmt in ("csv", "tsv"):
        if fmt == "csv":
            writer = csv.writer(stream, lineterminator="\n")
            writer.writerow(columns)
            for r in rows:
                writer.writerow([neutralise_formula(_cell(r.get(c))) for c in columns])
        else:  # TSV: tabs and newlines inside values become spaces so each row stays one line
            stream.write("\t".join(columns) + "\n")
            for r in rows:
                stream.write("\t".join(" ".join(_cell(r.get(c)).split()) for c in columns) + "\n")
    elif fmt == "markdown":
        stream.write(markdown_table(rows, columns, headers))
    elif fmt == "table":
        from rich.table import Table

        table = Table(title=title, show_lines=False, header_style="bold")
        for c in columns:
            table.add_column((headers or {}).get(c, c), overflow="fold")
        for r in rows:
            table.add_row(*[_cell(r.get(c)) for c in columns])
        console = stdout_console(width=width)
        if stream is not sys.stdout:
            from rich.console import Console
            console = Console(file=stream, highlight=False, width=width or 120)
        console.print(table)
    else:  # pragma: no cover - options are validated by the CLI
        raise ValueError(f"unknown format {fmt}")


def markdown_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str],
                   headers: Mapping[str, str] | None = None) -> str:
    """A GitHub-flavoured Markdown table (pipes in values escaped)."""
    def esc(v: Any) -> str:
        return " ".join(_cell(v).split()).replace("|", "\\|")
    out = io.StringIO()
    out.write("| " + " | ".join((headers or {}).get(c, c) for c in columns) + " |\n")
    out.write("|" + "|".join("---" for _ in columns) + "|\n")
    for r in rows:
        out.write("| " + " | ".join(esc(r.get(c)) for c in columns) + " |\n")
    return out.getvalue()


def write_json(obj: Any, stream: IO[str] | None = None) -> None:
    """One JSON document on stdout (for summaries with --format json)."""
    stream = stream or sys.stdout
    json.dump(plain(obj), stream, ensure_ascii=False, indent=2)
    stream.write("\n")


def whole(value: Any) -> Any:
    """An integral float as an int (35.0 -> 35); None for missing; anything else unchanged."""
    value = plain(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def whole_number_columns(frame: Any) -> Any:
    """The frame with float columns whose non-null values are all whole numbers as nullable integers.

    Parquet integer columns with a null come out of pyarrow as float64 (35 -> 35.0); people and
    scripts expect the whole numbers they typed. Missing values stay missing (never 0).
    """
    import numpy as np
    import pandas as pd

    out = frame
    for col in frame.columns:
        series = frame[col]
        if not pd.api.types.is_float_dtype(series.dtype):
            continue
        values = series.dropna().to_numpy(dtype="float64", na_value=np.nan)
        # 2**53: beyond it a float no longer holds every integer exactly
        if len(values) and np.isfinite(values).all() and (np.abs(values) < 2**53).all() \
                and (values == np.round(values)).all():
            if out is frame:
                out = frame.copy(deep=False)
            out[col] = series.astype("Int64")
    return out


def rows_from_frame(frame: Any) -> list[dict[str, Any]]:
    """Plain dict rows from a pandas DataFrame (missing values become None, whole numbers ints)."""
    if frame is None or len(frame) == 0:
        return []
    frame = whole_number_columns(frame)
    return [{k: plain(v) for k, v in rec.items()} for rec in frame.to_dict(orient="records")]


def output_error(path: str, exc: OSError, option: str = "-o") -> Exception:
    """The one-line error for a file that could not be written (an InputError, exit 1)."""
    import errno

    from piu.errors import InputError

    reasons = {errno.ENOENT: "the folder does not exist", errno.ENOTDIR: "the folder does not exist",
               errno.EISDIR: "it is a folder", errno.EACCES: "permission denied", errno.EPERM: "permission denied",
               errno.EROFS: "the file system is read-only", errno.ENOSPC: "no space left on the device"}
    reason = reasons.get(exc.errno or 0, exc.strerror or type(exc).__name__)
    return InputError(f"cannot write {path}: {reason}", hint=f"choose another path with {option}")


def check_output_file(path: str, option: str = "-o") -> Any:
    """The Path of a file about to be written; InputError when its folder is missing or it is a folder."""
    from pathlib import Path

    from piu.errors import InputError

    target = Path(path).expanduser()
    folder = target.parent
    if not folder.is_dir():
        # said before any work is done, so a typo in the folder costs nothing
        raise InputError(f"cannot write {path}: the folder does not exist",
                         hint=f"create {folder} first or choose another path with {option}")
    if target.is_dir():
        raise InputError(f"cannot write {path}: it is a folder", hint=f"give a file name with {option}")
    return target


def check_output_folder(path: str, option: str = "--out") -> Any:
    """The Path of a folder to write files into (the caller creates it); InputError when its parent is missing."""
    from pathlib import Path

    from piu.errors import InputError

    target = Path(path).expanduser()
    if not target.exists() and not target.parent.is_dir():
        # one missing folder is created; a missing parent is more likely a typo than a wish
        raise InputError(f"cannot write to {path}: the folder {target.parent} does not exist",
                         hint=f"create it first or choose another folder with {option}")
    return target


def open_output(path: str | None, option: str = "-o") -> IO[str]:
    """stdout, or a file written in UTF-8 (the caller closes it); InputError when it cannot be opened."""
    if path in (None, "-"):
        return sys.stdout
    target = check_output_file(path, option)
    try:
        return open(target, "w", encoding="utf-8", newline="")
    except OSError as exc:
        raise output_error(path, exc, option) from None


def is_terminal() -> bool:
    """True when stdout is a terminal (colour and tables allowed)."""
    try:
        return sys.stdout.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):
        return False
