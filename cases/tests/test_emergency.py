"""Emergency mode (战时): overlapping activations, the clocks under it (before, during, after, with the
used share kept), new reports flagged and urgent ones escalated, scope, the announcements sent once, the
SMS double, the API's refusals and the banner in both languages.

Time is frozen with govgrid.clock.at; the Celery tasks' steps are called directly (cases.replan,
cases.announcements), as the worker would."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import DatabaseError, transaction

from cases import actions, announcements, replan
from cases.actions import emergency
from cases.choices import ActivationChange, DispatchRole, Light, Stage, Status
from cases.emergency import Activation, ActivationEvent, mode_for
from cases.jobs import sweep_deadlines
from cases.models import Case, CaseEvent, Notification
from govgrid import clock
from govgrid.messaging import InMemorySmsGateway
from grids.choices import Role
from grids.models import Membership

SHANGHAI = ZoneInfo("Asia/Shanghai")
IN_G1 = {"lon": 113.005, "lat": 23.005}
IN_G3 = {"lon": 113.025, "lat": 23.005}
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)  # a working day (test_deadlines relies on it too)


def at(hour: int, minute: int = 0) -> datetime:
    return MONDAY.replace(hour=hour, minute=minute)


def report(city, category, moment, where=IN_G1, reporter=None):
    with clock.at(moment):
        case, _created = actions.report_case(reporter=reporter or city.g1_worker, category=category, **where,
                                             description="路面积水")
    return case


def replan_all(path: str, moment: datetime) -> int:
    with clock.at(moment):
        total, after = 0, 0
        while after is not None:
            count, after = replan.replan_batch(path, after=after, batch=2)
            total += count
    return total


def fresh(case) -> Case:
    return Case.objects.get(pk=case.pk)


@pytest.fixture
def announced(monkeypatch):
    """The announcements' specs as the actions send them (the task is run by the test, as a worker would)."""
    sent: list[dict] = []
    monkeypatch.setattr("cases.tasks.enqueue_announcement", sent.append)
    return sent


def test_overlapping_activations_the_strictest_level_applies(tiny_city):
    city = tiny_city
    with clock.at(at(9)):
        district = emergency.switch_on(actor=city.city_official, area=city.district.code, level=3, reason="台风")
        town = emergency.switch_on(actor=city.city_official, area=city.town1, level=1, reason="内涝")
        again = emergency.switch_on(actor=city.city_official, area=city.district.code, level=2, reason="台风升级")
        assert mode_for(city.g1) == town  # I over Town One beats II and III over the district
        assert mode_for(city.g3) == again  # two on the same area: the stricter
        assert mode_for(city.city) is None  # nothing above the district
    with clock.at(at(10)):
        emergency.switch_off(town, actor=city.city_official)
        assert mode_for(city.g1) == again
        emergency.change_level(district, actor=city.city_official, level=1, note="灾情加重")
        assert mode_for(city.g3) == district
        # Switched off at 10:00, so in force at 9:30.
        assert town in Activation.objects.covering(city.g1.path).active(at(9, 30))
    assert [e.change for e in district.events.all()] == [ActivationChange.ON, ActivationChange.LEVEL]
    assert (district.events.last().old_level, district.events.last().new_level) == (3, 1)
    with pytest.raises(DatabaseError), transaction.atomic():  # the log is append-only
        ActivationEvent.objects.filter(activation=district).update(note="改写")


def test_a_planned_end_switches_the_activation_off(tiny_city, announced):
    city = tiny_city
    with clock.at(at(9)):
        activation = emergency.switch_on(actor=city.city_official, area=city.town2.code, level=4, reason="演练",
                                         ends_at=at(12))
    assert mode_for(city.g3, at(11, 59)) == activation and mode_for(city.g3, at(12)) is None
    with clock.at(at(12, 1)):
        assert emergency.expire_activations() == [activation.pk]
        assert emergency.expire_activations() == []
    activation.refresh_from_db()
    assert activation.switched_off_at == at(12)
    assert [e.change for e in activation.events.all()] == [ActivationChange.ON, ActivationChange.EXPIRED]


