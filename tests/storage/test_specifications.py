"""Specifications: v1 seeded at init, new versions imported whole or not at all."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import select

from lottrack.kernel.errors import (
    InvalidTransition,
    PermissionDenied,
    SignatureRejected,
    ValidationError,
)
from lottrack.manufacturing import specifications
from lottrack.records.permissions import CurrentUser
from lottrack.records.signatures import Credentials
from lottrack.storage import audit
from lottrack.storage.db import Database
from lottrack.storage.models import Signature, SpecApproval, Specification, SpecItem, User
from tests.conftest import PASSWORD, verify_ok


def test_init_creates_version_1_with_the_design_defaults(db: Database) -> None:
    with db.reader() as s:
        spec = specifications.current_spec(s)
        assert spec.id is not None
        items = {i.code: i for i in specifications.items(s, spec.id)}
    assert spec.version == 1
    assert (spec.max_passage, spec.min_replicates, spec.max_cv_pct) == (4, 2, 10.0)
    assert (spec.fresh_shelf_life_hours, spec.thaw_max_minutes) == (24.0, 60.0)
    assert items["viability_fresh"].min_value == 80.0
    assert items["viability_post_thaw"].min_value == 70.0
    for marker in ("cd73", "cd90", "cd105"):
        assert items[marker].min_value == 95.0
    for marker in ("cd45", "cd34", "cd14", "cd19", "hla_dr"):
        assert items[marker].max_value == 2.0
    assert items["sterility"].accepted == "no growth"
    assert items["mycoplasma"].accepted == "not detected"
    assert items["endotoxin"].kind == "endotoxin"
    assert not items["karyotype"].required
    assert not items["potency"].required


@pytest.mark.parametrize(
    ("code", "typed", "conforms"),
    [
        ("viability_fresh", "80 %", True),  # the edge is inside
        ("viability_fresh", "79.9 %", False),
        ("cd45", "2 %", True),
        ("cd45", "2.1%", False),
        ("sterility", "  No   Growth ", True),
        ("sterility", "growth of S. aureus", False),
        ("karyotype", "46,XY normal", None),
    ],
)
def test_results_are_judged_against_the_limits(
    db: Database, code: str, typed: str, conforms: bool | None
) -> None:
    with db.reader() as s:
        spec = specifications.current_spec(s)
        assert spec.id is not None
        item = specifications.item_by_code(s, spec.id, code)
    assert specifications.judge(item, typed).conforms is conforms


def test_endotoxin_limit_is_computed_not_typed(db: Database) -> None:
    with db.reader() as s:
        spec = specifications.current_spec(s)
        assert spec.id is not None
        item = specifications.item_by_code(s, spec.id, "endotoxin")
    judged = specifications.judge(item, "3.5 EU/mL", endotoxin_limit=3.5)
    assert judged.conforms is True
    assert judged.limit_text == "≤ 3.5 EU/mL"
    assert specifications.judge(item, "3.6 EU/mL", endotoxin_limit=3.5).conforms is False
    with pytest.raises(ValidationError, match="current weight and the bag volume"):
        specifications.judge(item, "1 EU/mL")


def test_a_percentage_typed_as_a_mass_is_refused(db: Database) -> None:
    with db.reader() as s:
        spec = specifications.current_spec(s)
        assert spec.id is not None
        item = specifications.item_by_code(s, spec.id, "cd73")
    with pytest.raises(ValidationError) as info:
        specifications.judge(item, "95 kg")
    assert "CD73" in info.value.message
    assert '"95 kg"' in info.value.message


def v1_items() -> list[dict[str, object]]:
    """Version 1's tests as an import file writes them."""
    out: list[dict[str, object]] = []
    for d in specifications.V1_ITEMS:
        item: dict[str, object] = {
            "code": d.code,
            "test_name": d.test_name,
            "kind": d.kind,
            "required": d.required,
        }
        if d.kind == specifications.NUMERIC:
            item["dimension"] = d.dimension
        if d.min_value is not None:
            item["min"] = d.min_value
        if d.max_value is not None:
            item["max"] = d.max_value
        if d.accepted:
            item["accepted"] = list(d.accepted)
        out.append(item)
    return out


def spec_file(tmp_path: Path, **changes: object) -> Path:
    """A complete import file (v1's tests, viability ≥ 85 %), with ``changes``."""
    items = v1_items()
    items[0] = dict(items[0], min=85)
    data: dict[str, object] = {
        "name": "v2 with a tighter viability",
        "max_passage": 5,
        "items": items,
    }
    data.update(changes)
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(data))
    return path


def _versions(db: Database) -> dict[int, str]:
    with db.reader() as s:
        return specifications.status_of(s)


