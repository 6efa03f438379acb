"""Remove one lock or atomic step from a copy of the tree and run the race test that
guards it: the test must FAIL (on PostgreSQL; on SQLite the database's single write lock,
which no code can remove, still serialises the writers).

    LOTTRACK_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test \
        .venv/bin/python tools/race_mutants.py [NAME ...]

Each mutant works on a copy in /tmp; the tree itself is never changed."""

import os
import shutil
import subprocess
import sys

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = os.path.join(SRC, ".venv", "bin", "python")
AUDIT = "tests/storage/test_audit.py::test_two_processes_appending_at_once_leave_one_valid_chain"
DINS = "tests/storage/test_dins.py::test_two_terminals_allocating_at_once_never_share_a_din"
DISPENSE = "tests/storage/test_pharmacy.py::test_two_pharmacists_dispensing_the_same_bag_at_once"
RELEASE = (
    "tests/storage/test_release.py::test_two_qa_releasing_at_once_record_exactly_one_disposition"
)
MUTANTS = {
    # PostgreSQL: the advisory lock that serialises audit appends
    "audit-advisory-lock": (
        "lottrack/storage/audit.py",
        'conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")',
        "pass",
        AUDIT,
    ),
    # SQLite: write sessions take the write lock at BEGIN (IMMEDIATE)
    "sqlite-begin-immediate": (
        "lottrack/storage/db.py",
        '"BEGIN IMMEDIATE" if immediate else "BEGIN"',
        '"BEGIN"',
        AUDIT,
    ),
    # DINs: the counter is incremented by one atomic UPDATE ... RETURNING
    "din-atomic-update": (
        "lottrack/facility/dins.py",
        """    result = session.execute(
        update(DinCounter)
        .where(col(DinCounter.fin) == fin, col(DinCounter.year) == yy)
        .values(last_sequence=col(DinCounter.last_sequence) + 1)
        .returning(col(DinCounter.last_sequence))
    ).first()""",
        """    _row = session.exec(select(DinCounter).where(
        col(DinCounter.fin) == fin, col(DinCounter.year) == yy)).first()
    result = None
    if _row is not None:
        _next = _row.last_sequence + 1
        import time as _t; _t.sleep(0.05)  # widens the window the atomic UPDATE closes
        session.execute(update(DinCounter).where(col(DinCounter.fin) == fin,
            col(DinCounter.year) == yy).values(last_sequence=_next))
        result = (_next,)""",
        DINS,
    ),
    # Dispensing: the visit and bag rows are read FOR UPDATE
    "dispense-row-lock": (
        "lottrack/trial/dispensing.py",
        "stmt.with_for_update() if for_update else stmt",
        "stmt",
        DISPENSE,
    ),
    # Release: the lot row is read FOR UPDATE
    "release-row-lock": (
        "lottrack/release/disposition.py",
        "return lots.get_lot(session, lot_id, for_update=True)",
        "return lots.get_lot(session, lot_id, for_update=False)",
        RELEASE,
    ),
}
names = sys.argv[1:] or list(MUTANTS)
env = dict(os.environ)
for name in names:
    path, old, new, test = MUTANTS[name]
    dst = f"/tmp/mut-{name}"
    shutil.rmtree(dst, ignore_errors=True)
    files = subprocess.run(
        ["git", "ls-files"], cwd=SRC, capture_output=True, text=True
    ).stdout.split()
    for f in files:
        os.makedirs(os.path.dirname(os.path.join(dst, f)) or dst, exist_ok=True)
        shutil.copy2(os.path.join(SRC, f), os.path.join(dst, f))
    text = open(os.path.join(dst, path)).read()
    assert text.count(old) >= 1, (name, "patch does not apply")
    open(os.path.join(dst, path), "w").write(text.replace(old, new))
    out = (
        subprocess.run(
            [PYTHON, "-m", "pytest", "-p", "no:xdist", "-q", "-p", "no:cacheprovider", test],
            cwd=dst,
            env=env,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()
    )
    print(f"{name}: {out[-1] if out else '?'}", flush=True)
    for line in out:
        if line.startswith("FAILED"):
            print("   ", line[:220], flush=True)
