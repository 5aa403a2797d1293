"""The safe expression evaluator: vectorised results, three-valued logic (missing never fires), unsafe code refused."""

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


# Three-valued logic. Nine calls: A = `persons_aboard > 0` and B = `gross_tonnage > 5` take every pair of
# true (T), false (F) and missing (?) values: A is T T T F F F ? ? ?, B is T F ? repeated.
@pytest.fixture
def pairs() -> pd.DataFrame:
    return pd.DataFrame({
        "persons_aboard": pd.array([1, 1, 1, 0, 0, 0, None, None, None], dtype="Int64"),
        "gross_tonnage": [10.0, 0.0, float("nan")] * 3,
        "vessel_category": pd.array(["fishing", "cargo", None] * 3, dtype="str"),
        "imo_valid": [True, False, False] * 3,
    }, index=[f"v{i}" for i in range(9)])


def truth(text: str, frame: pd.DataFrame) -> str:
    """The expression's value per row as T, F or ? (missing)."""
    values = compile_expression(text).truth(frame)
    assert str(values.dtype) == "boolean" and list(values.index) == list(frame.index)
    return "".join("?" if v is pd.NA else "T" if v else "F" for v in values)


@pytest.mark.parametrize(("text", "expected"), [
    ("persons_aboard > 0", "TTTFFF???"),
    ("gross_tonnage > 5", "TF?TF?TF?"),
    # not: missing stays missing
    ("not persons_aboard > 0", "FFFTTT???"),
    ("not not persons_aboard > 0", "TTTFFF???"),
    # and: false wins, then missing; or: true wins, then missing (Kleene / SQL)
    ("persons_aboard > 0 and gross_tonnage > 5", "TF?FFF?F?"),
    ("persons_aboard > 0 or gross_tonnage > 5", "TTTTF?T??"),
    ("not (persons_aboard > 0 and gross_tonnage > 5)", "FT?TTT?T?"),
    ("not (persons_aboard > 0 or gross_tonnage > 5)", "FFFFT?F??"),
    ("persons_aboard > 0 and true", "TTTFFF???"),
    ("persons_aboard > 0 or false", "TTTFFF???"),
    ("persons_aboard > 0 or true", "TTTTTTTTT"),
    ("persons_aboard > 0 and false", "FFFFFFFFF"),
])
def test_truth_tables_of_not_and_or(pairs: pd.DataFrame, text: str, expected: str) -> None:
    assert truth(text, pairs) == expected


@pytest.mark.parametrize(("text", "expected"), [
    # division (and // and %) by zero is missing, never infinity or an error
    ("gross_tonnage / 0 > 1", "?????????"),
    ("gross_tonnage / 0 <= 1", "?????????"),
    ("not gross_tonnage / 0 > 1", "?????????"),
    ("gross_tonnage // 0 == 0", "?????????"),
    ("gross_tonnage % 0 == 0", "?????????"),
    ("1 / 0 > 0", "?????????"),
    ("gross_tonnage / persons_aboard > 5", "TF???????"),
    ("gross_tonnage / (persons_aboard - persons_aboard) > 5", "?????????"),
    ("0 / gross_tonnage == 0", "T??T??T??"),
    # arithmetic with a missing value is missing
    ("gross_tonnage + persons_aboard >= 0", "TT?TT????"),
    ("-gross_tonnage < -5", "TF?TF?TF?"),
    # every comparison with a missing value is missing, == and != alike
    ("persons_aboard == persons_aboard", "TTTTTT???"),
    ("persons_aboard != 0", "TTTFFF???"),
    ("0 < persons_aboard <= 1", "TTTFFF???"),
    ("vessel_category == 'fishing'", "TF?TF?TF?"),
    ("vessel_category != 'fishing'", "FT?FT?FT?"),
    ("'fishing' == vessel_category", "TF?TF?TF?"),
    ("vessel_category in ['fishing', 'tanker']", "TF?TF?TF?"),
    ("vessel_category not in ['fishing', 'tanker']", "FT?FT?FT?"),
    ("persons_aboard in [0, -1]", "FFFTTT???"),
    ("persons_aboard not in [0, -1]", "TTTFFF???"),
    ("not vessel_category == 'fishing'", "FT?FT?FT?"),
    # imo_valid is documented as false (not missing) without a number
    ("not imo_valid", "FTTFTTFTT"),
    ("imo_valid == 1", "TFFTFFTFF"),
])
def test_missing_values_and_division_by_zero(pairs: pd.DataFrame, text: str, expected: str) -> None:
    assert truth(text, pairs) == expected


@pytest.mark.parametrize("text", [
    "gross_tonnage / 0 > 1", "not persons_aboard > 0", "not (persons_aboard > 0 and gross_tonnage > 5)",
    "persons_aboard > 0 or gross_tonnage > 5", "vessel_category != 'fishing'", "not vessel_category == 'fishing'",
])
def test_a_rule_fires_only_where_the_expression_is_true(pairs: pd.DataFrame, text: str) -> None:
    fired = compile_expression(text).evaluate(pairs)
    assert fired.dtype == bool and list(fired.index) == list(pairs.index)
    assert "".join("T" if v else "F" for v in fired) == truth(text, pairs).replace("?", "F")


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
