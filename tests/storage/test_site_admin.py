"""Sites after registration: listed for administrators, corrected with a reason (audited),
a FIN frozen once DINs name it, and the site whose clock a terminal shows."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import col, select

from lottrack.facility import sites
from lottrack.facility.dins import allocate_din
from lottrack.kernel.errors import PermissionDenied, ValidationError
from lottrack.records.permissions import CurrentUser
from lottrack.storage import audit
from lottrack.storage.db import Database
from lottrack.storage.models import AuditEvent, Site, User
from tests.conftest import verify_ok

SITE: dict[str, Any] = {
    "name": "Komma Klinik",
    "fin": "B1234",
    "timezone": "Europe/Vienna",
    "decimal_separator": ",",
    "address": "Hauptstraße 1",
    "product_code_msc": "S1234100",
    "product_code_placebo": "S1235100",
}


def stored(db: Database, site_id: int) -> Site:
    with db.reader() as s:
        site = s.get(Site, site_id)
        assert site is not None
        s.expunge(site)
        return site


def update(
    db: Database, who: CurrentUser, site_id: int, reason: str = "ICCBBA letter", **change: Any
) -> sites.SiteInfo:
    with db.session() as s:
        return sites.update_site(s, who, site_id, reason=reason, **(SITE | change))


def test_an_admin_corrects_a_site_with_a_reason_the_trail_records(
    db: Database, admin: CurrentUser, make_user: Callable[..., CurrentUser]
) -> None:
    with db.session() as s:
        site = sites.create_site(s, admin, **SITE)
    updated = update(
        db,
        admin,
        site.id,
        reason="zone mistyped at registration",
        timezone="Europe/Berlin",
        decimal_separator=".",
        name="Komma Klinik Graz",
    )
    assert (updated.timezone, updated.decimal_separator, updated.name) == (
        "Europe/Berlin",
        ".",
        "Komma Klinik Graz",
    )
    row = stored(db, site.id)
    assert (row.timezone, row.decimal_separator) == ("Europe/Berlin", ".")
    with db.reader() as s:
        event = s.exec(
            select(AuditEvent).where(AuditEvent.entity == "site", AuditEvent.action == "update")
        ).one()
    assert event.reason == "zone mistyped at registration"
    assert json.loads(event.changes)["timezone"] == ["Europe/Vienna", "Europe/Berlin"]
    assert event.username == admin.username
    verify_ok(db)
    with db.reader() as s:
        listed = sites.list_sites(s, admin)
    assert [(i.name, i.fin) for i in listed] == [("Komma Klinik Graz", "B1234")]

    tech = make_user("technician")
    with db.reader() as s, pytest.raises(PermissionDenied, match="manage sites"):
        sites.list_sites(s, tech)
    with pytest.raises(PermissionDenied, match="manage sites"):
        update(db, tech, site.id, name="Hijacked")
    assert stored(db, site.id).name == "Komma Klinik Graz"


def test_a_refused_correction_stores_nothing(db: Database, admin: CurrentUser) -> None:
    with db.session() as s:
        site = sites.create_site(s, admin, **SITE)
    for change, field, message in [
        ({"reason": "  ", "name": "New name"}, "Reason", "nothing was typed"),
        ({"timezone": "CEST"}, "Time zone", "not an IANA time zone"),
        ({"decimal_separator": ";"}, "Decimal separator", 'neither "." nor ","'),
        ({"product_code_placebo": "S1234100"}, "Placebo product code", "is the MSC product"),
        ({}, None, "nothing was changed"),
    ]:
        with pytest.raises(ValidationError, match=message) as refused:
            update(db, admin, site.id, **change)
        assert refused.value.field == field
    assert stored(db, site.id).name == "Komma Klinik"
    with db.reader() as s:
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "update")).all() == []


def test_the_fin_is_frozen_once_a_din_names_it(db: Database, admin: CurrentUser) -> None:
    with db.session() as s:
        site = sites.create_site(s, admin, **SITE)
        other = sites.create_site(s, admin, **(SITE | {"name": "Other", "fin": "C1234"}))
    with pytest.raises(ValidationError, match="already the FIN of another site"):
        update(db, admin, site.id, fin="C1234")
    # No DIN yet: a mistyped FIN can still be corrected.
    assert update(db, admin, site.id, fin="B1235").fin == "B1235"
    with db.session() as s:
        audit.set_actor(s, admin.id, admin.username)
        din = allocate_din(s, fin="B1235", purpose="harvest", by=admin.id)
    with pytest.raises(ValidationError, match="cannot change") as refused:
        update(db, admin, site.id, fin="B1236")
    assert refused.value.field == "FIN"
    assert "1 DIN(s) have been issued under B1235" in refused.value.message
    assert stored(db, site.id).fin == "B1235"
    # Nor can another site take over a FIN that DINs already name.
    with db.session() as s:
        audit.set_actor(s, admin.id, admin.username)
        allocate_din(s, fin="C1234", purpose="harvest", by=admin.id)
    with pytest.raises(ValidationError, match="cannot change"):
        update(db, admin, other.id, name="Other", fin="D1234")
    # Everything else about a site with DINs can still be corrected.
    assert update(db, admin, site.id, fin="B1235", timezone="UTC").timezone == "UTC"
    assert din.startswith("B1235")
    verify_ok(db)


def test_the_clock_shows_the_only_site_else_the_persons_site_else_the_first(
    db: Database, admin: CurrentUser
) -> None:
    with db.reader() as s:
        assert sites.clock_site(s) is None
    with db.session() as s:
        sites.create_site(s, admin, **SITE)
    with db.reader() as s:
        assert sites.clock_site(s, admin.id) == sites.ClockSite(
            "Komma Klinik", "Europe/Vienna", 1, False
        )
    with db.session() as s:
        second = sites.create_site(
            s, admin, **(SITE | {"name": "Boston", "fin": "C1234", "timezone": "America/New_York"})
        )
    with db.reader() as s:
        assert sites.clock_site(s).name == "Komma Klinik"  # type: ignore[union-attr]
        assert sites.clock_site(s, admin.id) == sites.ClockSite(
            "Komma Klinik", "Europe/Vienna", 2, False
        )
    with db.session() as s, audit.reason(s, "works in Boston"):
        audit.set_actor(s, admin.id, admin.username)
        user = s.exec(select(User).where(col(User.id) == admin.id)).one()
        user.site_id = second.id
    with db.reader() as s:
        assert sites.clock_site(s, admin.id) == sites.ClockSite(
            "Boston", "America/New_York", 2, True
        )
