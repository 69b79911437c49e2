"""The staff console's Code of Practice: reading the version in force, checking a candidate
text, and activating it once its findings have been shown.

Every function takes the :class:`~amends.cases.actors.Actor` and ``now`` and refuses with a
:class:`~amends.cases.errors.CaseError`:

* reading (the version in force, its findings, the history, the published copy) needs
  ``Work.VIEW_CASES``; another provider's version is not found, never forbidden;
* checking and activating a candidate need ``Work.MANAGE_CODE`` (administrators and the
  compliance lead), checked here and not only by the page.

A candidate is checked without storing anything (:func:`code_candidate_check`). Activation
(:func:`code_candidate_activate`) takes the digest of the text that was checked, so that what is
stored is exactly what the person saw the findings of; a text changed since is a conflict, an
effective date in the past is refused, and a code with an error is never activated (the
published code could not be produced from it). Storing goes through
:func:`amends.providers.services.code_version_activate`.

"Today" is the date in Europe/London; the findings of a version are those of the rules in
force on today's date or on its effective date, when later (``check_code`` does the same with
the code's own date).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User

from amends.cases.actors import Actor
from amends.cases.errors import CaseError, ErrorCode
from amends.codes.render import Format, build_document, render
from amends.domain.access import Work
from amends.domain.checks import Finding, Severity, check_code
from amends.domain.codes import Code, CodeFileError, Problem, parse_code
from amends.domain.regulation import C4_START
from amends.providers.models import CodeVersion, Provider
from amends.providers.services import ProviderError, code_of, code_version_activate

__all__ = [
    "MAX_CODE_CHARS",
    "CandidateCheck",
    "CodeRejected",
    "VersionEntry",
    "VersionFindings",
    "code_candidate_activate",
    "code_candidate_check",
    "code_digest",
    "code_text",
    "code_version_get_for_staff",
    "code_version_in_force_for_staff",
    "code_version_list_for_staff",
    "code_version_render_for_staff",
    "today_in_london",
]

log = logging.getLogger("amends.codes")

LONDON = ZoneInfo("Europe/London")
#: The longest code text accepted (the shipped codes are under 20,000 characters).
MAX_CODE_CHARS = 200_000


class CodeRejected(CaseError):
    """A candidate text that is not a usable code: the loader's problems, each with its path."""

    def __init__(self, headline: str, *, problems: tuple[Problem, ...], field: str) -> None:
        details = "; ".join(str(problem) for problem in problems)
        super().__init__(f"{headline}: {details}", field=field, code=ErrorCode.INVALID)
        #: "The code is not valid TOML" (the file's name, then what is wrong with it).
        self.headline = headline
        self.problems = problems


@dataclass(frozen=True)
class VersionFindings:
    """A stored version with its parsed code and its findings under the rules of ``on``."""

    version: CodeVersion
    code: Code
    findings: tuple[Finding, ...]
    on: date

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.WARNING)


@dataclass(frozen=True)
class VersionEntry:
    """One row of the history: the version, whether it is in force, and whether it is to come."""

    version: CodeVersion
    in_force: bool
    future: bool


@dataclass(frozen=True)
class CandidateCheck:
    """What checking a candidate text found (nothing is stored)."""

    code: Code
    findings: tuple[Finding, ...]
    on: date
    sha256: str

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.WARNING)


def today_in_london(now: datetime) -> date:
    if now.tzinfo is None:
        raise CaseError("Times must be aware.", field="now", code=ErrorCode.INVALID)
    return now.astimezone(LONDON).date()


def code_text(content: str) -> str:
    """A candidate's text with its line ends as in a file (browsers send CRLF from a form)."""
    return content.replace("\r\n", "\n").replace("\r", "\n")


def code_digest(content: str) -> str:
    """The SHA-256 of a code's text (line ends normalised), as it is stored."""
    return hashlib.sha256(code_text(content).encode()).hexdigest()


# --------------------------------------------------------------------------- reading


def _provider(actor: Actor) -> Provider:
    return Provider.objects.get(pk=actor.provider_id)


def _with_findings(version: CodeVersion, provider: Provider, today: date) -> VersionFindings:
    code, _ = code_of(version, provider)
    on = max(today, version.effective_from)
    return VersionFindings(version=version, code=code, findings=check_code(code, on=on), on=on)


def code_version_in_force_for_staff(*, actor: Actor, now: datetime) -> VersionFindings | None:
    """The version of the actor's provider in force today, with its findings (None: none)."""
    actor.require(Work.VIEW_CASES)
    today = today_in_london(now)
    version = (
        CodeVersion.objects.filter(provider_id=actor.provider_id, effective_from__lte=today)
        .select_related("activated_by")
        .order_by("-effective_from", "-activated_at", "-pk")
        .first()
    )
    if version is None:
        return None
    return _with_findings(version, _provider(actor), today)


def code_version_list_for_staff(*, actor: Actor, now: datetime) -> list[VersionEntry]:
    """Every version of the actor's provider, latest effective date first."""
    actor.require(Work.VIEW_CASES)
    today = today_in_london(now)
    versions = list(
        CodeVersion.objects.filter(provider_id=actor.provider_id)
        .select_related("activated_by")
        .defer("content")
        .order_by("-effective_from", "-activated_at", "-pk")
    )
    in_force = next((v.pk for v in versions if v.effective_from <= today), None)
    return [
        VersionEntry(version=v, in_force=v.pk == in_force, future=v.effective_from > today)
        for v in versions
    ]


