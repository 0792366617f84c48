"""Moving an area (new parent or code) carries its cases and its counters, in one transaction (issue #8).

The tiny city (conftest): Testville > East District > Town One > Community A > grids A-1, A-2, and
East District > Town Two > Community B > grid B-1. Cases are reported through the real actions, so
the counters are the live ones; after each move the nightly rebuild (which recomputes every counter
of every area from the timeline and the cases' paths) must find nothing to repair.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.urls import reverse
from django.utils import timezone, translation

from cases import actions
from cases.models import Case
from cases.selectors import visible_cases
from cases.tests.conftest import categories  # noqa: F401  (fixture)
from govgrid.errors import ActionError, Forbidden
from grids.actions import move_area
from grids.choices import Level, Role
from grids.models import Area, Centre, Membership
from grids.scope import forget_scope
from grids.signals import area_moved
from reports.kpis import kpis
from reports.models import MEASURE_NAMES, AreaDailyCount, DailyCount
from reports.rebuild import rebuild_counters

IN_A1 = {"lon": 113.005, "lat": 23.005}  # grid A-1, Community A, Town One
IN_A2 = {"lon": 113.015, "lat": 23.005}  # grid A-2
IN_B1 = {"lon": 113.025, "lat": 23.005}  # grid B-1, Community B, Town Two


def box(x0, y0, x1, y1) -> MultiPolygon:
    return MultiPolygon(Polygon.from_bbox((x0, y0, x1, y1)), srid=4326)


def reported(area: Area) -> int:
    today = timezone.localdate()
    area.refresh_from_db()
    return kpis(area, today - timedelta(days=1), today + timedelta(days=1))["counts"]["reported"]


def seen_by(user, cases) -> int:
    """How many of ``cases`` the user's scope shows, as a new request would compute it."""
    forget_scope(user)  # the scope is cached on the user object for one request
    return visible_cases(user).filter(pk__in=[case.pk for case in cases]).count()


def all_counts(area: Area) -> dict[str, int]:
    """Every measure of the area's own rows, summed over days: what dashboards read for it."""
    rows = AreaDailyCount.objects.filter(area=area).values_list(*MEASURE_NAMES)
    return {name: sum(row[i] for row in rows) for i, name in enumerate(MEASURE_NAMES)}


def snapshot(city) -> dict:
    """Everything a move touches: paths of areas and cases, owning centres, every counter row."""
    return {
        "areas": sorted(Area.objects.values_list("id", "code", "parent_id", "path")),
        "cases": sorted(Case.objects.values_list("id", "area_path", "centre_id")),
        "area_counts": sorted(AreaDailyCount.objects.values_list("area_id", "day", "legacy", *MEASURE_NAMES)),
        "daily_counts": sorted(
            DailyCount.objects.values_list("area_id", "day", "category_id", "department_id", "channel", "legacy",
                                           *MEASURE_NAMES),
            key=repr,
        ),
    }


@pytest.fixture
def west(tiny_city):
    """A second district with one town and its centres, for cross-district moves."""
    district = Area.objects.create(code="980102", name="West District", level=Level.DISTRICT,
                                   parent=tiny_city.city, boundary=box(113.03, 23.00, 113.04, 23.01))
    town = Area.objects.create(code="980102001", name="Town Three", level=Level.TOWN, parent=district,
                               boundary=box(113.03, 23.00, 113.04, 23.01))
    district_centre = Centre.objects.create(name="West centre", area=district, level=Level.DISTRICT)
    town_centre = Centre.objects.create(name="Town Three centre", area=town, level=Level.TOWN)
    return type("West", (), {"district": district, "town": town, "centre": district_centre,
                             "town_centre": town_centre})


@pytest.fixture
def cases(tiny_city, categories):  # noqa: F811
    """Three cases in Community A (one accepted, one escalated to the district centre), one in Town Two."""
    city = tiny_city

    def report(where, text):
        # Reported by the administrator: a reporter keeps seeing their own reports, wherever they go.
        result = actions.report_case(reporter=city.admin, category=categories.garbage, description=text, **where)
        return result[0] if isinstance(result, tuple) else result  # (case, created)

    a1 = report(IN_A1, "垃圾堆放 1")
    a2 = report(IN_A2, "垃圾堆放 2")
    a3 = report(IN_A1, "垃圾堆放 3")
    b1 = report(IN_B1, "垃圾堆放 4")
    actions.accept_case(a1, actor=city.t1_operator)
    actions.escalate_case(a3, actor=city.t1_operator)
    actions.accept_case(b1, actor=city.t2_operator)
    return type("Cases", (), {"a1": a1, "a2": a2, "a3": a3, "b1": b1, "in_a": [a1, a2, a3]})


def assert_counters_rebuild_clean() -> None:
    result = rebuild_counters(repair=False)
    assert result.clean, result.drift[:10]