def test_deadlines_before_during_and_after_keep_the_time_already_spent(tiny_city, categories, announced):
    city = tiny_city
    # Before: an unaccepted report runs on 2 working hours (due 11:00).
    waiting = report(city, categories.garbage, at(9))
    assert waiting.due_at == at(11) and waiting.clock_factor is None
    # A hazard dispatched and signed at 9:00 runs on its 2 natural hours (due 11:00).
    with clock.at(at(9)):
        hazard = report(city, categories.hazard, at(9))
        actions.accept_case(hazard, actor=city.t1_operator)
        actions.dispatch_case(hazard, actor=city.t1_operator, lead=city.town1_um)
        actions.sign_dispatch(hazard.dispatches.get(), actor=city.handler)
    paused = report(city, categories.garbage, at(9))
    with clock.at(at(9, 30)):
        actions.suspend_case(paused, actor=city.t1_operator, reason="等待法院裁定")

    # During: level II (half the time, natural) from 10:00. Half of each stage is used, so what is
    # left is half of the halved limit: 30 minutes.
    with clock.at(at(10)):
        activation = emergency.switch_on(actor=city.city_official, area=city.town1.code, level=2, reason="内涝")
    assert replan_all(city.town1.path, at(10)) == 3
    assert replan_all(city.town1.path, at(10)) == 0  # idempotent: a repeated batch changes nothing
    waiting, hazard, paused = fresh(waiting), fresh(hazard), fresh(paused)
    assert waiting.clock_factor == Decimal("0.5")
    assert waiting.due_at == waiting.accept_due_at == at(10, 30)
    assert (waiting.light, waiting.warn_at, waiting.next_check_at) == (Light.GREEN, at(10, 15), at(10, 15))
    lead = hazard.dispatches.get(role=DispatchRole.LEAD)
    assert hazard.stage == Stage.HANDLE and hazard.due_at == hazard.handle_due_at == lead.due_at == at(10, 30)
    # The suspended case stays paused; what it had left (2 h − 30 min used) is re-planned as of its pause.
    assert paused.suspended_at == at(9, 30) and paused.next_check_at is None
    assert paused.due_at == at(9, 30) + timedelta(minutes=45)
    assert CaseEvent.objects.filter(case=waiting, action="replan").count() == 1

    # A report during the activation is flagged and runs on natural time × 0.5 from the start.
    new = report(city, categories.garbage, at(10, 5))
    assert new.is_emergency and new.activation == activation and new.clock_factor == Decimal("0.5")
    assert new.due_at == at(11, 5)

    # After: switched off at 10:15. The waiting report used 1 h + 15 of its 60 shortened minutes = 75%:
    # the last quarter of 2 working hours is left, and its light is yellow (75% used).
    with clock.at(at(10, 15)):
        emergency.switch_off(activation, actor=city.city_official, note="雨停")
    replan_all(city.town1.path, at(10, 15))
    waiting = fresh(waiting)
    assert waiting.clock_factor is None
    assert waiting.due_at == at(10, 45)
    assert waiting.light == Light.YELLOW
    assert not report(city, categories.garbage, at(10, 20)).is_emergency
    # The hazard had a quarter of its shortened hour left: a quarter of its 2 natural hours again.
    hazard = fresh(hazard)
    assert hazard.due_at == hazard.dispatches.get().due_at == at(10, 45)
    # The deadline sweep needs nothing new: the lights move at the re-planned moments.
    with clock.at(at(10, 46)):
        sweep_deadlines(now=at(10, 46))
    assert fresh(hazard).light == Light.RED
    # Resuming the paused case later moves its deadline by the pause, on the normal clock again.
    with clock.at(at(14)):
        actions.resume_case(paused, actor=city.t1_operator)
    assert fresh(paused).suspended_at is None and fresh(paused).due_at > at(14)


