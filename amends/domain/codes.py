"""A provider's complaints Code of Practice as data: the file format, its loader, the model.

A code is a TOML file (the three shipped ones are in ``amends/codes/``). The loader parses it
with :mod:`tomllib`, validates it with pydantic v2 models (the *format*), and turns it into the
frozen dataclasses below (the *domain*), which the rest of Amends reads: the checks
(:mod:`amends.domain.checks`), the law's floors (:mod:`amends.domain.regulation`), the published
code (``amends.codes.render``) and, later, the clocks of every case. Pure Python: never Django.

The format, key by key
======================
Top level ``format = 1`` (the version of this format; a file without it is rejected), then:

``[code]``
    ``title``, ``version`` (free text, e.g. ``"Vsn 1.3"``), ``effective_from`` (a TOML date),
    ``references`` (the regulatory provisions the code quotes, e.g. ``["GC 14.4"]``).
    Version and date are optional because the seeds lack them; ``check`` warns.
``[provider]``
    ``name`` (required), ``trading_name``, ``company_number``, ``website``, ``address``
    (a list of lines) and ``customers`` (``"domestic"``, ``"small_business"``).
``[working_hours]``
    ``nation`` (``"england-and-wales"``, ``"scotland"``, ``"northern-ireland"``: the bank
    holidays that apply), ``days`` (``"mon-fri"`` or ``["mon", "tue", ...]``), ``opens`` and
    ``closes`` (``"09:00"``), ``bank_holidays`` (open on bank holidays? default false).
``[[channels]]``
    ``type``: ``phone``, ``email``, ``web_form``, ``post``, ``fax``, ``textphone``,
    ``account_manager``; ``value`` (the number, address or URL; a list of lines for
    ``post``; optional because a seed names channels without giving them, and ``check`` says
    so); ``purposes``: ``complaints``, ``customer_services``, ``support``, ``sales``,
    ``abuse``; optional ``label`` (the code's name for it), ``audience`` (who it is for, when a
    provider runs two lines for different customers), ``hours`` (a table like
    ``[working_hours]`` without ``nation``; absent means "any time" for written channels and
    "not stated" for voice), ``notes``.
``[intake]``
    ``collect``: what to include in a complaint, ``[{key = "account_number", label = "..."}]``;
    ``identity_checks``: the checks made before discussing an account, as sentences.
``[case_kinds.<kind>]``, kinds ``complaint``, ``account_query`` (account or sales query),
``support_request``, ``abuse_report``, ``code_comment`` (a comment on the code)
    ``label``, ``description`` and ``[[case_kinds.<kind>.promises]]``, each with ``kind`` (the
    obligation, a stable key: ``acknowledge``, ``introduce_handler``, ``first_response``,
    ``agree_updates``, ``update``, ``resolve``), at most one of ``within`` (a deadline) and
    ``every`` (a cadence, for ``update``), or ``agreed = true`` (a cadence agreed with the
    customer); ``when`` (conditions: ``{channel = ["email", "post"]}``,
    ``{support_contract = true}``), and ``detail`` (one more sentence for the published code).
    A promise with no time at all is allowed, because the seeds make some ("we will send a
    confirmation email"); ``check`` warns that no clock can be kept for it.
``[[escalation]]``
    The ladder, lowest first: ``role``, ``trigger`` (when a customer reaches it),
    ``review_within`` (the review's target, counted from the escalation), ``detail``.
``[closure]``
    ``requires_customer_confirmation`` (closes only when the customer confirms it is
    resolved), ``reopening`` (a complaint can be re-opened), ``detail``.
``[adr]``
    The route to Alternative Dispute Resolution *as the code states it*, defects included:
    ``scheme`` (the body named, e.g. ``"Ombudsman Services"`` or ``"Ofcom"``), ``after`` (the
    time point, e.g. ``"8 weeks"``), ``deadlock_route`` (says a customer can go at deadlock),
    ``states_free`` (says ADR is free), ``states_time_limit`` (says the 12 months),
    ``letter_unasked`` (promises the ADR letter without being asked), ``[[adr.contacts]]``
    (``type`` = ``post``, ``phone``, ``textphone``, ``fax``, ``email``, ``website``; ``value``)
    and ``detail``. The ADR letter's deadline lives here only (a promise of kind
    ``adr_letter`` is rejected), so that the code cannot state it twice.
``[compensation]``
    ``approach`` (``case_by_case``, ``fixed_scheme``, ``not_stated``), ``paid_as``
    (``invoice_credit``, ``refund``, ``bank_transfer``, ``cheque``, ``as_agreed``), ``detail``.
``[accessibility]``
    ``statement`` and ``formats`` (``large_print``, ``braille``, ``audio``, ``easy_read``,
    ``text_relay``, ``bsl``, ``translation``).
``[comments]``
    ``invited`` (the code invites comments on itself) and ``detail``.

Unknown keys are errors (a typo must not silently drop a promise). Booleans must be TOML
booleans, durations strings.

Durations
=========
"24 working hours", "1.5 working hours", "10 working days", "5 business days" (business means
working), "48 hours", "28 days", "8 weeks", "1 week" parse into :class:`Duration` with units
``working_hours``, ``working_days``, ``hours``, ``days``, ``weeks``. Only hours may be
fractional. Anything else is rejected with the path and the accepted forms.

Comparing durations (which promise is stricter) is exact for the same unit, and for calendar
units (hours, days = 24 h, weeks = 7 days). Working time has no fixed calendar length, so it is
compared through *bounds*: working hours against working days by the working time each holds
(:meth:`Duration.working_bounds`), working against calendar time by the least and the most
calendar time the working time can take (:meth:`Duration.calendar_bounds`). One duration is
certainly at most another only when its longest possible span is no longer than the other's
shortest; otherwise the answer is "it depends on the start" (``None``). The case clocks
compute the real due instants with :mod:`amends.domain.calendar`; these bounds are only for
deciding, without a start instant, which of two promises binds.

Conditions
==========
A promise's ``when`` holds when every condition it names matches the facts of a case
(:class:`CaseFacts`). A fact the caller does not know (``None``) matches: Amends keeps a promise
it cannot rule out rather than drop a clock (the stricter reading).

Errors
======
:func:`load_code` and :func:`parse_code` raise :class:`CodeFileError`, whose ``problems`` each
carry a path in the file (``channels[2].value``, ``case_kinds.complaint.promises[0].within``)
or a line and column for TOML syntax errors, and a message "expected X, got Y".
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Final, Literal, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    PlainValidator,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

__all__ = [
    "AdrContact",
    "AdrContactType",
    "AdrRoute",
    "AltFormat",
    "Accessibility",
    "CaseFacts",
    "CaseKind",
    "CaseKindSpec",
    "Channel",
    "ChannelType",
    "Closure",
    "Code",
    "CodeFileError",
    "CodeMeta",
    "Comments",
    "Compensation",
    "CompensationApproach",
    "Condition",
    "CustomerType",
    "Duration",
    "DurationUnit",
    "EscalationLevel",
    "InfoItem",
    "Intake",
    "Nation",
    "ObligationKind",
    "OpeningHours",
    "PaymentMethod",
    "Problem",
    "Promise",
    "Provider",
    "Purpose",
    "Weekday",
    "code_from_mapping",
    "load_code",
    "parse_code",
]

FORMAT_VERSION: Final = 1


# --------------------------------------------------------------------------- vocabularies


class Nation(StrEnum):
    """The UK bank-holiday divisions, named as GOV.UK's bank-holidays.json names them."""

    ENGLAND_AND_WALES = "england-and-wales"
    SCOTLAND = "scotland"
    NORTHERN_IRELAND = "northern-ireland"

    @property
    def label(self) -> str:
        return {
            Nation.ENGLAND_AND_WALES: "England and Wales",
            Nation.SCOTLAND: "Scotland",
            Nation.NORTHERN_IRELAND: "Northern Ireland",
        }[self]


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"

    @property
    def number(self) -> int:
        """Monday is 0, as :meth:`datetime.date.weekday` counts."""
        return list(Weekday).index(self)

    @property
    def label(self) -> str:
        return _DAY_NAMES[self.number]


