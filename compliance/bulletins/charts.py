"""The bulletin's charts as inline SVG, drawn here on the server: the page, the PDF and a saved
copy show the same picture with no script and nothing fetched."""

from __future__ import annotations

import math
from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from compliance.bulletins.data import BulletinData

BAR = "#3182ce"
AVERAGE = "#c53030"
INK = "#4a5568"
GRID = "#e2e8f0"


def nice_step(value: float) -> int:
    """A round whole step ≥ value: 1, 2, 5 × 10^n (counts have no fractional ticks)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return int(next(step * power for step in (1, 2, 5, 10) if step * power >= value))


def axis(maximum: float, ticks: int = 4) -> tuple[int, int]:
    """(step, top) of a value axis from 0 with at most ``ticks`` round whole steps."""
    step = nice_step(maximum / ticks)
    return step, step * max(1, math.ceil(maximum / step))


def _text(x: float, y: float, text: str, *, anchor: str = "middle", size: int = 10,
          fill: str = INK) -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
            f'fill="{fill}">{escape(text)}</text>')


def column_chart(labels: Sequence[str], values: Sequence[int], *, title: str,
                 average: float | None = None, average_label: str = "",
                 width: int = 720, height: int = 220) -> SafeString:
    """Vertical bars, one per label, with the value over each bar and an optional dashed
    reference line (e.g. the previous period's daily average)."""
    left, right, top, bottom = 36, 12, 26, 26
    plot_w, plot_h = width - left - right, height - top - bottom
    step, top_value = axis(max([*values, average or 0, 1]))
    slot = plot_w / max(len(values), 1)
    bar_w = max(2.0, slot * 0.64)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="100%" role="img" aria-label="{escape(title)}" class="bulletin-chart">',
             f"<title>{escape(title)}</title>"]
    for value in range(0, top_value + 1, step):
        y = top + plot_h - plot_h * value / top_value
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
                     f'stroke="{GRID}" stroke-width="1"/>')
        parts.append(_text(left - 4, y + 3, str(value), anchor="end", size=9))
    label_every = max(1, math.ceil(len(labels) / 16))  # a month's 31 days stay readable
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = left + slot * index + (slot - bar_w) / 2
        bar_h = plot_h * value / top_value
        y = top + plot_h - bar_h
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{bar_h:.1f}" '
                     f'fill="{BAR}"><title>{escape(label)}: {value}</title></rect>')
        if value and len(values) <= 16:
            parts.append(_text(x + bar_w / 2, y - 3, str(value), size=9))
        if index % label_every == 0:
            parts.append(_text(x + bar_w / 2, height - bottom + 14, label, size=9))
    if average is not None:
        y = top + plot_h - plot_h * average / top_value
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
                     f'stroke="{AVERAGE}" stroke-width="1.2" stroke-dasharray="5 4"/>')
        # The legend sits in the title line, clear of the bars.
        parts.append(f'<line x1="{width - right - 150}" y1="10" x2="{width - right - 126}" '
                     f'y2="10" stroke="{AVERAGE}" stroke-width="1.2" stroke-dasharray="5 4"/>')
        parts.append(_text(width - right - 120, 14, average_label, anchor="start", size=10,
                           fill=AVERAGE))
    parts.append(_text(left, 14, title, anchor="start", size=11, fill="#1f2933"))
    parts.append("</svg>")
    # Safe: every text above went through escape().
    return mark_safe("".join(parts))


def daily_chart(data: BulletinData) -> SafeString:
    days = (data.period_end - data.period_start).days + 1
    previous_days = (data.previous_end - data.previous_start).days + 1
    average = data.headline.violations.previous / previous_days if previous_days else None
    return column_chart(
        [f"{line.day:%m-%d}" if days <= 7 else f"{line.day.day}" for line in data.daily],
        [line.count for line in data.daily], title=_("每日违规数"),
        average=average, average_label=_("上期日均 %(n).1f") % {"n": average or 0})
