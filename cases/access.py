"""The access module: every object a user names, by id in a URL or inside a request body, comes from here.

Each ``access_*`` function returns the object if the user may reach it, or raises NotFound with the
same message whether it does not exist or lies outside the user's scope (DESIGN.md §3), so an answer
never tells an outsider that something exists. The ``*_for`` functions give the querysets that forms
and serializer related fields choose from, so a field's "does not exist" error is the same for both.

What a user may *do* to a case they can reach is the pipeline table's business (cases.pipeline).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from cases.choices import OPEN_STATUSES, ExtensionStatus
from cases.models import Case, Dispatch, ExtensionRequest
from cases.patrols import Patrol
from cases.selectors import visible_cases
from govgrid.errors import ActionError, NotFound
from grids.choices import GRID_ROLES
from grids.models import Area, Centre, Department
from grids.scope import scope_for, visible_departments


def _pk(value) -> int | None:
    """An id as given (int, digit string, model instance), or None when it cannot be one."""
    if hasattr(value, "pk"):
        value = value.pk
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 2**63 else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 19:
        return int(value)
    return None


def _missing(message: str, field: str | None):
    return NotFound(message, field=field)


# --- cases ---------------------------------------------------------------------------------------


def cases_for(user) -> QuerySet[Case]:
    return visible_cases(user)


def access_case_by_id(user, case_id, *, field: str | None = None) -> Case:
    """A case the user may see, with what the pipeline table reads (centre, dispatches, extensions)."""
    pk = _pk(case_id)
    case = None
    if pk is not None:
        case = (
            cases_for(user).select_related("category", "centre__area", "grid")
            .prefetch_related(Prefetch("dispatches", queryset=Dispatch.objects.prefetch_related("extensions")))
            .filter(pk=pk).first()
        )
    if case is None:
        raise _missing(_("No such case."), field)
    return case


def master_cases_for(user, case: Case) -> QuerySet[Case]:
    """Cases the user may merge ``case`` into: open cases they can see, under the same centre's reach."""
    return cases_for(user).filter(status__in=OPEN_STATUSES).exclude(pk=case.pk)


def access_master_case(user, case: Case, master_id) -> Case:
    pk = _pk(master_id)
    if pk == case.pk:
        raise ActionError(_("A case cannot be merged into itself."), field="master")
    master = master_cases_for(user, case).filter(pk=pk).first() if pk is not None else None
    if master is None:
        # Also for a master that exists but is closed or outside scope: the same words as for none.
        raise _missing(_("No such open case to merge into."), "master")
    return master


# --- departments, dispatches, extensions -----------------------------------------------------------


def dispatch_targets_for(user, case: Case) -> QuerySet[Department]:
    """Departments the user may dispatch this case to: active, within their reach, serving the case's
    grid or an area above it (a town centre also dispatches to the district's 城管局)."""
    codes = case.area_path.rstrip("/").split("/")
    return visible_departments(user, act=True).filter(is_active=True, area__code__in=codes)


def access_department(user, case: Case, department_id, *, field: str = "lead") -> Department:
    pk = _pk(department_id)
    department = dispatch_targets_for(user, case).filter(pk=pk).first() if pk is not None else None
    if department is None:
        raise _missing(_("No such department to dispatch to."), field)
    return department


def access_dispatch(user, case: Case, dispatch_id=None) -> Dispatch:
    """The dispatch of ``case`` the user acts on: the one named (it must be this case's and one of the
    user's departments'), else the user's department's live one."""
    from cases.pipeline import own_dispatches

    mine = own_dispatches(user, case)
    if dispatch_id is None:
        if len(mine) == 1:
            return mine[0]
        if not mine:
            raise _missing(_("No such dispatch."), "dispatch")
        raise NotFound(_("Say which dispatch (your department has several on this case)."), field="dispatch",
                       code="ambiguous")
    pk = _pk(dispatch_id)
    for dispatch in mine:
        if dispatch.pk == pk:
            return dispatch
    raise _missing(_("No such dispatch."), "dispatch")


def access_extension(user, case: Case, extension_id) -> ExtensionRequest:
    pk = _pk(extension_id)
    for dispatch in case.dispatches.all():
        for extension in dispatch.extensions.all():
            if extension.pk == pk and extension.status == ExtensionStatus.PENDING:
                return extension
    raise _missing(_("No such extension request waiting on this case."), "extension")


# --- people and centres ----------------------------------------------------------------------------


def verifiers_for(case: Case) -> QuerySet:
    """Who may verify the case on site: active grid workers and leaders of its grid."""
    return get_user_model().objects.filter(
        is_active=True, memberships__role__in=GRID_ROLES, memberships__area_id=case.grid_id
    ).distinct()


