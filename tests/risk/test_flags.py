"""Flag lists: the shipped file states the reference facts; selection of editions; imports."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from piu.errors import InputError
from piu.risk import flags
from piu.store import Store

REFERENCE = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference" / "flag_lists.csv"
FACT_COLUMNS = ("regime", "list_year", "published", "iso3", "list", "category", "completeness")


def _facts(path: Path) -> set[tuple[str, ...]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return {tuple(row[c] for c in FACT_COLUMNS) for row in csv.DictReader(fh)}


def test_shipped_lists_state_the_reference_facts() -> None:
    assert REFERENCE.is_file(), "reference data missing at ../shared/reference"
    assert _facts(flags.SHIPPED) == _facts(REFERENCE)


def test_shipped_columns_and_sources() -> None:
    frame = flags.shipped()
    assert list(frame.columns) == list(flags.COLUMNS)
    assert frame["source"].notna().all()
    assert set(frame["completeness"]) == {"full", "partial"}


def test_select_latest_edition_with_fallback() -> None:
    chosen = flags.select(flags.shipped(), ["paris"])
    rating = chosen.set_index("iso3")
    assert rating.loc["TZA", "list_year"] == 2024 and rating.loc["TZA", "list"] == "black"
    # Algeria: black in 2023, grey in the 2024 edition, whose black list is complete
    assert rating.loc["DZA", "list"] == "grey"
    # Panama is named only in 2022 (grey); 2023 and 2024 are partial for grey and white
    assert rating.loc["PAN", "list_year"] == 2022 and rating.loc["PAN", "list"] == "grey"
    # Albania was black in 2022, but 2024's complete black list does not name it
    assert "ALB" not in rating.index


def test_select_list_year_parameter() -> None:
    chosen = flags.select(flags.shipped(), ["paris"], 2022).set_index("iso3")
    assert chosen.loc["ALB", "list"] == "black"
    assert set(chosen["list_year"]) == {2022}


def test_tokyo_partial_2022_falls_back_to_full_2021() -> None:
    chosen = flags.select(flags.shipped(), ["tokyo"]).set_index("iso3")
    assert chosen.loc["IDN", "list_year"] == 2022
    assert chosen.loc["SLE", "list"] == "black" and chosen.loc["SLE", "list_year"] == 2021


def _write(path: Path, rows: list[str]) -> str:
    path.write_text("regime,list_year,published,iso3,list,category,source,completeness\n" + "\n".join(rows) + "\n",
                    encoding="utf-8")
    return str(path)


def test_import_replaces_the_same_edition(tmp_path: Path) -> None:
    st = Store(tmp_path / "store")
    first = _write(tmp_path / "a.csv", ["tokyo,2024,2025,KHM,black,,Tokyo MoU annual report 2024,full",
                                        "tokyo,2024,2025,THA,white,,Tokyo MoU annual report 2024,full"])
    summary = flags.import_file(st, first)
    assert summary == {"file": "a.csv", "rows": 2, "editions": [
        {"regime": "tokyo", "list_year": 2024, "list": "black", "flags": 1},
        {"regime": "tokyo", "list_year": 2024, "list": "white", "flags": 1}]}
    second = _write(tmp_path / "b.csv", ["tokyo,2024,2025,KHM,low,,Tokyo MoU annual report 2024 (corrected),full"])
    flags.import_file(st, second)
    eff = flags.effective(st)
    tokyo24 = eff[(eff["regime"] == "tokyo") & (eff["list_year"] == 2024)]
    assert tokyo24[["iso3", "list"]].values.tolist() == [["KHM", "black"]]
    chosen = flags.select(eff, ["tokyo"]).set_index("iso3")
    assert chosen.loc["KHM", "list"] == "black"
    # the 2024 edition is full, so 2021's ratings no longer apply
    assert set(chosen["list_year"]) == {2024}


def test_import_reports_every_bad_line(tmp_path: Path) -> None:
    bad = _write(tmp_path / "bad.csv", ["abuja,2024,2025,KHM,black,,x,full", "tokyo,20x4,2025,KH,purple,,x,full"])
    with pytest.raises(InputError) as info:
        flags.import_file(Store(tmp_path / "store"), bad)
    assert info.value.message == (
        "flag list file bad.csv: line 2: regime must be paris or tokyo; line 3: list_year must be a year; "
        "line 3: iso3 must be a 3-letter ISO 3166 code; line 3: list must be white, grey or black (or high, medium, low)")
    assert not (tmp_path / "store" / "flag_lists").exists()


def _pandas_digest(ratings) -> str:  # noqa: ANN001 - the digest as first written, with pandas
    import hashlib

    cols = list(flags.DIGEST_COLUMNS)
    text = ratings[cols].astype("str").sort_values(cols).to_csv(index=False)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def test_the_digest_is_the_csv_text_pandas_writes() -> None:
    """The rule-set version depends on it: made in Python, it must not change for any list."""
    import random

    import pandas as pd

    base = flags.shipped()
    assert flags.digest(base) == _pandas_digest(base)
    rng = random.Random(3)
    words = ["paris", "tokyo", "KHM", "black", "grey", "full", "partial", "a,b", 'say "x"', "", "  ", "é", None]
    for _ in range(60):
        n = rng.randint(0, 12)
        frame = flags._typed(pd.DataFrame({c: [rng.choice(words) for _ in range(n)] for c in flags.COLUMNS}
                                          | {"list_year": [rng.choice(["2024", "1999", "", None, "x"]) for _ in range(n)]}))
        assert flags.digest(frame) == _pandas_digest(frame), frame.to_dict("list")


def test_the_shipped_lists_read_as_pandas_reads_them() -> None:
    import pandas as pd
    import pandas.testing

    want = flags._typed(pd.read_csv(flags.SHIPPED, dtype="str", keep_default_na=False))
    pandas.testing.assert_frame_equal(flags.shipped(), want)
