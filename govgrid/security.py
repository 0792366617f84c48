"""Who is asking, and what a locked-out login gets back (django-axes hooks, settings ``AXES_*``)."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, unless a proxy header is configured (CLIENT_IP_HEADER).

    A client can send any X-Forwarded-For it likes; each proxy appends the address it saw. So with
    PROXY_COUNT proxies of our own in front, the client is the PROXY_COUNT-th entry from the right,
    and everything left of it is the client's say-so. Without a configured header, none is trusted:
    otherwise anyone could lock out any named user by sending made-up addresses.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    header = settings.CLIENT_IP_HEADER
    if not header:
        return remote
    hops = [hop for hop in request.META.get(header, "").split(",") if hop.strip()]
    if len(hops) < settings.PROXY_COUNT:
        return remote  # not through our proxies (a health check, a direct call on the private network)
    return _valid_ip(hops[-settings.PROXY_COUNT]) or remote


def lockout_response(request: HttpRequest, original_response: HttpResponse | None = None,
                     credentials: dict | None = None) -> HttpResponse:
    """429, in the user's language: the login page again with the reason on it, JSON for the API."""
    from govgrid.views import error_response

    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    message = _("Too many failed attempts. Try again in %(minutes)d minutes.") % {"minutes": minutes}
    retry_after = int(settings.AXES_COOLOFF_TIME.total_seconds())
    if request.path == reverse("login"):
        # Unbound, so that showing the form does not try the password once more.
        form = AuthenticationForm(request, initial={"username": request.POST.get("username", "")})
        form.cleaned_data = {}
        form.errors  # noqa: B018  (an unbound form's errors: empty, ready for ours)
        form.add_error(None, message)
        response = render(request, "registration/login.html",
                          {"form": form, "next": request.POST.get("next", "")}, status=429)
        response["Retry-After"] = str(retry_after)
        return response
    return error_response(request, 429, code="locked_out", title=_("Too many attempts"), message=message,
                          retry_after=retry_after)
