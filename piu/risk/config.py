"""Rules files (TOML): weights, parameters, bands, disabled rules and analysts' expression rules.

    [bands]
    medium = 3
    high = 5

    [rules.overcapacity]
    weight = 5
    enabled = true
    norm_factor = 1.0

    [[expression]]
    id = "crowded-fishing-boat"
    title = "More than 30 persons on a fishing boat"
    weight = 2
    when = "persons_aboard > 30 and vessel_category == 'fishing'"
    rationale = "Local pattern seen in 2026 boardings."

`load(path)` validates the whole file and raises `RulesError` listing every problem with its line,
so nothing is scored with a half-understood file. `RulesConfig.version()` is the rule-set version
stored with every score: a short hash of the effective configuration and `RULES_CODE_VERSION`.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import os
import re
import textwrap
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from piu.errors import RulesError
from piu.risk.expr import EXPRESSION_LOGIC, ExpressionError, compile_expression, values_text
from piu.risk.registry import MAX_WEIGHT, RULE_ID, Param, Rule, RuleData, all_rules, hits_frame, no_hits

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

# Bump when a rule's code changes what it finds, so stored scores are recomputed.
RULES_CODE_VERSION = "1"
DEFAULT_BANDS = {"medium": 3, "high": 5}
SCORE_CAP = 100
RULES_FILENAME = "rules.toml"


@dataclass
class RuleSetting:
    """A rule as configured: enabled, weight and parameter values."""

    rule: Rule
    enabled: bool
    weight: int
    params: dict[str, Any]


@dataclass
class RulesConfig:
    """The effective rule set: bands and every rule's setting (built-in and expression rules)."""

    bands: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_BANDS))
    settings: dict[str, RuleSetting] = field(default_factory=dict)
    path: str | None = None

    def active(self) -> list[RuleSetting]:
        """The enabled rules, in registry order."""
        return [s for s in self.settings.values() if s.enabled]

    def version(self, reference: str = "") -> str:
        """The rule-set version: a short hash of everything that changes a score."""
        doc = {
            "code": RULES_CODE_VERSION,
            "bands": self.bands,
            "rules": {rid: {"enabled": s.enabled, "weight": s.weight, "params": s.params,
                            "when": s.rule.expression,
                            # only in expression rules, so a change of their logic rescores no other set
                            **({"logic": EXPRESSION_LOGIC} if s.rule.expression is not None else {})}
                      for rid, s in sorted(self.settings.items())},
            "reference": reference,
        }
        return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:12]

    def band(self, score: pd.Series) -> pd.Series:
        """low / medium / high for a column of scores."""
        import pandas as pd

        out = pd.Series("low", index=score.index, dtype="str")
        out = out.mask(score >= self.bands["medium"], "medium")
        return out.mask(score >= self.bands["high"], "high")


def defaults() -> RulesConfig:
    """Every built-in rule, enabled, with its default weight and parameters."""
    return RulesConfig(settings={rid: RuleSetting(r, True, r.weight, r.defaults()) for rid, r in all_rules().items()})


def find_rules_file(explicit: str | None, home: Path) -> str | None:
    """The rules file in effect: --rules / $PIU_RULES, else HOME/rules.toml when it exists."""
    if explicit:
        return explicit
    candidate = home / RULES_FILENAME
    return str(candidate) if candidate.is_file() else None


def configured_rules_file(home: Path) -> str | None:
    """The rules file in effect when no --rules is given: $PIU_RULES, else HOME/rules.toml when it exists."""
    return find_rules_file(os.environ.get("PIU_RULES") or None, home)


def is_trial(config: RulesConfig, home: Path) -> bool:
    """True when `config` is not the configured rule set (`configured_rules_file`, else the built-in rules)
    but another one being tried (`piu score --rules trial.toml`): its bands or rules differ. A configured
    rules file that cannot be read makes every other one a trial."""
    configured = configured_rules_file(home)
    if config.path is not None and configured is not None and os.path.realpath(config.path) == os.path.realpath(configured):
        return False
    try:
        return load(configured).version() != config.version()
    except RulesError:
        return True