def code_version_get_for_staff(*, actor: Actor, pk: int, now: datetime) -> VersionFindings:
    """One version of the actor's provider with its findings; another provider's: not found."""
    actor.require(Work.VIEW_CASES)
    version = (
        CodeVersion.objects.filter(provider_id=actor.provider_id, pk=pk)
        .select_related("activated_by")
        .first()
    )
    if version is None:
        raise CaseError("There is no such version of your code.", code=ErrorCode.NOT_FOUND)
    return _with_findings(version, _provider(actor), today_in_london(now))


def code_version_render_for_staff(
    *, actor: Actor, fmt: Format, now: datetime, pk: int | None = None
) -> bytes:
    """The customer-facing code of a version (the one in force when ``pk`` is None), as the
    existing renderer publishes it. A version with an error renders as a DRAFT listing its
    findings, as ``amends code render --draft`` does: it must not pass for a publishable copy.
    """
    if pk is None:
        found = code_version_in_force_for_staff(actor=actor, now=now)
        if found is None:
            raise CaseError("No version of your code is in force.", code=ErrorCode.NOT_FOUND)
    else:
        found = code_version_get_for_staff(actor=actor, pk=pk, now=now)
    draft = bool(found.errors)
    document = build_document(found.code, on=found.on, findings=found.findings, draft=draft)
    log.info(
        "code rendered",
        extra={"provider_id": actor.provider_id, "code_version_id": found.version.pk},
    )
    return render(document, fmt)


# --------------------------------------------------------------------------- a candidate


def _parse(content: str, *, filename: str, field: str) -> Code:
    if not content.strip():
        raise CaseError(
            "Paste the code's TOML text or choose a file.", field=field, code=ErrorCode.INVALID
        )
    if len(content) > MAX_CODE_CHARS:
        raise CaseError(
            f"The code is longer than {MAX_CODE_CHARS:,} characters.",
            field=field,
            code=ErrorCode.INVALID,
        )
    if "\x00" in content:
        raise CaseError(
            "The code contains a NUL character: it is not a text file.",
            field=field,
            code=ErrorCode.INVALID,
        )
    try:
        return parse_code(content, filename=filename)
    except CodeFileError as error:
        head = {
            "unreadable": "cannot be read",
            "syntax": "is not valid TOML",
            "invalid": "is not a valid code of practice",
        }[error.reason]
        raise CodeRejected(f"{filename} {head}", problems=error.problems, field=field) from None


def code_candidate_check(
    *,
    actor: Actor,
    content: str,
    now: datetime,
    on: date | None = None,
    filename: str = "The code",
    field: str = "content",
) -> CandidateCheck:
    """Check a candidate text of the actor's provider's code under the rules in force on
    ``on`` (default today), storing nothing. A text that does not load is refused
    (:class:`CodeRejected`, with each problem's path)."""
    actor.require(Work.CHECK_CODE)
    when = on if on is not None else today_in_london(now)
    if when < C4_START:
        raise CaseError(
            f"Codes are checked under the rules from {C4_START:%-d %B %Y} (GC C4) on.",
            field="on",
            code=ErrorCode.INVALID,
        )
    content = code_text(content)
    code = _parse(content, filename=filename, field=field)
    return CandidateCheck(
        code=code,
        findings=check_code(code, on=when),
        on=max(when, code.meta.effective_from or when),
        sha256=code_digest(content),
    )


def code_candidate_activate(
    *,
    actor: Actor,
    content: str,
    effective_from: date,
    checked_sha256: str,
    now: datetime,
    field: str = "content",
) -> CodeVersion:
    """Store a checked candidate as a new version of the actor's provider's code, in force
    from ``effective_from`` (today or later).

    Refused: a role that may not manage the code (forbidden), a date in the past, a text
    other than the one checked (``checked_sha256``; conflict), a text that does not load, a
    code with an error, and a version already stored with the same text and date.
    """
    actor.require(Work.MANAGE_CODE)
    content = code_text(content)
    today = today_in_london(now)
    if effective_from < today:
        raise CaseError(
            f"The date it takes effect must be today ({today:%d/%m/%Y}) or later: a new "
            "version cannot apply to complaints already received.",
            field="effective_from",
            code=ErrorCode.INVALID,
        )
    if code_digest(content) != checked_sha256:
        raise CaseError(
            "The code has changed since it was checked. Check it again, then activate it.",
            field=field,
            code=ErrorCode.CONFLICT,
        )
    checked = code_candidate_check(
        actor=actor, content=content, now=now, on=effective_from, field=field
    )
    if checked.errors:
        count = len(checked.errors)
        raise CaseError(
            f"The code has {count} error{'s' if count != 1 else ''}: fix "
            f"{'them' if count != 1 else 'it'} before activating it.",
            field=field,
            code=ErrorCode.REFUSED,
        )
    if CodeVersion.objects.filter(
        provider_id=actor.provider_id, sha256=checked.sha256, effective_from=effective_from
    ).exists():
        raise CaseError(
            "This text is already stored with this effective date.",
            field=field,
            code=ErrorCode.REFUSED,
        )
    user = User.objects.filter(pk=actor.user_id).first() if actor.user_id else None
    try:
        version = code_version_activate(
            provider=_provider(actor),
            content=content,
            effective_from=effective_from,
            activated_by=user,
            now=now,
        )
    except ProviderError as error:
        raise CaseError(error.message, field=field, code=ErrorCode.INVALID) from error
    log.info(
        "code version activated",
        extra={
            "provider_id": actor.provider_id,
            "code_version_id": version.pk,
            "user_id": actor.user_id,
        },
    )
    return version
