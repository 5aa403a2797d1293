"""`piu rules`: list and explain the risk rules, write a rules file, list features, load flag lists."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from piu.commands._common import FormatOption, check_format, store
from piu.commands.score import RulesOption

rules_app = typer.Typer(help="The risk rules: list them, explain one, write a rules file, check one.",
                        invoke_without_command=True, no_args_is_help=False)
flags_app = typer.Typer(help="Port state control flag lists used by the flag-risk rule.",
                        invoke_without_command=True, no_args_is_help=False)
rules_app.add_typer(flags_app, name="flags")

LIST_COLUMNS = ("id", "weight", "status", "enabled", "category", "title", "params")


def register(app: typer.Typer) -> None:
    """Add the rules command group."""
    app.add_typer(rules_app, name="rules")


def _config(rules: Optional[str]):  # noqa: ANN202 - piu.risk is imported lazily
    from piu.risk import config as rconfig
    return rconfig.load(rconfig.find_rules_file(rules, store().home))


def _value_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


@rules_app.callback()
def rules(ctx: typer.Context, rules: RulesOption = None, fmt: FormatOption = None) -> None:
    """List the rules in effect: id, weight, status, enabled, title and parameters."""
    if ctx.invoked_subcommand is not None:
        return
    from piu import render

    out_fmt = check_format(fmt, render.FORMATS)
    config = _config(rules)
    rows = [{"id": rid, "weight": s.weight, "status": s.rule.status, "enabled": s.enabled,
             "category": s.rule.category, "title": s.rule.title,
             "params": ", ".join(f"{k}={_value_text(v)}" for k, v in s.params.items())}
            for rid, s in config.settings.items()]
    render.write_rows(rows, LIST_COLUMNS, out_fmt)


@rules_app.command("show")
def show(rule_id: Annotated[str, typer.Argument(metavar="ID", help="Rule id, e.g. overcapacity.")],
         rules: RulesOption = None) -> None:
    """Explain one rule: what it detects, why, its source, weight and parameters."""
    import difflib
    import textwrap

    from piu.errors import UsageError

    config = _config(rules)
    setting = config.settings.get(rule_id)
    if setting is None:
        close = difflib.get_close_matches(rule_id, list(config.settings), n=1)
        raise UsageError(f"unknown rule {rule_id!r}" + (f" (did you mean {close[0]!r}?)" if close else ""),
                         hint="`piu rules` lists them")
    r = setting.rule
    lines = [f"{r.id}: {r.title}", "",
             f"category: {r.category}", f"status:   {r.status}",
             f"weight:   {setting.weight} (default {r.weight})", f"enabled:  {_value_text(setting.enabled)}"]
    if r.expression:
        lines.append(f"when:     {r.expression}")
    lines += ["", *textwrap.wrap(r.rationale, 88), "", *textwrap.wrap(f"Source: {r.source}", 88)]
    if r.params:
        lines += ["", "parameters:"]
        for p in r.params:
            lines.append(f"  {p.name} = {_value_text(setting.params[p.name])} (default {_value_text(p.default)}): "
                         f"{p.description}")
    typer.echo("\n".join(lines))


@rules_app.command("init")
def init() -> None:
    """Print a complete, commented rules file with the default weights and parameters."""
    from piu.risk.config import init_text
    typer.echo(init_text(), nl=False)


@rules_app.command("check")
def check(path: Annotated[str, typer.Argument(metavar="FILE", help="Rules file to check.")]) -> None:
    """Check a rules file; every problem is listed with its line (exit 1 when there are any).

    Besides syntax and names: parameters outside their range (shares 0-1, weights 0-100), and text
    compared with a feature of known values (vessel_category, direction, flag, mmsi_country) that
    is not one of them.
    """
    from piu import render
    from piu.risk import config as rconfig
    from piu.risk.scoring import reference_digest, reference_tables

    config = rconfig.load(path)
    st = store()
    version = config.version(reference_digest(reference_tables(st, config), config))
    enabled = len(config.active())
    render.info(f"{path}: OK, {enabled} of {len(config.settings)} rules enabled, rule set {version}")


@rules_app.command("features")
def features(fmt: FormatOption = None) -> None:
    """List the call features that expression rules can use.

    Missing data never fires a rule: arithmetic with a missing value or division by zero is
    missing, a comparison with a missing value is missing, `not` missing is missing; `and` / `or`
    follow SQL's three-valued logic, and a rule fires only where the whole expression is true.
    """
    from piu import render
    from piu.risk.features import FEATURES

    out_fmt = check_format(fmt, render.FORMATS)
    rows = [{"feature": k, "kind": kind, "description": text} for k, (kind, text) in FEATURES.items()]
    render.write_rows(rows, ("feature", "kind", "description"), out_fmt)


@flags_app.callback()
def flags(ctx: typer.Context, fmt: FormatOption = None, every: Annotated[bool, typer.Option(
        "--all", help="Every known edition, not only the ratings flag-risk uses.")] = False,
        rules: RulesOption = None) -> None:
    """List the flag ratings flag-risk uses (regime, list year, flag, list, category, completeness)."""
    if ctx.invoked_subcommand is not None:
        return
    from piu import render
    from piu.risk import flags as rflags

    out_fmt = check_format(fmt, render.FORMATS)
    ratings = rflags.effective(store())
    if not every:
        setting = _config(rules).settings["flag-risk"]
        ratings = rflags.select(ratings, list(setting.params["regimes"]), int(setting.params["list_year"]))
    ratings = ratings.sort_values(["regime", "list_year", "list", "iso3"], ascending=[True, False, True, True])
    render.write_rows(render.rows_from_frame(ratings), rflags.COLUMNS, out_fmt)


@flags_app.command("import")
def import_flags(path: Annotated[str, typer.Argument(metavar="FILE", help="CSV: regime, list_year, published, "
                                                     "iso3, list, category, source, completeness.")]) -> None:
    """Load an official flag list edition; it replaces earlier imports of the same regime and year."""
    from piu import render
    from piu.risk import flags as rflags

    summary = rflags.import_file(store(), path)
    parts = ", ".join(f"{e['regime']} {e['list_year']} {e['list']}: {e['flags']}" for e in summary["editions"])
    render.info(f"Imported {summary['rows']} flag ratings from {summary['file']} ({parts}).")
