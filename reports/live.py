"""The live command screen 实时指挥屏 and its event stream (server-sent events).

The page (``/command/live/``) is an ordinary Django page on the web process: the figures, the feed of
the latest events and the map as they are now, and the id of the newest event. The browser then opens
an EventSource on ``/live/stream/`` from that id. The stream is served by the ``live`` process (uvicorn
on govgrid.asgi), never by a gunicorn sync worker: a screen holds its connection for hours, and an
async view waiting on Redis costs a coroutine, not a worker.

Scope: the screen watches one area the user may see (``report_area``, like the big screen: officials,
centre staff, admins; else 404/403), and the stream sends only events whose area path lies inside it
(cases.access.live_paths_for). Reconnects resume from the browser's Last-Event-ID (a Redis stream id).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import datetime, time
from urllib.parse import urlencode, urlsplit

import redis
import redis.asyncio
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import close_old_connections, connection
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET

from cases.access import cases_for, live_paths_for
from cases.choices import OPEN_STATUSES, Action, Light, Status
from cases.emergency import ancestor_paths
from cases.models import Case, Category
from govgrid import live
from govgrid.errors import NotFound
from grids.models import Area
from reports import dashboard as board
from reports.views import reports_page

log = logging.getLogger("govgrid.live")

MAP_CASES = 500  # the newest open cases drawn when the page opens; new ones are added as they come
FEED_SIZE = 30
STANDING = 20  # activations and sweep tasks shown when the page opens (the newest; more come by the stream)
PING_SECONDS = 15  # a comment line this often keeps proxies from closing a quiet stream and finds gone clients
READ_COUNT = 200


# --- the page ------------------------------------------------------------------------------------


COUNTERS_SECONDS = 20  # every screen of an area shares one count for this long


def counters(area: Area) -> dict[str, int]:
    """Reported today, open, and open under a yellow or red light, under ``area``.

    One query, but over the area's open cases (a city's: 1.5 s on the bench's million open cases), so
    it is kept in the cache for a few seconds: a hundred wall screens of the city cost one count.
    """
    key = f"live:counters:{area.pk}:{board.today().isoformat()}"
    try:
        cached = cache.get(key)
    except Exception:  # the cache (Redis) is away: count anyway
        cached = None
    if cached is not None:
        return cached
    figures = count(area)
    with contextlib.suppress(Exception):
        cache.set(key, figures, COUNTERS_SECONDS)
    return figures


def count(area: Area) -> dict[str, int]:
    start = timezone.make_aware(datetime.combine(board.today(), time.min))
    under = Q(area_path__startswith=area.path)
    open_ = Q(status__in=OPEN_STATUSES)
    figures = (Case.objects.filter(under & (open_ | Q(reported_at__gte=start)))
               .aggregate(new_today=Count("pk", filter=Q(reported_at__gte=start)),
                          open=Count("pk", filter=open_),
                          red=Count("pk", filter=open_ & Q(light=Light.RED)),
                          yellow=Count("pk", filter=open_ & Q(light=Light.YELLOW))))
    return {key: value or 0 for key, value in figures.items()}


def map_cases(user, area: Area) -> list[dict]:
    """The newest open cases under the area, as the stream describes them (id, light, place)."""
    rows = (cases_for(user).filter(area_path__startswith=area.path, status__in=OPEN_STATUSES)
            .order_by("-reported_at")
            .values_list("pk", "reported_at", "status", "light", "category_id", "location")[:MAP_CASES])
    return [{"id": pk, "number": f"{reported:%Y%m%d}-{pk:06d}", "status": status, "light": light,
             "category": category, "lon": round(point.x, 6), "lat": round(point.y, 6)}
            for pk, reported, status, light, category, point in rows]


def standing(user, area: Area) -> list[dict]:
    """What is in force when the screen opens, as the stream describes it: the activations over or
    under the area, its open sweep tasks with their figures for the area, and the patrols under way at
    their latest positions (the stream then moves them)."""
    from cases import access
    from cases import live as cases_live
    from cases.patrol_selectors import patrolling_now
    from cases.patrols import PatrolPoint
    from cases.sweep_progress import live_figures
    from cases.sweeps import SweepStatus
    from govgrid import clock

    at = clock.now()
    events = [{"kind": "activation", **cases_live.activation_data(a, state="on")}
              for a in access.activations_for(user).active(at).intersecting([area.path])
              .select_related("area").order_by("level", "-starts_at")[:STANDING]]
    tasks = access.sweep_tasks_for(user).filter(status=SweepStatus.OPEN).filter(
        Q(area_path__startswith=area.path) | Q(area_path__in=ancestor_paths(area.path))).order_by("-pk")
    events += [{"kind": "sweep_progress", **live_figures(task, under=area.path)} for task in tasks[:STANDING]]
    patrols = list(patrolling_now(user).filter(area_path__startswith=area.path)[:MAP_CASES])
    latest = {p.patrol_id: p.point for p in PatrolPoint.objects.filter(patrol__in=patrols)
              .order_by("patrol_id", "-recorded_at").distinct("patrol_id").only("patrol_id", "point")}
    events += [{"kind": "patrol", **cases_live.patrol_data(p, state="moved", point=latest.get(p.pk))}
               for p in patrols]
    return events


def _labels() -> dict:
    categories = Category.objects.filter(parent__isnull=False).only("pk", "name", "name_en")
    return {
        "status": {value: str(label) for value, label in Status.choices},
        "action": {value: str(label) for value, label in Action.choices},
        "light": {value: str(label) for value, label in Light.choices},
        "category": {str(c.pk): c.display_name for c in categories},
    }


def _words() -> dict:
    """The screen's sentences (static/js/live.js fills in the %(name)s parts)."""
    return {
        "state_connecting": pgettext("live screen", "Connecting…"),
        "state_live": pgettext("live screen", "Live"),
        "state_reconnecting": pgettext("live screen", "Reconnecting…"),
        "case_new": pgettext("live screen", "New case: %(category)s"),
        "case_status": pgettext("live screen", "%(category)s %(action)s → %(status)s"),
        "light": pgettext("live screen", "%(category)s: light %(light)s"),
        "activation": pgettext("live screen", "Emergency mode level %(level)s: %(place)s"),
        "activation_off": pgettext("live screen", "Emergency mode off: %(place)s"),
        "sweep": pgettext("live screen", "Sweep task %(title)s: %(done)s of %(total)s done"),
        "sweep_figure": pgettext("live screen", "%(done)s/%(total)s · %(late)s late"),
        "patrol": pgettext("live screen", "Patrol under way in %(place)s"),
        "patrol_stopped": pgettext("live screen", "Patrol ended in %(place)s"),
    }


