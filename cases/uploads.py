"""Upload checks: photos only, by their bytes rather than their name, and not too large."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _

from govgrid.errors import ActionError

# Magic numbers of the image formats phones produce. The declared content type and the file name
# are the client's word; the first bytes are the file's.
SIGNATURES = {
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
}


def _sniff(head: bytes) -> str | None:
    for signature, content_type in SIGNATURES.items():
        if head.startswith(signature):
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"hevc"):
        return "image/heic"
    return None


def max_upload_bytes() -> int:
    return int(getattr(settings, "MAX_UPLOAD_BYTES", 10 * 1024 * 1024))


def check_upload(upload, *, field: str = "photos") -> str:
    """The content type of an acceptable photo, or ActionError saying what is wrong with it."""
    name = getattr(upload, "name", "") or _("the file")
    if upload.size > max_upload_bytes():
        raise ActionError(
            _("%(name)s is %(size).1f MB; photos may be at most %(max).0f MB.")
            % {"name": name, "size": upload.size / 1e6, "max": max_upload_bytes() / 1e6},
            field=field, code="too_large",
        )
    if upload.size == 0:
        raise ActionError(_("%(name)s is empty.") % {"name": name}, field=field, code="empty")
    position = upload.tell() if hasattr(upload, "tell") else 0
    upload.seek(0)
    head = upload.read(16)
    upload.seek(position)
    content_type = _sniff(head)
    if content_type is None:
        raise ActionError(
            _("%(name)s is not a photo (JPEG, PNG, GIF, WebP or HEIC).") % {"name": name},
            field=field, code="wrong_type",
        )
    return content_type
