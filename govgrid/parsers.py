"""Request body parsers that hostile input cannot turn into a 500, a hang or a silent empty form.

DRF's stock parsers read a body of any size, let ``json`` recurse into ``"[" * 100000`` until Python's
stack runs out, hand lone surrogates and NUL characters on to fields that choke on them (PostgreSQL
refuses NUL in text; the JSON renderer cannot encode a lone surrogate), and read a multipart body cut
off before its closing boundary as whatever parts arrived — often none, which an action then takes as
"no ids given: all of them". These parsers refuse each of those with a 4xx and a sentence for a person
before any view code runs:

- a body larger than the endpoint's limit: 413 (``API_MAX_BODY_BYTES``; multipart uploads get
  ``API_MAX_UPLOAD_BYTES``; a view may narrow it per action, see ``body_limit``). DRF reads a JSON or
  form body whole before the parser runs, so for those Django's DATA_UPLOAD_MAX_MEMORY_SIZE (set to the
  same figure) refuses first, also with a 413 (govgrid.api.exception_handler);
- JSON nested deeper than ``MAX_JSON_DEPTH``, found by a linear scan, never by recursing;
- a JSON body that is not an object (every endpoint takes named fields);
- text (keys and values, JSON and form alike) holding NUL or an unpaired surrogate;
- a multipart body with no closing boundary.

``API_PARSERS`` is the list a view should name; ``SafeContentNegotiation`` (settings) also swaps the
stock parser classes for these, so a view that still lists DRF's own gets the same protection.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _
from rest_framework import parsers
from rest_framework.exceptions import APIException, ParseError, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.utils import json

MAX_JSON_DEPTH = 32

# NUL (PostgreSQL text cannot hold it) and UTF-16 surrogates (a str holds one only when it came unpaired
# from a "\ud800" escape: json joins a proper pair into one code point).
BAD_TEXT = re.compile("[\x00\ud800-\udfff]")

# One token of JSON that matters for depth: a string (skipped whole, so brackets inside it do not
# count; an unterminated one runs to the end rather than being retried at every later quote) or a
# bracket. Possessive quantifiers keep the scan linear whatever the input.
_DEPTH_TOKEN = re.compile(r'"(?:[^"\\]++|\\.)*+(?:"|\\?\Z)|[\[{]|[\]}]', re.DOTALL)


class BodyTooLarge(APIException):
    status_code = 413
    default_code = "too_large"

    def __init__(self, limit: int | None):
        if limit is None:
            super().__init__(_("The request body is too large."))
        else:
            super().__init__(_("The request body is too large: at most %(size)s.") % {"size": _size(limit)})


class BadMultipart(ParseError):
    default_detail = _("The multipart form is malformed or cut off before its closing boundary; nothing was saved.")
    default_code = "malformed_multipart"


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"


def body_limit(parser_context: dict | None, *, upload: bool = False) -> int:
    """The largest body this request may send, in bytes.

    A view may set ``body_limits = {"<action>": bytes}`` for particular actions, and
    ``upload_actions = {...}`` to name the actions that take files: multipart bodies to its other
    actions then get the ordinary limit. Without ``upload_actions`` every multipart body may be as large
    as an upload.
    """
    view = (parser_context or {}).get("view")
    action = getattr(view, "action", None)
    limits = getattr(view, "body_limits", None) or {}
    if action in limits:
        return limits[action]
    upload_actions = getattr(view, "upload_actions", None)
    if upload and (upload_actions is None or action in upload_actions):
        return settings.API_MAX_UPLOAD_BYTES
    return settings.API_MAX_BODY_BYTES


def _declared_length(parser_context: dict | None) -> int | None:
    request = (parser_context or {}).get("request")
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else None
    except (TypeError, ValueError):
        return None


def _refuse_declared(parser_context: dict | None, limit: int) -> None:
    """Refuse a body whose Content-Length is already over the limit, before reading a byte of it."""
    declared = _declared_length(parser_context)
    if declared is not None and declared > limit:
        raise BodyTooLarge(limit)


def _read_limited(stream, limit: int, parser_context: dict | None) -> bytes:
    _refuse_declared(parser_context, limit)
    body = stream.read(limit + 1)
    if len(body) > limit:
        raise BodyTooLarge(limit)
    return body


def text_problem(value: str) -> str | None:
    """What is wrong with a piece of text from a request, as a sentence, or None."""
    bad = BAD_TEXT.search(value)
    if bad is None:
        return None
    if bad.group() == "\x00":
        return str(_("Text may not contain the NUL character (\\u0000)."))
    return str(_("Text may not contain an unpaired surrogate (\\ud800–\\udfff); send valid Unicode."))


def check_text(data: Any) -> None:
    """Refuse NUL and unpaired surrogates anywhere in parsed data, keys included; iterative, not recursive."""
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        field, value = stack.pop()
        if isinstance(value, str):
            problem = text_problem(value)
            if problem:
                raise ValidationError({field or "non_field_errors": [problem]})
        elif isinstance(value, dict):
            for key, item in value.items():
                name = field or str(key)
                problem = text_problem(str(key))
                if problem:
                    raise ValidationError({"non_field_errors": [problem]})
                stack.append((name, item))
        elif isinstance(value, list | tuple):
            stack.extend((field, item) for item in value)


def json_too_deep(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    if text.count("[") + text.count("{") <= limit:
        return False  # cannot nest deeper than its number of brackets
    depth = 0
    for token in _DEPTH_TOKEN.finditer(text):
        char = token.group()[0]
        if char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


class SafeJSONParser(parsers.JSONParser):
    """JSON with a size limit, a depth limit, an object at the top and clean text."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        body = _read_limited(stream, body_limit(parser_context), parser_context)
        try:
            text = body.decode(encoding)
        except UnicodeDecodeError:
            raise ParseError(_("The body is not valid %(encoding)s text.") % {"encoding": encoding}) from None
        if json_too_deep(text):
            raise ParseError(_("The JSON is nested too deeply (at most %(depth)s levels).") % {"depth": MAX_JSON_DEPTH})
        try:
            data = json.loads(text, parse_constant=json.strict_constant if self.strict else None)
        except (ValueError, RecursionError) as exc:
            raise ParseError(_("The body is not valid JSON: %(error)s") % {"error": exc}) from None
        if not isinstance(data, dict):
            raise ParseError(_("The body must be a JSON object of named fields."))
        check_text(data)
        return data


