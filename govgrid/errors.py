"""Refusals that actions raise and every interface turns into a clear 4xx.

An action checks state, scope and input, and raises one of these with a sentence for a person (in
the active language) and, where one field is at fault, its name. The REST API maps them to JSON
(govgrid.api.exception_handler); pages show them beside the field.
"""

from __future__ import annotations


class ActionError(Exception):
    status_code = 400
    default_code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code or self.default_code


class NotFound(ActionError):
    """Outside the actor's scope, or not there at all: the two look the same."""

    status_code = 404
    default_code = "not_found"


class Forbidden(ActionError):
    """In scope, but the actor's role may not do this."""

    status_code = 403
    default_code = "forbidden"


class Conflict(ActionError):
    """The object is not in a state that allows the action (often: someone else was first)."""

    status_code = 409
    default_code = "wrong_state"
