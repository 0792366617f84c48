"""Disputes and their mediation (矛盾纠纷排查化解, DESIGN.md §6): what a case of the 矛盾纠纷 family carries
beyond the pipeline, and the dispute-resolution centres (调处化解中心) that mediate them.

A dispute is a case: it is reported, accepted and closed through the pipeline table like any other,
and every change below is an action of that table (cases.pipeline, family "dispute";
cases.actions.disputes). These models only hold what the actions recorded.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from govgrid.names import NamedInTwoLanguages

DISPUTE_FAMILY_CODE = "07"  # cases/categories_seed.py: the 矛盾纠纷 family


class DisputeType(models.TextChoices):
    NEIGHBOUR = "neighbour", _("neighbourhood")
    FAMILY = "family", _("marriage and family")
    LABOUR = "labour", _("labour and wages")
    PROPERTY_MANAGEMENT = "property_mgmt", _("property management")
    LAND = "land", _("land")
    DEMOLITION = "demolition", _("land requisition and demolition")
    MEDICAL = "medical", _("doctor and patient")
    CONSUMER = "consumer", _("consumer")
    TENANCY = "tenancy", _("tenancy")
    OTHER = "other", _("other")


# The type a leaf category of the family suggests (cases/categories_seed.py codes).
TYPE_BY_CATEGORY = {
    "0701": DisputeType.NEIGHBOUR, "0702": DisputeType.FAMILY, "0703": DisputeType.LABOUR,
    "0704": DisputeType.PROPERTY_MANAGEMENT, "0705": DisputeType.LAND, "0706": DisputeType.DEMOLITION,
    "0707": DisputeType.MEDICAL, "0708": DisputeType.CONSUMER, "0709": DisputeType.TENANCY,
}


class RiskLevel(models.TextChoices):
    LOW = "low", _("low risk")
    MEDIUM = "medium", _("medium risk")
    HIGH = "high", _("high risk")
    MAJOR = "major", _("major risk")


RISK_RANK = {RiskLevel.LOW: 0, RiskLevel.MEDIUM: 1, RiskLevel.HIGH: 2, RiskLevel.MAJOR: 3}


class RiskReason(models.TextChoices):
    MANY_PEOPLE = "many_people", _("many people involved")
    REPEATED_PETITIONS = "repeated_petitions", _("repeated petitions")
    VIOLENCE = "violence", _("violence threatened")


class DisputeSource(models.TextChoices):
    SCREENING = "screening", _("grid screening")
    HOTLINE = "hotline", _("hotline")
    PETITION = "petition", _("petition")
    COURT = "court", _("court referral")


class DisputeStage(models.TextChoices):
    MEDIATING = "mediating", _("mediating")
    AGREED = "agreed", _("agreement reached")
    RESOLVED = "resolved", _("resolved")
    FAILED = "failed", _("mediation failed")
    REFERRED = "referred", _("referred outside")
    CONCLUDED = "concluded", _("concluded outside")


# Stages in which the centre still mediates (sessions, agreement, success or failure).
MEDIATING_STAGES = (DisputeStage.MEDIATING, DisputeStage.AGREED, DisputeStage.FAILED)


class MediatorKind(models.TextChoices):
    PEOPLES_MEDIATOR = "peoples_mediator", _("people's mediator")
    LAWYER = "lawyer", _("lawyer")
    POLICE = "police", _("police officer")
    COURT = "court", _("court staff")


class SessionMethod(models.TextChoices):
    ON_SITE = "on_site", _("on site")
    AT_CENTRE = "at_centre", _("at the centre")
    JOINT = "joint", _("joint mediation by several departments")
    PHONE = "phone", _("by phone")
    ONLINE = "online", _("online")


class SessionResult(models.TextChoices):
    CONTINUE = "continue", _("to be continued")
    AGREED = "agreed", _("agreement reached")
    FAILED = "failed", _("no agreement")


class PerformanceMode(models.TextChoices):
    ON_THE_SPOT = "on_the_spot", _("performed on the spot")
    BY_DATE = "by_date", _("performed by a date")
    INSTALMENTS = "instalments", _("performed in instalments")


class ReferralTarget(models.TextChoices):
    CENTRE = "centre", _("another resolution centre")
    LITIGATION = "litigation", _("litigation")
    ARBITRATION = "arbitration", _("arbitration")
    PETITION = "petition", _("letters and visits")


class VisitKind(models.TextChoices):
    PATROL = "patrol", _("patrol visit (巡诊)")
    INQUIRY = "inquiry", _("special-group visit (问诊)")
    JOINT = "joint", _("joint consultation (会诊)")
    LEADER = "leader", _("leader's visit (专诊)")
    FOLLOW_UP = "follow_up", _("follow-up of a legacy issue (复诊)")


class PartyRole(models.TextChoices):
    APPLICANT = "applicant", _("applicant")
    RESPONDENT = "respondent", _("respondent")
    OTHER = "other", _("other party")


# --- centres --------------------------------------------------------------------------------------


class ResolutionCentre(NamedInTwoLanguages, models.Model):
    """调处化解中心: a district's or town's dispute-resolution centre, where departments sit together."""

    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    area = models.OneToOneField("grids.Area", verbose_name=_("area"), on_delete=models.PROTECT,
                                related_name="resolution_centre")
    departments = models.ManyToManyField("grids.Department", verbose_name=_("stationed departments"), blank=True,
                                         related_name="resolution_centres")

    class Meta:
        verbose_name = _("dispute resolution centre")
        verbose_name_plural = _("dispute resolution centres")
        ordering = ["area__path"]

    def __str__(self) -> str:
        return self.name


class Mediator(models.Model):
    """A person who mediates at a centre: a people's mediator, a stationed lawyer, police or court staff."""

    centre = models.ForeignKey(ResolutionCentre, verbose_name=_("centre"), on_delete=models.CASCADE,
                               related_name="mediators")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE,
                             related_name="mediator_posts")
    kind = models.CharField(_("kind"), max_length=20, choices=MediatorKind.choices)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("mediator")
        verbose_name_plural = _("mediators")
        constraints = [models.UniqueConstraint(fields=["centre", "user"], name="mediator_once_per_centre")]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_kind_display()}"


