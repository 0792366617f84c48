"""Citizens' appeals and the Open311 client applications that may file them.

Imported by ``cases.models`` so that Django registers them in the ``cases`` app.
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.contrib.gis.db import models
from django.core.validators import MinValueValidator
from django.utils.translation import gettext_lazy as _

from cases.choices import Channel


def hash_secret(value: str) -> str:
    """SHA-256 of an API key or a private link's secret: both are long random strings (no guessing
    them from the hash), and only the hash is stored."""
    return hashlib.sha256(value.encode()).hexdigest()


class ApiKey(models.Model):
    """One Open311 client application (an app, a city portal, a partner's system) and its key.

    The key is shown once when it is issued (admin); only its hash is kept.
    """

    name = models.CharField(_("client application"), max_length=100)
    contact = models.CharField(_("contact"), max_length=200, blank=True)
    prefix = models.CharField(_("key prefix"), max_length=8, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    rate_limit = models.PositiveIntegerField(
        _("requests per minute"), default=60, validators=[MinValueValidator(1)],
        help_text=_("POSTs per minute this application may send; more are answered 429."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("Open311 API key")
        verbose_name_plural = _("Open311 API keys")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def new_key() -> str:
        return secrets.token_urlsafe(30)

    def set_key(self, key: str) -> None:
        self.prefix, self.key_hash = key[:8], hash_secret(key)


class Appeal(models.Model):
    """A citizen's appeal (诉求) and the case it became: who asked (encrypted, parties.pii), through
    which channel and client, with what Open311 attributes, and the token a client may follow it by.

    Only cases.actions.appeals writes it.
    """

    case = models.OneToOneField("cases.Case", verbose_name=_("case"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="appeal")
    token = models.CharField(_("token"), max_length=32, unique=True, editable=False)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    api_key = models.ForeignKey(ApiKey, verbose_name=_("client application"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="appeals")
    operator = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("hotline operator"), null=True,
                                 blank=True, on_delete=models.PROTECT, related_name="+")
    service_code = models.CharField(_("service code"), max_length=16)
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    address_id = models.CharField(_("address id"), max_length=32, blank=True)
    media_url = models.URLField(_("media URL"), max_length=500, blank=True)
    device_id = models.CharField(_("device id"), max_length=100, blank=True)
    account_id = models.CharField(_("account id"), max_length=100, blank=True)
    # Personal data (PIPL, parties.pii): Fernet cipher text, a keyed hash to find by, a masked text for lists.
    first_name_cipher = models.TextField(blank=True, editable=False)
    last_name_cipher = models.TextField(blank=True, editable=False)
    email_cipher = models.TextField(blank=True, editable=False)
    phone_cipher = models.TextField(blank=True, editable=False)
    phone_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    phone_masked = models.CharField(_("phone"), max_length=20, blank=True, editable=False)
    name_masked = models.CharField(_("name"), max_length=20, blank=True, editable=False)
    link_hash = models.CharField(max_length=64, blank=True, editable=False)
    answered = models.BooleanField(_("answered at once"), default=False)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("citizen appeal")
        verbose_name_plural = _("citizen appeals")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.case.number if self.case_id else self.token

    @staticmethod
    def new_token() -> str:
        return secrets.token_hex(16)
