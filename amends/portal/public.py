"""Each provider's public pages, under ``/<slug>/``: what a customer can do, the published Code
of Practice, and a form per case kind the code has.

A form is a few short question pages (GOV.UK's question-page pattern), kept in the session
until the customer checks their answers and sends them (one POST): then the customer and the
case are created in one transaction (``case_intake``, with the private link, whose
acknowledgement goes by the customer's preferred channel), and the confirmation page shows
the reference and the next promised step. Every question page says what happens next
and by when, with the dates of the clocks this case would get (``amends.cases.preview``).

Abuse: a rate limit per IP and per contact address (``amends.portal.limits``, 429 and nothing
stored), a honeypot field (filled: pretend success, store nothing), a size cap on every field
and on the whole POST (413). Nothing about a case is shown here but the reference, to the
browser that sent it; the private link goes only by the message. Logs carry ids only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from typing import Any, Final

from django import forms
from django.conf import settings
from django.contrib.sessions.backends.base import UpdateError
from django.core.validators import RegexValidator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import URLPattern, path, register_converter, reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext, pgettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from amends.cases.actions import NewCustomer, case_intake
from amends.cases.actors import system_actor
from amends.cases.errors import CaseError
from amends.cases.models import AccessNeed, PreferredContact
from amends.cases.preview import clocks_preview
from amends.codes.render import build_document, version_label
from amends.codes.render import render as render_document
from amends.core.http import client_ip
from amends.domain.codes import CaseKind, ChannelType, Code, CustomerType, ObligationKind
from amends.domain.obligations import LONDON
from amends.domain.regulation import APPROVED_SCHEMES
from amends.portal import limits
from amends.portal.localise import (
    channel_label,
    channel_type_label,
    scheme_name,
    working_hours_text,
)
from amends.providers.models import CodeVersion, Provider
from amends.providers.services import code_of, code_version_in_force

log = logging.getLogger(__name__)

#: Each case kind's part of the URL.
KIND_SLUGS: Final = {
    "complaint": CaseKind.COMPLAINT,
    "question": CaseKind.ACCOUNT_QUERY,
    "support": CaseKind.SUPPORT_REQUEST,
    "abuse": CaseKind.ABUSE_REPORT,
    "comment": CaseKind.CODE_COMMENT,
}
SLUG_OF: Final = {kind: slug for slug, kind in KIND_SLUGS.items()}
STEPS: Final = ("about", "representative", "you", "contact", "needs")

MAX_DESCRIPTION = 10_000
HONEYPOT = "website"


def max_post_bytes() -> int:
    return int(getattr(settings, "AMENDS_PUBLIC_MAX_POST_BYTES", 256 * 1024))


class KindConverter:
    regex = "|".join(KIND_SLUGS)

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class StepConverter:
    regex = "|".join(STEPS[1:])

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(KindConverter, "publickind")
register_converter(StepConverter, "publicstep")


# --------------------------------------------------------------------------- words


def _noun(kind: CaseKind) -> str:
    return {
        CaseKind.COMPLAINT: _("complaint"),
        CaseKind.ACCOUNT_QUERY: _("question"),
        CaseKind.SUPPORT_REQUEST: _("support request"),
        CaseKind.ABUSE_REPORT: _("report"),
        CaseKind.CODE_COMMENT: _("comment"),
    }[kind]


def _offer(kind: CaseKind) -> str:
    """What the home page offers, as a link text."""
    return {
        CaseKind.COMPLAINT: _("Make a complaint"),
        CaseKind.ACCOUNT_QUERY: _("Ask a question about your account or a sale"),
        CaseKind.SUPPORT_REQUEST: _("Ask for technical support"),
        CaseKind.ABUSE_REPORT: _("Report abuse from our network"),
        CaseKind.CODE_COMMENT: _("Comment on our Code of Practice"),
    }[kind]


def _about_heading(kind: CaseKind) -> str:
    return {
        CaseKind.COMPLAINT: _("Tell us about your complaint"),
        CaseKind.ACCOUNT_QUERY: _("What is your question?"),
        CaseKind.SUPPORT_REQUEST: _("What do you need help with?"),
        CaseKind.ABUSE_REPORT: _("What do you want to report?"),
        CaseKind.CODE_COMMENT: _("What would you like to tell us about our code?"),
    }[kind]


def _check_heading(kind: CaseKind) -> str:
    return {
        CaseKind.COMPLAINT: _("Check your answers before sending your complaint"),
        CaseKind.ACCOUNT_QUERY: _("Check your answers before sending your question"),
        CaseKind.SUPPORT_REQUEST: _("Check your answers before sending your support request"),
        CaseKind.ABUSE_REPORT: _("Check your answers before sending your report"),
        CaseKind.CODE_COMMENT: _("Check your answers before sending your comment"),
    }[kind]


def _sent_heading(kind: CaseKind) -> str:
    return {
        CaseKind.COMPLAINT: _("Complaint sent"),
        CaseKind.ACCOUNT_QUERY: _("Question sent"),
        CaseKind.SUPPORT_REQUEST: _("Support request sent"),
        CaseKind.ABUSE_REPORT: _("Report sent"),
        CaseKind.CODE_COMMENT: _("Comment sent"),
    }[kind]


def _long_date(moment: datetime | date) -> str:
    """'Tuesday 3 March 2026' in the active language (Europe/London)."""
    if isinstance(moment, datetime):
        moment = moment.astimezone(LONDON)
    return date_format(moment, "l j F Y")


def _when(moment: datetime) -> str:
    """'6pm on Monday 14 December 2026', '1:30pm on ...' (Europe/London)."""
    local = moment.astimezone(LONDON)
    hour = local.hour % 12 or 12
    clock = f"{hour}" if local.minute == 0 else f"{hour}:{local.minute:02d}"
    suffix = pgettext("before noon", "am") if local.hour < 12 else pgettext("after noon", "pm")
    return _("%(time)s on %(date)s") % {"time": clock + suffix, "date": _long_date(local)}


def _scheme_name(provider: Provider) -> str:
    scheme = next((s for s in APPROVED_SCHEMES if s.id == provider.adr_scheme), None)
    return scheme_name(scheme) if scheme is not None else _("an independent ombudsman scheme")


def _step_sentence(kind: ObligationKind, due: datetime, case_kind: CaseKind, scheme: str) -> str:
    if kind is ObligationKind.ACKNOWLEDGE:
        return _("We will acknowledge it by %(when)s.") % {"when": _when(due)}
    if kind is ObligationKind.INTRODUCE_HANDLER:
        return _(
            "Your case handler will contact you by %(when)s to introduce themselves and give "
            "you their direct contact details."
        ) % {"when": _when(due)}
    if kind is ObligationKind.FIRST_RESPONSE:
        return _("We will first respond to you by %(when)s.") % {"when": _when(due)}
    if kind is ObligationKind.AGREE_UPDATES:
        return _(
            "If we have not sorted it out by %(when)s, we will agree with you when we will "
            "next update you."
        ) % {"when": _when(due)}
    if kind is ObligationKind.UPDATE:
        return _("We will give you an update by %(when)s.") % {"when": _when(due)}
    if kind is ObligationKind.RESOLVE:
        return _("We aim to resolve it by %(when)s.") % {"when": _when(due)}
    if kind is ObligationKind.ADR_LETTER and case_kind is CaseKind.COMPLAINT:
        return _(
            "If your complaint is not resolved by %(date)s, you can take it to %(scheme)s, "
            "free of charge. We will write to you then to say so."
        ) % {"date": _long_date(due), "scheme": scheme}
    return ""


SHOWN: Final = (
    ObligationKind.ACKNOWLEDGE,
    ObligationKind.INTRODUCE_HANDLER,
    ObligationKind.FIRST_RESPONSE,
    ObligationKind.AGREE_UPDATES,
    ObligationKind.UPDATE,
    ObligationKind.RESOLVE,
    ObligationKind.ADR_LETTER,
)


def next_steps(
    clocks: list[tuple[ObligationKind, datetime]], case_kind: CaseKind, provider: Provider
) -> list[str]:
    """What happens next, in order, each with its date: the earliest clock of each kind."""
    scheme = _scheme_name(provider)
    first: dict[ObligationKind, datetime] = {}
    for kind, due in clocks:
        if kind in SHOWN and (kind not in first or due < first[kind]):
            first[kind] = due
    lines = [
        _step_sentence(kind, due, case_kind, scheme)
        for kind, due in sorted(first.items(), key=lambda item: item[1])
    ]
    return [line for line in lines if line]


def _depends_on_contract(code: Code, kind: CaseKind) -> bool:
    spec = code.case_kind(kind)
    return spec is not None and any(p.condition.support_contract is not None for p in spec.promises)


def _preview_lines(
    provider: Provider, kind: CaseKind, now: datetime, answers: dict[str, Any]
) -> list[str]:
    """The 'what happens next' panel of a question page."""
    contract = answers.get("about", {}).get("support_contract")
    preview = clocks_preview(
        provider=provider,
        kind=kind,
        first_received_at=now,
        channel=ChannelType.WEB_FORM,
        support_contract=contract == "yes",
    )
    if preview is None:
        return []
    lines = next_steps([(c.kind, c.due_at) for c in preview.clocks], kind, provider)
    if contract is None and _depends_on_contract(preview.code, kind):
        with_contract = clocks_preview(
            provider=provider, kind=kind, first_received_at=now, support_contract=True
        )
        assert with_contract is not None
        extra = with_contract.first(ObligationKind.FIRST_RESPONSE)
        if extra is not None:
            lines.insert(
                0,
                _(
                    "If you have a support and maintenance contract with us, one of our "
                    "support staff will contact you by %(when)s."
                )
                % {"when": _when(extra.due_at)},
            )
    return lines


# --------------------------------------------------------------------------- provider, code


def _provider(slug: str) -> Provider:
    provider = Provider.objects.filter(slug=slug).first()
    if provider is None:
        raise Http404("No such provider.")
    return provider


def _today() -> date:
    return timezone.now().astimezone(LONDON).date()


def code_in_force(provider: Provider, on: date) -> tuple[CodeVersion, Code]:
    """The provider's published code today (404 when none is in force)."""
    version = code_version_in_force(provider=provider, on=on)
    if version is None:
        raise Http404("No code in force.")
    code, _calendar = code_of(version, provider)
    return version, code