def access_verifier(user, case: Case, username) -> object:
    verifier = None
    if isinstance(username, str) and username and "\x00" not in username:
        verifier = verifiers_for(case).filter(username=username).first()
    if verifier is None:
        raise _missing(_("No such grid worker of this case's grid."), "verifier")
    return verifier


def hand_down_targets_for(case: Case) -> QuerySet[Centre]:
    """Centres below the owning one that cover the case's grid."""
    codes = case.area_path.rstrip("/").split("/")
    return Centre.objects.filter(area__code__in=codes, level__gt=case.centre.level).select_related("area")


def access_hand_down_centre(user, case: Case, centre_id) -> Centre:
    pk = _pk(centre_id)
    centre = hand_down_targets_for(case).filter(pk=pk).first() if pk is not None else None
    if centre is None:
        raise _missing(_("No such centre below this one for the case's grid."), "centre")
    return centre


# --- the live channel ------------------------------------------------------------------------------


def live_paths_for(user, area: Area) -> tuple[str, ...]:
    """The area paths whose live events (govgrid.live) a screen watching ``area`` may get: the area's
    subtree, when the user may see the area (else not found, as for an area that does not exist)."""
    if not scope_for(user).covers_area(area):
        raise _missing(_("No such area."), "area")
    return (area.path,)


# --- sweep tasks (排查任务) --------------------------------------------------------------------------


def sweep_tasks_for(user):
    """Tasks the user may see: those sent to an area inside their scope, and those sent to an area
    above it (a city task reaches a town's grids: the town sees its own part)."""
    from cases.sweeps import SweepTask
    from grids.scope import scope_for

    scope = scope_for(user)
    if scope.is_admin:
        return SweepTask.objects.all()
    query = Q(pk__in=[])
    for path in scope.see_paths:
        parts = path.rstrip("/").split("/")
        above = ["/".join(parts[:n]) + "/" for n in range(1, len(parts))]
        query |= Q(area_path__startswith=path) | Q(area_path__in=above)
    return SweepTask.objects.filter(query)


def sweep_targets_for(user, task, *, act: bool = False):
    """The task's targets within the user's scope (``act``: those they may report on)."""
    from grids.scope import scope_for

    return task.targets.filter(scope_for(user).area_q("area_", act=act))


def access_sweep_task_by_id(user, task_id, *, field: str | None = None):
    pk = _pk(task_id)
    task = sweep_tasks_for(user).select_related("centre", "area").filter(pk=pk).first() if pk is not None else None
    if task is None:
        raise _missing(_("No such sweep task."), field)
    return task


def access_sweep_target(user, task, target_id, *, act: bool = False, field: str | None = "target"):
    """A target of ``task`` in the user's scope; another task's target, or one outside scope, is 404."""
    pk = _pk(target_id)
    target = sweep_targets_for(user, task, act=act).select_related("grid").filter(pk=pk).first() \
        if pk is not None else None
    if target is None:
        raise _missing(_("No such target of this sweep task."), field)
    return target


def access_sweep_area(user, area_id, *, field: str = "area"):
    """An area the user may send a sweep task to (in their scope to act on)."""
    from grids.scope import visible_areas

    pk = _pk(area_id)
    area = visible_areas(user, act=True).filter(pk=pk).first() if pk is not None else None
    if area is None:
        raise _missing(_("No such area."), field)
    return area


def access_sweep_board_area(user, task, area_id=None):
    """The area a sweep board shows: the one asked for, when the user can see it and it lies under the
    task's area; by default the task's area, or, for a user below it, their own outermost area there."""
    from grids.models import Area
    from grids.scope import scope_for, visible_areas

    if area_id not in (None, ""):
        pk = _pk(area_id)
        found = visible_areas(user).filter(pk=pk, path__startswith=task.area_path).first() if pk else None
        if found is None:
            raise _missing(_("No such area."), "area")
        return found
    scope = scope_for(user)
    if scope.is_admin or any(task.area_path.startswith(path) for path in scope.see_paths):
        return task.area
    inside = [path for path in scope.see_paths if path.startswith(task.area_path)]
    return Area.objects.filter(path__in=inside).order_by("level", "path").first() or task.area


def access_sweep_grid(user, task, grid_id, *, act: bool = False, field: str = "grid"):
    """A grid of the task's area in the user's scope (``act``: one they may report for)."""
    from grids.choices import Level
    from grids.scope import visible_areas

    pk = _pk(grid_id)
    grid = visible_areas(user, act=act).filter(pk=pk, level=Level.GRID, path__startswith=task.area_path).first() \
        if pk else None
    if grid is None:
        raise _missing(_("No such grid in this sweep task."), field)
    return grid


