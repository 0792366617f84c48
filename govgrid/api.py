"""Shared REST plumbing: pagination and one error shape for every endpoint."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from govgrid.errors import ActionError


class CursorPagination(pagination.CursorPagination):
    """Stable pages over large tables; ordering is set per viewset (``ordering``)."""

    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = "-id"

    def get_ordering(self, request, queryset, view):
        # DRF only reads a view's ordering through OrderingFilter; let a plain `ordering` on the
        # viewset set the stable order of the cursor.
        ordering = getattr(view, "ordering", None)
        if ordering and not any(hasattr(backend, "get_default_ordering") for backend in view.filter_backends):
            return (ordering,) if isinstance(ordering, str) else tuple(ordering)
        return super().get_ordering(request, queryset, view)


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
