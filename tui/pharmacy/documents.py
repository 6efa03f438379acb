"""Issuing the blinded documents from the pharmacy and ward screens (design §9).

The bag label is printed by the pharmacy once the bag is dispensed; the infusion
certificate by the ward once the infusion is complete. Both are signed PDFs written to
the documents folder; a second issue is a reprint marked COPY and needs a reason.
"""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session

from lottrack.kernel import environment
from lottrack.records.permissions import CurrentUser
from lottrack.storage.db import default_data_dir
from lottrack.views.documents.issue import IssuedDocument

DOCUMENTS_ENV = environment.DOCUMENTS_DIR
LABEL_PRINTER_ENV = environment.LABEL_PRINTER


def documents_dir() -> Path:
    """``$LOTTRACK_DOCUMENTS_DIR``, else ``documents`` in the user data directory."""
    return environment.read().documents_dir or default_data_dir() / "documents"


def _suffix(copy: int) -> str:
    return f"-COPY{copy}" if copy else ""


def label_path(kit_code: str, copy: int = 0, file_format: str = "pdf") -> Path:
    """Where the label of a bag is written (a reprint beside it, never over it); a ZPL
    label for a thermal printer ends in ``.zpl``."""
    return documents_dir() / f"label-{kit_code}{_suffix(copy)}.{file_format}"


def label_printer() -> str | None:
    """``$LOTTRACK_LABEL_PRINTER`` (``HOST:PORT``): the thermal printer ZPL labels are sent
    to, besides the file; None when unset."""
    return environment.read().label_printer


def infusion_path(kit_code: str, copy: int = 0) -> Path:
    """Where the infusion certificate of the bag's infusion is written (a reprint beside
    it, never over it)."""
    return documents_dir() / f"infusion-{kit_code}{_suffix(copy)}.pdf"


def release_path(lot_number: str, copy: int = 0) -> Path:
    """Where a lot's release certificate is written (a reprint beside it, never over it)."""
    return documents_dir() / f"release-{lot_number}{_suffix(copy)}.pdf"


def issue_release_certificate(
    session: Session, who: CurrentUser, lot_id: int, lot_number: str, reason: str = ""
) -> IssuedDocument:
    """Issue the release certificate of a released lot (in a worker's write session); the
    file name carries the copy number, so a reprint never overwrites the original."""
    from certificates.release import render_release
    from lottrack.views.documents.issuing import issue_document

    return issue_document(
        session,
        who,
        kind="release",
        record_id=lot_id,
        render=render_release,
        out_path=lambda copy: release_path(lot_number, copy),
        key_dir=_key_dir(),
        reason=reason,
        make_folder=True,
    )


def _key_dir() -> Path:
    from lottrack.views.documents.signing import default_key_dir

    return default_key_dir()


def issue_label(
    session: Session,
    who: CurrentUser,
    unit_id: int,
    out: Path,
    reason: str = "",
    *,
    file_format: str = "pdf",
    printer: str | None = None,
) -> IssuedDocument:
    """Issue the label of a bag (in a worker's write session): a signed PDF, or ZPL for a
    thermal printer, then sent to ``printer`` when one is given (before the commit, so a
    printer that cannot be reached records nothing)."""
    if file_format == "zpl":
        from certificates.zpl_label import render_label_zpl as render
    else:
        from certificates.label import render_label as render
    from lottrack.views.documents.issuing import issue_document

    return issue_document(
        session,
        who,
        kind="label",
        record_id=unit_id,
        render=render,
        out_path=out,
        key_dir=_key_dir(),
        reason=reason,
        file_format=file_format,
        printer=printer,
        make_folder=True,
    )


def issue_infusion_certificate(
    session: Session, who: CurrentUser, infusion_id: int, out: Path, reason: str = ""
) -> IssuedDocument:
    """Issue the infusion certificate of an infusion (in a worker's write session)."""
    from certificates.infusion import render_infusion
    from lottrack.views.documents.issuing import issue_document

    return issue_document(
        session,
        who,
        kind="infusion",
        record_id=infusion_id,
        render=render_infusion,
        out_path=out,
        key_dir=_key_dir(),
        reason=reason,
        make_folder=True,
    )
