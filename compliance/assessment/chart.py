"""A unit's score trend as an inline SVG line chart, drawn on the server (no chart library).

The template gets plain numbers (coordinates, labels); it writes the <svg> elements itself, so
everything is escaped by the template engine and the page needs no script.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

WIDTH, HEIGHT = 640, 200
LEFT, RIGHT, TOP, BOTTOM = 36, 12, 12, 28
MAX_SCORE = 100.0


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str  # YYYY-MM
    total: float | None


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    points: list[Point]
    segments: list[str]  # polyline "x,y x,y" runs between months without a score
    grid: list[tuple[float, int]]  # (y, score) of the horizontal lines
    left: int
    right: float
    bottom: float


def _y(score: float) -> float:
    return round(TOP + (HEIGHT - TOP - BOTTOM) * (1 - score / MAX_SCORE), 1)


def trend_chart(trend: list[tuple[dt.date, float | None]]) -> Chart:
    count = max(len(trend), 1)
    step = (WIDTH - LEFT - RIGHT) / max(count - 1, 1)
    points = [Point(x=round(LEFT + index * step, 1),
                    y=_y(total) if total is not None else _y(0),
                    label=f"{first:%Y-%m}", total=total)
              for index, (first, total) in enumerate(trend)]
    segments: list[str] = []
    run: list[str] = []
    for point in points:
        if point.total is None:
            if len(run) > 1:
                segments.append(" ".join(run))
            run = []
            continue
        run.append(f"{point.x},{point.y}")
    if len(run) > 1:
        segments.append(" ".join(run))
    grid = [(_y(score), score) for score in (0, 20, 40, 60, 80, 100)]
    return Chart(width=WIDTH, height=HEIGHT, points=points, segments=segments, grid=grid,
                 left=LEFT, right=WIDTH - RIGHT, bottom=HEIGHT - BOTTOM)
