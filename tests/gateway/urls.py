"""The project's URLs plus the gateway pages, as the lead is asked to wire them in fleet/urls.py."""

from django.urls import include, path

from config import urls as project_urls
from fleet import gateway_views
from fleet import urls as fleet_urls

fleet_patterns = [
    *fleet_urls.urlpatterns,
    path("gateway/", gateway_views.gateway_stats, name="gateway_stats"),
    path("gateway/send-text/", gateway_views.send_text, name="gateway_send_text"),
]

urlpatterns = [
    *(p for p in project_urls.urlpatterns if getattr(p, "namespace", None) != "fleet"),
    path("fleet/", include((fleet_patterns, "fleet"))),
]
