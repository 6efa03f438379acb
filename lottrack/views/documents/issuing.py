"""Issuing a record's document: the one path the command line and the screens both take.

:func:`issue_document` builds the data of a kind of document for its record, issues it
(:func:`lottrack.views.documents.issue.issue`: copy number, signature, audit, file) and, for a
label, sends it to a thermal printer when one is named. The caller brings only what the
core may not import: the renderer of the ``certificates`` package.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlmodel import Session

from lottrack.kernel.errors import ValidationError
from lottrack.kernel.private_files import private_dir
from lottrack.records.permissions import CurrentUser
from lottrack.views.documents.blinded_builders import build_infusion_data, build_label_data
from lottrack.views.documents.builders import build_release_data
from lottrack.views.documents.data import DocumentData
from lottrack.views.documents.issue import IssuedDocument, Renderer, issue

Builder = Callable[[Session, CurrentUser, int], DocumentData]

RECORDS: dict[str, tuple[str, Builder]] = {
    "release": ("lot", build_release_data),
    "infusion": ("infusion", build_infusion_data),
    "label": ("product_unit", build_label_data),
}
"""For each kind of document: the type of record it belongs to and its data builder."""


def issue_document(
    session: Session,
    who: CurrentUser,
    *,
    kind: str,
    record_id: int,
    render: Renderer[Any],
    out_path: Path | Callable[[int], Path] | None,
    key_dir: Path | None,
    reason: str = "",
    file_format: str = "pdf",
    printer: str | None = None,
    make_folder: bool = False,
) -> IssuedDocument:
    """Issue the ``kind`` document of record ``record_id`` (in the caller's write session).

    ``out_path`` is the file, or a function of the copy number that names it (so a reprint
    lands beside the original); with ``make_folder`` its folder is created owner-only. A
    label is then sent to ``printer`` (``HOST:PORT``) when given, before the caller
    commits: a printer that cannot be reached leaves no record of a label never printed.
    """
    if kind not in RECORDS:
        raise ValidationError(f"Kind: {kind!r} is not one of {', '.join(RECORDS)}.", field="kind")
    record_type, build = RECORDS[kind]

    def path_for(copy: int) -> Path:
        path = Path(out_path(copy) if callable(out_path) else out_path or "")
        if make_folder:
            private_dir(path.parent)
        return path

    data = build(session, who, record_id)
    issued = issue(
        session,
        who,
        kind=kind,
        record_type=record_type,
        record_id=record_id,
        data=data,
        render=render,
        out_path=path_for if out_path else None,
        key_dir=key_dir,
        reason=reason,
        file_format=file_format,
    )
    if printer is not None:
        from lottrack.views.documents.printer import send_raw

        send_raw(printer, issued.content)
    return issued
