"""A password typed ahead while the UI starts is not echoed by the terminal (#19): the
command lines that open the UI turn the terminal's echo off first, and leave the
terminal as they found it."""

from __future__ import annotations

import os
import termios
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lottrack.launch import opens_ui, quiet_terminal


@pytest.fixture
def terminal() -> Iterator[tuple[int, int]]:
    """A pseudo-terminal (its controller and the terminal end), echo on."""
    controller, end = os.openpty()
    attrs = termios.tcgetattr(end)
    attrs[3] |= termios.ECHO
    termios.tcsetattr(end, termios.TCSANOW, attrs)
    yield controller, end
    os.close(controller)
    os.close(end)


def _echoes(fd: int) -> bool:
    return bool(termios.tcgetattr(fd)[3] & termios.ECHO)


def test_typed_ahead_text_is_not_echoed_while_the_program_starts(
    terminal: tuple[int, int],
) -> None:
    controller, end = terminal
    with os.fdopen(os.dup(end), "r") as stream:
        before = termios.tcgetattr(end)
        with quiet_terminal(stream):
            assert not _echoes(end)
            os.write(controller, b"s3cret\n")  # typed before the login screen is drawn
            assert os.read(end, 100) == b"s3cret\n"  # the program still reads it …
            os.set_blocking(controller, False)
            with pytest.raises(BlockingIOError):
                os.read(controller, 100)  # … and the terminal showed nothing
        assert termios.tcgetattr(end) == before  # echo back on afterwards


def test_the_terminal_is_restored_after_an_error(terminal: tuple[int, int]) -> None:
    _, end = terminal
    with os.fdopen(os.dup(end), "r") as stream:
        with pytest.raises(KeyboardInterrupt), quiet_terminal(stream):
            raise KeyboardInterrupt
    assert _echoes(end)


def test_without_a_terminal_nothing_changes(tmp_path: os.PathLike[str]) -> None:
    with open(os.path.join(tmp_path, "input"), "w+") as stream, quiet_terminal(stream):
        pass  # no error: a file (or a pipe, or CI's /dev/null) has no echo to turn off


@pytest.mark.parametrize(
    ("args", "ui"),
    [
        ([], True),
        (["--demo"], True),
        (["--db", "x.db"], True),
        (["--db=x.db", "tui"], True),
        (["--db", "x.db", "--demo"], True),
        (["user", "create"], False),  # prompts must echo
        (["--db", "x.db", "init"], False),
        (["--help"], False),
        (["--db"], False),
    ],
)
def test_only_the_command_lines_that_open_the_ui_turn_echo_off(args: list[str], ui: bool) -> None:
    assert opens_ui(args) is ui


@given(st.lists(st.sampled_from(["init", "export", "audit", "dose-check", "--help"]), min_size=1))
def test_a_command_never_opens_the_ui(args: list[str]) -> None:
    assert not opens_ui(["--db", "x.db", *args])
