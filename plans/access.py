"""The access module of plans: every plan, task, report or unit a user names, by id in a URL or
inside a request body, comes from here, and the rules of who may do what on a plan live here.

Seeing: a plan or task whose area lies in the user's scope, and the tasks a user's unit leads or
assists (a department's handlers, a centre's staff) with their plans. Missing and out of scope raise
the same NotFound. Acting, once seen: centre staff and officials over the plan's area create and
record (``check_manage``); officials supervise (``check_supervise``); the handlers or staff of a lead
or assisting unit report progress (``reporting_unit``). A role that may see but not act gets 403.

Campaigns (创无, 平安细胞) follow the same rules: a campaign is seen by those whose scope holds its
area, lies inside it (a grid worker sees the town's campaign, but only the entries in their grid) or
whose unit leads it; centre staff and officials over its area manage it (enter subjects, certify,
revoke); they and the lead unit's people inspect.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from govgrid.errors import Forbidden, NotFound
from grids.choices import CENTRE_ROLES, Role
from grids.models import Area, Centre, Department
from grids.scope import Scope, scope_for, visible_areas, visible_departments
from plans.models import (
    Campaign,
    CampaignEntry,
    CampaignType,
    Inspection,
    InspectionPhoto,
    NegativeEvent,
    PlanTask,
    ProgressReport,
    WorkPlan,
)


def _pk(value) -> int | None:
    if hasattr(value, "pk"):
        value = value.pk
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 2**63 else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 19:
        return int(value)
    return None


def _get(queryset: QuerySet, value, message: str, field: str | None):
    pk = _pk(value)
    found = queryset.filter(pk=pk).first() if pk is not None else None
    if found is None:
        raise NotFound(message, field=field)
    return found


def _path_q(paths, prefix: str = "") -> Q:
    query = Q(pk__in=[])
    for path in paths:
        query |= Q(**{f"{prefix}area_path__startswith": path})
    return query


def _unit_task_ids(scope: Scope) -> QuerySet:
    """Ids of the tasks the user's own units lead or assist."""
    query = (Q(lead_department__in=scope.department_ids) | Q(assisting_departments__in=scope.department_ids))
    if scope.centre_paths:
        query |= Q(lead_centre__area__path__in=scope.centre_paths)
        query |= Q(assisting_centres__area__path__in=scope.centre_paths)
    return PlanTask.objects.filter(query).values("pk")


def tasks_for(user) -> QuerySet[PlanTask]:
    scope = scope_for(user)
    if scope.is_admin:
        return PlanTask.objects.all()
    return PlanTask.objects.filter(_path_q(scope.see_paths) | Q(pk__in=_unit_task_ids(scope)))


def plans_for(user) -> QuerySet[WorkPlan]:
    scope = scope_for(user)
    if scope.is_admin:
        return WorkPlan.objects.all()
    return WorkPlan.objects.filter(_path_q(scope.see_paths)
                                   | Q(pk__in=PlanTask.objects.filter(pk__in=_unit_task_ids(scope)).values("plan_id")))


def my_tasks(user) -> QuerySet[PlanTask]:
    """The tasks the user's own units lead or assist (a handler's phone list)."""
    scope = scope_for(user)
    return PlanTask.objects.filter(pk__in=_unit_task_ids(scope))


def negative_events_for(user) -> QuerySet[NegativeEvent]:
    return NegativeEvent.objects.filter(plan__in=plans_for(user))


def access_plan_by_id(user, plan_id, *, field: str | None = None) -> WorkPlan:
    return _get(plans_for(user).select_related("area", "owner"), plan_id, _("No such work plan."), field)


def access_task_by_id(user, task_id, *, field: str | None = None) -> PlanTask:
    return _get(tasks_for(user).select_related("plan", "plan__area", "lead_department", "lead_centre"), task_id,
                _("No such plan task."), field)


def access_report_by_id(user, report_id, *, field: str | None = None) -> ProgressReport:
    return _get(ProgressReport.objects.filter(task__in=tasks_for(user)), report_id, _("No such progress report."),
                field)


