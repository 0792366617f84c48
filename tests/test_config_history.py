"""Configuration history (issue #8): a change through the admin records who, when, before and after,
and the object's History page in the admin shows it, in Chinese and in English."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.db.utils import ProgrammingError
from django.urls import reverse
from django.utils import timezone

from cases.models import Category, CategoryLead
from govgrid.history import EVENT_MODELS, RECORDED_FIELDS, UNRECORDED_FIELDS
from govgrid.models import WorkdayOverride
from grids.choices import DepartmentKind, Level, Role
from grids.models import Area, Membership
from reports.models import ScoringSettings

CategoryEvent = EVENT_MODELS[Category]
WorkdayOverrideEvent = EVENT_MODELS[WorkdayOverride]


def change_form_data(response) -> dict[str, Any]:
    """What the browser would post back from an admin change page, unchanged: the main form and every
    inline formset with its management form."""
    data: dict[str, Any] = {}

    def add(bound_field) -> None:
        value = bound_field.value()
        if value is None or value is False:
            return
        data[bound_field.html_name] = "on" if value is True else value

    for field in response.context["adminform"].form:
        add(field)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for field in formset.management_form:
            add(field)
        for form in formset.forms:
            for field in form:
                add(field)
    return data


def admin_url(obj, view: str) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_{view}", args=[obj.pk])


@pytest.fixture
def admin_client(client, tiny_city):
    client.force_login(tiny_city.superuser)
    return client


@pytest.fixture
def street_litter(db):
    family = Category.objects.create(code="01", name="市容环境")
    category = Category.objects.create(code="0101", name="暴露垃圾", parent=family, time_limit=Decimal("4"),
                                       time_unit="working_hours")
    CategoryLead.objects.create(category=category, level=Level.TOWN, department_kind=DepartmentKind.URBAN_MANAGEMENT)
    return category


def test_the_test_database_has_the_history_triggers(db):
    """migrate installs them (PGTRIGGER_INSTALL_ON_MIGRATE), since they are in no migration."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT tgrelid::regclass::text, tgname FROM pg_trigger WHERE tgname LIKE 'pgtrigger_%%'")
        triggers = cursor.fetchall()
    for tracked, event_model in EVENT_MODELS.items():
        on_table = {name.split("_")[1] for table, name in triggers if table == tracked._meta.db_table}
        assert on_table == {"insert", "update", "delete"}, tracked
        assert any(table == event_model._meta.db_table and "append_only" in name for table, name in triggers)


def test_an_admin_change_records_who_when_before_and_after(admin_client, tiny_city, street_litter):
    url = admin_url(street_litter, "change")
    data = change_form_data(admin_client.get(url))
    data.update(time_limit="2", name="暴露垃圾（主干道）")
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors

    event = CategoryEvent.objects.filter(pgh_obj_id=street_litter.pk).latest("pgh_id")
    assert event.pgh_label == "update"
    assert event.time_limit == Decimal("2") and event.name == "暴露垃圾（主干道）"
    assert event.pgh_context.metadata == {"user": tiny_city.superuser.pk, "url": url}
    # The time of the transaction (here the test's own, which began moments ago).
    assert timedelta(0) <= timezone.now() - event.pgh_created_at < timedelta(minutes=1)
    created = CategoryEvent.objects.filter(pgh_obj_id=street_litter.pk).earliest("pgh_id")
    assert created.pgh_label == "insert" and created.time_limit == Decimal("4")
    assert created.pgh_context is None  # made by the test, outside any request

    html = admin_client.get(admin_url(street_litter, "history")).content.decode()
    assert "root" in html  # who
    assert "修改前" in html and "修改后" in html and "已修改" in html
    assert "暴露垃圾（主干道）" in html and "4.00" in html and "2.00" in html
    assert "时限" in html  # the field's label, from the category model
    # The creation, made outside a request, says so rather than naming someone.
    assert "无操作人" in html and "已创建" in html


def test_an_unchanged_save_records_nothing(admin_client, street_litter):
    url = admin_url(street_litter, "change")
    events = CategoryEvent.objects.filter(pgh_obj_id=street_litter.pk).count()
    assert admin_client.post(url, change_form_data(admin_client.get(url))).status_code == 302
    assert CategoryEvent.objects.filter(pgh_obj_id=street_litter.pk).count() == events


def test_inline_rows_show_on_their_parents_history(admin_client, tiny_city, street_litter):
    """A category's lead departments, edited inline, and deleted: the category's page shows both."""
    url = admin_url(street_litter, "change")
    data = change_form_data(admin_client.get(url))
    data["leads-0-DELETE"] = "on"
    assert admin_client.post(url, data).status_code == 302
    assert not street_litter.leads.exists()

    html = admin_client.get(admin_url(street_litter, "history")).content.decode()
    assert "已删除" in html and "城市管理" in html  # the deleted lead, with its department kind


