"""Codes of Practice: the shipped codes, `amends code check` and `amends code render`."""
