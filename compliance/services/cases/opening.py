"""Opening cases: by hand, for the 12328 desk, for illegal operation, and for confirmed
violations (at most one case per violation, however often it is asked)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from accounts.roles import Capability
from compliance.catalogue import RULES
from compliance.deadlines import deadline_for
from compliance.models import Case, CaseSource, CaseState, ReviewStatus, Stage, Violation
from compliance.services.cases import policy
from compliance.services.cases.core import clean_text, now, record, require
from compliance.services.cases.dispatching import dispatch_locked
from compliance.services.cases.errors import CaseError
from fleet.models import District, Driver, Enterprise, Vehicle

if TYPE_CHECKING:
    from django.contrib.gis.geos import Point

log = logging.getLogger(__name__)

TITLE_MAX = Case._meta.get_field("title").max_length
PLATE_MAX = Case._meta.get_field("plate_text").max_length
REF_MAX = Case._meta.get_field("complaint_ref").max_length
AUTO_DISPATCH_NOTE = gettext_lazy("按属地原则自动派发")
# Cases opened per scheduler run for confirmed violations that have none yet, and at most inline
# after a (bulk) confirmation.
SWEEP_BATCH = 200
INLINE_MAX = 50


def open_case(*, source: str, title: str, description: str = "",
              district: District | None = None, vehicle: Vehicle | None = None,
              driver: Driver | None = None, enterprise: Enterprise | None = None,
              plate_text: str = "", location: Point | None = None,
              occurred_at: dt.datetime | None = None, violation: Violation | None = None,
              complaint_ref: str = "", key_case: bool = False,
              actor: User | None) -> Case:
    """A new case in state ``new`` with a readable number; dispatched at once by territory when
    the source's policy says so. ``district=None``: the territorial principle decides (the
    location's district, else the vehicle's registered district). ``actor=None``: the platform."""
    require(actor, Capability.DISPATCH_CASES)
    if source not in CaseSource.values:
        raise CaseError(CaseError.INVALID_INPUT, _("未知的案件来源"))
    if (source == CaseSource.VIOLATION) != (violation is not None):
        raise CaseError(CaseError.INVALID_INPUT, _("违规来源的案件须且只能关联一条违规记录"))
    title = clean_text(title, required=True, what=_("案由"),
                       code=CaseError.INVALID_INPUT)[:TITLE_MAX]
    description = clean_text(description)
    plate_text = (plate_text or "").strip().upper()
    complaint_ref = (complaint_ref or "").strip()
    if len(plate_text) > PLATE_MAX or len(complaint_ref) > REF_MAX:
        raise CaseError(CaseError.INVALID_INPUT, _("车牌或工单号过长"))
    if actor is not None:
        _check_in_scope(actor, vehicle=vehicle, driver=driver, enterprise=enterprise,
                        district=district)
    if enterprise is None and vehicle is not None:
        enterprise = vehicle.enterprise
    if district is None:
        district = policy.territorial_district(location=location, vehicle=vehicle,
                                               driver=driver, enterprise=enterprise)
    if district is None:
        raise CaseError(CaseError.DISTRICT_UNKNOWN,
                        _("无法按属地原则确定区县：请提供位置、登记车辆或指定区县"))
    with transaction.atomic():
        created = now()
        case = Case.objects.create(
            number=policy.next_number(source, created), source=source, title=title,
            description=description, violation=violation, complaint_ref=complaint_ref,
            vehicle=vehicle, plate_text=plate_text, driver=driver, enterprise=enterprise,
            district=district, location=location, occurred_at=occurred_at, key_case=key_case,
            created_by=actor, state=CaseState.NEW,
            deadline=deadline_for(source, Stage.DISPATCH, created,
                                  vehicle_kind=vehicle.kind if vehicle else None))
        record(case=case, actor=actor, action="open", from_state="", to_state=CaseState.NEW,
               district_id=district.pk,
               detail={"source": source, "violation": violation.pk if violation else None})
        if policy.auto_dispatch(source):
            with translation.override(settings.LANGUAGE_CODE):  # stored: platform language
                note = str(AUTO_DISPATCH_NOTE)
            dispatch_locked(case=case, districts=policy.auto_units(case), actor=None,
                            note=note, auto=True)
    return case


def open_case_for_violation(*, violation: Violation, actor: User | None) -> Case:
    """The case of a confirmed violation, opened now or found (idempotent: the violation row is
    locked while looking, so two callers at once still make one case)."""
    with transaction.atomic():
        queryset = Violation.objects.all() if actor is None else Violation.objects.visible_to(
            actor)
        try:
            locked = (queryset.select_for_update(of=("self",), no_key=True)
                      .select_related("vehicle", "enterprise", "district").get(pk=violation.pk))
        except Violation.DoesNotExist:
            raise CaseError(CaseError.NOT_FOUND,
                            _("违规记录不存在或不在你的管辖范围内")) from None
        require(actor, Capability.DISPATCH_CASES)
        existing = Case.objects.filter(violation=locked).first()
        if existing is not None:
            return existing
        if locked.review_status != ReviewStatus.CONFIRMED or not RULES[locked.rule].screened:
            raise CaseError(CaseError.INVALID_TRANSITION, _("只有已确认的违规才能立案"))
        with translation.override(settings.LANGUAGE_CODE):  # stored: platform language
            label = str(locked.get_rule_display())
        return open_case(
            source=CaseSource.VIOLATION, title=f"{locked.vehicle.plate} {label}",
            description=locked.review_note, district=locked.district, vehicle=locked.vehicle,
            driver=locked.driver, enterprise=locked.enterprise, location=locked.location,
            occurred_at=locked.started_at, violation=locked, actor=actor)


def open_cases_for_violations(violation_ids: Iterable[int], *,
                              limit: int | None = INLINE_MAX) -> list[Case]:
    """After a confirmation commits (screening's hook): each violation its own transaction, so
    one failure does not hold the others back; whatever fails here the scheduler sweep retries.
    At most ``limit`` inline, so a bulk confirmation's request stays quick: the sweep opens the
    rest within a minute or two."""
    opened = []
    wanted = sorted(set(violation_ids))
    for pk in wanted[:limit] if limit is not None else wanted:
        try:
            opened.append(open_case_for_violation(violation=Violation(pk=pk), actor=None))
        except Exception:
            log.exception("opening the case of violation %s failed (the sweep retries)", pk)
    return opened


def open_missing_violation_cases(*, limit: int = SWEEP_BATCH) -> int:
    """Scheduler: confirmed violations without a case — the pipeline's auto-confirmed ones, and
    any the screening hook could not open — oldest first, ``limit`` per run."""
    ids = list(Violation.objects.filter(review_status=ReviewStatus.CONFIRMED, case__isnull=True)
               .exclude(rule__in=[code for code, spec in RULES.items() if not spec.screened])
               .order_by("detected_at", "pk").values_list("pk", flat=True)[:limit])
    return len(open_cases_for_violations(ids, limit=None))


def _check_in_scope(actor: User, **objects: object) -> None:
    """A person may only name registry objects they can see."""
    models = {"vehicle": Vehicle, "driver": Driver, "enterprise": Enterprise,
              "district": District}
    for name, obj in objects.items():
        if obj is None:
            continue
        model = models[name]
        if not model.objects.visible_to(actor).filter(pk=obj.pk).exists():  # type: ignore[attr-defined]
            raise CaseError(CaseError.NOT_FOUND, _("所选对象不存在或不在你的管辖范围内"))
