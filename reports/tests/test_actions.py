"""reports.actions is where reports writes: settings and the rebuild go through it, with one permission
rule, from the admin and the tasks; reading the reports writes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from govgrid.errors import ActionError, Forbidden
from reports import actions, tasks
from reports.models import SafetyIndicator, ScoreRule, ScoringSettings

READS = ("/api/v1/reports/safety/", "/api/v1/reports/scores/departments/", "/api/v1/reports/scores/workers/")


def test_reading_scores_without_the_settings_row_writes_nothing_and_uses_the_defaults(tiny_city, api):
    ScoringSettings.objects.all().delete()
    client = api.as_(tiny_city.city_official)
    with CaptureQueriesContext(connection) as queries:
        for url in READS:
            assert client.get(url, {"area": "980101001", "year": 2026, "month": 11}).status_code == 200
    writes = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
              and "reports_" in q["sql"]]
    assert writes == [] and not ScoringSettings.objects.exists()
    defaults = ScoringSettings.current()
    assert defaults.pk == 1 and defaults._state.adding  # not saved
    assert (defaults.safety_green_min, defaults.dept_penalty_supervision) == (85, 2)


def test_the_migration_seeds_the_settings_row(db):
    assert ScoringSettings.objects.filter(pk=1).exists()


def test_update_scoring_settings_checks_permission_and_input(tiny_city):
    with pytest.raises(Forbidden):
        actions.update_scoring_settings(actor=tiny_city.t1_operator, safety_green_min=Decimal(90))
    with pytest.raises(Forbidden):  # a role in the pipeline is not a permission on the settings
        actions.update_scoring_settings(actor=tiny_city.admin, safety_green_min=Decimal(90))
    with pytest.raises(ActionError) as unknown:
        actions.update_scoring_settings(actor=tiny_city.superuser, colour="blue")
    assert unknown.value.field == "colour"
    with pytest.raises(ActionError) as too_big:
        actions.update_scoring_settings(actor=tiny_city.superuser, safety_green_min=Decimal("123456"))
    assert too_big.value.field == "safety_green_min"
    assert ScoringSettings.current().safety_green_min == 85  # refused: nothing written

    ScoringSettings.objects.all().delete()  # the action (not a read) puts a missing row back
    settings = actions.update_scoring_settings(actor=tiny_city.superuser, safety_green_min=Decimal(90))
    assert settings.pk == 1 and ScoringSettings.objects.get().safety_green_min == 90
    assert ScoringSettings.objects.get().safety_yellow_min == 70  # the others keep their defaults

    tiny_city.t1_operator.user_permissions.add(Permission.objects.get(codename="change_scoringsettings"))
    tiny_city.t1_operator = type(tiny_city.t1_operator).objects.get(pk=tiny_city.t1_operator.pk)  # fresh perms
    actions.update_scoring_settings(actor=tiny_city.t1_operator, dept_penalty_supervision=Decimal(3))
    assert ScoringSettings.current().dept_penalty_supervision == 3


def test_indicators_and_rules_are_saved_and_deleted_by_their_actions(tiny_city):
    indicator = SafetyIndicator(name="噪声", measure="reported", family_code="12", weight=Decimal("1.0"))
    with pytest.raises(Forbidden):
        actions.save_safety_indicator(indicator, actor=tiny_city.city_official)
    with pytest.raises(ActionError) as wrong:
        actions.save_safety_indicator(SafetyIndicator(name="x", measure="nonsense", weight=1), actor=None)
    assert wrong.value.field == "measure"
    actions.save_safety_indicator(indicator, actor=tiny_city.superuser)
    assert SafetyIndicator.objects.filter(name="噪声").exists()
    actions.delete_safety_indicator(indicator, actor=tiny_city.superuser)
    assert not SafetyIndicator.objects.filter(name="噪声").exists()
    rule = ScoreRule.objects.get(deed="valid_report")
    rule.points = Decimal(5)
    actions.save_score_rule(rule, actor=tiny_city.superuser)
    assert ScoreRule.objects.get(deed="valid_report").points == 5
    with pytest.raises(ActionError) as twice:  # one rule per deed
        actions.save_score_rule(ScoreRule(deed="valid_report", points=1), actor=None)
    assert twice.value.field == "deed"


def test_the_admin_writes_through_the_actions(tiny_city, client, monkeypatch):
    calls = []
    for name in ("update_scoring_settings", "save_safety_indicator", "delete_safety_indicator", "save_score_rule"):
        real = getattr(actions, name)
        monkeypatch.setattr(actions, name, lambda *args, _real=real, _name=name, **kwargs: (
            calls.append((_name, kwargs["actor"].username)), _real(*args, **kwargs))[1])
    client.force_login(tiny_city.superuser)
    form = {name: str(getattr(ScoringSettings.current(), name)) for name in actions.SETTINGS_FIELDS}
    response = client.post("/admin/reports/scoringsettings/1/change/", {**form, "safety_green_min": "88"})
    assert response.status_code == 302, response.content[:2000]
    assert ScoringSettings.current().safety_green_min == 88
    indicator = SafetyIndicator.objects.first()
    response = client.post(f"/admin/reports/safetyindicator/{indicator.pk}/change/", {
        "name": indicator.name, "measure": indicator.measure, "family_code": indicator.family_code,
        "weight": "9.50", "is_active": "on", "sort_order": "0"})
    assert response.status_code == 302 and SafetyIndicator.objects.get(pk=indicator.pk).weight == Decimal("9.5")
    response = client.post("/admin/reports/safetyindicator/", {
        "action": "delete_selected", "_selected_action": [indicator.pk], "post": "yes"})
    assert response.status_code == 302 and not SafetyIndicator.objects.filter(pk=indicator.pk).exists()
    rule = ScoreRule.objects.get(deed="self_resolved")
    client.post(f"/admin/reports/scorerule/{rule.pk}/change/", {"deed": rule.deed, "points": "4"})
    assert ScoreRule.objects.get(pk=rule.pk).points == 4
    assert calls == [("update_scoring_settings", "root"), ("save_safety_indicator", "root"),
                     ("delete_safety_indicator", "root"), ("save_score_rule", "root")]


def test_the_rebuild_is_an_action_the_nightly_task_calls(tiny_city, monkeypatch):
    with pytest.raises(Forbidden):
        actions.rebuild_counters(actor=tiny_city.city_official)
    seen = []
    real = actions.rebuild_counters
    monkeypatch.setattr(actions, "rebuild_counters", lambda **kwargs: seen.append(kwargs) or real(**kwargs))
    assert tasks.rebuild_counters()["cells"] == 0
    assert seen == [{"actor": None}]
