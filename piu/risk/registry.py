"""The one registry of risk rules: id, title, category, rationale, source, weight, parameters, status.

A rule is data plus a pure, vectorised function of DataFrames (see `RuleData`): it never reads the
store, never loops over rows, and returns its hits as a DataFrame (`hits_frame`). Rule modules
live in the `piu.risk.rules` package and register themselves with `@rule(...)`; `all_rules()`
imports every module of that package, so nothing else enumerates rules (the watchlist rules plug
in by adding a module there). A rule's id is API: it appears in outputs and rules files.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

RULE_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
CATEGORIES = ("manifest", "identity", "capacity", "history", "watchlist", "expression")
STATUSES = ("verified", "unverified", "policy")

# Largest weight a rule or a weight parameter may have (rules files are checked against it).
MAX_WEIGHT = 100

# Columns of the DataFrame a rule function returns.
HIT_COLUMNS = ("version_id", "evidence", "persons", "weight")


@dataclass(frozen=True)
class Param:
    """A rule parameter: name, default value (its type is the parameter's type), meaning and range.

    Numbers must lie in `low`..`high` (inclusive; `high` None: no upper limit), e.g. a share 0..1 or
    a weight 0..MAX_WEIGHT; `check` adds any other test and returns the problem, or None.
    """

    name: str
    default: Any
    description: str
    check: Callable[[Any], str | None] | None = field(default=None, compare=False)  # returns a problem
    low: float = 0
    high: float | None = None

    @property
    def kind(self) -> type:
        """The Python type a rules file must give (int accepted where float is expected)."""
        return type(self.default)


@dataclass(frozen=True)
class RuleData:
    """What a rule sees: pure DataFrames, so the same function runs per partition on any engine.

    calls: one row per call version being scored, with the features of `piu.risk.features`.
    persons: the persons of those call versions, with person features (age_at_call, ...).
    history_calls: current versions of every call in the history window (all ports), light columns.
    history_persons: persons of history calls that can matter (same documents, same vessels), with
        `hcall_row` (the row of the person's call in history_calls) and, when they were taken from
        `persons` (a full rescore), `person_row` (the same person's row in persons).
    reference: small reference tables by name (flag ratings, vessel norms).
    """

    calls: pd.DataFrame
    persons: pd.DataFrame
    history_calls: pd.DataFrame | None = None
    history_persons: pd.DataFrame | None = None
    reference: Mapping[str, Any] = field(default_factory=dict)
    # values derived once per scoring run and shared by rules (e.g. integer codes of person columns,
    # see `piu.risk.features.joint_codes`); not part of the data
    cache: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)


RuleFunc = Callable[[RuleData, Mapping[str, Any]], "pd.DataFrame"]


@dataclass(frozen=True)
class Rule:
    """One risk rule. `rationale` and `source` are what `piu rules show ID` prints."""

    id: str
    title: str
    category: str
    weight: int
    rationale: str
    source: str
    status: str
    params: tuple[Param, ...]
    func: RuleFunc
    history: bool = False          # needs history_calls / history_persons
    expression: str | None = None  # set for analysts' expression rules

    def defaults(self) -> dict[str, Any]:
        """The parameters with their default values."""
        return {p.name: p.default for p in self.params}

    def param(self, name: str) -> Param | None:
        """The parameter called `name`, if the rule has one."""
        return next((p for p in self.params if p.name == name), None)


_REGISTRY: dict[str, Rule] = {}
_LOADED = False


def rule(*, id: str, title: str, category: str, weight: int, rationale: str, source: str,  # noqa: A002
         status: str, params: tuple[Param, ...] = (), history: bool = False) -> Callable[[RuleFunc], RuleFunc]:
    """Register the decorated function as a rule (ids are unique and kebab-case)."""
    if not RULE_ID.match(id):
        raise ValueError(f"rule id {id!r} is not kebab-case")
    if category not in CATEGORIES or status not in STATUSES:
        raise ValueError(f"rule {id}: bad category or status")

    def deco(func: RuleFunc) -> RuleFunc:
        if id in _REGISTRY and _REGISTRY[id].func is not func:
            raise ValueError(f"rule id {id!r} registered twice")
        _REGISTRY[id] = Rule(id=id, title=title, category=category, weight=weight,
                             rationale=" ".join(rationale.split()), source=source, status=status,
                             params=params, func=func, history=history)
        return func
    return deco


def all_rules() -> dict[str, Rule]:
    """Every built-in rule by id, in registration order (imports the rules package once)."""
    global _LOADED
    if not _LOADED:
        import piu.risk.rules as pkg
        for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):  # noqa: B007
            importlib.import_module(f"{pkg.__name__}.{info.name}")
        _LOADED = True
    # manifest rules first, then identity, capacity, history, watchlist (stable within a category)
    ordered = sorted(_REGISTRY.values(), key=lambda r: CATEGORIES.index(r.category))
    return {r.id: r for r in ordered}


def get_rule(rule_id: str) -> Rule | None:
    """The built-in rule with this id, or None."""
    return all_rules().get(rule_id)


def hits_frame(version_id: Any, evidence: Any, persons: Any = None, weight: Any = None) -> pd.DataFrame:
    """A rule's result: one row per hit call (persons: list of source rows or None). The arguments are
    taken by position (a Series' index is ignored)."""
    import numpy as np
    import pandas as pd

    def text(values: Any) -> Any:
        series = values if isinstance(values, pd.Series) and values.dtype == "str" else pd.Series(values, dtype="str")
        return series.array

    ids = text(version_id)
    n = len(ids)
    rows = np.empty(n, dtype=object)  # (filled one by one: numpy would make lists of equal length a 2-D array)
    if persons is not None:
        # a missing list (NaN from a reindex) becomes None
        for i, v in enumerate(persons.tolist() if isinstance(persons, pd.Series) else persons):
            rows[i] = v if isinstance(v, list) else None
    weights = (pd.array(np.full(n, pd.NA, dtype=object), dtype="Int64") if weight is None
               else pd.Series(weight).astype("Int64").array)
    # one construction from arrays: no index to align, no column added one at a time
    return pd.DataFrame({"version_id": ids, "evidence": text(evidence), "persons": rows, "weight": weights},
                        copy=False)


def no_hits() -> pd.DataFrame:
    """An empty rule result (a copy of one made once: most rules find nothing in most calls)."""
    global _NO_HITS
    if _NO_HITS is None:
        _NO_HITS = hits_frame([], [])
    return _NO_HITS.copy()


_NO_HITS: pd.DataFrame | None = None


def merge_hits(*frames: pd.DataFrame) -> pd.DataFrame:
    """Join several results of one rule: one hit per call, evidence joined by '; ', rows united."""
    import pandas as pd

    frame = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else no_hits()
    if len(frame) == 0 or not frame["version_id"].duplicated().any():
        # rows as a merged hit would list them (sorted, once), whether or not another call merged
        frame["persons"] = [sorted(set(rows)) or None if isinstance(rows, list) else None for rows in frame["persons"]]
        return frame
    g = frame.groupby("version_id", sort=False)
    evidence = g["evidence"].agg("; ".join)
    persons = g["persons"].agg(lambda s: sorted({r for rows in s if rows is not None for r in rows}) or None)
    weight = g["weight"].max()
    return hits_frame(evidence.index.to_series(), evidence, persons, weight)