def test_urgent_reports_under_emergency_go_to_the_command_centre(tiny_city, categories, announced, api, client):
    city = tiny_city
    before = report(city, categories.garbage, at(8, 50))
    with clock.at(at(9)):
        emergency.switch_on(actor=city.city_official, area=city.district.code, level=1, reason="台风")
    urgent = report(city, categories.hazard, at(9, 10))
    normal = report(city, categories.garbage, at(9, 10))
    district_centre = city.centres[city.district.code]
    assert urgent.centre == district_centre and urgent.status == Status.REPORTED
    assert urgent.events.filter(action="escalate").count() == 1
    assert normal.centre == city.centres[city.town1.code] and normal.is_emergency
    flagged = api.as_(city.district_lead).get("/api/v1/cases/", {"emergency": "true"}).json()["results"]
    assert {row["id"] for row in flagged} == {urgent.pk, normal.pk} and before.pk not in {r["id"] for r in flagged}
    client.force_login(city.t1_operator)
    page = client.get(f"/cases/{normal.pk}/").content.decode()
    assert "战时时限" in page and "×0.25" in page and f"/emergency/{normal.activation_id}/" in page
    listing = client.get("/cases/").content.decode()
    assert listing.count('<span class="chip chip-red">战时</span>') == 2  # both under emergency, not the first
    # Without emergency mode the urgent category stays with its town centre.
    with clock.at(at(9, 20)):
        emergency.switch_off(urgent.activation, actor=city.city_official)
    assert report(city, categories.hazard, at(9, 30)).centre == city.centres[city.town1.code]


def test_scope_an_official_of_another_area_gets_404_in_url_and_body(tiny_city, api, announced):
    city = tiny_city
    Membership.objects.create(user=city.nobody, role=Role.OFFICIAL, area=city.town2)
    with clock.at(at(9)):
        activation = emergency.switch_on(actor=city.city_official, area=city.town1.code, level=2, reason="内涝")
    outsider = api.as_(city.nobody)
    for response in (outsider.get(f"/api/v1/activations/{activation.pk}/"),
                     outsider.post(f"/api/v1/activations/{activation.pk}/level/", {"level": 1}, format="json"),
                     outsider.post("/api/v1/activations/9999999/off/", {}, format="json")):
        assert response.status_code == 404
    missing = outsider.post("/api/v1/activations/", {"area": city.town1.code, "level": 2, "reason": "x"},
                            format="json")
    assert missing.status_code == 404 and missing.json()["errors"]["area"]
    assert outsider.get("/api/v1/activations/").json()["results"] == []
    assert api.as_(city.nobody).get(f"/emergency/{activation.pk}/").status_code == 404
    # Centre staff and grid workers of the area see it; only officials change it.
    assert api.as_(city.g1_worker).get(f"/api/v1/activations/{activation.pk}/").status_code == 200
    assert api.as_(city.t1_operator).post(f"/api/v1/activations/{activation.pk}/off/", {},
                                          format="json").status_code == 403
    assert api.as_(city.t1_operator).post("/api/v1/activations/", {"area": city.town1.code, "level": 2,
                                                                   "reason": "x"}, format="json").status_code == 403


