"""`piu show CALL_ID`: the whole call for a person, or JSON for a script."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from piu.cli import app
from piu.reviews import add_review
from piu.store import Store
from tests.store_factories import PEARL, PEARL_OCT, UTC, configure_sample_ruleset, sample_store


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    configure_sample_ruleset(monkeypatch)
    st = Store(tmp_path / "home")
    sample_store(st)
    add_review(st, PEARL, "referred", "to maritime police", by="analyst1", at=datetime(2026, 11, 21, 3, tzinfo=UTC))
    return str(st.home)


def run(home: str, *args: str):  # noqa: ANN201
    return CliRunner().invoke(app, ["--home", home, "show", *args], env={"COLUMNS": "120"})


def test_json_for_scripts(home: str) -> None:
    res = run(home, PEARL, "-f", "json")
    assert res.exit_code == 0 and res.stderr == ""
    doc = json.loads(res.stdout)
    assert list(doc) == ["call_id", "particulars", "version", "score", "hits", "persons", "sources", "versions",
                         "previous_calls", "reviews", "month"]
    assert doc["score"]["band"] == "high"
    assert [p["source_row"] for p in doc["persons"] if p["hits"]] == [14, 15, 16, 17]
    assert doc["previous_calls"][0]["call_id"] == PEARL_OCT
    assert doc["reviews"][0]["status"] == "referred"


def test_json_is_the_default_in_a_pipe(home: str) -> None:
    assert json.loads(run(home, PEARL).stdout)["call_id"] == PEARL


def test_table_for_people(home: str) -> None:
    res = run(home, PEARL, "-f", "table")
    assert res.exit_code == 0
    out = res.stdout
    for text in ("KHKOS-20261120-A-9074729: SEA PEARL", "60 (high) · rule set 2026.11-1",
                 "passengers-on-cargo-vessel   20       4 passengers on a cargo vessel", "Persons aboard (16)",
                 "sea_pearl_amended.csv", "2-17", "Versions (amended manifests)", "superseded",
                 "declared_passengers", PEARL_OCT, "referred", "to maritime police"):
        assert text in out, text
    row14 = next(ln for ln in out.splitlines() if ln.startswith("14 "))
    assert row14.split() == ["14", "passenger", "PAX14,", "B", "MMR", "1990-01-01", "SB000014", "2028-01-01",
                             "passengers-on-cargo-vessel"]


def test_markdown(home: str) -> None:
    out = run(home, PEARL, "-f", "markdown").stdout
    assert out.startswith("# KHKOS-20261120-A-9074729: SEA PEARL\n\n| Field | Value |\n")
    assert "| 14 | passenger | PAX14, B | MMR | 1990-01-01 | SB000014 | 2028-01-01 | passengers-on-cargo-vessel |" in out


def test_unknown_call_is_one_line_exit_1(home: str) -> None:
    res = run(home, "KHKOS-20260101-A-0000001")
    assert res.exit_code == 1 and res.stdout == ""
    assert res.stderr == (f"Error: no call 'KHKOS-20260101-A-0000001' in the store at {home}; "
                          "run `piu report` to find call ids\n")


def test_unknown_format_is_usage_error(home: str) -> None:
    res = run(home, PEARL, "-f", "csv")
    assert res.exit_code == 2
    assert res.stderr == "Error: unknown format 'csv'; use one of: table, json, markdown\n"


def test_an_amendment_that_changed_only_persons_says_which_rows(tmp_path: Path) -> None:
    from tests import store_factories as f

    st = Store(tmp_path / "amend")
    v1 = f.call(ingested=datetime(2026, 11, 20, 4, tzinfo=UTC), tag="v1aaaa")
    v2 = f.call(ingested=datetime(2026, 11, 20, 6, tzinfo=UTC), tag="v2bbbb")
    f.write(st, [v1, v2], [f.person(v1, source_row=2), f.person(v1, source_row=3, family_name="CHEA"),
                           f.person(v2, source_row=2), f.person(v2, source_row=3, family_name="LIM")])
    md = run(str(st.home), v1["call_id"], "-f", "markdown").stdout
    versions = md[md.index("Versions (amended manifests)"):]
    assert "| 2 | current | persons: 1 added (row 3), 1 removed (was row 3) |" in versions
    assert "| 2 | superseded |  |" in versions
    assert "CHEA" not in versions and "LIM" not in versions
    doc = json.loads(run(str(st.home), v1["call_id"], "-f", "json").stdout)
    assert [v["changes"] for v in doc["versions"]] == [[], ["persons"]]
