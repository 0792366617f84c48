"""The case events table partitioned by month (cases/partitions.py, migration 0018): where events land,
the partitions made ahead, DEFAULT as the safety net, pruning, the append-only trigger on every partition,
the relations to events without database foreign keys, and the request-id backstop under real
concurrent requests."""

from __future__ import annotations

import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

import psycopg
import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from rest_framework.authtoken.models import Token

from cases import actions, notifications, partitions
from cases.choices import Action, Status
from cases.models import Case, CaseEvent, ClientRequest, Notification
from cases.tests.conftest import photo
from cases.tests.test_worker_views import handled_case

SHANGHAI = ZoneInfo("Asia/Shanghai")
G1 = {"lon": 113.005, "lat": 23.005}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def case(tiny_city, categories) -> Case:
    case, _ = actions.report_case(reporter=tiny_city.g1_worker, category=categories.garbage, description="垃圾",
                                  photos=[photo()], **G1)
    return case


def event_at(case: Case, at: datetime, note: str = "") -> CaseEvent:
    return CaseEvent.objects.create(case=case, at=at, action=Action.ATTACH, from_status=case.status,
                                    to_status=case.status, note=note)


def partition_of(event: CaseEvent) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM cases_caseevent WHERE id = %s", [event.pk])
        return cursor.fetchone()[0]


def refused(sql: str, params=()) -> bool:
    """True when the database refuses the statement as the append-only trigger does."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    except DatabaseError as exc:
        return "append-only" in str(exc)
    return False


def test_the_migration_made_the_parent_default_and_the_coming_months(db):
    names = partitions.existing_partitions()
    assert partitions.DEFAULT in names
    assert len([name for name in names if re.fullmatch(r"cases_caseevent_y\d{4}m\d{2}", name)]) >= 4
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE relname = 'cases_caseevent'")
        assert cursor.fetchone()[0] == "p"
        cursor.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'cases_caseevent_pkey'")
        assert cursor.fetchone()[0] == "PRIMARY KEY (id, at)"


def test_an_event_lands_in_the_partition_of_its_local_month(case):
    assert partitions.ensure_event_partitions(months_ahead=1, today=date(2031, 3, 10)) == [
        "cases_caseevent_y2031m03", "cases_caseevent_y2031m04"]
    mid_march = event_at(case, datetime(2031, 3, 15, 10, tzinfo=SHANGHAI))
    # 1 March 01:00 in Shanghai is still 28 February in UTC: the local month decides.
    first_hour = event_at(case, datetime(2031, 3, 1, 1, tzinfo=SHANGHAI))
    last_hour = event_at(case, datetime(2031, 3, 31, 23, 30, tzinfo=SHANGHAI))
    april = event_at(case, datetime(2031, 4, 1, 0, 0, tzinfo=SHANGHAI))
    assert [partition_of(e) for e in (mid_march, first_hour, last_hour, april)] == [
        "cases_caseevent_y2031m03"] * 3 + ["cases_caseevent_y2031m04"]
    # One sequence for all partitions: ids keep growing.
    assert mid_march.pk < first_hour.pk < last_hour.pk < april.pk
    report = case.events.get(action=Action.REPORT)
    assert april.pk > report.pk


def test_ensure_event_partitions_is_idempotent_and_makes_the_months_ahead(db):
    made = partitions.ensure_event_partitions(months_ahead=3, today=date(2031, 11, 20))
    assert made == ["cases_caseevent_y2031m11", "cases_caseevent_y2031m12", "cases_caseevent_y2032m01",
                    "cases_caseevent_y2032m02"]
    assert partitions.ensure_event_partitions(months_ahead=3, today=date(2031, 11, 20)) == []
    assert partitions.ensure_event_partitions(months_ahead=4, today=date(2031, 11, 1)) == ["cases_caseevent_y2032m03"]
    assert set(made) <= set(partitions.existing_partitions())
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = 'cases_caseevent_y2032m01'")
        bound = cursor.fetchone()[0]
    assert bound == "FOR VALUES FROM ('2031-12-31 16:00:00+00') TO ('2032-01-31 16:00:00+00')"


def test_the_nightly_task_is_on_the_beat_and_makes_this_month(db):
    from cases import tasks
    from govgrid.celery import app

    assert app.conf.beat_schedule["ensure-event-partitions"]["task"] == "cases.tasks.ensure_event_partitions"
    tasks.ensure_event_partitions()  # nothing to make in the month the test database was migrated
    assert tasks.ensure_event_partitions() == []
    this_month = partitions.month_of(datetime.now(SHANGHAI))
    for ahead in range(4):
        assert partitions.partition_name(partitions.add_months(this_month, ahead)) in partitions.existing_partitions()


@pytest.mark.django_db(transaction=True)
def test_the_test_flush_empties_every_partition(case):
    partitions.ensure_event_partitions(months_ahead=0, today=date(2031, 9, 1))
    event_at(case, datetime(2031, 9, 9, tzinfo=SHANGHAI))
    event_at(case, datetime(2099, 9, 9, tzinfo=SHANGHAI))
    from conftest import _WORKER, _wait_until_worker_idle

    if _WORKER["node"]:  # the session's worker may still be on this test's triage: TRUNCATE would deadlock
        _wait_until_worker_idle(_WORKER["node"], timeout=20)
    call_command("flush", interactive=False, verbosity=0)  # what ends every transactional test
    with connection.cursor() as cursor:
        for name in partitions.existing_partitions():
            cursor.execute(f'SELECT count(*) FROM "{name}"')
            assert cursor.fetchone()[0] == 0, name
    # The month made in this test stays (TRUNCATE keeps tables): drop it, others expect it absent.
    with connection.cursor() as cursor:
        cursor.execute('DROP TABLE "cases_caseevent_y2031m09"')


def test_an_event_outside_every_month_goes_to_default_is_readable_and_moves_into_its_month_later(case):
    far = event_at(case, datetime(2099, 1, 15, 9, tzinfo=SHANGHAI), note="far")
    past = event_at(case, datetime(2001, 5, 1, 9, tzinfo=SHANGHAI), note="past")
    assert partition_of(far) == partition_of(past) == partitions.DEFAULT
    assert CaseEvent.objects.get(pk=far.pk).note == "far"
    assert list(case.events.filter(note__in=["far", "past"]).values_list("pk", flat=True)) == [past.pk, far.pk]

    # Its month made later: the stray row moves in, same id and columns; DEFAULT keeps the other one.
    assert partitions.create_partitions([date(2099, 1, 1)]) == ["cases_caseevent_y2099m01"]
    assert partition_of(far) == "cases_caseevent_y2099m01"
    assert partition_of(past) == partitions.DEFAULT
    moved = CaseEvent.objects.get(pk=far.pk)
    assert (moved.at, moved.note, moved.case_id) == (far.at, "far", case.pk)
    # The partition made by the move and the new DEFAULT refuse changes like the others.
    assert refused("UPDATE cases_caseevent_y2099m01 SET note = 'x' WHERE id = %s", [far.pk])
    assert refused("DELETE FROM cases_caseevent_default WHERE id = %s", [past.pk])
    # And new events still get ids after the copied ones.
    assert event_at(case, datetime(2099, 1, 20, tzinfo=SHANGHAI)).pk > past.pk


def test_a_query_on_a_months_events_reads_that_partition_only(case):
    partitions.ensure_event_partitions(months_ahead=2, today=date(2031, 5, 1))
    start, end = partitions.month_bounds(date(2031, 6, 1))
    plan = CaseEvent.objects.filter(at__gte=start, at__lt=end).explain()
    assert "cases_caseevent_y2031m06" in plan
    assert "cases_caseevent_y2031m05" not in plan and "cases_caseevent_y2031m07" not in plan
    assert partitions.DEFAULT not in plan
    # A case's timeline within the month: the same single partition.
    plan = CaseEvent.objects.filter(case=case, at__gte=start, at__lt=end).explain()
    assert "cases_caseevent_y2031m06" in plan and partitions.DEFAULT not in plan
    # Without a date every partition is read (what the case's own queries do: see bench/README.md).
    assert partitions.DEFAULT in CaseEvent.objects.filter(case=case).explain()


def test_every_partition_refuses_update_and_delete(case):
    partitions.ensure_event_partitions(months_ahead=0, today=date(2031, 8, 1))
    event = event_at(case, datetime(2031, 8, 2, tzinfo=SHANGHAI))
    assert partition_of(event) == "cases_caseevent_y2031m08"
    assert refused("UPDATE cases_caseevent_y2031m08 SET note = 'x' WHERE id = %s", [event.pk])
    assert refused("DELETE FROM cases_caseevent_y2031m08 WHERE id = %s", [event.pk])
    assert refused("UPDATE cases_caseevent SET note = 'x' WHERE id = %s", [event.pk])
    assert refused("DELETE FROM cases_caseevent WHERE id = %s", [event.pk])
    # Moving a row to another month is an UPDATE too.
    assert refused("UPDATE cases_caseevent SET at = at + interval '40 days' WHERE id = %s", [event.pk])
    report = case.events.get(action=Action.REPORT)
    assert refused(f'DELETE FROM "{partition_of(report)}" WHERE id = %s', [report.pk])
    # The trigger is on each partition, those made by the migration and those made since.
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                       "WHERE i.inhparent = 'cases_caseevent'::regclass AND NOT EXISTS (SELECT 1 FROM pg_trigger t "
                       "WHERE t.tgrelid = c.oid AND t.tgname = 'cases_event_append_only' AND t.tgenabled = 'O')")
        assert cursor.fetchall() == []
    assert CaseEvent.objects.get(pk=event.pk).note == ""


def test_attachments_and_notifications_still_reach_their_event_without_a_database_key(case, tiny_city):
    report = case.events.get(action=Action.REPORT)
    attachment = case.attachments.get()
    assert attachment.event == report and list(report.attachments.all()) == [attachment]
    assert notifications.notify(report.pk) > 0
    notice = Notification.objects.filter(event=report).select_related("event").first()
    assert notice.event.action == Action.REPORT
    assert list(CaseEvent.objects.filter(pk=report.pk).prefetch_related("attachments", "notifications")
                .get().notifications.all())
    with connection.cursor() as cursor:
        cursor.execute("SELECT conrelid::regclass::text FROM pg_constraint WHERE contype = 'f' "
                       "AND confrelid IN (SELECT 'cases_caseevent'::regclass UNION "
                       "SELECT inhrelid FROM pg_inherits WHERE inhparent = 'cases_caseevent'::regclass)")
        assert cursor.fetchall() == []


# --- the request id backstop, with real concurrent requests --------------------------------------------


def verify(live_server, token: str, case_id: int, client_uuid: str) -> int:
    body = encode_multipart(BOUNDARY, {"passed": "true", "note": "已清理", "client_uuid": client_uuid,
                                       "photos": photo()})
    request = urllib.request.Request(f"{live_server.url}/api/v1/cases/{case_id}/verify/", data=body, method="POST",
                                     headers={"Authorization": f"Token {token}", "Content-Type": MULTIPART_CONTENT})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def blocked_on(raw, fragment: str, count: int) -> None:
    """Wait until ``count`` backends wait for a lock on a statement containing ``fragment``."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        raw.execute("SELECT pg_stat_clear_snapshot()")  # else the view stays as first read in the transaction
        waiting = raw.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                              "AND query LIKE %s", [f"%{fragment}%"]).fetchone()[0]
        if waiting >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"{count} requests never waited on {fragment}")


