from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts import views as account_views

urlpatterns = [
    path("", account_views.home, name="home"),
    path("accounts/", include("accounts.urls")),
    path("fleet/import/", include("fleet.importing.urls", namespace="importing")),
    path("fleet/", include("fleet.urls")),
    path("compliance/", include("compliance.urls")),
    path("api/v1/", include("compliance.api.assessment_urls")),
    path("api/v1/", include("fleet.api.urls")),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
