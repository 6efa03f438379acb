"""Sites (design §2) and the site-aware reading of what a person types.

A site fixes how its staff write numbers (decimal separator) and read clocks (IANA time
zone). Every manufacturing service reads quantities with :func:`parse_at_site`, checks
timestamps with :func:`check_moment` (messages show the site's local time) and cleans
free text with :func:`clean_text`, so that these rules live in one place.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass
from functools import cache

from sqlalchemy import func
from sqlmodel import Session, col, select

from lottrack.kernel.errors import NotFound, ValidationError
from lottrack.kernel.inputs import clean_text, show
from lottrack.kernel.isbt128 import format_din, parse_din
from lottrack.kernel.snapshots import snapshot
from lottrack.kernel.units import Dim, ParsedQuantity, parse_quantity
from lottrack.records.permissions import Action, CurrentUser, authorize
from lottrack.storage import audit
from lottrack.storage.models import IssuedDin, Site, User, utcnow

FUTURE_TOLERANCE = dt.timedelta(minutes=2)
"""A typed time may lie this far ahead of the server clock (times are typed to the
minute); anything later is refused as a time in the future."""
DECIMAL_SEPARATORS = (".", ",")
# ISBT 128 product code: 5-character product description code (cellular therapy: "S" and
# four digits), 1-character type of donation, 2-character division ("00" = undivided).
_PRODUCT_CODE = re.compile(r"S[0-9]{4}[0-9A-Z]([0-9A-Z]{2})?")
AUTOLOGOUS_DONATION_TYPE = "1"
"""ISBT 128 type of donation "for autologous use only" (design §4.3)."""


@dataclass(frozen=True)
class SiteInfo:
    """A site as services hand it out."""

    id: int
    name: str
    address: str
    timezone: str
    fin: str
    decimal_separator: str
    product_code_msc: str
    product_code_placebo: str


def _info(site: Site) -> SiteInfo:
    return snapshot(SiteInfo, site)


# ------------------------------------------------------------------- input helpers


_show = show


STORED_TEXT_LENGTH = 64
"""Columns ``*_text`` keep at most this many characters of what was typed."""


def parse_at_site(
    site: Site, text: str, field: str, dim: Dim, *, allow_zero: bool = False
) -> ParsedQuantity:
    """:func:`~lottrack.kernel.units.parse_quantity` with the site's decimal separator; the typed
    text must also fit the column that keeps it."""
    parsed = parse_quantity(
        text, field, dim, decimal_separator=site.decimal_separator, allow_zero=allow_zero
    )
    if len(parsed.text) > STORED_TEXT_LENGTH:
        raise ValidationError(
            f'{field}: "{_show(parsed.text)}" is {len(parsed.text)} '
            f"characters long; at most {STORED_TEXT_LENGTH} are kept.",
            field=field,
        )
    return parsed


@cache
def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def site_zone(site: Site) -> zoneinfo.ZoneInfo:
    """The site's time zone."""
    return _zone(site.timezone)


def local_text(site: Site, moment: dt.datetime) -> str:
    """``2024-05-02 10:15 CEST``: a UTC time as the site's staff read it."""
    return moment.astimezone(site_zone(site)).strftime("%Y-%m-%d %H:%M %Z")


def local_date(site: Site, moment: dt.datetime) -> dt.date:
    """The calendar date of ``moment`` at the site."""
    return moment.astimezone(site_zone(site)).date()


def check_moment(
    site: Site,
    moment: dt.datetime,
    field: str,
    *,
    not_before: dt.datetime | None = None,
    not_before_what: str = "",
    strictly_after: bool = False,
) -> dt.datetime:
    """A timezone-aware time, not in the future and, when given, not before
    ``not_before`` (described by ``not_before_what``; with ``strictly_after`` not at
    that time either); returned in UTC."""
    if not isinstance(moment, dt.datetime) or moment.utcoffset() is None:
        raise ValidationError(
            f"{field}: {moment!r} has no time zone; expected a date and time with its zone.",
            field=field,
        )
    moment = moment.astimezone(dt.UTC)
    now = utcnow()
    if moment > now + FUTURE_TOLERANCE:
        raise ValidationError(
            f"{field}: {local_text(site, moment)} is in the future (it is "
            f"now {local_text(site, now)}).",
            field=field,
        )
    if not_before is not None and (
        moment < not_before or (strictly_after and moment == not_before)
    ):
        when = "is before" if moment < not_before else "is the same time as"
        raise ValidationError(
            f"{field}: {local_text(site, moment)} {when} "
            f"{not_before_what} ({local_text(site, not_before)}).",
            field=field,
        )
    return moment


