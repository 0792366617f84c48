"""The only writer of campaigns (创无 10+N, 平安细胞): one function per business action, each atomic,
each checking the actor's right through plans.access and refusing bad input with a clear ActionError.

A certification rests on one passed inspection (an inspection backs at most one certification, so a
re-certification after a revocation or an expiry needs a new one) no older than the type's
``inspection_valid_days``, in which every required criterion of the type passed.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.uploads import prepare_upload
from govgrid import clock
from govgrid.errors import ActionError, Conflict
from grids.models import Area, Centre, Department
from parties.models import Organisation
from plans import access
from plans.actions import MAX_FILES, MAX_TEXT, _text
from plans.campaign_figures import valid_certification_q
from plans.choices import Entrant
from plans.models import (
    Campaign,
    CampaignEntry,
    CampaignType,
    Certification,
    Inspection,
    InspectionPhoto,
    InspectionResult,
)


def _today() -> date:
    return timezone.localdate(clock.now())


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months, on the month's last day when it is shorter (31 Jan + 1 → 28/29 Feb)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _lock_entry(entry: CampaignEntry) -> CampaignEntry:
    return (CampaignEntry.objects.select_for_update(of=("self",))
            .select_related("campaign", "campaign__type", "campaign__area").get(pk=entry.pk))


@transaction.atomic
def create_campaign(*, actor, type: CampaignType, area: Area, title: str, year: int, starts_on: date,
                    ends_on: date, lead_department: Department | None = None,
                    lead_centre: Centre | None = None) -> Campaign:
    """A campaign of ``type`` over ``area`` for a period, with one lead unit, owned by the actor."""
    access.check_manage(actor, area)
    if not type.is_active:
        raise ActionError(_("This campaign type is not in use."), field="type")
    title = _text(title, "title", _("Give the campaign a title."))
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise ActionError(_("The year lies between 2000 and 2100."), field="year")
    if (lead_department is None) == (lead_centre is None):
        raise ActionError(_("Choose one lead unit: a department or a centre."), field="lead_unit", code="required")
    if starts_on is None or ends_on is None:
        raise ActionError(_("Set the start and the end."), field="ends_on", code="required")
    if ends_on < starts_on:
        raise ActionError(_("The end cannot come before the start."), field="ends_on")
    return Campaign.objects.create(type=type, title=title, area=area, area_path=area.path, year=year,
                                   starts_on=starts_on, ends_on=ends_on, owner=actor, lead_department=lead_department,
                                   lead_centre=lead_centre, created_at=clock.now())


@transaction.atomic
def add_entry(*, actor, campaign: Campaign, area: Area | None = None,
              organisation: Organisation | None = None) -> CampaignEntry:
    """An area below the campaign's area, or an organisation located in it, enters the campaign
    (what may enter is the type's ``entrant``)."""
    access.check_manage_campaign(actor, campaign)
    campaign = Campaign.objects.select_for_update().select_related("type", "area").get(pk=campaign.pk)
    entrant = campaign.type.entrant
    if entrant == Entrant.AREA:
        if area is None or organisation is not None:
            raise ActionError(_("Choose an area (a village, community or grid) to enter."), field="area",
                              code="required")
        if not area.path.startswith(campaign.area_path) or area.level <= campaign.area.level:
            raise ActionError(_("The area lies outside the campaign's area."), field="area")
        path = area.path
        taken = CampaignEntry.objects.filter(campaign=campaign, area=area)
    else:
        if organisation is None or area is not None:
            raise ActionError(_("Choose an organisation to enter."), field="organisation", code="required")
        if not organisation.area_path.startswith(campaign.area_path):
            raise ActionError(_("The organisation lies outside the campaign's area."), field="organisation")
        path = organisation.area_path
        taken = CampaignEntry.objects.filter(campaign=campaign, organisation=organisation)
    if taken.exists():
        raise Conflict(_("It has entered the campaign already."), code="entered")
    return CampaignEntry.objects.create(campaign=campaign, area=area, organisation=organisation, area_path=path,
                                        entered_on=_today(), entered_by=actor)


@transaction.atomic
def withdraw_entry(*, actor, entry: CampaignEntry) -> CampaignEntry:
    """The entry leaves the campaign today; it no longer counts from today."""
    access.check_manage_campaign(actor, entry.campaign)
    if not CampaignEntry.objects.filter(pk=entry.pk, withdrawn_on__isnull=True).update(withdrawn_on=_today()):
        raise Conflict(_("The entry is withdrawn already."), code="withdrawn")
    entry.refresh_from_db()
    return entry


def _bool(value, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("pass", "passed", "true", "1", "yes"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("fail", "failed", "false", "0", "no"):
        return False
    raise ActionError(_("Say pass or fail for every criterion."), field=field)


@transaction.atomic
def record_inspection(*, actor, entry: CampaignEntry, results: Iterable[Mapping], note: str = "",
                      files: Sequence = ()) -> Inspection:
    """An on-site inspection: pass or fail (with a note) for every criterion of the type's checklist,
    and photos. It passes when every required criterion passed."""
    access.check_inspect(actor, entry.campaign)
    entry = _lock_entry(entry)
    if entry.withdrawn_on is not None:
        raise Conflict(_("The entry is withdrawn."), code="withdrawn")
    criteria = {c.pk: c for c in entry.campaign.type.criteria.all()}
    answers: dict[int, tuple[bool, str]] = {}
    if isinstance(results, (str, bytes, Mapping)):
        raise ActionError(_("Say pass or fail for every criterion."), field="results")
    for item in results or ():
        if not isinstance(item, Mapping):
            raise ActionError(_("Say pass or fail for every criterion."), field="results")
        criterion = access._pk(item.get("criterion"))
        if criterion not in criteria:
            raise ActionError(_("No such criterion on this campaign's checklist."), field="results")
        if criterion in answers:
            raise ActionError(_("A criterion is answered once per inspection."), field="results")
        remark = (item.get("note") or "").strip() if isinstance(item.get("note") or "", str) else None
        if remark is None or len(remark) > 500:
            raise ActionError(_("At most %(n)d characters.") % {"n": 500}, field="results")
        answers[criterion] = (_bool(item.get("passed"), "results"), remark)
    missing = [c.display_text for pk, c in criteria.items() if pk not in answers]
    if missing:
        raise ActionError(_("Say pass or fail for every criterion; missing: %(list)s") % {"list": "；".join(missing)},
                          field="results", code="required")
    note = (note or "").strip()
    if len(note) > MAX_TEXT:
        raise ActionError(_("At most %(n)d characters.") % {"n": MAX_TEXT}, field="note")
    files = list(files or [])
    if len(files) > MAX_FILES:
        raise ActionError(_("At most %(n)d photos.") % {"n": MAX_FILES}, field="files")
    photos = [prepare_upload(upload, field="files") for upload in files]
    passed = all(answers[pk][0] for pk, c in criteria.items() if c.required)
    inspection = Inspection.objects.create(entry=entry, inspector=actor, at=clock.now(), passed=passed, note=note)
    InspectionResult.objects.bulk_create([InspectionResult(inspection=inspection, criterion_id=pk, passed=ok,
                                                           note=remark) for pk, (ok, remark) in answers.items()])
    for photo in photos:
        InspectionPhoto.objects.create(inspection=inspection, file=photo.file, content_type=photo.content_type,
                                       size=photo.file.size)
    return inspection


@transaction.atomic
def certify_entry(*, actor, entry: CampaignEntry) -> Certification:
    """Certify the entry today, on its latest inspection: it must have passed every required criterion
    of the type, be no older than the type's ``inspection_valid_days`` and back no certification yet.
    Valid from today until today plus the type's validity."""
    access.check_manage_campaign(actor, entry.campaign)
    entry = _lock_entry(entry)
    kind = entry.campaign.type
    today = _today()
    if entry.withdrawn_on is not None:
        raise Conflict(_("The entry is withdrawn."), code="withdrawn")
    if entry.certifications.filter(valid_certification_q(today)).exists():
        raise Conflict(_("The entry holds a valid certification already."), code="certified")
    latest = entry.inspections.order_by("-at", "-pk").first()
    fresh_from = clock.now() - timedelta(days=kind.inspection_valid_days)
    if latest is None or latest.at < fresh_from or Certification.objects.filter(inspection=latest).exists():
        raise ActionError(_("A certification needs a new passed inspection from the last %(n)d days.")
                          % {"n": kind.inspection_valid_days}, field="inspection", code="inspection_required")
    passed = set(latest.results.filter(passed=True).values_list("criterion_id", flat=True))
    failing = [c.display_text for c in kind.criteria.filter(required=True) if c.pk not in passed]
    if failing:
        raise ActionError(_("The latest inspection did not pass these required criteria: %(list)s")
                          % {"list": "；".join(failing)}, field="inspection", code="inspection_failed")
    return Certification.objects.create(entry=entry, inspection=latest, certified_on=today,
                                        valid_until=add_months(today, kind.validity_months), by=actor,
                                        at=clock.now())


@transaction.atomic
def revoke_certification(*, actor, certification: Certification, reason: str) -> Certification:
    """Revoke a certification with a reason; it is not valid from today on."""
    access.check_manage_campaign(actor, certification.entry.campaign)
    reason = _text(reason, "reason", _("Give the reason for the revocation."), limit=MAX_TEXT)
    now = clock.now()
    today = timezone.localdate(now)
    if certification.valid_until < today:
        raise Conflict(_("The certification has expired already."), code="expired")
    updated = Certification.objects.filter(pk=certification.pk, revoked_at__isnull=True).update(
        revoked_at=now, revoked_on=today, revoked_by=actor, revoke_reason=reason)
    if not updated:
        raise Conflict(_("The certification is revoked already."), code="revoked")
    certification.refresh_from_db()
    return certification


def current_certification(entry: CampaignEntry, on: date | None = None) -> Certification | None:
    """The entry's certification valid on ``on`` (today), if any."""
    return entry.certifications.filter(valid_certification_q(on or _today())).order_by("-certified_on").first()


__all__ = ["add_entry", "add_months", "certify_entry", "create_campaign", "current_certification",
           "record_inspection", "revoke_certification", "withdraw_entry"]
