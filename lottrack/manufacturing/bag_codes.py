"""A bag's codes: its blinded kit code and its division (design §4, §7).

Both are drawn at random, the same way for an MSC bag (formulation) and a placebo bag
(dispensing), so that neither tells the kind of a bag nor the order in which bags were made.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

from sqlmodel import Session, select

from lottrack.facility.subjects import UNAMBIGUOUS_ALPHABET, new_random_code
from lottrack.kernel.errors import ValidationError
from lottrack.records.permissions import CurrentUser
from lottrack.storage.models import ProductUnit

KIT_CODE_PREFIX = "K-"
KIT_CODE_LENGTH = 8
_KIT_CODE = re.compile(rf"{KIT_CODE_PREFIX}[{UNAMBIGUOUS_ALPHABET}]{{{KIT_CODE_LENGTH}}}")
KitCodeGenerator = Callable[[Session], str]


def new_kit_code(session: Session) -> str:
    """A new blinded kit code: ``K-`` and 8 random characters of an unambiguous alphabet
    (``secrets``; never sequential), unused so far. Identical in form for MSC and placebo
    bags, so the code reveals nothing."""
    return new_random_code(session, ProductUnit.kit_code, KIT_CODE_PREFIX, KIT_CODE_LENGTH)


def checked_kit_code(session: Session, generator: KitCodeGenerator, taken: set[str]) -> str:
    """A kit code from ``generator``, refused unless it has the form of a kit code and is
    neither stored nor in ``taken`` (the codes of the bags being made); added to ``taken``."""
    code = generator(session)
    exists = session.exec(select(ProductUnit.id).where(ProductUnit.kit_code == code)).first()
    if not _KIT_CODE.fullmatch(code) or exists is not None or code in taken:
        raise ValidationError(
            f"Kit code: {code!r} is not a new kit code of the form {KIT_CODE_PREFIX}XXXXXXXX.",
            field="Kit code",
        )
    taken.add(code)
    return code


DIVISION_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def new_division(session: Session, din: str, taken: set[str] | None = None) -> str:
    """A random unused division (a letter and ``0``) for a bag of ``din``.

    MSC and placebo bags draw from the same scheme, so a division reveals neither the
    kind of a bag nor the order in which bags were made (blinding, design §7).
    """
    used = set(session.exec(select(ProductUnit.division).where(ProductUnit.din == din)).all())
    used |= taken or set()
    free = [f"{letter}0" for letter in DIVISION_LETTERS if f"{letter}0" not in used]
    if not free:
        raise ValidationError(f"DIN {din}: every division is used.", field="Bags")
    division = secrets.choice(free)
    if taken is not None:
        taken.add(division)
    return division


def bag_name(unit: ProductUnit, who: CurrentUser) -> str:
    """The kit code for the unblinded pharmacy; ``bag A0`` (its random division) for
    blinded readers of the lab's records, who must not link a kit code to a lot."""
    return unit.kit_code if who.unblinded else f"bag {unit.division}"
