"""Bad input on every option (issue #8 item 4, design §11): whatever is typed, a command
exits 0, 1 (refused / outside / invalid) or 2 (bad input) with a one-line ``error: …``
message, and never with a traceback or an exception other than SystemExit. A refused
command stores nothing. Commands that open a database run on both backends.

Arguments are what a shell can pass: no NUL (argv cannot hold one), but bytes that are not
UTF-8 arrive as lone surrogates U+DC80–U+DCFF (Python's surrogateescape), so those are sent.
Hostile option values are passed as ``--option=value`` and positional ones after ``--``, so
that a value such as ``--`` or ``--help`` reaches the command instead of being read as
command-line syntax (for which click prints its usage, also with exit 2).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlmodel import SQLModel, col, select
from typer.testing import CliRunner

from lottrack.cli import app
from lottrack.records.permissions import CurrentUser
from lottrack.storage.db import Database
from lottrack.storage.models import Allocation, AuditEvent, Specification, SpecItem, User, Visit
from tests.conftest import PASSWORD, verify_ok
from tests.factories import make_scenario
from tests.storage.test_bad_input_services import CSV_TEXT
from tests.storage.test_specifications import v1_items

ADMIN_PW = "root-password-1"
SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
runner = CliRunner()

ARG_CHARS = st.characters(exclude_characters="\x00", exclude_categories=["Cs"])
ARG = st.one_of(
    st.text(ARG_CHARS, max_size=80),
    st.sampled_from(
        [
            "",
            " ",
            "'",
            '"',
            "'; DROP TABLE lot; --",
            "\n",
            "a\nb",
            "\r\n",
            "\t",
            "\x1b[2J",
            "\u202e70 kg",
            "\u2028",
            "\x85",
            "\x0b",
            "😀",
            "Ω",
            "٧٠ kg",
            "７０ kg",
            "caf\udce9",
            "\udcff\udcfe",
            "x" * 300,
            "9" * 5000,
            "-",
            "--",
            "-1",
            "--help",
            "%s",
            "{}",
        ]
    ),
)
NUMBER_TEXT = st.one_of(
    ARG,
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(
        [
            "NaN",
            "nan kg",
            "inf",
            "-inf mL",
            "1e308",
            "1e309",
            "1e-320",
            "5e-324",
            "0",
            "-0",
            "1e308 kg",
            "1e-320 kg",
            "70",
            "70 kg",
            "154 lb",
            "70 mL",
            "1.2e8",
            "1.2e6/mL",
            "1.2 x 10^6 cells/mL",
            "100 mL",
            "95 %",
            "101 %",
            "0 %",
            "1,5e6",
            "1.2×10⁶",
            "10^400",
            "1e6 cells/kg",
        ]
    ),
)


def lottrack(*args: str, stdin: str = "") -> Any:
    """Run ``lottrack ARGS`` in-process."""
    return runner.invoke(app, list(args), input=stdin)


def assert_clean_exit(result: Any, *codes: int) -> None:
    """Exit code among ``codes``; no traceback; an error is one ``error: …`` line."""
    assert isinstance(result.exception, SystemExit | None), repr(result.exception)
    assert result.exit_code in codes, (result.exit_code, result.output[-500:])
    assert "Traceback" not in result.output
    event(f"exit {result.exit_code}")  # seen with --hypothesis-show-statistics
    if result.exit_code != 0 and result.stderr:
        lines = result.stderr.splitlines()
        assert len(lines) == 1, result.stderr[:500]
        assert lines[0].startswith("error: "), lines[0][:200]


def _counts(db: Database, *models: type[SQLModel]) -> tuple[int, ...]:
    """Audit events other than logins (a refused command's person did log in), then rows."""
    with db.reader() as s:
        events = s.exec(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action != "login")
        ).one()
        return (events, *(s.exec(select(func.count()).select_from(m)).one() for m in models))


# ------------------------------------------------------------------- dose-check


DOSE_OPTIONS = (
    "--weight",
    "--viable-cells",
    "--concentration",
    "--volume",
    "--viability",
    "--min",
    "--max",
)


GOOD_DOSE = (
    {"--weight": "70 kg", "--viable-cells": "1.2e8"},
    {
        "--weight": "154 lb",
        "--concentration": "1.2e6/mL",
        "--volume": "100 mL",
        "--viability": "95 %",
    },
    {"--weight": "70 kg", "--viable-cells": "1.2e8", "--min": "1e6", "--max": "2e6"},
)


