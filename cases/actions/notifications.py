"""The user's own notifications."""

from __future__ import annotations

from collections.abc import Iterable

from cases.actions._base import now
from cases.models import Notification


def mark_notifications_read(user, ids: Iterable[int] | None = None) -> int:
    """Mark the user's unread notifications read: all of them, or those with the given ids."""
    query = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        query = query.filter(pk__in=list(ids))
    return query.update(read_at=now())
