"""The grid worker's phone without a network: what the pages give the offline queue.

A report, a visit or an on-site verification made without a network is kept on the phone (IndexedDB,
static/js/offline.js) with its photos and sent by itself when the network returns. Each carries the
``client_uuid`` made when the worker tapped send; the actions answer a resend with the first result
(cases.actions.report_case, cases.actions.verify_case, parties.actions.record_visit), so a copy that
arrives twice acts once. The forms answer the queue in JSON (``Accept: application/json``):
``{"ok": true, "url": …}`` or ``{"ok": false, "errors": {field: [message, …]}}`` with the 4xx.

The service worker (/m/sw.js, scope /m/) keeps the last copy of each phone page and the scripts and
styles, so a page can be opened with no network; online it always asks the network first, so nothing
stale is shown while the server answers.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET

# Bumped when the service worker's caching changes in a way the static URLs inside it don't show.
SW_VERSION = "2"


def wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def form_errors(form) -> dict[str, list[str]]:
    """A form's refusals for a JSON answer: by field name, "form" for those about the whole form."""
    return {("form" if name == "__all__" else name): [str(e) for e in errors] for name, errors in form.errors.items()}


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker script. Served by Django (not from /static/) so that its scope covers /m/, and
    never cached by HTTP, so that the browser's update check always sees the current one."""
    response = HttpResponse(render_to_string("offline/sw.js", {"version": SW_VERSION}),
                            content_type="application/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache, max-age=0"
    return response
