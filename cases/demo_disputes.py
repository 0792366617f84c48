"""Demo disputes: resolution centres at the district and town levels with their mediators, a few dozen
disputes played through the real actions to every stage (mediating, agreed, resolved and closed, failed,
referred up, referred to court and concluded), the five visits, a leader in charge on the biggest, and
this month's screening reports of most grids (disputes found, or a zero report).

Called by cases.demo.generate (``manage.py seed_demo_cases``); the mediators are the demo city's own
centre staff and the handlers of its justice and police departments, so the demo logins reach them.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta

from django.utils import timezone

from cases import actions
from cases.actions import disputes as d
from cases.disputes import DISPUTE_FAMILY_CODE, Mediator, MediatorKind, ResolutionCentre
from cases.models import Case, Category
from govgrid import clock
from govgrid.errors import ActionError
from grids.choices import CENTRE_ROLES, GRID_ROLES, DepartmentKind, Level, Role
from grids.models import Area, Centre, Department, Membership

STAGES = [  # (target, weight)
    ("mediating", 5), ("agreed", 4), ("resolved", 8), ("failed", 3), ("referred_up", 2), ("litigation", 2),
    ("concluded", 2), ("waiting", 2),
]
STORIES = ["楼上漏水导致楼下天花板受损，双方就赔偿产生争执", "工资拖欠三个月，十余名工人到企业讨薪",
           "物业费上涨引发业主不满，拒绝缴费", "宅基地边界不清，两户发生口角", "装修噪音扰民，邻里多次争吵",
           "租客退租押金未退还", "赡养老人问题引发家庭矛盾", "预付卡商家关门，消费者要求退款"]
PLACES = ["社区调解室", "镇矛调中心", "当事人家中", "村委会会议室"]
KIND_BY_DEPARTMENT = {DepartmentKind.JUSTICE: MediatorKind.PEOPLES_MEDIATOR,
                      DepartmentKind.PUBLIC_SECURITY: MediatorKind.POLICE}


def resolution_centres() -> dict[int, ResolutionCentre]:
    """A resolution centre for every district and town that has a command centre, with the departments of
    its area stationed there and their mediators: the centre's staff, the justice and police handlers."""
    centres = {}
    for centre in Centre.objects.filter(level__in=(Level.DISTRICT, Level.TOWN)).select_related("area"):
        rc, _ = ResolutionCentre.objects.get_or_create(
            area=centre.area, defaults={"name": f"{centre.area.name}矛盾纠纷调处化解中心",
                                        "name_en": f"{centre.area.name} dispute resolution centre"})
        departments = list(Department.objects.filter(area=centre.area, is_active=True))
        rc.departments.add(*departments)
        for membership in Membership.objects.filter(area=centre.area, role__in=CENTRE_ROLES).select_related("user"):
            Mediator.objects.get_or_create(centre=rc, user=membership.user,
                                           defaults={"kind": MediatorKind.PEOPLES_MEDIATOR})
        for membership in Membership.objects.filter(department__in=departments, role=Role.DEPT_HANDLER,
                                                    department__kind__in=KIND_BY_DEPARTMENT).select_related(
                                                        "department"):
            Mediator.objects.get_or_create(centre=rc, user_id=membership.user_id,
                                           defaults={"kind": KIND_BY_DEPARTMENT[membership.department.kind]})
        centres[centre.area_id] = rc
    return centres


def _nearest(case: Case, centres: dict[int, ResolutionCentre], level: int) -> ResolutionCentre | None:
    codes = case.area_path.rstrip("/").split("/")
    return next((rc for rc in centres.values() if rc.area.code in codes and rc.area.level == level), None)


