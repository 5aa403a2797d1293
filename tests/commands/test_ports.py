"""`piu ports import|list|show` with the reference UN/LOCODE files as the analyst's download."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from piu.cli import app

REF = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference"
U2024 = str(REF / "unlocode_2024.csv")
U2014 = str(REF / "unlocode_2014_A-N_with_aliases.csv")


def run(home: Path, *args: str):  # noqa: ANN201
    return CliRunner().invoke(app, ["--home", str(home), *args], env={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("home")
    assert run(home, "ports", "import", U2024).exit_code == 0
    return home


def test_import_summary_on_stderr(tmp_path: Path):
    result = run(tmp_path, "ports", "import", U2014)
    assert result.exit_code == 0
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("Imported 9,835 ports with 886 aliases from unlocode_2014_A-N_with_aliases.csv in ")
    assert lines[1] == "Warning: skipped 7 unreadable lines (lines 17657, 17848, 27130, 36985, 41302, ...)."
    again = run(tmp_path, "ports", "import", U2024)
    assert again.exit_code == 0
    assert again.stderr.splitlines()[0].endswith(" s (replaced the previous import).")
    assert again.stderr.splitlines()[1] == "Repaired 1,040 lines with broken quoting (names containing a comma)."


def test_import_json_summary_on_stdout(tmp_path: Path):
    result = run(tmp_path, "ports", "import", U2024, "-f", "json")
    assert result.exit_code == 0
    assert result.stderr == ""
    summary = json.loads(result.stdout)
    assert {k: summary[k] for k in ("source_file", "layout", "ports", "aliases", "repaired_lines",
                                    "skipped_lines", "skipped_line_numbers", "replaced_previous_import")} == {
        "source_file": "unlocode_2024.csv", "layout": "unlocode-community", "ports": 17513, "aliases": 76,
        "repaired_lines": 1040, "skipped_lines": 0, "skipped_line_numbers": [], "replaced_previous_import": False}


def test_import_quiet(tmp_path: Path):
    result = run(tmp_path, "-q", "ports", "import", U2014)
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")


def test_import_errors(tmp_path: Path):
    missing = run(tmp_path, "ports", "import", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 1
    assert missing.stderr == f"Error: {tmp_path / 'nope.csv'} does not exist; give the path of the UN/LOCODE CSV download\n"
    bad_fmt = run(tmp_path, "ports", "import", U2014, "-f", "xml")
    assert bad_fmt.exit_code == 2
    assert "unknown format 'xml'" in bad_fmt.stderr


def test_list_curated_by_country_tsv(tmp_path: Path):
    result = run(tmp_path, "ports", "list", "--country", "KH", "-f", "tsv")
    assert result.exit_code == 0
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == "locode\tname\tcountry\ttimezone\tsource\taliases"
    assert [line.split("\t")[:5] for line in lines[1:]] == [
        ["KHKOS", "Kampong Saom", "KHM", "Asia/Phnom_Penh", "curated"],
        ["KHPNH", "Phnom Penh", "KHM", "Asia/Phnom_Penh", "curated"],
        ["KHKKO", "Kas Kong", "KHM", "Asia/Phnom_Penh", "curated"],
    ]


def test_list_curated_and_imported_json(imported: Path):
    result = run(imported, "ports", "list", "--country", "Cambodia", "-f", "json")
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert [(r["locode"], r["source"]) for r in rows] == [
        ("KHKOS", "curated"), ("KHPNH", "curated"), ("KHKKO", "curated"),
        ("KHCHE", "imported"), ("KHTKH", "imported")]
    norway = json.loads(run(imported, "ports", "list", "--country", "NOR", "-f", "json").stdout)
    assert len(norway) > 100 and all(r["timezone"] == "Europe/Oslo" for r in norway)


def test_list_unknown_country_is_usage_error(tmp_path: Path):
    result = run(tmp_path, "ports", "list", "--country", "Atlantis")
    assert result.exit_code == 2
    assert result.stderr == "Error: --country 'Atlantis' is not a country; use e.g. KH, KHM or Cambodia\n"


@pytest.mark.parametrize("query", ["sihanoukville", "KHKOS", "KH KOS", "kh-kos", "Kampong Saom", "Sihanoukville, Cambodia"])
def test_show_json(tmp_path: Path, query: str):
    result = run(tmp_path, "ports", "show", query, "-f", "json")
    assert result.exit_code == 0
    assert result.stderr == ""
    info = json.loads(result.stdout)
    assert (info["locode"], info["name"], info["country"], info["timezone"], info["source"]) == (
        "KHKOS", "Kampong Saom", "KHM", "Asia/Phnom_Penh", "curated")
    assert "Sihanoukville" in info["aliases"]


def test_show_tsv(tmp_path: Path):
    result = run(tmp_path, "ports", "show", "port klang", "-f", "tsv")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[:4] == ["field\tvalue", "locode\tMYPKG", "name\tPort Klang (Pelabuhan Klang)", "country\tMYS"]


def test_show_imported_port(imported: Path):
    result = run(imported, "ports", "show", "Oslo", "-f", "json")
    assert result.exit_code == 0
    info = json.loads(result.stdout)
    assert (info["locode"], info["country"], info["timezone"], info["source"]) == ("NOOSL", "NOR", "Europe/Oslo", "imported")


def test_show_unknown_port(tmp_path: Path):
    result = run(tmp_path, "ports", "show", "Oslo")  # not curated, nothing imported
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == ("Error: unknown port 'Oslo'; check the spelling or give the UN/LOCODE (e.g. KHKOS); "
                             "`piu ports import FILE` loads the official list of every port\n")
