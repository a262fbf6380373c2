from django.urls import path

from compliance.consumers import AlertsConsumer, NotificationsConsumer

websocket_urlpatterns = [path("ws/alerts/", AlertsConsumer.as_asgi()),
                         path("ws/notify/", NotificationsConsumer.as_asgi())]
