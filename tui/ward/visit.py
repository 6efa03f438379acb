"""Ward (blinded): one visit at the bedside — weight, identity check, infusion.

Everything on this screen comes from the blinded ward view
(:func:`lottrack.trial.listings.ward_visit_detail`): an MSC visit and a placebo visit
show the same lines, in the same words and order, apart from identifiers and times.
Keep it so: never add a line, a style or a key that depends on the bag.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static
from typing_extensions import override

from lottrack.kernel.units import Dim, format_quantity
from lottrack.records.permissions import Action, CurrentUser
from lottrack.records.signatures import Credentials
from lottrack.storage.db import Database
from lottrack.trial import listings, ward
from lottrack.trial.listings import WardVisitDetail
from lottrack.views.documents.issue import IssuedDocument
from tui.common.trial_screen import REFRESH_AND_BACK, TrialScreen, Write, weight_line, when
from tui.dialogs.moment import MomentModal
from tui.dialogs.reason import ReasonModal
from tui.pharmacy.documents import infusion_path, issue_infusion_certificate
from tui.ward.bedside import BedsideEntry, BedsideModal
from tui.ward.infusion_end import InfusionEnd, InfusionEndModal
from tui.widgets.key_footer import KeyFooter
from tui.widgets.session_header import SessionHeader
from tui.workers import post_if_current

NEXT_STEP = {
    listings.WARD_STATES[0]: "Next: the pharmacy prepares the bag.",
    listings.WARD_STATES[1]: "Next: a second pharmacist verifies the bag.",
    listings.WARD_STATES[2]: "Next: b — bedside identity check.",
    listings.WARD_STATES[3]: "Next: s — record the start of the infusion.",
    listings.WARD_STATES[4]: "Next: e — record the end and any reactions (signed).",
    listings.WARD_STATES[5]: "Complete. p prints the infusion certificate.",
}


@dataclass
class WardLoaded(Message):
    """The blinded view of the visit."""

    detail: WardVisitDetail


class WardVisitScreen(TrialScreen):
    """The bedside steps of one visit, in order."""

    HELP = """\
# Ward visit (blinded)

The visit's bag, the pharmacy's preparation and verification, the patient's weight and
the infusion. Nothing here tells which treatment the bag holds.

* **w** records a weight (a value outside 30–200 kg only after a second Enter confirms
  it); the patients list's **w** corrects or voids one.
* **b** bedside identity check: ask the patient's **subject code** and **date of
  birth**, and scan or type the bag's **kit code**. A mismatch is refused and recorded:
  do not infuse; call the pharmacy.
* **s** records the start of the infusion; **e** its end with any reactions (grade
  1–5), signed *administered*.
