from django.urls import path

from compliance.views import replay

urlpatterns = [
    path("replay/", replay.replay_home, name="replay"),
    path("replay/<int:pk>/", replay.replay_detail, name="replay_detail"),
    path("replay/<int:pk>/status/", replay.replay_status, name="replay_status"),
]
