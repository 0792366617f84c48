"""Who is told about an event. Called by the notify tasks; writes Notification rows only."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _

from cases.choices import ACTIVE_DISPATCH_STATUSES, Action, Stage
from cases.models import CaseEvent, Notification
from grids.choices import CENTRE_ROLES, GRID_ROLES, Role

User = get_user_model()


def _centre_staff(case) -> set[int]:
    return set(
        User.objects.filter(
            is_active=True, memberships__role__in=CENTRE_ROLES, memberships__area_id=case.centre.area_id
        ).values_list("pk", flat=True)
    )


def _handlers(department_ids) -> set[int]:
    return set(
        User.objects.filter(
            is_active=True, memberships__role=Role.DEPT_HANDLER, memberships__department_id__in=list(department_ids)
        ).values_list("pk", flat=True)
    )


def _live_departments(case) -> set[int]:
    return set(case.dispatches.filter(status__in=ACTIVE_DISPATCH_STATUSES).values_list("department_id", flat=True))


def _grid_workers(case) -> set[int]:
    return set(
        User.objects.filter(
            is_active=True, memberships__role__in=GRID_ROLES, memberships__area_id=case.grid_id
        ).values_list("pk", flat=True)
    )


def recipients(event: CaseEvent) -> set[int]:
    case = event.case
    payload = event.payload or {}
    reporter = {case.reporter_id} if case.reporter_id else set()
    match event.action:
        case Action.REPORT | Action.ESCALATE | Action.HAND_DOWN | Action.REQUEST_EXTENSION | Action.RETURN:
            users = _centre_staff(case)
        case Action.DISPATCH:
            users = _handlers([payload.get("lead"), *payload.get("assists", [])])
        case Action.DECIDE_EXTENSION:
            dispatched_to = case.dispatches.filter(pk=payload.get("dispatch")).values_list("department_id", flat=True)
            users = _handlers(dispatched_to)
        case Action.FEEDBACK:
            users = _centre_staff(case) if event.to_status == "handled" else set()
        case Action.ASSIGN_VERIFICATION:
            users = {payload["verifier"]} if payload.get("verifier") else set()
        case Action.VERIFY:
            users = _centre_staff(case) if payload.get("passed") else _handlers(_live_departments(case))
        case Action.FOLLOW_UP:
            users = _handlers(_live_departments(case)) if event.to_status == "in_progress" else set()
        case Action.REJECT | Action.MERGE | Action.CLOSE:
            users = reporter
        case Action.SUPERVISE:
            users = _centre_staff(case) | _handlers(_live_departments(case))
        case Action.LIGHT:
            stage = payload.get("stage")
            if stage == Stage.ACCEPT:
                users = _centre_staff(case)
            elif stage in (Stage.SIGN, Stage.HANDLE):
                users = _handlers(_live_departments(case))
                if payload.get("to") == "red":
                    users |= _centre_staff(case)
            elif stage == Stage.VERIFY:
                users = {case.verifier_id} if case.verifier_id else _grid_workers(case)
            else:
                users = set()
        case _:
            users = set()
    users.discard(event.actor_id)
    users.discard(None)
    return users


def message(event: CaseEvent) -> str:
    case = event.case
    text = f"{case.number} {case.category.name}: {event.get_action_display()}"
    if event.action == Action.LIGHT:
        text = _("%(case)s %(category)s: deadline light turned %(light)s") % {
            "case": case.number, "category": case.category.name, "light": (event.payload or {}).get("to", ""),
        }
    return text[:300]


def notify(event_id: int) -> int:
    event = CaseEvent.objects.select_related("case__category", "case__centre").filter(pk=event_id).first()
    if event is None:
        return 0
    users = recipients(event)
    if not users:
        return 0
    text = message(event)
    rows = [Notification(recipient_id=user, event=event, case=event.case, message=text) for user in users]
    created = Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return len(created)


# Events that notify someone (see recipients()); the others never get rows, so are not looked at.
NOTIFYING_ACTIONS = (
    Action.REPORT, Action.ESCALATE, Action.HAND_DOWN, Action.REQUEST_EXTENSION, Action.RETURN, Action.DISPATCH,
    Action.DECIDE_EXTENSION, Action.FEEDBACK, Action.ASSIGN_VERIFICATION, Action.VERIFY, Action.FOLLOW_UP,
    Action.REJECT, Action.MERGE, Action.CLOSE, Action.SUPERVISE, Action.LIGHT,
)


def events_without_notifications(*, since, until, limit: int = 1000) -> list[int]:
    """Recent notifying events with no notification row: their task was lost (Redis was down when
    the action committed) or is still queued. Notifying is idempotent, so re-running them is safe."""
    from django.db.models import Exists, OuterRef

    return list(
        CaseEvent.objects.filter(at__gte=since, at__lt=until, action__in=NOTIFYING_ACTIONS)
        .filter(~Exists(Notification.objects.filter(event=OuterRef("pk"))))
        .order_by("id").values_list("pk", flat=True)[:limit]
    )
