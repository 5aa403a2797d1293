"""Safe expression rules: `persons_aboard > 30 and vessel_category == 'fishing'`, vectorised.

The text is parsed with `ast` and every node is checked against a whitelist: boolean operators,
comparisons (including `in` / `not in` a list of constants), arithmetic, `not` and unary minus,
names of documented call features (`piu.risk.features.FEATURES`) and constants. Attribute access,
calls, subscripts, lambdas, comprehensions and everything else are refused before anything runs;
the checked tree is then evaluated over whole columns of the feature table (never `eval`).
Text compared with a closed feature (`vessel_category`, `direction`, `flag`, `mmsi_country`) must
be one of its values: `vessel_category == 'fishin'` is refused with the closest value.

Missing data never fires a rule. A condition is true, false or missing (SQL's three-valued logic):
arithmetic with a missing value, and division by zero, give a missing number; a comparison (or
`in`) with a missing value is missing; `not missing` is missing; `a and b` is false when either is
false, else missing when either is missing; `a or b` is true when either is true, else missing
when either is missing.
A rule fires only where the whole expression is true. `imo_valid` and `mmsi_valid` are false, not
missing, when the number is missing (as documented in FEATURES).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from piu.risk.features import FEATURES

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

# Part of the rule-set version of expression rules: bump when the meaning of an expression changes
# (2: three-valued logic, division by zero is missing), so their stored scores are recomputed.
EXPRESSION_LOGIC = "2"
MAX_LENGTH = 2000
MAX_NODES = 400

_REFUSED = {
    ast.Attribute: "attribute access (.) is not allowed",
    ast.Call: "function calls are not allowed",
    ast.Subscript: "subscripts ([...]) are not allowed",
    ast.Lambda: "lambda is not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "comprehensions are not allowed",
    ast.IfExp: "'x if c else y' is not allowed",
    ast.NamedExpr: "':=' is not allowed",
    ast.Starred: "'*' unpacking is not allowed",
    ast.Dict: "dictionaries are not allowed",
    ast.Set: "sets are not allowed; use a list [...]",
    ast.JoinedStr: "f-strings are not allowed",
    ast.Await: "await is not allowed",
}
_CMP = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
        ast.In: "in", ast.NotIn: "not in"}
_BOOL_WORDS = {"true": True, "false": False}  # TOML spelling, accepted as constants
_ARITH = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%"}


class ExpressionError(ValueError):
    """An expression that is not allowed or does not make sense; the message says why."""


@dataclass(frozen=True)
class Expression:
    """A checked expression: its text, the features it reads, and its syntax tree."""

    text: str
    names: tuple[str, ...]
    tree: ast.Expression

    def truth(self, frame: pd.DataFrame) -> pd.Series:
        """True, False or missing (<NA>) per row of `frame`: a nullable boolean column."""
        import pandas as pd

        return pd.Series(_eval(self.tree.body, frame), index=frame.index, dtype="boolean")

    def evaluate(self, frame: pd.DataFrame) -> pd.Series:
        """True per row of `frame` where the expression certainly holds (missing: the rule does not fire)."""
        import pandas as pd

        values = _eval(self.tree.body, frame).to_numpy(dtype=bool, na_value=False)
        return pd.Series(values, index=frame.index, dtype=bool)


def compile_expression(text: str) -> Expression:
    """Parse and check an expression; raises ExpressionError with a one-line reason."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("the expression is empty")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"syntax error: {exc.msg}") from None
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        raise ExpressionError(f"the expression has more than {MAX_NODES} parts")
    for node in nodes:
        for kind, why in _REFUSED.items():
            if isinstance(node, kind):
                raise ExpressionError(why)
    kind = _kind(tree.body)
    if kind != "bool":
        raise ExpressionError("the expression must be a condition (a comparison, 'and', 'or' or 'not'), "
                              f"not a {kind} value")
    _check_values(tree)
    names = tuple(dict.fromkeys(n.id for n in nodes if isinstance(n, ast.Name) and n.id not in _BOOL_WORDS))
    return Expression(text=text.strip(), names=names, tree=tree)


