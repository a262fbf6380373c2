from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComplaintsConfig(AppConfig):
    """The 12328 complaint desk (built by its own issue)."""

    name = "complaints"
    verbose_name = _("12328投诉")
