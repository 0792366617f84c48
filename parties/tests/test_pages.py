"""Pages of people and places (issue #10, item 5) through the test client: the grid worker's "my grid"
and a visit in a few taps whose finding becomes a prefilled report; the registry lists with filters,
the real-population figures and the map's building layer, each scoped, numbers masked."""

from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace
from urllib.parse import parse_qs, urlparse

import pytest
import time_machine
from django.contrib.gis.geos import Point
from django.utils import timezone

from cases.tests.conftest import photo
from grids.choices import Role
from grids.models import Membership
from parties import actions, pii
from parties.models import KeyPerson, Visit

ID_1 = pii.make_id_number("440604", dt.date(1950, 3, 2), 31, female=True)
ID_2 = pii.make_id_number("440604", dt.date(1988, 7, 9), 32, female=False)
ID_3 = pii.make_id_number("440604", dt.date(1990, 1, 5), 33, female=False)
ID_4 = pii.make_id_number("440604", dt.date(1979, 11, 30), 34, female=True)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def town(tiny_city):
    """Grid A-1 (g1_worker's): 幸福路8号 with a rented and an owned house, an old woman living alone
    (overdue visit), a floating tenant (visit due in 3 days), a shop; grid B-1 (g3_worker's): one person."""
    c = tiny_city
    start = timezone.now() - dt.timedelta(days=40)
    with time_machine.travel(start, tick=False):
        b1 = actions.create_building(actor=None, grid=c.g1, number="8", point=Point(113.005, 23.005, srid=4326),
                                     road="幸福路", road_number="8", address="幸福路8号", floors=6,
                                     units=2)
        rented = actions.create_house(actor=None, building=b1, unit="1", floor=3, room="301", is_rental=True)
        owned = actions.create_house(actor=None, building=b1, unit="1", floor=4, room="401")
        granny = actions.create_resident(actor=None, name="王阿婆", house=owned, id_number=ID_1, phone="13812345678")
        tenant = actions.create_resident(actor=None, name="李租客", house=rented, id_number=ID_2,
                                         phone="15987654321", residence_kind="floating")
        alone = actions.set_key_person(actor=None, resident=granny, category="elderly_alone",
                                       attention_level="serious", worker=c.g1_worker, visit_every_days=30)
    with time_machine.travel(start + dt.timedelta(days=3), tick=False):
        youth = actions.set_key_person(actor=None, resident=tenant, category="youth", worker=c.g1_worker,
                                       visit_every_days=40)
    actions.create_organisation(actor=None, name="幸福便利店", kind="shop", building=b1, contact_name="陈老板",
                                contact_phone="13900001111")
    actions.assign_building_role(actor=None, building=b1, role="building_head", resident=granny)
    b3 = actions.create_building(actor=None, grid=c.g3, number="2", point=Point(113.025, 23.005, srid=4326),
                                 road="民族路", road_number="2")
    h3 = actions.create_house(actor=None, building=b3, room="101", is_rental=True)
    other = actions.create_resident(actor=None, name="张外格", house=h3, id_number=ID_3)
    far = actions.set_key_person(actor=None, resident=other, category="drug", attention_level="medium",
                                 worker=c.g3_worker)
    return SimpleNamespace(city=c, b1=b1, b3=b3, granny=granny, tenant=tenant, alone=alone, youth=youth,
                           other=other, far=far)


@pytest.fixture
def worker(client, tiny_city):
    client.force_login(tiny_city.g1_worker)
    client.cookies["django_language"] = "en"
    return client


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


# --- the phone -------------------------------------------------------------------------------------


def test_my_grid_shows_visits_due_overdue_first_and_the_counts_of_my_grid_only(worker, town):
    response = worker.get("/m/grid/")
    assert response.status_code == 200
    assert [k.pk for k in response.context["due"]] == [town.alone.pk, town.youth.pk]  # overdue first
    assert response.context["overdue_count"] == 1
    assert response.context["counts"] == {"buildings": 1, "houses": 2, "rental": 1, "registered": 1,
                                          "floating": 1, "overseas": 0, "organisations": 1, "key_persons": 2}
    page = text(response)
    assert "王阿婆" in page and "overdue" in page and "张外格" not in page
    assert f'href="/m/grid/key-persons/{town.alone.pk}/visit/"' in response.content.decode()


