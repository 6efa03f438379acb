"""Role panes of the home screen, and which role gets which.

To add a pane (for example "Reagent lots" for technicians): subclass
:class:`~tui.panes.base.TablePane` (or :class:`~tui.panes.base.RolePane`) in a module of
this package, implement ``fetch(session, who)`` with a service call that returns plain
values, and add the class to :data:`ROLE_PANES`. The home screen shows one tab per pane
when a person has more than one.
"""

from __future__ import annotations

from collections.abc import Iterable

from lottrack.records.permissions import (
    ADMIN,
    CLINICIAN,
    INVESTIGATOR,
    PHARMACIST,
    QA,
    ROLES,
    TECHNICIAN,
)
from tui.panes.admin import AccountsPane
from tui.panes.base import RolePane, TablePane
from tui.panes.clinician import PatientsPane
from tui.panes.investigator import UnblindedSubjectsPane
from tui.panes.pharmacist import VisitsDuePane
from tui.panes.qa import LotsAwaitingReviewPane
from tui.panes.technician import LotsInProcessPane

ROLE_PANES: dict[str, tuple[type[RolePane], ...]] = {
    TECHNICIAN: (LotsInProcessPane,),
    QA: (LotsAwaitingReviewPane,),
    PHARMACIST: (VisitsDuePane,),
    CLINICIAN: (PatientsPane,),
    INVESTIGATOR: (UnblindedSubjectsPane,),
    ADMIN: (AccountsPane,),
}


def panes_for(roles: Iterable[str]) -> list[type[RolePane]]:
    """The panes of a person's home, in the order of :data:`lottrack.records.permissions.ROLES`."""
    held = set(roles)
    return [pane for role in ROLES if role in held for pane in ROLE_PANES.get(role, ())]


__all__ = ["ROLE_PANES", "RolePane", "TablePane", "panes_for"]
