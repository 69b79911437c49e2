"""The text of each message, rendered once when its outbox row is written (and stored with it).

Plain English, from the same data as the published code: the scheme's name and contact
details come from the registry (``amends.domain.regulation``), never typed in. These are the
plain-text documents every channel carries; the communications work adds per-provider
templates, HTML and PDF around the same facts.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from amends.comms.models import OutboxKind
from amends.domain.codes import AdrContactType
from amends.domain.regulation import APPROVED_SCHEMES, AdrScheme

LONDON = ZoneInfo("Europe/London")


def _scheme(case: Any, provider: Any) -> AdrScheme | None:
    scheme_id = getattr(case, "adr_scheme", "") or provider.adr_scheme
    return next((s for s in APPROVED_SCHEMES if s.id == scheme_id), None)


def _scheme_block(scheme: AdrScheme | None) -> list[str]:
    if scheme is None:
        return ["Ask us for the name and contact details of our ADR scheme."]
    lines = [f"{scheme.name}" + (f" ({scheme.full_name})" if scheme.full_name else "")]
    for contact in scheme.contacts:
        if contact.evidence == "U":  # unverified values are shown to staff, not customers
            continue
        label = contact.type.label
        value = ", ".join(contact.lines) if contact.type is AdrContactType.POST else contact.value
        lines.append(f"  {label}: {value}")
    return lines


def _adr_letter(case: Any, provider: Any, payload: dict[str, Any], copy: bool) -> list[str]:
    scheme = _scheme(case, provider)
    name = scheme.in_sentence if scheme else "our ADR scheme"
    issued = payload.get("issued_at", "")
    trigger = payload.get("trigger", "")
    why = {
        "deadlock": "we have not been able to reach an agreement with you about your complaint",
        "time": "your complaint has not been resolved within the time the rules allow",
        "customer_request": "you asked us for it",
        "staff": "we want you to know your rights now",
    }.get(str(trigger), "you are entitled to it")
    lines = [
        ("COPY OF YOUR " if copy else "") + "ADR LETTER (YOUR RIGHT TO AN OMBUDSMAN)",
        "",
        f"Complaint reference: {case.reference}",
        "",
        f"We are sending you this letter because {why}.",
        f"You can now take your complaint to {name}, an independent alternative dispute "
        "resolution (ADR) scheme. ADR is free for you.",
        "You must contact the scheme within 12 months of the date of this letter"
        + (f" ({issued})." if issued else "."),
        "",
    ]
    if case.final_position:
        lines += ["Our final position:", case.final_position, ""]
    if case.final_offer:
        lines += ["Our offer to you, which stays open:", case.final_offer, ""]
    lines += ["How to contact the scheme:", *_scheme_block(scheme), ""]
    lines.append(f"{provider.name} remains responsible for your complaint until it is settled.")
    return lines


def render(
    kind: OutboxKind, *, provider: Any, case: Any, payload: dict[str, Any]
) -> tuple[str, str]:
    """(subject, plain text body)."""
    reference = getattr(case, "reference", "")
    if kind in (OutboxKind.ADR_LETTER, OutboxKind.ADR_LETTER_COPY):
        copy = kind is OutboxKind.ADR_LETTER_COPY
        subject = f"{reference}: {'copy of ' if copy else ''}your ADR letter from {provider.name}"
        body = _adr_letter(case, provider, payload, copy)
    elif kind is OutboxKind.BREACH_NOTICE:
        subject = f"{reference}: a promised deadline was missed ({payload.get('obligation')})"
        body = [
            f"Case {reference}: the clock {payload.get('obligation')} was due at "
            f"{payload.get('due_at')} and was not met in time.",
            "Open the case in the console to see what is owed and who owns it.",
        ]
    elif kind is OutboxKind.WORKER_ALERT:
        subject = f"{reference}: the worker cannot process a clock"
        body = [
            f"Case {reference}: the worker failed to act on clock {payload.get('obligation')} "
            f"({payload.get('attempts')} attempts so far; it keeps retrying with back-off).",
            f"Error: {payload.get('error')}",
        ]
    elif kind is OutboxKind.CASE_LINK:
        subject = f"{reference}: follow your case with {provider.name}"
        body = [
            f"Your private link to case {reference} is: {payload.get('url')}",
            f"It works until {payload.get('expires')}. Do not share it.",
        ]
    else:
        subject = f"{reference}: {kind.label}"
        body = [f"{kind.label} for case {reference}."]
    return subject[:300], "\n".join(body) + "\n"
