"""Issuing, reprinting and verifying documents; the facility signature; atomic writes."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import col, select
from typer.testing import CliRunner

from certificates.label import render_label
from certificates.release import render_release
from lottrack.cli.certificates import certificate_app
from lottrack.cli.common import State
from lottrack.kernel.errors import Conflict, PermissionDenied, ValidationError
from lottrack.kernel.private_files import FileRefused, write_private
from lottrack.records.permissions import CurrentUser
from lottrack.storage import audit
from lottrack.storage.db import Database
from lottrack.storage.models import AuditEvent, Certificate, utcnow
from lottrack.views.documents import signing
from lottrack.views.documents.builders import build_release_data
from lottrack.views.documents.issue import (
    IssuedDocument,
    document_id_for,
    document_salt,
    issue,
    verify_file,
)
from lottrack.views.documents.issuing import issue_document
from tests.certificates import records, samples
from tests.certificates.pdftext import pages
from tests.conftest import PASSWORD, verify_ok


@pytest.fixture(scope="module")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A facility key for the module's tests."""
    directory = tmp_path_factory.mktemp("keys")
    signing.ensure_facility_key(directory, facility_name="Demo University Hospital")
    return directory


def _salt(db: Database) -> bytes:
    with db.session() as s:
        return document_salt(s)


