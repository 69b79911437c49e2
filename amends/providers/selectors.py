from django.db.models import QuerySet

from amends.providers.models import Provider


def provider_list_for_public() -> QuerySet[Provider]:
    """The providers this instance serves, as shown on the public home page."""
    return Provider.objects.order_by("name").only("slug", "name", "legal_name", "nation")
