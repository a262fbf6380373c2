"""Compliance pages. Each area keeps its own URL list so its module stays small."""

from compliance.views import (
    assessment_urls,
    bulletin_urls,
    case_urls,
    dashboard_urls,
    desk_urls,
    quality_urls,
    replay_urls,
    settings_urls,
    violation_urls,
)

app_name = "compliance"
urlpatterns = [
    *assessment_urls.urlpatterns,
    *bulletin_urls.urlpatterns,
    *violation_urls.urlpatterns,
    *settings_urls.urlpatterns,
    *quality_urls.urlpatterns,
    *replay_urls.urlpatterns,
    *case_urls.urlpatterns,
    *dashboard_urls.urlpatterns,
    *desk_urls.urlpatterns,
]
