"""Admin views: for looking, not for workflow. State, events and clocks are read-only here;
only the typed services of ``amends.cases.actions`` change a case (architecture.md,
convention 3). Every view is scoped to the user's provider (``ProviderScopedAdmin``)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from amends.cases.models import Case, Compensation, Customer, Event, Obligation
from amends.comms.models import OutboxMessage
from amends.providers.admin import ProviderScopedAdmin


class ReadOnlyAdmin(ProviderScopedAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    list_display = ("reference", "provider", "kind", "state", "first_received_at", "handler")
    list_filter = ("kind", "state")
    search_fields = ("reference",)


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("provider", "sequence", "case", "actor", "at", "kind")
    list_filter = ("kind",)


@admin.register(Obligation)
class ObligationAdmin(ReadOnlyAdmin):
    list_display = ("case", "key", "due_at", "state", "met_at", "origin", "rule_id", "attempts")
    list_filter = ("kind", "state")


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    """Customers are created and changed through the services (their fields are checked)."""

    list_display = ("pk", "provider", "business_name", "account_number", "customer_type")
    list_filter = ("customer_type",)
    search_fields = ("account_number", "business_name")


@admin.register(Compensation)
class CompensationAdmin(ReadOnlyAdmin):
    list_display = ("case", "amount_pence", "form", "basis", "recorded_at", "applied_at")


@admin.register(OutboxMessage)
class OutboxAdmin(ReadOnlyAdmin):
    list_display = ("key", "kind", "channel", "status", "created_at", "attempts", "sent_at")
    list_filter = ("kind", "channel", "status")
