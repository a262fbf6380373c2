from django.urls import path

from fleet.importing import views

app_name = "importing"

urlpatterns = [
    path("", views.upload, name="upload"),
    path("template/<slug:kind>.xlsx", views.template, name="template"),
    path("export/<slug:kind>.xlsx", views.export, name="export"),
]
