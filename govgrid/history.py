"""Configuration history (配置变更记录): who changed which setting, when, from what to what.

django-pghistory's database triggers write one event row per insert, update and delete of each tracked
model, whatever made the change (the admin, a shell, a command, a migration), in the same transaction.
The request's user and URL come from ``pghistory.middleware.HistoryMiddleware``; changes made outside a
request (``seed_city``, migrations) have no user.

Every event model lives in this app, so tracking another app's model adds migrations here only. Two
consequences of that choice:

* The triggers are not in migrations (``PGTRIGGER_MIGRATIONS = False``): ``migrate`` (re)installs them
  afterwards (``PGTRIGGER_INSTALL_ON_MIGRATE``), in the test database too.
* The recorded fields are listed by name below, not "all fields": a field someone adds to a tracked
  model then needs no migration here until it is listed (``tests/test_config_history.py`` names the
  fields that are neither recorded nor deliberately left out). After listing one, run
  ``manage.py makemigrations govgrid``.

Event fields keep only what the database needs (type, length, nullability): labels, choices and
validators come from the tracked model when the history is shown (``PGHISTORY_EXCLUDE_FIELD_KWARGS``),
so renaming a label or adding a choice to a tracked model changes nothing here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pghistory
from django.contrib.admin.utils import display_for_field
from django.contrib.auth import get_user_model
from django.db import models
from django.utils.translation import gettext_lazy as _

from cases.models import Category, CategoryLead
from govgrid.models import WorkdayOverride
from grids.models import Area, Centre, Department, Membership
from reports.models import EvaluationSettings, SafetyIndicator, ScoreRule, ScoringSettings

# tracked model → the fields its history records. Area leaves out its boundary (a multipolygon per
# row would dwarf the rest); its centroid, written by the area trigger from the boundary, is recorded
# instead, so a moved boundary still shows. The area trigger re-paths a moved area's subtree, and
# each re-pathed descendant gets an event of its own.
RECORDED_FIELDS: dict[type[models.Model], tuple[str, ...]] = {
    Area: ("id", "code", "name", "level", "parent", "path", "centroid"),
    Centre: ("id", "name", "area", "level"),
    Department: ("id", "name", "name_en", "kind", "area", "is_active"),
    Membership: ("id", "user", "role", "area", "department", "coefficient", "worker_kind"),
    Category: (
        "id", "code", "name", "name_en", "parent", "time_limit", "time_unit", "urgency", "acceptance_criteria",
        "closure_criteria", "duplicate_radius_m", "yellow_share", "accept_yellow_share", "sign_yellow_share",
        "verify_yellow_share", "citizen_allowed", "open311_attributes", "sort_order", "is_active",
    ),
    CategoryLead: ("id", "category", "level", "department_kind"),
    WorkdayOverride: ("id", "date", "is_workday", "note"),
    ScoringSettings: (
        "id", "safety_green_min", "safety_yellow_min", "dept_weight_on_time", "dept_weight_accuracy",
        "dept_weight_no_rework", "dept_weight_satisfaction", "dept_penalty_supervision",
    ),
    SafetyIndicator: ("id", "name", "measure", "family_code", "weight", "is_active", "sort_order"),
    ScoreRule: ("id", "deed", "points"),
    EvaluationSettings: ("id", "weight_cases", "weight_work", "weight_plans", "weight_campaigns"),
}

# Fields of tracked models that are deliberately not recorded, with the reason in the comment above.
UNRECORDED_FIELDS: dict[type[models.Model], tuple[str, ...]] = {
    Area: ("boundary",),
}


def _event_model(tracked: type[models.Model]) -> type[models.Model]:
    return pghistory.create_event_model(
        tracked,
        pghistory.InsertEvent(),
        # Only when a recorded field changes: a save that changes nothing leaves no event.
        pghistory.UpdateEvent(),
        pghistory.DeleteEvent(),
        fields=list(RECORDED_FIELDS[tracked]),
        # No reverse accessor on the tracked model, and no constraint: the history outlives the row.
        obj_field=pghistory.ObjForeignKey(related_name="+", related_query_name="+"),
        # History is evidence: the event tables refuse updates and deletes.
        append_only=True,
        model_name=f"{tracked.__name__}Event",
        app_label="govgrid",
        abstract=False,
        # One trigger call per statement, over its transition table: a row-level trigger costs two
        # PL/pgSQL exception blocks (subtransactions) per row, which made `seed_city` twice as slow.
        level=pghistory.Statement,
    )


EVENT_MODELS: dict[type[models.Model], type[models.Model]] = {
    tracked: _event_model(tracked) for tracked in RECORDED_FIELDS
}

# The label of the rows the migration that started the history wrote: each tracked row as it was then,
# so that the first change after it still shows a "before".
BASELINE = "baseline"


# Showing the history ------------------------------------------------------------------------------------

# How a row is named from its snapshot (the row itself may be gone) on a list of many rows' changes.
SUBJECT_FIELDS: dict[type[models.Model], tuple[str, ...]] = {
    Area: ("name", "code"),
    Centre: ("name",),
    Department: ("area", "name"),
    Membership: ("user", "role", "area", "department"),
    Category: ("code", "name"),
    CategoryLead: ("category", "level", "department_kind"),
    WorkdayOverride: ("date",),
    ScoringSettings: (),
    SafetyIndicator: ("name",),
    ScoreRule: ("deed",),
    EvaluationSettings: (),
}

ACTION_LABELS = {
    "insert": _("created"),
    "update": _("changed"),
    "delete": _("deleted"),
    BASELINE: _("as it was when the history began"),
}


@dataclass
class FieldChange:
    label: str
    before: str
    after: str


@dataclass
class HistoryEntry:
    """One event as the admin shows it: when, who (and where), what, and the fields it changed."""

    at: datetime
    pgh_id: int
    action: str
    subject: str  # empty for the page's own object; the child row's name otherwise
    user: Any | None
    url: str
    changes: list[FieldChange] = field(default_factory=list)


def object_history(obj: models.Model, children: Sequence[tuple[type[models.Model], str]] = ()) -> list[HistoryEntry]:
    """The recorded changes of ``obj`` and of its child rows, newest first.

    ``children`` names tracked models and their foreign key to ``obj``'s model (``(Membership, "user")``):
    their rows are found through the snapshots, so a deleted child still shows.
    """
    sources: list[tuple[type[models.Model], models.QuerySet, str]] = []
    if (own := EVENT_MODELS.get(type(obj))) is not None:  # a user's page shows only their memberships
        sources.append((own, own.objects.filter(pgh_obj_id=obj.pk), ""))
    for child, fk_name in children:
        event_model = EVENT_MODELS[child]
        attname = child._meta.get_field(fk_name).attname
        sources.append((event_model, event_model.objects.filter(**{attname: obj.pk}), fk_name))
    entries: list[HistoryEntry] = []
    for event_model, events, parent_fk in sources:
        entries.extend(_entries(event_model, list(events.select_related("pgh_context").order_by("pgh_id")),
                                parent_fk=parent_fk))
    entries.sort(key=lambda entry: (entry.at, entry.pgh_id), reverse=True)
    _attach_users(entries)
    return entries


def model_events(tracked: type[models.Model]) -> models.QuerySet:
    """Every recorded change of one tracked model, newest first: what ``model_history`` pages through."""
    return EVENT_MODELS[tracked].objects.order_by("-pgh_id")


def model_history(tracked: type[models.Model], page: Sequence[Any]) -> list[HistoryEntry]:
    """One page of ``model_events``, each against the previous snapshot of its row, deleted rows included."""
    if not page:
        return []
    event_model = EVENT_MODELS[tracked]
    wanted = {event.pgh_id for event in page}
    # The page's rows' events up to the page's newest: each event's "before" is among them.
    events = event_model.objects.filter(
        pgh_obj_id__in={event.pgh_obj_id for event in page}, pgh_id__lte=max(wanted)
    ).select_related("pgh_context").order_by("pgh_id")
    entries = [entry for entry in _entries(event_model, list(events), parent_fk="", named=True)
               if entry.pgh_id in wanted]
    entries.sort(key=lambda entry: entry.pgh_id, reverse=True)
    _attach_users(entries)
    return entries


def _entries(event_model: type[models.Model], events: list[Any], *, parent_fk: str,
             named: bool = False) -> list[HistoryEntry]:
    """Each event against the previous snapshot of the same row: the "before" of a change.

    ``parent_fk`` names a child row's key to the page's object: the same on every row, so not shown.
    Child rows, and every row when ``named``, are named in the entry's subject.
    """
    tracked = event_model.pgh_tracked_model
    fields = [tracked._meta.get_field(name) for name in RECORDED_FIELDS[tracked] if name not in ("id", parent_fk)]
    labels = _related_labels(fields, events)
    previous: dict[Any, Any] = {}
    entries = []
    for event in events:
        before = previous.get(event.pgh_obj_id)
        changes = []
        for model_field in fields:
            new = getattr(event, model_field.attname)
            if event.pgh_label == "update" and before is not None:
                old = getattr(before, model_field.attname)
                if old != new:
                    changes.append(FieldChange(_label(model_field), _shown(model_field, old, labels),
                                               _shown(model_field, new, labels)))
            elif new not in (None, "", [], {}):
                # A whole row: created (after), deleted (before), or an update with no earlier snapshot,
                # where which fields changed is unknown.
                shown = _shown(model_field, new, labels)
                before_after = (shown, "") if event.pgh_label == "delete" else ("", shown)
                changes.append(FieldChange(_label(model_field), *before_after))
        metadata = event.pgh_context.metadata if event.pgh_context_id else {}
        entries.append(HistoryEntry(
            at=event.pgh_created_at,
            pgh_id=event.pgh_id,
            action=str(ACTION_LABELS.get(event.pgh_label, event.pgh_label)),
            subject=_subject(tracked, event, labels, skip=parent_fk) if parent_fk or named else "",
            user=metadata.get("user"),
            url=metadata.get("url") or "",
            changes=changes,
        ))
        previous[event.pgh_obj_id] = event
    return entries


def _subject(tracked: type[models.Model], event: Any, labels: dict, *, skip: str = "") -> str:
    """A row's name from its snapshot (the row itself may be gone)."""
    parts = [
        _shown(model_field, value, labels)
        for name in SUBJECT_FIELDS.get(tracked, ())
        if name != skip
        and (value := getattr(event, (model_field := tracked._meta.get_field(name)).attname)) not in (None, "")
    ]
    return f"{tracked._meta.verbose_name} {' · '.join(parts) or f'#{event.pgh_obj_id}'}"