def test_moving_a_community_to_another_town_carries_cases_scope_and_counters(tiny_city, cases):
    city = tiny_city
    assert (reported(city.town1), reported(city.town2), reported(city.district), reported(city.city)) == (3, 1, 4, 4)
    community_before = all_counts(city.comm_a)
    town1_before, town2_before = all_counts(city.town1), all_counts(city.town2)
    assert seen_by(city.t1_operator, cases.in_a) == 3

    move_area(city.comm_a, actor=city.admin, parent=city.town2)

    city.comm_a.refresh_from_db()
    assert city.comm_a.path == "9801/980101/980101002/980101001001/"
    # The cases' copies of the path follow, so scope follows: Town Two's centre sees them, Town One's not.
    for case in cases.in_a:
        case.refresh_from_db()
        assert case.area_path.startswith(city.comm_a.path)
    assert seen_by(city.t1_operator, cases.in_a) == 0
    assert seen_by(city.t2_operator, cases.in_a) == 3
    # The case Town One's centre owned is Town Two's now; the one escalated to the district stays there.
    assert cases.a1.centre_id == city.centres["980101002"].pk
    assert cases.a2.centre_id == city.centres["980101002"].pk
    assert cases.a3.centre_id == city.centres["980101"].pk
    # Counts: Town One loses exactly what moved, Town Two gains it, the district and the city keep theirs.
    assert (reported(city.town1), reported(city.town2), reported(city.district), reported(city.city)) == (0, 4, 4, 4)
    assert all_counts(city.comm_a) == community_before
    for name in MEASURE_NAMES:
        assert all_counts(city.town1)[name] == town1_before[name] - community_before[name], name
        assert all_counts(city.town2)[name] == town2_before[name] + community_before[name], name
    # Town One has no case left: its emptied rows are gone, not left as zeros.
    assert not AreaDailyCount.objects.filter(area=city.town1).exists()
    assert not DailyCount.objects.filter(area=city.town1).exists()
    assert_counters_rebuild_clean()

    # And the next action on a moved case counts where the case is now.
    actions.accept_case(cases.a2, actor=city.t2_operator)
    assert all_counts(city.town2)["accepted"] == town2_before["accepted"] + community_before["accepted"] + 1
    assert all_counts(city.town1)["accepted"] == 0
    assert_counters_rebuild_clean()


def test_moving_a_town_to_another_district(tiny_city, cases, west):
    city = tiny_city
    town1_before = all_counts(city.town1)
    assert (reported(city.district), reported(west.district), reported(city.city)) == (4, 0, 4)

    move_area(city.town1, actor=city.admin, parent=west.district)

    city.town1.refresh_from_db()
    assert city.town1.path == "9801/980102/980101001/"
    assert Area.objects.get(pk=city.g1.pk).path == "9801/980102/980101001/980101001001/980101001001001/"
    for case in cases.in_a:
        case.refresh_from_db()
        assert case.area_path.startswith(city.town1.path)
    # Town One's own centre still covers its cases; the one escalated to East District goes to West's.
    assert cases.a1.centre_id == city.centres["980101001"].pk
    assert cases.a3.centre_id == west.centre.pk
    assert seen_by(city.district_lead, cases.in_a) == 0
    assert seen_by(city.t1_operator, cases.in_a) == 3
    west_lead = Membership.objects.create(user=city.nobody, role=Role.CENTRE_LEAD, area=west.district).user
    assert seen_by(west_lead, cases.in_a) == 3
    assert (reported(city.district), reported(west.district), reported(city.town1), reported(city.city)) == (1, 3, 3, 4)
    assert all_counts(city.town1) == town1_before
    assert all_counts(west.district) == town1_before
    assert_counters_rebuild_clean()


def test_changing_a_code_repaths_cases_and_later_events_still_count(tiny_city, cases):
    city = tiny_city
    community_before, town1_before = all_counts(city.comm_a), all_counts(city.town1)

    move_area(city.town1, actor=city.admin, code="980101009")

    city.town1.refresh_from_db()
    assert city.town1.path == "9801/980101/980101009/"
    for case in cases.in_a:
        case.refresh_from_db()
        assert case.area_path.startswith("9801/980101/980101009/980101001001/")
    cases.b1.refresh_from_db()
    assert cases.b1.area_path.startswith("9801/980101/980101002/")
    assert seen_by(city.t1_operator, cases.in_a) == 3
    # Counters are kept per area id: a code alone moves nothing.
    assert all_counts(city.town1) == town1_before and all_counts(city.comm_a) == community_before
    assert_counters_rebuild_clean()
    # Counters find the areas of a case by the codes on its path: with the old path, Town One would miss this.
    actions.accept_case(cases.a2, actor=city.t1_operator)
    assert all_counts(city.town1)["accepted"] == town1_before["accepted"] + 1
    assert_counters_rebuild_clean()


