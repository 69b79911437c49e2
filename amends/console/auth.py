"""Staff sign-in and sign-out (routes included by ``amends.console.urls``)."""

from django.contrib.auth import views as auth_views
from django.urls import URLPattern, path

urlpatterns: list[URLPattern] = [
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="console/login.html"),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
