"""Key press → screen painted with its data, for the main screen of each role, against a
minimal Textual screen whose 50-row ``DataTable`` is filled the same way (rows made in a
worker thread, posted back, added to the table), in the same process.

    python bench/ui_screens.py URL [REPEAT] [ACCOUNTS]

(``ACCOUNTS``: some of ``qa,tech,pharm,ward,admin``; default all; URL may be a
PostgreSQL database holding the demo.)

prints one JSON object: for each measure its median seconds, the baseline's median, and
each measure's ratio to the baseline measured just before and just after its account's
screens (the baseline runs before the first account and after each: this machine's speed
drifts by a fifth over a minute, and a ratio to a baseline minutes away measured that).
Every measure starts
with the key press and ends once the screen's data is on it and the app has processed
what that queued and painted it (the screen's next refresh), the same for the baseline.
The first press of each measure is a warm-up (modules imported, caches filled) and not
counted.

Measures (demo accounts): ``home`` Enter on the password field → the home screen with
its lists (one login each time, with the cheap password hashing the benchmark demo was
built with); ``lot list`` l on the QA home → the first page; ``lot detail`` Enter on the
lot list's first lot → its batch record;
``QA review`` Enter on the QA home's oldest lot → the review with its audit trail;
``pharmacy visit`` and ``ward visit`` Enter on the first visit of the pharmacist's and
the clinician's home; ``find patient`` / on the clinician's home → the first page of
every patient's lines; ``audit`` a on the administrator's home → the audit screen with
its newest events (until the fourth pass: the screen drawn, without them); the
verification of the whole trail, which starts once they are drawn, is timed apart
(``audit verified``).
"""

from __future__ import annotations

import asyncio
import gc
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.text import Text  # noqa: E402
from textual import events, work  # noqa: E402
from textual.app import App, ComposeResult  # noqa: E402
from textual.binding import Binding  # noqa: E402
from textual.pilot import Pilot  # noqa: E402
from textual.screen import Screen  # noqa: E402
from textual.widgets import DataTable, Footer, Input, Static  # noqa: E402
from textual.worker import WorkerCancelled  # noqa: E402

SIZE = (100, 30)
TIMEOUT_S = 60.0


async def until(pilot: Pilot[Any], ready: Callable[[], bool], timeout: float = TIMEOUT_S) -> None:
    """Wait until ``ready()`` holds (looking every millisecond), then until the screen is
    refreshed once what that queued is processed (the paint).

    The wait only sleeps between looks. ``pilot.pause(0.001)`` (used until the fourth
    pass) posts a callback to every widget of the screen and forces the screen to
    refresh, each millisecond: work no terminal does, which grew with the screen's
    widgets (a QA review has 45, the baseline 5) and took the interpreter from the
    worker reading the screen's data (a 60 ms read took 250 ms). ``pilot.pause()``
    without a delay is worse: it waits until the whole process is idle, up to a second
    more while any worker (the audit screen's verification, a login's database layer)
    still runs behind a screen already painted."""
    deadline = time.perf_counter() + timeout
    while not ready():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"the screen never showed its data ({pilot.app.screen!r})")
        await asyncio.sleep(0.001)
    await pilot.pause(0)
    await pilot.app.screen.wait_for_refresh()


async def press(pilot: Pilot[Any], key: str) -> None:
    """Send ``key`` as a terminal does, and return: ``Pilot.press`` then waits until the
    whole process is idle (up to a second, twice), which a screen whose worker runs on
    (the audit screen's verification) never is, so it timed 2 s for a screen drawn
    long before. The same for the baseline and every screen."""
    char = {"enter": "\r", "escape": "\x1b", "slash": "/"}.get(key, key if len(key) == 1 else None)
    event = events.Key(key, char)
    event.set_sender(pilot.app)
    driver = pilot.app._driver
    assert driver is not None
    driver.send_message(event)
    await asyncio.sleep(0)


async def timed(
    pilot: Pilot[Any], press: Callable[[], Awaitable[object]], ready: Callable[[], bool]
) -> float:
    """Seconds from ``press`` to ``ready`` (and the paint).

    A full garbage collection runs first, outside the time, for every measure (the
    baseline's too): the person rested before the key, and lottrack collects then
    (``tui/common/collector.py``); without it, the baseline measured after lottrack's
    screens paid for collections of lottrack's heap at random (0.1–0.27 s each)."""
    gc.collect()
    started = time.perf_counter()
    await press()
    await until(pilot, ready)
    return time.perf_counter() - started


# ------------------------------------------------------------------ the baseline


