"""After-commit hooks of the timeline: the event row is the outbox, and what runs after it is registered here.

Actions write event rows and call :func:`events_written` / :func:`case_reported`; the Celery tasks
module registers the functions that enqueue its tasks (cases.apps imports it at start-up). So the
actions never import the tasks, and a process that registered nothing (a script, a migration) still
commits its events: the reconcile jobs notify and triage whatever was not enqueued.
"""

from __future__ import annotations

from collections.abc import Callable

_event_hooks: list[Callable[[list[int]], None]] = []
_report_hooks: list[Callable[[int], None]] = []


def on_events(hook: Callable[[list[int]], None]) -> Callable[[list[int]], None]:
    """Register ``hook(event_ids)``, called (inside the transaction; it should defer to on_commit) for
    events that notify someone."""
    if hook not in _event_hooks:
        _event_hooks.append(hook)
    return hook


def on_report(hook: Callable[[int], None]) -> Callable[[int], None]:
    """Register ``hook(case_id)`` for a new report that waits for triage."""
    if hook not in _report_hooks:
        _report_hooks.append(hook)
    return hook


def events_written(event_ids: list[int]) -> None:
    if event_ids:
        for hook in _event_hooks:
            hook(event_ids)


def case_reported(case_id: int) -> None:
    for hook in _report_hooks:
        hook(case_id)
