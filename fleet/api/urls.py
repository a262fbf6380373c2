from django.urls import path
from rest_framework.routers import DefaultRouter

from compliance.api.views import ViolationViewSet
from compliance.api_cases import CaseViewSet, NotificationViewSet
from compliance.api_settings import RuleSettingList
from fleet.api import views
from fleet.ingest import views as ingest

router = DefaultRouter()
router.register("districts", views.DistrictViewSet, basename="district")
router.register("enterprises", views.EnterpriseViewSet, basename="enterprise")
router.register("vehicles", views.VehicleViewSet, basename="vehicle")
router.register("drivers", views.DriverViewSet, basename="driver")
router.register("certificates", views.CertificateViewSet, basename="certificate")
router.register("terminals", views.TerminalViewSet, basename="terminal")
router.register("bindings", views.BindingViewSet, basename="binding")
router.register("waybills", views.WaybillViewSet, basename="waybill")
router.register("zones", views.ZoneViewSet, basename="zone")
router.register("roads", views.RoadSegmentViewSet, basename="road")
router.register("bus-lines", views.BusLineViewSet, basename="busline")
router.register("violations", ViolationViewSet, basename="violation")
router.register("cases", CaseViewSet, basename="case")
router.register("notifications", NotificationViewSet, basename="notification")

urlpatterns = [
    path("ingest/<slug:kind>", ingest.ingest, name="ingest"),
    path("rule-settings/", RuleSettingList.as_view(), name="rule-settings"),
    *router.urls,
]
