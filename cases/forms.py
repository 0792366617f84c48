"""Forms of the pages: one per action, validated on the server, messages beside the field."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from cases import access
from cases.choices import Satisfaction, Supervision
from cases.models import Case, ExtensionRequest
from govgrid.workcalendar import TimeUnit
from grids.models import Centre, Department


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


CAMERA_ICON = (
    '<svg width="22" height="22" viewBox="0 0 24 24" fill="currentColor" aria-hidden="true">'
    '<path d="M9 3 7.2 5H4a2 2 0 0 0-2 2v11a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2V7a2 2 0 0 0-2-2h-3.2L15 3H9zm3 5a5 5 0 1 1 '
    '0 10 5 5 0 0 1 0-10zm0 2a3 3 0 1 0 0 6 3 3 0 0 0 0-6z"/></svg>'
)
TAKE_A_PHOTO = _("Take a photo")


class PhotoInput(MultipleFileInput):
    """Photos as the worker's report form takes them: a big camera button standing for the file input
    (hidden once static/js/forms.js runs) and thumbnails of what was chosen."""

    def __init__(self, attrs=None, button=TAKE_A_PHOTO):
        super().__init__({"accept": "image/*", "class": "file-input", **(attrs or {})})
        self.button = button

    def render(self, name, value, attrs=None, renderer=None):
        field = super().render(name, value, attrs, renderer)
        input_id = (attrs or {}).get("id") or self.attrs.get("id") or f"id_{name}"
        return format_html(
            '<label class="camera camera-light" for="{}">{}<span>{}</span></label>{}'
            '<div class="photos preview" data-preview-for="{}" aria-live="polite"></div>',
            input_id, mark_safe(CAMERA_ICON), self.button, field, input_id,  # noqa: S308 (a constant)
        )


class MultipleFileField(forms.FileField):
    """Several photos in one field (Django's documented pattern)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*"}))
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


class CaseActionForm(forms.Form):
    """Base: knows the case and the user, so choices can be scoped."""

    def __init__(self, *args, case: Case, user, **kwargs):
        self.case, self.user = case, user
        super().__init__(*args, **kwargs)


class NoteForm(CaseActionForm):
    note = forms.CharField(label=_("note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class ReasonForm(CaseActionForm):
    reason = forms.CharField(label=_("reason"), widget=forms.Textarea(attrs={"rows": 2}))


class MergeForm(NoteForm):
    master = forms.ModelChoiceField(label=_("merge into"), queryset=Case.objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        candidates = access.master_cases_for(self.user, self.case)
        suggested = list(self.case.duplicate_candidates.values_list("pk", flat=True))
        # The triage's duplicate suggestions first, and any open case of the same category.
        self.fields["master"].queryset = (
            candidates.filter(Q(pk__in=suggested) | Q(category=self.case.category)).select_related("category")
        )
        self.fields["master"].label_from_instance = lambda c: f"{c.number} {c.category.display_name} · {c.address}"
        if suggested:
            self.fields["master"].initial = suggested[0]


class DispatchForm(NoteForm):
    lead = forms.ModelChoiceField(label=_("lead department"), queryset=Department.objects.none())
    assists = forms.ModelMultipleChoiceField(
        label=_("assisting departments"), queryset=Department.objects.none(), required=False,
        # Ticks in a short scrolling list; static/js/forms.js hides the lead chosen and adds a search box.
        widget=forms.CheckboxSelectMultiple(attrs={"class": "assist-list"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        departments = access.dispatch_targets_for(self.user, self.case).select_related("area").order_by(
            "-area__level", "name")
        self.fields["lead"].queryset = departments
        self.fields["assists"].queryset = departments
        self.fields["lead"].initial = self.case.suggested_department_id

    def clean(self):
        data = super().clean()
        if data.get("lead") and data.get("lead") in (data.get("assists") or []):
            self.add_error("assists", _("The lead department cannot also assist."))
        return data


class DispatchChoiceMixin:
    """For handlers: the action runs on their department's live dispatch (cases.pipeline.own_dispatches)."""


class SignForm(DispatchChoiceMixin, NoteForm):
    pass


class ReturnForm(DispatchChoiceMixin, ReasonForm):
    pass


class FeedbackForm(DispatchChoiceMixin, CaseActionForm):
    note = forms.CharField(label=_("how it was handled"), widget=forms.Textarea(attrs={"rows": 3}))
    photos = MultipleFileField(label=_("photos"), widget=PhotoInput(button=_("Take or choose photos")))


class ExtensionRequestForm(DispatchChoiceMixin, CaseActionForm):
    amount = forms.DecimalField(label=_("extra time"), min_value=0.5, max_digits=6, decimal_places=1, initial=1)
    unit = forms.ChoiceField(label=_("unit"), choices=TimeUnit.choices, initial=TimeUnit.WORKING_DAYS)
    reason = forms.CharField(label=_("reason"), widget=forms.Textarea(attrs={"rows": 2}))


class ExtensionDecisionForm(NoteForm):
    extension = forms.ModelChoiceField(queryset=ExtensionRequest.objects.none(), widget=forms.HiddenInput)
    approve = forms.TypedChoiceField(
        label=_("decision"), coerce=lambda v: v == "yes",
        choices=[("yes", _("approve")), ("no", _("refuse"))], widget=forms.RadioSelect,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["extension"].queryset = ExtensionRequest.objects.filter(dispatch__case=self.case, status="pending")


class AssignVerificationForm(CaseActionForm):
    verifier = forms.ModelChoiceField(label=_("verifier"), queryset=get_user_model().objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        workers = access.verifiers_for(self.case).order_by("username")
        self.fields["verifier"].queryset = workers
        self.fields["verifier"].label_from_instance = lambda u: u.get_full_name() or u.username
        if self.case.reporter_id and workers.filter(pk=self.case.reporter_id).exists():
            self.fields["verifier"].initial = self.case.reporter_id


class VerifyForm(CaseActionForm):
    passed = forms.TypedChoiceField(
        label=_("result"), coerce=lambda v: v == "pass",
        choices=[("pass", _("passed: the problem is solved")), ("fail", _("failed: rework needed"))],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(label=_("note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    photos = MultipleFileField(label=_("on-site photo"), widget=PhotoInput(attrs={"capture": "environment"}))
    # Set by the phone when the form is sent (static/js/offline.js): a resend answers with the first result.
    client_uuid = forms.UUIDField(required=False, widget=forms.HiddenInput)


class FollowUpForm(NoteForm):
    satisfaction = forms.ChoiceField(label=_("satisfaction"), choices=Satisfaction.choices, widget=forms.RadioSelect)


class HandDownForm(NoteForm):
    centre = forms.ModelChoiceField(label=_("centre"), queryset=Centre.objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["centre"].queryset = access.hand_down_targets_for(self.case).order_by("level")


class SuperviseForm(CaseActionForm):
    level = forms.ChoiceField(label=_("supervision level"), choices=[c for c in Supervision.choices if c[0]],
                              widget=forms.RadioSelect, initial=Supervision.NORMAL)
    note = forms.CharField(label=_("what is expected"), widget=forms.Textarea(attrs={"rows": 2}))
