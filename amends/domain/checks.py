"""Check a Code of Practice against the law in force: every defect as a :class:`Finding`.

``check_code(code, on=date)`` applies the rule set in force on ``on`` (the first-received date
of a complaint made that day) and returns findings, errors first. A code with an error must
not be published (``amends code render`` refuses it without ``--draft``); a warning is a
weakness worth fixing. The ids are stable: tests, the ``--json`` output and providers' fix
lists refer to them. Each has a passing and a failing test in ``tests/domain/test_checks.py``.

======== ======== ========================================================================
id       severity what it finds
======== ======== ========================================================================
META-001 warning  The code has no version.
META-002 warning  The code has no effective date.
META-003 warning  The code quotes General Condition 14, replaced by C4 on 1 October 2018.
CH-001   error    No channel for complaints at all.
CH-002   warning  A kind of complaint channel is missing: voice (phone, textphone or account
                  manager), post, or online (email or web form).
CH-003   error    A complaint line on a number that costs callers extra (084, 087, 09):
                  phone, textphone and fax numbers alike.
CH-004   error    The same channel given two different values (same type, overlapping
                  purposes, same audience).
CH-005   warning  A channel with no value (no number, address or link).
CH-006   warning  A complaint number that is not a valid UK number.
ADR-001  error    The ADR point is later than the law allows on the date, or not stated.
ADR-002  warning  The ADR point meets the law on the date, but a known rule change makes it
                  late (the 8-week code checked before 8 April 2026).
ADR-003  error    The ADR body is not an approved scheme (Ofcom, another sector's ombudsman,
                  an unknown name, or none).
ADR-004  warning  The scheme is named by a former name ("Ombudsman Services").
ADR-005  error    A scheme contact detail differs from the registry (an incomplete address,
                  a wrong number).
ADR-006  warning  A scheme contact detail of a kind the registry does not list (a fax).
ADR-007  error    The code does not say ADR is free.
ADR-008  error    The code does not say a customer can go to ADR at deadlock.
ADR-009  warning  The code does not give the 12 months from the ADR letter.
ADR-010  warning  The code does not promise the ADR letter without being asked.
RES-001  warning  A resolution target or escalation review may end after the ADR point.
PRM-001  warning  A promise with no time limit (no clock can be kept for it).
PRM-002  error    A first-contact promise (acknowledge, introduce the handler, first response,
                  agree updates) or the update cadence may end after the ADR point.
PRM-003  warning  A first-contact promise may end after the resolution target.
PRM-004  warning  Two resolution targets for the same cases disagree.
TXT-001  error    Published text says ADR costs the customer something.
TXT-002  error    Published text gives a time limit for going to ADR other than 12 months.
TXT-003  error    Published text gives an ADR point later than the law allows.
TXT-004  error    Published text names an ADR scheme other than the code's own.
TXT-005  warning  Published text uses a former name of the code's scheme.
SCP-001  warning  The code does not say which customers it serves.
CLO-001  warning  The code does not say a complaint closes only when the customer agrees.
ESC-001  warning  The code has no escalation route.
ESC-002  warning  An escalation role's title is cut off in the source (``truncated = true``).
ACC-001  warning  The code says nothing on accessibility or alternative formats.
======== ======== ========================================================================

The source of each finding is the regulation rule the check applies (``CheckRule.law``, a
rule id of :mod:`amends.domain.regulation`), in force on the date checked.

The date checked is the later of ``on`` and the code's own effective date: a code cannot be
published for a date the law has already moved past, and the rules that apply to it are at
least those in force when it takes effect (later rule changes give ADR-002 warnings).

Severity follows scope: each rule records whom it protects (``Rule.protects``). An error under
a rule that protects none of the customers the code serves (CCR reg. 41 protects consumers; a
business-only code) is reported as a warning. A code that does not say whom it serves is read
as serving consumers (the stricter reading) and gets SCP-001.

Rule ids are part of the interface: a published id keeps its meaning; a new check gets a new
id.

Severity choices: an error is something the law requires of the published code or that sends
customers the wrong way (wrong body, wrong number, a line that costs extra, a missing "free");
a warning is a gap that Amends' clocks and letters cover anyway (a missing 12-month sentence:
the ADR letter gives it) or that rests on the Annex as commonly described ([R] in
regulatory.md: accessibility, channel families).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

import phonenumbers
from phonenumbers import PhoneNumberType

from amends.domain.codes import (
    AdrContactType,
    CaseKind,
    Channel,
    ChannelType,
    Code,
    CustomerType,
    Duration,
    ObligationKind,
    Promise,
    Purpose,
    iter_promises,
    published_texts,
)
from amends.domain.regulation import (
    APPROVED_SCHEMES,
    RULES,
    Rule,
    RuleSet,
    Source,
    identify_adr_body,
    normalise_name,
    rule_changes_after,
    rules_in_force,
)

__all__ = [
    "CHECK_RULES",
    "CheckRule",
    "Finding",
    "Severity",
    "check_code",
    "check_date",
    "summary",
]


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class CheckRule:
    id: str
    severity: Severity
    title: str
    law: str
    """The regulation rule id this check applies (see :data:`amends.domain.regulation.RULES`)."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One defect: which check, how bad, where in the file, what, and the law behind it."""

    rule_id: str
    severity: Severity
    path: str
    message: str
    law: str
    source: Source
    value: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "rule_id": self.rule_id,
            "severity": self.severity.value,
            "path": self.path,
            "value": self.value,
            "message": self.message,
            "source": {
                "rule": self.law,
                "citation": self.source.citation,
                "url": self.source.url,
                "evidence": self.source.evidence,
            },
        }


