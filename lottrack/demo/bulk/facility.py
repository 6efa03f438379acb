"""What every bulk journey needs from the demo database, and the checks it applies.

Loaded once per build: the demo people (with the permissions each step needs checked), the
site, the current specification and its items, the trial settings, the codes already in use.
The value checks are the services' own: typed quantities are read with
:func:`lottrack.facility.sites.parse_at_site`, moments with
:func:`lottrack.facility.sites.check_moment`, counts, growth, doses and limits with
:mod:`lottrack.kernel.calc`, QC results judged with
:func:`lottrack.manufacturing.specifications.judge`. Parsing and judging are memoised, since
a bulk build types the same few texts many thousand times.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from lottrack.facility.sites import check_moment, parse_at_site, site_zone
from lottrack.facility.subjects import COI_LENGTH, COI_PREFIX, UNAMBIGUOUS_ALPHABET
from lottrack.kernel import calc
from lottrack.kernel.errors import NotFound, ValidationError
from lottrack.kernel.units import Dim, ParsedQuantity
from lottrack.manufacturing.specifications import Judgement, current_spec, items, judge
from lottrack.records.permissions import Action, allowed
from lottrack.storage import settings
from lottrack.storage.models import ProductUnit, Site, Specification, SpecItem, Subject, User

SUBJECT_PREFIX = "TLS-"
PARTS: dict[str, tuple[str, tuple[Action, ...]]] = {
    "technician": ("tech", (Action.RECORD_MANUFACTURING, Action.REGISTER_REAGENT)),
    "technician2": ("tech2", (Action.RECORD_MANUFACTURING,)),
    "qa": ("qa", (Action.DECIDE_DISPOSITION, Action.RELEASE_REAGENT)),
    "pharmacist": ("pharm", (Action.DISPENSE, Action.MANAGE_ALLOCATION, Action.SCHEDULE_VISITS)),
    "pharmacist2": ("pharm2", (Action.DISPENSE,)),
    "clinician": ("ward", (Action.REGISTER_SUBJECT, Action.RECORD_WEIGHT, Action.RECORD_INFUSION)),
}
"""Who plays which part in the bulk journeys (the demo cast), and what each must be
allowed to do."""


@dataclass(frozen=True)
class Person:
    """A demo person as the audit trail and signatures name them."""

    id: int
    username: str
    full_name: str

    @property
    def actor(self) -> tuple[int | None, str]:
        """(user id, username) for :meth:`lottrack.demo.bulk.batch.Batch.step`."""
        return (self.id, self.username)


@dataclass
class Facility:
    """The demo database's people, site, specification and settings."""

    people: dict[str, Person]
    site: Site
    spec: Specification
    spec_items: dict[str, SpecItem]
    dose_window: calc.DoseWindow
    weight_max_age_days: float
    administration_window: dt.timedelta
    """A dispensing's use-by is this long after it (``dispensing.use_by``)."""
    period2_weeks: int
    next_subject_number: int
    used_codes: set[str] = field(default_factory=set)
    _parsed: dict[tuple[str, Dim], ParsedQuantity] = field(default_factory=dict)
    _judged: dict[tuple[str, str, float | None], Judgement] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session) -> Facility:
        """Read everything from a demo database (built by :func:`lottrack.demo.database.build`)."""
        people = {}
        for part, (username, actions) in PARTS.items():
            user = session.exec(select(User).where(User.username == username)).first()
            if user is None or user.id is None:
                raise NotFound(
                    f"The demo person '{username}' is missing; bulk subjects are "
                    "added to a demo database only."
                )
            for action in actions:
                if not allowed(user.role_set, action):
                    raise ValidationError(f"The demo person '{username}' may not {action.value}.")
            people[part] = Person(user.id, user.username, user.full_name)
        site = session.exec(select(Site).order_by(col(Site.id))).first()
        if site is None:
            raise NotFound("The demo site is missing.")
        spec = current_spec(session)
        assert spec.id is not None
        spec_items = {i.code: i for i in items(session, spec.id)}
        codes = set(session.exec(select(Subject.coi_id)).all())
        codes |= set(session.exec(select(ProductUnit.kit_code)).all())
        numbers = [
            int(c[len(SUBJECT_PREFIX) :])
            for c in session.exec(select(Subject.code)).all()
            if c.startswith(SUBJECT_PREFIX) and c[len(SUBJECT_PREFIX) :].isdigit()
        ]
        session.expunge_all()
        return cls(
            people=people,
            site=site,
            spec=spec,
            spec_items=spec_items,
            dose_window=calc.DoseWindow(
                settings.get_float(session, "dose_min_cells_per_kg"),
                settings.get_float(session, "dose_max_cells_per_kg"),
            ),
            weight_max_age_days=settings.get_float(session, "weight_max_age_days"),
            administration_window=dt.timedelta(
                minutes=settings.get_float(session, "administration_window_minutes")
            ),
            period2_weeks=settings.get_int(session, "period2_week"),
            next_subject_number=max(numbers, default=0) + 1,
            used_codes=codes,
        )

    def who(self, part: str) -> Person:
        """The person playing ``part``."""
        return self.people[part]

    # ---------------------------------------------------------------- values

    def typed(self, text: str, dim: Dim, what: str = "") -> ParsedQuantity:
        """``text`` read as the services read it at this site (memoised)."""
        key = (text, dim)
        if key not in self._parsed:
            self._parsed[key] = parse_at_site(self.site, text, what or dim.name.lower(), dim)
        return self._parsed[key]

    def judged(self, code: str, text: str, endotoxin_limit: float | None) -> Judgement:
        """A QC result judged against the specification item ``code`` (memoised)."""
        key = (code, text, endotoxin_limit)
        if key not in self._judged:
            self._judged[key] = judge(
                self.spec_items[code],
                text,
                decimal_separator=self.site.decimal_separator,
                endotoxin_limit=endotoxin_limit,
            )
        return self._judged[key]

    def moment(
        self,
        at: dt.datetime,
        what: str,
        *,
        after: dt.datetime | None = None,
        after_what: str = "",
        strictly: bool = False,
    ) -> dt.datetime:
        """``at`` checked as the services check a typed moment (not in the future, not
        before ``after``)."""
        return check_moment(
            self.site,
            at,
            what,
            not_before=after,
            not_before_what=after_what,
            strictly_after=strictly,
        )

    def random_code(self, prefix: str, length: int) -> str:
        """A code of the services' form (``secrets``, unambiguous alphabet), unused."""
        while True:
            code = prefix + "".join(secrets.choice(UNAMBIGUOUS_ALPHABET) for _ in range(length))
            if code not in self.used_codes:
                self.used_codes.add(code)
                return code

    def coi(self) -> str:
        """A new chain-of-identity id."""
        return self.random_code(COI_PREFIX, COI_LENGTH)


def require(condition: bool, message: str) -> None:
    """Refuse a bulk row that a service would refuse (a bug in the generator)."""
    if not condition:
        raise ValidationError(f"Bulk demo: {message}", title="Bulk row refused")


def fmt_at_site(at: dt.datetime, site: Site) -> str:
    """A moment as the dispensing checks print it (``lottrack.trial.dispensing``): in the
    site's zone."""
    return at.astimezone(site_zone(site)).strftime("%Y-%m-%d %H:%M %Z")
