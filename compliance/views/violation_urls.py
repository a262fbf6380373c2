from django.urls import path

from compliance.views import violations

urlpatterns = [
    path("violations/", violations.violation_list, name="violation_list"),
    path("violations/<int:pk>/", violations.violation_detail, name="violation_detail"),
    path("violations/<int:pk>/confirm/", violations.violation_screen, {"action": "confirm"},
         name="violation_confirm"),
    path("violations/<int:pk>/dismiss/", violations.violation_screen, {"action": "dismiss"},
         name="violation_dismiss"),
    path("screening/", violations.screening_queue, name="screening_queue"),
    path("screening/confirm/", violations.screening_bulk, {"action": "confirm"},
         name="screening_confirm"),
    path("screening/dismiss/", violations.screening_bulk, {"action": "dismiss"},
         name="screening_dismiss"),
    path("alerts/", violations.alerts, name="alerts"),
]
