"""Importing residents from CSV/XLSX forms (issue #10 item 3): the dry run lists every bad row with
nothing written, the import is all or nothing, large files go through a job, and exports are masked
and logged. People of the tiny city come from parties/tests/conftest.py (``people``)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.utils import translation
from openpyxl import Workbook, load_workbook

from parties import actions, importer, pii
from parties.choices import PiiAccessKind
from parties.models import Building, House, Household, PiiAccessLog, Resident, ResidentMove

from .conftest import ID_A, PHONE_A

HEADER = ["网格编码", "楼栋编号", "路(街)名", "门牌号", "经度", "纬度", "单元", "楼层", "房号", "姓名",
          "公民身份号码", "联系电话", "人口类型", "户编号", "与户主关系", "迁入日期"]
G1 = "980101001001001"  # A-1, 113.00–113.01 E
G3 = "980101002001001"  # B-1, 113.02–113.03 E


def idn(serial: int, birth: dt.date = dt.date(1985, 6, 1), *, female: bool = False) -> str:
    return pii.make_id_number("440604", birth, serial, female=female)


def row(**values) -> list[str]:
    base = {"网格编码": G1, "楼栋编号": "1", "房号": "302", "姓名": "张三", "公民身份号码": idn(1),
            "人口类型": "户籍", "单元": "1"}
    base.update(values)
    return [base.get(name, "") for name in HEADER]


def csv_bytes(rows: list[list[str]], header: list[str] = HEADER, encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list], header: list[str] = HEADER) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for values in rows:
        sheet.append(values)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def counts() -> tuple[int, ...]:
    return (Resident.objects.count(), Building.objects.count(), House.objects.count(), Household.objects.count(),
            ResidentMove.objects.count())


def problems_by_row(result) -> dict[int, list[tuple[str, str]]]:
    found: dict[int, list[tuple[str, str]]] = {}
    for problem in result.problems:
        found.setdefault(problem.row, []).append((problem.column, problem.message))
    return found


# --- the dry run ----------------------------------------------------------------------------------


def test_dry_run_lists_every_bad_row_kind_and_writes_nothing(people, english):
    bad_check = idn(2)[:17] + ("0" if idn(2)[17] != "0" else "1")
    bad_birth = "440604" + "19901332" + "1234"
    bad_birth = bad_birth[:17] + pii.id_check_char(bad_birth[:17])
    rows = [
        row(公民身份号码=idn(1)),                                    # 2: good
        row(公民身份号码=bad_check),                                  # 3: wrong check digit
        row(公民身份号码=bad_birth),                                  # 4: impossible birth date
        row(网格编码="999999", 公民身份号码=idn(3)),                   # 5: unknown grid
        row(楼栋编号="77", 公民身份号码=idn(4)),                        # 6: unknown address
        row(公民身份号码=idn(1)),                                    # 7: duplicate of row 2
        row(公民身份号码=ID_A),                                      # 8: duplicate of Alice (database)
        row(姓名="", 公民身份号码=idn(5)),                             # 9: missing name
        row(楼栋编号="5", **{"路(街)名": "岐江路", "门牌号": "10", "经度": "113.025", "纬度": "23.005"},
            公民身份号码=idn(6)),                                     # 10: point outside its grid (in B-1)
        row(联系电话="12345", 公民身份号码=idn(7)),                     # 11: bad mobile number
    ]
    before = counts()
    result = importer.check_file(csv_bytes(rows), "csv")
    assert counts() == before

    found = problems_by_row(result)
    assert 2 not in found
    assert found[3] == [("id_number", "The check digit of this ID card number is wrong; please check the number.")]
    assert found[4] == [("id_number", "The birth date inside this ID card number does not exist.")]
    assert found[5] == [("grid", "unknown grid 999999 (or not one you may import into)")]
    assert found[6][0][0] == "building" and "has no building 77" in found[6][0][1]
    assert found[7] == [("id_number", "duplicate: the same ID card number is on row 2")]
    assert found[8] == [("id_number", f"duplicate: already registered as Alice (resident {people.alice.pk})")]
    assert found[9] == [("name", "missing: this column is required")]
    assert found[10][0][0] == "lon" and "lies outside grid 980101001001001" in found[10][0][1]
    assert found[11] == [("phone", "A mobile number has 11 digits and starts with 13 to 19.")]
    assert set(found) == {3, 4, 5, 6, 7, 8, 9, 10, 11}
    assert result.summary()["bad_rows"] == 9

    with pytest.raises(importer.ResidentImportError) as refused:
        importer.import_file(csv_bytes(rows), "csv")
    assert len(refused.value.problems) == len(result.problems)
    assert counts() == before


def test_messages_are_in_the_users_language(people):
    with translation.override("zh-hans"):
        result = importer.check_file(csv_bytes([row(姓名="")]), "csv")
        text = str(result.problems[0])
    assert "第 2 行" in text and "姓名" in text and "必填" in text


def test_duplicate_outside_scope_is_not_named(people, english):
    # Bob lives in B-1: g1_worker may not see him, so the message names nobody.
    from .conftest import ID_B

    result = importer.check_file(csv_bytes([row(公民身份号码=ID_B)]), "csv", user=people.city.g1_worker)
    assert [p.message for p in result.problems] == [
        "duplicate: a resident with this ID card number is already registered outside your area"]
    assert "Bob" not in str(result.problems[0])


def test_header_without_required_columns(tiny_city, english):
    result = importer.check_file(csv_bytes([["x"]], header=["name", "remarks"]), "csv")
    missing = {p.column for p in result.problems}
    assert {"grid", "building", "room", "id_number", "residence_kind"} <= missing
    assert "name" not in missing  # the English name is accepted


def test_a_title_row_above_the_header_is_skipped(people, english):
    content = csv_bytes([["龙埔社区人口信息采集表"], [], HEADER, row(公民身份号码=idn(81))], header=["", ""])
    result = importer.check_file(content, "csv")
    assert result.ok and [r.row for r in result.rows] == [5]
    result = importer.check_file(csv_bytes([row(姓名="")]), "csv")
    assert [(p.row, p.column) for p in result.problems] == [(2, "name")]


def test_a_grid_outside_the_users_scope_is_unknown(people, english):
    result = importer.check_file(csv_bytes([row(网格编码=G3, 楼栋编号="9", 房号="101")]), "csv",
                                 user=people.city.g1_worker)
    assert [(p.column, p.message) for p in result.problems] == [
        ("grid", f"unknown grid {G3} (or not one you may import into)")]


# --- importing ----------------------------------------------------------------------------------


def test_good_csv_import_writes_everything_encrypted(people):
    rows = [
        row(公民身份号码=idn(11), 联系电话="139 0000 1111", 户编号="H-9", 与户主关系="户主", 迁入日期="2024/03/01"),
        row(公民身份号码=idn(12, female=True), 姓名="李四", 户编号="H-9", 与户主关系="配偶"),
        # a new building, with its address and point (inside A-1); the next row uses it without them
        row(楼栋编号="3", **{"路(街)名": "季华路", "门牌号": "18", "经度": "113.004", "纬度": "23.002"}, 房号="101",
            单元="", 公民身份号码=idn(13), 人口类型="流动"),
        row(楼栋编号="3", 房号="102", 单元="", 公民身份号码=idn(14), 人口类型="floating"),
    ]
    before = counts()
    written = importer.import_file(csv_bytes(rows), "csv", user=people.city.g1_worker)
    assert (written.residents, written.buildings, written.houses, written.households) == (4, 1, 3, 1)
    assert counts() == (before[0] + 4, before[1] + 1, before[2] + 3, before[3] + 1, before[4] + 4)

    head = Resident.objects.get(id_number_hash=pii.id_hash(idn(11)))
    assert head.grid == people.city.g1 and head.area_path == people.city.g1.path
    assert head.house.building == people.b1 and head.house.room == "302" and head.house.unit == "1"
    assert head.moved_in_on == dt.date(2024, 3, 1) and head.birth_date == dt.date(1985, 6, 1)
    assert head.decrypted_phone() == "13900001111" and head.phone_masked == "139****1111"
    assert head.household.head == head and head.household.members.count() == 2
    new = Building.objects.get(grid=people.city.g1, number="3")
    assert new.address == "季华路18号3栋" and new.point.x == pytest.approx(113.004)
    assert Resident.objects.filter(house__building=new, residence_kind="floating").count() == 2
    assert ResidentMove.objects.filter(resident=head, to_house=head.house, actor=people.city.g1_worker).exists()

    with connection.cursor() as cursor:
        cursor.execute("SELECT t::text FROM parties_resident t")
        raw = "\n".join(r[0] for r in cursor.fetchall())
    for plain in (idn(11), idn(12, female=True), idn(13), "13900001111"):
        assert plain not in raw


def test_xlsx_import_with_typed_cells(people, english):
    rows = [
        # Excel's date cells are naive: openpyxl reads them as naive datetimes.
        [G1, 1, "", "", None, None, 1, 3, 303, "王五", idn(21), 13700001234, "户籍", "", "",
         dt.datetime(2023, 5, 4)],  # noqa: DTZ001
        [G1, 1, "", "", None, None, 1, 3, 304, "赵六", idn(22), None, "境外", "", "", None],
    ]
    written = importer.import_file(xlsx_bytes(rows), "xlsx")
    assert written.residents == 2
    wang = Resident.objects.get(id_number_hash=pii.id_hash(idn(21)))
    assert wang.moved_in_on == dt.date(2023, 5, 4) and wang.house.room == "303"
    assert wang.decrypted_phone() == "13700001234"
    assert Resident.objects.get(id_number_hash=pii.id_hash(idn(22))).residence_kind == "overseas"

    # An ID typed into a number cell has lost digits in Excel: said so, not taken as a wrong check digit.
    lost = [[G1, 1, "", "", None, None, 1, 3, 305, "孙七", 440604198506010000, None, "户籍", "", "", None]]
    result = importer.check_file(xlsx_bytes(lost), "xlsx")
    assert [p.column for p in result.problems] == ["id_number"]
    assert "stored as a number" in result.problems[0].message


def test_gbk_csv_from_excel_is_read(people):
    written = importer.import_file(csv_bytes([row(公民身份号码=idn(31))], encoding="gb18030"), "csv")
    assert written.residents == 1 and Resident.objects.filter(name="张三").exists()


def test_not_a_workbook(tiny_city, english):
    result = importer.check_file(b"PK\x03\x04 nonsense", "xlsx")
    assert [str(p) for p in result.problems] == ["The file is not an Excel workbook (.xlsx) that can be read."]


def test_all_or_nothing_when_the_database_refuses_a_row(people):
    rows = [row(楼栋编号="4", **{"路(街)名": "季华路", "门牌号": "20", "经度": "113.006", "纬度": "23.006"},
                公民身份号码=idn(41)),
            row(公民身份号码=idn(42))]
    result = importer.check_file(csv_bytes(rows), "csv")
    assert result.ok
    # Someone registers the second person between the check and the write.
    actions.create_resident(actor=None, name="抢先", house=people.h1, id_number=idn(42))
    before = counts()
    with pytest.raises(IntegrityError), transaction.atomic():
        importer._write(result, actor=None, progress=importer._no_progress)
    assert counts() == before
    assert not Building.objects.filter(number="4").exists()

    with pytest.raises(importer.ResidentImportError):
        importer.import_file(csv_bytes(rows), "csv")  # the check now finds the duplicate
    assert counts() == before


def test_management_command(people, tmp_path, english):
    good, bad = tmp_path / "good.csv", tmp_path / "bad.xlsx"
    good.write_bytes(csv_bytes([row(公民身份号码=idn(51))]))
    bad.write_bytes(xlsx_bytes([row(公民身份号码="123")]))
    out = io.StringIO()
    call_command("import_residents", str(good), "--dry-run", stdout=out)
    assert "no problems" in out.getvalue() and not Resident.objects.filter(name="张三").exists()
    with pytest.raises(CommandError, match=r"row 2, 公民身份号码 \(id_number\): An ID card number has 18"):
        call_command("import_residents", str(bad))
    call_command("import_residents", str(good), stdout=out)
    assert Resident.objects.filter(name="张三").count() == 1


# --- the API, the template and jobs -----------------------------------------------------------------


def test_template_downloads_and_its_example_row_checks(api, people):
    response = api.as_(people.city.g1_worker).get("/api/v1/residents/import/template.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"] == importer.XLSX_TYPE
    assert "attachment" in response["Content-Disposition"]
    content = b"".join(response.streaming_content) if response.streaming else response.content
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == [c.header for c in importer.COLUMNS]
    assert len(values) == 2
    # The example row, put in a real grid, passes the check.
    example = list(values[1])
    example[0] = G1
    assert importer.check_file(xlsx_bytes([example], header=list(values[0])), "xlsx").ok


def _upload(client, content: bytes, name: str, dry_run: bool):
    upload = io.BytesIO(content)
    upload.name = name
    return client.post("/api/v1/residents/import/", {"file": upload, "dry_run": "true" if dry_run else "false"},
                       format="multipart")


def test_api_dry_run_then_import(api, people, english):
    client = api.as_(people.city.g1_worker)
    bad = csv_bytes([row(公民身份号码=idn(61)), row(公民身份号码="4406041985")])
    response = _upload(client, bad, "form.csv", dry_run=True)
    assert response.status_code == 200
    assert response.json()["ok"] is False
    assert [(p["row"], p["column"]) for p in response.json()["problems"]] == [(3, "id_number")]
    response = _upload(client, bad, "form.csv", dry_run=False)
    assert response.status_code == 400 and response.json()["code"] == "invalid_rows"
    assert not Resident.objects.filter(id_number_hash=pii.id_hash(idn(61))).exists()

    good = xlsx_bytes([row(公民身份号码=idn(61))])
    response = _upload(client, good, "form.xlsx", dry_run=False)
    assert response.status_code == 201, response.json()
    assert response.json()["summary"]["residents"] == 1
    assert Resident.objects.filter(id_number_hash=pii.id_hash(idn(61)), grid=people.city.g1).exists()


def test_api_refuses_officials_and_other_files(api, people):
    response = _upload(api.as_(people.city.city_official), csv_bytes([row()]), "form.csv", dry_run=True)
    assert response.status_code == 403
    response = _upload(api.as_(people.city.g1_worker), b"a,b", "form.txt", dry_run=True)
    assert response.status_code == 400 and response.json()["errors"]["file"] == ["只能导入 .csv 和 .xlsx 文件。"]


@pytest.fixture
def eager():
    """Jobs run in the test's process and transaction (a real worker could not see the test's rows)."""
    conf = importer.run_import_job.app.conf
    before = conf.task_always_eager
    conf.task_always_eager = True
    yield
    conf.task_always_eager = before


def test_large_file_goes_through_a_job_with_progress(api, people, monkeypatch, eager, english):
    from django.core.files.storage import default_storage

    monkeypatch.setattr(importer, "INLINE_MAX_BYTES", 100)
    client = api.as_(people.city.g1_worker)
    rows = [row(公民身份号码=idn(100 + i), 房号=str(400 + i)) for i in range(30)]
    response = _upload(client, csv_bytes(rows + [row(公民身份号码="x")]), "big.csv", dry_run=True)
    assert response.status_code == 202
    job = client.get(f"/api/v1/residents/import/jobs/{response.json()['id']}/").json()
    assert job["state"] == "done" and job["progress"] == 100 and job["ok"] is False
    assert [p["row"] for p in job["problems"]] == [32]
    assert job["summary"]["rows"] == 31

    response = _upload(client, csv_bytes(rows), "big.csv", dry_run=False)
    job_id = response.json()["id"]
    job = client.get(f"/api/v1/residents/import/jobs/{job_id}/").json()
    assert job["state"] == "done" and job["ok"] is True and job["summary"]["residents"] == 30
    assert Resident.objects.filter(house__room__startswith="4").count() == 30
    # The uploaded file (plain ID numbers) is gone; another user cannot see the job.
    assert not default_storage.exists(f"imports/{job_id}.csv")
    assert api.as_(people.city.g3_worker).get(f"/api/v1/residents/import/jobs/{job_id}/").status_code == 404
    # The broker hands a long job's message out again after its visibility timeout: a second run leaves it.
    assert importer.run_import_job(job_id) == job_id
    assert Resident.objects.filter(house__room__startswith="4").count() == 30


# --- exports ------------------------------------------------------------------------------------


def test_export_is_masked_scoped_and_logged(api, people):
    client = api.as_(people.city.g1_worker)
    response = client.get("/api/v1/residents/export/", {"file_format": "csv", "reason": "季度走访名单"})
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    assert "Alice" in text and "Bob" not in text  # Bob lives in B-1, outside g1_worker's grid
    assert ID_A not in text and PHONE_A not in text
    assert pii.mask_id_number(ID_A) in text and pii.mask_phone(PHONE_A) in text
    log = PiiAccessLog.objects.get(kind=PiiAccessKind.EXPORT)
    assert (log.actor, log.count, log.reason) == (people.city.g1_worker, 1, "季度走访名单")

    response = client.get("/api/v1/residents/export/", {"file_format": "xlsx", "reason": "季度走访名单"})
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    cells = [str(v) for r in sheet.iter_rows(values_only=True) for v in r if v is not None]
    assert pii.mask_id_number(ID_A) in cells and ID_A not in cells
    assert PiiAccessLog.objects.filter(kind=PiiAccessKind.EXPORT).count() == 2

    # No reason, no file and no log.
    response = client.get("/api/v1/residents/export/", {"file_format": "csv"})
    assert response.status_code == 400
    assert PiiAccessLog.objects.filter(kind=PiiAccessKind.EXPORT).count() == 2


def test_large_export_through_a_job(api, people, monkeypatch, eager):
    from parties import exports

    monkeypatch.setattr(exports, "INLINE_MAX_ROWS", 1)
    client = api.as_(people.city.admin)
    response = client.get("/api/v1/residents/export/", {"file_format": "xlsx", "reason": "全市人口核对"})
    assert response.status_code == 202
    job = client.get(f"/api/v1/residents/export/jobs/{response.json()['id']}/").json()
    assert job["state"] == "done" and job["count"] == 2
    download = client.get(f"/api/v1/residents/export/jobs/{response.json()['id']}/download/")
    content = b"".join(download.streaming_content)
    names = [r[0] for r in load_workbook(io.BytesIO(content)).worksheets[0].iter_rows(values_only=True)]
    assert {"Alice", "Bob"} <= set(names)
    assert PiiAccessLog.objects.get(kind=PiiAccessKind.EXPORT).count == 2


# --- the page -------------------------------------------------------------------------------------


def test_page_checks_imports_and_exports(client, people):
    client.force_login(people.city.g1_worker)
    page = client.get("/people/import/")
    assert page.status_code == 200 and "/people/import/template.xlsx" in page.content.decode()
    template = client.get("/people/import/template.xlsx")
    assert template.status_code == 200 and template["Content-Type"] == importer.XLSX_TYPE

    def send(content: bytes, dry_run: bool):
        upload = io.BytesIO(content)
        upload.name = "form.csv"
        return client.post("/people/import/", {"file": upload, **({"dry_run": "on"} if dry_run else {})})

    bad = csv_bytes([row(公民身份号码=idn(71)), row(网格编码="nope", 公民身份号码=idn(72))])
    html = send(bad, dry_run=False).content.decode()
    assert 'id="import-problems"' in html and "网格 nope 不存在" in html
    assert not Resident.objects.filter(id_number_hash=pii.id_hash(idn(71))).exists()
    html = send(csv_bytes([row(公民身份号码=idn(71))]), dry_run=True).content.decode()
    assert 'id="import-checked"' in html and not Resident.objects.filter(id_number_hash=pii.id_hash(idn(71))).exists()
    html = send(csv_bytes([row(公民身份号码=idn(71))]), dry_run=False).content.decode()
    assert 'id="import-done"' in html and Resident.objects.filter(id_number_hash=pii.id_hash(idn(71))).exists()

    response = client.post("/people/import/", {"action": "export", "file_format": "csv", "area": "",
                                                "residence_kind": "", "reason": "核对本网格人口"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert ID_A not in response.content.decode("utf-8-sig")
    assert PiiAccessLog.objects.filter(kind=PiiAccessKind.EXPORT, actor=people.city.g1_worker).count() == 1


def test_page_refuses_who_may_not_import(client, people):
    client.force_login(people.city.city_official)
    assert client.get("/people/import/").status_code == 200  # an official may export what they read
    upload = io.BytesIO(csv_bytes([row()]))
    upload.name = "form.csv"
    assert client.post("/people/import/", {"file": upload}).status_code == 403
    client.force_login(people.city.nobody)
    assert client.get("/people/import/").status_code == 404


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_import_job(celery_worker, people):
    """The job's task is registered with the worker (through parties/exports.py) and runs there."""
    import time

    rows = [row(公民身份号码=idn(200 + i), 房号=str(500 + i)) for i in range(5)]
    job = importer.start_job(csv_bytes(rows), "csv", user=people.city.g1_worker, dry_run=False, filename="w.csv")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (importer.get_job(job["id"]) or {}).get("state") not in ("done", "failed"):
        time.sleep(0.2)
    done = importer.get_job(job["id"])
    assert done["state"] == "done" and done["ok"] is True, done
    assert Resident.objects.filter(house__room__startswith="5", grid=people.city.g1).count() == 5
