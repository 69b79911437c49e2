"""Answers kept per object that never changes once made (a parsed Code of Practice: codes
are parsed once per process and cached by version and digest, see providers.services).

Code objects are frozen, slotted dataclasses: neither hashed cheaply (their fields are deep)
nor weakly referable. An entry is keyed by the object's id and holds the object itself, so
that id is not reused while the entry lives, and a hit is checked by identity. Bounded:
cleared when full (a process sees a handful of codes)."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

V = TypeVar("V")

__all__ = ["PerObject"]


class PerObject(Generic[V]):
    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: dict[tuple[int, Hashable], tuple[Any, V]] = {}

    def get(self, owner: object, key: Hashable, make: Callable[[], V]) -> V:
        """The answer for (``owner``, ``key``), made by ``make`` the first time."""
        found = self._entries.get((id(owner), key))
        if found is not None and found[0] is owner:
            return found[1]
        value = make()
        if len(self._entries) >= self.size:
            self._entries.clear()
        self._entries[(id(owner), key)] = (owner, value)
        return value

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
