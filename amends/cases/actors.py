"""Who is acting: a member of a provider's staff, a customer through their case link, or the
worker. Every service takes an :class:`Actor` and asks ``amends.domain.access`` before it
writes; the actor also scopes every read (a provider's staff see only that provider's cases,
a customer only the case their link is for)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User

from amends.cases.errors import CaseError, ErrorCode
from amends.domain.access import ActorKind, ApiScope, Permission, Role, may
from amends.providers.models import ApiToken, StaffMember


@dataclass(frozen=True, slots=True)
class Actor:
    kind: ActorKind
    #: How events name the actor: ``user:<id>``, ``customer:case:<id>``, ``worker``.
    label: str
    provider_id: int
    role: Role | None = None
    user_id: int | None = None
    #: A customer acts on one case only.
    case_id: int | None = None
    #: How a customer reached us (``portal``, ``email``, ``phone``...): recorded as how they
    #: accepted, withdrew or asked.
    channel: str = ""
    #: An integration's API scopes (what its token allows).
    scopes: frozenset[ApiScope] = frozenset()

    def may(self, permission: Permission) -> bool:
        return may(self.kind, self.role, permission, self.scopes)

    def require(self, permission: Permission) -> None:
        if not self.may(permission):
            if self.kind is ActorKind.INTEGRATION:
                scopes = ", ".join(sorted(self.scopes)) or "none"
                raise CaseError(
                    f"This API token's scopes ({scopes}) do not allow this: "
                    f"{permission.value.replace('_', ' ')}.",
                    code=ErrorCode.FORBIDDEN,
                )
            who = self.role.label if self.role is not None else self.kind.value
            raise CaseError(
                f"Your role ({who}) may not do this: {permission.value.replace('_', ' ')}.",
                code=ErrorCode.FORBIDDEN,
            )


def actor_for_staff(user: User | AnonymousUser) -> Actor:
    """The actor a signed-in member of staff is; not staff of a provider: forbidden."""
    if not user.is_authenticated:
        raise CaseError("Sign in first.", code=ErrorCode.FORBIDDEN)
    member = getattr(user, "staff", None)
    if not isinstance(member, StaffMember):
        member = StaffMember.objects.filter(user_id=user.pk).first()
    if member is None:
        raise CaseError("You are not on the staff of a provider.", code=ErrorCode.FORBIDDEN)
    return staff_actor(member)


def staff_actor(member: StaffMember) -> Actor:
    return Actor(
        kind=ActorKind.STAFF,
        label=f"user:{member.user_id}",
        provider_id=member.provider_id,
        role=Role(member.role),
        user_id=member.user_id,
    )


#: The ways a customer acts on their case themselves.
CUSTOMER_CHANNELS = ("portal", "email", "phone", "letter", "web_form", "textphone")


def customer_actor(*, provider_id: int, case_id: int, channel: str = "portal") -> Actor:
    if channel not in CUSTOMER_CHANNELS:
        raise CaseError(
            f"A customer acts by one of: {', '.join(CUSTOMER_CHANNELS)}.",
            field="channel",
            code=ErrorCode.INVALID,
        )
    return Actor(
        kind=ActorKind.CUSTOMER,
        label=f"customer:{channel}",
        provider_id=provider_id,
        case_id=case_id,
        channel=channel,
    )


def token_actor(token: ApiToken) -> Actor:
    """A provider's system acting through an API token: ``token:<id>`` on every event."""
    scopes = frozenset(ApiScope(s) for s in token.scopes if s in ApiScope.__members__.values())
    return Actor(
        kind=ActorKind.INTEGRATION,
        label=f"token:{token.pk}",
        provider_id=token.provider_id,
        scopes=scopes,
    )


def system_actor(provider_id: int) -> Actor:
    return Actor(kind=ActorKind.SYSTEM, label="worker", provider_id=provider_id)
