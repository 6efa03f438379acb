"""The demo trial: a dozen subjects with lots in every state and visits in every state.

Built through :mod:`lottrack.demo.scenario`, i.e. through the real services, so the demo's
audit trail verifies and every record obeys the rules.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from lottrack.demo.scenario import CONFORMING_QC, Cast, Scenario
from lottrack.records.permissions import CurrentUser
from lottrack.release import disposition
from lottrack.storage.db import Database
from lottrack.storage.models import utcnow
from lottrack.trial.allocation import MSC_FIRST, PLACEBO_FIRST


@dataclass
class DemoContext:
    """Handed to each builder: the database and the demo people by username."""

    db: Database
    users: dict[str, CurrentUser]
    scale: int = 1


#: Which demo account plays which part in the scenario.
CAST_ROLES = {
    "admin": "admin",
    "technician": "tech",
    "qa": "qa",
    "pharmacist": "pharm",
    "pharmacist2": "pharm2",
    "clinician": "ward",
    "investigator": "inv",
}


def build_trial(ctx: DemoContext, passwords: dict[str, str]) -> None:
    """Add the demo trial to a demo database that has its people."""
    cast = Cast(
        {part: ctx.users[name] for part, name in CAST_ROLES.items()},
        {part: passwords[name] for part, name in CAST_ROLES.items()},
    )
    sc = Scenario.create(ctx.db, cast)
    now = utcnow()
    today = now.date()

    def subject(n: int, initials: str, born: dt.date) -> int:
        return sc.subject(f"TLS-{n:03d}", born, initials)

    # 1 — in expansion: P0 and P1 grown, P2 still to come.
    s1 = subject(1, "AB", dt.date(1961, 2, 14))
    lot1 = sc.harvest_and_lot(s1, now - dt.timedelta(days=9))
    sc.passages(lot1, now - dt.timedelta(days=9) + dt.timedelta(hours=3), n=2)

    # 2 — awaiting release, every result in and conforming (ready for QA).
    s2 = subject(2, "CD", dt.date(1958, 9, 3))
    sc.made_lot(s2, weight="82 kg")

    # 3 — awaiting release, out of specification (viability 75 %).
    s3 = subject(3, "EF", dt.date(1970, 11, 21))
    sc.made_lot(s3, qc_results=dict(CONFORMING_QC, viability_fresh="75 %"))

    # 4 — quarantined by QA.
    s4 = subject(4, "GH", dt.date(1966, 4, 30))
    lot4, _ = sc.made_lot(s4)
    with ctx.db.session() as s:
        disposition.quarantine(
            s,
            cast.who("qa"),
            lot4,
            cast.creds("qa"),
            "incubator temperature excursion under investigation",
        )

    # 5 — released; MSC-first; both periods infused.
    s5 = subject(5, "IJ", dt.date(1955, 6, 9))
    lot5, bag5 = sc.made_lot(s5, weight="74 kg")
    sc.release(lot5)
    v51, v52 = sc.enrol(s5, MSC_FIRST, today - dt.timedelta(weeks=24))
    with sc.compressed_time():  # period 1 was due 24 weeks ago
        sc.dispense(v51, msc_bag=bag5)
    sc.infuse(v51)
    sc.dispense(v52)
    sc.infuse(v52, reactions="transient low-grade fever", grade=1)

    # 6 — rejected.
    s6 = subject(6, "KL", dt.date(1972, 1, 17))
    lot6, _ = sc.made_lot(s6, qc_results=dict(CONFORMING_QC, sterility="growth: S. epidermidis"))
    with ctx.db.session() as s:
        disposition.reject(
            s, cast.who("qa"), lot6, cast.creds("qa"), "sterility failure confirmed on retest"
        )

    # 7 — released under exception (Part IV §11.5).
    s7 = subject(7, "MN", dt.date(1963, 8, 1))
    lot7, _ = sc.made_lot(s7, qc_results=dict(CONFORMING_QC, cd105="93.5 %"))
    sc.conclude_investigations(
        lot7,
        conclusion="Assay controls and instrument within limits; "
        "no assignable laboratory error. CD105 93.5 % stands.",
    )
    with ctx.db.session() as s:
        disposition.release_exceptional(
            s,
            cast.who("qa"),
            lot7,
            cast.creds("qa"),
            disposition.ExceptionalRelease(
                physician_request="Dr. M. Weber, written request of today: no alternative "
                "treatment; proceed with the subject's own cells.",
                risk_evaluation="CD105 93.5 % against ≥ 95 %; identity otherwise confirmed "
                "(CD73, CD90 conform); risk judged low.",
                physician_acceptance="Dr. M. Weber accepted the risk evaluation in writing.",
                sponsor_notified_at=now - dt.timedelta(minutes=20),
            ),
            "CD105 marginally below specification; clinical need",
        )

    # 8 — placebo-first; period 1 dispensed and verified, waiting at the bedside.
    s8 = subject(8, "OP", dt.date(1969, 3, 12))
    lot8, _ = sc.made_lot(s8, weight="66 kg")
    sc.release(lot8)
    v81, _ = sc.enrol(s8, PLACEBO_FIRST, today)
    sc.dispense(v81)

    # 9 — MSC-first; period 1 due today, bag released and available.
    s9 = subject(9, "QR", dt.date(1975, 12, 24))
    lot9, _ = sc.made_lot(s9, weight="71 kg")
    sc.release(lot9)
    sc.enrol(s9, MSC_FIRST, today)

    # 10 — placebo-first; period 1 infused, period 2 due.
    s10 = subject(10, "ST", dt.date(1960, 10, 5))
    lot10, _ = sc.made_lot(s10, weight="90 kg")
    sc.release(lot10)
    v101, _ = sc.enrol(s10, PLACEBO_FIRST, today - dt.timedelta(weeks=24))
    with sc.compressed_time():  # period 1 was due 24 weeks ago
        sc.dispense(v101)
    sc.infuse(v101)

    # 11 — awaiting release with results still missing (mycoplasma, endotoxin).
    s11 = subject(11, "UV", dt.date(1977, 7, 7))
    sc.made_lot(
        s11,
        qc_results={k: v for k, v in CONFORMING_QC.items() if k not in ("mycoplasma", "endotoxin")},
    )

    # 12 — in process; the final-product count needs a recount (CV above 10 %).
    s12 = subject(12, "WX", dt.date(1965, 5, 19))
    lot12 = sc.harvest_and_lot(s12, now - dt.timedelta(days=11))
    sc.passages(lot12, now - dt.timedelta(days=11) + dt.timedelta(hours=2))
    sc.final_count(lot12, now - dt.timedelta(hours=2), spread=True)
