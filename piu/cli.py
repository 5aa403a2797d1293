"""The `piu` command line: builds the Typer app and registers one module per command group.

Only typer and the standard library are imported here; pandas, pyarrow and the rest load inside
the commands that need them, so `piu --help` stays fast.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
import traceback
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperGroup

try:  # typer >= 0.24 vendors click as typer._click; earlier versions use click itself
    from typer._click import exceptions as _cx
except ImportError:  # pragma: no cover - depends on the installed typer
    from click import exceptions as _cx

from piu import __version__
from piu.errors import EXIT_INTERRUPTED, PiuError

EXIT_CODES_HELP = (
    "Exit codes: 0 success; 1 bad input or failure (one line on stderr); 2 usage error; "
    "3 --fail-on matched; 130 interrupted."
)

# One module per command group; each has `register(app)`. Order is the order in --help.
COMMAND_MODULES = [
    "piu.commands.ingest",
    "piu.commands.score",
    "piu.commands.report",
    "piu.commands.show",
    "piu.commands.review",
    "piu.commands.rules",
    "piu.commands.watchlist",
    "piu.commands.identity",
    "piu.commands.exchange",
    "piu.commands.ports",
    "piu.commands.samples",
    "piu.commands.doctor",
]


class Settings:
    """Global options, set by the root callback and read by commands."""

    home: Optional[str] = None
    quiet: bool = False
    debug: bool = False


settings = Settings()


def _debug_enabled() -> bool:
    return settings.debug or os.environ.get("PIU_DEBUG", "") not in ("", "0")


def _print_redacted_traceback(exc: BaseException) -> None:
    """A traceback with frames only: exception messages and locals may hold personal data."""
    frames = traceback.extract_tb(exc.__traceback__)
    sys.stderr.write("Traceback (most recent call last):\n")
    for fr in frames:  # no source lines either: a line of code may quote data
        sys.stderr.write(f'  File "{fr.filename}", line {fr.lineno}, in {fr.name}\n')
    sys.stderr.write(f"{type(exc).__module__}.{type(exc).__qualname__}: <message withheld: may contain personal data>\n")


class PiuGroup(TyperGroup):
    """Root group: turns errors into one line on stderr and a documented exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except PiuError as exc:
            if _debug_enabled():
                _print_redacted_traceback(exc)
            typer.echo(f"Error: {exc.one_line()}", err=True)
            for problem in getattr(exc, "problems", []) or []:
                typer.echo(f"  {problem}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except (_cx.ClickException, typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:
            typer.echo("Interrupted.", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except BrokenPipeError:
            raise typer.Exit(0) from None
        except Exception as exc:  # an unexpected failure: one line, details only with --debug
            where = traceback.extract_tb(exc.__traceback__)[-1]
            if _debug_enabled():
                _print_redacted_traceback(exc)
            typer.echo(
                f"Error: internal error ({type(exc).__name__} at {os.path.basename(where.filename)}:{where.lineno}); "
                "run again with --debug for the traceback and report it", err=True)
            raise typer.Exit(1) from None


app = typer.Typer(
    name="piu",
    cls=PiuGroup,
    help="Port intelligence unit toolkit: ingest vessel manifests, score calls with transparent rules, report.\n\n"
    + EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"piu {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    home: Annotated[Optional[str], typer.Option("--home", envvar="PIU_HOME", metavar="DIR",
                                                help="Store folder (default: ~/.local/share/piu).")] = None,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Only data and errors; no progress or summaries.")] = False,
    debug: Annotated[bool, typer.Option("--debug", envvar="PIU_DEBUG",
                                        help="Show tracebacks (messages withheld) on errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Global options."""
    settings.home = home
    settings.quiet = quiet
    settings.debug = debug


for _name in COMMAND_MODULES:
    try:
        _mod = importlib.import_module(_name)
    except ModuleNotFoundError as _exc:  # a command group not built yet
        if _exc.name != _name:
            raise
        continue
    _mod.register(app)


def main() -> None:
    """Console-script entry point."""
    # `piu report | head` must end quietly, as csvkit does.
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    app()