def _kind(code: Code, slug: str) -> CaseKind:
    kind = KIND_SLUGS.get(slug)
    if kind is None or code.case_kind(kind) is None:
        raise Http404("This provider's code has no such case kind.")
    return kind


# --------------------------------------------------------------------------- forms

_PHONE = RegexValidator(
    r"^[0-9 +()\-]{6,40}$",
    message=gettext_lazy("Enter a phone number, like 01632 960 001 or +44 7700 900 982."),
)


def _text(
    label: str | Any,
    *,
    max_length: int,
    required: bool = False,
    required_message: str | Any = "",
    help_text: str | Any = "",
    textarea: bool = False,
    autocomplete: str = "",
) -> forms.CharField:
    attrs: dict[str, Any] = {"class": "textarea" if textarea else "input"}
    if autocomplete:
        attrs["autocomplete"] = autocomplete
    if textarea:
        attrs["rows"] = 8 if max_length > 1000 else 4
    widget = forms.Textarea(attrs) if textarea else forms.TextInput(attrs)
    widget.attrs.pop("maxlength", None)
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=required,
        help_text=help_text,
        widget=widget,
        error_messages={
            "required": required_message or gettext_lazy("This cannot be empty."),
            "max_length": gettext_lazy(
                "This must be %(limit_value)d characters or fewer (you typed %(show_value)d)."
            ),
            "null_characters_not_allowed": gettext_lazy("This contains a character we cannot use."),
        },
    )


