"""``lottrack backup`` and ``lottrack audit verify`` need a QA or administrator login and
are audited (design §6.9, §11): a full copy holds the allocation, so nobody else takes
one."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select
from typer.testing import CliRunner

from lottrack.cli import app
from lottrack.records.permissions import CurrentUser
from lottrack.storage.db import Database
from lottrack.storage.models import AuditEvent
from tests.conftest import PASSWORD, verify_ok

runner = CliRunner()


@pytest.fixture
def people(db: Database, admin: CurrentUser, make_user: Callable[..., CurrentUser]) -> Database:
    for role in ("technician", "qa", "pharmacist", "clinician"):
        make_user(role, username=role)
    return db


def lottrack(db: Database, *args: str, password: str = PASSWORD) -> Any:
    return runner.invoke(app, ["--db", db.url, *args, "--password-stdin"], input=password + "\n")


def events(db: Database, action: str) -> list[AuditEvent]:
    with db.reader() as s:
        return list(
            s.exec(
                select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.seq))
            ).all()
        )


@pytest.mark.parametrize("who", ["technician", "pharmacist", "clinician"])
def test_only_qa_or_an_admin_may_back_up(people: Database, tmp_path: Path, who: str) -> None:
    target = tmp_path / "copy.bak"
    refused = lottrack(people, "backup", str(target), "--as", who)
    assert refused.exit_code == 1
    assert "may not back up the database; that needs the admin or qa role" in refused.stderr
    assert not target.exists()
    assert events(people, "backup") == []


def test_a_backup_by_qa_is_audited_and_private(people: Database, tmp_path: Path) -> None:
    target = tmp_path / "copy.bak"
    done = lottrack(people, "backup", str(target), "--as", "qa")
    assert done.exit_code == 0, done.output
    assert done.stdout.startswith(f"Backup written to {target} (")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    by_admin = lottrack(
        people, "backup", str(tmp_path / "admin.bak"), "--as", "root", password="root-password-1"
    )
    assert by_admin.exit_code == 0, by_admin.output
    recorded = events(people, "backup")
    assert [e.username for e in recorded] == ["qa", "root"]
    assert json.loads(recorded[0].changes)["file"] == str(target)
    assert recorded[0].reason == f"copy to {target}"
    verify_ok(people)


def test_a_backup_without_the_right_password_is_refused(people: Database, tmp_path: Path) -> None:
    refused = lottrack(
        people, "backup", str(tmp_path / "x.bak"), "--as", "qa", password="not-the-password"
    )
    assert refused.exit_code == 1
    assert "Unknown username or wrong password." in refused.stderr
    assert not (tmp_path / "x.bak").exists()


def test_audit_verify_needs_qa_or_an_admin_and_is_audited(people: Database) -> None:
    refused = lottrack(people, "audit", "verify", "--as", "technician")
    assert refused.exit_code == 1
    assert "may not verify the audit trail; that needs the admin or qa role" in refused.stderr
    assert events(people, "audit-verify") == []
    done = lottrack(people, "audit", "verify", "--as", "qa")
    assert done.exit_code == 0, done.output
    assert "Audit trail intact" in done.stdout
    [event] = events(people, "audit-verify")
    assert (event.username, event.reason) == ("qa", "intact")
    assert json.loads(event.changes)["problems"] == 0
    verify_ok(people)
