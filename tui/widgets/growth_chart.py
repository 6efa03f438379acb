"""Cumulative population doublings against days in culture, drawn in braille dots.

The curve starts at 0 when P0 is seeded and has one point per harvested passage
(marked ●); a negative cumulative PD (fewer cells harvested than seeded) is drawn below a
0 tick, never at 0. The axes carry numbers, so the chart reads without colour, and it fits in
eight lines of an 80-column terminal.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

_DOTS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))
"""Bit of the braille dot at (row 0–3, column 0–1) of a character cell."""
Point = tuple[float, float]


def _label(value: float) -> str:
    return f"{value:.1f}" if abs(value) < 100 else f"{value:.0f}"


class GrowthChart(Widget):
    """A line chart of ``(days since P0 seeding, cumulative PD)`` points."""

    DEFAULT_CSS = """
    GrowthChart { height: 8; width: 1fr; min-width: 30; }
    """

    points: reactive[tuple[Point, ...]] = reactive((), layout=False)

    def plot(self, points: Sequence[Point]) -> None:
        """Draw these points (the first is usually ``(0, 0)``)."""
        self.points = tuple(points)

    def render(self) -> Text:
        """The chart at the widget's current size."""
        return chart_text(self.points, self.size.width, self.size.height)


def chart_text(points: Sequence[Point], width: int, height: int) -> Text:
    """The chart of ``points`` in ``width`` × ``height`` cells."""
    if len(points) < 2:
        return Text("No passage has been harvested yet: nothing to plot.", style="dim")
    # A passage that yields fewer cells than were seeded has a negative PD: the axis
    # reaches below 0 to show it where it is (never drawn at 0).
    y_min = min(0.0, *(p[1] for p in points))
    y_max = max(p[1] for p in points)
    if y_max <= y_min:
        y_max = y_min + 1.0
    x_max = max(p[0] for p in points) or 1.0
    label_w = max(len(_label(y_max)), len(_label(y_min)), 3) + 1
    cols, rows = max(width - label_w - 1, 10), max(height - 2, 3)
    grid = [[0] * cols for _ in range(rows)]
    marks: set[tuple[int, int]] = set()

    def dot(x: float, y: float) -> tuple[int, int]:
        return (
            round(x / x_max * (cols * 2 - 1)),
            round((y_max - y) / (y_max - y_min) * (rows * 4 - 1)),
        )

    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        (a, b), (c, d) = dot(x0, y0), dot(x1, y1)
        steps = max(abs(c - a), abs(d - b), 1)
        for i in range(steps + 1):
            px, py = round(a + (c - a) * i / steps), round(b + (d - b) * i / steps)
            grid[py // 4][px // 2] |= _DOTS[py % 4][px % 2]
    for x, y in points[1:]:
        px, py = dot(x, y)
        marks.add((py // 4, px // 2))
    zero_row = dot(0.0, 0.0)[1] // 4
    out = Text()
    for r in range(rows):
        if r == 0:
            tick = _label(y_max)
        elif r == rows - 1:
            tick = "0" if y_min == 0 else _label(y_min)
        elif y_min < 0 and r == zero_row:
            tick = "0"
        elif y_min == 0 and rows >= 9 and r == rows // 2:
            tick = _label(y_max * (1 - r / (rows - 1)))
        else:
            tick = ""
        out.append(f"{tick:>{label_w - 1}} {'┤' if tick else '│'}", style="dim")
        for c in range(cols):
            if (r, c) in marks:
                out.append("●", style="bold green")
            else:
                out.append(chr(0x2800 + grid[r][c]) if grid[r][c] else " ", style="green")
        out.append("\n")
    out.append(" " * label_w + "└" + "─" * cols + "\n", style="dim")
    mid = _label(x_max / 2)
    axis = f"0 d{mid:^{max(cols - 6 - len(_label(x_max)), 1)}}{_label(x_max)} d"
    out.append(" " * (label_w + 1) + axis, style="dim")
    return out
