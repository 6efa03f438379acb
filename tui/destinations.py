"""Screens a person can open from their home, each guarded by a permission of the core.

A destination is one line here: the home screen binds its key (shown in the footer only
to people whose roles allow the action), the command palette lists it, and
``LotTrackApp.action_open`` checks the permission again before pushing the screen. The
service the screen calls enforces the permission a third time.

To add one (lots, visits, reagent lots, …) write the screen in the package of the role whose
work it is (``tui/manufacturing/``, …) and append a :class:`Destination` to :data:`DESTINATIONS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual.screen import Screen

from lottrack.records.permissions import Action


def _users_screen() -> Screen[Any]:
    from tui.admin.users import UsersScreen

    return UsersScreen()


def _audit_screen() -> Screen[Any]:
    from tui.qa.audit import AuditScreen

    return AuditScreen()


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
    screen: Callable[[], Screen[Any]]
    """Builds the screen (imported lazily, so screens may import this module)."""


DESTINATIONS: tuple[Destination, ...] = (
    Destination(
        "users",
        "Users",
        "Accounts: add, disable, enable, unlock, reset passwords",
        "u",
        Action.MANAGE_USERS,
        _users_screen,
    ),
    Destination(
        "audit",
        "Audit",
        "Verify the hash-chained audit trail and every record",
        "a",
        Action.VIEW_AUDIT,
        _audit_screen,
    ),
)

BY_NAME: dict[str, Destination] = {d.name: d for d in DESTINATIONS}


# Manufacturing and QA (technician / QA part of the terminal UI).


def _lots_screen() -> Screen[Any]:
    from tui.manufacturing.lots import LotsScreen

    return LotsScreen()


def _reagents_screen() -> Screen[Any]:
    from tui.manufacturing.reagent_lots import ReagentLotsScreen

    return ReagentLotsScreen()


def _harvest_form() -> Screen[Any]:
    from tui.manufacturing.forms.harvest import HarvestForm

    return HarvestForm()


DESTINATIONS += (
    Destination(
        "lots",
        "Lots",
        "Every lot: search by DIN, lot or subject; open a batch record",
        "l",
        Action.VIEW_BATCH_RECORD,
        _lots_screen,
    ),
    Destination(
        "reagents",
        "Reagents",
        "Reagent lots: register, release for use, reject",
        "g",
        Action.REGISTER_REAGENT,
        _reagents_screen,
    ),
    Destination(
        "harvest",
        "Harvest",
        "Record a bone-marrow harvest (and start its lot)",
        "h",
        Action.RECORD_MANUFACTURING,
        _harvest_form,
    ),
)
BY_NAME.update({d.name: d for d in DESTINATIONS})


# Pharmacy and ward (trial part of the terminal UI). A visit's own screen opens from the
# home pane's list (Enter), so only the lists that stand alone are destinations.


def _verify_screen() -> Screen[Any]:
    from tui.pharmacy.verify import PharmacyVerifyScreen

    return PharmacyVerifyScreen()


def _unblind_screen() -> Screen[Any]:
    from tui.ward.unblind import UnblindScreen

    return UnblindScreen()


DESTINATIONS += (
    Destination(
        "verify",
        "Verify",
        "Second verification of dispensings prepared by another pharmacist",
        "v",
        Action.DISPENSE,
        _verify_screen,
    ),
    Destination(
        "unblind",
        "Unblind",
        "Emergency unblinding of one subject (signed, audited)",
        "x",
        Action.UNBLIND,
        _unblind_screen,
    ),
)
BY_NAME.update({d.name: d for d in DESTINATIONS})


# Administration: release specifications and sites.


def _specifications_screen() -> Screen[Any]:
    from tui.qa.specifications import SpecificationsScreen

    return SpecificationsScreen()


DESTINATIONS += (
    Destination(
        "specifications",
        "Specs",
        "Release specification versions and "
        "their tests; propose (admin) or approve (QA) a new version",
        "s",
        Action.VIEW_SPECIFICATIONS,
        _specifications_screen,
    ),
)
BY_NAME.update({d.name: d for d in DESTINATIONS})


def _sites_screen() -> Screen[Any]:
    from tui.admin.sites import SitesScreen

    return SitesScreen()


DESTINATIONS += (
    Destination(
        "sites",
        "Sites",
        "Sites: FIN, time zone, decimal separator, product codes",
        "t",
        Action.MANAGE_SITES,
        _sites_screen,
    ),
)
BY_NAME.update({d.name: d for d in DESTINATIONS})


# The unblinded pharmacy starts the trial: allocation and visit scheduling.


def _allocation_screen() -> Screen[Any]:
    from tui.pharmacy.allocation import AllocationScreen

    return AllocationScreen()


DESTINATIONS += (
    Destination(
        "allocation",
        "Allocation",
        "Subjects' treatment sequences (unblinded): "
        "import the statistician's CSV, generate, schedule visits",
        "o",
        Action.MANAGE_ALLOCATION,
        _allocation_screen,
    ),
)
BY_NAME.update({d.name: d for d in DESTINATIONS})
