"""Notifications to the people a transition concerns: a ``Notification`` row each (the portal's
bell), and after the commit a message on the channel layer to the group ``notify-user-<id>``.

Message shape (``type`` selects the consumer handler ``notify_message``)::

    {"type": "notify.message",
     "notification": {"id": 17, "kind": "case_dispatched", "title": "新案件待签收：…",
                      "url": "/compliance/cases/5/", "case": {"id": 5, "number": "WG202611210001"},
                      "created_at": "2026-11-21T10:00:00+08:00"}}

Kinds: ``case_dispatched`` (new case in a district's inbox), ``case_withdrawn`` (re-dispatched away
from a district), ``case_awaiting_approval`` (to the district's leaders), ``case_rejected`` (a
leader sent a result back to the operators), ``case_handled`` (all units reported: to the city's
verifiers), ``case_returned`` (the city returned a result), ``case_supervised`` (督办, to the
district's operators and leaders), ``supervision_replied`` (to whoever raised it, or the city's
supervisors for automatic ones).

Duty supervision kinds (no case; ``"case": null`` in the message, sent by ``notify_duty``):
``instruction_issued`` (指令下发, to the operators and leaders of each target district),
``instruction_acknowledged`` (to the issuer), ``checkpost_sent`` (查岗, to the desk that must
answer: the district's staff or the enterprise's officers), ``checkpost_answered`` and
``checkpost_missed`` (to the sender). Bulletins: ``bulletin_published`` (a weekly or monthly
bulletin out, or regenerated, to everyone who reads them; compliance.bulletins.services).

Recipients are found by role capability and district, never the actor themself. Bureau
administrators hold every capability for maintenance, not as workflow staff: they are not
notified. Titles are stored in the platform's default language (the recipient's may differ from
the actor's; pages can re-render from ``kind`` and ``case``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import partial
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation

from accounts.models import User
from accounts.roles import Level, Role
from compliance.models import Case, Notification
from compliance.services.cases.core import roles_with
from fleet.live.sender import sender

log = logging.getLogger(__name__)

MESSAGE_TYPE = "notify.message"


def user_group(user_id: int) -> str:
    return f"notify-user-{user_id}"


def case_url(case: Case) -> str:
    """The case page once it exists (pages engineer: ``compliance:case_detail``), else the API."""
    try:
        return reverse("compliance:case_detail", args=[case.pk])
    except NoReverseMatch:
        return reverse("case-detail", kwargs={"pk": case.pk})


def district_staff(district_ids: Iterable[int], *capabilities: str) -> QuerySet[User]:
    roles = {role for capability in capabilities for role in roles_with(capability)}
    return (User.objects.filter(is_active=True, level=Level.DISTRICT, role__in=roles,
                                districts__in=list(district_ids)).distinct())


def bureau_staff(capability: str) -> QuerySet[User]:
    roles = set(roles_with(capability)) - {Role.BUREAU_ADMIN}
    return User.objects.filter(is_active=True, level=Level.BUREAU, role__in=roles)


def notify(users: Iterable[User], *, kind: str, title: Any, case: Case,
           actor: User | None, params: dict[str, Any] | None = None) -> list[Notification]:
    """Rows now (same transaction as the transition), channel messages after the commit.
    ``title`` is a lazy message, formatted with ``params`` in the platform's language."""
    with translation.override(settings.LANGUAGE_CODE):
        text = str(title) % (params if params is not None else {"number": case.number,
                                                                "title": case.title})
        text = text[:200]
    url = case_url(case)
    recipients = {u.pk for u in users} - ({actor.pk} if actor is not None else set())
    if not recipients:
        return []
    rows = Notification.objects.bulk_create(
        [Notification(user_id=pk, kind=kind, title=text, url=url, case=case)
         for pk in sorted(recipients)])
    messages = [(row.user_id, {"type": MESSAGE_TYPE, "notification": {
        "id": row.pk, "kind": kind, "title": text, "url": url,
        "case": {"id": case.pk, "number": case.number},
        "created_at": timezone.localtime(row.created_at).isoformat()}})
        for row in rows]
    transaction.on_commit(partial(_send, messages))
    return rows


def _send(messages: list[tuple[int, dict[str, Any]]]) -> None:
    """Best effort: the notification row is committed whatever happens to the live push. Through
    the process's one channel-layer loop (fleet.live.sender): async_to_sync here failed whenever
    the caller's thread already ran an event loop, and paid for new connections each time."""
    sender.send_many(get_channel_layer(), [(user_group(user_id), message)
                                           for user_id, message in messages])


def mark_read(*, user: User, ids: Iterable[int] | None = None) -> int:
    """Mark the user's own notifications read (all unread when ``ids`` is None). Personal
    interface state, not a regulatory act: no audit row."""
    queryset = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        queryset = queryset.filter(pk__in=list(ids))
    return queryset.update(read_at=timezone.now())


DUTY_KINDS = ("instruction_issued", "instruction_acknowledged", "checkpost_sent",
              "checkpost_answered", "checkpost_missed")


def notify_duty(users: Iterable[User], *, kind: str, title: Any, url: str,
                actor: User | None, params: dict[str, Any]) -> list[Notification]:
    """As ``notify`` for the duty-supervision kinds, which concern no case: rows now, the same
    channel message (with ``case`` null) after the commit."""
    with translation.override(settings.LANGUAGE_CODE):
        text = (str(title) % params)[:200]
    recipients = {u.pk for u in users} - ({actor.pk} if actor is not None else set())
    if not recipients:
        return []
    rows = Notification.objects.bulk_create(
        [Notification(user_id=pk, kind=kind, title=text, url=url) for pk in sorted(recipients)])
    messages = [(row.user_id, {"type": MESSAGE_TYPE, "notification": {
        "id": row.pk, "kind": kind, "title": text, "url": url, "case": None,
        "created_at": timezone.localtime(row.created_at).isoformat()}})
        for row in rows]
    transaction.on_commit(partial(_send, messages))
    return rows
