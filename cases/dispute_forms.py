"""Forms of the dispute pages: one per row of the pipeline table's dispute family, choices scoped
through the access module, validated again by the action (a refusal is shown beside its field)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from cases import access
from cases.disputes import (
    DisputeSource,
    DisputeType,
    PartyRole,
    PerformanceMode,
    ReferralTarget,
    RiskLevel,
    SessionMethod,
    SessionResult,
    VisitKind,
)
from cases.forms import CaseActionForm
from grids.models import Department

DATE = forms.DateInput(attrs={"type": "date"})
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
NOTE = forms.Textarea(attrs={"rows": 2})


class NoteForm(CaseActionForm):
    note = forms.CharField(label=_("note"), required=False, widget=NOTE)


class ReasonForm(CaseActionForm):
    reason = forms.CharField(label=_("reason"), widget=NOTE)


class RiskFields(forms.Form):
    people_involved = forms.IntegerField(label=_("people involved"), min_value=1, max_value=1_000_000, initial=2)
    petitions = forms.IntegerField(label=_("petitions so far"), min_value=0, max_value=1000, initial=0)
    violence_threatened = forms.BooleanField(label=_("violence threatened"), required=False)
    assessed_risk = forms.ChoiceField(label=_("assessed risk"), choices=RiskLevel.choices, initial=RiskLevel.LOW)


class OpenDisputeForm(CaseActionForm, RiskFields):
    centre = forms.ModelChoiceField(label=_("resolution centre"), queryset=None)
    source = forms.ChoiceField(label=_("source"), choices=DisputeSource.choices)
    dispute_type = forms.ChoiceField(label=_("dispute type"), choices=[("", _("as the category says")),
                                                                      *DisputeType.choices], required=False)
    amount = forms.DecimalField(label=_("amount at stake (yuan)"), min_value=0, max_digits=14, decimal_places=2,
                                required=False)
    note = forms.CharField(label=_("note"), required=False, widget=NOTE)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["centre"].queryset = access.resolution_centres_for(self.case)


class RiskForm(CaseActionForm, RiskFields):
    note = forms.CharField(label=_("note"), required=False, widget=NOTE)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        dispute = getattr(self.case, "dispute", None)
        if dispute is not None and not self.is_bound:
            for name in ("people_involved", "petitions", "violence_threatened", "assessed_risk"):
                self.fields[name].initial = getattr(dispute, name)


class PartyForm(CaseActionForm):
    role = forms.ChoiceField(label=_("role"), choices=PartyRole.choices)
    resident = forms.IntegerField(label=_("resident (id in the people register)"), min_value=1, required=False)
    organisation = forms.IntegerField(label=_("organisation (id in the people register)"), min_value=1,
                                      required=False)


class SessionForm(CaseActionForm):
    held_at = forms.DateTimeField(label=_("held at"), widget=DATETIME)
    place = forms.CharField(label=_("place"), max_length=200)
    method = forms.ChoiceField(label=_("method"), choices=SessionMethod.choices)
    mediators = forms.ModelMultipleChoiceField(label=_("mediators"), queryset=None, required=False,
                                               widget=forms.CheckboxSelectMultiple)
    attendance = forms.CharField(label=_("attendance"), required=False, widget=NOTE)
    result = forms.ChoiceField(label=_("result"), choices=SessionResult.choices)
    note = forms.CharField(label=_("note"), required=False, widget=NOTE)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        dispute = getattr(self.case, "dispute", None)
        self.fields["mediators"].queryset = (access.mediators_for(dispute.centre) if dispute is not None
                                             else access.mediators_for(None).none())


class AgreementForm(CaseActionForm):
    terms = forms.CharField(label=_("terms"), widget=forms.Textarea(attrs={"rows": 3}))
    performance = forms.ChoiceField(label=_("how it is performed"), choices=PerformanceMode.choices)
    perform_by = forms.DateField(label=_("performed by"), widget=DATE)
    signed_on = forms.DateField(label=_("signed on"), widget=DATE, required=False)
    note = forms.CharField(label=_("note"), required=False, widget=NOTE)


class ConfirmationRequestForm(CaseActionForm):
    court = forms.CharField(label=_("court"), max_length=100)
    requested_on = forms.DateField(label=_("requested on"), widget=DATE, required=False)


class ConfirmationGrantForm(CaseActionForm):
    granted_on = forms.DateField(label=_("granted on"), widget=DATE)


class FollowUpForm(CaseActionForm):
    held = forms.TypedChoiceField(label=_("is the agreement being kept?"), coerce=lambda v: v == "yes",
                                  choices=[("yes", _("yes, it is kept")), ("no", _("no, it is not kept"))],
                                  widget=forms.RadioSelect)
    note = forms.CharField(label=_("note"), required=False, widget=NOTE)


class ReferForm(CaseActionForm):
    target = forms.ChoiceField(label=_("referred to"), choices=ReferralTarget.choices)
    to_centre = forms.ModelChoiceField(label=_("centre (for another centre)"), queryset=None, required=False)
    reason = forms.CharField(label=_("reason"), widget=NOTE)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        dispute = getattr(self.case, "dispute", None)
        centres = access.resolution_centres_for(self.case)
        self.fields["to_centre"].queryset = centres.exclude(pk=dispute.centre_id) if dispute else centres


class ResultForm(CaseActionForm):
    result = forms.CharField(label=_("result"), widget=NOTE)


class VisitForm(CaseActionForm):
    kind = forms.ChoiceField(label=_("kind"), choices=VisitKind.choices)
    note = forms.CharField(label=_("note"), required=False, widget=NOTE)
    department_1 = forms.ModelChoiceField(label=_("joint consultation: department"), queryset=None, required=False)
    part_1 = forms.CharField(label=_("its part"), max_length=200, required=False)
    department_2 = forms.ModelChoiceField(label=_("joint consultation: department"), queryset=None, required=False)
    part_2 = forms.CharField(label=_("its part"), max_length=200, required=False)
    department_3 = forms.ModelChoiceField(label=_("joint consultation: department"), queryset=None, required=False)
    part_3 = forms.CharField(label=_("its part"), max_length=200, required=False)
    next_due_on = forms.DateField(label=_("next follow-up visit due"), widget=DATE, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        codes = self.case.area_path.rstrip("/").split("/")
        departments = Department.objects.filter(is_active=True, area__code__in=codes).order_by("area__level", "name")
        for i in (1, 2, 3):
            self.fields[f"department_{i}"].queryset = departments

    def departments(self) -> list[tuple]:
        data = self.cleaned_data
        return [(data[f"department_{i}"].pk, data[f"part_{i}"]) for i in (1, 2, 3) if data.get(f"department_{i}")]


class LeaderForm(CaseActionForm):
    leader = forms.ModelChoiceField(label=_("leader in charge"), queryset=None, to_field_name="username")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["leader"].queryset = access.leaders_for(self.case).order_by("username")


class ScreeningForm(forms.Form):
    """The grid worker's monthly screening: the disputes found (ticked), or a zero report."""

    found = forms.TypedMultipleChoiceField(label=_("disputes found"), coerce=int, required=False,
                                           widget=forms.CheckboxSelectMultiple)
    note = forms.CharField(label=_("note"), required=False, widget=NOTE)

    def __init__(self, *args, cases=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["found"].choices = [(c.pk, f"{c.number} {c.category.display_name}") for c in cases]
