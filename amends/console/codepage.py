"""Console pages (see the module's views); routes are included by ``amends.console.urls``."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
