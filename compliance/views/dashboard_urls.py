"""URLs of the dashboard (mounted under /compliance/; the home page shows it too)."""

from django.urls import URLPattern, path

from compliance.views import dashboard

urlpatterns: list[URLPattern] = [
    path("dashboard/", dashboard.dashboard_page, name="dashboard"),
    path("dashboard/figures.json", dashboard.figures, name="dashboard_figures"),
]
