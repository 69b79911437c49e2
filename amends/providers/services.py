"""Writes of providers: creating one, its staff, and activating versions of its code.

``provider_create`` is the one way a provider comes to exist (the demo, the simulator and the
tests use it): with its ledger and case counter rows, so that every later writer finds them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime

from django.contrib.auth.models import User
from django.db import connection, transaction

from amends.domain.access import Role
from amends.domain.calendar import BusinessCalendar
from amends.domain.codes import Code, CodeFileError, Nation, parse_code
from amends.domain.obligations import calendar_for_code
from amends.domain.reference import make_reference
from amends.domain.regulation import APPROVED_SCHEMES
from amends.providers.models import (
    CaseCounter,
    CodeVersion,
    Provider,
    ProviderLedger,
    StaffMember,
)


class ProviderError(Exception):
    """A provider-level request refused, naming the field."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def provider_create(
    *,
    slug: str,
    name: str,
    nation: Nation,
    reference_prefix: str,
    adr_scheme: str,
    legal_name: str = "",
    alerts_email: str = "",
    closed_dates: Iterable[date] = (),
    brand_colour: str = "#1d4f91",
) -> Provider:
    """A new provider with its audit ledger and case counter. Its slug is the start of its
    public pages' address (``/<slug>/``), so it cannot be one of Amends' own paths; its colour
    carries white text on its public pages, so it must be dark enough (4.5:1)."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{1,39}", slug or "") or slug in RESERVED_SLUGS:
        raise ProviderError(
            "The short name is 2 to 40 lower-case letters, digits or hyphens, and not one of "
            f"{', '.join(sorted(RESERVED_SLUGS))}.",
            field="slug",
        )
    if (
        not re.fullmatch(r"#[0-9a-fA-F]{6}", brand_colour)
        or contrast_with_white(brand_colour) < 4.5
    ):
        raise ProviderError(
            "The colour is #rrggbb, dark enough for white text on it (contrast 4.5:1).",
            field="brand_colour",
        )
    known = {scheme.id for scheme in APPROVED_SCHEMES}
    if adr_scheme and adr_scheme not in known:
        raise ProviderError(
            f"Unknown ADR scheme {adr_scheme!r}; choose one of {', '.join(sorted(known))}.",
            field="adr_scheme",
        )
    prefix = reference_prefix.strip().upper()
    try:
        make_reference(prefix, 2026, 1)
    except ValueError:
        raise ProviderError(
            "The reference prefix is 2 to 5 capital letters or digits (e.g. V4V).",
            field="reference_prefix",
        ) from None
    with transaction.atomic():
        provider = Provider.objects.create(
            slug=slug,
            name=name,
            legal_name=legal_name,
            nation=Nation(nation).value,
            reference_prefix=prefix,
            adr_scheme=adr_scheme,
            alerts_email=alerts_email,
            closed_dates=sorted(d.isoformat() for d in closed_dates),
            brand_colour=brand_colour.lower(),
        )
        ProviderLedger.objects.create(provider=provider)
        CaseCounter.objects.create(provider=provider)
    return provider


#: Paths of Amends itself, never a provider's public address.
RESERVED_SLUGS = frozenset({"admin", "staff", "static", "media", "healthz", "i18n", "api"})


def contrast_with_white(colour: str) -> float:
    """WCAG 2 contrast ratio of white text on ``colour`` (#rrggbb)."""

    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(colour[i : i + 2]) for i in (1, 3, 5))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return 1.05 / (luminance + 0.05)


def staff_create(
    *,
    provider: Provider,
    username: str,
    role: Role,
    email: str = "",
    password: str | None = None,
    manager: StaffMember | None = None,
) -> StaffMember:
    if manager is not None and manager.provider_id != provider.pk:
        raise ProviderError("A manager must work for the same provider.", field="manager")
    with transaction.atomic():
        user = User.objects.create_user(username=username, email=email, password=password)
        return StaffMember.objects.create(
            user=user, provider=provider, role=Role(role).value, manager=manager
        )


# --------------------------------------------------------------------------- code versions


#: Parsed codes by (version id, content digest, closures): a version never changes, so its
#: text is read from the database only when it is not here (callers defer the column).
_CODES: dict[tuple[int, str, tuple[date, ...]], tuple[Code, BusinessCalendar]] = {}
_CODES_MAX = 64


