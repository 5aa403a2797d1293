"""`piu show CALL_ID`: everything about one call, for the analyst deciding on a boarding."""

from __future__ import annotations

from typing import Annotated

import typer

from piu.commands._common import FormatOption, ReadRulesOption, check_format, score_choice, store, warn_other_rule_set


def register(app: typer.Typer) -> None:
    """Add the show command."""
    app.command()(show)


def show(
    call_id: Annotated[str, typer.Argument(help="The call id, as listed by `piu report`.", metavar="CALL_ID")],
    fmt: FormatOption = None,
    rules: ReadRulesOption = None,
) -> None:
    """Everything about one call: particulars, persons, hits, sources, versions, history, reviews.

    Persons a rule names are marked with it; every hit carries its evidence; source files and
    row numbers lead back to what the agent sent; earlier versions show what an amendment changed.
    Scores are those made with the configured rules (or --rules FILE) where there are some.
    """
    from piu import render
    from piu.render_report import write_call
    from piu.report import call_detail

    out_fmt = check_format(fmt or ("table" if render.is_terminal() else "json"), ("table", "json", "markdown"))
    st = store()
    choice = score_choice(st, rules)
    detail = call_detail(st, call_id.strip(), choice)
    if out_fmt == "json":
        render.write_json(detail)
    else:
        write_call(detail, out_fmt)
    warn_other_rule_set(choice, rules)
