from __future__ import annotations

from django.apps import AppConfig


class CodesConfig(AppConfig):
    """The shipped Codes of Practice, their templates and the ``code`` command. No models."""

    name = "amends.codes"
    label = "codes"
    verbose_name = "Codes of Practice"
