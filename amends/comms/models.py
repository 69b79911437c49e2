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
    WEBHOOK_DISABLED = "webhook_disabled", "Alert: a webhook endpoint was disabled"


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


# --------------------------------------------------------------------------- inbound mail


class MailboxKind(models.TextChoices):
    """What a mailbox is for: the kind of case a new message to it opens."""

    COMPLAINTS = "complaints", "Complaints"
    QUERIES = "queries", "Account and sales queries"
    SUPPORT = "support", "Support requests"
    ABUSE = "abuse", "Abuse reports"


class MailboxAuth(models.TextChoices):
    PASSWORD = "password", "Password (from an environment variable)"
    #: XOAUTH2 with a token from Microsoft's identity platform (client credentials, or a
    #: refresh token when one is configured).
    MICROSOFT = "oauth2_microsoft", "OAuth 2.0, Microsoft 365"
    #: XOAUTH2 with a token from Google's OAuth 2.0 endpoint (a refresh token).
    GOOGLE = "oauth2_google", "OAuth 2.0, Google Workspace"


class MailboxSecurity(models.TextChoices):
    SSL = "ssl", "IMAP over TLS (port 993)"
    STARTTLS = "starttls", "IMAP with STARTTLS (port 143)"
    #: Only for a server on the same host or a test server.
    PLAIN = "plain", "Unencrypted (local servers only)"


