"""piu.render: rows from frames keep whole numbers whole and missing values None."""

from __future__ import annotations

import math

import pandas as pd

from piu.render import rows_from_frame, whole, whole_number_columns


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
