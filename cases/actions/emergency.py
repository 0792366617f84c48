"""Emergency mode (战时): switch on, change the level, change the task force, switch off; and the system
rows that follow a report under it.

Each official action finds the activation (or the area) through the access module (missing and out of
scope: the same 404), checks ``cases.pipeline.check_command`` (who may: officials over the area and
administrators), locks the activation row, writes one row of its log (``ActivationEvent``), and after
commit re-plans the subtree's clocks (cases.tasks.replan_emergency_clocks, in batches) and tells the
subtree (cases.announcements). The activation itself commits at once, whatever the size of the subtree.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases import access, live, pipeline
from cases.actions._base import now, require_text
from cases.actions.clocks import move_to_centre
from cases.announcements import announce
from cases.choices import Action, ActivationChange, EmergencyLevel
from cases.emergency import Activation, ActivationEvent, command_centre
from cases.models import Case
from govgrid.errors import ActionError, Conflict
from govgrid.tasks import enqueue

MESSAGES = {
    ActivationChange.ON: gettext_lazy("Emergency mode %(level)s is on for %(area)s: %(reason)s"),
    ActivationChange.LEVEL: gettext_lazy("Emergency mode for %(area)s is now %(level)s (was %(old)s)"),
    ActivationChange.OFF: gettext_lazy("Emergency mode %(level)s for %(area)s is switched off"),
    ActivationChange.EXPIRED: gettext_lazy("Emergency mode %(level)s for %(area)s reached its planned end"),
}


def _level(value, field: str = "level") -> int:
    try:
        level = int(value)
    except (TypeError, ValueError):
        level = None
    if isinstance(value, bool) or level not in EmergencyLevel.values:
        raise ActionError(_("Choose a response level from I to IV."), field=field)
    return level


def _ends_at(value: datetime | None, at: datetime) -> datetime | None:
    if value is None:
        return None
    if timezone.is_naive(value):
        raise ActionError(_("Give the planned end with its time zone."), field="ends_at")
    if value <= at:
        raise ActionError(_("The planned end must be in the future."), field="ends_at")
    return value


def _lock(actor, activation: Activation | int, name: str) -> Activation:
    found = access.access_activation(actor, activation.pk if isinstance(activation, Activation) else activation)
    locked = Activation.objects.select_for_update(of=("self",)).select_related("area").get(pk=found.pk)
    pipeline.check_command(name, actor, locked.area_path, active=locked.is_active)
    return locked


def _log(activation: Activation, change: str, actor, *, old_level=None, new_level=None, note: str = "",
         payload: dict | None = None) -> ActivationEvent:
    event = ActivationEvent.objects.create(
        activation=activation, actor=actor, at=now(), change=change, old_level=old_level, new_level=new_level,
        note=note, payload=payload or {},
    )
    if change != ActivationChange.TASK_FORCE:
        # The clocks of the subtree follow the strictest level now in force; the people in it are told.
        enqueue(_replan_task(), activation.area_path, 0)
        announce_change(event)
    from cases.context import forget_banners

    transaction.on_commit(forget_banners)
    off = change in (ActivationChange.OFF, ActivationChange.EXPIRED)
    live.publish_activation(activation, state="off" if off else "on" if change == ActivationChange.ON else "changed")
    return event


def announce_change(event: ActivationEvent) -> None:
    """Tell the subtree (and the task force) of one change, once per person (cases.announcements)."""
    activation = event.activation
    level = event.new_level or event.old_level or activation.level
    # Numerals and names only: the text itself is translated for each reader, the parameters are not.
    params = {"level": EmergencyLevel(level).name, "area": activation.area.name, "reason": activation.reason[:120],
              "old": EmergencyLevel(event.old_level).name if event.old_level else ""}
    announce(activation.area, key=announcement_key(event), message=MESSAGES[event.change], params=params,
             url=reverse("emergency:detail", args=[activation.pk]),
             user_ids=[pk for pk in [activation.lead_id, *activation.members.values_list("pk", flat=True)] if pk])


def _replan_task():
    from cases.tasks import replan_emergency_clocks

    return replan_emergency_clocks


def _task_force(activation_area, lead, members):
    lead_user = access.access_task_force(activation_area, [lead], field="lead")[0] if lead else None
    return lead_user, access.access_task_force(activation_area, members or [], field="members")


@transaction.atomic
def switch_on(*, actor, area, level, reason: str, ends_at: datetime | None = None, lead: str | None = None,
              members: Sequence[str] = ()) -> Activation:
    """战时启动: emergency mode over ``area``'s subtree at ``level``, with a reason and a task force (by
    usernames). Another activation over the same place may be on already: the strictest applies."""
    area = access.access_area(actor, area)
    pipeline.check_command("switch_on", actor, area.path)
    level = _level(level)
    reason = require_text(reason, "reason", _("Give the reason for switching emergency mode on."))
    at = now()
    ends_at = _ends_at(ends_at, at)
    lead_user, member_users = _task_force(area, lead, members)
    activation = Activation.objects.create(
        area=area, area_path=area.path, level=level, reason=reason, starts_at=at, ends_at=ends_at,
        created_by=actor, lead=lead_user,
    )
    activation.members.set(member_users)
    _log(activation, ActivationChange.ON, actor, new_level=level, note=reason,
         payload={"ends_at": ends_at.isoformat() if ends_at else None,
                  "lead": lead_user.username if lead_user else None, "members": [u.username for u in member_users]})
    return activation


@transaction.atomic
def change_level(activation: Activation | int, *, actor, level, note: str = "") -> Activation:
    """分级响应: raise or lower the response level; the subtree's clocks are re-planned."""
    activation = _lock(actor, activation, "change_level")
    level = _level(level)
    if level == activation.level:
        raise Conflict(_("The activation is already at this level."), code="same_level")
    old = activation.level
    activation.level = level
    activation.save(update_fields=["level"])
    _log(activation, ActivationChange.LEVEL, actor, old_level=old, new_level=level, note=(note or "").strip())
    return activation


