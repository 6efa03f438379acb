"""Specifications: every version with its tests; an administrator imports (proposes) a
new version, a QA person who is not the proposer approves it with a signature (§6.8).

A version is never changed once made (design §2): a lot is judged against the version
that was in force when it was created. So this screen shows, imports and approves; it
edits nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import DataTable, Input, LoadingIndicator, Static
from textual.worker import Worker, WorkerState
from typing_extensions import override

from lottrack.kernel.errors import LotTrackError, SignatureRejected
from lottrack.manufacturing import specifications
from lottrack.records.permissions import Action, CurrentUser
from lottrack.records.signatures import Credentials
from lottrack.storage.db import Database
from lottrack.views.listings.specs import SpecVersion, spec_versions
from tui.common.screen import AppScreen
from tui.dialogs.signature import SignatureModal
from tui.widgets.key_footer import KeyFooter
from tui.widgets.path_field import ImportLine
from tui.widgets.record_table import RecordTable, highlighted_key
from tui.widgets.session_header import SessionHeader
from tui.widgets.wrapped_rows import StretchTable, add_wrapped_rows
from tui.workers import post_if_current


@dataclass
class VersionsLoaded(Message):
    """Every version, read by the specifications service."""

    rows: tuple[SpecVersion, ...]


@dataclass
class SpecImported(Message):
    """The service stored a new version."""

    version: int


@dataclass
class ImportRefused(Message):
    """The service refused the file (or the approval); nothing was stored."""

    message: str


@dataclass
class SpecApproved(Message):
    """QA's signed approval was stored: the version is in force."""

    version: int


