from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "amends.api"
    label = "api"
    verbose_name = "API"
