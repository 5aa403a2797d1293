"""`piu samples`: write synthetic manifests with planted risk scenarios (for demos, tests, benchmarks)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from piu.commands._common import check_format


def register(app: typer.Typer) -> None:
    """Add the samples command."""
    app.command()(samples)


def samples(
    out: Annotated[str, typer.Option("--out", "-o", metavar="DIR",
                                     help="Folder for manifest.csv (or calls.csv + persons.csv) and truth.csv.")],
    calls: Annotated[int, typer.Option("--calls", "-n", metavar="N", help="Number of vessel calls.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", metavar="S", help="Random seed: the same seed writes the same bytes.")] = 0,
    start: Annotated[str, typer.Option("--start", metavar="DATE", help="First day of the period (ISO date).")] = "2026-11-01",
    days: Annotated[int, typer.Option("--days", metavar="D", help="Length of the period in days.")] = 28,
    ports: Annotated[str, typer.Option("--ports", metavar="LOCODES",
                                       help="Ports of call, comma-separated UN/LOCODEs.")] = "KHKOS",
    shape: Annotated[str, typer.Option("--shape", metavar="SHAPE",
                                       help="flat (one row per person) or split (calls.csv + persons.csv).")] = "flat",
    plant_rate: Annotated[float, typer.Option("--plant-rate", metavar="R",
                                              help="Share of calls carrying a planted risk scenario.")] = 0.03,
    fmt: Annotated[Optional[str], typer.Option("-f", "--format", metavar="FORMAT",
                                               help="json: print the summary (paths and counts) on stdout.")] = None,
) -> None:
    """Write synthetic vessel-call manifests and truth.csv naming the planted scenario of each call."""
    from datetime import date
    from pathlib import Path

    from piu import render
    from piu.errors import UsageError
    from piu.synth import generate

    json_out = fmt is not None and check_format(fmt, ("json",)) == "json"
    render.check_output_folder(out, "--out")  # a missing parent folder is a typo, not a wish
    try:
        first_day = date.fromisoformat(start.strip())
    except ValueError:
        raise UsageError(f"--start {start!r} is not a date", hint="use an ISO date like 2026-11-01") from None
    summary = generate(calls, Path(out), seed=seed, start=first_day, days=days, ports=ports.split(","),
                       plant_rate=plant_rate, shape=shape)
    if json_out:
        render.write_json(summary)
    data = summary["manifest"] if shape == "flat" else f"{summary['manifest']} and {summary['persons_file']}"
    render.info(f"Wrote {summary['calls']:,} calls ({summary['persons']:,} persons, {summary['planted']:,} with a "
                f"planted scenario) to {data}; truth in {summary['truth']}")
