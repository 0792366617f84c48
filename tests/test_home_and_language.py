"""Each role's landing page, and the language switch naming each language in its own language."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("persona", "home"), [
    ("city_official", "reports:dashboard"),
    ("t1_operator", "centre:inbox"),
    ("g1_worker", "worker:home"),
    ("handler", "department:inbox"),
])
def test_each_role_lands_on_its_own_home(client, tiny_city, persona, home):
    client.force_login(getattr(tiny_city, persona))
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse(home)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_language_switch_names_each_language_in_its_own_language(client, tiny_city, language):
    client.force_login(tiny_city.t1_operator)
    client.cookies["django_language"] = language
    html = client.get(reverse("cases:list")).content.decode()
    assert '<option value="zh-hans" lang="zh-hans"' in html and ">简体中文</option>" in html
    assert ">English</option>" in html
    assert "英语" not in html and "Simplified Chinese" not in html
