"""`piu review`: record the analyst's decision on a call (append-only), or list the audit log."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from piu.commands._common import FormatOption, check_format, score_choice, store, warn_other_rule_set

STATUS_HELP = "Decision: cleared, referred, boarded or confirmed."


def register(app: typer.Typer) -> None:
    """Add the review command."""
    app.command()(review)


def review(
    call_id: Annotated[Optional[str], typer.Argument(help="The call reviewed (see `piu report`).",
                                                    metavar="CALL_ID")] = None,
    status: Annotated[Optional[str], typer.Option("--status", help=STATUS_HELP, metavar="STATUS")] = None,
    note: Annotated[str, typer.Option("--note", metavar="TEXT",
                                      help="Why: what was checked (documents, persons, holds) and what was found.")] = "",
    by: Annotated[Optional[str], typer.Option("--by", envvar="PIU_USER", metavar="NAME",
                                              help="Who decided (default: $PIU_USER, else the OS user).")] = None,
    list_: Annotated[bool, typer.Option("--list", help="Show the review log instead (oldest first).")] = False,
    call: Annotated[Optional[str], typer.Option("--call", metavar="CALL_ID",
                                                help="With --list: only this call's reviews.")] = None,
    fmt: FormatOption = None,
) -> None:
    """Record an analyst's decision on a call, or list the review log with --list.

    The review log is the unit's audit trail. Each review records who decided, when, the decision,
    why (the note), and the rule-set version, score and band of the call version reviewed, so a
    supervisor or court can later see what the analyst saw. Reviews are never rewritten; a later
    one supersedes. Give --note with every decision: without --note the review is recorded with a
    warning, and the log shows the decision but not the reason. Keep names and document numbers
    out of notes: say 'row 14' instead.
    """
    from piu import render
    from piu.errors import UsageError
    from piu.reviews import REVIEW_KEYS, add_review, read_reviews, review_records

    st = store()
    if list_:
        out_fmt = check_format(fmt, render.FORMATS)
        wanted = call or call_id
        rows = review_records(read_reviews(st, [wanted] if wanted else None)) if st.exists() else []
        if not rows:
            render.info("No reviews yet." if not wanted else f"No reviews of {wanted}.")
        render.write_rows(rows, REVIEW_KEYS, out_fmt)
        return
    if not call_id:
        raise UsageError("no call id given", hint="piu review CALL_ID --status cleared --note TEXT, or piu review --list")
    if not status:
        raise UsageError("--status is required to record a review", hint=STATUS_HELP)
    choice = score_choice(st)  # the score recorded is the one `piu show` shows
    record = add_review(st, call_id.strip(), status, note, by=by, choice=choice)
    if fmt is not None:
        out_fmt = check_format(fmt, render.FORMATS)
        render.write_rows([{k: render.plain(v) for k, v in record.items()}], REVIEW_KEYS, out_fmt)
    band = f" (score {record['score']}, {record['band']}, rules {record['ruleset_version']})" if record["band"] else " (not scored)"
    render.info(f"Recorded: {record['call_id']} {record['status']} by {record['by']}{band}")
    warn_other_rule_set(choice)
    if not record["note"]:
        # accepted (a quick clear at the quayside, scripts), but the log then cannot say why
        render.warn("no --note: the audit log will not say why")