class Mailbox(models.Model):
    """One of a provider's mailboxes. Secrets are never stored here: ``password_env`` and
    the ``oauth2_*_env`` fields name environment variables that hold them."""

    provider = models.ForeignKey(
        "providers.Provider", on_delete=models.PROTECT, related_name="mailboxes"
    )
    kind = models.CharField(max_length=20, choices=MailboxKind.choices)
    #: The address customers write to (how the pipe routes a message without --provider).
    address = models.EmailField(unique=True)
    active = models.BooleanField(default=True)
    #: Empty: the mailbox is fed by the MTA pipe (``amends mail ingest``), not polled.
    imap_host = models.CharField(max_length=200, blank=True)
    imap_port = models.PositiveIntegerField(default=993)
    imap_security = models.CharField(
        max_length=10, choices=MailboxSecurity.choices, default=MailboxSecurity.SSL
    )
    imap_user = models.CharField(max_length=200, blank=True)
    imap_folder = models.CharField(max_length=200, default="INBOX")
    #: Where a message goes once it is stored (created when missing).
    processed_folder = models.CharField(max_length=200, default="Amends-Processed")
    auth = models.CharField(max_length=20, choices=MailboxAuth.choices, default="password")
    password_env = models.CharField(max_length=100, blank=True)
    oauth2_client_id = models.CharField(max_length=200, blank=True)
    oauth2_client_secret_env = models.CharField(max_length=100, blank=True)
    oauth2_refresh_token_env = models.CharField(max_length=100, blank=True)
    #: Microsoft 365: the directory (tenant) id or domain.
    oauth2_tenant = models.CharField(max_length=200, blank=True)
    #: Overrides the identity platform's token endpoint (tests, sovereign clouds).
    oauth2_token_url = models.URLField(blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        indexes = [models.Index(fields=["provider", "kind"], name="mailbox_provider_kind_idx")]

    def __str__(self) -> str:
        return f"mailbox {self.pk} ({self.kind})"


class InboundStatus(models.TextChoices):
    #: Stored and committed; not yet interpreted (a crash here is picked up again).
    STORED = "stored", "Stored, not yet read"
    #: Landed on an existing case (a reply, by Message-ID or by reference).
    THREADED = "threaded", "Added to its case"
    #: Opened a new case.
    OPENED = "opened", "Opened a case"
    #: An automatic reply (out of office...): linked to its case when known, never answered.
    AUTO_REPLY = "auto_reply", "Automatic reply"
    #: A delivery report about one of our messages (or someone's).
    BOUNCE = "bounce", "Delivery failure report"
    #: Cannot be read or placed: shown to staff with the reason, who may open a case by hand.
    QUARANTINED = "quarantined", "Quarantined"


class InboundMessage(models.Model):
    """One email received, stored before anything reads it (the raw bytes are the
    evidence), then interpreted. A message is stored once: the same Message-ID for a provider,
    or the same bytes when it has none (the partial unique constraints below)."""

    provider = models.ForeignKey(
        "providers.Provider", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    mailbox = models.ForeignKey(
        Mailbox, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    #: The kind of mailbox it came to (the mailbox's, or the pipe's ``--mailbox``).
    mailbox_kind = models.CharField(max_length=20, choices=MailboxKind.choices)
    #: What a message is deduplicated within: ``provider:<id>``, or ``unrouted``.
    scope = models.CharField(max_length=40)
    #: ``pipe`` (the MTA), ``imap`` (the poller), ``file`` (a test or a replay).
    source = models.CharField(max_length=10)
    raw = models.FileField(upload_to="mail/raw/%Y/%m/", max_length=200)
    raw_sha256 = models.CharField(max_length=64)
    raw_size = models.PositiveBigIntegerField()
    message_id = models.CharField(max_length=255, blank=True)
    #: When Amends stored it.
    stored_at = models.DateTimeField()
    #: When the receiving mail server took it (topmost Received header, or the IMAP server's
    #: internal date, or when it was stored): the case's first receipt for a new case.
    arrived_at = models.DateTimeField()
    status = models.CharField(
        max_length=12, choices=InboundStatus.choices, default=InboundStatus.STORED
    )
    processed_at = models.DateTimeField(null=True, blank=True)
    #: Interpretation that failed for a passing reason (the database) and will be retried.
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    quarantine_reason = models.CharField(max_length=300, blank=True)

    # What was read (for staff; the raw message is the record).
    from_address = models.CharField(max_length=254, blank=True)
    from_name = models.CharField(max_length=200, blank=True)
    subject = models.CharField(max_length=500, blank=True)
    #: What the sender wrote this time (quoted text stripped); the whole text is in ``text``.
    display_text = models.TextField(blank=True)
    text = models.TextField(blank=True)
    #: The HTML part, sanitised.
    html = models.TextField(blank=True)
    in_reply_to = models.JSONField(default=list, blank=True)
    references = models.JSONField(default=list, blank=True)
    defects = models.JSONField(default=list, blank=True)
    #: Why it is automatic (RFC 3834 header, out-of-office subject, null sender), or "".
    auto_reply_reason = models.CharField(max_length=200, blank=True)
    #: For a delivery report: what it says (action, status, recipient, diagnostic).
    bounce = models.JSONField(default=dict, blank=True)

    # Where it went, and why.
    case = models.ForeignKey(
        "cases.Case",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="inbound_messages",
    )
    customer = models.ForeignKey(
        "cases.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    #: The message of ours it answers or reports on.
    outbox = models.ForeignKey(
        OutboxMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="replies"
    )
    #: How it found its case: ``in_reply_to``, ``references``, ``subject_reference``, ``new``.
    threaded_by = models.CharField(max_length=30, blank=True)
    #: A reference in the subject that was not trusted, and why (shown to staff).
    reference_note = models.CharField(max_length=300, blank=True)
    #: The case a mistyped reference probably meant (same prefix, year and serial): for
    #: staff to merge, never used by Amends.
    suggested_case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    #: The dissatisfaction rules that matched: ``[{"rule": ..., "words": ...}]``.
    triggers = models.JSONField(default=list, blank=True)
    #: True when it opened or turned its case into a complaint because of ``triggers``
    #: (staff may reclassify the case, with a reason, through the case's services).
    recognised_as_complaint = models.BooleanField(default=False)

    class Meta:
        ordering = ["-stored_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "message_id"],
                condition=~models.Q(message_id=""),
                name="inbound_once_per_message_id",
            ),
            models.UniqueConstraint(
                fields=["scope", "raw_sha256"],
                condition=models.Q(message_id=""),
                name="inbound_once_per_bytes_without_id",
            ),
        ]
        indexes = [
            models.Index(
                fields=["stored_at"],
                condition=models.Q(status="stored"),
                name="inbound_pending_idx",
            ),
            models.Index(fields=["provider", "status"], name="inbound_provider_status_idx"),
            models.Index(fields=["message_id"], name="inbound_message_id_idx"),
        ]

    def __str__(self) -> str:
        return f"inbound {self.pk}"


class InboundAttachment(models.Model):
    """An attachment of an inbound message: kept (``file``) or refused with the reason, and
    always listed."""

    message = models.ForeignKey(
        InboundMessage, on_delete=models.CASCADE, related_name="attachments"
    )
    position = models.PositiveSmallIntegerField()
    filename = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64, blank=True)
    file = models.FileField(upload_to="mail/attachments/%Y/%m/", max_length=200, blank=True)
    refused = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["message", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["message", "position"], name="inbound_attachment_position_unique"
            )
        ]

    def __str__(self) -> str:
        return f"attachment {self.pk}"


# --------------------------------------------------------------------------- webhooks


class WebhookType(models.TextChoices):
    """The event types a provider's systems can subscribe to (``amends.comms.webhooks`` says
    which audit events make which)."""

    CASE_OPENED = "case.opened", "Case opened"
    CASE_STATE_CHANGED = "case.state_changed", "Case state changed"
    CLOCK_BREACHED = "clock.breached", "Clock breached"
    ADR_LETTER_ISSUED = "adr_letter.issued", "ADR letter issued"
    MESSAGE_RECEIVED = "message.received", "Message received"
    COMPENSATION_RECORDED = "compensation.recorded", "Compensation recorded"


class WebhookEndpoint(models.Model):
    """Where a provider wants its events sent, signed with its own secret (Standard Webhooks).

    The secret (``whsec_`` and base64) is kept to sign each delivery; it is shown to the
    provider's administrator when the endpoint is made."""

    provider = models.ForeignKey(
        "providers.Provider", on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    types = models.JSONField(default=list)
    secret = models.CharField(max_length=100)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=100, blank=True)
    #: Set when a delivery failed for a day of retries (or by hand): no event is routed to it
    #: until it is enabled again.
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    #: Removed by the provider: kept for its delivery log, never sent to again.
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["provider", "id"]

    def __str__(self) -> str:
        return f"webhook endpoint {self.pk} of {self.provider_id}"


class WebhookStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENT = "sent", "Delivered"
    #: Given up (a day of retries, the endpoint disabled or removed): replay sends it again.
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One event owed to one endpoint: written in the transaction of its cause, with the body
    that is sent (the evidence), sent by the worker in order per case, retried with back-off
    for a day."""

    provider = models.ForeignKey("providers.Provider", on_delete=models.CASCADE)
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    #: The audit event that caused it (its sequence in the provider's chain).
    event_sequence = models.PositiveBigIntegerField()
    type = models.CharField(max_length=40, choices=WebhookType.choices)
    #: The ``webhook-id`` header: the same on every attempt (receivers de-duplicate by it).
    msg_id = models.CharField(max_length=60, unique=True)
    #: The JSON body sent, byte for byte.
    body = models.TextField()
    created_at = models.DateTimeField()
    status = models.CharField(
        max_length=10, choices=WebhookStatus.choices, default=WebhookStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    #: The receiver's HTTP status on the last attempt (none: no answer).
    last_status = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    #: A replay is a new delivery of the same event (a new ``webhook-id``).
    replay_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replays"
    )

    class Meta:
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="webhook_due_idx",
            ),
            models.Index(
                fields=["endpoint", "case", "id"],
                condition=models.Q(status="pending"),
                name="webhook_pending_order_idx",
            ),
            models.Index(fields=["endpoint", "-id"], name="webhook_log_idx"),
        ]

    def __str__(self) -> str:
        return self.msg_id
