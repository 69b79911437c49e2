"""The second factor: TOTP devices (django-otp's TOTP plugin) for staff.

A staff member sets up an authenticator app once (``setup``: the secret as text and as a QR
code, confirmed with a code from the app). From then on every sign-in needs a code before any
console page opens. Roles listed in ``settings.AMENDS_REQUIRE_TOTP_ROLES`` (default admin and
compliance) cannot use the console at all until they have set one up.

What a session still needs is decided at sign-in and kept in the session
(``SECOND_FACTOR_KEY``), so a console page costs no query for it: a device confirmed in another
session ends the user's other sessions (``auth.py``), and a role change takes effect at the
next sign-in (at most ``SESSION_COOKIE_AGE`` later).
"""

from __future__ import annotations

import base64
import io
from typing import Any

from django.conf import settings
from django_otp.plugins.otp_totp.models import TOTPDevice

from amends.providers.models import StaffMember

VERIFY = "verify"
SETUP = "setup"
NONE = "none"

DEVICE_NAME = "Authenticator app"


def confirmed_device(user: Any) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("-pk").first()


def role_requires_totp(user: Any) -> bool:
    roles = tuple(settings.AMENDS_REQUIRE_TOTP_ROLES)
    if not roles:
        return False
    return StaffMember.objects.filter(user=user, role__in=roles).exists()


def second_factor_needed(user: Any) -> str:
    """VERIFY (a confirmed device: enter a code), SETUP (a role that must have one and has
    none) or NONE."""
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        return VERIFY
    if role_requires_totp(user):
        return SETUP
    return NONE


def pending_device(user: Any) -> TOTPDevice:
    """The device being set up (unconfirmed), the same one on every reload of the page."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def secret_text(device: TOTPDevice) -> str:
    """The key in base32 as authenticator apps take it, in groups of four."""
    secret = base64.b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def qr_svg_data_uri(device: TOTPDevice) -> str:
    """The device's otpauth:// URL as an SVG QR code (made here, never by a third party)."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
    out = io.BytesIO()
    image.save(out)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def device_confirm(device: TOTPDevice, token: str) -> bool:
    """Confirm a device being set up with a code from the app; the user's other devices go."""
    token = token.strip().replace(" ", "")
    if not token.isdigit() or not device.verify_token(token):
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user_id=device.user_id).exclude(pk=device.pk).delete()
    return True
