"""Every admin page of every registered model opens (in Chinese) for an administrator."""

import pytest
from django.contrib import admin
from django.urls import reverse


@pytest.mark.parametrize("model", list(admin.site._registry), ids=lambda m: m._meta.label)
def test_every_changelist_and_add_page_opens(client, tiny_city, categories, model):
    client.force_login(tiny_city.superuser)
    opts = model._meta
    response = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert response.status_code == 200
    if admin.site._registry[model].has_add_permission(response.wsgi_request):
        assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add")).status_code == 200


def test_the_admin_speaks_chinese(client, tiny_city):
    client.force_login(tiny_city.superuser)
    html = client.get(reverse("admin:index")).content.decode()
    assert "网格" in html and "案件" in html