# ------------------------------------------------------------------------ services


def _validate_fin(fin: str) -> str:
    if not isinstance(fin, str):
        raise ValidationError(f"FIN: {fin!r} is not text.", field="FIN")
    code = fin.strip().upper()
    try:
        parse_din(format_din(code, 0, 1))
    except ValidationError as exc:
        detail = exc.message.removeprefix("DIN: ")
        raise ValidationError(
            f'FIN: "{_show(fin)}" is not an ISBT 128 facility identification number: {detail}',
            field="FIN",
        ) from None
    return code


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _validate_timezone(name: str) -> str:
    key = name.strip() if isinstance(name, str) else ""
    if key not in _zones():
        raise ValidationError(
            f'Time zone: "{_show(str(name))}" is not an IANA time zone; '
            "expected a name such as Europe/Berlin or America/New_York.",
            field="Time zone",
        )
    return key


def validate_product_code(code: str, field: str, *, autologous: bool) -> str:
    """An ISBT 128 product code as site data: ``S1234`` + type of donation, with or without
    the division ``00``; returned as the 8 characters (``S1234100``)."""
    text = code.strip().upper() if isinstance(code, str) else ""
    if not _PRODUCT_CODE.fullmatch(text):
        raise ValidationError(
            f'{field}: "{_show(str(code))}" is not an ISBT 128 product code; expected "S", '
            "four digits, the type of donation and optionally the division 00, such as "
            "S1234100 (take it from ICCBBA's table, never invent one).",
            field=field,
        )
    if len(text) == 8 and text[6:] != "00":
        raise ValidationError(
            f'{field}: "{text}" names division {text[6:]}; the site keeps '
            "the undivided code (division 00).",
            field=field,
        )
    if autologous and text[5] != AUTOLOGOUS_DONATION_TYPE:
        raise ValidationError(
            f'{field}: "{text}" has type of donation "{text[5]}"; MSC products of this trial '
            f'are for autologous use only (type "{AUTOLOGOUS_DONATION_TYPE}").',
            field=field,
        )
    return text[:6] + "00"


def _checked_fields(
    *,
    name: str,
    fin: str,
    timezone: str,
    decimal_separator: str,
    address: str,
    product_code_msc: str,
    product_code_placebo: str,
) -> dict[str, str]:
    """What an administrator typed for a site, validated and normalised (column → value)."""
    name = clean_text(name, "Site name", max_length=200)
    address = clean_text(address, "Address", max_length=500, required=False)
    code = _validate_fin(fin)
    zone = _validate_timezone(timezone)
    if decimal_separator not in DECIMAL_SEPARATORS:
        raise ValidationError(
            f'Decimal separator: "{_show(str(decimal_separator))}" is neither "." nor ",".',
            field="Decimal separator",
        )
    msc = validate_product_code(product_code_msc, "MSC product code", autologous=True)
    placebo = validate_product_code(product_code_placebo, "Placebo product code", autologous=False)
    if msc == placebo:
        raise ValidationError(
            f"Placebo product code: {placebo} is the MSC product code; "
            "the two products need different codes.",
            field="Placebo product code",
        )
    return {
        "name": name,
        "address": address,
        "fin": code,
        "timezone": zone,
        "decimal_separator": decimal_separator,
        "product_code_msc": msc,
        "product_code_placebo": placebo,
    }


def _fin_taken(session: Session, fin: str, site_id: int | None) -> None:
    other = session.exec(select(Site).where(Site.fin == fin)).first()
    if other is not None and other.id != site_id:
        raise ValidationError(f"FIN: {fin} is already the FIN of another site.", field="FIN")


def _dins_issued(session: Session, fin: str) -> int:
    return int(
        session.exec(select(func.count()).select_from(IssuedDin).where(IssuedDin.fin == fin)).one()
    )


