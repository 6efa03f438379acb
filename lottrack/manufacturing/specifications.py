"""Versioned release specifications (design §2, §10) and how a result is judged against them.

Version 1 (design §10) is created by ``lottrack init``. An administrator imports further
versions from a JSON file; a version is never changed once created, so a lot is always
judged against the version current when it was created.
"""

from __future__ import annotations

import json
import math
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from lottrack.kernel.errors import InvalidTransition, NotFound, PermissionDenied, ValidationError
from lottrack.kernel.inputs import clean_text
from lottrack.kernel.units import Dim, ParsedQuantity, format_quantity, parse_quantity
from lottrack.manufacturing import spec_file
from lottrack.records import signatures
from lottrack.records.permissions import Action, CurrentUser, authorize
from lottrack.records.signatures import Credentials
from lottrack.storage import audit
from lottrack.storage.models import Setting, SpecApproval, Specification, SpecItem, utcnow

NUMERIC = "numeric"
CATEGORICAL = "categorical"
REPORT_ONLY = "report-only"
ENDOTOXIN = "endotoxin"
KINDS = (NUMERIC, CATEGORICAL, REPORT_ONLY, ENDOTOXIN)


@dataclass(frozen=True)
class ItemDef:
    """One test of a specification, as written in §10 or an import file."""

    code: str
    test_name: str
    kind: str
    dimension: str = ""
    min_value: float | None = None
    max_value: float | None = None
    accepted: tuple[str, ...] = ()
    required: bool = True


def _pct(
    code: str, name: str, *, lo: float | None = None, hi: float | None = None, required: bool = True
) -> ItemDef:
    return ItemDef(code, name, NUMERIC, "FRACTION", lo, hi, (), required)


V1_SETTINGS: dict[str, Any] = {
    "name": "MSC release specification v1 (design §10)",
    "max_passage": 4,
    "min_replicates": 2,
    "max_cv_pct": 10.0,
    "fresh_shelf_life_hours": 24.0,
    "thaw_max_minutes": 60.0,
}
V1_ITEMS: tuple[ItemDef, ...] = (
    _pct("viability_fresh", "Viability, fresh final product", lo=80.0),
    _pct("viability_post_thaw", "Viability, post-thaw", lo=70.0, required=False),
    _pct("cd73", "CD73", lo=95.0),
    _pct("cd90", "CD90", lo=95.0),
    _pct("cd105", "CD105", lo=95.0),
    _pct("cd45", "CD45", hi=2.0),
    _pct("cd34", "CD34", hi=2.0),
    _pct("cd14", "CD14", hi=2.0),
    _pct("cd19", "CD19", hi=2.0),
    _pct("hla_dr", "HLA-DR", hi=2.0),
    ItemDef(
        "sterility", "Sterility (aerobic/anaerobic culture)", CATEGORICAL, accepted=("no growth",)
    ),
    ItemDef("mycoplasma", "Mycoplasma", CATEGORICAL, accepted=("not detected",)),
    ItemDef("endotoxin", "Endotoxin", ENDOTOXIN, "ENDOTOXIN_CONC"),
    ItemDef("karyotype", "Karyotype", REPORT_ONLY, required=False),
    ItemDef("potency", "Potency (T-cell proliferation inhibition)", REPORT_ONLY, required=False),
)


def _create(
    session: Session, settings: dict[str, Any], items: tuple[ItemDef, ...], created_by: int | None
) -> Specification:
    latest = session.exec(select(func.max(Specification.version))).one()
    spec = Specification(version=(latest or 0) + 1, created_by=created_by, **settings)
    session.add(spec)
    session.flush()
    for position, item in enumerate(items):
        dim = Dim[item.dimension] if item.dimension else None
        assert spec.id is not None
        session.add(
            SpecItem(
                spec_id=spec.id,
                code=item.code,
                test_name=item.test_name,
                kind=item.kind,
                dimension=item.dimension,
                unit=dim.value.symbol if dim else "",
                min_value=item.min_value,
                max_value=item.max_value,
                accepted="|".join(item.accepted),
                required=item.required,
                position=position,
            )
        )
    session.flush()
    return spec


def seed_v1(session: Session) -> None:
    """Create specification version 1 in an empty database (idempotent)."""
    if session.exec(select(Specification).limit(1)).first() is None:
        _create(session, V1_SETTINGS, V1_ITEMS, None)


