"""查岗: the city pings a district's or an enterprise's monitoring desk, which must answer within
``answer_within_minutes`` of ``sent_at``.

The row is the record, and its fields mean exactly this (the KPI "check-post response rate" is
computed from them): ``sent_at`` when the city sent it, ``answer_within_minutes`` the window,
``answered_at`` when the desk answered. On time ⇔ ``answered_at ≤ sent_at + window``. A late
answer is accepted and stays late; status is never stored, always derived
(``compliance.selectors_desk.with_status``).

Each write leaves an audit row and notifies the people concerned after the commit: the desk of
a new check-post (within seconds, through the bell's websocket), the sender of an answer, and —
from the scheduler — the sender of a check-post that went unanswered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import audit
from accounts.models import User
from accounts.roles import Capability, Level
from compliance.models import CheckPost, Notification
from compliance.selectors_desk import (
    MISSED,
    answerable_checkposts,
    visible_checkposts,
    with_status,
)
from compliance.services.cases.core import roles_with
from compliance.services.cases.errors import CaseError
from compliance.services.cases.notify import district_staff, notify_duty
from fleet.models import District, Enterprise

TEXT_MAX = 200  # CheckPost.question and CheckPost.answer
WINDOW_MINUTES = range(1, 24 * 60 + 1)
# The scheduler looks this far back for check-posts whose window closed unanswered.
MISSED_LOOKBACK = dt.timedelta(days=2)

SENT = gettext_lazy("查岗：%(question)s（请在 %(minutes)d 分钟内应答）")
ANSWERED = gettext_lazy("%(target)s已应答查岗：%(question)s")
ANSWERED_LATE = gettext_lazy("%(target)s超时应答查岗：%(question)s")
MISSED_TITLE = gettext_lazy("%(target)s未在时限内应答查岗：%(question)s")


def require(actor: User, capability: str) -> None:
    if not actor.can(capability):
        raise CaseError(CaseError.FORBIDDEN, _("你没有执行此操作的权限"))


def desk_url(checkpost: CheckPost) -> str:
    return f"{reverse('compliance:checkpost_desk')}#checkpost-{checkpost.pk}"


def follow_url(checkpost: CheckPost) -> str:
    return f"{reverse('compliance:checkpost_list')}#checkpost-{checkpost.pk}"


def target_name(checkpost: CheckPost) -> str:
    return checkpost.district.name if checkpost.district_id else checkpost.enterprise.name


def _text(value: str | None, *, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise CaseError(CaseError.INVALID_INPUT, _("请填写%(what)s") % {"what": what})
    if len(value) > TEXT_MAX:
        raise CaseError(CaseError.INVALID_INPUT, _("%(what)s不能超过 %(n)d 个字") % {
            "what": what, "n": TEXT_MAX})
    return value


def _window(minutes: int | None) -> int:
    if minutes is None:
        minutes = settings.CHECKPOST_ANSWER_WITHIN_MINUTES
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes not in WINDOW_MINUTES:
        raise CaseError(CaseError.INVALID_INPUT, _("应答时限须为 1 至 1440 分钟"))
    return minutes


def enterprise_officers(enterprise_id: int) -> QuerySet[User]:
    return User.objects.filter(is_active=True, level=Level.ENTERPRISE, enterprise=enterprise_id,
                               role__in=roles_with(Capability.ANSWER_CHECKPOSTS))


def send_checkposts(*, districts: Iterable[District] = (), enterprises: Iterable[Enterprise] = (),
                    question: str, answer_within_minutes: int | None = None,
                    actor: User) -> list[CheckPost]:
    """One check-post per target (duplicates folded), all in one transaction: "all districts"
    and "all enterprises of a district" are the caller's lists. Every target must be in the
    actor's scope."""
    require(actor, Capability.SEND_CHECKPOSTS)
    question = _text(question, what=_("查岗内容"))
    minutes = _window(answer_within_minutes)
    district_ids = list(dict.fromkeys(d.pk for d in districts))
    enterprise_ids = list(dict.fromkeys(e.pk for e in enterprises))
    if not district_ids and not enterprise_ids:
        raise CaseError(CaseError.INVALID_INPUT, _("请选择查岗对象"))
    seen_districts = set(District.objects.visible_to(actor).filter(pk__in=district_ids)
                         .values_list("pk", flat=True))
    seen_enterprises = set(Enterprise.objects.visible_to(actor).filter(pk__in=enterprise_ids)
                           .values_list("pk", flat=True))
    if seen_districts != set(district_ids) or seen_enterprises != set(enterprise_ids):
        raise CaseError(CaseError.INVALID_INPUT, _("所选查岗对象不存在或不在你的管辖范围内"))
    with transaction.atomic():
        rows = CheckPost.objects.bulk_create(
            [CheckPost(district_id=pk, question=question, sent_by=actor,
                       answer_within_minutes=minutes) for pk in district_ids]
            + [CheckPost(enterprise_id=pk, question=question, sent_by=actor,
                         answer_within_minutes=minutes) for pk in enterprise_ids])
        audit.record(actor=actor, action="checkpost_send", object_type="checkpost",
                     object_id=rows[0].pk if len(rows) == 1 else "", detail={
                         "checkposts": [row.pk for row in rows], "question": question,
                         "answer_within_minutes": minutes, "districts": district_ids,
                         "enterprises": enterprise_ids})
        params = {"question": question, "minutes": minutes}
        for row in rows:
            desk = (district_staff([row.district_id], Capability.ANSWER_CHECKPOSTS)
                    if row.district_id else enterprise_officers(row.enterprise_id))
            notify_duty(desk, kind="checkpost_sent", title=SENT, url=desk_url(row),
                        actor=actor, params=params)
    return rows


