"""Admin views: for looking, not for workflow. State, events and clocks are read-only here;
only ``case_transition`` changes a case's state (architecture.md, convention 3)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from amends.cases.models import Case, Customer, Event, Obligation


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    list_display = ("reference", "provider", "kind", "state", "first_received_at", "handler")
    list_filter = ("provider", "kind", "state")
    search_fields = ("reference",)


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("provider", "sequence", "case", "actor", "at", "kind")
    list_filter = ("provider", "kind")


@admin.register(Obligation)
class ObligationAdmin(ReadOnlyAdmin):
    list_display = ("case", "key", "due_at", "state", "met_at", "origin", "rule_id")
    list_filter = ("provider", "kind", "state")


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("pk", "provider", "business_name", "account_number", "customer_type")
    list_filter = ("provider", "customer_type")
    search_fields = ("account_number", "business_name")
