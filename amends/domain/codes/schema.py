"""The format: pydantic v2 models of a code file as TOML gives it, and their validators.

Every key is documented in :mod:`amends.domain.codes`; the loader (:mod:`.loader`) validates a
document with :class:`CodeFile` and builds the domain (:mod:`.model`) from it.
"""

from __future__ import annotations

import json
import re
from datetime import date, time
from typing import Annotated, Final

from pydantic import (
    BaseModel,
    ConfigDict,
    PlainValidator,
    StrictBool,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from amends.domain.codes.durations import DURATION_FORMS, Duration
from amends.domain.codes.vocabulary import (
    _DAY_NAMES,
    PROMISE_KINDS,
    AdrContactType,
    AltFormat,
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
    "FORMAT_VERSION",
    "AccessibilitySection",
    "AdrContactSection",
    "AdrSection",
    "CaseKindSection",
    "CaseKindsSection",
    "ChannelSection",
    "Clock",
    "CodeFile",
    "CodeSection",
    "CommentsSection",
    "CompensationSection",
    "ConditionSection",
    "Days",
    "DurationText",
    "EscalationSection",
    "HoursSection",
    "InfoItemSection",
    "IntakeSection",
    "Lines",
    "PromiseSection",
    "ProviderSection",
    "Text",
    "WorkingHoursSection",
]

FORMAT_VERSION: Final = 1


def _custom(kind: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(kind, message)


def _show(value: object) -> str:
    """A short TOML-ish rendering of a bad value for an error message."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = json.dumps(value, ensure_ascii=False)
        return shown if len(shown) <= 60 else shown[:57] + '..."'
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, date | time):
        return value.isoformat()
    return repr(value)


def _duration_text(value: object) -> str:
    if not isinstance(value, str):
        raise _custom(
            "duration", f"expected a duration such as {DURATION_FORMS}, got {_show(value)}"
        )
    try:
        Duration.parse(value)
    except ValueError as exc:
        raise _custom("duration", str(exc).replace(repr(value), _show(value))) from None
    return value


def _clock(value: object) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, str):
        match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value.strip())
        if match:
            return time(int(match[1]), int(match[2]))
    raise _custom("clock", f'expected a time of day such as "09:00", got {_show(value)}')


_DAY_ALIASES: Final = {
    **{day.value: day for day in Weekday},
    **{name.lower(): day for name, day in zip(_DAY_NAMES, Weekday, strict=True)},
}


def _days(value: object) -> tuple[Weekday, ...]:
    expected = 'expected days such as "mon-fri" or ["mon", "tue", "wed"]'
    if isinstance(value, str):
        parts = [part.strip().lower() for part in value.split("-")]
        if len(parts) == 2 and all(part in _DAY_ALIASES for part in parts):
            first, last = (_DAY_ALIASES[part].number for part in parts)
            if first <= last:
                return tuple(list(Weekday)[first : last + 1])
        if len(parts) == 1 and parts[0] in _DAY_ALIASES:
            return (_DAY_ALIASES[parts[0]],)
        raise _custom("days", f"{expected}, got {_show(value)}")
    if isinstance(value, list) and value:
        days: list[Weekday] = []
        for item in value:
            if not isinstance(item, str) or item.strip().lower() not in _DAY_ALIASES:
                raise _custom("days", f"{expected}, got {_show(item)} in the list")
            day = _DAY_ALIASES[item.strip().lower()]
            if day in days:
                raise _custom("days", f"expected each day once, got {_show(item)} twice")
            days.append(day)
        return tuple(sorted(days, key=lambda day: day.number))
    raise _custom("days", f"{expected}, got {_show(value)}")


def _lines(value: object) -> str:
    """A string, or a list of lines (a postal address) joined with newlines."""
    if isinstance(value, str) and value.strip():
        return "\n".join(line.strip() for line in value.strip().splitlines() if line.strip())
    if isinstance(value, list) and value and all(isinstance(v, str) and v.strip() for v in value):
        return "\n".join(str(v).strip() for v in value)
    raise _custom(
        "text", f"expected a non-empty string or a list of non-empty lines, got {_show(value)}"
    )


def _text(value: object) -> str:
    if isinstance(value, str) and value.strip():
        return " ".join(value.split())
    raise _custom("text", f"expected non-empty text, got {_show(value)}")


DurationText = Annotated[str, PlainValidator(_duration_text)]
Clock = Annotated[time, PlainValidator(_clock)]
Days = Annotated[tuple[Weekday, ...], PlainValidator(_days)]
Lines = Annotated[str, PlainValidator(_lines)]
Text = Annotated[str, PlainValidator(_text)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class CodeSection(_Model):
    title: Text
    version: Text | None = None
    effective_from: date | None = None
    references: list[Text] = []

    @field_validator("effective_from", mode="before")
    @classmethod
    def _toml_date(cls, value: object) -> object:
        if isinstance(value, date) or value is None:
            return value
        raise _custom("date", f"expected a TOML date such as 2026-04-08, got {_show(value)}")


class ProviderSection(_Model):
    name: Text
    trading_name: Text | None = None
    company_number: Text | None = None
    website: Text | None = None
    address: list[Text] = []
    customers: list[CustomerType] = []


class HoursSection(_Model):
    days: Days
    opens: Clock
    closes: Clock
    bank_holidays: StrictBool = False

    @model_validator(mode="after")
    def _closes_after_opens(self) -> HoursSection:
        if self.closes <= self.opens:
            raise _custom(
                "hours",
                f"expected closes after opens, got opens {self.opens:%H:%M} "
                f"and closes {self.closes:%H:%M}",
            )
        return self


class WorkingHoursSection(HoursSection):
    nation: Nation


class ChannelSection(_Model):
    type: ChannelType
    value: Lines | None = None
    purposes: list[Purpose]
    label: Text | None = None
    audience: Text | None = None
    hours: HoursSection | None = None
    notes: Text | None = None

    @field_validator("purposes")
    @classmethod
    def _some_purpose(cls, value: list[Purpose]) -> list[Purpose]:
        if not value:
            raise _custom("purposes", "expected at least one purpose, got an empty list")
        return value


class InfoItemSection(_Model):
    key: Annotated[str, PlainValidator(lambda v: _key(v))]
    label: Text


def _key(value: object) -> str:
    if isinstance(value, str) and re.fullmatch(r"[a-z][a-z0-9_]*", value):
        return value
    raise _custom(
        "key", f'expected a key in snake_case such as "account_number", got {_show(value)}'
    )


class IntakeSection(_Model):
    collect: list[InfoItemSection] = []
    identity_checks: list[Text] = []


class ConditionSection(_Model):
    channel: list[ChannelType] | None = None
    support_contract: StrictBool | None = None


def _promise_kind(value: object) -> ObligationKind:
    allowed = ", ".join(kind.value for kind in PROMISE_KINDS)
    if isinstance(value, str) and value in {kind.value for kind in PROMISE_KINDS}:
        return ObligationKind(value)
    hint = {
        "adr_letter": " (the ADR point is written once, as [adr].after)",
        "escalation_review": " (write it as review_within on an [[escalation]] level)",
        "adr_remedy": " (the remedy deadline comes from the ADR scheme's rules)",
    }.get(value if isinstance(value, str) else "", "")
    raise _custom("kind", f"expected one of {allowed}, got {_show(value)}{hint}")


class PromiseSection(_Model):
    kind: Annotated[ObligationKind, PlainValidator(_promise_kind)]
    within: DurationText | None = None
    every: DurationText | None = None
    agreed: StrictBool = False
    when: ConditionSection | None = None
    detail: Text | None = None

    @model_validator(mode="after")
    def _one_timing(self) -> PromiseSection:
        given = [name for name in ("within", "every") if getattr(self, name) is not None]
        if self.agreed:
            given.append("agreed")
        if len(given) > 1:
            raise _custom(
                "timing",
                f"expected at most one of within, every and agreed, got {' and '.join(given)}",
            )
        if (self.every is not None or self.agreed) and self.kind is not ObligationKind.UPDATE:
            raise _custom(
                "timing",
                f"expected within for a promise of kind {self.kind.value}, got a cadence "
                "(every and agreed are for kind update)",
            )
        return self


class CaseKindSection(_Model):
    label: Text | None = None
    description: Text | None = None
    promises: list[PromiseSection] = []


class CaseKindsSection(_Model):
    complaint: CaseKindSection | None = None
    account_query: CaseKindSection | None = None
    support_request: CaseKindSection | None = None
    abuse_report: CaseKindSection | None = None
    code_comment: CaseKindSection | None = None


class EscalationSection(_Model):
    role: Text
    trigger: Text | None = None
    review_within: DurationText | None = None
    detail: Text | None = None
    truncated: StrictBool = False


class ClosureSection(_Model):
    requires_customer_confirmation: StrictBool = False
    reopening: StrictBool = False
    detail: Text | None = None


class AdrContactSection(_Model):
    type: AdrContactType
    value: Lines


class AdrSection(_Model):
    scheme: Text | None = None
    after: DurationText | None = None
    deadlock_route: StrictBool = False
    states_free: StrictBool = False
    states_time_limit: StrictBool = False
    letter_unasked: StrictBool = False
    contacts: list[AdrContactSection] = []
    detail: Text | None = None


class CompensationSection(_Model):
    approach: CompensationApproach = CompensationApproach.NOT_STATED
    paid_as: list[PaymentMethod] = []
    detail: Text | None = None


class AccessibilitySection(_Model):
    statement: Text | None = None
    formats: list[AltFormat] = []


class CommentsSection(_Model):
    invited: StrictBool = False
    detail: Text | None = None


def _format_version(value: object) -> int:
    if value == FORMAT_VERSION and not isinstance(value, bool):
        return FORMAT_VERSION
    raise _custom(
        "format", f"expected {FORMAT_VERSION} (the code format version), got {_show(value)}"
    )


class CodeFile(_Model):
    """The whole file, as TOML gives it (validated; see the module docs for the keys)."""

    format: Annotated[int, PlainValidator(_format_version)]
    code: CodeSection
    provider: ProviderSection
    working_hours: WorkingHoursSection
    channels: list[ChannelSection] = []
    intake: IntakeSection = IntakeSection()
    case_kinds: CaseKindsSection = CaseKindsSection()
    escalation: list[EscalationSection] = []
    closure: ClosureSection = ClosureSection()
    adr: AdrSection | None = None
    compensation: CompensationSection = CompensationSection()
    accessibility: AccessibilitySection = AccessibilitySection()
    comments: CommentsSection = CommentsSection()
