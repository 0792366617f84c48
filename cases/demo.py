"""A month of demo cases, played through the real actions so every row is one the pipeline could make.

Each case starts at a moment in the past 30 days and walks towards a target state — some stop at
reported, some are rejected or merged, some go through returns, extensions, suspensions, failed
verifications and supervision, most are closed — with each step a few working hours after the one
before (govgrid.clock.at). A final sweep at the real time sets the lights, so pages and dashboards
show green, yellow and red cases, overdue ones, escalations and a full timeline for each.
"""

from __future__ import annotations

import random
import struct
import zlib
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from cases import actions, jobs, selectors
from cases.choices import OPEN_STATUSES, DispatchRole, DispatchStatus, Satisfaction, Supervision
from cases.models import Case, Category, Dispatch, ExtensionRequest
from govgrid import clock
from govgrid.errors import ActionError
from govgrid.workcalendar import TimeUnit
from grids.choices import CENTRE_ROLES, GRID_ROLES, Role
from grids.models import Area, Centre, Department, Membership


def _png(width: int = 160, height: int = 120, seed: int = 0) -> bytes:
    """A soft two-colour gradient PNG: a placeholder photo that looks like one in a thumbnail."""
    rng = random.Random(seed)
    top = [rng.randint(120, 200) for _ in range(3)]
    bottom = [rng.randint(60, 140) for _ in range(3)]
    rows = bytearray()
    for y in range(height):
        t = y / (height - 1)
        pixel = bytes(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        rows += b"\x00" + pixel * width

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(rows))) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


PHOTOS = [_png(seed=n) for n in range(6)]

TARGETS = [  # (target, weight)
    ("reported", 7), ("accepted", 4), ("dispatched", 7), ("in_progress", 18), ("handled", 7), ("verified", 4),
    ("closed", 33), ("rejected", 4), ("merged", 2), ("filed", 4), ("self_resolved", 8), ("returned", 2),
]
ORDER = ["reported", "accepted", "dispatched", "in_progress", "handled", "verified", "closed"]

DETAILS = [
    "群众反映较强烈，请尽快处理", "已现场拍照取证", "影响周边居民正常生活", "存在一定安全隐患",
    "多次出现，需要根治", "位置在路口东侧约20米处",
]
PLACES = ["文华路", "季华路", "汾江中路", "岭南大道", "魁奇路", "同济路", "建新路", "普澜路", "绿景路", "东方广场"]


def photo() -> SimpleUploadedFile:
    return SimpleUploadedFile("photo.png", random.choice(PHOTOS), content_type="image/png")


class _People:
    """Who can act where, loaded once."""

    def __init__(self) -> None:
        self.grid_workers: dict[int, list] = defaultdict(list)
        self.centre_staff: dict[int, list] = defaultdict(list)
        self.officials: dict[int, list] = defaultdict(list)
        self.handlers: dict[int, list] = defaultdict(list)
        for membership in Membership.objects.select_related("user"):
            if membership.role in GRID_ROLES:
                self.grid_workers[membership.area_id].append(membership.user)
            elif membership.role in CENTRE_ROLES:
                self.centre_staff[membership.area_id].append(membership.user)
            elif membership.role == Role.OFFICIAL:
                self.officials[membership.area_id].append(membership.user)
            elif membership.role == Role.DEPT_HANDLER:
                self.handlers[membership.department_id].append(membership.user)