def access_sweep_report(user, task, report_id, *, act: bool = False, field: str | None = "report"):
    """A report of ``task`` on a target in the user's scope (``act``: one they may act on)."""
    from grids.scope import scope_for

    pk = _pk(report_id)
    report = task.reports.filter(scope_for(user).area_q("target__area_", act=act)).select_related(
        "target").filter(pk=pk).first() if pk is not None else None
    if report is None:
        raise _missing(_("No such report of this sweep task."), field)
    return report


# --- emergency mode --------------------------------------------------------------------------------


def activations_for(user) -> QuerySet:
    """Emergency activations the user may see: those whose subtree meets the user's scope (above it or
    inside it); a department's handlers see those over their department's area."""
    from cases.emergency import Activation
    from grids.scope import scope_for

    scope = scope_for(user)
    if scope.is_admin:
        return Activation.objects.all()
    paths = list(scope.see_paths)
    if scope.department_ids:
        paths += list(Department.objects.filter(pk__in=scope.department_ids).values_list("area__path", flat=True))
    return Activation.objects.intersecting(paths) if paths else Activation.objects.none()


def access_activation(user, activation_id, *, field: str | None = None):
    pk = _pk(activation_id)
    activation = None
    if pk is not None:
        activation = activations_for(user).select_related("area", "lead", "created_by").filter(pk=pk).first()
    if activation is None:
        raise _missing(_("No such emergency activation."), field)
    return activation


def access_area(user, area, *, field: str = "area"):
    """An area the user may see, named by code or id (an Area passes through the same check)."""
    from grids.scope import visible_areas

    areas = visible_areas(user)
    found = None
    if hasattr(area, "pk"):
        found = areas.filter(pk=area.pk).first()
    elif isinstance(area, str) and area and area.isascii() and len(area) <= 32 and "\x00" not in area:
        found = areas.filter(code=area).first()
    elif _pk(area) is not None:
        found = areas.filter(pk=_pk(area)).first()
    if found is None:
        raise _missing(_("No such area."), field)
    return found


def task_force_candidates_for(area) -> QuerySet:
    """Who may serve on an activation's task force (专班): active people holding a place in the area's
    subtree or above it — officials, centre staff, grid workers, handlers of departments serving it."""
    from django.db.models import Exists, OuterRef, Q

    from cases.emergency import ancestor_paths
    from grids.models import Membership

    places = Q(area__path__startswith=area.path) | Q(area__path__in=ancestor_paths(area.path)) | Q(
        department__area__path__startswith=area.path) | Q(department__area__path__in=ancestor_paths(area.path))
    return get_user_model().objects.filter(is_active=True).filter(
        Exists(Membership.objects.filter(places, user=OuterRef("pk"))))


def access_task_force(area, usernames, *, field: str = "members") -> list:
    """The named people, each of whom must be a candidate (one NotFound naming the first who is not)."""
    names = [name for name in (usernames or []) if name]
    if not all(isinstance(name, str) and "\x00" not in name and len(name) <= 150 for name in names):
        raise _missing(_("No such person for the task force."), field)
    found = {user.username: user for user in task_force_candidates_for(area).filter(username__in=names)}
    for name in names:
        if name not in found:
            raise NotFound(_("No such person for the task force: %(name)s.") % {"name": name}, field=field)
    return [found[name] for name in dict.fromkeys(names)]


# --- patrols 巡查 ----------------------------------------------------------------------------------
# Who sees a patrol: whoever sees its grid (its worker, the centres above, officials), and the worker
# always. Who acts on it: its worker (points, check-ins, findings, end); centre staff over its grid may
# also end it. Ids of patrols (in URLs, or a finding's ``patrol`` in a report body) come from here.


def patrols_for(user) -> QuerySet[Patrol]:
    scope = scope_for(user)
    if scope.is_admin:
        return Patrol.objects.all()
    query = scope.area_q("area_") if scope.see_paths else Q(pk__in=[])
    if user is not None and user.is_authenticated:
        query |= Q(worker=user)
    return Patrol.objects.filter(query)


def access_patrol_by_id(user, patrol_id, *, field: str | None = None) -> Patrol:
    """A patrol the user may see."""
    pk = _pk(patrol_id)
    patrol = patrols_for(user).select_related("grid", "worker").filter(pk=pk).first() if pk is not None else None
    if patrol is None:
        raise _missing(_("No such patrol."), field)
    return patrol


def access_own_patrol(user, patrol_id, *, field: str | None = None) -> Patrol:
    """One of the user's own patrols, to add to it (positions, check-ins, findings). Someone else's
    patrol answers as a missing one: only its worker's phone records it."""
    pk = _pk(patrol_id)
    patrol = None
    if pk is not None and user is not None and user.is_authenticated:
        patrol = Patrol.objects.select_related("grid").filter(pk=pk, worker=user).first()
    if patrol is None:
        raise _missing(_("No such patrol."), field)
    return patrol


