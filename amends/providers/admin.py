from django.contrib import admin

from amends.providers.models import Provider


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin[Provider]):
    list_display = ["name", "slug", "nation", "created_at"]
    search_fields = ["name", "slug"]
    readonly_fields = ["created_at"]