def generate(count: int = 36, *, seed: int = 2026, now: datetime | None = None,
             targets: list[str] | None = None) -> dict[str, int]:
    """Play ``count`` disputes to every stage (or one to each of ``targets``); returns how many were
    played to each target."""
    rng = random.Random(seed)
    now = now or timezone.now()
    centres = resolution_centres()
    leaves = list(Category.objects.filter(code__startswith=DISPUTE_FAMILY_CODE, parent__isnull=False,
                                          is_active=True).order_by("code"))
    workers: dict[int, list] = defaultdict(list)
    staff: dict[int, list] = defaultdict(list)
    leaders: dict[int, list] = defaultdict(list)
    for membership in Membership.objects.select_related("user"):
        if membership.role in GRID_ROLES:
            workers[membership.area_id].append(membership.user)
        elif membership.role in CENTRE_ROLES:
            staff[membership.area_id].append(membership.user)
        if membership.role in (Role.OFFICIAL, Role.CENTRE_LEAD):
            leaders[membership.area_id].append(membership.user)
    grids = [g for g in Area.objects.grids().order_by("code") if workers.get(g.pk)]
    if not leaves or not grids or not centres:
        return {}
    grids = rng.sample(grids, min(len(grids), 12))  # a few grids with disputes: the rest send zero reports
    found: dict[int, list[int]] = defaultdict(list)
    stages: dict[str, int] = defaultdict(int)
    targets = targets or rng.choices([t for t, _ in STAGES], weights=[w for _, w in STAGES], k=count)
    for target in targets:
        grid = rng.choice(grids)
        try:
            case = _play(rng, target, grid, rng.choice(workers[grid.pk]), rng.choice(leaves), centres, staff,
                         leaders, now)
        except ActionError:
            continue
        if case is None:
            continue
        if case.reported_at >= now.replace(day=1):
            found[grid.pk].append(case.pk)
        stages[target] += 1
    _screen(rng, workers, found, now)
    return dict(stages)


def _play(rng, target, grid, worker, category, centres, staff, leaders, now) -> Case | None:
    days_ago = rng.uniform(22, 28) if target in ("resolved", "concluded") else rng.uniform(0.5, 20)
    moment = now - timedelta(days=days_ago)

    def step(hours: float = 20) -> datetime:
        nonlocal moment
        moment = min(moment + timedelta(hours=rng.uniform(1, hours)), now - timedelta(minutes=1))
        return moment

    centroid = grid.centroid
    with clock.at(moment):
        case, _ = actions.report_case(reporter=worker, category=category, lon=centroid.x + rng.uniform(-3e-4, 3e-4),
                                      lat=centroid.y + rng.uniform(-3e-4, 3e-4), description=rng.choice(STORIES))
    operators = staff.get(case.centre.area_id)
    if not operators:
        return case
    operator = rng.choice(operators)
    with clock.at(step(3)):
        case = actions.accept_case(case, actor=operator)
    if target == "waiting":
        return case
    town_rc = _nearest(case, centres, Level.TOWN) or _nearest(case, centres, Level.DISTRICT)
    if town_rc is None:
        return case
    people = rng.choice([2, 2, 3, 4, 6, 12, 30])
    with clock.at(step(3)):
        d.open_dispute(case, actor=operator, centre=town_rc.pk, source=rng.choice(["screening", "screening", "hotline",
                                                                                  "petition"]),
                       people_involved=people, amount=rng.choice([None, 3000, 12000, 85000]),
                       petitions=rng.choice([0, 0, 0, 1, 2]), violence_threatened=rng.random() < 0.08)
    _parties(rng, case, grid, category, operator, step)
    mediators = list(Mediator.objects.filter(centre=town_rc).select_related("user"))
    if not mediators:
        return case
    mediator = rng.choice(mediators).user
    with clock.at(step(8)):
        d.record_visit(case.pk, actor=worker, kind=rng.choice(["patrol", "inquiry"]), note="上门了解情况")
    codes = case.area_path.rstrip("/").split("/")
    bosses = [u for area in Area.objects.filter(code__in=codes) for u in leaders.get(area.pk, [])]
    if people >= 10 and bosses:
        boss = rng.choice(bosses)
        with clock.at(step(4)):
            d.assign_leader(case.pk, actor=operator, leader=boss.username)
        with clock.at(step(12)):
            d.record_visit(case.pk, actor=boss, kind="leader", note="包案领导现场协调")
        departments = list(town_rc.departments.all()[:2])
        if len(departments) == 2:
            with clock.at(step(12)):
                d.record_visit(case.pk, actor=operator, kind="joint", departments=[
                    (departments[0].pk, "牵头调解"), (departments[1].pk, "政策解释与法律指引")])
    first = "failed" if target in ("failed", "referred_up", "litigation", "concluded") else "continue"
    with clock.at(step()):
        d.hold_session(case.pk, actor=mediator, held_at=clock.now(), place=rng.choice(PLACES), method="at_centre",
                       result=first, attendance="双方当事人到场")
    if target == "mediating":
        return case
    if first == "failed":
        with clock.at(step(4)):
            d.mark_failure(case.pk, actor=mediator, reason="双方分歧较大，未能达成一致")
        if target == "failed":
            return case
        district_rc = _nearest(case, centres, Level.DISTRICT)
        if target == "referred_up" and district_rc is not None and district_rc != town_rc:
            with clock.at(step(6)):
                d.refer_dispute(case.pk, actor=mediator, target="centre", to_centre=district_rc.pk,
                                reason="案情复杂，提请区级中心调处")
            return case
        with clock.at(step(6)):
            d.refer_dispute(case.pk, actor=mediator, target="litigation", reason="引导当事人通过诉讼解决")
        if target == "concluded":
            with clock.at(step(24 * 10)):
                d.record_referral_result(case.pk, actor=mediator, result="法院已作出判决")
            with clock.at(step(4)):
                return actions.close_case(case.pk, actor=operator, note="司法程序已终结")
        return case
    with clock.at(step()):
        d.hold_session(case.pk, actor=mediator, held_at=clock.now(), place=rng.choice(PLACES), method="joint",
                       result="agreed", attendance="双方当事人及社区代表到场")
        signed = timezone.localdate(clock.now())
    on_the_spot = target == "resolved"
    with clock.at(step(2)):
        d.record_agreement(case.pk, actor=mediator, terms="一方赔偿损失并书面道歉，双方不再追究",
                           performance="on_the_spot" if on_the_spot else "by_date",
                           perform_by=signed if on_the_spot else signed + timedelta(days=20))
    with clock.at(step(24)):
        d.request_confirmation(case.pk, actor=mediator, court="基层人民法院")
    if target == "agreed":
        return case
    with clock.at(step(24 * 3)):
        d.grant_confirmation(case.pk, actor=mediator, granted_on=timezone.localdate(clock.now()))
    moment = max(moment, now - timedelta(days=days_ago) + timedelta(days=10))
    with clock.at(step(4)):
        d.record_follow_up(case.pk, actor=worker, held=True, note="协议已履行")
        d.mark_success(case.pk, actor=mediator, note="矛盾化解")
    with clock.at(step(4)):
        case = actions.close_case(case.pk, actor=operator, note="调解成功，结案")
    if rng.random() < 0.4:
        with clock.at(step(24)):
            d.record_visit(case.pk, actor=worker, kind="follow_up", note="回访双方，关系平稳",
                           next_due_on=timezone.localdate(now) + timedelta(days=rng.randint(3, 30)))
    return case


