"""Process-wide allocator settings of the data-heavy commands."""

from __future__ import annotations

import os

import pytest


def test_allocator_settings_fill_in_only_what_the_user_did_not_set(monkeypatch: pytest.MonkeyPatch) -> None:
    from piu.memory import keep_freed_memory

    monkeypatch.delenv("MIMALLOC_PURGE_DELAY", raising=False)
    keep_freed_memory()
    assert os.environ["MIMALLOC_PURGE_DELAY"] == "-1"
    monkeypatch.setenv("MIMALLOC_PURGE_DELAY", "10")
    keep_freed_memory()
    assert os.environ["MIMALLOC_PURGE_DELAY"] == "10"
