"""A command-palette provider listing the keys a screen offers right now.

A screen that sets ``COMMANDS = {ScreenKeys}`` gets its footer's keys in the palette too:
the same bindings, the same ``check_action`` (so only what the person's roles and the
record under the cursor allow), run as if the key had been pressed.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from tui.commands import CommandList, PaletteCommand


class ScreenKeys(CommandList):
    """The screen's own keys that are usable now, named as in the footer."""

    def _commands(self) -> Iterator[PaletteCommand]:
        screen = self.screen
        for key, active in screen.active_bindings.items():
            binding = active.binding
            if active.node is screen and active.enabled and binding.show and binding.description:
                yield PaletteCommand(
                    binding.description,
                    f"This screen's key {key}",
                    partial(screen.run_action, binding.action),
                )
