"""A command-palette provider listing the keys a screen offers right now.

A screen that sets ``COMMANDS = {ScreenKeys}`` gets its footer's keys in the palette too:
the same bindings, the same ``check_action`` (so only what the person's roles and the
record under the cursor allow), run as if the key had been pressed.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from tui.commands import PaletteCommand


class ScreenKeys(Provider):
    """The screen's own keys that are usable now, named as in the footer."""

    def _commands(self) -> Iterator[PaletteCommand]:
        screen = self.screen
        for key, active in screen.active_bindings.items():
            binding = active.binding
            if active.node is screen and active.enabled and binding.show \
                    and binding.description:
                yield PaletteCommand(binding.description, f"This screen's key {key}",
                                     partial(screen.run_action, binding.action))

    async def discover(self) -> Hits:
        """Every key usable now, before anything is typed."""
        for command in self._commands():
            yield DiscoveryHit(command.name, command.run, help=command.help)

    async def search(self, query: str) -> Hits:
        """Usable keys whose name matches what was typed."""
        matcher = self.matcher(query)
        for command in self._commands():
            score = matcher.match(command.name)
            if score > 0:
                yield Hit(score, matcher.highlight(command.name), command.run,
                          help=command.help)
