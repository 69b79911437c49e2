"""Providers: the tenants Amends serves. Every customer-facing query is scoped by provider."""