def load(path: str | None) -> RulesConfig:
    """The configuration from a rules file (defaults when path is None); every problem at once."""
    if path is None:
        return defaults()
    name = os.path.basename(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RulesError(f"rules file {path} not found", hint="check the path, or run `piu rules init > rules.toml`") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesError(f"rules file {name} cannot be read ({type(exc).__name__})",
                         hint="save it as UTF-8 text") from None
    return parse(text, name=name, path=path)


def parse(text: str, *, name: str = "rules.toml", path: str | None = None) -> RulesConfig:
    """Validate and apply the text of a rules file (see `load`)."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        where = f"line {m.group(1)}" if m else "line ?"
        what = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc)) or "invalid TOML"
        raise RulesError(f"rules file {name} is not valid TOML", [f"{where}: {what}"],
                         hint="fix it and run again; nothing was scored") from None
    lines = _LineIndex(text)
    problems: list[tuple[int, str]] = []
    config = defaults()
    config.path = path

    for key in doc:
        if key not in ("bands", "rules", "expression"):
            problems.append((lines.key((), key), f"unknown section {key!r} (expected bands, rules or expression)"))
    _apply_bands(doc.get("bands"), config, lines, problems)
    _apply_rules(doc.get("rules"), config, lines, problems)
    _apply_expressions(doc.get("expression"), config, lines, problems)
    if problems:
        problems.sort(key=lambda p: p[0])
        n = len(problems)
        raise RulesError(f"rules file {name} has {n} problem{'s' if n != 1 else ''}; nothing was scored",
                         [f"line {line}: {what}" for line, what in problems],
                         hint="fix them and run again (`piu rules init` prints a complete valid file)")
    return config


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _apply_bands(bands: Any, config: RulesConfig, lines: _LineIndex, problems: list[tuple[int, str]]) -> None:
    if bands is None:
        return
    if not isinstance(bands, dict):
        problems.append((lines.key((), "bands"), "bands must be a table: [bands] medium = 3, high = 5"))
        return
    ok = True
    for key, value in bands.items():
        line = lines.key(("bands",), key)
        if key not in DEFAULT_BANDS:
            problems.append((line, f"unknown band {key!r} (expected medium, high; low is everything below medium)"))
            ok = False
        elif not _is_int(value) or value < 1:
            problems.append((line, f"band {key} must be a whole number of points, 1 or more"))
            ok = False
        else:
            config.bands[key] = value
    if ok and config.bands["medium"] > config.bands["high"]:
        problems.append((lines.key(("bands",), "high"), "band high must be at least band medium"))


def _check_value(p: Param, value: Any) -> str | None:
    """A problem with a parameter value, or None."""
    kind = p.kind
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        ok = _is_int(value)
    elif kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif kind is list:
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    else:
        ok = isinstance(value, kind)
    if not ok:
        words = {bool: "true or false", int: "a whole number", float: "a number", str: "text in quotes",
                 list: "a list of text values, e.g. [\"a\", \"b\"]"}
        return f"must be {words.get(kind, kind.__name__)}"
    if kind in (int, float):
        if not math.isfinite(value):
            return "must be a number, not nan or inf"
        if p.high is not None and not p.low <= value <= p.high:
            return f"must be from {_number_text(p.low)} to {_number_text(p.high)}"
        if value < p.low:
            return "must not be negative" if p.low == 0 else f"must be at least {_number_text(p.low)}"
    return p.check(value) if p.check else None


def _number_text(value: float) -> str:
    """0.0 as '0', 0.5 as '0.5' (for messages)."""
    return f"{value:g}"


def _apply_rules(rules: Any, config: RulesConfig, lines: _LineIndex, problems: list[tuple[int, str]]) -> None:
    if rules is None:
        return
    if not isinstance(rules, dict):
        problems.append((lines.key((), "rules"), "rules must be tables like [rules.overcapacity]"))
        return
    known = all_rules()
    for rid, table in rules.items():
        where = lines.table(("rules", rid))
        rule = known.get(rid)
        if rule is None:
            close = difflib.get_close_matches(rid, list(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else " (`piu rules` lists them)"
            problems.append((where, f"unknown rule {rid!r}{hint}"))
            continue
        if not isinstance(table, dict):
            problems.append((where, f"rules.{rid} must be a table: [rules.{rid}]"))
            continue
        setting = config.settings[rid]
        for key, value in table.items():
            line = lines.key(("rules", rid), key)
            if key == "weight":
                if not _is_int(value) or not 0 <= value <= MAX_WEIGHT:
                    problems.append((line, f"{rid}: weight must be a whole number from 0 to {MAX_WEIGHT}"))
                else:
                    setting.weight = value
            elif key == "enabled":
                if not isinstance(value, bool):
                    problems.append((line, f"{rid}: enabled must be true or false"))
                else:
                    setting.enabled = value
            else:
                param = rule.param(key)
                if param is None:
                    names = ", ".join(p.name for p in rule.params) or "none"
                    problems.append((line, f"{rid}: unknown parameter {key!r} (parameters: {names}; also weight, enabled)"))
                    continue
                problem = _check_value(param, value)
                if problem:
                    problems.append((line, f"{rid}: {key} {problem}"))
                else:
                    setting.params[key] = float(value) if param.kind is float else value


def _apply_expressions(items: Any, config: RulesConfig, lines: _LineIndex, problems: list[tuple[int, str]]) -> None:
    if items is None:
        return
    if not isinstance(items, list):
        problems.append((lines.key((), "expression"), "expression rules must be written as [[expression]] tables"))
        return
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = lines.table(("expression",), i)
        if not isinstance(item, dict):
            problems.append((where, "an expression rule must be a [[expression]] table"))
            continue
        before = len(problems)
        for key in item:
            if key not in ("id", "title", "weight", "when", "rationale", "enabled"):
                problems.append((lines.key(("expression",), key, i),
                                 f"unknown key {key!r} in an expression rule (id, title, weight, when, rationale, enabled)"))
        for key in ("id", "title", "weight", "when"):
            if key not in item:
                problems.append((where, f"expression rule {item.get('id', i + 1)!s}: {key} is missing"))
        rid = item.get("id")
        if "id" in item:
            line = lines.key(("expression",), "id", i)
            if not isinstance(rid, str) or not RULE_ID.match(rid):
                problems.append((line, f"expression rule id {rid!r} must be kebab-case, e.g. 'crowded-fishing-boat'"))
            elif rid in config.settings and rid not in seen:
                problems.append((line, f"expression rule id {rid!r} is a built-in rule; choose another id"))
            elif rid in seen:
                problems.append((line, f"expression rule id {rid!r} is used twice"))
        for key, kind in (("title", str), ("rationale", str)):
            if key in item and not (isinstance(item[key], kind) and item[key].strip()):
                problems.append((lines.key(("expression",), key, i), f"expression rule {rid}: {key} must be text"))
        weight = item.get("weight")
        if "weight" in item and (not _is_int(weight) or not 0 <= weight <= MAX_WEIGHT):
            problems.append((lines.key(("expression",), "weight", i),
                             f"expression rule {rid}: weight must be a whole number from 0 to {MAX_WEIGHT}"))
        enabled = item.get("enabled", True)
        if not isinstance(enabled, bool):
            problems.append((lines.key(("expression",), "enabled", i), f"expression rule {rid}: enabled must be true or false"))
        expression = None
        if "when" in item:
            try:
                expression = compile_expression(item["when"]) if isinstance(item["when"], str) else None
                if expression is None:
                    raise ExpressionError("when must be text in quotes")
            except ExpressionError as exc:
                problems.append((lines.key(("expression",), "when", i), f"expression rule {rid}: {exc}"))
        if len(problems) > before or expression is None:
            if isinstance(rid, str):
                seen.add(rid)
            continue
        seen.add(rid)
        rule = expression_rule(rid, item["title"].strip(), weight, expression.text,
                               item.get("rationale", "").strip(), config.path)
        config.settings[rid] = RuleSetting(rule, enabled, weight, {})


def expression_rule(rid: str, title: str, weight: int, when: str, rationale: str, path: str | None) -> Rule:
    """A Rule whose function evaluates a checked expression over the call features."""
    expression = compile_expression(when)

    def run(d: RuleData, p: Mapping[str, Any]) -> pd.DataFrame:
        hit = expression.evaluate(d.calls)
        if not hit.any():
            return no_hits()
        calls = d.calls[hit]
        ev = ("when " + expression.text + ": " + values_text(calls, expression.names)) if expression.names \
            else ("when " + expression.text)
        return hits_frame(calls["version_id"], ev)

    return Rule(id=rid, title=title, category="expression", weight=weight,
                rationale=rationale or f"Analyst's expression rule: {when}",
                source=f"rules file {os.path.basename(path) if path else ''}".strip(), status="policy",
                params=(), func=run, expression=expression.text)


class _LineIndex:
    """Line numbers of tables and keys in a TOML text, found by scanning (tomllib gives none)."""

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
    _KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_.-]+)\s*=""")

    def __init__(self, text: str) -> None:
        self.tables: dict[tuple[tuple[str, ...], int], int] = {}
        self.keys: dict[tuple[tuple[str, ...], int, str], int] = {}
        counts: dict[tuple[str, ...], int] = {}
        current: tuple[str, ...] = ()
        index = 0
        for n, line in enumerate(text.splitlines(), start=1):
            m = self._HEADER.match(line)
            if m:
                current = tuple(part.strip().strip("\"'") for part in m.group(2).split("."))
                if m.group(1) == "[[":
                    index = counts.get(current, -1) + 1
                    counts[current] = index
                else:
                    index = 0
                self.tables.setdefault((current, index), n)
                continue
            k = self._KEY.match(line)
            if k:
                parts = tuple(p.strip().strip("\"'") for p in k.group(1).split("."))
                path = current + parts[:-1]
                self.keys.setdefault((path, index if path == current else 0, parts[-1]), n)
                if not current:
                    self.tables.setdefault((path, 0), n)

    def table(self, path: tuple[str, ...], index: int = 0) -> int:
        """The line of a table header (1 when it cannot be found)."""
        if (path, index) in self.tables:
            return self.tables[(path, index)]
        return self.key(path[:-1], path[-1]) if path else 1

    def key(self, path: tuple[str, ...], key: str, index: int = 0) -> int:
        """The line of `key = ...` inside the table `path` (else the table's line)."""
        if (path, index, key) in self.keys:
            return self.keys[(path, index, key)]
        if (path + (key,), 0) in self.tables:
            return self.tables[(path + (key,), 0)]
        return self.table(path, index) if path else 1


