"""`piu ingest`: load agents' manifests into the store; `piu quarantine`: rows that could not be."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from piu.commands._common import FormatOption, check_format, store


def register(app: typer.Typer) -> None:
    """Add the ingest and quarantine commands."""
    app.command()(ingest)
    app.command()(quarantine)


def ingest(
    files: Annotated[Optional[list[str]], typer.Argument(help="Manifest files (CSV, XLSX, JSON Lines); - for stdin.",
                                                          metavar="FILE...")] = None,
    map_file: Annotated[Optional[str], typer.Option("--map", metavar="FILE",
                                                    help="Heading mapping file (CSV: heading,field).")] = None,
    month_first: Annotated[bool, typer.Option("--month-first", help="Read dates as MM/DD/YYYY.")] = False,
    day_first: Annotated[bool, typer.Option("--day-first", help="Read dates as DD/MM/YYYY even when they look month-first "
                                            "(default: day-first unless a file's dates only make sense month-first).")] = False,
    force: Annotated[bool, typer.Option("--force", help="Read files again even if already ingested (unchanged calls stay unchanged).")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate and report; store nothing.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Reject a whole file if any row is bad.")] = False,
    list_: Annotated[bool, typer.Option("--list", help="Show past ingests instead (when, file, hash, counts).")] = False,
    fmt: FormatOption = None,
) -> None:
    """Load manifests (flat lists, FAL forms, or call + person files) into the store.

    Each file stands alone: a file that cannot be read or stored is named on stderr (exit 1) and
    the other files are stored. Ingesting the same file again stores nothing new (--force reads it
    again); an amended manifest supersedes the earlier version of its calls. Dates with a
    Buddhist-era year (2443-2643, as Thai agents write them: 23/11/2518 is 1975-11-23) are read as
    C.E. and counted in one warning per file.
    """
    from piu import render
    from piu.errors import UsageError
    from piu.io.ingest import ingest_files, ingest_log

    st = store()
    if list_:
        out_fmt = check_format(fmt, render.FORMATS)
        log = ingest_log(st) if st.exists() else None
        cols = ["ingest_id", "started_at", "source_file", "source_sha256", "rows", "calls_new", "calls_amended",
                "calls_unchanged", "persons", "quarantined", "user"]
        rows = render.rows_from_frame(log)
        if not rows:
            render.info("No ingests yet: run `piu ingest FILE`.")
        render.write_rows(rows, cols, out_fmt)
        return
    if not files:
        raise UsageError("no files given", hint="name one or more manifest files: piu ingest manifests.csv")
    if month_first and day_first:
        raise UsageError("--month-first and --day-first contradict each other", hint="give one of them")
    json_out = fmt is not None and check_format(fmt, ("json", "table")) == "json"
    progress = None if render.quiet() else render.progress_line
    dayfirst = False if month_first else (True if day_first else None)
    summary = ingest_files(st, files, mapping_path=map_file, dayfirst=dayfirst, dry_run=dry_run,
                           strict=strict, force=force, progress=progress)
    render.end_progress()
    if json_out:
        render.write_json(summary.as_dict())
    render.info(render_summary(summary))
    for error in summary.errors:  # each file stands alone: the others were stored
        typer.echo(f"Error: {error}", err=True)
    if summary.errors:
        raise typer.Exit(1)


def render_summary(summary) -> str:  # noqa: ANN001 - IngestSummary, imported lazily
    """The human summary for stderr: one line per file, totals and top quarantine reasons."""
    lines = []
    for f in summary.files:
        if f.status == "already-ingested":
            lines.append(f"{f.source_file}: already ingested ({f.previous_ingest}); nothing new stored")
            continue
        verb = "would store" if summary.dry_run else "stored"
        lines.append(
            f"{f.source_file}: {f.rows} rows; {verb} {f.calls_new} new, {f.calls_amended} amended call(s) "
            f"({f.calls_unchanged} unchanged), {f.persons} person(s); {f.quarantined} row(s) quarantined")
        for reason, n in f.reasons.most_common(3):
            lines.append(f"  quarantined {n}: {reason}")
        lines.extend(f"  note: {n}" for n in f.notes)
        lines.extend(f"  warning: {w}" for w in f.warnings)
    t = summary.totals()
    if len(summary.files) > 1:
        lines.append(f"total: {len(summary.files)} files, {t['calls_new']} new and {t['calls_amended']} amended calls, "
                     f"{t['persons']} persons, {t['quarantined']} rows quarantined")
    if t["quarantined"] and not summary.dry_run:
        lines.append("see them with `piu quarantine`")
    if summary.dry_run:
        lines.append("dry run: nothing was stored")
    return "\n".join(lines)


def quarantine(
    ingest_id: Annotated[Optional[str], typer.Option("--ingest", metavar="ID", help="Only rows of this ingest.")] = None,
    raw: Annotated[bool, typer.Option("--raw", help="Include the row as sent (contains personal data).")] = False,
    fmt: FormatOption = None,
) -> None:
    """Rows agents sent that could not be stored, with file, row, column and reason."""
    from piu import render
    from piu.schema import quarantine_schema

    import pyarrow.dataset as ds

    out_fmt = check_format(fmt, render.FORMATS)
    st = store()
    cols = ["ingest_id", "source_file", "source_sheet", "source_row", "column", "reason"] + (["raw"] if raw else [])
    # the raw rows hold personal data: read them only when asked for
    frame = st.read("quarantine", quarantine_schema(), columns=cols,
                    filter=(ds.field("ingest_id") == ingest_id) if ingest_id else None).to_pandas() if st.exists() else None
    if frame is not None:
        frame = frame.sort_values(["ingest_id", "source_file", "source_sheet", "source_row"])
    rows = render.rows_from_frame(frame)
    if not rows:
        render.info("No quarantined rows.")
    render.write_rows(rows, cols, out_fmt)