def test_an_imported_version_is_proposed_until_qa_approves_it(
    db: Database, admin: CurrentUser, make_user: Callable[..., CurrentUser], tmp_path: Path
) -> None:
    with db.session() as s:
        version = specifications.import_spec(s, admin, spec_file(tmp_path))
    assert version == 2
    assert _versions(db) == {2: "proposed", 1: "in force"}
    with db.reader() as s:
        assert specifications.current_spec(s).version == 1  # lots keep v1 meanwhile
        v1 = s.exec(select(Specification).where(Specification.version == 1)).one()
        v1_items = s.exec(select(SpecItem).where(SpecItem.spec_id == v1.id)).all()
    assert len(v1_items) == len(specifications.V1_ITEMS)
    qa = make_user("qa")
    with pytest.raises(SignatureRejected), db.session() as s:
        specifications.approve(s, qa, Credentials(qa.username, "wrong-password-1"), 2)
    with pytest.raises(PermissionDenied, match="approve specification"), db.session() as s:
        specifications.approve(s, admin, Credentials(admin.username, "root-password-1"), 2)
    assert _versions(db)[2] == "proposed"
    with db.session() as s:
        specifications.approve(s, qa, Credentials(qa.username, PASSWORD), 2)
    assert _versions(db) == {2: "in force", 1: "superseded"}
    with db.reader() as s:
        current = specifications.current_spec(s)
        (approval,) = s.exec(select(SpecApproval)).all()
        signature = s.get(Signature, approval.signature_id)
    assert (current.version, current.max_passage) == (2, 5)
    assert signature is not None
    assert (signature.meaning, signature.signer_id) == ("approved", qa.id)
    with pytest.raises(InvalidTransition, match="version 2 is in force"), db.session() as s:
        specifications.approve(s, qa, Credentials(qa.username, PASSWORD), 2)
    verify_ok(db)


def test_the_proposer_cannot_approve(
    db: Database, admin: CurrentUser, make_user: Callable[..., CurrentUser], tmp_path: Path
) -> None:
    proposer = make_user("admin")
    with db.session() as s:
        specifications.import_spec(s, proposer, spec_file(tmp_path))
    with db.session() as s:  # the administrator later moves to QA
        user = s.get(User, proposer.id)
        assert user is not None
        audit.set_actor(s, admin.id, admin.username)
        with audit.reason(s, "moved from IT to quality assurance"):
            user.roles = "qa"
    now_qa = CurrentUser(proposer.id, proposer.username, proposer.full_name, frozenset({"qa"}))
    with (
        pytest.raises(PermissionDenied, match="proposed specification version 2"),
        db.session() as s,
    ):
        specifications.approve(s, now_qa, Credentials(proposer.username, PASSWORD), 2)
    assert _versions(db)[2] == "proposed"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"items": []}, "list of items"),
        (
            {"items": [{"code": "x", "test_name": "X", "kind": "magic"}]},
            r"items\[0\]\.kind: .* \(found 'magic'\)",
        ),
        (
            {
                "items": [
                    {
                        "code": "x",
                        "test_name": "X",
                        "kind": "numeric",
                        "dimension": "FRACTION",
                        "min": 5,
                        "max": 1,
                    }
                ]
            },
            "min is above max",
        ),
        (
            {"items": [{"code": "x", "test_name": "X", "kind": "categorical"}]},
            "needs accepted values",
        ),
        ({"max_passage": -1}, "max_passage must be a whole number"),
        ({"max_passage": "4"}, r"max_passage: Input should be a valid integer \(found '4'\)"),
        ({"maxx": 2}, 'unknown key "maxx"'),
        ({"items": [dict(v1_items()[0], maxx=2)]}, r'unknown key "maxx" in items\[0\]'),
        ({"min_replicates": 0}, "min_replicates must be at least 2"),
        (
            {"items": [{"code": "potency", "test_name": "Potency", "kind": "report-only"}]},
            "must test, as required for release and against a limit: sterility, mycoplasma, "
            "endotoxin, viability, identity marker CD73",
        ),
        (
            {
                "items": [
                    dict(i, required=False) if i["code"] == "sterility" else i for i in v1_items()
                ]
            },
            "limit: sterility \\(design §10\\)",
        ),
    ],
)
def test_a_malformed_file_is_refused_whole(
    db: Database, admin: CurrentUser, tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message), db.session() as s:
        specifications.import_spec(s, admin, spec_file(tmp_path, **changes))
    assert _versions(db) == {1: "in force"}


def test_only_an_admin_imports(
    db: Database, make_user: Callable[..., CurrentUser], tmp_path: Path
) -> None:
    qa = make_user("qa")
    with pytest.raises(PermissionDenied, match="manage specifications"), db.session() as s:
        specifications.import_spec(s, qa, spec_file(tmp_path))
