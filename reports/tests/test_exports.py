"""Exports open and hold the figures the page shows: CSV and XLSX of every dashboard table, the case
list built by a Celery task (called directly), and the monthly safety report as PDF.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.test import Client
from openpyxl import load_workbook

from govgrid.celery import app as celery_app
from reports import exports, kpis
from reports.tests import scenario
from reports.tests.scenario import CITY_COUNTS, CITY_RATES, END, START

PERIOD = {"start": START.isoformat(), "end": END.isoformat()}


@pytest.fixture
def week(tiny_city, categories):
    return scenario.build(tiny_city, categories)


@pytest.fixture
def town_official(tiny_city):
    return scenario.town_official(tiny_city, tiny_city.town1)


def client_for(user) -> Client:
    """Logged in as ``user``, in English (the pages speak Chinese unless the language cookie says otherwise)."""
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def read_csv(response) -> list[dict[str, str]]:
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")  # Excel needs the byte-order mark to read UTF-8
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def read_xlsx(content: bytes) -> list[dict]:
    sheet = load_workbook(io.BytesIO(content)).active
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def test_ranking_csv_and_xlsx_match_the_page_and_the_kpis(week, tiny_city, english):
    client = client_for(tiny_city.city_official)
    params = {"area": "980101", **PERIOD}
    page = client.get("/reports/", params).context["ranking"].rows
    expected = {row["key"]: row for row in kpis.kpis(tiny_city.district, START, END, by="area")["rows"]}

    response = client.get("/reports/export/ranking.csv", params)
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="980101-ranking-20260928-20261009.csv"'
    rows = read_csv(response)
    assert [row["Area code"] for row in rows] == [row["code"] for row in page] == ["980101001", "980101002"]
    for row, shown in zip(rows, page, strict=True):
        figures = expected[row["Area code"]]
        assert int(row["Reported"]) == figures["counts"]["reported"] == shown["reported"]
        assert int(row["Due and closed on time"]) == figures["counts"]["due_closed_on_time"] == shown["closed_on_time"]
        rate = figures["rates"]["on_time_rate"]
        assert row["On-time closure rate (%)"] == ("" if rate is None else str(round(rate * 100, 1)))
    assert rows[0]["Light"] == "yellow" and rows[1]["Light"] == ""

    workbook = client.get("/reports/export/ranking.xlsx", params)
    assert workbook["Content-Type"] == exports.CONTENT_TYPES["xlsx"]
    sheet = read_xlsx(workbook.content)
    assert [(r["Area code"], r["Reported"], r["On-time closure rate"]) for r in sheet] == [
        ("980101001", 8, 0.75), ("980101002", 1, None)]
    cell = load_workbook(io.BytesIO(workbook.content)).active["E2"]
    assert cell.value == 0.75 and cell.number_format == "0.0%"


def test_kpi_export_holds_the_tiles(week, tiny_city, english):
    client = client_for(tiny_city.city_official)
    rows = {row["Indicator"]: row for row in read_csv(client.get("/reports/export/kpis.csv",
                                                                  {"area": "9801", **PERIOD}))}
    assert rows["Reported"]["This period"] == str(CITY_COUNTS["reported"])
    assert rows["Closed"]["This period"] == str(CITY_COUNTS["closed"])
    assert rows["On-time closure rate"]["This period"] == "75.0"
    assert rows["Acceptance rate"]["This period"] == str(round(CITY_RATES["acceptance_rate"] * 100, 1))
    assert rows["Average handling time"]["This period"] == str(CITY_RATES["avg_handle_hours"])
    assert rows["Reported"]["Previous period"] == "0" and rows["Closure rate"]["Previous period"] == ""
    sheet = {row["Indicator"]: row for row in read_xlsx(client.get("/reports/export/kpis.xlsx",
                                                                    {"area": "9801", **PERIOD}).content)}
    assert sheet["Dispatch accuracy"]["This period"] == CITY_RATES["dispatch_accuracy"]
    assert sheet["Reported"]["This period"] == 9


def test_categories_departments_and_trend_exports(week, tiny_city, english):
    client = client_for(tiny_city.city_official)
    params = {"area": "9801", **PERIOD}
    categories = read_xlsx(client.get("/reports/export/categories.xlsx", params).content)
    assert [(r["Category"], r["Reported"], r["Share of reports"]) for r in categories] == [("市容环境", 9, 1.0)]

    departments = read_csv(client.get("/reports/export/departments.csv", params))
    league = kpis.department_league(tiny_city.city, START, END)
    assert [r["Department"] for r in departments] == [d["department"]["name"] for d in league]
    assert [int(r["Dispatches"]) for r in departments] == [d["dispatched"] for d in league]
    assert [int(r["Dispatched and returned"]) for r in departments] == [d["returned"] for d in league]

    trend = read_csv(client.get("/reports/export/trend.csv", {**params, "period": "week"}))
    # due 28 Sep–4 Oct: I and B, both closed; 5–11 Oct: G (after its rework) and A, both closed
    assert [(r["Week from"], r["Reported"], r["Due"], r["Due and closed"]) for r in trend] == [
        ("2026-09-28", "9", "2", "2"), ("2026-10-05", "0", "2", "2")]
    page = client.get("/reports/", {**params, "period": "week"}).context["trend"].rows
    assert [row["reported"] for row in page] == [9, 0]


def test_overdue_export(week, tiny_city, english):
    with time_machine.travel(scenario.at(20, 9), tick=False):
        rows = read_csv(client_for(tiny_city.city_official).get("/reports/export/overdue.csv",
                                                                {"area": "9801", **PERIOD}))
    assert [row["Number"] for row in rows] == [week.h.number, week.j.number]
    assert rows[0]["Grid"] == "B-1" and float(rows[0]["Hours overdue"]) > 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", rows[0]["Deadline"])


@pytest.mark.parametrize("url", ["/reports/export/ranking.csv", "/reports/export/categories.xlsx",
                                 "/reports/export/overdue.xlsx", "/reports/map.json"])
def test_a_town_official_cannot_export_another_town(week, tiny_city, town_official, url):
    client = client_for(town_official)
    assert client.get(url, {"area": tiny_city.town1.code, **PERIOD}).status_code == 200
    assert client.get(url, {"area": tiny_city.town2.code, **PERIOD}).status_code == 404


def test_names_that_look_like_formulas_stay_text(week, tiny_city):
    tiny_city.town1.name = "=HYPERLINK(\"http://x\")"
    tiny_city.town1.save()
    client = client_for(tiny_city.city_official)
    rows = read_csv(client.get("/reports/export/ranking.csv", {"area": "980101", **PERIOD}))
    assert rows[0]["Area"] == "'=HYPERLINK(\"http://x\")"
    cell = load_workbook(io.BytesIO(client.get("/reports/export/ranking.xlsx", {"area": "980101", **PERIOD}).content)
                         ).active["C2"]
    assert cell.data_type == "s" and cell.value.startswith("'=")


def test_unknown_table_and_bad_period(tiny_city):
    client = client_for(tiny_city.city_official)
    assert client.get("/reports/export/secrets.csv").status_code == 404
    assert client.get("/reports/export/ranking.pdf").status_code == 404
    assert client.get("/reports/export/ranking.csv", {"start": "2026-10-09", "end": "2026-09-28"}).status_code == 400


# --- the case list, through Celery ------------------------------------------------------------------


def test_the_case_export_task_writes_the_file_and_reports_progress(week, tiny_city, english):
    export_id = exports.build_export("cases", "9801", START.isoformat(), END.isoformat(),
                                     tiny_city.city_official.pk, fmt="xlsx", language="en")
    job = cache.get(f"export:{export_id}")
    assert job["state"] == "done" and job["progress"] == 100
    assert job["url"] == f"/reports/exports/{export_id}/download/"
    assert job["file"] == f"exports/{export_id}.xlsx" and default_storage.exists(job["file"])
    with default_storage.open(job["file"], "rb") as handle:
        rows = read_xlsx(handle.read())
    assert sorted(row["Number"] for row in rows) == sorted(getattr(week, c).number for c in "abcdefghij")
    a = next(row for row in rows if row["Number"] == week.a.number)
    assert (a["Category"], a["Category family"], a["Grid"], a["Closed on time"]) == (
        "暴露垃圾", "市容环境", "A-1", True)
    assert a["Reported at"].strftime("%Y-%m-%d %H:%M") == "2026-09-30 09:00"  # local time, as Excel shows it
    assert [row["Legacy issue"] for row in rows if row["Number"] == week.j.number] == [True]


def test_the_case_export_holds_only_cases_the_user_may_see(week, tiny_city, town_official):
    export_id = exports.build_export("cases", "980101001", START.isoformat(), END.isoformat(), town_official.pk,
                                     fmt="csv")
    with default_storage.open(cache.get(f"export:{export_id}")["file"], "rb") as handle:
        rows = list(csv.reader(io.StringIO(handle.read().decode("utf-8-sig"))))
    assert len(rows) == 1 + 9  # all but H (Town Two)
    outside = exports.build_export("cases", "980101002", START.isoformat(), END.isoformat(), town_official.pk)
    assert cache.get(f"export:{outside}")["state"] == "failed"


def test_the_case_export_page_starts_a_job_polls_it_and_serves_the_file(week, tiny_city, monkeypatch):
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)  # the worker, here
    client = client_for(tiny_city.city_official)
    assert client.get("/reports/export/cases.xlsx", {"area": "9801", **PERIOD}).status_code == 405
    response = client.post(f"/reports/export/cases.xlsx?area=9801&start={START}&end={END}")
    assert response.status_code == 302
    export_id = re.fullmatch(r"/reports/exports/([0-9a-f]{32})/", response["Location"])[1]
    status = client.get(response["Location"])
    assert status.status_code == 200 and status.context["job"]["state"] == "done"
    assert f'href="/reports/exports/{export_id}/download/"' in status.content.decode()
    partial = client.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert partial.startswith('<div id="export-job"') and "hx-trigger" not in partial  # done: polling stops
    download = client.get(f"/reports/exports/{export_id}/download/")
    assert download.status_code == 200 and download["Content-Disposition"].startswith("attachment")
    assert len(read_xlsx(b"".join(download.streaming_content))) == 10
    # Another user's export does not exist for you.
    other = client_for(tiny_city.t1_operator)
    assert other.get(response["Location"]).status_code == 404
    assert other.get(f"/reports/exports/{export_id}/download/").status_code == 404


def test_a_pending_export_polls_every_two_seconds(tiny_city, english):
    export_id = exports.new_job("cases", "xlsx", tiny_city.city, START, END, tiny_city.city_official)
    exports.set_job(export_id, state="running", progress=40)
    partial = client_for(tiny_city.city_official).get(f"/reports/exports/{export_id}/",
                                                      HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 2s"' in partial and 'value="40"' in partial


def test_an_unreachable_broker_fails_the_job_at_once(tiny_city, monkeypatch, english):
    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("no broker")

    monkeypatch.setattr(exports.build_export.app, "producer_or_acquire", refuse)
    client = client_for(tiny_city.city_official)
    response = client.post(f"/reports/export/cases.csv?area=9801&start={START}&end={END}", follow=True)
    assert response.context["job"]["state"] == "failed"
    assert "could not be started" in response.content.decode()


# --- the monthly safety report ------------------------------------------------------------------------


def pdf_title(content: bytes) -> str:
    """The document's /Title, a PDF string literal (UTF-16 with a byte-order mark when not Latin-1)."""
    literal = re.search(rb"/Title \((.*?)(?<!\\)\)", content, re.S)[1]
    raw = re.sub(rb"\\([0-7]{1,3}|.)", lambda m: bytes([int(m[1], 8)]) if m[1][:1].isdigit() else m[1], literal)
    return raw[2:].decode("utf-16-be") if raw.startswith(b"\xfe\xff") else raw.decode("latin-1")


