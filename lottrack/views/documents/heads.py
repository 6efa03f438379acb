"""The audit chain heads printed in issued documents, as anchors of the trail (§6.9).

Every issued PDF prints the head of the audit trail at its issue and carries it in its
metadata; the PDF is signed by the facility key, so a head read from a document whose
signature verifies against the pinned certificate is evidence that the trail once
reached it. ``lottrack audit verify --documents DIR`` holds the trail against them.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection

from lottrack.storage import anchors, audit
from lottrack.views.documents import signing


def printed_heads(
    conn: Connection, directory: Path, report: audit.VerifyReport, *, key_dir: Path | None = None
) -> list[anchors.Anchor]:
    """The chain heads printed in the facility-signed PDFs of ``directory``; a PDF the
    facility did not sign is reported in ``report`` and its head ignored."""
    cert_path = signing.key_paths(key_dir or signing.default_key_dir())[1]
    pinned = anchors.pinned_certificate(conn) or (
        signing.certificate_fingerprint(cert_path) if cert_path.is_file() else None
    )
    found = []
    files = sorted(Path(directory).glob("*.pdf"))
    for path in files:
        content = path.read_bytes()
        problem = (
            signing.facility_signature_problem(content, pinned)
            if pinned
            else "no facility certificate is pinned"
        )
        if problem:
            report.problems.append(
                f"{path}: not issued by this facility ({problem}); its "
                "printed chain head is not evidence"
            )
            continue
        head = signing.printed_chain_head(content)
        if head is None:
            report.notes.append(f"{path.name}: issued before documents printed the chain head")
            continue
        found.append(anchors.Anchor(head[0], head[1], f"the chain head printed in {path.name}"))
    report.notes.append(f"{len(found)} of {len(files)} document(s) in {directory} checked.")
    return found


def verify(conn: Connection, directory: Path | None = None) -> audit.VerifyReport:
    """:func:`lottrack.storage.anchors.verify`, with the heads printed in the documents of
    ``directory`` when one is given."""
    if directory is None:
        return anchors.verify(conn)
    return anchors.verify(conn, more=lambda report: printed_heads(conn, directory, report))
