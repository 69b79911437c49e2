"""The outbox: every message Amends owes someone, written in the transaction of its cause.

A row is the evidence of what was sent: its recipient and address as they were when it was
written (a later change of address never rewrites history), the channel, the rendered document
and its digest, a stable Message-ID (a retry is recognisably the same message), and each
delivery attempt's outcome. The worker delivers after commit; ``key`` is unique, so the effect
of one cause is written once, whoever tries again and however often.
"""

from django.db import models


class OutboxStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    #: An attempt failed; the worker tries again at ``next_attempt_at``.
    FAILED = "failed", "Failed, will retry"
    #: Given up after the last attempt: shown to staff, who resend or reach the person another
    #: way.
    DEAD = "dead", "Not delivered"


class OutboxKind(models.TextChoices):
    ACKNOWLEDGEMENT = "acknowledgement", "Acknowledgement"
    HANDLER_INTRODUCTION = "handler_introduction", "Introduction of the case handler"
    PROGRESS_UPDATE = "progress_update", "Progress update"
    ESCALATION_ACKNOWLEDGEMENT = "escalation_acknowledgement", "Escalation acknowledged"
    PROPOSED_RESOLUTION = "proposed_resolution", "Proposed resolution"
    FINAL_RESPONSE = "final_response", "Final response"
    CLOSURE = "closure", "Closure"
    QUERY_REPLY = "query_reply", "Reply to a query, support request or abuse report"
    REPLY = "reply", "A reply written by staff"
    ADR_LETTER = "adr_letter", "ADR letter"
    ADR_LETTER_COPY = "adr_letter_copy", "Copy of the ADR letter"
    BREACH_NOTICE = "breach_notice", "Breach notice to the handler's manager"
    WORKER_ALERT = "worker_alert", "Alert: the worker cannot process an item"
    CASE_LINK = "case_link", "The customer's private case link"


class OutboxChannel(models.TextChoices):
    """How a message reaches its recipient."""

    EMAIL = "email", "Email"
    POST = "post", "Letter by post"
    #: A call task for staff, with its script: the clock is met when the call is logged.
    PHONE = "phone", "Phone call (task for staff)"
    #: To a member of staff (breach notices, alerts): never through the customer's channel.
    STAFF = "staff", "To staff"


class Audience(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    STAFF = "staff", "Staff"


class OutboxMessage(models.Model):
    provider = models.ForeignKey("providers.Provider", on_delete=models.PROTECT)
    case = models.ForeignKey(
        "cases.Case", null=True, on_delete=models.PROTECT, related_name="outbox"
    )
    key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=30, choices=OutboxKind.choices)
    audience = models.CharField(max_length=10, choices=Audience.choices)
    channel = models.CharField(max_length=20, choices=OutboxChannel.choices)
    #: Snapshot of the recipient when the row was written.
    recipient_user = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recipient_name = models.CharField(max_length=200, blank=True)
    #: An email address, a postal address (lines), or a phone number, by channel.
    recipient_address = models.TextField(blank=True)
    #: The customer's format needs when it was written (e.g. ["large_print"]).
    formats = models.JSONField(default=list, blank=True)
    payload = models.JSONField(default=dict)
    #: The rendered document: what was sent is what the compliance lead can show.
    subject = models.CharField(max_length=300)
    body_text = models.TextField()
    body_sha256 = models.CharField(max_length=64)
    message_id = models.CharField(max_length=200, unique=True)
    status = models.CharField(
        max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.QUEUED
    )
    created_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.CharField(max_length=300, blank=True)
    #: When it reached the person: an email accepted by the SMTP server, a letter marked
    #: posted (the posting date is the letter's date of issue for the clocks and the 12-month
    #: limit), a call task completed by logging the call.
    sent_at = models.DateTimeField(null=True, blank=True)
    #: Who delivered it by hand (posted the letter, made the call): ``user:<id>``.
    delivered_by = models.CharField(max_length=100, blank=True)
    #: The case fact this message satisfies once delivered (``acknowledge``,
    #: ``introduce_handler``, ``update``...): the clock is met by delivery, not by writing.
    meets = models.CharField(max_length=30, blank=True)
    #: The HTML part of an email (the text part is ``body_text``).
    body_html = models.TextField(blank=True)
    #: The printed letter (PDF), stored through Django's storage API, and its digest.
    document = models.FileField(upload_to="letters/%Y/%m/", blank=True)
    document_sha256 = models.CharField(max_length=64, blank=True)
    #: Staff who wrote the message (a reply), or empty for Amends' own.
    written_by = models.CharField(max_length=100, blank=True)

    class Meta:
        indexes = [
            # The sender's only read: what is due to be tried, in order.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status__in=["queued", "failed"]),
                name="outbox_due_idx",
            ),
            models.Index(fields=["case", "kind"], name="outbox_case_kind_idx"),
        ]

    def __str__(self) -> str:
        return self.key