def _related_labels(fields: Iterable[models.Field], events: list[Any]) -> dict[tuple[type[models.Model], Any], str]:
    """The names of the rows the snapshots point at: one query per related model."""
    wanted: dict[type[models.Model], set] = defaultdict(set)
    for model_field in fields:
        if model_field.is_relation:
            wanted[model_field.related_model].update(
                value for event in events if (value := getattr(event, model_field.attname)) is not None
            )
    return {
        (model, row.pk): str(row)
        for model, pks in wanted.items() if pks
        for row in model._default_manager.filter(pk__in=pks)
    }


def _label(model_field: models.Field) -> str:
    """The field's label; a foreign key declared without one is named after the model it points at."""
    if model_field.is_relation and model_field.verbose_name == model_field.name.replace("_", " "):
        return str(model_field.related_model._meta.verbose_name)
    return str(model_field.verbose_name)


def _shown(model_field: models.Field, value: Any, labels: dict) -> str:
    if value is None or value == "":
        return "—"
    if model_field.is_relation:
        # A row deleted since: its number is all that is left.
        return labels.get((model_field.related_model, value), f"#{value}")
    if isinstance(model_field, models.BooleanField):
        return str(_("yes") if value else _("no"))
    if hasattr(value, "coords"):  # a point: an area's centroid
        return f"{value.x:.5f}, {value.y:.5f}"
    return str(display_for_field(value, model_field, "—"))


def _attach_users(entries: list[HistoryEntry]) -> None:
    ids = {entry.user for entry in entries if entry.user is not None}
    users = get_user_model()._default_manager.in_bulk(ids) if ids else {}
    for entry in entries:
        if entry.user is not None:
            entry.user = users.get(entry.user, f"#{entry.user}")
