"""Rules files: every problem reported at once with its line; init round trip; rule-set version."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from piu.errors import RulesError
from piu.risk.config import configured_rules_file, defaults, init_text, is_trial, load, parse
from piu.risk.registry import all_rules
from piu.risk.scoring import score_frames
from tests.risk.factories import call, crew, frames


def problems(text: str) -> list[str]:
    with pytest.raises(RulesError) as info:
        parse(text, name="r.toml")
    return info.value.problems


def test_init_text_parses_back_to_the_defaults() -> None:
    text = init_text()
    config = parse(text)
    base = defaults()
    assert config.bands == base.bands == {"medium": 3, "high": 5}
    assert {k: (s.enabled, s.weight, s.params) for k, s in config.settings.items()} == \
           {k: (s.enabled, s.weight, s.params) for k, s in base.settings.items()}
    assert config.version() == base.version()
    # every built-in rule and parameter is written out
    doc = tomllib.loads(text)
    for rid, rule in all_rules().items():
        assert doc["rules"][rid]["weight"] == rule.weight
        for p in rule.params:
            assert doc["rules"][rid][p.name] == p.default


def test_settings_change_weights_params_bands_and_enabled() -> None:
    config = parse("[bands]\nmedium = 2\nhigh = 8\n\n[rules.vessel-age]\nweight = 2\nmax_age = 30\n\n"
                   "[rules.flag-risk]\nenabled = false\nregimes = [\"paris\"]\n")
    assert config.bands == {"medium": 2, "high": 8}
    assert config.settings["vessel-age"].weight == 2
    assert config.settings["vessel-age"].params["max_age"] == 30
    assert config.settings["flag-risk"].enabled is False
    assert "flag-risk" not in [s.rule.id for s in config.active()]
    assert config.version() != defaults().version()


def test_every_problem_at_once_with_its_line() -> None:
    text = "\n".join([
        "[bands]",                        # 1
        "medium = 6",                     # 2
        "high = 5",                       # 3
        "",                               # 4
        "[rules.overcapcity]",            # 5
        "weight = 4",                     # 6
        "",                               # 7
        "[rules.vessel-age]",             # 8
        "max_years = 20",                 # 9
        "weight = -1",                    # 10
        "",                               # 11
        "[rules.flag-risk]",              # 12
        "regimes = [\"abuja\"]",          # 13
        "enabled = \"yes\"",              # 14
        "",                               # 15
        "[[expression]]",                 # 16
        "id = \"crowded\"",               # 17
        "title = \"Crowded\"",            # 18
        "weight = 2",                     # 19
        "when = \"crew_count > 30\"",     # 20
        "",                               # 21
        "[extra]",                        # 22
    ])
    assert problems(text) == [
        "line 3: band high must be at least band medium",
        "line 5: unknown rule 'overcapcity' (did you mean 'overcapacity'?)",
        "line 9: vessel-age: unknown parameter 'max_years' (parameters: max_age; also weight, enabled)",
        "line 10: vessel-age: weight must be a whole number from 0 to 100",
        "line 13: flag-risk: regimes must list regimes among paris, tokyo",
        "line 14: flag-risk: enabled must be true or false",
        "line 20: expression rule crowded: unknown feature 'crew_count'; `piu rules features` lists them",
        "line 22: unknown section 'extra' (expected bands, rules or expression)",
    ]


def test_the_error_message_and_hint() -> None:
    with pytest.raises(RulesError) as info:
        parse("[rules.nope]\n", name="r.toml")
    assert info.value.one_line() == ("rules file r.toml has 1 problem; nothing was scored; fix them and run again "
                                     "(`piu rules init` prints a complete valid file)")


def test_wrong_parameter_types() -> None:
    assert problems("[rules.overcapacity]\nnorm_factor = \"big\"\nnorms_file = \"/no/such.csv\"\n") == [
        "line 2: overcapacity: norm_factor must be a number",
        "line 3: overcapacity: norms_file file such.csv not found",
    ]
    assert problems("[rules.document-expired]\nmany = 2.5\n") == ["line 2: document-expired: many must be a whole number"]


def test_invalid_toml_reports_its_line() -> None:
    with pytest.raises(RulesError) as info:
        parse("[bands]\nmedium = = 3\n", name="r.toml")
    assert info.value.message == "rules file r.toml is not valid TOML"
    assert info.value.problems[0].startswith("line 2: ")


@pytest.mark.parametrize(("when", "why"), [
    ("__import__('os')", "function calls are not allowed"),
    ("().__class__", "attribute access (.) is not allowed"),
    ("flag.upper() == 'KHM'", "function calls are not allowed"),
    ("flag.real == 'KHM'", "attribute access (.) is not allowed"),
    ("persons_aboard[0] > 1", "subscripts ([...]) are not allowed"),
    ("(lambda: 1)() == 1", "function calls are not allowed"),
    ("[x for x in flag] == 1", "comprehensions are not allowed"),
    ("open('/etc/passwd')", "function calls are not allowed"),
    ("persons_aboard", "the expression must be a condition (a comparison, 'and', 'or' or 'not'), not a number value"),
    ("flag > 3", "a text value is compared with a number value (>)"),
    ("flag < 'M'", "text can only be compared with == or !=, not <"),
    ("flag in 'KHM'", "'in' needs a list of values, e.g. flag in ['KHM', 'TGO']"),
    ("persons_aboard >", "syntax error: invalid syntax"),
])
def test_unsafe_or_wrong_expressions_are_refused_with_a_line(when: str, why: str) -> None:
    text = f'[[expression]]\nid = "x-rule"\ntitle = "X"\nweight = 1\nwhen = "{when}"\n'
    assert problems(text) == [f"line 5: expression rule x-rule: {why}"]


def test_expression_rule_keys_checked() -> None:
    text = '[[expression]]\nid = "Bad Id"\ntitle = "X"\nwhen = "port == \'KHKOS\'"\ncolour = 1\n\n[[expression]]\nid = "overcapacity"\ntitle = "Y"\nweight = 1\nwhen = "port == \'KHKOS\'"\n'
    assert problems(text) == [
        "line 1: expression rule Bad Id: weight is missing",
        "line 2: expression rule id 'Bad Id' must be kebab-case, e.g. 'crowded-fishing-boat'",
        "line 5: unknown key 'colour' in an expression rule (id, title, weight, when, rationale, enabled)",
        "line 8: expression rule id 'overcapacity' is a built-in rule; choose another id",
    ]


def test_expression_rule_scores_with_evidence() -> None:
    config = parse('[[expression]]\nid = "crowded-fishing-boat"\ntitle = "Crowded fishing boat"\nweight = 2\n'
                   "when = \"persons_aboard > 30 and vessel_category == 'fishing'\"\n")
    hit_call = call(vessel_category="fishing", gross_tonnage=500.0, call_time="2026-11-20 08:00")
    quiet = call(vessel_category="fishing", gross_tonnage=500.0, imo="9176187", call_time="2026-11-21 08:00")
    missing = call(vessel_category=None, imo="9231212", call_time="2026-11-22 08:00")
    summary, hits = score_frames(*frames([hit_call, quiet, missing], crew(hit_call, 31) + crew(quiet, 30) + crew(missing, 40)),
                                 config)
    h = hits[hits["rule"] == "crowded-fishing-boat"]
    assert list(h["version_id"]) == [hit_call["version_id"]]
    assert list(h["evidence"]) == ["when persons_aboard > 30 and vessel_category == 'fishing': "
                                   "persons_aboard = 31, vessel_category = fishing"]
    assert list(h["weight"]) == [2]


def test_load_missing_file() -> None:
    with pytest.raises(RulesError) as info:
        load("/no/such/rules.toml")
    assert info.value.one_line() == ("rules file /no/such/rules.toml not found; check the path, "
                                     "or run `piu rules init > rules.toml`")


def test_version_is_stable_and_short(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(init_text(), encoding="utf-8")
    assert load(str(path)).version() == defaults().version()
    assert len(defaults().version()) == 12


def test_parameters_out_of_range_are_reported_at_once_with_their_lines() -> None:
    text = "\n".join([
        "[rules.crew-joined-last-port]",  # 1
        "max_share = 1.5",                # 2
        "min_joined = -1",                # 3
        "",                               # 4
        "[rules.crew-turnover]",          # 5
        "max_share = 30",                 # 6
        "",                               # 7
        "[rules.watchlist-person]",       # 8
        "threshold = 70",                 # 9
        "name_only_weight = 101",         # 10
        "",                               # 11
        "[rules.flag-risk]",              # 12
        "grey_weight = 500",              # 13
        "list_year = 24",                 # 14
        "",                               # 15
        "[rules.document-expired]",       # 16
        "weight_many = 1000",             # 17
        "",                               # 18
        "[rules.overcapacity]",           # 19
        "norm_factor = nan",              # 20
        "",                               # 21
        "[rules.person-on-two-vessels]",  # 22
        "within_hours = inf",             # 23
    ])
    assert problems(text) == [
        "line 2: crew-joined-last-port: max_share must be from 0 to 1",
        "line 3: crew-joined-last-port: min_joined must not be negative",
        "line 6: crew-turnover: max_share must be from 0 to 1",
        "line 9: watchlist-person: threshold must be from 0 to 1",
        "line 10: watchlist-person: name_only_weight must be from 0 to 100",
        "line 13: flag-risk: grey_weight must be from 0 to 100",
        "line 14: flag-risk: list_year must be 0 (the latest edition) or a year from 1980 to 2100",
        "line 17: document-expired: weight_many must be from 0 to 100",
        "line 20: overcapacity: norm_factor must be a number, not nan or inf",
        "line 23: person-on-two-vessels: within_hours must be a whole number",
    ]


def test_parameters_at_the_ends_of_their_ranges_are_accepted() -> None:
    config = parse("[rules.crew-joined-last-port]\nmax_share = 0\n\n[rules.crew-turnover]\nmax_share = 1\n\n"
                   "[rules.watchlist-person]\nthreshold = 1\nname_only_weight = 100\n\n"
                   "[rules.flag-risk]\ngrey_weight = 0\nlist_year = 2024\n")
    assert config.settings["crew-joined-last-port"].params["max_share"] == 0.0
    assert config.settings["crew-turnover"].params["max_share"] == 1.0
    assert config.settings["watchlist-person"].params == {"threshold": 1.0, "name_only_weight": 100}
    assert config.settings["flag-risk"].params["list_year"] == 2024
    assert parse("[rules.flag-risk]\nlist_year = 0\n").settings["flag-risk"].params["list_year"] == 0


def test_text_that_a_closed_feature_never_has_is_refused_with_a_hint() -> None:
    def rule(n: int, when: str) -> str:
        return f'[[expression]]\nid = "rule-{n}"\ntitle = "R"\nweight = 1\nwhen = "{when}"\n\n'

    text = (rule(1, "persons_aboard > 30 and vessel_category == 'fishin'")          # line 5
            + rule(2, "direction == 'Arrival' or direction != 'in'")                 # line 11
            + rule(3, "flag in ['khm', 'Cambodia', 'TGO', 'ZZZ']")                   # line 17
            + rule(4, "'cargoo' == vessel_category")                                 # line 23
            + rule(5, "mmsi_country not in ['Thailand'] and vessel_category == 'boat'"))  # line 29
    assert problems(text) == [
        "line 5: expression rule rule-1: unknown vessel_category 'fishin' (did you mean 'fishing'?)",
        "line 11: expression rule rule-2: unknown direction 'Arrival' (did you mean 'arrival'?); "
        "unknown direction 'in' (expected arrival or departure)",
        "line 17: expression rule rule-3: unknown flag 'khm' (did you mean 'KHM'?); unknown flag 'Cambodia' "
        "(did you mean 'KHM'?); unknown flag 'ZZZ' (expected an ISO 3166-1 alpha-3 code in capitals, e.g. 'KHM')",
        "line 23: expression rule rule-4: unknown vessel_category 'cargoo' (did you mean 'cargo'?)",
        "line 29: expression rule rule-5: unknown mmsi_country 'Thailand' (did you mean 'THA'?); "
        "unknown vessel_category 'boat' (expected passenger, fishing, cargo, tanker or other)",
    ]


def test_known_values_and_free_text_are_accepted() -> None:
    when = ("vessel_category in ['fishing', 'other'] and direction == 'departure' and flag in ['KHM', 'XXA'] "
            "and mmsi_country != flag and vessel_name == 'fishin' and vessel_type == 'Fishin boat' "
            "and agent == 'x' and port == 'Sihanoukville'")
    config = parse(f'[[expression]]\nid = "all-known"\ntitle = "K"\nweight = 1\nwhen = "{when}"\n')
    assert config.settings["all-known"].rule.expression == when


def test_new_expression_logic_changes_only_rule_sets_with_expressions(monkeypatch: pytest.MonkeyPatch) -> None:
    import piu.risk.config as rconfig

    text = '[[expression]]\nid = "any-minor"\ntitle = "M"\nweight = 1\nwhen = "minors_aboard > 0"\n'
    before = (defaults().version(), parse(text).version())
    monkeypatch.setattr(rconfig, "EXPRESSION_LOGIC", "next")
    after = (defaults().version(), parse(text).version())
    assert after[0] == before[0]
    assert after[1] != before[1]


def test_is_trial_compares_with_the_configured_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIU_RULES", raising=False)
    home = tmp_path / "home"
    home.mkdir()
    trial = tmp_path / "trial.toml"
    trial.write_text("[rules.vessel-age]\nweight = 2\n", encoding="utf-8")
    assert is_trial(load(str(trial)), home)
    assert not is_trial(parse("[rules.vessel-age]\nweight = 1\n"), home)  # the defaults, written out
    (home / "rules.toml").write_text("[rules.vessel-age]\nweight = 2\n", encoding="utf-8")
    assert not is_trial(load(str(trial)), home)  # the same rules as the configured file
    assert is_trial(load(None), home)
    monkeypatch.setenv("PIU_RULES", str(tmp_path / "env.toml"))
    (tmp_path / "env.toml").write_text("[bands]\nmedium = 4\n", encoding="utf-8")
    assert configured_rules_file(home) == str(tmp_path / "env.toml")
    assert not is_trial(load(str(tmp_path / "env.toml")), home)
    assert is_trial(load(str(trial)), home)
    (tmp_path / "env.toml").write_text("[bands]\nmedium = 'x'\n", encoding="utf-8")  # unreadable configured rules
    assert is_trial(load(str(trial)), home)


def test_a_norms_file_is_checked_and_read(tmp_path: Path) -> None:
    """An analyst's norms file: a missing column or an unreadable max_persons is a rules-file problem;
    a readable one has open bounds where gt_from/gt_to are empty (0 and no upper bound)."""
    from piu.risk.rules.capacity import load_norms

    missing = tmp_path / "missing.csv"
    missing.write_text("vessel_category,gt_from,max_persons\nfishing,0,10\n", encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text("vessel_category,gt_from,gt_to,max_persons\nfishing,0,25,ten\n", encoding="utf-8")
    good = tmp_path / "good.csv"
    good.write_text("\ufeffvessel_category,gt_to,gt_from,max_persons,note\nfishing,25,,8,small\ncargo,,500, 40 ,\n",
                    encoding="utf-8")
    columns = "columns: vessel_category, gt_from, gt_to, max_persons"
    for f, kind in ((missing, "KeyError"), (bad, "ValueError")):
        assert problems(f'[rules.overcapacity]\nnorms_file = "{f}"\n') == [
            f"line 2: overcapacity: norms_file file {f.name} is not a norms table ({kind}); {columns}"]
    assert parse(f'[rules.overcapacity]\nnorms_file = "{good}"\n').settings["overcapacity"].params["norms_file"] == str(good)
    norms = load_norms(str(good))
    assert list(norms.columns) == ["vessel_category", "gt_from", "gt_to", "max_persons"]
    assert norms.to_dict(orient="list") == {"vessel_category": ["fishing", "cargo"], "gt_from": [0.0, 500.0],
                                            "gt_to": [25.0, float("inf")], "max_persons": [8, 40]}


def test_a_norms_file_with_odd_lines_and_numbers(tmp_path: Path) -> None:
    """Lines of white space are skipped and a repeated column's first one is read (as pandas' reader
    did); a max_persons that is infinite or beyond int64 is a rules-file problem, not a traceback."""
    from piu.risk.rules.capacity import load_norms

    odd = tmp_path / "odd.csv"
    odd.write_text("vessel_category,gt_from,gt_to,max_persons,max_persons\n  \ncargo,0,500,12,99\n\t\n", encoding="utf-8")
    assert parse(f'[rules.overcapacity]\nnorms_file = "{odd}"\n').settings["overcapacity"].params["norms_file"] == str(odd)
    assert load_norms(str(odd)).to_dict(orient="list") == {"vessel_category": ["cargo"], "gt_from": [0.0],
                                                           "gt_to": [500.0], "max_persons": [12]}
    columns = "columns: vessel_category, gt_from, gt_to, max_persons"
    for i, value in enumerate(("inf", "1e30", "-1e400")):
        f = tmp_path / f"big{i}.csv"
        f.write_text(f"vessel_category,gt_from,gt_to,max_persons\ncargo,0,500,{value}\n", encoding="utf-8")
        assert problems(f'[rules.overcapacity]\nnorms_file = "{f}"\n') == [
            f"line 2: overcapacity: norms_file file {f.name} is not a norms table (ValueError); {columns}"]
