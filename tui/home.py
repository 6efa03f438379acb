"""The home screen: the logged-in person's role panes (one tab per pane when several)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.widgets import DataTable, Static, TabbedContent, TabPane, Tabs
from typing_extensions import override

from tui.common.screen import AppScreen
from tui.destinations import DESTINATIONS
from tui.panes import RolePane, panes_for
from tui.widgets.key_footer import KeyFooter
from tui.widgets.session_header import SessionHeader

if TYPE_CHECKING:
    from sqlmodel import Session

    from lottrack.records.permissions import CurrentUser

logger = logging.getLogger(__name__)

MAX_TAB_KEYS = 9


class HomeScreen(AppScreen):
    """What a person sees after logging in; its content follows their roles."""

    HELP = """\
# Home

Your home shows the lists your roles work from. With several roles, each has a tab:
press **1**, **2**, … or use **←/→** on the tab bar to switch, and **↓** to go into the
list.

The footer shows only what your roles allow; **ctrl+p** opens the command palette with
the same actions. **r** reloads the lists.
"""

    BINDINGS = [
        *(Binding(d.key, f"app.open('{d.name}')", d.title) for d in DESTINATIONS),
        # "Reload", not "Refresh": QA's home has five places to go, and at 80 columns the
        # footer then cut F1 Help short by one letter.
        Binding("r", "refresh", "Reload"),
        Binding("ctrl+l", "app.logout", "Log out"),
        *(Binding(str(n), f"show_tab({n})", show=False) for n in range(1, MAX_TAB_KEYS + 1)),
        Binding("down", "into_list", show=False),
        Binding("up", "into_list", show=False),
    ]

    def __init__(self, first: Mapping[str, Any] | None = None) -> None:
        """``first``: what panes show at once, by pane (:func:`first_lists`); the others
        read their lists once shown."""
        super().__init__()
        self._first = dict(first or {})
        self._stale = False
        self._tab_count = 0
        """The tabs composed (one a pane, when there are several): the number keys' check
        runs for each of nine keys whenever the bindings are looked at, and querying the
        tabs each time cost about 30 ms of a home screen's opening at N = 1000 (#18)."""

    def compose(self) -> ComposeResult:
        """Header, the panes of the person's roles, footer."""
        yield SessionHeader()
        user = self.ctx.user
        panes = panes_for(user.roles if user else ())
        with Container(id="home-body"):
            if not panes:
                yield Static(
                    "Your account has no role with a home screen. Ask an administrator "
                    "to give you a role.",
                    classes="pane-empty",
                )
            elif len(panes) == 1:
                yield self._pane(panes[0], f"pane-{panes[0].ROLE}")
            else:
                self._tab_count = len(panes)
                with TabbedContent(id="home-tabs"):
                    for n, pane in enumerate(panes, start=1):
                        with TabPane(f"{n} {pane.TAB_LABEL}", id=f"tab-{n}"):
                            yield self._pane(pane, f"pane-{pane.ROLE}-{n}")
        yield KeyFooter()

    def _pane(self, pane: type[RolePane], pane_id: str) -> RolePane:
        """The pane, with its list when the login read it (once: a reload reads again)."""
        return pane(id=pane_id, first=self._first.pop(pane.__name__, None))

    def on_screen_suspend(self) -> None:
        """Another screen (Users, Audit…) opened on top: reload when it closes."""
        self._stale = True

    def on_screen_resume(self) -> None:
        """Back from another screen: what it changed shows at once."""
        if self._stale:
            self._stale = False
            self.action_refresh()

    @override
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Tab keys exist only for the tabs there are."""
        if action == "show_tab":
            return isinstance(parameters[0], int) and parameters[0] <= self._tab_count
        if action == "into_list":
            return isinstance(self.focused, Tabs) or self.focused is None
        return True

    def action_into_list(self) -> None:
        """↑/↓ on the tab bar (or with nothing focused) go into the shown tab's list."""
        tabs = self.query(TabbedContent)
        scope = (
            tabs.first().query_one(f"#{tabs.first().active}")
            if tabs
            else self.query_one("#home-body")
        )
        for table in scope.query(DataTable):
            if table.display:
                table.focus()
                return

    def action_refresh(self) -> None:
        """Reload every pane."""
        for pane in self.query(RolePane):
            pane.reload()

    def action_show_tab(self, number: int) -> None:
        """Switch to the tab with this number (its list takes the keys)."""
        self.query_one(TabbedContent).active = f"tab-{number}"
        self.call_after_refresh(self.action_into_list)

    def help_markdown(self) -> str:
        """The home help followed by the help of each pane shown."""
        parts = [self.HELP] + [p.HELP for p in self.query(RolePane) if p.HELP]
        return "\n\n".join(parts)


def first_lists(session: Session, user: CurrentUser) -> dict[str, Any]:
    """What each pane of ``user``'s home shows, by pane, read as the panes read it, in
    the read-only ``session`` of the worker that logged them in, so that the home appears
    with its lists (#18). A pane whose list could not be read here is left out: it reads
    it itself once shown, and says there what went wrong."""
    out: dict[str, Any] = {}
    for pane in panes_for(user.roles):
        try:
            out[pane.__name__] = pane.fetch(session, user)
        except Exception:  # noqa: BLE001 - the pane reads again and reports it
            logger.warning("The home's %s was not read at login", pane.__name__, exc_info=True)
    return out
