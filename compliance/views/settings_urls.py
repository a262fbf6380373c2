"""Rule settings pages (the bureau's thresholds per district and vehicle kind)."""

from django.urls import URLPattern, path

from compliance.views import rule_settings

urlpatterns: list[URLPattern] = [
    path("rules/", rule_settings.rule_list, name="rule_settings"),
    path("rules/<slug:rule>/", rule_settings.rule_detail, name="rule_setting_detail"),
]
