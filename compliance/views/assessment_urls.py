"""URLs of the assessment pages (mounted under /compliance/)."""

from django.urls import URLPattern, path

from compliance.views import assessment

urlpatterns: list[URLPattern] = [
    path("assessment/", assessment.ranking, name="assessment"),
    path("assessment/risk/", assessment.risk_list, name="assessment_risk"),
    path("assessment/<str:unit>/<int:unit_id>/", assessment.unit_detail,
         name="assessment_unit"),
]
