"""Small template helpers for the console."""

from typing import Any

from django import template

from amends.domain.access import Work

register = template.Library()


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    """``{{ counts|get_item:name }}``: a dict's value by a variable key."""
    try:
        return mapping.get(key, "")
    except AttributeError:
        return ""


@register.filter
def may(actor: Any, work: str) -> bool:
    """``{% if request.actor|may:"manage_api" %}``: whether the actor's role allows ``work``
    (a menu entry only mirrors what the services enforce)."""
    try:
        return bool(actor.may(Work(work)))
    except (AttributeError, ValueError):
        return False
