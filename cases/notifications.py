"""Who is told about an event. Called by the notify tasks; writes Notification rows only."""

from __future__ import annotations

from contextvars import ContextVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases import pipeline
from cases.choices import ACTIVE_DISPATCH_STATUSES, Action, Light, Stage
from cases.models import CaseEvent, Notification
from grids.choices import CENTRE_ROLES, Role

User = get_user_model()

# The lights by their colour's name in a sentence (红灯, "red light"), not the bare enum value.
LIGHT_NAMES = {
    Light.GREEN: gettext_lazy("green light"),
    Light.YELLOW: gettext_lazy("yellow light"),
    Light.RED: gettext_lazy("red light"),
}


# Within notify_many: the staff of each centre read once per batch (a backlog of reports is mostly
# a few centres told again and again).
_staff_by_area: ContextVar[dict[int, set[int]] | None] = ContextVar("staff_by_area", default=None)


def _centre_staff(case) -> set[int]:
    memo = _staff_by_area.get()
    if memo is not None and case.centre.area_id in memo:
        return memo[case.centre.area_id]
    staff = set(
        User.objects.filter(
            is_active=True, memberships__role__in=CENTRE_ROLES, memberships__area_id=case.centre.area_id
        ).values_list("pk", flat=True)
    )
    if memo is not None:
        memo[case.centre.area_id] = staff
    return staff


def _handlers(department_ids) -> set[int]:
    return set(
        User.objects.filter(
            is_active=True, memberships__role=Role.DEPT_HANDLER, memberships__department_id__in=list(department_ids)
        ).values_list("pk", flat=True)
    )


def _live_departments(case) -> set[int]:
    return set(case.dispatches.filter(status__in=ACTIVE_DISPATCH_STATUSES).values_list("department_id", flat=True))


def _stage_owner(event, case) -> set[int]:
    """Whoever runs the clock whose light changed (and the centre when handling goes red)."""
    payload = event.payload or {}
    stage = payload.get("stage")
    if stage == Stage.ACCEPT:
        return _centre_staff(case)
    if stage in (Stage.SIGN, Stage.HANDLE):
        users = _handlers(_live_departments(case))
        if stage == Stage.HANDLE and case.category.code.startswith("07"):  # a dispute: its mediators handle it
            users |= _dispute_mediators(case)
        return users | _centre_staff(case) if payload.get("to") == "red" else users
    if stage == Stage.VERIFY:
        return {case.verifier_id} if case.verifier_id else _centre_staff(case)
    return set()


def _extension_department(event, case) -> set[int]:
    dispatch_id = (event.payload or {}).get("dispatch")
    return _handlers(case.dispatches.filter(pk=dispatch_id).values_list("department_id", flat=True))


def _dispute_mediators(case, centre_id=None) -> set[int]:
    from cases.disputes import DisputeDetails, Mediator

    if centre_id is None:
        centre_id = DisputeDetails.objects.filter(pk=case.pk).values_list("centre_id", flat=True).first()
    return set(Mediator.objects.filter(centre_id=centre_id, is_active=True, user__is_active=True)
               .values_list("user_id", flat=True)) if centre_id else set()


def _dispute_leader(case) -> set[int]:
    from cases.disputes import DisputeDetails

    return set(DisputeDetails.objects.filter(pk=case.pk, leader__isnull=False).values_list("leader_id", flat=True))


# The audiences the pipeline table names in its rows' ``notify`` (cases.pipeline.RULES).
AUDIENCES = {
    "centre": lambda event, case: _centre_staff(case),
    "reporter": lambda event, case: {case.reporter_id} if case.reporter_id else set(),
    "dispatched": lambda event, case: _handlers([(event.payload or {}).get("lead"),
                                                 *(event.payload or {}).get("assists", [])]),
    "extension_department": _extension_department,
    "centre_when_handled": lambda event, case: _centre_staff(case) if event.to_status == "handled" else set(),
    "verifier": lambda event, case: {(event.payload or {}).get("verifier")} - {None},
    "verify_outcome": lambda event, case: (
        _centre_staff(case) if (event.payload or {}).get("passed") else _handlers(_live_departments(case))),
    "handlers_on_rework": lambda event, case: (
        _handlers(_live_departments(case)) if event.to_status == "in_progress" else set()),
    "live_handlers": lambda event, case: _handlers(_live_departments(case)),
    "stage_owner": _stage_owner,
    # disputes (cases.disputes)
    "dispute_leader": lambda event, case: {(event.payload or {}).get("leader")} - {None},
    "dispute_leader_on_major": lambda event, case: (
        _dispute_leader(case) if (event.payload or {}).get("risk_level") == "major" else set()),
    "dispute_centre": lambda event, case: _dispute_mediators(case, (event.payload or {}).get("to_centre")),
    "dispute_team": lambda event, case: _dispute_leader(case) | _dispute_mediators(case),
}


