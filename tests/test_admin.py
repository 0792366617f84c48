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


def test_login_is_throttled_after_ten_failures(client, tiny_city, settings):
    import hashlib

    from django.core.cache import cache

    # Only this pair's counter: clearing the whole cache would also flush Celery's broker keys.
    key = "login-failures:" + hashlib.sha256(b"t1_operator|127.0.0.1").hexdigest()
    cache.delete(key)
    for _ in range(10):
        response = client.post("/login/", {"username": "t1_operator", "password": "wrong"})
        assert response.status_code == 200
    locked = client.post("/login/", {"username": "t1_operator", "password": "pw-t1_operator"})
    assert locked.status_code == 429
    assert "15" in locked.content.decode()
    # Another user from the same address is not locked out.
    other = client.post("/login/", {"username": "t2_operator", "password": "pw-t2_operator"})
    assert other.status_code == 302
    assert int(cache.get(key)) == 10
    cache.delete(key)