@st.composite
def _dose_args(draw: st.DrawFn) -> list[str]:
    """A sound dose check with up to three options replaced or added, with hostile text."""
    options = dict(draw(st.sampled_from(GOOD_DOSE)))
    for option in draw(
        st.lists(st.sampled_from(DOSE_OPTIONS), min_size=0, max_size=3, unique=True)
    ):
        options[option] = draw(NUMBER_TEXT)
    args = [f"{option}={value}" for option, value in options.items()]
    if draw(st.booleans()):
        args.append("--json")
    return args


@given(args=_dose_args())
@example(args=["--weight", "70 kg", "--viable-cells", "1.2e8"])
@example(args=["--weight", "70 kg", "--viable-cells", "1.2e8", "--json"])
@example(args=["--weight", "1e-320 kg", "--viable-cells", "1e308", "--json"])
@example(args=["--weight", "1e308 kg", "--viable-cells", "5e-324", "--json"])
@example(
    args=["--weight", "70 kg", "--concentration", "1e308/mL", "--volume", "1e308 mL", "--json"]
)
@example(
    args=[
        "--weight",
        "70 kg",
        "--concentration",
        "1e-320/mL",
        "--volume",
        "1e-320 mL",
        "--viability",
        "1e-320 %",
        "--json",
    ]
)
@example(
    args=[
        "--weight",
        "70 kg",
        "--viable-cells",
        "1.2e8",
        "--min",
        "1e-320",
        "--max",
        "1e308",
        "--json",
    ]
)
@example(args=["--weight", "NaN kg", "--viable-cells", "1.2e8"])
@example(args=["--weight", "70 kg\nsecond line", "--viable-cells", "1.2e8"])
@example(args=["--weight", "9" * 5000, "--viable-cells", "1.2e8"])
@example(args=["--weight", "caf\udce9", "--viable-cells", "1.2e8"])
@SETTINGS
def test_dose_check(args: list[str]) -> None:
    result = lottrack("dose-check", *args)
    assert_clean_exit(result, 0, 1, 2)
    if result.exit_code in (0, 1) and "--json" in args:
        # Strict JSON: NaN and Infinity are not JSON numbers.
        out = json.loads(result.stdout, parse_constant=lambda c: pytest.fail(f"JSON has {c}"))
        assert out["within"] is (result.exit_code == 0)
        assert math.isfinite(out["dose_cells_per_kg"])
        assert out["weight_kg"] > 0


# -------------------------------------------------------------------------- din


DIN_TEXT = st.one_of(
    ARG,
    st.sampled_from(
        [
            "G123498654321",
            "G123498654321H",
            "G1234 98 654321 H",
            "=G12349865432100",
            "g123498654321h",
            "O123498654321",
            "G12349865432",
            "G1234986543210",
            "G12349865432*",
            "G123498654321\n",
            "G123498654321" * 10,
            "G1234 98 654321 Ⓗ",
            "Ｇ123498654321",
        ]
    ),
)


@given(command=st.sampled_from(["check-char", "validate"]), text=DIN_TEXT)
@example(command="check-char", text="G123498654321")
@example(command="validate", text="G123498654321A")
@example(command="validate", text="-x")
@SETTINGS
def test_din(command: str, text: str) -> None:
    result = lottrack("din", command, "--", text)
    assert_clean_exit(result, 0, 1, 2)
    if command == "check-char" and result.exit_code == 0:
        assert len(result.stdout.strip()) == 1


# ------------------------------------------------------------- database commands


@pytest.fixture
def trial(
    db: Database, admin: CurrentUser, make_user: Callable[..., CurrentUser]
) -> Iterator[Database]:
    """A site, one person per role and three subjects; the trail verified at the end."""
    scenario = make_scenario(db, admin, make_user)
    for n, code in enumerate(("TLS-001", "TLS-002", "TLS-003")):
        scenario.subject(code, dt.date(1960 + n, 1, 1))
    yield db
    verify_ok(db)


def _as(db: Database, who: str, *args: str, stdin: str) -> Any:
    """``lottrack --db URL ARGS`` as ``who`` (``--as``/``--password-stdin`` before ``--``)."""
    split = args.index("--") if "--" in args else len(args)
    return lottrack(
        "--db", db.url, *args[:split], "--as", who, "--password-stdin", *args[split:], stdin=stdin
    )


