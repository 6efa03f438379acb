"""Sites and subjects: what a person types is checked before anything is stored."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from lottrack.facility import sites, subjects
from lottrack.kernel.errors import NotFound, ValidationError
from lottrack.manufacturing import harvests
from lottrack.storage.db import Database
from lottrack.storage.models import Harvest, Site, Subject, utcnow
from tests.storage.test_manufacturing_records import T0, nothing_stored, person, rows

SITE: dict[str, Any] = {
    "name": "Komma Klinik",
    "fin": "B1234",
    "timezone": "Europe/Vienna",
    "decimal_separator": ",",
    "address": "Hauptstraße 1",
    "product_code_msc": "S1234100",
    "product_code_placebo": "S1235100",
}


def test_bad_site_input_is_refused(db: Database) -> None:
    admin = person(db, "root", "admin")
    for change, field, message in [
        ({"fin": "O1234"}, "FIN", "never O or 0"),
        ({"fin": "B12"}, "FIN", "has 3 characters"),
        ({"timezone": "Mars/Olympus"}, "Time zone", "not an IANA time zone"),
        ({"timezone": "CEST"}, "Time zone", "not an IANA time zone"),
        ({"decimal_separator": ";"}, "Decimal separator", 'neither "." nor ","'),
        ({"product_code_msc": "S1234V00"}, "MSC product code", "autologous use only"),
        ({"product_code_msc": "E0001100"}, "MSC product code", "not an ISBT 128 product code"),
        ({"product_code_placebo": "S1234100"}, "Placebo product code", "is the MSC product"),
        ({"name": "  "}, "Site name", "nothing was typed"),
    ]:
        with db.session() as s, pytest.raises(ValidationError) as refused:
            sites.create_site(s, admin, **(SITE | change))
        assert refused.value.field == field
        assert message in refused.value.message
    assert rows(db, Site) == {"Site": 0}


def test_subjects_are_validated_and_found_and_a_comma_site_reads_commas(db: Database) -> None:
    admin = person(db, "root", "admin")
    tech = person(db, "tina", "technician")
    with db.session() as s:
        site = sites.create_site(s, admin, **SITE)
    assert (site.fin, site.product_code_msc) == ("B1234", "S1234100")
    with db.session() as s, pytest.raises(ValidationError, match="already the FIN"):
        sites.create_site(s, admin, **(SITE | {"name": "Copy"}))

    def register(**change: Any) -> subjects.SubjectInfo:
        typed: dict[str, Any] = {
            "code": "ABC-012",
            "initials": "JMD",
            "date_of_birth": dt.date(1980, 2, 29),
            "site_id": site.id,
        }
        with db.session() as s:
            return subjects.register_subject(s, tech, **(typed | change))

    today = utcnow().date()
    with nothing_stored(db):
        cases: list[tuple[dict[str, Any], str, str]] = [
            ({"code": "ABC012"}, "Subject code", "such as TLS-003"),
            ({"code": "A-1"}, "Subject code", "2–6 letters"),
            ({"initials": "J"}, "Initials", "2–4 letters"),
            ({"initials": "J.D."}, "Initials", "2–4 letters"),
            ({"date_of_birth": today + dt.timedelta(days=2)}, "Date of birth", "in the future"),
            ({"date_of_birth": dt.date(1890, 1, 1)}, "Date of birth", "older than 120"),
        ]
        for change, field, message in cases:
            with pytest.raises(ValidationError, match=message) as refused:
                register(**change)
            assert refused.value.field == field
        assert rows(db, Subject) == {"Subject": 0}
    first = register()
    with pytest.raises(ValidationError, match="already registered"):
        register(code="abc-012 ")
    with db.reader() as s:
        assert subjects.find_subject(s, " abc-012") == first
        assert subjects.get_subject(s, first.id) == first
        with pytest.raises(NotFound):
            subjects.find_subject(s, "XYZ-999")
    second = register(code="ABC-013")
    assert first.coi_id != second.coi_id
    assert all(c not in "01IOL" for c in first.coi_id[4:] + second.coi_id[4:])

    def harvest(volume: str) -> harvests.HarvestInfo:
        with db.session() as s:
            return harvests.record_harvest(
                s,
                tech,
                subject_id=first.id,
                collected_at=T0,
                volume_text=volume,
                anticoagulant="ACD-A",
                aspiration_site="iliac crest",
                tnc_text="1,5e9",
            )

    with nothing_stored(db), pytest.raises(ValidationError, match='decimals are written with ","'):
        harvest("90.5 mL")
    made = harvest("90,5 mL")
    assert (made.volume_ml, made.volume_text, made.tnc_cells_total) == (90.5, "90,5 mL", 1.5e9)
    assert made.din[:5] == "B1234"
    assert len(made.din) == 13
    assert rows(db, Harvest) == {"Harvest": 1}
