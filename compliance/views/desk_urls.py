"""URLs of duty supervision (指令下发, 查岗) and of the notifications page (mounted under
/compliance/)."""

from django.urls import URLPattern, path

from compliance.views import checkposts, instructions, notifications

urlpatterns: list[URLPattern] = [
    path("instructions/", instructions.instruction_list, name="instruction_list"),
    path("instructions/new/", instructions.instruction_new, name="instruction_new"),
    path("instructions/inbox/", instructions.instruction_inbox, name="instruction_inbox"),
    path("instructions/<int:pk>/", instructions.instruction_detail, name="instruction_detail"),
    path("instructions/targets/<int:pk>/acknowledge/", instructions.acknowledge,
         name="instruction_acknowledge"),
    path("checkposts/", checkposts.checkpost_list, name="checkpost_list"),
    path("checkposts/send/", checkposts.checkpost_send, name="checkpost_send"),
    path("checkposts/desk/", checkposts.checkpost_desk, name="checkpost_desk"),
    path("checkposts/<int:pk>/answer/", checkposts.checkpost_answer, name="checkpost_answer"),
    path("notifications/", notifications.notification_list, name="notifications"),
    path("notifications/read/", notifications.notification_read, name="notifications_read"),
    path("notifications/<int:pk>/open/", notifications.notification_open,
         name="notification_open"),
]
