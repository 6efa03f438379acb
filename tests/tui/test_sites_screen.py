"""The Sites screen: register a site, correct one with a reason; refusals inline."""

from __future__ import annotations

import json

import pytest
from sqlmodel import col, select
from textual.pilot import Pilot
from textual.widgets import Input

from lottrack.storage.db import Database
from lottrack.storage.models import AuditEvent, Site
from tests.tui.helpers import login, screen_text, settle, shown, type_text
from tui.admin.site_form import SiteForm
from tui.admin.sites import SitesScreen
from tui.app import LotTrackApp
from tui.dialogs.confirm import ConfirmModal
from tui.home import HomeScreen

pytestmark = pytest.mark.asyncio

DEMO_SITE = "Demo University Hospital — Cell Therapy Facility"


async def open_sites(pilot: Pilot[None]) -> SitesScreen:
    """Log in as the demo admin and press t."""
    await login(pilot, "admin")
    await pilot.press("t")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, SitesScreen)
    return screen


async def replace(pilot: Pilot[None], widget_id: str, text: str) -> None:
    """Click into a field, clear it and type ``text`` (as a person correcting it)."""
    field = pilot.app.screen.query_one(f"#{widget_id}", Input)
    field.focus()
    field.value = ""
    await pilot.pause()
    await type_text(pilot, text)


async def save(pilot: Pilot[None]) -> None:
    await pilot.press("ctrl+s")
    await settle(pilot)


def sites_in(db: Database) -> list[Site]:
    with db.reader() as s:
        rows = list(s.exec(select(Site).order_by(col(Site.id))).all())
        for row in rows:
            s.expunge(row)
        return rows


async def test_admin_corrects_the_time_zone_with_a_reason(
    app: LotTrackApp, demo_db: Database
) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_sites(pilot)
        text = screen_text(app)
        assert "A9999" in text
        assert "Europe/Berlin" in text
        await pilot.press("e")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, SiteForm)
        assert form.query_one("#site-timezone", Input).value == "Europe/Berlin"
        # A zone that is not an IANA name is refused inline, on its field.
        await replace(pilot, "site-timezone", "CEST")
        await save(pilot)
        assert app.screen is form
        message = shown(app, "#form-message")
        assert 'Time zone: "CEST" is not an IANA time zone' in message
        assert "Nothing was saved." in message
        assert form.query_one("#site-timezone").has_class("-invalid")
        assert app.focused is form.query_one("#site-timezone")
        # A right zone without a reason: the reason field is marked.
        await replace(pilot, "site-timezone", "Europe/Vienna")
        await save(pilot)
        assert "Reason: nothing was typed" in shown(app, "#form-message")
        assert app.focused is form.query_one("#site-reason")
        await type_text(pilot, "zone mistyped at set-up")
        await save(pilot)
        assert isinstance(app.screen, SitesScreen)
        assert f"Site {DEMO_SITE} saved; changed: Time zone." in shown(app, "#sites-status")
        assert "Europe/Vienna" in screen_text(app)
    [site] = sites_in(demo_db)
    assert site.timezone == "Europe/Vienna"
    with demo_db.reader() as s:
        event = s.exec(
            select(AuditEvent).where(AuditEvent.entity == "site", AuditEvent.action == "update")
        ).one()
    assert event.reason == "zone mistyped at set-up"
    assert json.loads(event.changes) == {"timezone": ["Europe/Berlin", "Europe/Vienna"]}
    assert event.username == "admin"


async def test_the_fin_of_a_site_with_dins_cannot_change(
    app: LotTrackApp, demo_db: Database
) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_sites(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, SiteForm)
        await replace(pilot, "site-fin", "A9998")
        await replace(pilot, "site-reason", "new FIN from ICCBBA")
        await save(pilot)
        assert isinstance(app.screen, SiteForm)
        message = shown(app, "#form-message")
        assert "have been issued under A9999" in message
        assert "the FIN of this site cannot change" in message
        assert app.focused is app.screen.query_one("#site-fin")
        await pilot.press("escape")  # typed input: asked before it is discarded
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, SitesScreen)
    assert [s.fin for s in sites_in(demo_db)] == ["A9999"]


async def test_admin_registers_a_second_site(app: LotTrackApp, demo_db: Database) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await open_sites(pilot)
        await pilot.press("n")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, SiteForm)
        assert not form.query("#site-reason")  # a new site: no reason to give
        assert app.focused is form.query_one("#site-name")
        await type_text(pilot, "Komma Klinik")
        for widget_id, text in (
            ("site-address", "Hauptstraße 1, Wien"),
            ("site-fin", "O1234"),
            ("site-timezone", "Europe/Vienna"),
            ("site-msc", "S1234100"),
            ("site-placebo", "S1235000"),
        ):
            await replace(pilot, widget_id, text)
        await save(pilot)
        assert "never O or 0" in shown(app, "#form-message")
        assert app.focused is form.query_one("#site-fin")
        await replace(pilot, "site-fin", "b1234")
        await save(pilot)
        assert isinstance(app.screen, SitesScreen)
        assert "Registered site Komma Klinik (FIN B1234, Europe/Vienna)." in shown(
            app, "#sites-status"
        )
        text = screen_text(app)
        assert "Komma Klinik" in text
        # The name column wraps long names (it fits 80 columns): the demo site's words.
        assert all(word in text for word in ("Demo", "University", "Cell Therapy"))
    added = sites_in(demo_db)[-1]
    assert (added.name, added.fin, added.timezone, added.decimal_separator) == (
        "Komma Klinik",
        "B1234",
        "Europe/Vienna",
        ".",
    )
    assert added.product_code_msc == "S1234100"


async def test_only_an_admin_reaches_the_sites_screen(app: LotTrackApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "tech")
        assert app.check_action("open", ("sites",)) is False
        assert "Sites" not in [c.name for c in app.palette_commands(app.screen)]
        app.open_destination("sites")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