def test_api_bad_input_is_a_clear_4xx(tiny_city, api, announced, english):
    city = tiny_city
    client = api.as_(city.city_official)
    bad = [
        {"area": city.town1.code, "level": 7, "reason": "x"},
        {"area": city.town1.code, "level": "I", "reason": "x"},
        {"area": city.town1.code, "level": 2},
        {"area": city.town1.code, "level": 2, "reason": "x", "ends_at": "2000-01-01T00:00:00+08:00"},
        {"area": city.town1.code, "level": 2, "reason": "x", "members": "g1_worker"},
    ]
    for body in bad:
        response = client.post("/api/v1/activations/", body, format="json")
        assert response.status_code == 400, (body, response.content)
    assert client.post("/api/v1/activations/", {"area": city.town1.code, "level": 2, "reason": "x",
                                                "members": ["g3_worker"]}, format="json").status_code == 404
    created = client.post("/api/v1/activations/", {"area": city.town1.code, "level": 2, "reason": "内涝",
                                                   "lead": "city_official", "members": ["t1_operator", "handler"]},
                          format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["numeral"] == "II" and sorted(body["members"]) == ["handler", "t1_operator"] and body["is_active"]
    pk = body["id"]
    assert client.post(f"/api/v1/activations/{pk}/level/", {"level": 0}, format="json").status_code == 400
    assert client.post(f"/api/v1/activations/{pk}/level/", {"level": 2}, format="json").status_code == 409
    assert client.post(f"/api/v1/activations/{pk}/level/", {"level": 1}, format="json").json()["level"] == 1
    assert client.post(f"/api/v1/activations/{pk}/off/", {}, format="json").status_code == 200
    assert client.post(f"/api/v1/activations/{pk}/off/", {}, format="json").status_code == 409
    assert [e["change"] for e in client.get(f"/api/v1/activations/{pk}/").json()["events"]] == ["on", "level", "off"]
    assert client.get("/api/v1/activations/", {"active": "true"}).json()["results"] == []
    ended = client.get("/api/v1/activations/", {"active": "false", "level": 1}).json()["results"]
    assert [a["id"] for a in ended] == [pk]
    assert client.get("/api/v1/activations/", {"active": "maybe"}).status_code == 400
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v1/activations/{id}/task-force/" in schema.content


def test_everyone_in_the_subtree_is_told_once(tiny_city, announced):
    city = tiny_city
    with clock.at(at(9)):
        activation = emergency.switch_on(actor=city.city_official, area=city.town1.code, level=2, reason="内涝",
                                         lead="city_official")
    [spec] = announced
    assert announcements.deliver(spec, limit=2) == 5  # four in Town One, and the lead from the city
    assert announcements.deliver(spec, limit=2) == 0  # the task run again: nobody twice
    told = set(Notification.objects.filter(key=spec["key"]).values_list("recipient__username", flat=True))
    assert told == {"t1_operator", "g1_worker", "g1_leader", "handler", "city_official"}
    with clock.at(at(10)):
        emergency.change_level(activation, actor=city.city_official, level=1)
    assert announcements.deliver(announced[-1]) == 5  # a new change is a new notice
    assert Notification.objects.filter(recipient=city.g3_worker).count() == 0


def phone_of(user):
    return {"g1_worker": "13800000001", "t1_operator": "13800000002"}.get(user.username)


def test_sms_and_email_go_out_only_when_enabled(tiny_city, announced, settings):
    city = tiny_city
    InMemorySmsGateway.outbox.clear()
    city.g1_worker.email = "g1@example.org"
    city.g1_worker.save()
    settings.SMS_GATEWAY = "govgrid.messaging.InMemorySmsGateway"
    settings.NOTIFY_PHONE_LOOKUP = "cases.tests.test_emergency.phone_of"
    with clock.at(at(9)):
        activation = emergency.switch_on(actor=city.city_official, area=city.town1.code, level=2, reason="内涝")
    announcements.deliver(announced[-1])
    assert InMemorySmsGateway.outbox == [] and mail.outbox == []  # default: in-app only

    settings.NOTIFY_CHANNELS = ["inapp", "sms", "email"]
    with clock.at(at(10)):
        emergency.change_level(activation, actor=city.city_official, level=1)
    announcements.deliver(announced[-1])
    announcements.deliver(announced[-1])  # retried: nothing goes out twice
    assert sorted(phone for phone, _text in InMemorySmsGateway.outbox) == ["13800000001", "13800000002"]
    assert "Town One" in InMemorySmsGateway.outbox[0][1]
    assert [m.to for m in mail.outbox] == [["g1@example.org"]]
    InMemorySmsGateway.outbox.clear()


def test_banner_notification_and_pages_in_both_languages(tiny_city, categories, client, announced):
    city = tiny_city
    client.force_login(city.city_official)
    response = client.post("/emergency/", {"area": city.town1.code, "level": "2", "reason": "城区内涝",
                                           "lead": "", "members": "t1_operator handler"})
    assert response.status_code == 302, response.content.decode()[:2000]
    activation = Activation.objects.get()
    assert list(activation.members.values_list("username", flat=True).order_by("username")) == [
        "handler", "t1_operator"]
    announcements.deliver(announced[-1])

    client.force_login(city.g1_worker)
    page = client.get("/cases/notifications/").content.decode()
    assert "战时" in page and "城区内涝" in page and f"/emergency/{activation.pk}/" in page
    assert "战时状态 II" in page  # the banner, in Chinese
    client.cookies["django_language"] = "en"
    english = client.get("/cases/").content.decode()
    assert "Emergency mode II" in english and f"/emergency/{activation.pk}/" in english
    assert "Emergency mode II is on for Town One: 城区内涝" in client.get("/cases/notifications/").content.decode()
    # Not in the subtree: no banner.
    client.force_login(city.g3_worker)
    assert f"/emergency/{activation.pk}/" not in client.get("/cases/").content.decode()

    client.force_login(city.city_official)
    client.cookies["django_language"] = "zh-hans"
    dashboard = client.get("/reports/", {"area": city.district.code}).content.decode()
    assert f"/emergency/{activation.pk}/" in dashboard and "城区内涝" in dashboard
    detail = client.get(f"/emergency/{activation.pk}/").content.decode()
    assert "结束战时状态" in detail and "调整专班" in detail
    bad = client.post(f"/emergency/{activation.pk}/do/level/", {"level": "9"})
    assert bad.status_code == 400
    assert client.post(f"/emergency/{activation.pk}/do/off/", {"note": "解除"}).status_code == 302
    assert not Activation.objects.get().is_active


def test_an_announcement_can_be_for_some_roles_only(tiny_city, announced):
    from django.utils.translation import gettext_lazy

    announcements.announce(tiny_city.town1, key="sweep:1", message=gettext_lazy("Emergency mode: %(area)s"),
                           params={"area": "Town One"}, url="/somewhere/", roles=[Role.GRID_WORKER, Role.GRID_LEADER])
    [spec] = announced
    assert announcements.deliver(spec) == 2
    rows = Notification.objects.filter(key="sweep:1")
    assert {n.recipient.username for n in rows} == {"g1_worker", "g1_leader"}
    assert {(n.url, n.message, n.case_id) for n in rows} == {("/somewhere/", "战时状态：Town One", None)}


def test_lost_tasks_of_a_change_are_caught_up(tiny_city, categories, announced):
    """Redis was down when the activation committed: neither the re-plan nor the notice went out."""
    from cases import tasks

    city = tiny_city
    waiting = report(city, categories.garbage, at(9))
    with clock.at(at(10)):
        emergency.switch_on(actor=city.city_official, area=city.town1.code, level=2, reason="内涝")
    assert fresh(waiting).clock_factor is None and len(announced) == 1
    with clock.at(at(10, 1)):
        assert tasks.reconcile_emergency() == 1
    assert fresh(waiting).clock_factor == Decimal("0.5")
    # 61 of its 120 working minutes used at 10:01: 59/120 of the shortened hour is left.
    assert abs(fresh(waiting).due_at - (at(10, 30) + timedelta(seconds=30))) < timedelta(seconds=1)
    assert len(announced) == 2 and announced[1]["key"] == announced[0]["key"]
    announcements.deliver(announced[1])
    with clock.at(at(10, 2)):
        tasks.reconcile_emergency()
    assert len(announced) == 2  # told already: nothing sent again
    assert CaseEvent.objects.filter(case=waiting, action="replan").count() == 1
