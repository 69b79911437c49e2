"""Amends: complaint handling and dispute resolution for UK communications providers."""
