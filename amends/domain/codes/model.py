"""The domain: a code of practice as frozen dataclasses, which the rest of Amends reads."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal
from typing import Final

from amends.domain.codes.durations import Duration
from amends.domain.codes.vocabulary import (
    AdrContactType,
    AltFormat,
    CaseKind,
    ChannelType,
    CompensationApproach,
    CustomerType,
    Nation,
    ObligationKind,
    PaymentMethod,
    Purpose,
    Weekday,
)

__all__ = [
    "Accessibility",
    "AdrContact",
    "AdrRoute",
    "CaseFacts",
    "CaseKindSpec",
    "Channel",
    "Closure",
    "Code",
    "CodeMeta",
    "Comments",
    "Compensation",
    "Condition",
    "EscalationLevel",
    "InfoItem",
    "Intake",
    "OpeningHours",
    "Promise",
    "Provider",
    "format_clock",
    "iter_promises",
    "published_texts",
]


@dataclass(frozen=True, slots=True)
class OpeningHours:
    days: tuple[Weekday, ...]
    opens: time
    closes: time
    bank_holidays: bool = False

    @property
    def hours_per_day(self) -> Decimal:
        minutes = (self.closes.hour * 60 + self.closes.minute) - (
            self.opens.hour * 60 + self.opens.minute
        )
        return Decimal(minutes) / 60

    def describe_days(self) -> str:
        days = sorted(self.days, key=lambda day: day.number)
        indices = [day.number for day in days]
        if len(days) > 2 and indices == list(range(indices[0], indices[-1] + 1)):
            return f"{days[0].label} to {days[-1].label}"
        if len(days) == 1:
            return days[0].label
        return ", ".join(day.label for day in days[:-1]) + f" and {days[-1].label}"

    def describe(self) -> str:
        """'Monday to Friday, 9am to 5:30pm, except bank holidays'."""
        text = f"{self.describe_days()}, {format_clock(self.opens)} to {format_clock(self.closes)}"
        return text if self.bank_holidays else f"{text}, except bank holidays"


def format_clock(moment: time) -> str:
    """9am, 5:30pm, 12 noon: the style of GOV.UK's A to Z."""
    if moment.hour == 12 and moment.minute == 0:
        return "12 noon"
    if moment.hour == 0 and moment.minute == 0:
        return "midnight"
    hour = moment.hour % 12 or 12
    suffix = "am" if moment.hour < 12 else "pm"
    return f"{hour}{suffix}" if moment.minute == 0 else f"{hour}:{moment.minute:02d}{suffix}"


@dataclass(frozen=True, slots=True)
class CodeMeta:
    title: str
    version: str | None
    effective_from: date | None
    references: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    trading_name: str | None
    company_number: str | None
    website: str | None
    address: tuple[str, ...]
    customers: tuple[CustomerType, ...]

    @property
    def display_name(self) -> str:
        return self.trading_name or self.name


@dataclass(frozen=True, slots=True)
class Channel:
    type: ChannelType
    value: str | None
    purposes: frozenset[Purpose]
    label: str | None
    audience: str | None
    hours: OpeningHours | None
    notes: str | None
    path: str

    @property
    def lines(self) -> tuple[str, ...]:
        """The value split into lines (a postal address has several)."""
        return tuple(self.value.split("\n")) if self.value else ()

    def serves(self, purpose: Purpose) -> bool:
        return purpose in self.purposes


@dataclass(frozen=True, slots=True)
class InfoItem:
    key: str
    label: str