#: The answers to "Do you have a support and maintenance contract with us?" (Welsh answers
#: with the question's verb, so each question has its own yes and no).
YES_NO = [
    ("no", pgettext_lazy("answer to: do you have a support contract?", "No")),
    ("yes", pgettext_lazy("answer to: do you have a support contract?", "Yes")),
]


class Step(forms.Form):
    step = ""

    def __init__(self, *args: Any, ctx: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ctx = ctx

    def heading(self) -> str:
        raise NotImplementedError

    def describe(self) -> None:
        """aria-describedby: the hint and the error of each field (not maxlength: the error
        says how long the text was, and nothing typed is cut off)."""
        for bound in self:
            ids = []
            if bound.help_text:
                ids.append(f"{bound.auto_id}-hint")
            if bound.errors:
                ids.append(f"{bound.auto_id}-error")
            bound.field.widget.attrs.pop("maxlength", None)
            if ids and not isinstance(
                bound.field.widget, forms.RadioSelect | forms.CheckboxSelectMultiple
            ):
                bound.field.widget.attrs["aria-describedby"] = " ".join(ids)


class AboutStep(Step):
    step = "about"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kind: CaseKind = self.ctx["kind"]
        self.fields["summary"] = _text(
            gettext_lazy("In a few words, what is it about?"),
            max_length=200,
            required=True,
            required_message=gettext_lazy("Say in a few words what it is about."),
            help_text=gettext_lazy(
                "For example, 'Bill too high in March' or 'Line keeps dropping'."
            ),
        )
        self.fields["description"] = _text(
            gettext_lazy("Tell us what happened"),
            max_length=MAX_DESCRIPTION,
            required=True,
            required_message=gettext_lazy("Tell us what happened."),
            help_text=gettext_lazy(
                "Include dates, numbers affected and anything you have already tried. "
                "You can write up to 10,000 characters."
            ),
            textarea=True,
        )
        if kind is CaseKind.CODE_COMMENT:
            self.fields["description"].label = gettext_lazy("Your comment")
            self.fields["description"].error_messages["required"] = gettext_lazy(
                "Write your comment."
            )
        if self.ctx["asks_contract"]:
            self.fields["support_contract"] = forms.ChoiceField(
                label=gettext_lazy("Do you have a support and maintenance contract with us?"),
                choices=YES_NO,
                widget=forms.RadioSelect,
                help_text=gettext_lazy(
                    "With a contract, our code promises a faster first response."
                ),
                error_messages={
                    "required": gettext_lazy(
                        "Say whether you have a support and maintenance contract with us."
                    ),
                    "invalid_choice": gettext_lazy("Choose yes or no."),
                },
            )

    def heading(self) -> str:
        return _about_heading(self.ctx["kind"])


class RepresentativeStep(Step):
    step = "representative"
    acting_for = forms.ChoiceField(
        label=gettext_lazy("Are you acting for someone else?"),
        choices=[
            ("no", gettext_lazy("No, it is about my own account")),
            ("yes", gettext_lazy("Yes, I am acting for someone else with their permission")),
        ],
        widget=forms.RadioSelect,
        help_text=gettext_lazy(
            "For example, a relative, a carer, an adviser or a colleague who looks after the "
            "account."
        ),
        error_messages={
            "required": gettext_lazy("Say whether you are acting for someone else."),
            "invalid_choice": gettext_lazy("Choose one of the options."),
        },
    )
    representative_name = _text(
        gettext_lazy("Your full name (if you are acting for someone else)"),
        max_length=200,
        autocomplete="name",
    )
    representative_contact = _text(
        gettext_lazy("Your phone number or email address (if you are acting for someone else)"),
        max_length=200,
    )

    def heading(self) -> str:
        return _("Are you acting for someone else?")

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        if data.get("acting_for") == "yes":
            if not data.get("representative_name"):
                self.add_error("representative_name", _("Enter your full name."))
            if not data.get("representative_contact"):
                self.add_error(
                    "representative_contact", _("Enter your phone number or email address.")
                )
        elif data.get("acting_for") == "no":
            data["representative_name"] = ""
            data["representative_contact"] = ""
        return data


class YouStep(Step):
    step = "you"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        acting = self.ctx["acting_for"]
        self.fields["contact_name"] = _text(
            gettext_lazy("Their full name") if acting else gettext_lazy("Your full name"),
            max_length=200,
            required=True,
            required_message=(
                gettext_lazy("Enter the full name of the person you act for")
                if acting
                else gettext_lazy("Enter your full name.")
            ),
            autocomplete="" if acting else "name",
        )
        if self.ctx["customer_types"]:
            self.fields["customer_type"] = forms.ChoiceField(
                label=gettext_lazy("Is the account for a home or a business?"),
                choices=self.ctx["customer_types"],
                widget=forms.RadioSelect,
                error_messages={
                    "required": gettext_lazy(
                        "Say whether the account is for a home or a business."
                    ),
                    "invalid_choice": gettext_lazy("Choose one of the options."),
                },
            )
        self.fields["business_name"] = _text(
            gettext_lazy("Business name (if any)"), max_length=200, autocomplete="organization"
        )
        self.fields["account_number"] = _text(
            gettext_lazy("Account number (if you know it)"),
            max_length=50,
            help_text=gettext_lazy("It is on your bills."),
        )

    def heading(self) -> str:
        if self.ctx["acting_for"]:
            return _("About the person you are acting for")
        return _("About you")


class ContactStep(Step):
    step = "contact"
    email = forms.EmailField(
        label=gettext_lazy("Email address"),
        max_length=254,
        required=False,
        widget=forms.EmailInput(
            attrs={"class": "input", "autocomplete": "email", "spellcheck": "false"}
        ),
        error_messages={
            "invalid": gettext_lazy("Enter an email address like name@example.co.uk."),
            "max_length": gettext_lazy("An email address must be 254 characters or fewer."),
        },
    )
    phone = forms.CharField(
        label=gettext_lazy("Phone number"),
        max_length=40,
        required=False,
        validators=[_PHONE],
        widget=forms.TextInput(
            attrs={"class": "input input-short", "autocomplete": "tel", "type": "tel"}
        ),
        error_messages={
            "max_length": gettext_lazy("A phone number must be 40 characters or fewer.")
        },
    )
    postal_address = _text(
        gettext_lazy("Postal address"),
        max_length=1000,
        textarea=True,
        autocomplete="street-address",
        help_text=gettext_lazy("Include the postcode."),
    )
    preferred_contact = forms.ChoiceField(
        label=gettext_lazy("How would you like us to contact you?"),
        choices=[
            (PreferredContact.EMAIL.value, gettext_lazy("By email")),
            (PreferredContact.LETTER.value, gettext_lazy("By letter")),
            (PreferredContact.PHONE.value, gettext_lazy("By phone")),
        ],
        widget=forms.RadioSelect,
        error_messages={
            "required": gettext_lazy("Choose how you would like us to contact you."),
            "invalid_choice": gettext_lazy("Choose email, letter or phone."),
        },
    )

    def heading(self) -> str:
        return _("How can we contact you?")

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        preferred = data.get("preferred_contact")
        needed = {
            PreferredContact.EMAIL.value: (
                "email",
                _("Enter your email address, or choose another way to contact you."),
            ),
            PreferredContact.LETTER.value: (
                "postal_address",
                _("Enter your postal address, or choose another way to contact you."),
            ),
            PreferredContact.PHONE.value: (
                "phone",
                _("Enter your phone number, or choose another way to contact you."),
            ),
        }
        if preferred in needed:
            name, message = needed[preferred]
            if not data.get(name) and name not in self.errors:
                self.add_error(name, message)
        return data


class NeedsStep(Step):
    step = "needs"
    access_needs = forms.MultipleChoiceField(
        label=gettext_lazy("Do you need us to do anything differently? Select all that apply."),
        required=False,
        choices=[
            (AccessNeed.LARGE_PRINT.value, gettext_lazy("Letters in large print")),
            (AccessNeed.BRAILLE.value, gettext_lazy("Letters in braille")),
            (AccessNeed.AUDIO.value, gettext_lazy("Letters as audio")),
            (AccessNeed.RELAY_UK.value, gettext_lazy("Calls through Relay UK (text relay)")),
            (AccessNeed.BSL.value, gettext_lazy("A British Sign Language interpreter")),
            (AccessNeed.OTHER_LANGUAGE.value, gettext_lazy("Another language")),
        ],
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Leave them all unselected if you need none of these."),
        error_messages={"invalid_choice": gettext_lazy("Choose from the options listed.")},
    )
    other_language = _text(
        gettext_lazy("Which language? (if you chose another language)"), max_length=60
    )

    def heading(self) -> str:
        return _("Your accessibility needs")

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        if AccessNeed.OTHER_LANGUAGE.value in (data.get("access_needs") or ()):
            if not data.get("other_language") and "other_language" not in self.errors:
                self.add_error("other_language", _("Say which language you would like us to use."))
        else:
            data["other_language"] = ""
        return data


FORMS: Final[dict[str, type[Step]]] = {
    "about": AboutStep,
    "representative": RepresentativeStep,
    "you": YouStep,
    "contact": ContactStep,
    "needs": NeedsStep,
}

#: Which step asks for a field a service may refuse.
FIELD_STEP: Final = {
    "summary": "about",
    "description": "about",
    "support_contract": "about",
    "representative_name": "representative",
    "representative_contact": "representative",
    "contact_name": "you",
    "customer_type": "you",
    "business_name": "you",
    "account_number": "you",
    "email": "contact",
    "phone": "contact",
    "postal_address": "contact",
    "preferred_contact": "contact",
    "access_needs": "needs",
    "other_language": "needs",
}


# --------------------------------------------------------------------------- session


def _session_key(slug: str, kind_slug: str) -> str:
    return f"amends.public:{slug}:{kind_slug}"


def _answers(request: HttpRequest, slug: str, kind_slug: str) -> dict[str, Any]:
    found = request.session.get(_session_key(slug, kind_slug))
    return found if isinstance(found, dict) else {}


def _save(request: HttpRequest, slug: str, kind_slug: str, answers: dict[str, Any]) -> None:
    request.session[_session_key(slug, kind_slug)] = answers


def _missing_step(answers: dict[str, Any]) -> str | None:
    return next((step for step in STEPS if not isinstance(answers.get(step), dict)), None)


def _step_url(slug: str, kind_slug: str, step: str) -> str:
    if step == "about":
        return reverse("portal:public_form", args=[slug, kind_slug])
    return reverse("portal:public_step", args=[slug, kind_slug, step])


# --------------------------------------------------------------------------- page context


def _customer_types(code: Code) -> list[tuple[str, Any]]:
    """The choice of customer type, when the code serves more than one (or does not say)."""
    labels = {
        CustomerType.DOMESTIC: gettext_lazy("A home (a household account)"),
        CustomerType.SMALL_BUSINESS: gettext_lazy(
            "A small business (10 or fewer people working for it)"
        ),
        CustomerType.NOT_FOR_PROFIT: gettext_lazy("A not-for-profit organisation"),
        CustomerType.OTHER_BUSINESS: gettext_lazy("A larger business"),
    }
    served = code.provider.customers or tuple(CustomerType)
    if len(served) == 1:
        return []
    return [(t.value, labels[t]) for t in CustomerType if t in served]


class Flow:
    """One customer's way through one form: the provider, its code, the kind, the answers."""

    def __init__(self, request: HttpRequest, slug: str, kind_slug: str) -> None:
        self.request = request
        self.provider = _provider(slug)
        self.now = timezone.now()
        self.version, self.code = code_in_force(self.provider, self.now.astimezone(LONDON).date())
        self.kind_slug = kind_slug
        self.kind = _kind(self.code, kind_slug)
        self.answers = _answers(request, slug, kind_slug)

    @property
    def slug(self) -> str:
        return self.provider.slug

    def ctx(self) -> dict[str, Any]:
        served = self.code.provider.customers
        return {
            "kind": self.kind,
            "asks_contract": self.kind is CaseKind.SUPPORT_REQUEST
            and _depends_on_contract(self.code, self.kind),
            "acting_for": self.answers.get("representative", {}).get("acting_for") == "yes",
            "customer_types": _customer_types(self.code),
            "default_type": served[0].value if len(served) == 1 else "",
        }

    def form(self, step: str, data: Any = None) -> Step:
        initial = self.answers.get(step) or {}
        return FORMS[step](data, initial=initial, ctx=self.ctx(), prefix=None)

    def page(self, **extra: Any) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "code": self.code,
            "kind": self.kind,
            "kind_slug": self.kind_slug,
            "noun": _noun(self.kind),
            "next_steps": _preview_lines(self.provider, self.kind, self.now, self.answers),
            **extra,
        }


