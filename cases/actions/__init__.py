"""Every change of a case, one function per business action (DESIGN.md §5), by stage.

Who may take each action in which state, and what it does to the clocks, is the pipeline table's
(cases.pipeline); which objects a user may name is the access module's (cases.access). The actions
check both, lock, change, write one timeline event and leave side effects to the outbox. Pages, the
API, the admin and Celery tasks call these; nothing else writes a case. The system jobs (triage, the
deadline sweep) are in cases.jobs.
"""

from cases.actions._base import CLOCK_FIELDS, event_recorded, owning_centre
from cases.actions.centre import accept_case, decide_extension, dispatch_case, merge_case, reject_case
from cases.actions.clocks import escalate_case, hand_down_case, resume_case, supervise_case, suspend_case
from cases.actions.department import feedback_dispatch, request_extension, return_dispatch, sign_dispatch
from cases.actions.followup import close_case, follow_up
from cases.actions.intake import add_photos, report_case
from cases.actions.notifications import mark_notifications_read
from cases.actions.patrols import add_points, check_in, end_patrol, end_stale_patrols, report_finding, start_patrol
from cases.actions.verification import assign_verification, verify_case

__all__ = [
    "CLOCK_FIELDS", "accept_case", "add_photos", "add_points", "check_in", "end_patrol", "end_stale_patrols",
    "report_finding", "start_patrol", "assign_verification", "close_case", "decide_extension",
    "dispatch_case", "escalate_case", "event_recorded", "feedback_dispatch", "follow_up", "hand_down_case",
    "mark_notifications_read", "merge_case", "owning_centre", "reject_case", "report_case", "request_extension",
    "resume_case", "return_dispatch", "sign_dispatch", "supervise_case", "suspend_case", "verify_case",
]
