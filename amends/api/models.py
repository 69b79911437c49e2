"""What the API keeps of its own: the answers to requests made with an Idempotency-Key."""

from django.db import models


class IdempotencyKey(models.Model):
    """A POST made with an ``Idempotency-Key``: its first successful answer, replayed to any
    retry with the same key and the same request for a day (a refusal is not kept: the client
    may correct it and try again with the same key).

    The row is written in the transaction of the request's work, so two identical requests
    at once make one effect: the second waits for the first's row and replays its answer."""

    provider = models.ForeignKey("providers.Provider", on_delete=models.CASCADE)
    key = models.CharField(max_length=200)
    #: ``POST /api/v1/cases`` and the SHA-256 of the body: the same key with another request
    #: is refused.
    request_hash = models.CharField(max_length=64)
    method_path = models.CharField(max_length=300)
    status = models.PositiveSmallIntegerField()
    response = models.TextField()
    headers = models.JSONField(default=dict)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "key"], name="idempotency_key_once")
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return f"idempotency key {self.pk}"
