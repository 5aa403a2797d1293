"""`piu show CALL_ID`: everything about one call, for the analyst deciding on a boarding."""

from __future__ import annotations

from typing import Annotated

import typer

from piu.commands._common import FormatOption, check_format, store


def register(app: typer.Typer) -> None:
    """Add the show command."""
    app.command()(show)


def show(
    call_id: Annotated[str, typer.Argument(help="The call id, as listed by `piu report`.", metavar="CALL_ID")],
    fmt: FormatOption = None,
) -> None:
    """Everything about one call: particulars, persons, hits, sources, versions, history, reviews.

    Persons a rule names are marked with it; every hit carries its evidence; source files and
    row numbers lead back to what the agent sent; earlier versions show what an amendment changed.
    """
    from piu import render
    from piu.render_report import write_call
    from piu.report import call_detail

    out_fmt = check_format(fmt or ("table" if render.is_terminal() else "json"), ("table", "json", "markdown"))
    detail = call_detail(store(), call_id.strip())
    if out_fmt == "json":
        render.write_json(detail)
    else:
        write_call(detail, out_fmt)
