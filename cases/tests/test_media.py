"""Case photos are served through one scoped view, with DEBUG off as in production: exactly those who may
see the case get the photo, everyone else the same 404 as for a photo that does not exist. With
MEDIA_STORAGE=s3 the link is the same and the view redirects to a short-lived presigned url."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import resolve
from PIL import Image
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from cases import actions
from cases.media import case_photo
from cases.models import Attachment
from cases.storage import PrivateS3Storage

ROOT = Path(__file__).resolve().parents[2]
INSIDE_G1 = {"lon": 113.005, "lat": 23.005}


@pytest.fixture(autouse=True)
def production(settings, tmp_path):
    settings.DEBUG = False
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 128, 0)).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
def photo(tiny_city, categories) -> Attachment:
    """A photo on a case reported in grid A-1 of Town One."""
    case, _created = actions.report_case(
        reporter=tiny_city.g1_worker, category=categories.garbage, **INSIDE_G1, description="路边有一堆暴露垃圾",
        photos=[SimpleUploadedFile("IMG_0001.jpg", jpeg(), content_type="image/jpeg")],
    )
    return case.attachments.get()


def get(user, url: str):
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client.get(url)


def test_the_file_url_is_the_scoped_view(photo):
    url = photo.file.url
    assert url == f"/media/{photo.file.name}"
    assert url.startswith(f"/media/cases/{photo.case_id}/")
    assert resolve(url).func is case_photo


@pytest.mark.parametrize("persona", ["g1_worker", "g1_leader", "t1_operator", "district_lead", "city_official",
                                     "admin"])
def test_those_who_see_the_case_get_the_photo(tiny_city, photo, persona):
    response = get(getattr(tiny_city, persona), photo.file.url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "private, max-age=3600"
    assert response["X-Content-Type-Options"] == "nosniff"
    body = b"".join(response.streaming_content)
    assert body == photo.file.open("rb").read()
    assert Image.open(io.BytesIO(body)).size == (8, 8)


@pytest.mark.parametrize("persona", ["g3_worker", "t2_operator", "handler", "nobody"])
def test_everyone_else_gets_the_404_of_a_missing_photo(tiny_city, photo, persona):
    user = getattr(tiny_city, persona)
    outside = get(user, photo.file.url)
    missing = get(user, f"/media/cases/{photo.case_id}/{'0' * 32}.jpg")
    assert outside.status_code == missing.status_code == 404
    assert outside.content == missing.content


def test_a_missing_photo_is_404_even_in_scope(tiny_city, photo, production):
    worker = tiny_city.g1_worker
    assert get(worker, f"/media/cases/{photo.case_id}/{'0' * 32}.jpg").status_code == 404
    # The right name under another case's number is not the same photo.
    other, _created = actions.report_case(reporter=worker, category=photo.case.category, **INSIDE_G1,
                                          description="另一处暴露垃圾")
    assert get(worker, photo.file.url.replace(f"/{photo.case_id}/", f"/{other.pk}/")).status_code == 404
    # A row whose file is gone from the disk.
    (production / photo.file.name).unlink()
    assert get(worker, photo.file.url).status_code == 404


def test_nothing_else_under_media_is_served(tiny_city, photo, production):
    (production / "exports").mkdir()
    (production / "exports" / "1.csv").write_text("secret")
    for path in ("/media/exports/1.csv", f"/media/{photo.file.name}/..", "/media/cases/x/y.jpg"):
        assert get(tiny_city.admin, path).status_code == 404


def test_a_stranger_is_sent_to_log_in_and_a_phone_may_use_its_token(tiny_city, photo):
    anonymous = get(None, photo.file.url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    token = Token.objects.create(user=tiny_city.g1_worker)
    client = APIClient()
    assert client.get(photo.file.url, HTTP_AUTHORIZATION=f"Token {token.key}").status_code == 200
    client.credentials()
    other = Token.objects.create(user=tiny_city.g3_worker)
    assert client.get(photo.file.url, HTTP_AUTHORIZATION=f"Token {other.key}").status_code == 404
    assert client.get(photo.file.url, HTTP_AUTHORIZATION="Token not-a-token").status_code == 302


def test_only_reading_is_allowed(tiny_city, photo):
    client = APIClient()
    client.force_login(tiny_city.g1_worker)
    assert client.delete(photo.file.url).status_code == 405
    assert client.head(photo.file.url).status_code == 200


# --- S3-compatible storage ----------------------------------------------------------------------------


S3_OPTIONS = {
    "bucket_name": "govgrid-photos", "endpoint_url": "http://127.0.0.1:9000", "region_name": "us-east-1",
    "access_key": "test-access-key", "secret_key": "test-secret-key", "querystring_expire": 60,
    "signature_version": "s3v4",
}


def test_on_s3_the_link_is_the_same_and_the_view_redirects_to_a_short_presigned_url(tiny_city, photo, settings):
    name = photo.file.name
    settings.STORAGES = {**settings.STORAGES,
                         "default": {"BACKEND": "cases.storage.PrivateS3Storage", "OPTIONS": S3_OPTIONS}}
    photo = Attachment.objects.get(pk=photo.pk)
    assert isinstance(photo.file.storage, PrivateS3Storage)
    assert photo.file.url == f"/media/{name}"

    response = get(tiny_city.t1_operator, photo.file.url)
    assert response.status_code == 302
    assert response["Cache-Control"] == "private, no-store"
    target = urlsplit(response["Location"])
    assert f"{target.scheme}://{target.netloc}" == "http://127.0.0.1:9000"
    assert target.path == f"/govgrid-photos/{name}"
    query = parse_qs(target.query)
    assert query["X-Amz-Expires"] == ["60"] and "X-Amz-Signature" in query
    assert get(tiny_city.t2_operator, photo.file.url).status_code == 404


def settings_in_subprocess(**env: str) -> subprocess.CompletedProcess:
    code = ("import django; django.setup(); from django.core.files.storage import storages; "
            "s = storages['default']; "
            "print(type(s).__name__, getattr(s, 'bucket_name', '-'), getattr(s, 'endpoint_url', '-'))")
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MEDIA_STORAGE"))}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**keep, "DJANGO_SETTINGS_MODULE": "govgrid.settings", **env})


def test_media_storage_is_a_setting():
    local = settings_in_subprocess()
    assert local.stdout.split() == ["FileSystemStorage", "-", "-"], local.stderr
    s3 = settings_in_subprocess(MEDIA_STORAGE="s3", AWS_STORAGE_BUCKET_NAME="photos",
                                AWS_S3_ENDPOINT_URL="http://minio.internal:9000")
    assert s3.stdout.split() == ["PrivateS3Storage", "photos", "http://minio.internal:9000"], s3.stderr
    assert "AWS_STORAGE_BUCKET_NAME" in settings_in_subprocess(MEDIA_STORAGE="s3").stderr
    assert "MEDIA_STORAGE='ftp'" in settings_in_subprocess(MEDIA_STORAGE="ftp").stderr
