"""``lottrack spec import|approve|show`` (design §6.8, §11): an administrator proposes a
version, a QA person who is not the proposer signs it into force; a bad file exits 2."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from lottrack.cli import app
from lottrack.manufacturing import specifications
from lottrack.records.permissions import CurrentUser
from lottrack.storage.db import Database
from tests.conftest import PASSWORD, verify_ok
from tests.storage.test_specifications import spec_file, v1_items

ADMIN_PW = "root-password-1"
runner = CliRunner()


def lottrack(db: Database, *args: str, stdin: str) -> Any:
    return runner.invoke(app, ["--db", db.url, *args], input=stdin)


def in_force(db: Database) -> int:
    with db.reader() as s:
        return specifications.current_spec(s).version


def test_import_proposes_and_only_another_qa_person_approves(
    db: Database, admin: CurrentUser, make_user: Callable[..., CurrentUser], tmp_path: Path
) -> None:
    qa = make_user("qa", username="quinn")
    done = lottrack(
        db,
        "spec",
        "import",
        str(spec_file(tmp_path)),
        "--as",
        "root",
        "--password-stdin",
        stdin=ADMIN_PW + "\n",
    )
    assert done.exit_code == 0, done.output
    assert "Specification version 2 is proposed; it is not in force" in done.stdout
    assert in_force(db) == 1
    shown = lottrack(db, "spec", "show", stdin="")
    assert "Specification version 1 (in force)" in shown.stdout
    assert "Specification version 2: proposed, awaiting QA approval" in shown.stdout
    refused = lottrack(
        db,
        "spec",
        "approve",
        "2",
        "--as",
        "root",
        "--password-stdin",
        stdin=f"{ADMIN_PW}\n{ADMIN_PW}\n",
    )
    assert refused.exit_code == 1
    assert "may not approve specification versions" in refused.stderr
    wrong = lottrack(
        db,
        "spec",
        "approve",
        "2",
        "--as",
        "quinn",
        "--password-stdin",
        stdin=f"{PASSWORD}\nnot-the-password\n",
    )
    assert wrong.exit_code == 1
    assert in_force(db) == 1
    signed = lottrack(
        db,
        "spec",
        "approve",
        "2",
        "--as",
        "quinn",
        "--password-stdin",
        stdin=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert signed.exit_code == 0, signed.output
    assert f"approved and signed by {qa.full_name}" in signed.stdout
    assert in_force(db) == 2
    shown = lottrack(db, "spec", "show", stdin="")
    assert "Specification version 2 (in force)" in shown.stdout
    assert "No version is proposed." in shown.stdout
    verify_ok(db)


def test_an_unknown_key_exits_2_naming_it(db: Database, admin: CurrentUser, tmp_path: Path) -> None:
    items = v1_items()
    items[13] = dict(items[13], maxx=2)
    path = tmp_path / "typo.json"
    path.write_text(json.dumps({"name": "v2", "items": items}))
    bad = lottrack(
        db, "spec", "import", str(path), "--as", "root", "--password-stdin", stdin=ADMIN_PW + "\n"
    )
    assert bad.exit_code == 2
    assert 'unknown key "maxx" in items[13]' in bad.stderr
    thin = tmp_path / "thin.json"
    thin.write_text(
        json.dumps(
            {
                "name": "v2",
                "min_replicates": 0,
                "items": [{"code": "potency", "test_name": "Potency", "kind": "report-only"}],
            }
        )
    )
    bad = lottrack(
        db, "spec", "import", str(thin), "--as", "root", "--password-stdin", stdin=ADMIN_PW + "\n"
    )
    assert bad.exit_code == 2
    assert "sterility, mycoplasma, endotoxin, viability" in bad.stderr
    with db.reader() as s:
        assert specifications.status_of(s) == {1: "in force"}