class SafeFormParser(parsers.FormParser):
    """URL-encoded forms with the body size limit and clean text."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        data = QueryDict(_read_limited(stream, body_limit(parser_context), parser_context), encoding=encoding)
        check_text(dict(data.lists()))
        return data


class _GuardedStream:
    """Counts what Django's multipart parser reads: bytes, parts, and the closing boundary.

    Django's parser stops quietly at the end of the input whatever it held, and skips a part it cannot
    name (no headers, no field name), so this is the one place a cut-off or garbled body can be told
    from a complete one. The closing delimiter ``--<boundary>--`` must appear after a line break (or
    at the very start of an empty form).
    """

    def __init__(self, stream, limit: int, boundary: bytes):
        self.stream = stream
        self.limit = limit
        self.read_bytes = 0
        self.needles = {
            "delimiter": b"\n--" + boundary,  # every part's, and the closing one
            "closing": b"\n--" + boundary + b"--",
            # A file input left empty comes as a part with an empty filename, which Django rightly skips.
            "empty_file": b'filename=""',
            # An empty field as Werkzeug (Flask's and Schemathesis' test clients) writes it: the delimiter
            # right after the header block's blank line, no line break for the empty value. Django skips
            # the part; the field is simply absent, as an empty value would mostly be.
            "empty_value": b'"\r\n\r\n--' + boundary,
        }
        self.counts = dict.fromkeys(self.needles, 0)
        self._keep = max(len(needle) for needle in self.needles.values()) - 1
        self._tail = b"\r\n"  # as if a line break preceded the body

    @property
    def closed(self) -> bool:
        return self.counts["closing"] > 0

    @property
    def parts(self) -> int:
        """Parts that Django should have turned into a field or a file."""
        return (self.counts["delimiter"] - self.counts["closing"] - self.counts["empty_file"]
                - self.counts["empty_value"])

    def read(self, size: int = -1) -> bytes:
        chunk = self.stream.read(size) if size is not None and size >= 0 else self.stream.read()
        self.read_bytes += len(chunk)
        if self.read_bytes > self.limit:
            raise BodyTooLarge(self.limit)
        if chunk and not self.closed:
            window = self._tail + chunk
            for name, needle in self.needles.items():
                # What lies wholly in the tail was counted with the previous chunk.
                self.counts[name] += window.count(needle) - self._tail.count(needle)
            self._tail = window[-self._keep:]
        return chunk


class StrictMultiPartParser(parsers.MultiPartParser):
    """Multipart forms with the upload size limit, every part named, the closing boundary, clean text."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        limit = body_limit(parser_context, upload=True)
        _refuse_declared(parser_context, limit)
        boundary = _boundary(media_type)
        if not boundary:
            raise BadMultipart()
        guarded = _GuardedStream(stream, limit, boundary)
        try:
            result = super().parse(guarded, media_type, parser_context)
        except ParseError:  # DRF's wraps Django's MultiPartParserError in an English sentence
            raise BadMultipart() from None
        while not guarded.closed and guarded.read(64 * 1024):
            pass  # the parser normally reads to the end; make sure
        parsed = sum(len(values) for _, values in result.data.lists())
        parsed += sum(len(values) for _, values in result.files.lists())
        if not guarded.closed or parsed < guarded.parts:
            raise BadMultipart()
        check_text(dict(result.data.lists()))
        check_text([upload.name for upload in result.files.values()])
        return result


def _boundary(media_type: str | None) -> bytes | None:
    from django.utils.http import parse_header_parameters

    _, params = parse_header_parameters(media_type or "")
    boundary = params.get("boundary", "")
    try:
        encoded = boundary.encode("ascii")
    except UnicodeEncodeError:
        return None
    return encoded if 0 < len(encoded) <= 200 else None


API_PARSERS = [SafeJSONParser, StrictMultiPartParser, SafeFormParser]

_SAFE = {
    parsers.JSONParser: SafeJSONParser,
    parsers.FormParser: SafeFormParser,
    parsers.MultiPartParser: StrictMultiPartParser,
}


class SafeContentNegotiation(DefaultContentNegotiation):
    """Picks the parser as DRF does, then swaps a stock JSON, form or multipart parser for its safe twin."""

    def select_parser(self, request, parsers_):
        parser = super().select_parser(request, parsers_)
        safe = _SAFE.get(type(parser))
        return safe() if safe is not None else parser
