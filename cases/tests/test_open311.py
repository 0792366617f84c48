"""Open311 GeoReport v2 (/open311/v2/): every endpoint in JSON and XML against the spec's field lists,
each error with its status, attribute validation, POST → GET, tokens, the rate limit, and personal
fields never coming back."""

from __future__ import annotations

import json
from decimal import Decimal
from xml.etree import ElementTree as ET

import pytest
from django.contrib.gis.geos import Point

from cases.models import ApiKey, Appeal, Case, Category
from cases.tests.test_redis_down import redis_here  # noqa: F401  (a fixture: the cache on a private Redis)
from govgrid.workcalendar import TimeUnit
from parties.models import Building
from parties.pii import decrypt

BASE = "/open311/v2/"
INSIDE_G1 = {"lat": "23.005", "long": "113.005"}
SERVICE_FIELDS = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
ATTRIBUTE_FIELDS = {"variable", "code", "datatype", "required", "datatype_description", "order", "description",
                    "values"}
REQUEST_FIELDS = {"service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                  "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
                  "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url"}
SECRET_WORDS = ("张三", "13812345678", "zhang@example.cn", "5678")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def cover(categories):
    return Category.objects.create(
        code="0104", name="井盖类型测试", name_en="Manhole cover", parent=categories.family, time_limit=Decimal(1),
        time_unit=TimeUnit.WORKING_DAYS, open311_attributes=[
            {"variable": True, "code": "cover_type", "datatype": "singlevaluelist", "required": True,
             "datatype_description": "选择", "order": 1, "description": "井盖类型",
             "values": [{"key": "storm", "name": "雨水"}, {"key": "gas", "name": "燃气"}]},
            {"variable": True, "code": "damage", "datatype": "multivaluelist", "required": False, "order": 2,
             "description": "损坏", "values": [{"key": "cracked", "name": "破裂"}, {"key": "missing", "name": "缺失"}]},
            {"variable": True, "code": "depth_cm", "datatype": "number", "required": False, "order": 3,
             "description": "深度"},
            {"variable": True, "code": "seen_at", "datatype": "datetime", "required": False, "order": 4,
             "description": "发现时间"},
        ])


@pytest.fixture
def key(db):
    api_key = ApiKey(name="城市服务 App", rate_limit=50)
    secret = ApiKey.new_key()
    api_key.set_key(secret)
    api_key.save()
    api_key.secret = secret
    return api_key


def get(client, path, fmt="json", **params):
    return client.get(f"{BASE}{path}.{fmt}", params, HTTP_ACCEPT_LANGUAGE="en")


def post(client, key, fmt="json", **fields):
    data = {"api_key": key.secret if key else "", "service_code": "0101", **INSIDE_G1,
            "description": "路边有一堆暴露垃圾", **fields}
    return client.post(f"{BASE}requests.{fmt}", {k: v for k, v in data.items() if v is not None},
                       HTTP_ACCEPT_LANGUAGE="en")


def parsed(response, fmt="json"):
    if fmt == "json":
        assert response["Content-Type"] == "application/json; charset=utf-8"
        return json.loads(response.content.decode("utf-8"))
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    return ET.fromstring(response.content)


