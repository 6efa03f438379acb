"""Copies of the database and checks of its audit trail, run by a person (design §6.9,
§11): only QA or an administrator may take either, and each run is in the audit trail.

A backup is a full copy, allocation included, so it is as sensitive as the database; a
verification reads every record. Neither may be run by whoever reaches a terminal.
"""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session

from lottrack.records.permissions import Action, CurrentUser, authorize
from lottrack.storage import audit
from lottrack.storage.backup import BackupResult, backup
from lottrack.storage.db import Database


def back_up(db: Database, who: CurrentUser, target: Path) -> BackupResult:
    """Copy the database to ``target`` for QA or an administrator (refused before any
    copying otherwise) and record the copy, its size and method in the audit trail."""
    with db.session() as session:
        authorize(session, who, Action.BACK_UP)
    result = backup(db.url, target)
    with db.session() as session:
        authorize(session, who, Action.BACK_UP)
        audit.log_event(
            session,
            "backup",
            "database",
            "",
            reason=f"copy to {result.path}",
            changes={"file": str(result.path), "bytes": result.bytes, "method": result.method},
        )
    return result


def may_verify(session: Session, who: CurrentUser) -> None:
    """Refuse anyone but QA or an administrator before the audit trail is read."""
    authorize(session, who, Action.VERIFY_AUDIT)


def record_verification(session: Session, who: CurrentUser, report: audit.VerifyReport) -> None:
    """Put a run of ``audit verify`` and its outcome in the audit trail."""
    authorize(session, who, Action.VERIFY_AUDIT)
    outcome = (
        "intact"
        if report.ok
        else f"BROKEN ({len(report.problems)} problem(s)); first: {report.problems[0]}"
    )
    audit.log_event(
        session,
        "audit-verify",
        "audit_event",
        "",
        reason=outcome[:500],
        changes={"events": report.events, "rows": report.rows, "problems": len(report.problems)},
    )
