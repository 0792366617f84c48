"""Shared REST plumbing: pagination and one error shape for every endpoint."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import (
    BadRequest,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse, UnreadablePostError
from django.utils.translation import gettext as _
from rest_framework import pagination, routers
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from govgrid.errors import ActionError
from govgrid.parsers import BodyTooLarge

# What an id in a URL may look like when the viewset does not say (lookup_value_regex): digits. A
# word, "1e3" or "%00" then matches no route (a 404) instead of reaching int() in a query (a 500).
INTEGER_LOOKUP = "[0-9]{1,18}"


class ApiRouter(routers.DefaultRouter):
    """DRF's router with integer ids: a viewset looked up by ``pk``/``id`` matches digits only.

    A viewset looked up by another field (a code) keeps DRF's default pattern; one that sets
    ``lookup_value_regex`` keeps its own.
    """

    def get_lookup_regex(self, viewset, lookup_prefix=""):
        lookup_field = getattr(viewset, "lookup_field", "pk")
        if lookup_field in ("pk", "id") and getattr(viewset, "lookup_value_regex", None) is None:
            return self._base_pattern.format(
                lookup_prefix=lookup_prefix,
                lookup_url_kwarg=getattr(viewset, "lookup_url_kwarg", None) or lookup_field,
                lookup_value=INTEGER_LOOKUP,
            )
        return super().get_lookup_regex(viewset, lookup_prefix)


class CursorPagination(pagination.CursorPagination):
    """Stable pages over large tables; ordering is set per viewset (``ordering``)."""

    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request):
        # DRF falls back to the default on a page_size it cannot read; a client that asked for 0, -5,
        # "ten" or 10,000 rows is told so instead (400), as the schema says.
        values = request.query_params.getlist(self.page_size_query_param)
        if not values:
            return self.page_size
        value = values[0]
        if len(values) > 1 or not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= self.max_page_size:
            raise ValidationError({self.page_size_query_param: [
                _("Give one whole number of rows from 1 to %(max)s.") % {"max": self.max_page_size}]})
        return int(value)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {**parameter["schema"], "minimum": 1, "maximum": self.max_page_size}
        return parameters
    ordering = "-id"

    def get_ordering(self, request, queryset, view):
        # DRF only reads a view's ordering through OrderingFilter; let a plain `ordering` on the
        # viewset set the stable order of the cursor.
        ordering = getattr(view, "ordering", None)
        if ordering and not any(hasattr(backend, "get_default_ordering") for backend in view.filter_backends):
            return (ordering,) if isinstance(ordering, str) else tuple(ordering)
        return super().get_ordering(request, queryset, view)


def query_values(request) -> dict[str, str]:
    """The query string as one value per name, for a serializer to read: a name given twice is a 400,
    and an empty value is a value (refused where the field needs one), not "not given" as Django's
    QueryDict would have it, so what a client sends is what the schema says."""
    params = request.query_params
    repeated = [name for name in params if len(params.getlist(name)) > 1]
    if repeated:
        raise ValidationError({name: [_("Give this parameter once.")] for name in repeated})
    return {name: params[name] for name in params}


def _first_message(data) -> str:
    if isinstance(data, list):
        return _first_message(data[0]) if data else ""
    if isinstance(data, dict):
        for key, value in data.items():
            message = _first_message(value)
            if key in ("detail", "non_field_errors"):
                return message
            return f"{key}: {message}"
        return ""
    return str(data)


def _request_error(exc: Exception) -> Exception:
    """Django's own refusals of a request (raised while a parser reads it) as the API's 4xx."""
    if isinstance(exc, RequestDataTooBig):
        return BodyTooLarge(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return ParseError(_("The form has too many fields or files."))
    if isinstance(exc, SuspiciousOperation | BadRequest):
        return ParseError(_("The request is malformed."))
    if isinstance(exc, UnreadablePostError):
        return ParseError(_("The request body could not be read to its end."))
    return exc


def exception_handler(exc, context):
    """Errors as ``{"detail": "<one sentence>", "errors": {field: [messages]}}``.

    ``detail`` is what a person reads; ``errors`` keeps the field messages for forms. Django's own
    ValidationError (raised by model ``clean`` or actions) is treated as a 400, not a 500.
    """
    if isinstance(exc, ActionError):
        body = {"detail": exc.message, "code": exc.code}
        if exc.field:
            body["errors"] = {exc.field: [exc.message]}
        return Response(body, status=exc.status_code)
    exc = _request_error(exc)
    if isinstance(exc, DjangoValidationError):
        exc = ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(data, dict) and set(data) <= {"detail"} and "detail" in data:
        body = {"detail": str(data["detail"])}
    else:
        errors = data if isinstance(data, dict) else {"non_field_errors": data}
        body = {"detail": _first_message(errors), "errors": errors}
    response.data = body
    return response


def not_found_json() -> JsonResponse:
    """The API's 404 body: for a route or id that matches nothing (handler404) and a path with NUL."""
    return JsonResponse({"detail": _("Not found: no such address or object in the API.")}, status=404,
                        json_dumps_params={"ensure_ascii": False})