def _toml_value(value: Any) -> str:
    """A Python value as TOML text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def _comment(text: str, width: int = 96) -> list[str]:
    return ["# " + line for line in textwrap.wrap(" ".join(text.split()), width - 2)] or ["#"]


def init_text(config: RulesConfig | None = None) -> str:
    """A complete, commented rules file with every rule (defaults, or the given configuration)."""
    config = config or defaults()
    out = [
        "# piu rules file. Use it with `piu score --rules FILE`, or save it as $PIU_HOME/rules.toml.",
        "# Every built-in rule is listed with its default weight and parameters; change a value, or set",
        "# `enabled = false` to switch a rule off. A call's score is the sum of the weights of the rules it",
        f"# hits (at most {SCORE_CAP}). `piu rules show ID` explains a rule; `piu rules features` lists what",
        "# expression rules can use.",
        "",
        "[bands]",
        "# low is below `medium` points; medium from `medium`; high from `high` (Paris MoU: high risk at 5).",
        f"medium = {config.bands['medium']}",
        f"high = {config.bands['high']}",
    ]
    for rid, s in config.settings.items():
        r = s.rule
        if r.expression is not None:
            continue
        out += ["", f"[rules.{rid}]", f"# {r.title} ({r.category}; status: {r.status})"]
        out += _comment(r.rationale)
        out += _comment(f"Source: {r.source}")
        out += [f"weight = {s.weight}", f"enabled = {_toml_value(s.enabled)}"]
        for p in r.params:
            out += _comment(p.description)
            out.append(f"{p.name} = {_toml_value(s.params[p.name])}")
    expressions = [s for s in config.settings.values() if s.rule.expression is not None]
    out += ["", "# Expression rules: conditions over the call features, without Python. For example:",
            "#", "# [[expression]]", '# id = "crowded-fishing-boat"', '# title = "More than 30 persons on a fishing boat"',
            "# weight = 2", "# when = \"persons_aboard > 30 and vessel_category == 'fishing'\"",
            '# rationale = "Why the unit watches for this."']
    for s in expressions:
        r = s.rule
        out += ["", "[[expression]]", f"id = {_toml_value(r.id)}", f"title = {_toml_value(r.title)}",
                f"weight = {s.weight}", f"when = {_toml_value(r.expression)}",
                f"rationale = {_toml_value(r.rationale)}", f"enabled = {_toml_value(s.enabled)}"]
    return "\n".join(out) + "\n"