def _parsed(version: CodeVersion, closed: tuple[date, ...]) -> tuple[Code, BusinessCalendar]:
    key = (version.pk, version.sha256, closed)
    found = _CODES.get(key)
    if found is None:
        code = parse_code(version.content, filename=f"code-version-{version.pk}.toml")
        found = (code, calendar_for_code(code, closed))
        while len(_CODES) >= _CODES_MAX:
            _CODES.pop(next(iter(_CODES)), None)
        _CODES[key] = found
    return found


def provider_closed_dates(provider: Provider) -> tuple[date, ...]:
    return tuple(sorted(date.fromisoformat(d) for d in provider.closed_dates or ()))


def code_of(
    version: CodeVersion, provider: Provider | None = None
) -> tuple[Code, BusinessCalendar]:
    """The parsed code of a stored version and its calendar, with the provider's closures
    (cached: versions never change; a change of closures is a new cache entry)."""
    closed = provider_closed_dates(provider) if provider is not None else ()
    return _parsed(version, closed)


def code_version_activate(
    *,
    provider: Provider,
    content: str,
    effective_from: date,
    activated_by: User | None,
    now: datetime,
) -> CodeVersion:
    """Store a code version for ``provider`` (rejecting a file that does not load)."""
    try:
        code = parse_code(content, filename=f"{provider.slug}.toml")
    except CodeFileError as error:
        raise ProviderError(str(error), field="content") from error
    digest = hashlib.sha256(content.encode()).hexdigest()
    version, _ = CodeVersion.objects.get_or_create(
        provider=provider,
        sha256=digest,
        effective_from=effective_from,
        defaults={
            "version": code.meta.version or digest[:12],
            "content": content,
            "activated_by": activated_by,
            "activated_at": now,
        },
    )
    return version


#: The version in force and the provider's ledger head, in one statement written once (the
#: ORM spends longer building this query than the database answering it; every opening and
#: public page asks it). ``content`` is left out: code_of reads it once per process.
_IN_FORCE_COLUMNS = (
    "id",
    "provider_id",
    "version",
    "sha256",
    "effective_from",
    "activated_by_id",
    "activated_at",
)
_IN_FORCE = (
    "SELECT v.id, v.provider_id, v.version, v.sha256, v.effective_from, v.activated_by_id, "
    "v.activated_at, l.last_event_sequence, l.last_event_hash{serial} "
    "FROM providers_codeversion v "
    "LEFT JOIN providers_providerledger l ON l.provider_id = v.provider_id "
    "WHERE v.provider_id = %s AND v.effective_from <= %s "
    "ORDER BY v.effective_from DESC, v.activated_at DESC, v.id DESC LIMIT 1"
)


def _instant(value: datetime | str) -> datetime:
    """A stored instant as an aware UTC datetime (SQLite gives naive UTC, or text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


_SQL_PLAIN = _IN_FORCE.format(serial="")
_SQL_SERIAL = _IN_FORCE.format(serial=", nextval(%s)")


def code_version_and_head(
    *, provider: Provider, on: date, serial_from: str = ""
) -> tuple[CodeVersion | None, tuple[int, str] | None, int | None]:
    """The code version in force on ``on`` (its text deferred), the provider's ledger head as
    read now, unlocked (None when the provider has no ledger row yet), and with
    ``serial_from`` (a PostgreSQL sequence) its next value: what opening a case reads before
    it writes, in one round trip (Chain.flush seals on that head if it has not moved). No
    number is taken when no version is in force."""
    with connection.cursor() as cursor:
        if serial_from:
            cursor.execute(_SQL_SERIAL, [serial_from, provider.pk, on])
        else:
            cursor.execute(_SQL_PLAIN, [provider.pk, on])
        row = cursor.fetchone()
    if row is None:
        return None, None, None
    effective = row[4] if isinstance(row[4], date) else date.fromisoformat(str(row[4]))
    version = CodeVersion.from_db(
        connection.alias,
        _IN_FORCE_COLUMNS,
        [*row[:4], effective, row[5], _instant(row[6])],
    )
    head = (int(row[7]), str(row[8])) if row[7] is not None else None
    return version, head, (int(row[9]) if serial_from else None)


def code_version_in_force(*, provider: Provider, on: date) -> CodeVersion | None:
    return code_version_and_head(provider=provider, on=on)[0]


__all__ = [
    "ProviderError",
    "code_of",
    "code_version_activate",
    "code_version_and_head",
    "code_version_in_force",
    "provider_closed_dates",
    "provider_create",
    "staff_create",
]
