"""`piu export`, `piu import` and `piu exchange keygen`: share flagged cases with partner units."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from piu.commands._common import (FormatOption, PortOption, SinceOption, UntilOption, check_format, score_choice,
                                  store, warn_other_rule_set)

KEY_HELP = "File holding the regional key (else $PIU_EXCHANGE_KEY, else $PIU_HOME/exchange.key)."
KeyFileOption = Annotated[Optional[str], typer.Option("--key-file", metavar="FILE", help=KEY_HELP)]

exchange_app = typer.Typer(help="Regional exchange keys.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add export, import and the exchange group."""
    app.command("export")(export)
    app.command("import")(import_)
    app.add_typer(exchange_app, name="exchange")


def export(
    output: Annotated[str, typer.Option("-o", "--output", metavar="FILE",
                                        help="Package (or CSV with --target vrs) to write; - for stdout.")],
    unit: Annotated[str, typer.Option("--unit", metavar="UNIT", envvar="PIU_UNIT",
                                      help="This unit's code, e.g. KH-SHV.")],
    since: SinceOption = None,
    until: UntilOption = None,
    port: PortOption = None,
    min_band: Annotated[str, typer.Option("--min-band", metavar="BAND",
                                          help="Lowest band exported: low, medium or high.")] = "medium",
    target: Annotated[str, typer.Option("--target", metavar="TARGET",
                                        help="partner: signed package for partner units; vrs: CSV for the "
                                             "regional reporting database (no personal data, no key).")] = "partner",
    include_notes: Annotated[bool, typer.Option("--include-notes",
                                                help="Include analysts' review notes (free text: may name people).")] = False,
    key_file: KeyFileOption = None,
) -> None:
    """Write the period's flagged calls (default: last 30 days) as a signed, pseudonymised package.

    Scores are those made with the configured rules where there are some (never a trial's).
    """
    from piu import exchange, render
    from piu.errors import UsageError
    from piu.io.ports import resolve_port_option as resolve_port
    from piu.report import check_band, resolve_period

    st = store()
    target = target.strip().lower()
    if target not in ("partner", "vrs"):
        raise UsageError(f"--target {target!r} is not an export target", hint="use partner or vrs")
    unit = exchange.check_unit(unit)
    min_band = check_band(min_band)
    period = resolve_period(since or "30d", until)
    code = resolve_port(st.home, port)
    if output != "-":
        render.check_output_file(output)  # a mistyped folder fails before any work
    if target == "vrs":
        if include_notes:
            raise UsageError("--include-notes cannot be used with --target vrs",
                             hint="the regional reporting database receives no free text")
        choice = score_choice(st)
        rows = exchange.vrs_rows(st, unit=unit, since=period.since, until=period.until, port=code, min_band=min_band,
                                 choice=choice)
        stream = render.open_output(output)
        if stream is sys.stdout:
            render.write_rows(rows, exchange.VRS_COLUMNS, "csv", stream)
        else:
            try:
                with stream:
                    render.write_rows(rows, exchange.VRS_COLUMNS, "csv", stream)
            except OSError as exc:
                raise render.output_error(output, exc) from None
        result = exchange.ExportResult(path=output, unit=unit, cases=len(rows), persons=0, hits=0,
                                       evidence_withheld=0, since=render.plain(period.since),
                                       until=render.plain(period.until), target="vrs")
        warn_other_rule_set(choice)
        render.info(exchange.export_line(result))
        return
    key = exchange.load_key(key_file, st.home)
    choice = score_choice(st)
    data, result = exchange.export_package(st, key, unit=unit, since=period.since, until=period.until, port=code,
                                           min_band=min_band, include_notes=include_notes, choice=choice)
    result.path = output
    if output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        from pathlib import Path

        from piu.store import atomic_write_bytes
        try:
            atomic_write_bytes(Path(output).expanduser(), data)
        except OSError as exc:  # a data/runtime failure (exit 1), not a usage error
            raise render.output_error(output, exc) from None
    if include_notes:
        render.warn("review notes are included: check them for names before sending the package")
    warn_other_rule_set(choice)
    render.info(exchange.export_line(result))


def import_(
    package: Annotated[str, typer.Argument(metavar="PACKAGE", help="Package file written by `piu export`.")],
    key_file: KeyFileOption = None,
    fmt: FormatOption = None,
) -> None:
    """Verify a partner's package (version, hashes, signature) and store its cases; twice changes nothing."""
    from piu import exchange, render

    st = store()
    key = exchange.load_key(key_file, st.home)
    result = exchange.import_package(st, package, key)
    if fmt is not None and check_format(fmt, ("json", "table")) == "json":
        render.write_json(result.as_dict())
    if result.already_imported:  # said even with -q: a script should know nothing was stored
        sys.stderr.write(exchange.summary_line(result) + "\n")
    else:
        render.info(exchange.summary_line(result))


@exchange_app.command("keygen")
def keygen(
    output: Annotated[Optional[str], typer.Option("-o", "--output", metavar="FILE",
                                                  help="Key file to create (default: $PIU_HOME/exchange.key).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing key file.")] = False,
) -> None:
    """Create a new regional key file (mode 600); the key itself is never printed.

    An existing key file is kept (exit 1) unless --force: partner units use that key.
    """
    from piu import exchange, render

    if output is not None:
        render.check_output_file(output)  # the default (the store folder) is created; a typed folder must exist
    target = output or str(store().home / exchange.KEY_FILE_NAME)
    try:
        path = exchange.write_key_file(target, force=force)
    except OSError as exc:
        raise render.output_error(target, exc) from None
    render.info(f"wrote a new regional key to {path} (readable by you only); "
                "send it to the partner units over a secure channel, never with a package")
