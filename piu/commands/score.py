"""`piu score`: score calls with the rule set and print the flagged ones, highest score first."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from piu.commands._common import (FormatOption, PortOption, SinceOption, UntilOption, check_format,
                                  require_store_for_fail_on, store)

RulesOption = Annotated[Optional[str], typer.Option(
    "--rules", envvar="PIU_RULES", metavar="FILE",
    help="Rules file (TOML; default: $PIU_HOME/rules.toml when it exists, else the built-in rules).")]

TABLE_HEADERS = {"call_time": "time", "port": "port", "vessel_name": "vessel", "imo": "IMO", "flag": "flag",
                 "vessel_type": "type", "persons_aboard": "persons", "score": "score", "band": "band",
                 "reasons": "main reasons"}


def register(app: typer.Typer) -> None:
    """Add the score command."""
    app.command()(score)


def score(
    port: PortOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    rules: RulesOption = None,
    all_calls: Annotated[bool, typer.Option("--all", help="Print every call, not only flagged (medium, high) ones.")] = False,
    rescore: Annotated[bool, typer.Option("--rescore", help="Score again calls already scored with this rule set.")] = False,
    new_only: Annotated[bool, typer.Option(
        "--new", help="Print only calls whose score is news: scored for the first time in this run (new, amended "
                      "or late manifests) or now in a higher band than their last score; --fail-on looks at "
                      "these only.")] = False,
    fmt: FormatOption = None,
    fail_on: Annotated[Optional[str], typer.Option(
        "--fail-on", metavar="BAND",
        help="Exit with code 3 when any printed call is at or above BAND (low, medium, high).")] = None,
    engine: Annotated[str, typer.Option(
        "--engine", envvar="PIU_ENGINE", metavar="ENGINE",
        help="pandas (one process) or dask (partitions in parallel, out of core or on a cluster; pip install 'piu\\[dask]').")] = "pandas",  # \[ so Rich prints [dask]
    scheduler: Annotated[Optional[str], typer.Option(
        "--scheduler", envvar="PIU_DASK_SCHEDULER", metavar="ADDRESS",
        help="With --engine dask: a Dask scheduler address (tcp://host:8786), or threads (default), processes, synchronous.")] = None,
) -> None:
    """Score calls with transparent rules; print flagged calls, highest score first.

    Calls already scored with the same rule set are not scored again (use --rescore); history
    rules still look at the whole store. --new prints only calls whose score is news: new
    calls, or calls a rule or list change raised to a higher band (a daily job's alert).
    --rules FILE other than the configured rules is a trial: report, show and export keep
    using the configured scores (`piu report --rules FILE` shows the trial's), and --new
    compares with the last score of the configured rules, never a trial's.
    Exit codes: 0 done, 1 error, 2 usage, 3 --fail-on matched.
    """
    from piu.memory import keep_freed_memory

    keep_freed_memory()  # before pyarrow is imported (piu.memory)
    from piu import render
    from piu.errors import EXIT_FAIL_ON, UsageError
    from piu.io.ports import resolve_port_option
    from piu.risk import config as rconfig
    from piu.risk.output import SCORE_KEYS, TABLE_COLUMNS, score_records
    from piu.risk.scoring import score_store, select_output, with_hits
    from piu.report import band_rank, check_band
    from piu.timeparse import parse_time

    out_fmt = check_format(fmt, render.FORMATS)
    fail_band = check_band(fail_on, "--fail-on") if fail_on is not None else None
    st = store()
    start = parse_time(since, option="--since") if since else None
    end = parse_time(until, option="--until", end_of_day=True) if until else None
    if start and end and start > end:
        raise UsageError("--since is after --until", hint="swap them")
    locode = resolve_port_option(st.home, port)
    config = rconfig.load(rconfig.find_rules_file(rules, st.home))
    trial = rules is not None and rconfig.is_trial(config, st.home)
    engine = engine.strip().lower()
    if engine not in ("pandas", "dask"):
        raise UsageError(f"--engine {engine!r} is not an engine", hint="use pandas or dask")
    if scheduler and engine != "dask":
        raise UsageError("--scheduler needs --engine dask", hint="add --engine dask")
    require_store_for_fail_on(st, fail_on)  # after the usage errors (exit 2), which come first
    run = score_store(st, config, ports=[locode] if locode else None, since=start, until=end, rescore=rescore,
                      engine=engine, scheduler=scheduler, compare_bands=new_only, trial=trial)
    frame = run.new_or_raised if new_only else run.frame
    shown = with_hits(st, select_output(frame, all_calls=all_calls), run.ruleset_version)
    records = score_records(shown)
    if out_fmt in ("json", "jsonl"):
        render.write_rows(records, SCORE_KEYS, out_fmt)
    elif out_fmt == "table":
        render.write_rows(records, list(TABLE_HEADERS), "table", headers=TABLE_HEADERS,
                          title=f"piu score (rule set {run.ruleset_version})")
    else:
        render.write_rows(records, TABLE_COLUMNS, out_fmt)
    for note in run.notes:
        render.info(f"Note: {note}")
    total = run.scored + run.reused
    if total == 0:
        render.info("No calls to score" + (" in this selection" if (locode or start or end) else ": the store is empty") + ".")
    else:
        flagged = int(frame["band"].isin(["medium", "high"]).sum())
        render.info(f"{total} calls: {run.scored} scored now, {run.reused} already scored with rule set "
                    f"{run.ruleset_version}; {flagged} flagged" + (" among those new or raised." if new_only else "."))
    if trial and total:
        import os
        import shlex

        render.info(f"Note: {os.path.basename(rules)} is not the configured rule set, so this is a trial: report, "
                    f"show and export keep the configured scores; `piu report --rules {shlex.quote(rules)}` shows these")
    if fail_band is not None:
        if any(band_rank(r["band"]) >= band_rank(fail_band) for r in records):
            raise typer.Exit(EXIT_FAIL_ON)
