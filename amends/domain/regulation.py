"""The law as data: dated rules with sources, the approved ADR schemes, the promises in force.

Rules
=====
Each :class:`Rule` has a stable id (``C4.ADR.TIME``), a value, the dates it is in force
(``effective_from`` inclusive, ``effective_to`` exclusive, ``None`` for open-ended) and a
:class:`Source` citing where it comes from, with the evidence tag of ``docs/regulatory.md``:
``V`` checked against the cited page, ``S`` secondary source only, ``R`` the Annex to GC C4 as
commonly described (treat as a configurable value, not a constant). A rule that changes value
is two rules with one id and adjoining dates, so that :func:`rules_in_force` gives the rule set
of any date and :func:`rule_changes_after` tells what is coming.

A complaint keeps the rule set in force on the date it was *first received* (product.md: "A
complaint keeps the rule set in force when it was first received"). No transitional rule for
the 8 April 2026 change is published (regulatory.md B9); the case clocks apply the
conservative reading there (letters due at once for open complaints already 6 weeks old),
which is their business, not this module's.

ADR schemes
===========
:data:`APPROVED_SCHEMES` are the two Ofcom-approved schemes (re-approved 8 July 2025), with
current names, former names, contact details (each tagged with its evidence), the 12-month
referral window and the remedy deadline. :data:`NOT_ADR_SCHEMES` are bodies that codes name
where a scheme belongs but that take no telecoms ADR cases (Ofcom first of all).
:func:`identify_adr_body` matches a name as a code writes it, ignoring case, punctuation and a
leading "the".

Contact details were checked in November 2026 with the project's search of public pages:

* Communications Ombudsman: PO Box 730, Warrington WA4 6WU and 0330 440 1614 [V: the Chartered
  Trading Standards Institute's ADR-body page, and providers' codes]; enquiry@commsombudsman.org
  and https://www.commsombudsman.org [V: commsombudsman.org]; textphone 0330 440 1600 [U:
  unverified, from the V4VoIP seed only].
* CISAS: 100 St Paul's Churchyard, London EC4M 8BU and cisas@cedr.com [S: Vodafone's code of
  practice]; 020 7520 3827 [S: cisas.org.uk, cedr.com pages of earlier years]; https://www.cisas.co.uk
  [V: learn.cedr.com]. Confirm CISAS's details with CEDR before relying on them.

Promises in force
=================
:func:`promises_in_force` gives, for a case of a kind, first received on a date, with known
facts, every obligation with a duration: for each, the stricter of the code and the law on
that date, and which of the two it came from. Ties go to the code (the code's promise is kept
and meets the law). Durations of different units are compared by
:meth:`amends.domain.codes.Duration.at_most`: the code wins only when it is *certainly* no
longer than the law, otherwise the law's duration is used, so the clock is never later than
the law allows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final, Generic, Literal, TypeVar

from amends.domain.codes import (
    AdrContactType,
    CaseFacts,
    CaseKind,
    Code,
    CustomerType,
    Duration,
    ObligationKind,
    Promise,
)

__all__ = [
    "APPROVED_SCHEMES",
    "AUTOMATIC_COMPENSATION",
    "AutomaticCompensationRates",
    "automatic_compensation_rates",
    "NOT_ADR_SCHEMES",
    "RULES",
    "AdrScheme",
    "BodyMatch",
    "NotAScheme",
    "Origin",
    "PromiseInForce",
    "Protects",
    "Rule",
    "RuleSet",
    "SchemeContact",
    "Source",
    "Starts",
    "identify_adr_body",
    "promises_in_force",
    "rule",
    "rule_changes_after",
    "rules_in_force",
]

T = TypeVar("T")

Evidence = Literal["V", "S", "R", "U"]


@dataclass(frozen=True, slots=True)
class Source:
    """Where a rule comes from: a citation, its public address, and the evidence tag."""

    citation: str
    url: str
    evidence: Evidence

    def __str__(self) -> str:
        return f"{self.citation} <{self.url}>"


class Protects(StrEnum):
    """Whom a rule protects: a check of a code that serves none of them is a warning, not an
    error (a rule that protects consumers binds a business-only code only as good practice)."""

    #: Individuals acting outside their trade (the Consumer Contracts Regulations 2013).
    CONSUMERS = "consumers"
    #: Domestic and small business customers: General Condition C4 and the Approved Complaints
    #: Code protect "domestic and small business customers" (a business of ten or fewer
    #: working individuals; not-for-profit bodies of that size too).
    DOMESTIC_AND_SMALL_BUSINESS = "domestic_and_small_business"

    def covers(self, customer: CustomerType) -> bool:
        if self is Protects.CONSUMERS:
            return customer is CustomerType.DOMESTIC
        return customer is not CustomerType.OTHER_BUSINESS


@dataclass(frozen=True, slots=True)
class Rule(Generic[T]):
    id: str
    title: str
    value: T
    effective_from: date
    effective_to: date | None
    source: Source
    protects: Protects = Protects.DOMESTIC_AND_SMALL_BUSINESS

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on < self.effective_to)


# --------------------------------------------------------------------------- sources

_OFCOM_CODES = "https://www.ofcom.org.uk/phones-and-broadband/coverage-and-speeds/codes-of-practice"
_OS_LETTERS = (
    "https://partners.ombudsman-services.org/resources/guidance-notes/"
    "eight-week-and-deadlock-letters-communications"
)
_OFCOM_2025 = (
    "https://www.wired-gov.net/wg/news.nsf/articles/quicker+complaints+resolution+for+telecoms"
    "+customers+under+new+ofcom+rules+09072025101500?open"
)
_ADR_REVIEW = (
    "https://www.ofcom.org.uk/phones-and-broadband/service-quality/"
    "review-of-adr-in-the-telecoms-sector2"
)
_EE_FINE = "https://www.preiskel.com/ofcom-fines-ee/"
_CO_EXPECT = "https://www.commsombudsman.org/what-to-expect"
_OS_CRITERIA = "https://www.ombudsman-services.org/sectors/communications/meeting-ofcom's-criteria"
_THREE_FINE = (
    "https://www.wired-gov.net/wg/news.nsf/print/Ofcom+takes+action+against+Three+on+"
    "complaints+handling+08102014130500"
)
_OS_POWERS = (
    "https://www.ombudsman-services.org/for-participating-companies/new-business/our-powers"
)
_CISAS_FAQ = "https://www.cedr.com/consumer/cisas/faqs-2/"
_CCR_41 = "https://www.legislation.gov.uk/uksi/2013/3134/regulation/41"
_DMCC = (
    "https://www.legislationtracker.co.uk/article/digital-markets-competition-consumers-act-2024"
    "-commencement-no-3-transitional-provisions-regulations-2026-16-03-26"
)

#: GC C4 and its Annex (the Approved Complaints Code) replaced GC14 on 1 October 2018.
C4_START: Final = date(2018, 10, 1)
#: The ADR time trigger falls from 8 to 6 weeks for complaints first received from this date.
SIX_WEEKS_FROM: Final = date(2026, 4, 8)

# --------------------------------------------------------------------------- the rules

ADR_TIME_8_WEEKS: Final[Rule[Duration]] = Rule(
    id="C4.ADR.TIME",
    title="ADR letter when a complaint is unresolved 8 weeks after first receipt",
    value=Duration.parse("8 weeks"),
    effective_from=C4_START,
    effective_to=SIX_WEEKS_FROM,
    source=Source(
        "Approved Complaints Code (Annex to GC C4): ADR letter at 8 weeks; Ombudsman Services, "
        "eight-week and deadlock letters",
        _OS_LETTERS,
        "V",
    ),
)
ADR_TIME_6_WEEKS: Final[Rule[Duration]] = Rule(
    id="C4.ADR.TIME",
    title="ADR letter when a complaint is unresolved 6 weeks after first receipt",
    value=Duration.parse("6 weeks"),
    effective_from=SIX_WEEKS_FROM,
    effective_to=None,
    source=Source(
        "Ofcom statement of 9 July 2025: the ADR point moves from 8 to 6 weeks from "
        "8 April 2026 (Approved Complaints Code, Annex to GC C4)",
        _OFCOM_2025,
        "V",
    ),
)
ADR_DEADLOCK: Final[Rule[bool]] = Rule(
    id="C4.ADR.DEADLOCK",
    title="ADR letter at deadlock, sent without the customer having to ask",
    value=True,
    effective_from=C4_START,
    effective_to=None,
    source=Source(
        "Approved Complaints Code (Annex to GC C4), October 2018: deadlock and written "
        "notification merged into one ADR letter, sent proactively",
        _OS_LETTERS,
        "V",
    ),
)
ADR_FREE: Final[Rule[bool]] = Rule(
    id="C4.ADR.FREE",
    title="ADR is free to the customer, and the code and letters must say so",
    value=True,
    effective_from=C4_START,
    effective_to=None,
    source=Source(
        "Approved Complaints Code (Annex to GC C4); Ofcom's fine of EE (code did not say ADR "
        "was free)",
        _EE_FINE,
        "V",
    ),
)
ADR_WINDOW_MONTHS: Final[Rule[int]] = Rule(
    id="C4.ADR.WINDOW",
    title="The customer has 12 months from the ADR letter to refer the complaint",
    value=12,
    effective_from=C4_START,
    effective_to=None,
    source=Source("Communications Ombudsman, what to expect", _CO_EXPECT, "V"),
)
ADR_MEMBERSHIP: Final[Rule[bool]] = Rule(
    id="C4.3",
    title="Belong to an Ofcom-approved ADR scheme, and name it with accurate details",
    value=True,
    effective_from=C4_START,
    effective_to=None,
    source=Source(
        "General Condition C4.3; Ofcom re-approved the Communications Ombudsman and CISAS on "
        "8 July 2025",
        _ADR_REVIEW,
        "V",
    ),
)
CODE_DEADLOCK_ROUTE: Final[Rule[bool]] = Rule(
    id="C4.CODE.DEADLOCK",
    title="The code must say a customer can go to ADR at deadlock",
    value=True,
    effective_from=C4_START,
    effective_to=None,
    source=Source(
        "Approved Complaints Code (Annex to GC C4); Ofcom's fine of EE (code left out the "
        "deadlock route to ADR)",
        _EE_FINE,
        "V",
    ),
)
CODE_CONTENT: Final[Rule[bool]] = Rule(
    id="C4.CODE.CONTENT",
    title="The code explains how to complain, the stages, escalation, timescales and ADR",
    value=True,
    effective_from=C4_START,
    effective_to=None,
    source=Source("General Condition C4.2 and the Approved Complaints Code", _OFCOM_CODES, "R"),
)
CHANNELS: Final[Rule[frozenset[str]]] = Rule(
    id="C4.CHANNELS",
    title="Customers can complain by phone, in writing by post, and by email or online",
    value=frozenset({"voice", "post", "online"}),
    effective_from=C4_START,
    effective_to=None,
    source=Source(
        "Approved Complaints Code (Annex to GC C4): several channels, usable by disabled customers",
        _OS_CRITERIA,
        "R",
    ),
)
ACCESSIBILITY: Final[Rule[bool]] = Rule(
    id="C4.ACCESS",
    title="The complaints process is accessible to disabled customers, in other formats",
    value=True,
    effective_from=C4_START,
    effective_to=None,
    source=Source(
        "Approved Complaints Code (Annex to GC C4) and GC C5 (vulnerable customers)",
        _OS_CRITERIA,
        "R",
    ),
)
CLOSURE: Final[Rule[bool]] = Rule(
    id="C4.CLOSE",
    title="A complaint is closed only when it is resolved, which the customer confirms",
    value=True,
    effective_from=C4_START,
    effective_to=None,
    source=Source(
        "Ofcom's fine of Three (closed complaints without establishing they were resolved)",
        _THREE_FINE,
        "V",
    ),
)
GC14_SUPERSEDED: Final[Rule[date]] = Rule(
    id="C4.GC14",
    title="General Condition 14 was replaced by General Condition C4 on 1 October 2018",
    value=C4_START,
    effective_from=C4_START,
    effective_to=None,
    source=Source("Ofcom, codes of practice (General Condition C4)", _OFCOM_CODES, "V"),
)
BASIC_RATE: Final[Rule[tuple[str, ...]]] = Rule(
    id="CCR.41",
    title="Lines for existing customers cost no more than the basic rate (not 084, 087, 09)",
    value=("084", "087", "09"),
    effective_from=date(2014, 6, 13),
    effective_to=None,
    source=Source(
        "Consumer Contracts (Information, Cancellation and Additional Charges) Regulations "
        "2013, regulation 41 (contracts with consumers), and the government's guidance on "
        "basic-rate numbers",
        _CCR_41,
        "S",
    ),
    protects=Protects.CONSUMERS,
)
OUTCOME_SIGNPOST: Final[Rule[bool]] = Rule(
    id="DMCC.308",
    title="Every complaint outcome message tells the customer about available ADR",
    value=True,
    effective_from=date(2026, 4, 6),
    effective_to=None,
    source=Source("Digital Markets, Competition and Consumers Act 2024, s308", _DMCC, "S"),
)
CO_REMEDY: Final[Rule[Duration]] = Rule(
    id="ADR.CO.REMEDY",
    title="Carry out a Communications Ombudsman decision within 28 days of acceptance",
    value=Duration.parse("28 days"),
    effective_from=C4_START,
    effective_to=None,
    source=Source("Ombudsman Services, our powers", _OS_POWERS, "V"),
)
CISAS_REMEDY: Final[Rule[Duration]] = Rule(
    id="ADR.CISAS.REMEDY",
    title="Deliver a CISAS remedy within 20 working days of acceptance",
    value=Duration.parse("20 working days"),
    effective_from=C4_START,
    effective_to=None,
    source=Source("CISAS FAQs and CISAS Rules", _CISAS_FAQ, "V"),
)
CISAS_ACCEPT: Final[Rule[Duration]] = Rule(
    id="ADR.CISAS.ACCEPT",
    title="The customer accepts or rejects a CISAS decision within 30 working days",
    value=Duration.parse("30 working days"),
    effective_from=C4_START,
    effective_to=None,
    source=Source("CISAS FAQs and CISAS Rules", _CISAS_FAQ, "V"),
)

RULES: Final[tuple[Rule[Any], ...]] = (
    ADR_TIME_8_WEEKS,
    ADR_TIME_6_WEEKS,
    ADR_DEADLOCK,
    ADR_FREE,
    ADR_WINDOW_MONTHS,
    ADR_MEMBERSHIP,
    CODE_DEADLOCK_ROUTE,
    CODE_CONTENT,
    CHANNELS,
    ACCESSIBILITY,
    CLOSURE,
    GC14_SUPERSEDED,
    BASIC_RATE,
    OUTCOME_SIGNPOST,
    CO_REMEDY,
    CISAS_REMEDY,
    CISAS_ACCEPT,
)


def rule(rule_id: str, on: date) -> Rule[Any] | None:
    """The rule with this id in force on ``on``, or None."""
    for candidate in RULES:
        if candidate.id == rule_id and candidate.in_force(on):
            return candidate
    return None


def _must(rule_id: str, on: date) -> Rule[Any]:
    found = rule(rule_id, on)
    if found is None:
        raise LookupError(f"no rule {rule_id} in force on {on.isoformat()}")
    return found


@dataclass(frozen=True, slots=True)
class RuleSet:
    """The rules in force on one date (the date a complaint was first received)."""

    on: date
    adr_letter_after: Rule[Duration]
    adr_letter_at_deadlock: Rule[bool]
    adr_free: Rule[bool]
    adr_window_months: Rule[int]
    adr_membership: Rule[bool]
    code_deadlock_route: Rule[bool]
    channels: Rule[frozenset[str]]
    accessibility: Rule[bool]
    closure: Rule[bool]
    gc14_superseded: Rule[date]
    basic_rate: Rule[tuple[str, ...]]

    @property
    def outcome_signpost(self) -> Rule[bool] | None:
        return rule("DMCC.308", self.on)


def rules_in_force(on: date) -> RuleSet:
    """The rule set in force on ``on``. Dates before GC C4 (1 October 2018) are refused."""
    if on < C4_START:
        raise LookupError(
            f"Amends holds the rules from {C4_START.isoformat()} (GC C4); got {on.isoformat()}"
        )
    return RuleSet(
        on=on,
        adr_letter_after=_must("C4.ADR.TIME", on),
        adr_letter_at_deadlock=_must("C4.ADR.DEADLOCK", on),
        adr_free=_must("C4.ADR.FREE", on),
        adr_window_months=_must("C4.ADR.WINDOW", on),
        adr_membership=_must("C4.3", on),
        code_deadlock_route=_must("C4.CODE.DEADLOCK", on),
        channels=_must("C4.CHANNELS", on),
        accessibility=_must("C4.ACCESS", on),
        closure=_must("C4.CLOSE", on),
        gc14_superseded=_must("C4.GC14", on),
        basic_rate=_must("CCR.41", on),
    )


def rule_changes_after(on: date) -> tuple[date, ...]:
    """Dates after ``on`` on which some rule starts or ends, in order."""
    dates = {r.effective_from for r in RULES if r.effective_from > on}
    dates |= {r.effective_to for r in RULES if r.effective_to is not None and r.effective_to > on}
    return tuple(sorted(dates))


# --------------------------------------------------------------------------- ADR schemes


@dataclass(frozen=True, slots=True)
class SchemeContact:
    type: AdrContactType
    value: str
    evidence: Evidence

    @property
    def lines(self) -> tuple[str, ...]:
        return tuple(self.value.split("\n"))


@dataclass(frozen=True, slots=True)
class AdrScheme:
    id: str
    name: str
    aliases: tuple[str, ...]
    former_names: tuple[str, ...]
    operator: str | None
    full_name: str | None
    """What the name stands for, when it is an acronym (CISAS)."""
    contacts: tuple[SchemeContact, ...]
    remedy_rule_id: str
    approved: Source

    @property
    def in_sentence(self) -> str:
        """The name as it reads inside a sentence: 'the Communications Ombudsman', 'CISAS'."""
        return f"the {self.name}" if self.name.endswith("Ombudsman") else self.name

    def contacts_of(self, kind: AdrContactType) -> tuple[SchemeContact, ...]:
        return tuple(contact for contact in self.contacts if contact.type is kind)

    def remedy(self, on: date) -> Rule[Duration]:
        found: Rule[Duration] = _must(self.remedy_rule_id, on)
        return found


@dataclass(frozen=True, slots=True)
class NotAScheme:
    """A body that codes wrongly name where an approved ADR scheme belongs."""

    name: str
    aliases: tuple[str, ...]
    reason: str


_APPROVAL = Source(
    "Ofcom re-approved both ADR schemes on 8 July 2025 (General Condition C4.3)",
    _ADR_REVIEW,
    "V",
)

COMMUNICATIONS_OMBUDSMAN: Final = AdrScheme(
    id="communications-ombudsman",
    name="Communications Ombudsman",
    aliases=("Communications Ombudsman", "The Communications Ombudsman"),
    former_names=(
        "Ombudsman Services",
        "Ombudsman Services: Communications",
        "Ombudsman Services Communications",
        "Ombudsman Service",
        "The Ombudsman Service",
        "Ombudsman Services Ltd",
        "Otelo",
        "Office of the Telecommunications Ombudsman",
    ),
    operator="Trust Alliance Group",
    full_name=None,
    contacts=(
        SchemeContact(
            AdrContactType.POST, "Communications Ombudsman\nPO Box 730\nWarrington\nWA4 6WU", "V"
        ),
        SchemeContact(AdrContactType.PHONE, "0330 440 1614", "V"),
        # Unverified: from the V4VoIP seed only; confirm with the Communications Ombudsman.
        SchemeContact(AdrContactType.TEXTPHONE, "0330 440 1600", "U"),
        SchemeContact(AdrContactType.EMAIL, "enquiry@commsombudsman.org", "V"),
        SchemeContact(AdrContactType.WEBSITE, "https://www.commsombudsman.org", "V"),
    ),
    remedy_rule_id="ADR.CO.REMEDY",
    approved=_APPROVAL,
)

CISAS: Final = AdrScheme(
    id="cisas",
    name="CISAS",
    aliases=(
        "CISAS",
        "Communications and Internet Services Adjudication Scheme",
        "Communications & Internet Services Adjudication Scheme",
        "Communication and Internet Services Adjudication Scheme",
        "CISAS (CEDR)",
        "CEDR CISAS",
    ),
    former_names=(),
    operator="CEDR (Centre for Effective Dispute Resolution)",
    full_name="the Communications and Internet Services Adjudication Scheme",
    contacts=(
        # Secondary source (a provider's code of practice); confirm with CEDR.
        SchemeContact(
            AdrContactType.POST,
            "CISAS\n100 St Paul's Churchyard\nLondon\nEC4M 8BU",
            "S",
        ),
        # Secondary sources (earlier cisas.org.uk and cedr.com pages); confirm with CEDR.
        SchemeContact(AdrContactType.PHONE, "020 7520 3827", "S"),
        SchemeContact(AdrContactType.EMAIL, "cisas@cedr.com", "S"),
        SchemeContact(AdrContactType.WEBSITE, "https://www.cisas.co.uk", "V"),
    ),
    remedy_rule_id="ADR.CISAS.REMEDY",
    approved=_APPROVAL,
)

APPROVED_SCHEMES: Final[tuple[AdrScheme, ...]] = (COMMUNICATIONS_OMBUDSMAN, CISAS)

_SCHEME_NAMES: Final = "the Communications Ombudsman or CISAS"

NOT_ADR_SCHEMES: Final[tuple[NotAScheme, ...]] = (
    NotAScheme(
        name="Ofcom",
        aliases=(
            "Ofcom",
            "Office of Communications",
            "Ofcom Contact Centre",
            "Ofcom Consumer Contact Team",
            "Ofcom Advice Team",
        ),
        reason=(
            "Ofcom is the regulator: it handles no individual complaints. Name your approved "
            f"ADR scheme ({_SCHEME_NAMES})."
        ),
    ),
    NotAScheme(
        name="Financial Ombudsman Service",
        aliases=("Financial Ombudsman Service", "Financial Ombudsman", "FOS"),
        reason=(
            "The Financial Ombudsman Service handles financial services, not communications "
            f"services. Name your approved ADR scheme ({_SCHEME_NAMES})."
        ),
    ),
    NotAScheme(
        name="Energy Ombudsman",
        aliases=("Energy Ombudsman", "Ombudsman Services: Energy", "Ombudsman Services Energy"),
        reason=(
            "The Energy Ombudsman handles energy complaints, not communications complaints. "
            f"Name your approved ADR scheme ({_SCHEME_NAMES})."
        ),
    ),
    NotAScheme(
        name="Citizens Advice",
        aliases=("Citizens Advice", "Citizens Advice Bureau", "Citizens Advice consumer service"),
        reason=(
            "Citizens Advice gives advice but does not settle disputes. Name your approved ADR "
            f"scheme ({_SCHEME_NAMES})."
        ),
    ),
)


def normalise_name(name: str) -> str:
    """Lower case, '&' as 'and', punctuation dropped, spaces collapsed, no leading 'the'."""
    text = name.casefold().replace("&", " and ")
    text = re.sub(r"[^\w\s]", " ", text)
    text = " ".join(text.split())
    return text[4:] if text.startswith("the ") else text


@dataclass(frozen=True, slots=True)
class BodyMatch:
    """What a name in a code's ADR section refers to."""

    name: str
    scheme: AdrScheme | None = None
    former_name: bool = False
    not_a_scheme: NotAScheme | None = None

    @property
    def approved(self) -> bool:
        return self.scheme is not None


