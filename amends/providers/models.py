from django.db import models

from amends.domain.access import Role as RoleName
from amends.domain.codes import Nation


class Provider(models.Model):
    """A communications provider (tenant) whose Code of Practice Amends runs."""

    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    legal_name = models.CharField(max_length=200, blank=True)
    nation = models.CharField(max_length=20, choices=Nation.choices())
    #: The start of its case references: V4V-26-000123-K.
    reference_prefix = models.CharField(max_length=5, default="AMD")
    #: The approved ADR scheme the provider belongs to (GC C4.3), by registry id; every ADR
    #: letter takes the scheme's name and contact details from the registry through this.
    adr_scheme = models.CharField(max_length=40, blank=True)
    #: The provider's own closure days (ISO dates), beside its nation's bank holidays: no
    #: working-time clock counts them. Read with the case in one statement.
    closed_dates = models.JSONField(default=list, blank=True)
    #: Where the staff console's alerts go when no manager is named (breach notices, failed
    #: deliveries, items the worker cannot process).
    alerts_email = models.EmailField(blank=True)
    #: The provider's colour on its public pages (their header, with white text on it; dark
    #: enough for 4.5:1, which provider_create checks).
    brand_colour = models.CharField(max_length=7, default="#1d4f91")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    """Staff roles within one provider (the table of what each may do is
    ``amends.domain.access``; these are its names for the database)."""

    ADVISER = RoleName.ADVISER.value, RoleName.ADVISER.label
    CASE_HANDLER = RoleName.CASE_HANDLER.value, RoleName.CASE_HANDLER.label
    MANAGER = RoleName.MANAGER.value, RoleName.MANAGER.label
    DIRECTOR = RoleName.DIRECTOR.value, RoleName.DIRECTOR.label
    COMPLIANCE = RoleName.COMPLIANCE.value, RoleName.COMPLIANCE.label
    ADMIN = RoleName.ADMIN.value, RoleName.ADMIN.label


class StaffMember(models.Model):
    """A staff user of one provider, with a role. A user belongs to at most one provider."""

    user = models.OneToOneField("auth.User", on_delete=models.CASCADE, related_name="staff")
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="staff")
    role = models.CharField(max_length=20, choices=Role.choices)
    manager = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )

    class Meta:
        ordering = ["provider", "role", "user__username"]

    def __str__(self) -> str:
        return f"{self.user.get_username()} ({self.get_role_display()}, {self.provider.slug})"


class CodeVersion(models.Model):
    """One version of a provider's Code of Practice, stored as the TOML it was activated from.

    A case is handled under the version in force on the date it was first received
    (the latest activated version whose ``effective_from`` is on or before that date).
    """

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="code_versions")
    version = models.CharField(max_length=50)
    content = models.TextField()
    sha256 = models.CharField(max_length=64)
    effective_from = models.DateField()
    activated_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    activated_at = models.DateTimeField()

    class Meta:
        ordering = ["provider", "-effective_from", "-activated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "sha256", "effective_from"], name="code_version_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider.slug} code {self.version} from {self.effective_from}"


class ProviderLedger(models.Model):
    """The head of a provider's audit chain (and, historically, its case serial).

    Every writer takes this row last, for the few statements that append its events
    (``UPDATE ... RETURNING`` locks and reads in one), so the chain never forks and the row
    is held briefly. Case serials have their own row (:class:`CaseCounter`) so that opening
    a case does not hold the chain for the whole transaction.
    """

    provider = models.OneToOneField(
        Provider, on_delete=models.CASCADE, primary_key=True, related_name="ledger"
    )
    last_case_serial = models.PositiveBigIntegerField(default=0)
    last_event_sequence = models.PositiveBigIntegerField(default=0)
    last_event_hash = models.CharField(max_length=64, default="0" * 64)
    #: Which active webhook endpoints want which event types (``{"case.opened": [3, 7]}``),
    #: kept by the endpoint services. The statement that moves the head returns it, so a
    #: transaction knows, under the ledger's lock and without another read, which deliveries
    #: its events owe (``amends.comms.webhooks``).
    webhook_routes = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"ledger of {self.provider_id}"


class CaseCounter(models.Model):
    """A provider's last case serial (V4V-26-000123-K), taken by ``case_open`` only."""

    provider = models.OneToOneField(
        Provider, on_delete=models.CASCADE, primary_key=True, related_name="case_counter"
    )
    last_serial = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"case counter of {self.provider_id}"


class ApiToken(models.Model):
    """A provider's key to the API (``/api/v1/``), for its CRM or billing system.

    The token is shown once, when it is made; only its SHA-256 is stored (a 256-bit random
    token needs no slow hash: there is nothing to guess). Every request made with it is scoped
    to its provider and may do what its scopes allow (``amends.domain.access``)."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    #: The token's first characters, to tell tokens apart in lists and logs.
    prefix = models.CharField(max_length=20)
    token_hash = models.CharField(max_length=64, unique=True)
    #: ``amends.domain.access.ApiScope`` values: what the token may do.
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["provider", "-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