def _error_list(form: forms.Form) -> list[dict[str, str]]:
    """The error summary: each error with the id of the field it links to."""
    out: list[dict[str, str]] = []
    for name, errors in form.errors.items():
        if name == "__all__":
            out += [{"message": str(e), "anchor": "main"} for e in errors]
            continue
        bound = form[name]
        anchor = bound.auto_id
        if isinstance(bound.field.widget, forms.RadioSelect | forms.CheckboxSelectMultiple):
            anchor = f"{bound.auto_id}_0"
        out += [{"message": str(e), "anchor": anchor} for e in errors]
    return out


def _render_step(
    flow: Flow, step: str, form: Step, *, change: bool, status: int = 200
) -> HttpResponse:
    form.describe()
    index = STEPS.index(step)
    back = (
        reverse("portal:public_check", args=[flow.slug, flow.kind_slug])
        if change
        else (
            _step_url(flow.slug, flow.kind_slug, STEPS[index - 1])
            if index
            else reverse("portal:public_home", args=[flow.slug])
        )
    )
    intake = [item.label for item in flow.code.intake.collect] if step == "you" else []
    context = flow.page(
        form=form,
        step=step,
        heading=form.heading(),
        errors=_error_list(form),
        change=change,
        back_url=back,
        step_number=index + 1,
        step_count=len(STEPS),
        intake=intake,
        honeypot=HONEYPOT if step == "about" else "",
    )
    return render(flow.request, "portal/public/step.html", context, status=status)