@dataclass(frozen=True, slots=True)
class Intake:
    collect: tuple[InfoItem, ...]
    identity_checks: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What is known of a case when its promises are chosen; None means unknown."""

    channel: ChannelType | None = None
    support_contract: bool | None = None


@dataclass(frozen=True, slots=True)
class Condition:
    """When a promise holds. Empty means always; an unknown fact matches (module docs)."""

    channels: frozenset[ChannelType] | None = None
    support_contract: bool | None = None

    @property
    def always(self) -> bool:
        return self.channels is None and self.support_contract is None

    def matches(self, facts: CaseFacts) -> bool:
        if (
            self.channels is not None
            and facts.channel is not None
            and facts.channel not in self.channels
        ):
            return False
        return not (
            self.support_contract is not None
            and facts.support_contract is not None
            and facts.support_contract != self.support_contract
        )

    def describe(self) -> str:
        """'if you contact us by email or post and you have a support contract', or ''."""
        parts: list[str] = []
        if self.channels is not None:
            names = [_CHANNEL_PHRASES[c] for c in ChannelType if c in self.channels]
            joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
            parts.append(f"if you contact us {joined}")
        if self.support_contract is not None:
            parts.append(
                "if you have a support and maintenance contract with us"
                if self.support_contract
                else "if you do not have a support contract with us"
            )
        return " and ".join(parts)


_CHANNEL_PHRASES: Final = {
    ChannelType.PHONE: "by phone",
    ChannelType.EMAIL: "by email",
    ChannelType.WEB_FORM: "through our online form",
    ChannelType.POST: "by post",
    ChannelType.FAX: "by fax",
    ChannelType.TEXTPHONE: "by textphone",
    ChannelType.ACCOUNT_MANAGER: "through your account manager",
}


@dataclass(frozen=True, slots=True)
class Promise:
    kind: ObligationKind
    within: Duration | None
    every: Duration | None
    agreed: bool
    condition: Condition
    detail: str | None
    path: str

    @property
    def duration(self) -> Duration | None:
        return self.within or self.every

    @property
    def repeats(self) -> bool:
        return self.every is not None or self.agreed


@dataclass(frozen=True, slots=True)
class CaseKindSpec:
    kind: CaseKind
    label: str
    description: str | None
    promises: tuple[Promise, ...]
    path: str


@dataclass(frozen=True, slots=True)
class EscalationLevel:
    level: int
    role: str
    trigger: str | None
    review_within: Duration | None
    detail: str | None
    path: str
    #: The source text of the role is cut off (kept as written, flagged by ``check``).
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class Closure:
    requires_customer_confirmation: bool
    reopening: bool
    detail: str | None


@dataclass(frozen=True, slots=True)
class AdrContact:
    type: AdrContactType
    value: str
    path: str

    @property
    def lines(self) -> tuple[str, ...]:
        return tuple(self.value.split("\n"))


@dataclass(frozen=True, slots=True)
class AdrRoute:
    """The ADR route as the code states it (which may be wrong: ``check`` says how)."""

    scheme: str | None
    after: Duration | None
    deadlock_route: bool
    states_free: bool
    states_time_limit: bool
    letter_unasked: bool
    contacts: tuple[AdrContact, ...]
    detail: str | None


@dataclass(frozen=True, slots=True)
class Compensation:
    approach: CompensationApproach
    paid_as: tuple[PaymentMethod, ...]
    detail: str | None


@dataclass(frozen=True, slots=True)
class Accessibility:
    statement: str | None
    formats: tuple[AltFormat, ...]

    @property
    def says_anything(self) -> bool:
        return bool(self.statement) or bool(self.formats)


@dataclass(frozen=True, slots=True)
class Comments:
    invited: bool
    detail: str | None


@dataclass(frozen=True, slots=True)
class Code:
    """A provider's complaints Code of Practice: everything the published code says."""

    filename: str
    meta: CodeMeta
    provider: Provider
    nation: Nation
    working_hours: OpeningHours
    channels: tuple[Channel, ...]
    intake: Intake
    case_kinds: tuple[CaseKindSpec, ...]
    escalation: tuple[EscalationLevel, ...]
    closure: Closure
    adr: AdrRoute | None
    compensation: Compensation
    accessibility: Accessibility
    comments: Comments

    def case_kind(self, kind: CaseKind) -> CaseKindSpec | None:
        for spec in self.case_kinds:
            if spec.kind is kind:
                return spec
        return None

    def channels_for(self, purpose: Purpose) -> tuple[Channel, ...]:
        return tuple(channel for channel in self.channels if channel.serves(purpose))

    @property
    def hours_per_day(self) -> Decimal:
        return self.working_hours.hours_per_day


def iter_promises(code: Code) -> Iterable[tuple[CaseKindSpec, Promise]]:
    for spec in code.case_kinds:
        for promise in spec.promises:
            yield spec, promise


def published_texts(code: Code) -> tuple[tuple[str, str], ...]:
    """Every free text of the code that is published word for word, with its path: what
    ``check`` reads for the facts the rules govern, and what the published code must show."""
    texts: list[tuple[str, str | None]] = []
    for channel in code.channels:
        texts.append((f"{channel.path}.notes", channel.notes))
    for index, item in enumerate(code.intake.collect):
        texts.append((f"intake.collect[{index}].label", item.label))
    for index, sentence in enumerate(code.intake.identity_checks):
        texts.append((f"intake.identity_checks[{index}]", sentence))
    for spec in code.case_kinds:
        texts.append((f"{spec.path}.description", spec.description))
        for promise in spec.promises:
            texts.append((f"{promise.path}.detail", promise.detail))
    for level in code.escalation:
        texts.append((f"{level.path}.trigger", level.trigger))
        texts.append((f"{level.path}.detail", level.detail))
    texts.append(("closure.detail", code.closure.detail))
    if code.adr is not None:
        texts.append(("adr.detail", code.adr.detail))
    texts.append(("compensation.detail", code.compensation.detail))
    texts.append(("accessibility.statement", code.accessibility.statement))
    texts.append(("comments.detail", code.comments.detail))
    return tuple((path, text) for path, text in texts if text)
