from django.urls import path

from fleet import gateway_views, views
from fleet.live import views as live

app_name = "fleet"

urlpatterns = [
    path("vehicles/", views.vehicle_list, name="vehicle_list"),
    path("vehicles/<int:pk>/", views.vehicle_detail, name="vehicle_detail"),
    path("vehicles/<int:pk>/track.json", live.vehicle_track, name="vehicle_track"),
    path("enterprises/", views.enterprise_list, name="enterprise_list"),
    path("enterprises/<int:pk>/", views.enterprise_detail, name="enterprise_detail"),
    path("drivers/", views.driver_list, name="driver_list"),
    path("drivers/<int:pk>/", views.driver_detail, name="driver_detail"),
    path("terminals/", views.terminal_list, name="terminal_list"),
    path("waybills/", views.waybill_list, name="waybill_list"),
    path("waybills/<int:pk>/", views.waybill_detail, name="waybill_detail"),
    path("map/", views.map_page, name="map"),
    path("map/layers.json", views.map_layers, name="map_layers"),
    path("gateway/", gateway_views.gateway_stats, name="gateway_stats"),
    path("gateway/send-text/", gateway_views.send_text, name="gateway_send_text"),
    path("live/", live.live_map, name="live_map"),
    path("live/snapshot.json", live.live_snapshot, name="live_snapshot"),
]
