"""URL map: each app owns its own routes."""

from django.contrib import admin
from django.urls import include, path

from amends.api.api import api
from amends.core.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("staff/", include("amends.console.urls")),
    # The REST API for providers' CRM and billing systems (OpenAPI docs at /api/v1/docs).
    path("api/v1/", api.urls),
    # The language switch of the public pages (POST, back to the same page).
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("amends.portal.urls")),
]

handler404 = "amends.portal.views.not_found"
handler500 = "amends.portal.views.server_error"
