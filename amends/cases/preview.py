"""What clocks a case would get, without writing anything.

The public forms say what happens next and by when before the customer submits: the same
derivation ``case_open`` runs (``amends.cases.clocks.reconcile``), on an unsaved case built
from the provider's code version in force on the day of first receipt. Nothing is stored and
nothing is locked; a case opened with the same facts at the same instant gets these due times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from amends.cases.clocks import facts, promises
from amends.cases.models import Case
from amends.domain.codes import CaseKind, ChannelType, Code, ObligationKind
from amends.domain.lifecycle import State
from amends.domain.obligations import LONDON, ObligationStatus, derive
from amends.providers.models import Provider
from amends.providers.services import code_of, code_version_in_force


@dataclass(frozen=True, slots=True)
class PreviewClock:
    key: str
    kind: ObligationKind
    due_at: datetime
    origin: str  # "code", "law" or "agreed"


@dataclass(frozen=True, slots=True)
class Preview:
    code: Code
    clocks: tuple[PreviewClock, ...]

    def first(self, kind: ObligationKind) -> PreviewClock | None:
        """The earliest clock of ``kind`` (a code with two resolution targets: the stricter)."""
        found = [c for c in self.clocks if c.kind is kind]
        return min(found, key=lambda c: c.due_at) if found else None


def clocks_preview(
    *,
    provider: Provider,
    kind: CaseKind,
    first_received_at: datetime,
    channel: ChannelType = ChannelType.WEB_FORM,
    support_contract: bool = False,
) -> Preview | None:
    """The pending clocks a case of ``kind`` first received at ``first_received_at`` would
    get, earliest first (None: the provider has no code in force that day)."""
    version = code_version_in_force(
        provider=provider, on=first_received_at.astimezone(LONDON).date()
    )
    if version is None:
        return None
    code, calendar = code_of(version, provider)
    case = Case(
        provider=provider,
        code_version=version,
        kind=CaseKind(kind).value,
        state=State.RECEIVED.value,
        channel=ChannelType(channel).value,
        first_received_at=first_received_at,
        entered_at=first_received_at,
        support_contract=bool(support_contract),
        adr_scheme=provider.adr_scheme,
    )
    derived = derive(facts(case), promises(case, code), calendar)
    clocks = tuple(
        sorted(
            (
                PreviewClock(key=d.key, kind=d.kind, due_at=d.due_at, origin=d.origin)
                for d in derived
                if d.status is ObligationStatus.PENDING
            ),
            key=lambda c: (c.due_at, c.key),
        )
    )
    return Preview(code=code, clocks=clocks)


__all__ = ["Preview", "PreviewClock", "clocks_preview"]
