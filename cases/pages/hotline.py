"""The hotline (12345 热线) desk of a centre operator, at /centre/hotline/.

A call is recorded as a citizen's appeal on the hotline channel (cases.actions.appeals.file_appeal,
the pipeline's intake with the operator as reporter): the caller's name and number stored encrypted and
shown masked, the problem and its place. A question answered on the phone is kept as "answered at
once" (the pipeline table's ``answer`` row: counted with the report-only records, apart from cases to
handle). The page counts today's calls both ways.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.actions.appeals import file_appeal
from cases.choices import Channel, ClosureKind
from cases.models import Category
from cases.open311.places import standard_address
from cases.pages.centre import centre_cases, centre_scope
from govgrid.errors import ActionError
from parties import pii

ERROR_FIELDS = {"lon": "location", "lat": "location", "location": "location", "address": "location",
                "category": "category", "description": "description", "phone": "phone",
                "resolution_note": "answer", "answer": "answer"}


class CallForm(forms.Form):
    caller_name = forms.CharField(label=gettext_lazy("caller's name"), required=False, max_length=50)
    phone = forms.CharField(label=gettext_lazy("caller's number"), required=False, max_length=20,
                            widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}))
    category = forms.ModelChoiceField(
        label=gettext_lazy("category"), queryset=Category.objects.none(),
        error_messages={"required": gettext_lazy("Choose the kind of problem."),
                        "invalid_choice": gettext_lazy("Choose the kind of problem from the list.")},
    )
    description = forms.CharField(label=gettext_lazy("what the caller says"), max_length=4000,
                                  error_messages={"required": gettext_lazy("Write down what the caller says.")},
                                  widget=forms.Textarea(attrs={"rows": 4}))
    address = forms.CharField(label=gettext_lazy("address (standard address)"), required=False, max_length=200)
    lon = forms.FloatField(label=gettext_lazy("longitude"), required=False, min_value=-180, max_value=180)
    lat = forms.FloatField(label=gettext_lazy("latitude"), required=False, min_value=-90, max_value=90)
    answered = forms.BooleanField(label=gettext_lazy("answered at once (a question, nothing to send out)"),
                                  required=False)
    answer = forms.CharField(label=gettext_lazy("what the caller was told"), required=False, max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = Category.objects.filter(
            is_active=True, parent__isnull=False, parent__is_active=True).select_related("parent").order_by(
            "parent__sort_order", "parent__code", "sort_order", "code")

    def clean_phone(self) -> str:
        number = pii.normalise_phone(self.cleaned_data.get("phone", ""))
        if number and not (number.isdigit() and 5 <= len(number) <= 20):
            raise forms.ValidationError(_("The phone number is not valid."))
        return number


@login_required
def hotline(request: HttpRequest) -> HttpResponse:
    centre_scope(request)
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        form = CallForm(request.POST)
        form.is_valid()
        errors = {ERROR_FIELDS.get(name, "form"): list(found) for name, found in form.errors.items()}
        data = form.cleaned_data
        building = None
        if "location" not in errors and (data.get("lon") is None or data.get("lat") is None):
            building = standard_address(data.get("address", ""))
            if building is None:
                errors["location"] = [_("Give the place as a standard address (as on the door plate) or as a "
                                        "point (longitude and latitude).")]
        status = 400
        if not errors:
            try:
                appeal, _secret = file_appeal(
                    channel=Channel.HOTLINE, category=data["category"], description=data["description"],
                    lon=None if building else data["lon"], lat=None if building else data["lat"],
                    building=building, address=data.get("address", ""), operator=request.user,
                    last_name=data.get("caller_name", ""), phone=data.get("phone", ""),
                    answered=data.get("answered", False), answer=data.get("answer", ""),
                )
            except ActionError as exc:
                status = exc.status_code
                errors[ERROR_FIELDS.get(exc.field or "", "form")] = [exc.message]
            else:
                text = (_("Answered at once and recorded: %(number)s (caller %(phone)s).") if appeal.answered
                        else _("Recorded as case %(number)s (caller %(phone)s); it is in the inbox."))
                messages.success(request, text % {"number": appeal.case.number,
                                                  "phone": appeal.phone_masked or _("no number")})
                return redirect(reverse("hotline:desk"))
    else:
        form = CallForm()
    today = centre_cases(request.user).filter(channel=Channel.HOTLINE,
                                              reported_at__date=timezone.localdate())
    return render(request, "centre/hotline.html", {
        "form": form, "errors": errors,
        "answered_today": today.filter(closure_kind=ClosureKind.ANSWERED).count(),
        "filed_today": today.exclude(closure_kind=ClosureKind.ANSWERED).count(),
        "recent": today.select_related("category", "appeal").order_by("-reported_at", "-id")[:20],
    }, status=status)




app_name = "hotline"
urlpatterns = [path("", hotline, name="desk")]