def pages(content: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b", content))


def test_the_monthly_pdf_of_an_area(week, tiny_city, english):
    response = client_for(tiny_city.city_official).get("/reports/monthly/2026-09/980101001.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    content = response.content
    assert content.startswith(b"%PDF") and 1 <= pages(content) <= 3
    assert "Town One" in pdf_title(content) and "2026-09" in pdf_title(content)
    city = exports.monthly_pdf(tiny_city.city, 2026, 10)
    assert city.startswith(b"%PDF") and 1 <= pages(city) <= 3 and "Testville" in pdf_title(city)


def test_the_monthly_pdf_is_scoped(week, tiny_city, town_official):
    client = client_for(town_official)
    assert client.get("/reports/monthly/2026-09/980101001.pdf").status_code == 200
    assert client.get("/reports/monthly/2026-09/980101002.pdf").status_code == 404
    assert client.get("/reports/monthly/2026-13/980101001.pdf").status_code == 404


def test_the_monthly_task_writes_one_pdf_per_town_and_the_page_lists_those_in_scope(week, tiny_city,
                                                                                     town_official):
    with time_machine.travel(scenario.at(1, 6).replace(month=11), tick=False):
        result = exports.monthly_reports()
    assert result == {"month": "2026-10", "written": 2, "failed": []}
    for town in (tiny_city.town1, tiny_city.town2):
        path = f"reports/monthly/2026-10/{town.code}.pdf"
        with default_storage.open(path, "rb") as handle:
            content = handle.read()
        assert content.startswith(b"%PDF") and town.name in pdf_title(content)
    assert exports.monthly_reports(2026, 10)["written"] == 2  # a rerun replaces, never adds copies
    assert sorted(default_storage.listdir("reports/monthly/2026-10")[1]) == ["980101001.pdf", "980101002.pdf"]

    listing = client_for(town_official).get("/reports/monthly/")
    html = listing.content.decode()
    assert 'href="/reports/monthly/2026-10/980101001.pdf"' in html
    assert "980101002" not in html
    stored = client_for(town_official).get("/reports/monthly/2026-10/980101001.pdf")
    with default_storage.open("reports/monthly/2026-10/980101001.pdf", "rb") as handle:
        assert b"".join(stored.streaming_content) == handle.read()
    city_listing = client_for(tiny_city.city_official).get("/reports/monthly/").content.decode()
    assert "980101001.pdf" in city_listing and "980101002.pdf" in city_listing


def test_the_beat_schedule_has_the_monthly_reports():
    entry = celery_app.conf.beat_schedule["monthly-reports"]
    assert entry["task"] == "reports.exports.monthly_reports"
    schedule = entry["schedule"]
    assert schedule.day_of_month == {1} and schedule.hour == {6} and schedule.minute == {0}
    assert "reports.exports.build_export" in celery_app.tasks and "reports.exports.monthly_reports" in celery_app.tasks
    assert celery_app.amqp.router.route({}, "reports.exports.build_export")["queue"].name == "reports"
