"""The rates of DESIGN.md §7 stay within 0–100 % for any period after any sequence of real actions, and
acceptance, closure, on-time closure and satisfaction equal their §7 formulas counted from the cases
and their timelines themselves (not from the counters the KPIs read)."""

from __future__ import annotations

import contextlib
from datetime import date, timedelta

import time_machine
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cases.choices import Action, Satisfaction, Status
from cases.models import Case, CaseEvent
from govgrid.errors import ActionError
from reports import kpis
from reports.tests import scenario

RATES = [name for name in kpis.RATE_NAMES if name != "avg_handle_hours"]
FIRST_DAY = date(2026, 9, 28)  # the sequences start on 30 Sep; deadlines and waits run some weeks on
# A period: its first day (days after FIRST_DAY) and its length in days.
PERIODS = st.lists(st.tuples(st.integers(0, 30), st.integers(1, 20)), min_size=3, max_size=6)


def local(moment) -> date:
    return timezone.localtime(moment).date()


def ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator > 0 else None


def expected_rates(start: date, end: date) -> dict[str, float | None]:
    """Acceptance, closure, on-time closure and satisfaction of the city, from the cases themselves."""
    cases = list(Case.objects.filter(is_legacy=False).values(
        "id", "status", "reported_at", "handle_due_at", "suspended_at", "closed_on_time"))
    events = {}
    for case_id, action, at, payload in CaseEvent.objects.filter(case__is_legacy=False).values_list(
            "case_id", "action", "at", "payload"):
        events.setdefault(case_id, []).append((action, at, payload))

    def within(moment) -> bool:
        return moment is not None and start <= local(moment) <= end

    reported = [c for c in cases if within(c["reported_at"])]
    actions_of = {c["id"]: {action for action, _at, _payload in events.get(c["id"], [])} for c in reported}
    filed = sum(1 for c in reported if Action.FILE in actions_of[c["id"]])
    merged = sum(1 for c in reported if Action.MERGE in actions_of[c["id"]])
    accepted = sum(1 for c in reported if Action.ACCEPT in actions_of[c["id"]])
    # Due: the cases whose current handling deadline falls in the period; suspended: of those, the ones
    # suspended now and not closed.
    due = [c for c in cases if within(c["handle_due_at"])]
    closed = [c for c in due if c["status"] == Status.CLOSED]
    suspended = [c for c in due if c["suspended_at"] is not None and c["status"] != Status.CLOSED]
    calls = [payload.get("satisfaction") for case_events in events.values()
             for action, at, payload in case_events if action == Action.FOLLOW_UP and within(at)]
    return {
        "acceptance_rate": ratio(accepted, len(reported) - filed - merged),
        "closure_rate": ratio(len(closed), len(due) - len(suspended)),
        "on_time_rate": ratio(sum(1 for c in closed if c["closed_on_time"]), len(due) - len(suspended)),
        "satisfaction_rate": ratio(calls.count(Satisfaction.SATISFIED), len(calls)),
    }


def assert_within_bounds(figures: dict, where: str) -> None:
    for name in RATES:
        value = figures["rates"][name]
        assert value is None or 0 <= value <= 1, (where, name, value, figures["counts"])


# More steps forward and more waiting than the rebuild's test: cases must get closed, and on other days
# than their deadlines', for the rates to be put to the test.
OPS = ("advance",) * 25 + ("wait",) * 6 + scenario.OPS


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=st.lists(st.integers(0, 10_000), min_size=1, max_size=4), steps=scenario.steps(OPS, 40, 90),
       periods=PERIODS)
def test_every_rate_stays_within_0_and_100_percent_and_follows_its_formula(tiny_city, categories, first, steps,
                                                                            periods):
    with time_machine.travel(scenario.sep30(9), tick=False) as clock, scenario.legacy_reports():
        world = scenario.World(tiny_city, categories, clock)
        for r in first:
            world.report(r)
        for op, which, r in steps:
            with contextlib.suppress(ActionError):  # refused: nothing happened
                world.step(op, which, r)
    # Every single day up to the last deadline (where a rate counted by the day of the event, not of the
    # case, goes wrong first), and the random periods.
    last = max([local(moment) for moment in Case.objects.values_list("handle_due_at", flat=True) if moment]
               + [local(moment) for moment in CaseEvent.objects.values_list("at", flat=True)])
    days = [(FIRST_DAY + timedelta(days=n),) * 2 for n in range((last - FIRST_DAY).days + 2)]
    for start, end in days + [(FIRST_DAY + timedelta(days=offset), FIRST_DAY + timedelta(days=offset + length - 1))
                              for offset, length in periods]:
        city = kpis.kpis(tiny_city.city, start, end)
        assert_within_bounds(city, f"city {start}–{end}")
        got = {name: city["rates"][name] for name in ("acceptance_rate", "closure_rate", "on_time_rate",
                                                        "satisfaction_rate")}
        assert got == expected_rates(start, end), (start, end, city["counts"])
        for by in ("area", "department", "category", "channel", "week"):
            for row in kpis.kpis(tiny_city.city, start, end, by=by)["rows"]:
                assert_within_bounds(row, f"{by} {row['key']} {start}–{end}")
        for row in kpis.kpis(tiny_city.town1, start, end, by="day")["rows"]:
            assert_within_bounds(row, f"town day {row['key']}")
