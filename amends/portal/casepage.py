"""The customer's private case page, reached by the link in their acknowledgement:
``/<slug>/case/<token>/`` (issue 12), and "send me my link again" at ``/<slug>/case/``.

Thin views over ``amends.cases.selectors.case_get_for_customer`` (the link), the typed
services of ``amends.cases.actions`` (the same as the console's, acting as
``customer_actor(channel="portal")``) and ``amends.comms.portal`` (the reply, the letters).

Nothing about a case without its live link: an unknown, expired, revoked or tampered token,
another provider's slug with a valid token and a guessed reference all get the same 404 page
(same status, same body) after the same work (one hash and one look-up). Every response under
the token says ``Cache-Control: no-store`` and keeps the token out of Referer headers to other
sites; the error responses under it are not logged by Django with their path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from amends.cases import actions
from amends.cases.actors import customer_actor
from amends.cases.errors import CaseError, ErrorCode
from amends.cases.models import Case, Obligation
from amends.cases.selectors import case_get_for_customer
from amends.comms import portal
from amends.core.http import client_ip
from amends.domain.lifecycle import Action, State
from amends.portal import localise
from amends.providers.models import Provider

log = logging.getLogger("amends.portal.casepage")

#: Never a token (``secrets.token_urlsafe`` writes only A-Z, a-z, 0-9, "-" and "_"): looked up
#: in place of a token of impossible length, so that every miss does the same work.
_NOT_A_TOKEN = "~" * 43
#: "Send me my link again": this many requests per client address, and per reference, per hour.
LINK_REQUESTS_PER_HOUR = 5

# --------------------------------------------------------------------------- words

#: The state of a case in plain words (never the internal name).
STATE_WORDS: dict[str, Any] = {
    State.RECEIVED.value: gettext_lazy("We have received it."),
    State.ACKNOWLEDGED.value: gettext_lazy(
        "We have received it and told you so. Someone will look into it."
    ),
    State.ASSIGNED.value: gettext_lazy("A case handler is looking after it."),
    State.INVESTIGATING.value: gettext_lazy("We are looking into it."),
    State.ESCALATED.value: gettext_lazy("A more senior colleague is reviewing it."),
    State.RESOLUTION_PROPOSED.value: gettext_lazy(
        "We have proposed how to put things right. Tell us below whether you accept."
    ),
    State.RESOLVED.value: gettext_lazy("You accepted the resolution we proposed."),
    State.CLOSED.value: gettext_lazy("It is closed."),
    State.REOPENED.value: gettext_lazy("It has been re-opened and we are looking into it again."),
    State.DEADLOCK.value: gettext_lazy(
        "We have given our final position. You can take your complaint to the ADR scheme."
    ),
    State.ADR_LETTER_ISSUED.value: gettext_lazy(
        "We have sent you a letter about your right to take your complaint to the ADR scheme."
    ),
    State.REFERRED.value: gettext_lazy("The ADR scheme is considering your complaint."),
    State.SCHEME_DECISION.value: gettext_lazy("The ADR scheme has made its decision."),
    State.REMEDY_DONE.value: gettext_lazy("We have done what the ADR scheme decided."),
    State.WITHDRAWN.value: gettext_lazy("You withdrew it."),
    State.MERGED.value: gettext_lazy(
        "It has been joined to another case of yours, where we carry on with it."
    ),
}

#: The kind of case, as the page names it.
KIND_WORDS: dict[str, Any] = {
    "complaint": gettext_lazy("Your complaint"),
    "account_query": gettext_lazy("Your query"),
    "sales_query": gettext_lazy("Your query"),
    "support_request": gettext_lazy("Your support request"),
    "abuse_report": gettext_lazy("Your report"),
    "code_comment": gettext_lazy("Your comments"),
}

#: What each of the case's clocks promises the customer.
NEXT_WORDS: dict[str, Any] = {
    "acknowledge": gettext_lazy("We will confirm that we have received it"),
    "introduce_handler": gettext_lazy("Your case handler will introduce themselves"),
    "first_response": gettext_lazy("We will give you our first response"),
    "agree_updates": gettext_lazy("We will agree with you how often we update you"),
    "update": gettext_lazy("We will give you a progress update"),
    "resolve": gettext_lazy("We aim to resolve it"),
    "escalation_review": gettext_lazy("A more senior colleague will review it"),
    "adr_letter": gettext_lazy(
        "If it is not resolved, we will send you a letter so that you can take it to the ADR scheme"
    ),
    "adr_remedy": gettext_lazy("We will do what the ADR scheme decided"),
}

#: The forms of the page: their key in URLs and ids, the action and the fields they send.
FORMS: dict[str, tuple[Action | None, tuple[str, ...]]] = {
    "reply": (None, ("text", "files")),
    "accept": (Action.ACCEPT_RESOLUTION, ()),
    "reject": (Action.REJECT_RESOLUTION, ("reason",)),
    "escalate": (Action.ESCALATE, ("reason",)),
    "withdraw": (Action.WITHDRAW, ("reason",)),
    "adr-letter": (Action.REQUEST_ADR_LETTER, ()),
}

DONE_WORDS: dict[str, Any] = {
    "reply": gettext_lazy("Your message has been sent. It is shown below."),
    "accept": gettext_lazy("Thank you: you have accepted the resolution."),
    "reject": gettext_lazy("You have rejected the proposed resolution. We will be in touch."),
    "escalate": gettext_lazy("You have asked for your complaint to be escalated."),
    "withdraw": gettext_lazy("You have withdrawn it."),
    "adr-letter": gettext_lazy(
        "Your ADR letter is ready: it is below, and we are sending it to you too."
    ),
}

STATUS_WORDS: dict[str, Any] = {
    "queued": gettext_lazy("Being sent"),
    "failed": gettext_lazy("Being sent"),
    "sent": gettext_lazy("Sent"),
    "dead": gettext_lazy("Could not be delivered"),
}

CHANNEL_WORDS: dict[str, Any] = {
    "email": gettext_lazy("by email"),
    "post": gettext_lazy("by post"),
    "phone": gettext_lazy("by phone"),
}


# --------------------------------------------------------------------------- helpers


def _private(response: HttpResponse, *, forms: bool = False) -> HttpResponse:
    """Headers of every response under the token (the token is in the URL): never stored
    by a cache, never sent to another site in a Referer (a page with forms keeps Referer
    and Origin for our own site, which Django's CSRF check needs: under ``no-referrer`` a
    browser posts ``Origin: null``), never indexed."""
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "same-origin" if forms else "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    if response.status_code >= 400:
        # Django logs 4xx responses with their path, which holds the token: not these.
        response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def _not_found(request: HttpRequest, *, up: str = "../") -> HttpResponse:
    """The one answer for a link that does not work, whatever the reason."""
    response = render(request, "portal/case/not_found.html", {"up": up}, status=404)
    return _private(response)


def _live_case(provider: str, token: str, now: datetime) -> Case | None:
    """The case the link is for, when it is live and under this provider's slug. Always one
    hash and one look-up, whatever the token."""
    probe = token if 20 <= len(token) <= 100 else _NOT_A_TOKEN
    case = case_get_for_customer(probe, now=now)
    if case is None or probe is _NOT_A_TOKEN or case.provider.slug != provider:
        return None
    return case


@dataclass(frozen=True)
class NextStep:
    what: str
    due_at: datetime
    late: bool


def _next_steps(case: Case, now: datetime) -> list[NextStep]:
    steps: list[NextStep] = []
    seen: set[str] = set()
    pending = Obligation.objects.filter(case=case, state="pending").order_by("due_at", "pk")
    for clock in pending:
        kind = clock.kind
        if kind in seen or kind not in NEXT_WORDS:
            continue
        seen.add(kind)
        steps.append(NextStep(str(NEXT_WORDS[kind]), clock.due_at, clock.due_at < now))
    return steps


def _context(
    request: HttpRequest, case: Case, token: str, now: datetime, **extra: Any
) -> dict[str, Any]:
    offered = portal.portal_actions(case)
    letters = list(portal.letters_for_customer(case))
    adr_letters = [m for m in letters if m.kind in ("adr_letter", "adr_letter_copy")]
    for message in letters:
        message.status_words = STATUS_WORDS.get(message.status, "")  # type: ignore[attr-defined]
        message.channel_words = CHANNEL_WORDS.get(message.channel, "")  # type: ignore[attr-defined]
    return {
        "provider": case.provider,
        "case": case,
        "token": token,
        "kind_words": KIND_WORDS.get(case.kind, KIND_WORDS["complaint"]),
        "is_complaint": case.kind == "complaint",
        "state_words": STATE_WORDS.get(case.state, ""),
        "next_steps": _next_steps(case, now),
        "scheme": localise.scheme_details(portal.scheme_details(case, now)),
        "letters": letters,
        "adr_letter": adr_letters[0] if adr_letters else None,
        "writings": list(portal.writings_for_customer(case)),
        "can": {
            key.replace("-", "_"): FORMS[key][0] in offered
            for key in FORMS
            if FORMS[key][0] is not None
        },
        "max_files": portal.MAX_FILES,
        "error": None,
        "posted": {},
        **extra,
    }


def client_address(request: HttpRequest) -> str:
    """The client's address, as the console's sign-in lockout reads it."""
    return client_ip(request) or "unknown"


def over_limit(key: str, *, limit: int, now: datetime, window: int = 3600) -> bool:
    """A fixed-window counter in the cache: True once ``key`` was counted more than ``limit``
    times in this window (this call counts)."""
    slot = f"amends:casepage:{key}:{int(now.timestamp()) // window}"
    cache.add(slot, 0, timeout=window + 60)
    try:
        count = cache.incr(slot)
    except ValueError:  # expired between add and incr
        cache.add(slot, 1, timeout=window + 60)
        count = 1
    return int(count) > limit


# --------------------------------------------------------------------------- views


@require_GET
def case_page(request: HttpRequest, provider: str, token: str) -> HttpResponse:
    now = timezone.now()
    case = _live_case(provider, token, now)
    if case is None:
        return _not_found(request)
    return _private(
        render(request, "portal/case/page.html", _context(request, case, token, now)), forms=True
    )


#: The services behind the forms that change the case's state (the console's own).
SERVICES: dict[str, Callable[..., Case]] = {
    "accept": actions.case_accept_resolution,
    "reject": actions.case_reject_resolution,
    "escalate": actions.case_escalate,
    "withdraw": actions.case_withdraw,
}

_STATUS = {ErrorCode.INVALID: 400, ErrorCode.NOT_FOUND: 404}


def _refusal_text(refused: CaseError) -> str:
    if refused.code is ErrorCode.CONFLICT:
        return _(
            "This page was out of date: someone changed your case since you opened it. "
            "Check the page as it is now and try again."
        )
    return refused.message


@require_POST
def case_act(request: HttpRequest, provider: str, token: str, action: str) -> HttpResponse:
    now = timezone.now()
    case = _live_case(provider, token, now)
    if case is None or action not in FORMS:
        return _not_found(request, up="../../")
    data = request.POST
    actor = customer_actor(provider_id=case.provider_id, case_id=case.pk, channel="portal")
    version = _version(data.get("version"))
    try:
        if action == "reply":
            portal.portal_reply(
                case=case, text=data.get("text", ""), files=request.FILES.getlist("files"), now=now
            )
        elif action == "adr-letter":
            actions.case_request_adr_letter(
                case_id=case.pk, actor=actor, by=case.customer.contact_name, how="portal", now=now
            )
        else:
            service = SERVICES[action]
            arguments: dict[str, Any] = {}
            if action == "escalate":
                arguments["reason"] = data.get("reason", "")
            elif action in ("reject", "withdraw"):
                arguments.update(reason=data.get("reason", ""), by=case.customer.contact_name)
                arguments["how"] = "portal"
            else:
                arguments.update(by=case.customer.contact_name, how="portal")
            service(case_id=case.pk, actor=actor, now=now, expected_version=version, **arguments)
    except CaseError as refused:
        if refused.code is ErrorCode.NOT_FOUND:
            return _not_found(request, up="../../")
        case.refresh_from_db()
        fields = FORMS[action][1]
        field = refused.field if refused.field in fields else "submit"
        error = {"form": action, "field": field, "message": _refusal_text(refused)}
        context = _context(
            request,
            case,
            token,
            now,
            error=error,
            posted={action: {k: data.get(k, "") for k in data if k != "csrfmiddlewaretoken"}},
        )
        status = _STATUS.get(refused.code, 409)
        log.info(
            "case page refused", extra={"case_id": case.pk, "action": action, "status": status}
        )
        return _private(
            render(request, "portal/case/page.html", context, status=status), forms=True
        )
    log.info("case page action", extra={"case_id": case.pk, "action": action})
    messages.success(request, str(DONE_WORDS[action]))
    response = redirect(reverse("portal:case_portal", args=[provider, token]))
    response.status_code = 303
    return _private(response)


def _version(value: object) -> int | None:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


@require_GET
def case_letter(request: HttpRequest, provider: str, token: str, message_id: int) -> HttpResponse:
    now = timezone.now()
    case = _live_case(provider, token, now)
    message = portal.letter_for_customer(case, message_id) if case is not None else None
    if case is None or message is None:
        return _not_found(request, up="../../")
    pdf = portal.letter_pdf_for_customer(message)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'inline; filename="{case.reference}-{message.kind}-{message.pk}.pdf"'
    )
    log.info("case letter", extra={"case_id": case.pk, "outbox_id": message.pk})
    return _private(response)


@require_http_methods(["GET", "POST"])
def link_request(request: HttpRequest, provider: str) -> HttpResponse:
    """ "Send me my link again": the same answer whether or not the reference and address
    match a case; rate-limited per client address and per reference."""
    found = Provider.objects.filter(slug=provider).first()
    if found is None:
        return _not_found(request, up="")
    context: dict[str, Any] = {"provider": found, "sent": False, "errors": {}, "values": {}}
    if request.method == "GET":
        return _private(render(request, "portal/case/link_request.html", context), forms=True)
    now = timezone.now()
    reference = str(request.POST.get("reference", "")).strip()[:40]
    email = str(request.POST.get("email", "")).strip()[:254]
    errors: dict[str, str] = {}
    if not reference:
        errors["reference"] = _("Enter your case reference, as it is in our messages to you.")
    if not email:
        errors["email"] = _("Enter the email address you gave us.")
    elif "@" not in email:
        errors["email"] = _("Enter an email address in the right form, like name@example.com.")
    context["values"] = {"reference": reference, "email": email}
    if errors:
        context["errors"] = errors
        return _private(
            render(request, "portal/case/link_request.html", context, status=400), forms=True
        )
    limited = over_limit(
        f"link:ip:{client_address(request)}", limit=LINK_REQUESTS_PER_HOUR, now=now
    )
    limited = (
        over_limit(f"link:ref:{reference.upper()}", limit=LINK_REQUESTS_PER_HOUR, now=now)
        or limited
    )
    if limited:
        context["limited"] = True
        return _private(
            render(request, "portal/case/link_request.html", context, status=429), forms=True
        )

    def url_for(new_token: str) -> str:
        return request.build_absolute_uri(reverse("portal:case_portal", args=[provider, new_token]))

    portal.portal_link_request(
        provider=found, reference=reference, email=email, now=now, url_for=url_for
    )
    context["sent"] = True
    context["values"] = {}
    return _private(render(request, "portal/case/link_request.html", context), forms=True)


urlpatterns = [
    path("", link_request, name="case_link_request"),
    path("<str:token>/", case_page, name="case_portal"),
    path("<str:token>/letters/<int:message_id>.pdf", case_letter, name="case_letter"),
    path("<str:token>/<slug:action>/", case_act, name="case_act"),
]
