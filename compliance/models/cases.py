"""Cases: every finding acted on, on time, by the right district — and the proof that it was.

States and transitions are DESIGN.md's "Case workflow"; the services (compliance.services.cases)
are the only writers. A case has one assignment per unit it was dispatched to (two for
illegal-operation cases, 双重派送); the case reaches "handled" only when every active assignment
has reported. Every transition is a CaseEvent row, which the database refuses to change.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from fleet.scoping import ScopedQuerySet


class CaseSource(models.TextChoices):
    VIOLATION = "violation", _("违规确认")
    COMPLAINT = "complaint", _("12328投诉")
    ILLEGAL_OPERATION = "illegal_operation", _("非法营运")
    MANUAL = "manual", _("现场检查")


class CaseState(models.TextChoices):
    NEW = "new", _("待派发")
    DISPATCHED = "dispatched", _("已派发")
    ACCEPTED = "accepted", _("办理中")
    HANDLED = "handled", _("待核查")
    RETURNED = "returned", _("退回")
    VERIFIED = "verified", _("已核查")
    ARCHIVED = "archived", _("已归档")
    DISMISSED = "dismissed", _("不予立案")


OPEN_STATES = (CaseState.NEW, CaseState.DISPATCHED, CaseState.ACCEPTED, CaseState.HANDLED,
               CaseState.RETURNED)


class CaseQuerySet(ScopedQuerySet):
    district_lookup = "district"
    enterprise_lookup = "enterprise"

    def visible_to(self, user: Any) -> CaseQuerySet:
        """As every scoped queryset (owning district, enterprise), plus the cases dispatched to
        one of the user's districts — the second unit of a double dispatch sees its case."""
        scoped = super().visible_to(user)
        scope = getattr(user, "scope", None) if user is not None else None
        if scope is None or scope.everything or not scope.district_ids or not user.is_active:
            return scoped
        assigned = CaseAssignment.objects.filter(district__in=scope.district_ids).exclude(
            state="withdrawn").values("case_id")
        return scoped | self.filter(pk__in=assigned)

    def open(self) -> CaseQuerySet:
        return self.filter(state__in=OPEN_STATES)