def error_of(response, status, fmt="json") -> str:
    assert response.status_code == status, response.content.decode()
    body = parsed(response, fmt)
    if fmt == "json":
        assert list(body[0]) == ["code", "description"] and body[0]["code"] == status
        return body[0]["description"]
    assert body.tag == "errors" and body[0].tag == "error"
    assert body[0].findtext("code") == str(status)
    return body[0].findtext("description")


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_discovery_services_and_definition_carry_the_spec_fields(client, tiny_city, categories, cover, fmt):
    body = parsed(get(client, "discovery", fmt), fmt)
    if fmt == "json":
        assert {"changeset", "contact", "key_service", "endpoints"} <= set(body)
        endpoint = body["endpoints"][0]
        assert endpoint["url"].endswith(BASE) and "application/json" in endpoint["formats"]
        assert {"specification", "url", "changeset", "type", "formats"} == set(endpoint)
    else:
        assert body.tag == "discovery"
        assert [f.text for f in body.find("endpoints/endpoint/formats")] == ["text/xml", "application/json"]

    body = parsed(get(client, "services", fmt), fmt)
    rows = body if fmt == "json" else [{c.tag: c.text for c in s} for s in body.findall("service")]
    assert fmt == "json" or body.tag == "services"
    codes = {row["service_code"] for row in rows}
    assert codes == {"0101", "0102", "0104"}  # leaves open to citizens; not the family, not 0103
    assert all(set(row) == SERVICE_FIELDS for row in rows)
    by_code = {row["service_code"]: row for row in rows}
    assert by_code["0104"]["metadata"] in (True, "true") and by_code["0101"]["metadata"] in (False, "false")
    assert by_code["0104"]["type"] == "realtime" and by_code["0104"]["service_name"] == "Manhole cover"

    body = parsed(get(client, "services/0104", fmt), fmt)
    if fmt == "json":
        assert body["service_code"] == "0104"
        attributes = body["attributes"]
        assert all(set(a) == ATTRIBUTE_FIELDS for a in attributes)
        assert attributes[0]["values"] == [{"key": "storm", "name": "雨水"}, {"key": "gas", "name": "燃气"}]
        assert attributes[0]["required"] is True and attributes[0]["order"] == 1
    else:
        assert body.tag == "service_definition" and body.findtext("service_code") == "0104"
        first = body.find("attributes/attribute")
        assert {c.tag for c in first} == ATTRIBUTE_FIELDS
        assert first.findtext("required") == "true" and first.findtext("variable") == "true"
        assert [v.findtext("name") for v in first.findall("values/value")] == ["雨水", "燃气"]
    assert error_of(get(client, "services/0103", fmt), 404, fmt).startswith("Unknown service_code")
    assert error_of(get(client, "services/nope", fmt), 404, fmt)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_post_then_get_round_trip_and_the_token(client, tiny_city, categories, key, fmt):
    response = post(client, key, fmt, first_name="三", last_name="张", phone="13812345678",
                    email="zhang@example.cn", account_id="acc-1", device_id="dev-1",
                    media_url="https://example.cn/p.jpg", description="路边有一堆暴露垃圾，很臭")
    assert response.status_code == 200, response.content.decode()
    body = parsed(response, fmt)
    if fmt == "json":
        assert set(body[0]) == {"service_request_id", "service_notice", "account_id"}
        request_id = body[0]["service_request_id"]
    else:
        assert body.tag == "service_requests"
        request_id = body.find("request").findtext("service_request_id")
    assert isinstance(request_id, str)
    case = Case.objects.get()
    assert request_id == case.number and case.channel == "open311" and case.reporter is None
    assert case.grid == tiny_city.g1 and case.status == "reported"
    appeal = Appeal.objects.get(case=case)
    assert appeal.api_key == key and decrypt(appeal.phone_cipher) == "13812345678"
    assert appeal.phone_masked == "138****5678" and decrypt(appeal.email_cipher) == "zhang@example.cn"
    assert "13812345678" not in appeal.phone_cipher

    detail = get(client, f"requests/{request_id}", fmt)
    assert detail.status_code == 200
    listing = get(client, "requests", fmt)
    by_ids = get(client, "requests", fmt, service_request_id=f"{request_id},20000101-999999")
    for response in (detail, listing, by_ids):
        text = response.content.decode("utf-8")
        assert not any(word in text for word in SECRET_WORDS), text
        body = parsed(response, fmt)
        row = body[0] if fmt == "json" else {c.tag: c.text for c in body.find("request")}
        assert set(row) == REQUEST_FIELDS
        assert row["service_request_id"] == request_id and row["status"] == "open"
        assert row["service_code"] == "0101" and row["description"] == "路边有一堆暴露垃圾，很臭"
        assert row["requested_datetime"].endswith("+08:00") and row["media_url"] == "https://example.cn/p.jpg"
        assert row["agency_responsible"] == "Town One centre"

    token = appeal.token
    body = parsed(get(client, f"tokens/{token}", fmt), fmt)
    row = body[0] if fmt == "json" else {c.tag: c.text for c in body.find("request")}
    assert row == {"service_request_id": request_id, "token": token}
    assert error_of(get(client, "tokens/deadbeef", fmt), 404, fmt).startswith("Unknown token")
    assert error_of(get(client, "requests/20000101-999999", fmt), 404, fmt)


