"""The access module: every object a user names, by id in a URL or inside a request body, comes from here.

Each ``access_*`` function returns the object if the user may reach it, or raises NotFound with the
same message whether it does not exist or lies outside the user's scope (DESIGN.md §3), so an answer
never tells an outsider that something exists. The ``*_for`` functions give the querysets that forms
and serializer related fields choose from, so a field's "does not exist" error is the same for both.

What a user may *do* to a case they can reach is the pipeline table's business (cases.pipeline).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _

from cases.choices import OPEN_STATUSES, ExtensionStatus
from cases.models import Case, Dispatch, ExtensionRequest
from cases.selectors import visible_cases
from govgrid.errors import ActionError, NotFound
from grids.choices import GRID_ROLES
from grids.models import Centre, Department
from grids.scope import visible_departments


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