def _r(rule_id: str, severity: Severity, title: str, law: str) -> CheckRule:
    return CheckRule(rule_id, severity, title, law)


E, W = Severity.ERROR, Severity.WARNING

CHECK_RULES: Final[dict[str, CheckRule]] = {
    rule.id: rule
    for rule in (
        _r("META-001", W, "The code has no version", "C4.CODE.CONTENT"),
        _r("META-002", W, "The code has no effective date", "C4.CODE.CONTENT"),
        _r("META-003", W, "The code quotes General Condition 14", "C4.GC14"),
        _r("CH-001", E, "No channel for complaints", "C4.CHANNELS"),
        _r("CH-002", W, "A kind of complaint channel is missing", "C4.CHANNELS"),
        _r("CH-003", E, "A complaint line costs callers extra", "CCR.41"),
        _r("CH-004", E, "The same channel is given two different values", "C4.CODE.CONTENT"),
        _r("CH-005", W, "A channel has no value", "C4.CODE.CONTENT"),
        _r("CH-006", W, "A complaint number is not a valid UK number", "C4.CHANNELS"),
        _r("ADR-001", E, "The ADR point is later than the law allows", "C4.ADR.TIME"),
        _r("ADR-002", W, "The ADR point will be later than the law allows", "C4.ADR.TIME"),
        _r("ADR-003", E, "The ADR body is not an approved scheme", "C4.3"),
        _r("ADR-004", W, "The ADR scheme is named by a former name", "C4.3"),
        _r("ADR-005", E, "An ADR contact detail differs from the scheme's", "C4.3"),
        _r("ADR-006", W, "An ADR contact detail the scheme does not list", "C4.3"),
        _r("ADR-007", E, "The code does not say ADR is free", "C4.ADR.FREE"),
        _r("ADR-008", E, "The code does not give the deadlock route to ADR", "C4.CODE.DEADLOCK"),
        _r("ADR-009", W, "The code does not give the 12 months to go to ADR", "C4.ADR.WINDOW"),
        _r("ADR-010", W, "The code does not promise the ADR letter unasked", "C4.ADR.DEADLOCK"),
        _r("RES-001", W, "A target may fall after the ADR point", "C4.ADR.TIME"),
        _r("PRM-001", W, "A promise has no time limit", "C4.CODE.CONTENT"),
        _r("PRM-002", E, "A first-contact promise may end after the ADR point", "C4.ADR.TIME"),
        _r(
            "PRM-003",
            W,
            "A first-contact promise may end after the resolution target",
            "C4.CODE.CONTENT",
        ),
        _r("PRM-004", W, "Two resolution targets disagree", "C4.CODE.CONTENT"),
        _r("TXT-001", E, "Published text says ADR costs the customer", "C4.ADR.FREE"),
        _r("TXT-002", E, "Published text gives another time limit for ADR", "C4.ADR.WINDOW"),
        _r("TXT-003", E, "Published text gives a later ADR point than the law", "C4.ADR.TIME"),
        _r("TXT-004", E, "Published text names another ADR scheme", "C4.3"),
        _r("TXT-005", W, "Published text uses a former name of the scheme", "C4.3"),
        _r("SCP-001", W, "The code does not say which customers it serves", "C4.CODE.CONTENT"),
        _r("CLO-001", W, "Closure without the customer's agreement is not ruled out", "C4.CLOSE"),
        _r("ESC-001", W, "No escalation route", "C4.CODE.CONTENT"),
        _r("ESC-002", W, "An escalation role's title is cut off", "C4.CODE.CONTENT"),
        _r("ACC-001", W, "Nothing on accessibility or other formats", "C4.ACCESS"),
    )
}


@dataclass(frozen=True, slots=True)
class _Context:
    code: Code
    on: date
    rules: RuleSet

    @property
    def served(self) -> frozenset[CustomerType]:
        """Whom the code serves; a code that does not say is read as serving everyone."""
        return frozenset(self.code.provider.customers) or frozenset(CustomerType)


def _law(rule_id: str, on: date) -> Rule[object]:
    candidates = [r for r in RULES if r.id == rule_id]
    in_force = [r for r in candidates if r.in_force(on)]
    return (in_force or candidates)[-1]


