"""Start-up: ``python -m lottrack --help`` against ``python -c pass`` and a bare typer app;
the UI to its login screen against a minimal Textual app started the same way; the lot
list shown in the UI (``l`` on the QA home) on the scaled database against the same on
the one-unit demo.

Each figure is the wall time of a fresh process (interpreter start, imports, work, exit),
median of several runs, alternating with its baseline.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from common import ROOT, Result, paired

BARE_TYPER = """
import typer
app = typer.Typer(help="bare")
@app.command()
def one() -> None:
    '''one'''
@app.command()
def two() -> None:
    '''two'''
app()
"""


def _process(*args: str) -> object:
    env = dict(os.environ, PYTHONPATH=str(ROOT))

    def start() -> None:
        subprocess.run([sys.executable, *args], check=True, env=env, cwd=ROOT,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return start


def run(url: str, small_url: str) -> list[Result]:
    """CLI help and UI-to-login start-up, each against its baseline; the lot list shown in
    the UI on the database at ``url`` against the same on the demo at ``small_url``."""
    cli = _process("-m", "lottrack", "--help")
    out = []
    app_s, base_s = paired(cli, _process("-c", "pass"), repeat=7)
    out.append(Result("-", "CLI start-up: python -m lottrack --help", app_s,
                      "python -c pass", base_s))
    app_s, base_s = paired(cli, _process("-c", BARE_TYPER, "--help"), repeat=7)
    out.append(Result("-", "CLI start-up: python -m lottrack --help", app_s,
                      "bare typer app --help", base_s))
    script = str(Path(__file__).with_name("ui_start.py"))
    app_s, base_s = paired(_process(script, "lottrack", url), _process(script, "minimal"),
                           repeat=5)
    out.append(Result("-", "UI start-up to the login screen (headless run_test)", app_s,
                      "minimal Textual app, same way", base_s, f"database {url}"))
    big, small = _lot_list(script, url), _lot_list(script, small_url)
    out.append(Result("-", f"UI: l on the QA home to the lot list shown ({big['lots']} lots)",
                      big["shown_s"], f"same, demo database ({small['lots']} lots)",
                      small["shown_s"], f"lot_page alone {big['lot_page_s'] * 1e3:.2f} ms"))
    return out


def _lot_list(script: str, url: str) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, script, "lotlist", url], check=True, env=env,
                          cwd=ROOT, capture_output=True, text=True)
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures
