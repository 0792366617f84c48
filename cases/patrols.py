"""Patrols 巡查: a grid worker walks the grid with the phone recording the track, checks in at places
and turns what they find into cases (DESIGN.md §1, §5; issue #12 part 5).

Only cases.actions.patrols writes these rows. The track is the patrol's points ordered by the time the
phone took them; its length is computed by PostGIS on the geography (metres on the spheroid), never
in Python, and kept on the patrol row with the LineString each time points arrive, so lists, the map
layer and the scores read one row per patrol.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class PatrolStatus(models.TextChoices):
    ACTIVE = "active", _("patrolling")
    ENDED = "ended", _("ended")


class EndReason(models.TextChoices):
    WORKER = "worker", _("ended by the worker")
    CENTRE = "centre", _("ended by the centre")
    STALE = "stale", _("ended automatically (no position for hours)")


class Patrol(models.Model):
    """One walk of a grid worker through their grid (巡查), from start to end."""

    worker = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("grid worker"), on_delete=models.PROTECT,
                               related_name="patrols", db_index=False)  # served by (worker, -started_at)
    grid = models.ForeignKey("grids.Area", verbose_name=_("grid"), on_delete=models.PROTECT, related_name="+")
    # The grid's materialised path, copied so that "patrols under town X" is one prefix match on an index.
    area_path = models.CharField(_("area path"), max_length=255, editable=False)
    status = models.CharField(_("status"), max_length=8, choices=PatrolStatus.choices, default=PatrolStatus.ACTIVE)
    started_at = models.DateTimeField(_("started at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    end_reason = models.CharField(_("how it ended"), max_length=8, choices=EndReason.choices, blank=True)
    last_point_at = models.DateTimeField(_("last position at"), null=True, blank=True)
    point_count = models.PositiveIntegerField(_("positions"), default=0)
    distance_m = models.FloatField(_("distance (m)"), default=0)
    track = models.LineStringField(_("track"), srid=4326, null=True, blank=True, spatial_index=False)
    client_uuid = models.UUIDField(_("client request id"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("patrol")
        verbose_name_plural = _("patrols")
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["area_path"], opclasses=["text_pattern_ops"], name="patrol_area_path_prefix"),
            models.Index(fields=["worker", "-started_at"], name="patrol_worker_recent"),
            models.Index(fields=["started_at"], name="patrol_started"),
            # "Who is patrolling now" and the stale sweep read only the active ones.
            models.Index(fields=["last_point_at"], condition=Q(status="active"), name="patrol_active"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["worker"], condition=Q(status="active"),
                                    name="patrol_one_active_per_worker",
                                    violation_error_message=_("You are already on a patrol: end it first.")),
            models.UniqueConstraint(fields=["worker", "client_uuid"], condition=Q(client_uuid__isnull=False),
                                    name="patrol_client_uuid_per_worker"),
            models.CheckConstraint(condition=Q(status="active") | Q(ended_at__isnull=False),
                                   name="patrol_ended_has_end"),
        ]

    def __str__(self) -> str:
        return f"{self.worker} · {self.grid_id} · {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def is_active(self) -> bool:
        return self.status == PatrolStatus.ACTIVE

    def duration_s(self, now=None) -> int:
        """Seconds from start to end (or to ``now`` while it runs)."""
        from govgrid import clock

        end = self.ended_at or now or clock.now()
        return max(0, int((end - self.started_at).total_seconds()))

    @property
    def minutes(self) -> int:
        return self.duration_s() // 60


class PatrolPoint(models.Model):
    """A position of the phone during a patrol, at the time the phone took it. A resent batch adds
    nothing: (patrol, recorded_at) is unique and the insert skips what is there."""

    patrol = models.ForeignKey(Patrol, on_delete=models.CASCADE, related_name="points", db_index=False)
    point = models.PointField(_("position"), srid=4326, spatial_index=False)
    recorded_at = models.DateTimeField(_("recorded at"))
    accuracy = models.FloatField(_("accuracy (m)"), null=True, blank=True)

    class Meta:
        verbose_name = _("patrol position")
        verbose_name_plural = _("patrol positions")
        ordering = ["patrol", "recorded_at"]
        constraints = [
            models.UniqueConstraint(fields=["patrol", "recorded_at"], name="patrol_point_once"),
        ]

    def __str__(self) -> str:
        return f"{self.patrol_id} {self.recorded_at:%H:%M:%S}"


def checkin_photo_path(instance: CheckIn, filename: str) -> str:
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"patrols/{instance.patrol_id}/{uuid.uuid4().hex}.{suffix}"


class CheckIn(models.Model):
    """A stop on a patrol at a place (a building of the registry, or a place named by the worker)."""

    patrol = models.ForeignKey(Patrol, on_delete=models.CASCADE, related_name="checkins")
    point = models.PointField(_("position"), srid=4326, spatial_index=False)
    at = models.DateTimeField(_("at"))
    building = models.ForeignKey("parties.Building", verbose_name=_("building"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    place = models.CharField(pgettext_lazy("patrol", "place"), max_length=200, blank=True)
    note = models.TextField(_("note"), blank=True)
    photo = models.FileField(_("photo"), upload_to=checkin_photo_path, blank=True)
    client_uuid = models.UUIDField(_("client request id"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("patrol check-in")
        verbose_name_plural = _("patrol check-ins")
        ordering = ["patrol", "at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["patrol", "client_uuid"], condition=Q(client_uuid__isnull=False),
                                    name="checkin_client_uuid_per_patrol"),
        ]

    def __str__(self) -> str:
        return f"{self.patrol_id} {self.place or self.building_id} {self.at:%H:%M}"


class PatrolFinding(models.Model):
    """A case reported from a patrol (channel ``patrol``): the link between the two."""

    patrol = models.ForeignKey(Patrol, on_delete=models.PROTECT, related_name="findings")
    case = models.OneToOneField("cases.Case", on_delete=models.PROTECT, related_name="patrol_finding")

    class Meta:
        verbose_name = _("patrol finding")
        verbose_name_plural = _("patrol findings")

    def __str__(self) -> str:
        return f"{self.patrol_id} → {self.case_id}"
