"""``lottrack dose-check`` and ``lottrack din``: output, exit codes and error lines (§11)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from lottrack.cli.din import din_app
from lottrack.cli.dose import dose_check

REPO = Path(__file__).resolve().parents[2]

# Registered exactly as lottrack/cli/__init__.py does.
app = typer.Typer()
app.command("dose-check")(dose_check)
app.add_typer(din_app, name="din")
runner = CliRunner()


def run(*args: str) -> Any:
    return runner.invoke(app, list(args))


def dose(*args: str) -> Any:
    return run("dose-check", *args)


# --- dose-check ------------------------------------------------------------------------


def test_154_lb_and_1_2e8_viable_cells_is_inside() -> None:
    result = dose("--weight", "154 lb", "--viable-cells", "1.2e8")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "Dose 1.72 × 10⁶ cells/kg — inside the window 1.00–2.00 × 10⁶ cells/kg"
    assert 'Weight 69.9 kg (typed "154 lb")' in lines
    assert "Viable cells 1.20 × 10⁸ cells" in lines
    assert result.stderr == ""


def test_same_dose_from_concentration_volume_and_viability() -> None:
    result = dose(
        "--weight",
        "154 lb",
        "--concentration",
        "1.2e6/mL",
        "--volume",
        "100 mL",
        "--viability",
        "100 %",
    )
    assert result.exit_code == 0
    assert result.stdout.startswith("Dose 1.72 × 10⁶ cells/kg — inside the window")
    # 1.0–2.0 × 10⁶ cells/kg × 69.85 kg ÷ 1.2 × 10⁶ cells/mL = 58.2–116.4 mL, rounded inwards.
    assert "Volume giving a dose inside the window: 58.3–116 mL" in result.stdout


def test_viability_below_100_percent_lowers_the_dose() -> None:
    result = dose(
        "--weight",
        "70 kg",
        "--concentration",
        "1.2 x 10^6 cells/mL",
        "--volume",
        "100 mL",
        "--viability",
        "90 %",
        "--json",
    )
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["viable_cells"] == 1.08e8
    assert data["dose_cells_per_kg"] == pytest.approx(1.542857e6)
    assert data["within"] is True
    assert data["volume_ml_min"] == pytest.approx(64.8148148)
    assert data["volume_ml_max"] == pytest.approx(129.6296296)


def test_a_concentration_without_viability_is_refused_not_assumed_100_percent() -> None:
    result = dose(
        "--weight", "70 kg", "--concentration", "1.2e6/mL", "--volume", "100 mL", "--json"
    )
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: viability: missing; --concentration needs --viability")


def test_json_has_the_contract_keys() -> None:
    result = dose("--weight", "70 kg", "--viable-cells", "1.2e8", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["weight_kg"] == 70.0
    assert data["viable_cells"] == 1.2e8
    assert data["dose_cells_per_kg"] == pytest.approx(1.7142857e6)
    assert (data["min_cells_per_kg"], data["max_cells_per_kg"]) == (1.0e6, 2.0e6)
    assert data["within"] is True
    assert data["volume_ml_min"] is None  # no concentration, no volume range


@pytest.mark.parametrize(
    ("weight", "cells"), [("70 kg", "7.0e7"), ("70 kg", "1.4e8"), ("64.1 kg", "1.282e8")]
)
def test_window_edges_count_as_inside(weight: str, cells: str) -> None:
    result = dose("--weight", weight, "--viable-cells", cells)
    assert result.exit_code == 0, result.stdout
    assert "inside the window" in result.stdout


def test_exact_edge_via_concentration_is_inside() -> None:
    # 1.282e6/mL × 100 mL ÷ 64.1 kg is exactly 2.0e6; float arithmetic gives 2.0000000000000002e6.
    result = dose(
        "--weight",
        "64.1 kg",
        "--concentration",
        "1.282e6/mL",
        "--volume",
        "100 mL",
        "--viability",
        "100 %",
        "--json",
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout)["within"] is True


@pytest.mark.parametrize(("cells", "where"), [("6.9999999e7", "BELOW"), ("1.4000001e8", "ABOVE")])
def test_just_outside_exits_1(cells: str, where: str) -> None:
    result = dose("--weight", "70 kg", "--viable-cells", cells)
    assert result.exit_code == 1
    assert f"{where} the window" in result.stdout
    assert "refused" in result.stdout
    as_json = json.loads(dose("--weight", "70 kg", "--viable-cells", cells, "--json").stdout)
    assert as_json["within"] is False


def test_custom_window() -> None:
    inside = dose(
        "--weight",
        "70 kg",
        "--viable-cells",
        "1.4e8",
        "--min",
        "1.5e6",
        "--max",
        "2.5e6/kg",
        "--json",
    )
    assert inside.exit_code == 0
    assert json.loads(inside.stdout)["min_cells_per_kg"] == 1.5e6
    assert dose("--weight", "70 kg", "--viable-cells", "1.0e8", "--min", "1.5e6").exit_code == 1


@pytest.mark.parametrize(
    ("args", "stderr"),
    [
        (
            ["--weight", "70 mL", "--viable-cells", "1.2e8"],
            'error: weight: "70 mL" is a volume; expected a mass such as 70 kg or 154 lb.',
        ),
        (
            ["--weight", "70", "--viable-cells", "1.2e8"],
            'error: weight: "70" has no unit; expected a mass such as 70 kg or 154 lb.',
        ),
        (["--weight", "0 kg", "--viable-cells", "1.2e8"], 'error: weight: "0 kg" is zero'),
        (
            ["--weight", "70 kg", "--viable-cells", "-1.2e8"],
            'error: viable cells: "-1.2e8" is negative',
        ),
        (["--weight", "70 kg", "--viable-cells", "0"], 'error: viable cells: "0" is zero'),
        (
            [
                "--weight",
                "70 kg",
                "--concentration",
                "1.2e6/mL",
                "--volume",
                "100 mL",
                "--viability",
                "120 %",
            ],
            'error: viability: "120 %" is above 100 %',
        ),
        (
            [
                "--weight",
                "70 kg",
                "--concentration",
                "1.2e6/kg",
                "--volume",
                "100 mL",
                "--viability",
                "95 %",
            ],
            'error: concentration: "1.2e6/kg" is a dose per body weight; expected a concentration',
        ),
        (["--weight", "70 kg", "--viable-cells", "nan"], "is not a finite number"),
        (
            [
                "--weight",
                "70 kg",
                "--viable-cells",
                "1.2e8",
                "--concentration",
                "1.2e6/mL",
                "--volume",
                "100 mL",
            ],
            "error: viable cells: give either --viable-cells or "
            "--concentration with --volume, not both.",
        ),
        (["--weight", "70 kg"], "error: viable cells: missing"),
        (["--weight", "70 kg", "--concentration", "1.2e6/mL"], "error: volume: missing"),
        (
            ["--weight", "70 kg", "--viable-cells", "1.2e8", "--viability", "90 %"],
            "error: viability: --viability goes with --concentration",
        ),
        (["--viable-cells", "1.2e8"], "error: weight: missing"),
        (
            ["--weight", "70 kg", "--viable-cells", "1.2e8", "--min", "3e6"],
            "error: minimum dose: 3.00 × 10⁶ cells/kg is above the maximum dose",
        ),
        (["--weight", "70 kg\nsecond line", "--viable-cells", "1.2e8"], "error: weight:"),
    ],
)
def test_bad_input_exits_2_with_one_line_naming_the_field(args: list[str], stderr: str) -> None:
    result = dose(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert stderr in result.stderr


# --- din -------------------------------------------------------------------------------


def test_din_check_char_prints_the_check_character() -> None:
    result = run("din", "check-char", "G123498654321")
    assert (result.exit_code, result.stdout) == (0, "H\n")
    assert run("din", "check-char", "G1234 17 654321").stdout == "A\n"


def test_din_check_char_bad_input_exits_2() -> None:
    result = run("din", "check-char", "O123498654321")
    assert result.exit_code == 2
    assert result.stderr.startswith('error: DIN: position 1 (facility code) is "O"')


@pytest.mark.parametrize(
    ("text", "code", "output"),
    [
        ("G123498654321H", 0, "valid: G1234 98 654321 [H] (check verified)"),
        ("G1234 98 654321 H", 0, "valid: G1234 98 654321 [H] (check verified)"),
        ("=G12349865432177", 0, "valid: G1234 98 654321 [H] (check verified)"),
        ("=G12349865432100", 0, "no check character in the input"),
        ("G123498654321A", 1, 'invalid: DIN: check character "A" does not match'),
        ("=G12349865432160", 1, "invalid: DIN: check flag 60 does not match"),
    ],
)
def test_din_validate_verdicts(text: str, code: int, output: str) -> None:
    result = run("din", "validate", text)
    assert result.exit_code == code
    assert output in result.stdout


@pytest.mark.parametrize("text", ["G1234", "O123498654321", "=G1234986543210X", "hello"])
def test_din_validate_malformed_exits_2(text: str) -> None:
    result = run("din", "validate", text)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: DIN: ")
    assert len(result.stderr.splitlines()) == 1


# --- the real console entry ------------------------------------------------------------


@pytest.mark.skipif(
    not (REPO / "lottrack" / "__main__.py").exists(), reason="lottrack/__main__.py not written yet"
)
def test_python_m_lottrack_runs_dose_check() -> None:
    # Two runs only: each starts the whole CLI (about 2 s).
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p
        ),
    }

    def real(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "lottrack", *args],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    inside = real("dose-check", "--weight", "154 lb", "--viable-cells", "1.2e8")
    assert inside.returncode == 0, inside.stderr
    assert "Dose 1.72 × 10⁶ cells/kg — inside the window" in inside.stdout
    bad = real("dose-check", "--weight", "70 mL", "--viable-cells", "1.2e8")
    assert bad.returncode == 2
    assert bad.stderr.strip() == (
        'error: weight: "70 mL" is a volume; expected a mass such as 70 kg or 154 lb.'
    )
