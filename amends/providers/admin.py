from django.contrib import admin
from django.http import HttpRequest

from amends.providers.models import CodeVersion, Provider, StaffMember


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin[Provider]):
    list_display = ["name", "slug", "nation", "created_at"]
    search_fields = ["name", "slug"]
    readonly_fields = ["created_at"]


@admin.register(StaffMember)
class StaffMemberAdmin(admin.ModelAdmin[StaffMember]):
    list_display = ["user", "provider", "role", "manager"]
    list_filter = ["provider", "role"]


@admin.register(CodeVersion)
class CodeVersionAdmin(admin.ModelAdmin[CodeVersion]):
    """Versions are activated with their content and hash; never edited afterwards."""

    list_display = ["provider", "version", "effective_from", "activated_at", "activated_by"]
    list_filter = ["provider"]

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
