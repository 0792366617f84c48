"""Citizens' appeals (群众诉求): from Open311 clients, the public appeal page and the hotline.

An appeal becomes a case through the pipeline's intake (``report_case``) on a citizen channel, and
is triaged and handled like any other report. Who asked is kept beside it under the personal-data
protection of parties.pii (encrypted, a keyed hash of the phone, masked texts for pages); nothing of
it is ever returned by Open311's GET.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.utils.translation import gettext as _

from cases.actions._base import action, now
from cases.actions.followup import follow_up
from cases.actions.intake import report_case
from cases.choices import Channel
from cases.models import Category
from cases.open311.models import ApiKey, Appeal, hash_secret
from govgrid.errors import ActionError
from parties import pii

MAX_DESCRIPTION = 4000


def _mask_name(first: str, last: str) -> str:
    full = f"{last}{first}" if any("\u4e00" <= ch <= "\u9fff" for ch in first + last) else f"{first} {last}"
    full = full.strip()
    return (full[0] + "*" * min(len(full) - 1, 3)) if full else ""


@action
def file_appeal(
    *,
    channel: str,
    category: Category,
    description: str,
    lon: float | None = None,
    lat: float | None = None,
    building=None,
    address: str = "",
    api_key: ApiKey | None = None,
    operator=None,
    first_name: str = "",
    last_name: str = "",
    phone: str = "",
    email: str = "",
    device_id: str = "",
    account_id: str = "",
    media_url: str = "",
    attributes: dict | None = None,
    photos: Sequence = (),
    answered: bool = False,
    answer: str = "",
) -> tuple[Appeal, str]:
    """File a citizen's appeal as a case. Returns the appeal and the secret of its private link
    (shown once; only its hash is kept).

    ``building``: a standard address (一标) the appeal is located at instead of a point. The hotline
    files with the operator as reporter; a hotline call answered at once is kept as answered.
    """
    if channel not in (Channel.CITIZEN, Channel.OPEN311, Channel.HOTLINE):
        raise ActionError(_("Unknown channel."), field="channel")
    description = (description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise ActionError(_("The description may be at most %(n)d characters.") % {"n": MAX_DESCRIPTION},
                          field="description")
    if building is not None:
        lon, lat = building.point.x, building.point.y
        address = address or building.address
    if lon is None or lat is None:
        raise ActionError(_("Give the location: a point on the map or an address."), field="location")
    phone = pii.normalise_phone(phone)
    if phone and not (phone.lstrip("+").isdigit() and 5 <= len(phone) <= 20):
        raise ActionError(_("The phone number is not valid."), field="phone")
    email = (email or "").strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ActionError(_("The e-mail address is not valid."), field="email") from None
    if media_url:
        try:
            URLValidator(schemes=("http", "https"))(media_url)
        except ValidationError:
            raise ActionError(_("media_url is not a valid http(s) URL."), field="media_url") from None
        if len(media_url) > 500:
            raise ActionError(_("media_url is too long."), field="media_url")
    for name, value in (("first_name", first_name), ("last_name", last_name), ("device_id", device_id),
                        ("account_id", account_id)):
        if len(value or "") > 100:
            raise ActionError(_("%(field)s is too long.") % {"field": name}, field=name)
    case, _created = report_case(
        reporter=operator if channel == Channel.HOTLINE else None, channel=channel, category=category,
        lon=float(lon), lat=float(lat), description=description, address=address, photos=photos,
        answered=answered, resolution_note=answer,
    )
    secret = secrets.token_urlsafe(18)
    appeal = Appeal.objects.create(
        case=case, token=Appeal.new_token(), channel=channel, api_key=api_key, operator=operator,
        service_code=category.code, attributes=attributes or {},
        address_id=str(building.pk) if building is not None else "", media_url=media_url or "",
        device_id=device_id or "", account_id=account_id or "",
        first_name_cipher=pii.encrypt(first_name) if first_name else "",
        last_name_cipher=pii.encrypt(last_name) if last_name else "",
        email_cipher=pii.encrypt(email) if email else "",
        phone_cipher=pii.encrypt(phone) if phone else "", phone_hash=pii.phone_hash(phone) if phone else "",
        phone_masked=pii.mask_phone(phone), name_masked=_mask_name(first_name or "", last_name or ""),
        link_hash=hash_secret(secret), answered=answered, created_at=now(),
    )
    return appeal, secret


def rate_appeal(appeal: Appeal, *, satisfaction: str):
    """The citizen's satisfaction, given on the follow page: the pipeline's follow-up (回访) row, taken
    by the system on the citizen's word; "dissatisfied" reopens the case as rework."""
    return follow_up(appeal.case_id, actor=None, satisfaction=satisfaction,
                     note=_("The citizen's own answer on the follow page."))


def phone_matches(appeal: Appeal, last_four: str) -> bool:
    phone = pii.decrypt(appeal.phone_cipher) if appeal.phone_cipher else ""
    return bool(phone) and len(last_four or "") == 4 and secrets.compare_digest(phone[-4:], last_four)


def link_matches(appeal: Appeal, secret: str) -> bool:
    return bool(appeal.link_hash) and secrets.compare_digest(appeal.link_hash, hash_secret(secret or ""))


__all__ = ["file_appeal", "link_matches", "phone_matches", "rate_appeal"]