APPROVED_THROUGH = "spec_approved_through"
"""Setting written by migration 0006: versions up to it were in force before approvals
existed, and count as approved."""
IN_FORCE, PROPOSED, SUPERSEDED = "in force", "proposed", "superseded"


def _approved_versions(session: Session) -> set[int]:
    """Versions that QA approved, seeded by ``init`` or in force before approvals."""
    through = session.get(Setting, APPROVED_THROUGH)
    legacy = int(through.value) if through is not None else 0
    rows = session.exec(
        select(Specification.version, Specification.created_by, SpecApproval.id).join(
            SpecApproval, col(SpecApproval.spec_id) == col(Specification.id), isouter=True
        )
    ).all()
    return {
        version
        for version, created_by, approval in rows
        if approval is not None or created_by is None or version <= legacy
    }


def current_spec(session: Session) -> Specification:
    """The specification in force: the newest approved version (the one a new lot is
    tested against). A proposed version waits for QA's approval."""
    approved = _approved_versions(session)
    spec = session.exec(
        select(Specification)
        .where(col(Specification.version).in_(approved or {0}))
        .order_by(col(Specification.version).desc())
    ).first()
    if spec is None:
        raise NotFound("No specification exists; run `lottrack init`.")
    return spec


def versions(session: Session) -> list[Specification]:
    """Every specification version, newest first (proposed ones included)."""
    return list(
        session.exec(select(Specification).order_by(col(Specification.version).desc())).all()
    )


def status_of(session: Session) -> dict[int, str]:
    """Version → ``in force``, ``proposed`` (awaiting QA approval) or ``superseded``."""
    approved = _approved_versions(session)
    newest = max(approved, default=0)
    return {
        spec.version: (
            IN_FORCE
            if spec.version == newest
            else SUPERSEDED
            if spec.version in approved
            else PROPOSED
        )
        for spec in versions(session)
    }


def _spec_content(session: Session, spec: Specification) -> dict[str, Any]:
    """What an approval signature covers: the version's settings and every test."""

    def content(row: Any) -> dict[str, Any]:
        table = row.__table__
        return audit.row_content(table, {c.name: getattr(row, c.name) for c in table.columns})

    assert spec.id is not None
    return {"specification": content(spec), "items": [content(i) for i in items(session, spec.id)]}


def approve(session: Session, who: CurrentUser, creds: Credentials, version: int) -> None:
    """QA approves a proposed version with a signature; it is in force from then on (new
    lots are tested against it; existing lots keep theirs). The proposer cannot approve."""
    authorize(session, who, Action.APPROVE_SPECIFICATIONS)
    spec = session.exec(select(Specification).where(Specification.version == version)).first()
    if spec is None:
        raise NotFound(f"No specification version {version}.")
    state = status_of(session)[version]
    if state != PROPOSED:
        raise InvalidTransition(
            f"Specification version {version} is {state}; only a proposed version is approved."
        )
    if spec.created_by == who.id:
        raise PermissionDenied(
            f"{who.full_name} proposed specification version {version} "
            "and so may not approve it (a QA person who is not the "
            "proposer approves)."
        )
    signature = signatures.sign(
        session,
        who,
        creds,
        meaning="approved",
        record_type="specification",
        record_id=spec.id or 0,
        content=_spec_content(session, spec),
    )
    assert spec.id is not None and signature.id is not None
    session.add(
        SpecApproval(
            spec_id=spec.id, approved_at=utcnow(), approved_by=who.id, signature_id=signature.id
        )
    )
    session.flush()


def items(session: Session, spec_id: int) -> list[SpecItem]:
    """The tests of a specification, in order."""
    return list(
        session.exec(
            select(SpecItem).where(SpecItem.spec_id == spec_id).order_by(col(SpecItem.position))
        ).all()
    )


def item_by_code(session: Session, spec_id: int, code: str) -> SpecItem:
    """One test of a specification by its code (e.g. ``cd73``)."""
    item = session.exec(
        select(SpecItem).where(SpecItem.spec_id == spec_id, SpecItem.code == code)
    ).first()
    if item is None:
        known = ", ".join(i.code for i in items(session, spec_id))
        raise ValidationError(
            f'Test: "{code}" is not in this specification ({known}).', field="test"
        )
    return item


