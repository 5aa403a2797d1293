"""The review audit log: append-only records with who, when, and the score the call had."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from piu.errors import InputError, UsageError
from piu.reviews import (REVIEW_KEYS, add_review, check_status, default_reviewer, latest_reviews, read_reviews,
                         review_records, reviews_schema)
from piu.store import Store
from tests.store_factories import ANDAMAN, KIEN, PEARL, UTC, sample_store


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    st = Store(tmp_path / "home")
    sample_store(st)
    return st


def test_schema_columns() -> None:
    assert tuple(reviews_schema().names) == REVIEW_KEYS


def test_add_review_records_the_score_of_the_current_version(store: Store) -> None:
    rec = add_review(store, PEARL, "Referred", "  to maritime   police ", by="analyst1",
                     at=datetime(2026, 11, 21, 8, tzinfo=UTC))
    assert rec == {"call_id": PEARL, "version_id": f"{PEARL}@20261120T090000000000Z-v2pear", "status": "referred",
                   "note": "to maritime police", "by": "analyst1", "at": datetime(2026, 11, 21, 8, tzinfo=UTC),
                   "ruleset_version": "2026.11-1", "score": 60, "band": "high"}
    rows = review_records(read_reviews(store))
    assert rows == [{**rec, "at": "2026-11-21T08:00:00Z"}]


def test_reviews_append_and_are_never_rewritten(store: Store) -> None:
    add_review(store, KIEN, "referred", "age check", by="a", at=datetime(2026, 11, 20, tzinfo=UTC))
    files_before = sorted(p.name for p in (store.home / "reviews").iterdir())
    add_review(store, KIEN, "cleared", "passport shows 19", by="b", at=datetime(2026, 11, 21, tzinfo=UTC))
    files_after = sorted(p.name for p in (store.home / "reviews").iterdir())
    assert files_after[: len(files_before)] == files_before and len(files_after) == 2
    log = read_reviews(store, [KIEN])
    assert list(log["status"]) == ["referred", "cleared"]
    assert list(latest_reviews(log)["status"]) == ["cleared"]


def test_unscored_call_review_has_no_score(store: Store) -> None:
    rec = add_review(store, ANDAMAN, "cleared", "", by="a")
    assert (rec["ruleset_version"], rec["score"], rec["band"]) == (None, None, None)


def test_unknown_call_and_bad_status(store: Store) -> None:
    with pytest.raises(InputError, match="no call 'KHKOS-20261101-A-1' in the store"):
        add_review(store, "KHKOS-20261101-A-1", "cleared")
    with pytest.raises(UsageError, match="--status 'ok' is not a review status; use one of: cleared, referred"):
        check_status("ok")
    assert read_reviews(store).empty


def test_default_reviewer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIU_USER", "duty-officer")
    assert default_reviewer() == "duty-officer"
    monkeypatch.delenv("PIU_USER")
    monkeypatch.setattr("getpass.getuser", lambda: "osuser")
    assert default_reviewer() == "osuser"
