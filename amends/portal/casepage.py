"""Portal pages (see the module's views); routes are included by ``amends.portal.urls``."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