def test_a_failure_midway_leaves_nothing_changed(tiny_city, cases, west):
    city = tiny_city
    before = snapshot(city)

    def fail(sender, **kwargs):
        raise RuntimeError("the disk is full")

    # Connected last: the cases and the counters have been carried when it fails.
    area_moved.connect(fail, dispatch_uid="test_area_move_fail")
    try:
        with pytest.raises(RuntimeError):
            move_area(city.comm_a, actor=city.admin, parent=west.town, code="980102001001")
    finally:
        area_moved.disconnect(dispatch_uid="test_area_move_fail")
    assert snapshot(city) == before


def test_a_move_no_centre_would_cover_is_refused_and_changes_nothing(tiny_city, cases, english):
    city = tiny_city
    # A district with no centre, in a city whose centre is gone: the case escalated to East District's
    # centre would have nobody above it.
    lonely = Area.objects.create(code="980103", name="Lonely District", level=Level.DISTRICT, parent=city.city)
    Centre.objects.filter(area=city.city).delete()
    before = snapshot(city)
    with pytest.raises(ActionError) as refused:
        move_area(city.town1, actor=city.admin, parent=lonely)
    assert "1 cases under Town One belong to East District centre" in refused.value.message
    assert snapshot(city) == before


def test_refusals_are_clear_and_chinese_first(tiny_city, cases):
    city = tiny_city
    with translation.override("zh-hans"):
        with pytest.raises(ActionError) as refused:
            move_area(city.town1, actor=city.admin, parent=city.comm_b)
        assert "不能" in refused.value.message and refused.value.field == "parent"
        with pytest.raises(ActionError) as refused:
            move_area(city.district, actor=city.admin, parent=city.town1)
        assert refused.value.field == "parent"
        with pytest.raises(ActionError) as refused:
            move_area(city.comm_a, actor=city.admin, code="980101002001")
        assert "980101002001" in refused.value.message and refused.value.field == "code"
    with pytest.raises(Forbidden):
        move_area(city.comm_a, actor=city.t1_operator, parent=city.town2)


def test_the_admin_moves_through_the_action_and_shows_refusals_in_the_form(client, tiny_city, cases):
    city = tiny_city
    client.force_login(city.superuser)
    url = reverse("admin:grids_area_change", args=[city.comm_a.pk])

    def post(**changes):
        data = {"code": city.comm_a.code, "name": city.comm_a.name, "level": city.comm_a.level,
                "parent": city.comm_a.parent_id, "boundary": city.comm_a.boundary.wkt, **changes}
        return client.post(url, data)

    # A refusal from the move itself (a receiver), shown in the form with the person's input kept.
    Centre.objects.filter(area=city.city).delete()
    lonely = Area.objects.create(code="980103", name="Lonely District", level=Level.DISTRICT, parent=city.city)
    lonely_town = Area.objects.create(code="980103001", name="Lonely Town", level=Level.TOWN, parent=lonely)
    with translation.override("zh-hans"):
        response = post(parent=lonely_town.pk)
    assert response.status_code == 200
    assert "中心" in response.content.decode() and 'class="errorlist' in response.content.decode()
    assert Area.objects.get(pk=city.comm_a.pk).parent_id == city.town1.pk
    # A refusal the form sees before saving.
    response = post(parent=city.comm_b.pk)
    assert response.status_code == 200 and 'class="errorlist' in response.content.decode()

    response = post(parent=city.town2.pk, name="Community A (moved)")
    assert response.status_code == 302, response.content.decode()[:2000]
    city.comm_a.refresh_from_db()
    assert city.comm_a.parent_id == city.town2.pk and city.comm_a.name == "Community A (moved)"
    assert Case.objects.filter(area_path__startswith=city.comm_a.path).count() == 3
    assert (reported(city.town1), reported(city.town2)) == (0, 4)


def test_a_new_code_renames_the_stored_monthly_reports_after_commit(tiny_city, settings, tmp_path,
                                                                    django_capture_on_commit_callbacks):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from reports.exports import monthly_path

    settings.MEDIA_ROOT = tmp_path
    default_storage.save(monthly_path(2026, 9, "980101001"), ContentFile(b"%PDF-1.4 Town One, September"))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        move_area(tiny_city.town1, actor=tiny_city.admin, code="980101009")
    # Nothing on disk changes before the commit: a rolled-back move leaves the files alone.
    assert default_storage.exists(monthly_path(2026, 9, "980101001"))
    for callback in callbacks:
        callback()
    assert not default_storage.exists(monthly_path(2026, 9, "980101001"))
    with default_storage.open(monthly_path(2026, 9, "980101009")) as stored:
        assert stored.read() == b"%PDF-1.4 Town One, September"
