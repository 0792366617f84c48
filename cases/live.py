"""Cases on the live channel (govgrid.live): a new case, a status change, a light change.

Connected to ``event_recorded`` (cases.apps), which every action, the triage and the deadline sweep
send for each timeline event at the end of their transaction; govgrid.live sends what this gathers
once that transaction commits, one round trip per transaction (a sweep batch of 500 light changes
included). Nothing here reads the database: the payload comes from the case in hand, and fields the
caller did not load (the sweep defers the location) are left out rather than fetched.
"""

from __future__ import annotations

from typing import Any

from cases.choices import Action
from cases.models import Case, CaseEvent
from govgrid import live

NEW_CASE_ACTIONS = {Action.REPORT, Action.SELF_RESOLVE, Action.FILE, Action.ANSWER}


def kind_of(event: CaseEvent) -> str | None:
    if event.action in NEW_CASE_ACTIONS:
        return "case_new"
    if event.action == Action.LIGHT:
        return "light"
    if event.from_status and event.to_status and event.from_status != event.to_status:
        return "case_status"
    return None


def case_data(case: Case) -> dict[str, Any]:
    """What a screen shows of a case: ids, states, the category's id and the place. No people, no text."""
    data: dict[str, Any] = {
        "id": case.pk, "number": case.number, "status": case.status, "light": case.light,
        "category": case.category_id, "grid": case.area_path.rstrip("/").rsplit("/", 1)[-1],
        "emergency": case.is_emergency,
    }
    if "location" not in case.get_deferred_fields() and case.location is not None:
        data["lon"], data["lat"] = round(case.location.x, 6), round(case.location.y, 6)
    if Case.grid.is_cached(case):
        data["place"] = case.grid.name
    return data


def publish_case_event(sender, *, event: CaseEvent, case: Case, **kwargs) -> None:
    kind = kind_of(event)
    if kind is None:
        return
    data = case_data(case)
    data["action"] = event.action
    data["at"] = event.at.isoformat()
    if kind == "case_status":
        data["from"] = event.from_status
    elif kind == "light":
        data["from"] = (event.payload or {}).get("from", "")
        data["light"] = (event.payload or {}).get("to", case.light)
        data["stage"] = (event.payload or {}).get("stage", "")
    live.publish(kind, case.area_path, data)


# --- emergency mode, sweep tasks and patrols on the live channel ---------------------------------------


def activation_data(activation, *, state: str) -> dict[str, Any]:
    """``state``: on, changed or off. The numeral and the area's code and name; no reason text."""
    from cases.choices import EmergencyLevel

    return {"id": activation.pk, "level": EmergencyLevel(activation.level).name, "state": state,
            "area": activation.area.code, "place": activation.area.name}


def publish_activation(activation, *, state: str) -> None:
    live.publish("activation", activation.area_path, activation_data(activation, state=state))


def publish_sweep_progress(task, round_date=None) -> None:
    """The task's figures for its current round, to the screens over the task's area."""
    from cases import sweep_progress

    live.publish("sweep_progress", task.area_path, sweep_progress.live_figures(task, round_date))


def patrol_data(patrol, *, state: str, point=None) -> dict[str, Any]:
    """``state``: started, moved or stopped; the worker by id only (the screen names nobody)."""
    grid = patrol.grid
    data: dict[str, Any] = {"id": patrol.pk, "state": state, "grid": grid.code, "place": grid.name,
                            "worker": patrol.worker_id}
    if point is not None:
        data["lon"], data["lat"] = round(point.x, 6), round(point.y, 6)
    return data


def publish_patrol(patrol, *, state: str, point=None) -> None:
    live.publish("patrol", patrol.area_path, patrol_data(patrol, state=state, point=point))
