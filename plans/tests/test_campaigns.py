"""Campaigns (创无 10+N, 平安细胞): inspection → certification → validity in frozen time → revocation,
a failed required criterion, the units' certification rates by hand, scope (404 for ids in URLs and
bodies), the REST round trip and the pages for a manager and a grid worker."""

from __future__ import annotations

import base64
import json
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from govgrid import clock
from govgrid.errors import ActionError, Conflict, Forbidden, NotFound
from parties.models import Organisation
from plans import access, campaign_figures, campaigns
from plans.choices import EntryStatus
from plans.models import CampaignType

SHANGHAI = ZoneInfo("Asia/Shanghai")
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def at(day: date, hour: int = 10):
    return clock.at(datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI))


@pytest.fixture
def types(db):
    if not CampaignType.objects.exists():  # a transactional test before this one emptied the seed
        from django.apps import apps

        from plans.campaign_seed import seed

        seed(apps, None)
    return {t.code: t for t in CampaignType.objects.all()}


def answers(kind: CampaignType, failing: tuple[int, ...] = ()) -> list[dict]:
    """Pass for every criterion of ``kind`` but those at the positions in ``failing``."""
    return [{"criterion": c.pk, "passed": n not in failing, "note": "不达标" if n in failing else ""}
            for n, c in enumerate(kind.criteria.order_by("order"))]


@pytest.fixture
def village(tiny_city, types):
    """Town One's 平安村居 campaign led by its 城管中队, with grids A-1 and A-2 entered."""
    c = tiny_city
    with at(date(2026, 3, 1)):
        campaign = campaigns.create_campaign(
            actor=c.t1_operator, type=types["safe_village"], area=c.town1, title="2026 年平安村居创建", year=2026,
            starts_on=date(2026, 3, 1), ends_on=date(2026, 12, 31), lead_department=c.town1_um)
        a1 = campaigns.add_entry(actor=c.t1_operator, campaign=campaign, area=c.g1)
        a2 = campaigns.add_entry(actor=c.t1_operator, campaign=campaign, area=c.g2)
    return campaign, a1, a2


def test_certification_validity_and_revocation(tiny_city, village):
    c = tiny_city
    campaign, a1, a2 = village
    kind = campaign.type
    # no inspection yet: no certification
    with at(date(2026, 3, 2)), pytest.raises(ActionError) as refused:
        campaigns.certify_entry(actor=c.t1_operator, entry=a1)
    assert refused.value.code == "inspection_required"
    with at(date(2026, 3, 10)):
        inspection = campaigns.record_inspection(
            actor=c.handler, entry=a1, results=answers(kind, failing=(4,)), note="一项非必备项未达标",
            files=[SimpleUploadedFile("a.png", PNG, content_type="image/png")])
        assert inspection.passed and inspection.photos.count() == 1  # criterion 5 is not required
        certification = campaigns.certify_entry(actor=c.t1_operator, entry=a1)
    assert (certification.certified_on, certification.valid_until) == (date(2026, 3, 10), date(2027, 3, 10))
    assert campaign_figures.entry_status(a1, date(2026, 3, 9)) == EntryStatus.ENTERED
    for day in (date(2026, 3, 10), date(2026, 9, 1), date(2027, 3, 10)):
        assert certification.is_valid_on(day)
        assert campaign_figures.entry_status(a1, day) == EntryStatus.CERTIFIED
    assert not certification.is_valid_on(date(2027, 3, 11))
    assert campaign_figures.entry_status(a1, date(2027, 3, 11)) == EntryStatus.EXPIRED
    # a second certification while one holds is refused
    with at(date(2026, 3, 11)), pytest.raises(Conflict):
        campaigns.certify_entry(actor=c.t1_operator, entry=a1)
    # revocation: a reason is required; the handler (an inspector) may not revoke
    with at(date(2026, 6, 1)):
        with pytest.raises(ActionError) as no_reason:
            campaigns.revoke_certification(actor=c.t1_operator, certification=certification, reason="  ")
        assert no_reason.value.field == "reason"
        with pytest.raises(Forbidden):
            campaigns.revoke_certification(actor=c.handler, certification=certification, reason="发生命案")
        campaigns.revoke_certification(actor=c.t1_operator, certification=certification, reason="辖区发生刑事案件")
        with pytest.raises(Conflict):
            campaigns.revoke_certification(actor=c.t1_operator, certification=certification, reason="again")
    certification.refresh_from_db()
    assert certification.is_valid_on(date(2026, 5, 31)) and not certification.is_valid_on(date(2026, 6, 1))
    assert campaign_figures.entry_status(a1, date(2026, 6, 1)) == EntryStatus.REVOKED
    # re-certification needs a new passed inspection: the old one is used up
    with at(date(2026, 6, 2)), pytest.raises(ActionError) as refused:
        campaigns.certify_entry(actor=c.t1_operator, entry=a1)
    assert refused.value.code == "inspection_required"
    with at(date(2026, 6, 20)):
        campaigns.record_inspection(actor=c.t1_operator, entry=a1, results=answers(kind))
    # … and one no older than the type's inspection_valid_days (90)
    with at(date(2026, 9, 19)), pytest.raises(ActionError):
        campaigns.certify_entry(actor=c.t1_operator, entry=a1)
    with at(date(2026, 9, 17)):
        again = campaigns.certify_entry(actor=c.t1_operator, entry=a1)
    assert again.valid_until == date(2027, 9, 17)
    assert campaign_figures.entry_status(a1, date(2026, 9, 17)) == EntryStatus.CERTIFIED