def test_a_membership_change_shows_on_the_users_page_and_its_own(admin_client, tiny_city):
    membership = Membership.objects.get(user=tiny_city.g1_worker, role=Role.GRID_WORKER)
    url = admin_url(membership, "change")
    data = change_form_data(admin_client.get(url))
    data["coefficient"] = "1.5"
    assert admin_client.post(url, data).status_code == 302

    for page in (admin_url(membership, "history"), admin_url(tiny_city.g1_worker, "history")):
        html = admin_client.get(page).content.decode()
        assert "1.00" in html and "1.50" in html and "root" in html, page
    user_page = admin_client.get(admin_url(tiny_city.g1_worker, "history")).content.decode()
    assert "网格员 · A-1 (980101001001001)" in user_page  # which membership changed


def test_the_list_page_history_shows_every_row_deleted_ones_too(admin_client, street_litter):
    """Deleting a category leaves no page of its own: the categories' History button shows it."""
    changelist = admin_client.get(reverse("admin:cases_category_changelist")).content.decode()
    history_url = reverse("admin:cases_category_model_history")
    assert history_url in changelist
    doomed = Category.objects.create(code="0199", name="临时类别", parent=street_litter.parent,
                                     time_limit=Decimal("1"), time_unit="working_days")
    delete_url = admin_url(doomed, "delete")
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 302
    assert not Category.objects.filter(pk=doomed.pk).exists()

    html = admin_client.get(history_url).content.decode()
    assert "已删除" in html and "0199 临时类别" in html and "root" in html and delete_url in html
    assert "暴露垃圾" in html  # the other categories' changes are there too
    assert html.index("已删除") < html.index("已创建")  # newest first


def test_the_history_speaks_english_on_request(admin_client, street_litter):
    WorkdayOverride.objects.create(date=date(2027, 10, 9), is_workday=True, note="调休")
    override = WorkdayOverride.objects.get()
    url = admin_url(override, "change")
    data = change_form_data(admin_client.get(url))
    data["is_workday"] = ""
    assert admin_client.post(url, data).status_code == 302
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = admin_client.get(admin_url(override, "history")).content.decode()
    assert "Before" in html and "After" in html and "changed" in html and "Working day" in html
    assert ">yes<" in html and ">no<" in html


def test_moving_an_area_records_its_subtree_repathed(tiny_city):
    """The area trigger re-paths the moved area's descendants; each gets an event of its own."""
    AreaEvent = EVENT_MODELS[Area]
    comm_b = tiny_city.comm_b
    comm_b.parent = tiny_city.town1
    comm_b.save()
    grid_event = AreaEvent.objects.filter(pgh_obj_id=tiny_city.g3.pk).latest("pgh_id")
    assert grid_event.pgh_label == "update"
    assert grid_event.path.startswith(tiny_city.town1.path)
    assert grid_event.centroid is not None


def test_bulk_writes_record_each_changed_row(tiny_city):
    """The triggers run once per statement (seed_city's bulk inserts), and still write one event per row
    that changed, none for a row an UPDATE left as it was."""
    from grids.models import Department

    DepartmentEvent = EVENT_MODELS[Department]
    staff = [tiny_city.nobody, tiny_city.city_official, tiny_city.t1_operator]
    created = Membership.objects.bulk_create(
        [Membership(user=user, role=Role.GRID_WORKER, area=tiny_city.g2) for user in staff]
    )
    events = EVENT_MODELS[Membership].objects.filter(pgh_obj_id__in=[m.pk for m in created])
    assert sorted(events.values_list("pgh_label", flat=True)) == ["insert"] * 3

    town1_departments = Department.objects.filter(area=tiny_city.town1)
    before = DepartmentEvent.objects.count()
    assert Department.objects.filter(area__path__startswith=tiny_city.district.path).update(is_active=True) == 3
    assert DepartmentEvent.objects.count() == before  # nothing changed
    town1_departments.update(is_active=False)
    changed = DepartmentEvent.objects.filter(pgh_label="update")
    assert list(changed.values_list("pgh_obj_id", "is_active")) == [(tiny_city.town1_um.pk, False)]


def test_settings_changes_are_recorded(admin_client):
    scoring = ScoringSettings.current()
    url = admin_url(scoring, "change")
    data = change_form_data(admin_client.get(url))
    data["safety_green_min"] = "90"
    assert admin_client.post(url, data).status_code == 302
    html = admin_client.get(admin_url(scoring, "history")).content.decode()
    assert "85.0" in html and "90.0" in html


def test_the_history_is_append_only(street_litter):
    with pytest.raises(ProgrammingError, match="Cannot update or delete"), transaction.atomic():
        CategoryEvent.objects.filter(pgh_obj_id=street_litter.pk).update(name="rewritten")


def test_every_field_of_a_tracked_model_is_recorded_or_left_out_on_purpose():
    """A new field on a tracked model goes into govgrid/history.py (then `makemigrations govgrid`)."""
    for tracked, recorded in RECORDED_FIELDS.items():
        names = {f.name for f in tracked._meta.concrete_fields}
        missing = names - set(recorded) - set(UNRECORDED_FIELDS.get(tracked, ()))
        assert not missing, f"{tracked._meta.label}: record or leave out {sorted(missing)} in govgrid/history.py"