def create_site(
    session: Session,
    who: CurrentUser,
    *,
    name: str,
    fin: str,
    timezone: str,
    decimal_separator: str,
    address: str,
    product_code_msc: str,
    product_code_placebo: str,
) -> SiteInfo:
    """An administrator registers a site (FIN per ISBT 128, IANA zone, '.' or ',')."""
    authorize(session, who, Action.MANAGE_SITES)
    values = _checked_fields(
        name=name,
        fin=fin,
        timezone=timezone,
        decimal_separator=decimal_separator,
        address=address,
        product_code_msc=product_code_msc,
        product_code_placebo=product_code_placebo,
    )
    _fin_taken(session, values["fin"], None)
    site = Site.model_validate(values)
    session.add(site)
    session.flush()
    return _info(site)


def list_sites(session: Session, who: CurrentUser) -> list[SiteInfo]:
    """Every site, in the order they were registered (administrators)."""
    authorize(session, who, Action.MANAGE_SITES)
    return [_info(s) for s in session.exec(select(Site).order_by(col(Site.id))).all()]


def update_site(
    session: Session,
    who: CurrentUser,
    site_id: int,
    *,
    reason: str,
    name: str,
    fin: str,
    timezone: str,
    decimal_separator: str,
    address: str,
    product_code_msc: str,
    product_code_placebo: str,
) -> SiteInfo:
    """An administrator corrects a site, with a reason the audit trail records.

    Every field is validated as in :func:`create_site`. What a change means for records
    already made: times are stored in UTC, so a new time zone only changes how they are
    shown; a new decimal separator applies to what is typed from then on; new product
    codes apply to bags formulated from then on (a bag keeps the code on its label). The
    FIN cannot change once a DIN has been issued under it: issued DINs name the facility
    for 100 years (design §4.1), and its documents print the site's FIN beside them.
    """
    authorize(session, who, Action.MANAGE_SITES)
    site = site_row(session, site_id)
    values = _checked_fields(
        name=name,
        fin=fin,
        timezone=timezone,
        decimal_separator=decimal_separator,
        address=address,
        product_code_msc=product_code_msc,
        product_code_placebo=product_code_placebo,
    )
    changed = {key: value for key, value in values.items() if getattr(site, key) != value}
    if not changed:
        raise ValidationError(f"{site.name}: nothing was changed; every field is as it was.")
    reason = clean_text(reason, "Reason", max_length=500)
    if "fin" in changed:
        _fin_taken(session, changed["fin"], site.id)
        if _dins_issued(session, site.fin):
            raise ValidationError(
                f"FIN: {_dins_issued(session, site.fin)} DIN(s) have been issued under "
                f"{site.fin}; a DIN is never reissued and names its facility for 100 years, "
                "so the FIN of this site cannot change.",
                field="FIN",
            )
        if _dins_issued(session, changed["fin"]):
            raise ValidationError(
                f"FIN: DINs have already been issued under {changed['fin']}; that FIN "
                "cannot be given to this site.",
                field="FIN",
            )
    with audit.reason(session, reason):
        for key, value in changed.items():
            setattr(site, key, value)
    return _info(site)


@dataclass(frozen=True)
class ClockSite:
    """The site whose local time a terminal shows, and how it was chosen."""

    name: str
    timezone: str
    site_count: int
    """How many sites the database holds (with several, screens say which one is shown)."""
    own_site: bool
    """True when it is the logged-in person's own site (else the first registered)."""


def clock_site(session: Session, user_id: int | None = None) -> ClockSite | None:
    """The site whose time zone screens show (design §2: local time with its zone).

    The only site; with several, the person's own site (``User.site_id``) when they have
    one, else the first registered. None when no site exists yet. Needs no permission: it
    is read before anyone logs in (the login screen shows the time too).
    """
    rows = session.exec(select(Site).order_by(col(Site.id))).all()
    if not rows:
        return None
    user = session.get(User, user_id) if user_id is not None else None
    own = next((s for s in rows if user is not None and s.id == user.site_id), None)
    site = own or rows[0]
    return ClockSite(site.name, site.timezone, len(rows), own is not None)


def site_row(session: Session, site_id: int) -> Site:
    """The site row (for services of this package)."""
    site = session.get(Site, site_id)
    if site is None:
        raise NotFound(f"No site with id {site_id}.")
    return site


def get_site(session: Session, site_id: int) -> SiteInfo:
    """A site by id."""
    return _info(site_row(session, site_id))
