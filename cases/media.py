"""Case photos, served to exactly those who may see the case, in production as in development.

``Attachment.file.url`` is ``MEDIA_URL`` + the stored name, whatever the storage (see
cases.storage for S3), and that path lands here: one scoped query answers both "is there such a
photo" and "may this viewer see its case", so a photo outside the viewer's scope gets the same 404
as one that does not exist (DESIGN.md §3). Nothing else under MEDIA_URL is served: exports and
monthly reports have their own views.
"""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.http import FileResponse, Http404, HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.views.decorators.http import require_safe
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from cases.models import Attachment
from cases.selectors import visible_cases
from cases.uploads import FORMATS

# The route (govgrid/urls.py) is MEDIA_URL + this; attachment_path names files cases/<case>/<uuid>.<suffix>.
ROUTE = "cases/<int:case_id>/<str:filename>"

# Photos are stored under fresh names and never change, but a viewer may lose the scope: cache
# briefly, and only in the viewer's own browser.
CACHE_CONTROL = "private, max-age=3600"


def _viewer(request: HttpRequest):
    """The signed-in user (pages) or the API token's (phone clients fetching a photo link), else None."""
    if request.user.is_authenticated:
        return request.user
    try:
        found = TokenAuthentication().authenticate(request)
    except AuthenticationFailed:
        return None
    return found[0] if found else None


@require_safe
def case_photo(request: HttpRequest, case_id: int, filename: str) -> HttpResponseBase:
    viewer = _viewer(request)
    if viewer is None:
        return redirect_to_login(request.get_full_path())
    name = f"cases/{case_id}/{filename}"
    attachment = (
        Attachment.objects.filter(case__in=visible_cases(viewer).filter(pk=case_id), file=name)
        .only("file", "content_type").first()
    )
    if attachment is None:
        raise Http404
    return stored_photo(attachment.file, attachment.content_type)


def stored_photo(file, content_type: str) -> HttpResponseBase:
    """The response for a stored photo the caller has already found the viewer may see (case photos,
    sweep reports, plan evidence, campaign inspections): a redirect to a signed URL when the storage is
    a private bucket, else the bytes; a file missing from the storage is a 404, never a 500."""
    storage, name = file.storage, file.name
    if hasattr(storage, "signed_url"):  # a private bucket: let the store send the bytes
        response: HttpResponseBase = HttpResponseRedirect(storage.signed_url(name))
        response["Cache-Control"] = "private, no-store"
        return response
    try:
        handle = storage.open(name, "rb")
    except FileNotFoundError:
        raise Http404 from None
    # The row's type was sniffed from the bytes; anything else (a row older than the decoding) is
    # handed out as a download rather than rendered. SecurityMiddleware adds nosniff.
    content_type = content_type if content_type in FORMATS else "application/octet-stream"
    response = FileResponse(handle, content_type=content_type, as_attachment=content_type not in FORMATS)
    response["Cache-Control"] = CACHE_CONTROL
    return response
