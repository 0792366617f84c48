"""A hand-built week around the 2026 National Day holiday (1–7 October), played through the real actions.

All cases are in Town One's grid A-1 except H (Town Two). Times are Asia/Shanghai.

Wednesday 30 September (a working day)
  09:00  report A B C(self-resolved) D(report-only) E F G H(Town Two) I(hotline, by the centre) J(legacy)
  09:10  accept A B G H I J; reject E; merge F into A
  10:00  dispatch A (2 working days → due Fri 9 Oct 10:00, the holiday skipped),
         B (2 natural days → due Fri 2 Oct 10:00), G and I (4 working hours → due 16:00)
  10:30  sign A B I; Town One's 城管中队 returns G (wrong department)
  11:00  dispatch G to the district's 城管局 (due 17:00); I fed back (60 working minutes)
  11:30  sign G; the centre has A-1's worker verify I (the hotline's case has no reporter in the grid),
         who verifies it; 11:45 follow-up call on I: satisfied; 12:00 close I (on time)
  14:30  G fed back (90 working minutes: 11:00–12:00, 14:00–14:30)
  15:00  G fails verification → rework, new deadline 4 working hours on → Thu 8 Oct 09:30
  16:00  G fed back again (60 minutes); 16:30 verified; 17:00 closed (on time)
Friday 2 October (holiday)
  11:00  deadline sweep: B's light turns red (overdue); the city official supervises B
Thursday 8 October (first working day after the holiday)
  15:00  A and B fed back (630 working minutes each: 360 on 30 Sep + 270 on 8 Oct)
  15:30  both verified; 16:00 both closed: A on time (due 9 Oct), B late (due 2 Oct)
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import time_machine
from django.contrib.auth import get_user_model
from django.db.models.signals import pre_save

from cases import actions, jobs
from cases.choices import ACTIVE_DISPATCH_STATUSES, DispatchRole, ExtensionStatus
from cases.models import Case, Dispatch, ExtensionRequest
from cases.tests.conftest import photo
from govgrid.workcalendar import TimeUnit
from grids.choices import Role
from grids.models import Membership

SHANGHAI = ZoneInfo("Asia/Shanghai")
IN_G1 = {"lon": 113.005, "lat": 23.005}
IN_G3 = {"lon": 113.025, "lat": 23.005}
LEGACY_MARK = "[历史遗留]"
START, END = date(2026, 9, 28), date(2026, 10, 9)


def at(day: int, hour: int, minute: int = 0, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


def sep30(hour: int, minute: int = 0) -> datetime:
    return at(30, hour, minute, month=9)


def _mark_legacy(sender, instance, **kwargs):
    if instance._state.adding and LEGACY_MARK in instance.description:
        instance.is_legacy = True


@contextmanager
def legacy_reports():
    """Cases whose description carries LEGACY_MARK are saved as legacy (历史遗留) from their first row,
    the way an import of old cases would write them (no action sets the flag)."""
    pre_save.connect(_mark_legacy, sender=Case, dispatch_uid="reports_tests_legacy")
    try:
        yield
    finally:
        pre_save.disconnect(sender=Case, dispatch_uid="reports_tests_legacy")


def district_handler(city):
    user, _created = get_user_model().objects.get_or_create(username="district_handler")
    Membership.objects.get_or_create(user=user, role=Role.DEPT_HANDLER, department=city.district_um)
    return user


def town_official(city, town):
    user = get_user_model().objects.create_user(f"official_{town.code}")
    Membership.objects.create(user=user, role=Role.OFFICIAL, area=town)
    return user


def live_lead(case: Case) -> Dispatch:
    return Dispatch.objects.get(case=case, role=DispatchRole.LEAD, status__in=ACTIVE_DISPATCH_STATUSES)


def report(city, cats, reporter=None, where=IN_G1, category=None, **extra) -> Case:
    case, _created = actions.report_case(
        reporter=reporter or city.g1_worker, category=category or cats.garbage,
        description=extra.pop("description", "垃圾"), **where, **extra,
    )
    return case


def build(city, cats) -> SimpleNamespace:
    """Play the week above; returns the cases by letter."""
    op, handler, district = city.t1_operator, city.handler, district_handler(city)
    with time_machine.travel(sep30(9), tick=False) as clock, legacy_reports():
        a, b, g = report(city, cats), report(city, cats), report(city, cats)
        c = report(city, cats, self_resolve=True, resolution_note="已清理", after_photos=[photo()])
        d = report(city, cats, report_only=True)
        e, f = report(city, cats), report(city, cats)
        h = report(city, cats, reporter=city.g3_worker, where=IN_G3)
        i = report(city, cats, reporter=op, channel="hotline")
        j = report(city, cats, description=f"{LEGACY_MARK}多年的违建")

        clock.move_to(sep30(9, 10))
        for case in (a, b, g, i, j):
            actions.accept_case(case, actor=op)
        actions.accept_case(h, actor=city.t2_operator)
        actions.reject_case(e, actor=op, reason="不属于受理范围")
        actions.merge_case(f, actor=op, master=a)

        clock.move_to(sep30(10))
        actions.dispatch_case(a, actor=op, lead=city.town1_um, time_limit=Decimal(2), time_unit=TimeUnit.WORKING_DAYS)
        actions.dispatch_case(b, actor=op, lead=city.town1_um, time_limit=Decimal(2), time_unit=TimeUnit.NATURAL_DAYS)
        actions.dispatch_case(g, actor=op, lead=city.town1_um)
        actions.dispatch_case(i, actor=op, lead=city.town1_um)

        clock.move_to(sep30(10, 30))
        for case in (a, b, i):
            actions.sign_dispatch(live_lead(case), actor=handler)
        actions.return_dispatch(live_lead(g), actor=handler, reason="属区级职责")

        clock.move_to(sep30(11))
        actions.dispatch_case(g, actor=op, lead=city.district_um)
        actions.feedback_dispatch(live_lead(i), actor=handler, note="已清理")

        clock.move_to(sep30(11, 30))
        actions.sign_dispatch(live_lead(g), actor=district)
        actions.assign_verification(i, actor=op, verifier=city.g1_worker)
        actions.verify_case(i, actor=city.g1_worker, passed=True, photos=[photo()])
        clock.move_to(sep30(11, 45))
        actions.follow_up(i, actor=op, satisfaction="satisfied")
        clock.move_to(sep30(12))
        actions.close_case(i, actor=op)

        clock.move_to(sep30(14, 30))
        actions.feedback_dispatch(live_lead(g), actor=district, note="已清理")
        clock.move_to(sep30(15))
        actions.verify_case(g, actor=city.g1_worker, passed=False, note="仍有残留", photos=[photo()])
        clock.move_to(sep30(16))
        actions.feedback_dispatch(live_lead(g), actor=district, note="已彻底清理")
        clock.move_to(sep30(16, 30))
        actions.verify_case(g, actor=city.g1_worker, passed=True, photos=[photo()])
        clock.move_to(sep30(17))
        actions.close_case(g, actor=op)

        clock.move_to(at(2, 11))
        jobs.sweep_deadlines()
        actions.supervise_case(b, actor=city.city_official, level="yellow", note="尽快处理")

        clock.move_to(at(8, 15))
        for case in (a, b):
            actions.feedback_dispatch(live_lead(case), actor=handler, note="已处理")
        clock.move_to(at(8, 15, 30))
        for case in (a, b):
            actions.verify_case(case, actor=city.g1_worker, passed=True, photos=[photo()])
        clock.move_to(at(8, 16))
        for case in (a, b):
            actions.close_case(case, actor=op)
    return SimpleNamespace(**{name: Case.objects.get(pk=case.pk) for name, case in
                              zip("abcdefghij", (a, b, c, d, e, f, g, h, i, j), strict=True)})


# The city's figures for START..END (legacy case J apart), worked out by hand from the week above.
CITY_COUNTS = {
    "reported": 9, "filed": 1, "self_resolved": 1, "accepted": 5, "rejected": 1, "merged": 1,
    "reported_accepted": 5, "reported_merged": 1,
    "dispatched_cases": 5, "dispatched": 5, "returned": 1, "dispatched_returned": 1, "extended": 0,
    "handled": 4, "rehandled": 1, "handled_reworked": 1, "handle_minutes": 630 + 630 + 60 + 90 + 60,
    "verified": 4, "verify_failed": 1, "reworked": 1, "reopened": 0,
    "closed": 4, "closed_on_time": 3, "due": 4, "due_suspended": 0, "due_closed": 4, "due_closed_on_time": 3,
    "overdue": 1,
    "surveyed": 1, "satisfied": 1, "basically_satisfied": 0, "supervised": 1, "escalated": 0,
}
CITY_RATES = {
    "acceptance_rate": round(5 / 7, 4),  # 5 accepted of 9 − 1 report-only − 1 merged (C, self-resolved, is not)
    "closure_rate": 1.0,  # 4 closed / 4 due
    "on_time_rate": 0.75,  # A, G, I on time; B late
    "rework_rate": 0.25,  # G, of 4 cases handled
    "dispatch_accuracy": 0.8,  # 4 of 5 dispatches kept
    "self_resolution_rate": 0.125,  # 1 of 9 − 1
    "satisfaction_rate": 1.0,
    "avg_handle_hours": 4.9,  # 1470 minutes / 5 handlings
}


# --- random sequences of actions (the property tests of test_rebuild and test_rates) ---------------

# "advance" moves a case one step along the usual path, so that random sequences reach every stage.
OPS = ("advance",) * 10 + (
    "report", "report", "accept", "reject", "merge", "dispatch", "dispatch", "sign", "sign", "return", "extend",
    "decide", "feedback", "feedback", "verify", "verify", "close", "follow_up", "suspend", "resume", "supervise",
    "escalate", "sweep", "wait", "wait",
)
LIMITS = ((None, None), (Decimal(1), TimeUnit.WORKING_DAYS), (Decimal(3), TimeUnit.NATURAL_HOURS),
          (Decimal("0.5"), TimeUnit.WORKING_HOURS))


class World:
    """The tiny city's personas, and the actions a random step can take with them."""

    def __init__(self, city, cats, clock):
        self.city, self.cats, self.clock, self.cases = city, cats, clock, []
        User = get_user_model()
        self.operator, _ = User.objects.get_or_create(username="city_operator")
        Membership.objects.get_or_create(user=self.operator, role=Role.CENTRE_OPERATOR, area=city.city)
        justice, _ = User.objects.get_or_create(username="justice_handler")
        Membership.objects.get_or_create(user=justice, role=Role.DEPT_HANDLER, department=city.town2_justice)
        self.handlers = {city.town1_um.pk: city.handler, city.district_um.pk: district_handler(city),
                         city.town2_justice.pk: justice}
        self.departments = [city.town1_um, city.district_um, city.town2_justice]

    def step(self, op: str, which: int, r: int) -> None:
        if op == "report":
            self.report(r)
            return
        if op == "sweep":
            jobs.sweep_deadlines()
            return
        if op == "wait":
            self.clock.shift(timedelta(minutes=17 * (r % 180) + 5))
            return
        if not self.cases:
            return
        case = self.cases[which % len(self.cases)]
        case.refresh_from_db()
        op_ = self.operator
        if op == "advance":
            op = self.next_step(case, r)
        if op == "accept":
            actions.accept_case(case, actor=op_)
        elif op == "reject":
            actions.reject_case(case, actor=op_, reason="不予受理")
        elif op == "merge":
            actions.merge_case(case, actor=op_, master=self.cases[(which + 1) % len(self.cases)])
        elif op == "dispatch":
            lead = self.departments[r % 3]
            assists = [self.departments[(r + 1) % 3]] if r % 4 == 0 else []
            limit, unit = LIMITS[r % len(LIMITS)]
            actions.dispatch_case(case, actor=op_, lead=lead, assists=assists, time_limit=limit, time_unit=unit)
        elif op in ("sign", "return", "extend", "feedback"):
            live = list(Dispatch.objects.filter(case=case, status__in=ACTIVE_DISPATCH_STATUSES).order_by("id"))
            if not live:
                return
            dispatch = live[r % len(live)]
            handler = self.handlers[dispatch.department_id]
            if op == "sign":
                actions.sign_dispatch(dispatch, actor=handler)
            elif op == "return":
                actions.return_dispatch(dispatch, actor=handler, reason="派错了")
            elif op == "extend":
                actions.request_extension(dispatch, actor=handler, amount=r % 3 + 1,
                                          unit=TimeUnit.WORKING_DAYS if r % 2 else TimeUnit.NATURAL_HOURS,
                                          reason="需要更多时间")
            else:
                actions.feedback_dispatch(dispatch, actor=handler, note="已处理")
        elif op == "decide":
            pending = ExtensionRequest.objects.filter(dispatch__case=case, status=ExtensionStatus.PENDING).first()
            if pending is not None:
                actions.decide_extension(pending, actor=op_, approve=r % 3 != 0, note="不同意")
        elif op == "verify":
            worker = self.city.g3_worker if case.grid_id == self.city.g3.pk else self.city.g1_worker
            if case.verifier_id is None:  # nobody of the grid reported it: the centre assigns the check
                actions.assign_verification(case, actor=op_, verifier=worker)
            actions.verify_case(case, actor=worker, passed=r % 3 != 0, note="仍未解决", photos=[photo()])
        elif op == "close":
            actions.close_case(case, actor=op_)
        elif op == "follow_up":
            actions.follow_up(case, actor=op_, satisfaction=("satisfied", "basic", "dissatisfied")[r % 3])
        elif op == "suspend":
            actions.suspend_case(case, actor=op_, reason="等待裁定")
        elif op == "resume":
            actions.resume_case(case, actor=op_)
        elif op == "supervise":
            actions.supervise_case(case, actor=self.city.city_official, level=("normal", "yellow", "red")[r % 3],
                                   note="抓紧办理")
        elif op == "escalate":
            actions.escalate_case(case, actor=op_)

    @staticmethod
    def next_step(case, r: int) -> str:
        live = list(Dispatch.objects.filter(case=case, status__in=ACTIVE_DISPATCH_STATUSES).values_list(
            "status", flat=True))
        if case.status in ("dispatched", "in_progress"):
            return "sign" if "dispatched" in live else "feedback"
        return {
            "reported": ("accept", "accept", "accept", "reject", "merge")[r % 5],
            "accepted": "dispatch",
            "handled": "verify",
            "verified": ("close", "follow_up")[r % 2],
            "closed": ("follow_up", "supervise")[r % 2],
        }.get(case.status, "sweep")

    def report(self, r: int) -> None:
        if len(self.cases) >= 6:
            return
        city, variant = self.city, r % 10
        category = (self.cats.garbage, self.cats.hazard, self.cats.internal)[r % 3]
        extra = {}
        if variant == 0:
            extra = {"self_resolve": True, "resolution_note": "当场解决", "after_photos": [photo()]}
        elif variant == 1:
            extra = {"report_only": True}
        elif variant == 2 and category.citizen_allowed:
            extra = {"reporter": self.operator, "channel": "hotline"}
        elif variant == 3:
            extra = {"description": f"{LEGACY_MARK}旧案"}
        elif variant == 4:
            extra = {"reporter": city.g3_worker, "where": IN_G3}
        self.cases.append(report(city, self.cats, category=category, **extra))


def steps(ops: tuple[str, ...] = OPS, min_size: int = 5, max_size: int = 60):
    """A hypothesis strategy: a list of (op, which case, a random number) for ``World.step``."""
    from hypothesis import strategies as st

    return st.lists(st.tuples(st.sampled_from(ops), st.integers(0, 5), st.integers(0, 10_000)),
                    min_size=min_size, max_size=max_size)
