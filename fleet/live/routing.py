from django.urls import path

from fleet.live.consumers import LiveVehiclesConsumer

websocket_urlpatterns = [path("ws/live/vehicles/", LiveVehiclesConsumer.as_asgi())]