def _mostly(good: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """``good`` three times in four, else a hostile argument."""
    return st.integers(0, 3).flatmap(lambda n: ARG if n == 0 else good)


@given(
    username=_mostly(
        st.one_of(
            st.from_regex(r"[a-z][a-z0-9._-]{1,31}", fullmatch=True),
            st.sampled_from(["Quinn ", "q", " quinn.q-2_x"]),
        )
    ),
    name=_mostly(st.sampled_from(["Quinn Quality", "Ørjan O'Brien-Łukasz", " Q  Q "])),
    role=_mostly(st.sampled_from(["qa", "QA", "admin", "technician", "qa,admin"])),
)
@example(username="quinn", name="Quinn Quality", role="qa")
@example(username="quinn\nx", name="Quinn", role="qa")
@example(username="quinn", name="Quinn\x1b[2J", role="qa")
@example(username="quinn", name="Q" * 201, role="qa")
@example(username="quinn", name="caf\udce9", role="qa")
@SETTINGS
def test_user_add(trial: Database, username: str, name: str, role: str) -> None:
    before = _counts(trial, User)
    result = _as(
        trial,
        "root",
        "user",
        "add",
        f"--name={name}",
        f"--role={role}",
        "--",
        username,
        stdin=f"{ADMIN_PW}\nnew-password-1\n",
    )
    assert_clean_exit(result, 0, 1, 2)
    if result.exit_code != 0:
        assert _counts(trial, User) == before
        return
    with trial.reader() as s:
        user = s.exec(select(User).where(User.username == username.strip().lower())).one()
    assert user.full_name == " ".join(name.split())


SPEC_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["x" * 5000, "\x00", "a|b", 10**400, [], {}, ["no growth"], "no growth"]),
)
GOOD_ITEMS = v1_items()  # every test design §10 requires (a version lacking one is refused)


@st.composite
def _spec_json(draw: st.DrawFn) -> str:
    """A specification file: usually the right shape with hostile values in it."""
    shape = draw(st.integers(0, 4))
    if shape == 0:
        return draw(
            st.one_of(
                st.text(max_size=200),
                st.sampled_from(
                    [
                        "",
                        "null",
                        "[]",
                        '{"items": NaN}',
                        "[" * 100_000,
                        '{"items": [' * 5000,
                        '{"name": "\\ud800", "items": []}',
                        "\ufeff{}",
                        '{"items": [{}]}',
                    ]
                ),
            )
        )
    items = [dict(item) for item in GOOD_ITEMS]
    for item in draw(st.lists(st.sampled_from(items), max_size=2, unique_by=id)):
        key = draw(
            st.sampled_from(
                ["code", "test_name", "kind", "dimension", "min", "max", "accepted", "required"]
            )
        )
        item[key] = draw(SPEC_VALUE)
    spec: dict[str, Any] = {"name": "v2", "items": items}
    for key in draw(
        st.lists(
            st.sampled_from(
                [
                    "name",
                    "max_passage",
                    "min_replicates",
                    "max_cv_pct",
                    "fresh_shelf_life_hours",
                    "thaw_max_minutes",
                ]
            ),
            max_size=2,
        )
    ):
        spec[key] = draw(SPEC_VALUE)
    return json.dumps(spec, allow_nan=True, default=str)


@given(text=_spec_json())
@example(text=json.dumps({"name": "v2", "items": GOOD_ITEMS}))
@example(text='{"name": "v2", "max_cv_pct": NaN, "items": ' + json.dumps(GOOD_ITEMS) + "}")
@example(
    text='{"name": "v2", "max_passage": '
    + str(2**63)
    + ', "items": '
    + json.dumps(GOOD_ITEMS)
    + "}"
)
@example(text=json.dumps({"name": "v2", "items": [{**GOOD_ITEMS[0], "min": 10**400}]}))
@example(text=json.dumps({"name": "v2", "items": [{**GOOD_ITEMS[1], "accepted": 5}]}))
@example(text=json.dumps({"name": "v2", "items": [{**GOOD_ITEMS[0], "code": "c" * 65}]}))
@example(text="[" * 100_000)
@example(text=json.dumps({"name": "v2", "items": [GOOD_ITEMS[0], {**GOOD_ITEMS[1], "min": ""}]}))
@SETTINGS
def test_spec_import(trial: Database, tmp_path: Path, text: str) -> None:
    path = tmp_path / "spec.json"
    path.write_text(text, encoding="utf-8")
    before = _counts(trial, Specification, SpecItem)
    result = _as(trial, "root", "spec", "import", "--", str(path), stdin=ADMIN_PW + "\n")
    assert_clean_exit(result, 0, 2)
    if result.exit_code != 0:
        assert _counts(trial, Specification, SpecItem) == before
        return
    with trial.reader() as s:
        spec = s.exec(select(Specification).order_by(col(Specification.version).desc())).first()
        assert spec is not None
        items = s.exec(select(SpecItem).where(SpecItem.spec_id == spec.id)).all()
    raw = json.loads(text)
    assert len(items) == len(raw["items"])
    for number in (
        spec.max_cv_pct,
        spec.fresh_shelf_life_hours,
        spec.thaw_max_minutes,
        *(i.min_value for i in items),
        *(i.max_value for i in items),
    ):
        assert number is None or math.isfinite(number)
    for item, typed in zip(items, raw["items"], strict=True):
        for key, column in (("min", item.min_value), ("max", item.max_value)):
            assert column == (None if typed.get(key) is None else float(typed[key]))


