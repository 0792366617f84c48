"""Announcements to everyone in an area subtree: in-app always, e-mail and SMS when configured.

Emergency mode uses it on every activation change; sweep tasks (排查任务) use it for a new task::

    from cases.announcements import announce
    from django.utils.translation import gettext_lazy

    announce(
        area,                                   # an Area: its subtree is told
        key=f"sweep:{task.pk}",                 # unique per announcement: a retry or a second call sends nothing twice
        message=gettext_lazy("New sweep task %(title)s, due %(due)s"),
        params={"title": task.title, "due": "12-05 18:00"},   # JSON values, filled into the message
        url=reverse("sweeps:detail", args=[task.pk]),
        roles=[Role.GRID_WORKER, Role.GRID_LEADER],          # None: every role
    )

``announce`` returns at once; after the caller's transaction commits, a Celery task
(cases.tasks.announce_batch) walks the recipients in batches of :data:`BATCH` by user id (a city's
subtree holds 10,000+ people), each batch in one transaction: one INSERT … ON CONFLICT DO NOTHING of the
in-app rows (unique per recipient and key), then the configured channels (govgrid.messaging) for the
recipients whose row was new. So each recipient is told once per key, however often a batch runs.

Recipients: the active users with a membership in the subtree — grid workers and leaders of its grids,
centre staff and officials of its areas, handlers of departments serving an area in it — plus any
``user_ids`` given (e.g. a task force from the level above).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import translation
from django.utils.translation import gettext as _

from govgrid import messaging

BATCH = 1000


def announce(area, *, key: str, message, params: dict | None = None, url: str = "",
             roles: Iterable[str] | None = None, user_ids: Iterable[int] = ()) -> None:
    """Tell everyone in ``area``'s subtree (see the module's docstring), after the current transaction
    commits; ``area`` None tells only the people in ``user_ids`` (a unit's own people). ``message`` is
    a lazy text (gettext_lazy) with ``%(name)s`` placeholders for ``params``; it is stored as its
    English msgid and shown in each reader's language."""
    from cases import tasks

    if not key or len(key) > 120:
        raise ValueError("an announcement needs a key of 1 to 120 characters (its idempotency key)")
    spec = {
        "path": area.path if area is not None else None, "key": key, "template": msgid(message),
        "params": params or {}, "url": url, "roles": sorted(roles) if roles else None,
        "user_ids": sorted(set(user_ids)),
    }
    tasks.enqueue_announcement(spec)


def msgid(message) -> str:
    """The English text of a lazy translation (what the catalogue is keyed by)."""
    with translation.override(None):
        return str(message)


def recipients(spec: dict, *, after: int = 0, limit: int = BATCH):
    """The next ``limit`` recipients of an announcement by id above ``after``."""
    from grids.models import Membership

    named = Q(pk__in=spec.get("user_ids") or [])
    if spec["path"] is not None:
        memberships = Membership.objects.filter(user=OuterRef("pk")).filter(
            Q(area__path__startswith=spec["path"]) | Q(department__area__path__startswith=spec["path"]))
        if spec.get("roles"):
            memberships = memberships.filter(role__in=spec["roles"])
        named |= Q(Exists(memberships))
    return get_user_model().objects.filter(is_active=True, pk__gt=after).filter(named).order_by("pk")[:limit]


def render(spec: dict) -> str:
    """The announcement in the active language."""
    text = _(spec["template"])
    try:
        return (text % spec["params"]) if spec.get("params") else text
    except (KeyError, TypeError, ValueError):
        return text


def deliver_batch(spec: dict, *, after: int = 0, limit: int = BATCH) -> tuple[int, int | None]:
    """One batch of an announcement: in-app rows (once per recipient and key), then the channels for the
    recipients whose row is new. Returns (how many were newly told, the last id — None when done)."""
    users = list(recipients(spec, after=after, limit=limit))
    if not users:
        return 0, None
    with translation.override(settings.LANGUAGE_CODE):
        text = render(spec)[:300]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO cases_notification (recipient_id, message, template, params, url, key, created_at) "
            "SELECT u, %s, %s, %s::jsonb, %s, %s, now() FROM unnest(%s::bigint[]) AS u "
            "ON CONFLICT (recipient_id, key) WHERE key <> '' DO NOTHING RETURNING recipient_id",
            [text, spec["template"][:300], json.dumps(spec.get("params") or {}), spec.get("url", "")[:300],
             spec["key"], [user.pk for user in users]],
        )
        new = {row[0] for row in cursor.fetchall()}
    told = [user for user in users if user.pk in new]
    if told:
        outgoing = [messaging.Outgoing(user=user, subject=text[:78], text=text, url=spec.get("url", ""))
                    for user in told]
        for channel in messaging.channels():
            channel.send(outgoing)
    return len(told), users[-1].pk if len(users) == limit else None


def deliver(spec: dict, *, limit: int = BATCH) -> int:
    """Every batch in turn (tests, scripts): what the task chain does one batch per task."""
    total, after = 0, 0
    while after is not None:
        told, after = deliver_batch(spec, after=after, limit=limit)
        total += told
    return total
