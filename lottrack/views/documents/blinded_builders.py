"""Build the data objects of the blinded documents (design §7, §9): the infusion
certificate and the bag label, and finding a dispensed bag by what a blinded reader has.

They read the bag but copy nothing into the document that differs by arm: no kind, no
lot or reagent lot, no product code or division, no cell count or dose.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from lottrack.kernel.errors import InvalidTransition, LotTrackError, NotFound
from lottrack.records import signatures
from lottrack.records.permissions import Action, CurrentUser, authorize
from lottrack.storage import settings
from lottrack.storage.models import (
    Dispensing,
    DispensingCheck,
    Infusion,
    ProductUnit,
    Subject,
    Visit,
)
from lottrack.trial.dispensing import blinded_use_by
from lottrack.trial.ward import administration_content
from lottrack.views.documents.builders import (
    full_names,
    get_row,
    manifestation,
    site_fields,
    site_of,
)
from lottrack.views.documents.data import (
    BagLabelData,
    BedsideCheck,
    DinText,
    InfusionCertificateData,
    SignatureManifestation,
)

BLINDED_PRODUCT_NAME = (
    "Blinded investigational product (MSC or placebo), suspension for intravenous infusion"
)
"""The only product name blinded documents print, whatever the bag holds."""
UNLABELLABLE = frozenset({"destroyed", "expired"})


def _dispensing_signature(
    session: Session, signature_id: int | None, dispensing: Dispensing
) -> SignatureManifestation | None:
    if signature_id is None:
        return None
    signature = session.get(signatures.Signature, signature_id)
    if signature is None:
        return None
    # The pharmacy service defines what its signatures cover.
    from lottrack.trial.dispensing import dispensing_content

    return manifestation(signatures.view(signature, dispensing_content(session, dispensing)))


def _release_reference(session: Session, dispensing: Dispensing) -> str:
    """How the product's release was confirmed, worded alike for both arms (the check's
    detail names a lot or a reagent lot, so it is never printed)."""
    passed = {
        c.stage
        for c in session.exec(
            select(DispensingCheck).where(
                DispensingCheck.dispensing_id == dispensing.id,
                DispensingCheck.number == 2,
                col(DispensingCheck.passed).is_(True),
            )
        ).all()
    }
    if "prepare" not in passed:
        raise LotTrackError(
            "The dispensing of this infusion has no passed release check; "
            "no certificate is issued.",
            title="Release not confirmed",
        )
    second = (
        "and at second verification" if "verify" in passed else "(second verification not recorded)"
    )
    return f"Release status confirmed by the pharmacy at dispensing (check 2) {second}"


def build_infusion_data(
    session: Session, who: CurrentUser, infusion_id: int
) -> InfusionCertificateData:
    """The infusion certificate of one infusion (blinded)."""
    authorize(session, who, Action.ISSUE_BLINDED_DOCUMENTS)
    infusion = get_row(session, Infusion, infusion_id, "infusion")
    dispensing = get_row(session, Dispensing, infusion.dispensing_id, "dispensing")
    visit = get_row(session, Visit, dispensing.visit_id, "visit")
    unit = get_row(session, ProductUnit, dispensing.unit_id, "bag")
    subject = get_row(session, Subject, visit.subject_id, "subject")
    if unit.subject_id != subject.id:
        raise LotTrackError(
            "The bag of this infusion belongs to another subject than the "
            "visit (chain of identity); no certificate is issued.",
            title="Chain of identity broken",
        )
    site = site_of(session, subject)
    names = full_names(session, (infusion.identity_checked_by, infusion.administered_by))
    week = 0 if visit.period == 1 else settings.get_int(session, "period2_week")
    return InfusionCertificateData(
        **site_fields(site),
        subject_code=subject.code,
        date_of_birth=subject.date_of_birth,
        visit_period=visit.period,
        visit_week=week,
        kit_code=unit.kit_code,
        din=DinText.of(unit.din),
        product_name=BLINDED_PRODUCT_NAME,
        volume_ml=unit.volume_ml,
        expires_at=blinded_use_by(dispensing, unit),
        storage=unit.storage,
        release_reference=_release_reference(session, dispensing),
        dose_verification=_dispensing_signature(
            session, dispensing.prepared_signature_id, dispensing
        ),
        second_verification=_dispensing_signature(
            session, dispensing.verified_signature_id, dispensing
        ),
        bedside_check=BedsideCheck(
            ("subject code", "date of birth"),
            unit.kit_code,
            names.get(infusion.identity_checked_by, "unknown"),
            infusion.identity_checked_at,
        ),
        infusion_started_at=infusion.started_at,
        infusion_ended_at=infusion.ended_at,
        administered_by=(
            names.get(infusion.administered_by) if infusion.administered_by is not None else None
        ),
        administration=_administration_signature(session, infusion),
        reactions=infusion.reactions,
        reaction_grade=infusion.reaction_grade,
    )


def _administration_signature(
    session: Session, infusion: Infusion
) -> SignatureManifestation | None:
    """The ``administered`` signature as it stands now against the infusion record."""
    signature = (
        session.get(signatures.Signature, infusion.signature_id)
        if infusion.signature_id is not None
        else None
    )
    if signature is None:
        return None
    return manifestation(
        signatures.view(
            signature,
            administration_content(
                infusion,
                ended_at=infusion.ended_at,
                reactions=infusion.reactions,
                grade=infusion.reaction_grade,
            ),
        )
    )


BLINDED_BAG_REFERENCE = (
    "give the kit code that the dispensed visit shows (blinded staff "
    "reach a bag only through its dispensed visit)"
)


def _no_dispensed_bag(text: str) -> NotFound:
    return NotFound(f'No dispensed bag "{text}": {BLINDED_BAG_REFERENCE}.')


def find_unit(session: Session, who: CurrentUser, text: str) -> int:
    """A bag's id from its kit code (or, for the unblinded pharmacy, its id).

    Blinded staff reach a bag only through a dispensed visit: a bag id, a kit code that
    does not exist and a kit code of a bag not dispensed yet are refused in the same words,
    so that nobody can tell MSC bags (which exist before dispensing) from anything else.
    """
    authorize(session, who, Action.ISSUE_BLINDED_DOCUMENTS)
    text = text.strip()
    if who.unblinded and text.isdigit():
        return int(text)
    unit_id = session.exec(
        select(ProductUnit.id).where(ProductUnit.kit_code == text.upper())
    ).first()
    if unit_id is not None and (who.unblinded or _dispensing_of(session, unit_id)):
        return unit_id
    if who.unblinded:
        raise NotFound(f'No bag with kit code "{text}".')
    raise _no_dispensed_bag(text)


def _dispensing_of(session: Session, unit_id: int) -> Dispensing | None:
    return session.exec(select(Dispensing).where(Dispensing.unit_id == unit_id)).first()


def build_label_data(session: Session, who: CurrentUser, unit_id: int) -> BagLabelData:
    """The label of one bag (blinded); blinded staff only of a dispensed bag."""
    authorize(session, who, Action.ISSUE_BLINDED_DOCUMENTS)
    unit = session.get(ProductUnit, unit_id)
    dispensing = _dispensing_of(session, unit_id) if unit is not None else None
    if not who.unblinded and dispensing is None:
        raise _no_dispensed_bag(f"#{unit_id}")
    unit = get_row(session, ProductUnit, unit_id, "bag")
    if unit.status in UNLABELLABLE:
        raise InvalidTransition(f"Cannot label bag {unit.kit_code}: it is {unit.status}.")
    if dispensing is None:
        raise InvalidTransition(
            f"Cannot label bag {unit.kit_code} yet: the blinded label is "
            "printed when the bag is dispensed (it carries the dispensing's "
            "use-by time)."
        )
    subject = get_row(session, Subject, unit.subject_id, "subject")
    site = site_of(session, subject)
    return BagLabelData(
        **site_fields(site),
        din=DinText.of(unit.din),
        product_code=unit.product_code,
        product_name=BLINDED_PRODUCT_NAME,
        subject_code=subject.code,
        date_of_birth=subject.date_of_birth,
        volume_ml=unit.volume_ml,
        expires_at=blinded_use_by(dispensing, unit),
        storage_temperature=unit.storage,
        kit_code=unit.kit_code,
    )
