from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "amends.console"
    label = "console"
