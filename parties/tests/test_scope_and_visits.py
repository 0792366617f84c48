"""People are scoped like cases (404 alike); key-person visits fall due and go overdue; moves keep history."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from govgrid.errors import ActionError, NotFound
from parties import actions, selectors
from parties.access import access_resident_by_id
from parties.models import KeyPerson, Resident, ResidentMove
from parties.tasks import mark_overdue_visits

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def test_scope_of_people_by_role(people):
    c = people.city
    expected = {
        c.g1_worker: {"Alice"}, c.g1_leader: {"Alice"}, c.g3_worker: {"Bob"},
        c.t1_operator: {"Alice"}, c.t2_operator: {"Bob"}, c.district_lead: {"Alice", "Bob"},
        c.city_official: {"Alice", "Bob"}, c.admin: {"Alice", "Bob"}, c.superuser: {"Alice", "Bob"},
        c.handler: set(), c.nobody: set(),
    }
    for user, names in expected.items():
        assert set(selectors.visible_residents(user).values_list("name", flat=True)) == names, user.username
    # Out of scope and missing answer alike.
    with pytest.raises(NotFound) as out_of_scope:
        access_resident_by_id(c.g3_worker, people.alice.pk)
    with pytest.raises(NotFound) as missing:
        access_resident_by_id(c.g3_worker, 10**9)
    assert str(out_of_scope.value) == str(missing.value)
    # An official reads but does not change.
    assert access_resident_by_id(c.city_official, people.alice.pk) == people.alice
    with pytest.raises(NotFound):
        access_resident_by_id(c.city_official, people.alice.pk, act=True)
    with pytest.raises(NotFound):
        actions.update_resident(people.alice, actor=c.city_official, name="Mallory")
    with pytest.raises(NotFound):
        actions.create_resident(actor=c.g1_worker, name="Eve", grid=c.g3)


def test_a_move_keeps_history(people):
    c, alice = people.city, people.alice
    actions.set_key_person(actor=None, resident=alice, category="elderly_alone", visit_every_days=30)
    actions.move_resident(alice, actor=c.district_lead, moved_on=dt.date(2026, 4, 1), to_house=people.h3,
                          residence_kind="floating", reason="rented a flat")
    alice.refresh_from_db()
    assert alice.grid == c.g3 and alice.area_path == c.g3.path and alice.house == people.h3
    assert alice.household is None and alice.residence_kind == "floating"
    moves = list(ResidentMove.objects.filter(resident=alice).order_by("pk"))
    assert [(m.from_grid_id, m.to_grid_id) for m in moves] == [(None, c.g1.pk), (c.g1.pk, c.g3.pk)]
    assert moves[1].from_house == people.h1 and moves[1].from_household == people.household
    assert KeyPerson.objects.get(resident=alice).area_path == c.g3.path
    assert set(selectors.visible_residents(c.g1_worker)) == set()
    actions.move_resident(alice, actor=c.g3_worker, moved_on=dt.date(2026, 5, 1), moved_out=True)
    assert Resident.objects.get(pk=alice.pk).moved_out_on == dt.date(2026, 5, 1)
    with pytest.raises(ActionError):
        actions.move_resident(alice, actor=c.g3_worker, moved_on=dt.date(2026, 5, 2), moved_out=True)


def test_visits_due_on_time_and_overdue(people):
    c = people.city
    with time_machine.travel(T0, tick=False):
        kp = actions.set_key_person(actor=c.g1_worker, resident=people.alice, category="released",
                                    attention_level="serious", worker=c.g1_worker, visit_every_days=7)
        assert kp.next_visit_due == T0 + timedelta(days=7)
        assert list(selectors.visits_due(c.g1_worker)) == []
    with time_machine.travel(T0 + timedelta(days=6), tick=False):
        visit = actions.record_visit(kp, actor=c.g1_worker, note="at home", findings="")
        assert visit.on_time and visit.due_at == T0 + timedelta(days=7)
        kp.refresh_from_db()
        assert kp.next_visit_due == T0 + timedelta(days=13)
    with time_machine.travel(T0 + timedelta(days=13, hours=1), tick=False):
        assert list(selectors.visits_due(c.g1_worker)) == [kp]
        assert mark_overdue_visits() == 1
        assert mark_overdue_visits() == 0  # marked once
        kp.refresh_from_db()
        assert kp.overdue_since == timezone.now()
    with time_machine.travel(T0 + timedelta(days=15), tick=False):
        late = actions.record_visit(kp, actor=c.g1_worker, note="late")
        assert not late.on_time
        kp.refresh_from_db()
        assert kp.overdue_since is None and kp.next_visit_due == T0 + timedelta(days=22)
    # Another grid's worker neither answers for nor visits this person.
    with pytest.raises(ActionError):
        actions.set_key_person(actor=None, resident=people.alice, category="released", worker=c.g3_worker)
    with pytest.raises(NotFound):
        actions.record_visit(kp, actor=c.g3_worker, note="x")


def test_point_outside_grid_is_refused(people):
    from django.contrib.gis.geos import Point

    with pytest.raises(ActionError) as err:
        actions.create_building(actor=None, grid=people.city.g1, number="2", point=Point(113.025, 23.005))
    assert err.value.code == "outside_grid"


def test_people_follow_an_area_move(people):
    from grids.actions import move_area

    c = people.city
    move_area(c.comm_a, actor=c.admin, parent=c.town2)
    c.g1.refresh_from_db()
    people.alice.refresh_from_db()
    assert people.alice.area_path == c.g1.path and c.g1.path.startswith(c.town2.path)
    assert set(selectors.visible_residents(c.t2_operator).values_list("name", flat=True)) == {"Alice", "Bob"}
    assert set(selectors.visible_buildings(c.t1_operator)) == set()
    assert KeyPerson.objects.filter(area_path__startswith=c.town1.path).count() == 0


def test_visits_count_in_the_worker_scores(people):
    from reports import scoring

    c = people.city
    start = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        kp = actions.set_key_person(actor=None, resident=people.alice, category="mental", worker=c.g1_worker,
                                    visit_every_days=7)
    with time_machine.travel(start + timedelta(days=5), tick=False):
        actions.record_visit(kp, actor=c.g1_worker, note="on time")
    with time_machine.travel(start + timedelta(days=15), tick=False):
        actions.record_visit(kp, actor=c.g1_worker, note="late")
        actions.record_visit(kp, actor=c.g1_worker, note="again, on time")
    rows = scoring.worker_scores(c.town1, 2026, 11)
    mine = next(row for row in rows if row["user"]["username"] == "g1_worker")
    assert mine["deeds"]["visit_on_time"] == 2 and mine["deeds"]["visit_late"] == 1
    assert mine["points"] == 1.0  # +1 +1 -1 with the default rules
