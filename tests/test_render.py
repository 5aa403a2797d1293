"""piu.render: whole numbers stay whole, missing values None, output files fail in one line."""

from __future__ import annotations

import errno
import math
from pathlib import Path

import pandas as pd
import pytest

from piu.errors import InputError
from piu.render import (check_output_folder, open_output, output_error, rows_from_frame, whole,
                        whole_number_columns)


def test_rows_from_frame_whole_numbers_missing_values_and_fractions() -> None:
    frame = pd.DataFrame({"persons_aboard": [35.0, None], "gross_tonnage": [1490.5, 75.0],
                          "name": ["SEA STAR", None], "empty": [math.nan, math.nan], "big": [2.0**60, 1.0]})
    assert rows_from_frame(frame) == [
        {"persons_aboard": 35, "gross_tonnage": 1490.5, "name": "SEA STAR", "empty": None, "big": 2.0**60},
        {"persons_aboard": None, "gross_tonnage": 75.0, "name": None, "empty": None, "big": 1.0}]
    assert type(rows_from_frame(frame)[0]["persons_aboard"]) is int
    assert str(whole_number_columns(frame)["persons_aboard"].dtype) == "Int64"
    assert frame["persons_aboard"].dtype == "float64"  # the caller's frame is left alone


def test_whole() -> None:
    assert [whole(v) for v in (35.0, 3.5, None, math.nan, 7, "x")] == [35, 3.5, None, None, 7, "x"]


def test_open_output_errors_are_input_errors(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "r.html"
    with pytest.raises(InputError) as err:
        open_output(str(missing))
    assert (err.value.exit_code, err.value.one_line()) == (
        1, f"cannot write {missing}: the folder does not exist; create {missing.parent} first or choose another "
           "path with -o")
    with pytest.raises(InputError) as err:
        check_output_folder(str(tmp_path / "a" / "b"), "--out")
    assert err.value.one_line() == (f"cannot write to {tmp_path / 'a' / 'b'}: the folder {tmp_path / 'a'} does not "
                                    "exist; create it first or choose another folder with --out")
    assert check_output_folder(str(tmp_path / "a")) == tmp_path / "a"
    assert output_error("x.csv", OSError(errno.EACCES, "Permission denied")).one_line() == (
        "cannot write x.csv: permission denied; choose another path with -o")
    with open_output(str(tmp_path / "ok.txt")) as fh:
        fh.write("é")
    assert (tmp_path / "ok.txt").read_text(encoding="utf-8") == "é"
