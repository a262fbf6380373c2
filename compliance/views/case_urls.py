"""URLs of the case pages (mounted under /compliance/)."""

from django.urls import URLPattern, path

from compliance.views import case_actions, case_files, cases

urlpatterns: list[URLPattern] = [
    path("cases/", cases.case_list, name="case_list"),
    path("inbox/", cases.inbox, name="inbox"),
    path("cases/<int:pk>/", cases.case_detail, name="case_detail"),
    # Before the actions' catch-all "cases/<pk>/<action>/".
    path("cases/<int:pk>/pdf/", case_files.case_pdf, name="case_pdf"),
    path("cases/<int:pk>/evidence/", case_files.evidence_upload, name="case_evidence_upload"),
    path("cases/<int:pk>/evidence/<int:evidence_pk>/", case_files.evidence_file,
         name="case_evidence"),
    path("cases/<int:pk>/<slug:action>/", case_actions.case_action, name="case_action"),
]
