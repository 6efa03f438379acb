"""A document counts as issued only when its PAdES signature verifies and was made by the
facility certificate pinned at ``init`` (design §6.9): a PDF signed by another, self-made
key is "not issued by this facility", even when its hash was planted in the database."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from certificates.release import render_release
from lottrack.cli import app
from lottrack.kernel.errors import LotTrackError
from lottrack.records.permissions import CurrentUser
from lottrack.storage import audit
from lottrack.storage.db import Database
from lottrack.storage.models import AuditEvent, Certificate, Setting, utcnow
from lottrack.views.documents import signing
from lottrack.views.documents.builders import build_release_data
from lottrack.views.documents.issue import PINNED_CERTIFICATE, issue, pinned_certificate
from tests.certificates import records
from tests.certificates.pdftext import text
from tests.conftest import PASSWORD, verify_ok
from tests.storage.attacks import rewrite_record, tamper

ADMIN_PW = "root-password-1"


def _verify(url: str, path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--db", url, "certificate", "verify", str(path)])
    return result.exit_code, result.output


def test_a_pdf_signed_by_another_key_is_not_issued_by_this_facility(
    db: Database, make_user: Callable[..., CurrentUser], tmp_path: Path
) -> None:
    facility = tmp_path / "facility-keys"
    signing.ensure_facility_key(facility, facility_name="Demo University Hospital")
    p = records.people(make_user)
    site_id = records.site(db, p.tech)
    subject_id, harvest_id = records.subject(db, p.tech, site_id, 3)
    lot_id, _ = records.manufactured_lot(db, p.tech, subject_id, harvest_id)
    records.release(db, p, lot_id)
    genuine = tmp_path / "genuine.pdf"
    with db.session() as s:
        data = build_release_data(s, p.qa, lot_id)
        issue(
            s,
            p.qa,
            kind="release",
            record_type="lot",
            record_id=lot_id,
            data=data,
            render=render_release,
            out_path=genuine,
            key_dir=facility,
        )
    with db.reader() as s:  # a database upgraded from before pinning pins at its first issue
        assert pinned_certificate(s) == signing.certificate_fingerprint(
            signing.key_paths(facility)[1]
        )

    # The attacker makes a key of their own, signs a certificate that looks the same and,
    # with write access to the database, records its hash as an issued document.
    forger = tmp_path / "forger-keys"
    key, cert = signing.ensure_facility_key(forger, facility_name="Demo University Hospital")
    forged = tmp_path / "forged.pdf"
    forged.write_bytes(signing.sign_pdf(render_release(data), key, cert))
    with db.session() as s:
        audit.set_actor(s, p.qa.id, p.qa.username)
        s.add(
            Certificate(
                kind="release",
                record_type="lot",
                record_id=lot_id,
                document_id="REL-FORGED-00",
                copy_number=9,
                issued_at=utcnow(),
                file_sha256=hashlib.sha256(forged.read_bytes()).hexdigest(),
                issued_by=p.qa.id,
            )
        )

    code, output = _verify(db.url, forged)
    assert code == 1
    assert "not issued by this facility" in output
    assert "not the facility certificate pinned" in output
    code, output = _verify(db.url, genuine)
    assert code == 0, output
    assert "signed by the facility certificate and unchanged since issue" in output

    # A signing key that is not the pinned one signs nothing.
    with db.session() as s, pytest.raises(LotTrackError, match="not the facility certificate"):
        issue(
            s,
            p.qa,
            kind="release",
            record_type="lot",
            record_id=lot_id,
            data=data,
            render=render_release,
            out_path=tmp_path / "other.pdf",
            key_dir=forger,
            reason="reprint",
        )
    assert not (tmp_path / "other.pdf").exists()
    verify_ok(db)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_init_pins_the_facility_certificate(db_url: str) -> None:
    result = CliRunner().invoke(
        app, ["--db", db_url, "init", "--admin", "root", "--password-stdin"], input=ADMIN_PW + "\n"
    )
    assert result.exit_code == 0, result.output
    cert = signing.key_paths(signing.default_key_dir())[1]
    fingerprint = signing.certificate_fingerprint(cert)
    assert f"SHA-256 {fingerprint}, pinned in the database" in result.output
    db = Database(db_url)
    with db.reader() as s:
        row = s.exec(select(Setting).where(Setting.key == PINNED_CERTIFICATE)).one()
        assert row.value == fingerprint
    db.dispose()


def test_verify_holds_the_trail_against_the_heads_printed_in_issued_documents(
    db: Database, make_user: Callable[..., CurrentUser], tmp_path: Path, checkpoint_dir: Path
) -> None:
    p = records.people(make_user)
    site_id = records.site(db, p.tech)
    subject_id, harvest_id = records.subject(db, p.tech, site_id, 3)
    lot_id, _ = records.manufactured_lot(db, p.tech, subject_id, harvest_id)
    records.release(db, p, lot_id)
    with db.session() as s:
        audit.set_actor(s, p.qa.id, p.qa.username)
        s.add(Setting(key="viability_note", value="64 %"))
    docs = tmp_path / "issued"
    docs.mkdir()
    with db.session() as s:
        data = build_release_data(s, p.qa, lot_id)
        issued = issue(
            s,
            p.qa,
            kind="release",
            record_type="lot",
            record_id=lot_id,
            data=data,
            render=render_release,
            out_path=docs / "release.pdf",
            key_dir=signing.default_key_dir(),
        )
    head = signing.printed_chain_head((docs / "release.pdf").read_bytes())
    assert head is not None
    with db.reader() as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.seq == head[0])).one()
        assert event.hash == head[1]
        assert event.entity == "setting"  # the last event before the issue's own
    assert f"Audit trail at issue: event #{head[0]} · {head[1]}" in text(
        (docs / "release.pdf").read_bytes()
    )
    assert issued.document_id
    runner = CliRunner()
    as_qa = ["--as", "qa", "--password-stdin"]
    result = runner.invoke(
        app,
        ["--db", db.url, "audit", "verify", *as_qa, "--documents", str(docs)],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert f"1 of 1 document(s) in {docs} checked" in result.output

    # Recompute the chain after changing the note, and remove every checkpoint (rows and
    # file): the document printed at issue still holds the old head.
    rewrite_record(
        db,
        Setting.__table__,  # type: ignore[attr-defined]
        {"key": "viability_note"},
        {"value": "91 %"},
    )
    tamper(db, "DELETE FROM audit_checkpoint")
    for path in checkpoint_dir.iterdir():
        path.unlink()
    plain = runner.invoke(app, ["--db", db.url, "audit", "verify", *as_qa], input=PASSWORD + "\n")
    assert plain.exit_code == 0, plain.output
    result = runner.invoke(
        app,
        ["--db", db.url, "audit", "verify", *as_qa, "--documents", str(docs)],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 1
    assert (
        f"audit event #{head[0]}: the chain was recomputed: its hash differs from the "
        "chain head printed in release.pdf"
    ) in result.output


def test_every_document_kind_prints_the_chain_head_it_was_issued_at() -> None:
    from certificates.label import render_label
    from certificates.zpl_label import render_label_zpl
    from tests.certificates import samples
    from tests.certificates.zpl import texts

    head = "ab" * 32
    label = dataclasses.replace(samples.label_data(), chain_seq=1234, chain_hash=head)
    assert f"audit #1234 {head[:16]}" in text(render_label(label))
    assert signing.printed_chain_head(render_label(label)) == (1234, head)
    assert f"Audit #1234 {head[:16]}" in texts(render_label_zpl(label))
    release = dataclasses.replace(samples.release_data(), chain_seq=7, chain_hash=head)
    assert f"Audit trail at issue: event #7 · {head}" in text(render_release(release))
    assert release.content_sha256 == samples.release_data().content_sha256  # not content
