from django.db import models


class OutboxStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class OutboxKind(models.TextChoices):
    ADR_LETTER = "adr_letter", "ADR letter"
    ADR_LETTER_COPY = "adr_letter_copy", "Copy of the ADR letter"
    BREACH_NOTICE = "breach_notice", "Breach notice to the handler's manager"


class OutboxMessage(models.Model):
    """A letter or notice to send, written in the same transaction as its cause.

    ``key`` is unique: the effect of one cause (e.g. ``case:17:adr_letter``) is written once,
    whoever tries again and however often; the sender delivers it after commit.
    """

    provider = models.ForeignKey("providers.Provider", on_delete=models.PROTECT)
    case = models.ForeignKey(
        "cases.Case", null=True, on_delete=models.PROTECT, related_name="outbox"
    )
    key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=30, choices=OutboxKind.choices)
    channel = models.CharField(max_length=20)
    payload = models.JSONField(default=dict)
    status = models.CharField(
        max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.QUEUED
    )
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(status="queued"),
                name="outbox_queued_idx",
            )
        ]

    def __str__(self) -> str:
        return self.key