# --------------------------------------------------------------------------- guards


def _capped(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Refuse a POST larger than AMENDS_PUBLIC_MAX_POST_BYTES (413) before reading it."""

    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "POST":
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > max_post_bytes():
                provider = _provider(kwargs["provider"])
                return render(
                    request,
                    "portal/public/too_large.html",
                    {"provider": provider},
                    status=413,
                )
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def _client_ip(request: HttpRequest) -> str:
    # Behind AMENDS_PROXY_COUNT proxies, the client's own address, not the proxy's.
    return client_ip(request) or "unknown"


# --------------------------------------------------------------------------- views


@require_GET
def public_home(request: HttpRequest, provider: str) -> HttpResponse:
    found = _provider(provider)
    now = timezone.now()
    version, code = code_in_force(found, now.astimezone(LONDON).date())
    offers = [
        {
            "text": _offer(spec.kind),
            "url": reverse("portal:public_form", args=[found.slug, SLUG_OF[spec.kind]]),
            "description": spec.description or "",
        }
        for kind in CaseKind
        if (spec := code.case_kind(kind)) is not None
    ]
    channels = []
    for channel in code.channels:
        if not channel.value:
            continue
        href = ""
        if channel.type.is_dialled and channel.type is not ChannelType.FAX:
            href = "tel:" + "".join(ch for ch in channel.value if ch.isdigit() or ch == "+")
        elif channel.type is ChannelType.EMAIL:
            href = f"mailto:{channel.value}"
        channels.append(
            {
                "label": channel_label(channel),
                # The provider's own label is in its words (English): said so to screen readers.
                "label_is_providers": bool(channel.label),
                "type": channel_type_label(channel.type),
                "lines": channel.lines,
                "href": href,
                "hours": working_hours_text(channel.hours) if channel.hours else "",
                "notes": channel.notes or "",
            }
        )
    return render(
        request,
        "portal/public/home.html",
        {
            "provider": found,
            "code": code,
            "offers": offers,
            "channels": channels,
            "working_hours": working_hours_text(code.working_hours),
        },
    )


def _document(provider: Provider) -> tuple[CodeVersion, Any]:
    today = _today()
    version, code = code_in_force(provider, today)
    return version, build_document(code, on=max(today, version.effective_from))


@require_GET
def public_code(request: HttpRequest, provider: str) -> HttpResponse:
    found = _provider(provider)
    version, document = _document(found)
    code, _calendar = code_of(version, found)
    return render(
        request,
        "portal/public/code.html",
        {
            "provider": found,
            "doc": document,
            "version_label": version_label(code.meta.version) if code.meta.version else "",
            "effective_from": date_format(
                code.meta.effective_from or version.effective_from, "j F Y"
            ),
        },
    )


@require_GET
def public_code_pdf(request: HttpRequest, provider: str) -> HttpResponse:
    found = _provider(provider)
    _version, document = _document(found)
    response = HttpResponse(render_document(document, "pdf"), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{found.slug}-code-of-practice.pdf"'
    return response


@require_GET
def public_code_text(request: HttpRequest, provider: str) -> HttpResponse:
    found = _provider(provider)
    _version, document = _document(found)
    return HttpResponse(render_document(document, "text"), content_type="text/plain; charset=utf-8")


def _form_view(request: HttpRequest, provider: str, kind: str, step: str) -> HttpResponse:
    flow = Flow(request, provider, kind)
    change = request.GET.get("change") == "1" or request.POST.get("change") == "1"
    index = STEPS.index(step)
    missing = _missing_step(flow.answers)
    if missing is not None and STEPS.index(missing) < index:
        return HttpResponseRedirect(_step_url(flow.slug, flow.kind_slug, missing))
    if request.method == "GET":
        return _render_step(flow, step, flow.form(step), change=change)
    form = flow.form(step, request.POST)
    if step == "about" and request.POST.get(HONEYPOT):
        flow.answers["bot"] = True
    if not form.is_valid():
        return _render_step(flow, step, form, change=change, status=400)
    flow.answers[step] = {k: v for k, v in form.cleaned_data.items()}
    _save(request, flow.slug, flow.kind_slug, flow.answers)
    after = _missing_step(flow.answers)
    if change or after is None:
        return HttpResponseRedirect(
            reverse("portal:public_check", args=[flow.slug, flow.kind_slug])
        )
    following = STEPS[index + 1] if index + 1 < len(STEPS) else after
    return HttpResponseRedirect(_step_url(flow.slug, flow.kind_slug, following))


@never_cache
@require_http_methods(["GET", "POST"])
@_capped
def public_form(request: HttpRequest, provider: str, kind: str) -> HttpResponse:
    return _form_view(request, provider, kind, "about")


@never_cache
@require_http_methods(["GET", "POST"])
@_capped
def public_step(request: HttpRequest, provider: str, kind: str, step: str) -> HttpResponse:
    return _form_view(request, provider, kind, step)


def _summary_rows(flow: Flow) -> list[dict[str, Any]]:
    a = flow.answers
    ctx = flow.ctx()
    about, rep, you, contact, needs = (a.get(s, {}) for s in STEPS)
    rows: list[dict[str, Any]] = []

    def row(step: str, field: str, label: str, value: Any) -> None:
        url = _step_url(flow.slug, flow.kind_slug, step) + f"?change=1#id_{field}"
        rows.append({"label": label, "value": value, "url": url, "step": step})

    yes_no = {
        "yes": pgettext("answer to: do you have a support contract?", "Yes"),
        "no": pgettext("answer to: do you have a support contract?", "No"),
    }
    row("about", "summary", _("What it is about"), about.get("summary", ""))
    row("about", "description", _("What happened"), about.get("description", ""))
    if ctx["asks_contract"]:
        row(
            "about",
            "support_contract",
            _("Support and maintenance contract"),
            yes_no.get(about.get("support_contract", ""), ""),
        )
    acting = rep.get("acting_for") == "yes"
    row(
        "representative",
        "acting_for",
        _("Acting for someone else"),
        pgettext("answer to: are you acting for someone else?", "Yes: %(name)s (%(contact)s)")
        % {
            "name": rep.get("representative_name", ""),
            "contact": rep.get("representative_contact", ""),
        }
        if acting
        else pgettext("answer to: are you acting for someone else?", "No"),
    )
    row(
        "you",
        "contact_name",
        _("Their name") if acting else _("Your name"),
        you.get("contact_name", ""),
    )
    if ctx["customer_types"]:
        labels = dict(ctx["customer_types"])
        row(
            "you",
            "customer_type",
            _("Home or business"),
            labels.get(you.get("customer_type", ""), ""),
        )
    row("you", "business_name", _("Business name"), you.get("business_name") or _("Not given"))
    row("you", "account_number", _("Account number"), you.get("account_number") or _("Not given"))
    row("contact", "email", _("Email address"), contact.get("email") or _("Not given"))
    row("contact", "phone", _("Phone number"), contact.get("phone") or _("Not given"))
    row(
        "contact",
        "postal_address",
        _("Postal address"),
        contact.get("postal_address") or _("Not given"),
    )
    preferred = dict(ContactStep.base_fields["preferred_contact"].choices)  # type: ignore[attr-defined]
    row(
        "contact",
        "preferred_contact",
        _("How we contact you"),
        preferred.get(contact.get("preferred_contact", ""), ""),
    )
    need_labels = dict(NeedsStep.base_fields["access_needs"].choices)  # type: ignore[attr-defined]
    chosen = [str(need_labels.get(n, n)) for n in needs.get("access_needs", [])]
    if needs.get("other_language"):
        chosen.append(_("Language: %(language)s") % {"language": needs["other_language"]})
    row("needs", "access_needs", _("Accessibility needs"), ", ".join(chosen) or _("None"))
    return rows


def _render_check(
    flow: Flow, *, errors: list[dict[str, str]] | None = None, status: int = 200
) -> HttpResponse:
    return render(
        flow.request,
        "portal/public/check.html",
        flow.page(
            heading=_check_heading(flow.kind),
            rows=_summary_rows(flow),
            errors=errors or [],
            honeypot=HONEYPOT,
            back_url=_step_url(flow.slug, flow.kind_slug, STEPS[-1]),
        ),
        status=status,
    )


def _too_many(flow: Flow) -> HttpResponse:
    response = render(
        flow.request, "portal/public/limited.html", {"provider": flow.provider}, status=429
    )
    response["Retry-After"] = str(limits.window())
    return response


def _open(flow: Flow) -> Any:
    """The customer and the case, in one transaction (a refusal leaves nothing)."""
    about, rep, you, contact, needs = (flow.answers[s] for s in STEPS)
    ctx = flow.ctx()
    slug = flow.slug
    request = flow.request
    description = about.get("description", "")
    account = you.get("account_number", "")
    customer = NewCustomer(
        contact_name=you.get("contact_name", ""),
        customer_type=you.get("customer_type")
        or ctx["default_type"]
        or CustomerType.SMALL_BUSINESS.value,
        business_name=you.get("business_name", ""),
        account_number=account,
        phone=contact.get("phone", ""),
        email=contact.get("email", ""),
        postal_address=contact.get("postal_address", ""),
        preferred_contact=contact.get("preferred_contact", ""),
        access_needs=tuple(needs.get("access_needs") or ()),
        other_language=needs.get("other_language", ""),
        representative_name=rep.get("representative_name", ""),
        representative_contact=rep.get("representative_contact", ""),
        support_contract=about.get("support_contract") == "yes",
    )

    def intake(customer: NewCustomer, description: str) -> Any:
        return case_intake(
            provider=flow.provider,
            actor=system_actor(flow.provider.pk),
            customer=customer,
            kind=flow.kind,
            channel=ChannelType.WEB_FORM,
            first_received_at=flow.now,
            summary=about.get("summary", ""),
            description=description,
            now=flow.now,
            link_url_for=lambda token: request.build_absolute_uri(f"/{slug}/case/{token}/"),
        )

    try:
        return intake(customer, description)
    except CaseError as error:
        if error.field != "account_number" or not account:
            raise
    # The number is on another customer's record: say nothing of it here, and keep what the
    # customer typed with the case for staff to match.
    return intake(
        replace(customer, account_number=""),
        f"{description}\n\n" + _("Account number given: %(number)s") % {"number": account},
    )


def _filed_meanwhile(session: Any, key: str | None, answers_key: str) -> bool:
    """Lock the session's row for the transaction (PostgreSQL: a second request of the same
    session waits here until the first commits; SQLite: this transaction is already the one
    writer) and say whether the answers this request read are gone from it."""
    model = getattr(session, "model", None)  # the database-backed store's
    if key is None or model is None:
        return False
    row = model.objects.select_for_update().filter(session_key=key).first()
    if row is None:
        return False  # the session ended: nothing was filed from it
    return answers_key not in session.decode(row.session_data)


def _file(flow: Flow, done_key: str) -> Any:
    """Open the case and keep what the confirmation page shows in the session, in one
    transaction: the session is written with the case (a failure leaves neither, so the
    customer is never shown an error for a complaint that was filed), and the filing is one
    write, not two (SQLite has one writer).

    None when another request of the same session filed these answers meanwhile (a double
    click on Send): the session's row, locked first, no longer holds them."""
    session = flow.request.session
    key = session.session_key
    answers_key = _session_key(flow.slug, flow.kind_slug)
    with transaction.atomic():
        if _filed_meanwhile(session, key, answers_key):
            return None
        case = _open(flow)
        session.pop(answers_key, None)
        session[done_key] = {
            "kind": flow.kind_slug,
            "reference": case.reference,
            "clocks": [
                [entry[3], entry[1]]
                for entry in (case.clocks or {}).values()
                if entry[0] == "pending" and entry[1]
            ],
            "preferred": flow.answers["contact"].get("preferred_contact", ""),
        }
        try:
            session.save()
        except UpdateError:
            session.create()  # it ended meanwhile (expired, cleared): a new one, same answers
    if key is not None and session.session_key == key:
        # Saved above; the browser's cookie already names it: the middleware need not write
        # it again after the response.
        session.modified = False
    return case


