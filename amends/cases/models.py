"""Persistence of cases. Workflow lives in services.py; these models only store and constrain."""

from __future__ import annotations

from typing import Any

from django.db import models

from amends.domain.codes import CaseKind, ChannelType
from amends.domain.lifecycle import State
from amends.domain.obligations import DueAction, ObligationStatus

KIND_CHOICES = [(k.value, k.label) for k in CaseKind]
CHANNEL_CHOICES = [(c.value, c.label) for c in ChannelType]
STATE_CHOICES = [(s.value, s.label) for s in State]


class CustomerType(models.TextChoices):
    DOMESTIC = "domestic", "Domestic"
    SMALL_BUSINESS = "small_business", "Small business"
    NOT_FOR_PROFIT = "not_for_profit", "Not-for-profit"
    OTHER_BUSINESS = "other_business", "Business (more than 10 working individuals)"


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
        max_length=20, choices=CustomerType.choices, default=CustomerType.SMALL_BUSINESS
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
        ordering = ["provider", "contact_name"]
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

    # Facts the clocks and guards need, each written by the service with its Event.
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    handler_introduced_at = models.DateTimeField(null=True, blank=True)
    first_contact_at = models.DateTimeField(null=True, blank=True)
    updates_agreed_at = models.DateTimeField(null=True, blank=True)
    update_interval = models.CharField(max_length=30, blank=True)
    resolution_proposed_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    acceptance_by = models.CharField(max_length=200, blank=True)
    acceptance_how = models.CharField(max_length=40, blank=True)
    adr_letter_issued_at = models.DateTimeField(null=True, blank=True)
    adr_letter_trigger = models.CharField(max_length=20, blank=True)
    deadlock_at = models.DateTimeField(null=True, blank=True)
    scheme_reference = models.CharField(max_length=60, blank=True)
    referred_at = models.DateTimeField(null=True, blank=True)
    decision_outcome = models.CharField(max_length=40, blank=True)
    decision_remedies = models.TextField(blank=True)
    decision_at = models.DateTimeField(null=True, blank=True)
    decision_accepted_at = models.DateTimeField(null=True, blank=True)
    remedy_done_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    converted_at = models.DateTimeField(null=True, blank=True)

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
        ]
        indexes = [models.Index(fields=["provider", "state"], name="case_provider_state_idx")]

    def __str__(self) -> str:
        return self.reference


class Escalation(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="escalations")
    level = models.PositiveSmallIntegerField()
    at = models.DateTimeField()
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["case", "at"]


class Contact(models.Model):
    """A contact with the customer that a clock counts (an update given)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="contacts")
    kind = models.CharField(max_length=30)
    at = models.DateTimeField()
    channel = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["case", "at"]


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
        ordering = ["provider", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "sequence"], name="event_sequence_unique")
        ]

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

    class Meta:
        ordering = ["case", "due_at"]
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
            )
        ]

    def __str__(self) -> str:
        return f"{self.case_id}:{self.key}"
