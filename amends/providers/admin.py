"""Admin views: for looking, not for workflow, and scoped to the user's own provider.

A superuser sees every provider. A provider's administrator or compliance lead (staff users
with ``is_staff``) sees that provider's rows read-only, and nothing of any other provider:
another provider's row answers "not found", like everywhere else. Every other role, and any
user who is not staff of a provider, has no admin at all.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from amends.domain.access import Role
from amends.providers.models import CodeVersion, Provider, StaffMember

ADMIN_ROLES = frozenset({Role.ADMIN.value, Role.COMPLIANCE.value})


def admin_member(request: HttpRequest) -> StaffMember | None:
    """The provider staff member behind an admin request, if their role may use the admin."""
    user = request.user
    if not user.is_authenticated or not user.is_staff:
        return None
    if hasattr(request, "_amends_admin_member"):
        cached: StaffMember | None = request._amends_admin_member
        return cached
    member = StaffMember.objects.filter(user_id=user.pk, role__in=ADMIN_ROLES).first()
    request._amends_admin_member = member  # type: ignore[attr-defined]
    return member


class ProviderScopedAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Rows of the user's provider only (superusers: all), read-only for provider staff."""

    #: The lookup from the model to its provider's id.
    provider_lookup = "provider_id"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        rows = super().get_queryset(request)
        if request.user.is_superuser:
            return rows
        member = admin_member(request)
        if member is None:
            return rows.none()
        return rows.filter(**{self.provider_lookup: member.provider_id})

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser or admin_member(request) is not None)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if request.user.is_superuser:
            return True
        return admin_member(request) is not None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser) and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser) and super().has_delete_permission(request, obj)


@admin.register(Provider)
class ProviderAdmin(ProviderScopedAdmin):
    provider_lookup = "pk"
    list_display = ["name", "slug", "nation", "created_at"]
    search_fields = ["name", "slug"]
    readonly_fields = ["created_at"]


@admin.register(StaffMember)
class StaffMemberAdmin(ProviderScopedAdmin):
    list_display = ["user", "provider", "role", "manager"]
    list_filter = ["role"]


@admin.register(CodeVersion)
class CodeVersionAdmin(ProviderScopedAdmin):
    """Versions are activated with their content and hash; never edited afterwards."""

    list_display = ["provider", "version", "effective_from", "activated_at", "activated_by"]

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
