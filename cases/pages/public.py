"""The citizens' pages (no login, phone first, Chinese first), mounted at /appeal/.

- ``/appeal/``: file an appeal (诉求): category (leaves open to citizens), description, photos, the
  place on the map or a standard address, a phone number, a CAPTCHA (django-simple-captcha); abuse
  limits per client address and per phone number (Redis counters). It answers the appeal number and
  a private link.
- ``/appeal/follow/``: the number plus the phone's last four digits (tries limited per address) open
  the appeal's page; so does the private link. Which appeals this browser proved it may see is kept in
  its session.
- The appeal's page: where it stands, what was done, and once handled and verified the satisfaction
  question (满意/基本满意/不满意), the pipeline's follow-up row (cases.actions.appeals.rate_appeal).

Filing goes through cases.actions.appeals.file_appeal, the pipeline's intake on the citizen channel.
"""

from __future__ import annotations

import json

from captcha.fields import CaptchaField
from django import forms
from django.conf import settings
from django.contrib.gis.db.models.functions import AsGeoJSON
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_POST

from cases import pipeline
from cases.actions.appeals import file_appeal, link_matches, phone_matches, rate_appeal
from cases.choices import OPEN_STATUSES, Action, Channel, Satisfaction
from cases.forms import MultipleFileField, MultipleFileInput
from cases.models import Appeal, Case, Category
from cases.open311.places import standard_address
from cases.open311.ratelimit import over_limit
from cases.open311.views import NUMBER, lead_dispatch, status_notes
from cases.uploads import check_upload
from govgrid.errors import ActionError
from govgrid.security import client_ip
from grids.choices import Level
from grids.models import Area
from parties import pii

SESSION_KEY = "appeals"
NEW_KEY = "new_appeal"
# (hits, window in seconds): appeals per client address per hour and per phone per day; follow tries
# (number + last four digits) per address per hour, so the four digits cannot be guessed.
LIMITS = {"ip": (5, 3600), "phone": (3, 86400), "follow": (10, 3600)}
ERROR_FIELDS = {"lon": "location", "lat": "location", "location": "location", "category": "category",
                "description": "description", "photos": "photos", "phone": "phone", "captcha": "captcha",
                "address": "location", "name": "name"}
# What a citizen reads of each step of the handling (the timeline without who did it or internal notes).
PUBLIC_STEPS = {
    Action.REPORT: gettext_lazy("Received"), Action.ACCEPT: gettext_lazy("Accepted by the centre"),
    Action.REJECT: gettext_lazy("Not accepted"),
    Action.MERGE: gettext_lazy("Merged with an appeal on the same problem"),
    Action.DISPATCH: gettext_lazy("Sent to the department responsible"),
    Action.SIGN: gettext_lazy("The department took it on"), Action.FEEDBACK: gettext_lazy("Handled"),
    Action.VERIFY: gettext_lazy("Checked on site"), Action.FOLLOW_UP: gettext_lazy("Your satisfaction recorded"),
    Action.CLOSE: gettext_lazy("Closed"), Action.ANSWER: gettext_lazy("Answered"),
}


def limit(name: str) -> tuple[int, int]:
    return getattr(settings, "APPEAL_LIMITS", {}).get(name, LIMITS[name])


def citizen_categories():
    return Category.objects.filter(is_active=True, citizen_allowed=True, parent__isnull=False,
                                   parent__is_active=True).select_related("parent").order_by(
        "parent__sort_order", "parent__code", "sort_order", "code")