def test_failed_required_criterion_blocks_certification(tiny_city, village):
    c = tiny_city
    campaign, a1, a2 = village
    with at(date(2026, 3, 10)):
        failed = campaigns.record_inspection(actor=c.t1_operator, entry=a2, results=answers(campaign.type, (0,)))
        assert not failed.passed
        with pytest.raises(ActionError) as refused:
            campaigns.certify_entry(actor=c.t1_operator, entry=a2)
    assert refused.value.code == "inspection_failed"
    assert campaign_figures.entry_status(a2, date(2026, 3, 10)) == EntryStatus.FAILED
    # a checklist with a criterion missing, a foreign criterion, or no verdict: 400
    partial = answers(campaign.type)[1:]
    with pytest.raises(ActionError) as missing:
        campaigns.record_inspection(actor=c.t1_operator, entry=a2, results=partial)
    assert missing.value.code == "required"
    other = CampaignType.objects.get(code="no_homicide").criteria.first()
    for bad in ([*partial, {"criterion": other.pk, "passed": True}],
                [{**answers(campaign.type)[0], "passed": "maybe"}, *partial], "x", [1]):
        with pytest.raises(ActionError):
            campaigns.record_inspection(actor=c.t1_operator, entry=a2, results=bad)
    # a grid worker may neither inspect nor certify
    with pytest.raises(Forbidden):
        campaigns.record_inspection(actor=c.g1_worker, entry=a2, results=answers(campaign.type))


