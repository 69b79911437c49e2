"""One typed service per action: the only writers of customers, cases and their clocks.

Every service is keyword-only, takes the :class:`~amends.cases.actors.Actor` doing it and
``now`` from its caller, checks the role table (``amends.domain.access``) and the input at the
boundary (:class:`~amends.cases.errors.CaseError` naming the field), and does its work in one
transaction through :class:`~amends.cases.writes.CaseWrite`: the change, its Event, the
re-derived clocks and any outbox row. ``at`` is when something happened (a call logged
afterwards), never in the future nor before the case was first received; ``now`` is when it
is recorded. ``expected_version`` (the version the caller's page or API client read) refuses
a write over a newer state.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction

from amends.cases import validation as v
from amends.cases.actors import Actor
from amends.cases.clocks import cancel_pending, reconcile, upsert
from amends.cases.errors import CaseError, ErrorCode
from amends.cases.events import Chain, EventKind
from amends.cases.models import (
    AccessNeed,
    Case,
    CaseLink,
    Compensation,
    CompensationBasis,
    CompensationForm,
    Customer,
    PreferredContact,
)
from amends.cases.writes import (
    AdrTrigger,
    CaseWrite,
    Record,
    close_open_review,
    convert_facts,
    escalate_facts,
    issue_adr_letter,
    lock_case,
    not_found,
    reopen_facts,
    request_adr_letter,
    send_copy,
    transition,
    uk_date,
)
from amends.comms.models import OutboxKind
from amends.comms.outbox import Outbox, customer_recipient
from amends.core.inserts import insert, pipelined
from amends.domain.access import ActorKind, Permission, Work
from amends.domain.codes import (
    CaseFacts,
    CaseKind,
    ChannelType,
    Code,
    CustomerType,
    Duration,
    ObligationKind,
)
from amends.domain.lifecycle import OPEN_STATES, TERMINAL_STATES, Action, State
from amends.domain.obligations import LONDON
from amends.domain.reference import make_reference
from amends.providers.models import CaseCounter, Provider, StaffMember
from amends.providers.services import code_of, code_version_and_head

log = logging.getLogger("amends.cases")

#: The roles that can own a case (the compliance lead and administrators do not handle cases).
HANDLING_ROLES = ("adviser", "case_handler", "manager", "director")
#: How a customer told us something (acceptance, withdrawal, a request).
#: How long a customer's private case link works (a new one can be sent at any time).
LINK_LIFETIME = timedelta(days=90)
CONTACT_METHODS = ("phone", "email", "letter", "web_form", "portal", "in_person", "textphone")
#: The longest update interval that can be agreed (a customer who wants to hear less often
#: than every 12 weeks is not being kept informed).
MAX_UPDATE_INTERVAL = Duration.parse("12 weeks")


# --------------------------------------------------------------------------- the runner


def _now(now: datetime) -> datetime:
    return v.instant(now, field="now", label="The time recorded")


def _run(
    *,
    case_id: int,
    actor: Actor,
    now: datetime,
    permission: Permission,
    expected_version: int | None,
    body: Callable[[CaseWrite], None],
    merged_too: bool = False,
) -> Case:
    actor.require(permission)
    now = _now(now)
    with transaction.atomic():
        case = lock_case(case_id, actor)
        if case is None:
            raise not_found()
        if now < case.entered_at:
            raise v.invalid(
                "now",
                "Nothing can be recorded on a case before it was entered "
                f"({case.entered_at.isoformat(timespec='minutes')}).",
            )
        if expected_version is not None and case.version != expected_version:
            raise stale()
        if case.merged_into_id is not None and not merged_too:
            into = Case.objects.filter(pk=case.merged_into_id).values_list("reference", flat=True)
            raise CaseError(
                f"This case was merged into {into.first() or 'another case'}: act on that one.",
                code=ErrorCode.REFUSED,
            )
        write = CaseWrite(case, actor, now)
        body(write)
        return write.finish()


def stale() -> CaseError:
    """A page or client that read an older version of the case: refused, never overwritten."""
    return CaseError(
        "Someone else changed this case since you opened it; reload it and try again.",
        code=ErrorCode.CONFLICT,
    )


def _when(w: CaseWrite, at: datetime | None) -> datetime:
    if at is None:
        return w.now
    if w.actor.kind is ActorKind.CUSTOMER:
        raise v.invalid("at", "What a customer does is recorded when they do it.")
    return v.happened(
        at,
        field="at",
        label="When it happened",
        now=w.now,
        not_before=w.case.first_received_at,
    )


def _how(value: object, field: str = "how") -> str:
    how = v.text(value, field=field, label="How the customer told us", max_length=40, required=True)
    if how not in CONTACT_METHODS:
        raise v.invalid(
            field, f"How the customer told us must be one of: {', '.join(CONTACT_METHODS)}."
        )
    return how


def _simple(
    action: Action,
    *,
    case_id: int,
    actor: Actor,
    now: datetime,
    at: datetime | None,
    expected_version: int | None,
    record: Callable[[datetime], Record | None] = lambda at: None,
    then: Callable[[CaseWrite], None] | None = None,
) -> Case:
    def body(w: CaseWrite) -> None:
        when = _when(w, at)
        transition(w, action, at=when, record=record(when))
        if then is not None:
            then(w)

    return _run(
        case_id=case_id,
        actor=actor,
        now=now,
        permission=action,
        expected_version=expected_version,
        body=body,
    )


# --------------------------------------------------------------------------- customers


def customer_create(
    *,
    provider: Provider,
    now: datetime,
    contact_name: str,
    customer_type: CustomerType | str = CustomerType.SMALL_BUSINESS,
    business_name: str = "",
    account_number: str = "",
    phone: str = "",
    email: str = "",
    postal_address: str = "",
    employees: int | None = None,
    preferred_contact: str = PreferredContact.EMAIL,
    access_needs: Iterable[str] = (),
    other_language: str = "",
    vulnerability_note: str = "",
    vulnerability_consent_at: datetime | None = None,
    representative_name: str = "",
    representative_contact: str = "",
    support_contract: bool = False,
    _savepoint: bool = True,
) -> Customer:
    """A provider's customer (every field checked; an account number is unique per provider)."""
    now = _now(now)
    fields: dict[str, Any] = {
        "contact_name": v.text(
            contact_name, field="contact_name", label="Name", max_length=200, required=True
        ),
        "business_name": v.text(
            business_name, field="business_name", label="Business name", max_length=200
        ),
        "account_number": v.text(
            account_number, field="account_number", label="Account number", max_length=50
        ),
        "phone": v.text(phone, field="phone", label="Phone number", max_length=40),
        "email": v.text(email, field="email", label="Email address", max_length=254),
        "postal_address": v.text(
            postal_address, field="postal_address", label="Postal address", max_length=1000
        ),
        "other_language": v.text(
            other_language, field="other_language", label="Language", max_length=60
        ),
        "vulnerability_note": v.text(
            vulnerability_note,
            field="vulnerability_note",
            label="Vulnerability note",
            max_length=2000,
        ),
        "representative_name": v.text(
            representative_name,
            field="representative_name",
            label="Representative's name",
            max_length=200,
        ),
        "representative_contact": v.text(
            representative_contact,
            field="representative_contact",
            label="Representative's contact details",
            max_length=200,
        ),
    }
    if fields["email"]:
        try:
            validate_email(fields["email"])
        except ValidationError:
            raise v.invalid("email", "Enter an email address like name@example.co.uk.") from None
    try:
        kind = CustomerType(customer_type)
    except ValueError:
        raise v.invalid("customer_type", "Choose the kind of customer.") from None
    if preferred_contact not in PreferredContact.values:
        raise v.invalid("preferred_contact", "Choose email, letter or phone.")
    if access_needs is None:
        access_needs = ()
    if isinstance(access_needs, str) or not isinstance(access_needs, Iterable):
        raise v.invalid("access_needs", "Give accessibility needs as a list (or none).")
    needs = [str(n) for n in access_needs]
    unknown = [n for n in needs if n not in AccessNeed.values]
    if unknown:
        raise v.invalid("access_needs", f"Unknown accessibility need: {unknown[0]!r}.")
    if employees is not None and (
        isinstance(employees, bool)
        or not isinstance(employees, int)
        or not 0 <= employees <= 10_000_000
    ):
        raise v.invalid("employees", "The number of working individuals is a whole number.")
    if fields["vulnerability_note"] and vulnerability_consent_at is None:
        raise v.invalid(
            "vulnerability_note", "A vulnerability note is kept only with the customer's consent."
        )
    if vulnerability_consent_at is not None:
        v.happened(
            vulnerability_consent_at,
            field="vulnerability_consent_at",
            label="When consent was given",
            now=now,
            not_before=None,
        )
    # The account number is unique per provider: the database says so (one statement, and no
    # window between a check and the insert for another process to take the number). Inside
    # case_intake no savepoint is made (on PostgreSQL two round trips): a refusal there
    # abandons the whole intake anyway.
    customer = Customer(
        provider=provider,
        created_at=now,
        customer_type=kind.value,
        employees=employees,
        preferred_contact=preferred_contact,
        access_needs=needs,
        vulnerability_consent_at=vulnerability_consent_at,
        support_contract=bool(support_contract),
        representative_authorised_at=now if fields["representative_name"] else None,
        **fields,
    )
    try:
        with transaction.atomic(savepoint=_savepoint):
            insert([customer])
            return customer
    except IntegrityError:
        raise v.invalid(
            "account_number", "A customer with that account number already exists."
        ) from None