def recipients(event: CaseEvent) -> set[int]:
    """Who the pipeline table says is told of this event, less the one who did it."""
    rule = pipeline.RULES_BY_EVENT.get(event.action)
    users: set[int] = set()
    for audience in rule.notify if rule else ():
        users |= AUDIENCES[audience](event, event.case)
    users.discard(event.actor_id)
    users.discard(None)
    return users


def message(event: CaseEvent) -> str:
    """The notice in the active language: stored in Chinese when written, shown in the reader's
    language by :func:`texts` (enum values in the payload are named, never shown raw)."""
    case = event.case
    text = f"{case.number} {case.category.display_name}: {event.get_action_display()}"
    if event.action == Action.LIGHT:
        payload = event.payload or {}
        light = payload.get("to", "")
        stage = payload.get("stage", "")
        text = _("%(case)s %(category)s: %(stage)s time limit shows a %(light)s") % {
            "case": case.number, "category": case.category.display_name,
            "stage": Stage(stage).label if stage and stage in Stage.values else "",
            "light": str(LIGHT_NAMES.get(light, light)),
        }
        text = " ".join(text.split())  # no double space when the stage is unknown
    return text[:300]


def stored_message(event: CaseEvent) -> str:
    """The stored text is in the site's language (Chinese), whoever's request sent the task."""
    with translation.override(settings.LANGUAGE_CODE):
        return message(event)


def texts(notifications) -> list:
    """Notifications with ``text`` in the reader's language, from their events (read with
    ``select_related("event__case__category")``); the stored message when the event says nothing."""
    for notification in notifications:
        if notification.event_id:
            notification.text = message(notification.event)
        elif notification.template:  # an announcement (cases.announcements): its msgid and parameters
            from cases.announcements import render

            notification.text = render({"template": notification.template, "params": notification.params})[:300]
        else:
            notification.text = notification.message
        notification.link = notification.url or case_link(notification)
    return notifications


def case_link(notification) -> str:
    """Where a case's notice leads: the case page; a dispute's notice, the dispute page (its mediators
    and leader may not reach the case page)."""
    if not notification.case_id:
        return ""
    dispute = {rule.event for rule in pipeline.RULES if rule.family == "dispute"}
    if notification.event_id and notification.event.action in dispute:
        return reverse("disputes:detail", args=[notification.case_id])
    return reverse("cases:detail", args=[notification.case_id])


def notify(event_id: int) -> int:
    event = CaseEvent.objects.select_related("case__category", "case__centre").filter(pk=event_id).first()
    if event is None:
        return 0
    users = recipients(event)
    if not users:
        return 0
    text = stored_message(event)
    rows = [Notification(recipient_id=user, event=event, case=event.case, message=text) for user in users]
    created = Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return len(created)


def notify_many(event_ids: list[int]) -> int:
    """:func:`notify` for many events: one read of the events, one insert of all their rows."""
    token = _staff_by_area.set({})
    try:
        rows = []
        for event in CaseEvent.objects.select_related("case__category", "case__centre").filter(pk__in=event_ids):
            users = recipients(event)
            if users:
                text = stored_message(event)
                rows += [Notification(recipient_id=user, event=event, case=event.case, message=text) for user in users]
    finally:
        _staff_by_area.reset(token)
    return len(Notification.objects.bulk_create(rows, ignore_conflicts=True))


# Events that notify someone (the table's rows with an audience); the others never get rows.
NOTIFYING_ACTIONS = tuple(sorted({rule.event for rule in pipeline.RULES if rule.notify}))


def events_without_notifications(*, since, until, limit: int = 1000, after: int = 0) -> list[int]:
    """Recent notifying events with no notification row: their task was lost (Redis was down when
    the action committed) or is still queued. Notifying is idempotent, so re-running them is safe.
    ``after``: only events with a greater id (a scan in batches moves on past events that notify nobody)."""
    from django.db.models import Exists, OuterRef

    return list(
        CaseEvent.objects.filter(at__gte=since, at__lt=until, action__in=NOTIFYING_ACTIONS, pk__gt=after)
        .filter(~Exists(Notification.objects.filter(event=OuterRef("pk"))))
        .order_by("id").values_list("pk", flat=True)[:limit]
    )