def access_evidence_by_id(user, evidence_id, *, field: str | None = None):
    """A progress report's photo, for those who may see its task (the same 404 otherwise)."""
    from plans.models import Evidence

    return _get(Evidence.objects.filter(report__task__in=tasks_for(user)), evidence_id, _("No such photo."), field)


def access_area(user, area_id, *, field: str | None = "area") -> Area:
    """An area the user can see (whether they may own a plan there is ``check_manage``'s)."""
    return _get(visible_areas(user), area_id, _("No such area."), field)


def access_department(user, department_id, *, field: str | None = None) -> Department:
    return _get(visible_departments(user), department_id, _("No such department."), field)


def access_centre(user, centre_id, *, field: str | None = None) -> Centre:
    """A centre the user can see: one over or under an area of their scope."""
    scope = scope_for(user)
    centres = Centre.objects.select_related("area")
    if not scope.is_admin:
        query = Q(pk__in=[])
        for path in scope.see_paths:
            query |= Q(area__path__startswith=path) | Q(area__code__in=path.rstrip("/").split("/")[:-1])
        centres = centres.filter(query)
    return _get(centres, centre_id, _("No such centre."), field)


def may_manage(user, area: Area) -> bool:
    scope = scope_for(user)
    return scope.is_admin or any(area.path.startswith(p) for p in scope.centre_paths + scope.official_paths)


def may_manage_somewhere(user) -> bool:
    scope = scope_for(user)
    return scope.is_admin or bool(scope.centre_paths or scope.official_paths)


def check_manage(user, area: Area) -> None:
    """Create plans, tasks, indicators and milestones, record negative-list events: centre staff and
    officials over the area."""
    if not may_manage(user, area):
        raise Forbidden(_("Only centre staff and officials over the plan's area may change the plan."))


def may_supervise(user, area: Area) -> bool:
    scope = scope_for(user)
    return scope.is_admin or any(area.path.startswith(p) for p in scope.official_paths)


def check_supervise(user, area: Area) -> None:
    if not may_supervise(user, area):
        raise Forbidden(_("Only officials over the plan's area may supervise its tasks."))


def reporting_units(user, task: PlanTask) -> list[Department | Centre]:
    """The lead or assisting units of ``task`` the user reports for (handler of a department, staff of
    a centre), lead first."""
    scope = scope_for(user)
    units: list[Department | Centre] = []
    departments = ([task.lead_department] if task.lead_department_id else []) + list(task.assisting_departments.all())
    centres = ([task.lead_centre] if task.lead_centre_id else []) + list(
        task.assisting_centres.select_related("area"))
    for department in departments:
        if department.pk in scope.department_ids:
            units.append(department)
    if scope.has_role(*CENTRE_ROLES, Role.ADMIN):
        for centre in centres:
            if centre.area.path in scope.centre_paths:
                units.append(centre)
    return units


def reporting_unit(user, task: PlanTask, unit_key: str | None = None) -> Department | Centre:
    """The unit the user reports for: the one named (``department:<id>`` or ``centre:<id>``) or their first."""
    units = reporting_units(user, task)
    if not units:
        raise Forbidden(_("Only the lead or an assisting unit of the task may report its progress."))
    if not unit_key:
        return units[0]
    for unit in units:
        if unit_key == unit_key_of(unit):
            return unit
    raise NotFound(_("No such unit on this task."), field="unit")


def unit_key_of(unit) -> str:
    return f"{'department' if isinstance(unit, Department) else 'centre'}:{unit.pk}"


# Campaigns (创无 10+N, 平安细胞)


def _ancestor_paths(paths) -> list[str]:
    """Every path above or at each of ``paths`` (``9801/980101/`` gives ``9801/`` and itself)."""
    found: set[str] = set()
    for path in paths:
        codes = path.rstrip("/").split("/")
        found.update("/".join(codes[:n]) + "/" for n in range(1, len(codes) + 1))
    return sorted(found)


def _unit_campaign_q(scope: Scope, prefix: str = "") -> Q:
    query = Q(**{f"{prefix}lead_department__in": scope.department_ids})
    if scope.centre_paths:
        query |= Q(**{f"{prefix}lead_centre__area__path__in": scope.centre_paths})
    return query


def campaigns_for(user) -> QuerySet[Campaign]:
    """Campaigns over, under or around the user's areas, and those the user's unit leads."""
    scope = scope_for(user)
    if scope.is_admin:
        return Campaign.objects.all()
    return Campaign.objects.filter(_path_q(scope.see_paths) | Q(area_path__in=_ancestor_paths(scope.see_paths))
                                   | _unit_campaign_q(scope))


def entries_for(user) -> QuerySet[CampaignEntry]:
    """Entries in the user's areas, all entries of campaigns over the user's areas or led by their unit."""
    scope = scope_for(user)
    if scope.is_admin:
        return CampaignEntry.objects.all()
    return CampaignEntry.objects.filter(_path_q(scope.see_paths) | _path_q(scope.see_paths, "campaign__")
                                        | _unit_campaign_q(scope, "campaign__"))


def campaign_types() -> QuerySet[CampaignType]:
    """The types anyone may read (configuration, not data of a place)."""
    return CampaignType.objects.filter(is_active=True).prefetch_related("criteria")


def access_campaign_type(type_id, *, field: str | None = "type") -> CampaignType:
    return _get(campaign_types(), type_id, _("No such campaign type."), field)


def access_campaign_by_id(user, campaign_id, *, field: str | None = None) -> Campaign:
    return _get(campaigns_for(user).select_related("type", "area", "owner", "lead_department", "lead_centre"),
                campaign_id, _("No such campaign."), field)


def access_entry_by_id(user, entry_id, *, field: str | None = None) -> CampaignEntry:
    return _get(entries_for(user).select_related("campaign", "campaign__type", "campaign__area", "area",
                                                 "organisation"),
                entry_id, _("No such campaign entry."), field)


def access_inspection_photo_by_id(user, photo_id, *, field: str | None = None) -> InspectionPhoto:
    """An inspection's photo, for those who see its entry (the same 404 otherwise)."""
    return _get(InspectionPhoto.objects.filter(inspection__entry__in=entries_for(user)), photo_id,
                _("No such photo."), field)


def access_inspection_by_id(user, inspection_id, *, field: str | None = None) -> Inspection:
    return _get(Inspection.objects.filter(entry__in=entries_for(user)), inspection_id, _("No such inspection."),
                field)


def access_organisation(user, organisation_id, *, field: str | None = "organisation"):
    """An organisation the user may see (parties' own scope)."""
    from parties.access import access_organisation_by_id

    return access_organisation_by_id(user, organisation_id, field=field)


def may_manage_campaign(user, campaign: Campaign) -> bool:
    return may_manage(user, campaign.area)


def check_manage_campaign(user, campaign: Campaign) -> None:
    """Enter subjects, certify, revoke, withdraw: centre staff and officials over the campaign's area."""
    if not may_manage(user, campaign.area):
        raise Forbidden(_("Only centre staff and officials over the campaign's area may do this."))


def is_lead_unit_member(user, campaign: Campaign) -> bool:
    scope = scope_for(user)
    if campaign.lead_department_id:
        return campaign.lead_department_id in scope.department_ids
    return (scope.has_role(*CENTRE_ROLES, Role.ADMIN)
            and campaign.lead_centre.area.path in scope.centre_paths)


def may_inspect(user, campaign: Campaign) -> bool:
    return may_manage(user, campaign.area) or is_lead_unit_member(user, campaign)


def check_inspect(user, campaign: Campaign) -> None:
    """Inspect an entry: managers of the campaign's area and the lead unit's people."""
    if not may_inspect(user, campaign):
        raise Forbidden(_("Only the campaign's managers and its lead unit may inspect."))