_DAY_NAMES: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class ChannelType(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    WEB_FORM = "web_form"
    POST = "post"
    FAX = "fax"
    TEXTPHONE = "textphone"
    ACCOUNT_MANAGER = "account_manager"

    @property
    def label(self) -> str:
        return {
            ChannelType.PHONE: "Phone",
            ChannelType.EMAIL: "Email",
            ChannelType.WEB_FORM: "Online form",
            ChannelType.POST: "Post",
            ChannelType.FAX: "Fax",
            ChannelType.TEXTPHONE: "Textphone",
            ChannelType.ACCOUNT_MANAGER: "Your account manager",
        }[self]

    @property
    def is_dialled(self) -> bool:
        """A channel reached by dialling a number (and so one that can cost callers extra)."""
        return self in (ChannelType.PHONE, ChannelType.FAX, ChannelType.TEXTPHONE)


class Purpose(StrEnum):
    COMPLAINTS = "complaints"
    CUSTOMER_SERVICES = "customer_services"
    SUPPORT = "support"
    SALES = "sales"
    ABUSE = "abuse"


class CustomerType(StrEnum):
    DOMESTIC = "domestic"
    SMALL_BUSINESS = "small_business"


class CaseKind(StrEnum):
    COMPLAINT = "complaint"
    ACCOUNT_QUERY = "account_query"
    SUPPORT_REQUEST = "support_request"
    ABUSE_REPORT = "abuse_report"
    CODE_COMMENT = "code_comment"

    @property
    def label(self) -> str:
        return {
            CaseKind.COMPLAINT: "Complaint",
            CaseKind.ACCOUNT_QUERY: "Account or sales query",
            CaseKind.SUPPORT_REQUEST: "Support request",
            CaseKind.ABUSE_REPORT: "Abuse report",
            CaseKind.CODE_COMMENT: "Comment on this code",
        }[self]


class ObligationKind(StrEnum):
    """Stable keys for what a promise obliges the provider to do (the clocks' kinds)."""

    ACKNOWLEDGE = "acknowledge"
    INTRODUCE_HANDLER = "introduce_handler"
    FIRST_RESPONSE = "first_response"
    AGREE_UPDATES = "agree_updates"
    UPDATE = "update"
    RESOLVE = "resolve"
    #: From the escalation ladder's ``review_within``, never written as a promise.
    ESCALATION_REVIEW = "escalation_review"
    #: From ``[adr].after`` and the law, never written as a promise.
    ADR_LETTER = "adr_letter"
    #: From the ADR scheme's rules (remedy after the customer accepts a decision).
    ADR_REMEDY = "adr_remedy"


#: Obligation kinds a file may write under ``promises``.
PROMISE_KINDS: Final = (
    ObligationKind.ACKNOWLEDGE,
    ObligationKind.INTRODUCE_HANDLER,
    ObligationKind.FIRST_RESPONSE,
    ObligationKind.AGREE_UPDATES,
    ObligationKind.UPDATE,
    ObligationKind.RESOLVE,
)


class AdrContactType(StrEnum):
    POST = "post"
    PHONE = "phone"
    TEXTPHONE = "textphone"
    FAX = "fax"
    EMAIL = "email"
    WEBSITE = "website"

    @property
    def label(self) -> str:
        return {
            AdrContactType.POST: "Post",
            AdrContactType.PHONE: "Phone",
            AdrContactType.TEXTPHONE: "Textphone",
            AdrContactType.FAX: "Fax",
            AdrContactType.EMAIL: "Email",
            AdrContactType.WEBSITE: "Website",
        }[self]


class CompensationApproach(StrEnum):
    CASE_BY_CASE = "case_by_case"
    FIXED_SCHEME = "fixed_scheme"
    NOT_STATED = "not_stated"


class PaymentMethod(StrEnum):
    INVOICE_CREDIT = "invoice_credit"
    REFUND = "refund"
    BANK_TRANSFER = "bank_transfer"
    CHEQUE = "cheque"
    AS_AGREED = "as_agreed"


class AltFormat(StrEnum):
    LARGE_PRINT = "large_print"
    BRAILLE = "braille"
    AUDIO = "audio"
    EASY_READ = "easy_read"
    TEXT_RELAY = "text_relay"
    BSL = "bsl"
    TRANSLATION = "translation"

    @property
    def label(self) -> str:
        return {
            AltFormat.LARGE_PRINT: "large print",
            AltFormat.BRAILLE: "Braille",
            AltFormat.AUDIO: "audio",
            AltFormat.EASY_READ: "Easy Read",
            AltFormat.TEXT_RELAY: "Relay UK (text relay)",
            AltFormat.BSL: "British Sign Language (BSL) video relay",
            AltFormat.TRANSLATION: "other languages",
        }[self]


# --------------------------------------------------------------------------- durations


class DurationUnit(StrEnum):
    WORKING_HOURS = "working_hours"
    WORKING_DAYS = "working_days"
    HOURS = "hours"
    DAYS = "days"
    WEEKS = "weeks"

    @property
    def is_working_time(self) -> bool:
        return self in (DurationUnit.WORKING_HOURS, DurationUnit.WORKING_DAYS)


DURATION_FORMS: Final = (
    '"24 working hours", "1.5 working hours", "10 working days", "5 business days", '
    '"48 hours", "28 days" or "8 weeks"'
)

_DURATION_RE: Final = re.compile(
    r"(?P<amount>\d+(?:\.\d+)?)\s+(?:(?P<working>working|business)\s+)?"
    r"(?P<unit>hours?|days?|weeks?)",
    re.IGNORECASE,
)

_HOUR: Final = Decimal(1)
_DAY_HOURS: Final = Decimal(24)
_WEEK_HOURS: Final = Decimal(168)
#: Working hours in a day when a code gives none, for bounding working hours in calendar time.
DEFAULT_HOURS_PER_DAY: Final = Decimal(7)


def _working_days_bounds_days(n: int) -> tuple[int, int]:
    """Least and most calendar days that ``n`` working days can take (see Duration docs)."""
    least = 7 * ((n - 1) // 5) + (n - 1) % 5
    holidays_allowance = 4 + n // 25
    most = 7 * math.ceil((n + holidays_allowance) / 5) + 2
    return least, most


@dataclass(frozen=True, slots=True)
class Duration:
    """A span a promise is kept within, as a code writes it ("10 working days").

    ``amount`` is a positive :class:`~decimal.Decimal`, whole except for hours.
    """

    amount: Decimal
    unit: DurationUnit

    def __post_init__(self) -> None:
        if self.amount <= 0:
            raise ValueError(f"a duration must be more than zero, got {self.amount}")
        hours = (DurationUnit.HOURS, DurationUnit.WORKING_HOURS)
        if self.unit not in hours and self.amount != self.amount.to_integral_value():
            raise ValueError(f"only hours may be fractional, got {self.amount} {self.unit}")

    @classmethod
    def parse(cls, text: str) -> Duration:
        """Parse "24 working hours", "8 weeks" ...; ValueError naming the accepted forms."""
        match = _DURATION_RE.fullmatch(text.strip()) if isinstance(text, str) else None
        if match is None:
            raise ValueError(f"expected a duration such as {DURATION_FORMS}, got {text!r}")
        try:
            amount = Decimal(match["amount"])
        except InvalidOperation as exc:  # pragma: no cover - the regex admits only numbers
            raise ValueError(f"expected a number, got {match['amount']!r}") from exc
        word = match["unit"].lower().rstrip("s")
        working = match["working"] is not None
        if working and word == "week":
            raise ValueError(
                f"expected a duration such as {DURATION_FORMS}, got {text!r} "
                "(weeks are always calendar weeks)"
            )
        unit = {
            ("hour", True): DurationUnit.WORKING_HOURS,
            ("day", True): DurationUnit.WORKING_DAYS,
            ("hour", False): DurationUnit.HOURS,
            ("day", False): DurationUnit.DAYS,
            ("week", False): DurationUnit.WEEKS,
        }[(word, working)]
        if amount <= 0:
            raise ValueError(f"expected a duration of more than zero, got {text!r}")
        if unit not in (DurationUnit.HOURS, DurationUnit.WORKING_HOURS) and (
            amount != amount.to_integral_value()
        ):
            raise ValueError(
                f"expected a whole number of {word}s (only hours may be fractional), got {text!r}"
            )
        return cls(amount.normalize() if amount == amount.to_integral_value() else amount, unit)

    @classmethod
    def of(cls, amount: int | str | Decimal, unit: DurationUnit | str) -> Duration:
        return cls(Decimal(amount), DurationUnit(unit))

    @property
    def whole(self) -> int:
        """The amount as an int (for days, weeks and whole hours)."""
        return int(self.amount)

    def __str__(self) -> str:
        amount = format(self.amount.normalize(), "f")
        noun = {
            DurationUnit.WORKING_HOURS: ("working hour", "working hours"),
            DurationUnit.WORKING_DAYS: ("working day", "working days"),
            DurationUnit.HOURS: ("hour", "hours"),
            DurationUnit.DAYS: ("day", "days"),
            DurationUnit.WEEKS: ("week", "weeks"),
        }[self.unit]
        return f"{amount} {noun[0] if self.amount == 1 else noun[1]}"

    def calendar_bounds(
        self, hours_per_day: Decimal = DEFAULT_HOURS_PER_DAY
    ) -> tuple[Decimal, Decimal]:
        """The least and the most calendar time, in hours, this duration can take.

        Calendar units are exact (a day is 24 hours, a week 7 days: the ADR weeks are calendar
        days, regulatory.md B9). Working time depends on the start and the holidays, so:

        * ``n`` working days take at least ``7*((n-1)//5) + (n-1)%5`` days (start late on a
          working day, no weekend or holiday but the ones five working days force) and at most
          ``7*ceil((n + 4 + n//25) / 5) + 2`` days: a weekend on either side, and room for four
          bank holidays (Scotland's Christmas and New Year cluster is the longest run) plus one
          more every 25 working days (the UK has 8 to 10 a year).
        * ``h`` working hours take at least ``h`` hours, and at most as long as
          ``ceil(h / hours_per_day) + 1`` working days (the start may be at closing time).
        """
        amount = self.amount
        if self.unit is DurationUnit.HOURS:
            return amount * _HOUR, amount * _HOUR
        if self.unit is DurationUnit.DAYS:
            return amount * _DAY_HOURS, amount * _DAY_HOURS
        if self.unit is DurationUnit.WEEKS:
            return amount * _WEEK_HOURS, amount * _WEEK_HOURS
        if self.unit is DurationUnit.WORKING_DAYS:
            least, most = _working_days_bounds_days(int(amount))
            return Decimal(least) * _DAY_HOURS, Decimal(most) * _DAY_HOURS
        per_day = hours_per_day if hours_per_day > 0 else DEFAULT_HOURS_PER_DAY
        days = math.ceil(amount / per_day) + 1
        return amount, Decimal(_working_days_bounds_days(days)[1]) * _DAY_HOURS

    def working_bounds(
        self, hours_per_day: Decimal = DEFAULT_HOURS_PER_DAY
    ) -> tuple[Decimal, Decimal]:
        """The least and the most working time, in working hours, of a working duration.

        ``n`` working days end at the close of the n-th working day after the day of receipt
        (:mod:`amends.domain.calendar`), so they hold at least ``n`` and at most ``n + 1`` days
        of working hours (the most when the complaint arrives at opening time).
        """
        per_day = hours_per_day if hours_per_day > 0 else DEFAULT_HOURS_PER_DAY
        if self.unit is DurationUnit.WORKING_HOURS:
            return self.amount, self.amount
        if self.unit is DurationUnit.WORKING_DAYS:
            return self.amount * per_day, (self.amount + 1) * per_day
        raise ValueError(f"{self} is not working time")

    def at_most(
        self, other: Duration, hours_per_day: Decimal = DEFAULT_HOURS_PER_DAY
    ) -> bool | None:
        """Is this duration never longer than ``other``? None when it depends on the start.

        Same unit, or both calendar units: exact. Working hours against working days: by
        :meth:`working_bounds`. Working against calendar time: by :meth:`calendar_bounds`.
        """
        if self.unit is other.unit:
            return self.amount <= other.amount
        if self.unit.is_working_time and other.unit.is_working_time:
            mine_least, mine_most = self.working_bounds(hours_per_day)
            theirs_least, theirs_most = other.working_bounds(hours_per_day)
        else:
            mine_least, mine_most = self.calendar_bounds(hours_per_day)
            theirs_least, theirs_most = other.calendar_bounds(hours_per_day)
        if mine_most <= theirs_least:
            return True
        if mine_least > theirs_most:
            return False
        return None


# --------------------------------------------------------------------------- the domain


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a code file: where (a path, or line and column) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class CodeFileError(Exception):
    """A code file that cannot be used: unreadable, not TOML, or not a valid code.

    ``reason`` is ``"unreadable"``, ``"syntax"`` or ``"invalid"``; ``problems`` lists each
    defect with its path.
    """

    def __init__(
        self,
        filename: str,
        reason: Literal["unreadable", "syntax", "invalid"],
        problems: Sequence[Problem],
    ) -> None:
        self.filename = filename
        self.reason = reason
        self.problems = tuple(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        head = {
            "unreadable": "cannot be read",
            "syntax": "is not valid TOML",
            "invalid": "is not a valid code of practice",
        }[self.reason]
        lines = [f"{self.filename} {head}:"]
        lines.extend(f"  {problem}" for problem in self.problems)
        return "\n".join(lines)


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


# --------------------------------------------------------------------------- the format


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
    customers: list[CustomerType] = [CustomerType.DOMESTIC, CustomerType.SMALL_BUSINESS]


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


# --------------------------------------------------------------------------- errors


def _format_loc(loc: Sequence[int | str]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path


def _unwrap(annotation: Any) -> Any:
    """The model class inside Optional[...], list[...], Annotated[...], or None."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (list, tuple, Union, UnionType):
            inner = [arg for arg in get_args(annotation) if arg is not type(None)]
            if not inner:
                return None
            annotation = inner[0]
        else:
            break
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _allowed_keys(loc: Sequence[int | str]) -> list[str]:
    model: Any = CodeFile
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if model is not None else None
        if field is None:
            return []
        model = _unwrap(field.annotation)
        if model is None:
            return []
    return list(model.model_fields) if model is not None else []


def _problems(error: ValidationError) -> list[Problem]:
    problems: list[Problem] = []
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        path = _format_loc(loc)
        kind = item["type"]
        if kind == "missing":
            message = "expected a value, got nothing (this key is required)"
        elif kind == "extra_forbidden":
            allowed = _allowed_keys(loc[:-1])
            message = "unknown key" + (
                f"; expected one of: {', '.join(allowed)}" if allowed else ""
            )
        else:
            message = str(item["msg"])
            if message.startswith("Value error, "):
                message = message[len("Value error, ") :]
            if message.startswith("Input should be "):
                message = "expected " + message[len("Input should be ") :]
                message += f", got {_show(item.get('input'))}"
            elif not message.startswith("expected"):
                message = f"{message}, got {_show(item.get('input'))}"
        problems.append(Problem(path, message))
    return problems


# --------------------------------------------------------------------------- building


def _opening_hours(section: HoursSection) -> OpeningHours:
    return OpeningHours(
        days=section.days,
        opens=section.opens,
        closes=section.closes,
        bank_holidays=section.bank_holidays,
    )


def _duration(text: str | None) -> Duration | None:
    return Duration.parse(text) if text is not None else None


def _build(model: CodeFile, filename: str) -> Code:
    channels = tuple(
        Channel(
            type=item.type,
            value=item.value,
            purposes=frozenset(item.purposes),
            label=item.label,
            audience=item.audience,
            hours=_opening_hours(item.hours) if item.hours else None,
            notes=item.notes,
            path=f"channels[{index}]",
        )
        for index, item in enumerate(model.channels)
    )
    kinds: list[CaseKindSpec] = []
    for kind in CaseKind:
        section: CaseKindSection | None = getattr(model.case_kinds, kind.value)
        if section is None:
            continue
        base = f"case_kinds.{kind.value}"
        promises = tuple(
            Promise(
                kind=promise.kind,
                within=_duration(promise.within),
                every=_duration(promise.every),
                agreed=promise.agreed,
                condition=Condition(
                    channels=frozenset(promise.when.channel)
                    if promise.when and promise.when.channel is not None
                    else None,
                    support_contract=promise.when.support_contract if promise.when else None,
                ),
                detail=promise.detail,
                path=f"{base}.promises[{index}]",
            )
            for index, promise in enumerate(section.promises)
        )
        kinds.append(
            CaseKindSpec(
                kind=kind,
                label=section.label or kind.label,
                description=section.description,
                promises=promises,
                path=base,
            )
        )
    adr = model.adr
    return Code(
        filename=filename,
        meta=CodeMeta(
            title=model.code.title,
            version=model.code.version,
            effective_from=model.code.effective_from,
            references=tuple(model.code.references),
        ),
        provider=Provider(
            name=model.provider.name,
            trading_name=model.provider.trading_name,
            company_number=model.provider.company_number,
            website=model.provider.website,
            address=tuple(model.provider.address),
            customers=tuple(model.provider.customers),
        ),
        nation=model.working_hours.nation,
        working_hours=_opening_hours(model.working_hours),
        channels=channels,
        intake=Intake(
            collect=tuple(InfoItem(item.key, item.label) for item in model.intake.collect),
            identity_checks=tuple(model.intake.identity_checks),
        ),
        case_kinds=tuple(kinds),
        escalation=tuple(
            EscalationLevel(
                level=index + 1,
                role=level.role,
                trigger=level.trigger,
                review_within=_duration(level.review_within),
                detail=level.detail,
                path=f"escalation[{index}]",
            )
            for index, level in enumerate(model.escalation)
        ),
        closure=Closure(
            requires_customer_confirmation=model.closure.requires_customer_confirmation,
            reopening=model.closure.reopening,
            detail=model.closure.detail,
        ),
        adr=None
        if adr is None
        else AdrRoute(
            scheme=adr.scheme,
            after=_duration(adr.after),
            deadlock_route=adr.deadlock_route,
            states_free=adr.states_free,
            states_time_limit=adr.states_time_limit,
            letter_unasked=adr.letter_unasked,
            contacts=tuple(
                AdrContact(contact.type, contact.value, f"adr.contacts[{index}]")
                for index, contact in enumerate(adr.contacts)
            ),
            detail=adr.detail,
        ),
        compensation=Compensation(
            approach=model.compensation.approach,
            paid_as=tuple(model.compensation.paid_as),
            detail=model.compensation.detail,
        ),
        accessibility=Accessibility(
            statement=model.accessibility.statement,
            formats=tuple(model.accessibility.formats),
        ),
        comments=Comments(invited=model.comments.invited, detail=model.comments.detail),
    )


# --------------------------------------------------------------------------- loading


def code_from_mapping(data: Mapping[str, Any], *, filename: str = "<code>") -> Code:
    """Validate an already-parsed TOML document and build the :class:`Code`."""
    try:
        model = CodeFile.model_validate(dict(data))
    except ValidationError as exc:
        raise CodeFileError(filename, "invalid", _problems(exc)) from None
    return _build(model, filename)


_TOML_POSITION: Final = re.compile(
    r"^(?P<msg>.*?)\s*\(at line (?P<line>\d+), column (?P<col>\d+)\)$"
)


def parse_code(text: str, *, filename: str = "<code>") -> Code:
    """Parse the TOML text of a code; :class:`CodeFileError` says what is wrong and where."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_POSITION.match(message)
        if match:
            problem = Problem(
                f"line {match['line']}, column {match['col']}",
                f"TOML syntax error: {match['msg']}",
            )
        else:
            problem = Problem("", f"TOML syntax error: {message}")
        raise CodeFileError(filename, "syntax", [problem]) from None
    return code_from_mapping(data, filename=filename)


def load_code(path: str | Path) -> Code:
    """Read and parse a code file (UTF-8 TOML)."""
    filename = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise CodeFileError(filename, "unreadable", [Problem("", reason)]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CodeFileError(
            filename,
            "unreadable",
            [Problem(f"byte {exc.start}", "expected UTF-8 text, got bytes that are not UTF-8")],
        ) from None
    return parse_code(text, filename=filename)


def iter_promises(code: Code) -> Iterable[tuple[CaseKindSpec, Promise]]:
    for spec in code.case_kinds:
        for promise in spec.promises:
            yield spec, promise
