from django.db import models
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    REPORTED = "reported", _("reported")
    ACCEPTED = "accepted", _("accepted")
    DISPATCHED = "dispatched", _("dispatched")
    IN_PROGRESS = "in_progress", _("in progress")
    HANDLED = "handled", _("handled")
    VERIFIED = "verified", _("verified")
    CLOSED = "closed", _("closed")
    REJECTED = "rejected", _("rejected")
    MERGED = "merged", _("merged")
    FILED = "filed", _("filed (report only)")


OPEN_STATUSES = (
    Status.REPORTED, Status.ACCEPTED, Status.DISPATCHED, Status.IN_PROGRESS, Status.HANDLED, Status.VERIFIED,
)
TERMINAL_STATUSES = (Status.CLOSED, Status.REJECTED, Status.MERGED, Status.FILED)


class Channel(models.TextChoices):
    GRID_WORKER = "grid_worker", _("grid worker")
    CITIZEN = "citizen", _("citizen")
    OPEN311 = "open311", _("Open311")
    HOTLINE = "hotline", _("hotline")
    DEPARTMENT = "department", _("department")
    PATROL = "patrol", _("patrol")


class Urgency(models.TextChoices):
    NORMAL = "normal", _("normal")
    URGENT = "urgent", _("urgent")
    CRITICAL = "critical", _("critical")


class Stage(models.TextChoices):
    """Which clock runs: accept (at the centre), sign and handle (at departments), verify (on site)."""

    ACCEPT = "accept", _("acceptance")
    SIGN = "sign", _("signing")
    HANDLE = "handle", _("handling")
    VERIFY = "verify", _("verification")
    NONE = "", _("no clock")


class Light(models.TextChoices):
    GREEN = "green", _("green")
    YELLOW = "yellow", _("yellow")
    RED = "red", _("red")
    NONE = "", _("none")


class Supervision(models.TextChoices):
    NONE = "", _("none")
    NORMAL = "normal", _("normal supervision")
    YELLOW = "yellow", _("yellow card")
    RED = "red", _("red card")


SUPERVISION_RANK = {Supervision.NONE: 0, Supervision.NORMAL: 1, Supervision.YELLOW: 2, Supervision.RED: 3}


class ClosureKind(models.TextChoices):
    HANDLED = "handled", _("handled and verified")
    SELF_RESOLVED = "self_resolved", _("self-resolved")
    ANSWERED = "answered", _("answered at once")


class Satisfaction(models.TextChoices):
    SATISFIED = "satisfied", _("satisfied")
    BASIC = "basic", _("basically satisfied")
    DISSATISFIED = "dissatisfied", _("dissatisfied")


class DispatchRole(models.TextChoices):
    LEAD = "lead", _("lead department")
    ASSIST = "assist", _("assisting department")


class DispatchStatus(models.TextChoices):
    DISPATCHED = "dispatched", _("dispatched")
    SIGNED = "signed", _("signed")
    HANDLED = "handled", _("fed back")
    RETURNED = "returned", _("returned")
    CANCELLED = "cancelled", _("cancelled")


ACTIVE_DISPATCH_STATUSES = (DispatchStatus.DISPATCHED, DispatchStatus.SIGNED, DispatchStatus.HANDLED)


class ExtensionStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    APPROVED = "approved", _("approved")
    REJECTED = "rejected", _("refused")


class AttachmentKind(models.TextChoices):
    REPORT = "report", _("photo at report")
    SELF_RESOLVE = "self_resolve", _("photo after self-resolving")
    FEEDBACK = "feedback", _("photo of handling")
    VERIFICATION = "verification", _("photo of verification")


class Action(models.TextChoices):
    """What a timeline event records. One event per action, written by cases.actions."""

    REPORT = "report", _("reported")
    SELF_RESOLVE = "self_resolve", _("self-resolved")
    FILE = "file", _("filed as report-only")
    ANSWER = "answer", _("answered at once")
    TRIAGE = "triage", _("triaged")
    ACCEPT = "accept", _("accepted")
    REJECT = "reject", _("rejected")
    MERGE = "merge", _("merged")
    DISPATCH = "dispatch", _("dispatched")
    SIGN = "sign", _("signed")
    RETURN = "return", _("returned")
    REQUEST_EXTENSION = "request_extension", _("extension requested")
    DECIDE_EXTENSION = "decide_extension", _("extension decided")
    SUSPEND = "suspend", _("suspended")
    RESUME = "resume", _("resumed")
    FEEDBACK = "feedback", _("fed back")
    ASSIGN_VERIFICATION = "assign_verification", _("verification assigned")
    VERIFY = "verify", _("verified")
    CLOSE = "close", _("closed")
    FOLLOW_UP = "follow_up", _("follow-up call")
    ESCALATE = "escalate", _("escalated")
    HAND_DOWN = "hand_down", _("handed down")
    SUPERVISE = "supervise", _("supervised")
    LIGHT = "light", _("deadline light changed")
    ATTACH = "attach", _("photo added")
    REPLAN = "replan", _("deadlines re-planned (emergency mode)")
    # Disputes and mediation (cases.disputes): rows of the pipeline table's "dispute" family.
    OPEN_DISPUTE = "open_dispute", _("dispute registered")
    ASSESS_RISK = "assess_risk", _("dispute risk assessed")
    ADD_PARTY = "add_party", _("party added")
    HOLD_SESSION = "hold_session", _("mediation session held")
    RECORD_AGREEMENT = "record_agreement", _("agreement recorded")
    REQUEST_CONFIRMATION = "request_confirmation", _("judicial confirmation requested")
    GRANT_CONFIRMATION = "grant_confirmation", _("judicial confirmation granted")
    RECORD_FOLLOW_UP = "record_follow_up", _("agreement followed up")
    MARK_SUCCESS = "mark_success", _("mediation succeeded")
    MARK_FAILURE = "mark_failure", _("mediation failed")
    REFER_DISPUTE = "refer_dispute", _("dispute referred")
    REFERRAL_RESULT = "referral_result", _("referral result recorded")
    RECORD_VISIT = "record_visit", _("dispute visit recorded")
    ASSIGN_LEADER = "assign_leader", _("leader assigned")
    DISPUTE_REMINDER = "dispute_reminder", _("dispute reminder")


class EmergencyLevel(models.IntegerChoices):
    """Graded response (分级响应) of emergency mode: I is the most severe, IV the least."""

    I = 1, _("Level I (most severe)")  # noqa: E741
    II = 2, _("Level II")
    III = 3, _("Level III")
    IV = 4, _("Level IV")


class ActivationChange(models.TextChoices):
    """What one row of an activation's log records."""

    ON = "on", _("switched on")
    LEVEL = "level", _("level changed")
    TASK_FORCE = "task_force", _("task force changed")
    OFF = "off", _("switched off")
    EXPIRED = "expired", _("planned end reached")
