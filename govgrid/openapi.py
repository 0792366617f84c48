"""The OpenAPI schema as the API really answers: the error answers every operation can give, and text
that may not hold NUL.

One postprocessing hook (settings: SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]) so no view repeats
it. Each answer below comes from shared plumbing, not from a view, so every operation can give it:

- 400 the input guard, the parsers, a serializer or an action refused the input (govgrid.parsers,
  govgrid.input_guard, govgrid.api.exception_handler);
- 401 a token that is not valid (TokenAuthentication); 403 not signed in, or a role that may not;
- 404 no such address or object, or one outside the user's scope (the same answer, DESIGN.md §3);
- 405 a method the address does not take; 411 a body sent in chunks; 413 a body over the limit;
- 415 a body in a media type the operation does not read;
- 429 too many attempts (login throttling); 503 the database or Redis is down (with Retry-After);
- 409 on the actions (a POST on an object): the object is not in a state that allows it.

It also keeps file fields to multipart bodies, where a file can be sent, and documents list filters as
django-filter reads them (an empty value is no filter).

A view's own description of a code (cases.api.views.ERRORS) is kept; the hook only adds what is
missing, all with the one error body ``{"detail", "code"?, "errors"?}`` (govgrid.api.exception_handler).
"""

from __future__ import annotations

from typing import Any

ERROR_COMPONENT = "Error"

# ``errors`` maps a field to its messages; a list field or a nested object maps to an object keyed by
# position or field name instead (DRF's shape for them), so a value is an array or an object.
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every error of the API: a sentence for a person, a code, and the messages per field.",
    "properties": {
        "detail": {"type": "string", "description": "What went wrong, in the user's language."},
        "code": {"type": "string", "description": "A stable code for programs (e.g. wrong_state)."},
        "errors": {
            "type": "object",
            "description": "Messages per field; for a list or nested field, per position or subfield.",
            "additionalProperties": {"anyOf": [{"type": "array"}, {"type": "object"}]},
        },
    },
    "required": ["detail"],
}

RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer", "minimum": 0},
                               "description": "Seconds to wait before trying again."}}

# code: (description, for which operations: "all", "body" (takes a request body) or "action")
ERROR_RESPONSES: dict[int, tuple[str, str]] = {
    400: ("The input is not valid: which field and why.", "all"),
    401: ("The token is not valid.", "all"),
    403: ("Not signed in, or your role may not do this.", "all"),
    404: ("No such address or object, or not in your scope (the same answer).", "all"),
    405: ("This address does not take this method.", "all"),
    409: ("The object is not in a state that allows the action (often: someone else was first).", "action"),
    411: ("A request body must come with a Content-Length, not in chunks.", "all"),
    413: ("The request body is larger than this operation takes.", "all"),
    415: ("The request body is in a media type this operation does not read.", "body"),
    429: ("Too many attempts: wait and try again.", "all"),
    503: ("The service is briefly unavailable (database or Redis down): nothing was saved, retry later.", "all"),
}

# PostgreSQL text cannot hold NUL and the parsers refuse it (govgrid.parsers.BAD_TEXT): a string
# without its own format, enum or pattern says so, in requests and answers alike.
NO_NUL_PATTERN = r"^[^\u0000]*$"
# A field that may not be blank: DRF trims whitespace (str.strip) first, so it needs one character
# that is neither NUL nor whitespace in Python's sense (written out: regex \s differs between dialects).
_SPACE = r"\u0000\t\n\u000b\f\r\u001c-\u001f \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NOT_BLANK_PATTERN = rf"^[^\u0000]*[^{_SPACE}][^\u0000]*$"

_METHODS = ("get", "put", "post", "patch", "delete", "head", "options", "trace")


def _is_action(path: str, method: str) -> bool:
    """A POST on an object (``/cases/{id}/accept/``): what a pipeline action looks like."""
    return method == "post" and "{" in path


def _error_response(description: str, status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}}},
    }
    if status == 503:
        response["headers"] = {**RETRY_AFTER}
        response["headers"]["Retry-After"] = {**RETRY_AFTER["Retry-After"], "required": True}
    elif status == 429:
        response["headers"] = {**RETRY_AFTER}
    return response


def _narrow_decimal(pattern: str) -> str:
    """spectacular's ``^-?\\d{0,M}(?:\\.\\d{0,D})?$`` with a digit required: M integer and D decimal places."""
    import re

    match = re.fullmatch(r"\^(-\?)?\\d\{0,(\d+)\}\(\?:\\\.\\d\{0,(\d+)\}\)\?\$", pattern)
    if not match:
        return pattern
    sign, whole, places = match.group(1) or "", int(match.group(2)), int(match.group(3))
    return rf"^{sign}(?:[0-9]{{1,{whole}}}(?:\.[0-9]{{0,{places}}})?|\.[0-9]{{1,{places}}})$"


