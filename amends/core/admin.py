from django.contrib import admin

from amends.core.models import WorkerHeartbeat


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin[WorkerHeartbeat]):
    fields = ("worker_id", "hostname", "pid", "started_at", "beat_at", "stopped_at")
    list_display = ("worker_id", "hostname", "pid", "started_at", "beat_at", "stopped_at")
    readonly_fields = fields

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
