"""`piu report`: what came in, what is flagged and what has been reviewed, for a period."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from piu.commands._common import (OutputOption, PortOption, ReadRulesOption, SinceOption, UntilOption, check_format,
                                  require_store_for_fail_on, score_choice, store, warn_other_rule_set)

REPORT_FORMAT_HELP = ("Output format: table, tsv, csv, json, jsonl, markdown, html (default: from the -o "
                      "file's extension, else table on a terminal and tsv in a pipe).")
_EXTENSIONS = {".html": "html", ".htm": "html", ".md": "markdown", ".json": "json", ".jsonl": "jsonl",
               ".csv": "csv", ".tsv": "tsv", ".txt": "table"}


def register(app: typer.Typer) -> None:
    """Add the report command."""
    app.command()(report)


def report(
    since: SinceOption = None,
    until: UntilOption = None,
    port: PortOption = None,
    min_band: Annotated[str, typer.Option("--min-band", metavar="BAND",
                                          help="List calls at or above this band: low, medium, high.")] = "medium",
    unreviewed: Annotated[bool, typer.Option("--unreviewed", help="Only calls no analyst has reviewed "
                                                                  "(or amended since their review).")] = False,
    fmt: Annotated[Optional[str], typer.Option("-f", "--format", help=REPORT_FORMAT_HELP, metavar="FORMAT")] = None,
    output: OutputOption = None,
    fail_on: Annotated[Optional[str], typer.Option("--fail-on", metavar="BAND",
                                                   help="Exit 3 if any call in the report period (and port) is at "
                                                        "or above BAND (with --unreviewed: any such call not "
                                                        "reviewed).")] = None,
    rules: ReadRulesOption = None,
) -> None:
    """Flagged vessel calls for a period (default: the last 7 days), with the numbers around them.

    The period's numbers count every call of the period (and port); counts beside the listed calls count their rows.

    On a terminal the table starts with the call id, which `piu show` and `piu review` take.

    Machine formats (json, jsonl, csv, tsv) carry the keys of `piu score -f json` plus
    review_status, reviewed_by and reviewed_at; csv/tsv/jsonl rows also carry period_start and
    period_end. Calls in the period that are not scored yet are counted on stderr, never scored here.
    Each call's score is the one made with the configured rules (or --rules FILE); calls not yet scored
    with them show an earlier rule set's score, counted on stderr (run `piu score`).
    """
    import sys
    from pathlib import Path

    from piu import render
    from piu.cli import settings
    from piu.errors import EXIT_FAIL_ON
    from piu.render_report import listed_phrase, write_report
    from piu.io.ports import resolve_port_option as resolve_port
    from piu.report import build_report, check_band, count_at_or_above, resolve_period

    if fmt is None and output not in (None, "-"):
        fmt = _EXTENSIONS.get(Path(output).suffix.lower())
    out_fmt = check_format(fmt, render.REPORT_FORMATS)
    fail_band = check_band(fail_on, "--fail-on") if fail_on else None
    if output not in (None, "-"):
        render.check_output_file(output)  # a mistyped folder fails before the store is read
    st = store()
    period = resolve_period(since, until)
    locode = resolve_port(st.home, port)
    require_store_for_fail_on(st, fail_on)  # after the usage errors (exit 2), which come first
    if not st.exists():
        render.warn(f"no store at {st.home} yet; run `piu ingest FILE` first")
    choice = score_choice(st, rules)
    model = build_report(st, period, port=locode, min_band=min_band, unreviewed=unreviewed, choice=choice)

    stream = render.open_output(output)
    if stream is sys.stdout:
        write_report(model, out_fmt, stream)
    else:
        try:
            with stream:
                write_report(model, out_fmt, stream)
        except OSError as exc:  # a full disk or a file that refuses writes, in one line
            raise render.output_error(output, exc) from None
    s = model["summary"]
    if output not in (None, "-"):
        render.info(f"Wrote the {out_fmt} report to {output}")
    if s["calls_not_scored"]:
        n = s["calls_not_scored"]
        render.warn(f"{n} call{'' if n == 1 else 's'} not scored; run `piu score`")
    warn_other_rule_set(choice, rules)
    render.info(f"{listed_phrase(model)} in {period.text()}")  # the rows written, in the table's words

    if fail_band:
        matched = count_at_or_above(st, period, fail_band, port=locode, unreviewed=unreviewed, report=model,
                                    choice=choice)
        if matched:
            if not settings.quiet:
                typer.echo(f"Alert: {matched} call{'' if matched == 1 else 's'} at or above {fail_band}"
                           f"{', not yet reviewed,' if unreviewed else ''} in {period.text()}", err=True)
            raise typer.Exit(EXIT_FAIL_ON)
