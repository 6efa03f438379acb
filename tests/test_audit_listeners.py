"""The audit trail is captured because a database was opened, not because some module
happened to import lottrack.storage.audit (docs/design.md §6.1)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_opening_a_database_installs_the_audit_listeners(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from lottrack.storage import audit\n"
        "from lottrack.storage.db import Database\n"
        "print(audit.installed())\n"
        "Database(sys.argv[1]).dispose()\n"
        "print(audit.installed())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "a.db")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() == ["False", "True"]