# ------------------------------------------------------------------------ import


MAX_WHOLE = 2**31 - 1
"""Largest whole-number setting (the columns are 32-bit integers)."""
MAX_PERIOD = {"fresh_shelf_life_hours": 24 * 365.0, "thaw_max_minutes": 60 * 24 * 365.0}
"""Upper bounds of the time settings (a year): a bag's expiry must remain a date."""


def _text(value: Any, field: str, max_length: int) -> str:
    return clean_text(
        str(value), f"Specification file: {field}", max_length=max_length, required=False
    )


def _finite(value: Any, what: str) -> float:
    """A JSON number that is a finite float (not true/false, not beyond the float range)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"Specification file: {what} must be a number.")
    try:
        number = float(value)
    except OverflowError:
        raise ValidationError(f"Specification file: {what} is too large.") from None
    if not math.isfinite(number):
        raise ValidationError(f"Specification file: {what} must be a finite number.")
    return number


def _accepted(raw: Any, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(a, str) for a in raw):
        raise ValidationError(f"Specification file: {where} accepted must be a list of texts.")
    values = tuple(_normalise_category(_text(a, f"{where} accepted value", 200)) for a in raw)
    if any("|" in a for a in values):
        raise ValidationError(f'Specification file: {where} accepted values cannot hold "|".')
    if len("|".join(values)) > 500:
        raise ValidationError(
            f"Specification file: {where} accepted values are longer than 500 characters together."
        )
    return values


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


def _item_from_json(raw: Any, index: int) -> ItemDef:
    where = f"items[{index}]"
    if not isinstance(raw, dict):
        raise ValidationError(f"Specification file: {where} must be an object.")
    try:
        code = _text(raw["code"], f"{where} code", 64)
        name = _text(raw["test_name"], f"{where} test_name", 200)
        kind = str(raw["kind"]).strip()
    except KeyError as exc:
        raise ValidationError(f"Specification file: {where} lacks {exc.args[0]!r}.") from None
    if kind not in KINDS:
        raise ValidationError(
            f"Specification file: {where} kind {kind!r} is not one of {', '.join(KINDS)}."
        )
    if not code or not name:
        raise ValidationError(f"Specification file: {where} needs a code and a test name.")
    dimension = str(raw.get("dimension", "")).strip()
    lo, hi = raw.get("min"), raw.get("max")
    lo = None if lo is None else _finite(lo, f"{where} min")
    hi = None if hi is None else _finite(hi, f"{where} max")
    if kind == NUMERIC:
        if dimension not in Dim.__members__:
            raise ValidationError(
                f"Specification file: {where} dimension {dimension!r} is "
                f"not one of {', '.join(Dim.__members__)}."
            )
        if lo is None and hi is None:
            raise ValidationError(f"Specification file: {where} needs a min or a max.")
        if lo is not None and hi is not None and lo > hi:
            raise ValidationError(f"Specification file: {where} min is above max.")
    accepted = _accepted(raw.get("accepted", []), where)
    if kind == CATEGORICAL and not accepted:
        raise ValidationError(f"Specification file: {where} needs accepted values.")
    required = raw.get("required", kind != REPORT_ONLY)
    if not isinstance(required, bool):
        raise ValidationError(f"Specification file: {where} required must be true or false.")
    return ItemDef(
        code,
        name,
        kind,
        dimension if kind == NUMERIC else ("ENDOTOXIN_CONC" if kind == ENDOTOXIN else ""),
        lo,
        hi,
        accepted,
        required,
    )


def import_spec(session: Session, who: CurrentUser, path: Path) -> int:
    """Import a new specification version from a JSON file as *proposed*; returns the
    new version. It is in force only once a QA person other than the proposer approves it
    (:func:`approve`); until then lots keep the version in force.

    The file holds the settings of §10 (``max_passage``, ``min_replicates``, ``max_cv_pct``,
    ``fresh_shelf_life_hours``, ``thaw_max_minutes``), a ``name`` and ``items``
    (:mod:`lottrack.manufacturing.spec_file`: unknown keys and wrong types are refused, and
    so is a version without the tests §10 requires). A malformed file is refused whole.
    """
    user = authorize(session, who, Action.MANAGE_SPECIFICATIONS)
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"), parse_constant=_no_constant)
    except (OSError, ValueError) as exc:  # also bad UTF-8, bad JSON, NaN, 5000-digit numbers
        raise ValidationError(f"Specification file: cannot read {path}: {exc}") from None
    except RecursionError:
        raise ValidationError(
            f"Specification file: cannot read {path}: nested too deeply."
        ) from None
    spec_file.validate(raw)
    defs = tuple(_item_from_json(item, i) for i, item in enumerate(raw["items"]))
    codes = [d.code for d in defs]
    if len(set(codes)) != len(codes):
        raise ValidationError("Specification file: item codes must be unique.")
    settings = dict(V1_SETTINGS)
    for key in V1_SETTINGS:
        if key in raw:
            settings[key] = raw[key]
    for key in ("max_passage", "min_replicates"):
        value = settings[key]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_WHOLE:
            raise ValidationError(
                f"Specification file: {key} must be a whole number (0 to {MAX_WHOLE})."
            )
    for key in ("max_cv_pct", "fresh_shelf_life_hours", "thaw_max_minutes"):
        settings[key] = _finite(settings[key], key)
        if settings[key] <= 0:
            raise ValidationError(f"Specification file: {key} must be a positive number.")
        if settings[key] > MAX_PERIOD.get(key, math.inf):
            raise ValidationError(
                f"Specification file: {key} is more than a year ({MAX_PERIOD[key]:g})."
            )
    settings["name"] = _text(settings["name"], "name", 200)
    spec_file.check_required(
        ((d.code, d.kind, d.required) for d in defs), settings["min_replicates"]
    )
    spec = _create(session, settings, defs, user.id)
    audit.actor(session)
    return spec.version


# ------------------------------------------------------------------------ judging


def _normalise_category(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", str(text)).casefold().split())


@dataclass(frozen=True)
class Judgement:
    """A result judged against its specification item."""

    conforms: bool | None
    limit_text: str
    value_num: float | None
    value_cat: str | None
    unit: str


def limit_text(item: SpecItem, *, endotoxin_limit: float | None = None) -> str:
    """The limit as printed: ``≥ 95 %``, ``≤ 2 %``, ``80–100 %``, ``no growth``."""
    if item.kind == NUMERIC:
        dim = Dim[item.dimension]
        if item.min_value is not None and item.max_value is not None:
            return (
                f"{format_quantity(item.min_value, dim)} – {format_quantity(item.max_value, dim)}"
            )
        if item.min_value is not None:
            return f"≥ {format_quantity(item.min_value, dim)}"
        assert item.max_value is not None
        return f"≤ {format_quantity(item.max_value, dim)}"
    if item.kind == CATEGORICAL:
        return " or ".join(item.accepted.split("|"))
    if item.kind == ENDOTOXIN:
        if endotoxin_limit is None:
            return "≤ 5 EU/kg × weight ÷ volume"
        return f"≤ {format_quantity(endotoxin_limit, Dim.ENDOTOXIN_CONC)}"
    return "report only"


def judge(
    item: SpecItem,
    value_text: str,
    *,
    decimal_separator: str = ".",
    endotoxin_limit: float | None = None,
) -> Judgement:
    """Parse a result for ``item`` and compute conformity (never typed by a person)."""
    field = item.test_name
    if item.kind in (NUMERIC, ENDOTOXIN):
        dim = Dim[item.dimension]
        parsed: ParsedQuantity = parse_quantity(
            value_text,
            field,
            dim,
            decimal_separator=decimal_separator,
            allow_zero=True,
        )
        v = parsed.value
        if item.kind == ENDOTOXIN:
            if endotoxin_limit is None:
                raise ValidationError(
                    "Endotoxin: the limit depends on the subject's current weight and the bag "
                    "volume; record both before the endotoxin result.",
                    field=field,
                )
            ok = v <= endotoxin_limit
        else:
            ok = (item.min_value is None or v >= item.min_value) and (
                item.max_value is None or v <= item.max_value
            )
        return Judgement(
            ok, limit_text(item, endotoxin_limit=endotoxin_limit), v, None, parsed.unit
        )
    text = clean_text(str(value_text), field, max_length=200)
    if item.kind == CATEGORICAL:
        accepted = item.accepted.split("|")
        return Judgement(_normalise_category(text) in accepted, limit_text(item), None, text, "")
    return Judgement(None, limit_text(item), None, text, "")
