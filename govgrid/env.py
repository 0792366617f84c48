"""Typed readers for environment variables.

Every reader fails loudly with the variable's name, so a typo in a deployment stops start-up instead
of running with a silent default (the healthchecks way).
"""

from __future__ import annotations

import os
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str) -> str | None:
    return os.environ.get(name)


def env_str(name: str, default: str) -> str:
    value = _raw(name)
    return default if value is None else value


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean; use one of true/false, 1/0, yes/no, on/off.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} is below the minimum of {minimum}.")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_url(name: str, default: str, *, schemes: tuple[str, ...]) -> str:
    value = env_str(name, default)
    parsed = urlparse(value)
    if parsed.scheme not in schemes or not (parsed.hostname or parsed.path):
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a valid URL; expected a scheme among {', '.join(schemes)}."
        )
    return value


def env_database(name: str, default: str) -> dict:
    import dj_database_url

    value = env_url(name, default, schemes=("postgis", "postgres", "postgresql"))
    try:
        config = dj_database_url.parse(value, conn_max_age=60, conn_health_checks=True)
    except Exception as exc:  # dj_database_url raises plain ValueError/KeyError on odd input
        raise ImproperlyConfigured(f"{name}={value!r} cannot be parsed: {exc}") from None
    if not config.get("NAME"):
        raise ImproperlyConfigured(f"{name}={value!r} names no database.")
    # GeoDjango needs the PostGIS backend whatever scheme was written.
    config["ENGINE"] = "django.contrib.gis.db.backends.postgis"
    return config


def env_time_windows(name: str, default: str) -> list[tuple[str, str]]:
    """Comma-separated ``HH:MM-HH:MM`` windows, ascending and not overlapping."""
    import re

    value = env_str(name, default)
    windows: list[tuple[str, str]] = []
    previous_end = ""
    for part in value.split(","):
        match = re.fullmatch(r"\s*([01]\d|2[0-3]):([0-5]\d)\s*-\s*([01]\d|2[0-4]):([0-5]\d)\s*", part)
        if not match:
            raise ImproperlyConfigured(f"{name}: {part.strip()!r} is not a window like 08:30-12:00.")
        start, end = f"{match[1]}:{match[2]}", f"{match[3]}:{match[4]}"
        if end <= start or start < previous_end:
            raise ImproperlyConfigured(f"{name}: windows must be ascending and not overlap ({part.strip()!r}).")
        windows.append((start, end))
        previous_end = end
    return windows


REDIS_DATABASES = 16  # Redis's default `databases`: indexes 0-15


def redis_database(base: str, base_name: str, offset: int) -> str:
    """The URL of the Redis database ``offset`` places after the one ``base`` names (``redis://h:p/n`` or
    ``unix:///path?db=n``), so one base URL gives the cache, the broker and the results each their own."""
    from urllib.parse import parse_qs, urlencode, urlunparse

    parsed = urlparse(base)
    if parsed.scheme == "unix":
        query = parse_qs(parsed.query)
        number = query.get("db", ["0"])[0]
    else:
        number = parsed.path.strip("/") or "0"
    if not number.isdigit():
        raise ImproperlyConfigured(f"{base_name}={base!r}: the database must be a number.")
    index = int(number) + offset
    if index >= REDIS_DATABASES:
        raise ImproperlyConfigured(
            f"{base_name}={base!r}: database {number} is the cache, {int(number) + 1} the broker and "
            f"{int(number) + 2} the results, but Redis has databases 0-{REDIS_DATABASES - 1}; choose "
            f"{REDIS_DATABASES - 3} or below, or set CELERY_BROKER_URL and CELERY_RESULT_BACKEND."
        )
    if parsed.scheme == "unix":
        query["db"] = [str(index)]
        return f"unix://{parsed.path}?{urlencode(query, doseq=True)}"
    return urlunparse(parsed._replace(path=f"/{index}"))


def env_redis(name: str, base: str, base_name: str, offset: int, *, schemes: tuple[str, ...]) -> str:
    """``name`` if set, else the database ``offset`` places after ``base``'s."""
    value = _raw(name)
    return env_url(name, value if value is not None else redis_database(base, base_name, offset), schemes=schemes)