class AppealForm(forms.Form):
    category = forms.ModelChoiceField(
        label=gettext_lazy("What kind of problem"), queryset=Category.objects.none(),
        error_messages={"required": gettext_lazy("Choose the kind of problem."),
                        "invalid_choice": gettext_lazy("Choose the kind of problem from the list.")},
    )
    description = forms.CharField(
        label=gettext_lazy("description"), max_length=2000,
        error_messages={"required": gettext_lazy("Describe the problem.")},
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": gettext_lazy(
            "What is wrong, and where exactly (e.g. the street light at the school gate is out)")}),
    )
    photos = MultipleFileField(label=gettext_lazy("photos"),
                               widget=MultipleFileInput(attrs={"accept": "image/*"}))
    lon = forms.FloatField(label=gettext_lazy("longitude"), required=False, min_value=-180, max_value=180,
                           widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    lat = forms.FloatField(label=gettext_lazy("latitude"), required=False, min_value=-90, max_value=90,
                           widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    address = forms.CharField(label=gettext_lazy("address"), required=False, max_length=200)
    phone = forms.CharField(label=gettext_lazy("mobile number"), max_length=20,
                            error_messages={"required": gettext_lazy("Give a mobile number to follow the appeal.")},
                            widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}))
    name = forms.CharField(label=gettext_lazy("your name (optional)"), required=False, max_length=50)
    captcha = CaptchaField(label=gettext_lazy("the characters in the picture"), error_messages={
        "invalid": gettext_lazy("The characters do not match the picture; try the new one.")})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = citizen_categories()

    def clean_phone(self) -> str:
        try:
            return pii.parse_mobile(self.cleaned_data["phone"])
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages[0]) from None

    def clean_photos(self) -> list:
        files = self.cleaned_data.get("photos") or []
        if len(files) > 6:
            raise forms.ValidationError(_("At most 6 photos."))
        for upload in files:
            try:
                check_upload(upload, field="photos")
            except ActionError as exc:
                raise forms.ValidationError(exc.message) from None
        return files


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _private_path(appeal: Appeal, secret: str) -> str:
    return reverse("public:private", args=[appeal.case.number, secret])


def _allow(request: HttpRequest, appeal: Appeal) -> None:
    allowed = set(request.session.get(SESSION_KEY, []))
    allowed.add(appeal.pk)
    request.session[SESSION_KEY] = sorted(allowed)[-20:]


def appeal_form(request: HttpRequest) -> HttpResponse:
    """File an appeal; answers its number and private link (the appeal's page, opened at once)."""
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        form = AppealForm(request.POST, request.FILES)
        form.is_valid()
        errors = {ERROR_FIELDS.get(name, "form"): list(found) for name, found in form.errors.items()}
        data = form.cleaned_data
        building = None
        if "location" not in errors and (data.get("lon") is None or data.get("lat") is None):
            building = standard_address(data.get("address", ""))
            if building is None:
                errors["location"] = [_("Set the place on the map, or type a standard address "
                                        "(street, number) exactly as on the door plate.")]
        status = 400
        if not errors:
            hits, window = limit("ip")
            phone_hits, phone_window = limit("phone")
            if over_limit(f"appeal-ip:{client_ip(request)}", hits, window) or over_limit(
                    f"appeal-phone:{pii.phone_hash(data['phone'])}", phone_hits, phone_window):
                errors["form"] = [_("Too many appeals from here or for this phone number; please try again "
                                    "later or call the 12345 hotline.")]
                status = 429
        if not errors:
            try:
                appeal, secret = file_appeal(
                    channel=Channel.CITIZEN, category=data["category"], description=data["description"],
                    lon=None if building else data["lon"], lat=None if building else data["lat"],
                    building=building, address=data.get("address", ""), phone=data["phone"],
                    last_name=data.get("name", ""), photos=data["photos"],
                )
            except ActionError as exc:
                status = exc.status_code
                errors[ERROR_FIELDS.get(exc.field or "", "form")] = [exc.message]
            else:
                _allow(request, appeal)
                request.session[NEW_KEY] = appeal.pk
                url = _private_path(appeal, secret)
                if _wants_json(request):
                    return JsonResponse({"ok": True, "url": url, "number": appeal.case.number}, status=201)
                return redirect(url)
        if _wants_json(request):
            return JsonResponse({"ok": False, "errors": errors}, status=status)
    else:
        form = AppealForm()
    categories = list(citizen_categories())
    groups: dict = {}
    for leaf in categories:
        groups.setdefault(leaf.parent.display_name, []).append(leaf)
    return render(request, "public/appeal.html", {
        "form": form, "errors": errors, "categories": categories, "category_groups": list(groups.items()),
        "chosen": str(form["category"].value() or ""),
        "photos_dropped": request.method == "POST" and bool(request.FILES),
    }, status=status)


def _appeal_by_number(number: str) -> Appeal | None:
    match = NUMBER.match((number or "").strip())
    if not match:
        return None
    appeal = Appeal.objects.select_related("case").filter(case_id=int(match.group(2))).first()
    return appeal if appeal is not None and appeal.case.number == number.strip() else None


