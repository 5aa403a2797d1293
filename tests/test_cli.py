"""The root command: entry points, start-up cost, global options and error handling."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from piu import __version__
from piu.cli import app

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("pandas", "pyarrow", "numpy", "rich", "openpyxl", "rapidfuzz", "pycountry", "dask")


def test_import_cli_loads_no_heavy_module() -> None:
    code = f"import sys, piu.cli; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_help_loads_no_data_library() -> None:
    code = ("import sys\nfrom piu.cli import app\nsys.argv=['piu','--help']\n"
            "try:\n    app()\nexcept SystemExit:\n    pass\n"
            "print('LOADED', [m for m in ('pandas','pyarrow','numpy','openpyxl') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "LOADED []" in out.stdout


def test_console_script_and_module_entry_points() -> None:
    piu = Path(sys.executable).parent / "piu"
    for argv in ([str(piu), "--version"], [sys.executable, "-m", "piu", "--version"]):
        out = subprocess.run(argv, capture_output=True, text=True)
        assert out.returncode == 0
        assert out.stdout == f"piu {__version__}\n"
        assert out.stderr == ""


def test_help_lists_commands_and_exit_codes() -> None:
    res = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0
    for word in ("ingest", "score", "report", "Exit codes: 0 success; 1 bad input", "3 --fail-on matched", "130"):
        assert word in res.stdout


def test_unknown_command_is_a_usage_error() -> None:
    res = CliRunner().invoke(app, ["frobnicate"])
    assert res.exit_code == 2
    assert "No such command" in res.stderr


def test_missing_file_is_one_line_exit_1(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["--home", str(tmp_path / "h"), "ingest", str(tmp_path / "nope.csv")])
    assert res.exit_code == 1
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    assert "nope.csv" in lines[0]
    assert not (tmp_path / "h" / "calls").exists()


def test_internal_error_is_one_line_without_message(tmp_path: Path, monkeypatch) -> None:
    import piu.io.ingest as ingest_mod

    def boom(*_a, **_k):
        raise ValueError("NGUYEN VAN HUNG P1234567")  # personal data must not leak

    monkeypatch.setattr(ingest_mod, "ingest_files", boom)
    res = CliRunner().invoke(app, ["--home", str(tmp_path), "ingest", "x.csv"])
    assert res.exit_code == 1
    assert res.stderr.startswith("Error: internal error (ValueError at test_cli.py:")
    assert "NGUYEN" not in res.stderr and "P1234567" not in res.stderr
    res = CliRunner().invoke(app, ["--home", str(tmp_path), "--debug", "ingest", "x.csv"])
    assert "Traceback (most recent call last):" in res.stderr
    assert "<message withheld: may contain personal data>" in res.stderr
    assert "NGUYEN" not in res.stderr


def test_piu_home_env_is_used(tmp_path: Path) -> None:
    env = {**os.environ, "PIU_HOME": str(tmp_path / "envhome")}
    out = subprocess.run([sys.executable, "-m", "piu", "ingest", "--list", "-f", "json"], capture_output=True,
                         text=True, env=env)
    assert out.returncode == 0
    assert json.loads(out.stdout) == []
    assert out.stderr.strip() == "No ingests yet: run `piu ingest FILE`."