def generate(count: int = 300, *, seed: int = 2026, now: datetime | None = None,
             progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """Play `count` cases through the pipeline in the areas that exist. Returns counts by status."""
    rng = random.Random(seed)
    now = now or timezone.now()
    people = _People()
    grids = [grid for grid in Area.objects.grids().order_by("code") if people.grid_workers.get(grid.pk)]
    leaves = list(Category.objects.filter(parent__isnull=False, is_active=True).order_by("sort_order", "code")[:40])
    if not grids or not leaves:
        raise ValueError("Seed a city and the categories first.")
    weights = [1.0 / (1 + i / 6) for i in range(len(leaves))]  # the most used categories first
    departments = {d.pk: d for d in Department.objects.select_related("area")}
    centres = {c.area_id: c for c in Centre.objects.select_related("area")}
    made: list[Case] = []
    for index in range(count):
        target = rng.choices([t for t, _ in TARGETS], weights=[w for _, w in TARGETS])[0]
        # Cases still open are mostly recent (so lights are green, yellow and some red, as in a centre
        # that keeps up); finished ones spread over the month.
        if target in ORDER[:3] and rng.random() < 0.6:
            age_hours = rng.uniform(0.1, 5)
        elif target in ORDER[:-1] and rng.random() < 0.75:
            age_hours = rng.uniform(0.2, 30)
        else:
            age_hours = rng.uniform(0.5, 24 * 30)
        start = now - timedelta(hours=age_hours)
        try:
            case = _play(rng, people, grids, leaves, weights, departments, centres, made, target, start, now)
        except ActionError as exc:  # a step refused (e.g. no department to dispatch to): keep what was made
            if progress:
                progress(f"case {index}: stopped early ({exc.message})")
            continue
        if case is not None:
            made.append(case)
    from cases import demo_disputes

    # Disputes at every stage, their centres and mediators, and this month's screening (cases.demo_disputes).
    demo_disputes.generate(max(6, count // 8), seed=seed, now=now)
    jobs.sweep_deadlines(now=now)
    totals: dict[str, int] = defaultdict(int)
    for status in Case.objects.values_list("status", flat=True):
        totals[status] += 1
    return dict(totals)


def _play(rng, people, grids, leaves, weights, departments, centres, made, target, start, now) -> Case | None:
    grid = rng.choice(grids)
    worker = rng.choice(people.grid_workers[grid.pk])
    category = rng.choices(leaves, weights=weights)[0]
    centroid = grid.centroid
    lon, lat = centroid.x + rng.uniform(-0.0004, 0.0004), centroid.y + rng.uniform(-0.0004, 0.0004)
    description = f"{rng.choice(PLACES)}附近发现{category.name}情况，{rng.choice(DETAILS)}。"
    moment = start

    def step(hours: float = 1.5) -> datetime:
        nonlocal moment
        moment = min(moment + timedelta(hours=rng.uniform(0.3, hours)), now - timedelta(minutes=1))
        return moment

    with clock.at(moment):
        case, _ = actions.report_case(
            reporter=worker, category=category, lon=lon, lat=lat, description=description,
            address=f"{grid.parent.name}{rng.randint(1, 180)}号", photos=[photo()],
            self_resolve=target == "self_resolved", report_only=target == "filed",
            resolution_note="已现场劝导整改" if target == "self_resolved" else "",
            after_photos=[photo()] if target == "self_resolved" else [],
        )
    if target in ("self_resolved", "filed", "reported"):
        return case  # old unaccepted reports are escalated by the final sweep
    operator = _staff(people, case.centre, rng)
    if target == "rejected":
        with clock.at(step()):
            return actions.reject_case(case, actor=operator, reason="经核实不属于网格事件受理范围")
    if target == "merged":
        same = [m.pk for m in made if m.category_id == case.category_id]
        masters = list(Case.objects.filter(pk__in=same, status__in=OPEN_STATUSES))
        if not masters:
            return case
        with clock.at(step()):
            return actions.merge_case(case, actor=operator, master=rng.choice(masters), note="重复上报")
    with clock.at(step()):
        case = actions.accept_case(case, actor=operator)
    if target == "accepted":
        return case
    case.refresh_from_db()
    lead = case.suggested_department or selectors.suggest_lead_department(case)
    candidates = [d for d in departments.values() if case.area_path.startswith(d.area.path)]
    if lead is None:
        lead = rng.choice(candidates) if candidates else None
    if lead is None:
        return case
    others = [d for d in candidates if d.pk != lead.pk]
    assists = [rng.choice(others)] if others and rng.random() < 0.2 else []
    with clock.at(step()):
        case = actions.dispatch_case(case, actor=operator, lead=lead, assists=assists)
    if target == "returned":
        with clock.at(step()):
            dispatch = case.dispatches.get(role=DispatchRole.LEAD, status=DispatchStatus.DISPATCHED)
            return actions.return_dispatch(dispatch, actor=_handler(people, dispatch, rng),
                                           reason="不属于本部门职责，建议派往其他部门")
    if target == "dispatched":
        return case
    for dispatch in Dispatch.objects.filter(case=case).order_by("role"):
        with clock.at(step(2)):
            case = actions.sign_dispatch(dispatch, actor=_handler(people, dispatch, rng))
    if rng.random() < 0.15:
        lead_dispatch = case.dispatches.get(role=DispatchRole.LEAD)
        with clock.at(step(0.5)):
            if clock.now() < lead_dispatch.due_at:
                extension = actions.request_extension(
                    lead_dispatch, actor=_handler(people, lead_dispatch, rng), amount=1,
                    unit=TimeUnit.WORKING_DAYS, reason="需协调相关单位共同处置")
                with clock.at(step(1)):
                    actions.decide_extension(
                        ExtensionRequest.objects.get(pk=extension.pk), actor=operator,
                        approve=rng.random() < 0.8, note="同意延期" if rng.random() < 0.8 else "请按期完成")
    if rng.random() < 0.08:
        with clock.at(step()):
            actions.supervise_case(case, actor=operator, level=rng.choice(list(Supervision.values)[1:]),
                                   note="请加快处置进度")
    if rng.random() < 0.05:
        with clock.at(step()):
            actions.suspend_case(case, actor=operator, reason="等待法院判决")
        if target != "in_progress":
            with clock.at(step(8)):
                actions.resume_case(case, actor=operator, note="判决已出，恢复处置")
    if target == "in_progress":
        return Case.objects.get(pk=case.pk)
    rework = rng.random() < 0.15
    for round_ in range(2 if rework else 1):
        for dispatch in Dispatch.objects.filter(case=case, status=DispatchStatus.SIGNED).order_by("-role"):
            with clock.at(step(10 if round_ == 0 else 4)):
                case = actions.feedback_dispatch(dispatch, actor=_handler(people, dispatch, rng),
                                                 note="已按要求处置完毕", photos=[photo()])
        if target == "handled":
            return case
        verifier = rng.choice(people.grid_workers[case.grid_id])
        with clock.at(step()):
            case = actions.assign_verification(case, actor=operator, verifier=verifier)
        passed = not (rework and round_ == 0)
        with clock.at(step(3)):
            case = actions.verify_case(case, actor=verifier, passed=passed, photos=[photo()],
                                       note="" if passed else "现场仍有残留，需返工")
    if target == "verified":
        return case
    with clock.at(step()):
        case = actions.close_case(case, actor=operator, note="经核查已处置到位")
    if rng.random() < 0.6:
        satisfaction = rng.choices(list(Satisfaction.values), weights=[8, 3, 1])[0]
        with clock.at(step(4)):
            case = actions.follow_up(case, actor=operator, satisfaction=satisfaction)
    return case


def _staff(people, centre: Centre, rng) -> object:
    staff = people.centre_staff.get(centre.area_id)
    if not staff:
        return get_user_model().objects.filter(is_superuser=True).first()
    return rng.choice(staff)


def _handler(people, dispatch: Dispatch, rng):
    handlers = people.handlers.get(dispatch.department_id)
    if not handlers:
        return get_user_model().objects.filter(is_superuser=True).first()
    return rng.choice(handlers)


def generate_if_empty(count: int, **kwargs) -> dict[str, int] | None:
    if Case.objects.exists():
        return None
    with transaction.atomic():
        return generate(count, **kwargs)
