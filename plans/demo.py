"""The demo city's work plan: a district's plan in progress, through the real actions, with tasks
whose lights are green, yellow and red today, indicators half met, a supervision note and a
negative-list event; and two campaigns (平安村居 over a town, 无医闹 over the district) with entries
certified, failed, revoked and not yet inspected. Fast: a few dozen rows."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from govgrid import clock
from grids.choices import CENTRE_ROLES, Level, Role
from grids.models import Area, Centre, Department, Membership
from plans import actions, campaigns
from plans.choices import NegativeKind
from plans.models import Campaign, CampaignType, WorkPlan

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


def _setting():
    """The first district that has a centre with staff and departments with handlers: (district,
    its centre, departments led first by a town's, handlers by department, staff by area, officials
    by path), or None."""
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
            return district, centre, departments, handlers, staff, officials
    return None


def generate(*, today: date | None = None) -> WorkPlan | None:
    """One plan for the first district that has a centre with staff and departments with handlers."""
    today = today or timezone.localdate()
    found = _setting()
    if found is None:
        return None
    district, centre, departments, handlers, staff, officials = found
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


def _ensure_campaign_types() -> None:
    if not CampaignType.objects.exists():  # the migration's seed, put back after a flush
        from django.apps import apps

        from plans.campaign_seed import seed

        seed(apps, None)


def _checklist(kind: CampaignType, *, fail_required: bool = False) -> list[dict]:
    failed = kind.criteria.filter(required=True).order_by("order").first() if fail_required else None
    return [{"criterion": c.pk, "passed": c != failed, "note": "现场发现问题，限期整改" if c == failed else ""}
            for c in kind.criteria.order_by("order")]


def _run_campaign(*, owner, inspector, kind: CampaignType, area: Area, subjects: list[Area], title: str,
                  today: date, lead: dict) -> Campaign:
    """A campaign over ``area`` with ``subjects`` entered 80 days ago, in turn: certified, inspected and
    failed, certified then revoked, not yet inspected (and round again when there are more)."""
    begun = today - timedelta(days=80)
    with clock.at(_morning(begun)):
        campaign = campaigns.create_campaign(actor=owner, type=kind, area=area, title=title, year=today.year,
                                             starts_on=begun, ends_on=date(today.year, 12, 31), **lead)
        entries = [campaigns.add_entry(actor=owner, campaign=campaign, area=subject) for subject in subjects]
    for index, entry in enumerate(entries):
        state = index % 4
        if state == 3:
            continue  # entered, not yet inspected
        with clock.at(_morning(today - timedelta(days=30 - index))):
            campaigns.record_inspection(actor=inspector, entry=entry, note="对照创建标准逐项检查。",
                                        results=_checklist(kind, fail_required=state == 1))
            if state != 1:
                campaigns.certify_entry(actor=owner, entry=entry)
        if state == 2:
            with clock.at(_morning(today - timedelta(days=5))):
                campaigns.revoke_certification(actor=owner, certification=entry.certifications.get(),
                                               reason="辖区发生一起刑事案件，不再符合创建标准。")
    return campaign


def generate_campaigns(*, today: date | None = None) -> list[Campaign]:
    """A 平安村居 campaign over a town (its communities and grids enter) and a 无医闹 campaign over the
    district (its communities enter), each with entries certified, failed, revoked and not yet inspected."""
    today = today or timezone.localdate()
    found = _setting()
    if found is None:
        return []
    district, centre, departments, handlers, staff, officials = found
    _ensure_campaign_types()
    owner = staff[centre.area_id]
    lead = departments[0]
    made = []
    town = lead.area if lead.area.level == Level.TOWN else (
        Area.objects.filter(parent=district, level=Level.TOWN).order_by("code").first())
    if town is not None:
        subjects = list(Area.objects.filter(path__startswith=town.path, level=Level.COMMUNITY).order_by("code")[:6])
        subjects += list(Area.objects.filter(path__startswith=town.path, level=Level.GRID).order_by("code")[:2])
        if subjects:
            made.append(_run_campaign(owner=owner, inspector=handlers[lead.pk], kind=CampaignType.objects.get(
                code="safe_village"), area=town, subjects=subjects, title=f"{town.name}{today.year}年平安村居创建",
                today=today, lead={"lead_department": lead}))
    below = Area.objects.filter(path__startswith=district.path)
    subjects = list(below.filter(level=Level.COMMUNITY).order_by("code")[:8])
    subjects += list(below.filter(level=Level.GRID).order_by("code")[:max(0, 4 - len(subjects))])
    if subjects:
        made.append(_run_campaign(
            owner=owner, inspector=owner, kind=CampaignType.objects.get(code="no_medical_disturbance"),
            area=district, subjects=subjects, title=f"{district.name}{today.year}年创建无医闹", today=today,
            lead={"lead_centre": centre}))
    return made


def generate_campaigns_if_empty(**kwargs) -> list[Campaign]:
    if Campaign.objects.exists():
        return []
    with transaction.atomic():
        return generate_campaigns(**kwargs)