def stream_url(request: HttpRequest) -> str:
    """Where the browser opens the stream: LIVE_STREAM_URL, or that path on LIVE_STREAM_PORT of the host
    the page came from (so the session cookie goes along whether the page was opened as localhost or
    127.0.0.1)."""
    if not settings.LIVE_STREAM_PORT:
        return settings.LIVE_STREAM_URL
    host = request.get_host().rsplit(":", 1)[0] if not request.get_host().endswith("]") else request.get_host()
    return f"{request.scheme}://{host}:{settings.LIVE_STREAM_PORT}{urlsplit(settings.LIVE_STREAM_URL).path}"


def origin_of(url: str) -> str:
    """The stream's origin when it is not this site's (``make run``: the live process's own port)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def _paths(user, area: Area) -> tuple[str, ...]:
    try:
        return live_paths_for(user, area)
    except NotFound as exc:
        raise Http404(exc.message) from None


@reports_page
@require_GET
def screen(request: HttpRequest) -> HttpResponse:
    area = board.report_area(request.user, request.GET.get("area") or None)
    paths = _paths(request.user, area)
    # The newest event before the figures are counted: what comes after it is sent on the stream (a case
    # counted and sent both is put right by the next refresh of the figures).
    after = live.last_id()
    url = stream_url(request)
    context = {
        "area": area, "counters": counters(area),
        "breadcrumb": [{"code": a.code, "name": a.name, "url": f"{reverse('live_screen')}?area={a.code}"}
                       for a in board.breadcrumb(request.user, area)],
        "stream_url": f"{url}?{urlencode({'area': area.code, 'after': after})}",
        "counters_url": f"{reverse('live_counters')}?area={area.code}",
        "map_url": f"{reverse('reports:map_json')}?{urlencode({'area': area.code, 'range': 'today'})}",
        "live_data": {"cases": map_cases(request.user, area), "recent": live.recent(paths, FEED_SIZE),
                      "standing": standing(request.user, area),
                      "labels": _labels(), "words": _words()},
    }
    response = render(request, "reports/live.html", context)
    if origin_of(url):
        response._csp_update = {"connect-src": [origin_of(url)]}
    return response


@reports_page
@require_GET
def screen_counters(request: HttpRequest) -> JsonResponse:
    """The figures again: after a status change the screen cannot count itself (was it red?), and
    after a gap longer than the stream keeps."""
    area = board.report_area(request.user, request.GET.get("area") or None)
    _paths(request.user, area)
    return JsonResponse(counters(area))


# --- the stream ----------------------------------------------------------------------------------


def _watch(user, code: str | None) -> tuple[str, ...]:
    """The paths this client may get events of; in the stream's thread, which then lets its database
    connection go (a screen keeps its stream for minutes and must not keep a connection with it)."""
    try:
        if not board.may_see_reports(user):
            raise PermissionDenied
        return _paths(user, board.report_area(user, code or None))
    finally:
        connection.close()


def _cors(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    origin = request.headers.get("Origin", "")
    if origin and origin in settings.LIVE_ALLOWED_ORIGINS:
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Credentials"] = "true"
        patch_vary_headers(response, ("Origin",))
    return response


def _text(request: HttpRequest, status: int, message: str) -> HttpResponse:
    return _cors(request, HttpResponse(message, status=status, content_type="text/plain; charset=utf-8"))


async def stream(request: HttpRequest) -> HttpResponse:
    """``GET /live/stream/?area=<code>&after=<event id>``: the events under the area, as they come."""
    if request.method == "OPTIONS":  # a preflight for the Last-Event-ID header, from the web origin
        response = _text(request, 204, "")
        response["Access-Control-Allow-Methods"] = "GET"
        response["Access-Control-Allow-Headers"] = "Last-Event-ID"
        response["Access-Control-Max-Age"] = "3600"
        return response
    if request.method != "GET":
        return _text(request, 405, "GET only.")
    user = await request.auser()
    if not user.is_authenticated:
        await sync_to_async(close_old_connections)()
        return _text(request, 403, "Log in first.")
    try:
        paths = await sync_to_async(_watch)(user, request.GET.get("area"))
    except PermissionDenied:
        return _text(request, 403, "Not for your role.")
    except Http404:
        return _text(request, 404, "No such area.")
    after = live.valid_id(request.headers.get("Last-Event-ID")) or live.valid_id(request.GET.get("after"))
    response = StreamingHttpResponse(events(paths, after), content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache, no-transform"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on as it comes
    return _cors(request, response)


def sse(event: dict) -> str:
    data = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    return f"id: {event['event_id']}\ndata: {data}\n\n"


async def events(paths: tuple[str, ...], after: str | None, *, seconds: float | None = None):
    """The SSE body: events after ``after`` (from now when None), for ``seconds``, then the end (the
    browser comes back at once with its Last-Event-ID)."""
    # The read timeout outlasts the longest XREAD BLOCK (redis-py's default would cut it short).
    client = redis.asyncio.Redis.from_url(settings.LIVE_REDIS_URL, socket_connect_timeout=2,
                                          socket_timeout=PING_SECONDS + 10)
    key = live.stream_key()
    loop = asyncio.get_running_loop()
    until = loop.time() + (seconds or settings.LIVE_STREAM_SECONDS)
    yield "retry: 3000\n\n"
    try:
        if after is None:
            newest = await client.xrevrange(key, count=1)
            after = live._text(newest[0][0]) if newest else "0-0"
        elif after != "0-0":
            oldest = await client.xrange(key, count=1)
            if oldest and live.older(after, live._text(oldest[0][0])):
                # Events after ``after`` may have been trimmed away: the screen reloads its figures.
                yield f"event: resync\ndata: {{}}\nid: {after}\n\n"
        while loop.time() < until:
            block = int(max(0.1, min(PING_SECONDS, until - loop.time())) * 1000)
            found = await client.xread({key: after}, count=READ_COUNT, block=block)
            if not found:
                yield ": ping\n\n"
                continue
            for entry_id, fields in found[0][1]:
                after = live._text(entry_id)
                event = live.decode(entry_id, fields)
                if event is not None and live.inside(event["path"], paths):
                    yield sse(event)
    except redis.RedisError as exc:
        # The browser retries in 3 s from its last id; meanwhile the screen says "reconnecting".
        log.warning("live stream: %s: %s", type(exc).__name__, exc)
    finally:
        await client.aclose()