class TableScreen(Screen[None]):
    """A title, a 50-row table filled from a worker, a footer."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self) -> None:
        super().__init__()
        self.filled = False

    def compose(self) -> ComposeResult:
        yield Static("Lots", id="title")
        table: DataTable[Text] = DataTable(cursor_type="row", zebra_stripes=True)
        table.add_columns("Lot", "Subject", "Status", "Started", "Formulated")
        yield table
        yield Footer()

    def on_mount(self) -> None:
        self._read()

    @work(thread=True)
    def _read(self) -> None:
        rows = [
            (f"L{n:05d}", f"TLS-{n:04d}", "released", "2025-03-14", "2025-04-02") for n in range(50)
        ]
        self.app.call_from_thread(self._fill, rows)

    def _fill(self, rows: list[tuple[str, ...]]) -> None:
        table: DataTable[Text] = self.query_one(DataTable)
        for row in rows:
            table.add_row(*(Text(cell) for cell in row), key=row[0])
        self.filled = True


class Minimal(App[None]):
    """An app whose l opens :class:`TableScreen`."""

    BINDINGS = [Binding("l", "open", "Lots")]

    def compose(self) -> ComposeResult:
        yield Static("Home")
        yield Footer()

    def action_open(self) -> None:
        self.push_screen(TableScreen())


async def baseline(repeat: int) -> list[float]:
    """The minimal screen, ``repeat`` times after a warm-up."""
    app = Minimal()
    times = []
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(repeat + 1):
            times.append(
                await timed(
                    pilot,
                    lambda: press(pilot, "l"),
                    lambda: isinstance(app.screen, TableScreen) and app.screen.filled,
                )
            )
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, TableScreen))
    return times[1:]


# ------------------------------------------------------------------ lottrack


async def settle(pilot: Pilot[Any]) -> None:
    """Every worker finished (lists reloaded after going back)."""
    for _ in range(100):
        try:
            await pilot.app.workers.wait_for_complete()
        except WorkerCancelled:  # an exclusive worker replaced by a newer one
            pass
        await pilot.pause()
        if all(w.is_finished for w in pilot.app.workers):
            return


def home_loaded(app: App[Any]) -> bool:
    from tui.home import HomeScreen
    from tui.panes.base import RolePane

    screen = app.screen
    if not isinstance(screen, HomeScreen):
        return False
    panes = list(screen.query(RolePane))
    return bool(panes) and all(
        any(not w.display for w in pane.query(".pane-loading")) for pane in panes
    )


async def log_in(pilot: Pilot[Any], username: str) -> float:
    """Log ``username`` in; the seconds from Enter on the password to the home screen."""
    from lottrack.demo import database as demo
    from tui.common.login import LoginScreen

    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, LoginScreen) and app.ctx.ready)
    password = {u.username: u.password for u in demo.DEMO_USERS}[username]
    app.screen.query_one("#username", Input).value = username
    app.screen.query_one("#password", Input).value = password
    app.screen.query_one("#password", Input).focus()
    await pilot.pause()
    took = await timed(pilot, lambda: press(pilot, "enter"), lambda: home_loaded(app))
    await settle(pilot)
    return took


async def repeated(
    pilot: Pilot[Any],
    repeat: int,
    press: Callable[[], Awaitable[object]],
    ready: Callable[[], bool],
    back: Callable[[], Awaitable[object]],
) -> list[float]:
    """Press, wait for the data, go back; ``repeat`` times after a warm-up."""
    times = []
    for _ in range(repeat + 1):
        await settle(pilot)
        times.append(await timed(pilot, press, ready))
        await back()
        await settle(pilot)
    return times[1:]


def paged(app: App[Any], screen: type) -> Callable[[], bool]:
    """Ready once a paged list (``screen``, a ``PagedListScreen``) shows a page of rows."""

    def ready() -> bool:
        shown = app.screen
        return (
            isinstance(shown, screen)
            and shown.page is not None
            and shown.query_one(f"#{shown.TABLE_ID}", DataTable).row_count > 0
        )

    return ready


def _escape(pilot: Pilot[Any], leaving: type) -> Callable[[], Awaitable[None]]:
    async def back() -> None:
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(pilot.app.screen, leaving))

    return back


async def lottrack_screens(
    url: str, repeat: int, roles: set[str] | None = None
) -> dict[str, list[float]]:
    """Every measure of lottrack's screens on the database at ``url`` (of the demo
    accounts in ``roles`` only, when given)."""
    from lottrack.records import accounts
    from lottrack.storage.db import Database
    from tui.app import make_app
    from tui.manufacturing.lot_detail import LotDetailScreen
    from tui.manufacturing.lots import LotsScreen
    from tui.pharmacy.visit import PharmacyVisitScreen
    from tui.qa.audit import AuditScreen
    from tui.qa.review import QAReviewScreen
    from tui.ward.patients import FindPatientScreen
    from tui.ward.visit import WardVisitScreen

    accounts.use_cheap_hashing_in_the_test_suite()  # as the demo was built (bench/common)
    out: dict[str, list[float]] = {"home": []}
    db = Database(url)

    async def session(username: str, body: Callable[[Pilot[Any]], Awaitable[None]]) -> None:
        app = make_app(db)
        async with app.run_test(size=SIZE) as pilot:
            for n in range(repeat + 1):
                took = await log_in(pilot, username)
                if n:
                    out["home"].append(took)
                if n < repeat:
                    app.action_logout()
            await body(pilot)
            app.action_logout()
            await settle(pilot)

    async def qa(pilot: Pilot[Any]) -> None:
        app = pilot.app
        out["QA review"] = await repeated(
            pilot,
            repeat,
            lambda: press(pilot, "enter"),
            lambda: isinstance(app.screen, QAReviewScreen) and app.screen.lot is not None,
            _escape(pilot, QAReviewScreen),
        )
        out["lot list"] = await repeated(
            pilot,
            repeat,
            lambda: press(pilot, "l"),
            paged(app, LotsScreen),
            _escape(pilot, LotsScreen),
        )

    async def tech(pilot: Pilot[Any]) -> None:
        app = pilot.app
        await pilot.press("l")
        await until(
            pilot, lambda: isinstance(app.screen, LotsScreen) and app.screen.page is not None
        )
        await pilot.press("down")  # from the search box to the list
        out["lot detail"] = await repeated(
            pilot,
            repeat,
            lambda: press(pilot, "enter"),
            lambda: isinstance(app.screen, LotDetailScreen) and app.screen.lot is not None,
            _escape(pilot, LotDetailScreen),
        )
        await pilot.press("escape")

    async def pharm(pilot: Pilot[Any]) -> None:
        app = pilot.app
        out["pharmacy visit"] = await repeated(
            pilot,
            repeat,
            lambda: press(pilot, "enter"),
            lambda: isinstance(app.screen, PharmacyVisitScreen) and app.screen.visit is not None,
            _escape(pilot, PharmacyVisitScreen),
        )

    async def ward(pilot: Pilot[Any]) -> None:
        from tui.panes.clinician import PatientsPane

        app = pilot.app

        async def enter_on_a_visit() -> None:  # the list reloads (cursor on top) after each
            pane = app.screen.query_one(PatientsPane)
            first = next(n for n, visit in enumerate(pane.visit_ids) if visit is not None)
            pane.query_one(DataTable).move_cursor(row=first)
            await press(pilot, "enter")

        out["ward visit"] = await repeated(
            pilot,
            repeat,
            enter_on_a_visit,
            lambda: isinstance(app.screen, WardVisitScreen) and app.screen.detail is not None,
            _escape(pilot, WardVisitScreen),
        )
        out["find patient"] = await repeated(
            pilot,
            repeat,
            lambda: press(pilot, "slash"),
            paged(app, FindPatientScreen),
            _escape(pilot, FindPatientScreen),
        )

    async def admin(pilot: Pilot[Any]) -> None:
        app = pilot.app
        drawn, verified = [], []
        for _ in range(min(repeat, 2) + 1):  # a verification reads the whole trail
            await settle(pilot)
            started = time.perf_counter()
            drawn.append(
                await timed(
                    pilot,
                    lambda: press(pilot, "a"),
                    lambda: (
                        isinstance(app.screen, AuditScreen)
                        and bool(app.screen.query("#audit-events"))
                        and app.screen.query_one("#audit-events", DataTable).row_count > 0
                    ),
                )
            )
            await until(
                pilot, lambda: not app.screen.query_one("#audit-loading").display, timeout=3600
            )
            verified.append(time.perf_counter() - started)
            await _escape(pilot, AuditScreen)()
            if verified[-1] > 10:  # a million events: once is enough (no warm-up)
                break
        out["audit"] = drawn[1:] or drawn
        out["audit verified"] = verified[1:] or verified

    for username, body in (
        ("qa", qa),
        ("tech", tech),
        ("pharm", pharm),
        ("ward", ward),
        ("admin", admin),
    ):
        if roles is None or username in roles:
            await session(username, body)
    db.dispose()
    return out


ROLES = ("qa", "tech", "pharm", "ward", "admin")


async def main(url: str, repeat: int, roles: set[str] | None = None) -> None:
    """Each account's screens between two runs of the baseline, and each measure's ratio
    to those two runs (the machine's speed drifts over a minute: with the baseline only
    before and after every account, a ratio compared times minutes apart)."""
    accounts = [r for r in ROLES if roles is None or r in roles]
    bases = [await baseline(repeat)]
    out: dict[str, float] = {}
    ratios: dict[str, float] = {}
    homes: list[float] = []
    for username in accounts:
        measured = await lottrack_screens(url, repeat, {username})
        bases.append(await baseline(repeat))
        around = statistics.median(bases[-2] + bases[-1])
        for name, times in measured.items():
            key = f"home ({username})" if name == "home" else name
            out[key] = statistics.median(times)
            ratios[key] = round(out[key] / around, 2)
        homes += measured["home"]
    every_base = [t for block in bases for t in block]
    print(
        json.dumps(
            {
                "baseline": statistics.median(every_base),
                "home": statistics.median(homes),
                **out,
                "ratio to the baseline around it": ratios,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(
        main(
            sys.argv[1],
            int(sys.argv[2]) if len(sys.argv) > 2 else 5,
            set(sys.argv[3].split(",")) if len(sys.argv) > 3 else None,
        )
    )
