from django.urls import include, path

from amends.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("<slug:provider>/brand.css", views.brand_css, name="brand_css"),
    # Each provider's public pages: its code, its forms (amends.portal.public) ...
    path("<slug:provider>/", include("amends.portal.public")),
    # ... and the customer's private case page, by its link (amends.portal.casepage).
    path("<slug:provider>/case/", include("amends.portal.casepage")),
]
