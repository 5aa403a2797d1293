"""`piu doctor`: verify the store and say what is wrong; `--repair` hides damaged transactions and
removes damaged persons index files."""

from __future__ import annotations

from typing import Annotated

import typer

from piu.commands._common import FormatOption, check_format, store


def register(app: typer.Typer) -> None:
    """Add the doctor command."""
    app.command()(doctor)


def doctor(
    repair: Annotated[bool, typer.Option("--repair", help="Retract transactions with damaged files so the store reads "
                                                          "again; remove damaged persons index files (rebuilt when needed).")] = False,
    fmt: FormatOption = None,
) -> None:
    """Check the store: metadata, every data file, interrupted writes. Exit 1 if anything is wrong."""
    from dataclasses import asdict

    from piu import render
    from piu.doctor import check
    from piu.errors import StoreError

    out_fmt = check_format(fmt, ("table", "json"))
    st = store()
    report = check(st, repair=repair)
    if out_fmt != "json" and [p.kind for p in report.problems] == ["missing-store"]:
        # most often a mistyped --home: nothing to repair, so say where piu looked
        raise StoreError(f"no piu store at {st.home}", hint="check --home or $PIU_HOME")
    if out_fmt == "json":
        render.write_json({"home": report.home, "ok": report.ok, "datasets": report.datasets, "rows": report.rows,
                           "problems": [asdict(p) for p in report.problems], "repaired": report.repaired,
                           "reingest": report.reingest})
    else:
        for name in sorted(report.datasets):
            render.info(f"{name}: {report.datasets[name]} file(s), {report.rows.get(name, 0)} row(s)")
        for p in report.problems:
            status = " (repaired)" if (p.txn and p.txn in report.repaired) or p.fixed else ""
            typer.echo(f"problem: {p.kind}: {p.where}: {p.detail}{status}", err=True)  # even with -q
        if report.reingest:
            verb = "ingest again" if report.repaired else "after `piu doctor --repair`, ingest again"
            render.info(f"{verb}: {', '.join(report.reingest)}")
        if report.repaired:  # other calls' history hits may have named the removed data
            render.info("then `piu score --rescore --since D --until D` over the days of the removed calls")
        # --repair only retracts damaged files: suggest it only when it would help
        repairable = any((p.kind == "damaged-file" and p.txn not in report.repaired)
                         or (p.kind == "damaged-index" and not p.fixed) for p in report.problems)
        render.info("store OK" if report.ok else
                    "store has problems; run `piu doctor --repair`" if repairable else "store has problems")
    if not report.ok:
        raise typer.Exit(1)