@never_cache
@require_http_methods(["GET", "POST"])
@_capped
def public_check(request: HttpRequest, provider: str, kind: str) -> HttpResponse:
    flow = Flow(request, provider, kind)
    missing = _missing_step(flow.answers)
    if missing is not None:
        return HttpResponseRedirect(_step_url(flow.slug, flow.kind_slug, missing))
    if request.method == "GET":
        return _render_check(flow)
    contact = flow.answers["contact"]
    address = limits.address_key(
        email=contact.get("email", ""),
        phone=contact.get("phone", ""),
        postal_address=contact.get("postal_address", ""),
    )
    if not limits.submission_allowed(
        provider_id=flow.provider.pk, ip=_client_ip(request), address=address
    ):
        log.warning("public form rate limited", extra={"provider_id": flow.provider.pk})
        return _too_many(flow)
    done_key = f"amends.public:{flow.slug}:sent"
    if request.POST.get(HONEYPOT) or flow.answers.get("bot"):
        log.info("public form honeypot", extra={"provider_id": flow.provider.pk})
        request.session.pop(_session_key(flow.slug, flow.kind_slug), None)
        request.session[done_key] = {
            "kind": flow.kind_slug,
            "reference": "",
            "clocks": [],
            "preferred": contact.get("preferred_contact", ""),
        }
        return HttpResponseRedirect(reverse("portal:public_sent", args=[flow.slug, flow.kind_slug]))
    try:
        case = _file(flow, done_key)
    except CaseError as error:
        step = FIELD_STEP.get(error.field or "")
        if step is None:
            return _render_check(
                flow, errors=[{"message": str(error), "anchor": "main"}], status=400
            )
        form = flow.form(step, flow.answers[step])
        form.is_valid()
        if error.field in form.fields:
            form.add_error(error.field, str(error))
        else:
            form.add_error(None, str(error))
        return _render_step(flow, step, form, change=True, status=400)
    if case is None:
        log.info("public form already sent", extra={"provider_id": flow.provider.pk})
        return HttpResponseRedirect(reverse("portal:public_sent", args=[flow.slug, flow.kind_slug]))
    log.info("public form case opened", extra={"provider_id": flow.provider.pk, "case_id": case.pk})
    return HttpResponseRedirect(reverse("portal:public_sent", args=[flow.slug, flow.kind_slug]))


