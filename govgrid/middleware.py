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
