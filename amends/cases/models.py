"""Persistence of cases. Workflow lives in services.py; these models only store and constrain."""

from __future__ import annotations

from typing import Any

from django.db import models

from amends.domain.codes import CaseKind, ChannelType, CustomerType
from amends.domain.lifecycle import State
from amends.domain.obligations import DueAction, ObligationStatus

KIND_CHOICES = [(k.value, k.label) for k in CaseKind]
CHANNEL_CHOICES = [(c.value, c.label) for c in ChannelType]
STATE_CHOICES = [(s.value, s.label) for s in State]


class PreferredContact(models.TextChoices):
    EMAIL = "email", "Email"
    LETTER = "letter", "Letter"
    PHONE = "phone", "Phone"


class AccessNeed(models.TextChoices):
    LARGE_PRINT = "large_print", "Large print"
    BRAILLE = "braille", "Braille"
    AUDIO = "audio", "Audio"
    RELAY_UK = "relay_uk", "Relay UK (text relay)"
    BSL = "bsl", "British Sign Language"
    OTHER_LANGUAGE = "other_language", "Another language"


class Customer(models.Model):
    """A provider's customer. Never shared across providers: every query filters by provider."""

    provider = models.ForeignKey("providers.Provider", on_delete=models.PROTECT)
    customer_type = models.CharField(
        max_length=20, choices=CustomerType.choices(), default=CustomerType.SMALL_BUSINESS.value
    )
    business_name = models.CharField(max_length=200, blank=True)
    account_number = models.CharField(max_length=50, blank=True)
    contact_name = models.CharField(max_length=200)
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    postal_address = models.TextField(blank=True)
    #: Working individuals (employees, contractors, volunteers) for ADR eligibility (<= 10).
    employees = models.PositiveIntegerField(null=True, blank=True)
    preferred_contact = models.CharField(
        max_length=10, choices=PreferredContact.choices, default=PreferredContact.EMAIL
    )
    access_needs = models.JSONField(default=list, blank=True)
    other_language = models.CharField(max_length=60, blank=True)
    #: Kept only with the customer's consent (GC C5; data protection): see the check constraint.
    vulnerability_note = models.TextField(blank=True)
    vulnerability_consent_at = models.DateTimeField(null=True, blank=True)
    representative_name = models.CharField(max_length=200, blank=True)
    representative_contact = models.CharField(max_length=200, blank=True)
    representative_authorised_at = models.DateTimeField(null=True, blank=True)
    support_contract = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["contact_name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(vulnerability_note="")
                | models.Q(vulnerability_consent_at__isnull=False),
                name="vulnerability_note_needs_consent",
            ),
            models.UniqueConstraint(
                fields=["provider", "account_number"],
                condition=~models.Q(account_number=""),
                name="customer_account_unique_per_provider",
            ),
        ]

    def __str__(self) -> str:
        return f"customer {self.pk}"


