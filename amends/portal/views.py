from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string

from amends.providers.models import Provider
from amends.providers.selectors import provider_list_for_public


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/home.html", {"providers": provider_list_for_public()})


def brand_css(request: HttpRequest, provider: str) -> HttpResponse:
    """The provider's colour for its public pages (a stylesheet: the CSP allows no inline
    style). An unknown provider gets the default colour, not an error."""
    colour = (
        Provider.objects.filter(slug=provider).values_list("brand_colour", flat=True).first()
        or "#1d4f91"
    )
    response = HttpResponse(f":root {{ --brand: {colour}; }}\n", content_type="text/css")
    response["Cache-Control"] = "public, max-age=300"
    return response


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "portal/404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # No context processors or database here: the error may be the database itself.
    return HttpResponse(render_to_string("portal/500.html"), status=500)