def _kind(node: ast.AST) -> str:
    """The type of a node (number, text, bool, list); refuses anything off the whitelist."""
    if isinstance(node, ast.BoolOp):
        for v in node.values:
            if _kind(v) != "bool":
                raise ExpressionError("'and' / 'or' must join conditions")
        return "bool"
    if isinstance(node, ast.UnaryOp):
        inner = _kind(node.operand)
        if isinstance(node.op, ast.Not):
            if inner != "bool":
                raise ExpressionError("'not' must be followed by a condition")
            return "bool"
        if isinstance(node.op, (ast.USub, ast.UAdd)) and inner == "number":
            return "number"
        raise ExpressionError("unary minus needs a number")
    if isinstance(node, ast.Compare):
        left = node.left
        for op, right in zip(node.ops, node.comparators):
            sym = _CMP.get(type(op))
            if sym is None:
                raise ExpressionError(f"the comparison {type(op).__name__} ('is') is not allowed; use == or !=")
            lk = _kind(left)
            if sym in ("in", "not in"):
                if not isinstance(right, (ast.List, ast.Tuple)) or not all(_is_constant(e) for e in right.elts):
                    raise ExpressionError(f"'{sym}' needs a list of values, e.g. flag in ['KHM', 'TGO']")
                kinds = {_kind(e) for e in right.elts}
                if kinds - {lk}:
                    raise ExpressionError(f"a {lk} value is compared with a list of {', '.join(sorted(kinds))} values")
            else:
                rk = _kind(right)
                if lk != rk and not {lk, rk} <= {"number", "bool"}:
                    raise ExpressionError(f"a {lk} value is compared with a {rk} value ({sym})")
                if lk == "text" and sym not in ("==", "!="):
                    raise ExpressionError(f"text can only be compared with == or !=, not {sym}")
            left = right
        return "bool"
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _ARITH:
            raise ExpressionError(f"the operator {type(node.op).__name__} is not allowed")
        if _kind(node.left) != "number" or _kind(node.right) != "number":
            raise ExpressionError(f"arithmetic ({_ARITH[type(node.op)]}) needs numbers")
        return "number"
    if isinstance(node, ast.Name):
        if node.id in _BOOL_WORDS:
            return "bool"
        if node.id not in FEATURES:
            raise ExpressionError(f"unknown feature {node.id!r}; `piu rules features` lists them")
        return FEATURES[node.id][0]
    if isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, bool):
            return "bool"
        if isinstance(v, (int, float)):
            return "number"
        if isinstance(v, str):
            return "text"
        raise ExpressionError(f"the constant {v!r} is not allowed; use numbers, 'text', true or false")
    if isinstance(node, (ast.List, ast.Tuple)):
        raise ExpressionError("a list is only allowed after 'in' or 'not in'")
    raise ExpressionError(f"{type(node).__name__} is not allowed")


def _check_values(tree: ast.Expression) -> None:
    """Refuse text compared with a closed feature (`vessel_category == 'fishin'`) that no call can have."""
    from piu.risk.features import CLOSED_FEATURES, closest_value, known_values

    problems: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        for left, right in zip(operands, operands[1:]):
            for name_node, other in ((left, right), (right, left)):
                if not isinstance(name_node, ast.Name) or name_node.id not in CLOSED_FEATURES:
                    continue
                name = name_node.id
                values = known_values(name) or frozenset()
                elements = other.elts if isinstance(other, (ast.List, ast.Tuple)) else [other]
                texts = [getattr(e, "value", None) for e in elements]
                for text in texts:
                    if isinstance(text, str) and text not in values:
                        guess = closest_value(name, text)
                        why = f"did you mean {guess!r}?" if guess else f"expected {CLOSED_FEATURES[name]}"
                        problems.append(f"unknown {name} {text!r} ({why})")
    if problems:
        raise ExpressionError("; ".join(dict.fromkeys(problems)))


def _eval(node: ast.AST, frame: pd.DataFrame) -> Any:
    """Evaluate a checked node over whole columns.

    Numbers are float64 arrays with NaN for missing, text a Series (missing as NA), conditions
    nullable boolean arrays (True / False / NA) combined with Kleene logic.
    """
    import numpy as np
    import pandas as pd

    n = len(frame)
    if isinstance(node, ast.Name):
        if node.id in _BOOL_WORDS:
            return _truth(np.full(n, _BOOL_WORDS[node.id]))
        col = frame[node.id]
        kind = FEATURES[node.id][0]
        if kind == "bool":  # documented as false when missing (imo_valid, mmsi_valid)
            return _truth(col.fillna(False).to_numpy(dtype=bool))
        if kind == "number":
            return pd.to_numeric(col, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        return col
    if isinstance(node, (ast.Constant, ast.UnaryOp)) and _is_constant(node):
        value = _constant(node)
        if isinstance(value, bool):
            return _truth(np.full(n, value))
        return np.full(n, float(value)) if isinstance(value, (int, float)) else value
    if isinstance(node, ast.BoolOp):
        values = [_eval(v, frame) for v in node.values]
        out = values[0]
        for v in values[1:]:  # BooleanArray & and | are Kleene: NA and False is False, NA or True is True
            out = (out & v) if isinstance(node.op, ast.And) else (out | v)
        return out
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, frame)
        if isinstance(node.op, ast.Not):
            return ~v  # not NA is NA
        return -_bool_as_number(v) if isinstance(node.op, ast.USub) else _bool_as_number(v)
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, frame), _eval(node.right, frame)
        return _arith(type(node.op), _bool_as_number(left), _bool_as_number(right))
    if isinstance(node, ast.Compare):
        result = _truth(np.full(n, True))
        left = _eval(node.left, frame)
        for op, right_node in zip(node.ops, node.comparators):
            if isinstance(op, (ast.In, ast.NotIn)):
                values = [_constant(e) for e in right_node.elts]
                cond = _member(left, values, isinstance(op, ast.NotIn))
                right = None
            else:
                right = _eval(right_node, frame)
                cond = _compare(type(op), left, right, n)
            result = result & cond
            left = right
        return result
    raise ExpressionError(f"{type(node).__name__} is not allowed")  # pragma: no cover - checked at compile


