"""The reports' actions: the one place where reports writes, apart from the counters' receiver.

The counters themselves move in the case actions' own transactions (``reports.counters.record_event``,
called by ``cases.actions.event_recorded``); everything else reports writes goes through here: the
rebuild of the counters from the timeline, their monthly roll-up, and the settings an administrator tunes (the scoring
settings, the safety index's indicators, the grid worker score rules). Pages, the admin and the Celery
tasks call these; reads never write (``ScoringSettings.current()`` falls back to unsaved defaults).

``actor`` is the user who acts, or ``None`` for the system (beat, a management command). A user needs
the model's Django permission, the same one the admin asks for, so the admin and any other caller are
held to one rule.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _

from govgrid.errors import ActionError, Forbidden
from reports import rebuild, rollup
from reports.models import (
    EVALUATION_SETTINGS_PK,
    EVALUATION_WEIGHT_FIELDS,
    SCORING_SETTINGS_PK,
    EvaluationSettings,
    SafetyIndicator,
    ScoreRule,
    ScoringSettings,
)

SETTINGS_FIELDS = tuple(
    f.name for f in ScoringSettings._meta.concrete_fields if not f.primary_key
)


def _require(actor, permission: str) -> None:
    if actor is not None and not actor.has_perm(f"reports.{permission}"):
        raise Forbidden(_("You may not change the report settings."))


def _validated_save(obj: models.Model) -> None:
    """Save after the model's own validation, refusing with the first field at fault."""
    try:
        obj.full_clean()
    except ValidationError as error:
        field, messages = next(iter(error.message_dict.items()))
        raise ActionError(" ".join(messages), field=None if field == "__all__" else field) from None
    obj.save()


def rebuild_counters(*, actor=None, repair: bool = True, chunk: int = 20_000,
                     sample: int = 200) -> rebuild.RebuildResult:
    """Replay the timeline, record the drift found and (``repair``) correct the counters.

    Not one transaction: the rebuild reads one snapshot and repairs in a second transaction, so that
    actions never wait for it (``reports.rebuild``).
    """
    _require(actor, "add_counterdrift")
    return rebuild.rebuild_counters(repair=repair, chunk=chunk, sample=sample)


def roll_up_counters(*, actor=None, today=None) -> rollup.RollupResult:
    """Fold the daily counters of the months before the daily window into the monthly tables.

    One transaction (``reports.rollup``); running it again changes nothing.
    """
    _require(actor, "add_counterdrift")
    return rollup.roll_up_counters(today=today)


@transaction.atomic
def update_scoring_settings(*, actor, **values: Any) -> ScoringSettings:
    """Change the light thresholds of the safety index and the weights of the department score.

    Creates the single row if an administrator's database lacks it (the migration seeds it).
    """
    _require(actor, "change_scoringsettings")
    unknown = sorted(set(values) - set(SETTINGS_FIELDS))
    if unknown:
        raise ActionError(_("Unknown setting: %(name)s.") % {"name": unknown[0]}, field=unknown[0])
    settings = (
        ScoringSettings.objects.select_for_update().filter(pk=SCORING_SETTINGS_PK).first()
        or ScoringSettings(pk=SCORING_SETTINGS_PK)
    )
    for name, value in values.items():
        setattr(settings, name, value)
    _validated_save(settings)
    return settings


@transaction.atomic
def update_evaluation_settings(*, actor, **weights: Any) -> EvaluationSettings:
    """Change the weights of the unit evaluation 三考合一 (percent; together they make 100).

    Creates the single row if an administrator's database lacks it (migration 0007 seeds it).
    """
    _require(actor, "change_evaluationsettings")
    unknown = sorted(set(weights) - set(EVALUATION_WEIGHT_FIELDS))
    if unknown:
        raise ActionError(_("Unknown setting: %(name)s.") % {"name": unknown[0]}, field=unknown[0])
    settings = (
        EvaluationSettings.objects.select_for_update().filter(pk=EVALUATION_SETTINGS_PK).first()
        or EvaluationSettings(pk=EVALUATION_SETTINGS_PK)
    )
    for name, value in weights.items():
        setattr(settings, name, value)
    _validated_save(settings)
    return settings


@transaction.atomic
def save_safety_indicator(indicator: SafetyIndicator, *, actor) -> SafetyIndicator:
    """Add or change one term of the safety index (平安指数)."""
    _require(actor, "change_safetyindicator" if indicator.pk else "add_safetyindicator")
    _validated_save(indicator)
    return indicator


@transaction.atomic
def delete_safety_indicator(indicator: SafetyIndicator, *, actor) -> None:
    _require(actor, "delete_safetyindicator")
    SafetyIndicator.objects.filter(pk=indicator.pk).delete()


@transaction.atomic
def save_score_rule(rule: ScoreRule, *, actor) -> ScoreRule:
    """Add or change the points of one deed of the grid worker score (积分)."""
    _require(actor, "change_scorerule" if rule.pk else "add_scorerule")
    _validated_save(rule)
    return rule


@transaction.atomic
def delete_score_rule(rule: ScoreRule, *, actor) -> None:
    _require(actor, "delete_scorerule")
    ScoreRule.objects.filter(pk=rule.pk).delete()
