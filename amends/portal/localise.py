"""The domain's words in the customer's language.

``amends.domain`` never imports Django, so the text it makes (``OpeningHours.describe()``,
``ChannelType.label``, ``AdrContactType.label``, ``AdrScheme.in_sentence``) is English. The
public pages and the case page build that text here instead, from the same values, with
messages from our catalogue (and Django's own day names). In English every function gives
exactly what the domain gives, so English pages read as they always did.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time
from typing import Any, Final

from django.utils.dates import WEEKDAYS
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import pgettext, pgettext_lazy

from amends.domain.codes import AdrContactType, Channel, ChannelType, OpeningHours, Weekday
from amends.domain.regulation import APPROVED_SCHEMES, AdrScheme

__all__ = [
    "channel_label",
    "channel_type_label",
    "clock_text",
    "contact_label",
    "days_text",
    "scheme_details",
    "scheme_name",
    "working_hours_text",
]


def _day_after_to(day: Weekday) -> str:
    """The day as it reads after 'to' (Welsh mutates it: 'i ddydd Gwener')."""
    return {
        Weekday.MON: pgettext("weekday, after 'to' in a range of days", "Monday"),
        Weekday.TUE: pgettext("weekday, after 'to' in a range of days", "Tuesday"),
        Weekday.WED: pgettext("weekday, after 'to' in a range of days", "Wednesday"),
        Weekday.THU: pgettext("weekday, after 'to' in a range of days", "Thursday"),
        Weekday.FRI: pgettext("weekday, after 'to' in a range of days", "Friday"),
        Weekday.SAT: pgettext("weekday, after 'to' in a range of days", "Saturday"),
        Weekday.SUN: pgettext("weekday, after 'to' in a range of days", "Sunday"),
    }[day]


def _day(day: Weekday) -> str:
    return str(WEEKDAYS[day.number])


def days_text(hours: OpeningHours) -> str:
    """'Monday to Friday', 'Saturday', 'Monday, Wednesday and Friday' (as ``describe_days``)."""
    days = sorted(hours.days, key=lambda day: day.number)
    indices = [day.number for day in days]
    if len(days) > 2 and indices == list(range(indices[0], indices[-1] + 1)):
        return pgettext("a range of days", "%(first)s to %(last)s") % {
            "first": _day(days[0]),
            "last": _day_after_to(days[-1]),
        }
    if len(days) == 1:
        return _day(days[0])
    return pgettext("a list of days", "%(days)s and %(last)s") % {
        "days": ", ".join(_day(day) for day in days[:-1]),
        "last": _day(days[-1]),
    }


def clock_text(moment: time) -> str:
    """9am, 5:30pm, 12 noon, midnight (as ``format_clock``), in the active language."""
    if moment.hour == 12 and moment.minute == 0:
        return _("12 noon")
    if moment.hour == 0 and moment.minute == 0:
        return _("midnight")
    hour = moment.hour % 12 or 12
    clock = f"{hour}" if moment.minute == 0 else f"{hour}:{moment.minute:02d}"
    suffix = pgettext("before noon", "am") if moment.hour < 12 else pgettext("after noon", "pm")
    return clock + suffix


def working_hours_text(hours: OpeningHours) -> str:
    """'Monday to Friday, 9am to 5:30pm, except bank holidays' (as ``describe``)."""
    values = {
        "days": days_text(hours),
        "opens": clock_text(hours.opens),
        "closes": clock_text(hours.closes),
    }
    if hours.bank_holidays:
        return _("%(days)s, %(opens)s to %(closes)s") % values
    return _("%(days)s, %(opens)s to %(closes)s, except bank holidays") % values


#: What each kind of channel is called (the domain's ``ChannelType.label``).
CHANNEL_LABELS: Final[Mapping[ChannelType, Promise]] = {
    ChannelType.PHONE: pgettext_lazy("contact channel", "Phone"),
    ChannelType.EMAIL: pgettext_lazy("contact channel", "Email"),
    ChannelType.WEB_FORM: pgettext_lazy("contact channel", "Online form"),
    ChannelType.POST: pgettext_lazy("contact channel", "Post"),
    ChannelType.FAX: pgettext_lazy("contact channel", "Fax"),
    ChannelType.TEXTPHONE: pgettext_lazy("contact channel", "Textphone"),
    ChannelType.ACCOUNT_MANAGER: pgettext_lazy("contact channel", "Your account manager"),
}

#: What each kind of ADR scheme contact is called (the domain's ``AdrContactType.label``).
CONTACT_LABELS: Final[Mapping[AdrContactType, Promise]] = {
    AdrContactType.POST: pgettext_lazy("contact channel", "Post"),
    AdrContactType.PHONE: pgettext_lazy("contact channel", "Phone"),
    AdrContactType.TEXTPHONE: pgettext_lazy("contact channel", "Textphone"),
    AdrContactType.FAX: pgettext_lazy("contact channel", "Fax"),
    AdrContactType.EMAIL: pgettext_lazy("contact channel", "Email"),
    AdrContactType.WEBSITE: pgettext_lazy("contact channel", "Website"),
}


def channel_type_label(kind: ChannelType) -> str:
    return str(CHANNEL_LABELS[kind])


def channel_label(channel: Channel) -> str:
    """The provider's own label for the channel (its words, as it wrote them), else ours."""
    return channel.label or channel_type_label(channel.type)


def contact_label(kind: AdrContactType) -> str:
    return str(CONTACT_LABELS[kind])


def scheme_name(scheme: AdrScheme) -> str:
    """The scheme's name inside a sentence: 'the Communications Ombudsman', 'CISAS' in
    English; in Welsh the name alone (no English 'the')."""
    if scheme.in_sentence == scheme.name:
        return scheme.name
    return pgettext("an ADR scheme's name inside a sentence", "the %(name)s") % {
        "name": scheme.name
    }


_CONTACT_TYPES_BY_LABEL: Final = {kind.label: kind for kind in AdrContactType}


def scheme_details(details: dict[str, Any] | None) -> dict[str, Any] | None:
    """``amends.comms.portal.scheme_details`` in the active language: the name in a sentence
    and the contacts' labels (the details themselves are the scheme's, as published)."""
    if details is None:
        return None
    scheme = next((s for s in APPROVED_SCHEMES if s.id == details.get("id")), None)
    localised = dict(details)
    if scheme is not None:
        name = scheme_name(scheme)
        localised["in_sentence"] = name
        localised["In_sentence"] = name[:1].upper() + name[1:]
    contacts = []
    for contact in details.get("contacts", ()):
        kind = _CONTACT_TYPES_BY_LABEL.get(contact.get("label", ""))
        label = contact_label(kind) if kind is not None else contact.get("label", "")
        contacts.append({**contact, "label": label})
    localised["contacts"] = contacts
    return localised
