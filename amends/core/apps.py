from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "amends.core"
    label = "core"
    verbose_name = "Operation"
