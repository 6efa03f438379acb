"""Times on screen are the site's, whatever the terminal's time zone is."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select
from textual.widgets import Input

from lottrack.facility import sites
from lottrack.records.permissions import CurrentUser
from lottrack.storage import audit
from lottrack.storage.db import Database
from lottrack.storage.models import User
from tests.tui.helpers import login, screen_text, settle, shown
from tui.app import LotTrackApp, make_app
from tui.common.login import LoginScreen

pytestmark = pytest.mark.asyncio

# 08:30 UTC, read from a terminal in New York (04:30 EDT: US summer time began 9 March).
NEW_YORK_NOW = dt.datetime(2025, 3, 14, 4, 30, tzinfo=ZoneInfo("America/New_York"))


def new_york_clock() -> dt.datetime:
    """A terminal clock in New York."""
    return NEW_YORK_NOW


@pytest.fixture
def new_york_terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The terminal's own time zone is New York (TZ)."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def header_clock(app: LotTrackApp) -> str:
    return shown(app, "#clock")


async def test_the_header_shows_the_sites_zone_not_the_terminals(
    demo_db: Database, new_york_terminal: None
) -> None:
    assert dt.datetime.now().astimezone().tzname() in ("EST", "EDT")  # noqa: DTZ005
    app = make_app(demo_db, clock=new_york_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)
        # The demo site is in Berlin: 08:30 UTC is 09:30 CET there.
        assert header_clock(app) == "Fri 14 Mar 2025 09:30 CET"
        await login(pilot, "admin")
        assert header_clock(app) == "Fri 14 Mar 2025 09:30 CET"
        # Every screen formats and reads times with this clock's zone.
        assert app.ctx.clock().tzinfo == ZoneInfo("Europe/Berlin")
        assert "09:30 CET" in screen_text(app)


async def test_the_real_terminal_clock_is_shown_in_the_sites_zone(
    demo_db: Database, new_york_terminal: None
) -> None:
    app = make_app(demo_db)  # the clock the CLI uses: the terminal's local time
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        zone = header_clock(app).split()[-1]
        assert zone in ("CET", "CEST")
        assert app.ctx.clock().utcoffset() == dt.datetime.now(ZoneInfo("Europe/Berlin")).utcoffset()


async def test_with_several_sites_the_header_names_the_site_it_shows(
    demo_db: Database, new_york_terminal: None
) -> None:
    with demo_db.session() as s:
        admin_row = s.exec(select(User).where(User.username == "admin")).one()
        admin = CurrentUser.of(admin_row)
        boston = sites.create_site(
            s,
            admin,
            name="Boston Cell Therapy Unit",
            fin="B1234",
            timezone="America/New_York",
            decimal_separator=".",
            address="",
            product_code_msc="S1234100",
            product_code_placebo="S1235000",
        )
    with demo_db.session() as s, audit.reason(s, "works at the Boston unit"):
        audit.set_actor(s, admin.id, admin.username)
        pharm = s.exec(select(User).where(User.username == "pharm")).one()
        pharm.site_id = boston.id
    app = make_app(demo_db, clock=new_york_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        # Before anyone logs in: the first site, named.
        assert header_clock(app) == "Fri 14 Mar 2025 09:30 CET · Demo University Hospita…"
        await login(pilot, "pharm")
        assert header_clock(app) == "Fri 14 Mar 2025 04:30 EDT · Boston Cell Therapy Unit"
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)
        assert header_clock(app).startswith("Fri 14 Mar 2025 09:30 CET")
        # Someone without a site of their own sees the first site.
        await login(pilot, "qa")
        assert header_clock(app) == "Fri 14 Mar 2025 09:30 CET · Demo University Hospita…"


async def test_correcting_the_sites_zone_moves_the_clock(demo_db: Database) -> None:
    app = make_app(demo_db, clock=new_york_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "admin")
        await pilot.press("t")
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        field = app.screen.query_one("#site-timezone", Input)
        field.value = "Europe/London"
        app.screen.query_one("#site-reason", Input).value = "the facility is in London"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "changed: Time zone" in shown(app, "#sites-status")
        assert header_clock(app) == "Fri 14 Mar 2025 08:30 GMT"
