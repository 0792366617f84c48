"""Uploads are decoded before anything is kept: a decompression bomb, a truncated file or one that only
starts like an image is a 400 on its field and writes nothing; what is kept is the picture encoded
again, upright, without EXIF/XMP/comments, under the suffix of what the bytes are."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image

from cases.models import Attachment, Case, CaseEvent
from cases.uploads import check_upload, prepare_upload
from govgrid.errors import ActionError

CASES = "/api/v1/cases/"
INSIDE_G1 = {"lon": 113.005, "lat": 23.005}
RED, BLUE = (255, 0, 0), (0, 0, 255)
GPS = {
    ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (23.0, 0.0, 18.0),
    ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (113.0, 0.0, 18.0),
}
XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="23,0.3N"/>'
       b"</rdf:RDF></x:xmpmeta>")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """A valid PNG header for a grey image of that size, and about 1 KB of zeros that inflate to 1 MB."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"\0" * 1_000_000, 9))
            + _chunk(b"IEND", b""))


def left_red_right_blue(size=(40, 20)) -> Image.Image:
    image = Image.new("RGB", size, RED)
    image.paste(BLUE, (size[0] // 2, 0, size[0], size[1]))
    return image


def phone_jpeg() -> bytes:
    """What a phone sends: EXIF with the place, the maker and 'rotate 90° clockwise to view', plus XMP."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "ACME-PHONE"
    exif[ExifTags.IFD.GPSInfo] = GPS
    buffer = io.BytesIO()
    left_red_right_blue().save(buffer, "JPEG", quality=95, exif=exif, xmp=XMP, comment=b"taken by ACME-PHONE")
    return buffer.getvalue()


def upload(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def refusal(data: bytes, name: str = "photo.png") -> ActionError:
    with pytest.raises(ActionError) as caught:
        prepare_upload(upload(data, name), field="after_photos")
    assert caught.value.field == "after_photos"
    return caught.value


def close(pixel, colour) -> bool:
    return all(abs(a - b) < 40 for a, b in zip(pixel, colour, strict=True))


# --- refused -----------------------------------------------------------------------------------------


def test_a_one_kilobyte_png_claiming_ten_billion_pixels_is_refused(english):
    bomb = png_claiming(100_000, 100_000)
    assert len(bomb) < 2048
    error = refusal(bomb)
    assert error.code == "too_many_pixels"
    assert error.message == "photo.png has too many pixels; photos may have at most 40 million."


def test_the_pixel_limit_is_ours_not_pillows(settings):
    # 48 MP is under Pillow's own bomb threshold (89 MP) but over ours.
    assert refusal(png_claiming(8000, 6000)).code == "too_many_pixels"
    settings.MAX_UPLOAD_PIXELS = 799
    buffer = io.BytesIO()
    left_red_right_blue((40, 20)).save(buffer, "PNG")
    assert refusal(buffer.getvalue()).code == "too_many_pixels"
    settings.MAX_UPLOAD_PIXELS = 800
    assert prepare_upload(upload(buffer.getvalue(), "a.png")).content_type == "image/png"


@pytest.mark.parametrize(("data", "code"), [
    (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3 not a photo", "wrong_type"),
    (b"<html><script>alert(1)</script></html>", "wrong_type"),
    (b"GIF89a<script>alert(document.cookie)</script>", "unreadable"),  # starts like a GIF, is not one
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "unreadable"),
    (b"\x00\x00\x00\x18ftypheic" + b"\0" * 64, "wrong_type"),  # HEIC: Pillow cannot read it
])
def test_what_only_starts_like_a_photo_is_refused(data, code):
    assert refusal(data).code == code


def test_a_truncated_jpeg_is_refused(english):
    noisy = Image.effect_noise((300, 300), 64).convert("RGB")
    buffer = io.BytesIO()
    noisy.save(buffer, "JPEG")
    error = refusal(buffer.getvalue()[: len(buffer.getvalue()) // 2], "cut.jpg")
    assert error.code == "unreadable"
    assert error.message == "cut.jpg could not be read as a photo: it is damaged or incomplete."


def test_a_bomb_over_the_api_is_a_400_on_the_field_and_writes_nothing(tiny_city, categories, api, settings,
                                                                      tmp_path):
    settings.MEDIA_ROOT = tmp_path
    response = api.as_(tiny_city.g1_worker).post(CASES, {
        "category": "0101", **INSIDE_G1, "description": "路边有一堆暴露垃圾",
        "photos": [upload(png_claiming(100_000, 100_000), "bomb.png", "image/png")],
    }, format="multipart", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 400, response.content.decode()
    body = response.json()
    assert body["code"] == "too_many_pixels"
    assert body["errors"]["photos"] == ["bomb.png 的像素过多，照片最多 40 百万像素。"]
    assert not (Case.objects.exists() or CaseEvent.objects.exists() or Attachment.objects.exists())
    assert not any(tmp_path.rglob("*"))


# --- kept, cleaned -----------------------------------------------------------------------------------


def test_exif_gps_xmp_and_comments_are_gone_and_the_photo_stays_upright():
    original = phone_jpeg()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the test has teeth
    assert b"ACME-PHONE" in original and b"GPSLatitude" in original

    photo = prepare_upload(upload(original, "IMG_0001.JPG"))
    kept = photo.file.read()
    assert photo.content_type == "image/jpeg"
    assert b"ACME-PHONE" not in kept and b"GPSLatitude" not in kept and b"Exif\x00\x00" not in kept
    image = Image.open(io.BytesIO(kept))
    assert dict(image.getexif()) == {}
    assert not {"exif", "xmp", "comment"} & set(image.info)
    # Orientation 6 means "turn 90° clockwise to view": the left (red) half is now on top.
    assert image.size == (20, 40)
    assert close(image.getpixel((10, 5)), RED) and close(image.getpixel((10, 35)), BLUE)


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_exif_is_gone_from_png_and_webp_too(fmt):
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "ACME-PHONE"
    exif[ExifTags.IFD.GPSInfo] = GPS
    buffer = io.BytesIO()
    left_red_right_blue().save(buffer, fmt, exif=exif)
    assert b"ACME-PHONE" in buffer.getvalue()
    kept = prepare_upload(upload(buffer.getvalue(), "x.bin")).file.read()
    assert b"ACME-PHONE" not in kept
    assert dict(Image.open(io.BytesIO(kept)).getexif()) == {}


@pytest.mark.parametrize(("fmt", "content_type", "suffix"), [
    ("JPEG", "image/jpeg", "jpg"), ("PNG", "image/png", "png"), ("GIF", "image/gif", "gif"),
    ("WEBP", "image/webp", "webp"),
])
def test_the_stored_name_has_the_sniffed_suffix_never_the_clients(fmt, content_type, suffix):
    buffer = io.BytesIO()
    left_red_right_blue().save(buffer, fmt)
    photo = prepare_upload(upload(buffer.getvalue(), "invoice.html", "text/html"))
    assert photo.content_type == content_type
    assert photo.file.name == f"photo.{suffix}"
    assert Image.open(io.BytesIO(photo.file.read())).format == fmt


def test_check_upload_decodes_once_for_the_form_and_the_action(monkeypatch):
    checked = upload(phone_jpeg())
    assert check_upload(checked) == "image/jpeg"
    monkeypatch.setattr(Image, "open", None)  # a second decode would fail loudly
    assert prepare_upload(checked).content_type == "image/jpeg"


def test_a_stored_attachment_holds_only_the_clean_bytes(tiny_city, categories, settings, tmp_path):
    """What the actions' _attach does with a prepared photo: the file on disk is the cleaned one."""
    from cases import actions

    settings.MEDIA_ROOT = tmp_path
    case, _created = actions.report_case(reporter=tiny_city.g1_worker, category=categories.garbage, **INSIDE_G1,
                                         description="路边有一堆暴露垃圾")
    photo = prepare_upload(upload(phone_jpeg(), "IMG_0001.html"))
    attachment = Attachment.objects.create(case=case, kind="report", file=photo.file,
                                           content_type=photo.content_type, size=photo.file.size)
    assert attachment.file.name.startswith(f"cases/{case.pk}/") and attachment.file.name.endswith(".jpg")
    stored = (tmp_path / attachment.file.name).read_bytes()
    assert attachment.size == len(stored)
    assert b"GPSLatitude" not in stored and b"ACME-PHONE" not in stored


def test_a_photo_reported_over_the_api_is_stored_clean_under_the_sniffed_suffix(tiny_city, categories, api,
                                                                                settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    response = api.as_(tiny_city.g1_worker).post(CASES, {
        "category": "0101", **INSIDE_G1, "description": "路边有一堆暴露垃圾",
        "photos": [upload(phone_jpeg(), "IMG_0001.html", "text/html")],
    }, format="multipart")
    assert response.status_code == 201, response.content.decode()
    attachment = Attachment.objects.get()
    assert attachment.content_type == "image/jpeg" and attachment.file.name.endswith(".jpg")
    stored = (tmp_path / attachment.file.name).read_bytes()
    assert attachment.size == len(stored)
    assert b"GPSLatitude" not in stored and b"ACME-PHONE" not in stored