def _finding(
    ctx: _Context, check_id: str, path: str, message: str, value: object = None
) -> Finding:
    check = CHECK_RULES[check_id]
    law = _law(check.law, ctx.on)
    severity = check.severity
    if severity is Severity.ERROR and not any(law.protects.covers(c) for c in ctx.served):
        severity = Severity.WARNING  # the rule protects none of the customers served
    return Finding(
        rule_id=check.id,
        severity=severity,
        path=path,
        message=message,
        law=law.id,
        source=law.source,
        value=None if value is None else str(value),
    )


Check = Callable[[_Context], Iterable[Finding]]
_CHECKS: list[Check] = []


def _check(function: Check) -> Check:
    _CHECKS.append(function)
    return function


# --------------------------------------------------------------------------- meta


@_check
def _meta(ctx: _Context) -> Iterator[Finding]:
    meta = ctx.code.meta
    if meta.version is None:
        yield _finding(
            ctx,
            "META-001",
            "code.version",
            "The code has no version. Give it one, so that customers, staff and Ofcom can tell "
            "which code applied to a complaint.",
        )
    if meta.effective_from is None:
        yield _finding(
            ctx,
            "META-002",
            "code.effective_from",
            "The code has no effective date. Say from when it applies.",
        )
    for index, reference in enumerate(meta.references):
        if re.search(r"\b(GC|General Condition)\s*14\b", reference, re.IGNORECASE):
            yield _finding(
                ctx,
                "META-003",
                f"code.references[{index}]",
                f"The code quotes {reference}, which Ofcom replaced with General Condition C4 "
                "on 1 October 2018. Refer to General Condition C4 and the Approved Complaints "
                "Code instead.",
                reference,
            )


# --------------------------------------------------------------------------- channels


def _complaint_channels(code: Code) -> tuple[Channel, ...]:
    return code.channels_for(Purpose.COMPLAINTS)


def _reachable(channel: Channel) -> bool:
    """A channel a customer can actually use: it has a number, address or link (an account
    manager is reached through the account)."""
    return bool(channel.value) or channel.type is ChannelType.ACCOUNT_MANAGER


@_check
def _channels_present(ctx: _Context) -> Iterator[Finding]:
    channels = [c for c in _complaint_channels(ctx.code) if _reachable(c)]
    if not channels:
        yield _finding(
            ctx,
            "CH-001",
            "channels",
            "The code gives no way to complain that a customer can use: no channel with the "
            'purpose "complaints" has a number, address or link. Customers must be able to '
            "complain by phone, by post and by email or online.",
        )
        return
    families = {
        "voice": {ChannelType.PHONE, ChannelType.TEXTPHONE, ChannelType.ACCOUNT_MANAGER},
        "post": {ChannelType.POST},
        "online": {ChannelType.EMAIL, ChannelType.WEB_FORM},
    }
    present = {channel.type for channel in channels}
    missing = [name for name, types in families.items() if not present & types]
    words = {
        "voice": "by phone",
        "post": "by post",
        "online": "by email or an online form",
    }
    for name in missing:
        yield _finding(
            ctx,
            "CH-002",
            "channels",
            f"Customers cannot complain {words[name]}: no such complaint channel has a number, "
            f"address or link. Offer one {words[name]}, so that every customer can use a "
            "channel that suits them.",
        )


def _digits(number: str) -> str:
    """The digits of a UK number as dialled at home: +44 (0)330 ... becomes 0330..."""
    number = number.replace("(0)", "")
    digits = re.sub(r"\D", "", number)
    if number.strip().startswith("+44"):
        digits = "0" + digits[2:]
    elif digits.startswith("0044"):
        digits = "0" + digits[4:]
    return digits


#: Relay UK: a textphone user dials 18001, a phone or app user 18002, before the number.
_RELAY = re.compile(r"^\s*(18001|18002)\s*")


@dataclass(frozen=True, slots=True)
class _Number:
    """What a UK number costs a caller, from Ofcom's numbering ranges (``phonenumbers``)."""

    written: str
    relay: str | None
    valid: bool
    extra: bool
    """It costs callers more than a basic-rate (geographic or mobile) call."""
    cost: str

    @property
    def international(self) -> bool:
        return self.written.strip().startswith("+") or _digits(self.written).startswith("00")


