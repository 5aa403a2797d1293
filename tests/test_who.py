"""One answer to 'who ran this' for ingests, scores, reviews and imports."""

from __future__ import annotations

import pytest


def test_every_record_names_the_same_user(monkeypatch: pytest.MonkeyPatch) -> None:
    from piu.io.ingest import _user as ingest_user
    from piu.reviews import default_reviewer
    from piu.risk.scoring import _user as score_user

    monkeypatch.setenv("PIU_USER", "duty-officer-2")
    assert ingest_user() == score_user() == default_reviewer() == "duty-officer-2"


def test_without_piu_user_the_os_user(monkeypatch: pytest.MonkeyPatch) -> None:
    import getpass

    from piu.who import current_user

    monkeypatch.delenv("PIU_USER", raising=False)
    monkeypatch.setattr(getpass, "getuser", lambda: "analyst1")
    assert current_user() == "analyst1"
    monkeypatch.setattr(getpass, "getuser", lambda: (_ for _ in ()).throw(KeyError("no passwd")))
    assert current_user() == "unknown"
