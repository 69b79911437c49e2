from django.apps import AppConfig


class ProvidersConfig(AppConfig):
    name = "amends.providers"
    label = "providers"