class SpecificationsScreen(AppScreen):
    """Versions on top, the highlighted version's tests below, an import line at the end."""

    DESTINATION = "specifications"

    HELP = """\
# Specifications

Every release specification version, newest first. The version **in force** is the one
a new lot is tested against; a lot keeps the version that was in force when it was
created. A version is never changed: to change a limit, an administrator imports a new
version, which is **proposed** until a QA person who did not propose it approves it
with an electronic signature (**a** on the highlighted proposed version). A file
without the tests design §10 requires (sterility, mycoplasma, endotoxin, viability,
identity markers) or with an unknown key is refused.

Move with **↑/↓** in the list of versions; the tests of the highlighted version and its
site-wide numbers (maximum passage, replicate counts and CV, fresh shelf life, thaw limit)
are shown below it.

**i** moves to the import line: type the path of a JSON file on the computer lottrack
runs on and press **Enter**. A file with any mistake is refused whole and nothing is
stored; the message says what is wrong. The file holds `name`, the settings
`max_passage`, `min_replicates`, `max_cv_pct`, `fresh_shelf_life_hours`,
`thaw_max_minutes` (those left out keep the §10 defaults) and `items`, each with
`code`, `test_name`, `kind` (`numeric`, `categorical`, `report-only`, `endotoxin`),
for numeric tests `dimension` and `min` and/or `max`, for categorical tests `accepted`,
and optionally `required`.
"""

    BINDINGS = [
        Binding("i", "import", "Import"),
        Binding("a", "approve", "Approve"),
        Binding("ctrl+r", "reload", "Refresh", show=False),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, SpecVersion] = {}
        self.importing = False
        self._select: str | None = None
        """The version to highlight once the list is read again (the one just imported)."""

    def compose(self) -> ComposeResult:
        """Header, versions, settings of the highlighted one, its tests, import, footer."""
        yield SessionHeader()
        with Vertical(id="specs-body"):
            yield Static("Specifications", classes="pane-title")
            yield LoadingIndicator(id="specs-loading")
            versions: DataTable[Text] = RecordTable(
                id="specs-versions", cursor_type="row", zebra_stripes=True
            )
            versions.add_columns("Version", "Status", "Created", "Name")
            yield versions
            yield Static("", id="specs-settings")
            items: DataTable[Text] = StretchTable(
                id="specs-items", cursor_type="row", zebra_stripes=True, stretch=0
            )
            # Widths that fit 80 columns; a long limit wraps in its row, the test's name
            # takes the room left (wrapping at 80 columns only).
            for label, width in (
                ("Test", 20),
                ("For release", 12),
                ("Limit", 14),
                ("Kind", 11),
                ("Unit", 6),
            ):
                items.add_column(label, width=width)
            yield items
            yield ImportLine(
                "specs",
                "Import JSON file ",
                "path of a specification file, e.g. spec-v2.json",
                "Type the path of a JSON specification file, then press Enter.",
            )
            yield Static("", id="specs-status", classes="message")
        yield KeyFooter()

    def on_mount(self) -> None:
        """Read the versions."""
        self.query_one("#specs-versions").focus()
        self.action_reload()

    # ------------------------------------------------------------------ what is shown

    def selected(self) -> SpecVersion | None:
        """The highlighted version."""
        return self.rows.get(highlighted_key(self.query_one("#specs-versions", DataTable)) or "")

    @on(DataTable.RowHighlighted, "#specs-versions")
    def _highlighted(self) -> None:
        self._show_version(self.selected())
        self.refresh_bindings()  # approve is offered on a proposed version only

    def _show_version(self, row: SpecVersion | None) -> None:
        settings = self.query_one("#specs-settings", Static)
        items: DataTable[Text] = self.query_one("#specs-items", DataTable)
        items.clear()
        if row is None:
            settings.update("")
            return
        settings.update(Content(f"Version {row.version}: {row.settings}"))
        add_wrapped_rows(
            items,
            (
                (
                    (
                        Text(item.test),
                        Text("required") if item.required else Text("not required", style="dim"),
                        Text(item.limit),
                        Text(item.kind),
                        Text(item.unit),
                    ),
                    None,
                )
                for item in row.items
            ),
        )

    @override
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Import only for those who may (the service checks again)."""
        if action == "import":
            return self.ctx.can(Action.MANAGE_SPECIFICATIONS)
        if action == "approve":
            row = self.selected()
            return (
                self.ctx.can(Action.APPROVE_SPECIFICATIONS)
                and row is not None
                and row.status == specifications.PROPOSED
            )
        return True

    # ------------------------------------------------------------------------ actions

    def action_back(self) -> None:
        """Back to the home screen."""
        self.dismiss()

    def action_reload(self) -> None:
        """Read the versions again."""
        self.query_one("#specs-loading").display = True
        self._load(self.ctx.db)

    def action_import(self) -> None:
        """Move to the import line."""
        self.query_one("#specs-path", Input).focus()

    def action_approve(self, message: str = "") -> None:
        """Sign the highlighted proposed version into force (the service checks who)."""
        row, user = self.selected(), self.ctx.user
        if row is None or user is None:
            return
        version = row.version

        def signed(creds: Credentials | None) -> None:
            if creds is not None:
                self._status(f"Approving version {version}…", error=False)
                self._approve(self.ctx.db, user, creds, version)

        self.app.push_screen(
            SignatureModal(
                "approved", f"Specification version {version}: {row.name}", message=message
            ),
            signed,
        )

    @on(ImportLine.Submitted)
    def _import_pressed(self, message: ImportLine.Submitted) -> None:
        user = self.ctx.user
        # Not while an import runs; the line says what to type when nothing was.
        if not self.importing and user is not None and (typed := message.typed_path(self._status)):
            self.importing = True
            self._status(f"Importing {typed[0]}…", error=False)
            self._import(self.ctx.db, user, typed[1])

    # ------------------------------------------------------------------------ workers

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def _load(self, db: Database) -> None:
        with db.reader() as session:
            rows = spec_versions(session)
        post_if_current(self, VersionsLoaded(rows))

    @work(thread=True, exclusive=True, exit_on_error=False, group="approve")
    def _approve(self, db: Database, who: CurrentUser, creds: Credentials, version: int) -> None:
        try:
            with db.session() as session:
                specifications.approve(session, who, creds, version)
        except SignatureRejected as exc:
            self.app.call_from_thread(self.action_approve, exc.message)
        except LotTrackError as exc:
            self.post_message(ImportRefused(exc.message))
        else:
            self.post_message(SpecApproved(version))

    @work(thread=True, exclusive=True, exit_on_error=False, group="import")
    def _import(self, db: Database, who: CurrentUser, path: Path) -> None:
        try:
            with db.session() as session:
                version = specifications.import_spec(session, who, path)
        except LotTrackError as exc:
            self.post_message(ImportRefused(exc.message))
        else:
            self.post_message(SpecImported(version))

    # ----------------------------------------------------------------------- results

    @on(VersionsLoaded)
    def _loaded(self, message: VersionsLoaded) -> None:
        tz = self.ctx.clock().tzinfo
        table: DataTable[Text] = self.query_one("#specs-versions", DataTable)
        current = self.selected()
        keep = self._select or (str(current.version) if current is not None else None)
        self._select = None
        table.clear()
        self.rows = {str(row.version): row for row in message.rows}
        for row in message.rows:
            table.add_row(
                Text(str(row.version)),
                Text(
                    row.status,
                    style="bold green"
                    if row.status == specifications.IN_FORCE
                    else "bold yellow"
                    if row.status == specifications.PROPOSED
                    else "dim",
                ),
                Text(row.created_at.astimezone(tz).strftime("%Y-%m-%d")),
                Text(row.name),
                key=str(row.version),
            )
        if keep is not None and keep in self.rows:
            table.move_cursor(row=table.get_row_index(keep))
        self._show_version(self.selected())
        self.query_one("#specs-loading").display = False

    @on(SpecImported)
    def _imported(self, message: SpecImported) -> None:
        self.importing = False
        self.query_one("#specs-path", Input).value = ""
        self._status(
            f"Specification version {message.version} is proposed; it is in force "
            "once a QA person other than you approves it. Until then new lots are "
            "tested against the version in force.",
            error=False,
        )
        self._select = str(message.version)
        self.query_one("#specs-versions").focus()
        self.action_reload()

    @on(SpecApproved)
    def _approved(self, message: SpecApproved) -> None:
        self._status(
            f"Specification version {message.version} approved and signed; it is "
            "in force for new lots (existing lots keep theirs).",
            error=False,
        )
        self._select = str(message.version)
        self.action_reload()

    @on(ImportRefused)
    def _refused(self, message: ImportRefused) -> None:
        self.importing = False
        self._status(f"{message.message} Nothing was stored.", error=True)

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        # The app shows the error; the screen stops looking busy.
        if event.state is WorkerState.ERROR:
            self.importing = False
            self.query_one("#specs-loading").display = False

    def _status(self, text: str, *, error: bool) -> None:
        line = self.query_one("#specs-status", Static)
        line.update(Content(text))
        line.set_class(error, "error")
        line.set_class(not error, "success")
