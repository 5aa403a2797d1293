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