@given(text=CSV_TEXT)
@example(text="subject_code,sequence\nTLS-001,MSC-first\n")
@example(text="TLS-001,MSC-first\rTLS-002,placebo-first\r")
@example(text='"TLS-00\n1",MSC-first\n')
@example(text="TLS-001,MSC-\nfirst\n")
@SETTINGS
def test_allocation_import(trial: Database, tmp_path: Path, text: str) -> None:
    path = tmp_path / "allocation.csv"
    path.write_text(text, encoding="utf-8", newline="")
    before = _counts(trial, Allocation)
    result = _as(
        trial, "pharmacist", "allocation", "import", "--", str(path), stdin=PASSWORD + "\n"
    )
    assert_clean_exit(result, 0, 1, 2)
    if result.exit_code != 0:
        assert _counts(trial, Allocation) == before


@given(
    code=st.one_of(ARG, st.sampled_from(["TLS-001", " tls-002 ", "TLS-001\n"])),
    week0=st.one_of(
        ARG,
        st.dates().map(dt.date.isoformat),
        st.sampled_from(
            [
                "9999-12-31",
                "0001-01-01",
                "2025-02-30",
                "20250314",
                " 2025-03-14 ",
                "2025-03-14T10:00",
            ]
        ),
    ),
)
@example(code="TLS-003", week0="9999-12-31")
@example(code="tls-001 ", week0="2025-03-14")
@example(code="TLS-002", week0="\r")
@example(code="caf\udce9", week0="2025-03-14")
@SETTINGS
def test_visits_schedule(trial: Database, code: str, week0: str) -> None:
    before = _counts(trial, Visit)
    result = _as(
        trial,
        "pharmacist",
        "visits",
        "schedule",
        f"--week0={week0}",
        "--",
        code,
        stdin=PASSWORD + "\n",
    )
    assert_clean_exit(result, 0, 1, 2)
    if result.exit_code != 0:
        assert _counts(trial, Visit) == before
    else:  # a subject is scheduled once; later examples for it are refused
        assert _counts(trial, Visit)[1] == before[1] + 2


PATH_PART = st.one_of(
    st.text(st.characters(exclude_characters="\x00/", exclude_categories=["Cs"]), max_size=40),
    st.sampled_from(
        [
            ".",
            "..",
            "x" * 255,
            "x" * 256,
            "é" * 200,
            "caf\udce9",
            "\udcff",
            " ",
            "-",
            "a\nb",
            "out.csv",
            "a\\b",
            "a-file",
        ]
    ),
)


@given(part=PATH_PART, fmt=st.one_of(st.sampled_from(["csv", "json"]), ARG))
@example(part="out", fmt="json")
@example(part="x" * 256, fmt="csv")
@example(part="caf\udce9", fmt="csv")
@example(part="out", fmt="xml")
@SETTINGS
def test_export_output(trial: Database, tmp_path: Path, part: str, fmt: str) -> None:
    # One path component under a fresh folder: hostile names, never a path outside it.
    root = tmp_path / "exports"
    root.mkdir(exist_ok=True)
    (root / "a-file").write_text("in the way")
    output = f"{root}/{part}"
    result = _as(
        trial, "clinician", "export", f"--format={fmt}", f"--output={output}", stdin=PASSWORD + "\n"
    )
    assert_clean_exit(result, 0, 2)
    if result.exit_code == 0:
        assert any(Path(output).glob(f"*.{fmt}"))
