"""Every free-text field goes through the one free-text rule (lottrack.kernel.inputs): reactions,
printed names, reasons and sources are refused with control or invisible characters, the
message naming the field, and nothing stored."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlmodel import select

from lottrack.demo.scenario import Scenario
from lottrack.kernel.errors import ValidationError
from lottrack.records import accounts
from lottrack.records.permissions import CurrentUser
from lottrack.storage.db import Database
from lottrack.storage.models import Infusion, User, utcnow
from lottrack.trial import ward
from lottrack.trial.allocation import PLACEBO_FIRST


@pytest.mark.parametrize("reactions", ["fever\x1b[31m", "rash\u200b", "chills\x00"])
def test_reactions_with_hidden_characters_are_refused_and_nothing_stored(
    sc: Scenario, reactions: str
) -> None:
    subject = sc.subject("TLS-701", dt.date(1970, 1, 1))
    lot_id, _ = sc.made_lot(subject)
    sc.release(lot_id)
    v1, _ = sc.enrol(subject, PLACEBO_FIRST, utcnow().date())
    sc.dispense(v1)
    nurse = sc.cast.who("clinician")
    with sc.db.reader() as s:
        view = ward.ward_visit(s, nurse, v1)
    with sc.db.session() as s:
        infusion_id = ward.bedside_check(
            s,
            nurse,
            visit_id=v1,
            subject_code=view.subject_code,
            date_of_birth=view.date_of_birth,
            kit_code=view.kit_code or "",
        )
    with sc.db.session() as s:
        ward.start_infusion(s, nurse, infusion_id, utcnow())
    with pytest.raises(ValidationError, match="Reactions") as info, sc.db.session() as s:
        ward.end_infusion(
            s,
            nurse,
            sc.cast.creds("clinician"),
            infusion_id,
            ended_at=utcnow(),
            reactions=reactions,
            reaction_grade=1,
        )
    assert "control or invisible characters" in info.value.message
    with sc.db.reader() as s:
        infusion = s.get(Infusion, infusion_id)
        assert infusion is not None
        assert infusion.ended_at is None
    with sc.db.session() as s:
        ward.end_infusion(
            s,
            nurse,
            sc.cast.creds("clinician"),
            infusion_id,
            ended_at=utcnow(),
            reactions="  transient   fever\n  chills ",
            reaction_grade=1,
        )
    with sc.db.reader() as s:
        infusion = s.get(Infusion, infusion_id)
        assert infusion is not None
        assert infusion.reactions == "transient fever\nchills"


def test_names_and_reasons_of_accounts_follow_the_rule(
    db: Database, admin: CurrentUser, make_user: Callable[..., CurrentUser]
) -> None:
    make_user("qa", username="quinn")
    with pytest.raises(ValidationError, match="Full name") as info, db.session() as s:
        accounts.create_user(
            s,
            admin,
            username="zed",
            full_name="Zed\u202eevil",
            roles=["qa"],
            password="zeds-password-1",
        )
    assert info.value.field == "full_name"
    with pytest.raises(ValidationError, match="Reason"), db.session() as s:
        accounts.set_active(s, admin, "quinn", False, "left\x07")
    with db.reader() as s:
        assert s.exec(select(User).where(User.username == "zed")).first() is None
        assert s.exec(select(User).where(User.username == "quinn")).one().active
