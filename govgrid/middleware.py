"""Chinese first: pages speak Chinese unless the user chose English with the language switch.

A browser's Accept-Language says what its owner's operating system was set up with, which in a
government office is often English; the pages of a Chinese city's system should not follow it. The
API still honours Accept-Language, so an integrating client can ask for English error messages.
"""

from __future__ import annotations

from django.conf import settings


class ChineseFirstMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(("/api/", "/open311/")) and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
            request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)


def _outage_errors() -> tuple[type[BaseException], ...]:
    import kombu.exceptions
    import redis
    from django.db import InterfaceError, OperationalError

    # OperationalError also covers a statement timeout, a deadlock and a serialisation failure: all of
    # them pass, so "try again" is the right answer to each.
    return (OperationalError, InterfaceError, redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
            kombu.exceptions.OperationalError)


OUTAGE_ERRORS = _outage_errors()


class OutageMiddleware:
    """The database or Redis is down: 503 with Retry-After (JSON on the API, a styled page elsewhere)
    instead of a 500, so the phone's offline queue retries and the person knows nothing was lost.

    A view's exception arrives here; one raised by a middleware (the session saved on the way out)
    reaches the 500 handler, which gives the same answer (govgrid.views.server_error).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OUTAGE_ERRORS):
            return None
        import logging

        from govgrid.views import service_unavailable

        logging.getLogger("govgrid.outage").warning(
            "503 for %s %s: %s: %s", request.method, request.path, type(exception).__name__, exception)
        return service_unavailable(request)


class StyledNotFoundMiddleware:
    """Under DEBUG (``make run``) Django answers a 404 with its technical page, in English, listing the
    URL patterns. People trying the demo should see the page they would see in production, so the
    styled one is shown unless ``DEBUG_TECHNICAL_404=1`` asks for Django's. Without DEBUG Django calls
    the 404 handler itself and this does nothing.

    A view's Http404 arrives in ``process_exception``; an address that matches no route never reaches
    a view (``request.resolver_match`` stays unset), so that 404 is replaced on the way out. Sits
    after CommonMiddleware, which still turns a 404 for ``/cases`` into the redirect to ``/cases/``.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    @staticmethod
    def active() -> bool:
        return settings.DEBUG and not getattr(settings, "DEBUG_TECHNICAL_404", False)

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 404 and request.resolver_match is None and self.active():
            from govgrid.views import page_not_found

            return page_not_found(request)
        return response

    def process_exception(self, request, exception):
        from django.http import Http404

        if not isinstance(exception, Http404) or not self.active():
            return None
        from govgrid.views import page_not_found

        return page_not_found(request, exception)


class TextCompressionMiddleware:
    """gzip for text answers (pages, htmx fragments, JSON, CSV) when the browser accepts it.

    Django's GZipMiddleware does the work; this only keeps it off answers that are compressed
    already (photos, PDFs, spreadsheets), where gzip costs CPU and drops the Content-Length.
    Static files never reach it: WhiteNoise, above, answers them with its precompressed copies.

    BREACH (compression beside a secret and reflected input): Django masks the CSRF token afresh
    in every response, and its GZipMiddleware pads each body with up to 100 random bytes ("Heal the
    Breach"); session ids travel only in cookies, which are never compressed.
    """

    TEXT_TYPES = ("text/", "application/json", "application/geo+json", "application/problem+json",
                  "application/javascript", "application/xml", "image/svg+xml", "application/manifest+json")

    def __init__(self, get_response):
        from django.middleware.gzip import GZipMiddleware

        self.get_response = get_response
        self.gzip = GZipMiddleware(get_response)

    def __call__(self, request):
        response = self.get_response(request)
        content_type = response.get("Content-Type", "").lower()
        # Not the live stream (text/event-stream): gzip would hold its events back in its buffer.
        if content_type.startswith(self.TEXT_TYPES) and not content_type.startswith("text/event-stream"):
            response = self.gzip.process_response(request, response)
        return response
