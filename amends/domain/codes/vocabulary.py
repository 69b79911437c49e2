"""The code format's vocabularies: the closed sets of values a code file may write."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

__all__ = [
    "PROMISE_KINDS",
    "AdrContactType",
    "AltFormat",
    "CaseKind",
    "ChannelType",
    "CompensationApproach",
    "CustomerType",
    "Nation",
    "ObligationKind",
    "PaymentMethod",
    "Purpose",
    "Weekday",
]


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

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        """``[(value, label), ...]``, for a Django field's ``choices``."""
        return [(member.value, member.label) for member in cls]


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
    NOT_FOR_PROFIT = "not_for_profit"
    OTHER_BUSINESS = "other_business"

    @property
    def label(self) -> str:
        return {
            CustomerType.DOMESTIC: "Domestic",
            CustomerType.SMALL_BUSINESS: "Small business",
            CustomerType.NOT_FOR_PROFIT: "Not-for-profit",
            CustomerType.OTHER_BUSINESS: "Business (more than 10 working individuals)",
        }[self]

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        """``[(value, label), ...]``, for a Django field's ``choices``."""
        return [(member.value, member.label) for member in cls]


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
