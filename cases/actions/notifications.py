"""The user's own notifications."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext as _

from cases.actions._base import now
from cases.models import Notification
from govgrid.errors import ActionError


def mark_notifications_read(user, ids: Iterable[int] | None = None) -> int:
    """Mark the user's unread notifications read: all of them, or those with the given ids."""
    query = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        ids = list(ids)
        # Ids come straight from a request body: "a", 1.5 or true would reach int() in the query (a 500)
        # or be read as 1. bool is an int subclass, hence the exact type check.
        if not all(type(pk) is int and 0 < pk < 2**63 for pk in ids):
            raise ActionError(_("Notification ids are whole numbers."), field="ids")
        query = query.filter(pk__in=ids)
    return query.update(read_at=now())