class Case(models.Model):
    provider = models.ForeignKey("providers.Provider", on_delete=models.PROTECT)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="cases")
    code_version = models.ForeignKey("providers.CodeVersion", on_delete=models.PROTECT)
    reference = models.CharField(max_length=24)
    kind = models.CharField(max_length=20, choices=KIND_CHOICES)
    state = models.CharField(max_length=24, choices=STATE_CHOICES, default=State.RECEIVED.value)
    channel = models.CharField(max_length=20, choices=CHANNEL_CHOICES)
    #: When the provider first heard of it, on any channel. Never reset.
    first_received_at = models.DateTimeField()
    first_received_note = models.CharField(max_length=300, blank=True)
    entered_at = models.DateTimeField()
    summary = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    category = models.CharField(max_length=60, blank=True)
    handler = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="cases"
    )
    escalation_level = models.PositiveSmallIntegerField(default=0)
    support_contract = models.BooleanField(default=False)
    #: The approved ADR scheme the provider belonged to when the case was opened, by registry
    #: id: an admin edit of the provider never moves an open case's remedy deadline.
    adr_scheme = models.CharField(max_length=40, blank=True)
    #: Bumped by every write: a stale page or API client (If-Match) cannot overwrite a newer
    #: state.
    version = models.PositiveIntegerField(default=1)

    # Facts the clocks and guards need, each written by the service with its Event.
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    handler_introduced_at = models.DateTimeField(null=True, blank=True)
    first_contact_at = models.DateTimeField(null=True, blank=True)
    updates_agreed_at = models.DateTimeField(null=True, blank=True)
    update_interval = models.CharField(max_length=30, blank=True)
    #: The facts the clocks count from, kept with the case so that a transition reads them in
    #: the one statement that locks it (constant in the case's history):
    #: ``update_history`` the instants updates were given; ``escalation_history`` one entry per
    #: escalation ``{"level", "at", "reviewed_at"}``; ``clocks`` the stored obligations as
    #: ``{key: [state, due_at, met_at]}`` (a mirror of the Obligation rows, written with them).
    update_history = models.JSONField(default=list, blank=True)
    escalation_history = models.JSONField(default=list, blank=True)
    clocks = models.JSONField(default=dict, blank=True)
    resolution_proposed_at = models.DateTimeField(null=True, blank=True)
    resolution_proposal = models.TextField(blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    acceptance_by = models.CharField(max_length=200, blank=True)
    acceptance_how = models.CharField(max_length=40, blank=True)
    adr_letter_issued_at = models.DateTimeField(null=True, blank=True)
    adr_letter_trigger = models.CharField(max_length=20, blank=True)
    #: The date of issue the first ADR letter bears, from which the customer's 12 months run
    #: and which meets the ADR clock: its issue when it goes by email (or as a call task),
    #: its posting when it goes by post (empty until a person marks it posted).
    adr_letter_dated_at = models.DateTimeField(null=True, blank=True)
    deadlock_at = models.DateTimeField(null=True, blank=True)
    final_position = models.TextField(blank=True)
    #: An offer that stays open to the customer after deadlock (the ADR letter says so).
    final_offer = models.TextField(blank=True)
    scheme_reference = models.CharField(max_length=60, blank=True)
    referred_at = models.DateTimeField(null=True, blank=True)
    decision_outcome = models.CharField(max_length=40, blank=True)
    decision_remedies = models.TextField(blank=True)
    decision_at = models.DateTimeField(null=True, blank=True)
    decision_accepted_at = models.DateTimeField(null=True, blank=True)
    remedy_done_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    #: A withdrawal is the customer's: who asked and how, like an acceptance.
    withdrawal_by = models.CharField(max_length=200, blank=True)
    withdrawal_how = models.CharField(max_length=40, blank=True)
    converted_at = models.DateTimeField(null=True, blank=True)
    #: The case this duplicate was merged into (its state is then "merged").
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_cases"
    )
    merged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-first_received_at"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "reference"], name="case_reference_unique"),
            models.CheckConstraint(
                condition=~models.Q(state__in=["closed"], kind="complaint")
                | models.Q(resolved_at__isnull=False)
                | models.Q(adr_letter_issued_at__isnull=False),
                name="complaint_closed_only_with_acceptance_or_adr_letter",
            ),
            models.CheckConstraint(
                condition=models.Q(first_received_at__lte=models.F("entered_at")),
                name="first_received_not_after_entry",
            ),
            models.CheckConstraint(
                condition=~models.Q(state="withdrawn")
                | (~models.Q(withdrawal_by="") & ~models.Q(withdrawal_how="")),
                name="withdrawn_only_with_who_and_how",
            ),
        ]
        indexes = [models.Index(fields=["provider", "state"], name="case_provider_state_idx")]

    def __str__(self) -> str:
        return self.reference


class AppendOnlyError(Exception):
    pass


