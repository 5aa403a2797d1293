"""Options and helpers shared by every command (typer only; no heavy imports)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

FORMAT_HELP = "Output format: table, tsv, csv, json, jsonl (default: table on a terminal, tsv in a pipe)."

FormatOption = Annotated[Optional[str], typer.Option(
    "-f", "--format", help=FORMAT_HELP, metavar="FORMAT")]
SinceOption = Annotated[Optional[str], typer.Option(
    "--since", help="Start: a duration back from now (24h, 7d, 2w, 1m) or an ISO date.", metavar="WHEN")]
UntilOption = Annotated[Optional[str], typer.Option(
    "--until", help="End: a duration back from now or an ISO date (inclusive).", metavar="WHEN")]
PortOption = Annotated[Optional[str], typer.Option(
    "--port", help="Port name or UN/LOCODE (e.g. sihanoukville, KHKOS).", metavar="PORT")]
OutputOption = Annotated[Optional[str], typer.Option(
    "-o", "--output", help="Write to FILE instead of stdout.", metavar="FILE")]


def store():  # noqa: ANN201 - piu.store is light, but keep the signature lazy-friendly
    """The store chosen by --home / $PIU_HOME / the default."""
    from piu.cli import settings
    from piu.store import Store
    return Store(settings.home)


def require_store_for_fail_on(st, fail_on: Optional[str]) -> None:  # noqa: ANN001 - a piu.store.Store
    """--fail-on on a folder that holds no store is an error, not a pass: a mistyped --home in a cron
    job would otherwise read as 'nothing at or above the band' for ever."""
    from piu.errors import StoreError

    if fail_on is not None and not st.exists():
        raise StoreError(f"no piu store at {st.home}, so --fail-on {fail_on} cannot check anything",
                         hint="check --home or $PIU_HOME (or ingest manifests first)")


def check_format(fmt: Optional[str], allowed: tuple[str, ...]) -> str:
    """The chosen format, or the default for the stream; a usage error for unknown ones."""
    from piu.errors import UsageError
    from piu.render import default_format

    if fmt is None:
        return default_format()
    fmt = fmt.lower()
    if fmt not in allowed:
        raise UsageError(f"unknown format {fmt!r}", hint=f"use one of: {', '.join(allowed)}")
    return fmt