def _classify(written: str) -> _Number:
    relay_match = _RELAY.match(written)
    relay = relay_match.group(1) if relay_match else None
    dialled = written[relay_match.end() :] if relay_match else written
    try:
        parsed = phonenumbers.parse(dialled, "GB")
    except phonenumbers.NumberParseException:
        return _Number(written, relay, False, False, "cannot be dialled as written")
    valid = phonenumbers.is_valid_number(parsed) and parsed.country_code == 44
    national = _digits(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL))
    kind = phonenumbers.number_type(parsed)
    if not valid:
        return _Number(written, relay, False, False, "is not a valid UK number")
    if kind == PhoneNumberType.TOLL_FREE:
        return _Number(written, relay, True, False, "is free to call from UK landlines and mobiles")
    if national.startswith("084"):
        cost = (
            "costs callers a service charge of up to 7p a minute, set by the number's owner, "
            "on top of their phone company's access charge"
        )
        return _Number(written, relay, True, True, cost)
    if national.startswith("087"):
        cost = (
            "costs callers a service charge of up to 13p a minute on top of their phone "
            "company's access charge"
        )
        return _Number(written, relay, True, True, cost)
    if national.startswith("09") or kind == PhoneNumberType.PREMIUM_RATE:
        cost = "is a premium-rate number: it can cost callers several pounds a minute"
        return _Number(written, relay, True, True, cost)
    if kind == PhoneNumberType.PERSONAL_NUMBER:
        cost = "is a personal number (070): calls cost far more than a normal call"
        return _Number(written, relay, True, True, cost)
    if national.startswith("055"):
        cost = "is a corporate number (055): calls cost more than a normal call"
        return _Number(written, relay, True, True, cost)
    if kind == PhoneNumberType.MOBILE:
        return _Number(written, relay, True, False, "costs the same as a call to a mobile")
    return _Number(
        written,
        relay,
        True,
        False,
        "costs the same as a call to a normal 01, 02 or 03 number (included in most plans)",
    )


def _via(number: _Number) -> str:
    return f" (through Relay UK, {number.relay})" if number.relay else ""


@_check
def _premium_lines(ctx: _Context) -> Iterator[Finding]:
    for channel in _complaint_channels(ctx.code):
        if not channel.type.is_dialled or not channel.value:
            continue
        number = _classify(channel.value)
        kind = channel.type.label.lower()
        if not number.valid:
            yield _finding(
                ctx,
                "CH-006",
                f"{channel.path}.value",
                f"The complaint {kind} number {channel.value} {number.cost}, so customers may "
                "not be able to reach you on it. Check the number.",
                channel.value,
            )
            continue
        if not number.extra:
            continue
        yield _finding(
            ctx,
            "CH-003",
            f"{channel.path}.value",
            f"The complaint {kind} number {channel.value}{_via(number)} {number.cost}. "
            "Customers must be able to complain for no more than a basic-rate call: use a "
            "number starting 01, 02, 03 or 080 instead.",
            channel.value,
        )


def _normalise_value(channel_type: ChannelType, value: str) -> str:
    if channel_type.is_dialled:
        return _digits(value)
    if channel_type is ChannelType.WEB_FORM:
        text = value.strip().casefold()
        text = re.sub(r"^https?://", "", text)
        text = re.sub(r"^www\.", "", text)
        return text.rstrip("/")
    return normalise_name(value)


@_check
def _same_channel_twice(ctx: _Context) -> Iterator[Finding]:
    channels = [
        c for c in ctx.code.channels if c.value and c.type is not ChannelType.ACCOUNT_MANAGER
    ]
    for later_index, later in enumerate(channels):
        for earlier in channels[:later_index]:
            if earlier.type is not later.type or earlier.audience != later.audience:
                continue
            shared = earlier.purposes & later.purposes
            if not shared:
                continue
            assert earlier.value is not None and later.value is not None
            if _normalise_value(earlier.type, earlier.value) == _normalise_value(
                later.type, later.value
            ):
                continue
            if earlier.type.is_dialled and (
                _classify(earlier.value).international != _classify(later.value).international
            ):
                continue  # a line for callers abroad beside the UK one
            purposes = " and ".join(sorted(p.value.replace("_", " ") for p in shared))
            kind = later.type.label.lower()
            yield _finding(
                ctx,
                "CH-004",
                f"{later.path}.value",
                f"The code gives two different {kind} contacts for {purposes}: "
                f"{_one_line(earlier.value)} ({earlier.path}) and {_one_line(later.value)}. "
                "Give one, or say who each is for (audience).",
                later.value,
            )


def _one_line(value: str) -> str:
    return ", ".join(value.split("\n"))


@_check
def _channel_values(ctx: _Context) -> Iterator[Finding]:
    for channel in ctx.code.channels:
        if channel.value or channel.type is ChannelType.ACCOUNT_MANAGER:
            continue
        kind = channel.type.label.lower()
        named = f' ("{channel.label}")' if channel.label else ""
        yield _finding(
            ctx,
            "CH-005",
            f"{channel.path}.value",
            f"The code names {_article(kind)} {kind} channel{named} but gives no "
            f"{_VALUE_NOUN[channel.type]}, so customers cannot use it.",
        )


_VALUE_NOUN: Final = {
    ChannelType.PHONE: "number",
    ChannelType.FAX: "number",
    ChannelType.TEXTPHONE: "number",
    ChannelType.EMAIL: "address",
    ChannelType.POST: "address",
    ChannelType.WEB_FORM: "link",
    ChannelType.ACCOUNT_MANAGER: "name",
}


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


