"""Formatting of report figures in templates: the same text as the exports and the PDF."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _

from reports.dashboard import fmt_value

register = template.Library()


@register.filter
def pct(value):
    """A fraction as a percentage with one decimal: 0.75 → "75.0%"; nothing → "—"."""
    return fmt_value(value, "rate")


@register.filter
def hours(value):
    return fmt_value(value, "hours")


@register.filter
def localdt(value):
    return fmt_value(value, "datetime")


@register.filter
def overdue_span(hours):
    """How long overdue, as a room reads it: hours under two days, then days."""
    if hours is None:
        return ""
    if hours < 48:
        return _("%(hours)s h") % {"hours": f"{hours:.0f}"}
    return _("%(days)s d") % {"days": f"{hours / 24:.0f}"}
