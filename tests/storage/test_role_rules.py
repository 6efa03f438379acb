"""Roles that cannot mix (design §7): the pharmacist is never also clinician or
investigator, the administrator holds no GMP role and cannot change their own roles —
refused in the service and the command line with a clear message, nothing stored."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import text
from sqlmodel import select
from typer.testing import CliRunner

from lottrack.cli import app
from lottrack.demo import database as demo
from lottrack.kernel.errors import PermissionDenied, ValidationError
from lottrack.records import accounts
from lottrack.records.permissions import Action, CurrentUser, authorize, role_conflict
from lottrack.storage.db import Database
from lottrack.storage.models import User
from tests.conftest import PASSWORD
from tests.factories import ROLES as FACTORY_ROLES

MakeUser = Callable[..., CurrentUser]
MIXES = [
    (("pharmacist", "clinician"), "the pharmacist role cannot be combined with clinician"),
    (("pharmacist", "investigator"), "the pharmacist role cannot be combined with investigator"),
    (("pharmacist", "clinician", "investigator"), "with clinician or investigator"),
    (("admin", "qa"), "the admin role cannot be combined with qa"),
    (("admin", "technician"), "the admin role cannot be combined with technician"),
    (("admin", "pharmacist"), "the admin role cannot be combined with pharmacist"),
    (("admin", "clinician"), "the admin role cannot be combined with clinician"),
]


def _stored(db: Database, username: str) -> User | None:
    with db.reader() as s:
        return s.exec(select(User).where(User.username == username)).first()


@pytest.mark.parametrize(("roles", "words"), MIXES)
def test_a_person_cannot_be_created_with_roles_that_mix(
    db: Database, admin: CurrentUser, roles: tuple[str, ...], words: str
) -> None:
    with pytest.raises(ValidationError) as info, db.session() as s:
        accounts.create_user(
            s, admin, username="mixed", full_name="Max Mixed", roles=roles, password=PASSWORD
        )
    assert info.value.field == "roles"
    assert info.value.message.startswith("Roles: ")
    assert words in info.value.message
    assert _stored(db, "mixed") is None


def test_roles_cannot_be_changed_into_a_mix(
    db: Database, admin: CurrentUser, make_user: MakeUser
) -> None:
    make_user("pharmacist", username="pia")
    with (
        pytest.raises(ValidationError, match="cannot be combined with clinician"),
        db.session() as s,
    ):
        accounts.set_roles(s, admin, "pia", ["pharmacist", "clinician"], "covering the ward")
    stored = _stored(db, "pia")
    assert stored is not None
    assert stored.roles == "pharmacist"
    with db.session() as s:  # a clean change is accepted and audited
        accounts.set_roles(s, admin, "pia", ["clinician"], "moved to the ward")
    stored = _stored(db, "pia")
    assert stored is not None
    assert stored.roles == "clinician"


def test_an_admin_cannot_change_their_own_roles(
    db: Database, admin: CurrentUser, make_user: MakeUser
) -> None:
    for roles in (["admin", "qa"], ["qa"], ["admin"]):
        with (
            pytest.raises(PermissionDenied, match="cannot change your own roles"),
            db.session() as s,
        ):
            accounts.set_roles(s, admin, admin.username, roles, "promotion")
    stored = _stored(db, admin.username)
    assert stored is not None
    assert stored.roles == "admin"


def test_a_mixed_account_written_behind_the_programs_back_works_no_more(
    db: Database, make_user: MakeUser
) -> None:
    pia = make_user("pharmacist", username="pia")
    with db.engine.begin() as conn:
        conn.execute(
            text("UPDATE \"user\" SET roles = 'clinician,pharmacist' WHERE username = 'pia'")
        )
    with pytest.raises(PermissionDenied) as info, db.session() as s:
        authorize(s, pia, Action.DISPENSE)
    assert info.value.message == (
        "The account 'pia' holds roles that cannot be combined: the pharmacist role cannot "
        "be combined with clinician for one person (the pharmacist sees the allocation and "
        "must not record blinded observations or request unblinding). An administrator must "
        "correct its roles first."
    )


def test_the_demo_and_the_test_cast_hold_no_mix() -> None:
    for user in demo.DEMO_USERS:
        assert role_conflict(set(user.roles)) is None, user
    for roles in FACTORY_ROLES.values():
        assert role_conflict(set(roles)) is None, roles


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_command_line_refuses_a_mix_and_a_self_change(
    db: Database, admin: CurrentUser, make_user: MakeUser
) -> None:
    runner = CliRunner()
    mixed = runner.invoke(
        app,
        [
            "--db",
            db.url,
            "user",
            "add",
            "max",
            "--name",
            "Max Mixed",
            "--role",
            "pharmacist",
            "--role",
            "investigator",
            "--as",
            admin.username,
            "--password-stdin",
        ],
        input="root-password-1\n" + PASSWORD + "\n" + PASSWORD + "\n",
    )
    assert mixed.exit_code == 2, mixed.output
    assert "the pharmacist role cannot be combined with investigator" in mixed.output
    assert _stored(db, "max") is None
    own = runner.invoke(
        app,
        [
            "--db",
            db.url,
            "user",
            "roles",
            admin.username,
            "--role",
            "qa",
            "--reason",
            "promotion",
            "--as",
            admin.username,
            "--password-stdin",
        ],
        input="root-password-1\n",
    )
    assert own.exit_code != 0
    assert "you cannot change your own roles" in own.output
    make_user("clinician", username="wendy")
    ok = runner.invoke(
        app,
        [
            "--db",
            db.url,
            "user",
            "roles",
            "wendy",
            "--role",
            "clinician",
            "--role",
            "investigator",
            "--reason",
            "trial investigator",
            "--as",
            admin.username,
            "--password-stdin",
        ],
        input="root-password-1\n",
    )
    assert ok.exit_code == 0, ok.output
    stored = _stored(db, "wendy")
    assert stored is not None
    assert stored.roles == "clinician,investigator"
