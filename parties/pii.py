"""Personal data (PIPL): ID card and phone numbers encrypted at rest, found through a keyed hash,
validated, and masked unless a reason is given.

Keys come from the environment (govgrid/settings.py):

- ``PII_KEY``: the Fernet key that encrypts (AES-128-CBC + HMAC-SHA256, ``cryptography``'s Fernet);
- ``PII_OLD_KEYS``: comma-separated retired Fernet keys that still decrypt, so a key can be rotated
  without downtime: put the new key in ``PII_KEY``, the old one in ``PII_OLD_KEYS``, run
  ``manage.py rotate_pii_keys`` (re-encrypts every value with the new key and recomputes the lookup
  hashes), then drop the old key;
- ``PII_HASH_KEY``: the HMAC-SHA256 key of the lookup hashes. The hash finds a record by its exact
  number (duplicate check, search) without decrypting a table; without the key nobody can test
  guesses against it (there are only ~10^11 mobile numbers). Rotating it: set the new key and run
  ``rotate_pii_keys``, which recomputes every hash from the decrypted values.

Lists show the masked text stored beside the cipher text (``440604********1234``, ``138****5678``),
so a list never decrypts anything; the whole value is shown only through parties.actions.reveal_pii,
which logs who, when, whose and why.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import re

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"
_ID_SHAPE = re.compile(r"^[1-9]\d{16}[\dX]$")
_MOBILE_SHAPE = re.compile(r"^1[3-9]\d{9}$")


# --- keys -----------------------------------------------------------------------------------------


@functools.cache
def _fernet() -> MultiFernet:
    keys = [settings.PII_KEY, *settings.PII_OLD_KEYS]
    return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])


def reset_keys() -> None:
    """Forget the cached keys (after the settings changed, e.g. in a rotation test)."""
    _fernet.cache_clear()


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode("ascii")


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode()
    except InvalidToken as exc:  # a key was dropped before its values were re-encrypted
        raise ValueError("personal data encrypted with an unknown key; see parties/pii.py on rotation") from exc


def rotate(token: str) -> str:
    """The same value encrypted with the current key."""
    return _fernet().rotate(token.encode("ascii")).decode("ascii") if token else ""


def lookup_hash(value: str, kind: str) -> str:
    """HMAC-SHA256 of a normalised value; ``kind`` keeps an ID number and a phone number apart."""
    message = f"{kind}:{value}".encode()
    return hmac.new(settings.PII_HASH_KEY.encode(), message, hashlib.sha256).hexdigest()


def id_hash(value: str) -> str:
    return lookup_hash(normalise_id_number(value), "id")


def phone_hash(value: str) -> str:
    return lookup_hash(normalise_phone(value), "phone")


# --- validation -----------------------------------------------------------------------------------


def normalise_id_number(value: str) -> str:
    return (value or "").strip().replace(" ", "").upper()


def normalise_phone(value: str) -> str:
    text = re.sub(r"[\s-]", "", (value or "").strip())
    if text.startswith("+86"):
        text = text[3:]
    return text


def id_check_char(first17: str) -> str:
    return ID_CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def parse_id_number(value: str, *, today: dt.date | None = None) -> tuple[str, dt.date, str]:
    """A GB 11643-1999 citizen ID number: (normalised number, birth date, sex "M"/"F"), or
    ValidationError saying what is wrong with it."""
    number = normalise_id_number(value)
    if not _ID_SHAPE.match(number):
        raise ValidationError(_("An ID card number has 18 characters: 17 digits and a digit or X."), code="id_shape")
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValidationError(_("The birth date inside this ID card number does not exist."), code="id_birth") from None
    if birth.year < 1900 or birth > (today or timezone.localdate()):
        raise ValidationError(_("The birth date inside this ID card number is not possible."), code="id_birth")
    if id_check_char(number[:17]) != number[17]:
        raise ValidationError(_("The check digit of this ID card number is wrong; please check the number."),
                              code="id_check")
    sex = "M" if int(number[16]) % 2 else "F"
    return number, birth, sex


def parse_mobile(value: str) -> str:
    """A mainland mobile number (11 digits, 1[3-9]…), normalised, or ValidationError."""
    number = normalise_phone(value)
    if not _MOBILE_SHAPE.match(number):
        raise ValidationError(_("A mobile number has 11 digits and starts with 13 to 19."), code="phone_shape")
    return number


# --- masking --------------------------------------------------------------------------------------


def mask_id_number(number: str) -> str:
    """``440604199001011234`` → ``440604********1234``: the region and the last four stay."""
    if not number:
        return ""
    return number[:6] + "*" * (len(number) - 10) + number[-4:] if len(number) > 10 else "*" * len(number)


def mask_phone(number: str) -> str:
    """``13812345678`` → ``138****5678``."""
    if not number:
        return ""
    return number[:3] + "*" * (len(number) - 7) + number[-4:] if len(number) > 7 else "*" * len(number)


def make_id_number(region: str, birth: dt.date, serial: int, *, female: bool) -> str:
    """A valid synthetic ID number (seed data and tests): region code, birth date, serial, check digit."""
    sequence = serial % 500 * 2 + (0 if female else 1)
    first17 = f"{region[:6]:0<6}{birth:%Y%m%d}{sequence:03d}"
    return first17 + id_check_char(first17)
