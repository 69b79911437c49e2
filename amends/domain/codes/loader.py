"""The loader: read a code file, validate it against the format, build the :class:`Code`.

Errors are :class:`CodeFileError`, each :class:`Problem` with its path in the file.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Final, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from amends.domain.codes.durations import Duration
from amends.domain.codes.model import (
    Accessibility,
    AdrContact,
    AdrRoute,
    CaseKindSpec,
    Channel,
    Closure,
    Code,
    CodeMeta,
    Comments,
    Compensation,
    Condition,
    EscalationLevel,
    InfoItem,
    Intake,
    OpeningHours,
    Promise,
    Provider,
)
from amends.domain.codes.schema import CaseKindSection, CodeFile, HoursSection, _show
from amends.domain.codes.vocabulary import CaseKind

__all__ = ["CodeFileError", "Problem", "code_from_mapping", "load_code", "parse_code"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a code file: where (a path, or line and column) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class CodeFileError(Exception):
    """A code file that cannot be used: unreadable, not TOML, or not a valid code.

    ``reason`` is ``"unreadable"``, ``"syntax"`` or ``"invalid"``; ``problems`` lists each
    defect with its path.
    """

    def __init__(
        self,
        filename: str,
        reason: Literal["unreadable", "syntax", "invalid"],
        problems: Sequence[Problem],
    ) -> None:
        self.filename = filename
        self.reason = reason
        self.problems = tuple(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        head = {
            "unreadable": "cannot be read",
            "syntax": "is not valid TOML",
            "invalid": "is not a valid code of practice",
        }[self.reason]
        lines = [f"{self.filename} {head}:"]
        lines.extend(f"  {problem}" for problem in self.problems)
        return "\n".join(lines)


# --------------------------------------------------------------------------- errors


def _format_loc(loc: Sequence[int | str]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path


def _unwrap(annotation: Any) -> Any:
    """The model class inside Optional[...], list[...], Annotated[...], or None."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (list, tuple, Union, UnionType):
            inner = [arg for arg in get_args(annotation) if arg is not type(None)]
            if not inner:
                return None
            annotation = inner[0]
        else:
            break
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _allowed_keys(loc: Sequence[int | str]) -> list[str]:
    model: Any = CodeFile
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if model is not None else None
        if field is None:
            return []
        model = _unwrap(field.annotation)
        if model is None:
            return []
    return list(model.model_fields) if model is not None else []


def _problems(error: ValidationError) -> list[Problem]:
    problems: list[Problem] = []
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        path = _format_loc(loc)
        kind = item["type"]
        if kind == "missing":
            message = "expected a value, got nothing (this key is required)"
        elif kind == "extra_forbidden":
            allowed = _allowed_keys(loc[:-1])
            message = "unknown key" + (
                f"; expected one of: {', '.join(allowed)}" if allowed else ""
            )
        else:
            message = str(item["msg"])
            if message.startswith("Value error, "):
                message = message[len("Value error, ") :]
            if message.startswith("Input should be "):
                message = "expected " + message[len("Input should be ") :]
                message += f", got {_show(item.get('input'))}"
            elif not message.startswith("expected"):
                message = f"{message}, got {_show(item.get('input'))}"
        problems.append(Problem(path, message))
    return problems


# --------------------------------------------------------------------------- building


def _opening_hours(section: HoursSection) -> OpeningHours:
    return OpeningHours(
        days=section.days,
        opens=section.opens,
        closes=section.closes,
        bank_holidays=section.bank_holidays,
    )


def _duration(text: str | None) -> Duration | None:
    return Duration.parse(text) if text is not None else None


