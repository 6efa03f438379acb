"""``lottrack dose-check`` answered before the command-line framework loads (#18,
lottrack/launch.py) says exactly what the full command says: the same words on the same
stream and the same exit code, for any command line it takes; any other command line
goes to the full command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from lottrack.cli import app
from lottrack.dose_check import OPTIONS, check, plain_options

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()

VALUES = st.one_of(
    st.sampled_from(
        [
            "70 kg",
            "70kg",
            "154 lb",
            "1.2e8",
            "120e6 cells",
            "1.2e6/mL",
            "1.2 x 10^6 cells/mL",
            "100 mL",
            "95 %",
            "1e6",
            "2.0e6",
            "0",
            "-5 kg",
            "kg",
            "",
            "  ",
            "3e9",
            "1,5 kg",
        ]
    ),
    st.text(max_size=12),
)
ARGUMENT = st.one_of(
    st.tuples(st.sampled_from(sorted(OPTIONS)), VALUES).map(list),
    st.tuples(st.sampled_from(sorted(OPTIONS)), VALUES).map(lambda p: [f"{p[0]}={p[1]}"]),
    st.just(["--json"]),
    st.sampled_from(
        [["--help"], ["--weigh", "70 kg"], ["extra"], ["--"], ["--json=1"], ["--weight"]]
    ),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(ARGUMENT, max_size=6).map(lambda parts: [a for p in parts for a in p]))
def test_a_plain_command_line_gets_the_full_commands_answer(args: list[str]) -> None:
    values = plain_options(args)
    full = runner.invoke(app, ["dose-check", *args])
    if values is None:
        return  # the full command answers it
    code, text, to_stderr = check(**values)  # type: ignore[arg-type]
    assert code == full.exit_code
    assert (full.stderr if to_stderr else full.stdout) == text + "\n"
    assert (full.stdout if to_stderr else full.stderr) == ""


def test_only_plain_options_are_answered_early() -> None:
    assert plain_options(["--weight", "70 kg", "--viable-cells=1.2e8", "--json"]) == {
        "weight": "70 kg",
        "viable_cells": "1.2e8",
        "as_json": True,
    }
    for args in (
        ["--help"],
        ["--weight", "70 kg", "--weight", "80 kg"],
        ["--weight"],
        ["--min", "-1"],
        ["70 kg"],
        ["--json=yes"],
        ["--weight", "\udcff kg"],
    ):
        assert plain_options(args) is None, args


def test_the_program_answers_a_dose_check_without_typer() -> None:
    code = (
        "import runpy, sys\n"
        "sys.argv = ['lottrack', 'dose-check', '--weight', '154 lb', '--viable-cells',"
        " '1.2e8']\n"
        "try:\n"
        "    runpy.run_module('lottrack', run_name='__main__')\n"
        "except SystemExit as done:\n"
        "    print('exit', done.code, 'typer' in sys.modules, 'pydantic' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert "inside the window" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "exit 0 False False"
