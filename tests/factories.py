"""A scenario (site, reagents, one person per role) on the test database."""

from __future__ import annotations

from collections.abc import Callable

from lottrack.demo.scenario import Cast, Scenario
from lottrack.records.permissions import CurrentUser
from lottrack.storage.db import Database
from tests.conftest import PASSWORD

ROLES = {
    "technician": ("technician",),
    "qa": ("qa",),
    "qa2": ("qa",),
    "pharmacist": ("pharmacist",),
    "pharmacist2": ("pharmacist",),
    "clinician": ("clinician",),
    "investigator": ("clinician", "investigator"),
}


def make_scenario(
    db: Database, admin: CurrentUser, make_user: Callable[..., CurrentUser]
) -> Scenario:
    """Everything a subject's journey needs, created through the services."""
    people = {"admin": admin}
    passwords = {"admin": "root-password-1"}
    for key, roles in ROLES.items():
        people[key] = make_user(*roles, username=key)
        passwords[key] = PASSWORD
    return Scenario.create(db, Cast(people, passwords))
