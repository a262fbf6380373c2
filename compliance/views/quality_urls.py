"""URLs of the data-quality page (mounted under /compliance/)."""

from django.urls import URLPattern, path

from compliance.views import quality

urlpatterns: list[URLPattern] = [
    path("quality/", quality.quality_page, name="quality"),
    path("quality/export.xlsx", quality.quality_export_view, name="quality_export"),
]
