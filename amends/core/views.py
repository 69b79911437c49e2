"""Operational endpoints."""

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from amends.core.selectors import health_report


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers and no migration is pending, 503 otherwise."""
    healthy, report = health_report(now=timezone.now())
    return JsonResponse(report, status=200 if healthy else 503)