def concurrently(calls) -> tuple[list[int], list[threading.Thread]]:
    answers: list[int] = [0] * len(calls)

    def run(i, call):
        answers[i] = call()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    return answers, threads


def raw_connection():
    settings = connection.settings_dict
    return psycopg.connect(host=settings["HOST"], port=settings["PORT"] or 5432, user=settings["USER"],
                           password=settings["PASSWORD"], dbname=settings["NAME"])


@pytest.mark.django_db(transaction=True)
def test_two_copies_of_a_verification_at_once_act_once(tiny_city, categories, live_server):
    case = handled_case(tiny_city, categories, verifier=tiny_city.g1_worker)
    token = Token.objects.create(user=tiny_city.g1_worker).key
    request_id = str(uuid.uuid4())
    with raw_connection() as raw:
        # Hold the case row until both copies wait for it: they then run one after the other.
        raw.execute("SELECT id FROM cases_case WHERE id = %s FOR UPDATE", [case.pk])
        answers, threads = concurrently([lambda: verify(live_server, token, case.pk, request_id)] * 2)
        blocked_on(raw, 'SELECT "cases_case"."id"', 2)  # the lock's statement (its end is cut off in the view)
        raw.commit()
        for thread in threads:
            thread.join(30)
    assert answers == [200, 200]
    case.refresh_from_db()
    assert case.status == Status.VERIFIED
    assert CaseEvent.objects.filter(case=case, action=Action.VERIFY).count() == 1
    assert ClientRequest.objects.get(client_uuid=request_id).case_id == case.pk


