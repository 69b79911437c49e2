"""helpdesk's URLs: its e-mail templates link to the ticket, which needs them to reverse."""

from django.urls import include, path

urlpatterns = [path("helpdesk/", include("helpdesk.urls"))]
