"""Channels that carry a notice outside the app: one interface, pluggable backends.

The in-app notification (cases.Notification) is always written and is the ledger: a notice goes out on
the other channels only to the recipients whose in-app row was new, so a retried fan-out sends nothing
twice (at most once per channel: a worker killed between the insert and the send loses that batch's
mails, never doubles them).

Settings:
- ``NOTIFY_CHANNELS``: the channels besides in-app, by name (``"email"``, ``"sms"``) or dotted path of a
  :class:`Channel` class; default ``["inapp"]`` (in-app only; "inapp" itself is always on).
- ``SMS_GATEWAY``: dotted path of the gateway class the SMS channel sends through (no default: this
  machine reaches no SMS service); :class:`InMemorySmsGateway` is the test double.
- ``NOTIFY_PHONE_LOOKUP``: dotted path of ``f(user) -> str | None`` giving a user's mobile number; by
  default the user's ``phone`` attribute if the user model has one (ours does not: SMS then skips them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.message import EmailMessage
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class Outgoing:
    """One notice for one person: the text in the site's language and an absolute or site-relative link."""

    user: object
    subject: str
    text: str
    url: str = ""


class Channel:
    """A way out: ``send`` takes a batch and returns how many it sent."""

    name = ""

    def send(self, messages: Sequence[Outgoing]) -> int:  # pragma: no cover - interface
        raise NotImplementedError


class EmailChannel(Channel):
    """E-mail through Django's mail API (EMAIL_BACKEND), one connection per batch; users without an
    address are skipped."""

    name = "email"

    def send(self, messages: Sequence[Outgoing]) -> int:
        mails = [
            EmailMessage(subject=m.subject, body=f"{m.text}\n\n{m.url}".strip(), to=[m.user.email])
            for m in messages if getattr(m.user, "email", "")
        ]
        if not mails:
            return 0
        return get_connection(fail_silently=False).send_messages(mails) or 0


class SmsGateway:
    """What an SMS provider's client must offer."""

    def send(self, phone: str, text: str) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class InMemorySmsGateway(SmsGateway):
    """The test double: keeps what it was given (``InMemorySmsGateway.outbox``) instead of sending it."""

    outbox: list[tuple[str, str]] = []

    def send(self, phone: str, text: str) -> None:
        type(self).outbox.append((phone, text))


def default_phone(user) -> str | None:
    return getattr(user, "phone", None) or None


class SmsChannel(Channel):
    """SMS through the configured gateway; users without a mobile number are skipped."""

    name = "sms"
    max_length = 140

    def __init__(self) -> None:
        gateway = getattr(settings, "SMS_GATEWAY", "")
        if not gateway:
            raise RuntimeError("NOTIFY_CHANNELS has sms but SMS_GATEWAY is not set.")
        self.gateway = import_string(gateway)()
        lookup = getattr(settings, "NOTIFY_PHONE_LOOKUP", "")
        self.phone_of = import_string(lookup) if lookup else default_phone

    def send(self, messages: Sequence[Outgoing]) -> int:
        sent = 0
        for message in messages:
            phone = self.phone_of(message.user)
            if phone:
                self.gateway.send(phone, message.text[: self.max_length])
                sent += 1
        return sent


CHANNELS = {"email": "govgrid.messaging.EmailChannel", "sms": "govgrid.messaging.SmsChannel"}


def channels() -> list[Channel]:
    """The configured channels besides in-app (which the caller writes itself)."""
    names = getattr(settings, "NOTIFY_CHANNELS", ["inapp"]) or ["inapp"]
    return [import_string(CHANNELS.get(name, name))() for name in names if name != "inapp"]