def identify_adr_body(name: str) -> BodyMatch:
    key = normalise_name(name)
    for scheme in APPROVED_SCHEMES:
        if key in {normalise_name(alias) for alias in (scheme.name, *scheme.aliases)}:
            return BodyMatch(name, scheme=scheme)
        if key in {normalise_name(former) for former in scheme.former_names}:
            return BodyMatch(name, scheme=scheme, former_name=True)
    for body in NOT_ADR_SCHEMES:
        if key in {normalise_name(alias) for alias in (body.name, *body.aliases)}:
            return BodyMatch(name, not_a_scheme=body)
    return BodyMatch(name)


# --------------------------------------------------------------------------- promises


class Origin(StrEnum):
    CODE = "code"
    LAW = "law"


class Starts(StrEnum):
    """The event a promise's clock counts from."""

    FIRST_RECEIPT = "first_receipt"
    ESCALATION = "escalation"
    ADR_DECISION_ACCEPTED = "adr_decision_accepted"


@dataclass(frozen=True, slots=True)
class PromiseInForce:
    """One obligation of a case with its duration, and whether the code or the law set it.

    ``rule_id`` and ``source`` name the law's rule when one covers this obligation (also
    when the code's stricter promise won); ``code_path`` names the promise in the code file
    when the code states one. ``repeats`` marks a cadence (updates), ``level`` an escalation
    level.
    """

    kind: ObligationKind
    duration: Duration
    origin: Origin
    starts: Starts
    rule_id: str | None
    source: str
    code_path: str | None
    repeats: bool = False
    level: int | None = None


