"""Errors that reach the user as one line on stderr, with a documented exit code.

Library code raises these; only `piu.cli` turns them into messages and exit codes. Messages must
never contain personal data (names, document numbers): name the file, row and column instead.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1        # bad input or runtime failure
EXIT_USAGE = 2        # bad flags or arguments (Click/Typer default)
EXIT_FAIL_ON = 3      # --fail-on BAND matched at least one call
EXIT_INTERRUPTED = 130


class PiuError(Exception):
    """A failure the user can act on: `what, where, how to fix` in one line."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """The message as printed after 'Error: '."""
        msg = " ".join(self.message.split())
        return f"{msg}; {self.hint}" if self.hint else msg


class InputError(PiuError):
    """A file or value the user gave cannot be read or understood."""


class StoreError(PiuError):
    """The store is missing, locked, corrupted, read-only or from a newer piu."""


class RulesError(PiuError):
    """A rules file has problems; `problems` lists every one (line, what, fix)."""

    def __init__(self, message: str, problems: list[str] | None = None, *, hint: str | None = None) -> None:
        self.problems = problems or []
        super().__init__(message, hint=hint)


class UsageError(PiuError):
    """Options that contradict each other or a value out of range (exit 2)."""

    exit_code = EXIT_USAGE
