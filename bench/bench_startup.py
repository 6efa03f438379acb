"""Start-up, each against its baseline in the same run, interleaved (issue #18):

- ``lottrack --help`` against a bare Typer app with the same commands and groups (same
  names' count, each with a one-line help), both through ``python -m``/``-c``;
- ``lottrack dose-check`` and ``lottrack din check-char`` against ``python -c "import pint;
  pint.UnitRegistry()"`` (pint's own start, no cache folder);
- the UI to its login screen drawn against a minimal Textual app (title, two inputs, a
  footer) started the same way (``bench/ui_start.py``: the child reports when its screen
  is drawn).

Each CLI figure is the wall time of a fresh process (interpreter start, imports, work,
exit), median of several runs, alternating with its baseline.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from common import ROOT, Result, paired

PINT = "import pint; pint.UnitRegistry()"


def _process(*args: str) -> Callable[[], None]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))

    def start() -> None:
        subprocess.run(
            [sys.executable, *args],
            check=False,
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    return start


def bare_typer_source() -> tuple[str, int]:
    """A Typer app with as many commands and groups (and commands in each group) as
    ``lottrack``, and how many commands that is in all."""
    from lottrack.cli import app

    lines = ["import typer", "app = typer.Typer(help='bare', add_completion=False)"]
    total = 0
    for n, _command in enumerate(app.registered_commands):
        lines += ["@app.command()", f"def command_{n}() -> None:", "    '''One line.'''"]
        total += 1
    for g, group in enumerate(app.registered_groups):
        sub = group.typer_instance
        assert sub is not None
        lines.append(f"group_{g} = typer.Typer(help='A group.')")
        lines.append(f"app.add_typer(group_{g}, name='group-{g}')")
        for n, _command in enumerate(sub.registered_commands):
            lines += [
                f"@group_{g}.command()",
                f"def g{g}_command_{n}() -> None:",
                "    '''One line.'''",
            ]
            total += 1
    lines.append("app()")
    return "\n".join(lines), total


def _ui_figures(url: str, repeat: int) -> tuple[float, float]:
    """Median seconds to the login screen drawn, lottrack and the minimal app alternately."""
    script = str(Path(__file__).with_name("ui_start.py"))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    figures: dict[str, list[float]] = {"lottrack": [], "minimal": []}
    for n in range(repeat + 1):
        for which, args in (
            ("lottrack", [script, "lottrack", url]),
            ("minimal", [script, "minimal"]),
        ):
            env["BENCH_STARTED"] = repr(time.time())
            done = subprocess.run(
                [sys.executable, *args],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            )
            if n:  # the first of each is a warm-up (files in the page cache)
                figures[which].append(float(done.stdout.strip().splitlines()[-1]))
    return statistics.median(figures["lottrack"]), statistics.median(figures["minimal"])


def run(url: str, repeat: int = 7) -> list[Result]:
    """CLI and UI start-up, each against its baseline."""
    out = []
    bare, commands = bare_typer_source()
    app_s, base_s = paired(
        _process("-m", "lottrack", "--help"), _process("-c", bare, "--help"), repeat=repeat
    )
    out.append(
        Result(
            "-",
            "CLI start-up: lottrack --help",
            app_s,
            f"bare Typer app, same {commands} commands, --help",
            base_s,
            "target ≤ 1.5×",
        )
    )
    for name, args in (
        (
            "dose-check --weight 70kg --viable-cells 1.2e8",
            ("dose-check", "--weight", "70kg", "--viable-cells", "1.2e8"),
        ),
        ("din check-char G123498654321", ("din", "check-char", "G123498654321")),
    ):
        app_s, base_s = paired(
            _process("-m", "lottrack", *args), _process("-c", PINT), repeat=repeat
        )
        out.append(
            Result(
                "-",
                f"CLI start-up: lottrack {name}",
                app_s,
                "python -c 'import pint; pint.UnitRegistry()'",
                base_s,
                "target ≤ 1.2×",
            )
        )
    app_s, base_s = _ui_figures(url, repeat)
    out.append(
        Result(
            "-",
            "UI start-up to the login screen drawn (headless)",
            app_s,
            "minimal Textual app, same way",
            base_s,
            "target ≤ 1.3×",
        )
    )
    return out


if __name__ == "__main__":
    from common import table

    print(table(run(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 7)))