class Case(models.Model):
    number = models.CharField(_("案件编号"), max_length=20, unique=True)
    source = models.CharField(_("来源"), max_length=20, choices=CaseSource.choices)
    state = models.CharField(_("状态"), max_length=20, choices=CaseState.choices,
                             default=CaseState.NEW)
    title = models.CharField(_("案由"), max_length=200)
    description = models.TextField(_("情况描述"), blank=True)
    violation = models.OneToOneField("compliance.Violation", verbose_name=_("违规记录"),
                                     null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="case")
    # The 12328 desk (complaints app) links its ticket here by id; no FK across apps yet.
    complaint_ref = models.CharField(_("投诉工单号"), max_length=40, blank=True)
    vehicle = models.ForeignKey("fleet.Vehicle", verbose_name=_("车辆"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="cases")
    plate_text = models.CharField(_("车牌（未登记车辆）"), max_length=10, blank=True)
    driver = models.ForeignKey("fleet.Driver", verbose_name=_("驾驶员"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="cases")
    enterprise = models.ForeignKey("fleet.Enterprise", verbose_name=_("企业"), null=True,
                                   blank=True, on_delete=models.PROTECT, related_name="cases")
    # Owning district by the territorial principle (where it happened, else registration).
    district = models.ForeignKey("fleet.District", verbose_name=_("属地区县"),
                                 on_delete=models.PROTECT, related_name="cases")
    location = models.PointField(_("位置"), srid=4326, null=True, blank=True)
    occurred_at = models.DateTimeField(_("发生时间"), null=True, blank=True)
    # Deadline of the stage the case is in (dispatch, accept, handle, verify).
    deadline = models.DateTimeField(_("当前环节时限"), null=True, blank=True)
    supervised = models.BooleanField(_("督办"), default=False)
    key_case = models.BooleanField(_("重点案件"), default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("创建人"), null=True,
                                   blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("案件")
        verbose_name_plural = _("案件")
        indexes = [models.Index(fields=["state", "deadline"]),
                   models.Index(fields=["district", "state"]),
                   models.Index(fields=["source", "-created_at"])]

    def __str__(self) -> str:
        return self.number


class AssignmentState(models.TextChoices):
    DISPATCHED = "dispatched", _("待签收")
    ACCEPTED = "accepted", _("办理中")
    AWAITING_APPROVAL = "awaiting_approval", _("待领导审批")
    HANDLED = "handled", _("已反馈")
    RETURNED = "returned", _("退回重办")
    WITHDRAWN = "withdrawn", _("已改派")


class Outcome(models.TextChoices):
    NO_VIOLATION = "no_violation", _("查无违规")
    EDUCATION = "education", _("批评教育")
    PENALTY_POINTS = "penalty_points", _("记分")
    FINE = "fine", _("罚款")
    SUSPENSION = "suspension", _("停业整顿/暂扣")
    OTHER = "other", _("其他")


class AssignmentQuerySet(ScopedQuerySet):
    district_lookup = "district"
    enterprise_lookup = "case__enterprise"


class CaseAssignment(models.Model):
    """One unit's part of a case: dispatched to it, accepted, handled with a result."""

    case = models.ForeignKey(Case, verbose_name=_("案件"), on_delete=models.CASCADE,
                             related_name="assignments")
    district = models.ForeignKey("fleet.District", verbose_name=_("承办区县"),
                                 on_delete=models.PROTECT, related_name="case_assignments")
    state = models.CharField(_("状态"), max_length=20, choices=AssignmentState.choices,
                             default=AssignmentState.DISPATCHED)
    dispatched_at = models.DateTimeField(_("派发时间"), auto_now_add=True)
    deadline = models.DateTimeField(_("办理时限"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("签收人"),
                                    null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    outcome = models.CharField(_("处理结果"), max_length=20, choices=Outcome.choices,
                               blank=True)
    fine_yuan = models.DecimalField(_("罚款金额(元)"), max_digits=10, decimal_places=2,
                                    null=True, blank=True)
    penalty_points = models.PositiveSmallIntegerField(_("记分"), null=True, blank=True)
    result_note = models.TextField(_("处理情况"), blank=True)
    handled_at = models.DateTimeField(_("反馈时间"), null=True, blank=True)
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("反馈人"),
                                   null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("审批领导"),
                                    null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["case", "dispatched_at"]
        verbose_name = _("案件承办")
        verbose_name_plural = _("案件承办")
        constraints = [
            models.UniqueConstraint(fields=["case", "district"],
                                    condition=~Q(state="withdrawn"),
                                    name="one_active_assignment_per_unit"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id}→{self.district_id} {self.state}"


class CaseEvent(models.Model):
    """Immutable: who did what to a case, when, from which state to which (a database trigger
    refuses UPDATE and DELETE; see migration)."""

    case = models.ForeignKey(Case, verbose_name=_("案件"), on_delete=models.PROTECT,
                             related_name="events")
    at = models.DateTimeField(_("时间"), auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True,
                              blank=True, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(_("操作"), max_length=30)
    from_state = models.CharField(_("原状态"), max_length=20, blank=True)
    to_state = models.CharField(_("新状态"), max_length=20, blank=True)
    district = models.ForeignKey("fleet.District", verbose_name=_("区县"), null=True,
                                 blank=True, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(_("说明"), blank=True)
    detail = models.JSONField(_("详情"), default=dict, blank=True)

    class Meta:
        ordering = ["case", "at", "pk"]
        verbose_name = _("案件流转记录")
        verbose_name_plural = _("案件流转记录")

    def __str__(self) -> str:
        return f"{self.case_id} {self.action} {self.from_state}→{self.to_state}"


def evidence_path(instance: CaseEvidence, filename: str) -> str:
    return f"cases/{instance.case_id}/{filename}"


class CaseEvidence(models.Model):
    case = models.ForeignKey(Case, verbose_name=_("案件"), on_delete=models.PROTECT,
                             related_name="evidence")
    assignment = models.ForeignKey(CaseAssignment, verbose_name=_("承办"), null=True,
                                   blank=True, on_delete=models.PROTECT, related_name="evidence")
    # Stored under settings.PRIVATE_MEDIA_ROOT (outside the web root), served by a view that
    # checks the case's scope.
    file = models.FileField(_("文件"), upload_to=evidence_path, max_length=300)
    original_name = models.CharField(_("文件名"), max_length=200)
    content_type = models.CharField(_("类型"), max_length=100)
    size = models.PositiveIntegerField(_("大小"))
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("上传人"),
                                    on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at"]
        verbose_name = _("案件证据")
        verbose_name_plural = _("案件证据")

    def __str__(self) -> str:
        return self.original_name


class Supervision(models.Model):
    """督办: a notice to the handling district with its own reply deadline; raised by the
    scheduler when a deadline passes (raised_by NULL) or by hand for key cases."""

    case = models.ForeignKey(Case, verbose_name=_("案件"), on_delete=models.PROTECT,
                             related_name="supervisions")
    raised_at = models.DateTimeField(_("督办时间"), auto_now_add=True)
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("督办人"), null=True,
                                  blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("督办事由"), max_length=200)
    reply_deadline = models.DateTimeField(_("回复时限"))
    replied_at = models.DateTimeField(_("回复时间"), null=True, blank=True)
    replied_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("回复人"),
                                   null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    reply = models.TextField(_("回复"), blank=True)
    # The units it is addressed to: the overdue one for an automatic notice, every unit still
    # working on the case for one raised by hand. Only they see it in their inbox and reply.
    units = models.ManyToManyField("fleet.District", verbose_name=_("督办对象"), blank=True,
                                   related_name="+")

    class Meta:
        ordering = ["-raised_at"]
        verbose_name = _("督办")
        verbose_name_plural = _("督办")

    def __str__(self) -> str:
        return f"{self.case_id} {self.reason}"


class Holiday(models.Model):
    """The bureau's calendar: public holidays, and weekend days that are working days (调休)."""

    date = models.DateField(_("日期"), unique=True)
    working_day = models.BooleanField(_("调休上班"), default=False)
    name = models.CharField(_("名称"), max_length=50, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("节假日")
        verbose_name_plural = _("节假日")

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class Stage(models.TextChoices):
    DISPATCH = "dispatch", _("派发")
    ACCEPT = "accept", _("签收")
    HANDLE = "handle", _("办理")
    VERIFY = "verify", _("核查")
    SUPERVISION_REPLY = "supervision_reply", _("督办回复")


class DeadlineUnit(models.TextChoices):
    HOURS = "hours", _("小时")
    WORKING_DAYS = "working_days", _("工作日")
    CALENDAR_DAYS = "calendar_days", _("自然日")


class DeadlinePolicy(models.Model):
    """How long each stage may take, per case source (built-in defaults when no row)."""

    source = models.CharField(_("来源"), max_length=20, choices=CaseSource.choices)
    stage = models.CharField(_("环节"), max_length=20, choices=Stage.choices)
    amount = models.PositiveIntegerField(_("时长"))
    unit = models.CharField(_("单位"), max_length=20, choices=DeadlineUnit.choices)

    class Meta:
        verbose_name = _("办理时限")
        verbose_name_plural = _("办理时限")
        constraints = [models.UniqueConstraint(fields=["source", "stage"],
                                               name="one_deadline_per_source_stage")]

    def __str__(self) -> str:
        return f"{self.source}/{self.stage}: {self.amount} {self.unit}"


class SourcePolicy(models.Model):
    """Per case source: dispatch by territory at once, or wait for bureau screening."""

    source = models.CharField(_("来源"), max_length=20, choices=CaseSource.choices, unique=True)
    auto_dispatch = models.BooleanField(_("自动派发"), default=False)

    class Meta:
        verbose_name = _("派发方式")
        verbose_name_plural = _("派发方式")

    def __str__(self) -> str:
        return f"{self.source}: {'auto' if self.auto_dispatch else 'screened'}"


class DistrictCasePolicy(models.Model):
    """Per district: whether a result needs the district leader's approval before it goes back
    to the city."""

    district = models.OneToOneField("fleet.District", verbose_name=_("区县"),
                                    on_delete=models.CASCADE, related_name="case_policy")
    leader_approval = models.BooleanField(_("反馈需区县领导审批"), default=False)

    class Meta:
        verbose_name = _("区县办理规则")
        verbose_name_plural = _("区县办理规则")

    def __str__(self) -> str:
        return f"{self.district_id}: approval={self.leader_approval}"


class Instruction(models.Model):
    """指令下发: a written instruction from the city to districts, acknowledged by each."""

    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"))
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("下发人"),
                                  on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField(_("下发时间"), auto_now_add=True)
    acknowledge_by = models.DateTimeField(_("签收时限"))

    class Meta:
        ordering = ["-issued_at"]
        verbose_name = _("指令")
        verbose_name_plural = _("指令")

    def __str__(self) -> str:
        return self.title


class InstructionTarget(models.Model):
    instruction = models.ForeignKey(Instruction, verbose_name=_("指令"),
                                    on_delete=models.CASCADE, related_name="targets")
    district = models.ForeignKey("fleet.District", verbose_name=_("区县"),
                                 on_delete=models.PROTECT, related_name="+")
    acknowledged_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("签收人"),
                                        null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+")
    reply = models.TextField(_("回复"), blank=True)

    class Meta:
        verbose_name = _("指令接收单位")
        verbose_name_plural = _("指令接收单位")
        constraints = [models.UniqueConstraint(fields=["instruction", "district"],
                                               name="one_target_per_district")]

    def __str__(self) -> str:
        return f"{self.instruction_id}→{self.district_id}"


class CheckPost(models.Model):
    """查岗: the city pings a district or enterprise monitoring desk, which must answer in time."""

    district = models.ForeignKey("fleet.District", verbose_name=_("区县"), null=True,
                                 blank=True, on_delete=models.PROTECT, related_name="+")
    enterprise = models.ForeignKey("fleet.Enterprise", verbose_name=_("企业"), null=True,
                                   blank=True, on_delete=models.PROTECT, related_name="+")
    question = models.CharField(_("查岗内容"), max_length=200)
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("发起人"),
                                on_delete=models.PROTECT, related_name="+")
    sent_at = models.DateTimeField(_("发起时间"), auto_now_add=True)
    answer_within_minutes = models.PositiveSmallIntegerField(_("应答时限(分钟)"), default=10)
    answered_at = models.DateTimeField(_("应答时间"), null=True, blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("应答人"),
                                    null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    answer = models.CharField(_("应答内容"), max_length=200, blank=True)

    class Meta:
        ordering = ["-sent_at"]
        verbose_name = _("查岗")
        verbose_name_plural = _("查岗")
        constraints = [models.CheckConstraint(
            condition=Q(district__isnull=False) ^ Q(enterprise__isnull=False),
            name="checkpost_one_target")]

    def __str__(self) -> str:
        return f"{self.sent_at:%Y-%m-%d %H:%M} {self.question}"


class Notification(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("接收人"),
                             on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(_("类型"), max_length=30)
    title = models.CharField(_("标题"), max_length=200)
    url = models.CharField(_("链接"), max_length=200, blank=True)
    case = models.ForeignKey(Case, verbose_name=_("案件"), null=True, blank=True,
                             on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        indexes = [models.Index(fields=["user", "read_at", "-created_at"])]

    def __str__(self) -> str:
        return self.title