def _forbid_nul(schema: Any) -> None:
    """Add the no-NUL pattern to every plain string in a schema (in place, recursively)."""
    if isinstance(schema, list):
        for item in schema:
            _forbid_nul(item)
        return
    if not isinstance(schema, dict):
        return
    if schema.get("type") == "string" and not {"format", "enum", "pattern"} & schema.keys():
        schema["pattern"] = NOT_BLANK_PATTERN if schema.get("minLength", 0) >= 1 else NO_NUL_PATTERN
    elif schema.get("format") == "decimal" and "pattern" in schema:
        schema["pattern"] = _narrow_decimal(schema["pattern"])
    for key, value in schema.items():
        if key not in ("example", "examples", "default", "enum") and isinstance(value, dict | list):
            _forbid_nul(value)


def _is_file(schema: dict) -> bool:
    return schema.get("format") == "binary" or (schema.get("type") == "array"
                                                  and schema.get("items", {}).get("format") == "binary")


def _no_empty_files(schema: dict) -> None:
    """An empty file is refused (the strict multipart parser cannot tell it from a cut-off part)."""
    for value in schema.get("properties", {}).values():
        target = value.get("items", value) if value.get("type") == "array" else value
        if target.get("format") == "binary":
            target["minLength"] = 1


def _files_only_in_multipart(operation: dict, components: dict) -> None:
    """A JSON or urlencoded body cannot carry a file: those media types document the body without its
    file fields, or not at all where a file is required (spectacular gives every media type the same
    schema, files included)."""
    content = operation.get("requestBody", {}).get("content", {})
    multipart = content.get("multipart/form-data", {}).get("schema", {}).get("$ref", "")
    if multipart.rsplit("/", 1)[-1] in components:
        _no_empty_files(components[multipart.rsplit("/", 1)[-1]])
    for media_type in [m for m in content if m != "multipart/form-data"]:
        ref = content[media_type].get("schema", {}).get("$ref", "")
        name = ref.rsplit("/", 1)[-1]
        schema = components.get(name)
        if not schema:
            continue
        files = {key for key, value in schema.get("properties", {}).items() if _is_file(value)}
        if not files:
            continue
        if files & set(schema.get("required", [])):
            del content[media_type]
            continue
        without = f"{name}WithoutFiles"
        components[without] = {
            **schema, "properties": {k: v for k, v in schema["properties"].items() if k not in files},
        }
        content[media_type] = {**content[media_type], "schema": {"$ref": f"#/components/schemas/{without}"}}


# django-filter's NumberFilter refuses numbers above 1e50.
FILTER_NUMBER_BOUND = 1e50


def _filter_parameters_as_read(operation: dict) -> None:
    """Query filters of a list (an operation with a cursor) as django-filter reads them: an empty value
    is no filter, and a number is at most django-filter's bound."""
    parameters = operation.get("parameters", [])
    if not any(p.get("in") == "query" and p.get("name") == "cursor" for p in parameters):
        return
    for parameter in parameters:
        schema = parameter.get("schema", {})
        if parameter.get("in") != "query" or parameter.get("name") in ("cursor", "page_size") or (
                schema.get("type") == "array"):
            continue
        if schema.get("type") in ("number", "integer"):
            schema.setdefault("maximum", FILTER_NUMBER_BOUND)
        if schema.get("type") != "string" or schema.get("enum") or schema.get("format"):
            parameter["schema"] = {"anyOf": [schema, {"type": "string", "enum": [""]}]}
            parameter["description"] = (parameter.get("description", "") + " (empty: no filter)").strip()


def add_error_responses(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook: the shared error answers and the no-NUL text rule."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components[ERROR_COMPONENT] = ERROR_SCHEMA
    for path, item in result.get("paths", {}).items():
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status, (description, scope) in ERROR_RESPONSES.items():
                applies = (scope == "all" or (scope == "body" and "requestBody" in operation)
                           or (scope == "action" and _is_action(path, method)))
                if applies:
                    existing = responses.get(str(status))
                    new = _error_response(description, status)
                    if existing is not None:  # keep a view's own words, give it the shared body and headers
                        new["description"] = existing.get("description") or description
                    responses[str(status)] = new
            _files_only_in_multipart(operation, components)
            _filter_parameters_as_read(operation)
            _forbid_nul(operation.get("parameters", []))
            _forbid_nul(operation.get("requestBody", {}))
    for name, schema in components.items():
        if name != ERROR_COMPONENT:
            _forbid_nul(schema)
    return result


class BlankChoicesMixin:
    """For ModelSerializers: a read-only text field whose model field may be blank keeps ``allow_blank``.

    DRF drops ``allow_blank`` from read-only fields, so the schema's enum of a blank choice field (a
    case's closure kind before it closes, an event's from-status on intake) left out the "" the
    answers hold. Kept, drf-spectacular documents the "" (as BlankEnum beside the field's own enum).
    """

    def include_extra_kwargs(self, kwargs, extra_kwargs):
        allow_blank = kwargs.get("allow_blank")
        kwargs = super().include_extra_kwargs(kwargs, extra_kwargs)
        if allow_blank and kwargs.get("read_only"):
            kwargs["allow_blank"] = True
        return kwargs