@transaction.atomic
def change_task_force(activation: Activation | int, *, actor, lead: str | None, members: Sequence[str] = (),
                      note: str = "") -> Activation:
    """专班: the lead official and the members, from the area's departments and centres."""
    activation = _lock(actor, activation, "change_task_force")
    before = {"lead": activation.lead.username if activation.lead_id else None,
              "members": sorted(activation.members.values_list("username", flat=True))}
    lead_user, member_users = _task_force(activation.area, lead, members)
    activation.lead = lead_user
    activation.save(update_fields=["lead"])
    activation.members.set(member_users)
    after = {"lead": lead_user.username if lead_user else None, "members": sorted(u.username for u in member_users)}
    _log(activation, ActivationChange.TASK_FORCE, actor, old_level=activation.level, new_level=activation.level,
         note=(note or "").strip(), payload={"before": before, "after": after})
    return activation


@transaction.atomic
def switch_off(activation: Activation | int, *, actor, note: str = "") -> Activation:
    """战时结束: open cases return to the normal rules (or to another activation still over them)
    without losing the time already spent."""
    activation = _lock(actor, activation, "switch_off")
    activation.switched_off_at = now()
    activation.save(update_fields=["switched_off_at"])
    _log(activation, ActivationChange.OFF, actor, old_level=activation.level, note=(note or "").strip())
    return activation


def expire_activations() -> list[int]:
    """The system ends activations whose planned end has come (one log row each, like switching off)."""
    at = now()
    done = []
    for pk in Activation.objects.filter(switched_off_at__isnull=True, ends_at__lte=at).values_list("pk", flat=True):
        with transaction.atomic():
            activation = (Activation.objects.select_for_update(of=("self",)).select_related("area")
                          .filter(pk=pk, switched_off_at__isnull=True).first())
            if activation is None:
                continue
            activation.switched_off_at = activation.ends_at
            activation.save(update_fields=["switched_off_at"])
            _log(activation, ActivationChange.EXPIRED, None, old_level=activation.level)
            done.append(pk)
    return done


# --- the system rows that follow a report (cases.pipeline.ON_REPORT) -------------------------------


def escalate_under_emergency(case: Case) -> Case:
    """An urgent report under emergency mode goes straight to the activation's command centre."""
    pipeline.check("emergency_escalate", None, case)
    centre = command_centre(case.activation)
    return move_to_centre(case, centre, Action.ESCALATE, None,
                          _("Urgent report under emergency mode %(level)s.") % {"level": case.activation.numeral})


SYSTEM_ACTIONS = {"emergency_escalate": escalate_under_emergency}


def after_report(case: Case) -> None:
    """Run the table's rows that follow a report (inside the report's transaction) where they apply."""
    for name in pipeline.ON_REPORT:
        if pipeline.permits(name, None, case):
            SYSTEM_ACTIONS[name](case)


def changes_to_catch_up(*, since: datetime, until: datetime) -> list[ActivationEvent]:
    """Recent activation changes whose after-commit work may have been lost (Redis down when they
    committed): their re-plan and announcement are idempotent, so the reconcile job simply runs them
    again while the change is recent."""
    return list(ActivationEvent.objects.filter(at__gte=since, at__lt=until)
                .exclude(change=ActivationChange.TASK_FORCE).select_related("activation__area").order_by("id"))


def announcement_key(event: ActivationEvent) -> str:
    return f"activation:{event.activation_id}:{event.pk}"
