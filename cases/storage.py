"""Private S3-compatible storage (AWS S3, MinIO, Aliyun OSS, Tencent COS) for MEDIA_STORAGE=s3.

Objects stay private. Their urls are those of the scoped media view (cases.media), as on local disk,
so a photo link in a page or an API answer is checked against the viewer's scope every time it is
opened; the view then redirects to a presigned url that lives for seconds, not the hour a link in a
page or a forwarded message could be replayed for.
"""

from __future__ import annotations

from urllib.parse import urljoin

from django.conf import settings
from django.utils.encoding import filepath_to_uri
from storages.backends.s3 import S3Storage
from storages.utils import clean_name


class PrivateS3Storage(S3Storage):
    def url(self, name: str, parameters=None, expire=None, http_method=None) -> str:
        return urljoin(settings.MEDIA_URL, filepath_to_uri(clean_name(name)))

    def signed_url(self, name: str) -> str:
        """A presigned GET url for the object, computed locally (no request to the store)."""
        return super().url(name)
