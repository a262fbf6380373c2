from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComplianceConfig(AppConfig):
    """Rule engine, violations and the case workflow (built by the detection and cases issues)."""

    name = "compliance"
    verbose_name = _("违规检测与案件")