def may_end_patrol(user, patrol: Patrol) -> bool:
    """Its worker, or centre staff (and admins) over its grid: a forgotten patrol is ended for them."""
    if user is not None and patrol.worker_id == user.pk:
        return True
    scope = scope_for(user)
    return scope.is_admin or any(patrol.area_path.startswith(path) for path in scope.centre_paths)


def patrol_grids_for(user) -> QuerySet[Area]:
    """The grids the user may patrol: those they work in as grid worker or grid leader."""
    if user is None or not user.is_authenticated:
        return Area.objects.none()
    return Area.objects.filter(memberships__user=user, memberships__role__in=GRID_ROLES).distinct()


def access_patrol_grid(user, grid_id=None, *, field: str = "grid") -> Area:
    """The grid a patrol starts in: the one named (among the user's own), else the user's only one."""
    grids = patrol_grids_for(user)
    if grid_id in (None, ""):
        found = list(grids.order_by("code")[:2])
        if len(found) == 1:
            return found[0]
        if not found:
            raise NotFound(_("You are not a grid worker of any grid, so there is no grid to patrol."), field=field)
        raise ActionError(_("Say which of your grids you patrol."), field=field, code="required")
    pk = _pk(grid_id)
    grid = grids.filter(pk=pk).first() if pk is not None else None
    if grid is None:
        raise _missing(_("No such grid among yours."), field)
    return grid


def access_checkin_building(user, patrol, building_id, *, field: str = "building"):
    """A building of the registry the worker may see (parties' access module), in the patrol's grid."""
    from parties.access import access_building_by_id

    building = access_building_by_id(user, building_id, field=field)
    if building.grid_id != patrol.grid_id:
        raise _missing(_("No such building."), field)
    return building


# --- disputes (cases.disputes) ------------------------------------------------------------------------


def access_dispute_case_by_id(user, case_id, *, field: str | None = None) -> Case:
    """A case the user may reach as a dispute: any case they see (an accepted case of the dispute family
    is registered as a dispute from here), or a dispute they mediate or lead."""
    from cases.dispute_selectors import dispute_scope_q

    pk = _pk(case_id)
    case = None
    if pk is not None:
        case = (Case.objects.filter(dispute_scope_q(user)).select_related("category", "centre__area", "grid")
                .prefetch_related(Prefetch("dispatches", queryset=Dispatch.objects.prefetch_related("extensions")))
                .filter(pk=pk).first())
    if case is None:
        raise _missing(_("No such case."), field)
    return case


def resolution_centres_for(case: Case) -> QuerySet:
    """The resolution centres that may mediate the case: those of the areas above its grid."""
    from cases.disputes import ResolutionCentre

    codes = case.area_path.rstrip("/").split("/")
    return ResolutionCentre.objects.filter(area__code__in=codes).select_related("area")


def access_resolution_centre(user, case: Case, centre_id, *, field: str = "centre"):
    pk = _pk(centre_id)
    centre = resolution_centres_for(case).filter(pk=pk).first() if pk is not None else None
    if centre is None:
        raise _missing(_("No such resolution centre for this case's area."), field)
    return centre


def mediators_for(centre) -> QuerySet:
    """Who may be named as mediators of a session: the active mediators of the centre."""
    return get_user_model().objects.filter(
        is_active=True, mediator_posts__centre=centre, mediator_posts__is_active=True).distinct()


def access_mediator(user, centre, username, *, field: str = "mediators"):
    found = None
    if isinstance(username, str) and username and "\x00" not in username:
        found = mediators_for(centre).filter(username=username).first()
    if found is None:
        raise _missing(_("No such mediator at this resolution centre."), field)
    return found


def leaders_for(case: Case) -> QuerySet:
    """Who may be named the dispute's leader in charge (专诊): officials and centre leads over its area."""
    from grids.choices import Role

    codes = case.area_path.rstrip("/").split("/")
    return get_user_model().objects.filter(
        is_active=True, memberships__role__in=[Role.OFFICIAL, Role.CENTRE_LEAD], memberships__area__code__in=codes,
    ).distinct()


def access_leader(user, case: Case, username, *, field: str = "leader"):
    found = None
    if isinstance(username, str) and username and "\x00" not in username:
        found = leaders_for(case).filter(username=username).first()
    if found is None:
        raise _missing(_("No such official or centre lead over this case's area."), field)
    return found


def access_joint_department(user, case: Case, department_id, *, field: str = "departments") -> Department:
    """A department taking part in a joint consultation (会诊): active, serving the case's area."""
    codes = case.area_path.rstrip("/").split("/")
    pk = _pk(department_id)
    department = (Department.objects.filter(is_active=True, area__code__in=codes, pk=pk).first()
                  if pk is not None else None)
    if department is None:
        raise _missing(_("No such department for this case's area."), field)
    return department
