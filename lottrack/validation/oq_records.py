"""Operational qualification: separation of duties, blinded documents, signatures, the
audit trail, backup and restore — on the scratch database, through the real services.

The checks run in this order and build on each other: A's MSC bag and C's placebo bag
are dispensed (separation of duties), their labels compared (blinding), A's dispensing
then changed (signature invalidation), and the database copied (backup, restore) and a
copy edited behind the program's back (audit tamper detection).
"""

from __future__ import annotations

import dataclasses
import shutil

from sqlalchemy import text
from sqlmodel import col, select

from lottrack.kernel.errors import LotTrackError
from lottrack.records import signatures
from lottrack.storage import audit
from lottrack.storage.backup import backup
from lottrack.storage.db import Database
from lottrack.storage.models import Dispensing, Infusion, ProductUnit, Signature, Subject
from lottrack.trial import dispensing, ward
from lottrack.validation.catalogue import Step, check, step
from lottrack.validation.scratch import Scratch
from lottrack.views.documents.blinded_builders import build_label_data
from lottrack.views.documents.data import DinText

LABEL_IDENTIFIERS = frozenset(
    {
        "din",
        "product_code",
        "kit_code",
        "subject_code",
        "date_of_birth",
        "document_id",
        "expires_at",
    }
)
"""What may differ between the labels of two bags: identifiers and the use-by time."""


@check("OQ-SOD-01", "the preparer cannot second-verify their own dispensing", "URS-SOD-01")
def second_person(scratch: Scratch) -> list[Step]:
    """A's MSC bag is dispensed by one pharmacist; the same person's verification is
    refused and nothing stored; another pharmacist's is accepted."""
    a = scratch.subjects["A"]
    with scratch.db.session() as s:
        prep = dispensing.prepare(
            s,
            scratch.who("pharmacist"),
            scratch.cast.creds("pharmacist"),
            visit_id=a.visits[0],
            unit_id=a.bag_id,
        )
    scratch.notes["dispensing_A"] = prep.dispensing_id
    message = "accepted"
    try:
        with scratch.db.session() as s:
            dispensing.second_verify(
                s, scratch.who("pharmacist"), scratch.cast.creds("pharmacist"), prep.dispensing_id
            )
    except LotTrackError as exc:
        message = exc.message
    with scratch.db.reader() as s:
        row = s.get(Dispensing, prep.dispensing_id)
        verified_by = row.verified_by if row else None
    steps = [
        step("the preparer's own verification is refused", message, message != "accepted"),
        step("the dispensing stays unverified", f"verified by {verified_by}", verified_by is None),
    ]
    with scratch.db.session() as s:
        dispensing.second_verify(
            s, scratch.who("pharmacist2"), scratch.cast.creds("pharmacist2"), prep.dispensing_id
        )
    with scratch.db.reader() as s:
        row = s.get(Dispensing, prep.dispensing_id)
        verified_by = row.verified_by if row else None
    steps.append(
        step(
            "another pharmacist's verification is accepted",
            f"verified by user #{verified_by}",
            verified_by == scratch.who("pharmacist2").id,
        )
    )
    return steps


@check("OQ-BED-01", "the bedside check refuses a wrong identifier or kit code", "URS-DISP-01")
def bedside(scratch: Scratch) -> list[Step]:
    """A's verified bag at the bedside: a wrong date of birth and a wrong kit code are
    refused with nothing stored; the right identifiers are accepted."""
    a = scratch.subjects["A"]
    with scratch.db.reader() as s:
        subject = s.get(Subject, a.id)
        unit = s.get(ProductUnit, a.bag_id)
        assert subject is not None and unit is not None
        code, born, kit = subject.code, subject.date_of_birth, unit.kit_code
    steps = []
    for what, dob, kit_code in (
        ("a wrong date of birth", born.replace(year=born.year - 1), kit),
        ("a wrong kit code", born, "K-WRONG234"),
    ):
        message = "accepted"
        try:
            with scratch.db.session() as s:
                ward.bedside_check(
                    s,
                    scratch.who("clinician"),
                    visit_id=a.visits[0],
                    subject_code=code,
                    date_of_birth=dob,
                    kit_code=kit_code,
                )
        except LotTrackError as exc:
            message = exc.message
        with scratch.db.reader() as s:
            stored = s.exec(
                select(Infusion)
                .join(Dispensing, col(Dispensing.id) == col(Infusion.dispensing_id))
                .where(Dispensing.visit_id == a.visits[0])
            ).first()
        steps.append(
            step(
                f"{what} is refused, nothing stored",
                message,
                message != "accepted" and stored is None,
            )
        )
    with scratch.db.session() as s:
        infusion_id = ward.bedside_check(
            s,
            scratch.who("clinician"),
            visit_id=a.visits[0],
            subject_code=code,
            date_of_birth=born,
            kit_code=kit,
        )
    steps.append(
        step(
            "the right subject code, date of birth and kit code are accepted",
            f"infusion #{infusion_id} opened",
            infusion_id > 0,
        )
    )
    return steps


def _differences(left: object, right: object) -> list[str]:
    return [
        f.name
        for f in dataclasses.fields(left)  # type: ignore[arg-type]
        if getattr(left, f.name) != getattr(right, f.name)
    ]