# --------------------------------------------------------------------------- ADR


def _adr_point_message(stated: Duration, law: Duration, on: date, since: date) -> str:
    return (
        f"The code says customers can go to ADR after {stated}; for a complaint first received "
        f"on {on.isoformat()} the law requires the ADR letter after {law} (the rule in force "
        f"since {since.isoformat()}). Amends sends the letter at {law}; change the code to "
        f"say {law}."
    )


@_check
def _adr_point(ctx: _Context) -> Iterator[Finding]:
    adr = ctx.code.adr
    law = ctx.rules.adr_letter_after
    hours_per_day = ctx.code.hours_per_day
    if adr is None or adr.after is None:
        yield _finding(
            ctx,
            "ADR-001",
            "adr.after",
            f"The code does not say when customers can go to ADR. The law requires the ADR "
            f"letter {law.value} after a complaint is first received.",
        )
        return
    if adr.after.at_most(law.value, hours_per_day) is not True:
        yield _finding(
            ctx,
            "ADR-001",
            "adr.after",
            _adr_point_message(adr.after, law.value, ctx.on, law.effective_from),
            adr.after,
        )
        return
    for change in rule_changes_after(ctx.on):
        future = rules_in_force(change).adr_letter_after
        if adr.after.at_most(future.value, hours_per_day) is not True:
            yield _finding(
                ctx,
                "ADR-002",
                "adr.after",
                f"The code says customers can go to ADR after {adr.after}. That meets the law "
                f"on {ctx.on.isoformat()}, but for complaints first received from "
                f"{change.isoformat()} the law requires the ADR letter after "
                f"{future.value}. Change the code before then.",
                adr.after,
            )
            return


@_check
def _adr_body(ctx: _Context) -> Iterator[Finding]:
    adr = ctx.code.adr
    if adr is None or adr.scheme is None:
        yield _finding(
            ctx,
            "ADR-003",
            "adr.scheme",
            "The code names no ADR scheme. Name your approved scheme (the Communications "
            "Ombudsman or CISAS) and how to contact it.",
        )
        return
    match = identify_adr_body(adr.scheme)
    if match.not_a_scheme is not None:
        yield _finding(ctx, "ADR-003", "adr.scheme", match.not_a_scheme.reason, adr.scheme)
        return
    if match.scheme is None:
        yield _finding(
            ctx,
            "ADR-003",
            "adr.scheme",
            f'"{adr.scheme}" is not an Ofcom-approved ADR scheme. The approved schemes are the '
            "Communications Ombudsman and CISAS.",
            adr.scheme,
        )
        return
    scheme = match.scheme
    if match.former_name:
        yield _finding(
            ctx,
            "ADR-004",
            "adr.scheme",
            f'"{adr.scheme}" is a former name: the scheme is now called {scheme.in_sentence}. '
            "Use its current name so that customers can find it.",
            adr.scheme,
        )
    for contact in adr.contacts:
        listed = scheme.contacts_of(contact.type)
        path = f"{contact.path}.value"
        noun = _CONTACT_NOUN[contact.type]
        if not listed:
            yield _finding(
                ctx,
                "ADR-006",
                path,
                f"The code gives {_article(noun)} {noun} for {scheme.in_sentence} "
                f"({_one_line(contact.value)}), which the scheme does not list. Remove it, or "
                "confirm it with the scheme.",
                _one_line(contact.value),
            )
            continue
        if any(_same_contact(contact.type, contact.value, known.value) for known in listed):
            continue
        expected = " or ".join(_one_line(known.value) for known in listed)
        yield _finding(
            ctx,
            "ADR-005",
            path,
            f"The code gives {scheme.in_sentence}'s {noun} as {_one_line(contact.value)}; "
            f"the scheme's is {expected}.",
            _one_line(contact.value),
        )


_CONTACT_NOUN: Final = {
    AdrContactType.POST: "postal address",
    AdrContactType.PHONE: "phone number",
    AdrContactType.TEXTPHONE: "textphone number",
    AdrContactType.FAX: "fax number",
    AdrContactType.EMAIL: "email address",
    AdrContactType.WEBSITE: "website",
}


def _same_contact(kind: AdrContactType, given: str, known: str) -> bool:
    if kind in (AdrContactType.PHONE, AdrContactType.TEXTPHONE, AdrContactType.FAX):
        return _digits(given) == _digits(known)
    if kind is AdrContactType.EMAIL:
        return given.strip().casefold() == known.strip().casefold()
    if kind is AdrContactType.WEBSITE:
        return _normalise_value(ChannelType.WEB_FORM, given) == _normalise_value(
            ChannelType.WEB_FORM, known
        )
    # Post: the same lines after the first (the addressee may be written differently, or an
    # old name, which ADR-004 reports), compared without case, punctuation or spacing.
    given_lines = [normalise_name(line).replace(" ", "") for line in given.split("\n")]
    known_lines = [normalise_name(line).replace(" ", "") for line in known.split("\n")]
    if given_lines == known_lines:
        return True
    return given_lines[1:] == known_lines[1:] and len(given_lines) > 1


