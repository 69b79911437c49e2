"""The one error every service raises when it refuses: a message a person understands, the
field it is about (``None`` for the request as a whole), and what kind of refusal it is.

Faces translate it without guessing: the console shows ``message`` beside ``field``; the API
answers problem+json with ``code`` mapped to its status (``invalid`` 422, ``refused`` 409,
``conflict`` 412, ``not_found`` 404, ``forbidden`` 403).
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    #: The input is malformed or out of range (a naive time, a NUL, too long, ...).
    INVALID = "invalid"
    #: The lifecycle or a rule says no now (close without acceptance, ...).
    REFUSED = "refused"
    #: Someone else changed the case since the caller read it.
    CONFLICT = "conflict"
    #: No such case for this caller (another provider's or customer's case answers this too).
    NOT_FOUND = "not_found"
    #: The caller's role may not do this.
    FORBIDDEN = "forbidden"


class CaseError(Exception):
    """A request a service refuses, with a message for the person who made it."""

    def __init__(
        self, message: str, *, field: str | None = None, code: ErrorCode = ErrorCode.REFUSED
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code

    def __repr__(self) -> str:
        return f"CaseError({self.message!r}, field={self.field!r}, code={self.code.value!r})"