# --------------------------------------------------------------------------- opening


#: (database, provider) pairs whose serial sequence this process has seen committed.
_SEQUENCES: set[tuple[str, int]] = set()


def _sequence(provider_id: int) -> tuple[str, tuple[str, int]]:
    """The name of the provider's serial sequence, and its key in ``_SEQUENCES``."""
    return f"amends_case_serial_{int(provider_id)}", (
        connection.settings_dict["NAME"],
        int(provider_id),
    )


def _known_sequence(provider_id: int) -> str:
    """The provider's serial sequence when this process has seen it committed (PostgreSQL):
    opening then takes its number with the code version read, in the same round trip."""
    if connection.vendor != "postgresql":
        return ""
    name, known = _sequence(provider_id)
    return name if known in _SEQUENCES else ""


def _next_serial(provider_id: int) -> int:
    """The provider's next case serial (V4V-26-000123-K).

    On PostgreSQL from the provider's own sequence (``amends_case_serial_<id>``): taking a
    number holds no lock, so cases of one provider open side by side (a row counter is held
    until its transaction commits, and opening a case renders and stores its
    acknowledgement first). A number taken by a transaction that then fails is not used
    again: references may skip a number, never repeat one. The sequence is made with the
    provider's first case, after its counter row's last serial (under that row's lock, so
    two first cases do not both make it); an import that writes cases itself moves it on
    (``setval``). On SQLite (one writer at a time) the counter row counts."""
    if connection.vendor == "postgresql":
        name, known = _sequence(provider_id)
        with connection.cursor() as cursor:
            if known not in _SEQUENCES:
                # Remembered once committed (one made in a transaction that rolls back is gone).
                transaction.on_commit(lambda: _SEQUENCES.add(known))
                cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
                row = cursor.fetchone()
                if not (row and row[0]):
                    CaseCounter.objects.get_or_create(provider_id=provider_id)
                    cursor.execute(
                        "SELECT last_serial FROM providers_casecounter "
                        "WHERE provider_id = %s FOR UPDATE",
                        [provider_id],
                    )
                    last = int(cursor.fetchone()[0])
                    cursor.execute(f"CREATE SEQUENCE IF NOT EXISTS {name} START WITH {last + 1}")
                    cursor.execute("SELECT nextval(%s)", [name])
                    return int(cursor.fetchone()[0])
            cursor.execute("SELECT nextval(%s)", [name])
            return int(cursor.fetchone()[0])
    sql = (
        "UPDATE providers_casecounter SET last_serial = last_serial + 1 "
        "WHERE provider_id = %s RETURNING last_serial"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [provider_id])
        row = cursor.fetchone()
        if row is None:
            CaseCounter.objects.get_or_create(provider_id=provider_id)
            cursor.execute(sql, [provider_id])
            row = cursor.fetchone()
    return int(row[0])


