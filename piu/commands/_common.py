"""Options and helpers shared by every command (typer only; no heavy imports)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

FORMAT_HELP = "Output format: table, tsv, csv, json, jsonl (default: table on a terminal, tsv in a pipe)."

FormatOption = Annotated[Optional[str], typer.Option(
    "-f", "--format", help=FORMAT_HELP, metavar="FORMAT")]
SinceOption = Annotated[Optional[str], typer.Option(
    "--since", help="Start: a duration back from now (24h, 7d, 2w, 1m) or an ISO date.", metavar="WHEN")]
UntilOption = Annotated[Optional[str], typer.Option(
    "--until", help="End: a duration back from now or an ISO date (inclusive).", metavar="WHEN")]
PortOption = Annotated[Optional[str], typer.Option(
    "--port", help="Port name or UN/LOCODE (e.g. sihanoukville, KHKOS).", metavar="PORT")]
OutputOption = Annotated[Optional[str], typer.Option(
    "-o", "--output", help="Write to FILE instead of stdout.", metavar="FILE")]


def store():  # noqa: ANN201 - piu.store is light, but keep the signature lazy-friendly
    """The store chosen by --home / $PIU_HOME / the default."""
    from piu.cli import settings
    from piu.store import Store
    return Store(settings.home)


def require_store_for_fail_on(st, fail_on: Optional[str]) -> None:  # noqa: ANN001 - a piu.store.Store
    """--fail-on on a folder that holds no store is an error, not a pass: a mistyped --home in a cron
    job would otherwise read as 'nothing at or above the band' for ever."""
    from piu.errors import StoreError

    if fail_on is not None and not st.exists():
        raise StoreError(f"no piu store at {st.home}, so --fail-on {fail_on} cannot check anything",
                         hint="check --home or $PIU_HOME (or ingest manifests first)")


def check_format(fmt: Optional[str], allowed: tuple[str, ...]) -> str:
    """The chosen format, or the default for the stream; a usage error for unknown ones."""
    from piu.errors import UsageError
    from piu.render import default_format

    if fmt is None:
        return default_format()
    fmt = fmt.lower()
    if fmt not in allowed:
        raise UsageError(f"unknown format {fmt!r}", hint=f"use one of: {', '.join(allowed)}")
    return fmt


ReadRulesOption = Annotated[Optional[str], typer.Option(
    "--rules", envvar="PIU_RULES", metavar="FILE",
    help="Show the scores made with this rules file, e.g. a trial scored with `piu score --rules FILE` "
         "(default: $PIU_HOME/rules.toml when it exists, else the built-in rules).")]


def score_choice(st, rules: Optional[str] = None):  # noqa: ANN001, ANN201 - a piu.store.Store; a piu.queries.ScoreChoice
    """Which stored score of each call a command shows: the one made with the rule set in effect (`rules`,
    else $PIU_RULES, else $PIU_HOME/rules.toml, else the built-in rules) where there is one."""
    from piu.queries import ScoreChoice, configured_ruleset_version

    return ScoreChoice(configured_ruleset_version(st, rules))


def warn_other_rule_set(choice, rules: Optional[str] = None) -> None:  # noqa: ANN001 - a piu.queries.ScoreChoice
    """One line on stderr when some calls were shown with the score of another rule set than `choice`'s
    (not scored with it yet: a changed rules file or watchlist, or calls only a trial scored), and the fix."""
    import os
    import shlex

    from piu import render

    n = len(choice.other)
    if not n:
        return
    named = rules if rules and rules != (os.environ.get("PIU_RULES") or None) else None  # --rules, not the configured
    which = f"the rule set of {os.path.basename(named)}" if named else "the configured rule set"
    fix = "piu score" + (f" --rules {shlex.quote(named)}" if named else "")
    render.warn(f"{n} call{'' if n == 1 else 's'} not scored with {which} ({choice.version}) yet, so an earlier "
                f"rule set's score is used; run `{fix}`")
