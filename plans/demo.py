"""The demo city's work plan: a district's plan in progress, through the real actions, with tasks
whose lights are green, yellow and red today, indicators half met, a supervision note and a
negative-list event. Fast: a dozen rows."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from govgrid import clock
from grids.choices import CENTRE_ROLES, Level, Role
from grids.models import Area, Centre, Department, Membership
from plans import actions
from plans.choices import NegativeKind
from plans.models import WorkPlan

# title, days since start, days to deadline (negative: overdue), percent reported, indicator (name, target,
# unit, actual)
TASKS = [
    ("矛盾纠纷排查化解", 30, 30, 55, ("矛盾纠纷化解率", 95, "%", 96)),          # 50 expected: green
    ("重点人员走访全覆盖", 30, 30, 35, ("走访户数", 400, "户", 210)),           # lag 15: yellow
    ("出租屋安全隐患整治", 50, 10, 30, ("隐患整改率", 100, "%", 60)),           # 83 expected: red
    ("平安校园周边治理", 60, -5, 80, ("校园周边巡查次数", 60, "次", 62)),       # overdue: red
    ("网格员业务培训", 40, 20, 100, ("培训人次", 300, "人次", 320)),            # done: green
]


def _morning(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(9, 30)))


def generate(*, today: date | None = None) -> WorkPlan | None:
    """One plan for the first district that has a centre with staff and departments with handlers."""
    today = today or timezone.localdate()
    handlers: dict[int, object] = {}
    staff: dict[int, object] = {}
    officials: dict[str, object] = {}
    for membership in Membership.objects.select_related("user", "area").order_by("pk"):
        if membership.role == Role.DEPT_HANDLER:
            handlers.setdefault(membership.department_id, membership.user)
        elif membership.role in CENTRE_ROLES:
            staff.setdefault(membership.area_id, membership.user)
        elif membership.role == Role.OFFICIAL:
            officials.setdefault(membership.area.path, membership.user)
    for district in Area.objects.filter(level=Level.DISTRICT).order_by("code"):
        centre = Centre.objects.filter(area=district).first()
        departments = [d for d in Department.objects.filter(area__path__startswith=district.path, is_active=True)
                       .order_by("-area__level", "area__path", "pk") if d.pk in handlers]  # a town's unit first
        if centre and centre.area_id in staff and departments:
            break
    else:
        return None
    owner = staff[centre.area_id]
    official = next((user for path, user in officials.items() if district.path.startswith(path)), None)
    towns = list(Centre.objects.filter(area__parent=district).order_by("area__code")[:2])
    start_of_plan = today - timedelta(days=60)
    with clock.at(_morning(start_of_plan)):
        plan = actions.create_plan(actor=owner, area=district, year=today.year,
                                   title=f"{district.name}{today.year}年平安建设任务清单")
    for index, (title, since, until, percent, (name, target, unit, actual)) in enumerate(TASKS):
        lead = departments[index % len(departments)]
        with clock.at(_morning(start_of_plan)):
            task = actions.create_task(actor=owner, plan=plan, title=title, lead_department=lead,
                                       starts_on=today - timedelta(days=since), deadline=today + timedelta(days=until),
                                       assisting_centres=towns)
            indicator = actions.add_indicator(actor=owner, task=task, name=name, target=target, unit=unit)
            actions.add_milestone(actor=owner, task=task, title="阶段检查",
                                  due_on=task.starts_on + (task.deadline - task.starts_on) / 2)
        with clock.at(_morning(today - timedelta(days=2))):
            actions.report_progress(actor=handlers[lead.pk], task=task, percent=percent,
                                    text=f"{title}：按计划推进，已完成 {percent}%。",
                                    figures={str(indicator.pk): actual})
        if official and index == 2:
            with clock.at(_morning(today - timedelta(days=1))):
                actions.supervise_task(actor=official, task=task, note="进度滞后，请牵头单位一周内拿出整改措施。")
    with clock.at(_morning(today - timedelta(days=3))):
        actions.record_negative_event(actor=owner, plan=plan, department=departments[-1],
                                      on=today - timedelta(days=5), kind=NegativeKind.MASS_PETITION, points=2,
                                      note="辖区发生一起群体性越级上访。")
    return plan


def generate_if_empty(**kwargs) -> WorkPlan | None:
    if WorkPlan.objects.exists():
        return None
    with transaction.atomic():
        return generate(**kwargs)