def test_issue_reprint_verify_and_validate(
    db: Database, make_user: Callable[..., CurrentUser], key_dir: Path, tmp_path: Path
) -> None:
    p = records.people(make_user)
    site_id = records.site(db, p.tech)
    subject_id, harvest_id = records.subject(db, p.tech, site_id, 3)
    lot_id, _ = records.manufactured_lot(db, p.tech, subject_id, harvest_id)
    records.release(db, p, lot_id)
    out = tmp_path / "out"
    out.mkdir()
    original, reprint = out / "release.pdf", out / "release-copy.pdf"

    def issue_release(
        who: CurrentUser, out: Path, *, keys: Path = key_dir, reason: str = ""
    ) -> IssuedDocument:
        with db.session() as s:
            data = build_release_data(s, p.qa, lot_id)
            return issue(
                s,
                who,
                kind="release",
                record_type="lot",
                record_id=lot_id,
                data=data,
                render=render_release,
                out_path=out,
                key_dir=keys,
                reason=reason,
            )

    with pytest.raises(signing.SigningKeyMissing, match="lottrack init"):
        issue_release(p.qa, original, keys=tmp_path / "no-keys")
    with pytest.raises(PermissionDenied):
        issue_release(p.tech, original)
    assert not original.exists()

    first = issue_release(p.qa, original)
    assert first.copy_number == 0
    assert first.document_id == document_id_for("release", "lot", lot_id, 0, salt=_salt(db))
    assert sorted(x.name for x in out.iterdir()) == ["release.pdf"]  # no temp file left
    first_page = pages(original.read_bytes())[0]
    assert "COPY" not in first_page
    assert first.document_id in first_page

    with pytest.raises(ValidationError, match="reprint"):
        issue_release(p.qa, reprint)
    second = issue_release(p.pharm, reprint, reason="original damaged at the bedside")
    assert second.copy_number == 1
    assert second.document_id.endswith("-01")
    assert second.content_sha256 == first.content_sha256
    assert "COPY — REPRINT OF AN ISSUED DOCUMENT" in pages(reprint.read_bytes())[0]

    with db.reader() as s:
        rows = s.exec(select(Certificate).order_by(col(Certificate.id))).all()
        assert [(r.kind, r.record_id, r.copy_number, r.issued_by) for r in rows] == [
            ("release", lot_id, 0, p.qa.id),
            ("release", lot_id, 1, p.pharm.id),
        ]
        events = s.exec(
            select(AuditEvent)
            .where(AuditEvent.entity == "certificate")
            .order_by(col(AuditEvent.seq))
        ).all()
        assert [e.action for e in events] == ["insert", "issue", "insert", "reprint"]
        assert events[-1].reason == "original damaged at the bedside"
        assert json.loads(events[-1].changes)["copy_number"] == 1
        assert events[-1].username == "pharm"

        good = verify_file(s, original)
        assert good.ok
        assert good.copy_number == 0
        assert good.document_id == first.document_id
        assert "the original" in good.message
        assert "Quinn Quality" in good.message
        again = verify_file(s, reprint)
        assert again.ok
        assert "reprint copy 1" in again.message

        tampered = out / "tampered.pdf"
        content = bytearray(original.read_bytes())
        content[len(content) // 3] ^= 0x01
        tampered.write_bytes(bytes(content))
        assert not verify_file(s, tampered).ok
        assert not verify_file(s, out / "missing.pdf").ok

    cert = signing.key_paths(key_dir)[1]
    assert signing.validate_signature(original.read_bytes(), cert)
    assert signing.validate_signature(reprint.read_bytes(), cert)
    assert not signing.validate_signature(tampered.read_bytes(), cert)
    assert not signing.validate_signature(render_label(samples.label_data()), cert)

    # The command line: a reprint needs --reason; verify exits 0 or 1.
    runner = CliRunner()
    args = [
        "release",
        "L-24-0001",
        "-o",
        str(out / "cli.pdf"),
        "--as",
        "pharm",
        "--password-stdin",
        "--key-dir",
        str(key_dir),
    ]
    refused = runner.invoke(certificate_app, args, obj=State(db_url=db.url), input=PASSWORD + "\n")
    assert refused.exit_code == 2
    assert "needs a reason" in refused.output
    printed = runner.invoke(
        certificate_app,
        [*args, "--reason", "copy for the ward file"],
        obj=State(db_url=db.url),
        input=PASSWORD + "\n",
    )
    assert printed.exit_code == 0, printed.output
    assert "(COPY 2)" in printed.output
    ok = runner.invoke(certificate_app, ["verify", str(out / "cli.pdf")], obj=State(db_url=db.url))
    assert ok.exit_code == 0, ok.output
    assert "reprint copy 2" in ok.output
    bad = runner.invoke(certificate_app, ["verify", str(tampered)], obj=State(db_url=db.url))
    assert bad.exit_code == 1
    assert "NOT a document as issued" in bad.output

    # Another terminal took the next document id first: nothing is written.
    with db.session() as s:
        audit.set_actor(s, p.qa.id, p.qa.username)
        s.add(
            Certificate(
                kind="label",
                record_type="product_unit",
                record_id=999_999,
                document_id=document_id_for("release", "lot", lot_id, 3, salt=_salt(db)),
                file_sha256="0" * 64,
                copy_number=0,
                issued_at=utcnow(),
                issued_by=p.qa.id,
            )
        )
    third = out / "third.pdf"
    with pytest.raises(Conflict):
        issue_release(p.qa, third, reason="raced")
    assert not third.exists()
    verify_ok(db)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_kind_and_data_must_match(
    db: Database, make_user: Callable[..., CurrentUser], key_dir: Path, tmp_path: Path
) -> None:
    qa = make_user("qa")
    with db.session() as s, pytest.raises(TypeError, match="BagLabelData"):
        issue(
            s,
            qa,
            kind="label",
            record_type="product_unit",
            record_id=1,
            data=samples.release_data(),
            render=render_release,
            out_path=tmp_path / "x.pdf",
            key_dir=key_dir,
        )
    with db.session() as s, pytest.raises(ValidationError, match="Kind"):
        issue(
            s,
            qa,
            kind="poster",
            record_type="lot",
            record_id=1,
            data=samples.release_data(),
            render=render_release,
            out_path=tmp_path / "x.pdf",
            key_dir=key_dir,
        )


def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "label.pdf"
    target.write_bytes(b"old")

    def crash(*_args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(FileRefused, match="disk full"):
        write_private(target, b"new content")
    assert target.read_bytes() == b"old"
    assert [x.name for x in tmp_path.iterdir()] == ["label.pdf"]
    monkeypatch.undo()
    write_private(target, b"new content")
    assert target.read_bytes() == b"new content"
    assert oct(target.stat().st_mode & 0o777) == "0o600"


def test_facility_key_is_created_once_and_kept(tmp_path: Path) -> None:
    key, cert = signing.ensure_facility_key(tmp_path / "k")
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    before = key.read_bytes(), cert.read_bytes()
    assert signing.ensure_facility_key(tmp_path / "k") == (key, cert)
    assert (key.read_bytes(), cert.read_bytes()) == before
    cert.unlink()
    with pytest.raises(Exception, match="half of a facility key"):
        signing.ensure_facility_key(tmp_path / "k")


def test_unsigned_render_is_reproducible_and_signing_is_not(key_dir: Path) -> None:
    pdf = render_label(samples.label_data())
    assert render_label(samples.label_data()) == pdf
    key, cert = signing.key_paths(key_dir)
    signed = signing.sign_pdf(pdf, key, cert)
    assert signed.startswith(pdf)  # an incremental update: the rendered bytes stay intact
    assert signing.validate_signature(signed, cert)


def test_a_reprint_file_is_named_by_the_copy_number_the_core_decides(
    db: Database, make_user: Callable[..., CurrentUser], key_dir: Path, tmp_path: Path
) -> None:
    """The screens and the CLI issue through one function; the file of each copy is
    named from the copy number issue() records, in a folder made owner-only."""
    p = records.people(make_user)
    site_id = records.site(db, p.tech)
    subject_id, harvest_id = records.subject(db, p.tech, site_id, 4)
    lot_id, _ = records.manufactured_lot(db, p.tech, subject_id, harvest_id)
    records.release(db, p, lot_id)
    folder = tmp_path / "documents"
    issued = []
    for reason in ("", "torn"):
        with db.session() as s:
            issued.append(
                issue_document(
                    s,
                    p.qa,
                    kind="release",
                    record_id=lot_id,
                    render=render_release,
                    out_path=lambda copy: folder / f"release-{copy}.pdf",
                    key_dir=key_dir,
                    reason=reason,
                    make_folder=True,
                )
            )
    assert [(i.copy_number, i.path) for i in issued] == [
        (0, folder / "release-0.pdf"),
        (1, folder / "release-1.pdf"),
    ]
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    with db.reader() as s:
        assert [verify_file(s, folder / f"release-{n}.pdf").copy_number for n in (0, 1)] == [0, 1]
    with db.session() as s, pytest.raises(ValidationError) as unknown:
        issue_document(
            s,
            p.qa,
            kind="receipt",
            record_id=lot_id,
            render=render_release,
            out_path=folder / "x.pdf",
            key_dir=key_dir,
        )
    assert unknown.value.message == "Kind: 'receipt' is not one of release, infusion, label."