class Event(models.Model):
    """One change, append-only and hash-chained per provider (see amends.domain.audit)."""

    provider = models.ForeignKey("providers.Provider", on_delete=models.PROTECT)
    sequence = models.PositiveBigIntegerField()
    case = models.ForeignKey(Case, null=True, on_delete=models.PROTECT, related_name="events")
    actor = models.CharField(max_length=100)
    at = models.DateTimeField()
    kind = models.CharField(max_length=40)
    data = models.JSONField(default=dict)
    previous_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        # Not unique: the ledger row serialises appends, and a row forged into the table at
        # the next sequence must not block every later write of the provider; ``audit
        # verify`` names it (its seal is not ours). Append-only is enforced by triggers.
        indexes = [models.Index(fields=["provider", "sequence"], name="event_sequence_idx")]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError("events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError("events are append-only")

    def __str__(self) -> str:
        return f"event {self.provider_id}/{self.sequence} {self.kind}"


OBLIGATION_STATE_CHOICES = [(s.value, s.value.title()) for s in ObligationStatus]
ACTION_CHOICES = [(a.value, a.value.replace("_", " ")) for a in DueAction]


class Obligation(models.Model):
    """One clock of a case: what is owed, by when, and what became of it."""

    provider = models.ForeignKey("providers.Provider", on_delete=models.PROTECT)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="obligations")
    key = models.CharField(max_length=120)
    kind = models.CharField(max_length=30)
    due_at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=OBLIGATION_STATE_CHOICES)
    met_at = models.DateTimeField(null=True, blank=True)
    origin = models.CharField(max_length=10)
    rule_id = models.CharField(max_length=40, blank=True)
    source = models.CharField(max_length=300, blank=True)
    action = models.CharField(max_length=20, choices=ACTION_CHOICES)
    acted_at = models.DateTimeField(null=True, blank=True)
    #: The worker's failed attempts at this row: it backs off and carries on with others.
    attempts = models.PositiveIntegerField(default=0)
    retry_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "key"], name="obligation_key_unique")
        ]
        indexes = [
            # The worker's only read: pending obligations in due order. Partial, so its size
            # is the number pending, and a sweep reads only those already due.
            models.Index(
                fields=["due_at"],
                condition=models.Q(state="pending"),
                name="obligation_pending_due_idx",
            ),
            # A case's next pending clock (the console's queues sort by it): one probe.
            models.Index(
                fields=["case", "due_at"],
                condition=models.Q(state="pending"),
                name="obligation_case_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id}:{self.key}"


class CaseLink(models.Model):
    """A customer's private link to one case: a long random token, stored only as its hash,
    expiring, revocable. Whoever holds the token sees that case and nothing else."""

    provider = models.ForeignKey("providers.Provider", on_delete=models.PROTECT)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="links")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"link {self.pk} of case {self.case_id}"


class CompensationForm(models.TextChoices):
    INVOICE_CREDIT = "invoice_credit", "Credit to the customer's invoice"
    AS_AGREED = "as_agreed", "Paid as agreed with the customer"


class CompensationBasis(models.TextChoices):
    GOODWILL = "goodwill", "Goodwill"
    AUTOMATIC = "automatic", "Ofcom automatic compensation"
    SCHEME_AWARD = "scheme_award", "Awarded by the ADR scheme"


class Compensation(models.Model):
    """Money owed to a customer on a case, and when it reached their invoice.

    ISS's code pays "a credit to your monthly invoice or otherwise as agreed": a credit is
    recorded here with its Event, and billing marks it applied (the API's billing loop).
    """

    provider = models.ForeignKey("providers.Provider", on_delete=models.PROTECT)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="compensation")
    amount_pence = models.PositiveIntegerField()
    reason = models.CharField(max_length=300)
    form = models.CharField(max_length=20, choices=CompensationForm.choices)
    basis = models.CharField(max_length=20, choices=CompensationBasis.choices)
    #: For automatic compensation: the rule in force on the event date and its source.
    rule_id = models.CharField(max_length=40, blank=True)
    recorded_at = models.DateTimeField()
    recorded_by = models.CharField(max_length=100)
    applied_at = models.DateTimeField(null=True, blank=True)
    invoice_reference = models.CharField(max_length=60, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount_pence__gt=0), name="compensation_amount_positive"
            )
        ]
        indexes = [
            models.Index(
                fields=["provider", "recorded_at"],
                condition=models.Q(applied_at__isnull=True),
                name="compensation_unapplied_idx",
            )
        ]

    def __str__(self) -> str:
        return f"compensation {self.pk} on case {self.case_id}"