def _build(model: CodeFile, filename: str) -> Code:
    channels = tuple(
        Channel(
            type=item.type,
            value=item.value,
            purposes=frozenset(item.purposes),
            label=item.label,
            audience=item.audience,
            hours=_opening_hours(item.hours) if item.hours else None,
            notes=item.notes,
            path=f"channels[{index}]",
        )
        for index, item in enumerate(model.channels)
    )
    kinds: list[CaseKindSpec] = []
    for kind in CaseKind:
        section: CaseKindSection | None = getattr(model.case_kinds, kind.value)
        if section is None:
            continue
        base = f"case_kinds.{kind.value}"
        promises = tuple(
            Promise(
                kind=promise.kind,
                within=_duration(promise.within),
                every=_duration(promise.every),
                agreed=promise.agreed,
                condition=Condition(
                    channels=frozenset(promise.when.channel)
                    if promise.when and promise.when.channel is not None
                    else None,
                    support_contract=promise.when.support_contract if promise.when else None,
                ),
                detail=promise.detail,
                path=f"{base}.promises[{index}]",
            )
            for index, promise in enumerate(section.promises)
        )
        kinds.append(
            CaseKindSpec(
                kind=kind,
                label=section.label or kind.label,
                description=section.description,
                promises=promises,
                path=base,
            )
        )
    adr = model.adr
    return Code(
        filename=filename,
        meta=CodeMeta(
            title=model.code.title,
            version=model.code.version,
            effective_from=model.code.effective_from,
            references=tuple(model.code.references),
        ),
        provider=Provider(
            name=model.provider.name,
            trading_name=model.provider.trading_name,
            company_number=model.provider.company_number,
            website=model.provider.website,
            address=tuple(model.provider.address),
            customers=tuple(model.provider.customers),
        ),
        nation=model.working_hours.nation,
        working_hours=_opening_hours(model.working_hours),
        channels=channels,
        intake=Intake(
            collect=tuple(InfoItem(item.key, item.label) for item in model.intake.collect),
            identity_checks=tuple(model.intake.identity_checks),
        ),
        case_kinds=tuple(kinds),
        escalation=tuple(
            EscalationLevel(
                level=index + 1,
                role=level.role,
                trigger=level.trigger,
                review_within=_duration(level.review_within),
                detail=level.detail,
                path=f"escalation[{index}]",
                truncated=level.truncated,
            )
            for index, level in enumerate(model.escalation)
        ),
        closure=Closure(
            requires_customer_confirmation=model.closure.requires_customer_confirmation,
            reopening=model.closure.reopening,
            detail=model.closure.detail,
        ),
        adr=None
        if adr is None
        else AdrRoute(
            scheme=adr.scheme,
            after=_duration(adr.after),
            deadlock_route=adr.deadlock_route,
            states_free=adr.states_free,
            states_time_limit=adr.states_time_limit,
            letter_unasked=adr.letter_unasked,
            contacts=tuple(
                AdrContact(contact.type, contact.value, f"adr.contacts[{index}]")
                for index, contact in enumerate(adr.contacts)
            ),
            detail=adr.detail,
        ),
        compensation=Compensation(
            approach=model.compensation.approach,
            paid_as=tuple(model.compensation.paid_as),
            detail=model.compensation.detail,
        ),
        accessibility=Accessibility(
            statement=model.accessibility.statement,
            formats=tuple(model.accessibility.formats),
        ),
        comments=Comments(invited=model.comments.invited, detail=model.comments.detail),
    )


# --------------------------------------------------------------------------- loading


def code_from_mapping(data: Mapping[str, Any], *, filename: str = "<code>") -> Code:
    """Validate an already-parsed TOML document and build the :class:`Code`."""
    try:
        model = CodeFile.model_validate(dict(data))
    except ValidationError as exc:
        raise CodeFileError(filename, "invalid", _problems(exc)) from None
    return _build(model, filename)


_TOML_POSITION: Final = re.compile(
    r"^(?P<msg>.*?)\s*\(at line (?P<line>\d+), column (?P<col>\d+)\)$"
)


def parse_code(text: str, *, filename: str = "<code>") -> Code:
    """Parse the TOML text of a code; :class:`CodeFileError` says what is wrong and where."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_POSITION.match(message)
        if match:
            problem = Problem(
                f"line {match['line']}, column {match['col']}",
                f"TOML syntax error: {match['msg']}",
            )
        else:
            problem = Problem("", f"TOML syntax error: {message}")
        raise CodeFileError(filename, "syntax", [problem]) from None
    return code_from_mapping(data, filename=filename)


def load_code(path: str | Path) -> Code:
    """Read and parse a code file (UTF-8 TOML)."""
    filename = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise CodeFileError(filename, "unreadable", [Problem("", reason)]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CodeFileError(
            filename,
            "unreadable",
            [Problem(f"byte {exc.start}", "expected UTF-8 text, got bytes that are not UTF-8")],
        ) from None
    return parse_code(text, filename=filename)