def test_the_building_page_shows_houses_people_masked_roles_and_organisations(worker, town):
    html = worker.get(f"/m/grid/buildings/{town.b1.pk}/").content.decode()
    assert "幸福路8号" in html and "1-301" in html and "李租客" in html and "幸福便利店" in html
    assert pii.mask_id_number(ID_2) in html and "159****4321" in html and "139****1111" in html
    assert ID_2 not in html and "15987654321" not in html and "13900001111" not in html
    assert "building head" in html and "王阿婆" in html


def test_pages_of_another_grid_answer_404(worker, town):
    assert worker.get(f"/m/grid/buildings/{town.b3.pk}/").status_code == 404
    assert worker.get(f"/m/grid/key-persons/{town.far.pk}/visit/").status_code == 404
    assert worker.get(f"/people/buildings/{town.b3.pk}/").status_code == 404
    assert "张外格" not in text(worker.get("/m/grid/people/"))


def test_the_people_list_is_masked_and_filtered(worker, town):
    html = worker.get("/m/grid/people/", {"kind": "floating"}).content.decode()
    assert "李租客" in html and "王阿婆" not in html
    assert pii.mask_id_number(ID_2) in html and ID_2 not in html


def test_a_visit_in_a_few_taps_and_its_finding_becomes_a_prefilled_report(worker, town):
    url = f"/m/grid/key-persons/{town.alone.pk}/visit/"
    form = worker.get(url)
    assert form.status_code == 200 and 'capture="environment"' in form.content.decode()
    response = worker.post(url, {"note": "身体尚好，独居", "findings": "楼道灯坏了，老人夜里看不清",
                                 "photo": photo()})
    visit = Visit.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/m/grid/visits/{visit.pk}/"
    assert (visit.worker, visit.on_time, visit.findings, bool(visit.photo)) == (
        town.city.g1_worker, False, "楼道灯坏了，老人夜里看不清", True)
    town.alone.refresh_from_db()
    assert town.alone.last_visited_at == visit.visited_at
    done = worker.get(response["Location"]).content.decode()
    link = re.search(r'id="report-finding" href="([^"]+)"', done).group(1).replace("&amp;", "&")
    query = parse_qs(urlparse(link).query)
    assert urlparse(link).path == "/m/report/"
    assert query["description"] == ["楼道灯坏了，老人夜里看不清"] and query["address"] == ["幸福路8号"]
    report = worker.get(link)
    form = report.context["form"]
    assert form["description"].value() == "楼道灯坏了，老人夜里看不清"
    assert (form["lon"].value(), form["lat"].value(), form["address"].value()) == (113.005, 23.005, "幸福路8号")


def test_a_visit_without_a_word_or_with_a_bad_photo_is_refused_and_nothing_written(worker, town):
    url = f"/m/grid/key-persons/{town.youth.pk}/visit/"
    assert worker.post(url, {"note": " ", "findings": ""}).status_code == 400
    from django.core.files.uploadedfile import SimpleUploadedFile

    fake = SimpleUploadedFile("x.png", b"not a picture at all", content_type="image/png")
    response = worker.post(url, {"note": "ok", "photo": fake})
    assert response.status_code == 400 and "not a photo" in text(response)
    assert not Visit.objects.exists()


def test_a_visit_with_no_finding_offers_no_report(worker, town):
    response = worker.post(f"/m/grid/key-persons/{town.youth.pk}/visit/", {"note": "一切正常"})
    done = worker.get(response["Location"]).content.decode()
    assert "report-finding" not in done
    assert Visit.objects.get().on_time


def test_an_official_may_read_but_not_record_a_visit(client, town):
    client.force_login(town.city.city_official)
    assert client.get(f"/people/buildings/{town.b1.pk}/").status_code == 200
    assert client.post(f"/m/grid/key-persons/{town.alone.pk}/visit/", {"note": "x"}).status_code == 404
    assert not Visit.objects.exists()


# --- the desk --------------------------------------------------------------------------------------


@pytest.fixture
def operator(client, tiny_city):
    client.force_login(tiny_city.t1_operator)
    client.cookies["django_language"] = "en"
    return client


