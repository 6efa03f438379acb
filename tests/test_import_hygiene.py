"""The core and the certificates are reachable without the UI (style rule 1)."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "module",
    ["lottrack.cli", "lottrack.models", "lottrack.audit", "lottrack.accounts", "lottrack.demo"],
)
def test_core_does_not_load_textual_or_reportlab(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        "bad = [m for m in ('textual', 'reportlab', 'tui', 'certificates') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""