@_check
def _adr_statements(ctx: _Context) -> Iterator[Finding]:
    # A code with no [adr] section at all states none of these: each is named.
    adr = ctx.code.adr
    if adr is None or not adr.states_free:
        yield _finding(
            ctx,
            "ADR-007",
            "adr.states_free",
            "The code does not say that ADR is free for the customer. Say so: Ofcom fined EE "
            "partly because its code did not.",
        )
    if adr is None or not adr.deadlock_route:
        yield _finding(
            ctx,
            "ADR-008",
            "adr.deadlock_route",
            "The code does not say that customers can go to ADR as soon as we tell them we "
            "cannot resolve the complaint (deadlock), without waiting for the time limit.",
        )
    if adr is None or not adr.states_time_limit:
        months = ctx.rules.adr_window_months.value
        yield _finding(
            ctx,
            "ADR-009",
            "adr.states_time_limit",
            f"The code does not say that customers have {months} months from the ADR letter "
            "to take the complaint to ADR.",
        )
    if adr is None or not adr.letter_unasked:
        yield _finding(
            ctx,
            "ADR-010",
            "adr.letter_unasked",
            "The code does not say we send the ADR letter at the ADR point and at deadlock "
            "without the customer having to ask for it.",
        )


# --------------------------------------------------------------------------- promises


@_check
def _targets_before_adr(ctx: _Context) -> Iterator[Finding]:
    code = ctx.code
    law = ctx.rules.adr_letter_after.value
    stated = code.adr.after if code.adr else None
    point = law
    if stated is not None and stated.at_most(law, code.hours_per_day) is True:
        point = stated
    spec = code.case_kind(CaseKind.COMPLAINT)
    targets: list[tuple[str, Duration, str]] = []
    if spec is not None:
        for promise in spec.promises:
            if promise.kind is ObligationKind.RESOLVE and promise.within is not None:
                targets.append((f"{promise.path}.within", promise.within, "resolution target"))
    for level in code.escalation:
        if level.review_within is not None:
            targets.append(
                (f"{level.path}.review_within", level.review_within, f"{level.role}'s review")
            )
    for path, duration, what in targets:
        if duration.at_most(point, code.hours_per_day) is True:
            continue
        yield _finding(
            ctx,
            "RES-001",
            path,
            f"The {what} of {duration} may end after the ADR point ({point} after the "
            "complaint is first received), when the customer can already take it to ADR. "
            "Shorten it, or say the customer may go to ADR meanwhile.",
            duration,
        )


@_check
def _untimed_promises(ctx: _Context) -> Iterator[Finding]:
    for spec, promise in iter_promises(ctx.code):
        if promise.duration is not None or promise.agreed:
            continue
        yield _finding(
            ctx,
            "PRM-001",
            promise.path,
            f"The {spec.label.lower()} promise to {promise.kind.value.replace('_', ' ')} gives "
            "no time, so no clock can hold it. Say within how long.",
        )


def _adr_point_for(ctx: _Context) -> Duration:
    """The point a customer can go to ADR: the law's, or the code's own when stricter."""
    code = ctx.code
    law = ctx.rules.adr_letter_after.value
    stated = code.adr.after if code.adr else None
    if stated is not None and stated.at_most(law, code.hours_per_day) is True:
        return stated
    return law


_FIRST_CONTACT: Final = (
    ObligationKind.ACKNOWLEDGE,
    ObligationKind.INTRODUCE_HANDLER,
    ObligationKind.FIRST_RESPONSE,
    ObligationKind.AGREE_UPDATES,
)
_PROMISE_WORDS: Final = {
    ObligationKind.ACKNOWLEDGE: "acknowledgement",
    ObligationKind.INTRODUCE_HANDLER: "handler's introduction",
    ObligationKind.FIRST_RESPONSE: "first response",
    ObligationKind.AGREE_UPDATES: "agreement on updates",
    ObligationKind.UPDATE: "update cadence",
}


def _resolution_targets(promises: tuple[Promise, ...]) -> list[Promise]:
    return [p for p in promises if p.kind is ObligationKind.RESOLVE and p.within is not None]


