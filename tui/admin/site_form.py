"""Register a site, or correct one (with a reason the audit trail records)."""

from __future__ import annotations

import zoneinfo
from functools import cache

from sqlmodel import Session
from textual.app import ComposeResult
from textual.suggester import SuggestFromList
from textual.widgets import Input, Select

from lottrack.facility import sites
from lottrack.facility.sites import SiteInfo
from lottrack.records.permissions import CurrentUser
from tui.common.form import FormProblem, FormScreen, SaveCall, field_row, grid

SEPARATORS = [(". (point: 1.5)", "."), (", (comma: 1,5)", ",")]
FIELDS = {
    "name": "Site name",
    "address": "Address",
    "fin": "FIN",
    "timezone": "Time zone",
    "decimal_separator": "Decimal separator",
    "product_code_msc": "MSC product code",
    "product_code_placebo": "Placebo product code",
}
"""SiteInfo attribute → the field name the sites service uses in its messages."""


@cache
def _zone_names() -> list[str]:
    return sorted(zoneinfo.available_timezones())


class SiteForm(FormScreen):
    """Name, address, FIN, time zone, decimal separator, product codes (+ reason to edit)."""

    SAVE_LABEL = "Save"
    HELP = """\
# Site

* **Site name** and **address** as printed on labels and certificates.
* **FIN**: the facility identification number ICCBBA assigned (5 characters, e.g.
  `A9999`). It starts every DIN the site issues, so it cannot change once a DIN has been
  issued under it.
* **Time zone**: an IANA name such as `Europe/Berlin` (→ completes a suggestion). Times
  are stored in UTC; screens and documents show them in this zone.
* **Decimal separator**: how the site's staff write numbers (`1.5` or `1,5`).
* **MSC code**, **Placebo code**: ISBT 128 product codes from ICCBBA's table (never
  invent one); the MSC code must be for autologous use only. New codes apply to bags
  formulated from then on; a bag keeps the code on its label.

A change to a saved site needs a **reason**; the audit trail records it with every old
and new value. **ctrl+s** saves, **Esc** leaves without saving.
"""

    def __init__(self, site: SiteInfo | None = None) -> None:
        super().__init__()
        self.site = site
        """None to register a new site; else the site being corrected."""
        self.FORM_TITLE = "Register a site" if site is None else f"Correct site: {site.name}"

    def context_line(self) -> str:
        """Which site, and why a reason is asked."""
        if self.site is None:
            return "A new site; every field is checked before anything is stored."
        return f"Site {self.site.fin}. The change and its reason go to the audit trail."

    def compose_fields(self) -> ComposeResult:
        """The fields, filled with the site's values when correcting it."""
        site = self.site

        def value(attr: str) -> str:
            return str(getattr(site, attr)) if site is not None else ""

        with grid():
            yield from field_row(
                "Site name",
                Input(
                    value("name"),
                    compact=True,
                    name="Site name",
                    id="site-name",
                    placeholder="as printed on labels",
                ),
            )
            yield from field_row(
                "Address", Input(value("address"), compact=True, name="Address", id="site-address")
            )
            yield from field_row(
                "FIN",
                Input(
                    value("fin"),
                    compact=True,
                    name="FIN",
                    id="site-fin",
                    placeholder="from ICCBBA, e.g. A9999",
                ),
            )
            yield from field_row(
                "Time zone",
                Input(
                    value("timezone"),
                    compact=True,
                    name="Time zone",
                    id="site-timezone",
                    placeholder="e.g. Europe/Berlin",
                    suggester=SuggestFromList(_zone_names(), case_sensitive=False),
                ),
            )
            yield from field_row(
                "Decimal separator",
                Select[str](
                    SEPARATORS,
                    value=site.decimal_separator if site is not None else ".",
                    allow_blank=False,
                    compact=True,
                    name="Decimal separator",
                    id="site-separator",
                ),
            )
            yield from field_row(
                "MSC code",
                Input(
                    value("product_code_msc"),
                    compact=True,
                    name="MSC product code",
                    id="site-msc",
                    placeholder="ISBT 128 product code, e.g. S1234100",
                ),
            )
            yield from field_row(
                "Placebo code",
                Input(
                    value("product_code_placebo"),
                    compact=True,
                    name="Placebo product code",
                    id="site-placebo",
                    placeholder="ISBT 128 product code, e.g. S1235000",
                ),
            )
            if site is not None:
                yield from field_row(
                    "Reason",
                    Input(
                        compact=True,
                        name="Reason",
                        id="site-reason",
                        placeholder="why the site is changed (audit trail)",
                    ),
                )

    def collect(self) -> SaveCall:
        """create_site or update_site with what was typed."""
        typed = {
            "name": self.query_one("#site-name", Input).value,
            "address": self.query_one("#site-address", Input).value,
            "fin": self.query_one("#site-fin", Input).value,
            "timezone": self.query_one("#site-timezone", Input).value,
            "product_code_msc": self.query_one("#site-msc", Input).value,
            "product_code_placebo": self.query_one("#site-placebo", Input).value,
        }
        separator = self.query_one("#site-separator", Select).value
        if not isinstance(separator, str):
            raise FormProblem("Decimal separator: pick . or ,", "Decimal separator")
        site = self.site
        if site is None:

            def create(session: Session, who: CurrentUser) -> str:
                info = sites.create_site(session, who, decimal_separator=separator, **typed)
                return f"Registered site {info.name} (FIN {info.fin}, {info.timezone})."

            return create
        reason = self.query_one("#site-reason", Input).value

        def update(session: Session, who: CurrentUser) -> str:
            info = sites.update_site(
                session, who, site.id, reason=reason, decimal_separator=separator, **typed
            )
            changed = [
                label
                for attr, label in FIELDS.items()
                if getattr(info, attr) != getattr(site, attr)
            ]
            return f"Site {info.name} saved; changed: {', '.join(changed)}."

        return update
