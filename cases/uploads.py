"""Upload checks: photos only, by their bytes rather than their name, decoded, and cleaned.

Every photo is decoded with Pillow under a pixel limit and encoded again before it is stored, so
what is kept is a picture and nothing else: no bytes smuggled after it, no EXIF (GPS position, phone
serial, owner's name) or XMP, no comments, and a suffix that says what the bytes are. The client's
file name and declared content type are never used.
"""

from __future__ import annotations

import contextlib
import io
import warnings
import weakref
from typing import NamedTuple

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps

from govgrid.errors import ActionError

# Magic numbers of the image formats phones produce. The declared content type and the file name
# are the client's word; the first bytes are the file's.
SIGNATURES = {
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
}

# Sniffed type → (the one Pillow decoder allowed to read it, the suffix it is stored under).
# Naming the decoder keeps Pillow from guessing among all its plugins (some of which read formats
# nobody photographs with, or hand the file to Ghostscript).
FORMATS = {
    "image/jpeg": ("JPEG", "jpg"),
    "image/png": ("PNG", "png"),
    "image/gif": ("GIF", "gif"),
    "image/webp": ("WEBP", "webp"),
}

# What survives the re-encoding of the image's metadata: colour and see-through. The rest (EXIF,
# XMP, comments, text chunks, dpi) may say where, when and by whom the photo was taken.
KEPT_INFO = ("icc_profile", "transparency", "background")

SAVE_OPTIONS = {
    "JPEG": {"quality": 85},
    "PNG": {},
    "GIF": {},
    "WEBP": {"quality": 85},
}


class Photo(NamedTuple):
    """A checked upload, ready for ``Attachment(file=photo.file, content_type=..., size=photo.file.size)``."""

    file: ContentFile  # the re-encoded bytes, named ``photo.<suffix of the sniffed type>``
    content_type: str


# The form and the action both check the same upload object; decoding a 40-megapixel photo twice
# costs a second or so, so the first result is kept for as long as the upload lives.
_prepared: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


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


def max_upload_pixels() -> int:
    return int(getattr(settings, "MAX_UPLOAD_PIXELS", 40_000_000))


def _too_many_pixels(name: str, field: str) -> ActionError:
    return ActionError(
        _("%(name)s has too many pixels; photos may have at most %(max)d million.")
        % {"name": name, "max": max_upload_pixels() // 1_000_000},
        field=field, code="too_many_pixels",
    )


def _reencode(upload, content_type: str, *, name: str, field: str) -> Photo:
    decoder, suffix = FORMATS[content_type]
    upload.seek(0)
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its own limit and twice that; both are far above ours.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(upload, formats=[decoder])
            width, height = image.size
            if width * height > max_upload_pixels():
                raise _too_many_pixels(name, field)
            image.load()  # raises on a truncated or corrupt file (LOAD_TRUNCATED_IMAGES stays off)
            ImageOps.exif_transpose(image, in_place=True)  # keep the picture upright once its EXIF is gone
            image.info = {key: image.info[key] for key in KEPT_INFO if key in image.info}
            buffer = io.BytesIO()
            image.save(buffer, format=decoder, **SAVE_OPTIONS[decoder])
    except ActionError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(name, field) from None
    except Exception:  # noqa: BLE001 - hostile bytes make Pillow raise OSError, SyntaxError, ValueError, struct.error, EOFError, ...
        raise ActionError(
            _("%(name)s could not be read as a photo: it is damaged or incomplete.") % {"name": name},
            field=field, code="unreadable",
        ) from None
    finally:
        upload.seek(0)
    return Photo(ContentFile(buffer.getvalue(), name=f"photo.{suffix}"), content_type)


def prepare_upload(upload, *, field: str = "photos") -> Photo:
    """The upload decoded, stripped of metadata and encoded again, or ActionError saying what is wrong.

    Nothing is written: the caller stores ``photo.file`` (whose name carries the sniffed type's
    suffix) and records ``photo.content_type``.
    """
    try:
        return _prepared[upload]
    except (KeyError, TypeError):
        pass
    name = getattr(upload, "name", "") or _("the file")
    if upload.size > max_upload_bytes():
        raise ActionError(
            _("%(name)s is %(size).1f MB; photos may be at most %(max).0f MB.")
            % {"name": name, "size": upload.size / 1e6, "max": max_upload_bytes() / 1e6},
            field=field, code="too_large",
        )
    if upload.size == 0:
        raise ActionError(_("%(name)s is empty.") % {"name": name}, field=field, code="empty")
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    content_type = _sniff(head)
    if content_type == "image/heic":
        # Pillow cannot read HEIC, and what cannot be decoded is not stored. Browsers send iPhone
        # photos as JPEG unless asked for HEIC, so this is a file picked from elsewhere.
        raise ActionError(
            _("%(name)s is a HEIC photo, which cannot be read here; send it as JPEG.") % {"name": name},
            field=field, code="wrong_type",
        )
    if content_type not in FORMATS:
        raise ActionError(
            _("%(name)s is not a photo (JPEG, PNG, GIF or WebP).") % {"name": name},
            field=field, code="wrong_type",
        )
    photo = _reencode(upload, content_type, name=name, field=field)
    with contextlib.suppress(TypeError):  # an upload that cannot be weakly referenced is decoded again
        _prepared[upload] = photo
    return photo


def check_upload(upload, *, field: str = "photos") -> str:
    """The sniffed content type of an acceptable photo, or ActionError saying what is wrong with it.

    It decodes the photo (see ``prepare_upload``), so a form can name the faulty field before the
    action runs; the action's own ``prepare_upload`` then reuses the result.
    """
    return prepare_upload(upload, field=field).content_type