def follow_form(request: HttpRequest) -> HttpResponse:
    """Find an appeal by its number and the last four digits of the phone it was filed with."""
    error = ""
    number = (request.POST.get("number") or "").strip()
    status = 200
    if request.method == "POST":
        tries, window = limit("follow")
        if over_limit(f"appeal-follow:{client_ip(request)}", tries, window):
            error, status = _("Too many tries; please wait an hour and try again."), 429
        else:
            appeal = _appeal_by_number(number)
            if appeal is not None and phone_matches(appeal, (request.POST.get("last4") or "").strip()):
                _allow(request, appeal)
                return redirect("public:appeal", number=appeal.case.number)
            error, status = _("No appeal matches this number and these digits."), 404
    return render(request, "public/follow.html", {"error": error, "number": number}, status=status)


def private_link(request: HttpRequest, number: str, secret: str) -> HttpResponse:
    appeal = _appeal_by_number(number)
    if appeal is None or not link_matches(appeal, secret):
        raise Http404(_("No appeal matches this link."))
    _allow(request, appeal)
    return _appeal_page(request, appeal, private_url=request.build_absolute_uri())


def _allowed_appeal(request: HttpRequest, number: str) -> Appeal:
    appeal = _appeal_by_number(number)
    if appeal is None or appeal.pk not in request.session.get(SESSION_KEY, []):
        raise Http404(_("No appeal matches this link."))
    return appeal


def appeal_page(request: HttpRequest, number: str) -> HttpResponse:
    return _appeal_page(request, _allowed_appeal(request, number))


def _appeal_page(request: HttpRequest, appeal: Appeal, *, private_url: str = "", status: int = 200,
                 error: str = "") -> HttpResponse:
    case = Case.objects.select_related("category", "centre").prefetch_related("dispatches__department").get(
        pk=appeal.case_id)
    new = request.session.pop(NEW_KEY, None) == appeal.pk
    steps = [(event.at, PUBLIC_STEPS[event.action]) for event in case.events.order_by("at", "id")
             if event.action in PUBLIC_STEPS]
    return render(request, "public/appeal_status.html", {
        "appeal": appeal, "case": case, "new": new, "private_url": private_url if new else "",
        "is_open": case.status in OPEN_STATUSES, "notes": status_notes(case, lead_dispatch(case)), "steps": steps,
        # Asked once per handling: a "dissatisfied" answer reopened it, and the next verification asks again.
        "may_rate": pipeline.permits("follow_up", None, case)
        and case.satisfaction in ("", Satisfaction.DISSATISFIED),
        "satisfactions": Satisfaction.choices,
        "error": error,
        "reopened": case.status in OPEN_STATUSES and case.satisfaction == Satisfaction.DISSATISFIED,
    }, status=status)


@require_POST
def rate(request: HttpRequest, number: str) -> HttpResponse:
    appeal = _allowed_appeal(request, number)
    satisfaction = request.POST.get("satisfaction", "")
    try:
        rate_appeal(appeal, satisfaction=satisfaction)
    except ActionError as exc:
        return _appeal_page(request, appeal, status=exc.status_code, error=exc.message)
    return redirect("public:appeal", number=number)


@cache_control(public=True, max_age=3600)
def grids_geojson(request: HttpRequest) -> JsonResponse:
    """Every grid's outline, simplified, for the appeal form's map (the grids are public places)."""
    grids = Area.objects.filter(level=Level.GRID).annotate(geojson=AsGeoJSON("boundary", precision=5)).values(
        "code", "name", "geojson")[:6000]
    return JsonResponse({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": json.loads(g["geojson"]), "properties": {"code": g["code"], "name": g["name"]}}
        for g in grids if g["geojson"]]})


app_name = "public"
urlpatterns = [
    path("", appeal_form, name="new"),
    path("follow/", follow_form, name="follow"),
    path("grids.geojson", grids_geojson, name="grids"),
    path("<str:number>/", appeal_page, name="appeal"),
    path("<str:number>/rate/", rate, name="rate"),
    path("<str:number>/<str:secret>/", private_link, name="private"),
]
