"""Reads of patrols, always scoped (cases.access.patrols_for): who is patrolling now, the map's tracks,
and each worker's patrol time and distance for the scores.

``patrolling_now`` is what the centre's list and the live command screen show; it reads only active
patrols (a partial index) and one row per patrol, whatever the number of positions.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.gis.db.models.functions import AsGeoJSON
from django.db.models import DateTimeField, DurationField, ExpressionWrapper, F, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from cases.access import patrols_for
from cases.patrols import Patrol, PatrolStatus
from govgrid import clock


def patrolling_now(user) -> QuerySet[Patrol]:
    """Active patrols the user may see, longest running first: worker, grid, since, distance so far,
    the time of the last position (``last_point_at``; None before the first one arrives)."""
    return (patrols_for(user).filter(status=PatrolStatus.ACTIVE)
            .select_related("worker", "grid").defer("track", "grid__boundary", "grid__centroid")
            .order_by("started_at", "id"))


def patrolling_now_rows(user, *, limit: int = 500) -> list[dict[str, Any]]:
    """``patrolling_now`` as plain rows (for JSON: the REST list, the live command screen)."""
    current = clock.now()
    rows = []
    for patrol in patrolling_now(user)[:limit]:
        rows.append({
            "id": patrol.pk, "worker": patrol.worker.username,
            "worker_name": patrol.worker.get_full_name() or patrol.worker.username,
            "grid": {"id": patrol.grid_id, "code": patrol.grid.code, "name": patrol.grid.name},
            "started_at": patrol.started_at, "duration_s": patrol.duration_s(current),
            "distance_m": round(patrol.distance_m, 1), "last_point_at": patrol.last_point_at,
        })
    return rows


def day_bounds(day: date) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(day, time.min), tz)
    return start, start + timedelta(days=1)


def tracks_geojson(user, day: date | None = None, *, limit: int = 2000) -> dict[str, Any]:
    """The tracks of the day's patrols in scope (today by default) as a GeoJSON FeatureCollection of
    LineStrings (patrols with fewer than two positions have no line yet and are left out)."""
    since, until = day_bounds(day or timezone.localdate(clock.now()))
    rows = (patrols_for(user).filter(started_at__gte=since, started_at__lt=until, track__isnull=False)
            .annotate(geojson=AsGeoJSON("track", precision=6))
            .values("id", "geojson", "status", "started_at", "ended_at", "distance_m", "worker__username",
                    "worker__first_name", "worker__last_name", "grid__name")
            .order_by("-started_at")[:limit])
    features = [{
        "type": "Feature", "geometry": json.loads(row["geojson"]),
        "properties": {
            "id": row["id"], "worker": (f"{row['worker__last_name']}{row['worker__first_name']}".strip()
                                        or row["worker__username"]),
            "grid": row["grid__name"], "active": row["status"] == PatrolStatus.ACTIVE,
            "started_at": timezone.localtime(row["started_at"]).strftime("%H:%M"),
            "ended_at": timezone.localtime(row["ended_at"]).strftime("%H:%M") if row["ended_at"] else "",
            "distance_m": round(row["distance_m"]),
        },
    } for row in rows]
    return {"type": "FeatureCollection", "features": features}


def patrol_totals(area_path: str, since: datetime, until: datetime) -> dict[int, dict[str, float]]:
    """Per worker, the patrols started in [since, until] under the area: hours and kilometres.

    A patrol still running counts up to now. Read for the worker scores (reports.scoring).
    """
    current = clock.now()
    span = ExpressionWrapper(Coalesce("ended_at", Value(current, output_field=DateTimeField())) - F("started_at"),
                             output_field=DurationField())
    rows = (Patrol.objects.filter(area_path__startswith=area_path, started_at__gte=since, started_at__lte=until)
            .values("worker_id").annotate(metres=Sum("distance_m"), span=Sum(span)).order_by())
    return {row["worker_id"]: {"km": (row["metres"] or 0) / 1000,
                               "hours": max(0.0, row["span"].total_seconds()) / 3600 if row["span"] else 0.0}
            for row in rows}
