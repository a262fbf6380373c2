"""Compliance pages. Each area keeps its own URL list so its module stays small."""

from compliance.views import (
    case_urls,
    quality_urls,
    replay_urls,
    settings_urls,
    violation_urls,
)

app_name = "compliance"
urlpatterns = [
    *violation_urls.urlpatterns,
    *settings_urls.urlpatterns,
    *quality_urls.urlpatterns,
    *replay_urls.urlpatterns,
    *case_urls.urlpatterns,
]
