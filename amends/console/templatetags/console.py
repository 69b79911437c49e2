"""Small template helpers for the console."""

from typing import Any

from django import template

register = template.Library()


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    """``{{ counts|get_item:name }}``: a dict's value by a variable key."""
    try:
        return mapping.get(key, "")
    except AttributeError:
        return ""