def send_checkpost(*, district: District | None = None, enterprise: Enterprise | None = None,
                   question: str, answer_within_minutes: int | None = None,
                   actor: User) -> CheckPost:
    """One desk: a district's or an enterprise's, never both."""
    if (district is None) == (enterprise is None):
        raise CaseError(CaseError.INVALID_INPUT, _("请选择一个区县或一个企业作为查岗对象"))
    [row] = send_checkposts(districts=[district] if district else [],
                            enterprises=[enterprise] if enterprise else [], question=question,
                            answer_within_minutes=answer_within_minutes, actor=actor)
    return row


def _conflict(checkpost: CheckPost) -> CaseError:
    who = str(checkpost.answered_by) if checkpost.answered_by_id else _("他人")
    when = timezone.localtime(checkpost.answered_at).strftime("%Y-%m-%d %H:%M:%S")
    return CaseError(CaseError.CONFLICT, _(
        "该查岗已由%(who)s于 %(when)s 应答，本次应答未生效") % {"who": who, "when": when})


def answer_checkpost(*, checkpost: CheckPost, actor: User, answer: str) -> CheckPost:
    """The desk answers, once (``UPDATE … WHERE answered_at IS NULL``). After the window the
    answer is still taken, and is late for good."""
    if not visible_checkposts(actor).filter(pk=checkpost.pk).exists():
        raise CaseError(CaseError.NOT_FOUND, _("查岗记录不存在或不在你的管辖范围内"))
    require(actor, Capability.ANSWER_CHECKPOSTS)
    if not answerable_checkposts(actor).filter(pk=checkpost.pk).exists():
        raise CaseError(CaseError.FORBIDDEN, _("只有被查岗的值守台可以应答"))
    answer = _text(answer, what=_("应答内容"))
    with transaction.atomic():
        at = timezone.now()
        updated = (CheckPost.objects.filter(pk=checkpost.pk, answered_at__isnull=True)
                   .update(answered_at=at, answered_by=actor, answer=answer))
        fresh = CheckPost.objects.select_related("district", "enterprise", "answered_by").get(
            pk=checkpost.pk)
        if updated != 1:
            raise _conflict(fresh)
        late = at > fresh.sent_at + dt.timedelta(minutes=fresh.answer_within_minutes)
        # The actor's own "please answer" notice has done its job.
        Notification.objects.filter(user=actor, kind="checkpost_sent", url=desk_url(fresh),
                                    read_at__isnull=True).update(read_at=at)
        audit.record(actor=actor, action="checkpost_answer", object_type="checkpost",
                     object_id=fresh.pk, detail={"answer": answer, "late": late})
        notify_duty(User.objects.filter(pk=fresh.sent_by_id, is_active=True),
                    kind="checkpost_answered", title=ANSWERED_LATE if late else ANSWERED,
                    url=follow_url(fresh), actor=actor,
                    params={"target": target_name(fresh), "question": fresh.question})
    for name in ("answered_at", "answered_by_id", "answer"):
        setattr(checkpost, name, getattr(fresh, name))
    return fresh


def notify_missed_checkposts(*, now: dt.datetime | None = None) -> int:
    """Tell each sender once about their check-posts whose window closed unanswered (the
    scheduler runs this every minute). The notification itself marks the check-post as told,
    so a restart neither repeats nor loses one. Returns the number of senders' notices."""
    moment = now or timezone.now()
    with transaction.atomic():
        missed: Sequence[CheckPost] = list(
            with_status(CheckPost.objects.filter(sent_at__gte=moment - MISSED_LOOKBACK),
                        now=moment).filter(status=MISSED)
            .select_related("district", "enterprise").order_by("sent_at", "pk"))
        urls = {row.pk: follow_url(row) for row in missed}
        told = set(Notification.objects.filter(kind="checkpost_missed", url__in=urls.values())
                   .values_list("url", flat=True))
        count = 0
        for row in missed:
            if urls[row.pk] in told:
                continue
            count += len(notify_duty(
                User.objects.filter(pk=row.sent_by_id, is_active=True), kind="checkpost_missed",
                title=MISSED_TITLE, url=urls[row.pk], actor=None,
                params={"target": target_name(row), "question": row.question}))
    return count
