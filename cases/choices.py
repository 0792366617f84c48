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
