"""The growth curve of a lot: cumulative population doublings against days in culture."""

from __future__ import annotations

from collections.abc import Sequence

from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, Group, String
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors

from certificates.common import FONT, INK, MUTED, RULE, register_fonts
from lottrack.views.documents.data import GrowthPoint

LINE = colors.HexColor("#1f5f99")


def _tick_format(decimal_separator: str) -> object:
    def fmt(value: float) -> str:
        text = f"{value:g}"
        return text.replace(".", decimal_separator)

    return fmt


def growth_curve(
    points: Sequence[GrowthPoint], *, width: float, height: float, decimal_separator: str = "."
) -> Drawing:
    """A line plot from (0, 0) through each harvested passage's (days, cumulative PD)."""
    register_fonts()
    data = [(0.0, 0.0)] + [(p.days_in_culture, p.cumulative_population_doublings) for p in points]
    drawing = Drawing(width, height, initialFontName=FONT)
    plot = LinePlot()
    plot.x, plot.y = 38, 26
    plot.width, plot.height = width - 50, height - 36
    plot.data = [data]
    plot.joinedLines = 1
    plot.lines[0].strokeColor = LINE
    plot.lines[0].strokeWidth = 1.2
    plot.lines[0].symbol = makeMarker("FilledCircle", size=3.5, fillColor=LINE, strokeColor=LINE)
    fmt = _tick_format(decimal_separator)
    for axis in (plot.xValueAxis, plot.yValueAxis):
        axis.valueMin = 0
        axis.labels.fontName = FONT
        axis.labels.fontSize = 6.5
        axis.labels.fillColor = MUTED
        axis.strokeColor = RULE
        axis.labelTextFormat = fmt
        axis.visibleGrid = 1
        axis.gridStrokeColor = colors.HexColor("#e3e3e3")
        axis.gridStrokeWidth = 0.3
    plot.xValueAxis.tickDown = 2
    plot.yValueAxis.tickLeft = 2
    max_x = max(x for x, _ in data)
    max_y = max(y for _, y in data)
    plot.xValueAxis.valueMax = max(1.0, max_x * 1.08)
    plot.yValueAxis.valueMax = max(1.0, max_y * 1.15)
    drawing.add(plot)
    drawing.add(
        String(
            plot.x + plot.width / 2,
            4,
            "Days in culture (from the first seeding)",
            fontName=FONT,
            fontSize=7,
            fillColor=INK,
            textAnchor="middle",
        )
    )
    label = Group(
        String(0, 0, "Cumulative PD", fontName=FONT, fontSize=7, fillColor=INK, textAnchor="middle")
    )
    label.transform = (0, 1, -1, 0, 9, plot.y + plot.height / 2)
    drawing.add(label)
    return drawing
