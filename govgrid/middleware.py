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
