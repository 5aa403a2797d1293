"""`piu ports import|list|show`: the port table (curated ports plus an imported UN/LOCODE list)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from piu.commands._common import FormatOption, check_format, store

ports_app = typer.Typer(
    help="Ports: import the official UN/LOCODE list, list ports, show one port.",
    no_args_is_help=True,
)

LIST_COLUMNS = ("locode", "name", "country", "timezone", "source", "aliases")


def register(app: typer.Typer) -> None:
    """Add the ports command group."""
    app.add_typer(ports_app, name="ports")


@ports_app.command("import")
def import_(
    file: Annotated[str, typer.Argument(help="UN/LOCODE CSV download (unece.org), any published layout.",
                                        metavar="FILE")],
    fmt: Annotated[Optional[str], typer.Option("-f", "--format", metavar="FORMAT",
                                               help="'json' prints the summary on stdout.")] = None,
) -> None:
    """Load the official UN/LOCODE list so every port in the world resolves (replaces the previous import)."""
    from pathlib import Path

    from piu import render
    from piu.io.ports import import_unlocode

    out_fmt = check_format(fmt, ("text", "json")) if fmt else "text"
    summary = import_unlocode(Path(file), store())
    if out_fmt == "json":
        render.write_json(summary)
        return
    render.info(f"Imported {summary['ports']:,} ports with {summary['aliases']:,} aliases from "
                f"{summary['source_file']} in {summary['seconds']} s"
                + (" (replaced the previous import)" if summary["replaced_previous_import"] else "") + ".")
    if summary["repaired_lines"]:
        render.info(f"Repaired {summary['repaired_lines']:,} lines with broken quoting (names containing a comma).")
    if summary["skipped_lines"]:
        numbers = ", ".join(str(n) for n in summary["skipped_line_numbers"])
        more = ", ..." if summary["skipped_lines"] > len(summary["skipped_line_numbers"]) else ""
        render.warn(f"skipped {summary['skipped_lines']:,} unreadable lines (lines {numbers}{more}).")


@ports_app.command("list")
def list_(
    country: Annotated[Optional[str], typer.Option("--country", metavar="COUNTRY",
                                                   help="Only this country (KH, KHM or Cambodia).")] = None,
    fmt: FormatOption = None,
) -> None:
    """List ports: the curated table, then the imported UN/LOCODE list."""
    from piu import render
    from piu.errors import UsageError
    from piu.io.countries import lookup_country
    from piu.io.ports import PortTable

    out_fmt = check_format(fmt, render.FORMATS)
    rows = PortTable.load(store().home).rows()
    if country:
        code = lookup_country(country)
        if code is None:
            raise UsageError(f"--country {country!r} is not a country", hint="use e.g. KH, KHM or Cambodia")
        rows = [r for r in rows if r["country"] == code]
    for r in rows:
        r["aliases"] = "; ".join(r["aliases"])
    render.write_rows(rows, LIST_COLUMNS, out_fmt)


@ports_app.command("show")
def show(
    port: Annotated[str, typer.Argument(help="Port name or UN/LOCODE (sihanoukville, KHKOS, 'KH KOS').",
                                        metavar="NAME|LOCODE")],
    fmt: FormatOption = None,
) -> None:
    """Show one port: code, name, country, time zone, aliases and where piu knows it from."""
    from piu import render
    from piu.errors import InputError
    from piu.io.ports import PortTable

    out_fmt = check_format(fmt, render.FORMATS)
    table = PortTable.load(store().home)
    code = table.lookup(port)
    info = table.info(code) if code else None
    if info is None:
        raise InputError(f"unknown port {port!r}",
                         hint="check the spelling or give the UN/LOCODE (e.g. KHKOS); "
                              "`piu ports import FILE` loads the official list of every port")
    if out_fmt == "json":
        render.write_json(info)
    elif out_fmt == "jsonl":
        render.write_rows([info], list(info), "jsonl")
    else:
        info = {**info, "aliases": "; ".join(info["aliases"])}
        render.write_rows([{"field": k, "value": v} for k, v in info.items()], ("field", "value"), out_fmt)
