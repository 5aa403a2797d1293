"""Safe expression rules: `persons_aboard > 30 and vessel_category == 'fishing'`, vectorised.

The text is parsed with `ast` and every node is checked against a whitelist: boolean operators,
comparisons (including `in` / `not in` a list of constants), arithmetic, `not` and unary minus,
names of documented call features (`piu.risk.features.FEATURES`) and constants. Attribute access,
calls, subscripts, lambdas, comprehensions and everything else are refused before anything runs;
the checked tree is then evaluated over whole columns of the feature table (never `eval`).
A comparison with a missing value is false, so missing data never fires a rule.
Text compared with a closed feature (`vessel_category`, `direction`, `flag`, `mmsi_country`) must
be one of its values: `vessel_category == 'fishin'` is refused with the closest value.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from piu.risk.features import FEATURES

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

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

    def evaluate(self, frame: pd.DataFrame) -> pd.Series:
        """True per row of `frame` where the expression holds (missing values: false)."""
        import pandas as pd

        value = _eval(self.tree.body, frame)
        if not isinstance(value, pd.Series):
            value = pd.Series(bool(value), index=frame.index)
        return value.fillna(False).astype(bool)


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


def _eval(node: ast.AST, frame: pd.DataFrame) -> Any:
    """Evaluate a checked node over whole columns."""
    import operator

    import pandas as pd

    if isinstance(node, ast.Name):
        if node.id in _BOOL_WORDS:
            return _BOOL_WORDS[node.id]
        col = frame[node.id]
        return col.fillna(False).astype(bool) if FEATURES[node.id][0] == "bool" else col
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.BoolOp):
        values = [_as_bool(_eval(v, frame), frame) for v in node.values]
        out = values[0]
        for v in values[1:]:
            out = (out & v) if isinstance(node.op, ast.And) else (out | v)
        return out
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, frame)
        if isinstance(node.op, ast.Not):
            return ~_as_bool(v, frame)
        return -_num(v) if isinstance(node.op, ast.USub) else _num(v)
    if isinstance(node, ast.BinOp):
        ops = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
               ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod}
        return ops[type(node.op)](_num(_eval(node.left, frame)), _num(_eval(node.right, frame)))
    if isinstance(node, ast.Compare):
        result = pd.Series(True, index=frame.index)
        left = _eval(node.left, frame)
        for op, right_node in zip(node.ops, node.comparators):
            if isinstance(op, (ast.In, ast.NotIn)):
                values = [_constant(e) for e in right_node.elts]
                ls = _series(left, frame)
                hit = ls.isin(values).fillna(False).astype(bool)
                cond = (hit if isinstance(op, ast.In) else ~hit) & ls.notna()
                right = None
            else:
                right = _eval(right_node, frame)
                ls, rs = _series(left, frame), _series(right, frame)
                if ls.dtype == object or rs.dtype == object or str(ls.dtype) == "str" or str(rs.dtype) == "str":
                    ls, rs = ls.astype("str"), rs.astype("str")
                else:
                    ls, rs = _num(ls), _num(rs)
                fn = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
                      ast.Gt: operator.gt, ast.GtE: operator.ge}[type(op)]
                valid = ls.notna() & rs.notna()
                cond = fn(ls, rs).fillna(False).astype(bool) & valid
            result = result & cond
            left = right
        return result
    raise ExpressionError(f"{type(node).__name__} is not allowed")  # pragma: no cover - checked at compile


def _series(value: Any, frame: pd.DataFrame) -> pd.Series:
    import pandas as pd
    return value if isinstance(value, pd.Series) else pd.Series([value] * len(frame), index=frame.index,
                                                                 dtype="object" if isinstance(value, str) else None)


def _num(value: Any) -> Any:
    import pandas as pd
    if isinstance(value, pd.Series):
        return pd.to_numeric(value, errors="coerce").astype("float64")
    return float(value)


def _as_bool(value: Any, frame: pd.DataFrame) -> pd.Series:
    import pandas as pd
    if isinstance(value, pd.Series):
        return value.fillna(False).astype(bool)
    return pd.Series(bool(value), index=frame.index)


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
