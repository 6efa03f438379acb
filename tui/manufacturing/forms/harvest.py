"""Record a bone-marrow harvest (new DIN), registering the subject first if needed, and
optionally start its lot in the same transaction."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session
from textual import on
from textual.app import ComposeResult
from textual.widgets import Checkbox, Input, Select

from lottrack.facility import subjects
from lottrack.kernel.units import Dim
from lottrack.manufacturing import expansion, harvests
from lottrack.records.permissions import CurrentUser
from lottrack.views import listings
from tui.common.form import FormProblem, FormScreen, SaveCall, field_row, grid
from tui.widgets.moment_input import MomentField
from tui.widgets.quantity_input import QuantityField

NEW_SUBJECT = -1


@dataclass(frozen=True)
class HarvestChoices:
    """Subjects and sites to pick from."""

    subjects: list[listings.SubjectChoice]
    sites: list[listings.SiteChoice]


class HarvestForm(FormScreen):
    """Subject, collection time, volume, cells, anticoagulant, aspiration site."""

    FORM_TITLE = "Record a bone-marrow harvest"
    HELP = """\
# Record a harvest

Pick the subject (or **New subject…** to register one: code such as TLS-003, initials,
date of birth as 1961-02-14). The harvest gets a new DIN of the subject's site.

* **Collected at** reads `now`, `14:30`, `yesterday 14:30`, `2025-03-14 14:30` or `-2h`
  in the site's time zone; the full time is shown beside it.
* **Volume** and **total nucleated cells** take units (`90 mL`, `1.4e9 cells`); the value
  in the stored unit is shown as you type.
* With **Start the lot now** ticked, the lot (L-DIN) is opened in the same step.

**ctrl+s** saves, **Escape** cancels. A refusal is shown under the form; nothing is
stored then.
"""

    def compose_fields(self) -> ComposeResult:
        """The fields (new-subject fields hidden until asked for)."""
        clock = self.ctx.clock
        with grid():
            yield from field_row(
                "Subject",
                Select[int](
                    [], prompt="Pick a subject", name="Subject", id="subject", compact=True
                ),
            )
            yield from field_row(
                "Subject code",
                Input(placeholder="e.g. TLS-003", compact=True, name="Subject code", id="new-code"),
            )
            yield from field_row(
                "Initials",
                Input(placeholder="e.g. JD", compact=True, name="Initials", id="new-initials"),
            )
            yield from field_row(
                "Date of birth",
                Input(
                    placeholder="e.g. 1961-02-14", compact=True, name="Date of birth", id="new-dob"
                ),
            )
            yield from field_row(
                "Site",
                Select[int]([], prompt="Pick the site", name="Site", id="new-site", compact=True),
            )
            yield from field_row("Collected at", MomentField("Collected at", clock, id="collected"))
            yield from field_row(
                "Volume", QuantityField("Volume aspirated", Dim.VOLUME, id="volume")
            )
            yield from field_row(
                "Nucleated cells",
                QuantityField("Total nucleated cells", Dim.CELLS, optional=True, id="tnc"),
            )
            yield from field_row(
                "Anticoagulant", Input("heparin", compact=True, name="Anticoagulant", id="anticoag")
            )
            yield from field_row(
                "Aspiration site",
                Input("posterior iliac crest", compact=True, name="Aspiration site", id="asp-site"),
            )
            yield from field_row(
                "", Checkbox("Start the lot now", True, id="start-lot", compact=True)
            )

    def load(self, session: Session, who: CurrentUser) -> HarvestChoices:
        """Subjects and sites."""
        return HarvestChoices(
            listings.subject_choices(session, who), listings.site_choices(session, who)
        )

    def apply(self, data: HarvestChoices) -> None:
        """Fill the pickers."""
        options: list[tuple[str, int]] = [
            (f"{s.code}  {s.initials}  born {s.date_of_birth.isoformat()}", s.id)
            for s in data.subjects
        ]
        options.append(("New subject…", NEW_SUBJECT))
        self.query_one("#subject", Select).set_options(options)
        site = self.query_one("#new-site", Select)
        site.set_options([(s.name, s.id) for s in data.sites])
        if data.sites:
            site.value = data.sites[0].id
        self._show_new_subject(False)

    def context_line(self) -> str:
        """What the form does."""
        return "A new DIN is issued when the harvest is saved."

    def _show_new_subject(self, shown: bool) -> None:
        for wid in ("new-code", "new-initials", "new-dob"):
            self.show_field(wid, shown)
        self.show_field("new-site", shown and len(self.data.sites) > 1)

    def _site(self) -> listings.SiteChoice | None:
        subject = self.query_one("#subject", Select).value
        data: HarvestChoices = self.data
        if subject == NEW_SUBJECT:
            site_id = self.query_one("#new-site", Select).value
        else:
            match = [s.site_id for s in data.subjects if s.id == subject]
            site_id = match[0] if match else None
        return next((s for s in data.sites if s.id == site_id), None)

    @on(Select.Changed, "#subject, #new-site")
    def _subject_changed(self) -> None:
        if self.data is None:
            return
        self._show_new_subject(self.query_one("#subject", Select).value == NEW_SUBJECT)
        site = self._site()
        if site is not None:
            for field in self.query(QuantityField):
                field.decimal_separator = site.decimal_separator
            self.query_one(MomentField).set_zone(zoneinfo.ZoneInfo(site.timezone))

    def collect(self) -> SaveCall:
        """Register (if new) → harvest → lot, in one transaction."""
        subject = self.query_one("#subject", Select).value
        if not isinstance(subject, int):
            raise FormProblem(
                "Subject: pick the subject, or New subject… to register one.", "Subject"
            )
        collected = self.query_one(MomentField).moment()
        volume = self.query_one("#volume", QuantityField).text
        tnc = self.query_one("#tnc", QuantityField).text
        anticoagulant = self.query_one("#anticoag", Input).value
        aspiration = self.query_one("#asp-site", Input).value
        start = self.query_one("#start-lot", Checkbox).value
        new: dict[str, Any] | None = None
        if subject == NEW_SUBJECT:
            dob_text = self.query_one("#new-dob", Input).value.strip()
            try:
                dob = dt.date.fromisoformat(dob_text)
            except ValueError:
                raise FormProblem(
                    f'Date of birth: "{dob_text[:20]}" is not a date; expected '
                    "year-month-day such as 1961-02-14.",
                    "Date of birth",
                ) from None
            new = {
                "code": self.query_one("#new-code", Input).value,
                "initials": self.query_one("#new-initials", Input).value,
                "date_of_birth": dob,
                "site_id": self.query_one("#new-site", Select).value,
            }

        def save(session: Session, who: CurrentUser) -> str:
            subject_id = int(subject)
            registered = ""
            if new is not None:
                info = subjects.register_subject(session, who, **new)
                subject_id, registered = info.id, f"Subject {info.code} registered. "
            harvest = harvests.record_harvest(
                session,
                who,
                subject_id=subject_id,
                collected_at=collected,
                volume_text=volume,
                anticoagulant=anticoagulant,
                aspiration_site=aspiration,
                tnc_text=tnc or None,
            )
            done = f"{registered}Harvest DIN {harvest.din} recorded."
            if start:
                expansion.start_lot(session, who, harvest_id=harvest.id)
                done += f" Lot {expansion.LOT_PREFIX}{harvest.din} started."
            return done

        return save