def test_residents_registry_filters_by_area_kind_and_key_person_category(operator, town):
    everyone = text(operator.get("/people/residents/"))
    assert "王阿婆" in everyone and "李租客" in everyone and "张外格" not in everyone  # Town Two is not t1's
    assert pii.mask_id_number(ID_1) in everyone and ID_1 not in everyone
    youth = text(operator.get("/people/residents/", {"category": "youth"}))
    assert "李租客" in youth and "王阿婆" not in youth
    registered = text(operator.get("/people/residents/", {"kind": "registered", "area": town.city.g1.code}))
    assert "王阿婆" in registered and "李租客" not in registered
    assert "王阿婆" not in text(operator.get("/people/residents/", {"area": town.city.g2.code}))


def test_key_persons_registry_filters_by_category_level_and_overdue(operator, town):
    assert [k.pk for k in operator.get("/people/key-persons/").context["page"]] == [town.alone.pk, town.youth.pk]
    assert [k.pk for k in operator.get("/people/key-persons/", {"level": "serious"}).context["page"]] == [
        town.alone.pk]
    assert [k.pk for k in operator.get("/people/key-persons/", {"overdue": "1"}).context["page"]] == [town.alone.pk]
    assert [k.pk for k in operator.get("/people/key-persons/", {"category": "youth"}).context["page"]] == [
        town.youth.pk]


def test_buildings_registry(operator, town):
    page = operator.get("/people/buildings/", {"q": "幸福"}).context["page"]
    assert [(b.address, b.house_count, b.rental_count) for b in page] == [("幸福路8号", 2, 1)]


def test_real_population_figures_per_area(client, town):
    c = town.city
    actions.record_visit(town.youth, actor=c.g1_worker, note="按时")
    actions.record_visit(town.alone, actor=c.g1_worker, note="晚了",
                         visited_at=timezone.now() - dt.timedelta(minutes=1))
    client.force_login(c.city_official)
    response = client.get("/people/", {"area": c.district.code})
    rows = {r["area"].code: r for r in response.context["rows"]}
    assert (rows[c.town1.code]["registered"], rows[c.town1.code]["floating"], rows[c.town1.code]["rental"],
            rows[c.town1.code]["key_persons"], rows[c.town1.code]["visits"], rows[c.town1.code]["on_time"]) == (
        1, 1, 1, 2, 2, 1)
    assert rows[c.town1.code]["on_time_rate"] == 50.0
    assert (rows[c.town2.code]["registered"], rows[c.town2.code]["rental"], rows[c.town2.code]["key_persons"]) == (
        1, 1, 1)
    total = response.context["total"]
    assert (total["registered"], total["floating"], total["houses"], total["key_persons"]) == (2, 1, 3, 3)
    matrix = {row["value"]: row["levels"] for row in response.context["matrix"]}
    assert matrix == {"drug": [0, 1, 0], "elderly_alone": [0, 0, 1], "youth": [1, 0, 0]}


def test_figures_are_scoped_to_what_the_user_sees(operator, town):
    response = operator.get("/people/", {"area": town.city.district.code})  # above t1's scope: ignored
    assert response.context["area"] == town.city.town1
    assert response.context["total"]["key_persons"] == 2


def test_the_map_building_layer_is_scoped(worker, operator, town, tiny_city):
    html = operator.get("/cases/map/").content.decode()
    assert 'data-buildings-url="/people/buildings.geojson"' in html and "js/parties.js" in html
    features = operator.get("/people/buildings.geojson").json()["features"]
    assert [f["properties"]["address"] for f in features] == ["幸福路8号"]
    assert features[0]["geometry"]["coordinates"] == [113.005, 23.005] and features[0]["properties"]["houses"] == 2


def test_a_department_handler_sees_nobody(client, town):
    client.force_login(town.city.handler)
    assert "王阿婆" not in text(client.get("/people/residents/"))
    assert client.get("/people/buildings.geojson").json()["features"] == []


def test_grid_leader_sees_the_grid_but_owes_no_visits(client, town):
    Membership.objects.filter(user=town.city.g1_leader).update(role=Role.GRID_LEADER)
    client.force_login(town.city.g1_leader)
    response = client.get("/m/grid/")
    assert response.context["due"] == [] and response.context["counts"]["key_persons"] == 2
    assert KeyPerson.objects.filter(worker=town.city.g1_leader).count() == 0
