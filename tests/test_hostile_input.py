"""Hostile input answers a 4xx JSON error with a message in the user's language, and writes nothing.

One row per input found to answer 500 (or to commit) in issue 9: nested JSON, ids that are not numbers,
NUL and unpaired surrogates, bodies of the wrong shape, out-of-range dates and offsets, cut-off
multipart and oversized bodies. Each row runs against a reported case and two unread notifications of
its centre's operator, and checks that neither moved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cases import actions
from cases.choices import Status
from cases.models import Attachment, Case, CaseEvent, Notification
from cases.tests.conftest import PNG, categories, photo  # noqa: F401 (fixture)
from govgrid.parsers import MAX_JSON_DEPTH, json_too_deep

CJK = re.compile("[\u4e00-\u9fff]")
BOUNDARY = "hostile-boundary"


@dataclass
class Row:
    name: str
    method: str
    url: str  # "{case}" is the reported case's id
    body: bytes | str | None = None
    content_type: str = "application/json"
    user: str = "t1_operator"
    status: int = 400
    headers: dict = field(default_factory=dict)
    state: str = "reported"  # how far the case has come: the action must be allowed for the body to be read


def multipart(*parts: tuple[str, str], close: bool = True) -> bytes:
    body = "".join(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
                   for name, value in parts)
    return (body + (f"--{BOUNDARY}--\r\n" if close else "")).encode()


MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
CASE = "/api/v1/cases/{case}/"
READ = "/api/v1/notifications/read/"
DEEP = "[" * 100_000
POSTS = [  # every kind of POST (intake, case actions by stage, notifications): url, user, state
    ("/api/v1/cases/", "g1_worker", "reported"), (CASE + "accept/", "t1_operator", "reported"),
    (CASE + "dispatch/", "t1_operator", "accepted"), (CASE + "supervise/", "city_official", "reported"),
    (CASE + "photos/", "g1_worker", "reported"), (CASE + "request-extension/", "handler", "in_progress"),
    (CASE + "feedback/", "handler", "in_progress"), (CASE + "assign-verification/", "t1_operator", "handled"),
    (CASE + "follow-up/", "t1_operator", "verified"), (READ, "t1_operator", "reported"),
]

ROWS = [
    # Deeply nested JSON: refused by a scan, before json recurses.
    *[Row(f"deep json to {url}", "post", url, DEEP, user=user, state=state) for url, user, state in POSTS],
    Row("nested objects one level too deep", "post", CASE + "accept/",
        '{"note": ' + '{"a": ' * MAX_JSON_DEPTH + "1" + "}" * MAX_JSON_DEPTH + "}"),
    # Ids that are not numbers match no route: 404.
    *[Row(f"id {bad!r} on {action or 'detail'}", method, f"/api/v1/cases/{bad}/{action}",
          "{}" if method == "post" else None, status=404)
      for bad in ("abc", "1e3", "false", "%00", "-1", "9" * 30)
      for method, action in (("post", "accept/"), ("get", "timeline/"), ("post", "photos/"), ("get", ""))],
    Row("department id that is a word", "get", "/api/v1/departments/abc/", status=404),
    # NUL in codes, usernames, path parameters and query strings.
    Row("NUL as a grid code", "get", "/api/v1/grids/%00/", status=404),
    Row("NUL as an area code", "get", "/api/v1/areas/98%0001/", status=404),
    Row("NUL as a category code", "get", "/api/v1/categories/%00/", status=404),
    Row("NUL in a subtree filter", "get", "/api/v1/cases/?within=%00"),
    Row("NUL in a query parameter name", "get", "/api/v1/cases/?q%00=1"),
    Row("NUL in a report's category code", "post", "/api/v1/cases/",
        '{"category": "01\\u00001", "lon": 113.005, "lat": 23.005, "description": "x"}', user="g1_worker"),
    Row("NUL in a verifier's username", "post", CASE + "assign-verification/", '{"verifier": "g1_\\u0000worker"}',
        state="handled"),
    Row("NUL in a note", "post", CASE + "accept/", '{"note": "ok\\u0000"}'),
    Row("NUL in a multipart category code", "post", "/api/v1/cases/",
        multipart(("category", "0101\x00"), ("lon", "113.005"), ("lat", "23.005"), ("description", "x")),
        MULTIPART, user="g1_worker"),
    Row("NUL in a form field", "post", CASE + "accept/", "note=a%00b", "application/x-www-form-urlencoded"),
    # Unpaired surrogates in choice fields and text fields (and keys).
    Row("surrogate as a supervise level", "post", CASE + "supervise/", '{"level": "\\ud800", "note": "x"}',
        user="city_official"),
    Row("surrogate as a satisfaction", "post", CASE + "follow-up/", '{"satisfaction": "\\udfff"}', state="verified"),
    Row("surrogate as an extension unit", "post", CASE + "request-extension/",
        '{"amount": "1", "unit": "\\ud800", "reason": "x"}', user="handler", state="in_progress"),
    Row("surrogate as a dispatch time unit", "post", CASE + "dispatch/",
        '{"lead": 1, "time_limit": "2", "time_unit": "\\ud800"}', state="accepted"),
    Row("surrogate in a note", "post", CASE + "accept/", '{"note": "a\\ud83d"}'),
    Row("surrogate in a report's description", "post", "/api/v1/cases/",
        '{"category": "0101", "lon": 113.005, "lat": 23.005, "description": "\\ude00"}', user="g1_worker"),
    Row("surrogate in a key", "post", CASE + "accept/", '{"\\ud800": 1}'),
    Row("surrogate deep in a list", "post", READ, '{"ids": [1, ["\\ud800"]]}'),
    # Bodies of the wrong shape to notifications/read/, which used to mark everything read.
    Row("read: a list body", "post", READ, "[1, 2]"),
    Row("read: a string body", "post", READ, '"all"'),
    Row("read: null", "post", READ, "null"),
    Row("read: ids that are words", "post", READ, '{"ids": ["a"]}'),
    Row("read: ids that are fractions", "post", READ, '{"ids": [1.5]}'),
    Row("read: ids that are booleans", "post", READ, '{"ids": [true]}'),
    Row("read: ids that are objects", "post", READ, '{"ids": [{"id": 1}]}'),
    Row("read: ids not a list", "post", READ, '{"ids": "1,2"}'),
    # Dates and offsets out of range.
    Row("report period ending in year 1", "get", "/api/v1/reports/kpis/?area=9801&end=0001-01-01",
        user="city_official"),
    Row("report period starting in year 1", "get", "/api/v1/reports/trend/?area=9801&start=0001-01-01&end=0001-01-02",
        user="city_official"),
    Row("report period ending in year 9999", "get", "/api/v1/reports/departments/?area=9801&end=9999-12-31",
        user="city_official"),
    Row("date filter with offset -19:25", "get", "/api/v1/cases/?closed_after=0247-01-27T22:50:59.65777-19:25"),
    Row("date filter with offset +15:00", "get", "/api/v1/cases/?reported_after=2024-01-01T00:00:00%2B15:00"),
    Row("date filter in year 1", "get", "/api/v1/cases/?reported_before=0001-01-01T00:00:00%2B05:00"),
    Row("date filter in year 9999", "get", "/api/v1/cases/?due_before=9999-12-31T23:59:59"),
    # Multipart that is cut off or empty: never an empty form.
    Row("read: multipart with no closing boundary", "post", READ, multipart(("x", "1"), close=False), MULTIPART),
    Row("read: multipart with only a part header", "post", READ,
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="ids"\r\n\r\n'.encode(), MULTIPART),
    Row("read: multipart with an empty body", "post", READ, b"", MULTIPART),
    Row("read: multipart with no boundary", "post", READ, multipart(("x", "1")), "multipart/form-data"),
    Row("read: multipart with a part that has no headers", "post", READ,
        f"--{BOUNDARY}\r\n\r\n1\r\n--{BOUNDARY}--\r\n".encode(), MULTIPART),
    Row("read: multipart with a part that has no name", "post", READ,
        f"--{BOUNDARY}\r\nContent-Disposition: form-data\r\n\r\n1\r\n--{BOUNDARY}--\r\n".encode(), MULTIPART),
    # A body in chunks, with no Content-Length: Django reads it as empty, so DRF would see no ids at all.
    *[Row(f"read: a chunked {kind} body", "post", READ, body, content_type, status=411,
          headers={"HTTP_TRANSFER_ENCODING": "chunked", "CONTENT_LENGTH": ""})
      for kind, body, content_type in (("JSON", '{"ids": [1]}', "application/json"),
                                       ("multipart", multipart(("ids", "1")), MULTIPART))],
    Row("accept: multipart with no closing boundary", "post", CASE + "accept/",
        multipart(("note", "ok"), close=False), MULTIPART),
    Row("report: multipart cut off in a photo", "post", "/api/v1/cases/",
        multipart(("category", "0101"), ("lon", "113.005"), ("lat", "23.005"), ("description", "x"), close=False)
        + f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="photos"; filename="a.png"\r\n'
          "Content-Type: image/png\r\n\r\n\x89PNG".encode(), MULTIPART, user="g1_worker"),
    # Bodies too large: 413 JSON.
    Row("3 MB of JSON", "post", CASE + "accept/", '{"note": "' + "a" * 3_000_000 + '"}', status=413),
    Row("3 MB of form", "post", READ, "ids=" + "1" * 3_000_000, "application/x-www-form-urlencoded", status=413),
    # Malformed JSON of other kinds.
    Row("not JSON at all", "post", CASE + "accept/", "{note: ok}"),
    Row("JSON that is not UTF-8", "post", CASE + "accept/", b'{"note": "\xff\xfe"}'),
    Row("NaN in JSON", "post", READ, '{"ids": [NaN]}'),
    Row("a number of 5,000 digits", "post", READ, '{"ids": [' + "9" * 5000 + "]}"),
]


@pytest.fixture
def world(tiny_city, categories):  # noqa: F811
    reported = [actions.report_case(reporter=tiny_city.g1_worker, category=categories.garbage, lon=lon,
                                    lat=23.005, description="路边有一堆暴露垃圾")[0] for lon in (113.005, 113.008)]
    for case in reported:
        Notification.objects.get_or_create(recipient=tiny_city.t1_operator, event=case.events.get(), case=case,
                                           defaults={"message": "新案件"})
    return tiny_city, reported[0]


def advance(city, case: Case, state: str) -> Case:
    """Take the reported case through the real actions to the state a row needs."""
    steps = ["reported", "accepted", "in_progress", "handled", "verified"]
    for step in steps[1:steps.index(state) + 1]:
        if step == "accepted":
            actions.accept_case(case, actor=city.t1_operator)
        elif step == "in_progress":
            actions.dispatch_case(case, actor=city.t1_operator, lead=city.town1_um)
            actions.sign_dispatch(case.dispatches.get(), actor=city.handler)
        elif step == "handled":
            actions.feedback_dispatch(case.dispatches.get(), actor=city.handler, note="已清理")
        else:
            actions.assign_verification(case, actor=city.t1_operator, verifier=city.g1_worker)
            actions.verify_case(case, actor=city.g1_worker, passed=True, photos=[photo()])
    case.refresh_from_db()
    return case


def snapshot(case: Case) -> dict:
    case.refresh_from_db()
    return {
        "cases": Case.objects.count(), "events": CaseEvent.objects.count(), "attachments": Attachment.objects.count(),
        "status": case.status, "centre": case.centre_id, "supervision": case.supervision,
        "unread": Notification.objects.filter(read_at__isnull=True).count(),
    }


def send(client, row: Row, case: Case):
    url = row.url.format(case=case.pk)
    if row.body is None:
        return getattr(client, row.method)(url, **row.headers)
    return client.generic(row.method.upper(), url, row.body, content_type=row.content_type, **row.headers)


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_hostile_input_is_a_4xx_json_error_that_writes_nothing(world, api, row):
    city, case = world
    case = advance(city, case, row.state)
    client = api.as_(getattr(city, row.user))
    client.raise_request_exception = False  # a 500 must show as a 500, not as the test's exception
    before = snapshot(case)

    response = send(client, row, case)

    assert response.status_code == row.status, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response.content[:300]
    detail = response.json()["detail"]
    assert isinstance(detail, str) and CJK.search(detail), detail  # a sentence, in Chinese by default
    assert snapshot(case) == before


@pytest.mark.parametrize(("method", "url", "data", "status"), [
    ("post", "/login/", {"username": "t1_operator\x00", "password": "pw-t1_operator"}, 400),
    ("get", "/centre/?q=%00", None, 400),
    ("get", "/m/%00/", None, 404),
])
def test_pages_refuse_nul_too(world, client, method, url, data, status):
    """Pages get the same guard (as their own 400 and 404 pages): NUL never reaches a query."""
    city, case = world
    client.force_login(city.t1_operator)
    client.raise_request_exception = False
    before = snapshot(case)
    response = client.post(url, data) if method == "post" else client.get(url)
    assert response.status_code == status, response.content[:300]
    assert snapshot(case) == before


def test_messages_follow_the_clients_language(world, api):
    city, case = world
    client = api.as_(city.t1_operator)
    for row in (ROWS[0], Row("", "post", READ, '{"ids": ["\\ud800"]}'), Row("", "get", "/api/v1/grids/%00/"),
                Row("", "post", READ, multipart(("x", "1"), close=False), MULTIPART)):
        detail = send(client, Row(**{**row.__dict__, "headers": {"HTTP_ACCEPT_LANGUAGE": "en"}}), case).json()["detail"]
        assert detail and not CJK.search(detail), detail


def test_upload_endpoints_take_larger_bodies_than_plain_json(world, api, settings):
    """The limits are per kind of body: a photo upload may be bigger than any JSON body."""
    city, case = world
    settings.API_MAX_BODY_BYTES = 64 * 1024
    settings.API_MAX_UPLOAD_BYTES = 256 * 1024
    client = api.as_(city.t1_operator)
    url = f"/api/v1/cases/{case.pk}/"
    before = snapshot(case)
    assert client.post(url + "accept/", {"note": "a" * 100 * 1024}, format="json").status_code == 413
    padded = SimpleUploadedFile("big.png", PNG + b"\0" * 100 * 1024, content_type="image/png")
    response = client.post(url + "photos/", {"kind": "report", "photos": [padded]}, format="multipart")
    assert response.status_code == 201, response.content[:300]
    before["attachments"] += 1
    before["events"] += 1
    huge = SimpleUploadedFile("huge.png", PNG + b"\0" * 300 * 1024, content_type="image/png")
    response = client.post(url + "photos/", {"kind": "report", "photos": [huge]}, format="multipart")
    assert response.status_code == 413 and CJK.search(response.json()["detail"]), response.content[:300]
    assert snapshot(case) == before


def test_well_formed_requests_still_work(world, api):
    """The strict parsers take what real clients send: JSON, complete multipart and plain forms."""
    city, case = world
    client = api.as_(city.t1_operator)
    first = Notification.objects.values_list("pk", flat=True).first()
    assert client.post(READ, {"ids": [first]}, format="json").json() == {"marked": 1}
    response = client.generic("POST", READ, multipart(), content_type=MULTIPART)  # an empty form, complete
    assert response.json() == {"marked": 1}
    empty_file_input = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="photos"; filename=""\r\n'
                        "Content-Type: application/octet-stream\r\n\r\n\r\n").encode()
    response = client.generic("POST", f"/api/v1/cases/{case.pk}/supervise/",
                              empty_file_input + multipart(("level", "yellow"), ("note", "请加快")),
                              content_type=MULTIPART)
    assert response.status_code == 200 and response.json()["supervision"] == "yellow", response.content
    response = client.post(f"/api/v1/cases/{case.pk}/accept/", "note=%E5%B1%9E%E5%AE%9E",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and response.json()["status"] == Status.ACCEPTED
    assert client.get("/api/v1/cases/?closed_after=2024-01-27T22:50:59.65777-11:25").status_code == 200
    assert client.get(f"/api/v1/cases/{case.pk}/timeline/").status_code == 200
    assert client.get("/api/v1/reports/kpis/?area=980101001&end=2026-01-31").status_code == 200


@pytest.mark.parametrize(("text", "deep"), [
    ("[" * (MAX_JSON_DEPTH + 1), True),
    ("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH, False),
    ('{"a": "' + "[" * 1000 + '"}', False),  # brackets inside a string do not nest
    ('{"a": "\\"' + "[" * 1000 + '"}', False),  # nor after an escaped quote
    ('"' + '\\"' * 50_000 + "[" * 40, False),  # an unterminated string hides what follows, in linear time
    ("[]" * 50_000, False),
])
def test_json_depth_scan(text, deep):
    assert json_too_deep(text) is deep