# --- the dispute ----------------------------------------------------------------------------------


class DisputeDetails(models.Model):
    """What a dispute case carries: type, scale, risk, source, the centre mediating it and its stage."""

    case = models.OneToOneField("cases.Case", on_delete=models.CASCADE, primary_key=True, related_name="dispute")
    centre = models.ForeignKey(ResolutionCentre, verbose_name=_("resolution centre"), on_delete=models.PROTECT,
                               related_name="disputes")
    dispute_type = models.CharField(_("dispute type"), max_length=16, choices=DisputeType.choices)
    source = models.CharField(_("source"), max_length=16, choices=DisputeSource.choices)
    amount = models.DecimalField(_("amount at stake (yuan)"), max_digits=14, decimal_places=2, null=True,
                                 blank=True, validators=[MinValueValidator(0)])
    people_involved = models.PositiveIntegerField(_("people involved"), default=2)
    petitions = models.PositiveSmallIntegerField(_("petitions so far"), default=0)
    violence_threatened = models.BooleanField(_("violence threatened"), default=False)
    assessed_risk = models.CharField(_("assessed risk"), max_length=8, choices=RiskLevel.choices,
                                     default=RiskLevel.LOW)
    risk_level = models.CharField(_("risk level"), max_length=8, choices=RiskLevel.choices, default=RiskLevel.LOW)
    risk_reasons = models.JSONField(_("why the risk was raised"), default=list, blank=True)
    leader = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("leader in charge (专诊)"), null=True,
                               blank=True, on_delete=models.SET_NULL, related_name="led_disputes")
    stage = models.CharField(_("stage"), max_length=12, choices=DisputeStage.choices,
                             default=DisputeStage.MEDIATING)
    opened_at = models.DateTimeField(_("opened at"))
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    concluded_at = models.DateTimeField(_("concluded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        indexes = [models.Index(fields=["centre", "stage"], name="dispute_centre_stage"),
                   models.Index(fields=["leader"], condition=Q(leader__isnull=False), name="dispute_leader")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.get_dispute_type_display()}"

    @property
    def is_mediating(self) -> bool:
        return self.stage in MEDIATING_STAGES


def assess_risk(details: DisputeDetails) -> tuple[str, list[str]]:
    """The risk level the rules give: the assessed level, raised to high when many people are involved
    (DISPUTE_RISK_PEOPLE, default 10) or the dispute was petitioned repeatedly (DISPUTE_RISK_PETITIONS,
    default 2), and to major when violence was threatened. Returns the level and the reasons it was raised."""
    level, reasons = details.assessed_risk or RiskLevel.LOW, []

    def raise_to(to: str, reason: str) -> None:
        nonlocal level
        reasons.append(reason)
        if RISK_RANK[to] > RISK_RANK[level]:
            level = to

    if details.people_involved >= getattr(settings, "DISPUTE_RISK_PEOPLE", 10):
        raise_to(RiskLevel.HIGH, RiskReason.MANY_PEOPLE)
    if details.petitions >= getattr(settings, "DISPUTE_RISK_PETITIONS", 2):
        raise_to(RiskLevel.HIGH, RiskReason.REPEATED_PETITIONS)
    if details.violence_threatened:
        raise_to(RiskLevel.MAJOR, RiskReason.VIOLENCE)
    return level, [str(reason) for reason in reasons]


class DisputeParty(models.Model):
    """当事人: a resident or an organisation of the parties register, as applicant, respondent or other."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="dispute_parties")
    resident = models.ForeignKey("parties.Resident", verbose_name=_("resident"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")
    organisation = models.ForeignKey("parties.Organisation", verbose_name=_("organisation"), null=True,
                                     blank=True, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(_("role"), max_length=12, choices=PartyRole.choices)

    class Meta:
        verbose_name = _("party to a dispute")
        verbose_name_plural = _("parties to disputes")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(resident__isnull=False, organisation__isnull=True)
                | Q(resident__isnull=True, organisation__isnull=False),
                name="dispute_party_one_kind",
                violation_error_message=_("A party is either a resident or an organisation."),
            ),
            models.UniqueConstraint(fields=["case", "resident"], condition=Q(resident__isnull=False),
                                    name="dispute_party_resident_once"),
            models.UniqueConstraint(fields=["case", "organisation"], condition=Q(organisation__isnull=False),
                                    name="dispute_party_organisation_once"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.get_role_display()} {self.party}"

    @property
    def party(self):
        return self.resident or self.organisation


class MediationSession(models.Model):
    """调解: one sitting with the parties."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="mediation_sessions")
    held_at = models.DateTimeField(_("held at"))
    place = models.CharField(_("place"), max_length=200)
    mediators = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name=_("mediators"), related_name="+")
    method = models.CharField(_("method"), max_length=12, choices=SessionMethod.choices)
    attendance = models.TextField(_("attendance"), blank=True)
    result = models.CharField(_("result"), max_length=12, choices=SessionResult.choices)
    note = models.TextField(_("note"), blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("mediation session")
        verbose_name_plural = _("mediation sessions")
        ordering = ["held_at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.held_at:%Y-%m-%d} {self.get_result_display()}"


class Agreement(models.Model):
    """调解协议: the terms, how and by when they are performed, and the court's confirmation (司法确认)."""

    case = models.OneToOneField("cases.Case", on_delete=models.CASCADE, primary_key=True, related_name="agreement")
    terms = models.TextField(_("terms"))
    performance = models.CharField(_("how it is performed"), max_length=12, choices=PerformanceMode.choices)
    perform_by = models.DateField(_("performed by"))
    signed_on = models.DateField(_("signed on"))
    confirmation_requested_on = models.DateField(_("judicial confirmation requested on"), null=True, blank=True)
    confirmation_granted_on = models.DateField(_("judicial confirmation granted on"), null=True, blank=True)
    court = models.CharField(_("court"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("mediation agreement")
        verbose_name_plural = _("mediation agreements")

    def __str__(self) -> str:
        return f"{self.case_id} {self.get_performance_display()} {self.perform_by}"


class FollowUp(models.Model):
    """回访: a check, at a set interval after the agreement, that it is being performed."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="dispute_follow_ups")
    due_on = models.DateField(_("due on"))
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    held = models.BooleanField(_("agreement held"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    reminded_on = models.DateField(_("reminded on"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("follow-up on an agreement")
        verbose_name_plural = _("follow-ups on agreements")
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["due_on"], condition=Q(done_at__isnull=True), name="dispute_follow_up_due")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.due_on}"


class Referral(models.Model):
    """移交: to another level's centre, or out to litigation, arbitration or petition, with its result."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="dispute_referrals")
    target = models.CharField(_("referred to"), max_length=12, choices=ReferralTarget.choices)
    from_centre = models.ForeignKey(ResolutionCentre, on_delete=models.PROTECT, related_name="+")
    to_centre = models.ForeignKey(ResolutionCentre, verbose_name=_("centre"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(_("reason"))
    referred_at = models.DateTimeField(_("referred at"))
    referred_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    result = models.TextField(_("result"), blank=True)
    result_at = models.DateTimeField(_("result recorded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        ordering = ["referred_at", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(target="centre") | Q(to_centre__isnull=False),
                                   name="referral_to_centre_names_it"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} → {self.get_target_display()}"


class DisputeVisit(models.Model):
    """One of the five visits (五诊) recorded on a dispute."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="dispute_visits")
    kind = models.CharField(_("kind"), max_length=12, choices=VisitKind.choices)
    visited_at = models.DateTimeField(_("visited at"))
    visitor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True,
                                on_delete=models.SET_NULL, related_name="+")
    note = models.TextField(_("note"), blank=True)
    next_due_on = models.DateField(_("next follow-up visit due"), null=True, blank=True)
    reminded_on = models.DateField(_("reminded on"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("dispute visit")
        verbose_name_plural = _("dispute visits")
        ordering = ["visited_at", "id"]
        indexes = [models.Index(fields=["next_due_on"], condition=Q(next_due_on__isnull=False),
                                name="dispute_visit_next_due")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.get_kind_display()} {self.visited_at:%Y-%m-%d}"


class VisitDepartment(models.Model):
    """会诊: a department at a joint consultation and the part it takes."""

    visit = models.ForeignKey(DisputeVisit, on_delete=models.CASCADE, related_name="departments")
    department = models.ForeignKey("grids.Department", verbose_name=_("department"), on_delete=models.PROTECT,
                                   related_name="+")
    part = models.CharField(_("its part"), max_length=200)

    class Meta:
        verbose_name = _("department at a joint consultation")
        verbose_name_plural = _("departments at joint consultations")
        constraints = [models.UniqueConstraint(fields=["visit", "department"], name="visit_department_once")]

    def __str__(self) -> str:
        return f"{self.visit_id} {self.department_id}: {self.part}"


class ScreeningReport(models.Model):
    """排查报告: a grid's monthly dispute screening, the disputes it found or a zero report (零报告)."""

    grid = models.ForeignKey("grids.Area", verbose_name=_("grid"), on_delete=models.PROTECT, related_name="+")
    area_path = models.CharField(_("area path"), max_length=255, editable=False)
    month = models.DateField(_("month"))  # the first day of the month
    found = models.ManyToManyField("cases.Case", verbose_name=_("disputes found"), blank=True, related_name="+")
    is_zero = models.BooleanField(_("zero report"), default=False)
    note = models.TextField(_("note"), blank=True)
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("reported by"), null=True,
                                    on_delete=models.SET_NULL, related_name="+")
    reported_at = models.DateTimeField(_("reported at"))

    class Meta:
        verbose_name = _("dispute screening report")
        verbose_name_plural = _("dispute screening reports")
        ordering = ["-month", "grid__path"]
        constraints = [models.UniqueConstraint(fields=["grid", "month"], name="screening_once_per_grid_month")]
        indexes = [models.Index(fields=["month", "area_path"], opclasses=["date_ops", "text_pattern_ops"],
                                name="screening_month_path")]

    def __str__(self) -> str:
        return f"{self.grid_id} {self.month:%Y-%m}"
