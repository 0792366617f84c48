"""/healthz against the real database, Redis and a real Celery worker."""

import pytest

pytestmark = pytest.mark.django_db


def test_healthz_is_200_when_everything_is_up(client, celery_worker):
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok" and body["failing"] == []
    assert body["checks"]["database"]["ok"] and "PostGIS" in body["checks"]["database"]["detail"]
    assert body["checks"]["redis"]["ok"]
    assert body["checks"]["workers"]["ok"]


def test_healthz_names_redis_when_it_is_stopped(client, settings, private_redis):
    settings.REDIS_URL = settings.CELERY_BROKER_URL = private_redis.url
    before = client.get("/healthz").json()
    assert before["checks"]["redis"]["ok"]
    private_redis.stop()
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 503
    assert "redis" in body["failing"] and "workers" in body["failing"]
    assert body["checks"]["database"]["ok"]
    assert body["checks"]["redis"]["detail"]


def test_healthz_names_the_workers_when_none_answers(client, settings, private_redis):
    settings.REDIS_URL = settings.CELERY_BROKER_URL = private_redis.url
    body = client.get("/healthz").json()
    assert body["failing"] == ["workers"]
    assert "no Celery worker" in body["checks"]["workers"]["detail"]


def test_beat_heartbeat_is_reported(client, settings, private_redis):
    from govgrid.tasks import beat_heartbeat

    settings.REDIS_URL = private_redis.url
    assert "beat" in client.get("/healthz").json()["checks"]
    assert client.get("/healthz").json()["checks"]["beat"]["ok"] is False
    beat_heartbeat()
    assert client.get("/healthz").json()["checks"]["beat"]["ok"] is True