@_check
def _promise_sense(ctx: _Context) -> Iterator[Finding]:
    """Every promise with a time makes sense beside the ADR point and the others."""
    code = ctx.code
    hours = code.hours_per_day
    point = _adr_point_for(ctx)
    complaint = code.case_kind(CaseKind.COMPLAINT)
    if complaint is not None:
        for promise in complaint.promises:
            timed = promise.kind in _FIRST_CONTACT or promise.kind is ObligationKind.UPDATE
            if not timed or promise.duration is None:
                continue
            if promise.duration.at_most(point, hours) is True:
                continue
            what = _PROMISE_WORDS[promise.kind]
            field = "every" if promise.every is not None else "within"
            yield _finding(
                ctx,
                "PRM-002",
                f"{promise.path}.{field}",
                f"The {what} of {promise.duration} may come after the ADR point ({point} after "
                "the complaint is first received), when the customer can already take the "
                "complaint to ADR. No customer should wait that long for it: shorten it.",
                promise.duration,
            )
    for spec in code.case_kinds:
        targets = _resolution_targets(spec.promises)
        for promise in spec.promises:
            if promise.kind not in _FIRST_CONTACT or promise.within is None:
                continue
            for target in targets:
                assert target.within is not None
                if not _same_cases(promise, target):
                    continue
                if promise.within.at_most(target.within, hours) is True:
                    continue
                what = _PROMISE_WORDS[promise.kind]
                yield _finding(
                    ctx,
                    "PRM-003",
                    f"{promise.path}.within",
                    f"The {what} of {promise.within} may come after the resolution target of "
                    f"{target.within} ({target.path}): a customer could have the answer "
                    f"before the {what}. Make it sooner.",
                    promise.within,
                )
                break
        for index, later in enumerate(targets):
            for earlier in targets[:index]:
                assert earlier.within is not None and later.within is not None
                if not _same_cases(earlier, later) or earlier.within == later.within:
                    continue
                yield _finding(
                    ctx,
                    "PRM-004",
                    f"{later.path}.within",
                    f"The code promises to resolve the same {spec.label.lower()}s within "
                    f"{earlier.within} ({earlier.path}) and within {later.within}. Amends keeps "
                    "the stricter; say one target, or say when each applies.",
                    later.within,
                )


def _same_cases(one: Promise, other: Promise) -> bool:
    """Two promises that can apply to the same case (neither's conditions exclude the
    other's)."""
    a, b = one.condition, other.condition
    if a.channels is not None and b.channels is not None and not (a.channels & b.channels):
        return False
    return not (
        a.support_contract is not None
        and b.support_contract is not None
        and a.support_contract != b.support_contract
    )


# --------------------------------------------------------------------------- published text
#
# Free text is published word for word, so it is read (a small, explainable rule set, one
# sentence at a time) for the facts the rules govern, in sentences about ADR: a charge for
# it, a time limit other than 12 months, a later ADR point than the law's, another scheme's
# name or a former one.

_NUMBER_WORDS: Final = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
}
_COUNT: Final = r"\b(\d+|" + "|".join(_NUMBER_WORDS) + r")"
_ADR_WORDS: Final = re.compile(
    r"\b(ADR|alternative dispute resolution|ombudsman|dispute resolution|adjudication|"
    r"deadlock letter|the scheme|"
    + "|".join(
        re.escape(name)
        for scheme in APPROVED_SCHEMES
        for name in (*scheme.aliases, *scheme.former_names)
    )
    + r")\b",
    re.IGNORECASE,
)
#: Phrases that say ADR is free, removed before looking for a charge.
_FREE: Final = re.compile(
    r"\b(free of charge|free to you|free for you|free to the customer|at no (extra )?cost|"
    r"no (extra )?(charge|cost|fee)s?|without (any )?(charge|cost|fee)s?|"
    r"(does|will|would) not (cost|charge)|(doesn't|won't|don't) (cost|charge)|"
    r"costs? (you )?nothing|we pay (the |its |their )?(\w+'s )?(case )?fees?)\b",
    re.IGNORECASE,
)
_CHARGE: Final = re.compile(
    r"\b(fees?|charges?|charged|chargeable|payable|costs? (you|the customer)|"
    r"you (will |must |may |would )?(have to |need to )?pay)\b",
    re.IGNORECASE,
)
_MONTHS: Final = re.compile(_COUNT + r"[- ]months?\b", re.IGNORECASE)
_WEEKS: Final = re.compile(_COUNT + r"[- ](weeks?|days?)\b", re.IGNORECASE)


def _count(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBER_WORDS[word.lower()]


def _sentences(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"(?<=[.!?])\s+|\n+", text) if part.strip()]


def _names(sentence: str, names: Iterable[str]) -> str | None:
    for name in names:
        if re.search(rf"\b{re.escape(name)}\b", sentence, re.IGNORECASE):
            return name
    return None


