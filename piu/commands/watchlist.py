"""`piu watchlist import|list|show|remove`: the lists of persons, documents and vessels to look for."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from piu.commands._common import FormatOption, check_format, store

SHOW_COLUMNS = ["entry_id", "kind", "name", "aliases", "date_of_birth", "birth_year", "nationality", "gender",
                "doc_number", "doc_issuer", "imo", "mmsi", "call_sign", "flag", "reason", "source", "listed_on",
                "expires", "active", "source_row"]
LIST_COLUMNS = ["list_name", "entries", "persons", "documents", "vessels", "expired", "source_file", "imported_at"]


def register(app: typer.Typer) -> None:
    """Add the `watchlist` command group."""
    group = typer.Typer(help="Watchlists of persons, documents and vessels (partners', sanctions lists).",
                        no_args_is_help=True)
    group.command("import")(import_)
    group.command("list")(list_)
    group.command("show")(show)
    group.command("remove")(remove)
    app.add_typer(group, name="watchlist")


def import_(
    file: Annotated[str, typer.Argument(help="Watchlist file: CSV, XLSX, JSON Lines, or OpenSanctions targets.simple.csv.",
                                        metavar="FILE")],
    list_name: Annotated[Optional[str], typer.Option("--list", metavar="NAME",
                                                     help="List name (default: the file name without extension).")] = None,
    month_first: Annotated[bool, typer.Option("--month-first", help="Read ambiguous dates as MM/DD/YYYY.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate and report; store nothing.")] = False,
    fmt: FormatOption = None,
) -> None:
    """Import a watchlist; re-importing a list replaces it (all or nothing)."""
    from piu import render
    from piu.watchlist import import_list

    json_out = fmt is not None and check_format(fmt, ("json", "table")) == "json"
    summary = import_list(store(), file, list_name, dayfirst=not month_first, dry_run=dry_run)
    if json_out:
        render.write_json(summary.as_dict())
    render.info(summary_text(summary, dry_run))


def summary_text(summary, dry_run: bool) -> str:  # noqa: ANN001 - ImportSummary, imported lazily
    """The human summary for stderr: counts and reasons only (no personal data)."""
    e = summary.entries
    verb = "would store" if dry_run else "stored"
    lines = [f"{summary.source_file}: {summary.rows} rows ({summary.format} format); {verb} list "
             f"'{summary.list_name}': {e['person']} person(s), {e['document']} document(s), {e['vessel']} vessel(s); "
             f"{summary.quarantined} row(s) quarantined"]
    if summary.replaced:
        lines.append(f"  {'would replace' if dry_run else 'replaced'} the earlier version ({summary.replaced} entries)")
    for schema, n in summary.skipped.most_common():
        lines.append(f"  skipped {n} {schema} row(s): only persons and vessels are screened")
    for reason, n in summary.reasons.most_common(5):
        lines.append(f"  quarantined {n}: {reason}")
    lines.extend(f"  warning: {w}" for w in summary.warnings)
    if summary.quarantined and not dry_run:
        lines.append("see them with `piu quarantine`")
    return "\n".join(lines)


def list_(fmt: FormatOption = None) -> None:
    """The lists in the store, with entries by kind and how many have expired."""
    from piu import render
    from piu.watchlist import list_overview

    out_fmt = check_format(fmt, render.FORMATS)
    rows = render.rows_from_frame(list_overview(store()))
    if not rows:
        render.info("No watchlists: import one with `piu watchlist import FILE`.")
    render.write_rows(rows, LIST_COLUMNS, out_fmt)


def show(
    name: Annotated[str, typer.Argument(help="List name.", metavar="NAME")],
    kind: Annotated[Optional[str], typer.Option("--kind", help="Only person, document or vessel entries.")] = None,
    fmt: FormatOption = None,
) -> None:
    """The entries of one list (expired ones marked active=false)."""
    from datetime import datetime, timezone

    from piu import render
    from piu.errors import InputError, UsageError
    from piu.watchlist import KINDS, active, entries

    out_fmt = check_format(fmt, render.FORMATS)
    if kind is not None and kind not in KINDS:
        raise UsageError(f"--kind {kind!r} is not a kind of entry", hint="use person, document or vessel")
    frame = entries(store(), lists=[name])
    if len(frame) == 0:
        raise InputError(f"no watchlist named {name!r}", hint="see the lists with `piu watchlist list`")
    if kind is not None:
        frame = frame[frame["kind"] == kind]
    live = active(frame, datetime.now(timezone.utc).date()).index
    frame = frame.assign(active=frame.index.isin(live))
    render.write_rows(render.rows_from_frame(frame), SHOW_COLUMNS, out_fmt)


def remove(name: Annotated[str, typer.Argument(help="List name.", metavar="NAME")]) -> None:
    """Remove a list: its entries stop matching at once."""
    from piu import render
    from piu.watchlist import remove_list

    n = remove_list(store(), name)
    render.info(f"removed list '{name}' ({n} entries)")
