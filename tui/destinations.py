"""Screens a person can open from their home, each guarded by a permission of the core.

A destination is one entry here: the home screen binds its key (shown in the footer only
to people whose roles allow the action), the command palette lists it, and
``LotTrackApp.action_open`` checks the permission again before pushing the screen. The
service the screen calls enforces the permission a third time.

To add one (lots, visits, reagent lots, …) write the screen in the package of the role whose
work it is (``tui/manufacturing/``, …) and add a :class:`Destination` to :data:`DESTINATIONS`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from textual.screen import Screen

from lottrack.records.permissions import Action


@dataclass(frozen=True)
class Destination:
    """A screen reachable from the home screen and the command palette."""

    name: str
    """Identifier used in the action string ``app.open('name')``."""
    title: str
    """What the footer and the palette call it."""
    description: str
    """One line of help in the command palette."""
    key: str
    """Key on the home screen."""
    action: Action
    """The permission needed (from the core's permission table)."""
    screen_class: str
    """The screen's class as ``"module:Class"``, imported when the screen is first opened
    (so screens may import this module)."""

    def screen_type(self) -> type[Screen[Any]]:
        """The screen's class (its module imported now)."""
        module, _, name = self.screen_class.partition(":")
        found: type[Screen[Any]] = getattr(importlib.import_module(module), name)
        return found

    def screen(self) -> Screen[Any]:
        """Build the screen."""
        return self.screen_type()()


DESTINATIONS: tuple[Destination, ...] = (
    # Accounts and the audit trail.
    Destination(
        "users",
        "Users",
        "Accounts: add, disable, enable, unlock, reset passwords",
        "u",
        Action.MANAGE_USERS,
        "tui.admin.users:UsersScreen",
    ),
    Destination(
        "audit",
        "Audit",
        "Verify the hash-chained audit trail and every record",
        "a",
        Action.VIEW_AUDIT,
        "tui.qa.audit:AuditScreen",
    ),
    # Manufacturing and QA (technician / QA part of the terminal UI).
    Destination(
        "lots",
        "Lots",
        "Every lot: search by DIN, lot or subject; open a batch record",
        "l",
        Action.VIEW_BATCH_RECORD,
        "tui.manufacturing.lots:LotsScreen",
    ),
    Destination(
        "reagents",
        "Reagents",
        "Reagent lots: register, release for use, reject",
        "g",
        Action.REGISTER_REAGENT,
        "tui.manufacturing.reagent_lots:ReagentLotsScreen",
    ),
    Destination(
        "harvest",
        "Harvest",
        "Record a bone-marrow harvest (and start its lot)",
        "h",
        Action.RECORD_MANUFACTURING,
        "tui.manufacturing.forms.harvest:HarvestForm",
    ),
    # Pharmacy and ward (trial part of the terminal UI). A visit's own screen opens from
    # a list (Enter), so only the lists that stand alone are destinations: the ward's
    # Find a patient (/, also from the last line of the ward's home) reaches every
    # patient the home's first page does not show.
    Destination(
        "verify",
        "Verify",
        "Second verification of dispensings prepared by another pharmacist",
        "v",
        Action.DISPENSE,
        "tui.pharmacy.verify:PharmacyVerifyScreen",
    ),
    Destination(
        "patients",
        "Find patient",
        "Every patient and visit (blinded): search by subject code or initials; "
        "open a visit or the patient's weights",
        "slash",
        Action.RECORD_INFUSION,
        "tui.ward.patients:FindPatientScreen",
    ),
    Destination(
        "unblind",
        "Unblind",
        "Emergency unblinding of one subject (signed, audited)",
        "x",
        Action.UNBLIND,
        "tui.ward.unblind:UnblindScreen",
    ),
    # Administration: release specifications and sites.
    Destination(
        "specifications",
        "Specs",
        "Release specification versions and "
        "their tests; propose (admin) or approve (QA) a new version",
        "s",
        Action.VIEW_SPECIFICATIONS,
        "tui.qa.specifications:SpecificationsScreen",
    ),
    Destination(
        "sites",
        "Sites",
        "Sites: FIN, time zone, decimal separator, product codes",
        "t",
        Action.MANAGE_SITES,
        "tui.admin.sites:SitesScreen",
    ),
    # The unblinded pharmacy starts the trial: allocation and visit scheduling.
    Destination(
        "allocation",
        "Allocation",
        "Subjects' treatment sequences (unblinded): "
        "import the statistician's CSV, generate, schedule visits",
        "o",
        Action.MANAGE_ALLOCATION,
        "tui.pharmacy.allocation:AllocationScreen",
    ),
)

BY_NAME: dict[str, Destination] = {d.name: d for d in DESTINATIONS}
