"""The safe expression evaluator: vectorised results, missing values never true, unsafe code refused."""

from __future__ import annotations

import pandas as pd
import pytest

from piu.risk.expr import ExpressionError, compile_expression, values_text


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "persons_aboard": pd.array([44, 10, None], dtype="Int64"),
        "vessel_category": pd.Series(["fishing", "cargo", None], dtype="str"),
        "flag": pd.Series(["KHM", "TGO", None], dtype="str"),
        "gross_tonnage": [75.0, 3000.0, float("nan")],
        "imo_valid": [True, False, False],
    })


@pytest.mark.parametrize(("text", "expected"), [
    ("persons_aboard > 30 and vessel_category == 'fishing'", [True, False, False]),
    ("persons_aboard > 30 or flag in ['TGO', 'SLE']", [True, True, False]),
    ("flag not in ['KHM']", [False, True, False]),
    ("vessel_category != 'fishing'", [False, True, False]),
    ("not imo_valid", [False, True, True]),
    ("imo_valid == false", [False, True, True]),
    ("persons_aboard / gross_tonnage > 0.5", [True, False, False]),
    ("10 <= persons_aboard < 44", [False, True, False]),
    ("-persons_aboard < -40", [True, False, False]),
])
def test_evaluates_over_whole_columns(frame: pd.DataFrame, text: str, expected: list[bool]) -> None:
    assert compile_expression(text).evaluate(frame).tolist() == expected


@pytest.mark.parametrize("text", [
    "__import__('os').system('true')", "().__class__.__bases__", "getattr(flag, 'x') == 1",
    "flag.lower() == 'khm'", "persons_aboard if flag else 1", "{1: 2} == 1", "(x := 1) == 1",
    "persons_aboard ** 2 > 1", "flag is None", "unknown_feature > 1", "None == flag",
])
def test_refused(text: str) -> None:
    with pytest.raises(ExpressionError):
        compile_expression(text)


def test_names_and_values_text(frame: pd.DataFrame) -> None:
    expr = compile_expression("persons_aboard > 30 and vessel_category == 'fishing' and gross_tonnage > 1")
    assert expr.names == ("persons_aboard", "vessel_category", "gross_tonnage")
    assert values_text(frame, expr.names).tolist() == [
        "persons_aboard = 44, vessel_category = fishing, gross_tonnage = 75",
        "persons_aboard = 10, vessel_category = cargo, gross_tonnage = 3000",
        "persons_aboard = missing, vessel_category = missing, gross_tonnage = missing",
    ]


@pytest.mark.parametrize(("text", "why"), [
    ("vessel_category == 'fishin'", "unknown vessel_category 'fishin' (did you mean 'fishing'?)"),
    ("vessel_category in ['fishing', 'Cargo']", "unknown vessel_category 'Cargo' (did you mean 'cargo'?)"),
    ("direction == 'inbound'", "unknown direction 'inbound' (expected arrival or departure)"),
    ("flag == 'Togo'", "unknown flag 'Togo' (did you mean 'TGO'?)"),
    ("flag in [mmsi_country]", "'in' needs a list of values, e.g. flag in ['KHM', 'TGO']"),
])
def test_values_refused_at_compile_time(text: str, why: str) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_expression(text)
    assert str(info.value) == why
