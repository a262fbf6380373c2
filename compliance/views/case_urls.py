"""URLs of the case pages (mounted under /compliance/)."""

from django.urls import URLPattern, path

from compliance.views import case_actions, cases

urlpatterns: list[URLPattern] = [
    path("cases/", cases.case_list, name="case_list"),
    path("inbox/", cases.inbox, name="inbox"),
    path("cases/<int:pk>/", cases.case_detail, name="case_detail"),
    path("cases/<int:pk>/<slug:action>/", case_actions.case_action, name="case_action"),
]