def test_entries_and_unit_rates_by_hand(tiny_city, village, types):
    c = tiny_city
    campaign, a1, a2 = village
    with at(date(2026, 3, 1)):
        with pytest.raises(Conflict):
            campaigns.add_entry(actor=c.t1_operator, campaign=campaign, area=c.g1)  # twice
        with pytest.raises(ActionError):
            campaigns.add_entry(actor=c.t1_operator, campaign=campaign, area=c.town1)  # not below the area
        with pytest.raises(ActionError):
            campaigns.add_entry(actor=c.district_lead, campaign=campaign, area=c.g3)  # another town
        comm = campaigns.add_entry(actor=c.t1_operator, campaign=campaign, area=c.comm_a)
        hospital_run = campaigns.create_campaign(
            actor=c.district_lead, type=types["safe_hospital"], area=c.district, title="平安医院", year=2026,
            starts_on=date(2026, 3, 1), ends_on=date(2026, 12, 31), lead_centre=c.centres["980101"])
        hospital = Organisation.objects.create(name="镇一医院", kind="hospital", grid=c.g3, area_path=c.g3.path)
        with pytest.raises(ActionError):
            campaigns.add_entry(actor=c.district_lead, campaign=hospital_run, area=c.g3)  # organisations only
        h = campaigns.add_entry(actor=c.district_lead, campaign=hospital_run, organisation=hospital)
    with at(date(2026, 3, 10)):
        for entry in (a1, comm, h):
            campaigns.record_inspection(actor=c.district_lead, entry=entry,
                                        results=answers(entry.campaign.type))
            campaigns.certify_entry(actor=c.district_lead, entry=entry)
    with at(date(2026, 4, 1)):
        campaigns.revoke_certification(actor=c.district_lead, certification=comm.certifications.get(), reason="发案")
        campaigns.withdraw_entry(actor=c.t1_operator, entry=a2)
    # on 03-20: 城管中队 has a1, a2, comm, 2 of 3 certified = 66.7; the district centre 1 of 1 = 100
    rates = campaign_figures.unit_campaign_rates(c.city, date(2026, 3, 20))
    assert rates == {f"department:{c.town1_um.pk}": Decimal("66.7"),
                     f"centre:{c.centres['980101'].pk}": Decimal("100.0")}
    # on 04-02: a2 withdrawn, comm revoked: 1 of 2 = 50.0
    assert campaign_figures.unit_campaign_rates(c.district, date(2026, 4, 2))[f"department:{c.town1_um.pk}"] == 50
    # the town holds only its own campaign; Town Two none; before anyone entered, nothing
    assert set(campaign_figures.unit_campaign_rates(c.town1, date(2026, 4, 2))) == {f"department:{c.town1_um.pk}"}
    assert campaign_figures.unit_campaign_rates(c.town2, date(2026, 4, 2)) == {}
    assert campaign_figures.unit_campaign_rates(c.city, date(2026, 2, 1)) == {}
    counts = campaign_figures.campaign_counts(access.campaigns_for(c.city_official), date(2026, 4, 2))
    assert (counts[campaign.pk].entries, counts[campaign.pk].certified, counts[campaign.pk].revoked) == (2, 1, 1)
    assert counts[campaign.pk].percent_certified == Decimal("50.0")
    where = campaign_figures.certified_where(access.campaigns_for(c.city_official), date(2026, 4, 2))
    assert {(row["name"], row["certified"]) for row in where} == {("A-1", True), ("Community A", False),
                                                                 ("镇一医院", True)}
    table = campaign_figures.certified_by_town(access.campaigns_for(c.city_official), date(2026, 4, 2))
    assert [(r.town, r.type_name, r.entries, r.certified) for r in table] == [
        ("Town One", "平安村居", 2, 1), ("Town Two", "平安医院", 1, 1)]


def test_scope(tiny_city, village, client, api):
    c = tiny_city
    campaign, a1, a2 = village
    # Town Two's operator: the campaign and its entries do not exist for them, in URLs and in bodies
    for user in (c.t2_operator, c.g3_worker, c.nobody):
        with pytest.raises(NotFound) as missing:
            access.access_campaign_by_id(user, campaign.pk)
        with pytest.raises(NotFound) as not_yours:
            access.access_campaign_by_id(user, 10**9)
        assert str(missing.value) == str(not_yours.value)
        with pytest.raises(NotFound):
            access.access_entry_by_id(user, a1.pk)
    client.force_login(c.t2_operator)
    assert client.get(f"/plans/campaigns/{campaign.pk}/").status_code == 404
    assert client.get(f"/plans/campaigns/entries/{a1.pk}/").status_code == 404
    assert client.post(f"/plans/campaigns/entries/{a1.pk}/certify/").status_code == 404
    rest = api.as_(c.t2_operator)
    assert rest.get(f"/api/v1/plans/campaigns/{campaign.pk}/").status_code == 404
    assert rest.get(f"/api/v1/plans/campaign-entries/{a1.pk}/").status_code == 404
    assert rest.post("/api/v1/plans/campaign-entries/", {"campaign": campaign.pk, "area": c.g2.pk},
                     format="json").status_code == 404
    assert rest.post(f"/api/v1/plans/campaign-entries/{a1.pk}/certify/", {}, format="json").status_code == 404
    # Town One's operator naming an area of Town Two in a body: 404 as well
    own = api.as_(c.t1_operator)
    answer = own.post("/api/v1/plans/campaign-entries/", {"campaign": campaign.pk, "area": c.g3.pk}, format="json")
    assert answer.status_code == 404 and answer.json()["errors"].get("area")
    # the grid worker of A-1 sees the campaign, but only the entry of their grid
    assert list(access.entries_for(c.g1_worker)) == [a1]
    assert access.access_campaign_by_id(c.g1_worker, campaign.pk) == campaign
    # the lead department's handler sees every entry of the campaign it leads
    assert set(access.entries_for(c.handler)) == {a1, a2}


