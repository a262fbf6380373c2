"""Bulletin periods: Monday–Sunday weeks and calendar months, in the bureau's local time."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db import models
from django.utils.translation import gettext_lazy as _

# The bureau's calendar (as compliance.deadlines.TZ; not imported from there so that the model
# module, which imports this one, does not pull compliance.models in while it is being loaded).
TZ = ZoneInfo("Asia/Shanghai")


class BulletinKind(models.TextChoices):
    WEEKLY = "weekly", _("周通报")
    MONTHLY = "monthly", _("月复盘")


class PeriodError(ValueError):
    """A period that is not a bulletin period (a Tuesday as a week, a month not yet over…)."""


@dataclass(frozen=True)
class Period:
    kind: str
    start: dt.date
    end: dt.date  # inclusive: the last day of the period

    @classmethod
    def of(cls, kind: str, start: dt.date) -> Period:
        """The period of ``kind`` that begins on ``start``; PeriodError when none does."""
        if kind == BulletinKind.WEEKLY:
            if start.weekday() != 0:
                raise PeriodError(_("周通报的开始日期须为星期一：%(day)s") % {"day": start})
            return cls(kind, start, start + dt.timedelta(days=6))
        if kind == BulletinKind.MONTHLY:
            if start.day != 1:
                raise PeriodError(_("月复盘的开始日期须为当月1日：%(day)s") % {"day": start})
            last = calendar.monthrange(start.year, start.month)[1]
            return cls(kind, start, start.replace(day=last))
        raise PeriodError(_("未知的通报类型：%(kind)s") % {"kind": kind})

    @classmethod
    def last_complete(cls, kind: str, today: dt.date) -> Period:
        """The latest period of ``kind`` that ended before ``today`` (the scheduler's choice)."""
        if kind == BulletinKind.WEEKLY:
            monday = today - dt.timedelta(days=today.weekday())
            return cls.of(kind, monday - dt.timedelta(days=7))
        first = today.replace(day=1)
        return cls.of(kind, (first - dt.timedelta(days=1)).replace(day=1))

    def previous(self) -> Period:
        return Period.of(self.kind, Period.last_complete(self.kind, self.start).start)

    @property
    def days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    @property
    def starts_at(self) -> dt.datetime:
        """Local midnight opening the period (an aware datetime)."""
        return dt.datetime.combine(self.start, dt.time(0), tzinfo=TZ)

    @property
    def ends_at(self) -> dt.datetime:
        """Local midnight after the last day (exclusive)."""
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(0), tzinfo=TZ)

    def is_over(self, now: dt.datetime) -> bool:
        return now >= self.ends_at

    @property
    def slug(self) -> str:
        return f"{self.kind}-{self.start:%Y%m%d}"

    @property
    def title(self) -> str:
        """The document's name, e.g. "2026年第46周 周通报" or "2026年10月 月复盘"."""
        if self.kind == BulletinKind.WEEKLY:
            year, week, _day = self.start.isocalendar()
            return str(_("%(year)d年第%(week)d周（%(m1)d月%(d1)d日—%(m2)d月%(d2)d日）周通报") % {
                "year": year, "week": week, "m1": self.start.month, "d1": self.start.day,
                "m2": self.end.month, "d2": self.end.day})
        return str(_("%(year)d年%(month)d月 月复盘") % {"year": self.start.year,
                                                        "month": self.start.month})


def parse_week(text: str) -> Period:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise PeriodError(_("日期格式应为 YYYY-MM-DD：%(text)s") % {"text": text}) from None
    return Period.of(BulletinKind.WEEKLY, day)


def parse_month(text: str) -> Period:
    try:
        month = dt.datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        raise PeriodError(_("月份格式应为 YYYY-MM：%(text)s") % {"text": text}) from None
    return Period.of(BulletinKind.MONTHLY, month)