def _text_findings(ctx: _Context, path: str, sentence: str) -> Iterator[Finding]:
    code = ctx.code
    law = ctx.rules.adr_letter_after
    months = ctx.rules.adr_window_months.value
    if _CHARGE.search(_FREE.sub(" ", sentence)):
        yield _finding(
            ctx,
            "TXT-001",
            path,
            f'The published text says "{sentence}", which reads as ADR costing the customer '
            "something. ADR is free to customers: say so, and nothing that contradicts it.",
            sentence,
        )
    for match in _MONTHS.finditer(sentence):
        if _count(match.group(1)) != months:
            yield _finding(
                ctx,
                "TXT-002",
                path,
                f'The published text says "{match.group(0)}" about going to ADR; customers '
                f"have {months} months from the ADR letter. Say {months} months, so that the "
                "code does not contradict itself.",
                match.group(0),
            )
    for match in _WEEKS.finditer(sentence):
        unit = "weeks" if match.group(2).lower().startswith("week") else "days"
        stated = Duration.parse(f"{_count(match.group(1))} {unit}")
        if stated.at_most(law.value, code.hours_per_day) is True:
            continue
        yield _finding(
            ctx,
            "TXT-003",
            path,
            f'The published text says "{match.group(0)}" about going to ADR; since '
            f"{law.effective_from.isoformat()} the law gives customers the ADR letter after "
            f"{law.value}. Change the text.",
            match.group(0),
        )
    own = identify_adr_body(code.adr.scheme).scheme if code.adr and code.adr.scheme else None
    if own is None:
        return
    for scheme in APPROVED_SCHEMES:
        if scheme.id != own.id:
            named = _names(sentence, (*scheme.aliases, *scheme.former_names))
            if named is not None:
                yield _finding(
                    ctx,
                    "TXT-004",
                    path,
                    f'The published text names "{named}", but the code\'s ADR scheme is '
                    f"{own.in_sentence}. Send customers to the one scheme you belong to.",
                    named,
                )
            continue
        former = _names(sentence, scheme.former_names)
        current = _names(sentence, [a for a in scheme.aliases if a not in scheme.former_names])
        if former is not None and current is None:
            yield _finding(
                ctx,
                "TXT-005",
                path,
                f'The published text calls the scheme "{former}", a former name: it is now '
                f"{scheme.in_sentence}.",
                former,
            )


@_check
def _published_text(ctx: _Context) -> Iterator[Finding]:
    for path, text in published_texts(ctx.code):
        for sentence in _sentences(text):
            if path.startswith("adr.") or _ADR_WORDS.search(sentence):
                yield from _text_findings(ctx, path, sentence)


# --------------------------------------------------------------------------- scope


@_check
def _scope(ctx: _Context) -> Iterator[Finding]:
    if not ctx.code.provider.customers:
        yield _finding(
            ctx,
            "SCP-001",
            "provider.customers",
            "The code does not say which customers it serves (home customers, small "
            "businesses, ...). Say so; until then Amends reads it as serving consumers, the "
            "strictest reading.",
        )


@_check
def _closure(ctx: _Context) -> Iterator[Finding]:
    if not ctx.code.closure.requires_customer_confirmation:
        yield _finding(
            ctx,
            "CLO-001",
            "closure.requires_customer_confirmation",
            "The code does not say that a complaint is closed only when the customer agrees it "
            "is resolved (Ofcom fined Three for closing complaints that were not).",
        )


@_check
def _escalation(ctx: _Context) -> Iterator[Finding]:
    if not ctx.code.escalation:
        yield _finding(
            ctx,
            "ESC-001",
            "escalation",
            "The code gives no escalation route: say who reviews a complaint when the customer "
            "is not satisfied, and how to ask.",
        )
    for level in ctx.code.escalation:
        if level.truncated:
            yield _finding(
                ctx,
                "ESC-002",
                f"{level.path}.role",
                f'The role "{level.role}" is cut off in the code\'s text. Give its full title, '
                "so that customers know who reviews their complaint.",
                level.role,
            )


@_check
def _accessibility(ctx: _Context) -> Iterator[Finding]:
    if not ctx.code.accessibility.says_anything:
        yield _finding(
            ctx,
            "ACC-001",
            "accessibility",
            "The code says nothing about accessibility: how disabled customers can complain "
            "(relay services, for example) and that the code and letters come in other formats "
            "such as large print or Braille.",
        )


# --------------------------------------------------------------------------- entry points

_ORDER: Final = {rule_id: index for index, rule_id in enumerate(CHECK_RULES)}


def check_date(code: Code, on: date) -> date:
    """The date whose rules apply: ``on``, or the code's effective date when that is later."""
    effective = code.meta.effective_from
    return max(on, effective) if effective is not None else on


def check_code(code: Code, *, on: date) -> tuple[Finding, ...]:
    """Every finding for ``code`` under the rules in force on ``on`` (or on the code's own
    effective date, when later): errors first."""
    on = check_date(code, on)
    ctx = _Context(code=code, on=on, rules=rules_in_force(on))
    findings = [finding for check in _CHECKS for finding in check(ctx)]
    findings.sort(key=lambda f: (f.severity is not Severity.ERROR, _ORDER[f.rule_id]))
    return tuple(findings)


def summary(findings: Iterable[Finding]) -> dict[str, int]:
    items = list(findings)
    return {
        "errors": sum(1 for f in items if f.severity is Severity.ERROR),
        "warnings": sum(1 for f in items if f.severity is Severity.WARNING),
    }
