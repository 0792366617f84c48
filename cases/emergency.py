"""Emergency mode (战时, DESIGN.md §5): activations over an area subtree, their log, and the mode a place is in.

An official switches emergency mode on for an area and everything under it, at a level I–IV (I the most
severe), with a reason, an optional planned end and a task force (专班). Activations may overlap (a
district and one of its towns, or two on the same area); the strictest level over a place applies.

The mode is an *input* of the stage clocks, not a second clock engine: a case carries the factor its
clocks run on (``Case.clock_factor``; empty: the normal rules), new clocks read it (cases.deadlines),
and a change of mode re-plans the running clocks of the subtree's open cases, keeping the share of the
stage already used (cases.replan). Only cases.actions.emergency writes these models.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cases.choices import ActivationChange, EmergencyLevel
from govgrid.versioned import Versioned

DEFAULT_LEVEL_FACTORS = {1: "0.25", 2: "0.5", 3: "0.75", 4: "1.0"}


def level_factor(level: int | None) -> Decimal | None:
    """The share of the normal limit a stage gets at ``level`` (settings ``EMERGENCY_LEVEL_FACTORS``,
    keyed by level number or numeral); None outside emergency mode. Even 1.0 means natural time."""
    if level is None:
        return None
    configured = getattr(settings, "EMERGENCY_LEVEL_FACTORS", None) or {}
    numeral = EmergencyLevel(level).name
    value = configured.get(level, configured.get(str(level), configured.get(numeral, DEFAULT_LEVEL_FACTORS[level])))
    # To the precision Case.clock_factor stores, so that "already in step" compares equal (cases.replan).
    return Decimal(str(value)).quantize(Decimal("0.001"))


def ancestor_paths(path: str) -> list[str]:
    """``4406/440604/440604001/`` → the paths of the area and every area above it."""
    codes = path.rstrip("/").split("/")
    return ["/".join(codes[: n + 1]) + "/" for n in range(len(codes))]


class ActivationQuerySet(models.QuerySet):
    def active(self, at: datetime) -> ActivationQuerySet:
        """Switched on by ``at``, not switched off and not past their planned end at ``at``."""
        return self.filter(starts_at__lte=at).filter(
            Q(switched_off_at__isnull=True) | Q(switched_off_at__gt=at)
        ).filter(Q(ends_at__isnull=True) | Q(ends_at__gt=at))

    def covering(self, path: str) -> ActivationQuerySet:
        """Activations over the area with this path: on it or on an area above it (an IN on the
        indexed path column, the ancestors' paths read off the path itself)."""
        return self.filter(area_path__in=ancestor_paths(path))

    def intersecting(self, paths) -> ActivationQuerySet:
        """Activations whose subtree meets one of the subtrees ``paths``: above or inside one."""
        query = Q(pk__in=[])
        for path in paths:
            query |= Q(area_path__in=ancestor_paths(path)) | Q(area_path__startswith=path)
        return self.filter(query)


class Activation(models.Model):
    """Emergency mode over an area subtree, at a level, until it is switched off (or its planned end)."""

    area = models.ForeignKey("grids.Area", verbose_name=_("area"), on_delete=models.PROTECT, related_name="+")
    # The area's path, copied so that "the activations over this place" is one indexed IN on paths.
    area_path = models.CharField(_("area path"), max_length=255, editable=False)
    level = models.PositiveSmallIntegerField(_("response level"), choices=EmergencyLevel.choices)
    reason = models.TextField(_("reason"))
    starts_at = models.DateTimeField(_("switched on at"))
    ends_at = models.DateTimeField(_("planned end"), null=True, blank=True)
    switched_off_at = models.DateTimeField(_("switched off at"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("switched on by"), null=True,
                                   on_delete=models.PROTECT, related_name="+")
    lead = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("task force lead"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+")
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name=_("task force members"), blank=True,
                                     related_name="task_forces")

    objects = ActivationQuerySet.as_manager()

    class Meta:
        verbose_name = _("emergency activation")
        verbose_name_plural = _("emergency activations")
        ordering = ["-starts_at", "-id"]
        indexes = [
            models.Index(fields=["area_path", "level"], opclasses=["text_pattern_ops", "int2_ops"],
                         name="activation_path_level"),
        ]

    def __str__(self) -> str:
        return f"{self.area} · {self.get_level_display()}"

    @property
    def is_active(self) -> bool:
        from govgrid import clock

        at = clock.now()
        return (self.starts_at <= at and (self.switched_off_at is None or self.switched_off_at > at)
                and (self.ends_at is None or self.ends_at > at))

    @property
    def numeral(self) -> str:
        return EmergencyLevel(self.level).name

    @property
    def factor(self) -> Decimal:
        return level_factor(self.level)


class ActivationEvent(models.Model):
    """One row per change of an activation: the log that keeps what happened either way."""

    activation = models.ForeignKey(Activation, on_delete=models.PROTECT, related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    at = models.DateTimeField(_("at"))
    change = models.CharField(_("change"), max_length=16, choices=ActivationChange.choices)
    old_level = models.PositiveSmallIntegerField(_("level before"), choices=EmergencyLevel.choices, null=True,
                                                 blank=True)
    new_level = models.PositiveSmallIntegerField(_("level after"), choices=EmergencyLevel.choices, null=True,
                                                 blank=True)
    note = models.TextField(_("note"), blank=True)
    payload = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("activation log entry")
        verbose_name_plural = _("activation log")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["activation", "at"], name="activation_event_at")]

    def __str__(self) -> str:
        return f"{self.activation_id} {self.change} {self.at:%Y-%m-%d %H:%M}"


# Activations are few (a city switches emergency mode on a handful of times a year): every process
# keeps them all (govgrid.versioned), so placing a report in its mode costs no query. Past this many
# rows the database answers instead.
CACHED_ACTIVATIONS = 2000
_ACTIVATIONS = Versioned("activations")


def _all_activations() -> list[Activation] | None:
    rows = list(Activation.objects.select_related("area").order_by("level", "starts_at", "id")
                [:CACHED_ACTIVATIONS + 1])
    return rows if len(rows) <= CACHED_ACTIVATIONS else None


def mode_for(area, at: datetime | None = None) -> Activation | None:
    """The strictest activation over ``area`` (an Area, or its path) at ``at``, or None: what
    ``Activation.objects.covering(path).active(at)`` ordered by level, start and id gives first."""
    from govgrid import clock

    path = area if isinstance(area, str) else area.path
    at = at or clock.now()
    rows = _ACTIVATIONS.get(_all_activations)
    if rows is None:
        return (Activation.objects.covering(path).active(at).select_related("area")
                .order_by("level", "starts_at", "id").first())
    over = set(ancestor_paths(path))
    for activation in rows:  # already in the order of strictness
        if (activation.area_path in over and activation.starts_at <= at
                and (activation.switched_off_at is None or activation.switched_off_at > at)
                and (activation.ends_at is None or activation.ends_at > at)):
            return activation
    return None


def strictest(activations, path: str) -> Activation | None:
    """Among loaded ``activations``, the strictest over ``path`` (for batches: no query per case)."""
    over = [a for a in activations if path.startswith(a.area_path)]
    return min(over, key=lambda a: (a.level, a.starts_at, a.pk)) if over else None


def command_centre(activation: Activation):
    """The centre that commands an activation: its area's own, or the nearest centre above it."""
    from grids.models import Centre

    codes = activation.area_path.rstrip("/").split("/")
    return Centre.objects.filter(area__code__in=codes).select_related("area").order_by("-level").first()