def _is_constant(node: ast.AST) -> bool:
    """A constant, or a signed number constant (-3)."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return _is_constant(node.operand) and not isinstance(_constant(node.operand), (bool, str))
    return isinstance(node, ast.Constant) or (isinstance(node, ast.Name) and node.id in _BOOL_WORDS)


def _constant(node: ast.AST) -> Any:
    """The value of a constant node (checked by `_is_constant` or at compile time)."""
    if isinstance(node, ast.Name):
        return _BOOL_WORDS[node.id]
    if isinstance(node, ast.UnaryOp):
        value = _constant(node.operand)
        return -value if isinstance(node.op, ast.USub) else +value
    return node.value


def _truth(values: Any, missing: Any = None) -> Any:
    """A nullable boolean array (pandas BooleanArray) from booleans and a mask of missing results."""
    import numpy as np
    import pandas as pd

    values = np.asarray(values, dtype=bool)
    mask = np.zeros(len(values), dtype=bool) if missing is None else np.asarray(missing, dtype=bool)
    return pd.arrays.BooleanArray(values & ~mask, mask)


def _bool_as_number(value: Any) -> Any:
    """Numbers as they are; conditions as 1.0 / 0.0 (NaN when missing), as in `imo_valid == 1`."""
    import numpy as np
    import pandas as pd

    if isinstance(value, pd.arrays.BooleanArray):
        return value.to_numpy(dtype="float64", na_value=np.nan)
    return value


def _arith(op: type, a: Any, b: Any) -> Any:
    """a op b over float arrays; dividing by zero gives a missing value, never inf or a crash."""
    import numpy as np

    with np.errstate(all="ignore"):
        if op is ast.Add:
            return a + b
        if op is ast.Sub:
            return a - b
        if op is ast.Mult:
            return a * b
        out = {ast.Div: np.true_divide, ast.FloorDiv: np.floor_divide, ast.Mod: np.mod}[op](a, b)
    return np.where(b == 0, np.nan, out)


def _compare(op: type, left: Any, right: Any, n: int) -> Any:
    """left op right: a nullable boolean array, missing where either side is missing."""
    import operator

    import numpy as np
    import pandas as pd

    fn = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
          ast.Gt: operator.gt, ast.GtE: operator.ge}[op]
    if isinstance(left, (str, pd.Series)) or isinstance(right, (str, pd.Series)):  # text (checked at compile)
        ls = left if isinstance(left, pd.Series) else pd.Series([left] * n, dtype="str")
        rs = right if isinstance(right, pd.Series) else right
        missing = ls.isna().to_numpy() | (rs.isna().to_numpy() if isinstance(rs, pd.Series) else False)
        if isinstance(rs, pd.Series):
            rs = rs.set_axis(ls.index)
        values = fn(ls.astype("str"), rs.astype("str") if isinstance(rs, pd.Series) else rs)
        return _truth(values.fillna(False).to_numpy(dtype=bool), missing)
    a, b = _bool_as_number(left), _bool_as_number(right)
    with np.errstate(invalid="ignore"):
        return _truth(fn(a, b), np.isnan(a) | np.isnan(b))


def _member(left: Any, values: list[Any], negate: bool) -> Any:
    """left in values (or not in): a nullable boolean array, missing where left is missing."""
    import numpy as np
    import pandas as pd

    if isinstance(left, pd.Series):  # text
        missing = left.isna().to_numpy()
        hit = left.isin([v for v in values if isinstance(v, str)]).to_numpy(dtype=bool)
    else:  # numbers and conditions as numbers
        a = _bool_as_number(left)
        missing = np.isnan(a)
        hit = np.isin(a, np.array([float(v) for v in values], dtype="float64"))
    return _truth(~hit if negate else hit, missing)


def values_text(frame: pd.DataFrame, names: tuple[str, ...]) -> pd.Series:
    """'persons_aboard = 44, vessel_category = fishing' per row, for evidence."""
    import pandas as pd

    parts = []
    for name in names:
        col = frame[name]
        if FEATURES[name][0] == "number":
            num = pd.to_numeric(col, errors="coerce").astype("float64")
            whole = (num % 1 == 0).fillna(False)
            text = num.astype("str").where(~whole, num.round().astype("Int64").astype("str"))
        else:
            text = col.astype("str")
        parts.append(name + " = " + text.where(col.notna(), "missing").astype("str"))
    out = parts[0]
    for part in parts[1:]:
        out = out + ", " + part
    return out
