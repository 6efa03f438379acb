"""The command palette (ctrl+p): the actions the logged-in person's roles allow."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.screen import Screen


@dataclass(frozen=True)
class PaletteCommand:
    """One entry of the command palette."""

    name: str
    help: str
    run: Callable[[], object]


class OffersCommands(Protocol):
    """An app that knows which commands the current person may run."""

    def palette_commands(self, screen: Screen[object]) -> list[PaletteCommand]:
        """The commands for ``screen`` and the current person."""


class CommandList(Provider):
    """A provider of a list of :class:`PaletteCommand` (subclasses say which)."""

    def _commands(self) -> Iterable[PaletteCommand]:
        raise NotImplementedError

    async def discover(self) -> Hits:
        """Every available command, before anything is typed."""
        for command in self._commands():
            yield DiscoveryHit(command.name, command.run, help=command.help)

    async def search(self, query: str) -> Hits:
        """Available commands whose name matches what was typed."""
        matcher = self.matcher(query)
        for command in self._commands():
            score = matcher.match(command.name)
            if score > 0:
                yield Hit(score, matcher.highlight(command.name), command.run, help=command.help)


class RoleCommands(CommandList):
    """Lists only what the current person may do (the app decides, using the core's table)."""

    def _commands(self) -> list[PaletteCommand]:
        app: OffersCommands = self.app  # type: ignore[assignment]
        return app.palette_commands(self.screen)
