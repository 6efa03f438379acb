"""The home screen: the logged-in person's role panes (one tab per pane when several)."""

from __future__ import annotations

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

    def __init__(self) -> None:
        super().__init__()
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
                yield panes[0](id=f"pane-{panes[0].ROLE}")
            else:
                self._tab_count = len(panes)
                with TabbedContent(id="home-tabs"):
                    for n, pane in enumerate(panes, start=1):
                        with TabPane(f"{n} {pane.TAB_LABEL}", id=f"tab-{n}"):
                            yield pane(id=f"pane-{pane.ROLE}-{n}")
        yield KeyFooter()

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
