"""Project-level pages: the home redirect by role, login, and the error pages."""

from __future__ import annotations

import json
import logging
import sys

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from grids.choices import CENTRE_ROLES, GRID_ROLES, Role
from grids.scope import scope_for

API_PREFIXES = ("/api/", "/open311/")
csp_logger = logging.getLogger("govgrid.csp")


@login_required
def home(request):
    """Each role lands where its day starts."""
    scope = scope_for(request.user)
    if scope.is_admin or scope.roles & set(CENTRE_ROLES):
        return redirect("centre:inbox")
    if scope.roles & set(GRID_ROLES):
        return redirect("worker:home")
    if Role.DEPT_HANDLER in scope.roles:
        return redirect("department:inbox")
    if Role.OFFICIAL in scope.roles:
        return redirect("reports:dashboard")
    return redirect("cases:list")


class LoginView(auth_views.LoginView):
    """The login page. Failed attempts are counted and locked out by django-axes (settings ``AXES_*``),
    which guards every login that goes through ``authenticate()``, /admin/login/ included."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True


# Error pages: JSON for API clients (they never get HTML), a styled page in the user's language for
# people. Rendered without the request's context processors, which read the user and the database.

RETRY_AFTER_SECONDS = 10


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIXES)


def error_response(request: HttpRequest, status: int, *, code: str, title: str, message: str,
                   retry_after: int | None = None) -> HttpResponse:
    if is_api(request):
        response: HttpResponse = JsonResponse({"detail": message, "code": code}, status=status)
    else:
        home = reverse("home")
        response = HttpResponse(render_to_string("errors/error.html", {
            "status": status, "title": title, "message": message, "retry_after": retry_after,
            "back_url": home, "back_label": _("Back to the start page"),
        }), status=status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 400, code="bad_request", title=_("Bad request"),
                          message=_("The request could not be understood."))


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 403, code="forbidden", title=_("Not allowed"),
                          message=_("You may not open this page."))


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return error_response(request, 403, code="csrf_failed", title=_("Form expired"),
                          message=_("The form was too old or came from elsewhere. Go back, reload the page and "
                                    "send it again."))


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api(request):
        from govgrid.api import not_found_json  # the API's one 404 body, also used by its input guard

        return not_found_json()
    return error_response(request, 404, code="not_found", title=_("Not found"),
                          message=_("There is nothing at this address, or it is not yours to see."))


def service_unavailable(request: HttpRequest) -> HttpResponse:
    return error_response(request, 503, code="unavailable", title=_("Temporarily unavailable"),
                          message=_("The service is briefly unavailable. Nothing you sent was lost; "
                                    "please try again shortly."),
                          retry_after=RETRY_AFTER_SECONDS)


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls this inside its `except`: an outage that escaped the view (the session saved in a
    # middleware, say) is still a 503 the client may retry, not a 500.
    from govgrid.middleware import OUTAGE_ERRORS

    if isinstance(sys.exc_info()[1], OUTAGE_ERRORS):
        return service_unavailable(request)
    return error_response(request, 500, code="server_error", title=_("Something went wrong"),
                          message=_("The error has been logged. Please try again; if it keeps happening, "
                                    "tell your administrator."))


CSP_REPORT_MAX_BYTES = 16 * 1024


@csrf_exempt
@require_POST
def csp_report(request: HttpRequest) -> HttpResponse:
    """Browsers post here what the Content Security Policy blocked: logged, so a page that breaks the
    policy shows up in the logs (and fails the browser tests, tests/browser/conftest.py)."""
    body = request.body[:CSP_REPORT_MAX_BYTES]
    try:
        report = json.loads(body).get("csp-report", {})
    except (ValueError, AttributeError):
        return HttpResponse(status=400)
    if isinstance(report, dict):
        csp_logger.warning("CSP violation on %s: %s blocked %s", report.get("document-uri"),
                           report.get("violated-directive"), report.get("blocked-uri"))
    return HttpResponse(status=204)
