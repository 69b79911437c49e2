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
CLO-001  warning  The code does not say a complaint closes only when the customer agrees.
ESC-001  warning  The code has no escalation route.
ACC-001  warning  The code says nothing on accessibility or alternative formats.
======== ======== ========================================================================

The source of each finding is the regulation rule the check applies (``CheckRule.law``, a
rule id of :mod:`amends.domain.regulation`), in force on the date checked.

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

from amends.domain.codes import (
    AdrContactType,
    CaseKind,
    Channel,
    ChannelType,
    Code,
    Duration,
    ObligationKind,
    Purpose,
    iter_promises,
)
from amends.domain.regulation import (
    RULES,
    Rule,
    RuleSet,
    Source,
    identify_adr_body,
    normalise_name,
    rule_changes_after,
    rules_in_force,
)

__all__ = ["CHECK_RULES", "CheckRule", "Finding", "Severity", "check_code", "summary"]


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
        _r("CLO-001", W, "Closure without the customer's agreement is not ruled out", "C4.CLOSE"),
        _r("ESC-001", W, "No escalation route", "C4.CODE.CONTENT"),
        _r("ACC-001", W, "Nothing on accessibility or other formats", "C4.ACCESS"),
    )
}


@dataclass(frozen=True, slots=True)
class _Context:
    code: Code
    on: date
    rules: RuleSet


def _law(rule_id: str, on: date) -> Rule[object]:
    candidates = [r for r in RULES if r.id == rule_id]
    in_force = [r for r in candidates if r.in_force(on)]
    return (in_force or candidates)[-1]


def _finding(
    ctx: _Context, check_id: str, path: str, message: str, value: object = None
) -> Finding:
    check = CHECK_RULES[check_id]
    law = _law(check.law, ctx.on)
    return Finding(
        rule_id=check.id,
        severity=check.severity,
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


@_check
def _channels_present(ctx: _Context) -> Iterator[Finding]:
    channels = _complaint_channels(ctx.code)
    if not channels:
        yield _finding(
            ctx,
            "CH-001",
            "channels",
            'The code gives no way to complain: no channel has the purpose "complaints". '
            "Customers must be able to complain by phone, by post and by email or online.",
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
            f"Customers cannot complain {words[name]}. Offer a complaint channel {words[name]}, "
            "so that every customer can use one that suits them.",
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


def _premium(number: str, prefixes: tuple[str, ...]) -> str | None:
    digits = _digits(number)
    for prefix in prefixes:
        if digits.startswith(prefix):
            return prefix
    return None


@_check
def _premium_lines(ctx: _Context) -> Iterator[Finding]:
    prefixes = ctx.rules.basic_rate.value
    for channel in _complaint_channels(ctx.code):
        if not channel.type.is_dialled or not channel.value:
            continue
        prefix = _premium(channel.value, prefixes)
        if prefix is None:
            continue
        kind = channel.type.label.lower()
        yield _finding(
            ctx,
            "CH-003",
            f"{channel.path}.value",
            f"The complaint {kind} number {channel.value} starts {prefix}, which costs callers "
            "more than a basic-rate call. Use a number starting 01, 02, 03 or 080 instead.",
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
    adr = ctx.code.adr
    if adr is None:
        return
    if not adr.states_free:
        yield _finding(
            ctx,
            "ADR-007",
            "adr.states_free",
            "The code does not say that ADR is free for the customer. Say so: Ofcom fined EE "
            "partly because its code did not.",
        )
    if not adr.deadlock_route:
        yield _finding(
            ctx,
            "ADR-008",
            "adr.deadlock_route",
            "The code does not say that customers can go to ADR as soon as we tell them we "
            "cannot resolve the complaint (deadlock), without waiting for the time limit.",
        )
    if not adr.states_time_limit:
        months = ctx.rules.adr_window_months.value
        yield _finding(
            ctx,
            "ADR-009",
            "adr.states_time_limit",
            f"The code does not say that customers have {months} months from the ADR letter "
            "to take the complaint to ADR.",
        )
    if not adr.letter_unasked:
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


def check_code(code: Code, *, on: date) -> tuple[Finding, ...]:
    """Every finding for ``code`` under the rules in force on ``on``: errors first."""
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
