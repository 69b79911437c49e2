from django.urls import path

from amends.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
]
