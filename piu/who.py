"""Who runs a command: recorded with every ingest, score, review and imported package."""

from __future__ import annotations

import getpass
import os


def current_user() -> str:
    """$PIU_USER (the officer on a shared duty account), else the operating-system user."""
    user = os.environ.get("PIU_USER", "").strip()
    if user:
        return user
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        return "unknown"
