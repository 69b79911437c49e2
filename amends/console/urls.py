from django.urls import include, path

from amends.console import views

app_name = "console"
urlpatterns = [
    path("", views.queues, name="home"),
    path("cases/new/", views.case_new, name="case_new"),
    path("customers/lookup/", views.customer_lookup, name="customer_lookup"),
    path("cases/<str:reference>/", views.case_page, name="case"),
    path("cases/<str:reference>/do/<str:action>/", views.case_act, name="case_act"),
    # Signing in and out, second factor, sessions.
    path("", include("amends.console.auth")),
    # Letters to post, calls to make, mail that needs a person, messages that failed.
    path("", include("amends.console.mailroom")),
    # The manager's and compliance lead's figures, charts and exports.
    path("", include("amends.console.dashboard")),
    # The provider's Code of Practice: the version in force, its findings, new versions.
    path("", include("amends.console.codepage")),
    # API tokens, webhook endpoints and their delivery logs.
    path("", include("amends.console.apipages")),
]
