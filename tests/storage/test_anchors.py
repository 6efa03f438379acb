"""The anchored audit trail (design §6.9): the chain head signed with the facility key at
every signature, every 1 000 events and on demand, kept in the database and in a file
outside it; ``audit verify`` holds the recomputed chain against every checkpoint, so the
recompute-the-chain and truncated-tail attacks, performed here, are reported."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from typer.testing import CliRunner

from lottrack.cli import app
from lottrack.kernel.errors import LotTrackError, SignatureRejected
from lottrack.records import signatures
from lottrack.records.permissions import CurrentUser
from lottrack.storage import anchors, audit
from lottrack.storage.db import Database
from lottrack.storage.models import AuditCheckpoint, AuditEvent, Setting
from tests.conftest import PASSWORD, verify_ok
from tests.storage.attacks import rewrite_record, tamper

SETTING = Setting.__table__  # type: ignore[attr-defined]


def _add_settings(db: Database, *keys: str, value: str = "1") -> None:
    with db.session() as s:
        audit.set_actor(s, None, "system:test")
        for key in keys:
            s.add(Setting(key=key, value=value))


def _checkpoints(db: Database) -> list[AuditCheckpoint]:
    with db.reader() as s:
        return list(s.exec(select(AuditCheckpoint).order_by(col(AuditCheckpoint.id))).all())


def _last_seq(db: Database) -> int:
    with db.reader() as s:
        return max(s.exec(select(AuditEvent.seq)).all())


def _verify_cli(db: Database, *args: str) -> tuple[int, str]:
    """``audit verify`` as the first administrator (the ``admin`` fixture)."""
    result = CliRunner().invoke(
        app,
        ["--db", db.url, "audit", "verify", "--as", "root", "--password-stdin", *args],
        input="root-password-1\n",
    )
    return result.exit_code, result.output


def _checkpoint_cli(db: Database) -> str:
    result = CliRunner().invoke(app, ["--db", db.url, "audit", "checkpoint"])
    assert result.exit_code == 0, result.output
    return result.output


def _file(db: Database, checkpoint_dir: Path) -> Path:
    with db.reader() as s:
        row = s.get(Setting, anchors.DATABASE_ID)
        assert row is not None
    return anchors.checkpoint_file(checkpoint_dir, row.value)


def test_a_signature_checkpoints_the_head_in_the_database_and_the_file(
    db: Database, make_user: object, checkpoint_dir: Path
) -> None:
    assert callable(make_user)
    qa: CurrentUser = make_user("qa", username="quinn")
    with db.session() as s:
        signatures.sign(
            s,
            qa,
            signatures.Credentials("quinn", PASSWORD),
            meaning="reviewed",
            record_type="setting",
            record_id=1,
            content={"a": 1},
        )
    [checkpoint] = _checkpoints(db)
    assert checkpoint.trigger == "signature"
    assert checkpoint.seq == _last_seq(db)  # the head after the signature's own events
    with db.reader() as s:
        head = s.exec(select(AuditEvent).where(AuditEvent.seq == checkpoint.seq)).one()
    assert checkpoint.hash == head.hash
    [line] = _file(db, checkpoint_dir).read_text().splitlines()
    assert json.loads(line)["seq"] == checkpoint.seq
    assert json.loads(line)["signature"] == checkpoint.signature
    assert oct(_file(db, checkpoint_dir).stat().st_mode & 0o777) == "0o600"
    code, output = _verify_cli(db)
    assert code == 0, output
    assert "1 signed checkpoint(s) checked" in output

    # A refused signature takes no checkpoint and appends nothing.
    with pytest.raises(SignatureRejected), db.session() as s:
        signatures.sign(
            s,
            qa,
            signatures.Credentials("quinn", "wrong-password"),
            meaning="reviewed",
            record_type="setting",
            record_id=1,
            content={},
        )
    assert len(_checkpoints(db)) == 1
    assert len(_file(db, checkpoint_dir).read_text().splitlines()) == 1


def test_a_savepoint_rolled_back_keeps_the_checkpoint_a_signature_asked_for(
    db: Database, make_user: Callable[..., CurrentUser]
) -> None:
    qa = make_user("qa", username="quinn")
    with db.session() as s:
        signatures.sign(
            s,
            qa,
            signatures.Credentials("quinn", PASSWORD),
            meaning="reviewed",
            record_type="setting",
            record_id=1,
            content={"a": 1},
        )
        with pytest.raises(IntegrityError), s.begin_nested():  # a race lost, as issue() can
            s.add(Setting(key=anchors.DATABASE_ID, value="another terminal's"))
    [checkpoint] = _checkpoints(db)
    assert (checkpoint.trigger, checkpoint.seq) == ("signature", _last_seq(db))


def test_a_checkpoint_at_least_every_thousand_events(db: Database) -> None:
    start = _last_seq(db)
    needed = audit.CHECKPOINT_INTERVAL - start % audit.CHECKPOINT_INTERVAL
    _add_settings(db, *[f"k{i}" for i in range(needed - 1)])
    assert _checkpoints(db) == []
    _add_settings(db, "the-thousandth", "and-one-more")
    [checkpoint] = _checkpoints(db)
    assert checkpoint.trigger == "1000 events"
    assert checkpoint.seq == _last_seq(db) >= audit.CHECKPOINT_INTERVAL


def test_the_append_only_triggers_refuse_update_and_delete_of_events(db: Database) -> None:
    _add_settings(db, "a")
    _checkpoint_cli(db)
    for sql in (
        "UPDATE audit_event SET reason = 'x' WHERE seq = 1",
        "DELETE FROM audit_event WHERE seq = 1",
        "UPDATE audit_checkpoint SET seq = 0",
        "DELETE FROM audit_checkpoint",
    ):
        with pytest.raises(Exception, match="append-only"), db.engine.begin() as conn:
            conn.execute(text(sql))
    if db.dialect == "postgresql":
        with pytest.raises(Exception, match="append-only"), db.engine.begin() as conn:
            conn.execute(text("TRUNCATE audit_event"))
    verify_ok(db)
    with pytest.raises(LotTrackError, match="append-only"), db.session() as s:  # nor here
        s.execute(text("DELETE FROM audit_event"))


def test_recompute_the_chain_attack_is_reported_with_the_checkpoint(
    db: Database, admin: CurrentUser
) -> None:
    _add_settings(db, "viability_lot_7", value="64.0")
    output = _checkpoint_cli(db)
    checkpoint_seq = _last_seq(db)
    assert f"audit event #{checkpoint_seq}" in output
    _add_settings(db, "after")
    assert _verify_cli(db)[0] == 0

    rewrite_record(db, SETTING, {"key": "viability_lot_7"}, {"value": "91.0"})
    with db.reader() as s:
        row = s.get(Setting, "viability_lot_7")
        assert row is not None
        assert row.value == "91.0"
    verify_ok(db)  # the chain alone, recomputed, verifies: only the anchors can tell

    code, output = _verify_cli(db)
    assert code == 1
    assert (
        f"audit event #{checkpoint_seq}: the chain was recomputed: its hash differs from "
        f"the checkpoint of event #{checkpoint_seq}"
    ) in output
    assert "on demand" in output


def test_truncated_tail_is_reported_even_with_the_checkpoints_deleted(
    db: Database, admin: CurrentUser, checkpoint_dir: Path
) -> None:
    _add_settings(db, "kept")
    _add_settings(db, "last-1", "last-2")
    _checkpoint_cli(db)
    head = _last_seq(db)
    assert _verify_cli(db)[0] == 0

    # Delete the last records and their events, and the checkpoints kept in the database.
    tamper(
        db,
        "DELETE FROM setting WHERE key IN ('last-1', 'last-2')",
        f"DELETE FROM audit_event WHERE seq > {head - 2}",
        "DELETE FROM audit_checkpoint",
    )
    verify_ok(db)  # the shortened chain is a valid chain

    code, output = _verify_cli(db)
    assert code == 1, output
    # (the run of verify logged its person in first: one event after the cut)
    assert (
        f"audit trail truncated: it ends at event #{head - 1}, but the checkpoint of event #{head}"
    ) in output
    assert "missing from the database (checkpoints were deleted)" in output

    # The file is the outside copy: removing it as well leaves the database's word only.
    _file(db, checkpoint_dir).unlink()
    code, output = _verify_cli(db)
    assert code == 0
    assert "No checkpoint of the audit trail was found" in output


def test_a_forged_checkpoint_and_a_missing_file_are_reported(
    db: Database, admin: CurrentUser, checkpoint_dir: Path
) -> None:
    _add_settings(db, "a")
    _checkpoint_cli(db)
    path = _file(db, checkpoint_dir)
    forged = json.loads(path.read_text().splitlines()[0])
    forged["seq"] += 5
    with path.open("a") as handle:
        handle.write(json.dumps(forged) + "\n")
    code, output = _verify_cli(db)
    assert code == 1
    assert f"checkpoint of event #{forged['seq']}" in output
    assert "not signed by the facility key (forged or altered)" in output
    path.unlink()
    code, output = _verify_cli(db)
    assert code == 1
    assert "checkpoint file" in output
    assert "not found" in output