def _strictest(promises: list[Promise], hours_per_day: Decimal) -> Promise:
    best = promises[0]
    for candidate in promises[1:]:
        best_duration = best.duration
        candidate_duration = candidate.duration
        if best_duration is None or candidate_duration is None:  # pragma: no cover - filtered
            continue
        if candidate_duration.at_most(best_duration, hours_per_day) is True and (
            best_duration.at_most(candidate_duration, hours_per_day) is not True
        ):
            best = candidate
    return best


def _code_source(code: Code, path: str) -> str:
    return f"{code.filename}: {path}"


def promises_in_force(
    code: Code,
    *,
    kind: CaseKind,
    first_received: date,
    facts: CaseFacts | None = None,
    member_scheme: str | None = None,
) -> tuple[PromiseInForce, ...]:
    """Every timed obligation of a case of ``kind`` first received on ``first_received``.

    The code's promises for the kind whose conditions match ``facts`` (the stricter one when
    two of a kind match; promises with no time are skipped, ``check`` warns of them), then for
    a complaint the escalation reviews, the ADR letter (the stricter of ``[adr].after`` and
    ``C4.ADR.TIME`` in force on ``first_received``) and the ADR scheme's remedy deadline.
    The scheme is the one the code names when it is approved, else ``member_scheme`` (the id
    of the scheme the provider actually belongs to: ISS's code names Ofcom, but ISS must still
    meet its real scheme's remedy deadline).
    """
    facts = facts or CaseFacts()
    rules = rules_in_force(first_received)
    hours_per_day = code.hours_per_day
    result: list[PromiseInForce] = []

    spec = code.case_kind(kind)
    if spec is not None:
        groups: dict[tuple[ObligationKind, bool], list[Promise]] = {}
        for promise in spec.promises:
            if promise.duration is None or not promise.condition.matches(facts):
                continue
            groups.setdefault((promise.kind, promise.repeats), []).append(promise)
        for (obligation, repeats), promises in groups.items():
            chosen = _strictest(promises, hours_per_day)
            assert chosen.duration is not None
            result.append(
                PromiseInForce(
                    kind=obligation,
                    duration=chosen.duration,
                    origin=Origin.CODE,
                    starts=Starts.FIRST_RECEIPT,
                    rule_id=None,
                    source=_code_source(code, chosen.path),
                    code_path=chosen.path,
                    repeats=repeats,
                )
            )

    if kind is not CaseKind.COMPLAINT:
        return tuple(result)

    for level in code.escalation:
        if level.review_within is None:
            continue
        result.append(
            PromiseInForce(
                kind=ObligationKind.ESCALATION_REVIEW,
                duration=level.review_within,
                origin=Origin.CODE,
                starts=Starts.ESCALATION,
                rule_id=None,
                source=_code_source(code, f"{level.path}.review_within"),
                code_path=f"{level.path}.review_within",
                level=level.level,
            )
        )

    law = rules.adr_letter_after
    stated = code.adr.after if code.adr is not None else None
    if stated is not None and stated.at_most(law.value, hours_per_day) is True:
        result.append(
            PromiseInForce(
                kind=ObligationKind.ADR_LETTER,
                duration=stated,
                origin=Origin.CODE,
                starts=Starts.FIRST_RECEIPT,
                rule_id=law.id,
                source=str(law.source),
                code_path="adr.after",
            )
        )
    else:
        result.append(
            PromiseInForce(
                kind=ObligationKind.ADR_LETTER,
                duration=law.value,
                origin=Origin.LAW,
                starts=Starts.FIRST_RECEIPT,
                rule_id=law.id,
                source=str(law.source),
                code_path="adr.after" if stated is not None else None,
            )
        )

    scheme: AdrScheme | None = None
    if code.adr is not None and code.adr.scheme is not None:
        scheme = identify_adr_body(code.adr.scheme).scheme
    if scheme is None:
        scheme = next((s for s in APPROVED_SCHEMES if s.id == member_scheme), None)
    if scheme is not None:
        remedy = scheme.remedy(first_received)
        result.append(
            PromiseInForce(
                kind=ObligationKind.ADR_REMEDY,
                duration=remedy.value,
                origin=Origin.LAW,
                starts=Starts.ADR_DECISION_ACCEPTED,
                rule_id=remedy.id,
                source=str(remedy.source),
                code_path=None,
            )
        )
    return tuple(result)


