"""URLs of the bulletins (周通报, 月复盘), mounted under /compliance/."""

from django.urls import URLPattern, path

from compliance.views import bulletins

urlpatterns: list[URLPattern] = [
    path("bulletins/", bulletins.bulletin_list, name="bulletin_list"),
    path("bulletins/publish/", bulletins.bulletin_publish, name="bulletin_publish"),
    path("bulletins/<str:kind>/<str:start>/", bulletins.bulletin_detail, name="bulletin_detail"),
    path("bulletins/<str:kind>/<str:start>/pdf/", bulletins.bulletin_pdf, name="bulletin_pdf"),
    path("bulletins/<str:kind>/<str:start>/xlsx/", bulletins.bulletin_xlsx,
         name="bulletin_xlsx"),
]
