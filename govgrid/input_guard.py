"""Refuse hostile text in the address and forms before any view sees it.

PostgreSQL cannot store or compare text holding NUL, so ``/api/v1/grids/%00/`` or ``?within=%00``
used to reach a query and fail with a 500. Django decodes paths, query strings and form fields with
``errors="replace"``, so an unpaired surrogate cannot arrive that way; NUL can. Request bodies of the
API are checked by its parsers (govgrid.parsers), which also refuse surrogates.

- a path with NUL matches nothing: 404 (JSON under /api/);
- a query string with NUL: 400 naming the parameter;
- a form posted to a page with NUL in a field: 400 (forms of the API are checked by its parsers: this
  middleware must not read an API body, or DRF would find it consumed);
- a multipart request to the API with no body at all: 400. DRF would not call any parser and hand the
  view an empty form, which an action may read as "all of them" (notifications/read/);
- a body sent in chunks, without a Content-Length, to the API: 411. Django reads such a body as empty,
  which is the same silent empty form.
"""

from __future__ import annotations

from django.core.exceptions import BadRequest
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _

from govgrid.api import not_found_json
from govgrid.parsers import BadMultipart, text_problem

API_PREFIX = "/api/"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _json(status: int, detail: str, field: str | None = None) -> JsonResponse:
    body: dict = {"detail": f"{field}: {detail}" if field else detail}
    if field:
        body["errors"] = {field: [detail]}
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


def _bad_field(data) -> tuple[str, str] | None:
    """The first (name, problem) among the keys and values of a QueryDict, or None."""
    for key, values in data.lists():
        problem = text_problem(key)
        if problem:
            return "non_field_errors", problem
        for value in values:
            problem = text_problem(value)
            if problem:
                return key, problem
    return None


class InputGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        api = request.path.startswith(API_PREFIX)
        if text_problem(request.path):
            if api:
                return not_found_json()
            raise Http404
        bad = _bad_field(request.GET)
        if bad:
            if api:
                return _json(400, bad[1], bad[0])
            raise BadRequest(bad[1])
        content_type = request.content_type or ""
        if api:
            if "HTTP_TRANSFER_ENCODING" in request.META and not request.META.get("CONTENT_LENGTH"):
                return _json(411, _("Send the request body with a Content-Length, not in chunks."))
            if content_type == "multipart/form-data" and not _declared_length(request):
                return _json(400, str(BadMultipart.default_detail))
        elif request.method == "POST" and content_type in FORM_TYPES:
            bad = _bad_field(request.POST)
            if bad:
                raise BadRequest(bad[1])
        return self.get_response(request)


def _declared_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0