# --------------------------------------------------------------------------- compensation


@dataclass(frozen=True, slots=True)
class AutomaticCompensationRates:
    """Ofcom's automatic compensation (voluntary; residential landline and broadband), in
    pence: a daily rate for a delayed repair and a delayed start, a sum per missed engineer
    appointment. Applied by the date of the event that triggers payment (regulatory.md §18)."""

    delayed_repair_per_day: int
    delayed_start_per_day: int
    missed_appointment: int


_AUTOCOMP = "https://www.ofcom.org.uk/phones-and-broadband/service-quality/automatic-compensation"
_AUTOCOMP_OS = (
    "https://partners.ombudsman-services.org/resources/guidance-notes/"
    "ofcoms-automatic-compensation-scheme"
)

#: Dated rate tables. Rates rise with CPI every April (required since 1 April 2021), but only
#: the years below are held: for a date between them (April 2021 to March 2024) no table is in
#: force and the amount must be entered by hand from the provider's own records, never
#: guessed. The 2025 delayed-start and missed-appointment figures are derived by CPI in
#: regulatory.md; they are held with evidence "S" (secondary) and so shown to staff to confirm.
AUTOMATIC_COMPENSATION: Final[tuple[Rule[AutomaticCompensationRates], ...]] = (
    Rule(
        id="AUTOCOMP.RATES",
        title="Automatic compensation: £8/day repair, £5/day start, £25 missed appointment",
        value=AutomaticCompensationRates(800, 500, 2500),
        effective_from=date(2019, 4, 1),
        effective_to=date(2021, 4, 1),
        source=Source("Ofcom automatic compensation scheme, from 1 April 2019", _AUTOCOMP, "V"),
    ),
    Rule(
        id="AUTOCOMP.RATES",
        title="Automatic compensation from 1 April 2024 (CPI-linked)",
        value=AutomaticCompensationRates(976, 610, 3049),
        effective_from=date(2024, 4, 1),
        effective_to=date(2025, 4, 1),
        source=Source(
            "Ofcom automatic compensation scheme, rates from 1 April 2024", _AUTOCOMP, "S"
        ),
    ),
    Rule(
        id="AUTOCOMP.RATES",
        title="Automatic compensation from 1 April 2025 (CPI-linked)",
        value=AutomaticCompensationRates(998, 624, 3119),
        effective_from=date(2025, 4, 1),
        effective_to=date(2026, 4, 1),
        source=Source(
            "Ofcom automatic compensation scheme, rates from 1 April 2025 (start and appointment "
            "rates derived by CPI)",
            _AUTOCOMP_OS,
            "S",
        ),
    ),
    Rule(
        id="AUTOCOMP.RATES",
        title="Automatic compensation from 1 April 2026 (CPI-linked)",
        value=AutomaticCompensationRates(1034, 646, 3231),
        effective_from=date(2026, 4, 1),
        effective_to=None,
        source=Source(
            "Ofcom automatic compensation scheme, rates from 1 April 2026", _AUTOCOMP, "S"
        ),
    ),
)


def automatic_compensation_rates(on: date) -> Rule[AutomaticCompensationRates] | None:
    """The rate table in force on ``on`` (the date of the triggering event), or None where
    Amends holds no table for that date."""
    return next((r for r in AUTOMATIC_COMPENSATION if r.in_force(on)), None)
