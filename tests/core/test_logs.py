"""Logging (lottrack.kernel.logs): one rotating, owner-only file, configured once; refusals
logged by their class and title only, other failures with their traceback."""

from __future__ import annotations

import logging
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from lottrack.kernel import logs
from lottrack.kernel.errors import InvalidTransition


@pytest.fixture
def configured(tmp_path: Path) -> Iterator[Path]:
    """Configure logging into a fresh folder; afterwards the root logger is as before."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    for handler in handlers:  # a file handler another test configured
        if handler.get_name() == "lottrack-file":
            root.removeHandler(handler)
    path = logs.configure(folder=tmp_path / "log")
    assert path is not None
    yield path
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def test_records_reach_an_owner_only_file_once(configured: Path, tmp_path: Path) -> None:
    assert logs.configure(folder=tmp_path / "elsewhere") == configured  # once per process
    logging.getLogger("lottrack.test").info("an informative line")
    text = configured.read_text(encoding="utf-8")
    assert text.count("INFO lottrack.test: an informative line") == 1
    assert stat.S_IMODE(configured.stat().st_mode) == 0o600
    assert stat.S_IMODE(configured.parent.stat().st_mode) == 0o700
    assert not (tmp_path / "elsewhere").exists()


def test_a_refusal_is_logged_without_its_words(configured: Path) -> None:
    error = InvalidTransition("Cannot dispense: the bag is msc; period 2 is placebo.")
    logs.log_failure(logging.getLogger("lottrack.test"), "dispensing", error)
    text = configured.read_text(encoding="utf-8")
    assert "INFO lottrack.test: dispensing refused: InvalidTransition (Not allowed now)" in text
    assert "msc" not in text
    assert "placebo" not in text
    assert "Traceback" not in text


def test_an_unexpected_failure_is_logged_with_its_traceback(configured: Path) -> None:
    try:
        raise RuntimeError("disk on fire")
    except RuntimeError as error:
        logs.log_failure(logging.getLogger("lottrack.test"), "saving a count", error)
    text = configured.read_text(encoding="utf-8")
    assert "ERROR lottrack.test: saving a count failed\nTraceback" in text
    assert "RuntimeError: disk on fire" in text


def test_a_folder_that_cannot_be_written_leaves_the_program_without_a_log_file(
    tmp_path: Path,
) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    root = logging.getLogger()
    before = list(root.handlers)
    if any(h.get_name() == "lottrack-file" for h in before):
        pytest.skip("a log file is configured in this process already")
    assert logs.configure(folder=blocked / "log") is None
    assert root.handlers == before