@never_cache
@require_GET
def public_sent(request: HttpRequest, provider: str, kind: str) -> HttpResponse:
    found = _provider(provider)
    _version, code = code_in_force(found, _today())
    case_kind = _kind(code, kind)
    done = request.session.get(f"amends.public:{found.slug}:sent")
    if not isinstance(done, dict) or done.get("kind") != kind:
        return HttpResponseRedirect(reverse("portal:public_form", args=[found.slug, kind]))
    clocks: list[tuple[ObligationKind, datetime]] = []
    for item in done.get("clocks") or []:
        try:
            clocks.append((ObligationKind(item[0]), datetime.fromisoformat(item[1])))
        except (ValueError, TypeError, IndexError):
            continue
    steps = next_steps(clocks, case_kind, found)
    return render(
        request,
        "portal/public/sent.html",
        {
            "provider": found,
            "heading": _sent_heading(case_kind),
            "reference": done.get("reference", ""),
            "next_step": steps[0] if steps else "",
            "later_steps": steps[1:],
            "preferred": done.get("preferred", ""),
            "noun": _noun(case_kind),
        },
    )


urlpatterns: list[URLPattern] = [
    path("", public_home, name="public_home"),
    path("code/", public_code, name="public_code"),
    path("code.pdf", public_code_pdf, name="public_code_pdf"),
    path("code.txt", public_code_text, name="public_code_text"),
    path("<publickind:kind>/", public_form, name="public_form"),
    path("<publickind:kind>/<publicstep:step>/", public_step, name="public_step"),
    path("<publickind:kind>/check/", public_check, name="public_check"),
    path("<publickind:kind>/sent/", public_sent, name="public_sent"),
]