@check(
    "OQ-BLIND-01", "labels of an MSC and a placebo bag differ only in identifiers", "URS-BLIND-01"
)
def label_parity(scratch: Scratch) -> list[Step]:
    """C's placebo visit is dispensed; the ward's labels of A's MSC bag and C's placebo
    bag are compared field by field."""
    c = scratch.subjects["C"]
    scratch.scenario.dispense(c.visits[0])
    with scratch.db.reader() as s:
        units = [
            s.exec(select(Dispensing.unit_id).where(Dispensing.visit_id == visit)).one()
            for visit in (scratch.subjects["A"].visits[0], c.visits[0])
        ]
        labels = [build_label_data(s, scratch.who("clinician"), unit) for unit in units]
    differing = _differences(*labels)
    blind = [n for n in differing if n not in LABEL_IDENTIFIERS]
    msc, placebo = labels
    window = [label.expires_at for label in labels]
    return [
        step(
            "only identifiers and the use-by differ", ", ".join(differing) or "nothing", not blind
        ),
        step(
            "both DINs are well-formed with their check characters",
            f"{msc.din.eye_readable} {msc.din.check} / "
            f"{placebo.din.eye_readable} {placebo.din.check}",
            all(DinText.of(d.code + d.check) == d for d in (msc.din, placebo.din)),
        ),
        step(
            "the same product name, statements and volume",
            f"{msc.product_name!r}, {msc.volume_ml:g} mL / {placebo.volume_ml:g} mL",
            msc.product_name == placebo.product_name and msc.volume_ml == placebo.volume_ml,
        ),
        step(
            "use-by times are set for both",
            " / ".join(w.isoformat() for w in window),
            all(w.tzinfo is not None for w in window),
        ),
    ]


@check(
    "OQ-SIG-01",
    "a change to a signed dispensing invalidates its signature",
    "URS-SIG-01",
    "URS-AUD-01",
)
def invalidation(scratch: Scratch) -> list[Step]:
    """A's dispensing (signed dose-verified and second-verified) is changed with a reason."""
    dispensing_id = scratch.notes["dispensing_A"]

    def valid() -> list[bool]:
        with scratch.db.reader() as s:
            row = s.get(Dispensing, dispensing_id)
            assert row is not None
            content = dispensing.dispensing_content(s, row)
            sigs = s.exec(
                select(Signature).where(
                    Signature.record_type == "dispensing", Signature.record_id == dispensing_id
                )
            ).all()
            return [signatures.view(sig, content).valid for sig in sigs]

    before = valid()
    with scratch.db.session() as s:
        row = s.get(Dispensing, dispensing_id)
        assert row is not None
        audit.set_actor(s, scratch.who("pharmacist").id, scratch.who("pharmacist").username)
        with audit.reason(s, "validation: a change after signing"):
            row.weight_kg = row.weight_kg + 1.0
    after = valid()
    return [
        step("both signatures valid before the change", before, len(before) == 2 and all(before)),
        step("both signatures invalidated after it", after, len(after) == 2 and not any(after)),
    ]


@check("OQ-BAK-01", "backup, restore, and the restored trail verifies", "URS-BAK-01", "URS-AUD-01")
def backup_restore(scratch: Scratch) -> list[Step]:
    """An online backup of the scratch database, restored as a new database file."""
    copy = scratch.folder / "backup.db"
    result = backup(scratch.db.url, copy)
    restored_path = scratch.folder / "restored.db"
    shutil.copyfile(copy, restored_path)
    restored = Database(f"sqlite:///{restored_path}")
    counts = [_row_counts(d) for d in (scratch.db, restored)]
    with restored.engine.connect() as conn:
        report = audit.verify(conn)
    restored.engine.dispose()
    scratch.notes["backup_bytes"] = result.bytes
    return [
        step("the backup is written", f"{result.bytes} bytes ({result.method})", result.bytes > 0),
        step(
            "the restored database holds every record", _summary(counts[1]), counts[0] == counts[1]
        ),
        step(
            "its audit trail verifies",
            f"{report.events} events, {len(report.problems)} problem(s)",
            report.ok,
        ),
    ]


def _row_counts(db: Database) -> dict[str, int]:
    with db.engine.connect() as conn:
        return {
            t.name: int(conn.execute(text(f'SELECT COUNT(*) FROM "{t.name}"')).scalar_one())
            for t in audit.audited_tables()
        }


def _summary(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {n}" for name, n in sorted(counts.items()) if n)


@check("OQ-AUD-01", "an edit made behind the program's back is reported", "URS-AUD-01")
def tamper(scratch: Scratch) -> list[Step]:
    """A copy of the scratch database has a subject's initials changed with plain SQL;
    the audit check of the copy names the table and the id, the original stays intact."""
    tampered_path = scratch.folder / "tampered.db"
    shutil.copyfile(scratch.folder / "backup.db", tampered_path)
    tampered = Database(f"sqlite:///{tampered_path}")
    subject_id = scratch.subjects["A"].id
    with tampered.engine.begin() as conn:
        conn.execute(text("UPDATE subject SET initials = 'ZZ' WHERE id = :id"), {"id": subject_id})
    with tampered.engine.connect() as conn:
        report = audit.verify(conn)
    tampered.engine.dispose()
    with scratch.db.engine.connect() as conn:
        original = audit.verify(conn)
    named = [p for p in report.problems if "subject" in p and str(subject_id) in p]
    return [
        step(
            f"the copy is reported broken at subject {subject_id}",
            "; ".join(report.problems)[:300] or "intact",
            not report.ok and bool(named),
        ),
        step(
            "the original verifies",
            f"{original.events} events, intact"
            if original.ok
            else "; ".join(original.problems)[:300],
            original.ok,
        ),
    ]