def test_get_requests_filters_and_their_errors(client, tiny_city, categories, key):
    assert post(client, key).status_code == 200
    assert post(client, key, service_code="0102").status_code == 200
    rows = json.loads(get(client, "requests").content)
    assert len(rows) == 2
    assert [r["service_code"] for r in json.loads(get(client, "requests", service_code="0102").content)] == ["0102"]
    assert len(json.loads(get(client, "requests", status="open").content)) == 2
    assert json.loads(get(client, "requests", status="closed").content) == []
    assert len(json.loads(get(client, "requests", page_size=1).content)) == 1
    assert len(json.loads(get(client, "requests", page_size=1, page=2).content)) == 1
    assert json.loads(get(client, "requests", start_date="2000-01-01T00:00:00+08:00").content) == []
    assert "90" in error_of(get(client, "requests", start_date="2026-01-01T00:00:00Z",
                                end_date="2026-06-01T00:00:00Z"), 400)
    assert error_of(get(client, "requests", start_date="yesterday"), 400).startswith("start_date")
    assert error_of(get(client, "requests", status="pending"), 400).startswith("status")
    assert error_of(get(client, "requests", page_size="1001"), 400).startswith("page_size")
    assert error_of(get(client, "requests", service_request_id="42"), 400)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_post_errors_each_with_its_status(client, tiny_city, categories, key, fmt):
    assert "api_key" in error_of(post(client, None, fmt), 403, fmt)
    bad = ApiKey(name="x")
    bad.secret = "not-a-key"
    assert error_of(post(client, bad, fmt), 403, fmt)
    assert error_of(post(client, key, fmt, service_code="9999"), 404, fmt)
    assert error_of(post(client, key, fmt, service_code="0103"), 404, fmt)  # not open to citizens
    assert "service_code" in error_of(post(client, key, fmt, service_code=""), 400, fmt)
    assert "location" in error_of(post(client, key, fmt, lat="", long=""), 400, fmt)
    assert error_of(post(client, key, fmt, lat="abc"), 400, fmt).startswith("lat")
    assert error_of(post(client, key, fmt, lat="23.005", long=""), 400, fmt)
    assert "grid" in error_of(post(client, key, fmt, lat="40.0", long="116.0"), 400, fmt)
    assert "4000" in error_of(post(client, key, fmt, description="很" * 4001), 400, fmt)
    assert error_of(post(client, key, fmt, email="not-an-email"), 400, fmt)
    assert error_of(post(client, key, fmt, media_url="javascript:alert(1)"), 400, fmt)
    assert "standard address" in error_of(post(client, key, fmt, lat="", long="", address_string="月球路1号"),
                                          400, fmt)
    assert error_of(post(client, key, fmt, lat="", long="", address_id="999999"), 400, fmt)
    assert error_of(client.delete(f"{BASE}requests.{fmt}"), 405, fmt)
    assert error_of(client.get(f"{BASE}nothing/here.{fmt}"), 404, fmt)
    assert not Case.objects.exists() and not Appeal.objects.exists()


def test_attributes_are_checked_against_the_service_definition(client, tiny_city, categories, cover, key):
    def attempt(**attributes):
        return post(client, key, service_code="0104", **attributes)

    assert "required" in error_of(attempt(), 400)
    assert "not one of" in error_of(attempt(**{"attribute[cover_type]": "wood"}), 400)
    assert "not one of" in error_of(attempt(**{"attribute[cover_type]": "gas", "attribute[damage][]": ["cracked",
                                                                                                          "x"]}), 400)
    assert "number" in error_of(attempt(**{"attribute[cover_type]": "gas", "attribute[depth_cm]": "deep"}), 400)
    assert "date" in error_of(attempt(**{"attribute[cover_type]": "gas", "attribute[seen_at]": "noon"}), 400)
    assert "not an attribute" in error_of(attempt(**{"attribute[cover_type]": "gas", "attribute[colour]": "red"}),
                                          400)
    assert "one value" in error_of(attempt(**{"attribute[cover_type][]": ["gas", "storm"]}), 400)
    response = attempt(**{"attribute[cover_type]": "gas", "attribute[damage][]": ["cracked", "missing"],
                          "attribute[depth_cm]": "12.5", "attribute[seen_at]": "2026-12-01T08:00:00+08:00"})
    assert response.status_code == 200, response.content.decode()
    assert Appeal.objects.get().attributes == {
        "cover_type": "gas", "damage": ["cracked", "missing"], "depth_cm": "12.5",
        "seen_at": "2026-12-01T08:00:00+08:00"}


def test_an_address_string_resolves_to_a_standard_address(client, tiny_city, categories, key):
    building = Building.objects.create(number="3", address="测试市东区一镇幸福路 3 号", point=Point(113.004, 23.004),
                                       grid=tiny_city.g1)
    response = post(client, key, lat="", long="", address_string="测试市东区一镇幸福路3号")
    assert response.status_code == 200, response.content.decode()
    row = json.loads(get(client, "requests").content)[0]
    assert row["address_id"] == str(building.pk) and row["address"] == "测试市东区一镇幸福路3号"
    assert (row["lat"], row["long"]) == (23.004, 113.004)
    assert post(client, key, lat="", long="", address_id=str(building.pk)).status_code == 200


def test_the_rate_limit_answers_429_per_key(client, tiny_city, categories, key):
    key.rate_limit = 3
    key.save()
    for _ in range(key.rate_limit):
        assert post(client, key).status_code == 200
    refused = post(client, key, "xml")
    assert error_of(refused, 429, "xml") and refused["Retry-After"] == "60"
    other = ApiKey(name="另一个 App", rate_limit=5)
    other.secret = ApiKey.new_key()
    other.set_key(other.secret)
    other.save()
    assert post(client, other).status_code == 200
    assert Case.objects.count() == key.rate_limit + 1


@pytest.mark.django_db(transaction=True)
def test_redis_down_never_refuses_a_request(client, tiny_city, categories, key, redis_here):  # noqa: F811
    """The rate limit lives in Redis; with Redis gone it is not applied, and the request is answered."""
    redis_here.stop()
    response = post(client, key)
    assert response.status_code == 200, response.content.decode()
    assert Case.objects.filter(channel="open311").count() == 1
