from django.contrib.auth import views as auth_views
from django.urls import include, path

from amends.console import views

app_name = "console"
urlpatterns = [
    path("", views.queues, name="home"),
    path("cases/new/", views.case_new, name="case_new"),
    path("cases/<str:reference>/", views.case_page, name="case"),
    path("cases/<str:reference>/do/<str:action>/", views.case_act, name="case_act"),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="console/login.html"),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Letters to post, calls to make, mail that needs a person, messages that failed.
    path("", include("amends.console.mailroom")),
    # The manager's and compliance lead's figures, charts and exports.
    path("", include("amends.console.dashboard")),
]