@pytest.mark.django_db(transaction=True)
def test_one_request_id_sent_to_two_cases_at_once_acts_on_one(tiny_city, categories, live_server):
    first = handled_case(tiny_city, categories, verifier=tiny_city.g1_worker)
    second = handled_case(tiny_city, categories, verifier=tiny_city.g1_worker)
    token = Token.objects.create(user=tiny_city.g1_worker).key
    request_id = str(uuid.uuid4())
    with raw_connection() as raw:
        # Each copy holds its own case's lock, so the look-up lets both through; hold their event inserts
        # until both got that far: only the request-id table's unique constraint can stop one now.
        raw.execute("LOCK TABLE cases_caseevent IN SHARE MODE")
        answers, threads = concurrently([lambda: verify(live_server, token, first.pk, request_id),
                                         lambda: verify(live_server, token, second.pk, request_id)])
        blocked_on(raw, 'INSERT INTO "cases_caseevent"', 2)
        raw.commit()
        for thread in threads:
            thread.join(30)
    assert sorted(answers) == [200, 400]
    events = CaseEvent.objects.filter(action=Action.VERIFY, client_uuid=request_id)
    assert events.count() == 1
    acted = Case.objects.get(pk=events.get().case_id)
    other = (second if acted.pk == first.pk else first)
    other.refresh_from_db()
    assert acted.status == Status.VERIFIED and other.status == Status.HANDLED
    assert ClientRequest.objects.filter(client_uuid=request_id).count() == 1


# --- the migration itself, on rows ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_the_events_into_months_and_back(case, tiny_city):
    """0018 back to a plain table and forward again over events of other months: every row, id, request
    id and relation survives both ways, and new ids continue after the old ones."""
    from django.db.migrations.executor import MigrationExecutor

    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    MigrationExecutor(connection).migrate([("cases", "0017_tiles")])
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE relname = 'cases_caseevent'")
        assert cursor.fetchone()[0] == "r"
        request_id = uuid.uuid4()
        cursor.execute(
            "INSERT INTO cases_caseevent (case_id, actor_id, at, action, from_status, to_status, note, payload, "
            "client_uuid) VALUES (%s, NULL, '2024-02-10 12:00+08', 'attach', '', '', 'old', '{}', NULL), "
            "(%s, %s, '2025-07-01 00:30+08', 'verify', 'handled', 'verified', 'mid', '{}', %s) RETURNING id",
            [case.pk, case.pk, tiny_city.g1_worker.pk, request_id])
        old_id, verify_id = (row[0] for row in cursor.fetchall())
        cursor.execute("SELECT id, at, action, note, payload, client_uuid FROM cases_caseevent ORDER BY id")
        before = cursor.fetchall()

    MigrationExecutor(connection).migrate(leaves)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, at, action, note, payload, client_uuid FROM cases_caseevent ORDER BY id")
        assert cursor.fetchall() == before
        cursor.execute("SELECT id, tableoid::regclass::text FROM cases_caseevent WHERE id IN (%s, %s) ORDER BY id",
                       [old_id, verify_id])
        assert cursor.fetchall() == [(old_id, "cases_caseevent_y2024m02"), (verify_id, "cases_caseevent_y2025m07")]
    assert ClientRequest.objects.get(client_uuid=request_id).event_id == verify_id
    assert case.attachments.get().event.action == Action.REPORT
    assert refused("DELETE FROM cases_caseevent_y2024m02 WHERE id = %s", [old_id])
    assert event_at(case, datetime.now(SHANGHAI)).pk > verify_id