def case_open(
    *,
    provider: Provider,
    customer: Customer,
    kind: CaseKind,
    channel: ChannelType,
    first_received_at: datetime,
    summary: str,
    now: datetime,
    actor: Actor,
    description: str = "",
    category: str = "",
    first_received_note: str = "",
    link_url_for: Callable[[str], str] | None = None,
    _savepoint: bool = True,
) -> Case:
    """Open a case. ``first_received_at`` is when the provider first heard of it, on any
    channel; when it is earlier than now by more than an hour a note must say why.

    ``link_url_for`` (the public forms): also make the customer's private case link, in the
    same transaction, and put it in the acknowledgement; the token (shown once, stored only
    hashed) is on the returned case as ``case.link_token``."""
    # A customer's link is for one existing case: refused; staff and integrations by role or
    # scope; the system (public forms, inbound mail) always.
    actor.require(Work.OPEN_CASE)
    if actor.provider_id != provider.pk:
        raise CaseError("You cannot open a case for another provider.", code=ErrorCode.FORBIDDEN)
    if customer.provider_id != provider.pk:
        raise v.invalid("customer", "That customer belongs to another provider.")
    now = _now(now)
    try:
        kind = CaseKind(kind)
    except ValueError:
        raise v.invalid("kind", "Choose what kind of case this is.") from None
    try:
        channel = ChannelType(channel)
    except ValueError:
        raise v.invalid("channel", "Choose how the case reached us.") from None
    first = v.happened(
        first_received_at,
        field="first_received_at",
        label="When it was first received",
        now=now,
        not_before=None,
    )
    summary = v.text(summary, field="summary", label="Summary", max_length=200, required=True)
    description = v.text(description, field="description", label="Description", max_length=20_000)
    category = v.text(category, field="category", label="Category", max_length=60)
    note = v.text(
        first_received_note,
        field="first_received_note",
        label="Why it is entered later",
        max_length=300,
    )
    if now - first > timedelta(hours=1) and not note:
        raise v.invalid(
            "first_received_note",
            "Say why the case is entered later than it was first received "
            "(e.g. 'letter arrived Monday', 'call taken at 17:55').",
        )
    version, head, serial = code_version_and_head(
        provider=provider,
        on=first.astimezone(LONDON).date(),
        serial_from=_known_sequence(provider.pk),
    )
    if version is None:
        raise v.invalid(
            "first_received_at",
            f"{provider.name} has no Code of Practice in force on "
            f"{first.astimezone(LONDON).date().isoformat()}.",
        )
    with transaction.atomic(savepoint=_savepoint):
        if serial is None:
            serial = _next_serial(provider.pk)
        case = Case(
            provider=provider,
            customer=customer,
            code_version=version,
            reference=make_reference(
                provider.reference_prefix, now.astimezone(LONDON).year, serial
            ),
            kind=kind.value,
            state=State.RECEIVED.value,
            channel=channel.value,
            first_received_at=first,
            first_received_note=note,
            entered_at=now,
            summary=summary,
            description=description,
            category=category,
            support_contract=customer.support_contract,
            adr_scheme=provider.adr_scheme,
        )
        code, calendar = code_of(version, provider)
        rows = reconcile(case, code, calendar, now=now)
        insert([case])
        for row in rows:
            row.case_id = case.pk
        # Sent without waiting for each answer (PostgreSQL): the server writes the clocks
        # and the link while the acknowledgement is rendered here.
        with pipelined():
            upsert(rows)
            link_payload: dict[str, str] = {}
            token = ""
            if link_url_for is not None:
                token = secrets.token_urlsafe(32)
                link = CaseLink(
                    provider_id=provider.pk,
                    case=case,
                    token_hash=token_hash(token),
                    created_at=now,
                    expires_at=now + LINK_LIFETIME,
                )
                insert([link], keys=False)
                link_payload = {"url": link_url_for(token), "expires": link.expires_at.isoformat()}
            if _promises_acknowledgement(code, case) or link_url_for is not None:
                # The code promises an acknowledgement for this case (timed or not: V4VoIP's
                # "we will send a confirmation email acknowledging receipt" has no time): Amends
                # sends it at once (reference, what happens next and by when); the clock, if
                # any, is met when it reaches the customer (sent, posted, or the call logged).
                outbox = Outbox()
                outbox.add(
                    provider=provider,
                    case=case,
                    kind=OutboxKind.ACKNOWLEDGEMENT,
                    key=f"case:{case.pk}:acknowledgement",
                    recipient=customer_recipient(customer),
                    now=now,
                    payload={"reference": case.reference, **link_payload},
                    meets="acknowledge" if _promises_acknowledgement(code, case) else "",
                )
                outbox.flush()
            chain = Chain(provider.pk)
            chain.add(
                case=case,
                actor=actor.label,
                at=now,
                kind=EventKind.CASE_OPENED,
                data={
                    "reference": case.reference,
                    "kind": kind.value,
                    "channel": channel.value,
                    "first_received_at": first.isoformat(),
                    "code_version": version.pk,
                },
            )
            if token:
                chain.add(
                    case=case,
                    actor=actor.label,
                    at=now,
                    kind=EventKind.CASE_LINK_SENT,
                    data={
                        "expires_at": (now + LINK_LIFETIME).isoformat(),
                        "with": "acknowledgement",
                    },
                )
            chain.flush(head=head)
    case.link_token = token  # type: ignore[attr-defined]
    log.info("case opened", extra={"case_id": case.pk, "provider_id": provider.pk})
    return case


@dataclass(frozen=True, kw_only=True)
class NewCustomer:
    """A customer not yet on record, as :func:`customer_create` takes one."""

    contact_name: str
    #: A :class:`CustomerType` or its value (checked by ``customer_create``).
    customer_type: CustomerType | str = CustomerType.SMALL_BUSINESS
    business_name: str = ""
    account_number: str = ""
    phone: str = ""
    email: str = ""
    postal_address: str = ""
    employees: int | None = None
    preferred_contact: str = PreferredContact.EMAIL
    access_needs: tuple[str, ...] = ()
    other_language: str = ""
    representative_name: str = ""
    representative_contact: str = ""
    support_contract: bool = False


def case_intake(
    *,
    provider: Provider,
    actor: Actor,
    customer: int | NewCustomer,
    kind: CaseKind,
    channel: ChannelType,
    first_received_at: datetime,
    summary: str,
    now: datetime,
    description: str = "",
    category: str = "",
    first_received_note: str = "",
    link_url_for: Callable[[str], str] | None = None,
) -> Case:
    """A case for an existing customer of the provider (by id) or a new one, in one
    transaction: a refusal of either leaves nothing behind (no customer without its case)."""
    actor.require(Work.OPEN_CASE)
    if actor.provider_id != provider.pk:
        raise CaseError("You cannot open a case for another provider.", code=ErrorCode.FORBIDDEN)
    with transaction.atomic():
        if isinstance(customer, NewCustomer):
            fields = {f.name: getattr(customer, f.name) for f in dataclass_fields(customer)}
            record = customer_create(provider=provider, now=now, _savepoint=False, **fields)
        else:
            found = (
                Customer.objects.filter(provider_id=provider.pk, pk=customer).first()
                if isinstance(customer, int) and not isinstance(customer, bool)
                else None
            )
            if found is None:
                raise v.invalid("customer", "No such customer.")
            record = found
        return case_open(
            provider=provider,
            customer=record,
            kind=kind,
            channel=channel,
            first_received_at=first_received_at,
            summary=summary,
            now=now,
            actor=actor,
            description=description,
            category=category,
            first_received_note=first_received_note,
            link_url_for=link_url_for,
            # This transaction is the intake's own (or a savepoint of the caller's): nothing
            # inside it needs one more.
            _savepoint=False,
        )


def _promises_acknowledgement(code: Code, case: Case) -> bool:
    spec = code.case_kind(CaseKind(case.kind))
    if spec is None:
        return False
    facts = CaseFacts(channel=ChannelType(case.channel), support_contract=case.support_contract)
    return any(
        promise.kind is ObligationKind.ACKNOWLEDGE and promise.condition.matches(facts)
        for promise in spec.promises
    )


# --------------------------------------------------------------------------- the lifecycle