def test_rest_round_trip(tiny_city, types, api):
    c = tiny_city
    client = api.as_(c.t1_operator)
    kinds = client.get("/api/v1/plans/campaign-types/").json()["results"]
    village = next(k for k in kinds if k["code"] == "safe_village")
    assert len(village["criteria"]) == 5
    body = {"type": village["id"], "area": c.town1.pk, "title": "平安村居", "year": 2026, "starts_on": "2026-03-01",
            "ends_on": "2026-12-31", "lead_department": c.town1_um.pk}
    assert client.post("/api/v1/plans/campaigns/", {**body, "ends_on": "2026-01-01"}, format="json").status_code == 400
    assert client.post("/api/v1/plans/campaigns/", {**body, "lead_centre": c.centres["980101001"].pk},
                       format="json").status_code == 400
    assert client.post("/api/v1/plans/campaigns/", {**body, "type": 10**9}, format="json").status_code == 404
    assert client.post("/api/v1/plans/campaigns/", {**body, "year": "x"}, format="json").status_code == 400
    made = client.post("/api/v1/plans/campaigns/", body, format="json")
    assert made.status_code == 201, made.content
    campaign_id = made.json()["id"]
    entry = client.post("/api/v1/plans/campaign-entries/", {"campaign": campaign_id, "area": c.g1.pk}, format="json")
    assert entry.status_code == 201, entry.content
    entry_id = entry.json()["id"]
    assert entry.json()["status"] == "entered"
    results = [{"criterion": k["id"], "passed": True} for k in village["criteria"]]
    bad = client.post(f"/api/v1/plans/campaign-entries/{entry_id}/inspections/", {"results": "nope"},
                      format="multipart")
    assert bad.status_code == 400
    inspected = client.post(f"/api/v1/plans/campaign-entries/{entry_id}/inspections/",
                            {"results": json.dumps(results), "note": "现场检查", "files": [
                                SimpleUploadedFile("a.png", PNG, content_type="image/png")]}, format="multipart")
    assert inspected.status_code == 201, inspected.content
    assert inspected.json()["passed"] and len(inspected.json()["photos"]) == 1
    photo = client.get(inspected.json()["photos"][0]["url"])
    assert photo.status_code == 200 and photo["Content-Type"] == "image/png"
    certified = client.post(f"/api/v1/plans/campaign-entries/{entry_id}/certify/", {}, format="json")
    assert certified.status_code == 201, certified.content
    assert client.post(f"/api/v1/plans/campaign-entries/{entry_id}/certify/", {}, format="json").status_code == 409
    no_reason = client.post(f"/api/v1/plans/campaign-entries/{entry_id}/revoke/", {"reason": ""}, format="json")
    assert no_reason.status_code == 400
    revoked = client.post(f"/api/v1/plans/campaign-entries/{entry_id}/revoke/", {"reason": "发生刑事案件"},
                          format="json")
    assert revoked.status_code == 200, revoked.content
    assert client.get(f"/api/v1/plans/campaign-entries/{entry_id}/").json()["status"] == "revoked"
    listed = client.get("/api/v1/plans/campaigns/").json()["results"]
    assert listed[0]["entries"] == 1 and listed[0]["revoked"] == 1 and listed[0]["certified"] == 0
    where = client.get("/api/v1/plans/campaigns/certified-where/")
    assert where.status_code == 200 and where.json() == [{"town": "Town One", "type": "平安村居", "entries": 1,
                                                          "certified": 0, "percent_certified": 0.0}]
    # the grid worker of Town Two sees none of it
    assert api.as_(c.g3_worker).get("/api/v1/plans/campaigns/").json()["results"] == []