def _parties(rng, case, grid, category, operator, step) -> None:
    """The grid's own residents (and, for a labour or property dispute, an organisation) as the parties."""
    from parties.models import Organisation, Resident

    residents = list(Resident.objects.filter(grid=grid, moved_out_on__isnull=True).order_by("pk")[:40])
    chosen = rng.sample(residents, min(2, len(residents)))
    roles = ["applicant", "respondent"]
    if category.code in ("0703", "0704"):
        organisation = Organisation.objects.filter(grid=grid).order_by("pk").first()
        if organisation is not None:
            chosen = chosen[:1] + [organisation]
    for party, role in zip(chosen, roles, strict=False):
        kind = "organisation" if isinstance(party, Organisation) else "resident"
        try:
            with clock.at(step(1)):
                d.add_party(case.pk, actor=operator, role=role, **{kind: party.pk})
        except ActionError:
            continue


def _screen(rng, workers, found, now) -> None:
    """This month's screening: the grids with disputes list them, most others send a zero report."""
    with clock.at(now - timedelta(minutes=1)):
        month = timezone.localdate(clock.now()).replace(day=1)
        for grid in Area.objects.grids().filter(pk__in=list(workers)).order_by("code"):
            if not found.get(grid.pk) and rng.random() < 0.2:
                continue  # not reported yet: coverage below 100 %
            try:
                d.report_screening(actor=rng.choice(workers[grid.pk]), grid=grid, month=month,
                                   found=found.get(grid.pk, []), zero=not found.get(grid.pk))
            except ActionError:
                continue