* **p** prints the infusion certificate once the infusion is complete.
* **u** emergency unblinding of this patient (investigators only; signed and audited).
"""

    BINDINGS = [
        Binding("b", "bedside", "Bedside check"),
        Binding("s", "start", "Start"),
        Binding("e", "end", "End"),
        Binding("w", "weight", "Weight"),
        Binding("p", "print_certificate", "Certificate"),
        Binding("u", "unblind", "Unblind"),
        *REFRESH_AND_BACK,
    ]

    def __init__(self, visit_id: int) -> None:
        super().__init__()
        self.visit_id = visit_id
        self.detail: WardVisitDetail | None = None
        self.end_draft: InfusionEnd | None = None
        """The end of the infusion as typed, kept until it is signed (a cancelled
        signature reopens the dialog with it)."""

    def compose(self) -> ComposeResult:
        """Header, the visit's lines, the status line, footer; the read of the visit
        starts first."""
        self.action_reload()  # while the widgets are mounted (#18), shown once mounted
        yield SessionHeader()
        with VerticalScroll(id="wv-body", classes="trial-body"):
            yield Static("Loading the visit…", id="wv-title", classes="pane-title")
            for name in ("state", "bag", "pharmacy", "weight"):
                yield Static("", id=f"wv-{name}")
            yield Static("Infusion", classes="trial-section")
            for name in ("bedside", "start", "end", "reactions", "next", "docs"):
                yield Static("", id=f"wv-{name}")
        # Under the body, not in it: always in sight, however long the body grows.
        yield Static("", id="trial-status", classes="message")
        yield KeyFooter()

    @override
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer the step the visit is at (the state never depends on the arm)."""
        d = self.detail
        state = d.state if d else ""
        steps = {
            "bedside": listings.WARD_STATES[2],
            "start": listings.WARD_STATES[3],
            "end": listings.WARD_STATES[4],
            "print_certificate": listings.WARD_STATES[5],
        }
        if action in steps:
            return state == steps[action]
        if action == "unblind":
            return self.ctx.can(Action.UNBLIND)
        if action == "weight":
            return d is not None
        return True

    # ------------------------------------------------------------------------ loading

    def action_reload(self) -> None:
        """Read the visit again."""
        self._load(self.ctx.db, self.who, self.visit_id)

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def _load(self, db: Database, who: CurrentUser, visit_id: int) -> None:
        with db.reader() as session:
            detail = listings.ward_visit_detail(session, who, visit_id)
        post_if_current(self, WardLoaded(detail))

    @on(WardLoaded)
    def _loaded(self, message: WardLoaded) -> None:
        d = self.detail = message.detail
        v = d.visit
        tz = self.ctx.clock().tzinfo
        lines = {
            "title": f"Ward · {v.subject_code} (born {v.date_of_birth}) · period {v.period} · "
            f"planned {v.planned_date}",
            "state": f"State: {d.state}"
            + (" · subject flagged as unblinded" if v.subject_unblinded else ""),
            "bag": (
                f"Bag: kit {v.kit_code} · DIN {listings.din_text(v.din)}\n"
                f"     {format_quantity(v.volume_ml or 0, Dim.VOLUME)} · use by "
                f"{when(v.use_by, tz)}"
                if v.kit_code and v.din
                else "Bag: not prepared yet."
            ),
            "pharmacy": (
                f"Pharmacy: prepared by {v.prepared_by} {when(v.prepared_at, tz)} · "
                + (
                    f"verified by {v.verified_by} {when(v.verified_at, tz)}"
                    if v.verified_by
                    else "second verification pending"
                )
                if v.prepared_by
                else "Pharmacy: —"
            ),
            "bedside": f"Bedside identity check: {when(v.identity_checked_at, tz)}",
            "start": f"Started: {when(v.started_at, tz)}",
            "end": f"Ended: {when(v.ended_at, tz)}",
            "reactions": "Reactions: "
            + (
                f"{v.reactions} (grade {v.reaction_grade})"
                if v.reactions
                else ("none" if v.ended_at else "—")
            ),
            "next": f"Stop: {d.stop}; do not infuse; call the pharmacy."
            if d.stop
            else NEXT_STEP[d.state],
            "docs": (
                f"Infusion certificate: p prints it to "
                f"{infusion_path(v.kit_code, d.certificate_copies)}"
                if v.kit_code and v.ended_at
                else ""
            ),
        }
        for name, text in lines.items():
            self.query_one(f"#wv-{name}", Static).update(Text(text))
        self.query_one("#wv-next", Static).set_class(bool(d.stop), "error")
        text, style = weight_line(d.weight, tz)
        weight = self.query_one("#wv-weight", Static)
        weight.update(Text(text))
        weight.set_classes(style)
        self.refresh_bindings()

    # ------------------------------------------------------------------------ actions

    def action_back(self) -> None:
        """Back to the patients."""
        self.dismiss()

    def action_weight(self) -> None:
        """Record a weight of the patient."""
        d = self.detail
        if d is not None:
            self.record_weight(d.subject_id, d.visit.subject_code, self.action_reload)

    def _stopped(self, doing: str) -> bool:
        """Say at once (before any identifier is typed) why the bag must not be used."""
        stop = self.detail.stop if self.detail else None
        if stop:
            self.status(f"Cannot {doing}: {stop}; do not infuse; call the pharmacy.", error=True)
        return bool(stop)

    def action_bedside(self) -> None:
        """Confirm two identifiers and the kit code."""
        if self._stopped("start the bedside check"):
            return
        who, visit_id = self.who, self.visit_id

        def typed(entry: BedsideEntry | None) -> None:
            if entry is not None:
                self.write(
                    lambda s: ward.bedside_check(
                        s,
                        who,
                        visit_id=visit_id,
                        subject_code=entry.subject_code,
                        date_of_birth=entry.date_of_birth,
                        kit_code=entry.kit_code,
                    ),
                    lambda _id: self._stepped(
                        "Identity confirmed: you may start the infusion (s)."
                    ),
                )

        self.app.push_screen(BedsideModal(), typed)

    def action_start(self) -> None:
        """Record the start of the infusion."""
        infusion_id = self.detail.visit.infusion_id if self.detail else None
        if infusion_id is None or self._stopped("start the infusion"):
            return
        who = self.who

        def typed(at: dt.datetime | None) -> None:
            if at is not None:
                self.write(
                    lambda s: ward.start_infusion(s, who, infusion_id, at),
                    lambda _: self._stepped("Infusion started."),
                )

        self.app.push_screen(
            MomentModal(
                "Start of the infusion",
                "When did the infusion start?",
                "Started at",
                self.ctx.clock,
            ),
            typed,
        )

    def action_end(self) -> None:
        """Record the end and reactions, signed ``administered``."""
        d = self.detail
        infusion_id = d.visit.infusion_id if d else None
        if d is None or infusion_id is None:
            return
        who = self.who
        text = (
            f"Infusion of kit {d.visit.kit_code} to {d.visit.subject_code}, period {d.visit.period}"
        )

        def typed(end: InfusionEnd | None) -> None:
            self.end_draft = end  # None: the dialog itself was cancelled
            if end is None:
                return

            def make(creds: Credentials) -> Write:
                return lambda s: ward.end_infusion(
                    s,
                    who,
                    creds,
                    infusion_id,
                    ended_at=end.ended_at,
                    reactions=end.reactions,
                    reaction_grade=end.grade,
                )

            self.sign("administered", text, make, self._ended)

        db = self.ctx.db

        def check(end: InfusionEnd) -> None:
            with db.reader() as s:
                ward.check_infusion_end(
                    s,
                    who,
                    infusion_id,
                    ended_at=end.ended_at,
                    reactions=end.reactions,
                    reaction_grade=end.grade,
                )

        self.app.push_screen(InfusionEndModal(self.ctx.clock, check, draft=self.end_draft), typed)

    def _ended(self, _: object) -> None:
        self.end_draft = None
        self._stepped("Infusion complete and signed.")

    def _stepped(self, text: str) -> None:
        self.status(text, success=True)
        self.action_reload()

    def action_print_certificate(self) -> None:
        """Print (issue) the infusion certificate."""
        d = self.detail
        if d is None or d.visit.infusion_id is None or d.visit.kit_code is None:
            return
        who, infusion_id = self.who, d.visit.infusion_id
        out = infusion_path(d.visit.kit_code, d.certificate_copies)

        def reasoned(reason: str | None) -> None:
            if reason is not None:
                self.write(
                    lambda s: issue_infusion_certificate(s, who, infusion_id, out, reason),
                    self._printed,
                )

        if d.certificate_copies == 0:
            reasoned("")
            return
        self.app.push_screen(
            ReasonModal(
                "Reprint the infusion certificate",
                "It was printed before; the reprint is marked COPY. Why is it printed again?",
                "Reprint",
            ),
            reasoned,
        )

    def _printed(self, issued: IssuedDocument) -> None:
        copy = f" (COPY {issued.copy_number})" if issued.copy_number else ""
        self.status(
            f"Infusion certificate {issued.document_id}{copy} written to {issued.path}.",
            success=True,
        )
        self.action_reload()

    def action_unblind(self) -> None:
        """Emergency unblinding of this patient (investigators)."""
        from tui.ward.unblind import UnblindScreen

        code = self.detail.visit.subject_code if self.detail else ""
        self.app.push_screen(UnblindScreen(code))