@pytest.mark.parametrize(("language", "words"), [("zh-hans", "创建活动"), ("en", "Campaigns")])
def test_pages(tiny_city, village, client, language, words):
    c = tiny_city
    campaign, a1, a2 = village
    kind = campaign.type
    client.cookies["django_language"] = language
    client.force_login(c.t1_operator)
    page = client.get("/plans/campaigns/")
    assert page.status_code == 200 and words in page.content.decode() and campaign.title in page.content.decode()
    page = client.get(f"/plans/campaigns/{campaign.pk}/")
    assert page.status_code == 200 and "A-2" in page.content.decode()
    assert client.get(f"/plans/campaigns/geojson/?campaign={campaign.pk}").status_code == 200
    # the checklist form on the entry page: a missing verdict is a 400 beside the form, a full one saves
    form = {f"criterion_{k.pk}": "pass" for k in kind.criteria.all()}
    form.pop(next(iter(form)))
    assert client.post(f"/plans/campaigns/entries/{a1.pk}/", {**form, "form": "inspection"}).status_code == 400
    form = {f"criterion_{k.pk}": "pass" for k in kind.criteria.all()}
    answer = client.post(f"/plans/campaigns/entries/{a1.pk}/", {**form, "form": "inspection",
                                                                "files": SimpleUploadedFile("a.png", PNG)})
    assert answer.status_code == 302
    assert client.post(f"/plans/campaigns/entries/{a1.pk}/certify/").status_code == 302
    assert campaign_figures.entry_status(a1) == EntryStatus.CERTIFIED
    page = client.get(f"/plans/campaigns/entries/{a1.pk}/")
    assert page.status_code == 200
    assert client.post(f"/plans/campaigns/entries/{a1.pk}/revoke/", {"reason": ""}).status_code == 400
    assert client.post(f"/plans/campaigns/entries/{a1.pk}/revoke/", {"reason": "发案"}).status_code == 302
    # the grid worker of A-1: the campaign with their grid's entry only
    client.force_login(c.g1_worker)
    page = client.get(f"/plans/campaigns/{campaign.pk}/")
    assert page.status_code == 200 and "A-1" in page.content.decode() and "A-2" not in page.content.decode()
    assert client.get(f"/plans/campaigns/entries/{a2.pk}/").status_code == 404
    assert client.post(f"/plans/campaigns/entries/{a1.pk}/certify/").status_code == 403


def test_pages_create_a_campaign_and_enter(tiny_city, types, client):
    c = tiny_city
    client.force_login(c.t1_operator)
    body = {"type": types["no_medical_disturbance"].pk, "area": c.town1.pk, "title": "无医闹创建", "year": 2026,
            "starts_on": "2026-03-01", "ends_on": "2026-12-31", "lead_unit": f"department:{c.town1_um.pk}"}
    assert client.post("/plans/campaigns/", {**body, "ends_on": "2026-01-01"}).status_code == 400
    assert client.post("/plans/campaigns/", {**body, "area": c.town2.pk}).status_code == 400
    answer = client.post("/plans/campaigns/", body)
    assert answer.status_code == 302
    campaign = c.town1.campaigns.get()
    assert client.post(f"/plans/campaigns/{campaign.pk}/", {"area": c.g3.pk}).status_code == 400
    assert client.post(f"/plans/campaigns/{campaign.pk}/", {"area": c.comm_a.pk}).status_code == 302
    assert campaign.entries.get().area == c.comm_a


def test_demo_campaigns(tiny_city, types):
    from plans import demo

    made = demo.generate_campaigns(today=date(2026, 6, 1))
    assert [c.type.code for c in made] == ["safe_village", "no_medical_disturbance"]
    statuses = {campaign_figures.entry_status(e, date(2026, 6, 1)) for e in made[0].entries.all()}
    assert statuses == {EntryStatus.CERTIFIED, EntryStatus.FAILED, EntryStatus.REVOKED}
    assert demo.generate_campaigns_if_empty(today=date(2026, 6, 1)) == []