def case_acknowledge(
    *,
    case_id: int,
    actor: Actor,
    now: datetime,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> Case:
    """The customer is told the case is received, with its reference."""

    def record(when: datetime) -> Record:
        def apply(case: Case, data: dict[str, Any]) -> None:
            case.acknowledged_at = case.acknowledged_at or when
            case.first_contact_at = case.first_contact_at or when

        return apply

    return _simple(
        Action.ACKNOWLEDGE,
        case_id=case_id,
        actor=actor,
        now=now,
        at=at,
        expected_version=expected_version,
        record=record,
    )


def case_assign(
    *,
    case_id: int,
    actor: Actor,
    handler_id: int,
    now: datetime,
    expected_version: int | None = None,
) -> Case:
    """A handler of the same provider owns the case."""

    if isinstance(handler_id, bool) or not isinstance(handler_id, int):
        raise v.invalid("handler_id", "Choose a handler who works for this provider.")

    def body(w: CaseWrite) -> None:
        member = (
            StaffMember.objects.filter(
                user_id=handler_id,
                provider_id=w.case.provider_id,
                role__in=HANDLING_ROLES,
                user__is_active=True,
            )
            .select_related("user")  # the messages name the new handler: read them once
            .first()
        )
        if member is None:
            raise v.invalid(
                "handler_id",
                "Choose an active adviser, case handler, manager or director of this provider.",
            )

        def apply(case: Case, data: dict[str, Any]) -> None:
            case.handler = member.user
            data["handler"] = member.user_id

        transition(w, Action.ASSIGN, at=w.now, record=apply)
        if w.case.handler_introduced_at is None and w.promised(ObligationKind.INTRODUCE_HANDLER):
            # ISS: "Your case handler will then contact you within 48 hours ... giving their
            # direct contact details": sent at once, met when it reaches the customer.
            w.message(
                OutboxKind.HANDLER_INTRODUCTION,
                meets="introduce_handler",
                handler=member.user_id,
            )

    return _run(
        case_id=case_id,
        actor=actor,
        now=now,
        permission=Action.ASSIGN,
        expected_version=expected_version,
        body=body,
    )


def case_introduce_handler(
    *,
    case_id: int,
    actor: Actor,
    now: datetime,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> Case:
    """The handler introduced themselves with their direct contact details."""

    def record(when: datetime) -> Record:
        def apply(case: Case, data: dict[str, Any]) -> None:
            case.handler_introduced_at = case.handler_introduced_at or when
            case.first_contact_at = case.first_contact_at or when

        return apply

    return _simple(
        Action.INTRODUCE_HANDLER,
        case_id=case_id,
        actor=actor,
        now=now,
        at=at,
        expected_version=expected_version,
        record=record,
    )


def case_agree_updates(
    *,
    case_id: int,
    actor: Actor,
    interval: str,
    now: datetime,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> Case:
    """An update schedule agreed with the customer ("every 5 working days")."""
    text = v.text(interval, field="interval", label="Update interval", max_length=30, required=True)
    try:
        duration = Duration.parse(text)
    except ValueError as error:
        raise v.invalid("interval", f"Update interval: {error}") from error
    if duration.amount <= 0 or duration.at_most(MAX_UPDATE_INTERVAL) is False:
        raise v.invalid("interval", "Agree updates at least every 12 weeks.")

    def record(when: datetime) -> Record:
        def apply(case: Case, data: dict[str, Any]) -> None:
            case.updates_agreed_at = when
            case.update_interval = text
            data["interval"] = text

        return apply

    return _simple(
        Action.AGREE_UPDATES,
        case_id=case_id,
        actor=actor,
        now=now,
        at=at,
        expected_version=expected_version,
        record=record,
    )


def _update_given(case: Case, when: datetime) -> None:
    case.update_history = [*case.update_history, when.isoformat()]
    case.first_contact_at = case.first_contact_at or when


def case_record_update(
    *,
    case_id: int,
    actor: Actor,
    channel: str,
    now: datetime,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> Case:
    """The customer was given an update (the update clock counts from it)."""
    how = _how(channel, "channel")

    def record(when: datetime) -> Record:
        def apply(case: Case, data: dict[str, Any]) -> None:
            _update_given(case, when)
            data["channel"] = how

        return apply

    return _simple(
        Action.RECORD_UPDATE,
        case_id=case_id,
        actor=actor,
        now=now,
        at=at,
        expected_version=expected_version,
        record=record,
    )


def case_investigate(
    *, case_id: int, actor: Actor, now: datetime, expected_version: int | None = None
) -> Case:
    return _simple(
        Action.INVESTIGATE,
        case_id=case_id,
        actor=actor,
        now=now,
        at=None,
        expected_version=expected_version,
    )


def case_escalate(
    *,
    case_id: int,
    actor: Actor,
    reason: str,
    now: datetime,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> Case:
    """The next level of the code's ladder reviews the complaint (the customer may ask)."""
    why = v.text(reason, field="reason", label="Why it is escalated", max_length=500, required=True)
    return _simple(
        Action.ESCALATE,
        case_id=case_id,
        actor=actor,
        now=now,
        at=at,
        expected_version=expected_version,
        record=lambda when: escalate_facts(why, when),
        then=lambda w: w.message(
            OutboxKind.ESCALATION_ACKNOWLEDGEMENT, level=w.case.escalation_level
        ),
    )


def case_propose_resolution(
    *,
    case_id: int,
    actor: Actor,
    proposal: str,
    now: datetime,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> Case:
    """The provider tells the customer how it proposes to resolve the case."""
    text = v.text(
        proposal, field="proposal", label="The proposed resolution", max_length=5000, required=True
    )

    def record(when: datetime) -> Record:
        def apply(case: Case, data: dict[str, Any]) -> None:
            close_open_review(case, when)
            case.resolution_proposed_at = when
            case.resolution_proposal = text
            data["proposal"] = text

        return apply

    return _simple(
        Action.PROPOSE_RESOLUTION,
        case_id=case_id,
        actor=actor,
        now=now,
        at=at,
        expected_version=expected_version,
        record=record,
        then=lambda w: w.message(OutboxKind.PROPOSED_RESOLUTION, proposal=text),
    )


def _customer_answer(actor: Actor, by: str, how: str) -> tuple[str, str]:
    if actor.kind is ActorKind.CUSTOMER:
        return "the customer", actor.channel or "portal"
    who = v.text(by, field="by", label="Who it was", max_length=200, required=True)
    return who, _how(how)


def case_accept_resolution(
    *,
    case_id: int,
    actor: Actor,
    by: str = "",
    how: str = "",
    now: datetime,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> Case:
    """The customer's acceptance, recorded with who, when and how (a customer acting through
    their own link is recorded as the customer, by portal)."""
    who, method = _customer_answer(actor, by, how)

    def record(when: datetime) -> Record:
        def apply(case: Case, data: dict[str, Any]) -> None:
            case.resolved_at = when
            case.acceptance_by = who
            case.acceptance_how = method
            data.update(by=who, how=method)

        return apply

    return _simple(
        Action.ACCEPT_RESOLUTION,
        case_id=case_id,
        actor=actor,
        now=now,
        at=at,
        expected_version=expected_version,
        record=record,
    )


def case_reject_resolution(
    *,
    case_id: int,
    actor: Actor,
    by: str = "",
    how: str = "",
    reason: str = "",
    now: datetime,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> Case:
    who, method = _customer_answer(actor, by, how)
    why = v.text(reason, field="reason", label="Why it was rejected", max_length=2000)

    def record(when: datetime) -> Record:
        def apply(case: Case, data: dict[str, Any]) -> None:
            data.update(by=who, how=method, reason=why)

        return apply

    return _simple(
        Action.REJECT_RESOLUTION,
        case_id=case_id,
        actor=actor,
        now=now,
        at=at,
        expected_version=expected_version,
        record=record,
    )


def case_close(
    *,
    case_id: int,
    actor: Actor,
    now: datetime,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> Case:
    """Close: a complaint only with the customer's acceptance or an ADR letter issued."""

    def record(when: datetime) -> Record:
        def apply(case: Case, data: dict[str, Any]) -> None:
            case.closed_at = when

        return apply

    def closure(w: CaseWrite) -> None:
        if w.case.kind == CaseKind.COMPLAINT.value:
            w.message(OutboxKind.CLOSURE)

    return _simple(
        Action.CLOSE,
        case_id=case_id,
        actor=actor,
        now=now,
        at=at,
        expected_version=expected_version,
        record=record,
        then=closure,
    )


def case_reopen(
    *, case_id: int, actor: Actor, reason: str, now: datetime, expected_version: int | None = None
) -> Case:
    """The customer is not satisfied after all; the first receipt stands."""
    why = v.text(reason, field="reason", label="Why it is re-opened", max_length=500, required=True)
    return _simple(
        Action.REOPEN,
        case_id=case_id,
        actor=actor,
        now=now,
        at=None,
        expected_version=expected_version,
        record=lambda when: reopen_facts(why),
    )


def case_declare_deadlock(
    *,
    case_id: int,
    actor: Actor,
    final_position: str,
    now: datetime,
    final_offer: str = "",
    at: datetime | None = None,
    expected_version: int | None = None,
) -> Case:
    """The provider's final position: the ADR letter goes out in the same transaction."""
    position = v.text(
        final_position,
        field="final_position",
        label="Your final position",
        max_length=5000,
        required=True,
    )
    offer = v.text(
        final_offer, field="final_offer", label="The offer that stays open", max_length=5000
    )

    def record(when: datetime) -> Record:
        def apply(case: Case, data: dict[str, Any]) -> None:
            close_open_review(case, when)
            case.deadlock_at = when
            case.final_position = position
            case.final_offer = offer
            data.update(final_position=position, final_offer=offer)

        return apply

    return _simple(
        Action.DECLARE_DEADLOCK,
        case_id=case_id,
        actor=actor,
        now=now,
        at=at,
        expected_version=expected_version,
        record=record,
    )


def case_request_adr_letter(
    *,
    case_id: int,
    actor: Actor,
    by: str = "",
    how: str = "",
    now: datetime,
    expected_version: int | None = None,
) -> Case:
    """The customer asked for the ADR letter: never refused (a copy when one was sent)."""
    who, method = _customer_answer(actor, by, how)
    return _run(
        case_id=case_id,
        actor=actor,
        now=now,
        permission=Action.REQUEST_ADR_LETTER,
        expected_version=expected_version,
        body=lambda w: request_adr_letter(w, at=w.now, by=who, how=method),
    )


def case_issue_adr_letter(
    *,
    case_id: int,
    actor: Actor,
    trigger: AdrTrigger = AdrTrigger.STAFF,
    now: datetime,
    expected_version: int | None = None,
) -> Case:
    """A member of staff issues the ADR letter unasked (``AdrTrigger.STAFF``: ahead of the ADR
    point, or to put a missed letter right). The time letter is the worker's alone, deadlock
    issues its own (:func:`case_declare_deadlock`), and a customer's request is recorded with
    :func:`case_request_adr_letter` (who asked and how). A letter already issued is sent
    again as a copy, never a second letter."""
    try:
        trigger = AdrTrigger(trigger)
    except ValueError:
        raise v.invalid("trigger", "The trigger is 'staff'.") from None
    if trigger is not AdrTrigger.STAFF:
        raise v.invalid(
            "trigger",
            "Staff issue the ADR letter as 'staff'. The time letter is the worker's, deadlock "
            "issues its own, and a customer's request is recorded with who asked and how "
            "(case_request_adr_letter).",
        )

    def body(w: CaseWrite) -> None:
        if w.case.kind != CaseKind.COMPLAINT.value:
            raise CaseError(
                "Only a complaint gets an ADR letter: convert it into a complaint first "
                "(a customer who asks for the letter gets it: record their request).",
                field="kind",
            )
        if w.case.adr_letter_issued_at is not None:
            send_copy(w)
            return
        issue_adr_letter(w, trigger=trigger, at=w.now)

    return _run(
        case_id=case_id,
        actor=actor,
        now=now,
        permission=Action.ISSUE_ADR_LETTER,
        expected_version=expected_version,
        body=body,
    )


def case_refer_to_scheme(
    *,
    case_id: int,
    actor: Actor,
    scheme_reference: str,
    now: datetime,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> Case:
    ref = v.text(
        scheme_reference, field="scheme_reference", label="The scheme's reference", max_length=60
    )

    def record(when: datetime) -> Record:
        def apply(case: Case, data: dict[str, Any]) -> None:
            if case.resolved_at is not None:
                # The customer took it to the scheme: the acceptance no longer stands, and a
                # new one (or the ADR letter) is needed before it closes again.
                data["acceptance_withdrawn"] = case.resolved_at.isoformat()
                case.resolved_at = None
                case.acceptance_by = ""
                case.acceptance_how = ""
            case.scheme_reference = ref
            case.referred_at = when
            data["scheme_reference"] = ref

        return apply

    return _simple(
        Action.REFER_TO_SCHEME,
        case_id=case_id,
        actor=actor,
        now=now,
        at=at,
        expected_version=expected_version,
        record=record,
    )


def case_scheme_declined(
    *, case_id: int, actor: Actor, reason: str, now: datetime, expected_version: int | None = None
) -> Case:
    """The scheme will not take the case yet (e.g. premature): work goes on."""
    why = v.text(
        reason, field="reason", label="Why the scheme declined", max_length=500, required=True
    )

    def record(when: datetime) -> Record:
        def apply(case: Case, data: dict[str, Any]) -> None:
            data["reason"] = why

        return apply

    return _simple(
        Action.SCHEME_DECLINED,
        case_id=case_id,
        actor=actor,
        now=now,
        at=None,
        expected_version=expected_version,
        record=record,
    )


def case_record_scheme_decision(
    *,
    case_id: int,
    actor: Actor,
    outcome: str,
    remedies: str = "",
    now: datetime,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> Case:
    result = v.text(outcome, field="outcome", label="The decision", max_length=40, required=True)
    remedy = v.text(remedies, field="remedies", label="What the provider must do", max_length=5000)

    def record(when: datetime) -> Record:
        def apply(case: Case, data: dict[str, Any]) -> None:
            case.decision_outcome = result
            case.decision_remedies = remedy
            case.decision_at = when
            data.update(outcome=result, remedies=remedy)

        return apply

    return _simple(
        Action.RECORD_SCHEME_DECISION,
        case_id=case_id,
        actor=actor,
        now=now,
        at=at,
        expected_version=expected_version,
        record=record,
    )


def case_accept_decision(
    *,
    case_id: int,
    actor: Actor,
    now: datetime,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> Case:
    """The customer accepted the scheme's decision: the remedy clock starts (once)."""

    def record(when: datetime) -> Record:
        def apply(case: Case, data: dict[str, Any]) -> None:
            case.decision_accepted_at = case.decision_accepted_at or when

        return apply

    return _simple(
        Action.ACCEPT_DECISION,
        case_id=case_id,
        actor=actor,
        now=now,
        at=at,
        expected_version=expected_version,
        record=record,
    )


def case_complete_remedy(
    *,
    case_id: int,
    actor: Actor,
    now: datetime,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> Case:
    def record(when: datetime) -> Record:
        def apply(case: Case, data: dict[str, Any]) -> None:
            case.remedy_done_at = when

        return apply

    return _simple(
        Action.COMPLETE_REMEDY,
        case_id=case_id,
        actor=actor,
        now=now,
        at=at,
        expected_version=expected_version,
        record=record,
    )


def case_withdraw(
    *,
    case_id: int,
    actor: Actor,
    by: str = "",
    how: str = "",
    reason: str = "",
    now: datetime,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> Case:
    """The customer withdrew the case: a withdrawal is the customer's, recorded with who
    asked and how, like an acceptance (it cancels the ADR letter)."""
    who, method = _customer_answer(actor, by, how)
    why = v.text(reason, field="reason", label="What the customer said", max_length=2000)

    def record(when: datetime) -> Record:
        def apply(case: Case, data: dict[str, Any]) -> None:
            case.withdrawn_at = when
            case.withdrawal_by = who
            case.withdrawal_how = method
            data.update(by=who, how=method, reason=why)

        return apply

    return _simple(
        Action.WITHDRAW,
        case_id=case_id,
        actor=actor,
        now=now,
        at=at,
        expected_version=expected_version,
        record=record,
    )


def case_convert_to_complaint(
    *,
    case_id: int,
    actor: Actor,
    reason: str,
    now: datetime,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> Case:
    """The contact is a complaint after all: its first receipt stands, its resolution starts
    afresh (an acceptance of the query is not acceptance of the complaint)."""
    why = v.text(
        reason, field="reason", label="Why it is a complaint", max_length=500, required=True
    )
    return _simple(
        Action.CONVERT_TO_COMPLAINT,
        case_id=case_id,
        actor=actor,
        now=now,
        at=at,
        expected_version=expected_version,
        record=lambda when: convert_facts(why, when),
    )


# --------------------------------------------------------------------------- not transitions


def case_log_call(
    *,
    case_id: int,
    actor: Actor,
    direction: str,
    summary: str,
    now: datetime,
    at: datetime | None = None,
    update_given: bool = True,
    expected_version: int | None = None,
) -> Case:
    """A call with the customer, on the timeline; it counts as an update given unless said."""
    if direction not in ("inbound", "outbound"):
        raise v.invalid("direction", "Say whether the customer called us or we called them.")
    text = v.text(summary, field="summary", label="What was said", max_length=5000, required=True)

    def body(w: CaseWrite) -> None:
        when = _when(w, at)
        counts = update_given and State(w.case.state) in OPEN_STATES
        if counts:
            _update_given(w.case, when)
        data = {"direction": direction, "summary": text, "update_given": counts}
        if when != w.now:
            data["at"] = when.isoformat()
        w.event(EventKind.CALL_LOGGED, data)

    return _run(
        case_id=case_id,
        actor=actor,
        now=now,
        permission=Work.LOG_CALL,
        expected_version=expected_version,
        body=body,
    )


def case_merge(
    *,
    case_id: int,
    actor: Actor,
    duplicate_id: int,
    now: datetime,
    reason: str = "",
    expected_version: int | None = None,
) -> Case:
    """Join a duplicate of the same customer into this case: the earliest first receipt
    stands (the clocks count from it), the duplicate's timeline shows here, mail to it lands
    here, and the merge is an event on both. The duplicate is left "merged" (nothing owed on
    it; its pending clocks are cancelled). Only open cases merge, and a complaint only into a
    complaint (convert this case first): a complaint is never hidden inside a query."""
    actor.require(Work.MERGE_CASES)
    now = _now(now)
    for name, value in (("case_id", case_id), ("duplicate_id", duplicate_id)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise v.invalid(name, "Choose a case of this customer.")
    if case_id == duplicate_id:
        raise v.invalid("duplicate_id", "A case cannot be merged into itself.")
    why = v.text(reason, field="reason", label="Why", max_length=500)
    with transaction.atomic():
        # Both cases locked in one order (by id), whoever merges which into which.
        locked = {pk: lock_case(pk, actor) for pk in sorted((case_id, duplicate_id))}
        keeper, duplicate = locked[case_id], locked[duplicate_id]
        if keeper is None:
            raise not_found()
        if duplicate is None:
            raise v.invalid("duplicate_id", "Choose a case of this customer.")
        if expected_version is not None and keeper.version != expected_version:
            raise stale()
        if duplicate.customer_id != keeper.customer_id:
            raise v.invalid("duplicate_id", "Only a case of the same customer can be merged.")
        for case, what in ((keeper, "This case"), (duplicate, "That case")):
            if State(case.state) in TERMINAL_STATES:
                raise CaseError(
                    f"{what} is {State(case.state).label.lower()}: only open cases merge.",
                    field="duplicate_id",
                )
        if duplicate.kind == CaseKind.COMPLAINT.value and keeper.kind != CaseKind.COMPLAINT.value:
            raise CaseError(
                "That case is a complaint: make this case a complaint first, then merge.",
                field="duplicate_id",
            )
        gone = CaseWrite(duplicate, actor, now)
        stays = CaseWrite(keeper, actor, now)
        stays.chain = gone.chain  # one append for both, the ledger last
        duplicate.state = State.MERGED.value
        duplicate.merged_into = keeper
        duplicate.merged_at = now
        gone.event(
            EventKind.MERGED_INTO,
            {"from": State(gone._before["state"]).value, "to": State.MERGED.value,
             "into": keeper.reference, "reason": why},
        )  # fmt: skip
        data: dict[str, Any] = {"merged": duplicate.reference, "reason": why}
        if duplicate.first_received_at < keeper.first_received_at:
            data["first_received_was"] = keeper.first_received_at.isoformat()
            keeper.first_received_at = duplicate.first_received_at
            keeper.first_received_note = (
                f"first received as {duplicate.reference}"
                + (f": {duplicate.first_received_note}" if duplicate.first_received_note else "")
            )[:300]
        stays.event(EventKind.CASE_MERGED, data)
        gone.finish(cancel_pending(duplicate), append=False)
        merged = stays.finish()
    log.info("case merged", extra={"case_id": case_id, "merged_case_id": duplicate_id})
    return merged


#: What staff may write to a customer on a case, from the templates in amends/comms/templates.
MESSAGE_KINDS = {
    "reply": OutboxKind.REPLY,
    "progress_update": OutboxKind.PROGRESS_UPDATE,
    "query_reply": OutboxKind.QUERY_REPLY,
}


def case_send_message(
    *,
    case_id: int,
    actor: Actor,
    kind: str,
    text: str,
    now: datetime,
    expected_version: int | None = None,
) -> Case:
    """A message written by staff, sent from its template (greeting, the reference, what
    happens next and by when, the point of contact) by the customer's preferred channel: an
    email, a letter in the print queue, or a call task. A progress update meets the update
    clock when it reaches the customer."""
    chosen = MESSAGE_KINDS.get(kind) if isinstance(kind, str) else None
    if chosen is None:
        raise v.invalid("kind", f"Choose one of: {', '.join(MESSAGE_KINDS)}.")
    words = v.text(text, field="text", label="Message", max_length=20_000, required=True)

    def body(w: CaseWrite) -> None:
        meets = "update" if chosen is OutboxKind.PROGRESS_UPDATE else ""
        w.message(chosen, meets=meets, text=words)
        w.event(EventKind.MESSAGE_SENT, {"kind": chosen.value, "text": words[:2000]})

    return _run(
        case_id=case_id,
        actor=actor,
        now=now,
        permission=Work.LOG_CALL,
        expected_version=expected_version,
        body=body,
    )


def case_add_note(
    *, case_id: int, actor: Actor, text: str, now: datetime, expected_version: int | None = None
) -> Case:
    """An internal note (never shown to the customer) on the timeline."""
    note = v.text(text, field="text", label="Note", max_length=10_000, required=True)
    return _run(
        case_id=case_id,
        actor=actor,
        now=now,
        permission=Work.ADD_NOTE,
        expected_version=expected_version,
        body=lambda w: w.event(EventKind.NOTE_ADDED, {"text": note}),
    )


def case_record_compensation(
    *,
    case_id: int,
    actor: Actor,
    amount_pence: int,
    reason: str,
    form: CompensationForm,
    basis: CompensationBasis,
    now: datetime,
    rule_id: str = "",
    expected_version: int | None = None,
) -> Compensation:
    """Money owed to the customer: an invoice credit or paid as agreed (ISS's code), goodwill,
    Ofcom's automatic compensation, or a scheme's award. Billing marks it applied."""
    amount = v.pence(amount_pence, field="amount_pence", label="The amount")
    why = v.text(reason, field="reason", label="Why it is paid", max_length=300, required=True)
    if form not in CompensationForm.values:
        raise v.invalid("form", "Choose an invoice credit or paid as agreed.")
    if basis not in CompensationBasis.values:
        raise v.invalid("basis", "Choose goodwill, automatic compensation or a scheme award.")
    rule = v.text(rule_id, field="rule_id", label="Rule", max_length=40)
    made: list[Compensation] = []

    def body(w: CaseWrite) -> None:
        credit = Compensation.objects.create(
            provider_id=w.case.provider_id,
            case=w.case,
            amount_pence=amount,
            reason=why,
            form=str(form),
            basis=str(basis),
            rule_id=rule,
            recorded_at=w.now,
            recorded_by=actor.label,
        )
        w.event(
            EventKind.COMPENSATION_RECORDED,
            {
                "compensation": credit.pk,
                "amount_pence": amount,
                "form": str(form),
                "basis": str(basis),
                "reason": why,
            },
        )
        made.append(credit)

    _run(
        case_id=case_id,
        actor=actor,
        now=now,
        permission=Work.RECORD_COMPENSATION,
        expected_version=expected_version,
        body=body,
    )
    return made[0]


def compensation_mark_applied(
    *, compensation_id: int, actor: Actor, invoice_reference: str, now: datetime
) -> Compensation:
    """Billing applied the credit to an invoice (once; a second call is refused)."""
    ref = v.text(
        invoice_reference,
        field="invoice_reference",
        label="Invoice reference",
        max_length=60,
        required=True,
    )
    actor.require(Work.APPLY_COMPENSATION)
    if isinstance(compensation_id, bool) or not isinstance(compensation_id, int):
        raise CaseError("No such compensation.", code=ErrorCode.NOT_FOUND)
    credit = (
        Compensation.objects.filter(pk=compensation_id, provider_id=actor.provider_id)
        .only("case_id")
        .first()
    )
    if credit is None:
        raise CaseError("No such compensation.", code=ErrorCode.NOT_FOUND)
    done: list[Compensation] = []

    def body(w: CaseWrite) -> None:
        row = Compensation.objects.select_for_update().get(pk=compensation_id)
        if row.applied_at is not None:
            raise CaseError(
                f"Already applied to invoice {row.invoice_reference} on {uk_date(row.applied_at)}.",
                field="invoice_reference",
            )
        row.applied_at = w.now
        row.invoice_reference = ref
        row.save(update_fields=["applied_at", "invoice_reference"])
        w.event(EventKind.COMPENSATION_APPLIED, {"compensation": row.pk, "invoice_reference": ref})
        done.append(row)

    _run(
        case_id=credit.case_id,
        actor=actor,
        now=now,
        permission=Work.APPLY_COMPENSATION,
        expected_version=None,
        body=body,
    )
    return done[0]


# --------------------------------------------------------------------------- messages

#: What delivering a message that ``meets`` a promise records on the case.
_MEETS = ("acknowledge", "introduce_handler", "update")


def case_message_delivered(
    *,
    outbox_id: int,
    actor: Actor,
    now: datetime,
    at: datetime | None = None,
) -> Case:
    """A message reached its recipient: an email accepted by the server (the sender, as the
    system), a letter posted or a call made (staff). Marks the outbox row sent (once: a second
    call is refused) and, when the message ``meets`` a promise, records that fact at the time
    of delivery, so the clock is met by delivery and not by writing (an acknowledgement
    queued for the post is not an acknowledgement until it is posted)."""
    from amends.comms.models import OutboxMessage, OutboxStatus

    if isinstance(outbox_id, bool) or not isinstance(outbox_id, int):
        raise CaseError("No such message.", code=ErrorCode.NOT_FOUND)
    row = (
        OutboxMessage.objects.filter(pk=outbox_id, provider_id=actor.provider_id)
        .only("case_id", "audience")
        .first()
    )
    if row is None or row.case_id is None:
        raise CaseError("No such message.", code=ErrorCode.NOT_FOUND)
    if actor.kind is ActorKind.CUSTOMER:
        raise CaseError("Only staff or the system record a delivery.", code=ErrorCode.FORBIDDEN)
    done: list[Case] = []

    def body(w: CaseWrite) -> None:
        message = OutboxMessage.objects.select_for_update().get(pk=outbox_id)
        if message.status == OutboxStatus.SENT:
            raise CaseError(
                f"This message was already delivered on {uk_date(message.sent_at or w.now)}.",
                field="outbox_id",
            )
        when = _when(w, at)
        message.status = OutboxStatus.SENT
        message.sent_at = when
        message.delivered_by = actor.label if actor.kind is not ActorKind.SYSTEM else ""
        message.save(update_fields=["status", "sent_at", "delivered_by"])
        data: dict[str, Any] = {
            "message": message.pk,
            "kind": message.kind,
            "channel": message.channel,
        }
        if when != w.now:
            data["at"] = when.isoformat()
        case = w.case
        if message.audience == "customer" and message.meets in _MEETS:
            if message.meets == "acknowledge":
                if case.state == State.RECEIVED.value:
                    transition(
                        w,
                        Action.ACKNOWLEDGE,
                        at=when,
                        record=lambda c, d: _acknowledged(c, when),
                    )
                else:
                    _acknowledged(case, when)
            elif message.meets == "introduce_handler":
                case.handler_introduced_at = case.handler_introduced_at or when
                case.first_contact_at = case.first_contact_at or when
            elif message.meets == "update":
                _update_given(case, when)
            data["meets"] = message.meets
        if (
            message.kind == OutboxKind.ADR_LETTER.value
            and message.channel == "post"
            and case.adr_letter_dated_at is None
        ):
            # The posting date is the letter's date of issue: the ADR clock is met by it and
            # the customer's 12 months run from it (the printed letter bears it).
            case.adr_letter_dated_at = when
            data["adr_letter_dated"] = when.isoformat()
        w.event(EventKind.MESSAGE_DELIVERED, data)
        done.append(case)

    # A delivery by hand (post, call) is staff work; the sender is the system.
    permission: Permission = Work.OPEN_CASE if actor.kind is ActorKind.SYSTEM else Work.LOG_CALL
    _run(
        case_id=row.case_id,
        actor=actor,
        now=now,
        permission=permission,
        expected_version=None,
        body=body,
        merged_too=True,  # a message written before the merge still reaches its person
    )
    return done[0]


def _acknowledged(case: Case, when: datetime) -> None:
    case.acknowledged_at = case.acknowledged_at or when
    case.first_contact_at = case.first_contact_at or when


def case_message_received(
    *,
    case_id: int,
    actor: Actor,
    message: int,
    summary: str,
    now: datetime,
    received_at: datetime | None = None,
    dissatisfied: bool = False,
) -> Case:
    """A message from the customer landed on this case (an email threaded onto it, a portal
    reply): on the timeline, with its id. A message that expresses dissatisfaction turns a
    query, support request or abuse report into a complaint (first receipt kept) and
    re-opens a resolved or closed case: erring towards "complaint" is the safe side."""
    text = v.text(summary, field="summary", label="Summary", max_length=300)

    def body(w: CaseWrite) -> None:
        when = received_at or w.now
        v.happened(when, field="received_at", label="When it arrived", now=w.now, not_before=None)
        case = w.case
        if dissatisfied:
            if case.state in (State.RESOLVED.value, State.CLOSED.value, State.WITHDRAWN.value):
                transition(
                    w,
                    Action.REOPEN,
                    at=w.now,
                    record=reopen_facts("the customer wrote in, dissatisfied"),
                )
            if case.kind != CaseKind.COMPLAINT.value:
                transition(
                    w,
                    Action.CONVERT_TO_COMPLAINT,
                    at=w.now,
                    record=convert_facts("the customer's message expresses dissatisfaction", w.now),
                )
        w.event(
            EventKind.MESSAGE_RECEIVED,
            {
                "message": message,
                "summary": text,
                "received_at": when.isoformat(),
                "dissatisfied": dissatisfied,
            },
        )

    return _run(
        case_id=case_id,
        actor=actor,
        now=now,
        permission=Work.OPEN_CASE if actor.kind is ActorKind.SYSTEM else Work.ADD_NOTE,
        expected_version=None,
        body=body,
    )


# --------------------------------------------------------------------------- case links

#: How long a customer's private link works (re-sent on request to the address on file).


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def case_link_create(
    *, case_id: int, actor: Actor, now: datetime, lifetime: timedelta = LINK_LIFETIME
) -> tuple[CaseLink, str]:
    """A new private link for the customer: (the stored link, the token, shown once). Only
    the token's hash is stored."""
    return _new_link(case_id=case_id, actor=actor, now=now, lifetime=lifetime, url_for=None)


def case_link_send(
    *,
    case_id: int,
    actor: Actor,
    now: datetime,
    url_for: Callable[[str], str],
    lifetime: timedelta = LINK_LIFETIME,
) -> CaseLink:
    """A new private link, sent to the customer by their channel (the "send me my link again"
    page, or staff): the token goes only into that message; the earlier links keep working
    until they expire."""
    link, _ = _new_link(case_id=case_id, actor=actor, now=now, lifetime=lifetime, url_for=url_for)
    return link


def _new_link(
    *,
    case_id: int,
    actor: Actor,
    now: datetime,
    lifetime: timedelta,
    url_for: Callable[[str], str] | None,
) -> tuple[CaseLink, str]:
    if not timedelta(minutes=5) <= lifetime <= timedelta(days=366):
        raise v.invalid("lifetime", "A case link lives between five minutes and a year.")
    token = secrets.token_urlsafe(32)
    made: list[CaseLink] = []

    def body(w: CaseWrite) -> None:
        link = CaseLink.objects.create(
            provider_id=w.case.provider_id,
            case=w.case,
            token_hash=token_hash(token),
            created_at=w.now,
            expires_at=w.now + lifetime,
        )
        w.event(
            EventKind.CASE_LINK_SENT, {"link": link.pk, "expires_at": link.expires_at.isoformat()}
        )
        if url_for is not None:
            w.to_customer(
                OutboxKind.CASE_LINK,
                f"case:{w.case.pk}:case_link:{link.pk}",
                url=url_for(token),
                expires=link.expires_at.isoformat(),
            )
        made.append(link)

    permission: Permission = Work.SEND_CASE_LINK
    if actor.kind is ActorKind.SYSTEM:
        permission = Work.OPEN_CASE
    _run(
        case_id=case_id,
        actor=actor,
        now=now,
        permission=permission,
        expected_version=None,
        body=body,
    )
    return made[0], token


__all__ = [
    "AdrTrigger",
    "CONTACT_METHODS",
    "case_accept_decision",
    "case_accept_resolution",
    "case_acknowledge",
    "case_add_note",
    "case_agree_updates",
    "case_assign",
    "case_close",
    "case_complete_remedy",
    "case_convert_to_complaint",
    "case_declare_deadlock",
    "case_escalate",
    "case_introduce_handler",
    "case_investigate",
    "case_issue_adr_letter",
    "case_link_create",
    "case_link_send",
    "case_message_delivered",
    "case_message_received",
    "case_log_call",
    "case_open",
    "case_propose_resolution",
    "case_record_compensation",
    "case_record_scheme_decision",
    "case_record_update",
    "case_refer_to_scheme",
    "case_reject_resolution",
    "case_reopen",
    "case_request_adr_letter",
    "case_scheme_declined",
    "case_withdraw",
    "compensation_mark_applied",
    "customer_create",
    "token_hash",
]
