"""`piu rules`: list, show, init (round trip), check, features, flags and flags import."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from piu.cli import app
from piu.risk.config import defaults, parse
from piu.risk.features import FEATURES
from piu.risk.registry import all_rules

runner = CliRunner()


def invoke(home: Path, *args: str):  # noqa: ANN201
    return runner.invoke(app, ["--home", str(home), *args])


def test_list_every_rule(tmp_path: Path) -> None:
    res = invoke(tmp_path, "rules", "-f", "json")
    assert res.exit_code == 0
    rows = json.loads(res.stdout)
    assert [r["id"] for r in rows] == list(all_rules())
    first = rows[0]
    assert first == {"id": "declared-count-mismatch", "weight": 3, "status": "verified", "enabled": True,
                     "category": "manifest", "title": "Persons listed differ from the General Declaration",
                     "params": "tolerance=0"}


def test_list_reflects_the_rules_file(tmp_path: Path) -> None:
    (tmp_path / "rules.toml").write_text("[rules.vessel-age]\nweight = 2\nenabled = false\n", encoding="utf-8")
    rows = {r["id"]: r for r in json.loads(invoke(tmp_path, "rules", "-f", "json").stdout)}
    assert (rows["vessel-age"]["weight"], rows["vessel-age"]["enabled"]) == (2, False)


def test_show(tmp_path: Path) -> None:
    res = invoke(tmp_path, "rules", "show", "vessel-age")
    assert res.exit_code == 0
    lines = res.stdout.splitlines()
    assert lines[:6] == ["vessel-age: Vessel older than the age limit", "", "category: identity", "status:   policy",
                         "weight:   1 (default 1)", "enabled:  true"]
    assert lines[-1] == "  max_age = 25 (default 25): age in years above which the rule fires"
    assert any(line.startswith("Source: UNODC Issue Paper") for line in lines)


def test_show_unknown(tmp_path: Path) -> None:
    res = invoke(tmp_path, "rules", "show", "vessel-ages")
    assert res.exit_code == 2
    assert res.stderr == "Error: unknown rule 'vessel-ages' (did you mean 'vessel-age'?); `piu rules` lists them\n"


def test_init_round_trip_and_check(tmp_path: Path) -> None:
    res = invoke(tmp_path, "rules", "init")
    assert res.exit_code == 0
    config = parse(res.stdout)
    assert config.version() == defaults().version()
    path = tmp_path / "rules.toml"
    path.write_text(res.stdout, encoding="utf-8")
    check = invoke(tmp_path, "rules", "check", str(path))
    assert check.exit_code == 0
    assert check.stderr.startswith(f"{path}: OK, {len(all_rules())} of {len(all_rules())} rules enabled, rule set ")


def test_check_reports_problems(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[[expression]]\nid = "x"\ntitle = "X"\nweight = 1\nwhen = "().__class__"\n', encoding="utf-8")
    res = invoke(tmp_path, "rules", "check", str(path))
    assert res.exit_code == 1
    assert res.stderr.splitlines()[1] == "  line 5: expression rule x: attribute access (.) is not allowed"


def test_check_refuses_nonsense_values_in_one_report(tmp_path: Path) -> None:
    path = tmp_path / "walkthrough.toml"
    path.write_text("[rules.crew-joined-last-port]\nmax_share = 1.5\n\n[[expression]]\nid = \"crowded-fishing-boat\"\n"
                    "title = \"Many persons on a fishing boat\"\nweight = 3\n"
                    "when = \"persons_aboard > 30 and vessel_category == 'fishin'\"\n", encoding="utf-8")
    expected = ("Error: rules file walkthrough.toml has 2 problems; nothing was scored; fix them and run again "
                "(`piu rules init` prints a complete valid file)\n"
                "  line 2: crew-joined-last-port: max_share must be from 0 to 1\n"
                "  line 8: expression rule crowded-fishing-boat: unknown vessel_category 'fishin' "
                "(did you mean 'fishing'?)\n")
    for args in (("rules", "check", str(path)), ("score", "--rules", str(path))):
        res = invoke(tmp_path, *args)
        assert (res.exit_code, res.stdout, res.stderr) == (1, "", expected)


def test_features(tmp_path: Path) -> None:
    rows = json.loads(invoke(tmp_path, "rules", "features", "-f", "json").stdout)
    assert [r["feature"] for r in rows] == list(FEATURES)
    assert {"feature": "persons_aboard", "kind": "number",
            "description": "persons listed, or the declared counts when no list was sent"} in rows


def test_flags_and_import(tmp_path: Path) -> None:
    rows = json.loads(invoke(tmp_path, "rules", "flags", "-f", "json").stdout)
    tza = [r for r in rows if r["iso3"] == "TZA"]
    assert [(r["regime"], r["list_year"], r["list"]) for r in tza] == [("paris", 2024, "black")]
    new = tmp_path / "tokyo2024.csv"
    new.write_text("regime,list_year,published,iso3,list,category,source,completeness\n"
                   "tokyo,2024,2025,TZA,black,,Tokyo MoU annual report 2024,partial\n", encoding="utf-8")
    res = invoke(tmp_path, "rules", "flags", "import", str(new))
    assert res.exit_code == 0, res.stderr
    assert res.stderr == "Imported 1 flag ratings from tokyo2024.csv (tokyo 2024 black: 1).\n"
    rows = json.loads(invoke(tmp_path, "rules", "flags", "-f", "json").stdout)
    assert [(r["regime"], r["list_year"]) for r in rows if r["iso3"] == "TZA"] == [("paris", 2024), ("tokyo", 2024)]
