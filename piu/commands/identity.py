"""`piu person` and `piu vessel`: every call in which a person or a vessel appears, across the store."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from piu.commands._common import FormatOption, check_format, score_choice, store, warn_other_rule_set


def register(app: typer.Typer) -> None:
    """Add the person and vessel commands."""
    app.command()(person)
    app.command()(vessel)


def person(
    name: Annotated[Optional[str], typer.Argument(help="Name in any order and spelling, e.g. 'Nguyen Van Hung'.",
                                                   metavar="NAME")] = None,
    dob: Annotated[Optional[str], typer.Option("--dob", metavar="DATE", help="Date of birth (YYYY-MM-DD or DD/MM/YYYY).")] = None,
    doc: Annotated[Optional[str], typer.Option("--doc", metavar="NUMBER", help="Document number.")] = None,
    threshold: Annotated[float, typer.Option("--threshold", min=0.0, max=1.0,
                                             help="Match score (0-1) from which a person is shown.")] = 0.70,
    fmt: FormatOption = None,
) -> None:
    """Every call in which this person (or a likely match) appears, best match first."""
    from piu import render
    from piu.identity import PERSON_OUTPUT, person_calls

    out_fmt = check_format(fmt, render.FORMATS)
    st = store()
    frame = person_calls(st, name, dob=dob, doc=doc, threshold=threshold) if st.exists() else None
    rows = render.rows_from_frame(frame)
    if not rows:
        render.info("No matching person in the store.")
    render.write_rows(rows, PERSON_OUTPUT, out_fmt)


def vessel(
    query: Annotated[str, typer.Argument(help="IMO number, MMSI or vessel name.", metavar="IMO|MMSI|NAME")],
    fmt: FormatOption = None,
) -> None:
    """The vessel's calls over time: names, flags, MMSIs, crew counts and scores."""
    from piu import render
    from piu.identity import VESSEL_OUTPUT, vessel_calls

    out_fmt = check_format(fmt, render.FORMATS)
    st = store()
    choice = score_choice(st)
    frame, history = vessel_calls(st, query, choice) if st.exists() else (None, {})
    rows = render.rows_from_frame(frame)
    if not rows:
        render.info("No calls of this vessel in the store.")
    render.write_rows(rows, VESSEL_OUTPUT, out_fmt)
    labels = {"vessel_name": "names", "flag": "flags", "mmsi": "MMSIs", "call_sign": "call signs"}
    for col, values in history.items():
        if len(values) > 1:  # changes are what an analyst looks for
            render.info(f"{len(values)} {labels[col]}: " + ", ".join(values))
    warn_other_rule_set(choice)
