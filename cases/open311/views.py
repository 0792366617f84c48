"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) at /open311/v2/.

Services are the active leaf categories open to citizens; a service request is a citizen-channel
case, its id the case number people quote (``20261123-000042``). POST files an appeal through
cases.actions.appeals (the pipeline's intake) with a client application's api_key, counted against
that application's rate limit in Redis. Every case is created at once, so POST answers the
service_request_id; each request still gets a token, which ``tokens/{token}`` answers.

Errors are ``errors/error`` with ``code`` (the HTTP status) and ``description``: 400 a missing or bad
parameter, 403 a missing or bad api_key, 404 an unknown service, request or token, 429 over the rate
limit.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from cases.actions.appeals import file_appeal
from cases.choices import ACTIVE_DISPATCH_STATUSES, OPEN_STATUSES, Channel, DispatchRole, Status
from cases.models import Case, Category, Dispatch
from cases.open311.models import ApiKey, Appeal, hash_secret
from cases.open311.places import standard_address
from cases.open311.ratelimit import over_limit
from cases.open311.render import error, respond
from cases.pipeline import CITIZEN_CHANNELS
from govgrid import clock
from govgrid.errors import ActionError
from parties.models import Building

MAX_DAYS = 90
MAX_REQUESTS = 1000
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-03T00:00:00+08:00"
DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")
NUMBER = re.compile(r"^(\d{8})-(\d+)$")
ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")


class Refusal(Exception):
    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status, self.description = status, description


def endpoint(*methods: str):
    """The endpoint's methods; its refusals (and the actions') as Open311 errors in its format."""

    def wrap(view):
        @functools.wraps(view)
        def inner(request: HttpRequest, fmt: str, **kwargs) -> HttpResponse:
            if request.method not in methods:
                response = error(fmt, 405, _("Method not allowed."))
                response["Allow"] = ", ".join(methods)
                return response
            try:
                return view(request, fmt, **kwargs)
            except Refusal as refusal:
                return error(fmt, refusal.status, refusal.description)
            except ActionError as refusal:
                status = refusal.status_code if refusal.status_code in (403, 404) else 400
                prefix = f"{refusal.field}: " if refusal.field and refusal.field not in refusal.message else ""
                return error(fmt, status, prefix + refusal.message)

        return csrf_exempt(inner)

    return wrap


def _iso(moment: datetime | None) -> str | None:
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else None


# --- discovery and services -----------------------------------------------------------------------


@endpoint("GET")
def discovery(request, fmt):
    base = request.build_absolute_uri(reverse("open311:root"))
    return respond(fmt, "discovery", {
        "changeset": CHANGESET,
        "contact": getattr(settings, "OPEN311_CONTACT", "") or _("The city's grid management centre."),
        "key_service": _("Ask the centre's administrator for an API key (one per client application)."),
        "endpoints": [{
            "specification": SPECIFICATION, "url": base, "changeset": CHANGESET, "type": "production",
            "formats": ["text/xml", "application/json"],
        }],
    })


def _services():
    return Category.objects.filter(parent__isnull=False, parent__is_active=True, is_active=True,
                                   citizen_allowed=True).select_related("parent")


def _attributes(category: Category) -> list[dict]:
    return sorted((a for a in category.open311_attributes or [] if isinstance(a, dict)),
                  key=lambda a: (a.get("order") or 0, a.get("code", "")))


def _service_row(category: Category) -> dict:
    return {
        "service_code": category.code, "service_name": category.display_name,
        "description": category.acceptance_criteria, "metadata": bool(category.open311_attributes),
        "type": "realtime", "keywords": ",".join(filter(None, (category.name, category.name_en))),
        "group": category.parent.display_name,
    }


@endpoint("GET")
def services(request, fmt):
    return respond(fmt, "services", [_service_row(c) for c in _services()])


def _service(code: str) -> Category:
    category = _services().filter(code=code).first()
    if category is None:
        raise Refusal(404, _("Unknown service_code: %(code)s.") % {"code": code})
    return category


@endpoint("GET")
def service_definition(request, fmt, service_code):
    category = _service(service_code)
    attributes = [{
        "variable": bool(a.get("variable", True)), "code": a.get("code", ""), "datatype": a.get("datatype", "string"),
        "required": bool(a.get("required", False)), "datatype_description": a.get("datatype_description", ""),
        "order": a.get("order") or index, "description": a.get("description", ""),
        "values": [{"key": v.get("key", ""), "name": v.get("name", "")} for v in a.get("values") or []],
    } for index, a in enumerate(_attributes(category), start=1)]
    return respond(fmt, "service_definition", {"service_code": category.code, "attributes": attributes})


# --- attributes of a POST ---------------------------------------------------------------------------


def posted_attributes(request: HttpRequest) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for key in request.POST:
        match = ATTRIBUTE.match(key)
        if match:
            found.setdefault(match.group(1), []).extend(request.POST.getlist(key))
    return found


def check_attributes(category: Category, posted: dict[str, list[str]]) -> dict:
    """The attributes a client sent, checked against the service definition: known codes, required
    ones present, list values among the keys, numbers and datetimes parseable."""
    defined = {a.get("code"): a for a in _attributes(category) if a.get("variable", True)}
    for code in posted:
        if code not in defined:
            raise Refusal(400, _("attribute[%(code)s] is not an attribute of service %(service)s.")
                          % {"code": code, "service": category.code})
    result: dict = {}
    for code, spec in defined.items():
        values = [v.strip() for v in posted.get(code, []) if v.strip()]
        if not values:
            if spec.get("required"):
                raise Refusal(400, _("attribute[%(code)s] is required.") % {"code": code})
            continue
        datatype = spec.get("datatype", "string")
        keys = {str(v.get("key")) for v in spec.get("values") or []}
        if datatype == "multivaluelist":
            bad = [v for v in values if v not in keys]
            if bad:
                raise Refusal(400, _("attribute[%(code)s]: %(value)s is not one of its values.")
                              % {"code": code, "value": ", ".join(bad)})
            result[code] = values
            continue
        if len(values) > 1:
            raise Refusal(400, _("attribute[%(code)s] takes one value.") % {"code": code})
        value = values[0]
        if datatype == "singlevaluelist" and value not in keys:
            raise Refusal(400, _("attribute[%(code)s]: %(value)s is not one of its values.")
                          % {"code": code, "value": value})
        if datatype == "number":
            try:
                float(value)
            except ValueError:
                raise Refusal(400, _("attribute[%(code)s] must be a number.") % {"code": code}) from None
        if datatype == "datetime" and _parse_moment(value) is None:
            raise Refusal(400, _("attribute[%(code)s] must be an ISO 8601 date and time.") % {"code": code})
        if len(value) > 4000:
            raise Refusal(400, _("attribute[%(code)s] is too long.") % {"code": code})
        result[code] = value
    return result


# --- requests -----------------------------------------------------------------------------------


def _parse_moment(value: str) -> datetime | None:
    try:
        moment = parse_datetime(value.strip().replace(" ", "+")) if value else None
    except ValueError:
        return None
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _requests_queryset():
    return (
        # Citizens' cases in categories open to citizens: a hotline call about a key person (an internal
        # category) is not published.
        Case.objects.filter(channel__in=CITIZEN_CHANNELS, category__citizen_allowed=True)
        .select_related("category", "centre", "appeal")
        .prefetch_related(Prefetch("dispatches", queryset=Dispatch.objects.select_related("department")))
    )


def lead_dispatch(case: Case) -> Dispatch | None:
    leads = [d for d in case.dispatches.all() if d.role == DispatchRole.LEAD]
    live = [d for d in leads if d.status in ACTIVE_DISPATCH_STATUSES]
    return (live or sorted(leads, key=lambda d: d.dispatched_at, reverse=True) or [None])[0]


def status_notes(case: Case, lead: Dispatch | None) -> str:
    """What the citizen is told of the handling: the last words of the case's public steps."""
    if case.status in (Status.CLOSED, Status.HANDLED, Status.VERIFIED) and lead is not None and lead.feedback:
        return lead.feedback
    event = case.events.filter(action__in=("reject", "merge", "answer", "close")).exclude(note="").last()
    if event is not None:
        return event.note
    return str(Status(case.status).label)


def service_notice(case: Case) -> str:
    category = case.category
    return _("Handled within %(limit)s %(unit)s after dispatch.") % {
        "limit": f"{category.time_limit.normalize():f}" if category.time_limit else "",
        "unit": category.get_time_unit_display(),
    }


def request_row(case: Case) -> dict:
    appeal = getattr(case, "appeal", None)
    lead = lead_dispatch(case)
    return {
        "service_request_id": case.number,
        "status": "open" if case.status in OPEN_STATUSES else "closed",
        "status_notes": status_notes(case, lead),
        "service_name": case.category.display_name,
        "service_code": case.category.code,
        "description": case.description,
        "agency_responsible": lead.department.name if lead else case.centre.name,
        "service_notice": service_notice(case),
        "requested_datetime": _iso(case.reported_at),
        "updated_datetime": _iso(case.updated_at),
        "expected_datetime": _iso(case.handle_due_at or case.due_at),
        "address": case.address,
        "address_id": appeal.address_id if appeal else "",
        "zipcode": "",
        "lat": case.location.y,
        "long": case.location.x,
        "media_url": appeal.media_url if appeal else "",
    }


def _case_by_number(number: str) -> Case | None:
    match = NUMBER.match(number.strip())
    if not match:
        return None
    case = _requests_queryset().filter(pk=int(match.group(2))).first()
    return case if case is not None and case.number == number.strip() else None


@endpoint("GET", "POST")
def requests(request, fmt):
    if request.method == "POST":
        return post_request(request, fmt)
    return list_requests(request, fmt)


def _int(name: str, value: str | None, default: int, low: int, high: int) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError:
        raise Refusal(400, _("%(name)s must be a whole number.") % {"name": name}) from None
    if not low <= number <= high:
        raise Refusal(400, _("%(name)s must be between %(low)d and %(high)d.")
                      % {"name": name, "low": low, "high": high})
    return number


def list_requests(request, fmt):
    params = request.GET
    page_size = _int("page_size", params.get("page_size"), MAX_REQUESTS, 1, MAX_REQUESTS)
    page = _int("page", params.get("page"), 1, 1, 10**6)
    cases = _requests_queryset()
    ids = [i.strip() for i in (params.get("service_request_id") or "").split(",") if i.strip()]
    if ids:  # overrides every other filter
        pks = []
        for number in ids:
            match = NUMBER.match(number)
            if not match:
                raise Refusal(400, _("service_request_id %(id)s is not a request id.") % {"id": number})
            pks.append(int(match.group(2)))
        found = [c for c in cases.filter(pk__in=pks) if c.number in ids]
        found.sort(key=lambda c: ids.index(c.number))
        return respond(fmt, "service_requests", [request_row(c) for c in found])
    start, end = (_parse_moment(params.get(n, "")) for n in ("start_date", "end_date"))
    for name, value, parsed in (("start_date", params.get("start_date"), start),
                                ("end_date", params.get("end_date"), end)):
        if value and parsed is None:
            raise Refusal(400, _("%(name)s must be an ISO 8601 date and time.") % {"name": name})
    end = end or (start + timedelta(days=MAX_DAYS) if start else clock.now())
    start = start or end - timedelta(days=MAX_DAYS)
    if start > end:
        raise Refusal(400, _("start_date must be before end_date."))
    if end - start > timedelta(days=MAX_DAYS):
        raise Refusal(400, _("start_date and end_date may be at most %(days)d days apart.") % {"days": MAX_DAYS})
    cases = cases.filter(reported_at__gte=start, reported_at__lte=end)
    if params.get("service_code"):
        codes = [c.strip() for c in params["service_code"].split(",") if c.strip()]
        cases = cases.filter(category__code__in=codes)
    if params.get("status"):
        wanted = {s.strip() for s in params["status"].split(",") if s.strip()}
        if not wanted <= {"open", "closed"}:
            raise Refusal(400, _("status must be open or closed."))
        if wanted == {"open"}:
            cases = cases.filter(status__in=OPEN_STATUSES)
        elif wanted == {"closed"}:
            cases = cases.exclude(status__in=OPEN_STATUSES)
    cases = cases.order_by("-reported_at", "-id")[(page - 1) * page_size:page * page_size]
    return respond(fmt, "service_requests", [request_row(c) for c in cases])


def _api_key(request) -> ApiKey:
    key = (request.POST.get("api_key") or "").strip()
    found = ApiKey.objects.filter(key_hash=hash_secret(key), is_active=True).first() if key else None
    if found is None:
        raise Refusal(403, _("api_key is missing or not valid."))
    return found


def _float(name: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise Refusal(400, _("%(name)s must be a number.") % {"name": name}) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise Refusal(400, _("%(name)s must be a number.") % {"name": name})
    return number


def resolve_address(text: str) -> Building:
    """A standard address (一标, parties) by its full text; anything else is refused."""
    if not text.strip():
        raise Refusal(400, _("address_string is empty."))
    building = standard_address(text)
    if building is None:
        raise Refusal(400, _("address_string is not a standard address of this city; send lat and long instead."))
    return building


def post_request(request, fmt):
    api_key = _api_key(request)
    if over_limit(f"open311:{api_key.key_hash[:16]}", api_key.rate_limit, 60):
        response = error(fmt, 429, _("Over this api_key's rate limit of %(n)d requests a minute; try again later.")
                         % {"n": api_key.rate_limit})
        response["Retry-After"] = "60"
        return response
    data = request.POST
    code = (data.get("service_code") or "").strip()
    if not code:
        raise Refusal(400, _("service_code is required."))
    category = _service(code)
    attributes = check_attributes(category, posted_attributes(request))
    lat, lon, building = data.get("lat", "").strip(), data.get("long", "").strip(), None
    if lat or lon:
        if not (lat and lon):
            raise Refusal(400, _("lat and long go together."))
        lat, lon = _float("lat", lat), _float("long", lon)
    elif data.get("address_id", "").strip():
        address_id = data["address_id"].strip()
        building = Building.objects.filter(pk=int(address_id)).first() if address_id.isdigit() else None
        if building is None:
            raise Refusal(400, _("address_id %(id)s is not a known address.") % {"id": address_id})
    elif data.get("address_string", "").strip():
        building = resolve_address(data["address_string"])
    else:
        raise Refusal(400, _("A location is required: lat and long, address_string or address_id."))
    description = (data.get("description") or "").strip()
    if len(description) > 4000:
        raise Refusal(400, _("description may be at most 4000 characters."))
    appeal, _secret = file_appeal(
        channel=Channel.OPEN311, category=category, description=description or category.name,
        lon=None if building else lon, lat=None if building else lat, building=building,
        address=(data.get("address_string") or "").strip(), api_key=api_key,
        first_name=data.get("first_name", "").strip(), last_name=data.get("last_name", "").strip(),
        phone=data.get("phone", ""), email=data.get("email", ""), device_id=data.get("device_id", "").strip(),
        account_id=data.get("account_id", "").strip(), media_url=data.get("media_url", "").strip(),
        attributes=attributes,
    )
    return respond(fmt, "service_requests", [{
        "service_request_id": appeal.case.number, "service_notice": service_notice(appeal.case),
        "account_id": appeal.account_id or None,
    }])  # 200, as GeoReport v2's examples and its client libraries expect


@endpoint("GET")
def request_detail(request, fmt, service_request_id):
    case = _case_by_number(service_request_id)
    if case is None:
        raise Refusal(404, _("Unknown service_request_id: %(id)s.") % {"id": service_request_id})
    return respond(fmt, "service_requests", [request_row(case)])


@endpoint("GET")
def token(request, fmt, token):
    appeal = Appeal.objects.select_related("case").filter(token=token).first()
    if appeal is None:
        raise Refusal(404, _("Unknown token: %(token)s.") % {"token": token})
    return respond(fmt, "service_requests", [{
        "service_request_id": appeal.case.number if appeal.case_id else None, "token": appeal.token,
    }])


def unknown(request, fmt):
    return error(fmt, 404, _("No such Open311 endpoint."))


def root(request):
    return discovery(request, "json")
