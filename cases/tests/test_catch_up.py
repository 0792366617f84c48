"""Triage in batches, and the catch-up jobs clearing a backlog (issue #9, item 6).

The jobs and tasks are called directly (STYLE.md 7): what a worker runs, without the worker.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases import actions, jobs, tasks
from cases.choices import Action
from cases.models import Case, CaseEvent, Notification
from cases.selectors import suggest_lead_department

BACKLOG = 5_000


def report(user, category, lon: float, lat: float, description: str = "路边有一堆暴露垃圾") -> Case:
    case, _ = actions.report_case(reporter=user, category=category, lon=lon, lat=lat, description=description)
    return case


def test_a_batch_triages_as_one_report_at_a_time_would(tiny_city, categories):
    first = report(tiny_city.g1_worker, categories.garbage, 113.005, 23.005)
    near = report(tiny_city.g1_worker, categories.garbage, 113.0052, 23.0051)  # ~23 m: a duplicate
    far = report(tiny_city.g1_worker, categories.garbage, 113.009, 23.009)
    other_town = report(tiny_city.g3_worker, categories.garbage, 113.025, 23.005)
    no_lead = report(tiny_city.g1_worker, categories.hazard, 113.0051, 23.0051)  # 0102 names no lead
    cases = [first, near, far, other_town, no_lead]
    expected = {case.pk: suggest_lead_department(case) for case in cases}
    assert expected[first.pk] == tiny_city.town1_um and expected[other_town.pk] == tiny_city.district_um
    assert expected[no_lead.pk] is None

    assert sorted(jobs.triage_reports(far.pk)) == sorted(case.pk for case in cases)

    for case in cases:
        case.refresh_from_db()
        assert case.triaged_at is not None
        assert case.suggested_department == expected[case.pk]
        event = CaseEvent.objects.get(case=case, action=Action.TRIAGE)
        assert event.actor is None and event.from_status == event.to_status == case.status
        duplicates = [first.pk] if case == near else [near.pk] if case == first else []
        assert event.payload == {"suggested_department": expected[case.pk].pk if expected[case.pk] else None,
                                 "duplicates": duplicates}
        assert list(case.duplicate_candidates.values_list("pk", flat=True)) == duplicates
    # Idempotent: nothing is left, and triage_case on a triaged report writes nothing.
    assert jobs.triage_reports() == []
    assert jobs.triage_case(first.pk).suggested_department == tiny_city.town1_um
    assert CaseEvent.objects.filter(action=Action.TRIAGE).count() == len(cases)


def test_a_batch_costs_the_same_statements_for_5_reports_as_for_40(tiny_city, categories):
    def statements(count: int) -> int:
        for n in range(count):
            report(tiny_city.g1_worker, categories.garbage, 113.0005 + n * 0.0002, 23.002 + (n % 2) * 0.004)
        with CaptureQueriesContext(connection) as captured:
            assert len(jobs.triage_reports()) == count
        return len(captured.captured_queries)

    few, many = statements(5), statements(40)
    # One report at a time took about 12 statements each.
    assert many == few <= 14


def test_the_reports_own_task_triages_the_reports_waiting_with_it(tiny_city, categories):
    waiting = [report(tiny_city.g1_worker, categories.garbage, 113.001 + n * 0.001, 23.003) for n in range(3)]
    newest = report(tiny_city.g1_worker, categories.garbage, 113.008, 23.008)
    assert tasks.triage_case(newest.pk) == 4
    assert not Case.objects.filter(triaged_at__isnull=True).exists()
    assert tasks.triage_case(waiting[0].pk) == 0  # its own task comes later and finds nothing to do


def make_backlog(tiny_city, categories, count: int, age: timedelta) -> list[int]:
    """``count`` untriaged reports with their report events, ``age`` old, ~700 m apart (no duplicates):
    the case and event rows copied in SQL from one real report (the triage task was lost for all)."""
    template = report(tiny_city.g1_worker, categories.garbage, 113.005, 23.005)
    columns = [f.column for f in Case._meta.concrete_fields
               if not f.generated and f.column not in ("id", "client_uuid", "location", "reported_at")]
    listed = ", ".join(columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO cases_case ({listed}, location, reported_at) "
            f"SELECT {listed}, ST_SetSRID(ST_MakePoint(113 + (n %% 70) * 0.007, 23 + (n / 70) * 0.007), 4326), "
            f"%s FROM cases_case, generate_series(1, %s) AS n WHERE id = %s RETURNING id",
            [timezone.now() - age, count, template.pk],
        )
        ids = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "INSERT INTO cases_caseevent (case_id, actor_id, at, action, from_status, to_status, note, payload) "
            "SELECT c.id, e.actor_id, %s, e.action, e.from_status, e.to_status, e.note, e.payload "
            "FROM unnest(%s::bigint[]) AS c(id), cases_caseevent AS e WHERE e.case_id = %s AND e.action = %s",
            [timezone.now() - age, ids, template.pk, Action.REPORT],
        )
    Case.objects.filter(pk=template.pk).update(triaged_at=timezone.now())
    Notification.objects.all().delete()
    return ids


@pytest.mark.django_db(transaction=True)
def test_the_catch_up_jobs_clear_a_backlog_of_5000_in_at_most_two_passes(tiny_city, categories):
    ids = make_backlog(tiny_city, categories, BACKLOG, age=timedelta(minutes=5))
    assert Case.objects.filter(triaged_at__isnull=True).count() == BACKLOG

    started, passes = time.monotonic(), 0
    while Case.objects.filter(triaged_at__isnull=True).exists():
        passes += 1
        assert passes <= 2, f"{Case.objects.filter(triaged_at__isnull=True).count()} left after two passes"
        tasks.reconcile_triage()
    print(f"triage: {BACKLOG} in {passes} pass(es), {time.monotonic() - started:.1f} s")
    assert CaseEvent.objects.filter(case_id__in=ids, action=Action.TRIAGE).count() == BACKLOG
    assert set(Case.objects.filter(pk__in=ids).values_list("suggested_department", flat=True)) == {
        tiny_city.town1_um.pk}

    # Every report event told Town One's operator: none had its notification (the tasks were lost).
    started, passes = time.monotonic(), 0
    while Notification.objects.filter(event__case_id__in=ids).count() < BACKLOG:
        passes += 1
        assert passes <= 2, f"{Notification.objects.count()} of {BACKLOG} notified after two passes"
        tasks.reconcile_notifications()
    print(f"notifications: {BACKLOG} in {passes} pass(es), {time.monotonic() - started:.1f} s")
    backlog_notices = Notification.objects.filter(event__case_id__in=ids)
    assert backlog_notices.count() == BACKLOG
    assert set(backlog_notices.values_list("recipient", flat=True)) == {tiny_city.t1_operator.pk}
    assert tasks.reconcile_triage() == 0
